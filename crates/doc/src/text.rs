//! Plain-text rendering, for search indexing and for comparing content across formats.
use crate::ir::*;

/// The plain text of a document.
pub fn to_text(doc: &Document) -> String {
    blocks_to_text(&doc.blocks)
}

/// The plain text of a block sequence.
pub fn blocks_to_text(blocks: &[Block]) -> String {
    let _ = blocks;
    String::new()
}

/// The plain text of inline content.
pub fn inlines_to_text(inlines: &[Inline]) -> String {
    let _ = inlines;
    String::new()
}
