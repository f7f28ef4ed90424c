//! Notion: models of the API's JSON (blocks, rich text, pages, properties, databases), a reader
//! from Notion block trees and page properties into the IR, and a writer from the IR into
//! request payloads shaped to Notion's limits (an ordered *append plan*).
//!
//! Like every codec here it is pure: no HTTP, no clock. The Notion client (a later crate) fetches
//! blocks and their children, and executes append plans; it reuses [`model`].
//!
//! IR conventions for Notion-specific facts (attribute keys start with `notion:`; other formats'
//! writers ignore them): `notion:id` (the block id), `notion:color` (a block or text colour name),
//! `notion:block` (the Notion block type behind an IR node whose type does not say it:
//! `child_page`, `child_database`, `link_to_page`, `synced_block`, `toggle_heading`…),
//! `notion:mention` (`page`, `database`, `link_preview`, `link_mention`, `template_mention`).

pub mod model;
mod reader;
mod writer;

/// True for a Notion id: 32 hex digits, dashes allowed anywhere (`2712e341-754a-…`).
pub(crate) fn is_notion_id(id: &str) -> bool {
    let mut n = 0;
    for c in id.chars() {
        match c {
            '-' => {}
            c if c.is_ascii_hexdigit() => n += 1,
            _ => return false,
        }
    }
    n == 32
}

pub use reader::{
    ReadOptions, TitleResolver, database_label, database_report, properties_to_ir, read_blocks,
    read_blocks_with, read_json, read_page, read_page_with,
};
pub use writer::*;
