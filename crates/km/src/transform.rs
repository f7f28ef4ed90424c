//! A storage body into the article's Markdown, HTML and plain text, after the transformation
//! rules: per macro (its text, code, dropped with a marker, raw), tables (Markdown, HTML or
//! flattened `column: value` lines), images (alt text and a link to the file), and the Page
//! Properties rows it holds.

use std::collections::BTreeMap;

use kb_doc::visit::{VisitMut, visit_document};
use kb_doc::{Block, Code, Document, Inline, Params};

use crate::config::{MacroRule, Rules, TableRule};

/// The transformed body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transformed {
    pub markdown: String,
    pub html: String,
    pub text: String,
    /// Page Properties rows (key → plain text) of the keys asked for.
    pub page_properties: BTreeMap<String, String>,
    /// What was recovered or changed on the way (visible in the integration log).
    pub warnings: Vec<String>,
}

/// Reads `storage` leniently and writes the three bodies.
pub fn transform(storage: &str, rules: &Rules, keys: &[String]) -> Result<Transformed, String> {
    let rec = kb_doc::storage::read_reported(storage).map_err(|e| e.to_string())?;
    let mut warnings: Vec<String> = rec
        .recoveries
        .iter()
        .map(|r| format!("body recovered: {r:?}"))
        .collect();
    let mut doc = rec.document;
    let mut page_properties = BTreeMap::new();
    if !keys.is_empty() {
        collect_properties(&doc.blocks, keys, &mut page_properties);
    }
    let mut v = Rewriter {
        rules,
        dropped: Vec::new(),
    };
    visit_document(&mut doc, &mut v);
    for d in v.dropped {
        warnings.push(format!("macro {d} dropped by a transformation rule"));
    }
    let text = kb_doc::text::to_text(&doc);
    let markdown = kb_doc::markdown::write(&doc);
    let html = markdown_to_html(&markdown);
    Ok(Transformed {
        markdown,
        html,
        text,
        page_properties,
        warnings,
    })
}

/// HTML of Markdown (CommonMark with GFM tables), raw HTML kept (tables written as HTML).
pub fn markdown_to_html(md: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut out = String::with_capacity(md.len() * 2);
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    html::push_html(&mut out, Parser::new_ext(md, opts));
    out
}

fn collect_properties(blocks: &[Block], keys: &[String], out: &mut BTreeMap<String, String>) {
    for b in blocks {
        match b {
            Block::PageProperties(p) => {
                for (k, v) in p.rows() {
                    let k = k.trim().to_string();
                    if keys.contains(&k) && !out.contains_key(&k) {
                        out.insert(k, kb_doc::text::blocks_to_text(v).trim().to_string());
                    }
                }
            }
            Block::Layout(l) => {
                for s in &l.sections {
                    for c in &s.cells {
                        collect_properties(&c.blocks, keys, out);
                    }
                }
            }
            _ => {}
        }
    }
}

struct Rewriter<'a> {
    rules: &'a Rules,
    dropped: Vec<String>,
}

fn para(text: String) -> Block {
    Block::Paragraph {
        content: vec![Inline::text(text)],
        align: None,
        attrs: Default::default(),
    }
}

fn code(text: String, language: Option<String>) -> Block {
    Block::Code(Code {
        language,
        title: None,
        text,
        noformat: false,
        params: Params::default(),
        attrs: Default::default(),
    })
}

