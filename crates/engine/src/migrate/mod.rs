//! `kbridge migrate`: whole trees between Notion and Confluence.
//!
//! Notion → Confluence reads the Notion tree (pages, nested subpages, databases and their rows)
//! into the IR, decides every page's Confluence title first (titles are unique in a space, and
//! storage-format links name pages by title), resolves links and files against that plan, and
//! writes each page once, parents before children. Each step's outcome is committed to the store
//! with the page (the id map and a per-page checkpoint), so a re-run writes only what changed and
//! a killed run resumes without duplicates.

pub mod transform;
