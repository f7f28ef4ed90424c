//! Writes: append children (every documented limit, `after`), block updates and deletes,
//! page creation and updates (properties, dual relations, trash), comments.

use reqwest::Method;
use serde_json::{Value, json};

use crate::notion_support::*;

fn para(s: &str) -> Value {
    json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": s}}]}})
}

fn toggle(s: &str, children: Vec<Value>) -> Value {
    json!({"type": "toggle", "toggle": {"rich_text": [{"text": {"content": s}}], "children": children}})
}

async fn a_page(t: &NTwin) -> String {
    let ds = t.dataset().await;
    ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parent"]["type"] == "page")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn append_enforces_every_documented_limit() {
    let t = NTwin::small().await;
    let page = a_page(&t).await;
    let path = format!("/v1/blocks/{page}/children");
    let fail = |body: Value| {
        let t = &t;
        let path = path.clone();
        async move {
            t.fails(
                V2025,
                Method::PATCH,
                &path,
                Some(&body),
                400,
                "validation_error",
            )
            .await
        }
    };
    // 100 children per request
    let m =
        fail(json!({"children": (0..101).map(|i| para(&i.to_string())).collect::<Vec<_>>()})).await;
    assert_eq!(
        m,
        "body failed validation: body.children.length should be ≤ `100`, instead was `101`."
    );
    // two levels of nesting per request
    let deep = toggle(
        "a",
        vec![toggle("b", vec![toggle("c", vec![para("too deep")])])],
    );
    let m = fail(json!({"children": [deep]})).await;
    assert!(m.starts_with("body failed validation: body.children[0].toggle.children[0].toggle.children[0].toggle.children should be not present, instead was `"), "{m}");
    // 2000 characters per text content, counted in UTF-16 as JavaScript does
    let m = fail(json!({"children": [para(&"x".repeat(2001))]})).await;
    assert_eq!(
        m,
        "body failed validation: body.children[0].paragraph.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`."
    );
    let m = fail(json!({"children": [para(&"😀".repeat(1001))]})).await;
    assert!(
        m.ends_with("should be ≤ `2000`, instead was `2002`."),
        "{m}"
    );
    // 100 rich text items
    let items: Vec<Value> = (0..101)
        .map(|i| json!({"text": {"content": i.to_string()}}))
        .collect();
    let m = fail(json!({"children": [{"paragraph": {"rich_text": items}}]})).await;
    assert_eq!(
        m,
        "body failed validation: body.children[0].paragraph.rich_text.length should be ≤ `100`, instead was `101`."
    );
    // link URLs and equations
    let long_url = format!("https://example.com/{}", "a".repeat(2000));
    let m = fail(json!({"children": [{"paragraph": {"rich_text": [{"text": {"content": "l", "link": {"url": long_url}}}]}}]})).await;
    assert!(
        m.contains(
            "body.children[0].paragraph.rich_text[0].text.link.url.length should be ≤ `2000`"
        ),
        "{m}"
    );
    let m = fail(json!({"children": [{"equation": {"expression": "x".repeat(1001)}}]})).await;
    assert_eq!(
        m,
        "body failed validation: body.children[0].equation.expression.length should be ≤ `1000`, instead was `1001`."
    );
    let m = fail(json!({"children": [{"paragraph": {"rich_text": [{"equation": {"expression": "y".repeat(1001)}}]}}]})).await;
    assert!(
        m.contains("rich_text[0].equation.expression.length should be ≤ `1000`"),
        "{m}"
    );
    // 1000 blocks per request in all: 100 toggles of 9 children each = 1000 passes, 10 = 1100 fails
    let many = |n: usize| json!({"children": (0..100).map(|i| toggle(&i.to_string(), (0..n).map(|j| para(&j.to_string())).collect())).collect::<Vec<_>>()});
    let m = fail(many(10)).await;
    assert!(m.contains("1000"), "{m}");
    let ok = t.ok(V2025, Method::PATCH, &path, Some(&many(9))).await;
    assert_eq!(ok["results"].as_array().unwrap().len(), 100);
    // 500 KB of payload
    let big: Vec<Value> = (0..90).map(|_| json!({"paragraph": {"rich_text": (0..3).map(|_| json!({"text": {"content": "z".repeat(2000)}})).collect::<Vec<_>>()}})).collect();
    let m = fail(json!({"children": big})).await;
    assert!(m.contains("500000"), "{m}");
    // what append cannot create, and creation rules
    fail(json!({"children": [{"child_page": {"title": "x"}}]})).await;
    fail(json!({"children": [{"type": "no_such_block", "no_such_block": {}}]})).await;
    let m = fail(json!({"children": [{"table": {"table_width": 2, "children": [{"table_row": {"cells": [[{"text": {"content": "a"}}]]}}]}}]})).await;
    assert!(m.contains("table width"), "{m}");
    fail(json!({"children": [{"image": {"type": "file", "file": {"url": "https://x"}}}]})).await;
    fail(json!({})).await;
    let m = fail(json!({"children": [{"paragraph": {"rich_text": [], "colour": "red"}}]})).await;
    assert_eq!(
        m,
        "body failed validation: body.children[0].paragraph.colour should be not present, instead was `\"red\"`."
    );
    // nothing was appended by the failures
    let kids = t.collect_get(V2025, &path, 100).await;
    assert!(
        kids.iter()
            .all(|k| k["paragraph"]["rich_text"][0]["plain_text"] != "too deep")
    );
}

