//! The Notion twin's auth, versions, errors, the restricted integration, and the shape of each
//! endpoint's answer (field names and JSON types as the official SDK's generated types in
//! `notion-api.md` §2–5 describe them).

use kb_sim::NotionWorkspaceConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::notion_support::*;

/// Asserts `v` has each field with the JSON type named (`s` string, `b` bool, `n` number,
/// `o` object, `a` array, `z` null; `s?` string or null, `o?` object or null).
fn shape(v: &Value, what: &str, fields: &[(&str, &str)]) {
    for (k, ty) in fields {
        let x = v
            .get(*k)
            .unwrap_or_else(|| panic!("{what}: no field {k}: {v:#}"));
        let ok = match *ty {
            "s" => x.is_string(),
            "b" => x.is_boolean(),
            "n" => x.is_number(),
            "o" => x.is_object(),
            "a" => x.is_array(),
            "z" => x.is_null(),
            "s?" => x.is_string() || x.is_null(),
            "o?" => x.is_object() || x.is_null(),
            _ => false,
        };
        assert!(ok, "{what}.{k} should be {ty}, is {x}");
    }
}

fn rich_shape(r: &Value, what: &str) {
    shape(
        r,
        what,
        &[
            ("type", "s"),
            ("annotations", "o"),
            ("plain_text", "s"),
            ("href", "s?"),
        ],
    );
    shape(
        &r["annotations"],
        what,
        &[
            ("bold", "b"),
            ("italic", "b"),
            ("strikethrough", "b"),
            ("underline", "b"),
            ("code", "b"),
            ("color", "s"),
        ],
    );
    let ty = r["type"].as_str().unwrap();
    assert!(
        ["text", "mention", "equation"].contains(&ty),
        "{what}: {ty}"
    );
    assert!(r[ty].is_object(), "{what}: {r}");
}

fn block_shape(b: &Value) {
    shape(
        b,
        "block",
        &[
            ("object", "s"),
            ("id", "s"),
            ("parent", "o"),
            ("created_time", "s"),
            ("created_by", "o"),
            ("last_edited_time", "s"),
            ("last_edited_by", "o"),
            ("has_children", "b"),
            ("archived", "b"),
            ("in_trash", "b"),
            ("type", "s"),
        ],
    );
    assert_eq!(b["object"], "block");
    let ty = b["type"].as_str().unwrap();
    assert!(b[ty].is_object(), "block payload {ty}: {b}");
    if let Some(rt) = b[ty].get("rich_text") {
        for r in rt.as_array().unwrap() {
            rich_shape(r, ty);
        }
    }
    assert!(
        b["created_time"].as_str().unwrap().ends_with(":00.000Z"),
        "minute precision"
    );
}

fn list_shape(l: &Value, ty: &str) {
    shape(
        l,
        "list",
        &[
            ("object", "s"),
            ("results", "a"),
            ("next_cursor", "s?"),
            ("has_more", "b"),
            ("type", "s"),
            ("request_id", "s"),
        ],
    );
    assert_eq!(l["object"], "list");
    assert_eq!(l["type"], ty);
    assert!(l[ty].is_object(), "{l}");
}

#[tokio::test]
async fn auth_and_version_are_checked_like_notion() {
    let t = NTwin::small().await;
    for token in [None, Some("secret_wrong"), Some("")] {
        let r = t
            .raw(Method::GET, "/v1/users", token, Some(V2025), None)
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json["object"], "error");
        assert_eq!(r.json["status"], 401);
        assert_eq!(r.json["code"], "unauthorized");
        assert_eq!(r.json["message"], "API token is invalid.");
        assert!(r.json["request_id"].is_string());
    }
    // Basic auth with the right token is still not Bearer.
    let r = t
        .http
        .get(format!("{}/v1/users", t.origin))
        .basic_auth("x", Some(&t.token))
        .header("Notion-Version", V2025)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = t
        .raw(Method::GET, "/v1/users", Some(&t.token.clone()), None, None)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["code"], "missing_version");
    assert_eq!(
        r.json["message"],
        "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."
    );
    let r = t
        .raw(
            Method::GET,
            "/v1/users",
            Some(&t.token.clone()),
            Some("2021-01-01"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["code"], "validation_error");
    assert!(r.json["message"].as_str().unwrap().contains("2021-01-01"));
    for v in [V2022, V2025] {
        list_shape(&t.get(v, "/v1/users").await, "user");
    }
    // Tokens never come back in any answer.
    let me = t.get(V2025, "/v1/users/me").await;
    assert!(!me.to_string().contains(&t.token));
}

