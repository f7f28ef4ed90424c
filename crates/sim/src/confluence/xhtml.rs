//! Storage-format validation as the service does it, independent of kbridge's reader: a body
//! is accepted when it is well-formed XHTML once wrapped in a root that binds Confluence's
//! namespaces (`ac:`, `ri:`, `at:`), with XML's and XHTML's named entities and numeric
//! references allowed. Content the service does not understand (unknown macros, odd nesting,
//! CDATA) is valid: only well-formedness is checked.

use quick_xml::Reader;
use quick_xml::escape::resolve_html5_entity;
use quick_xml::events::Event;

/// The prefixes a storage body may use without declaring them.
const PREFIXES: &[&str] = &["ac", "ri", "at", "xml"];

/// `Ok` when the body is well-formed storage; else the service's message
/// (`Error parsing xhtml: …`, with a row and column).
pub fn check(body: &str) -> Result<(), String> {
    const OPEN: &str = "<root>";
    let wrapped = format!("{OPEN}{body}</root>");
    let mut r = Reader::from_str(&wrapped);
    r.config_mut().check_end_names = true;
    r.config_mut().check_comments = true;
    let at = |pos: u64| {
        let pos = (pos as usize).saturating_sub(OPEN.len()).min(body.len());
        let before = &body[..floor_char(body, pos)];
        let row = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("at [row,col {{unknown-source}}]: [{row},{col}]")
    };
    let fail = |why: String, pos: u64| Err(format!("Error parsing xhtml: {why}\n {}", at(pos)));
    loop {
        let pos = r.buffer_position();
        let ev = match r.read_event() {
            Ok(e) => e,
            Err(e) => return fail(e.to_string(), r.error_position()),
        };
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_string();
                check_prefix(&name).or_else(|w| fail(w, pos))?;
                for a in e.attributes() {
                    let a = match a {
                        Ok(a) => a,
                        Err(x) => return fail(x.to_string(), pos),
                    };
                    let key = a.key.as_ref().to_string();
                    if !key.starts_with("xmlns") {
                        check_prefix(&key).or_else(|w| fail(w, pos))?;
                    }
                    check_refs(&a.value).or_else(|w| fail(w, pos))?;
                }
            }
            Event::GeneralRef(e) => {
                let name: &str = &e;
                match e.resolve_char_ref() {
                    Ok(Some(_)) => {}
                    Ok(None) if resolve_html5_entity(name).is_some() => {}
                    Ok(None) => {
                        return fail(format!("Undeclared general entity \"{name}\""), pos);
                    }
                    Err(x) => return fail(x.to_string(), pos),
                }
            }
            Event::DocType(_) => return fail("DOCTYPE is not allowed in content".into(), pos),
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn check_prefix(name: &str) -> Result<(), String> {
    match name.split_once(':') {
        Some((p, _)) if !PREFIXES.contains(&p) => Err(format!(
            "Undeclared namespace prefix \"{p}\" (in \"{name}\")"
        )),
        _ => Ok(()),
    }
}

/// Entity references inside an attribute value.
fn check_refs(v: &str) -> Result<(), String> {
    let mut rest = v;
    while let Some(i) = rest.find('&') {
        let after = &rest[i + 1..];
        let Some(end) = after.find(';') else {
            return Err("Unterminated entity reference in an attribute value".into());
        };
        let name = &after[..end];
        let ok = if let Some(n) = name.strip_prefix('#') {
            match n.strip_prefix('x') {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => n.parse().ok(),
            }
            .and_then(char::from_u32)
            .is_some()
        } else {
            resolve_html5_entity(name).is_some()
        };
        if !ok {
            return Err(format!("Undeclared general entity \"{name}\""));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_valid_storage_kbridge_never_writes() {
        for ok in [
            "<p>plain</p>",
            "",
            "<p>&nbsp;&mdash;&hellip;&copy;&#8364;&#x1F600;&amp;&lt;</p>",
            "<ac:structured-macro ac:name=\"no-such-macro\" ac:schema-version=\"1\"><ac:parameter ac:name=\"x\">1</ac:parameter><ac:rich-text-body><p>in</p></ac:rich-text-body></ac:structured-macro>",
            "<ac:macro ac:name=\"code\"><ac:plain-text-body><![CDATA[if a < b && c]]></ac:plain-text-body></ac:macro>",
            "<ac:layout><ac:layout-section ac:type=\"two_equal\"><ac:layout-cell><ac:layout><ac:layout-section ac:type=\"single\"><ac:layout-cell><p>deep</p></ac:layout-cell></ac:layout-section></ac:layout></ac:layout-cell><ac:layout-cell /></ac:layout-section></ac:layout>",
            "<ul><li><ul><li><ul><li><ol><li>4</li></ol></li></ul></li></ul></li></ul>",
            "<p><ac:link><ri:page ri:content-title=\"A &amp; B\" /></ac:link><at:i18n at:key=\"k\" /></p>",
            "<!-- a comment --><p title=\"&eacute;t&#233;\">x</p>",
            "text without a paragraph",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_malformed_storage_with_the_services_message() {
        for (bad, says) in [
            ("<p><b>x</p></b>", "Error parsing xhtml"),
            ("<p>open", "Error parsing xhtml"),
            ("<p>&bogus;</p>", "Undeclared general entity \"bogus\""),
            ("<zz:thing />", "Undeclared namespace prefix \"zz\""),
            ("<p a=\"1\" a=\"2\">x</p>", "Error parsing xhtml"),
            ("<p title=\"&nope;\">x</p>", "nope"),
            ("<p>a & b</p>", "Error parsing xhtml"),
            ("</p>", "Error parsing xhtml"),
        ] {
            let e = check(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
            assert!(e.contains("[row,col"), "{bad}: {e}");
        }
        let e = check("<p>ok</p>\n<p><b>x</p>").unwrap_err();
        assert!(e.contains("[2,"), "{e}");
    }
}
