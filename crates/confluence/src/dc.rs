//! Data Center's REST v1 objects in the shapes the store keeps (Cloud v2's), so that the same
//! tables, queries, km and the UI do not care which flavour a site is. What has no Cloud
//! counterpart is kept beside it (`username`, `userKey`); users are known by their user key
//! where Cloud has an account id.

use serde_json::{Map, Value, json};

fn id_text(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(json!(s)),
        Value::Number(n) => Some(json!(n.to_string())),
        _ => None,
    }
}

fn put(out: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        out.insert(key.to_string(), v);
    }
}

fn user_key(u: Option<&Value>) -> Option<Value> {
    let u = u?;
    u.get("userKey")
        .or_else(|| u.get("accountId"))
        .or_else(|| u.get("username"))
        .cloned()
        .filter(|v| v.is_string())
}

/// A v1 `Version` as v2's `{number, createdAt, authorId, message, minorEdit}`.
pub fn version(v: &Value) -> Value {
    let mut out = Map::new();
    put(&mut out, "number", v.get("number").cloned());
    put(&mut out, "createdAt", v.get("when").cloned());
    put(&mut out, "authorId", user_key(v.get("by")));
    put(&mut out, "message", v.get("message").cloned());
    put(&mut out, "minorEdit", v.get("minorEdit").cloned());
    Value::Object(out)
}

/// A v1 space as v2's.
pub fn space(v: Value) -> Option<Value> {
    let mut out = Map::new();
    put(&mut out, "id", id_text(v.get("id")));
    put(&mut out, "key", v.get("key").cloned());
    put(&mut out, "name", v.get("name").cloned());
    put(&mut out, "type", v.get("type").cloned());
    put(&mut out, "status", v.get("status").cloned());
    put(&mut out, "homepageId", id_text(v.pointer("/homepage/id")));
    if let Some(d) = v.pointer("/description/plain/value") {
        out.insert(
            "description".into(),
            json!({"plain": {"value": d, "representation": "plain"}}),
        );
    }
    put(
        &mut out,
        "_links",
        v.pointer("/_links/webui").map(|w| json!({"webui": w})),
    );
    Some(Value::Object(out))
}

/// A v1 page or blog post (expanded `body.storage,version,ancestors,space,history`) as v2's.
pub fn content(v: Value) -> Option<Value> {
    let mut out = Map::new();
    put(&mut out, "id", id_text(v.get("id")));
    put(&mut out, "status", v.get("status").cloned());
    put(&mut out, "title", v.get("title").cloned());
    put(&mut out, "spaceId", id_text(v.pointer("/space/id")));
    if v.get("type").and_then(Value::as_str) == Some("page") {
        let parent = v
            .get("ancestors")
            .and_then(Value::as_array)
            .and_then(|a| a.last())
            .and_then(|a| id_text(a.get("id")));
        out.insert("parentType".into(), json!(parent.as_ref().map(|_| "page")));
        out.insert("parentId".into(), parent.unwrap_or(Value::Null));
        // `extensions.position` is an integer, or "none" when the page was never ordered.
        let position = v
            .pointer("/extensions/position")
            .or_else(|| v.get("position"))
            .filter(|p| p.is_i64() || p.is_u64())
            .cloned();
        out.insert("position".into(), position.unwrap_or(Value::Null));
    }
    put(
        &mut out,
        "authorId",
        user_key(v.pointer("/history/createdBy")),
    );
    put(
        &mut out,
        "createdAt",
        v.pointer("/history/createdDate").cloned(),
    );
    put(&mut out, "version", v.get("version").map(version));
    if let Some(body) = v.pointer("/body/storage/value") {
        out.insert(
            "body".into(),
            json!({"storage": {"representation": "storage", "value": body}}),
        );
    }
    put(&mut out, "spaceKey", v.pointer("/space/key").cloned());
    put(
        &mut out,
        "_links",
        v.pointer("/_links/webui").map(|w| json!({"webui": w})),
    );
    Some(Value::Object(out))
}

