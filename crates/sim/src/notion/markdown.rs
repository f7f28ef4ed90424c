//! `GET /v1/pages/{id}/markdown`: a page's content as Notion's "enhanced markdown" (the
//! `page_markdown` object of the 2025-09-03 SDK: `{object, id, markdown, truncated,
//! unknown_block_ids}`), rendered by the twin from its own blocks.
//!
//! The format follows Notion's guide (developers.notion.com, "Enhanced markdown format"): one
//! tab of indentation per level of children; headings `#`–`###` (a toggleable heading carries
//! `{toggle="true"}`); `-`, `1.` and `- [ ]`/`- [x]` list items; `>` quotes; fenced code with
//! the language; `$$` equations; `---` dividers; XML-like tags for what Markdown has no syntax
//! for (`<callout>`, `<details>`/`<summary>`, `<columns>`/`<column>`, `<table>`, `<page>`,
//! `<database>`, `<file>`, `<mention-user>`, `<mention-page>`, `<mention-date>`,
//! `<table_of_contents/>`, `<unknown>`); `{color="…"}` on coloured blocks; inline
//! `**`, `*`, `~~`, `` ` ``, `[text](url)`, `$…$`, `<span underline="true">` and
//! `<span color="…">`; the characters `\ * ~ ` $ [ ] < > { } | ^` escaped in text.

use serde_json::Value;

use super::Caller;
use super::model::*;
use super::render::{Ctx, page_url, visible};

/// Deepest block nesting rendered; deeper subtrees are listed in `unknown_block_ids`.
const MAX_DEPTH: usize = 24;

pub struct Rendered {
    pub markdown: String,
    pub unknown_block_ids: Vec<String>,
}

/// The markdown of page (or block) `id`'s content.
pub fn page_markdown(cx: &Ctx, caller: &Caller, id: &str) -> Rendered {
    let mut r = Renderer {
        cx,
        caller,
        out: String::new(),
        unknown: Vec::new(),
    };
    let kids: Vec<String> = if let Some(p) = cx.ws.pages.get(id) {
        p.children.clone()
    } else if let Some(b) = cx.ws.blocks.get(id) {
        vec![b.id.clone()]
    } else {
        Vec::new()
    };
    r.children(&kids, 0);
    while r.out.ends_with('\n') {
        r.out.pop();
    }
    Rendered {
        markdown: r.out,
        unknown_block_ids: r.unknown,
    }
}

struct Renderer<'a, 'b> {
    cx: &'a Ctx<'b>,
    caller: &'a Caller,
    out: String,
    unknown: Vec<String>,
}

/// Escapes the characters enhanced markdown gives a meaning to.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(
            ch,
            '\\' | '*' | '~' | '`' | '$' | '[' | ']' | '<' | '>' | '{' | '}' | '|' | '^'
        ) {
            o.push('\\');
        }
        o.push(ch);
    }
    o
}

fn attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

/// A Notion colour as enhanced markdown names it (`yellow_background` → `yellow_bg`).
fn color(c: &str) -> String {
    c.strip_suffix("_background")
        .map(|b| format!("{b}_bg"))
        .unwrap_or_else(|| c.to_string())
}

fn color_suffix(data: &Value) -> String {
    match data.get("color").and_then(Value::as_str) {
        Some(c) if c != "default" => format!(" {{color=\"{}\"}}", color(c)),
        _ => String::new(),
    }
}