#[tokio::test]
async fn append_after_update_and_delete_blocks() {
    let t = NTwin::small().await;
    let page = a_page(&t).await;
    let path = format!("/v1/blocks/{page}/children");
    let before = ids(&t.collect_get(V2025, &path, 100).await);
    // two levels of nesting in one request, with the 2000-character maximum
    let body = json!({"children": [toggle("outer", vec![toggle("inner", vec![para(&"m".repeat(2000))])]), para("second")]});
    let r = t.ok(V2025, Method::PATCH, &path, Some(&body)).await;
    assert_eq!(r["object"], "list");
    let new = ids(r["results"].as_array().unwrap());
    assert_eq!(new.len(), 2);
    assert_eq!(r["results"][0]["has_children"], true);
    let after = ids(&t.collect_get(V2025, &path, 100).await);
    assert_eq!(after, [before.clone(), new.clone()].concat());
    let inner = t
        .get(V2025, &format!("/v1/blocks/{}/children", new[0]))
        .await;
    let inner_id = inner["results"][0]["id"].as_str().unwrap().to_string();
    let leaf = t
        .get(V2025, &format!("/v1/blocks/{inner_id}/children"))
        .await;
    assert_eq!(
        leaf["results"][0]["paragraph"]["rich_text"][0]["plain_text"]
            .as_str()
            .unwrap()
            .len(),
        2000
    );
    assert_eq!(
        leaf["results"][0]["parent"],
        json!({"type": "block_id", "block_id": inner_id})
    );
    // `after` puts blocks right after a sibling
    let r = t
        .ok(
            V2025,
            Method::PATCH,
            &path,
            Some(&json!({"children": [para("after first")], "after": before[0]})),
        )
        .await;
    let placed = r["results"][0]["id"].as_str().unwrap().to_string();
    let now = ids(&t.collect_get(V2025, &path, 100).await);
    assert_eq!(now[1], placed);
    assert_eq!(now[0], before[0]);
    t.fails(
        V2025,
        Method::PATCH,
        &path,
        Some(&json!({"children": [para("x")], "after": "0f0e0d0c-0b0a-4000-8000-000000000000"})),
        400,
        "validation_error",
    )
    .await;
    // update the text; the type cannot change
    let b = t.ok(V2025, Method::PATCH, &format!("/v1/blocks/{placed}"), Some(&json!({"paragraph": {"rich_text": [{"text": {"content": "edited"}, "annotations": {"bold": true}}]}}))).await;
    assert_eq!(b["paragraph"]["rich_text"][0]["plain_text"], "edited");
    assert_eq!(b["paragraph"]["rich_text"][0]["annotations"]["bold"], true);
    assert_eq!(
        b["paragraph"]["rich_text"][0]["annotations"]["italic"],
        false
    );
    t.fails(
        V2025,
        Method::PATCH,
        &format!("/v1/blocks/{placed}"),
        Some(&json!({"to_do": {"checked": true}})),
        400,
        "validation_error",
    )
    .await;
    // delete: to the trash, out of the listing, not editable
    let d = t
        .ok(V2025, Method::DELETE, &format!("/v1/blocks/{placed}"), None)
        .await;
    assert_eq!(d["in_trash"], true);
    let now = ids(&t.collect_get(V2025, &path, 100).await);
    assert!(!now.contains(&placed));
    t.fails(
        V2025,
        Method::PATCH,
        &format!("/v1/blocks/{placed}"),
        Some(&json!({"paragraph": {"rich_text": []}})),
        400,
        "validation_error",
    )
    .await;
    t.fails(
        V2025,
        Method::PATCH,
        &format!("/v1/blocks/{placed}/children"),
        Some(&json!({"children": [para("x")]})),
        400,
        "validation_error",
    )
    .await;
    // restore through in_trash
    let r = t
        .ok(
            V2025,
            Method::PATCH,
            &format!("/v1/blocks/{placed}"),
            Some(&json!({"in_trash": false})),
        )
        .await;
    assert_eq!(r["in_trash"], false);
    // the ground truth has it all
    let ds = t.dataset().await;
    let p = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == page.as_str())
        .unwrap();
    assert_eq!(p["children"].as_array().unwrap().len(), before.len() + 3);
}

