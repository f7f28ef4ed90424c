//! `kb-testkit` holds what kbridge's test suites and benchmarks share: finding the real-world
//! samples and specs in the `shared` folder that sits beside the repository in CI
//! (`../shared/corpus`, `../shared/reference/specs`), with one policy for when it is missing.
//!
//! [`postgres`] starts a real PostgreSQL server for the tests that need one (the store's
//! conformance suite), from the machine's binaries, with the same skip policy.
//!
//! It is a dev-dependency only: no product crate may depend on it, and it must never download or
//! copy anything (the shared material is others' work and stays outside the repository).

pub mod postgres;

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `../shared/<rel>` from the repository root, whether or not it exists (benchmarks choose their
/// own fallback). `KBRIDGE_SHARED=/path/to/shared` points elsewhere (a git worktree, a clone in
/// another place).
pub fn shared_path(rel: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("KBRIDGE_SHARED").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join(rel);
    }
    // Every crate sits at `crates/<name>`, three levels below the folder holding `shared`.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

/// `../shared/<rel>` when it exists. A user's clone has no `../shared`: the test that asked
/// skips, with a message written straight to stderr (the harness captures `eprintln!` of passing
/// tests, and a skip must be visible). With `KBRIDGE_REQUIRE_CORPUS=1` (set by `.ci/run`) a
/// missing path is a failure instead.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = shared_path(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("KBRIDGE_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!(
            "KBRIDGE_REQUIRE_CORPUS=1 but the shared {} is missing",
            p.display()
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: shared {} not found (it exists only beside the kbridge repository in CI); \
         set KBRIDGE_REQUIRE_CORPUS=1 to make this a failure",
        p.display()
    );
    None
}

/// All files directly in `dir` whose name ends with `suffix`, sorted; none when `dir` cannot be
/// listed.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_by_suffix_sorted() {
        let dir = std::env::temp_dir().join(format!("kb-testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in ["b.xml", "a.xml", "c.md"] {
            std::fs::write(dir.join(n), "x").unwrap();
        }
        let names: Vec<String> = files_with_suffix(&dir, ".xml")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names, ["a.xml", "b.xml"]);
        assert!(files_with_suffix(Path::new("/nonexistent/kb-testkit"), ".xml").is_empty());
    }

    #[test]
    fn shared_path_is_beside_the_repository() {
        let p = shared_path("corpus");
        assert!(p.ends_with("shared/corpus"));
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        assert!(
            repo.join("Cargo.toml").is_file(),
            "crates sit two levels below the repository root"
        );
    }
}
