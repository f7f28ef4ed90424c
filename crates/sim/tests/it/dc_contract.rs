//! Contract tests of the Data Center twin: the answer of every route the Data Center client
//! uses validates against Atlassian's Data Center 9.0 OpenAPI document
//! (`../shared/reference/specs/confluence-dc-9.0.openapi.json`), **strictly**: every object
//! that lists its properties rejects others, so a Cloud field leaking into a Data Center answer
//! (`accountId`, `friendlyWhen`…) fails.
//!
//! The 9.0 document has known defects (../shared/reference/datacenter.md); they are patched
//! here, each one named, before the schemas are compiled, and nothing else is relaxed:
//! 1. `links` where the API sends `_links` (the "get_links" defect), and no `_expandable`;
//! 2. `Person` without `username` and `userKey` (every Data Center user has them);
//! 3. list envelopes with top-level `next`/`self` instead of `_links`, no `size`, and
//!    `cursor`/`nextCursor`/`prevCursor` as objects where the API sends strings
//!    (`"content:false:393231"`, the DC REST examples page);
//! 4. `JsonString` as the value of properties (a property's value is any JSON);
//! 5. `GET /rest/api/space` answering one `Space` (it is a list);
//! 6. `GET …/child/attachment` documented as 201;
//! 7. references (`homepage`, `lastUpdated`…) typed as `Reference*` stubs where the API
//!    expands the object;
//! 8. `POST …/child/attachment` documented as answering one `Content` where the API answers
//!    the list of the attachments added (the listing's shape).

use reqwest::header::AUTHORIZATION;
use serde_json::{Map, Value, json};

use crate::support::{Twin, spec_file};

fn convert(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
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
                    .map(|(p, ps)| (p.clone(), convert(ps)))
                    .collect();
                out.insert("properties".into(), Value::Object(props));
            }
            "items" | "additionalProperties" if v.is_object() => {
                out.insert(k.clone(), convert(v));
            }
            "nullable" | "example" | "xml" | "externalDocs" | "deprecated" | "default" => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if out.contains_key("properties") && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(out)
}

