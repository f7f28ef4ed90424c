//! The twin's objects against the official SDK's generated response types
//! (`@notionhq/client` 5.26.0, `build/src/api-endpoints/*.d.ts`, generated from Notion's
//! OpenAPI): every required field present, no field the type does not name. The types describe
//! 2025-09-03, so the twin is read in that version.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::notion_sdk::ensure_sdk;
use crate::notion_support::*;

/// The top-level fields of `export type NAME = {…}` in a `.d.ts` file: (name, optional).
fn fields(dts: &str, name: &str) -> Vec<(String, bool)> {
    let start = dts
        .find(&format!("export type {name} = {{\n"))
        .or_else(|| dts.find(&format!("\ntype {name} = {{\n")))
        .unwrap_or_else(|| panic!("no type {name} in the SDK"));
    let body = &dts[start..];
    let mut out = Vec::new();
    for line in body.lines().skip(1) {
        if line.starts_with("};") || line.starts_with("} ") || line == "}" {
            break;
        }
        // top-level fields are indented by exactly four spaces
        let Some(rest) = line.strip_prefix("    ") else {
            continue;
        };
        if rest.starts_with(' ') || rest.starts_with('/') || rest.starts_with('*') {
            continue;
        }
        if let Some((key, _)) = rest.split_once(':') {
            let optional = key.ends_with('?');
            let key = key.trim_end_matches('?').trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.push((key.to_string(), optional));
            }
        }
    }
    assert!(!out.is_empty(), "no fields read for {name}");
    out
}

/// `v`'s keys (without `request_id`, which every answer carries) against the type's fields.
fn conforms(v: &Value, dts: &str, names: &[&str], what: &str) {
    let mut all = BTreeSet::new();
    let mut required = BTreeSet::new();
    for n in names {
        for (k, opt) in fields(dts, n) {
            if !opt {
                required.insert(k.clone());
            }
            all.insert(k);
        }
    }
    let have: BTreeSet<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"))
        .keys()
        .filter(|k| *k != "request_id")
        .cloned()
        .collect();
    let missing: Vec<_> = required.difference(&have).collect();
    let extra: Vec<_> = have.difference(&all).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what} vs {names:?}: missing {missing:?}, not in the SDK type {extra:?}: {v:#}"
    );
}

