//! An XML normaliser written independently of the storage reader, for judging round trips:
//! two bodies are *semantically equal* when their normalised trees are equal. Normalisation:
//! attribute order (sorted), entity spelling (resolved), CDATA vs escaped text (both text),
//! `style` declarations (sorted, whitespace-trimmed), macro parameter order (sorted by name), and
//! whitespace-only text between block-level elements (dropped).

use quick_xml::events::Event;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum N {
    E {
        name: String,
        attrs: Vec<(String, String)>,
        children: Vec<N>,
    },
    T(String),
}

const INLINE: &[&str] = &[
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "del",
    "strike",
    "code",
    "tt",
    "sub",
    "sup",
    "small",
    "big",
    "span",
    "a",
    "br",
    "ac:link",
    "ac:emoticon",
    "time",
    "ac:placeholder",
    "ac:inline-comment-marker",
    "img",
    "ac:image",
    "ac:structured-macro",
    "ac:plain-text-link-body",
    "ac:link-body",
    "ri:page",
    "ri:attachment",
    "ri:user",
    "font",
    "abbr",
    "cite",
    "q",
    "kbd",
    "var",
    "samp",
    "mark",
    "ins",
];

fn resolve(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let n = if let Some(h) = num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            u32::from_str_radix(h, 16).ok()?
        } else {
            num.parse().ok()?
        };
        return char::from_u32(n).map(|c| c.to_string());
    }
    quick_xml::escape::resolve_predefined_entity(name)
        .or_else(|| quick_xml::escape::resolve_html5_entity(name))
        .map(str::to_string)
}

fn norm_style(v: &str) -> String {
    let mut d: Vec<String> = v
        .split(';')
        .filter_map(|x| {
            let (k, v) = x.split_once(':')?;
            Some(format!(
                "{}:{}",
                k.trim().to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        })
        .collect();
    d.sort();
    d.join(";")
}

/// Parses a fragment into normalised nodes. Panics on malformed input (tests only).
/// An open element while parsing: name, attributes, children so far.
type Open = (String, Vec<(String, String)>, Vec<N>);

pub fn parse(input: &str) -> Vec<N> {
    let mut r = quick_xml::Reader::from_str(input);
    r.config_mut().check_end_names = false;
    r.config_mut().allow_dangling_amp = true;
    let mut stack: Vec<Open> = vec![("#root".into(), vec![], vec![])];
    let push_text = |stack: &mut Vec<Open>, t: &str| {
        let ch = &mut stack.last_mut().unwrap().2;
        if let Some(N::T(prev)) = ch.last_mut() {
            prev.push_str(t);
        } else if !t.is_empty() {
            ch.push(N::T(t.to_string()));
        }
    };
    let attrs_of = |e: &quick_xml::events::BytesStart| {
        let mut v: Vec<(String, String)> = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let k = a.key.0.to_string();
                let val = a
                    .normalized_value_with(quick_xml::XmlVersion::Implicit1_0, 4, |n| {
                        quick_xml::escape::resolve_predefined_entity(n)
                            .or_else(|| quick_xml::escape::resolve_html5_entity(n))
                    })
                    .unwrap()
                    .to_string();
                let val = if k == "style" { norm_style(&val) } else { val };
                (k, val)
            })
            .collect();
        v.sort();
        v
    };
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => stack.push((e.name().0.to_string(), attrs_of(&e), vec![])),
            Event::Empty(e) => {
                let n = N::E {
                    name: e.name().0.to_string(),
                    attrs: attrs_of(&e),
                    children: vec![],
                };
                stack.last_mut().unwrap().2.push(n);
            }
            Event::End(_) => {
                let (name, attrs, children) = stack.pop().unwrap();
                let children = finish(&name, children);
                stack.last_mut().unwrap().2.push(N::E {
                    name,
                    attrs,
                    children,
                });
            }
            Event::Text(t) => push_text(&mut stack, &t),
            Event::CData(t) => push_text(&mut stack, &t),
            Event::GeneralRef(g) => {
                let s = resolve(&g).unwrap_or_else(|| format!("&{};", &*g));
                push_text(&mut stack, &s)
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let (_, _, children) = stack.pop().unwrap();
    finish("#root", children)
}

fn is_inline(n: &N) -> bool {
    match n {
        N::T(t) => !t.trim().is_empty(),
        N::E { name, attrs, .. } => match name.as_str() {
            // Images and macros stand alone as blocks unless text sits next to them.
            "ac:image" => false,
            n if n.starts_with("ri:") => false,
            "ac:structured-macro" => attrs.iter().any(|(k, v)| {
                k == "ac:name"
                    && matches!(
                        v.as_str(),
                        "status" | "anchor" | "jira" | "eazy-math-inline"
                    )
            }),
            n => INLINE.contains(&n),
        },
    }
}

fn finish(parent: &str, children: Vec<N>) -> Vec<N> {
    // Drop whitespace-only text that is not next to inline content.
    let len = children.len();
    let keep: Vec<bool> = (0..len)
        .map(|i| match &children[i] {
            N::T(t) if t.trim().is_empty() => {
                let prev_inline = i > 0 && is_inline(&children[i - 1]);
                let next_inline = i + 1 < len && is_inline(&children[i + 1]);
                let inline_parent = matches!(
                    parent,
                    "p" | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                        | "h5"
                        | "h6"
                        | "strong"
                        | "em"
                        | "span"
                        | "a"
                        | "code"
                        | "ac:link-body"
                        | "ac:plain-text-link-body"
                        | "ac:plain-text-body"
                        | "ac:parameter"
                        | "ac:task-id"
                        | "ac:task-uuid"
                        | "ac:task-status"
                        | "pre"
                        | "u"
                        | "s"
                        | "sub"
                        | "sup"
                        | "ac:placeholder"
                        | "ac:adf-attribute"
                );
                inline_parent || prev_inline || next_inline
            }
            _ => true,
        })
        .collect();
    let mut out: Vec<N> = children
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(n, _)| n)
        .collect();
    if parent == "ac:structured-macro" {
        // Macro parameters are a map: order is insignificant.
        out.sort_by_key(|n| match n {
            N::E { name, attrs, .. } if name == "ac:parameter" => (
                0,
                attrs
                    .iter()
                    .find(|(k, _)| k == "ac:name")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            ),
            _ => (1, String::new()),
        });
    }
    out
}

