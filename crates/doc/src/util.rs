//! Small text predicates shared by the codecs.

/// The scheme of `s` when it starts with one (RFC 3986: a letter, then letters, digits, `+`,
/// `.` or `-`, then `:`), e.g. `https` for `https://x`, `mailto` for `mailto:a@b`.
pub(crate) fn uri_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    (first_ok && rest_ok).then_some(scheme)
}

/// The name a file block carries beside its URL (a Notion file block's `name`).
pub(crate) fn file_name(attrs: &crate::Attrs) -> Option<&str> {
    attrs
        .get("notion:name")
        .map(String::as_str)
        .filter(|n| !n.trim().is_empty())
}

/// The name a Notion user mention shows (`@Name`), when the source gave the user's name: what
/// the writers show in its place (a Notion user id is no account of another service).
pub(crate) fn notion_user_label(l: &crate::Link) -> Option<String> {
    match l.target {
        crate::LinkTarget::User { .. } => l
            .attrs
            .get("notion:name")
            .filter(|n| !n.trim().is_empty())
            .map(|n| format!("@{n}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::uri_scheme;

    #[test]
    fn schemes() {
        assert_eq!(uri_scheme("https://x"), Some("https"));
        assert_eq!(uri_scheme("mailto:a@b"), Some("mailto"));
        assert_eq!(uri_scheme("svn+ssh://h"), Some("svn+ssh"));
        assert_eq!(uri_scheme("1http://x"), None);
        assert_eq!(uri_scheme(":x"), None);
        assert_eq!(uri_scheme("a b:c"), None);
        assert_eq!(uri_scheme("no-colon"), None);
    }
}
