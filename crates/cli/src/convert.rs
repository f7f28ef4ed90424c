//! `kbridge convert`: offline translation of one file, one directory tree, or stdin.
//!
//! Every input is read whole into the IR, checked for [`kb_doc::Extension`] nodes, written in
//! the target format and reported: converted files, per-file fallbacks and Extension nodes go to
//! a summary on stderr (or JSON with `--summary-json`). A reader error in one file of a
//! directory is reported and the run goes on; the exit status is non-zero at the end.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use kb_doc::Fallback;
use serde::Serialize;

use crate::format::{InputFormat, OutputFormat};
use crate::walk;

pub const AFTER_HELP: &str = "\
Examples:
  kbridge convert --from storage --to markdown examples/runbook.xhtml
  kbridge convert --to ir examples/runbook.xhtml -o runbook.json
  kbridge convert --from storage --to markdown exported-space/ -o markdown/
  cat page.md | kbridge convert --from markdown --to storage --strict
  kbridge convert --from notion --to storage blocks.json
  kbridge convert --to notion examples/runbook.xhtml -o runbook.notion.json

File extensions: storage .xhtml (also reads .xml, .html), markdown .md (also reads .markdown),
text .txt, ir .json, notion .notion.json (Notion API JSON in, an append plan out: the requests
that create the page's blocks within Notion's limits, plus files to upload, child pages to
create and fallbacks). A plain .json file is read as IR: pass --from notion for Notion JSON.
A directory is converted recursively into OUTPUT, mirroring its tree; files without an
extension of the --from format are listed as skipped.

Exit status: 0 when every file converted; 1 when any file failed to read or write, or was
refused by --strict; 2 on a usage error.";

#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// Format of the input [default: inferred from INPUT's extension].
    #[arg(long, value_enum, value_name = "FORMAT")]
    from: Option<InputFormat>,

    /// Format to write [default: inferred from OUTPUT's extension].
    #[arg(long, value_enum, value_name = "FORMAT")]
    to: Option<OutputFormat>,

    /// A file, a directory (converted recursively), or `-` for stdin [default: stdin].
    #[arg(value_name = "INPUT")]
    input: Option<PathBuf>,

    /// Output file, or directory (required when INPUT is a directory) [default: stdout].
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    /// Fail (and write nothing for that file) when a document holds content the IR does not
    /// model (Extension nodes) or the writer had to fall back.
    #[arg(long)]
    strict: bool,

    /// Print the summary as JSON: to stderr instead of the text summary, or with
    /// `--summary-json=FILE` into FILE.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "-"
    )]
    summary_json: Option<PathBuf>,

    /// Print only errors (no per-file details or totals): the global `-q/--quiet`.
    #[arg(skip)]
    pub(crate) quiet: bool,
}

/// Where one document comes from.
enum Source {
    Stdin,
    File(PathBuf),
}

/// Where one document goes.
enum Sink {
    Stdout,
    File(PathBuf),
}

struct Job {
    source: Source,
    /// The input as the user sees it (the path as given, or `<stdin>`).
    display: String,
    /// The destination, or why there is none (e.g. two inputs would write the same file).
    sink: Result<Sink, String>,
}

struct Plan {
    from: InputFormat,
    to: OutputFormat,
    jobs: Vec<Job>,
    /// Files of a directory run that are not in the `--from` format.
    skipped: Vec<String>,
    /// The directory converted, for the "nothing found" warning.
    dir: Option<PathBuf>,
}

#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum Status {
    Converted,
    /// Could not be read, converted or written.
    Failed,
    /// Converted, but refused by `--strict` (nothing written).
    Rejected,
}

#[derive(Serialize, Debug)]
struct ExtensionRef {
    format: String,
    kind: String,
    name: String,
}

#[derive(Serialize, Debug)]
struct FileReport {
    input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_bytes: Option<usize>,
    fallbacks: Vec<Fallback>,
    extensions: Vec<ExtensionRef>,
}

impl FileReport {
    fn new(input: &str) -> Self {
        FileReport {
            input: input.to_string(),
            output: None,
            status: Status::Failed,
            error: None,
            input_bytes: None,
            output_bytes: None,
            fallbacks: Vec::new(),
            extensions: Vec::new(),
        }
    }
    fn failed(mut self, error: String) -> Self {
        self.status = Status::Failed;
        self.error = Some(error);
        self
    }
}