/// The first difference between two normalised forests, as a readable path, or `None`.
pub fn first_diff(a: &[N], b: &[N]) -> Option<String> {
    fn walk(a: &[N], b: &[N], path: &str) -> Option<String> {
        for i in 0..a.len().max(b.len()) {
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) if x == y => continue,
                (
                    Some(N::E {
                        name: n1,
                        attrs: a1,
                        children: c1,
                    }),
                    Some(N::E {
                        name: n2,
                        attrs: a2,
                        children: c2,
                    }),
                ) if n1 == n2 => {
                    if a1 != a2 {
                        return Some(format!("{path}/{n1}[{i}]: attributes {a1:?} != {a2:?}"));
                    }
                    return walk(c1, c2, &format!("{path}/{n1}[{i}]"));
                }
                (x, y) => {
                    let show = |n: Option<&N>| match n {
                        None => "nothing".to_string(),
                        Some(N::T(t)) => {
                            format!("text {:?}", t.chars().take(80).collect::<String>())
                        }
                        Some(N::E { name, attrs, .. }) => format!("<{name} {attrs:?}>"),
                    };
                    return Some(format!("{path}[{i}]: {} != {}", show(x), show(y)));
                }
            }
        }
        None
    }
    walk(a, b, "")
}

/// All attribute values of a body, space-separated.
pub fn attribute_values(input: &str) -> String {
    fn collect(nodes: &[N], out: &mut String) {
        for n in nodes {
            if let N::E {
                attrs, children, ..
            } = n
            {
                for (_, v) in attrs {
                    out.push(' ');
                    out.push_str(v);
                }
                collect(children, out);
            }
        }
    }
    let mut s = String::new();
    collect(&parse(input), &mut s);
    s
}

/// Plain text of a body, independent of the storage reader: all text and CDATA, with element
/// boundaries of block-level elements as whitespace, whitespace collapsed.
pub fn plain_text(input: &str) -> String {
    fn collect(nodes: &[N], out: &mut String) {
        for n in nodes {
            match n {
                N::T(t) => out.push_str(t),
                N::E { name, children, .. } => {
                    let block = !INLINE.contains(&name.as_str());
                    if block {
                        out.push(' ');
                    }
                    collect(children, out);
                    if block {
                        out.push(' ');
                    }
                }
            }
        }
    }
    let mut s = String::new();
    collect(&parse(input), &mut s);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn normaliser_sees_real_differences_and_ignores_spelling() {
    let a = parse(
        r#"<p style="color: red; text-align: center;">a&nbsp;b</p><ac:structured-macro ac:name="x"><ac:parameter ac:name="b">2</ac:parameter><ac:parameter ac:name="a">1</ac:parameter></ac:structured-macro>"#,
    );
    let b = parse(
        "<p style=\"text-align:center;color:red\">a\u{a0}b</p>\n<ac:structured-macro ac:name=\"x\"><ac:parameter ac:name=\"a\">1</ac:parameter><ac:parameter ac:name=\"b\">2</ac:parameter></ac:structured-macro>",
    );
    assert_eq!(first_diff(&a, &b), None);
    let c = parse(r#"<p style="text-align: center;">a b</p>"#);
    assert!(first_diff(&a, &c).is_some());
    let d = parse(r#"<p><strong>a</strong> <em>b</em></p>"#);
    let e = parse(r#"<p><strong>a</strong><em>b</em></p>"#);
    assert!(
        first_diff(&d, &e).is_some(),
        "whitespace between inline elements is significant"
    );
    assert_eq!(plain_text("<p>a</p>\n<p>b <![CDATA[c]]></p>"), "a b c");
}
