//! `extract` against the Confluence **Data Center** twin (`/confluence`, PAT auth, REST v1 with
//! offsets and `content/scan`, silently capped limits): the same store tables as Cloud, equal to
//! the same ground truth in Data Center's terms (users by user key, groups by name, numeric
//! attachment ids), in SQLite and PostgreSQL, then incremental. What Data Center 9.0's REST does
//! not offer is absent and said so: tasks, version histories (the current version only). Space
//! permissions come from the JSON-RPC remote API (`getSpacePermissionSets`) into the same
//! `space_permissions` rows as Cloud's.

use std::collections::BTreeMap;

use kb_confluence::{Confluence, ConfluenceConfig, Flavour};
use kb_engine::extract::{ExtractReport, extract};
use kb_store::Store;
use serde_json::{Value, json};

use crate::extract::{options, truth};
use crate::support::{self, Rows, diff_rows, stored};

/// A Data Center client of the twin's admin (its personal access token).
pub fn dc_client(sim: &kb_sim::SimHandle) -> Confluence {
    let c = &sim.credentials()[0];
    let mut cfg =
        ConfluenceConfig::data_center_pat(&sim.dc_url(), kb_sim::dc::pat_for(c).into()).unwrap();
    cfg.rate = 2000.0;
    cfg.concurrency = 8;
    cfg.retry = support::fast_retry(cfg.retry.clone());
    Confluence::new(cfg).unwrap()
}

async fn run_dc(sim: &kb_sim::SimHandle, store: &Store) -> ExtractReport {
    extract(&dc_client(sim), store, &options(), None)
        .await
        .expect("extract from Data Center")
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// The dataset as a Data Center site holds it: no folders (a page under one hangs under the
/// folder's parent).
fn without_folders(d: &Value) -> Value {
    let mut d = d.clone();
    let contents = d["contents"].as_array().unwrap().clone();
    let folder_parent: BTreeMap<String, Value> = contents
        .iter()
        .filter(|c| c["type"] == "folder")
        .map(|c| (s(&c["id"]), c["parentId"].clone()))
        .collect();
    let kept: Vec<Value> = contents
        .into_iter()
        .filter(|c| c["type"] != "folder")
        .map(|mut c| {
            while let Some(p) = folder_parent.get(&s(&c["parentId"])) {
                c["parentId"] = p.clone();
            }
            c
        })
        .collect();
    d["contents"] = Value::Array(kept);
    d
}

/// The Cloud ground truth in Data Center's terms.
fn dc_truth(d: &Value) -> BTreeMap<&'static str, (Vec<&'static str>, Vec<&'static str>, Rows)> {
    let d = &without_folders(d);
    let mut t = truth(d).tables;
    for gone in ["tasks", "space_permissions", "custom_content"] {
        t.remove(gone);
    }
    let group_names: BTreeMap<String, String> = d["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (s(&g["id"]), s(&g["name"])))
        .collect();
    // Space permissions from JSON-RPC: users by user key, groups by name, one row per
    // (operation, target, principal).
    let mut perms = Rows::new();
    for sp in d["spaces"].as_array().unwrap() {
        for p in sp["permissions"].as_array().unwrap() {
            let ptype = s(&p["principalType"]);
            let pid = match ptype.as_str() {
                "user" => json!(kb_sim::dc::user_key(&s(&p["principalId"]))),
                "group" => json!(group_names[&s(&p["principalId"])]),
                _ => Value::Null,
            };
            let (op, target) = (s(&p["operation"]), s(&p["targetType"]));
            let id = format!("{op}:{target}:{ptype}:{}", pid.as_str().unwrap_or_default());
            let cols: BTreeMap<String, Value> = [
                ("principal_type".to_string(), json!(ptype)),
                ("principal_id".to_string(), pid),
                ("operation_key".to_string(), json!(op)),
                ("operation_target_type".to_string(), json!(target)),
            ]
            .into_iter()
            .collect();
            perms.insert(format!("{}/{id}", s(&sp["id"])), cols);
        }
    }
    // CQL searches current content only: attachments and comments of archived or trashed
    // pages are not found on Data Center (said in docs/datacenter.md).
    let live: std::collections::BTreeSet<String> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "current")
        .map(|c| s(&c["id"]))
        .collect();
    let comment_root: BTreeMap<String, String> = {
        let all: BTreeMap<String, &Value> = d["comments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (s(&c["id"]), c))
            .collect();
        all.iter()
            .map(|(id, c)| {
                let mut root = *c;
                while let Some(p) = all.get(&s(&root["parentCommentId"])) {
                    root = p;
                }
                (id.clone(), s(&root["containerId"]))
            })
            .collect()
    };
    let attachment_home: BTreeMap<String, String> = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (s(&a["id"]), s(&a["containerId"])))
        .collect();
    let user_key = |v: &Value| match v {
        Value::String(a) => json!(kb_sim::dc::user_key(a)),
        v => v.clone(),
    };
    for (table, (_, _, rows)) in t.iter_mut() {
        let old = std::mem::take(rows);
        if *table == "space_permissions" {
            continue;
        }
        // Version histories: the current version only (no listing in 9.0's REST).
        let newest: BTreeMap<String, i64> = if table.ends_with("_versions") {
            let mut m = BTreeMap::new();
            for k in old.keys() {
                let (owner, n) = k.rsplit_once('/').unwrap();
                let n: i64 = n.parse().unwrap();
                let e = m.entry(owner.to_string()).or_insert(n);
                *e = (*e).max(n);
            }
            m
        } else {
            BTreeMap::new()
        };
        for (k, mut cols) in old {
            let mut parts: Vec<String> = k.split('/').map(str::to_string).collect();
            if table.ends_with("_versions") {
                let n: i64 = parts[1].parse().unwrap();
                if newest.get(&parts[0]) != Some(&n) {
                    continue;
                }
            }
            if table.starts_with("attachment") {
                parts[0] = parts[0].trim_start_matches("att").to_string();
                if !live.contains(&attachment_home[&parts[0]]) {
                    continue;
                }
            }
            if table.contains("_comments") && !live.contains(&comment_root[&parts[0]]) {
                continue;
            }
            if *table == "space_properties" {
                // Known by key on Data Center (a space property has no id there).
                parts[1] = s(&cols["key"]);
            }
            if *table == "content_restrictions" {
                parts[3] = match parts[2].as_str() {
                    "user" => kb_sim::dc::user_key(&parts[3]),
                    _ => group_names[&parts[3]].clone(),
                };
            }
            if *table == "groups" {
                parts[0] = group_names[&parts[0]].clone();
            }
            if *table == "group_members" {
                parts[0] = group_names[&parts[0]].clone();
                parts[1] = s(&user_key(&json!(parts[1])));
            }
            for (c, v) in cols.iter_mut() {
                if c.ends_with("author_id") {
                    *v = user_key(v);
                }
            }
            rows.insert(parts.join("/"), cols);
        }
    }
    t.insert(
        "space_permissions",
        (
            vec!["space_id", "id"],
            vec![
                "principal_type",
                "principal_id",
                "operation_key",
                "operation_target_type",
            ],
            perms,
        ),
    );
    t
}