#[derive(Serialize, Debug)]
struct Summary {
    from: &'static str,
    to: &'static str,
    strict: bool,
    converted: usize,
    failed: usize,
    rejected: usize,
    fallbacks: usize,
    extensions: usize,
    skipped: Vec<String>,
    files: Vec<FileReport>,
}

impl Summary {
    fn ok(&self) -> bool {
        self.failed == 0 && self.rejected == 0
    }
}

/// Runs `convert`. `Ok(false)` = some file failed (already reported).
pub fn run(args: ConvertArgs) -> anyhow::Result<bool> {
    let plan = plan(&args)?;
    let json_to_stderr = args.summary_json.as_deref() == Some(Path::new("-"));
    let human = !json_to_stderr;

    let mut summary = Summary {
        from: plan.from.name(),
        to: plan.to.name(),
        strict: args.strict,
        converted: 0,
        failed: 0,
        rejected: 0,
        fallbacks: 0,
        extensions: 0,
        skipped: plan.skipped,
        files: Vec::with_capacity(plan.jobs.len()),
    };

    for job in &plan.jobs {
        let (report, broken_pipe) = convert_one(job, plan.from, plan.to, args.strict);
        match report.status {
            Status::Converted => summary.converted += 1,
            Status::Failed => summary.failed += 1,
            Status::Rejected => summary.rejected += 1,
        }
        summary.fallbacks += report.fallbacks.len();
        summary.extensions += report.extensions.len();
        if human {
            print_file(&report, args.quiet);
        }
        summary.files.push(report);
        if broken_pipe {
            // The reader of stdout went away (`| head`): nothing more to say.
            return Ok(true);
        }
    }

    if human && !args.quiet {
        print_totals(&summary, plan.from, plan.dir.as_deref());
    }
    if let Some(path) = &args.summary_json {
        let json =
            serde_json::to_string_pretty(&summary).context("cannot serialise the summary")?;
        if json_to_stderr {
            eprintln!("{json}");
        } else {
            std::fs::write(path, json + "\n").with_context(|| {
                format!(
                    "{}: cannot write the JSON summary: check the folder exists and is writable",
                    path.display()
                )
            })?;
        }
    }
    Ok(summary.ok())
}

fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn format_list<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|f| name(*f)).collect::<Vec<_>>().join("|")
}

