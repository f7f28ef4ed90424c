//! Confluence storage format: reader and writer.
//!
//! The reader takes body fragments exactly as the API returns them (`body.storage.value`): no
//! root element, undeclared `ac:`/`ri:`/`at:` prefixes, HTML named entities, CDATA, void and
//! self-closing elements. It works in two stages: quick-xml events → a small tree borrowing from
//! the input (iterative, depth-limited) → IR. The writer produces fragments Confluence accepts.
//!
//! Round-trip contract: for any body `s` that reads, `read(write(read(s))) == read(s)`, and
//! `write(read(s))` is semantically equal to `s` (same elements, attributes and text once
//! attribute order, entity spelling, macro parameter order and whitespace between blocks are
//! normalised). Unmodelled macros and elements keep their exact source in an
//! [`crate::Extension`]; code that edits an extension's `body` must clear its `source`.

mod reader;
mod tree;
mod writer;

pub use tree::MAX_DEPTH;

use crate::{Document, ReadError, Recovered, Written};

/// Reads a storage-format body fragment (as `body.storage.value` holds it).
pub fn read(input: &str) -> Result<Document, ReadError> {
    let tree = tree::parse(input)?;
    let ctx = reader::Ctx { input, t: &tree };
    Ok(Document {
        blocks: ctx.blocks(tree.roots()),
    })
}

/// Reads raw bytes, failing with a position when they are not UTF-8.
pub fn read_bytes(input: &[u8]) -> Result<Document, ReadError> {
    match std::str::from_utf8(input) {
        Ok(s) => read(s),
        Err(e) => Err(ReadError::from_utf8("storage", input, e)),
    }
}

/// Reads a storage-format body leniently, as an HTML parser would: an unclosed element is closed
/// (at its parent's end tag or at the end of the body), a stray end tag is dropped, malformed
/// markup and bad character references are kept as text, attributes that are not XML are read as
/// HTML attributes. Every recovery is returned with its line and column. What still cannot be
/// read (nesting past [`MAX_DEPTH`]) is an error: never an empty document.
pub fn read_reported(input: &str) -> Result<Recovered, ReadError> {
    let mut recoveries = Vec::new();
    let tree = tree::parse_lenient(input, &mut recoveries)?;
    let ctx = reader::Ctx { input, t: &tree };
    Ok(Recovered {
        document: Document {
            blocks: ctx.blocks(tree.roots()),
        },
        recoveries,
    })
}

/// [`read_reported`] on raw bytes; bytes that are not UTF-8 are an error with their position.
pub fn read_bytes_reported(input: &[u8]) -> Result<Recovered, ReadError> {
    match std::str::from_utf8(input) {
        Ok(s) => read_reported(s),
        Err(e) => Err(ReadError::from_utf8("storage", input, e)),
    }
}

/// Writes storage format that Confluence accepts.
pub fn write(doc: &Document) -> String {
    write_report(doc).output
}

/// Writes storage format and lists what fell back.
pub fn write_report(doc: &Document) -> Written {
    let (doc, mut fallbacks) = crate::depth::limit(doc);
    let mut w = writer::W::new();
    w.blocks(&doc.blocks);
    fallbacks.append(&mut w.fallbacks);
    Written {
        output: w.out,
        fallbacks,
    }
}
