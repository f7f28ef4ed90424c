//! Contract tests: every implemented v2 endpoint's answer validates against the response schema
//! in Atlassian's OpenAPI document (`../shared/reference/specs/confluence-cloud-v2.openapi.json`).
//!
//! The spec is OpenAPI 3.0; its schemas become one draft-07 document: `components.schemas` as
//! `definitions`, `nullable` as a `null` type, `allOf` merged. Validation is **strict**: every
//! object that lists its properties gets `additionalProperties: false`, so a field the spec
//! does not name (a typo such as `spaceID`) fails, not only a wrong type. Formats are checked
//! (`date-time`). Validator: the `jsonschema` crate.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::support::{Twin, spec_file};

struct Spec {
    doc: Value,
    definitions: Value,
    mode: Mode,
}

/// Whether objects that list their properties reject others (`additionalProperties: false`).
#[derive(Clone, Copy)]
enum Mode {
    Strict,
    /// The v1 spec's schemas are partial (fields the API sends are missing from them): types,
    /// required fields and formats are checked, unknown fields allowed.
    Lenient,
}

impl Spec {
    fn load() -> Option<Spec> {
        Spec::load_file("confluence-cloud-v2.openapi.json", Mode::Strict)
    }

    fn load_file(name: &str, mode: Mode) -> Option<Spec> {
        let path = spec_file(name)?;
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).expect("spec readable"))
            .expect("spec is JSON");
        let mut defs = Map::new();
        for (k, v) in doc["components"]["schemas"].as_object().expect("schemas") {
            defs.insert(k.clone(), convert(v, &doc, mode));
        }
        Some(Spec {
            doc,
            definitions: Value::Object(defs),
            mode,
        })
    }

    /// The response schema of `method template` for `status`, as a standalone draft-07 schema.
    fn response_schema(&self, method: &str, template: &str, status: &str) -> Value {
        let op = &self.doc["paths"][template][method];
        assert!(op.is_object(), "the spec has no {method} {template}");
        let s = &op["responses"][status]["content"]["application/json"]["schema"];
        assert!(
            s.is_object(),
            "the spec has no {status} JSON schema for {method} {template}"
        );
        let mut root = convert(s, &self.doc, self.mode);
        root["$schema"] = json!("http://json-schema.org/draft-07/schema#");
        root["definitions"] = self.definitions.clone();
        root
    }

    fn check(&self, method: &str, template: &str, status: &str, body: &Value) {
        let schema = self.response_schema(method, template, status);
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("schema of {method} {template} does not compile: {e}"));
        let errors: Vec<String> = v
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} does not match the spec:\n{}\nbody: {}",
            errors.join("\n"),
            truncate(body)
        );
    }
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 1500 {
        format!("{}…", &s[..s.floor_char_boundary(1500)])
    } else {
        s
    }
}

/// OpenAPI 3.0 schema → draft-07 (strict objects, nullable, merged allOf).
fn convert(s: &Value, doc: &Value, mode: Mode) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        let mut merged = json!({"type": "object", "properties": {}});
        for part in all {
            merge_into(&mut merged, &resolve(part, doc), doc);
        }
        return convert(&merged, doc, mode);
    }
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "$ref" => {
                let name = v
                    .as_str()
                    .unwrap()
                    .trim_start_matches("#/components/schemas/");
                out.insert("$ref".into(), json!(format!("#/definitions/{name}")));
            }
            "properties" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(p, ps)| (p.clone(), convert(ps, doc, mode)))
                    .collect();
                out.insert("properties".into(), Value::Object(props));
            }
            "items" | "additionalProperties" if v.is_object() => {
                out.insert(k.clone(), convert(v, doc, mode));
            }
            "oneOf" | "anyOf" => {
                out.insert(
                    k.clone(),
                    Value::Array(
                        v.as_array()
                            .unwrap()
                            .iter()
                            .map(|x| convert(x, doc, mode))
                            .collect(),
                    ),
                );
            }
            "nullable"
            | "example"
            | "discriminator"
            | "xml"
            | "externalDocs"
            | "deprecated"
            | "x-atlassian-narrative" => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if matches!(mode, Mode::Strict)
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
    {
        out.insert("additionalProperties".into(), json!(false));
    }
    if obj.get("nullable") == Some(&json!(true)) {
        if let Some(t) = out.get("type").cloned() {
            out.insert("type".into(), json!([t, "null"]));
            if let Some(e) = out.get_mut("enum").and_then(Value::as_array_mut) {
                e.push(Value::Null);
            }
        } else {
            return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
        }
    }
    Value::Object(out)
}

