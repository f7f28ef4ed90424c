//! Filters and mapping rules, one test each, on a replica of the twin (transformation rules
//! are unit tests in `src/transform.rs`).

use std::collections::BTreeSet;

use kb_km::{ImportOptions, KmConfig};
use kb_search::SearchIndex;
use kb_store::{Filter, Store};
use serde_json::Value;

use crate::support::{self, s};

struct Site {
    _sim: kb_sim::SimHandle,
    _dir: tempfile::TempDir,
    store: Store,
    d: Value,
}

async fn site(seed: u64) -> Site {
    let sim = support::twin(90, seed, false).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    kb_engine::extract::extract(&support::admin(&sim), &store, &Default::default(), None)
        .await
        .unwrap();
    let d = support::dataset(&sim).await;
    Site {
        _sim: sim,
        _dir: dir,
        store,
        d,
    }
}

async fn imported(site: &Site, cfg: &KmConfig, opts: &ImportOptions) -> BTreeSet<String> {
    let mut index = SearchIndex::in_memory().unwrap();
    let (_, counts) = kb_km::import_only(&site.store, &mut index, cfg, opts)
        .await
        .unwrap();
    assert_eq!(counts.failed, 0);
    site.store
        .ids("km_articles", &Filter::all())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Current pages and blog posts of the ground truth matching `keep`.
fn want(d: &Value, keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "current" && (c["type"] == "page" || c["type"] == "blogpost"))
        .filter(|c| keep(c))
        .map(|c| format!("{}:{}", s(&c["type"]), s(&c["id"])))
        .collect()
}

fn label_names(d: &Value, c: &Value) -> Vec<String> {
    c["labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| {
            d["labels"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == *l)
        })
        .map(|l| s(&l["name"]))
        .collect()
}

