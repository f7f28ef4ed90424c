//! Two-way sync between a Notion tree and a Confluence tree (being built): change signals
//! ([`signals`]) feed a de-duplicated queue; each pass reads both sides, merges them against the
//! stored base with [`kb_doc::merge`], and writes the side that is behind.

pub mod signals;