fn container(v: &Value, out: &mut Map<String, Value>) {
    let c = v.get("container");
    let id = c.and_then(|c| id_text(c.get("id")));
    match c.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("page") => put(out, "pageId", id),
        Some("blogpost") => put(out, "blogPostId", id),
        Some("attachment") => put(out, "attachmentId", id),
        Some(_) => put(out, "customContentId", id),
        None => {}
    }
}

/// A v1 attachment (expanded `version,container,history`) as v2's.
pub fn attachment(v: Value) -> Option<Value> {
    let mut out = Map::new();
    put(&mut out, "id", id_text(v.get("id")));
    put(&mut out, "status", v.get("status").cloned());
    put(&mut out, "title", v.get("title").cloned());
    put(
        &mut out,
        "createdAt",
        v.pointer("/history/createdDate").cloned(),
    );
    container(&v, &mut out);
    put(
        &mut out,
        "mediaType",
        v.pointer("/extensions/mediaType").cloned(),
    );
    put(
        &mut out,
        "mediaTypeDescription",
        v.pointer("/extensions/mediaTypeDescription").cloned(),
    );
    put(
        &mut out,
        "comment",
        v.pointer("/extensions/comment").cloned(),
    );
    put(
        &mut out,
        "fileSize",
        v.pointer("/extensions/fileSize").cloned(),
    );
    put(&mut out, "webuiLink", v.pointer("/_links/webui").cloned());
    put(
        &mut out,
        "downloadLink",
        v.pointer("/_links/download").cloned(),
    );
    put(&mut out, "version", v.get("version").map(version));
    Some(Value::Object(out))
}

/// Whether a v1 comment is inline (`extensions.location`).
pub fn is_inline(v: &Value) -> bool {
    v.pointer("/extensions/location").and_then(Value::as_str) == Some("inline")
}

/// A v1 comment (expanded `body.storage,version,container,ancestors,extensions`) as v2's.
pub fn comment(v: Value) -> Option<Value> {
    let mut out = Map::new();
    put(&mut out, "id", id_text(v.get("id")));
    put(&mut out, "status", v.get("status").cloned());
    put(&mut out, "title", v.get("title").cloned());
    container(&v, &mut out);
    let parent = v
        .get("ancestors")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .rev()
                .find(|x| x.get("type").and_then(Value::as_str) == Some("comment"))
        })
        .and_then(|a| id_text(a.get("id")));
    put(&mut out, "parentCommentId", parent);
    put(&mut out, "version", v.get("version").map(version));
    if let Some(body) = v.pointer("/body/storage/value") {
        out.insert(
            "body".into(),
            json!({"storage": {"representation": "storage", "value": body}}),
        );
    }
    if is_inline(&v) {
        put(
            &mut out,
            "resolutionStatus",
            v.pointer("/extensions/resolution/status").cloned(),
        );
        let props = v.pointer("/extensions/inlineProperties");
        if let Some(p) = props {
            let mut m = Map::new();
            put(&mut m, "inlineMarkerRef", p.get("markerRef").cloned());
            put(
                &mut m,
                "inlineOriginalSelection",
                p.get("originalSelection").cloned(),
            );
            out.insert("properties".into(), Value::Object(m));
        }
    }
    put(
        &mut out,
        "_links",
        v.pointer("/_links/webui").map(|w| json!({"webui": w})),
    );
    Some(Value::Object(out))
}

/// A v1 user (`{username, userKey, displayName}`) with `accountId` = its user key, so the
/// tables that key users by account id hold user keys on Data Center.
pub fn user(v: Value) -> Option<Value> {
    let Value::Object(mut m) = v else { return None };
    if !m.contains_key("accountId") {
        let key = m.get("userKey").or_else(|| m.get("username")).cloned()?;
        m.insert("accountId".into(), key);
    }
    if !m.contains_key("publicName")
        && let Some(u) = m.get("username").cloned()
    {
        m.insert("publicName".into(), u);
    }
    Some(Value::Object(m))
}

/// A v1 group (`{type, name}`) with `id` = its name (Data Center groups have no id).
pub fn group(v: Value) -> Option<Value> {
    let Value::Object(mut m) = v else { return None };
    if !m.contains_key("id") {
        let name = m.get("name").cloned()?;
        m.insert("id".into(), name);
    }
    Some(Value::Object(m))
}