#[tokio::test]
async fn pages_are_created_and_updated_with_dual_relations() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let tasks = db(&ds, "Tasks");
    let projects = db(&ds, "Projects");
    let project = rows(&ds, projects["id"].as_str().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let parent_page = a_page(&t).await;
    // a page under a page, with content
    let p = t
        .ok(
            V2025,
            Method::POST,
            "/v1/pages",
            Some(&json!({
                "parent": {"page_id": parent_page},
                "properties": {"title": {"title": [{"text": {"content": "Made by the API"}}]}},
                "icon": {"emoji": "🧪"},
                "children": [para("hello"), toggle("t", vec![para("inside")])],
            })),
        )
        .await;
    let pid = p["id"].as_str().unwrap().to_string();
    assert_eq!(
        p["parent"],
        json!({"type": "page_id", "page_id": parent_page})
    );
    assert_eq!(
        p["properties"]["title"]["title"][0]["plain_text"],
        "Made by the API"
    );
    assert_eq!(p["icon"], json!({"type": "emoji", "emoji": "🧪"}));
    let kids = t.get(V2025, &format!("/v1/blocks/{pid}/children")).await;
    assert_eq!(kids["results"].as_array().unwrap().len(), 2);
    let listed = ids(&t
        .collect_get(V2025, &format!("/v1/blocks/{parent_page}/children"), 100)
        .await);
    assert_eq!(
        listed.last(),
        Some(&pid),
        "a child_page block at the end of its parent"
    );
    // a row in the Tasks data source, related to a project
    let before = t.get(V2025, &format!("/v1/pages/{project}")).await;
    let n_before = before["properties"]["Task count"]["rollup"]["number"]
        .as_u64()
        .unwrap();
    let row = t
        .ok(
            V2025,
            Method::POST,
            "/v1/pages",
            Some(&json!({
                "parent": {"type": "data_source_id", "data_source_id": tasks["data_source_id"]},
                "properties": {
                    "Name": {"title": [{"text": {"content": "New task"}}]},
                    "Hours": {"number": 12},
                    "Done": {"checkbox": true},
                    "Priority": {"select": {"name": "P1"}},
                    "Labels": {"multi_select": [{"name": "bug"}]},
                    "Due": {"date": {"start": "2025-05-01"}},
                    "Link": {"url": "https://example.com/new"},
                    "Project": {"relation": [{"id": project}]},
                },
            })),
        )
        .await;
    let rid = row["id"].as_str().unwrap().to_string();
    assert_eq!(row["properties"]["Hours"]["number"], 12);
    assert_eq!(row["properties"]["Priority"]["select"]["name"], "P1");
    assert_eq!(row["properties"]["Long"]["formula"]["boolean"], true);
    assert_eq!(
        row["properties"]["Project"]["relation"][0]["id"],
        project.as_str()
    );
    let after = t.get(V2025, &format!("/v1/pages/{project}")).await;
    assert_eq!(
        after["properties"]["Task count"]["rollup"]["number"]
            .as_u64()
            .unwrap(),
        n_before + 1
    );
    let items = t
        .collect_get(
            V2025,
            &format!(
                "/v1/pages/{project}/properties/{}",
                prop_id(projects, "Tasks")
            ),
            100,
        )
        .await;
    assert!(
        items.iter().any(|i| i["relation"]["id"] == rid.as_str()),
        "the dual property lists the new task"
    );
    // unknown options, read-only and unknown properties are refused
    t.fails(
        V2025,
        Method::PATCH,
        &format!("/v1/pages/{rid}"),
        Some(&json!({"properties": {"Priority": {"select": {"name": "P9"}}}})),
        400,
        "validation_error",
    )
    .await;
    t.fails(
        V2025,
        Method::PATCH,
        &format!("/v1/pages/{rid}"),
        Some(&json!({"properties": {"Long": {"formula": {}}}})),
        400,
        "validation_error",
    )
    .await;
    // moving the task to no project removes it from the project's side too
    let upd = t
        .ok(
            V2025,
            Method::PATCH,
            &format!("/v1/pages/{rid}"),
            Some(&json!({"properties": {"Project": {"relation": []}, "Hours": {"number": 2}}})),
        )
        .await;
    assert_eq!(upd["properties"]["Long"]["formula"]["boolean"], false);
    let back = t.get(V2025, &format!("/v1/pages/{project}")).await;
    assert_eq!(
        back["properties"]["Task count"]["rollup"]["number"]
            .as_u64()
            .unwrap(),
        n_before
    );
    // 2022-06-28 creates rows with a database parent and refuses data_source_id
    let r = t.ok(V2022, Method::POST, "/v1/pages", Some(&json!({"parent": {"database_id": tasks["id"]}, "properties": {"Name": {"title": [{"text": {"content": "old style"}}]}}}))).await;
    assert_eq!(r["parent"]["type"], "database_id");
    t.fails(
        V2022,
        Method::POST,
        "/v1/pages",
        Some(&json!({"parent": {"data_source_id": tasks["data_source_id"]}})),
        400,
        "validation_error",
    )
    .await;
    t.fails(
        V2025,
        Method::POST,
        "/v1/pages",
        Some(&json!({"properties": {}})),
        400,
        "validation_error",
    )
    .await;
    // icon and cover updates; trash and restore
    let u = t.ok(V2025, Method::PATCH, &format!("/v1/pages/{pid}"), Some(&json!({"icon": {"type": "external", "external": {"url": "https://example.com/i.png"}}, "cover": null}))).await;
    assert_eq!(u["icon"]["external"]["url"], "https://example.com/i.png");
    let u = t
        .ok(
            V2025,
            Method::PATCH,
            &format!("/v1/pages/{pid}"),
            Some(&json!({"in_trash": true})),
        )
        .await;
    assert_eq!(u["in_trash"], true);
    let listed = ids(&t
        .collect_get(V2025, &format!("/v1/blocks/{parent_page}/children"), 100)
        .await);
    assert!(
        !listed.contains(&pid),
        "trashed pages leave their parent's children"
    );
}

