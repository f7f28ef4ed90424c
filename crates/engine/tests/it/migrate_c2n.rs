//! `migrate confluence-to-notion` against both twins: a generated space lands as nested Notion
//! pages with working links and uploaded attachments; re-runs write nothing; edits update
//! exactly the edited pages in place; killed and faulted runs converge without duplicates.

use std::collections::{BTreeMap, HashMap};

use kb_confluence::{Confluence, ContentQuery};
use kb_engine::migrate::{self, ConfluenceToNotion};
use kb_notion::{Notion, NotionConfig};
use kb_sim::{NotionWorkspaceConfig, SimConfig, SimHandle};
use serde_json::{Value, json};

use crate::migrate::notion;
use crate::support;

/// Both twins: a Confluence site of `pages` pages (three spaces) and a small Notion workspace.
pub(crate) async fn twins(pages: usize, seed: u64) -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = pages;
    cfg.workspace.seed = seed;
    cfg.notion.workspace = NotionWorkspaceConfig {
        pages: 3,
        depth: 2,
        rows: 2,
        users: 2,
    };
    cfg.notion.rate = None;
    kb_sim::start(cfg).await.expect("the twins start")
}

/// The space with the most current pages: (key, id, pages).
async fn biggest_space(c: &Confluence) -> (String, String, Vec<Value>) {
    let mut best: Option<(String, String, Vec<Value>)> = None;
    for s in c.spaces().unwrap().all().await.unwrap() {
        let id = s["id"].as_str().unwrap().to_string();
        let pages = c
            .space_pages(&id, &ContentQuery::default().statuses(&["current"]))
            .unwrap()
            .all()
            .await
            .unwrap();
        if best.as_ref().is_none_or(|b| b.2.len() < pages.len()) {
            best = Some((s["key"].as_str().unwrap().to_string(), id, pages));
        }
    }
    best.unwrap()
}

/// A fresh Notion page under "Team Home" that receives the migration.
pub(crate) async fn target(n: &Notion) -> String {
    let found = n.search(Some("Team Home"), Some("page")).await.unwrap();
    let home = found
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .expect("Team Home")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = n
        .create_page(
            json!({"page_id": home}),
            json!({"title": {"title": [{"text": {"content": "From Confluence"}}]}}),
            Vec::new(),
        )
        .await
        .unwrap();
    migrate::transform::norm_id(&page.id).unwrap()
}

fn opts(space: &str, to: &str) -> ConfluenceToNotion {
    ConfluenceToNotion {
        space: Some(space.to_string()),
        page: None,
        to: to.to_string(),
        plan_only: false,
        force: false,
    }
}

/// Titles of the `child_page` blocks under each Notion page of `ids` and under `to`.
async fn child_pages(
    n: &Notion,
    pages: impl Iterator<Item = String>,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for id in pages {
        let kids = n.children(&id).await.unwrap();
        let mut titles: Vec<String> = kids
            .iter()
            .filter(|b| b.kind == "child_page")
            .map(|b| {
                b.data
                    .as_ref()
                    .and_then(|d| d.title.clone())
                    .unwrap_or_default()
            })
            .collect();
        titles.sort();
        out.insert(id, titles);
    }
    out
}

