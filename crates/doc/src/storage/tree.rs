//! Stage 1 of the storage reader: quick-xml events → a small tree borrowing from the input.
//!
//! The tree keeps each element's byte span so that an unmodelled macro can keep its exact
//! source. Building is iterative (an explicit stack), bounded by [`MAX_DEPTH`], so hostile
//! nesting gives an error instead of a stack overflow.

use std::borrow::Cow;

use quick_xml::escape::{resolve_html5_entity, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};

use crate::{ReadError, Recovery};

/// Deepest element nesting accepted. Real pages stay far below (a few dozen levels).
pub const MAX_DEPTH: usize = crate::depth::STORAGE_MAX_ELEMENTS;

/// HTML void elements: accepted without a closing tag (`<br>`), a stray `</br>` is ignored.
const VOID: &[&str] = &[
    "br", "hr", "img", "col", "input", "meta", "link", "area", "base", "wbr", "source", "track",
    "embed", "param",
];

#[derive(Debug)]
pub(crate) enum Node<'a> {
    Elem(Elem<'a>),
    Text(Cow<'a, str>),
    /// A `<![CDATA[…]]>` section (its raw content).
    CData(&'a str),
    /// An entity the reader cannot resolve, kept verbatim (`name` without `&`/`;`).
    Entity(&'a str),
    /// Comment, processing instruction or DOCTYPE: kept verbatim.
    Raw {
        kind: &'static str,
        source: &'a str,
    },
}

#[derive(Debug)]
pub(crate) struct Elem<'a> {
    pub name: &'a str,
    /// Range in [`Tree::attrs`].
    attrs: (u32, u32),
    /// Range in [`Tree::nodes`].
    kids: (u32, u32),
    /// Byte span of the whole element in the input (start tag to end of end tag).
    pub start: usize,
    pub end: usize,
}

/// The parsed fragment: all nodes in one arena (an element's children are a contiguous range),
/// all attributes in another.
#[derive(Debug)]
pub(crate) struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    attrs: Vec<(&'a str, Cow<'a, str>)>,
    roots: (u32, u32),
    /// Sorted byte offsets of structural recoveries (lenient parsing only).
    taint: Vec<usize>,
}

impl<'a> Tree<'a> {
    pub fn roots(&self) -> &[Node<'a>] {
        &self.nodes[self.roots.0 as usize..self.roots.1 as usize]
    }

    /// True when the element's source text is well-formed as written: no recovery (an element
    /// closed for it, a stray end tag, markup kept as text) lies inside it.
    pub fn source_is_exact(&self, e: &Elem<'a>) -> bool {
        let i = self.taint.partition_point(|&t| t < e.start);
        self.taint.get(i).is_none_or(|&t| t >= e.end)
    }

    pub fn kids(&self, e: &Elem<'a>) -> &[Node<'a>] {
        &self.nodes[e.kids.0 as usize..e.kids.1 as usize]
    }

    pub fn attrs(&self, e: &Elem<'a>) -> &[(&'a str, Cow<'a, str>)] {
        &self.attrs[e.attrs.0 as usize..e.attrs.1 as usize]
    }

    pub fn attr(&self, e: &Elem<'a>, name: &str) -> Option<&str> {
        self.attrs(e)
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Child elements (ignores text and other nodes).
    pub fn elems<'t>(&'t self, e: &Elem<'a>) -> impl Iterator<Item = &'t Elem<'a>> {
        self.kids(e).iter().filter_map(|n| match n {
            Node::Elem(e) => Some(e),
            _ => None,
        })
    }

    pub fn child<'t>(&'t self, e: &Elem<'a>, name: &str) -> Option<&'t Elem<'a>> {
        self.elems(e).find(|c| c.name == name)
    }

    /// True when every non-element child is whitespace-only text.
    pub fn only_elements(&self, e: &Elem<'a>) -> bool {
        self.kids(e).iter().all(|n| match n {
            Node::Elem(_) => true,
            Node::Text(t) => t.trim().is_empty(),
            _ => false,
        })
    }

    /// Concatenated text and CDATA content of direct children; `None` when there are
    /// child elements or unresolvable entities.
    pub fn text_only(&self, e: &Elem<'a>) -> Option<String> {
        let mut s = String::new();
        for n in self.kids(e) {
            match n {
                Node::Text(t) => s.push_str(t),
                Node::CData(t) => s.push_str(t),
                _ => return None,
            }
        }
        Some(s)
    }
}

impl Elem<'_> {
    pub fn has_kids(&self) -> bool {
        self.kids.1 > self.kids.0
    }

    pub fn attr_count(&self) -> usize {
        (self.attrs.1 - self.attrs.0) as usize
    }

    /// The element's exact source text.
    pub fn source<'s>(&self, input: &'s str) -> &'s str {
        &input[self.start..self.end]
    }
}

