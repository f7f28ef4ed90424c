//! Shared test helpers.

use std::path::PathBuf;

pub use kb_testkit::files_with_suffix;

/// The shared real-world corpus folder `../shared/corpus/<sub>`, if present (see
/// [`kb_testkit::shared`] for the skip and `KBRIDGE_REQUIRE_CORPUS` policy).
pub fn corpus_dir(sub: &str) -> Option<PathBuf> {
    kb_testkit::shared(&format!("corpus/{sub}"))
}

/// The repository's own examples folder.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}
