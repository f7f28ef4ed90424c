//! The 2025-09-03 endpoints the SDK has and the twin answered "Invalid request URL" to: moving a
//! page, one comment, the list of file uploads, custom emojis and a data source's templates.

use reqwest::Method;
use serde_json::{Value, json};

use crate::notion_support::*;

/// An answer without the `request_id` every top-level answer carries.
fn bare(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("request_id");
    }
    v
}

fn page_id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_page_moves_with_its_subtree_and_never_under_itself() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let pages = ds["pages"].as_array().unwrap();
    let home = pages
        .iter()
        .find(|p| {
            p["parent"]["type"] == "workspace"
                && p["props"]["title"][0]["plain_text"] == "Team Home"
        })
        .unwrap();
    let home_id = page_id(home);
    // A page two levels down (its parent is not home).
    let deep = pages
        .iter()
        .find(|p| {
            p["parent"]["type"] == "page"
                && p["parent"]["id"] != home_id.as_str()
                && pages
                    .iter()
                    .any(|q| q["id"] == p["parent"]["id"] && q["parent"]["type"] == "page")
        })
        .unwrap();
    let (id, old_parent) = (
        page_id(deep),
        deep["parent"]["id"].as_str().unwrap().to_string(),
    );
    let moved = t
        .ok(
            V2025,
            Method::POST,
            &format!("/v1/pages/{id}/move"),
            Some(&json!({"parent": {"page_id": home_id}})),
        )
        .await;
    assert_eq!(moved["object"], "page");
    assert_eq!(
        moved["parent"]["page_id"],
        home_id.as_str(),
        "{}",
        moved["parent"]
    );
    let got = t.get(V2025, &format!("/v1/pages/{id}")).await;
    assert_eq!(got["parent"]["page_id"], home_id.as_str());
    let kids = t
        .collect_get(V2025, &format!("/v1/blocks/{home_id}/children"), 100)
        .await;
    assert!(
        kids.iter()
            .any(|b| b["id"] == id.as_str() && b["type"] == "child_page")
    );
    let old = t
        .collect_get(V2025, &format!("/v1/blocks/{old_parent}/children"), 100)
        .await;
    assert!(
        !old.iter().any(|b| b["id"] == id.as_str()),
        "left its old parent"
    );
    // Home cannot move under the page it now holds; unknown targets are 404s.
    t.fails(
        V2025,
        Method::POST,
        &format!("/v1/pages/{home_id}/move"),
        Some(&json!({"parent": {"page_id": id}})),
        400,
        "validation_error",
    )
    .await;
    t.fails(
        V2025,
        Method::POST,
        &format!("/v1/pages/{id}/move"),
        Some(&json!({"parent": {"page_id": "00000000-0000-4000-8000-000000000000"}})),
        404,
        "object_not_found",
    )
    .await;
    t.fails(
        V2025,
        Method::POST,
        &format!("/v1/pages/{id}/move"),
        Some(&json!({})),
        400,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn one_comment_file_upload_lists_emojis_and_templates() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let c0 = &ds["comments"][0];
    let cid = c0["id"].as_str().unwrap();
    let page = c0["parent"]["id"].as_str().unwrap();
    let listed = t
        .collect_get(V2025, &format!("/v1/comments?block_id={page}"), 100)
        .await;
    let one = bare(t.get(V2025, &format!("/v1/comments/{cid}")).await);
    assert_eq!(&one, listed.iter().find(|c| c["id"] == cid).unwrap());
    t.fails(
        V2025,
        Method::GET,
        "/v1/comments/00000000-0000-4000-8000-000000000000",
        None,
        404,
        "object_not_found",
    )
    .await;

    let mut made = Vec::new();
    for name in ["a.txt", "b.txt"] {
        let up = t
            .ok(
                V2025,
                Method::POST,
                "/v1/file_uploads",
                Some(&json!({"filename": name, "content_type": "text/plain"})),
            )
            .await;
        made.push(page_id(&up));
    }
    let all = t.collect_get(V2025, "/v1/file_uploads", 1).await;
    for id in &made {
        assert!(
            all.iter()
                .any(|u| u["id"] == id.as_str() && u["object"] == "file_upload"),
            "{id}"
        );
    }
    let pending = t
        .collect_get(V2025, "/v1/file_uploads?status=pending", 100)
        .await;
    assert!(pending.iter().all(|u| u["status"] == "pending") && pending.len() >= 2);
    let uploaded = t
        .collect_get(V2025, "/v1/file_uploads?status=uploaded", 100)
        .await;
    assert!(uploaded.iter().all(|u| u["status"] == "uploaded"));
    t.fails(
        V2025,
        Method::GET,
        "/v1/file_uploads?status=bogus",
        None,
        400,
        "validation_error",
    )
    .await;

    let e = bare(t.get(V2025, "/v1/custom_emojis").await);
    assert_eq!(
        e,
        json!({"object": "list", "type": "custom_emoji", "results": [], "has_more": false, "next_cursor": null})
    );

    let db = ds["databases"][0]["id"].as_str().unwrap();
    let d = t.get(V2025, &format!("/v1/databases/{db}")).await;
    let source = d["data_sources"][0]["id"].as_str().unwrap();
    let tpl = bare(
        t.get(V2025, &format!("/v1/data_sources/{source}/templates"))
            .await,
    );
    assert_eq!(
        tpl,
        json!({"templates": [], "has_more": false, "next_cursor": null})
    );
    t.fails(
        V2025,
        Method::GET,
        "/v1/data_sources/00000000-0000-4000-8000-000000000000/templates",
        None,
        404,
        "object_not_found",
    )
    .await;
}