async fn assert_dc_replica(store: &Store, d: &Value) {
    let mut errors = Vec::new();
    for (table, (key, cols, want)) in &dc_truth(d) {
        let got = stored(store, table, key, cols).await;
        errors.extend(diff_rows(table, &got, want));
    }
    for absent in ["tasks", "custom_content"] {
        let got = stored(store, absent, &["id"], &[]).await;
        assert!(got.is_empty(), "{absent} on Data Center: {got:?}");
    }
    assert!(
        errors.is_empty(),
        "the Data Center replica differs from the ground truth:\n{}",
        errors.join("\n")
    );
}

async fn full_then_incremental(store: &Store) {
    let sim = support::twin(160, 5).await;
    let client = dc_client(&sim);
    let report = run_dc(&sim, store).await;
    assert_eq!(client.flavour(), Flavour::DataCenter);
    assert!(!report.incremental);
    // Paged by offsets and the scan, and never a v2 or /wiki request.
    assert!(
        report
            .requests
            .keys()
            .all(|e| !e.contains("/wiki") && !e.contains("/api/v2")),
        "{:?}",
        report.requests.keys()
    );
    for route in [
        "/confluence/rest/api/content/scan",
        "/confluence/rpc/json-rpc/confluenceservice-v2",
    ] {
        assert!(
            report.requests.keys().any(|e| e.contains(route)),
            "{route}: {:?}",
            report.requests
        );
    }
    // What Data Center cannot give is said (once per run), not silently missing; space
    // permissions are read (JSON-RPC), so no warning about them.
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.contains("Data Center") && w.contains("archived or trashed")),
        "{:?}",
        report.warnings
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("archived or trashed")),
        "{:?}",
        report.warnings
    );
    let d = support::dataset(&sim).await;
    assert_dc_replica(store, &d).await;
    // The flavour and the server's version are recorded beside the site's checkpoints.
    let site = store
        .checkpoint(&format!("confluence:{}", sim.dc_url()), "site")
        .await
        .unwrap()
        .expect("the site is recorded");
    assert_eq!(site["flavour"], "dc");
    assert_eq!(site["version"], kb_sim::dc::VERSION);

    // An edit, then an incremental run: the CQL window finds it.
    let page = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "page" && c["status"] == "current")
        .unwrap()
        .clone();
    support::admin(
        &sim,
        &format!("pages/{}/edit", s(&page["id"])),
        json!({"title": "Edited on Data Center"}),
    )
    .await;
    let again = run_dc(&sim, store).await;
    assert!(again.incremental);
    assert!(again.requests_total * 5 < report.requests_total);
    let titles = store
        .select(
            "pages",
            &["title"],
            &kb_store::Filter::all().eq("id", s(&page["id"]).as_str()),
        )
        .await
        .unwrap();
    assert_eq!(titles[0][0], json!("Edited on Data Center"));
    assert_dc_replica(store, &support::dataset(&sim).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_extract_into_sqlite_equals_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    full_then_incremental(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_extract_into_postgres_equals_the_ground_truth() {
    let Some(store) = support::postgres("extract_dc").await else {
        return;
    };
    full_then_incremental(&store).await;
}