fn space_key(d: &Value, c: &Value) -> String {
    s(&d["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["id"] == c["spaceId"])
        .unwrap()["key"])
}

fn ancestors(d: &Value, c: &Value) -> Vec<String> {
    let all = d["contents"].as_array().unwrap();
    let mut out = Vec::new();
    let mut cur = c["parentId"].clone();
    while !cur.is_null() {
        out.push(s(&cur));
        cur = all
            .iter()
            .find(|x| x["id"] == cur)
            .map(|x| x["parentId"].clone())
            .unwrap_or(Value::Null);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_content_types() {
    let site = site(41).await;
    let mut cfg = KmConfig::default();
    cfg.filters.content_types = vec!["blogpost".into()];
    let got = imported(&site, &cfg, &Default::default()).await;
    assert_eq!(got, want(&site.d, |c| c["type"] == "blogpost"));
    assert!(!got.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_labels_include_and_exclude() {
    let site = site(42).await;
    let label = site.d["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| s(&l["name"]))
        .max_by_key(|n| want(&site.d, |c| label_names(&site.d, c).contains(n)).len())
        .unwrap();
    let mut cfg = KmConfig::default();
    cfg.filters.labels_include = vec![label.clone()];
    let inc = imported(&site, &cfg, &Default::default()).await;
    assert_eq!(
        inc,
        want(&site.d, |c| label_names(&site.d, c).contains(&label))
    );
    assert!(!inc.is_empty());
    let site = self::site(42).await;
    let mut cfg = KmConfig::default();
    cfg.filters.labels_exclude = vec![label.clone()];
    let exc = imported(&site, &cfg, &Default::default()).await;
    assert_eq!(
        exc,
        want(&site.d, |c| !label_names(&site.d, c).contains(&label))
    );
    assert!(exc.is_disjoint(&inc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_created_and_modified_after() {
    let site = site(43).await;
    let mut times: Vec<i64> = site.d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "current")
        .map(|c| c["createdAt"].as_i64().unwrap())
        .collect();
    times.sort();
    let mid = times[times.len() / 2];
    let mut cfg = KmConfig::default();
    cfg.filters.created_after = Some(kb_store::time::format_millis(mid));
    let got = imported(&site, &cfg, &Default::default()).await;
    assert_eq!(
        got,
        want(&site.d, |c| c["createdAt"].as_i64().unwrap() >= mid)
    );
    let site = self::site(43).await;
    let modified = |c: &Value| {
        c["versions"].as_array().unwrap().last().unwrap()["createdAt"]
            .as_i64()
            .unwrap()
    };
    let mut cfg = KmConfig::default();
    cfg.filters.modified_after = Some(kb_store::time::format_millis(mid));
    let got = imported(&site, &cfg, &Default::default()).await;
    assert_eq!(got, want(&site.d, |c| modified(c) >= mid));
    assert!(!got.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_spaces_include_and_exclude() {
    let site = site(44).await;
    let mut cfg = KmConfig::default();
    cfg.filters.spaces_include = vec!["ENG".into()];
    assert_eq!(
        imported(&site, &cfg, &Default::default()).await,
        want(&site.d, |c| space_key(&site.d, c) == "ENG")
    );
    let site = self::site(44).await;
    let mut cfg = KmConfig::default();
    cfg.filters.spaces_exclude = vec!["ENG".into()];
    assert_eq!(
        imported(&site, &cfg, &Default::default()).await,
        want(&site.d, |c| space_key(&site.d, c) != "ENG")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_subtrees_include_and_exclude() {
    let site = site(45).await;
    let all = site.d["contents"].as_array().unwrap();
    // A page with descendants, not a homepage.
    let root = all
        .iter()
        .filter(|c| c["type"] == "page" && !c["parentId"].is_null())
        .find(|c| {
            all.iter()
                .filter(|x| ancestors(&site.d, x).contains(&s(&c["id"])))
                .count()
                >= 3
        })
        .unwrap();
    let rid = s(&root["id"]);
    let under = |c: &Value| s(&c["id"]) == rid || ancestors(&site.d, c).contains(&rid);
    let mut cfg = KmConfig::default();
    cfg.filters.subtrees_include = vec![rid.clone()];
    assert_eq!(
        imported(&site, &cfg, &Default::default()).await,
        want(&site.d, under)
    );
    let site = self::site(45).await;
    let mut cfg = KmConfig::default();
    cfg.filters.subtrees_exclude = vec![rid.clone()];
    assert_eq!(
        imported(&site, &cfg, &Default::default()).await,
        want(&site.d, |c| !under(c))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_cql_escape_hatch() {
    let sim = support::twin(90, 46, false).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::in_memory().unwrap();
    let mut cfg = KmConfig::default();
    cfg.filters.cql = Some("space = OPS and type = page".into());
    let r = support::sync(&sim, &store, &mut index, &cfg, false).await;
    let d = support::dataset(&sim).await;
    let got: BTreeSet<String> = store
        .ids("km_articles", &Filter::all())
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        got,
        want(&d, |c| c["type"] == "page" && space_key(&d, c) == "OPS")
    );
    assert!(r.counts.skipped_by_filter > 0);
}

async fn article(site: &Site, cfg: &KmConfig, id: &str) -> serde_json::Map<String, Value> {
    imported(site, cfg, &Default::default()).await;
    site.store
        .rows_typed_where("km_articles", &Filter::all().eq("id", id))
        .await
        .unwrap()
        .remove(0)
}

fn a_page_with_history(d: &Value) -> Value {
    d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["type"] == "page"
                && c["status"] == "current"
                && !c["parentId"].is_null()
                && c["versions"].as_array().unwrap().len() > 1
                && c["versions"].as_array().unwrap().last().unwrap()["authorId"] != c["authorId"]
        })
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_author_updated_tags_and_category() {
    let site = site(47).await;
    let p = a_page_with_history(&site.d);
    let id = format!("page:{}", s(&p["id"]));
    let mut cfg = KmConfig::default();
    cfg.mapping.author = "last_modifier".into();
    cfg.mapping.updated = "created".into();
    cfg.mapping.tags = "none".into();
    cfg.mapping.category = "space_key".into();
    let a = article(&site, &cfg, &id).await;
    let last = p["versions"].as_array().unwrap().last().unwrap();
    assert_eq!(a["author"], last["authorId"]);
    assert_ne!(a["author"], p["authorId"]);
    assert_eq!(
        a["updated_at"],
        Value::String(kb_store::time::format_millis(
            p["createdAt"].as_i64().unwrap()
        ))
    );
    assert_eq!(a["tags"], serde_json::json!([]));
    assert_eq!(a["category"], Value::String(space_key(&site.d, &p)));
    // The parent's title as the category.
    cfg.mapping.category = "parent_title".into();
    let a = article(&site, &cfg, &id).await;
    let parent = site.d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == p["parentId"])
        .unwrap();
    assert_eq!(a["category"], parent["title"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_content_properties_become_custom_fields() {
    let site = site(48).await;
    let p = site.d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["status"] == "current"
                && c["type"] == "page"
                && c["properties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["key"] == "kbridge.sample")
        })
        .unwrap();
    let want = p["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "kbridge.sample")
        .unwrap()["value"]
        .clone();
    let mut cfg = KmConfig::default();
    cfg.mapping.content_properties = vec!["kbridge.sample".into()];
    let a = article(&site, &cfg, &format!("page:{}", s(&p["id"]))).await;
    assert_eq!(a["custom_fields"]["kbridge.sample"], want);
}

#[test]
fn a_bad_configuration_names_the_field_and_the_fix() {
    let e = KmConfig::from_toml("km.toml", "[km.mapping]\nauthor = \"editor\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("mapping.author") && e.contains("creator"), "{e}");
    let e = KmConfig::from_toml("km.toml", "[km]\nmax_delete_share = 3\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_delete_share"), "{e}");
    let e = KmConfig::from_toml("km.toml", "[km.filters]\nlabel = [\"x\"]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("label"), "{e}");
    let e = KmConfig::from_toml(
        "km.toml",
        "[[km.jobs]]\nname = \"x\"\nschedule = \"daily 25:00\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("25:00"), "{e}");
    let ok = KmConfig::from_toml("km.toml", "[km.filters]\nspaces_include = [\"ENG\"]\n[km.rules.macros]\njira = \"drop\"\n[[km.jobs]]\nname = \"c\"\nschedule = \"weekly mon 03:00\"\n").unwrap();
    assert_eq!(ok.filters.spaces_include, vec!["ENG".to_string()]);
}