impl VisitMut for Rewriter<'_> {
    fn block(&mut self, block: &mut Block) {
        match block {
            Block::Extension(e) if e.kind == "macro" => {
                let Some(rule) = self.rules.macros.get(&e.name).copied() else {
                    return;
                };
                let body_text = || {
                    let mut t = kb_doc::text::blocks_to_text(&e.body);
                    if let Some(x) = &e.text {
                        if !t.is_empty() {
                            t.push('\n');
                        }
                        t.push_str(x);
                    }
                    t
                };
                *block = match rule {
                    MacroRule::Text => {
                        let mut blocks = e.body.clone();
                        if let Some(t) = &e.text {
                            blocks.push(para(t.clone()));
                        }
                        Block::Quote {
                            blocks,
                            attrs: Default::default(),
                        }
                    }
                    MacroRule::Code => code(body_text(), None),
                    MacroRule::Drop => {
                        self.dropped.push(e.name.clone());
                        para(format!("[macro {} removed]", e.name))
                    }
                    MacroRule::Raw => code(
                        e.source.clone().unwrap_or_else(body_text),
                        Some("xml".into()),
                    ),
                };
            }
            Block::Table(t) => match self.rules.tables {
                TableRule::Markdown => {}
                TableRule::Flatten => {
                    let header: Option<Vec<String>> = t.has_header_row().then(|| {
                        t.rows[0]
                            .cells
                            .iter()
                            .map(|c| kb_doc::text::blocks_to_text(&c.blocks).trim().to_string())
                            .collect()
                    });
                    let skip = usize::from(header.is_some());
                    let mut lines = Vec::new();
                    for row in t.rows.iter().skip(skip) {
                        let mut cells = Vec::new();
                        for (i, c) in row.cells.iter().enumerate() {
                            let value = kb_doc::text::blocks_to_text(&c.blocks).trim().to_string();
                            let name = header
                                .as_ref()
                                .and_then(|h| h.get(i).cloned())
                                .unwrap_or_else(|| format!("column {}", i + 1));
                            cells.push(para(format!("{name}: {value}")));
                        }
                        lines.extend(cells);
                        lines.push(Block::Divider {
                            attrs: Default::default(),
                        });
                    }
                    lines.pop();
                    *block = Block::Quote {
                        blocks: lines,
                        attrs: Default::default(),
                    };
                }
                TableRule::Html => {
                    let md = kb_doc::markdown::write(&Document {
                        blocks: vec![Block::Table(t.clone())],
                    });
                    let html = markdown_to_html(&md);
                    *block = Block::Extension(kb_doc::Extension {
                        format: "markdown".into(),
                        kind: "html".into(),
                        name: "table".into(),
                        params: Params::default(),
                        body: vec![],
                        text: Some(html.clone()),
                        source: Some(html),
                        attrs: Default::default(),
                    });
                }
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACRO: &str = "<p>Before.</p><ac:structured-macro ac:name=\"vendor-roadmap\" ac:schema-version=\"1\"><ac:parameter ac:name=\"lanes\">3</ac:parameter><ac:rich-text-body><p>Inside an <strong>unknown</strong> macro.</p></ac:rich-text-body></ac:structured-macro><p>After.</p>";
    const TABLE: &str = "<table><tbody><tr><th><p>Name</p></th><th><p>Owner</p></th></tr><tr><td><p>api</p></td><td><p>Ana</p></td></tr><tr><td><p>web</p></td><td><p>Bo</p></td></tr></tbody></table>";

    fn with_macro(rule: MacroRule) -> Transformed {
        let mut rules = Rules::default();
        rules.macros.insert("vendor-roadmap".into(), rule);
        transform(MACRO, &rules, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn macro_rule_text_renders_its_body() {
        let t = with_macro(MacroRule::Text);
        assert!(
            t.markdown.contains("Inside an **unknown** macro."),
            "{}",
            t.markdown
        );
        assert!(
            !t.markdown.contains("ac:structured-macro"),
            "{}",
            t.markdown
        );
        assert!(t.text.contains("Inside an unknown macro."));
    }

    #[test]
    fn macro_rule_code_keeps_it_as_code() {
        let t = with_macro(MacroRule::Code);
        assert!(t.markdown.contains("```"), "{}", t.markdown);
        assert!(
            t.markdown.contains("Inside an unknown macro."),
            "{}",
            t.markdown
        );
    }

    #[test]
    fn macro_rule_drop_leaves_a_visible_marker() {
        let t = with_macro(MacroRule::Drop);
        // Markdown escapes the brackets; the plain text keeps them.
        assert!(
            t.markdown.contains("macro vendor-roadmap removed"),
            "{}",
            t.markdown
        );
        assert!(
            t.text.contains("[macro vendor-roadmap removed]"),
            "{}",
            t.text
        );
        assert!(!t.text.contains("Inside"), "{}", t.text);
        assert!(t.warnings.iter().any(|w| w.contains("vendor-roadmap")));
        assert!(t.text.contains("Before.") && t.text.contains("After."));
    }

    #[test]
    fn macro_rule_raw_keeps_the_storage_source() {
        let t = with_macro(MacroRule::Raw);
        assert!(t.markdown.contains("```xml"), "{}", t.markdown);
        assert!(
            t.markdown.contains("ac:name=\"vendor-roadmap\""),
            "{}",
            t.markdown
        );
    }

    fn with_tables(rule: TableRule) -> Transformed {
        let rules = Rules {
            tables: rule,
            ..Rules::default()
        };
        transform(TABLE, &rules, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn table_rule_markdown_writes_a_pipe_table() {
        let t = with_tables(TableRule::Markdown);
        assert!(t.markdown.contains("| Name | Owner |"), "{}", t.markdown);
        assert!(t.html.contains("<table>"), "{}", t.html);
    }

    #[test]
    fn table_rule_flatten_writes_column_value_lines() {
        let t = with_tables(TableRule::Flatten);
        assert!(t.markdown.contains("Name: api"), "{}", t.markdown);
        assert!(t.markdown.contains("Owner: Bo"), "{}", t.markdown);
        assert!(!t.markdown.contains("| Name |"), "{}", t.markdown);
    }

    #[test]
    fn table_rule_html_writes_an_html_table() {
        let t = with_tables(TableRule::Html);
        assert!(t.markdown.contains("<table>"), "{}", t.markdown);
        assert!(t.markdown.contains("<td>Ana</td>"), "{}", t.markdown);
    }

    #[test]
    fn images_become_alt_text_and_a_link_to_the_file() {
        let s = "<p><ac:image ac:alt=\"the deploy diagram\"><ri:attachment ri:filename=\"deploy.png\" /></ac:image></p>";
        let t = transform(s, &Rules::default(), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.markdown.contains("deploy.png"), "{}", t.markdown);
        assert!(t.markdown.contains("the deploy diagram"), "{}", t.markdown);
    }

    #[test]
    fn page_properties_keys_become_custom_fields() {
        let s = "<ac:structured-macro ac:name=\"details\"><ac:rich-text-body><table><tbody><tr><th><p>Owner</p></th><td><p>Ana Lima</p></td></tr><tr><th><p>Status</p></th><td><p>Draft</p></td></tr></tbody></table></ac:rich-text-body></ac:structured-macro>";
        let t =
            transform(s, &Rules::default(), &["Owner".into()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t.page_properties.get("Owner").map(String::as_str),
            Some("Ana Lima")
        );
        assert!(!t.page_properties.contains_key("Status"));
    }
}
