//! Tiny typed accessors over the raw JSON objects, for the keys the engine needs. They accept
//! both v2 shapes (`spaceId`, `parentId`, `version.createdAt`) and v1 shapes (`space.id`,
//! `ancestors`, `version.when`), and ids as strings or numbers.

use serde_json::Value;

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `id`.
pub fn id(v: &Value) -> Option<String> {
    v.get("id").and_then(id_of)
}

/// A string field.
pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|s| s.as_str())
}

/// `title`.
pub fn title(v: &Value) -> Option<&str> {
    str_field(v, "title")
}

/// `status` (`current`, `archived`, `trashed`…).
pub fn status(v: &Value) -> Option<&str> {
    str_field(v, "status")
}

/// `type` (v1 content, children, ancestors).
pub fn kind(v: &Value) -> Option<&str> {
    str_field(v, "type")
}

/// `version.number`.
pub fn version_number(v: &Value) -> Option<u64> {
    v.get("version")?.get("number")?.as_u64()
}

/// `version.createdAt` (v2) or `version.when` (v1): when the current version was made.
pub fn version_created_at(v: &Value) -> Option<&str> {
    let ver = v.get("version")?;
    ver.get("createdAt")
        .or_else(|| ver.get("when"))
        .and_then(|s| s.as_str())
}

/// `spaceId` (v2) or `space.id` (v1).
pub fn space_id(v: &Value) -> Option<String> {
    v.get("spaceId")
        .and_then(id_of)
        .or_else(|| v.get("space")?.get("id").and_then(id_of))
}

/// `key` of a space, or `space.key` of v1 content.
pub fn space_key(v: &Value) -> Option<&str> {
    str_field(v, "key").or_else(|| v.get("space")?.get("key")?.as_str())
}

/// `parentId` (v2), else the last of v1's `ancestors`.
pub fn parent_id(v: &Value) -> Option<String> {
    v.get("parentId").and_then(id_of).or_else(|| {
        v.get("ancestors")?
            .as_array()?
            .last()
            .and_then(|a| a.get("id"))
            .and_then(id_of)
    })
}

/// The content a comment, attachment or task belongs to: `pageId`, `blogPostId`,
/// `customContentId` or `attachmentId`, with its kind.
pub fn container(v: &Value) -> Option<(&'static str, String)> {
    for (key, kind) in [
        ("pageId", "page"),
        ("blogPostId", "blogpost"),
        ("customContentId", "custom_content"),
        ("attachmentId", "attachment"),
    ] {
        if let Some(id) = v.get(key).and_then(id_of) {
            return Some((kind, id));
        }
    }
    None
}

/// `parentCommentId` of a reply.
pub fn parent_comment_id(v: &Value) -> Option<String> {
    v.get("parentCommentId").and_then(id_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_and_v1_shapes() {
        let v2 = json!({"id": "12", "spaceId": "3", "parentId": "7", "status": "current",
            "title": "T", "version": {"number": 4, "createdAt": "2025-01-02T03:04:05.000Z"}});
        assert_eq!(id(&v2).as_deref(), Some("12"));
        assert_eq!(space_id(&v2).as_deref(), Some("3"));
        assert_eq!(parent_id(&v2).as_deref(), Some("7"));
        assert_eq!(version_number(&v2), Some(4));
        assert_eq!(version_created_at(&v2), Some("2025-01-02T03:04:05.000Z"));
        let v1 = json!({"id": "12", "type": "page", "space": {"id": 3, "key": "ENG"},
            "ancestors": [{"id": "1"}, {"id": "7"}], "version": {"number": 2, "when": "2025"}});
        assert_eq!(space_id(&v1).as_deref(), Some("3"));
        assert_eq!(space_key(&v1), Some("ENG"));
        assert_eq!(parent_id(&v1).as_deref(), Some("7"));
        assert_eq!(kind(&v1), Some("page"));
        let c = json!({"id": 5, "blogPostId": "9"});
        assert_eq!(container(&c), Some(("blogpost", "9".to_string())));
        assert_eq!(id(&c).as_deref(), Some("5"));
        assert_eq!(id(&json!({"id": null})), None);
    }
}
