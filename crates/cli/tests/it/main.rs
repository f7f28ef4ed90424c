//! The `kbridge` binary's integration tests (one test binary for the crate): they run the built
//! binary on temporary folders and check its outputs, summaries and exit statuses.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod check;
mod config;
mod convert_depth;
mod extract;
mod km;
mod migrate;
mod migrate_c2n;
mod ops;
mod sim;
mod sync;

const KBRIDGE: &str = env!("CARGO_BIN_EXE_kbridge");

/// A storage body with a heading, a paragraph and one macro kbridge does not model.
const WITH_UNKNOWN_MACRO: &str = r#"<h1>Release plan</h1>
<p>Ship it on <strong>Friday</strong>.</p>
<ac:structured-macro ac:name="roadmap-planner" ac:schema-version="1"><ac:parameter ac:name="timeline">quarters</ac:parameter></ac:structured-macro>
"#;

const PLAIN: &str = "<h1>Backups</h1>\n<p>Nightly at <em>02:00</em>.</p>\n";

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn run_with(args: &[&str], stdin: Option<&[u8]>, cwd: Option<&Path>) -> Run {
    let mut cmd = Command::new(KBRIDGE);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().expect("cannot start the kbridge binary");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // kbridge may refuse its arguments and exit before reading stdin: a closed pipe is fine.
        if let Err(e) = pipe.write_all(input) {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe,
                "cannot write kbridge's stdin: {e}"
            );
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        status: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs kbridge in `cwd` (or here) with `args`, the Confluence and store variables of this
/// shell removed and `env` set instead: the tests of the commands that talk to a service.
fn run_service(cwd: Option<&Path>, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(KBRIDGE);
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    for k in [
        "CONFLUENCE_URL",
        "CONFLUENCE_EMAIL",
        "CONFLUENCE_API_TOKEN",
        "NOTION_TOKEN",
        "NOTION_URL",
        "NOTION_VERSION",
        "KBRIDGE_STORE",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let o = cmd.stdin(Stdio::null()).output().expect("run kbridge");
    Run {
        status: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, None, None)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

/// All `"type"` values anywhere in an IR JSON value.
fn types(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(t)) = m.get("type") {
                out.push(t.clone());
            }
            m.values().for_each(|v| types(v, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| types(v, out)),
        _ => {}
    }
}

fn types_of(ir: &str) -> Vec<String> {
    let mut out = Vec::new();
    types(&json(ir), &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Arguments and errors (true whatever the codecs do)

#[test]
fn help_lists_convert_and_its_formats() {
    let r = run(&["--help"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("convert"), "{}", r.stdout);
    let r = run(&["convert", "--help"]);
    assert_eq!(r.status, 0);
    for word in [
        "--from",
        "--to",
        "--strict",
        "--summary-json",
        "storage",
        "markdown",
        "text",
        "ir",
    ] {
        assert!(r.stdout.contains(word), "help lacks {word}:\n{}", r.stdout);
    }
}

#[test]
fn text_is_not_an_input_format() {
    let r = run(&["convert", "--from", "text", "--to", "ir", "x.txt"]);
    assert_eq!(r.status, 2, "usage errors exit 2");
    assert!(r.stderr.contains("possible values"), "{}", r.stderr);
}

#[test]
fn missing_input_file_names_it() {
    let r = run(&["convert", "--to", "markdown", "no/such/page.xhtml"]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("no/such/page.xhtml"), "{}", r.stderr);
    assert!(r.stderr.contains("check the path"), "{}", r.stderr);
}

#[test]
fn stdin_needs_from() {
    let r = run_with(&["convert", "--to", "ir"], Some(b"<p>x</p>"), None);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("--from"), "{}", r.stderr);
}

#[test]
fn unknown_extension_needs_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.body");
    write(&file, PLAIN);
    let r = run(&["convert", "--to", "ir", p(&file)]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("page.body") && r.stderr.contains("--from"),
        "{}",
        r.stderr
    );
}

#[test]
fn directory_needs_an_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.xhtml"), PLAIN);
    let r = run(&[
        "convert",
        "--from",
        "storage",
        "--to",
        "markdown",
        p(dir.path()),
    ]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("-o OUTPUT_DIR"), "{}", r.stderr);
}

#[test]
fn missing_to_is_explained_or_inferred_from_the_output_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.xhtml");
    write(&file, PLAIN);
    let r = run(&["convert", p(&file)]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("--to"), "{}", r.stderr);

    let out = dir.path().join("page.json");
    let r = run(&["convert", p(&file), "-o", p(&out)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    json(&std::fs::read_to_string(&out).unwrap());
}

#[test]
fn invalid_utf8_is_reported_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latin1.xhtml");
    write(&file, b"<p>ok</p>\n<p>caf\xe9</p>\n");
    let r = run(&["convert", "--to", "ir", p(&file)]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("latin1.xhtml: storage: line 2, column 7"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("UTF-8"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn invalid_ir_json_is_reported_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.json");
    write(
        &file,
        "{\n  \"blocks\": [\n    {\"type\": \"no_such_block\"}\n  ]\n}\n",
    );
    let r = run(&["convert", "--to", "markdown", p(&file)]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("doc.json: ir: line 3, column"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("no_such_block"), "{}", r.stderr);
}

#[test]
fn empty_ir_document_round_trips_through_ir() {
    let r = run_with(
        &["convert", "--from", "ir", "--to", "ir"],
        Some(br#"{"blocks": []}"#),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout), json(r#"{"blocks": []}"#));
}

#[test]
fn directory_run_mirrors_the_tree_skips_others_and_goes_on_after_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write(&input.join("a.xhtml"), PLAIN);
    write(&input.join("sub/deeper/b.xml"), PLAIN);
    write(&input.join("sub/c.html"), PLAIN);
    write(&input.join("notes.txt"), "not storage");
    write(&input.join("picture.png"), [0x89u8, b'P', b'N', b'G']);
    write(&input.join("bad.xhtml"), b"<p>\xff</p>");
    let out = dir.path().join("out");
    let summary = dir.path().join("summary.json");
    let r = run(&[
        "convert",
        "--from",
        "storage",
        "--to",
        "markdown",
        p(&input),
        "-o",
        p(&out),
        &format!("--summary-json={}", p(&summary)),
    ]);
    assert_eq!(
        r.status, 1,
        "a failed file makes the run fail\n{}",
        r.stderr
    );
    assert!(out.join("a.md").is_file());
    assert!(out.join("sub/deeper/b.md").is_file());
    assert!(out.join("sub/c.md").is_file());
    assert!(!out.join("bad.md").exists());
    assert!(!out.join("notes.md").exists());
    assert!(
        r.stderr.contains("bad.xhtml: storage: line 1, column 4"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("notes.txt") && r.stderr.contains("picture.png"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("converted 3 files storage → markdown (1 failed, 2 skipped)"),
        "{}",
        r.stderr
    );

    let s = json(&std::fs::read_to_string(&summary).unwrap());
    assert_eq!(s["from"], "storage");
    assert_eq!(s["to"], "markdown");
    assert_eq!(s["converted"], 3);
    assert_eq!(s["failed"], 1);
    assert_eq!(s["skipped"].as_array().unwrap().len(), 2);
    let files = s["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let bad = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("bad.xhtml"))
        .unwrap();
    assert_eq!(bad["status"], "failed");
    assert!(bad["error"].as_str().unwrap().contains("UTF-8"));
}

#[test]
fn two_inputs_writing_the_same_output_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write(&input.join("page.xhtml"), PLAIN);
    write(&input.join("page.xml"), PLAIN);
    let out = dir.path().join("out");
    let r = run(&[
        "convert",
        "--from",
        "storage",
        "--to",
        "text",
        p(&input),
        "-o",
        p(&out),
    ]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("already writes"), "{}", r.stderr);
    assert!(out.join("page.txt").is_file());
}

#[test]
fn output_folder_inside_the_input_is_not_converted_again() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("space");
    write(&input.join("a.xhtml"), PLAIN);
    let out = input.join("normalised");
    for _ in 0..2 {
        let r = run(&[
            "convert",
            "--from",
            "storage",
            "--to",
            "storage",
            p(&input),
            "-o",
            p(&out),
        ]);
        assert_eq!(r.status, 0, "{}", r.stderr);
        assert!(r.stderr.contains("converted 1 file"), "{}", r.stderr);
    }
    assert!(!out.join("normalised").exists());
}

#[test]
fn single_file_into_an_existing_folder_keeps_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backups.xhtml");
    write(&file, PLAIN);
    let out = dir.path().join("md");
    std::fs::create_dir(&out).unwrap();
    let r = run(&["convert", "--to", "markdown", p(&file), "-o", p(&out)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(out.join("backups.md").is_file());
}

#[test]
fn summary_json_on_stderr_is_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.xhtml");
    write(&file, PLAIN);
    let r = run(&[
        "convert",
        "--to",
        "ir",
        p(&file),
        "--summary-json",
        "-o",
        p(&dir.path().join("o.json")),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let s = json(&r.stderr);
    assert_eq!(s["converted"], 1);
    assert_eq!(s["files"][0]["status"], "converted");
}

// ---------------------------------------------------------------------------------------------
// Conversions (these need the storage and Markdown codecs)

#[test]
fn storage_to_ir_has_a_heading_and_a_paragraph() {
    let r = run_with(
        &["convert", "--from", "storage", "--to", "ir"],
        Some(PLAIN.as_bytes()),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let t = types_of(&r.stdout);
    assert!(t.contains(&"heading".to_string()), "{}", r.stdout);
    assert!(t.contains(&"paragraph".to_string()), "{}", r.stdout);
    assert!(r.stdout.contains("Backups"));
}

#[test]
fn markdown_from_stdin_to_storage() {
    let r = run_with(
        &["convert", "--from", "markdown", "--to", "storage"],
        Some(b"# Title\n\nSome **bold** text.\n"),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("<h1>") && r.stdout.contains("Title"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("<strong>bold</strong>"), "{}", r.stdout);
}

#[test]
fn storage_to_text_keeps_the_words() {
    let r = run_with(
        &["convert", "--from", "storage", "--to", "text"],
        Some(PLAIN.as_bytes()),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Backups") && r.stdout.contains("Nightly at 02:00"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_readme_command_prints_markdown() {
    // `cargo run --release -- convert --from storage --to markdown examples/runbook.xhtml`
    let root = examples().join("..");
    let r = run_with(
        &[
            "convert",
            "--from",
            "storage",
            "--to",
            "markdown",
            "examples/runbook.xhtml",
        ],
        None,
        Some(&root),
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    for heading in ["Purpose", "Procedure", "Expected timings", "Follow-up"] {
        assert!(
            r.stdout
                .lines()
                .any(|l| (l.starts_with("## ") || l.starts_with("### ")) && l.ends_with(heading)),
            "markdown lacks the heading {heading:?}:\n{}",
            r.stdout
        );
    }
    for needle in [
        "orders database",
        "promote-replica.sh",
        "```",
        "pg_ctl promote",
        "OPS-1482",
    ] {
        assert!(
            r.stdout.contains(needle),
            "markdown lacks {needle:?}:\n{}",
            r.stdout
        );
    }
    assert!(
        r.stderr.contains("roadmap-planner"),
        "the summary names the Extension:\n{}",
        r.stderr
    );
    assert!(r.stderr.contains("converted 1 file"), "{}", r.stderr);
}

#[test]
fn runbook_keeps_the_unknown_macro_as_an_extension_and_writes_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let ir = dir.path().join("runbook.json");
    let r = run(&[
        "convert",
        "--to",
        "ir",
        p(&examples().join("runbook.xhtml")),
        "-o",
        p(&ir),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let ir_text = std::fs::read_to_string(&ir).unwrap();
    assert!(
        types_of(&ir_text).contains(&"extension".to_string()),
        "{ir_text}"
    );
    assert!(ir_text.contains("roadmap-planner"));
    assert!(r.stderr.contains("1 Extension node"), "{}", r.stderr);

    let back = dir.path().join("back.xhtml");
    let r = run(&[
        "convert",
        "--from",
        "ir",
        "--to",
        "storage",
        p(&ir),
        "-o",
        p(&back),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let storage = std::fs::read_to_string(&back).unwrap();
    assert!(
        storage.contains(r#"ac:name="roadmap-planner""#),
        "{storage}"
    );
    assert!(storage.contains("quarters"), "{storage}");
}

#[test]
fn ir_written_by_convert_reads_back_callouts() {
    // A callout as `--to ir` writes it (the default storage-macro form is not serialised).
    let callout = br#"{"blocks":[{"type":"callout","kind":"info","blocks":[]}]}"#;
    let r = run_with(
        &["convert", "--from", "ir", "--to", "ir"],
        Some(callout),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout), json(std::str::from_utf8(callout).unwrap()));
}

#[test]
fn storage_ir_storage_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let src = examples().join("runbook.xhtml");
    let ir1 = dir.path().join("1.json");
    let st = dir.path().join("2.xhtml");
    let ir2 = dir.path().join("3.json");
    assert_eq!(
        run(&["convert", "--to", "ir", p(&src), "-o", p(&ir1)]).status,
        0
    );
    assert_eq!(
        run(&["convert", "--to", "storage", p(&ir1), "-o", p(&st)]).status,
        0
    );
    let r = run(&["convert", "--to", "ir", p(&st), "-o", p(&ir2)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(
        json(&std::fs::read_to_string(&ir1).unwrap()),
        json(&std::fs::read_to_string(&ir2).unwrap()),
        "storage → IR → storage → IR changed the IR"
    );
}

#[test]
fn strict_refuses_extensions_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.xhtml");
    write(&file, WITH_UNKNOWN_MACRO);
    let out = dir.path().join("plan.json");
    let r = run(&["convert", "--to", "ir", "--strict", p(&file), "-o", p(&out)]);
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(r.stderr.contains("plan.xhtml"), "{}", r.stderr);
    assert!(r.stderr.contains("--strict"), "{}", r.stderr);
    assert!(r.stderr.contains("roadmap-planner"), "{}", r.stderr);
    assert!(!out.exists(), "--strict writes nothing for a refused file");

    // Without --strict the same file converts and the summary counts the Extension.
    let r = run(&["convert", "--to", "ir", p(&file), "-o", p(&out)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1 Extension node"), "{}", r.stderr);
}

#[test]
fn strict_refuses_markdown_fallbacks_of_the_runbook() {
    let r = run(&[
        "convert",
        "--from",
        "storage",
        "--to",
        "markdown",
        "--strict",
        p(&examples().join("runbook.xhtml")),
    ]);
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(r.stderr.contains("fallback"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing is written for a refused file");
}

#[test]
fn strict_accepts_a_plain_document() {
    let r = run_with(
        &["convert", "--from", "storage", "--to", "ir", "--strict"],
        Some(PLAIN.as_bytes()),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        types_of(&r.stdout).contains(&"heading".to_string()),
        "{}",
        r.stdout
    );
}

#[test]
fn summary_json_lists_fallbacks_and_extensions_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runbook.md");
    let r = run(&[
        "convert",
        "--from",
        "storage",
        "--to",
        "markdown",
        p(&examples().join("runbook.xhtml")),
        "-o",
        p(&out),
        "--summary-json",
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let s = json(&r.stderr);
    let file = &s["files"][0];
    assert_eq!(file["status"], "converted");
    assert!(
        !file["fallbacks"].as_array().unwrap().is_empty(),
        "{}",
        r.stderr
    );
    assert_eq!(file["extensions"][0]["name"], "roadmap-planner");
    assert_eq!(s["extensions"], 1);
}

#[test]
fn markdown_directory_to_storage() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notes");
    write(&input.join("one.md"), "# One\n\n- a\n- b\n");
    write(&input.join("two/two.markdown"), "Two *words*.\n");
    let out = dir.path().join("xhtml");
    let r = run(&[
        "convert",
        "--from",
        "markdown",
        "--to",
        "storage",
        p(&input),
        "-o",
        p(&out),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let one = std::fs::read_to_string(out.join("one.xhtml")).unwrap();
    assert!(one.contains("<h1>") && one.contains("<ul>"), "{one}");
    let two = std::fs::read_to_string(out.join("two/two.xhtml")).unwrap();
    assert!(two.contains("<em>words</em>"), "{two}");
}

/// `kbridge bench codecs` runs each (target, size) in a child process and reports JSON whose
/// figures are consistent with the sizes asked for, with memory per input byte for every target
/// (no speed is asserted: benchmarks are never timed tests).
#[test]
fn bench_codecs_prints_json_per_target_and_size() {
    let r = run(&[
        "bench",
        "codecs",
        "--sizes",
        "1,2",
        "--to",
        "storage,notion",
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("bench prints JSON");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for (run, (to, mib)) in runs.iter().zip([
        ("storage", 1u64),
        ("storage", 2),
        ("notion", 1),
        ("notion", 2),
    ]) {
        assert_eq!(run["target"], to, "{run}");
        let bytes = run["input_bytes"].as_u64().unwrap();
        assert!(
            bytes >= mib * 1024 * 1024 && bytes < (mib + 1) * 1024 * 1024,
            "{run}"
        );
        assert!(run["storage_read_mib_s"].as_f64().unwrap() > 0.0);
        assert!(run["written_bytes"].as_u64().unwrap() > bytes / 2);
        if cfg!(target_os = "linux") {
            assert!(
                run["peak_rss_bytes"].as_u64().unwrap()
                    >= run["rss_before_read_bytes"].as_u64().unwrap()
            );
            assert!(run["peak_over_baseline_per_input_byte"].as_f64().unwrap() > 0.0);
        }
    }
    for to in ["storage", "notion"] {
        assert!(
            v["targets"][to]["memory_per_input_byte_max"]
                .as_f64()
                .is_some(),
            "{v}"
        );
    }
    // Every target on the dense body.
    let r = run(&["bench", "codecs", "--sizes", "1", "--dense"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["input"], "dense (built in)");
    for to in ["storage", "markdown", "notion", "notion-plan", "ir"] {
        assert!(v["targets"][to].is_object(), "{to}: {v}");
    }
    // A bad input is refused with the file named.
    let r = run(&[
        "bench",
        "codecs",
        "--sizes",
        "1",
        "--input",
        "/nonexistent/body.xhtml",
    ]);
    assert_ne!(r.status, 0);
    assert!(r.stderr.contains("/nonexistent/body.xhtml"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Notion: API JSON in (`--from notion`), the append plan out (`--to notion`)

/// A block-children list response: a heading, a paragraph with a bold run, a to-do.
const NOTION_LIST: &str = r#"{"object":"list","results":[
 {"object":"block","id":"b1","type":"heading_2","has_children":false,"heading_2":{"rich_text":[{"type":"text","text":{"content":"Backups"},"plain_text":"Backups"}],"is_toggleable":false,"color":"default"}},
 {"object":"block","id":"b2","type":"paragraph","has_children":false,"paragraph":{"rich_text":[
   {"type":"text","text":{"content":"Nightly at "},"plain_text":"Nightly at "},
   {"type":"text","text":{"content":"02:00"},"annotations":{"bold":true,"italic":false,"strikethrough":false,"underline":false,"code":false,"color":"default"},"plain_text":"02:00"}],"color":"default"}},
 {"object":"block","id":"b3","type":"to_do","has_children":false,"to_do":{"rich_text":[{"type":"text","text":{"content":"check the restore"},"plain_text":"check the restore"}],"checked":true,"color":"default"}}
],"next_cursor":null,"has_more":false}"#;

#[test]
fn help_lists_notion() {
    let r = run(&["convert", "--help"]);
    assert_eq!(r.status, 0);
    assert!(
        r.stdout.contains("notion") && r.stdout.contains(".notion.json"),
        "{}",
        r.stdout
    );
}

#[test]
fn notion_json_converts_to_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.json");
    write(&file, NOTION_LIST);
    let r = run(&["convert", "--from", "notion", "--to", "storage", p(&file)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("<h2>Backups</h2>"), "{}", r.stdout);
    assert!(r.stdout.contains("<strong>02:00</strong>"), "{}", r.stdout);
    assert!(r.stdout.contains("ac:task"), "{}", r.stdout);
    let r = run(&["convert", "--from", "notion", "--to", "markdown", p(&file)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("## Backups")
            && r.stdout.contains("**02:00**")
            && r.stdout.contains("- [x]"),
        "{}",
        r.stdout
    );
    let r = run_with(
        &["convert", "--from", "notion", "--to", "text"],
        Some(NOTION_LIST.as_bytes()),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Nightly at 02:00"), "{}", r.stdout);
    let r = run_with(
        &["convert", "--from", "notion", "--to", "ir"],
        Some(NOTION_LIST.as_bytes()),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        types_of(&r.stdout).contains(&"task_list".to_string()),
        "{}",
        r.stdout
    );
}

#[test]
fn plain_json_is_ir_and_notion_json_is_notion() {
    let dir = tempfile::tempdir().unwrap();
    // Without --from, a `.json` file is IR: Notion JSON there fails with a hint.
    let file = dir.path().join("page.json");
    write(&file, NOTION_LIST);
    let r = run(&["convert", "--to", "markdown", p(&file)]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("--from ir"), "{}", r.stderr);
    // `.notion.json` is inferred, for input and output; the output name drops `.notion.json`.
    let file = dir.path().join("page.notion.json");
    write(&file, NOTION_LIST);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let r = run(&["convert", "--to", "markdown", p(&file), "-o", p(&out)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        std::fs::read_to_string(out.join("page.md"))
            .unwrap()
            .contains("## Backups")
    );
    let plan = dir.path().join("again.notion.json");
    let r = run(&[
        "convert",
        "--from",
        "markdown",
        p(&out.join("page.md")),
        "-o",
        p(&plan),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let j = json(&std::fs::read_to_string(&plan).unwrap());
    assert_eq!(j["requests"][0]["method"], "POST");
    // A directory run with --from notion takes `.notion.json` files only.
    let tree = dir.path().join("tree");
    write(&tree.join("a.notion.json"), NOTION_LIST);
    write(&tree.join("sub/b.notion.json"), NOTION_LIST);
    write(&tree.join("c.json"), "{}");
    let md = dir.path().join("md");
    let r = run(&[
        "convert",
        "--from",
        "notion",
        "--to",
        "markdown",
        p(&tree),
        "-o",
        p(&md),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(md.join("a.md").is_file() && md.join("sub/b.md").is_file());
    assert!(
        r.stderr.contains("skipped 1 file") && r.stderr.contains(".notion.json"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_notion_json_names_the_place() {
    let r = run_with(
        &["convert", "--from", "notion", "--to", "markdown"],
        Some(b"{\"object\":\"list\",\"results\":[{\"type\":"),
        None,
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("notion: line 1"), "{}", r.stderr);
    let r = run_with(
        &["convert", "--from", "notion", "--to", "markdown"],
        Some(br#"[{"object":"block","id":"x1","type":"paragraph","paragraph":{"rich_text":7}}]"#),
        None,
    );
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("x1") && r.stderr.contains("rich_text"),
        "{}",
        r.stderr
    );
}

#[test]
fn runbook_to_notion_is_an_append_plan_with_its_fallbacks() {
    let r = run(&[
        "convert",
        "--from",
        "storage",
        "--to",
        "notion",
        p(&examples().join("runbook.xhtml")),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let j = json(&r.stdout);
    assert_eq!(j["parent"]["type"], "new_page");
    let requests = j["requests"].as_array().unwrap();
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], "/v1/pages");
    for req in requests {
        let body = serde_json::to_vec(&req["body"]).unwrap();
        assert!(body.len() <= 500_000);
        assert!(req["body"]["children"].as_array().unwrap().len() <= 100);
    }
    let first: Vec<&str> = requests[0]["body"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    for kind in [
        "table",
        "table_of_contents",
        "heading_2",
        "callout",
        "column_list",
        "numbered_list_item",
        "code",
        "image",
    ] {
        assert!(
            first.contains(&kind) || r.stdout.contains(&format!("\"type\": \"{kind}\"")),
            "no {kind} in {first:?}"
        );
    }
    let fallbacks: Vec<&str> = j["fallbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["node"].as_str().unwrap())
        .collect();
    for node in ["extension:macro:roadmap-planner", "jira", "status"] {
        assert!(fallbacks.contains(&node), "{node} not in {fallbacks:?}");
        assert!(
            r.stderr.contains(node),
            "the summary lists {node}:\n{}",
            r.stderr
        );
    }
    assert_eq!(
        j["attachments"][0]["source"]["filename"],
        "orders-db-after-promotion.png"
    );
    assert!(
        r.stderr.contains("converted 1 file storage → notion"),
        "{}",
        r.stderr
    );
}

#[test]
fn strict_refuses_notion_fallbacks() {
    let r = run(&[
        "convert",
        "--strict",
        "--to",
        "notion",
        p(&examples().join("runbook.xhtml")),
    ]);
    assert_eq!(r.status, 1);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("--strict") && r.stderr.contains("in notion"),
        "{}",
        r.stderr
    );
    // A document Notion holds exactly passes.
    let r = run_with(
        &[
            "convert", "--strict", "--from", "markdown", "--to", "notion",
        ],
        Some(b"# Title\n\nSome **bold** text.\n"),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let j = json(&r.stdout);
    assert_eq!(j["requests"][0]["body"]["children"][0]["type"], "heading_1");
    assert!(j["fallbacks"].as_array().unwrap().is_empty());
}

#[test]
fn notion_to_notion_keeps_the_blocks() {
    let r = run_with(
        &["convert", "--from", "notion", "--to", "notion"],
        Some(NOTION_LIST.as_bytes()),
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let j = json(&r.stdout);
    let kinds: Vec<&str> = j["requests"][0]["body"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["heading_2", "paragraph", "to_do"]);
    assert_eq!(
        j["requests"][0]["body"]["children"][2]["to_do"]["checked"],
        true
    );
}