/// Every Notion page holds exactly one `child_page` per child of its Confluence page, titled
/// like it, in the same set; `to` holds one per root.
pub(crate) async fn assert_tree(
    n: &Notion,
    to: &str,
    listed: &[Value],
    ids: &BTreeMap<String, String>,
) {
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    want.insert(to.to_string(), Vec::new());
    for id in ids.values() {
        want.insert(id.clone(), Vec::new());
    }
    for p in listed {
        let cid = p["id"].as_str().unwrap();
        let parent = p["parentId"]
            .as_str()
            .and_then(|pid| ids.get(pid))
            .cloned()
            .unwrap_or_else(|| to.to_string());
        want.get_mut(&parent)
            .unwrap()
            .push(p["title"].as_str().unwrap().to_string());
        assert!(ids.contains_key(cid), "page {cid} migrated");
    }
    for v in want.values_mut() {
        v.sort();
    }
    let got = child_pages(n, want.keys().cloned()).await;
    assert_eq!(got, want, "one Notion child page per Confluence child page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_space_becomes_notion_pages_and_reruns_write_nothing() {
    let sim = twins(150, 11).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let (key, _, listed) = biggest_space(&c).await;
    assert!(listed.len() >= 40, "{} pages in {key}", listed.len());
    let to = target(&n).await;

    // A plan reads and writes nothing.
    let mut o = opts(&key, &to);
    o.plan_only = true;
    let plan = migrate::c2n::run(&store, &n, &c, &o, None).await.unwrap();
    assert_eq!(plan.notion_plan.len(), listed.len());
    assert_eq!(plan.writes, 0);
    assert_eq!(
        plan.estimated_requests["notion_create_page"],
        listed.len() as u64
    );
    assert!(
        n.children(&to).await.unwrap().is_empty(),
        "a plan creates no page"
    );
    let planned_appends: u64 = plan.notion_plan.iter().map(|p| p.appends as u64).sum();

    let report = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .expect("migration");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!((report.created, report.pages), (listed.len(), listed.len()));
    assert_eq!(report.ids.len(), listed.len());
    assert!(report.links > 10, "{} internal links", report.links);
    assert!(report.files > 0, "{} files", report.files);
    assert_eq!(
        report.writes as u64,
        listed.len() as u64 + planned_appends + 2 * report.files as u64,
        "one create per page, the planned appends, two requests per upload"
    );
    assert_tree(&n, &to, &listed, &report.ids).await;
    eprintln!(
        "c2n: {} pages, {} links ({} kept as Confluence URLs), {} files, {} writes; requests {:?}; fallbacks {:?}",
        report.pages,
        report.links,
        report.external_links,
        report.files,
        report.writes,
        report.requests,
        report.fallbacks
    );

    let parity = migrate::verify::confluence_to_notion(&store, &n, &c, &opts(&key, &to))
        .await
        .unwrap();
    let bad: Vec<_> = parity.pages.iter().filter(|p| !p.ok()).take(3).collect();
    assert!(parity.ok, "{bad:#?}");
    let s = &parity.summary;
    assert_eq!(
        (s.present, s.text_equal, s.structure_equal),
        (s.pages, s.pages, s.pages)
    );
    assert_eq!(
        (s.links_resolved, s.files_attached),
        (report.links, report.files)
    );

    // The parity report is not vacuous: a Notion page changed by hand shows.
    let victim = parity.pages.iter().find(|p| p.links > 0).unwrap();
    let vid = victim.notion_id.clone();
    let first = n
        .children(&vid)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.kind != "child_page")
        .unwrap();
    n.delete_block(first.id.as_deref().unwrap()).await.unwrap();
    let parity = migrate::verify::confluence_to_notion(&store, &n, &c, &opts(&key, &to))
        .await
        .unwrap();
    let flagged: Vec<&str> = parity
        .pages
        .iter()
        .filter(|p| !p.ok())
        .map(|p| p.notion_id.as_str())
        .collect();
    assert_eq!(flagged, [vid.as_str()]);
    // A second run writes nothing (the hand edit stays: its source did not change) and reads
    // only the `--to` page, the space and its listing.
    let (n1, c1) = (n.stats().snapshot().requests, c.stats().requests);
    let again = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .unwrap();
    assert_eq!(
        (n.stats().snapshot().requests - n1, c.stats().requests - c1),
        (1, 2),
        "requests of an unchanged re-run"
    );
    assert_eq!(
        (again.writes, again.created, again.updated, again.files),
        (0, 0, 0, 0),
        "{again:?}"
    );
    // Once its source changes, the hand-edited page is a conflict, until --force.
    let victim_conf = victim.confluence_id.clone().unwrap();
    support::admin(
        &sim,
        &format!("pages/{victim_conf}/edit"),
        json!({"append": "<p>edited in Confluence after the Notion edit</p>"}),
    )
    .await;
    let conflicted = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .unwrap();
    assert_eq!(
        (conflicted.updated, conflicted.conflicts.len()),
        (0, 1),
        "{conflicted:?}"
    );
    let mut force = opts(&key, &to);
    force.force = true;
    let forced = migrate::c2n::run(&store, &n, &c, &force, None)
        .await
        .unwrap();
    assert_eq!(forced.updated, 1, "{forced:?}");

    // Five edited pages: exactly five updates, in place.
    let edited: Vec<String> = listed
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .filter(|id| *id != victim_conf)
        .step_by(7)
        .take(5)
        .collect();
    for id in &edited {
        support::admin(
            &sim,
            &format!("pages/{id}/edit"),
            json!({"append": format!("<p>Edited for kbridge test {id}</p>")}),
        )
        .await;
    }
    let third = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .unwrap();
    assert_eq!((third.created, third.updated), (0, 5), "{third:?}");
    assert!(
        third.errors.is_empty() && third.conflicts.is_empty(),
        "{third:?}"
    );
    assert_eq!(third.ids, report.ids, "the same Notion pages");
    for id in &edited {
        let tree = n.block_tree(&report.ids[id]).await.unwrap();
        let text = kb_doc::text::to_text(&kb_doc::notion::read_blocks(&tree));
        assert!(
            text.contains(&format!("Edited for kbridge test {id}")),
            "{text}"
        );
    }
    assert_tree(&n, &to, &listed, &report.ids).await;
    let parity = migrate::verify::confluence_to_notion(&store, &n, &c, &opts(&key, &to))
        .await
        .unwrap();
    let bad: Vec<_> = parity.pages.iter().filter(|p| !p.ok()).take(3).collect();
    assert!(parity.ok, "{bad:#?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_space_and_bad_target_name_the_fix() {
    let sim = twins(20, 3).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let to = target(&n).await;
    let e = migrate::c2n::run(&store, &n, &c, &opts("NOSUCHSPACE", &to), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("NOSUCHSPACE") && e.contains("check the key"),
        "{e}"
    );
    let (key, _, _) = biggest_space(&c).await;
    let e = migrate::c2n::run(
        &store,
        &n,
        &c,
        &opts(&key, "0123456789abcdef0123456789abcdef"),
        None,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("--to") && e.contains("share the page"), "{e}");
    let e = migrate::c2n::run(&store, &n, &c, &opts(&key, "not-an-id"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("32-character id"), "{e}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_page_and_its_descendants() {
    let sim = twins(60, 4).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let (key, _, listed) = biggest_space(&c).await;
    // The non-root page with the most descendants.
    let parent_of: HashMap<&str, &str> = listed
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["parentId"].as_str()?)))
        .collect();
    let below = |root: &str| -> Vec<String> {
        listed
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .filter(|id| {
                let mut at = *id;
                loop {
                    if at == root {
                        return true;
                    }
                    match parent_of.get(at) {
                        Some(p) => at = p,
                        None => return false,
                    }
                }
            })
            .map(str::to_string)
            .collect()
    };
    let root = listed
        .iter()
        .filter(|p| parent_of.contains_key(p["id"].as_str().unwrap()))
        .max_by_key(|p| below(p["id"].as_str().unwrap()).len())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut want = below(&root);
    want.sort();
    assert!(want.len() >= 2, "{root} has descendants");
    assert!(want.len() < listed.len(), "not the whole space");
    let to = target(&n).await;
    let o = ConfluenceToNotion {
        space: None,
        page: Some(root.clone()),
        to: to.clone(),
        plan_only: false,
        force: false,
    };
    let report = migrate::c2n::run(&store, &n, &c, &o, None).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.ids.keys().cloned().collect::<Vec<_>>(), want);
    // The root alone sits under `to`.
    let top = child_pages(&n, [to.clone()].into_iter()).await;
    assert_eq!(top[&to].len(), 1, "{top:?}");
    let parity = migrate::verify::confluence_to_notion(&store, &n, &c, &o)
        .await
        .unwrap();
    let bad: Vec<_> = parity.pages.iter().filter(|p| !p.ok()).take(3).collect();
    assert!(parity.ok, "{bad:#?}");
    assert_eq!(parity.pages.len(), want.len());
    let mut both = o.clone();
    both.space = Some(key);
    let e = migrate::c2n::run(&store, &n, &c, &both, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("either --space"), "{e}");
    sim.shutdown().await;
}