fn pascal(ty: &str) -> String {
    ty.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn objects_match_the_sdk_response_types() {
    let Some(dir) = tokio::task::spawn_blocking(ensure_sdk).await.unwrap() else {
        return;
    };
    let src = dir.join("node_modules/@notionhq/client/build/src/api-endpoints");
    let read =
        |f: &str| std::fs::read_to_string(src.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let (common, blocks, databases, sources, comments, uploads) = (
        read("common.d.ts"),
        read("blocks.d.ts"),
        read("databases.d.ts"),
        read("data-sources.d.ts"),
        read("comments.d.ts"),
        read("file-uploads.d.ts"),
    );
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let tasks = db(&ds, "Tasks");
    // pages: an ordinary page and a row
    let home = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["parent"]["type"] == "workspace"
                && p["props"]["title"][0]["plain_text"] == "Team Home"
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let row = rows(&ds, tasks["id"].as_str().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for id in [&home, &row] {
        let p = t.get(V2025, &format!("/v1/pages/{id}")).await;
        conforms(&p, &common, &["PageObjectResponse"], "page");
        for r in p["properties"]["Name"]["title"]
            .as_array()
            .into_iter()
            .flatten()
        {
            conforms(
                r,
                &common,
                &["RichTextItemResponseCommon", "TextRichTextItemResponse"],
                "title item",
            );
        }
    }
    // databases, data sources, with their property configurations
    let d = t
        .get(
            V2025,
            &format!("/v1/databases/{}", tasks["id"].as_str().unwrap()),
        )
        .await;
    conforms(&d, &databases, &["DatabaseObjectResponse"], "database");
    let s = t
        .get(
            V2025,
            &format!(
                "/v1/data_sources/{}",
                tasks["data_source_id"].as_str().unwrap()
            ),
        )
        .await;
    conforms(&s, &sources, &["DataSourceObjectResponse"], "data source");
    for (name, p) in s["properties"].as_object().unwrap() {
        let ty = p["type"].as_str().unwrap();
        let variant = format!("{}DatabasePropertyConfigResponse", pascal(ty));
        conforms(
            p,
            &sources,
            &["DatabasePropertyConfigResponseCommon", &variant],
            name,
        );
    }
    // blocks of every type on the home page, and the rich text in them
    let mut seen = BTreeSet::new();
    let mut queue = vec![home.clone()];
    while let Some(id) = queue.pop() {
        for b in t
            .collect_get(V2025, &format!("/v1/blocks/{id}/children"), 100)
            .await
        {
            let ty = b["type"].as_str().unwrap().to_string();
            conforms(
                &b,
                &blocks,
                &[&format!("{}BlockObjectResponse", pascal(&ty))],
                &ty,
            );
            for r in b[&ty]["rich_text"].as_array().into_iter().flatten() {
                let variant = format!(
                    "{}RichTextItemResponse",
                    pascal(r["type"].as_str().unwrap())
                );
                conforms(
                    r,
                    &common,
                    &["RichTextItemResponseCommon", &variant],
                    "rich text",
                );
            }
            if b["has_children"] == true && ty != "child_page" && seen.insert(ty.clone()) {
                queue.push(b["id"].as_str().unwrap().to_string());
            }
            seen.insert(ty);
        }
    }
    assert!(seen.len() > 15, "{seen:?}");
    // users, comments, file uploads
    for u in t.get(V2025, "/v1/users").await["results"]
        .as_array()
        .unwrap()
    {
        let variant = if u["type"] == "bot" {
            "BotUserObjectResponse"
        } else {
            "PersonUserObjectResponse"
        };
        conforms(u, &common, &["UserObjectResponseCommon", variant], "user");
    }
    let c = t
        .ok(
            V2025,
            Method::POST,
            "/v1/comments",
            Some(&json!({"parent": {"page_id": home}, "rich_text": [{"text": {"content": "hi"}}]})),
        )
        .await;
    conforms(&c, &comments, &["CommentObjectResponse"], "comment");
    let up = t
        .ok(
            V2025,
            Method::POST,
            "/v1/file_uploads",
            Some(&json!({"filename": "a.txt"})),
        )
        .await;
    conforms(&up, &uploads, &["FileUploadObjectResponse"], "file upload");
    // The views of every database (the list, each reference, each view and its configuration,
    // group-by and property entries) and a page as markdown.
    let views_dts = read("views.d.ts");
    for d in ds["databases"].as_array().unwrap() {
        let list = t
            .get(
                V2025,
                &format!("/v1/views?database_id={}", d["id"].as_str().unwrap()),
            )
            .await;
        conforms(
            &list,
            &views_dts,
            &["ListDatabaseViewsResponse"],
            "view list",
        );
        for r in list["results"].as_array().unwrap() {
            conforms(
                r,
                &common,
                &["DataSourceViewReferenceResponse"],
                "view reference",
            );
            let v = t
                .get(V2025, &format!("/v1/views/{}", r["id"].as_str().unwrap()))
                .await;
            conforms(&v, &views_dts, &["DataSourceViewObjectResponse"], "view");
            conforms(
                &v["parent"],
                &common,
                &["DatabaseParentResponse"],
                "view parent",
            );
            let cfg = &v["configuration"];
            let ty = cfg["type"].as_str().unwrap();
            conforms(
                cfg,
                &views_dts,
                &[&format!("{}ViewConfigResponse", pascal(ty))],
                "view configuration",
            );
            for p in cfg["properties"].as_array().into_iter().flatten() {
                conforms(
                    p,
                    &views_dts,
                    &["ViewPropertyConfigResponse"],
                    "view property",
                );
            }
            if let Some(g) = cfg.get("group_by") {
                let gty = g["type"].as_str().unwrap();
                conforms(
                    g,
                    &views_dts,
                    &[&format!("{}GroupByConfigResponse", pascal(gty))],
                    "group by",
                );
            }
            for so in v["sorts"].as_array().into_iter().flatten() {
                let name = if so.get("timestamp").is_some() {
                    "TimestampSortResponse"
                } else {
                    "PropertySortResponse"
                };
                conforms(so, &views_dts, &[name], "view sort");
            }
        }
    }
    let md = t.get(V2025, &format!("/v1/pages/{home}/markdown")).await;
    conforms(&md, &common, &["PageMarkdownResponse"], "page markdown");
}
