//! What a writer could not express exactly.

use serde::Serialize;

/// One node a writer rendered approximately or as a fallback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// The IR node kind (`callout`, `extension:macro:jira`…).
    pub node: String,
    /// What the writer did instead (`blockquote with a bold label`, `fenced block`…).
    pub rendered_as: String,
    /// True when the node is an [`crate::Extension`] (content the IR does not model).
    pub extension: bool,
}

/// A writer's output and what fell back on the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub output: String,
    pub fallbacks: Vec<Fallback>,
}