/// Run by [`killed_and_faulted_c2n_migrations_converge_without_duplicates`] as a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of killed_and_faulted_c2n_migrations_converge_without_duplicates"]
async fn child_migrate_c2n() {
    let (Some((n, c, store)), Ok(to), Ok(space)) = (
        support::child_clients().await,
        std::env::var("KB_CHILD_TO"),
        std::env::var("KB_CHILD_SPACE"),
    ) else {
        return;
    };
    let _ = migrate::c2n::run(&store, &n, &c, &opts(&space, &to), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_faulted_c2n_migrations_converge_without_duplicates() {
    let sim = twins(90, 8).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let (key, _, listed) = biggest_space(&c).await;
    let to = target(&n).await;
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.url()))
        .json(&json!({"plan": "429=0.05,503=0.02,reset=0.01,lost-answer=0.03:504"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kbridge.db");
    let store = kb_store::Store::open(path.to_str().unwrap()).await.unwrap();
    let scope = migrate::c2n::scope(&to);
    // Five kills at different moments: by states recorded (pages created, then bodies).
    let url = sim.url();
    let env: [(&str, &std::ffi::OsStr); 4] = [
        ("KB_CHILD_URL", url.as_ref()),
        ("KB_CHILD_STORE", path.as_os_str()),
        ("KB_CHILD_TO", to.as_ref()),
        ("KB_CHILD_SPACE", key.as_ref()),
    ];
    let thresholds: Vec<usize> = [0usize, 8, 20, 30, 40]
        .iter()
        .enumerate()
        .map(|(i, w)| w + i)
        .collect();
    let kills = support::kill_children(
        "migrate_c2n::child_migrate_c2n",
        &env,
        &thresholds,
        || async {
            let states: Vec<Value> = store
                .checkpoints()
                .await
                .unwrap()
                .into_iter()
                .filter(|c| c.scope == scope)
                .map(|c| c.value)
                .collect();
            // Creates first, then bodies: count both steps.
            states.len()
                + states
                    .iter()
                    .filter(|s| !s["hash"].is_null() || !s["writing"].is_null())
                    .count()
        },
    )
    .await;
    assert!(kills >= 3, "the child was killed mid-run {kills} times");
    let mut last = None;
    for _ in 0..5 {
        let r = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
            .await
            .unwrap();
        let clean = r.errors.is_empty();
        last = Some(r);
        if clean {
            break;
        }
    }
    let last = last.unwrap();
    assert!(last.errors.is_empty(), "{:?}", last.errors);
    assert!(last.conflicts.is_empty(), "{:?}", last.conflicts);
    assert_eq!(last.ids.len(), listed.len());
    eprintln!(
        "c2n after {kills} kills: {} pages, adopted {}",
        last.pages, last.adopted
    );
    let lost = support::writes_answered(&sim, 504).await;
    assert!(
        lost > 0,
        "no write lost its answer: the test did not exercise the echo rule"
    );
    // Faults off for the checks.
    reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.url()))
        .json(&json!({"plan": ""}))
        .send()
        .await
        .unwrap();
    assert_tree(&n, &to, &listed, &last.ids).await;
    let parity = migrate::verify::confluence_to_notion(&store, &n, &c, &opts(&key, &to))
        .await
        .unwrap();
    let bad: Vec<_> = parity.pages.iter().filter(|p| !p.ok()).take(3).collect();
    assert!(parity.ok, "{bad:#?}");
    assert!(parity.summary.files > 0 && parity.summary.links > 0);
    let again = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .unwrap();
    assert_eq!((again.writes, again.errors.len()), (0, 0), "{again:?}");
    let by_notion: HashMap<&String, &String> = last.ids.iter().map(|(k, v)| (v, k)).collect();
    assert_eq!(
        by_notion.len(),
        last.ids.len(),
        "one Notion page per Confluence page"
    );
    sim.shutdown().await;
}

/// Requests by endpoint, summed over statuses.
fn by_endpoint(stats: &BTreeMap<String, BTreeMap<u16, u64>>) -> BTreeMap<String, u64> {
    stats
        .iter()
        .map(|(k, v)| (k.clone(), v.values().sum()))
        .collect()
}

/// The figures of docs/benchmarks.md ("Migration: Confluence → Notion"): requests per migrated
/// page by kind against the minimum the APIs allow, and wall time against requests ÷ rate at
/// Notion's 3 requests/s. A benchmark, not a test: run it by hand (see the doc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: cargo test -p kb-engine --test it c2n_figures -- --ignored --nocapture"]
async fn c2n_figures() {
    // 1. Requests per page, clients unthrottled.
    let sim = twins(150, 11).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let (key, _, listed) = biggest_space(&c).await;
    let to = target(&n).await;
    let n0 = n.stats().snapshot();
    let c0 = c.stats();
    let mut o = opts(&key, &to);
    o.plan_only = true;
    let plan = migrate::c2n::run(&store, &n, &c, &o, None).await.unwrap();
    let appends: u64 = plan.notion_plan.iter().map(|p| p.appends as u64).sum();
    let with_files = plan.notion_plan.iter().filter(|p| p.files > 0).count();
    let files: usize = plan.notion_plan.iter().map(|p| p.files).sum();
    let before_n = by_endpoint(&n.stats().snapshot().by_endpoint);
    let before_c = by_endpoint(&c.stats().by_endpoint);
    let report = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let diff = |after: BTreeMap<String, u64>, before: &BTreeMap<String, u64>| {
        after
            .into_iter()
            .map(|(k, v)| {
                let b = before.get(&k).copied().unwrap_or(0);
                (k, v - b)
            })
            .filter(|(_, v)| *v > 0)
            .collect::<BTreeMap<_, _>>()
    };
    let nd = diff(by_endpoint(&n.stats().snapshot().by_endpoint), &before_n);
    let cd = diff(by_endpoint(&c.stats().by_endpoint), &before_c);
    let pages = report.pages as f64;
    println!(
        "## requests per page: {} pages, {files} files on {with_files} pages, {} links",
        report.pages, report.links
    );
    for (svc, m) in [("notion", &nd), ("confluence", &cd)] {
        for (k, v) in m.iter() {
            println!("| {svc} | {k} | {v} | {:.2} |", *v as f64 / pages);
        }
    }
    let min_notion = report.pages as u64 + appends + 2 * files as u64;
    let min_conf = listed.len().div_ceil(250) as u64 + with_files as u64 + files as u64;
    println!(
        "minimum: notion {min_notion} ({:.2}/page) = {} creates + {appends} appends + 2 × {files} uploads; confluence {min_conf} ({:.2}/page) = 1 listing with bodies per 250 pages + {with_files} attachment listings + {files} downloads",
        min_notion as f64 / pages,
        report.pages,
        min_conf as f64 / pages
    );
    println!(
        "run total: notion {} , confluence {} (plan before it: notion {}, confluence {})",
        nd.values().sum::<u64>(),
        cd.values().sum::<u64>(),
        n.stats().snapshot().requests - n0.requests - nd.values().sum::<u64>(),
        c.stats().requests - c0.requests - cd.values().sum::<u64>()
    );
    sim.shutdown().await;

    // 2. Wall time at Notion's limit (3 requests/s, the client's burst of 8) on a smaller tree.
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = 60;
    cfg.workspace.seed = 11;
    cfg.notion.workspace = NotionWorkspaceConfig {
        pages: 3,
        depth: 2,
        rows: 2,
        users: 2,
    };
    let sim = kb_sim::start(cfg).await.unwrap();
    let mut ncfg = NotionConfig::new(
        sim.notion_url().parse().unwrap(),
        sim.notion_token().to_string().into(),
    );
    ncfg.rate = 3.0;
    let n = Notion::new(ncfg).unwrap();
    let c = support::client(&sim);
    let (key, _, listed) = biggest_space(&c).await;
    let to = target(&n).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let r0 = n.stats().snapshot().requests;
    // Let the bucket refill so the run starts with a full burst, as a fresh process does.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let t = std::time::Instant::now();
    let report = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .unwrap();
    let wall = t.elapsed().as_secs_f64();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let reqs = n.stats().snapshot().requests - r0;
    println!(
        "## wall time: {} pages ({} in the space), {reqs} Notion requests, {} Confluence requests; wall {wall:.1} s; requests ÷ 3/s = {:.1} s; (requests − burst 8) ÷ 3/s = {:.1} s; 429s {}",
        report.pages,
        listed.len(),
        c.stats().requests,
        reqs as f64 / 3.0,
        (reqs as f64 - 8.0) / 3.0,
        n.stats().snapshot().rate_limited
    );
    sim.shutdown().await;
}

/// A body kbridge's reader cannot read fails that page in the report, with its id, in the plan,
/// the migration and verify; it never becomes a silently empty Notion page.
#[tokio::test]
async fn an_unreadable_body_fails_its_page_instead_of_becoming_empty() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    // Well-formed pages, and one whose storage does not parse (a `<strong>` closed by `</p>`).
    std::fs::write(
        corpus.join("a.xhtml"),
        "<p>Readable page about backups.</p>",
    )
    .unwrap();
    std::fs::write(
        corpus.join("b.xhtml"),
        "<h2>Plan</h2><p>Another readable page.</p>",
    )
    .unwrap();
    // A `<strong>` closed by `</p>`: read leniently, migrated, the recovery reported.
    std::fs::write(
        corpus.join("y.xhtml"),
        "<p>Broken <strong>since the import</p><p>tail</p>",
    )
    .unwrap();
    // Nested past the readers' depth limit: cannot be read at all.
    let deep = format!(
        "{}<p>deeply nested</p>{}",
        "<div>".repeat(300),
        "</div>".repeat(300)
    );
    std::fs::write(corpus.join("z.xhtml"), deep).unwrap();
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = 30;
    cfg.workspace.seed = 5;
    cfg.workspace.corpus = Some(std::sync::Arc::new(kb_sim::Corpus::load(&corpus).unwrap()));
    cfg.notion.workspace = NotionWorkspaceConfig {
        pages: 3,
        depth: 2,
        rows: 2,
        users: 2,
    };
    cfg.notion.rate = None;
    let sim = kb_sim::start(cfg).await.unwrap();
    let (n, c) = (notion(&sim), support::client(&sim));
    let store = support::sqlite(dir.path()).await;
    let (key, _, listed) = biggest_space(&c).await;
    let mut recoverable: Vec<String> = Vec::new();
    let broken: Vec<String> = {
        let mut v = Vec::new();
        for p in &listed {
            let id = p["id"].as_str().unwrap();
            let page = c.page_with_body(id).await.unwrap();
            if page["body"]["storage"]["value"]
                .as_str()
                .unwrap_or("")
                .contains("since the import")
            {
                recoverable.push(id.to_string());
            }
            if page["body"]["storage"]["value"]
                .as_str()
                .unwrap_or("")
                .contains("deeply nested")
            {
                v.push(id.to_string());
            }
        }
        v
    };
    assert!(
        !broken.is_empty(),
        "the corpus's broken body is in space {key}"
    );
    let to = target(&n).await;
    let report = migrate::c2n::run(&store, &n, &c, &opts(&key, &to), None)
        .await
        .unwrap();
    for id in &broken {
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains(id.as_str()) && e.contains("cannot be read")),
            "page {id} is reported: {:?}",
            report.errors
        );
    }
    assert_eq!(report.errors.len(), broken.len(), "{:?}", report.errors);
    assert!(
        !recoverable.is_empty(),
        "the malformed body is in space {key}"
    );
    for id in &recoverable {
        assert!(
            report
                .recoveries
                .iter()
                .any(|r| r.contains(id.as_str()) && r.contains("line 1, column")),
            "page {id}'s recovery is reported with its place: {:?}",
            report.recoveries
        );
    }
    let parity = migrate::verify::confluence_to_notion(&store, &n, &c, &opts(&key, &to))
        .await
        .unwrap();
    assert!(!parity.ok, "verify does not call an unreadable page OK");
    for id in &broken {
        let p = parity
            .pages
            .iter()
            .find(|p| p.confluence_id.as_deref() == Some(id.as_str()))
            .unwrap();
        assert!(!p.ok(), "{p:?}");
        assert!(
            p.problems.iter().any(|x| x.contains("cannot be read")),
            "{p:?}"
        );
    }
    let good = parity.pages.iter().filter(|p| p.ok()).count();
    assert_eq!(
        good,
        listed.len() - broken.len(),
        "every other page checks out"
    );
}
