//! Confluence storage format: reader and writer.

use crate::{Document, ReadError, Written};

/// Reads a storage-format body fragment (as `body.storage.value` holds it).
pub fn read(input: &str) -> Result<Document, ReadError> {
    let _ = input;
    Ok(Document::default())
}

/// Reads raw bytes, failing with a position when they are not UTF-8.
pub fn read_bytes(input: &[u8]) -> Result<Document, ReadError> {
    match std::str::from_utf8(input) {
        Ok(s) => read(s),
        Err(e) => Err(ReadError::from_utf8("storage", input, e)),
    }
}

/// Writes storage format that Confluence accepts.
pub fn write(doc: &Document) -> String {
    write_report(doc).output
}

/// Writes storage format and lists what fell back.
pub fn write_report(doc: &Document) -> Written {
    let _ = doc;
    Written::default()
}