fn resolve(s: &Value, doc: &Value) -> Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
            doc,
        ),
        None => s.clone(),
    }
}

/// Merges object schema `b` into `a` (properties deep-merged, so `_links.base` joins `_links`).
fn merge_into(a: &mut Value, b: &Value, doc: &Value) {
    if let Some(props) = b.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let existing = a["properties"].get(k).cloned();
            let merged = match existing {
                // The same schema on both sides (often a `$ref`): nothing to merge, and merging
                // a recursive schema with itself would never end.
                Some(e) if e == *v => e,
                Some(e) => {
                    let mut e = resolve(&e, doc);
                    let v = resolve(v, doc);
                    if e.get("properties").is_some() && v.get("properties").is_some() {
                        merge_into(&mut e, &v, doc);
                        e
                    } else {
                        v
                    }
                }
                None => v.clone(),
            };
            a["properties"][k] = merged;
        }
    }
}

/// Ids to call the endpoints with, taken from the twin's own ground truth.
struct Ids {
    space: String,
    page: String,
    page_with_comments: String,
    page_with_inline: String,
    deep_page: String,
    blog: String,
    blog_with_attachment: String,
    blog_with_labels: String,
    blog_with_property: String,
    blog_with_footer: String,
    blog_with_inline: String,
    folder: String,
    attachment: String,
    attachment_with_label: String,
    footer: String,
    footer_with_reply: String,
    inline: String,
    inline_with_reply: String,
    task: String,
    page_prop: (String, String),
    space_prop: String,
}