fn resolve_entity(name: &str) -> Option<&'static str> {
    resolve_predefined_entity(name).or_else(|| resolve_html5_entity(name))
}

fn start_elem<'a>(
    input: &'a str,
    e: &BytesStart<'a>,
    start: usize,
    attrs: &mut Vec<(&'a str, Cow<'a, str>)>,
    mut rec: Option<&mut Vec<Recovery>>,
) -> Result<Elem<'a>, ReadError> {
    let raw = e.name();
    // `BytesStart` borrows from the input for `Reader::from_str`; recover the slice with the
    // input's lifetime by position.
    let name = borrow_from(input, raw.0, start)?;
    let first = attrs.len() as u32;
    let mut html = false;
    'again: loop {
        let mut iter = if html {
            e.html_attributes()
        } else {
            e.attributes()
        };
        for a in iter.with_checks(false) {
            let a = match a {
                Ok(a) => a,
                Err(err) => match rec.as_deref_mut() {
                    Some(rec) if !html => {
                        // Not XML attribute syntax (`title=oops`, `checked`): read them again
                        // as an HTML parser does.
                        rec.push(Recovery::at(
                            input,
                            start,
                            format!(
                                "attributes of <{name}> are not well-formed XML ({err}): read as HTML attributes"
                            ),
                        ));
                        attrs.truncate(first as usize);
                        html = true;
                        continue 'again;
                    }
                    Some(rec) => {
                        let rest = e.attributes_raw();
                        rec.push(Recovery::at(
                            input,
                            start,
                            format!(
                                "attributes of <{name}> cannot be read ({err}): kept those before the error, dropped `{}`",
                                rest.trim()
                            ),
                        ));
                        break 'again;
                    }
                    None => {
                        return Err(ReadError::at(
                            "storage",
                            input,
                            start,
                            format!("bad attribute in <{name}>: {err}"),
                        ));
                    }
                },
            };
            let key = borrow_from(input, a.key.0, start)?;
            let value = match a.normalized_value_with(
                quick_xml::XmlVersion::Implicit1_0,
                4,
                resolve_entity,
            ) {
                Ok(Cow::Borrowed(v)) => Cow::Borrowed(borrow_from(input, v, start)?),
                Ok(Cow::Owned(v)) => Cow::Owned(v),
                Err(err) => match rec.as_deref_mut() {
                    Some(rec) => {
                        let v = a.value.to_string();
                        rec.push(Recovery::at(
                            input,
                            start,
                            format!(
                                "value of attribute {key} in <{name}> cannot be decoded ({err}): kept as written"
                            ),
                        ));
                        Cow::Owned(v)
                    }
                    None => {
                        return Err(ReadError::at(
                            "storage",
                            input,
                            start,
                            format!("bad value of attribute {key} in <{name}>: {err}"),
                        ));
                    }
                },
            };
            attrs.push((key, value));
        }
        break;
    }
    Ok(Elem {
        name,
        attrs: (first, attrs.len() as u32),
        kids: (0, 0),
        start,
        end: start,
    })
}

/// Re-borrows `s` (a slice of `input` obtained through a shorter-lived borrow) with the input's
/// lifetime.
fn borrow_from<'a>(input: &'a str, s: &str, at: usize) -> Result<&'a str, ReadError> {
    let base = input.as_ptr() as usize;
    let p = s.as_ptr() as usize;
    if p >= base && p + s.len() <= base + input.len() {
        let off = p - base;
        Ok(&input[off..off + s.len()])
    } else {
        Err(ReadError::at(
            "storage",
            input,
            at,
            "internal: name not borrowed from input",
        ))
    }
}

fn push_text<'a>((children, start): (&mut Vec<Node<'a>>, usize), t: Cow<'a, str>) {
    if t.is_empty() {
        return;
    }
    if children.len() > start
        && let Some(Node::Text(prev)) = children.last_mut()
    {
        match prev {
            Cow::Owned(s) => s.push_str(&t),
            Cow::Borrowed(b) => {
                // Entities split text runs (`a &gt; b`): leave room for the rest of the run.
                let mut s = String::with_capacity(b.len() + t.len() + 32);
                s.push_str(b);
                s.push_str(&t);
                *prev = Cow::Owned(s);
            }
        }
        return;
    }
    children.push(Node::Text(t));
}

fn new_reader(input: &str) -> quick_xml::Reader<&[u8]> {
    let mut reader = quick_xml::Reader::from_str(input);
    let cfg = reader.config_mut();
    cfg.check_end_names = false;
    cfg.trim_text(false);
    cfg.expand_empty_elements = false;
    cfg.allow_unmatched_ends = true;
    // A bare `&` ("R&D") is kept as text rather than failing the whole page.
    cfg.allow_dangling_amp = true;
    reader
}