#[tokio::test]
async fn comments_are_listed_and_created() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let c0 = &ds["comments"][0];
    let page = c0["parent"]["id"].as_str().unwrap().to_string();
    let want: Vec<String> = ds["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["parent"]["id"] == page.as_str())
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let got = t
        .collect_get(V2025, &format!("/v1/comments?block_id={page}"), 1)
        .await;
    assert_eq!(ids(&got), want);
    let c = t.ok(V2025, Method::POST, "/v1/comments", Some(&json!({"parent": {"page_id": page}, "rich_text": [{"text": {"content": "From the API"}}]}))).await;
    assert_eq!(c["object"], "comment");
    assert_eq!(c["rich_text"][0]["plain_text"], "From the API");
    let reply = t.ok(V2025, Method::POST, "/v1/comments", Some(&json!({"discussion_id": c["discussion_id"], "rich_text": [{"text": {"content": "A reply"}}]}))).await;
    assert_eq!(reply["discussion_id"], c["discussion_id"]);
    assert_eq!(reply["parent"], c["parent"]);
    let got = t
        .collect_get(V2025, &format!("/v1/comments?block_id={page}"), 100)
        .await;
    assert_eq!(got.len(), want.len() + 2);
    t.fails(
        V2025,
        Method::GET,
        "/v1/comments",
        None,
        400,
        "validation_error",
    )
    .await;
    t.fails(
        V2025,
        Method::POST,
        "/v1/comments",
        Some(&json!({"parent": {"page_id": page}})),
        400,
        "validation_error",
    )
    .await;
}
