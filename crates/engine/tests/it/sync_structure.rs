//! Structure in two-way sync: moves, trashes and restores a human makes on one side (through
//! the service's own API, by raw HTTP) are mirrored on the other; an incremental poll sees
//! none of the trashes and no Confluence move, the periodic reconcile does.

use kb_engine::sync::{self, SyncContext, SyncReport};
use serde_json::{Value, json};

use crate::migrate::{notion, twins};
use crate::support;
use crate::sync_pass::{Clock, Human, linked, linked_with};

/// Past the link's reconcile interval (10 minutes).
const PAST_RECONCILE: i64 = 11 * 60;

impl Human {
    async fn notion_page(&self, id: &str) -> Value {
        self.notion(reqwest::Method::GET, &format!("pages/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn notion_move(&self, id: &str, parent: &str) {
        let r = self
            .notion(reqwest::Method::POST, &format!("pages/{id}/move"))
            .json(&json!({"parent": {"type": "page_id", "page_id": parent}}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    async fn notion_trash(&self, id: &str, trash: bool) {
        let r = self
            .notion(reqwest::Method::PATCH, &format!("pages/{id}"))
            .json(&json!({ "in_trash": trash }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// A Confluence page in any state (current or trashed).
    async fn conf_any(&self, id: &str) -> Value {
        self.http
            .get(format!(
                "{}/api/v2/pages/{id}?status=current&status=trashed",
                self.conf_url
            ))
            .basic_auth(&self.email, Some(&self.token))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn conf_move(&self, id: &str, target: &str) {
        let base = self.conf_url.trim_end_matches("/wiki").to_string();
        let r = self
            .http
            .put(format!(
                "{base}/wiki/rest/api/content/{id}/move/append/{target}"
            ))
            .basic_auth(&self.email, Some(&self.token))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    async fn conf_trash(&self, id: &str) {
        let r = self
            .http
            .delete(format!("{}/api/v2/pages/{id}", self.conf_url))
            .basic_auth(&self.email, Some(&self.token))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    async fn conf_restore(&self, id: &str) {
        let p = self.conf_any(id).await;
        assert_eq!(p["status"], "trashed", "{p}");
        let r = self
            .http
            .put(format!("{}/api/v2/pages/{id}", self.conf_url))
            .basic_auth(&self.email, Some(&self.token))
            .json(&json!({
                "id": id, "status": "current", "title": p["title"],
                "body": {"representation": "storage", "value": ""},
                "version": {"number": p["version"]["number"].as_u64().unwrap() + 1},
            }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
}

fn norm(id: &str) -> String {
    kb_engine::migrate::transform::norm_id(id).unwrap()
}

fn notion_parent(p: &Value) -> String {
    norm(p["parent"]["page_id"].as_str().expect("a page parent"))
}

fn writes(r: &SyncReport) -> usize {
    r.to_notion
        + r.to_confluence
        + r.moved_in_notion
        + r.moved_in_confluence
        + r.trashed_in_notion
        + r.trashed_in_confluence
        + r.restored_in_notion
        + r.restored_in_confluence
        + r.created_in_notion
        + r.created_in_confluence
}

async fn pairs(store: &kb_store::Store) -> Vec<sync::Pair> {
    sync::state::load_pairs(store, "docs").await.unwrap()
}

/// The pairs below Notion page `top` (by the recorded parents), `top` excluded.
fn below(ps: &[sync::Pair], top: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut frontier = vec![top.to_string()];
    while let Some(t) = frontier.pop() {
        for p in ps.iter().filter(|p| p.state.notion_parent == t) {
            out.push(p.notion_id.clone());
            frontier.push(p.notion_id.clone());
        }
    }
    out
}

async fn structure_on_either_side_is_mirrored(store: kb_store::Store) {
    let sim = twins(30, 0).await;
    let clock = Clock::default();
    let (root, croot, _) = linked(&sim, &store, &clock).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let h = Human::new(&sim);
    // Settle the first passes (the root's edit minute).
    clock.minute_later(&sim).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let ps = pairs(&store).await;
    let kids: Vec<&sync::Pair> = ps
        .iter()
        .filter(|p| p.state.notion_parent == root)
        .collect();
    assert!(
        kids.len() >= 2,
        "the root has two child pages: {}",
        kids.len()
    );
    // A: a child of the root without children of its own; B: another child, with some.
    let a = kids
        .iter()
        .find(|p| below(&ps, &p.notion_id).is_empty())
        .expect("a leaf child of the root");
    let b = kids
        .iter()
        .filter(|p| p.notion_id != a.notion_id)
        .max_by_key(|p| below(&ps, &p.notion_id).len())
        .unwrap();
    let (a_n, a_c, b_n, b_c) = (
        a.notion_id.clone(),
        a.confluence_id.clone(),
        b.notion_id.clone(),
        b.confluence_id.clone(),
    );
    let b_below = below(&ps, &b_n);

    // 1. Moved in Notion (A under B): the next poll moves it in Confluence.
    h.notion_move(&a_n, &b_n).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(!r.reconciled);
    assert_eq!((r.moved_in_confluence, writes(&r)), (1, 1), "{r:?}");
    assert_eq!(h.conf_page(&a_c).await["parentId"], b_c.as_str());
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!(writes(&r), 0, "no echo: {r:?}");

    // 2. Moved back in Confluence (v1 move: no new version, so no lastmodified to find it
    // by unless the page was listed anyway): the reconcile finds it, and moves it in Notion.
    let version = h.conf_page(&a_c).await["version"]["number"].clone();
    h.conf_move(&a_c, &croot).await;
    assert_eq!(h.conf_page(&a_c).await["version"]["number"], version);
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.reconciled, "{r:?}");
    assert_eq!((r.moved_in_notion, writes(&r)), (1, 1), "{r:?}");
    assert_eq!(notion_parent(&h.notion_page(&a_n).await), root);
    // The reconcile costs one listing per side on a tree this size, like a poll.
    assert_eq!(r.requests["confluence"], 1, "{r:?}");

    // 3. B trashed in Notion (with its subtree): B and the pages below it go to the
    // Confluence trash, deepest first (a Confluence trash moves children up). A trash shows
    // in no incremental poll; a webhook saying so makes the next pass a reconcile.
    h.notion_trash(&b_n, true).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!(writes(&r), 0, "a trash shows in no incremental poll: {r:?}");
    clock.minute_later(&sim).await;
    sync::reconcile_soon(&store, "docs").await.unwrap();
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.reconciled, "{r:?}");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.trashed_in_confluence, 1 + b_below.len(), "{r:?}");
    assert_eq!(writes(&r), r.trashed_in_confluence, "{r:?}");
    assert_eq!(h.conf_any(&b_c).await["status"], "trashed");
    for x in &b_below {
        let cid = &ps.iter().find(|p| p.notion_id == *x).unwrap().confluence_id;
        assert_eq!(h.conf_any(cid).await["status"], "trashed", "{x}");
    }
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(writes(&r), 0, "a reconcile after it writes nothing: {r:?}");

    // 4. B restored in Notion: restored in Confluence, under the root, its subtree too.
    h.notion_trash(&b_n, false).await;
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.restored_in_confluence, 1 + b_below.len(), "{r:?}");
    let bp = h.conf_any(&b_c).await;
    assert_eq!(
        (bp["status"].as_str(), bp["parentId"].as_str()),
        (Some("current"), Some(croot.as_str()))
    );
    let ps2 = pairs(&store).await;
    for x in &b_below {
        let p = ps2.iter().find(|p| p.notion_id == *x).unwrap();
        let parent_c = &ps2
            .iter()
            .find(|q| q.notion_id == p.state.notion_parent)
            .unwrap()
            .confluence_id;
        let cp = h.conf_any(&p.confluence_id).await;
        assert_eq!(cp["status"], "current", "{x}");
        assert_eq!(
            cp["parentId"].as_str(),
            Some(parent_c.as_str()),
            "{x} is back under its parent"
        );
    }

    // 5. B trashed in Confluence: its children move up to the root there; in Notion they
    // are moved out first, then B alone goes to the trash.
    h.conf_trash(&b_c).await;
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.trashed_in_notion, 1, "{r:?}");
    let direct: Vec<&sync::Pair> = ps2
        .iter()
        .filter(|p| p.state.notion_parent == b_n)
        .collect();
    assert_eq!(r.moved_in_notion, direct.len(), "{r:?}");
    assert_eq!(h.notion_page(&b_n).await["in_trash"], true);
    for p in &direct {
        let np = h.notion_page(&p.notion_id).await;
        assert_eq!(
            (notion_parent(&np), np["in_trash"].as_bool()),
            (root.clone(), Some(false))
        );
    }

    // 6. Restored in Confluence: restored in Notion.
    h.conf_restore(&b_c).await;
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.restored_in_notion, writes(&r)), (1, 1), "{r:?}");
    let bp = h.notion_page(&b_n).await;
    assert_eq!(
        (bp["in_trash"].as_bool(), notion_parent(&bp)),
        (Some(false), root.clone())
    );
    // B's Notion content lost its child-page links when its children moved out (Notion
    // writes child pages as blocks of the parent): that content change reaches Confluence
    // once, when B is read again after its restore; then nothing moves.
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        r.to_confluence <= 1 && writes(&r) == r.to_confluence,
        "{r:?}"
    );
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(writes(&r), 0, "{r:?}");
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!(writes(&r), 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_trashes_and_restores_are_mirrored_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    structure_on_either_side_is_mirrored(support::sqlite(dir.path()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_trashes_and_restores_are_mirrored_on_postgres() {
    let Some(store) = support::postgres("sync_structure").await else {
        return;
    };
    structure_on_either_side_is_mirrored(store).await;
}

/// Deletion policy `unlink`: a trash on one side leaves the other page as it is and forgets
/// the pair; restoring the trashed page later creates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_policy_unlink_keeps_the_other_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let sim = twins(30, 0).await;
    let clock = Clock::default();
    let (root, _, _) = linked_with(&sim, &store, &clock, sync::Deletion::Unlink).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let h = Human::new(&sim);
    clock.minute_later(&sim).await;
    sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    let ps = pairs(&store).await;
    let a = ps
        .iter()
        .find(|p| p.state.notion_parent == root && below(&ps, &p.notion_id).is_empty())
        .expect("a leaf child of the root");
    h.notion_trash(&a.notion_id, true).await;
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.unlinked, writes(&r)), (1, 0), "{r:?}");
    assert_eq!(h.conf_any(&a.confluence_id).await["status"], "current");
    let after = pairs(&store).await;
    let p = after.iter().find(|p| p.notion_id == a.notion_id).unwrap();
    assert!(
        p.state
            .unlinked
            .as_deref()
            .is_some_and(|u| u.contains("unlink")),
        "{:?}",
        p.state
    );
    // Restored in Notion: still unlinked, nothing created, nothing written.
    h.notion_trash(&a.notion_id, false).await;
    clock.later(&sim, PAST_RECONCILE).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.unlinked, writes(&r)), (0, 0), "{r:?}");
}

/// Requests the twins served since they started: (Notion, Confluence, writes on either side).
/// Writes are every request but GETs and Notion's search.
async fn served(h: &Human) -> (u64, u64, u64) {
    let v: Value = reqwest::get(format!("{}/__sim/stats", h.sim_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (mut n, mut c, mut w) = (0, 0, 0);
    for r in v["requests"].as_array().unwrap() {
        let route = r["route"].as_str().unwrap();
        let method = r["method"].as_str().unwrap();
        let count = r["count"].as_u64().unwrap();
        if route.starts_with("/v1/") {
            n += count;
        } else if route.starts_with("/wiki/") {
            c += count;
        } else {
            continue;
        }
        if method != "GET" && route != "/v1/search" {
            w += count;
        }
    }
    (n, c, w)
}

/// Quiet: an hour of passes a minute apart (simulated clock) without human edits makes no
/// write and at most one request per side per poll, reconciles included (counted by the
/// twins, not by kbridge).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_without_edits_writes_nothing_and_polls_cost_one_request_per_side() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let sim = twins(30, 0).await;
    let clock = Clock::default();
    linked(&sim, &store, &clock).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let h = Human::new(&sim);
    // The root the test set up was edited inside the first poll's overlap: settle it.
    for _ in 0..2 {
        clock.minute_later(&sim).await;
        let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(writes(&r), 0, "{r:?}");
    }
    let mut reconciles = 0;
    for minute in 0..60 {
        clock.later(&sim, 60).await;
        let before = served(&h).await;
        let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
        let after = served(&h).await;
        assert!(r.errors.is_empty(), "minute {minute}: {:?}", r.errors);
        assert_eq!(writes(&r), 0, "minute {minute}: {r:?}");
        assert_eq!(
            after.2, before.2,
            "minute {minute}: no write reached a twin"
        );
        assert!(
            after.0 - before.0 <= 1 && after.1 - before.1 <= 1,
            "minute {minute}: Notion {} and Confluence {} requests: {r:?}",
            after.0 - before.0,
            after.1 - before.1
        );
        reconciles += usize::from(r.reconciled);
    }
    assert!(reconciles >= 5, "{reconciles} reconciles in an hour");
}
