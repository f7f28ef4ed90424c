//! Markdown (GFM): a writer that renders every IR node (with readable fallbacks for what
//! Markdown cannot express) and a reader (pulldown-cmark) that reads GFM back into the IR.
//!
//! # Round trip
//!
//! For every document in Markdown's expressible subset, `read(&write(&doc)) == doc`, provided
//! the document is in the reader's canonical form:
//!
//! - adjacent `Text` nodes are merged and no `Text` is empty; soft line breaks are `"\n"` in text,
//!   hard ones are [`Inline::Break`];
//! - paragraphs have no alignment and no attributes; attributes of other nodes are not written
//!   (they belong to other formats);
//! - the items of a *tight* list (no blank line between items or their blocks) hold their text
//!   as [`Block::Plain`]; those of a *loose* list hold [`Block::Paragraph`]s. The writer writes a
//!   list tight unless one of its items directly holds a `Paragraph`. Outside list items,
//!   `Plain` is written like a paragraph and reads back as `Paragraph`;
//! - an ordered list starting at 1 has `start: None`;
//! - pipe-table cells hold one `Plain` (or nothing when empty); every row is in the body
//!   section; the first row is the header row (`header: true` cells); column alignment is the
//!   table attribute `kb:align` (`"left,,center,right"`);
//! - a paragraph that is only an image is a [`Block::Image`] (an italic line right after it is
//!   its caption, one `Paragraph`); only `$$…$$` is a [`Block::Math`]; only `[TOC]` is a
//!   [`Block::Toc`];
//! - a task list is a list whose items all start with `[ ]`/`[x]`;
//! - link targets: `#a` ↔ [`LinkTarget::SamePage`] with anchor `a`; `Title.md` /
//!   `../SPACE/Title.md` (+`#anchor`) ↔ a page by title (percent-encoded); a relative file name
//!   with an extension ↔ an attachment; absolute URLs ↔ [`LinkTarget::Url`] (a URL's anchor
//!   stays in the URL). Image sources: relative ↔ attachment, absolute ↔ URL;
//! - a code block's info string is `language title="Title"`; a ```` ```math ```` block is a
//!   display equation;
//! - `> **Note:** …` (the writer's callout form, label = kind) and GitHub alerts
//!   (`> [!NOTE]`) read as callouts; `<details><summary>T</summary>` … `</details>` reads as an
//!   expand;
//! - a table a pipe table cannot hold (no header row, spans, block content) is written as an
//!   HTML `<table>` whose cells hold either plain text on the tag's line (`<td>x</td>`, a cell
//!   with one `Plain` text) or Markdown between blank lines; both read back as a table (cells
//!   with Markdown content hold `Paragraph`s, not `Plain`s). Hand-written HTML tables whose
//!   cells hold only text read as tables too;
//! - YAML front matter (`---` … `---` at the very start) is an [`Extension`]
//!   (`kind: "front_matter"`, `name: "yaml"`, its YAML as `text`), written back verbatim;
//! - inline HTML `<u>`, `<sub>`, `<sup>`, `<small>`, `<big>`, `<code>`, `<strong>`/`<b>`,
//!   `<em>`/`<i>`, `<del>`/`<s>`, `<span style>`, `<a href>`, `<a id>` (anchor) and `<br>` read as
//!   the corresponding IR nodes; other HTML is kept verbatim as an [`Extension`]
//!   (`format: "markdown"`, `kind: "html"`) that the writer reproduces.
//!
//! # Fallbacks
//!
//! What Markdown cannot express is written readably and reported in [`Written::fallbacks`]:
//! callouts (a blockquote with a bold label), expands (`<details>`), layouts (the cells one
//! after the other), TOC (`[TOC]`), child pages / page-properties reports / includes (an italic
//! note), excerpts and page properties (their body), files and embeds (a link), complex tables
//! (an HTML table whose cells hold Markdown), statuses (`**[TEXT]**`), emoji, dates, mentions,
//! placeholders and Jira macros (text), extensions (a fenced block named
//! `confluence-macro:name` holding their text, else their body, else their source). A link
//! without text gets its target's name (title, file name, URL) as text.
//!
//! [`Block::Image`]: crate::Block::Image
//! [`Block::Math`]: crate::Block::Math
//! [`Block::Paragraph`]: crate::Block::Paragraph
//! [`Block::Plain`]: crate::Block::Plain
//! [`Block::Toc`]: crate::Block::Toc
//! [`Extension`]: crate::Extension
//! [`Inline::Break`]: crate::Inline::Break
//! [`LinkTarget::SamePage`]: crate::LinkTarget::SamePage
//! [`LinkTarget::Url`]: crate::LinkTarget::Url
//! [`Written::fallbacks`]: crate::Written::fallbacks

mod reader;
mod writer;

/// Deepest container nesting (blocks and inline spans) the reader builds; deeper input is
/// flattened into the deepest container, so hostile input cannot overflow the stack.
pub use reader::MAX_DEPTH;

use crate::{Document, Written};

/// Reads GFM into the IR. Never fails: any text is some Markdown.
///
/// Tables, strikethrough, task lists, math (`$…$`, `$$…$$`) and GitHub alerts are enabled.
/// See the [module documentation](self) for the canonical form of the result.
pub fn read(input: &str) -> Document {
    reader::read(input)
}

/// Writes the IR as GFM.
pub fn write(doc: &Document) -> String {
    write_report(doc).output
}

/// Writes the IR as GFM and lists what fell back (see the [module documentation](self)).
pub fn write_report(doc: &Document) -> Written {
    writer::write(doc)
}