/// A CQL hit with its restriction subjects normalised (users keyed by user key, groups by
/// name), the rest kept.
pub fn hit(mut v: Value) -> Option<Value> {
    for op in ["read", "update"] {
        for (kind, f) in [
            ("user", user as fn(Value) -> Option<Value>),
            ("group", group),
        ] {
            let ptr = format!("/restrictions/{op}/restrictions/{kind}/results");
            if let Some(a) = v.pointer_mut(&ptr).and_then(Value::as_array_mut) {
                let items = std::mem::take(a);
                *a = items.into_iter().filter_map(f).collect();
            }
        }
    }
    if let Some(id) = id_text(v.get("id")) {
        v["id"] = id;
    }
    Some(v)
}

/// A v1 content or space property as v2's (`version.when` → `createdAt`); a space property,
/// which has no id on Data Center, is known by its key.
pub fn property(mut v: Value) -> Option<Value> {
    if let Some(ver) = v.get("version").map(version) {
        v["version"] = ver;
    }
    match id_text(v.get("id")).or_else(|| v.get("key").cloned()) {
        Some(id) => v["id"] = id,
        None => return None,
    }
    Some(v)
}

/// A v1 label with a string id.
pub fn label(mut v: Value) -> Option<Value> {
    if let Some(id) = id_text(v.get("id")) {
        v["id"] = id;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_takes_the_v2_shape() {
        let v = json!({
            "id": "65601", "type": "page", "status": "current", "title": "T",
            "space": {"id": 98305, "key": "ENG"},
            "ancestors": [{"id": "1"}, {"id": "2"}],
            "extensions": {"position": "none"},
            "history": {"createdBy": {"type": "known", "username": "jdoe", "userKey": "8a7f"}, "createdDate": "2024-01-01T00:00:00.000Z"},
            "version": {"by": {"userKey": "8a7f"}, "when": "2024-02-01T00:00:00.000Z", "number": 3, "minorEdit": false, "message": ""},
            "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}},
            "_links": {"webui": "/display/ENG/T"}
        });
        let n = content(v).unwrap();
        assert_eq!(n["spaceId"], "98305");
        assert_eq!(n["parentId"], "2");
        assert_eq!(n["parentType"], "page");
        assert_eq!(n["position"], Value::Null);
        assert_eq!(n["authorId"], "8a7f");
        assert_eq!(n["version"]["createdAt"], "2024-02-01T00:00:00.000Z");
        assert_eq!(n["version"]["number"], 3);
        assert_eq!(n["body"]["storage"]["value"], "<p>x</p>");
    }

    #[test]
    fn comments_users_and_groups() {
        let c = comment(json!({
            "id": "7", "type": "comment", "status": "current",
            "container": {"id": "65601", "type": "page"},
            "ancestors": [{"id": "5", "type": "comment"}],
            "extensions": {"location": "inline", "inlineProperties": {"markerRef": "m1", "originalSelection": "sel"}, "resolution": {"status": "open"}},
            "version": {"number": 1}
        }))
        .unwrap();
        assert_eq!(
            (c["pageId"].as_str(), c["parentCommentId"].as_str()),
            (Some("65601"), Some("5"))
        );
        assert_eq!(c["properties"]["inlineMarkerRef"], "m1");
        let u = user(
            json!({"type": "known", "username": "jdoe", "userKey": "8a7f", "displayName": "J"}),
        )
        .unwrap();
        assert_eq!(u["accountId"], "8a7f");
        assert_eq!(
            group(json!({"type": "group", "name": "devs"})).unwrap()["id"],
            "devs"
        );
        let h = hit(json!({"id": 9, "restrictions": {"read": {"restrictions": {"user": {"results": [{"userKey": "k1"}]}, "group": {"results": [{"name": "g"}]}}}}})).unwrap();
        assert_eq!(h["id"], "9");
        assert_eq!(
            h.pointer("/restrictions/read/restrictions/user/results/0/accountId")
                .unwrap(),
            "k1"
        );
        assert_eq!(
            h.pointer("/restrictions/read/restrictions/group/results/0/id")
                .unwrap(),
            "g"
        );
    }
}
