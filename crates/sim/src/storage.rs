//! Confluence storage written and read by the twin itself, never by the code under test:
//! small builders for the storage fragments the generator emits (in the shapes Confluence's
//! editors save), and a scan of a body's tasks (`ac:task`) on quick-xml, so the twin derives
//! tasks from any well-formed body, whether kbridge could read it or not.

use quick_xml::Reader;
use quick_xml::escape::resolve_html5_entity;
use quick_xml::events::{BytesStart, Event};

use crate::time;

/// Escapes text for an element's content.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            _ => o.push(c),
        }
    }
    o
}

/// Escapes text for a double-quoted attribute value.
pub fn attr(s: &str) -> String {
    esc(s).replace('"', "&quot;")
}

/// `<tag>inner</tag>`.
pub fn el(tag: &str, inner: &str) -> String {
    format!("<{tag}>{inner}</{tag}>")
}

pub fn p(inner: &str) -> String {
    el("p", inner)
}

pub fn heading(level: u8, inner: &str) -> String {
    el(&format!("h{level}"), inner)
}

/// A link to a page by title (and space key across spaces), as the editor saves it.
pub fn page_link(title: &str, space_key: Option<&str>) -> String {
    match space_key {
        Some(k) => format!(
            "<ac:link><ri:page ri:space-key=\"{}\" ri:content-title=\"{}\" /></ac:link>",
            attr(k),
            attr(title)
        ),
        None => format!(
            "<ac:link><ri:page ri:content-title=\"{}\" /></ac:link>",
            attr(title)
        ),
    }
}

/// A user mention.
pub fn mention(account_id: &str) -> String {
    format!(
        "<ac:link><ri:user ri:account-id=\"{}\" /></ac:link>",
        attr(account_id)
    )
}

/// A macro with parameters and an optional body (`rich` or `plain`).
pub fn structured_macro(name: &str, macro_id: &str, params: &[(&str, &str)], body: Body) -> String {
    let mut o = format!(
        "<ac:structured-macro ac:name=\"{}\" ac:schema-version=\"1\" ac:macro-id=\"{}\">",
        attr(name),
        attr(macro_id)
    );
    for (k, v) in params {
        o.push_str(&format!(
            "<ac:parameter ac:name=\"{}\">{}</ac:parameter>",
            attr(k),
            esc(v)
        ));
    }
    match body {
        Body::None => {}
        Body::Rich(r) => o.push_str(&el("ac:rich-text-body", r)),
        Body::Plain(t) => o.push_str(&el("ac:plain-text-body", &cdata(t))),
    }
    o.push_str("</ac:structured-macro>");
    o
}

/// A macro body.
pub enum Body<'a> {
    None,
    Rich(&'a str),
    Plain(&'a str),
}

/// Text as CDATA (a `]]>` inside is split across two sections, as XML requires).
pub fn cdata(t: &str) -> String {
    format!("<![CDATA[{}]]>", t.replace("]]>", "]]]]><![CDATA[>"))
}

/// A status lozenge.
pub fn status(macro_id: &str, title: &str, colour: &str) -> String {
    structured_macro(
        "status",
        macro_id,
        &[("colour", colour), ("title", title)],
        Body::None,
    )
}

/// A date (`yyyy-MM-dd`).
pub fn date(day: &str) -> String {
    format!("<time datetime=\"{}\" />", attr(day))
}

/// An external link.
pub fn a(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", attr(href), esc(text))
}

/// An inline-comment marker around already escaped content.
pub fn marker(reference: &str, inner: &str) -> String {
    format!(
        "<ac:inline-comment-marker ac:ref=\"{}\">{inner}</ac:inline-comment-marker>",
        attr(reference)
    )
}

/// An image of an attachment of the same page.
pub fn image(filename: &str, alt: Option<&str>, height: Option<&str>) -> String {
    let mut o = String::from("<ac:image");
    if let Some(h) = height {
        o.push_str(&format!(" ac:height=\"{}\"", attr(h)));
    }
    if let Some(a) = alt {
        o.push_str(&format!(" ac:alt=\"{}\"", attr(a)));
    }
    o.push_str(&format!(
        "><ri:attachment ri:filename=\"{}\" /></ac:image>",
        attr(filename)
    ));
    o
}

/// One task of a task list: id, done, already-built body content.
pub fn task_list(items: &[(String, bool, String)]) -> String {
    let mut o = String::from("<ac:task-list>");
    for (id, done, body) in items {
        o.push_str(&format!(
            "<ac:task><ac:task-id>{}</ac:task-id><ac:task-status>{}</ac:task-status><ac:task-body>{body}</ac:task-body></ac:task>",
            esc(id),
            if *done { "complete" } else { "incomplete" }
        ));
    }
    o.push_str("</ac:task-list>");
    o
}

/// A task found in a body: its `ac:task-id`, state, body and the first mention and date in it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub local_id: String,
    pub done: bool,
    /// The storage inside `ac:task-body`, as written.
    pub body: String,
    pub assignee: Option<String>,
    pub due: Option<i64>,
}

/// A task being read: where its spec sits in the output and where its body starts.
struct Open {
    at: usize,
    body_start: Option<usize>,
    body_depth: usize,
}

