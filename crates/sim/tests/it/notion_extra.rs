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

/// The page (in the ground truth) whose content holds every generated block type.
fn richest_page(ds: &Value) -> Value {
    let blocks = ds["blocks"].as_array().unwrap();
    ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["parent"]["type"] != "database")
        .max_by_key(|p| {
            let kinds: std::collections::BTreeSet<&str> = p["children"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|k| blocks.iter().find(|b| b["id"] == *k))
                .map(|b| b["type"].as_str().unwrap())
                .collect();
            kinds.len()
        })
        .unwrap()
        .clone()
}

fn plain_of(rt: &Value) -> String {
    rt.as_array()
        .unwrap()
        .iter()
        .map(|r| r["plain_text"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn a_page_reads_as_enhanced_markdown_block_by_block() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let blocks = ds["blocks"].as_array().unwrap();
    let block = |id: &Value| blocks.iter().find(|b| b["id"] == *id).cloned();
    let page = richest_page(&ds);
    let id = page_id(&page);
    let md = bare(t.get(V2025, &format!("/v1/pages/{id}/markdown")).await);
    assert_eq!(md["object"], "page_markdown");
    assert_eq!(md["id"], id.as_str());
    assert_eq!(md["truncated"], false);
    assert_eq!(md["unknown_block_ids"], json!([]));
    let text = md["markdown"].as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Every top-level block of the ground truth has its line, in order, at indentation 0.
    let mut at = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for k in page["children"].as_array().unwrap() {
        let Some(b) = block(k) else {
            // A subpage or a child database.
            let sub = ds["pages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == *k);
            if let Some(sub) = sub {
                let title = plain_of(&sub["props"]["title"]);
                let want = format!(">{title}</page>");
                let i = lines[at..]
                    .iter()
                    .position(|l| {
                        l.starts_with("<page url=\"https://www.notion.so/") && l.ends_with(&want)
                    })
                    .unwrap_or_else(|| panic!("subpage {title} after line {at}:\n{text}"));
                at += i + 1;
            }
            continue;
        };
        let kind = b["type"].as_str().unwrap();
        kinds.insert(kind.to_string());
        let d = &b["data"];
        let expect: Box<dyn Fn(&str) -> bool> = match kind {
            "heading_1" | "heading_3" => {
                let hashes = if kind == "heading_1" { "#" } else { "###" };
                let s = format!("{hashes} {}", plain_of(&d["rich_text"]));
                Box::new(move |l: &str| l.starts_with(&s))
            }
            "heading_2" => {
                let s = format!("## {}", plain_of(&d["rich_text"]));
                let tog = d["is_toggleable"] == true;
                Box::new(move |l: &str| {
                    l.starts_with(&s) && l.ends_with("{toggle=\"true\"}") == tog
                })
            }
            "bulleted_list_item" => {
                let s = format!("- {}", plain_of(&d["rich_text"]));
                Box::new(move |l: &str| l == s)
            }
            "numbered_list_item" => {
                let s = format!("1. {}", plain_of(&d["rich_text"]));
                Box::new(move |l: &str| l == s)
            }
            "to_do" => {
                let x = if d["checked"] == true { "x" } else { " " };
                let s = format!("- [{x}] {}", plain_of(&d["rich_text"]));
                Box::new(move |l: &str| l == s)
            }
            "code" => {
                let s = format!("```{}", d["language"].as_str().unwrap());
                Box::new(move |l: &str| l == s)
            }
            "equation" => Box::new(|l: &str| l == "$$"),
            "divider" => Box::new(|l: &str| l == "---"),
            "callout" => {
                let e = d["icon"]["emoji"].as_str().unwrap().to_string();
                Box::new(move |l: &str| l.starts_with(&format!("<callout icon=\"{e}\"")))
            }
            "toggle" => Box::new(|l: &str| l.starts_with("<details")),
            "column_list" => Box::new(|l: &str| l == "<columns>"),
            "table" => Box::new(|l: &str| l.starts_with("<table header-row=\"true\"")),
            "image" => {
                Box::new(|l: &str| l.starts_with("![A diagram](http") && l.contains("/__files/"))
            }
            "file" => Box::new(|l: &str| l.starts_with("<file src=\"http")),
            "bookmark" => {
                let u = format!("<bookmark url=\"{}\"", d["url"].as_str().unwrap());
                Box::new(move |l: &str| l.starts_with(&u))
            }
            "link_to_page" => Box::new(|l: &str| l.starts_with("<mention-page url=")),
            "table_of_contents" => Box::new(|l: &str| l == "<table_of_contents/>"),
            "synced_block" => Box::new(|l: &str| l.starts_with("<synced_block url=")),
            "quote" => {
                let s = format!("> {}", plain_of(&d["rich_text"]));
                Box::new(move |l: &str| l == s)
            }
            // Paragraphs: mentions become tags, so only plain runs are compared.
            _ => {
                let first = d["rich_text"][0]["plain_text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                Box::new(move |l: &str| !l.starts_with('\t') && l.starts_with(&first))
            }
        };
        let i = lines[at..]
            .iter()
            .position(|l| !l.starts_with('\t') && expect(l))
            .unwrap_or_else(|| {
                panic!(
                    "{kind} block {} not found after line {at}:\n{text}",
                    b["id"]
                )
            });
        at += i + 1;
    }
    for k in [
        "heading_1",
        "to_do",
        "code",
        "callout",
        "toggle",
        "table",
        "column_list",
        "image",
    ] {
        assert!(kinds.contains(k), "the page has a {k} block: {kinds:?}");
    }
    // Nesting: a nested bullet is one tab in, its child two; mentions are tags; markup escaped.
    assert!(lines.iter().any(|l| l.starts_with("\t- ")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("\t\t- ")), "{text}");
    assert!(text.contains("<mention-user url=\"user://"), "{text}");
    assert!(
        text.contains("<mention-date start=\"2025-06-30\"/>"),
        "{text}"
    );
    assert!(text.contains("**bold "), "{text}");
    // Spaces stay outside the markers, so the emphasis still parses.
    assert!(
        text.contains("**(important)**") && !text.contains("** ("),
        "{text}"
    );
    assert!(
        text.contains("~~struck~~") && text.contains("`code`"),
        "{text}"
    );
    assert!(text.contains("<td>Owner</td>"), "{text}");
    // After an edit through the API the markdown follows.
    let first_para = page["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(&block)
        .find(|b| b["type"] == "paragraph")
        .unwrap();
    let pid = first_para["id"].as_str().unwrap();
    t.ok(
        V2025,
        Method::PATCH,
        &format!("/v1/blocks/{pid}"),
        Some(&json!({"paragraph": {"rich_text": [{"type": "text", "text": {"content": "Edited: a*b [x] <y>"}}]}})),
    )
    .await;
    let md = t.get(V2025, &format!("/v1/pages/{id}/markdown")).await;
    assert!(
        md["markdown"]
            .as_str()
            .unwrap()
            .lines()
            .any(|l| l == "Edited: a\\*b \\[x\\] \\<y\\>"),
        "{}",
        md["markdown"]
    );
    // A block id answers its subtree; unknown ids, trashed pages and bad flags are errors.
    let toggle = page["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(&block)
        .find(|b| b["type"] == "toggle")
        .unwrap();
    let tid = toggle["id"].as_str().unwrap();
    let sub = t.get(V2025, &format!("/v1/pages/{tid}/markdown")).await;
    let sub_md = sub["markdown"].as_str().unwrap();
    assert!(
        sub_md.starts_with("<details>\n<summary>More</summary>\n\t"),
        "{sub_md}"
    );
    assert!(sub_md.ends_with("</details>"), "{sub_md}");
    let missing = "00000000-0000-4000-8000-000000000000";
    t.fails(
        V2025,
        Method::GET,
        &format!("/v1/pages/{missing}/markdown"),
        None,
        404,
        "object_not_found",
    )
    .await;
    t.fails(
        V2025,
        Method::GET,
        &format!("/v1/pages/{id}/markdown?include_transcript=maybe"),
        None,
        400,
        "validation_error",
    )
    .await;
    t.ok(
        V2025,
        Method::PATCH,
        &format!("/v1/pages/{id}"),
        Some(&json!({"in_trash": true})),
    )
    .await;
    t.fails(
        V2025,
        Method::GET,
        &format!("/v1/pages/{id}/markdown"),
        None,
        404,
        "object_not_found",
    )
    .await;
}

#[tokio::test]
async fn views_list_and_retrieve_in_the_2025_shapes() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    for d in ds["databases"].as_array().unwrap() {
        let db_id = d["id"].as_str().unwrap();
        let src = d["data_source_id"].as_str().unwrap();
        let first = bare(
            t.get(V2025, &format!("/v1/views?database_id={db_id}&page_size=1"))
                .await,
        );
        assert_eq!(first["object"], "list");
        assert_eq!(first["type"], "view");
        assert_eq!(first["view"], json!({}));
        assert_eq!(first["results"].as_array().unwrap().len(), 1);
        let mut refs = t
            .collect_get(V2025, &format!("/v1/views?database_id={db_id}"), 1)
            .await;
        let by_source = t
            .collect_get(V2025, &format!("/v1/views?data_source_id={src}"), 100)
            .await;
        assert_eq!(ids(&refs), ids(&by_source));
        let selects: Vec<&Value> = d["properties"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == "select" || p["type"] == "status")
            .collect();
        assert_eq!(refs.len(), 1 + usize::from(!selects.is_empty()), "{refs:?}");
        for r in &mut refs {
            assert_eq!(
                r.as_object().unwrap().len(),
                2,
                "a reference is {{object, id}}: {r}"
            );
            assert_eq!(r["object"], "view");
            let v = bare(
                t.get(V2025, &format!("/v1/views/{}", r["id"].as_str().unwrap()))
                    .await,
            );
            assert_eq!(v["object"], "view");
            assert_eq!(v["id"], r["id"]);
            assert_eq!(
                v["parent"],
                json!({"type": "database_id", "database_id": db_id})
            );
            assert_eq!(v["data_source_id"], src);
            assert!(v["url"].as_str().unwrap().contains(&db_id.replace('-', "")));
            assert_eq!(v["configuration"]["type"], v["type"]);
            match v["type"].as_str().unwrap() {
                "table" => {
                    let shown: Vec<&Value> = v["configuration"]["properties"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| &p["property_id"])
                        .collect();
                    let all: Vec<&Value> = d["properties"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| &p["id"])
                        .collect();
                    assert_eq!(shown, all, "the default table shows every property");
                }
                "board" => {
                    let g = &v["configuration"]["group_by"];
                    assert_eq!(g["property_id"], selects[0]["id"]);
                    assert_eq!(g["type"], selects[0]["type"]);
                }
                other => panic!("unexpected view type {other}"),
            }
        }
        // Stable: the same ids on a second listing.
        let again = t
            .collect_get(V2025, &format!("/v1/views?database_id={db_id}"), 100)
            .await;
        assert_eq!(ids(&again), ids(&refs));
    }
    let missing = "00000000-0000-4000-8000-000000000000";
    t.fails(
        V2025,
        Method::GET,
        "/v1/views",
        None,
        400,
        "validation_error",
    )
    .await;
    t.fails(
        V2025,
        Method::GET,
        &format!("/v1/views?database_id={missing}"),
        None,
        404,
        "object_not_found",
    )
    .await;
    t.fails(
        V2025,
        Method::GET,
        &format!("/v1/views/{missing}"),
        None,
        404,
        "object_not_found",
    )
    .await;
    let d0 = ds["databases"][0]["id"].as_str().unwrap();
    t.fails(
        V2022,
        Method::GET,
        &format!("/v1/views?database_id={d0}"),
        None,
        400,
        "validation_error",
    )
    .await;
}

/// Rows of a ground-truth database whose related pages (through relation `rel`) meet `f`.
fn related<'a>(ds: &'a Value, row: &Value, rel: &str) -> Vec<&'a Value> {
    row["props"][rel]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|id| {
                    ds["pages"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|p| p["id"] == *id && p["in_trash"] == false)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn query_ids(t: &NTwin, src: &str, filter: Value) -> Vec<String> {
    let mut got = ids(&t
        .collect_post(
            V2025,
            &format!("/v1/data_sources/{src}/query"),
            &json!({"filter": filter}),
            100,
        )
        .await);
    got.sort();
    got
}

#[tokio::test]
async fn rollup_filters_match_the_ground_truth() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let projects = db(&ds, "Projects");
    let tasks = db(&ds, "Tasks");
    let (p_src, k_src) = (
        projects["data_source_id"].as_str().unwrap(),
        tasks["data_source_id"].as_str().unwrap(),
    );
    let (p_tasks, k_hours, k_due) = (
        prop_id(projects, "Tasks"),
        prop_id(tasks, "Hours"),
        prop_id(tasks, "Due"),
    );
    let (k_project, p_status) = (prop_id(tasks, "Project"), prop_id(projects, "Status"));
    let p_rows: Vec<&Value> = rows(&ds, projects["id"].as_str().unwrap())
        .into_iter()
        .filter(|p| p["in_trash"] == false)
        .collect();
    let k_rows: Vec<&Value> = rows(&ds, tasks["id"].as_str().unwrap())
        .into_iter()
        .filter(|p| p["in_trash"] == false)
        .collect();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // A number rollup (sum of the tasks' hours), against a threshold in the middle.
    let hours = |p: &Value| -> f64 {
        related(&ds, p, &p_tasks)
            .iter()
            .filter_map(|k| k["props"][&k_hours].as_f64())
            .sum()
    };
    let mut all: Vec<f64> = p_rows.iter().map(|p| hours(p)).collect();
    all.sort_by(f64::total_cmp);
    let mid = all[all.len() / 2];
    let want = sorted(
        p_rows
            .iter()
            .filter(|p| hours(p) > mid)
            .map(|p| page_id(p))
            .collect(),
    );
    assert!(
        !want.is_empty() && want.len() < p_rows.len(),
        "the threshold splits the rows"
    );
    let f = json!({"property": "Total hours", "rollup": {"number": {"greater_than": mid}}});
    assert_eq!(query_ids(&t, p_src, f).await, want);
    // A date rollup (latest due date of the tasks).
    let latest = |p: &Value| -> Option<String> {
        related(&ds, p, &p_tasks)
            .iter()
            .filter_map(|k| k["props"][&k_due]["start"].as_str().map(str::to_string))
            .max()
    };
    let mut dates: Vec<String> = p_rows.iter().filter_map(|p| latest(p)).collect();
    dates.sort();
    let day = dates[dates.len() / 2][..10].to_string();
    let want = sorted(
        p_rows
            .iter()
            .filter(|p| latest(p).is_some_and(|d| d[..10] >= *day))
            .map(|p| page_id(p))
            .collect(),
    );
    let f = json!({"property": "Latest task due", "rollup": {"date": {"on_or_after": day}}});
    assert_eq!(query_ids(&t, p_src, f).await, want);
    // An array rollup (show_original of the project's status): any, every, none.
    let status_of = |k: &Value| -> Vec<String> {
        related(&ds, k, &k_project)
            .iter()
            .map(|p| {
                p["props"][&p_status]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    let name = status_of(k_rows.iter().find(|k| !status_of(k).is_empty()).unwrap())[0].clone();
    let ty = projects["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Status")
        .unwrap()["type"]
        .as_str()
        .unwrap()
        .to_string();
    for (mode, pick) in [
        (
            "any",
            (|s: &[String], n: &str| s.iter().any(|x| x == n)) as fn(&[String], &str) -> bool,
        ),
        ("every", |s, n| s.iter().all(|x| x == n)),
        ("none", |s, n| !s.iter().any(|x| x == n)),
    ] {
        let want = sorted(
            k_rows
                .iter()
                .filter(|k| pick(&status_of(k), &name))
                .map(|k| page_id(k))
                .collect(),
        );
        let f =
            json!({"property": "Project status", "rollup": {mode: {ty.clone(): {"equals": name}}}});
        assert_eq!(query_ids(&t, k_src, f).await, want, "rollup {mode}");
    }
    // Combined with other filters in a compound.
    let f = json!({"and": [
        {"property": "Total hours", "rollup": {"number": {"greater_than": mid}}},
        {"property": "Total hours", "rollup": {"number": {"less_than_or_equal_to": mid * 2.0 + 1.0}}},
    ]});
    let want = sorted(
        p_rows
            .iter()
            .filter(|p| hours(p) > mid && hours(p) <= mid * 2.0 + 1.0)
            .map(|p| page_id(p))
            .collect(),
    );
    assert_eq!(query_ids(&t, p_src, f).await, want);
    // Bad rollup filters are 400s that name the part.
    for (f, part) in [
        (
            json!({"property": "Total hours", "rollup": {"sometimes": {}}}),
            "sometimes",
        ),
        (
            json!({"property": "Total hours", "rollup": {"any": {"bogus": {"equals": 1}}}}),
            "bogus",
        ),
        (
            json!({"property": "Total hours", "rollup": {"number": {"matches": 1}}}),
            "matches",
        ),
        (
            json!({"property": "Total hours", "rollup": {}}),
            "exactly one",
        ),
    ] {
        let msg = t
            .fails(
                V2025,
                Method::POST,
                &format!("/v1/data_sources/{p_src}/query"),
                Some(&json!({"filter": f})),
                400,
                "validation_error",
            )
            .await;
        assert!(msg.contains(part), "{msg}");
    }
}