/// Resolves formats, inputs and outputs before touching any output.
fn plan(args: &ConvertArgs) -> anyhow::Result<Plan> {
    let inputs = || format_list(InputFormat::ALL, InputFormat::name);
    let outputs = || format_list(OutputFormat::ALL, OutputFormat::name);

    let input = args.input.as_deref().filter(|p| !is_dash(p));
    let output = args.output.as_deref().filter(|p| !is_dash(p));

    let Some(input) = input else {
        // stdin
        if args.input.is_none() && std::io::stdin().is_terminal() {
            bail!(
                "no INPUT given and stdin is a terminal: pass a file or a directory, or pipe a document in \
                 (see `kbridge convert --help`)"
            );
        }
        let Some(from) = args.from else {
            bail!(
                "reading stdin: pass --from {} to say what it holds",
                inputs()
            );
        };
        let sink = match output {
            None => Sink::Stdout,
            Some(o) if o.is_dir() => bail!(
                "{}: is a directory, and input from stdin has no file name: give an output file name (-o {}/page.{})",
                o.display(),
                o.display(),
                args.to.map_or("md", OutputFormat::extension)
            ),
            Some(o) => Sink::File(o.to_path_buf()),
        };
        let to = resolve_to(args.to, output, &outputs)?;
        return Ok(Plan {
            from,
            to,
            jobs: vec![Job {
                source: Source::Stdin,
                display: "<stdin>".into(),
                sink: Ok(sink),
            }],
            skipped: Vec::new(),
            dir: None,
        });
    };

    let meta = match std::fs::metadata(input) {
        Ok(meta) => meta,
        Err(e) => bail!(
            "{}: cannot open the input: {e}: check the path",
            input.display()
        ),
    };

    if meta.is_dir() {
        let Some(from) = args.from else {
            bail!(
                "{}: is a directory: pass --from {} to say which files to convert",
                input.display(),
                inputs()
            );
        };
        let Some(to) = args.to else {
            bail!(
                "{}: is a directory: pass --to {} to say what to write",
                input.display(),
                outputs()
            );
        };
        let Some(out_dir) = output else {
            bail!(
                "{}: is a directory: pass -o OUTPUT_DIR to say where the converted tree goes",
                input.display()
            );
        };
        if out_dir.exists() && !out_dir.is_dir() {
            bail!(
                "{}: exists and is not a directory: a directory INPUT needs an output directory",
                out_dir.display()
            );
        }
        // Never walk into an existing output folder inside the input (a re-run would convert
        // the previous run's output).
        let skip = out_dir.canonicalize().ok();
        let listing = list_dir(input, skip.as_deref(), from);
        let mut claimed: HashMap<PathBuf, String> = HashMap::new();
        let mut jobs = Vec::with_capacity(listing.files.len() + listing.errors.len());
        for rel in listing.files {
            let src = input.join(&rel);
            let display = src.display().to_string();
            let dest = with_format_extension(&out_dir.join(&rel), from, to);
            let sink = match claimed.get(&dest) {
                Some(first) => Err(format!(
                    "would write {} too, which {first} already writes: rename one of the two inputs",
                    dest.display()
                )),
                None => {
                    claimed.insert(dest.clone(), display.clone());
                    Ok(Sink::File(dest))
                }
            };
            jobs.push(Job {
                source: Source::File(src),
                display,
                sink,
            });
        }
        for (path, err) in listing.errors {
            jobs.push(Job {
                source: Source::File(path.clone()),
                display: path.display().to_string(),
                sink: Err(err),
            });
        }
        let skipped = listing
            .skipped
            .iter()
            .map(|p| input.join(p).display().to_string())
            .collect();
        return Ok(Plan {
            from,
            to,
            jobs,
            skipped,
            dir: Some(input.to_path_buf()),
        });
    }

    // A single file.
    let from = match args.from {
        Some(f) => f,
        None => InputFormat::infer(input).with_context(|| {
            format!(
                "{}: cannot tell the input format from the file extension: pass --from {}",
                input.display(),
                inputs()
            )
        })?,
    };
    let (sink, to) = match output {
        None => (Sink::Stdout, resolve_to(args.to, None, &outputs)?),
        Some(o) if o.is_dir() || ends_with_separator(o) => {
            let to = resolve_to(args.to, None, &outputs)?;
            let name = Path::new(input.file_name().unwrap_or(input.as_os_str()));
            (
                Sink::File(with_format_extension(&o.join(name), from, to)),
                to,
            )
        }
        Some(o) => (
            Sink::File(o.to_path_buf()),
            resolve_to(args.to, Some(o), &outputs)?,
        ),
    };
    Ok(Plan {
        from,
        to,
        jobs: vec![Job {
            source: Source::File(input.to_path_buf()),
            display: input.display().to_string(),
            sink: Ok(sink),
        }],
        skipped: Vec::new(),
        dir: None,
    })
}

/// `path` with the input format's extension replaced by the output's (`a.notion.json` →
/// `a.xhtml`, `a.xhtml` → `a.notion.json`).
fn with_format_extension(path: &Path, from: InputFormat, to: OutputFormat) -> PathBuf {
    let mut s = from.strip_extension(path).into_os_string();
    s.push(".");
    s.push(to.extension());
    PathBuf::from(s)
}

fn ends_with_separator(p: &Path) -> bool {
    p.as_os_str()
        .to_string_lossy()
        .ends_with(std::path::MAIN_SEPARATOR)
        || p.as_os_str().to_string_lossy().ends_with('/')
}

fn resolve_to(
    to: Option<OutputFormat>,
    output: Option<&Path>,
    outputs: &dyn Fn() -> String,
) -> anyhow::Result<OutputFormat> {
    if let Some(to) = to {
        return Ok(to);
    }
    match output {
        Some(o) => OutputFormat::infer(o).with_context(|| {
            format!(
                "{}: cannot tell the output format from the file extension: pass --to {}",
                o.display(),
                outputs()
            )
        }),
        None => bail!("pass --to {} to say what to write", outputs()),
    }
}