/// Every task of a storage body in document order (a task list nested in a task's body comes
/// after that task). A body that is not well-formed yields the tasks read before the error
/// (writes are checked for well-formedness before they get here).
pub fn tasks(body: &str) -> Vec<TaskSpec> {
    let mut r = Reader::from_str(body);
    let mut out: Vec<TaskSpec> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Per open task list, how many tasks it has had.
    let mut lists: Vec<usize> = Vec::new();
    // The simple field (`ac:task-id` or `ac:task-status`) whose text is being read.
    let mut field: Option<(bool, String)> = None;
    let mut depth = 0usize;
    loop {
        let before = r.buffer_position() as usize;
        let Ok(ev) = r.read_event() else { break };
        let after = r.buffer_position() as usize;
        match ev {
            Event::Start(e) => {
                depth += 1;
                let in_head = stack.last().is_some_and(|t| t.body_start.is_none());
                match e.name().as_ref() {
                    "ac:task-list" => lists.push(0),
                    "ac:task" => {
                        let index = lists.last_mut().map_or(1, |n| {
                            *n += 1;
                            *n
                        });
                        stack.push(Open {
                            at: out.len(),
                            body_start: None,
                            body_depth: 0,
                        });
                        out.push(TaskSpec {
                            local_id: index.to_string(),
                            done: false,
                            body: String::new(),
                            assignee: None,
                            due: None,
                        });
                    }
                    "ac:task-id" if in_head => field = Some((true, String::new())),
                    "ac:task-status" if in_head => field = Some((false, String::new())),
                    "ac:task-body" if in_head => {
                        if let Some(t) = stack.last_mut() {
                            t.body_start = Some(after);
                            t.body_depth = depth;
                        }
                    }
                    _ => look(&e, &stack, &mut out),
                }
            }
            Event::Empty(e) => look(&e, &stack, &mut out),
            Event::Text(t) => {
                if let Some((_, s)) = field.as_mut() {
                    s.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) => {
                if let Some((_, s)) = field.as_mut() {
                    if let Ok(Some(c)) = g.resolve_char_ref() {
                        s.push(c);
                    } else if let Some(x) = resolve_html5_entity(&g) {
                        s.push_str(x);
                    }
                }
            }
            Event::End(e) => {
                match e.name().as_ref() {
                    "ac:task-list" => {
                        lists.pop();
                    }
                    "ac:task-id" | "ac:task-status" => {
                        if let (Some((is_id, v)), Some(t)) = (field.take(), stack.last()) {
                            let v = v.trim().to_string();
                            if is_id {
                                if !v.is_empty() {
                                    out[t.at].local_id = v;
                                }
                            } else {
                                out[t.at].done = v == "complete";
                            }
                        }
                    }
                    "ac:task-body" => {
                        if let Some(t) = stack.last_mut()
                            && t.body_depth == depth
                            && let Some(s) = t.body_start
                        {
                            if let Some(b) = body.get(s..before) {
                                out[t.at].body = b.to_string();
                            }
                            t.body_depth = usize::MAX;
                        }
                    }
                    "ac:task" => {
                        stack.pop();
                    }
                    _ => {}
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The first mention (`ri:user ri:account-id`) and date (`time datetime`) inside the innermost
/// open task body become its assignee and due date.
fn look(e: &BytesStart, stack: &[Open], out: &mut [TaskSpec]) {
    let Some(t) = stack.last().filter(|t| t.body_start.is_some()) else {
        return;
    };
    let spec = &mut out[t.at];
    let get = |key: &str| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .and_then(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
    };
    match e.name().as_ref() {
        "ri:user" if spec.assignee.is_none() => spec.assignee = get("ri:account-id"),
        "time" if spec.due.is_none() => {
            spec.due = get("datetime").and_then(|d| time::parse_cql_date(&d))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_read_from_any_well_formed_body() {
        let body = "<p>x</p><ac:task-list><ac:task><ac:task-id>9</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>ship <ac:link><ri:user ri:account-id=\"u-1\" /></ac:link> <time datetime=\"2025-02-03\" /><ac:task-list><ac:task><ac:task-status>incomplete</ac:task-status><ac:task-body>inner &amp; more</ac:task-body></ac:task></ac:task-list></ac:task-body></ac:task><ac:task><ac:task-id>10</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body><vendor-thing/></ac:task-body></ac:task></ac:task-list>";
        let t = tasks(body);
        assert_eq!(t.len(), 3, "{t:?}");
        assert_eq!(t[0].local_id, "9");
        assert!(t[0].done);
        assert_eq!(t[0].assignee.as_deref(), Some("u-1"));
        assert_eq!(t[0].due, time::parse_cql_date("2025-02-03"));
        assert!(t[0].body.starts_with("ship <ac:link>"), "{}", t[0].body);
        assert_eq!(t[1].local_id, "1");
        assert_eq!(t[1].body, "inner &amp; more");
        assert!(!t[1].done);
        assert_eq!(t[1].assignee, None);
        assert_eq!(t[2].local_id, "10");
        assert_eq!(t[2].body, "<vendor-thing/>");
    }

    #[test]
    fn builders_escape() {
        assert_eq!(p(&esc("a < b & c")), "<p>a &lt; b &amp; c</p>");
        assert_eq!(
            page_link("A \"q\" & B", None),
            "<ac:link><ri:page ri:content-title=\"A &quot;q&quot; &amp; B\" /></ac:link>"
        );
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
    }
}
