//! Shared test helpers.

use std::path::PathBuf;

/// The shared real-world corpus (`../shared/corpus` from the repository root), if present.
///
/// A user's clone has no `../shared`: tests that need it skip with a visible message. When
/// `KBRIDGE_REQUIRE_CORPUS=1` (set by `.ci/run`) a missing corpus is a failure instead.
pub fn corpus_dir(sub: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("KBRIDGE_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!(
            "KBRIDGE_REQUIRE_CORPUS=1 but the shared corpus folder {} is missing",
            dir.display()
        );
    }
    // Written to the stderr handle directly: the test harness captures `eprintln!` of passing
    // tests, and a skip must be visible.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: shared corpus {} not found (it exists only beside the kbridge repository in CI); \
         set KBRIDGE_REQUIRE_CORPUS=1 to make this a failure",
        dir.display()
    );
    None
}

/// All files in `dir` whose name ends with `suffix`, sorted.
pub fn files_with_suffix(dir: &std::path::Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    v.sort();
    v
}

/// The repository's own examples folder.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}