/// Parses a storage fragment into a forest of nodes; malformed markup is an error.
pub(crate) fn parse(input: &str) -> Result<Tree<'_>, ReadError> {
    parse_with(input, None)
}

/// Parses a storage fragment as an HTML parser would: unclosed elements are closed, stray end
/// tags dropped, bad markup and character references kept as text, and each recovery is pushed
/// to `rec`. Only what cannot be read at all (nesting past [`MAX_DEPTH`]) is an error.
pub(crate) fn parse_lenient<'a>(
    input: &'a str,
    rec: &mut Vec<Recovery>,
) -> Result<Tree<'a>, ReadError> {
    parse_with(input, Some(rec))
}

fn parse_with<'a>(
    input: &'a str,
    mut rec: Option<&mut Vec<Recovery>>,
) -> Result<Tree<'a>, ReadError> {
    // The reader restarts after a recovered syntax error; `base` is where its input begins.
    let mut base = 0usize;
    let mut reader = new_reader(input);
    // Places of structural recoveries: an element spanning one has no trustworthy source.
    let mut taint: Vec<usize> = Vec::new();
    // Children of all open elements live in one scratch stack; an element's children are moved
    // out in one exact-size allocation when it closes (no per-element vector growth).
    let mut scratch: Vec<Node> = Vec::new();
    // Every node is an element or the text before a tag: twice the number of `<` bounds the
    // node count, so the arena never reallocates (untouched capacity costs no memory).
    let tags = input.bytes().filter(|&b| b == b'<').count();
    let mut arena: Vec<Node> = Vec::with_capacity(2 * tags + 1);
    let mut attr_arena: Vec<(&str, Cow<str>)> = Vec::with_capacity(tags);
    let mut stack: Vec<(Elem, usize)> = Vec::new();
    macro_rules! children {
        () => {
            (&mut scratch, stack.last().map_or(0, |(_, start)| *start))
        };
    }
    macro_rules! close_top {
        ($end:expr) => {{
            if let Some((mut el, start)) = stack.pop() {
                el.end = $end;
                let first = arena.len() as u32;
                arena.extend(scratch.drain(start..));
                el.kids = (first, arena.len() as u32);
                scratch.push(Node::Elem(el));
            }
        }};
    }
    loop {
        let pos = base + reader.buffer_position() as usize;
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(err) => {
                let Some(rec) = rec.as_deref_mut() else {
                    let at = base + reader.error_position() as usize;
                    return Err(ReadError::at(
                        "storage",
                        input,
                        at,
                        format!("malformed XML: {err}"),
                    ));
                };
                // Keep the malformed markup as text up to the next `<`, and read on from there.
                let resume = input[pos + 1..]
                    .find('<')
                    .map_or(input.len(), |i| pos + 1 + i);
                let kept = &input[pos..resume];
                rec.push(Recovery::at(
                    input,
                    pos,
                    format!("malformed markup ({err}): kept `{}` as text", shorten(kept)),
                ));
                taint.push(pos);
                push_text(children!(), Cow::Borrowed(kept));
                base = resume;
                reader = new_reader(&input[base..]);
                continue;
            }
        };
        let end_pos = base + reader.buffer_position() as usize;
        match ev {
            Event::Start(e) => {
                let before = rec.as_deref().map_or(0, Vec::len);
                let el = start_elem(input, &e, pos, &mut attr_arena, rec.as_deref_mut())?;
                if rec.as_deref().map_or(0, Vec::len) > before {
                    taint.push(pos);
                }
                if VOID.contains(&el.name) {
                    let mut el = el;
                    el.end = end_pos;
                    children!().0.push(Node::Elem(el));
                    continue;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(ReadError::at(
                        "storage",
                        input,
                        pos,
                        format!(
                            "elements nested deeper than {MAX_DEPTH} levels at <{}>; no real page nests this deep, \
                             so the body is probably malformed (check for unclosed tags)",
                            el.name
                        ),
                    ));
                }
                let start = scratch.len();
                stack.push((el, start));
            }
            Event::Empty(e) => {
                let before = rec.as_deref().map_or(0, Vec::len);
                let mut el = start_elem(input, &e, pos, &mut attr_arena, rec.as_deref_mut())?;
                if rec.as_deref().map_or(0, Vec::len) > before {
                    taint.push(pos);
                }
                el.end = end_pos;
                children!().0.push(Node::Elem(el));
            }
            Event::End(e) => {
                let name = e.name();
                let name = name.0;
                match stack.last().map(|(top, _)| top) {
                    Some(top) if top.name == name => close_top!(end_pos),
                    _ if VOID.contains(&name) => {}
                    top => {
                        let Some(rec) = rec.as_deref_mut() else {
                            return Err(match top {
                                Some(top) => {
                                    let open = ReadError::at("storage", input, top.start, "");
                                    ReadError::at(
                                        "storage",
                                        input,
                                        pos,
                                        format!(
                                            "closing tag </{name}> does not match the open <{}> from line {}, column {}; \
                                             close the elements in order",
                                            top.name, open.line, open.column
                                        ),
                                    )
                                }
                                None => ReadError::at(
                                    "storage",
                                    input,
                                    pos,
                                    format!(
                                        "closing tag </{name}> without an opening tag; remove it or add <{name}>"
                                    ),
                                ),
                            });
                        };
                        taint.push(pos);
                        if let Some(at) = stack.iter().rposition(|(el, _)| el.name == name) {
                            // `</p>` while a `<strong>` inside it is open: close the inner
                            // elements here, as an HTML parser does.
                            while stack.len() > at + 1 {
                                if let Some((inner, _)) = stack.last() {
                                    rec.push(Recovery::at(
                                        input,
                                        inner.start,
                                        format!(
                                            "<{}> is never closed: closed at </{name}>",
                                            inner.name
                                        ),
                                    ));
                                    taint.push(inner.start);
                                }
                                close_top!(pos);
                            }
                            close_top!(end_pos);
                        } else {
                            rec.push(Recovery::at(
                                input,
                                pos,
                                format!("closing tag </{name}> has no open element: dropped"),
                            ));
                        }
                    }
                }
            }
            Event::Text(t) => {
                let s = borrow_from(input, &t, pos)?;
                push_text(children!(), Cow::Borrowed(s));
            }
            Event::CData(t) => {
                let s = borrow_from(input, &t, pos)?;
                children!().0.push(Node::CData(s));
            }
            Event::GeneralRef(r) => {
                if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => push_text(children!(), Cow::Owned(c.to_string())),
                        _ => {
                            let Some(rec) = rec.as_deref_mut() else {
                                return Err(ReadError::at(
                                    "storage",
                                    input,
                                    pos,
                                    format!("invalid character reference &{};", &*r),
                                ));
                            };
                            let kept = &input[pos..end_pos];
                            rec.push(Recovery::at(
                                input,
                                pos,
                                format!("invalid character reference {kept}: kept as text"),
                            ));
                            taint.push(pos);
                            push_text(children!(), Cow::Borrowed(kept));
                        }
                    }
                } else if let Some(v) = resolve_entity(&r) {
                    push_text(children!(), Cow::Borrowed(v));
                } else {
                    let name = borrow_from(input, &r, pos)?;
                    if let Some(rec) = rec.as_deref_mut() {
                        rec.push(Recovery::at(
                            input,
                            pos,
                            format!("undefined entity &{name};: kept verbatim"),
                        ));
                    }
                    children!().0.push(Node::Entity(name));
                }
            }
            Event::Comment(_) => children!().0.push(Node::Raw {
                kind: "comment",
                source: &input[pos..end_pos],
            }),
            Event::PI(_) => children!().0.push(Node::Raw {
                kind: "processing-instruction",
                source: &input[pos..end_pos],
            }),
            Event::Decl(_) => children!().0.push(Node::Raw {
                kind: "xml-declaration",
                source: &input[pos..end_pos],
            }),
            Event::DocType(_) => children!().0.push(Node::Raw {
                kind: "doctype",
                source: &input[pos..end_pos],
            }),
            Event::Eof => break,
        }
    }
    if let Some((top, _)) = stack.last() {
        let Some(rec) = rec else {
            return Err(ReadError::at(
                "storage",
                input,
                top.start,
                format!(
                    "<{}> is never closed; add </{}> where it ends",
                    top.name, top.name
                ),
            ));
        };
        let mut open: Vec<Recovery> = Vec::new();
        while let Some((top, _)) = stack.last() {
            open.push(Recovery::at(
                input,
                top.start,
                format!(
                    "<{}> is never closed: closed at the end of the body",
                    top.name
                ),
            ));
            taint.push(top.start);
            close_top!(input.len());
        }
        // Report in the order of the input.
        rec.extend(open.into_iter().rev());
    }
    taint.sort_unstable();
    let first = arena.len() as u32;
    arena.extend(scratch);
    let roots = (first, arena.len() as u32);
    Ok(Tree {
        nodes: arena,
        attrs: attr_arena,
        roots,
        taint,
    })
}

/// The first characters of `s`, for a recovery message.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}