/// The known defects of the 9.0 document, patched (see the module docs).
fn patch(doc: &mut Value) {
    let any = json!({});
    let obj = json!({"type": "object"});
    let text = json!({"type": "string"});
    // 1, 3: every object schema may carry `_links` and `_expandable`.
    fn walk(v: &mut Value, f: &dyn Fn(&mut Map<String, Value>)) {
        match v {
            Value::Object(m) => {
                if m.get("properties").is_some_and(Value::is_object) {
                    f(m);
                }
                for (_, x) in m.iter_mut() {
                    walk(x, f);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    walk(doc, &|m| {
        let p = m["properties"].as_object_mut().unwrap();
        p.insert("_links".into(), json!({"type": "object"}));
        p.insert("_expandable".into(), json!({"type": "object"}));
        if p.contains_key("results") {
            p.insert("size".into(), json!({"type": "number"}));
            for c in ["cursor", "nextCursor", "prevCursor"] {
                p.insert(c.into(), json!({"type": "string"}));
            }
            // Search answers also say how many hits there are.
            p.insert("totalSize".into(), json!({"type": "number"}));
        }
    });
    let schemas = doc["components"]["schemas"].as_object_mut().unwrap();
    // 2.
    let person = schemas["Person"]["properties"].as_object_mut().unwrap();
    person.insert("username".into(), text.clone());
    person.insert("userKey".into(), text.clone());
    // 4.
    schemas.insert("JsonString".into(), any.clone());
    // 7.
    for (schema, field, to) in [
        (
            "Space",
            "homepage",
            json!({"$ref": "#/components/schemas/Content"}),
        ),
        (
            "Space",
            "icon",
            json!({"$ref": "#/components/schemas/Icon"}),
        ),
        (
            "History",
            "lastUpdated",
            json!({"$ref": "#/components/schemas/Version"}),
        ),
        (
            "History",
            "previousVersion",
            json!({"$ref": "#/components/schemas/Version"}),
        ),
        ("History", "contributors", obj.clone()),
        (
            "Version",
            "content",
            json!({"$ref": "#/components/schemas/Content"}),
        ),
    ] {
        schemas[schema]["properties"][field] = to;
    }
    // 5.
    let space_list = json!({"type": "object", "properties": {
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Space"}},
        "start": {"type": "number"}, "limit": {"type": "number"}, "size": {"type": "number"},
        "_links": {"type": "object"}}, "additionalProperties": false});
    doc["paths"]["/rest/api/space"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] =
        space_list;
}

struct Spec {
    doc: Value,
    definitions: Value,
}

impl Spec {
    fn load() -> Option<Spec> {
        let path = spec_file("confluence-dc-9.0.openapi.json")?;
        let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        patch(&mut doc);
        let mut defs = Map::new();
        for (k, v) in doc["components"]["schemas"].as_object().unwrap() {
            defs.insert(k.clone(), convert(v));
        }
        Some(Spec {
            doc,
            definitions: Value::Object(defs),
        })
    }

    fn check(&self, template: &str, status: &str, body: &Value) {
        self.check_op("get", template, status, body)
    }

    fn check_op(&self, method: &str, template: &str, status: &str, body: &Value) {
        let op = &self.doc["paths"][template][method];
        assert!(op.is_object(), "the spec has no {method} {template}");
        let s = &op["responses"][status]["content"]["application/json"]["schema"];
        assert!(s.is_object(), "no {status} schema for GET {template}");
        let mut root = convert(s);
        root["$schema"] = json!("http://json-schema.org/draft-07/schema#");
        root["definitions"] = self.definitions.clone();
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema of {method} {template}: {e}"));
        let errors: Vec<String> = v
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .take(6)
            .collect();
        let shown = body.to_string();
        assert!(
            errors.is_empty(),
            "{method} {template} does not match the Data Center 9.0 spec:\n{}\nbody: {}",
            errors.join("\n"),
            &shown[..shown.floor_char_boundary(1500)]
        );
    }
}

/// What the Data Center client sends: the PAT as Bearer.
async fn get(twin: &Twin, path: &str) -> Value {
    let pat = kb_sim::dc::pat_for(&twin.handle.credentials()[0]);
    let r = twin
        .http
        .get(format!("{}{}{path}", twin.origin, kb_sim::dc::CONTEXT))
        .header(AUTHORIZATION, format!("Bearer {pat}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn every_route_the_client_uses_matches_the_data_center_spec() {
    let Some(spec) = Spec::load() else { return };
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let space = d["spaces"][0]["key"].as_str().unwrap().to_string();
    let page = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["type"] == "page"
                && c["status"] == "current"
                && !c["properties"].as_array().unwrap().is_empty()
        })
        .unwrap()["id"]
        .to_string();
    let group = d["groups"][0]["name"].as_str().unwrap().to_string();
    let content = "body.storage,version,ancestors,space,history";
    let cases: Vec<(&str, String)> = vec![
        (
            "/rest/api/space",
            "/rest/api/space?limit=200&expand=description.plain,homepage".into(),
        ),
        (
            "/rest/api/space/{spaceKey}/labels",
            format!("/rest/api/space/{space}/labels?limit=200"),
        ),
        (
            "/rest/api/space/{spaceKey}/property",
            format!("/rest/api/space/{space}/property?limit=200"),
        ),
        (
            "/rest/api/content/scan",
            format!(
                "/rest/api/content/scan?spaceKey={space}&status=any&expand={content}&limit=200"
            ),
        ),
        (
            "/rest/api/content",
            format!(
                "/rest/api/content?type=blogpost&spaceKey={space}&status=any&expand={content}&limit=200"
            ),
        ),
        (
            "/rest/api/content/search",
            format!(
                "/rest/api/content/search?cql=space%20%3D%20{space}%20and%20type%20%3D%20page&expand=version,restrictions.read.restrictions.user,restrictions.read.restrictions.group,restrictions.update.restrictions.user,restrictions.update.restrictions.group&limit=250"
            ),
        ),
        (
            "/rest/api/content/search",
            format!(
                "/rest/api/content/search?cql=type%20%3D%20attachment%20and%20space%20in%20(%22{space}%22)&expand=version,container,history&limit=250"
            ),
        ),
        (
            "/rest/api/content/search",
            format!(
                "/rest/api/content/search?cql=type%20%3D%20comment%20and%20space%20in%20(%22{space}%22)&expand=body.storage,version,container,ancestors,extensions.inlineProperties,extensions.resolution&limit=250"
            ),
        ),
        (
            "/rest/api/content/{id}",
            format!("/rest/api/content/{page}?status=any&expand={content}"),
        ),
        (
            "/rest/api/content/{id}",
            format!("/rest/api/content/{page}?status=any&expand=version,metadata.labels"),
        ),
        (
            "/rest/api/content/{id}/label",
            format!("/rest/api/content/{page}/label?limit=200"),
        ),
        (
            "/rest/api/content/{id}/property",
            format!("/rest/api/content/{page}/property?limit=200"),
        ),
        ("/rest/api/group", "/rest/api/group?limit=200".into()),
        (
            "/rest/api/group/{groupName}/member",
            format!("/rest/api/group/{group}/member?limit=200"),
        ),
        ("/rest/api/user/current", "/rest/api/user/current".into()),
        // The user key of a username named by a JSON-RPC space permission.
        ("/rest/api/user", "/rest/api/user?username=admin".into()),
    ];
    for (template, path) in &cases {
        let body = get(&twin, path).await;
        spec.check(template, "200", &body);
    }
    // The spec documents the attachment listing's success as 201 (defect 6).
    let with_att = d["attachments"][0]["containerId"].to_string();
    let body = get(
        &twin,
        &format!("/rest/api/content/{with_att}/child/attachment?limit=200"),
    )
    .await;
    spec.check("/rest/api/content/{id}/child/attachment", "201", &body);
    // Every REST route of the client is covered (13 here and the attachment listing above;
    // JSON-RPC has no OpenAPI document: dc_rpc.rs holds it to Confluence's answers).
    let covered: std::collections::BTreeSet<&str> = cases.iter().map(|(t, _)| *t).collect();
    assert_eq!(covered.len(), 13, "{covered:?}");
}

#[tokio::test]
async fn limits_are_capped_silently_and_next_is_relative_to_the_context() {
    let twin = Twin::with(kb_sim::WorkspaceConfig {
        pages: 300,
        ..kb_sim::WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let space = d["spaces"][0]["key"].as_str().unwrap().to_string();
    let first = get(
        &twin,
        &format!("/rest/api/content/scan?spaceKey={space}&limit=500"),
    )
    .await;
    assert_eq!(first["limit"], kb_sim::dc::CONTENT_CAP);
    let next = first["_links"]["next"].as_str().unwrap();
    assert!(next.starts_with("/rest/api/content/scan?"), "{next}");
    assert_eq!(first["_links"]["context"], kb_sim::dc::CONTEXT);
    // Following next pages through the rest, no id twice, none missing.
    let mut ids: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        ids.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
        let Some(n) = page["_links"]["next"].as_str() else {
            break;
        };
        page = get(&twin, n).await;
    }
    let space_id = &d["spaces"][0]["id"];
    let want = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "page" && c["status"] == "current" && c["spaceId"] == *space_id)
        .count();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (want, want));
    // A Cloud token or no credentials: 401 in Data Center's shape.
    let r = twin
        .http
        .get(format!(
            "{}{}/rest/api/user/current",
            twin.origin,
            kb_sim::dc::CONTEXT
        ))
        .header(AUTHORIZATION, "Bearer kbridge-sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["statusCode"], 401);
}

/// The writes the Data Center client makes (migrate), in the spec's shapes: `POST
/// /rest/api/content`, `PUT /rest/api/content/{contentId}`, `POST …/label`, `POST
/// …/child/attachment` (new files) and `POST …/child/attachment/{attachmentId}/data` (a new
/// version), with `X-Atlassian-Token: no-check`; 9.0 has no `PUT …/child/attachment`, and the
/// client does not send one.
#[tokio::test]
async fn the_writes_the_client_makes_match_the_data_center_spec() {
    let Some(spec) = Spec::load() else { return };
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let space = d["spaces"][0]["key"].as_str().unwrap().to_string();
    let pat = kb_sim::dc::pat_for(&twin.handle.credentials()[0]);
    let url = |p: &str| format!("{}{}{p}", twin.origin, kb_sim::dc::CONTEXT);
    let expand = "body.storage,version,ancestors,space,history";
    let send = |rb: reqwest::RequestBuilder| {
        let pat = pat.clone();
        async move {
            let r = rb
                .header(AUTHORIZATION, format!("Bearer {pat}"))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            assert!(status.is_success(), "{status}: {v}");
            v
        }
    };
    let created = send(
        twin.http
            .post(url(&format!("/rest/api/content?expand={expand}")))
            .json(&json!({"type": "page", "status": "current", "title": "Contract page", "space": {"key": space}, "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}}})),
    )
    .await;
    spec.check_op("post", "/rest/api/content", "200", &created);
    let id = created["id"].as_str().unwrap().to_string();
    let updated = send(
        twin.http
            .put(url(&format!("/rest/api/content/{id}?expand={expand}")))
            .json(&json!({"id": id, "type": "page", "status": "current", "title": "Contract page", "body": {"storage": {"value": "<p>y</p>", "representation": "storage"}}, "version": {"number": 2, "message": "m"}})),
    )
    .await;
    spec.check_op("put", "/rest/api/content/{contentId}", "200", &updated);
    let labels = send(
        twin.http
            .post(url(&format!("/rest/api/content/{id}/label")))
            .json(&json!([{"prefix": "global", "name": "contract"}])),
    )
    .await;
    spec.check_op("post", "/rest/api/content/{id}/label", "200", &labels);
    let form = || {
        reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"bytes".to_vec())
                    .file_name("c.txt")
                    .mime_str("text/plain")
                    .unwrap(),
            )
            .text("minorEdit", "true")
    };
    let atts = send(
        twin.http
            .post(url(&format!("/rest/api/content/{id}/child/attachment")))
            .header("X-Atlassian-Token", "no-check")
            .multipart(form()),
    )
    .await;
    // Defect 8: the spec documents one `Content` as the answer of the upload; Data Center
    // answers the list of what was added (several files per request), the shape of the
    // listing (documented as 201, defect 6).
    assert!(
        spec.doc["paths"]["/rest/api/content/{id}/child/attachment"]["post"].is_object(),
        "the upload route is in the spec"
    );
    spec.check("/rest/api/content/{id}/child/attachment", "201", &atts);
    // Attachment ids are numeric everywhere, links too (Cloud says `att123`).
    // Links carry one context path.
    let text = atts.to_string();
    assert!(
        !text.contains("/content/att") && !text.contains("/confluence/confluence"),
        "{atts}"
    );
    let att = atts["results"][0]["id"].as_str().unwrap().to_string();
    let again = send(
        twin.http
            .post(url(&format!(
                "/rest/api/content/{id}/child/attachment/{att}/data"
            )))
            .header("X-Atlassian-Token", "no-check")
            .multipart(form()),
    )
    .await;
    spec.check_op(
        "post",
        "/rest/api/content/{id}/child/attachment/{attachmentId}/data",
        "200",
        &again,
    );
    // Without the XSRF header, Data Center refuses an upload.
    let r = twin
        .http
        .post(url(&format!("/rest/api/content/{id}/child/attachment")))
        .header(AUTHORIZATION, format!("Bearer {pat}"))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
}
