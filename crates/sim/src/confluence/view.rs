//! The `view` and `export_view` representations: storage rendered to HTML a browser can show,
//! by the twin itself (quick-xml events, never kbridge's reader). Confluence's own renderer is
//! far richer; this one keeps the text, the structure and the links, in the classes Confluence
//! uses for the common macros:
//!
//! - HTML elements pass through (attributes kept); entities become characters;
//! - `ac:link` to a page is an `<a href>` to the page (by id when the title resolves in the
//!   dataset, else `/wiki/display/KEY/Title`), to a user a `confluence-userlink` with the
//!   user's display name, to an attachment its download URL;
//! - `ac:image` of an attachment is an `<img class="confluence-embedded-image">` with the
//!   download URL, of a URL an `<img>` of it;
//! - `code`/`noformat` macros are `<pre>`, `info`/`note`/`warning`/`tip`/`panel` are
//!   `confluence-information-macro` divs, `status` a `status-macro aui-lozenge` span,
//!   `toc` a `toc-macro` div, an unknown macro its rich body in a `<div>` (or nothing);
//!   parameters are not shown;
//! - task lists are `<ul class="inline-task-list">` with `checked` items;
//! - inline-comment markers are `<span class="inline-comment-marker" data-ref>`;
//! - `<time datetime>` keeps the date and shows it;
//! - other `ac:`/`ri:`/`at:` elements are dropped, their text kept.
//!
//! `export_view` is the same HTML with absolute URLs (the site's base), as the export does.
//! A body that is not well-formed (only corpus bodies can be) is rendered up to the error, then
//! its remaining text is escaped and shown: the view never fails a read.

use quick_xml::Reader;
use quick_xml::escape::resolve_html5_entity;
use quick_xml::events::{BytesStart, Event};

use crate::model::{ContentKind, Dataset};
use crate::storage::{attr, esc};

/// What the rendering needs to know: the dataset (titles, users, attachments), the content
/// the body belongs to (its space and attachments) and, for `export_view`, the site's base.
#[derive(Clone, Copy)]
pub struct ViewCtx<'a> {
    pub d: &'a Dataset,
    /// The page, blog post or custom content the body is on (a comment's container).
    pub container: Option<u64>,
    /// `Some(base)` (`http://host/wiki`) for `export_view`: absolute links.
    pub absolute: Option<&'a str>,
}