fn pick_ids(d: &Value) -> Ids {
    let contents = d["contents"].as_array().unwrap();
    let comments = d["comments"].as_array().unwrap();
    let find = |f: &dyn Fn(&Value) -> bool| {
        contents
            .iter()
            .find(|c| f(c))
            .map(|c| c["id"].to_string())
            .expect("present")
    };
    let with_comment = comments
        .iter()
        .find(|c| c["type"] == "footer" && c["parentCommentId"].is_null())
        .unwrap();
    let reply_parent = comments
        .iter()
        .find_map(|c| {
            c["parentCommentId"]
                .as_u64()
                .filter(|_| c["type"] == "footer")
        })
        .unwrap();
    let inline_reply_parent = comments
        .iter()
        .find_map(|c| {
            c["parentCommentId"]
                .as_u64()
                .filter(|_| c["type"] == "inline")
        })
        .unwrap();
    let prop_page = contents
        .iter()
        .find(|c| c["type"] == "page" && !c["properties"].as_array().unwrap().is_empty())
        .unwrap();
    Ids {
        space: d["spaces"][0]["id"].to_string(),
        page: d["spaces"][0]["homepageId"].to_string(),
        page_with_comments: with_comment["containerId"].to_string(),
        deep_page: find(&|c| {
            c["type"] == "page"
                && c["parentId"].as_u64().is_some_and(|p| {
                    contents
                        .iter()
                        .any(|x| x["id"] == p && x["parentId"].is_u64())
                })
        }),
        page_with_inline: comments
            .iter()
            .find(|c| c["type"] == "inline" && c["parentCommentId"].is_null())
            .unwrap()["containerId"]
            .to_string(),
        blog: find(&|c| c["type"] == "blogpost"),
        blog_with_attachment: find(&|c| {
            c["type"] == "blogpost"
                && d["attachments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["containerId"] == c["id"])
        }),
        blog_with_labels: find(&|c| {
            c["type"] == "blogpost" && !c["labels"].as_array().unwrap().is_empty()
        }),
        blog_with_property: find(&|c| {
            c["type"] == "blogpost" && !c["properties"].as_array().unwrap().is_empty()
        }),
        blog_with_footer: find(&|c| {
            c["type"] == "blogpost"
                && comments
                    .iter()
                    .any(|x| x["containerId"] == c["id"] && x["type"] == "footer")
        }),
        blog_with_inline: find(&|c| {
            c["type"] == "blogpost"
                && comments
                    .iter()
                    .any(|x| x["containerId"] == c["id"] && x["type"] == "inline")
        }),
        folder: find(&|c| c["type"] == "folder"),
        attachment: format!("att{}", d["attachments"][0]["id"]),
        attachment_with_label: format!(
            "att{}",
            d["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["labels"].as_array().is_some_and(|l| !l.is_empty()))
                .expect("an attachment with labels")["id"]
        ),
        footer: with_comment["id"].to_string(),
        footer_with_reply: reply_parent.to_string(),
        inline: comments.iter().find(|c| c["type"] == "inline").unwrap()["id"].to_string(),
        inline_with_reply: inline_reply_parent.to_string(),
        task: d["tasks"][0]["id"].to_string(),
        page_prop: (
            prop_page["id"].to_string(),
            prop_page["properties"][0]["id"].to_string(),
        ),
        space_prop: d["spaces"][0]["properties"][0]["id"].to_string(),
    }
}

#[tokio::test]
async fn every_implemented_v2_endpoint_matches_the_spec() {
    let Some(spec) = Spec::load() else { return };
    let twin = Twin::with(kb_sim::WorkspaceConfig {
        pages: 120,
        blogposts_per_space: 8,
        ..kb_sim::WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let i = pick_ids(&d);
    let (pp, ppid) = &i.page_prop;
    // (spec template, concrete path)
    let reads: Vec<(&str, String)> = vec![
        ("/spaces", "/spaces?limit=2".into()),
        (
            "/spaces/{id}",
            format!(
                "/spaces/{}?include-labels=true&include-properties=true&include-permissions=true",
                i.space
            ),
        ),
        (
            "/spaces/{id}/pages",
            format!("/spaces/{}/pages?body-format=storage&limit=3", i.space),
        ),
        (
            "/spaces/{id}/blogposts",
            format!("/spaces/{}/blogposts?body-format=storage", i.space),
        ),
        ("/spaces/{id}/labels", format!("/spaces/{}/labels", i.space)),
        (
            "/spaces/{id}/content/labels",
            format!("/spaces/{}/content/labels", i.space),
        ),
        (
            "/spaces/{id}/permissions",
            format!("/spaces/{}/permissions", i.space),
        ),
        (
            "/spaces/{space-id}/properties",
            format!("/spaces/{}/properties", i.space),
        ),
        (
            "/spaces/{space-id}/properties/{property-id}",
            format!("/spaces/{}/properties/{}", i.space, i.space_prop),
        ),
        (
            "/pages",
            "/pages?body-format=storage&limit=5&status=current,archived,trashed".into(),
        ),
        (
            "/pages/{id}",
            format!(
                "/pages/{}?body-format=storage&include-labels=true&include-properties=true&include-versions=true",
                i.page
            ),
        ),
        (
            "/pages/{id}/versions",
            format!("/pages/{}/versions?body-format=storage", i.page),
        ),
        (
            "/pages/{page-id}/versions/{version-number}",
            format!("/pages/{}/versions/1", i.page),
        ),
        (
            "/pages/{id}/attachments",
            format!("/pages/{}/attachments", i.page),
        ),
        ("/pages/{id}/labels", format!("/pages/{pp}/labels")),
        (
            "/pages/{page-id}/properties",
            format!("/pages/{pp}/properties"),
        ),
        (
            "/pages/{page-id}/properties/{property-id}",
            format!("/pages/{pp}/properties/{ppid}"),
        ),
        (
            "/pages/{id}/footer-comments",
            format!(
                "/pages/{}/footer-comments?body-format=storage",
                i.page_with_comments
            ),
        ),
        (
            "/pages/{id}/inline-comments",
            format!(
                "/pages/{}/inline-comments?body-format=storage",
                i.page_with_inline
            ),
        ),
        (
            "/pages/{id}/children",
            format!("/pages/{}/children", i.page),
        ),
        (
            "/pages/{id}/direct-children",
            format!("/pages/{}/direct-children", i.page),
        ),
        (
            "/pages/{id}/descendants",
            format!("/pages/{}/descendants?depth=5", i.page),
        ),
        (
            "/pages/{id}/ancestors",
            format!("/pages/{}/ancestors", i.deep_page),
        ),
        ("/blogposts", "/blogposts?body-format=storage".into()),
        (
            "/blogposts/{id}",
            format!(
                "/blogposts/{}?body-format=storage&include-labels=true&include-versions=true",
                i.blog
            ),
        ),
        (
            "/blogposts/{id}/versions",
            format!("/blogposts/{}/versions?body-format=storage", i.blog),
        ),
        (
            "/blogposts/{blogpost-id}/versions/{version-number}",
            format!("/blogposts/{}/versions/1", i.blog),
        ),
        (
            "/blogposts/{id}/attachments",
            format!("/blogposts/{}/attachments", i.blog_with_attachment),
        ),
        (
            "/blogposts/{id}/labels",
            format!("/blogposts/{}/labels", i.blog_with_labels),
        ),
        (
            "/blogposts/{blogpost-id}/properties",
            format!("/blogposts/{}/properties", i.blog_with_property),
        ),
        (
            "/blogposts/{id}/footer-comments",
            format!("/blogposts/{}/footer-comments", i.blog_with_footer),
        ),
        (
            "/blogposts/{id}/inline-comments",
            format!("/blogposts/{}/inline-comments", i.blog_with_inline),
        ),
        ("/folders/{id}", format!("/folders/{}", i.folder)),
        (
            "/folders/{id}/direct-children",
            format!("/folders/{}/direct-children", i.folder),
        ),
        (
            "/folders/{id}/descendants",
            format!("/folders/{}/descendants", i.folder),
        ),
        (
            "/folders/{id}/ancestors",
            format!("/folders/{}/ancestors", i.folder),
        ),
        ("/attachments", "/attachments?limit=5".into()),
        (
            "/attachments/{id}",
            format!("/attachments/{}", i.attachment),
        ),
        (
            "/attachments/{id}/versions",
            format!("/attachments/{}/versions", i.attachment),
        ),
        (
            "/attachments/{id}/labels",
            format!("/attachments/{}/labels", i.attachment_with_label),
        ),
        // `/attachments/{attachment-id}/properties` is served, but generated attachments have
        // no properties: an empty list has nothing to check against the schema.
        ("/labels", "/labels".into()),
        (
            "/footer-comments",
            "/footer-comments?body-format=storage&limit=5".into(),
        ),
        (
            "/footer-comments/{comment-id}",
            format!("/footer-comments/{}?body-format=storage", i.footer),
        ),
        (
            "/footer-comments/{id}/children",
            format!(
                "/footer-comments/{}/children?body-format=storage",
                i.footer_with_reply
            ),
        ),
        (
            "/inline-comments",
            "/inline-comments?body-format=storage&limit=5".into(),
        ),
        (
            "/inline-comments/{comment-id}",
            format!("/inline-comments/{}?body-format=storage", i.inline),
        ),
        (
            "/inline-comments/{id}/children",
            format!("/inline-comments/{}/children", i.inline_with_reply),
        ),
        ("/tasks", "/tasks?body-format=storage&limit=5".into()),
        (
            "/tasks/{id}",
            format!("/tasks/{}?body-format=storage", i.task),
        ),
    ];
    for (template, path) in &reads {
        let v = twin.ok(&format!("/wiki/api/v2{path}")).await;
        if let Some(r) = v.get("results").and_then(Value::as_array) {
            assert!(!r.is_empty(), "{path} is empty: nothing to check");
        }
        spec.check("get", template, "200", &v);
    }

    // Writes.
    let w = |m: Method, p: &str, b: Value| {
        let twin = &twin;
        let p = format!("/wiki/api/v2{p}");
        async move { twin.send(m, &p, &b).await }
    };
    let storage = |s: &str| json!({"representation": "storage", "value": s});
    let page = w(
        Method::POST,
        "/pages",
        json!({"spaceId": i.space, "title": "Contract page", "body": storage("<p>a</p>")}),
    )
    .await;
    assert_eq!(page.status, 200);
    spec.check("post", "/pages", "200", &page.json);
    let pid = page.json["id"].as_str().unwrap();
    let upd = w(Method::PUT, &format!("/pages/{pid}"), json!({"id": pid, "status": "current", "title": "Contract page", "body": storage("<p>b</p>"), "version": {"number": 2}})).await;
    assert_eq!(upd.status, 200);
    spec.check("put", "/pages/{id}", "200", &upd.json);
    let blog = w(
        Method::POST,
        "/blogposts",
        json!({"spaceId": i.space, "title": "Contract post", "body": storage("<p>a</p>")}),
    )
    .await;
    assert_eq!(blog.status, 200);
    spec.check("post", "/blogposts", "200", &blog.json);
    let bid = blog.json["id"].as_str().unwrap();
    let bupd = w(Method::PUT, &format!("/blogposts/{bid}"), json!({"id": bid, "status": "current", "title": "Contract post", "body": storage("<p>b</p>"), "version": {"number": 2}})).await;
    spec.check("put", "/blogposts/{id}", "200", &bupd.json);
    let folder = w(
        Method::POST,
        "/folders",
        json!({"spaceId": i.space, "title": "Contract folder"}),
    )
    .await;
    spec.check("post", "/folders", "200", &folder.json);
    let comment = w(
        Method::POST,
        "/footer-comments",
        json!({"pageId": pid, "body": storage("<p>c</p>")}),
    )
    .await;
    assert_eq!(comment.status, 201);
    spec.check("post", "/footer-comments", "201", &comment.json);
    let prop = w(
        Method::POST,
        &format!("/pages/{pid}/properties"),
        json!({"key": "k", "value": {"a": [1, 2]}}),
    )
    .await;
    spec.check("post", "/pages/{page-id}/properties", "200", &prop.json);
    let prop_id = prop.json["id"].as_str().unwrap();
    let prop2 = w(
        Method::PUT,
        &format!("/pages/{pid}/properties/{prop_id}"),
        json!({"key": "k", "value": 3, "version": {"number": 2}}),
    )
    .await;
    spec.check(
        "put",
        "/pages/{page-id}/properties/{property-id}",
        "200",
        &prop2.json,
    );
    let sprop = w(
        Method::POST,
        &format!("/spaces/{}/properties", i.space),
        json!({"key": "contract", "value": true}),
    )
    .await;
    assert_eq!(sprop.status, 201);
    spec.check("post", "/spaces/{space-id}/properties", "201", &sprop.json);
}

/// The endpoints added for replication (custom content, task and comment writes).
#[tokio::test]
async fn the_replication_endpoints_match_the_spec() {
    let Some(spec) = Spec::load() else { return };
    let twin = Twin::with(kb_sim::WorkspaceConfig {
        pages: 120,
        blogposts_per_space: 8,
        ..kb_sim::WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let cc = d["customContents"].as_array().expect("custom content");
    let contents = d["contents"].as_array().unwrap();
    let kind_of = |id: &Value| {
        contents
            .iter()
            .find(|c| c["id"] == *id)
            .map(|c| c["type"].as_str().unwrap().to_string())
    };
    let find = |f: &dyn Fn(&Value) -> bool| cc.iter().find(|c| f(c)).expect("generated");
    let with_labels = find(&|c| !c["labels"].as_array().unwrap().is_empty());
    let with_props = find(&|c| !c["properties"].as_array().unwrap().is_empty());
    let at_space = find(&|c| c["containerId"].is_null());
    let on_page = find(&|c| kind_of(&c["containerId"]).as_deref() == Some("page"));
    let on_blog = find(&|c| kind_of(&c["containerId"]).as_deref() == Some("blogpost"));
    let t = |c: &Value| c["type"].as_str().unwrap().to_string();
    let reads: Vec<(&str, String)> = vec![
        (
            "/custom-content",
            format!(
                "/custom-content?type={}&body-format=storage&limit=3",
                t(&cc[0])
            ),
        ),
        (
            "/custom-content/{id}",
            format!(
                "/custom-content/{}?body-format=storage&include-labels=true&include-properties=true&include-versions=true",
                with_labels["id"]
            ),
        ),
        (
            "/custom-content/{id}/labels",
            format!("/custom-content/{}/labels", with_labels["id"]),
        ),
        (
            "/custom-content/{custom-content-id}/properties",
            format!("/custom-content/{}/properties", with_props["id"]),
        ),
        (
            "/custom-content/{custom-content-id}/versions",
            format!(
                "/custom-content/{}/versions?body-format=storage",
                cc[0]["id"]
            ),
        ),
        (
            "/custom-content/{custom-content-id}/versions/{version-number}",
            format!("/custom-content/{}/versions/1", cc[0]["id"]),
        ),
        (
            "/spaces/{id}/custom-content",
            format!(
                "/spaces/{}/custom-content?type={}&body-format=storage",
                at_space["spaceId"],
                t(at_space)
            ),
        ),
        (
            "/pages/{id}/custom-content",
            format!(
                "/pages/{}/custom-content?type={}&body-format=storage",
                on_page["containerId"],
                t(on_page)
            ),
        ),
        (
            "/blogposts/{id}/custom-content",
            format!(
                "/blogposts/{}/custom-content?type={}",
                on_blog["containerId"],
                t(on_blog)
            ),
        ),
    ];
    for (template, path) in &reads {
        let v = twin.ok(&format!("/wiki/api/v2{path}")).await;
        if let Some(r) = v.get("results").and_then(Value::as_array) {
            assert!(!r.is_empty(), "{path} is empty: nothing to check");
        }
        spec.check("get", template, "200", &v);
    }
    // Writes.
    let storage = |s: &str| json!({"representation": "storage", "value": s});
    let task = &d["tasks"][0];
    let r = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/tasks/{}?body-format=storage", task["id"]),
            &json!({"id": task["id"].to_string(), "status": "complete"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    spec.check("put", "/tasks/{id}", "200", &r.json);
    let space = d["spaces"][0]["id"].to_string();
    let page = twin
        .send(
            Method::POST,
            "/wiki/api/v2/pages",
            &json!({"spaceId": space, "title": "Inline contract", "body": storage("<p>mark this</p>")}),
        )
        .await;
    let pid = page.json["id"].as_str().unwrap();
    let ic = twin
        .send(
            Method::POST,
            "/wiki/api/v2/inline-comments",
            &json!({"pageId": pid, "body": storage("<p>c</p>"), "inlineCommentProperties": {"textSelection": "mark", "textSelectionMatchCount": 1, "textSelectionMatchIndex": 0}}),
        )
        .await;
    assert_eq!(ic.status, 201, "{}", ic.json);
    spec.check("post", "/inline-comments", "201", &ic.json);
    let icid = ic.json["id"].as_str().unwrap();
    let icu = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/inline-comments/{icid}"),
            &json!({"version": {"number": 2}, "body": storage("<p>d</p>"), "resolved": true}),
        )
        .await;
    assert_eq!(icu.status, 200, "{}", icu.json);
    spec.check("put", "/inline-comments/{comment-id}", "200", &icu.json);
    let fc = twin
        .send(
            Method::POST,
            "/wiki/api/v2/footer-comments",
            &json!({"pageId": pid, "body": storage("<p>f</p>")}),
        )
        .await;
    let fcid = fc.json["id"].as_str().unwrap();
    let fcu = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/footer-comments/{fcid}"),
            &json!({"version": {"number": 2}, "body": storage("<p>g</p>")}),
        )
        .await;
    assert_eq!(fcu.status, 200, "{}", fcu.json);
    spec.check("put", "/footer-comments/{comment-id}", "200", &fcu.json);
}

#[tokio::test]
async fn the_strict_check_catches_a_misnamed_field() {
    let Some(spec) = Spec::load() else { return };
    let good = json!({"results": [{"id": "1", "key": "ENG", "name": "Eng", "type": "global", "status": "current", "authorId": "a", "createdAt": "2024-01-01T00:00:00.000Z", "homepageId": "2", "_links": {"webui": "/spaces/ENG"}}], "_links": {"base": "http://x/wiki"}});
    spec.check("get", "/spaces", "200", &good);
    let mut bad = good.clone();
    bad["results"][0]["spaceID"] = json!("1");
    let schema = spec.response_schema("get", "/spaces", "200");
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    assert!(!v.is_valid(&bad), "an unknown field fails");
    let mut bad = good;
    bad["results"][0]["createdAt"] = json!("yesterday");
    assert!(!v.is_valid(&bad), "a bad date-time fails");
}

#[tokio::test]
async fn v1_answers_match_the_v1_spec() {
    let Some(spec) = Spec::load_file("confluence-cloud-v1.openapi.json", Mode::Lenient) else {
        return;
    };
    let twin = Twin::with(kb_sim::WorkspaceConfig {
        pages: 60,
        ..kb_sim::WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let page = d["spaces"][0]["homepageId"].to_string();
    let key = d["spaces"][0]["key"].as_str().unwrap().to_string();
    let group = d["groups"][0]["id"].as_str().unwrap().to_string();
    let account = d["users"][0]["accountId"].as_str().unwrap().to_string();
    let expand = "expand=version,body.storage,metadata.labels,ancestors,space,history,restrictions.read.restrictions.user,restrictions.read.restrictions.group";
    let cases: Vec<(&str, String)> = vec![
        (
            "/wiki/rest/api/content/search",
            format!("/wiki/rest/api/content/search?cql=type%3Dpage&limit=3&{expand}"),
        ),
        (
            "/wiki/rest/api/search",
            "/wiki/rest/api/search?cql=type%3Dpage&limit=3".into(),
        ),
        (
            "/wiki/rest/api/content",
            format!("/wiki/rest/api/content?spaceKey={key}&limit=3&{expand}"),
        ),
        (
            "/wiki/rest/api/content/{id}",
            format!("/wiki/rest/api/content/{page}?{expand}"),
        ),
        (
            "/wiki/rest/api/space",
            "/wiki/rest/api/space?expand=homepage,description.plain".into(),
        ),
        (
            "/wiki/rest/api/space/{spaceKey}",
            format!("/wiki/rest/api/space/{key}"),
        ),
        ("/wiki/rest/api/group", "/wiki/rest/api/group".into()),
        (
            "/wiki/rest/api/group/by-id",
            format!("/wiki/rest/api/group/by-id?id={group}"),
        ),
        (
            "/wiki/rest/api/group/{groupId}/membersByGroupId",
            format!("/wiki/rest/api/group/{group}/membersByGroupId"),
        ),
        (
            "/wiki/rest/api/user",
            format!("/wiki/rest/api/user?accountId={account}"),
        ),
        (
            "/wiki/rest/api/user/current",
            "/wiki/rest/api/user/current".into(),
        ),
        (
            "/wiki/rest/api/content/{id}/restriction",
            format!("/wiki/rest/api/content/{page}/restriction"),
        ),
        (
            "/wiki/rest/api/content/{id}/restriction/byOperation/{operationKey}",
            format!("/wiki/rest/api/content/{page}/restriction/byOperation/read"),
        ),
        (
            "/wiki/rest/api/content/{id}/label",
            format!("/wiki/rest/api/content/{page}/label"),
        ),
        (
            "/wiki/rest/api/content/{id}/child/attachment",
            format!("/wiki/rest/api/content/{page}/child/attachment"),
        ),
        (
            "/wiki/rest/api/content/{id}/history",
            format!("/wiki/rest/api/content/{page}/history"),
        ),
    ];
    for (template, path) in &cases {
        let v = twin.ok(path).await;
        spec.check("get", template, "200", &v);
    }
    // Restriction writes answer the restriction list.
    let body = json!([{"operation": "update", "restrictions": {"user": [{"type": "known", "accountId": account}], "group": [{"type": "group", "id": group}]}}]);
    for m in [Method::PUT, Method::POST] {
        let r = twin
            .send(
                m.clone(),
                &format!("/wiki/rest/api/content/{page}/restriction"),
                &body,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        spec.check(
            &m.as_str().to_lowercase(),
            "/wiki/rest/api/content/{id}/restriction",
            "200",
            &r.json,
        );
    }
    // The lenient check still bites: a content without its required `type` fails.
    let mut v = twin.ok(&cases[0].1).await;
    v["results"][0].as_object_mut().unwrap().remove("type");
    let schema = spec.response_schema("get", "/wiki/rest/api/content/search", "200");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .unwrap();
    assert!(!validator.is_valid(&v));
}
