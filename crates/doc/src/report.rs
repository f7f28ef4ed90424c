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

/// One place where a lenient reader met malformed input and recovered, the way an HTML parser
/// does (closed what was open, kept the text). 1-based line and column (in characters), 0-based
/// byte offset, and what the reader did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recovery {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    /// What was wrong and what the reader did (`<strong> is never closed: closed at the end of
    /// its parent <p>`…).
    pub what: String,
}

impl Recovery {
    /// A recovery at byte `offset` of `input`.
    pub fn at(input: &str, offset: usize, what: impl Into<String>) -> Self {
        let e = crate::ReadError::at("", input, offset, "");
        Recovery {
            line: e.line,
            column: e.column,
            offset: e.offset,
            what: what.into(),
        }
    }
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.what
        )
    }
}

/// A document read leniently, with every recovery the reader made on the way.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recovered {
    pub document: crate::Document,
    pub recoveries: Vec<Recovery>,
}
