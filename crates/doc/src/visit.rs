//! Walking a document to change it in place: every block and every inline, at any depth
//! (list items, table cells, layouts, callouts, expands, captions, macro bodies, marks, links).
//!
//! The jobs use it to resolve what the codecs leave symbolic: links between migrated pages,
//! files to upload. Parents are visited before their children.

use crate::ir::*;

/// What to do at each node; both methods default to nothing.
pub trait VisitMut {
    /// Called for every block, before its children.
    fn block(&mut self, _block: &mut Block) {}
    /// Called for every inline, before its children.
    fn inline(&mut self, _inline: &mut Inline) {}
}

/// Visits every block and inline of `doc`.
pub fn visit_document(doc: &mut Document, v: &mut impl VisitMut) {
    visit_blocks(&mut doc.blocks, v);
}

/// Visits `blocks` and everything inside them.
pub fn visit_blocks(blocks: &mut [Block], v: &mut impl VisitMut) {
    for b in blocks {
        v.block(b);
        match b {
            Block::Paragraph { content, .. }
            | Block::Plain { content }
            | Block::Heading { content, .. } => visit_inlines(content, v),
            Block::List(l) => {
                for it in &mut l.items {
                    visit_blocks(&mut it.blocks, v);
                }
            }
            Block::TaskList { items, .. } => {
                for it in items {
                    visit_blocks(&mut it.body, v);
                }
            }
            Block::Quote { blocks, .. } => visit_blocks(blocks, v),
            Block::Callout(c) => visit_blocks(&mut c.blocks, v),
            Block::Table(t) => {
                for r in &mut t.rows {
                    for c in &mut r.cells {
                        visit_blocks(&mut c.blocks, v);
                    }
                }
            }
            Block::Layout(l) => {
                for s in &mut l.sections {
                    for c in &mut s.cells {
                        visit_blocks(&mut c.blocks, v);
                    }
                }
            }
            Block::Expand(e) => visit_blocks(&mut e.blocks, v),
            Block::Image(i) => {
                if let Some(c) = &mut i.caption {
                    visit_blocks(c, v);
                }
            }
            Block::File(f) => {
                if let Some(c) = &mut f.caption {
                    visit_inlines(c, v);
                }
            }
            Block::Embed(e) => {
                if let Some(c) = &mut e.caption {
                    visit_inlines(c, v);
                }
            }
            Block::Excerpt(e) => visit_blocks(&mut e.blocks, v),
            Block::PageProperties(p) => visit_blocks(&mut p.blocks, v),
            Block::Extension(e) => visit_blocks(&mut e.body, v),
            Block::Code(_)
            | Block::Math(_)
            | Block::Divider { .. }
            | Block::Toc(_)
            | Block::ChildPages(_)
            | Block::Include(_)
            | Block::PagePropertiesReport(_) => {}
        }
    }
}

/// Visits `inlines` and everything inside them.
pub fn visit_inlines(inlines: &mut [Inline], v: &mut impl VisitMut) {
    for i in inlines {
        v.inline(i);
        match i {
            Inline::Mark { content, .. } | Inline::Span { content, .. } => {
                visit_inlines(content, v)
            }
            Inline::Link(l) => visit_inlines(&mut l.content, v),
            Inline::Image(img) => {
                if let Some(c) = &mut img.caption {
                    visit_blocks(c, v);
                }
            }
            Inline::Extension(e) => visit_blocks(&mut e.body, v),
            Inline::Text { .. }
            | Inline::Emoji(_)
            | Inline::Status(_)
            | Inline::Date { .. }
            | Inline::Break { .. }
            | Inline::Math(_)
            | Inline::Anchor { .. }
            | Inline::Placeholder { .. }
            | Inline::Jira(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct CountLinks(usize, usize);
    impl VisitMut for CountLinks {
        fn block(&mut self, _: &mut Block) {
            self.1 += 1;
        }
        fn inline(&mut self, i: &mut Inline) {
            if let Inline::Link(l) = i {
                self.0 += 1;
                l.target = LinkTarget::Url {
                    url: "https://example.com/".into(),
                };
            }
        }
    }

    #[test]
    fn reaches_links_in_tables_lists_and_marks() {
        let src = "<table><tbody><tr><td><ul><li><p><strong><a href=\"https://a.example/\">a</a></strong></p></li></ul></td></tr></tbody></table>\
                   <ac:structured-macro ac:name=\"info\"><ac:rich-text-body><p><ac:link><ri:page ri:content-title=\"X\" /></ac:link></p></ac:rich-text-body></ac:structured-macro>";
        let mut doc = crate::storage::read(src).unwrap();
        let mut v = CountLinks(0, 0);
        visit_document(&mut doc, &mut v);
        assert_eq!(v.0, 2, "both links, one in a table list, one in a callout");
        assert_eq!(v.1, 5, "table, list, paragraph, callout, paragraph");
        let out = crate::storage::write(&doc);
        assert_eq!(out.matches("https://example.com/").count(), 2, "{out}");
    }
}