#[derive(Default)]
struct Listing {
    /// Paths relative to the root, of files in the `--from` format.
    files: Vec<PathBuf>,
    /// Paths relative to the root, of other files.
    skipped: Vec<PathBuf>,
    /// Folders that could not be listed.
    errors: Vec<(PathBuf, String)>,
}

/// Lists `root` recursively in a stable (sorted) order, without following symlinked folders.
fn list_dir(root: &Path, skip: Option<&Path>, from: InputFormat) -> Listing {
    let mut listing = Listing::default();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel_dir) = dirs.pop() {
        let dir = root.join(&rel_dir);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                listing
                    .errors
                    .push((dir, format!("cannot list the folder: {e}")));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    listing
                        .errors
                        .push((dir.clone(), format!("cannot list the folder: {e}")));
                    continue;
                }
            };
            let rel = rel_dir.join(entry.file_name());
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                listing.skipped.push(rel);
                continue;
            };
            if file_type.is_dir() {
                let is_output = skip.is_some_and(|s| path.canonicalize().is_ok_and(|c| c == s));
                if !is_output {
                    dirs.push(rel);
                }
            } else if file_type.is_file() || (file_type.is_symlink() && path.is_file()) {
                if from.matches(&path) {
                    listing.files.push(rel);
                } else {
                    listing.skipped.push(rel);
                }
            } else {
                // Symlinked folders, sockets, broken links: not followed.
                listing.skipped.push(rel);
            }
        }
    }
    listing.files.sort();
    listing.skipped.sort();
    listing
}

/// Converts one document. The flag is true when stdout was closed by its reader.
fn convert_one(job: &Job, from: InputFormat, to: OutputFormat, strict: bool) -> (FileReport, bool) {
    let mut report = FileReport::new(&job.display);
    let sink = match &job.sink {
        Ok(sink) => sink,
        Err(e) => return (report.failed(e.clone()), false),
    };
    if let Sink::File(p) = sink {
        report.output = Some(p.display().to_string());
    }

    let bytes = match read_source(&job.source) {
        Ok(bytes) => bytes,
        Err(e) => return (report.failed(format!("cannot read: {e}")), false),
    };
    report.input_bytes = Some(bytes.len());

    let doc = match from.read(&bytes) {
        Ok(doc) => doc,
        Err(e) => {
            return (
                report.failed(format!(
                    "{e} (fix the input there, or check that --from {} is right)",
                    from.name()
                )),
                false,
            );
        }
    };
    drop(bytes);

    report.extensions = walk::extensions(&doc)
        .into_iter()
        .map(|e| ExtensionRef {
            format: e.format.clone(),
            kind: e.kind.clone(),
            name: e.name.clone(),
        })
        .collect();

    let written = match to.write(&doc) {
        Ok(w) => w,
        Err(e) => return (report.failed(e), false),
    };
    report.fallbacks = written.fallbacks;

    if strict && (!report.extensions.is_empty() || !report.fallbacks.is_empty()) {
        report.status = Status::Rejected;
        report.error = Some(strict_message(&report, to));
        report.output = None;
        return (report, false);
    }

    report.output_bytes = Some(written.output.len());
    match sink {
        Sink::Stdout => {
            let mut out = std::io::stdout().lock();
            match out
                .write_all(written.output.as_bytes())
                .and_then(|()| out.flush())
            {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    report.status = Status::Converted;
                    return (report, true);
                }
                Err(e) => return (report.failed(format!("cannot write to stdout: {e}")), false),
            }
        }
        Sink::File(path) => {
            if let Err(e) = write_file(path, written.output.as_bytes()) {
                return (
                    report.failed(format!(
                        "cannot write {}: {e}: check the folder exists and is writable",
                        path.display()
                    )),
                    false,
                );
            }
        }
    }
    report.status = Status::Converted;
    (report, false)
}

