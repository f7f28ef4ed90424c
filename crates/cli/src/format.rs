//! The formats `kbridge convert` reads and writes.
//!
//! Adding a format means adding a variant to [`InputFormat`] and/or [`OutputFormat`] and filling
//! in the arms the compiler then points at: name, file extensions, reader, writer. Nothing else in
//! the CLI matches on formats.
//!
//! Notion JSON shares `.json` with the IR, so it is only inferred from the double extension
//! `.notion.json`; anything else needs `--from notion` / `--to notion`.

use std::path::Path;

use clap::ValueEnum;
use kb_doc::{Document, ReadError, Written};

/// A format `convert` can read (`--from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Confluence storage format (XHTML-ish XML): `.xhtml`, `.xml`, `.html`.
    Storage,
    /// Markdown (GFM): `.md`, `.markdown`.
    Markdown,
    /// kbridge's document model (IR) as JSON: `.json`.
    Ir,
    /// Notion API JSON: a block-children list response, a block, an array of blocks, or a page
    /// object with a `children` tree: `.notion.json`.
    Notion,
}

/// A format `convert` can write (`--to`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Confluence storage format, written as `.xhtml`.
    Storage,
    /// Markdown (GFM), written as `.md`.
    Markdown,
    /// Plain text (what a search index sees), written as `.txt`.
    Text,
    /// kbridge's document model (IR) as pretty JSON, written as `.json`.
    Ir,
    /// The Notion append plan (requests that create the page's blocks within Notion's limits)
    /// as compact JSON on one line (`jq .` shows it indented), written as `.notion.json`.
    Notion,
}

impl InputFormat {
    pub const ALL: &'static [InputFormat] = &[
        InputFormat::Storage,
        InputFormat::Markdown,
        InputFormat::Ir,
        InputFormat::Notion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Storage => "storage",
            InputFormat::Markdown => "markdown",
            InputFormat::Ir => "ir",
            InputFormat::Notion => "notion",
        }
    }

    /// File extensions (lower case, without the dot) read as this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            InputFormat::Storage => &["xhtml", "xml", "html"],
            InputFormat::Markdown => &["md", "markdown"],
            InputFormat::Ir => &["json"],
            InputFormat::Notion => &["notion.json"],
        }
    }

    /// True when `path` has one of this format's extensions (`.notion.json` is Notion's, not
    /// the IR's).
    pub fn matches(self, path: &Path) -> bool {
        match self {
            InputFormat::Notion => is_notion_json(path),
            InputFormat::Ir => {
                !is_notion_json(path) && extension(path).is_some_and(|e| e == "json")
            }
            _ => extension(path).is_some_and(|e| self.extensions().contains(&e.as_str())),
        }
    }

    /// The file name of `path` without this format's extension (`page.notion.json` → `page`).
    pub fn strip_extension(self, path: &Path) -> std::path::PathBuf {
        if self == InputFormat::Notion && is_notion_json(path) {
            // `page.notion.json` → `page.notion` → `page`
            return path.with_extension("").with_extension("");
        }
        path.with_extension("")
    }

    /// The format a file's extension says it is in.
    pub fn infer(path: &Path) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.matches(path))
    }

    /// Reads a whole input. Errors carry a 1-based line and column.
    pub fn read(self, bytes: &[u8]) -> Result<Document, ReadError> {
        match self {
            InputFormat::Storage => kb_doc::storage::read_bytes(bytes),
            InputFormat::Markdown => {
                let text = utf8(self, bytes)?;
                Ok(kb_doc::markdown::read(text))
            }
            InputFormat::Ir => {
                let text = utf8(self, bytes)?;
                kb_doc::ir_json::read(text)
            }
            InputFormat::Notion => kb_doc::notion::read_json(utf8(self, bytes)?),
        }
    }
}

impl OutputFormat {
    pub const ALL: &'static [OutputFormat] = &[
        OutputFormat::Storage,
        OutputFormat::Markdown,
        OutputFormat::Text,
        OutputFormat::Ir,
        OutputFormat::Notion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Storage => "storage",
            OutputFormat::Markdown => "markdown",
            OutputFormat::Text => "text",
            OutputFormat::Ir => "ir",
            OutputFormat::Notion => "notion",
        }
    }

    /// The extension given to files written in this format.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Storage => "xhtml",
            OutputFormat::Markdown => "md",
            OutputFormat::Text => "txt",
            OutputFormat::Ir => "json",
            OutputFormat::Notion => "notion.json",
        }
    }

    /// Extensions recognised when inferring `--to` from an output file name.
    fn recognised_extensions(self) -> &'static [&'static str] {
        match self {
            OutputFormat::Storage => &["xhtml", "xml", "html"],
            OutputFormat::Markdown => &["md", "markdown"],
            OutputFormat::Text => &["txt"],
            OutputFormat::Ir => &["json"],
            OutputFormat::Notion => &[],
        }
    }

    /// The format an output file's extension asks for.
    pub fn infer(path: &Path) -> Option<Self> {
        if is_notion_json(path) {
            return Some(OutputFormat::Notion);
        }
        let ext = extension(path)?;
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.recognised_extensions().contains(&ext.as_str()))
    }

    /// Writes a document, listing what fell back. Only serialising the IR can fail.
    pub fn write(self, doc: &Document) -> Result<Written, String> {
        match self {
            OutputFormat::Storage => Ok(kb_doc::storage::write_report(doc)),
            OutputFormat::Markdown => Ok(kb_doc::markdown::write_report(doc)),
            OutputFormat::Text => Ok(Written {
                output: kb_doc::text::to_text(doc),
                fallbacks: Vec::new(),
            }),
            OutputFormat::Ir => match kb_doc::ir_json::write_report(doc) {
                Ok(mut w) => {
                    w.output.push('\n');
                    Ok(w)
                }
                Err(e) => Err(format!("cannot serialise the document as JSON: {e}")),
            },
            // A plan for a new page: the first request is the `POST /v1/pages` that creates it.
            OutputFormat::Notion => Ok(kb_doc::notion::write_report(doc)),
        }
    }
}

/// `*.notion.json` (any case).
fn is_notion_json(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.len() > ".notion.json".len() && n.to_ascii_lowercase().ends_with(".notion.json")
    })
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn utf8(format: InputFormat, bytes: &[u8]) -> Result<&str, ReadError> {
    std::str::from_utf8(bytes).map_err(|e| ReadError::from_utf8(format.name(), bytes, e))
}