/// What an open storage element became, so its end tag closes the right thing.
enum Frame {
    /// An HTML element passed through (or made): its end tag.
    Close(&'static str),
    CloseOwned(String),
    /// Dropped with its content (macro parameters).
    Skip,
    /// Dropped, content kept.
    Transparent,
    /// An `ac:link` being read: its target and its link body, written on its end.
    Link(Box<LinkState>),
    /// An `ac:image`: attributes and its target.
    Image(Box<ImageState>),
    /// A macro: the HTML to close it with, its name and (for `status`) its title.
    Macro(&'static str, String, Option<String>),
    /// A macro parameter: its name and text (not shown, but a lozenge's title is).
    Param(String, String),
    /// A macro's plain-text body: text collected, written escaped.
    Plain,
}

#[derive(Default)]
struct LinkState {
    href: Option<String>,
    label: Option<String>,
    class: &'static str,
    data: Option<String>,
    body: String,
    anchor: Option<String>,
}

#[derive(Default)]
struct ImageState {
    src: Option<String>,
    alt: Option<String>,
    height: Option<String>,
    width: Option<String>,
}

/// Renders `storage` to view HTML.
pub fn render(storage: &str, ctx: ViewCtx) -> String {
    let mut r = Reader::from_str(storage);
    r.config_mut().check_end_names = false;
    let mut out = String::with_capacity(storage.len() + storage.len() / 4);
    let mut stack: Vec<Frame> = Vec::new();
    // Where text goes: the innermost link body, or the output.
    loop {
        let pos = r.buffer_position() as usize;
        let ev = match r.read_event() {
            Ok(e) => e,
            Err(_) => {
                // Not well-formed: show the rest as text.
                if let Some(rest) = storage.get(pos..) {
                    out.push_str(&esc(rest));
                }
                break;
            }
        };
        match ev {
            Event::Start(e) => {
                let f = open(&e, false, &mut stack, &mut out, ctx);
                stack.push(f);
            }
            Event::Empty(e) => {
                let f = open(&e, true, &mut stack, &mut out, ctx);
                close(f, &mut stack, &mut out, ctx);
            }
            Event::End(_) => {
                if let Some(f) = stack.pop() {
                    close(f, &mut stack, &mut out, ctx);
                }
            }
            Event::Text(t) => text(&t.xml10_content(), &mut stack, &mut out),
            Event::CData(c) => {
                let s: &str = &c;
                text(s, &mut stack, &mut out)
            }
            Event::GeneralRef(g) => {
                let s = match g.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match &*g {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        name => resolve_html5_entity(name)
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("&{name};")),
                    },
                };
                text(&s, &mut stack, &mut out)
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // Unclosed elements (only in bodies that were never validated) are closed.
    while let Some(f) = stack.pop() {
        close(f, &mut stack, &mut out, ctx);
    }
    out
}

fn skipping(stack: &[Frame]) -> bool {
    stack
        .iter()
        .any(|f| matches!(f, Frame::Skip | Frame::Param(..)))
}

/// Where text and tags go: the innermost open link's body, else the output.
fn sink<'s>(stack: &'s mut [Frame], out: &'s mut String) -> &'s mut String {
    for f in stack.iter_mut().rev() {
        if let Frame::Link(l) = f {
            return &mut l.body;
        }
    }
    out
}

fn text(s: &str, stack: &mut [Frame], out: &mut String) {
    if let Some(Frame::Param(_, t)) = stack.last_mut() {
        t.push_str(s);
        return;
    }
    if skipping(stack) {
        return;
    }
    sink(stack, out).push_str(&esc(s));
}

fn get(e: &BytesStart, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn url(ctx: ViewCtx, path: &str) -> String {
    match ctx.absolute {
        Some(base) => format!("{}{}", base.trim_end_matches("/wiki"), path),
        None => path.to_string(),
    }
}

fn pct(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else if b == b' ' {
            o.push('+');
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn space_key_of(ctx: ViewCtx) -> Option<String> {
    let c = ctx.container.and_then(|id| ctx.d.contents.get(&id))?;
    ctx.d.space(c.space_id).map(|s| s.key.clone())
}

/// A page's URL by title (and space key), by id when the dataset has it.
fn page_href(ctx: ViewCtx, title: &str, key: Option<String>) -> String {
    let key = key.or_else(|| space_key_of(ctx));
    let space = key
        .as_deref()
        .and_then(|k| ctx.d.spaces.iter().find(|s| s.key == k));
    let found = space.and_then(|s| {
        ctx.d
            .contents
            .values()
            .find(|c| c.space_id == s.id && c.title == title && c.kind != ContentKind::Folder)
    });
    match (found, key) {
        (Some(c), Some(k)) => url(
            ctx,
            &format!("/wiki/spaces/{}/pages/{}/{}", pct(&k), c.id, pct(title)),
        ),
        (None, Some(k)) => url(ctx, &format!("/wiki/display/{}/{}", pct(&k), pct(title))),
        (_, None) => url(ctx, &format!("/wiki/display/{}", pct(title))),
    }
}

fn attachment_href(ctx: ViewCtx, file: &str, on: Option<u64>) -> String {
    match on.or(ctx.container) {
        Some(id) => url(
            ctx,
            &format!("/wiki/download/attachments/{id}/{}?api=v2", pct(file)),
        ),
        None => pct(file),
    }
}

fn open(e: &BytesStart, empty: bool, stack: &mut [Frame], out: &mut String, ctx: ViewCtx) -> Frame {
    if skipping(stack) {
        return Frame::Skip;
    }
    let name = e.name().as_ref().to_string();
    // Targets inside a link or an image.
    if let Some(top) = stack.last_mut() {
        match top {
            Frame::Link(l) => match name.as_str() {
                "ri:page" | "ri:blog-post" => {
                    let title = get(e, "ri:content-title").unwrap_or_default();
                    l.href = Some(page_href(ctx, &title, get(e, "ri:space-key")));
                    l.label = Some(title);
                    return Frame::Transparent;
                }
                "ri:user" => {
                    let id = get(e, "ri:account-id").or_else(|| get(e, "ri:userkey"));
                    let shown = id
                        .as_deref()
                        .and_then(|a| ctx.d.user(a))
                        .map(|u| u.display_name.clone())
                        .or(id.clone())
                        .unwrap_or_default();
                    l.class = "confluence-userlink user-mention";
                    l.data = id;
                    l.href = Some(url(ctx, "/wiki/people"));
                    l.label = Some(shown);
                    return Frame::Transparent;
                }
                "ri:attachment" => {
                    let f = get(e, "ri:filename").unwrap_or_default();
                    l.href = Some(attachment_href(ctx, &f, None));
                    l.label = Some(f);
                    return Frame::Transparent;
                }
                "ri:url" => {
                    let v = get(e, "ri:value").unwrap_or_default();
                    l.href = Some(v.clone());
                    l.label = Some(v);
                    return Frame::Transparent;
                }
                "ri:space" => {
                    let k = get(e, "ri:space-key").unwrap_or_default();
                    l.href = Some(url(ctx, &format!("/wiki/spaces/{}", pct(&k))));
                    l.label = Some(k);
                    return Frame::Transparent;
                }
                _ => {}
            },
            Frame::Image(i) => match name.as_str() {
                "ri:attachment" => {
                    let f = get(e, "ri:filename").unwrap_or_default();
                    i.src = Some(attachment_href(ctx, &f, None));
                    if i.alt.is_none() {
                        i.alt = Some(f);
                    }
                    return Frame::Transparent;
                }
                "ri:url" => {
                    i.src = get(e, "ri:value");
                    return Frame::Transparent;
                }
                _ => return Frame::Skip,
            },
            _ => {}
        }
    }
    let w = sink(stack, out);
    match name.as_str() {
        "ac:link" => Frame::Link(Box::new(LinkState {
            anchor: get(e, "ac:anchor"),
            ..Default::default()
        })),
        "ac:image" => Frame::Image(Box::new(ImageState {
            alt: get(e, "ac:alt"),
            height: get(e, "ac:height"),
            width: get(e, "ac:width"),
            ..Default::default()
        })),
        "ac:parameter" => Frame::Param(get(e, "ac:name").unwrap_or_default(), String::new()),
        "ac:task-id" | "ac:task-uuid" | "ac:task-status" | "ac:placeholder" => Frame::Skip,
        "ac:plain-text-body" => Frame::Plain,
        "ac:link-body" | "ac:plain-text-link-body" | "ac:rich-text-body" | "ac:task-body" => {
            Frame::Transparent
        }
        "ac:structured-macro" | "ac:macro" => {
            let m = get(e, "ac:name").unwrap_or_default();
            match m.as_str() {
                "code" | "noformat" => {
                    w.push_str(&format!(
                        "<div class=\"code panel pdl\"><div class=\"codeContent panelContent pdl\"><pre class=\"syntaxhighlighter-pre\" data-macro=\"{}\">",
                        attr(&m)
                    ));
                    Frame::Macro("</pre></div></div>", m, None)
                }
                "info" | "note" | "warning" | "tip" => {
                    w.push_str(&format!(
                        "<div class=\"confluence-information-macro confluence-information-macro-{m}\"><div class=\"confluence-information-macro-body\">"
                    ));
                    Frame::Macro("</div></div>", m, None)
                }
                "panel" | "expand" | "details" | "excerpt" => {
                    w.push_str(&format!("<div class=\"{}\">", attr(&m)));
                    Frame::Macro("</div>", m, None)
                }
                "status" => {
                    // The title is a parameter: written when the macro closes.
                    w.push_str("<span class=\"status-macro aui-lozenge\">");
                    Frame::Macro("</span>", m, None)
                }
                "toc" => {
                    w.push_str("<div class=\"toc-macro client-side-toc-macro\" data-headerelements=\"H1,H2,H3\">");
                    Frame::Macro("</div>", m, None)
                }
                _ => {
                    w.push_str(&format!(
                        "<div class=\"conf-macro output-block\" data-macro-name=\"{}\">",
                        attr(&m)
                    ));
                    Frame::Macro("</div>", m, None)
                }
            }
        }
        "ac:task-list" => {
            w.push_str("<ul class=\"inline-task-list\">");
            Frame::Close("</ul>")
        }
        "ac:task" => {
            w.push_str("<li>");
            Frame::Close("</li>")
        }
        "ac:inline-comment-marker" => {
            w.push_str(&format!(
                "<span class=\"inline-comment-marker\" data-ref=\"{}\">",
                attr(&get(e, "ac:ref").unwrap_or_default())
            ));
            Frame::Close("</span>")
        }
        "ac:emoticon" => {
            let n = get(e, "ac:emoji-fallback")
                .or_else(|| get(e, "ac:name"))
                .unwrap_or_default();
            w.push_str(&format!("<span class=\"emoticon\">{}</span>", esc(&n)));
            Frame::Transparent
        }
        "time" => {
            let d = get(e, "datetime").unwrap_or_default();
            w.push_str(&format!(
                "<time datetime=\"{}\" class=\"date-past\">{}",
                attr(&d),
                esc(&d)
            ));
            Frame::Close("</time>")
        }
        n if n.contains(':') => Frame::Transparent,
        n => {
            let mut tag = format!("<{n}");
            for a in e.attributes().flatten() {
                let key = a.key.as_ref().to_string();
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_default();
                tag.push_str(&format!(" {key}=\"{}\"", attr(&v)));
            }
            if empty && is_void(n) {
                tag.push_str(" />");
                w.push_str(&tag);
                return Frame::Transparent;
            }
            tag.push('>');
            w.push_str(&tag);
            Frame::CloseOwned(format!("</{n}>"))
        }
    }
}

fn is_void(n: &str) -> bool {
    matches!(
        n,
        "br" | "hr" | "img" | "col" | "input" | "meta" | "link" | "area" | "base" | "wbr"
    )
}

fn close(f: Frame, stack: &mut [Frame], out: &mut String, ctx: ViewCtx) {
    let _ = ctx;
    match f {
        Frame::Close(s) => sink(stack, out).push_str(s),
        Frame::Macro(s, _, title) => {
            let w = sink(stack, out);
            if let Some(t) = title {
                w.push_str(&esc(&t));
            }
            w.push_str(s);
        }
        Frame::Param(name, t) => {
            if let Some(Frame::Macro(_, m, title)) = stack.last_mut()
                && m == "status"
                && name == "title"
            {
                *title = Some(t);
            }
        }
        Frame::CloseOwned(s) => sink(stack, out).push_str(&s),
        Frame::Skip | Frame::Transparent | Frame::Plain => {}
        Frame::Link(l) => {
            let mut href = l.href.unwrap_or_default();
            if let Some(a) = &l.anchor {
                href.push('#');
                href.push_str(&pct(a));
            }
            let body = if l.body.is_empty() {
                esc(l.label.as_deref().unwrap_or(&href))
            } else {
                l.body
            };
            let mut tag = format!("<a href=\"{}\"", attr(&href));
            if !l.class.is_empty() {
                tag.push_str(&format!(" class=\"{}\"", l.class));
            }
            if let Some(d) = &l.data {
                tag.push_str(&format!(" data-account-id=\"{}\"", attr(d)));
            }
            sink(stack, out).push_str(&format!("{tag}>{body}</a>"));
        }
        Frame::Image(i) => {
            let mut tag = format!(
                "<img class=\"confluence-embedded-image\" src=\"{}\"",
                attr(i.src.as_deref().unwrap_or(""))
            );
            for (k, v) in [("alt", &i.alt), ("height", &i.height), ("width", &i.width)] {
                if let Some(v) = v {
                    tag.push_str(&format!(" {k}=\"{}\"", attr(v)));
                }
            }
            tag.push_str(" />");
            sink(stack, out).push_str(&tag);
        }
    }
}