fn read_source(source: &Source) -> std::io::Result<Vec<u8>> {
    match source {
        Source::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin().lock().read_to_end(&mut buf)?;
            Ok(buf)
        }
        Source::File(path) => std::fs::read(path),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `callout:info → blockquote with a bold label (×2)` lines, grouped, in first-seen order.
fn grouped_fallbacks(fallbacks: &[Fallback]) -> Vec<String> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in fallbacks {
        let key = (f.node.clone(), f.rendered_as.clone());
        let n = counts.entry(key.clone()).or_insert(0);
        if *n == 0 {
            order.push(key);
        }
        *n += 1;
    }
    order
        .into_iter()
        .map(|key| {
            let n = counts[&key];
            let times = if n > 1 {
                format!(" (×{n})")
            } else {
                String::new()
            };
            format!("{} → {}{times}", key.0, key.1)
        })
        .collect()
}

fn grouped_extensions(exts: &[ExtensionRef]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in exts {
        let name = format!("{} {} {}", e.format, e.kind, e.name);
        let n = counts.entry(name.clone()).or_insert(0);
        if *n == 0 {
            order.push(name);
        }
        *n += 1;
    }
    order
        .into_iter()
        .map(|name| {
            let n = counts[&name];
            if n > 1 {
                format!("{name} (×{n})")
            } else {
                name
            }
        })
        .collect()
}

fn strict_message(report: &FileReport, to: OutputFormat) -> String {
    let mut parts = Vec::new();
    if !report.extensions.is_empty() {
        parts.push(format!(
            "{} the IR does not model ({})",
            plural(report.extensions.len(), "Extension node", "Extension nodes"),
            grouped_extensions(&report.extensions).join(", ")
        ));
    }
    if !report.fallbacks.is_empty() {
        parts.push(format!(
            "{} in {} ({})",
            plural(report.fallbacks.len(), "fallback", "fallbacks"),
            to.name(),
            grouped_fallbacks(&report.fallbacks).join(", ")
        ));
    }
    format!(
        "--strict: not converted exactly: {}; nothing written (drop --strict to accept these)",
        parts.join("; ")
    )
}

fn print_file(report: &FileReport, quiet: bool) {
    if let Some(err) = &report.error {
        eprintln!("error: {}: {err}", report.input);
        return;
    }
    if quiet || (report.fallbacks.is_empty() && report.extensions.is_empty()) {
        return;
    }
    let dest = report.output.as_deref().unwrap_or("stdout");
    eprintln!(
        "{} → {dest}: {}, {}",
        report.input,
        plural(report.fallbacks.len(), "fallback", "fallbacks"),
        plural(report.extensions.len(), "Extension node", "Extension nodes"),
    );
    for line in grouped_fallbacks(&report.fallbacks) {
        eprintln!("  fallback: {line}");
    }
    for line in grouped_extensions(&report.extensions) {
        eprintln!("  Extension: {line}");
    }
}

fn print_totals(summary: &Summary, from: InputFormat, dir: Option<&Path>) {
    const SHOWN: usize = 10;
    if !summary.skipped.is_empty() {
        let more = summary.skipped.len().saturating_sub(SHOWN);
        let mut list = summary
            .skipped
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        eprintln!(
            "skipped {} without a {} extension (.{}): {list}",
            plural(summary.skipped.len(), "file", "files"),
            from.name(),
            from.extensions().join(", .")
        );
    }
    if let Some(dir) = dir
        && summary.files.is_empty()
    {
        eprintln!(
            "warning: {}: no {} files found (.{})",
            dir.display(),
            from.name(),
            from.extensions().join(", .")
        );
    }
    let mut line = format!(
        "converted {} {} → {}",
        plural(summary.converted, "file", "files"),
        summary.from,
        summary.to
    );
    let mut extra = Vec::new();
    if summary.failed > 0 {
        extra.push(format!("{} failed", summary.failed));
    }
    if summary.rejected > 0 {
        extra.push(format!("{} refused by --strict", summary.rejected));
    }
    if !summary.skipped.is_empty() {
        extra.push(format!("{} skipped", summary.skipped.len()));
    }
    if !extra.is_empty() {
        line.push_str(&format!(" ({})", extra.join(", ")));
    }
    line.push_str(&format!(
        "; {}, {}",
        plural(summary.fallbacks, "fallback", "fallbacks"),
        plural(summary.extensions, "Extension node", "Extension nodes")
    ));
    eprintln!("{line}");
}