impl Renderer<'_, '_> {
    fn line(&mut self, depth: usize, s: &str) {
        for _ in 0..depth {
            self.out.push('\t');
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn live(&self, id: &str) -> bool {
        visible(self.cx.ws, self.caller, id) && self.cx.live_child(id)
    }

    fn children(&mut self, ids: &[String], depth: usize) {
        for id in ids {
            if !self.live(id) {
                continue;
            }
            if depth > MAX_DEPTH {
                self.unknown.push(id.clone());
                self.line(depth, &format!("<unknown url=\"{}\"/>", block_url(id)));
                continue;
            }
            self.child(id, depth);
        }
    }

    fn child(&mut self, id: &str, depth: usize) {
        let ws = self.cx.ws;
        if let Some(p) = ws.pages.get(id) {
            let title = plain(p.props.get("title"));
            self.line(
                depth,
                &format!(
                    "<page url=\"{}\">{}</page>",
                    attr(&page_url(&title, id)),
                    escape(&title)
                ),
            );
            return;
        }
        if let Some(d) = ws.databases.get(id) {
            self.line(
                depth,
                &format!(
                    "<database url=\"{}\" data-source-url=\"collection://{}\">{}</database>",
                    attr(&page_url(&d.title, id)),
                    d.data_source_id,
                    escape(&d.title)
                ),
            );
            return;
        }
        let Some(b) = ws.blocks.get(id) else {
            return;
        };
        let d = &b.data;
        let text = self.rich(d.get("rich_text"));
        let kids = b.children.clone();
        match b.kind.as_str() {
            "paragraph" => {
                self.line(depth, &format!("{text}{}", color_suffix(d)));
                self.children(&kids, depth + 1);
            }
            "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
                let n: usize = b.kind[8..].parse().unwrap_or(1);
                let toggle = d.get("is_toggleable").and_then(Value::as_bool) == Some(true);
                let mut s = format!("{} {text}", "#".repeat(n));
                let c = color_suffix(d);
                match (toggle, c.is_empty()) {
                    (true, true) => s.push_str(" {toggle=\"true\"}"),
                    (true, false) => {
                        s.push_str(&c[..c.len() - 1]);
                        s.push_str(" toggle=\"true\"}");
                    }
                    (false, _) => s.push_str(&c),
                }
                self.line(depth, &s);
                if toggle {
                    self.children(&kids, depth + 1);
                }
            }
            "bulleted_list_item" => {
                self.line(depth, &format!("- {text}{}", color_suffix(d)));
                self.children(&kids, depth + 1);
            }
            "numbered_list_item" => {
                self.line(depth, &format!("1. {text}{}", color_suffix(d)));
                self.children(&kids, depth + 1);
            }
            "to_do" => {
                let x = if d.get("checked").and_then(Value::as_bool) == Some(true) {
                    "x"
                } else {
                    " "
                };
                self.line(depth, &format!("- [{x}] {text}{}", color_suffix(d)));
                self.children(&kids, depth + 1);
            }
            "quote" => {
                self.line(depth, &format!("> {text}{}", color_suffix(d)));
                self.children(&kids, depth + 1);
            }
            "toggle" => {
                self.line(depth, &format!("<details{}>", color_attr(d)));
                self.line(depth, &format!("<summary>{text}</summary>"));
                self.children(&kids, depth + 1);
                self.line(depth, "</details>");
            }
            "callout" => {
                let icon = d
                    .pointer("/icon/emoji")
                    .and_then(Value::as_str)
                    .map(|e| format!(" icon=\"{}\"", attr(e)))
                    .unwrap_or_default();
                self.line(depth, &format!("<callout{icon}{}>", color_attr(d)));
                if !text.is_empty() {
                    self.line(depth + 1, &text);
                }
                self.children(&kids, depth + 1);
                self.line(depth, "</callout>");
            }
            "code" => {
                let lang = d.get("language").and_then(Value::as_str).unwrap_or("");
                self.line(depth, &format!("```{lang}"));
                // Code is literal: no escaping, no annotations.
                for l in plain(d.get("rich_text")).split('\n') {
                    self.line(depth, l);
                }
                self.line(depth, "```");
            }
            "equation" => {
                let e = d.get("expression").and_then(Value::as_str).unwrap_or("");
                self.line(depth, "$$");
                self.line(depth, e);
                self.line(depth, "$$");
            }
            "divider" => self.line(depth, "---"),
            "table_of_contents" => self.line(depth, "<table_of_contents/>"),
            "column_list" => {
                self.line(depth, "<columns>");
                let live: Vec<String> = kids.iter().filter(|c| self.live(c)).cloned().collect();
                for c in &live {
                    let inner = ws.blocks.get(c).map(|x| x.children.clone());
                    self.line(depth + 1, "<column>");
                    self.children(&inner.unwrap_or_default(), depth + 2);
                    self.line(depth + 1, "</column>");
                }
                self.line(depth, "</columns>");
            }
            "table" => {
                let header_row = d.get("has_column_header").and_then(Value::as_bool) == Some(true);
                let header_col = d.get("has_row_header").and_then(Value::as_bool) == Some(true);
                self.line(
                    depth,
                    &format!("<table header-row=\"{header_row}\" header-column=\"{header_col}\">"),
                );
                let live: Vec<String> = kids.iter().filter(|c| self.live(c)).cloned().collect();
                for r in &live {
                    let cells = ws
                        .blocks
                        .get(r)
                        .and_then(|x| x.data.get("cells"))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    self.line(depth + 1, "<tr>");
                    for cell in &cells {
                        let t = self.rich(Some(cell));
                        self.line(depth + 2, &format!("<td>{t}</td>"));
                    }
                    self.line(depth + 1, "</tr>");
                }
                self.line(depth, "</table>");
            }
            "image" => {
                let cap = self.rich(d.get("caption"));
                let url = self.media_url(d);
                self.line(depth, &format!("![{cap}]({url})"));
            }
            "file" | "pdf" | "video" | "audio" => {
                let cap = self.rich(d.get("caption"));
                let url = self.media_url(d);
                self.line(
                    depth,
                    &format!("<{0} src=\"{1}\">{cap}</{0}>", b.kind, attr(&url)),
                );
            }
            "bookmark" | "embed" | "link_preview" => {
                let url = d.get("url").and_then(Value::as_str).unwrap_or("");
                let cap = self.rich(d.get("caption"));
                if cap.is_empty() {
                    self.line(depth, &format!("<{} url=\"{}\"/>", b.kind, attr(url)));
                } else {
                    self.line(
                        depth,
                        &format!("<{0} url=\"{1}\">{cap}</{0}>", b.kind, attr(url)),
                    );
                }
            }
            "link_to_page" => {
                let target = d
                    .get("page_id")
                    .or_else(|| d.get("database_id"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let title = ws.title_of(target).unwrap_or_default();
                self.line(
                    depth,
                    &format!(
                        "<mention-page url=\"{}\">{}</mention-page>",
                        attr(&page_url(&title, target)),
                        escape(&title)
                    ),
                );
            }
            "synced_block" => {
                // A copy shows the original's content, as the app does.
                let from = d
                    .pointer("/synced_from/block_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let content = match &from {
                    Some(o) => ws.blocks.get(o).map(|x| x.children.clone()),
                    None => Some(kids.clone()),
                };
                self.line(
                    depth,
                    &format!(
                        "<synced_block url=\"{}\">",
                        block_url(from.as_deref().unwrap_or(id))
                    ),
                );
                self.children(&content.unwrap_or_default(), depth + 1);
                self.line(depth, "</synced_block>");
            }
            _ => {
                self.unknown.push(id.to_string());
                self.line(
                    depth,
                    &format!(
                        "<unknown url=\"{}\" alt=\"{}\"/>",
                        block_url(id),
                        attr(&b.kind)
                    ),
                );
            }
        }
    }

    fn media_url(&self, d: &Value) -> String {
        if let Some(fid) = d.pointer("/file/sim_file_id").and_then(Value::as_str) {
            return self.cx.file_url(fid).0;
        }
        d.pointer("/file/url")
            .or_else(|| d.pointer("/external/url"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }

    /// Rich text items as inline enhanced markdown.
    fn rich(&self, v: Option<&Value>) -> String {
        let Some(items) = v.and_then(Value::as_array) else {
            return String::new();
        };
        items.iter().map(|i| self.item(i)).collect()
    }

    fn item(&self, i: &Value) -> String {
        let ann = i.get("annotations").cloned().unwrap_or(Value::Null);
        let on = |k: &str| ann.get(k).and_then(Value::as_bool) == Some(true);
        let mut s = match i.get("type").and_then(Value::as_str) {
            Some("mention") => return self.mention(i),
            Some("equation") => {
                let e = i
                    .pointer("/equation/expression")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                format!("${e}$")
            }
            _ => {
                let t = i
                    .pointer("/text/content")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if on("code") {
                    format!("`{t}`")
                } else {
                    escape(t)
                }
            }
        };
        if s.trim().is_empty() {
            return s;
        }
        // Markers hug the text: spaces around it go outside them (`** x**` is no emphasis).
        let lead: String = s.chars().take_while(|c| c.is_whitespace()).collect();
        let trail: String = {
            let t: Vec<char> = s.chars().rev().take_while(|c| c.is_whitespace()).collect();
            t.into_iter().rev().collect()
        };
        s = s.trim().to_string();
        if on("bold") {
            s = format!("**{s}**");
        }
        if on("italic") {
            s = format!("*{s}*");
        }
        if on("strikethrough") {
            s = format!("~~{s}~~");
        }
        if on("underline") {
            s = format!("<span underline=\"true\">{s}</span>");
        }
        if let Some(c) = ann.get("color").and_then(Value::as_str)
            && c != "default"
        {
            s = format!("<span color=\"{}\">{s}</span>", color(c));
        }
        if let Some(url) = i.pointer("/text/link/url").and_then(Value::as_str) {
            s = format!("[{s}]({url})");
        }
        format!("{lead}{s}{trail}")
    }

    fn mention(&self, i: &Value) -> String {
        let m = i.get("mention").cloned().unwrap_or(Value::Null);
        match m.get("type").and_then(Value::as_str) {
            Some("user") => {
                let id = m.pointer("/user/id").and_then(Value::as_str).unwrap_or("");
                format!("<mention-user url=\"user://{id}\"/>")
            }
            Some(k @ ("page" | "database")) => {
                let id = m
                    .pointer(&format!("/{k}/id"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let title = self.cx.ws.title_of(id).unwrap_or_default();
                format!("<mention-{k} url=\"{}\"/>", attr(&page_url(&title, id)))
            }
            Some("date") => {
                let start = m
                    .pointer("/date/start")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match m.pointer("/date/end").and_then(Value::as_str) {
                    Some(end) => format!("<mention-date start=\"{start}\" end=\"{end}\"/>"),
                    None => format!("<mention-date start=\"{start}\"/>"),
                }
            }
            _ => escape(i.get("plain_text").and_then(Value::as_str).unwrap_or("")),
        }
    }
}

fn color_attr(d: &Value) -> String {
    match d.get("color").and_then(Value::as_str) {
        Some(c) if c != "default" => format!(" color=\"{}\"", color(c)),
        _ => String::new(),
    }
}

fn block_url(id: &str) -> String {
    format!("https://www.notion.so/{}", id.replace('-', ""))
}
