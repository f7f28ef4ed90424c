//! The words a reader sees on a page, read *without* kb-doc's readers and writers, so that
//! `verify` can hold a migrated page against an independent reading of its source: a word of
//! the source missing from the target is content the conversion lost.
//!
//! Confluence storage is read with quick-xml alone: text and CDATA, HTML entities resolved,
//! without the parts a reader never sees (macro parameters, task ids and states, placeholders,
//! ADF attributes and fallbacks). Notion blocks are read from their rich text's `plain_text`.
//! Words are runs of letters and digits, compared case-insensitively, as a multiset.

use std::collections::HashMap;

use kb_doc::notion::model::Block as NBlock;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

/// Elements whose content a reader of the rendered page never sees.
const HIDDEN: &[&str] = &[
    "ac:parameter",
    "ac:task-id",
    "ac:task-uuid",
    "ac:task-status",
    "ac:placeholder",
    "ac:adf-attribute",
    "ac:adf-fallback",
    "style",
    "script",
];

/// The words of a storage body. `link_titles` also counts the titles links name by attribute
/// (`<ri:page ri:content-title="…"/>`), which Confluence renders as the link's text: use it for
/// a target, never for a source (a source word must be visible text).
pub fn storage_words(xhtml: &str, link_titles: bool) -> Result<Vec<String>, String> {
    let mut r = Reader::from_str(xhtml);
    r.config_mut().check_end_names = false;
    let mut hidden = 0usize;
    let mut text = String::new();
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => {
                // A macro's `title` is shown (expand, panels, code blocks); its other
                // parameters are not.
                let shown_title = e.name().as_ref() == "ac:parameter"
                    && e.attributes()
                        .flatten()
                        .any(|a| a.key.as_ref() == "ac:name" && &*a.value == "title");
                if hidden > 0 || (HIDDEN.contains(&e.name().as_ref()) && !shown_title) {
                    // Inside a hidden element every start opens one more level to close.
                    hidden += 1;
                }
                text.push(' ');
            }
            Ok(Event::End(_)) => {
                hidden = hidden.saturating_sub(1);
                text.push(' ');
            }
            Ok(Event::Empty(e)) => {
                if link_titles && hidden == 0 {
                    for a in e.attributes().flatten() {
                        if a.key.as_ref() == "ri:content-title" {
                            text.push(' ');
                            match a.normalized_value_with(
                                quick_xml::XmlVersion::Implicit1_0,
                                4,
                                quick_xml::escape::resolve_html5_entity,
                            ) {
                                Ok(v) => text.push_str(&v),
                                Err(_) => text.push_str(&a.value),
                            }
                            text.push(' ');
                        }
                    }
                }
                text.push(' ');
            }
            Ok(Event::Text(t)) if hidden == 0 => {
                text.push_str(&t);
            }
            Ok(Event::GeneralRef(g)) if hidden == 0 => {
                let name: &str = &g;
                match quick_xml::escape::resolve_html5_entity(name) {
                    Some(s) => text.push_str(s),
                    None => {
                        if let Some(c) = name
                            .strip_prefix("#x")
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                            .and_then(char::from_u32)
                        {
                            text.push(c);
                        }
                    }
                }
            }
            Ok(Event::CData(t)) if hidden == 0 => {
                text.push_str(&t);
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "line {}: {e}",
                    xhtml[..(r.buffer_position() as usize).min(xhtml.len())]
                        .matches('\n')
                        .count()
                        + 1
                ));
            }
        }
    }
    Ok(split(&text))
}

/// The words of Notion blocks (and their children), from `plain_text`. `source`: leave out the
/// rich text whose words the other service renders itself rather than stores (user and date
/// mentions, equations), so that only stored text is required of the target.
pub fn notion_words(blocks: &[NBlock], source: bool) -> Vec<String> {
    let mut text = String::new();
    for b in blocks {
        block_text(b, source, &mut text);
    }
    split(&text)
}

fn block_text(b: &NBlock, source: bool, out: &mut String) {
    if matches!(b.kind.as_str(), "child_page" | "child_database") {
        return;
    }
    if let Some(d) = &b.data
        && let Ok(v) = serde_json::to_value(d)
    {
        rich_text(&v, source, out);
    }
    for c in b.all_children() {
        block_text(c, source, out);
    }
}

fn rich_text(v: &Value, source: bool, out: &mut String) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(t)) = o.get("plain_text") {
                let kind = o.get("type").and_then(Value::as_str).unwrap_or("text");
                let mention = o
                    .get("mention")
                    .and_then(|m| m.get("type"))
                    .and_then(Value::as_str);
                let rendered = kind == "equation" || matches!(mention, Some("user" | "date"));
                if !(source && rendered) {
                    out.push(' ');
                    out.push_str(t);
                    out.push(' ');
                }
                return;
            }
            for (k, x) in o {
                // Children are walked as blocks; a block's own type payload holds its text.
                if k != "children" && k != "columns" && k != "table_rows" {
                    rich_text(x, source, out);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                rich_text(x, source, out);
            }
        }
        _ => {}
    }
}

fn split(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of `source` that `target` lacks (counted: a word twice in the source must be
/// there twice), in source order.
pub fn missing(source: &[String], target: &[String]) -> Vec<String> {
    let mut have: HashMap<&str, usize> = HashMap::new();
    for w in target {
        *have.entry(w.as_str()).or_default() += 1;
    }
    let mut out = Vec::new();
    for w in source {
        match have.get_mut(w.as_str()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(w.clone()),
        }
    }
    out
}

/// The problem to report for missing words, when there are any.
pub fn problem(missing: &[String]) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let shown: Vec<&str> = missing.iter().take(8).map(String::as_str).collect();
    Some(format!(
        "{} word(s) of the source are not on the migrated page (content lost in conversion): {}{}",
        missing.len(),
        shown.join(" "),
        if missing.len() > shown.len() {
            " …"
        } else {
            ""
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_words_are_the_visible_text() {
        let w = storage_words(
            r#"<h1>Run&nbsp;book</h1><p>Ship <strong>Friday</strong> &amp; rest.</p><ac:structured-macro ac:name="code"><ac:parameter ac:name="language">rust</ac:parameter><ac:plain-text-body><![CDATA[fn main()]]></ac:plain-text-body></ac:structured-macro><ac:task-list><ac:task><ac:task-id>7</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>Rotate keys</ac:task-body></ac:task></ac:task-list><p><ac:link><ri:page ri:content-title="Other Page"/></ac:link></p>"#,
            false,
        )
        .unwrap();
        assert_eq!(
            w,
            [
                "run", "book", "ship", "friday", "rest", "fn", "main", "rotate", "keys"
            ]
        );
        let t = storage_words(
            r#"<p><ac:link><ri:page ri:content-title="Other Page"/></ac:link></p>"#,
            true,
        )
        .unwrap();
        assert_eq!(t, ["other", "page"]);
        assert_eq!(
            missing(&w, &["run".into(), "book".into()]).len(),
            7,
            "every lost word is counted"
        );
        assert!(
            storage_words("<p>unclosed <strong>bold</p>", false).is_ok(),
            "lenient"
        );
    }
}