#[tokio::test]
async fn every_endpoint_answers_in_the_sdk_shapes() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    // users
    let users = t.get(V2025, "/v1/users").await;
    list_shape(&users, "user");
    for u in users["results"].as_array().unwrap() {
        shape(
            u,
            "user",
            &[
                ("object", "s"),
                ("id", "s"),
                ("name", "s"),
                ("avatar_url", "s?"),
                ("type", "s"),
            ],
        );
        match u["type"].as_str().unwrap() {
            "person" => shape(&u["person"], "person", &[("email", "s")]),
            "bot" => shape(&u["bot"], "bot", &[("owner", "o"), ("workspace_name", "s")]),
            other => panic!("user type {other}"),
        }
    }
    let me = t.get(V2025, "/v1/users/me").await;
    shape(
        &me["bot"]["workspace_limits"],
        "me",
        &[("max_file_upload_size_in_bytes", "n")],
    );
    let one = t
        .get(
            V2025,
            &format!("/v1/users/{}", users["results"][0]["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(one["id"], users["results"][0]["id"]);

    // search, both versions
    let s25 = t
        .ok(V2025, Method::POST, "/v1/search", Some(&json!({})))
        .await;
    list_shape(&s25, "page_or_data_source");
    let s22 = t
        .ok(V2022, Method::POST, "/v1/search", Some(&json!({})))
        .await;
    list_shape(&s22, "page_or_database");
    let objs = |l: &Value| -> Vec<String> {
        l["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["object"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        objs(&s25).contains(&"data_source".to_string())
            && !objs(&s25).contains(&"database".to_string())
    );
    assert!(
        objs(&s22).contains(&"database".to_string())
            && !objs(&s22).contains(&"data_source".to_string())
    );

    // pages: an ordinary page and a row, in both versions
    let tasks = db(&ds, "Tasks");
    let row = rows(&ds, tasks["id"].as_str().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for v in [V2022, V2025] {
        let p = t.get(v, &format!("/v1/pages/{row}")).await;
        shape(
            &p,
            "page",
            &[
                ("object", "s"),
                ("id", "s"),
                ("created_time", "s"),
                ("last_edited_time", "s"),
                ("created_by", "o"),
                ("last_edited_by", "o"),
                ("cover", "o?"),
                ("icon", "o?"),
                ("parent", "o"),
                ("archived", "b"),
                ("in_trash", "b"),
                ("is_locked", "b"),
                ("properties", "o"),
                ("url", "s"),
                ("public_url", "z"),
                ("request_id", "s"),
            ],
        );
        if v == V2022 {
            assert_eq!(
                p["parent"],
                json!({"type": "database_id", "database_id": tasks["id"]})
            );
        } else {
            assert_eq!(
                p["parent"],
                json!({"type": "data_source_id", "data_source_id": tasks["data_source_id"], "database_id": tasks["id"]})
            );
        }
        let props = p["properties"].as_object().unwrap();
        assert_eq!(props.len(), tasks["properties"].as_array().unwrap().len());
        for (name, val) in props {
            shape(val, name, &[("id", "s"), ("type", "s")]);
            let ty = val["type"].as_str().unwrap();
            assert!(val.get(ty).is_some(), "{name}: {val}");
        }
        for r in props["Name"]["title"].as_array().unwrap() {
            rich_shape(r, "title");
        }
        shape(
            &props["Project"],
            "relation",
            &[("relation", "a"), ("has_more", "b")],
        );
        shape(
            &props["Project status"]["rollup"],
            "rollup",
            &[("type", "s"), ("function", "s"), ("array", "a")],
        );
        shape(
            &props["Long"]["formula"],
            "formula",
            &[("type", "s"), ("boolean", "b")],
        );
        shape(
            &props["Edited"],
            "last_edited_time",
            &[("last_edited_time", "s")],
        );
    }

    // blocks of the home page: every generated type in the twin's shapes
    let home = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["parent"]["type"] == "workspace"
                && p["props"]["title"][0]["plain_text"] == "Team Home"
        })
        .unwrap();
    let hid = home["id"].as_str().unwrap();
    let kids = t.get(V2025, &format!("/v1/blocks/{hid}/children")).await;
    list_shape(&kids, "block");
    let mut types = std::collections::BTreeSet::new();
    for b in kids["results"].as_array().unwrap() {
        block_shape(b);
        types.insert(b["type"].as_str().unwrap().to_string());
        if b["has_children"] == true {
            let sub = t
                .get(
                    V2025,
                    &format!("/v1/blocks/{}/children", b["id"].as_str().unwrap()),
                )
                .await;
            for c in sub["results"].as_array().unwrap() {
                block_shape(c);
                types.insert(c["type"].as_str().unwrap().to_string());
            }
        }
    }
    for ty in [
        "heading_2",
        "paragraph",
        "bulleted_list_item",
        "numbered_list_item",
        "to_do",
        "toggle",
        "callout",
        "divider",
        "column_list",
        "image",
        "file",
        "bookmark",
        "link_to_page",
        "synced_block",
        "child_page",
        "table_of_contents",
        "equation",
    ] {
        assert!(types.contains(ty), "no {ty} among {types:?}");
    }
    let img = kids["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "image")
        .unwrap();
    shape(
        &img["image"],
        "image",
        &[("type", "s"), ("file", "o"), ("caption", "a")],
    );
    shape(
        &img["image"]["file"],
        "file",
        &[("url", "s"), ("expiry_time", "s")],
    );
    let one = t
        .get(
            V2025,
            &format!("/v1/blocks/{}", img["id"].as_str().unwrap()),
        )
        .await;
    block_shape(&one);
    let as_block = t.get(V2025, &format!("/v1/blocks/{hid}")).await;
    assert_eq!(as_block["type"], "child_page");
    assert_eq!(as_block["child_page"]["title"], "Team Home");

    // databases and data sources
    let d22 = t
        .get(
            V2022,
            &format!("/v1/databases/{}", tasks["id"].as_str().unwrap()),
        )
        .await;
    shape(
        &d22,
        "database",
        &[
            ("object", "s"),
            ("id", "s"),
            ("title", "a"),
            ("description", "a"),
            ("properties", "o"),
            ("parent", "o"),
            ("is_inline", "b"),
            ("in_trash", "b"),
            ("url", "s"),
        ],
    );
    assert!(d22.get("data_sources").is_none());
    let rel = &d22["properties"]["Project"]["relation"];
    shape(
        rel,
        "relation config",
        &[("database_id", "s"), ("type", "s"), ("dual_property", "o")],
    );
    assert!(rel.get("data_source_id").is_none());
    let d25 = t
        .get(
            V2025,
            &format!("/v1/databases/{}", tasks["id"].as_str().unwrap()),
        )
        .await;
    assert!(d25.get("properties").is_none());
    assert_eq!(
        d25["data_sources"],
        json!([{"id": tasks["data_source_id"], "name": "Tasks"}])
    );
    let src = t
        .get(
            V2025,
            &format!(
                "/v1/data_sources/{}",
                tasks["data_source_id"].as_str().unwrap()
            ),
        )
        .await;
    shape(
        &src,
        "data_source",
        &[
            ("object", "s"),
            ("id", "s"),
            ("title", "a"),
            ("parent", "o"),
            ("database_parent", "o"),
            ("properties", "o"),
            ("in_trash", "b"),
        ],
    );
    assert_eq!(
        src["parent"],
        json!({"type": "database_id", "database_id": tasks["id"]})
    );
    shape(
        &src["properties"]["Project"]["relation"],
        "relation config",
        &[
            ("database_id", "s"),
            ("data_source_id", "s"),
            ("dual_property", "o"),
        ],
    );
    for (name, p) in src["properties"].as_object().unwrap() {
        shape(p, name, &[("id", "s"), ("name", "s"), ("type", "s")]);
    }

    // property items
    let item = t
        .get(V2025, &format!("/v1/pages/{row}/properties/title"))
        .await;
    list_shape(&item, "property_item");
    shape(
        &item["property_item"],
        "property_item",
        &[("id", "s"), ("type", "s"), ("next_url", "s?")],
    );
    shape(
        &item["results"][0],
        "item",
        &[("object", "s"), ("id", "s"), ("type", "s"), ("title", "o")],
    );
    let hours = prop_id(tasks, "Hours");
    let h = t
        .get(V2025, &format!("/v1/pages/{row}/properties/{hours}"))
        .await;
    assert_eq!(h["object"], "property_item");
    assert_eq!(h["type"], "number");

    // comments
    let c = ds["comments"][0].clone();
    let list = t
        .get(
            V2025,
            &format!(
                "/v1/comments?block_id={}",
                c["parent"]["id"].as_str().unwrap()
            ),
        )
        .await;
    list_shape(&list, "comment");
    shape(
        &list["results"][0],
        "comment",
        &[
            ("object", "s"),
            ("id", "s"),
            ("parent", "o"),
            ("discussion_id", "s"),
            ("created_time", "s"),
            ("created_by", "o"),
            ("rich_text", "a"),
        ],
    );
}

#[tokio::test]
async fn errors_have_notion_bodies() {
    let t = NTwin::small().await;
    let missing = "0f0e0d0c-0b0a-4000-8000-000000000000";
    let m = t
        .fails(
            V2025,
            Method::GET,
            &format!("/v1/pages/{missing}"),
            None,
            404,
            "object_not_found",
        )
        .await;
    assert_eq!(
        m,
        format!(
            "Could not find page with ID: {missing}. Make sure the relevant pages and databases are shared with your integration."
        )
    );
    // Ids without dashes are the same ids.
    t.fails(
        V2025,
        Method::GET,
        &format!("/v1/blocks/{}", missing.replace('-', "")),
        None,
        404,
        "object_not_found",
    )
    .await;
    let m = t
        .fails(
            V2025,
            Method::GET,
            "/v1/pages/not-an-id",
            None,
            400,
            "validation_error",
        )
        .await;
    assert!(m.contains("path.page_id should be a valid uuid"), "{m}");
    let r = t
        .http
        .post(format!("{}/v1/search", t.origin))
        .bearer_auth(&t.token)
        .header("Notion-Version", V2025)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["code"], "invalid_json");
    t.fails(
        V2025,
        Method::GET,
        "/v1/nothing/here",
        None,
        400,
        "invalid_request_url",
    )
    .await;
    t.fails(
        V2025,
        Method::PUT,
        "/v1/users",
        None,
        400,
        "invalid_request_url",
    )
    .await;
    let ds = t.dataset().await;
    let tasks = db(&ds, "Tasks");
    // Each version has its own endpoints.
    t.fails(
        V2022,
        Method::GET,
        &format!(
            "/v1/data_sources/{}",
            tasks["data_source_id"].as_str().unwrap()
        ),
        None,
        400,
        "invalid_request_url",
    )
    .await;
    t.fails(
        V2025,
        Method::POST,
        &format!("/v1/databases/{}/query", tasks["id"].as_str().unwrap()),
        Some(&json!({})),
        400,
        "invalid_request_url",
    )
    .await;
    let m = t
        .fails(
            V2025,
            Method::POST,
            "/v1/search",
            Some(&json!({"filter": {"property": "object", "value": "database"}})),
            400,
            "validation_error",
        )
        .await;
    assert!(m.contains("data_source"), "{m}");
    t.fails(
        V2022,
        Method::POST,
        "/v1/search",
        Some(&json!({"filter": {"property": "object", "value": "data_source"}})),
        400,
        "validation_error",
    )
    .await;
    // A trashed page cannot be edited until restored.
    let page = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parent"]["type"] == "page")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p = t
        .ok(
            V2025,
            Method::PATCH,
            &format!("/v1/pages/{page}"),
            Some(&json!({"in_trash": true})),
        )
        .await;
    assert_eq!(p["in_trash"], true);
    assert_eq!(p["archived"], true);
    let m = t
        .fails(
            V2025,
            Method::PATCH,
            &format!("/v1/pages/{page}"),
            Some(&json!({"properties": {"title": {"title": [{"text": {"content": "x"}}]}}})),
            400,
            "validation_error",
        )
        .await;
    assert_eq!(
        m,
        "Can't edit block that is archived. You must unarchive the block before editing."
    );
    t.ok(
        V2025,
        Method::PATCH,
        &format!("/v1/pages/{page}"),
        Some(&json!({"archived": false})),
    )
    .await;
    let m = t
        .fails(
            V2025,
            Method::PATCH,
            &format!("/v1/pages/{page}"),
            Some(&json!({"properties": {"Nope": {"title": []}}})),
            400,
            "validation_error",
        )
        .await;
    assert_eq!(m, "Nope is not a property that exists.");
    let row = rows(&ds, tasks["id"].as_str().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = t
        .fails(
            V2025,
            Method::PATCH,
            &format!("/v1/pages/{row}"),
            Some(&json!({"properties": {"Hours": {"checkbox": true}}})),
            400,
            "validation_error",
        )
        .await;
    assert_eq!(m, "Hours is expected to be number.");
    t.fails(
        V2025,
        Method::GET,
        "/v1/users?page_size=101",
        None,
        400,
        "validation_error",
    )
    .await;
    t.fails(
        V2025,
        Method::GET,
        "/v1/users?start_cursor=garbage",
        None,
        400,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn the_restricted_integration_sees_only_what_was_shared() {
    let t = NTwin::with(NotionWorkspaceConfig {
        pages: 10,
        depth: 3,
        ..Default::default()
    })
    .await;
    let ds = t.dataset().await;
    let root = ds["restricted_roots"][0].as_str().unwrap().to_string();
    let restricted = t.handle.notion_restricted_token().to_string();
    let r = t
        .raw(
            Method::GET,
            &format!("/v1/pages/{root}"),
            Some(&restricted),
            Some(V2025),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let home = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .raw(
            Method::GET,
            &format!("/v1/pages/{home}"),
            Some(&restricted),
            Some(V2025),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["code"], "object_not_found");
    let tasks = db(&ds, "Tasks")["data_source_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .raw(
            Method::POST,
            &format!("/v1/data_sources/{tasks}/query"),
            Some(&restricted),
            Some(V2025),
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 404);
    // Search shows exactly the shared subtree.
    let r = t
        .raw(
            Method::POST,
            "/v1/search",
            Some(&restricted),
            Some(V2025),
            Some(&json!({})),
        )
        .await;
    let found: Vec<String> = ids(r.json["results"].as_array().unwrap());
    let under = |id: &str| {
        let mut cur = id.to_string();
        loop {
            if cur == root {
                return true;
            }
            let Some(p) = ds["pages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == cur.as_str())
            else {
                return false;
            };
            match p["parent"]["id"].as_str() {
                Some(x) if p["parent"]["type"] == "page" => cur = x.to_string(),
                _ => return false,
            }
        }
    };
    let mut want: Vec<String> = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .filter(|id| under(id))
        .collect();
    let mut got = found.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    // It has no user-information capability: 403 restricted_resource, but users/me works.
    let r = t
        .raw(
            Method::GET,
            "/v1/users",
            Some(&restricted),
            Some(V2025),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json["code"], "restricted_resource");
    assert_eq!(
        r.json["message"],
        "Insufficient permissions for this endpoint."
    );
    // The restricted bot is its own user.
    let me = t
        .raw(
            Method::GET,
            "/v1/users/me",
            Some(&restricted),
            Some(V2025),
            None,
        )
        .await;
    assert_eq!(me.json["name"], "kbridge restricted integration");
}

#[tokio::test]
async fn page_retrieval_cuts_references_at_25_and_property_items_page_through_all() {
    let t = NTwin::with(NotionWorkspaceConfig {
        pages: 3,
        rows: 40,
        ..Default::default()
    })
    .await;
    let ds = t.dataset().await;
    let projects = db(&ds, "Projects");
    let tasks_prop = prop_id(projects, "Tasks");
    let big = rows(&ds, projects["id"].as_str().unwrap())
        .into_iter()
        .find(|p| p["props"][&tasks_prop].as_array().unwrap().len() > 25)
        .expect("a project with more than 25 tasks");
    let all: Vec<String> = big["props"][&tasks_prop]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let id = big["id"].as_str().unwrap();
    let p = t.get(V2025, &format!("/v1/pages/{id}")).await;
    let rel = &p["properties"]["Tasks"];
    assert_eq!(rel["relation"].as_array().unwrap().len(), 25);
    assert_eq!(rel["has_more"], true);
    assert_eq!(ids(rel["relation"].as_array().unwrap()), all[..25].to_vec());
    // The rollup in the page is computed on the first 25, as Notion documents.
    assert_eq!(p["properties"]["Task count"]["rollup"]["number"], 25);
    let items = t
        .collect_get(
            V2025,
            &format!("/v1/pages/{id}/properties/{tasks_prop}"),
            10,
        )
        .await;
    let got: Vec<String> = items
        .iter()
        .map(|i| i["relation"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, all);
    let count = prop_id(projects, "Task count");
    let r = t
        .get(V2025, &format!("/v1/pages/{id}/properties/{count}"))
        .await;
    assert_eq!(r["property_item"]["rollup"]["number"], all.len());
    assert_eq!(r["property_item"]["rollup"]["function"], "count");
    // filter_properties keeps only the properties asked for.
    let p = t
        .get(
            V2025,
            &format!("/v1/pages/{id}?filter_properties=title&filter_properties={tasks_prop}"),
        )
        .await;
    let keys: Vec<&String> = p["properties"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["Name", "Tasks"]);
}
