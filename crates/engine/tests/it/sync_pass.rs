//! Two-way sync passes against both twins: a tree migrated to Confluence, then linked; human
//! edits made through the services' own APIs by raw HTTP (not kbridge's clients), on one side,
//! on both, and on the same paragraph; new pages; re-runs that must write nothing.

use kb_engine::migrate::{self, NotionToConfluence};
use kb_engine::sync::{self, InitOptions, Policy, SyncContext, Take};
use kb_sim::SimHandle;
use serde_json::{Value, json};

use crate::migrate::{notion, space_key, twins};
use crate::support;

/// A test's clock: the wall clock plus what the test moved its Notion twin's clock by (each
/// test has its own twin, so its own clock).
#[derive(Default)]
pub(crate) struct Clock {
    skew_ms: std::sync::atomic::AtomicI64,
}

impl Clock {
    pub(crate) fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + self.skew_ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A minute passes (for Notion, whose times are rounded to the minute, and for the passes).
    pub(crate) async fn minute_later(&self, sim: &SimHandle) {
        self.later(sim, 61).await
    }

    /// `secs` seconds pass, for the Notion twin and for the passes.
    pub(crate) async fn later(&self, sim: &SimHandle, secs: i64) {
        let r = reqwest::Client::new()
            .post(format!("{}/__sim/notion/clock", sim.url()))
            .json(&json!({"advance_seconds": secs}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        self.skew_ms
            .fetch_add(secs * 1000, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A human, editing through the services' APIs with plain HTTP.
pub(crate) struct Human {
    pub(crate) http: reqwest::Client,
    pub(crate) sim_url: String,
    pub(crate) conf_url: String,
    pub(crate) email: String,
    pub(crate) token: String,
    pub(crate) notion_url: String,
    pub(crate) notion_token: String,
}

impl Human {
    pub(crate) fn new(sim: &SimHandle) -> Human {
        let c = &sim.credentials()[0];
        Human {
            http: reqwest::Client::new(),
            sim_url: sim.url(),
            conf_url: sim.confluence_url(),
            email: c.email.clone(),
            token: c.token.clone(),
            notion_url: sim.notion_url(),
            notion_token: sim.notion_token().to_string(),
        }
    }

    pub(crate) async fn conf_page(&self, id: &str) -> Value {
        self.http
            .get(format!(
                "{}/api/v2/pages/{id}?body-format=storage",
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

    /// Replaces `old` by `new` in the storage of Confluence page `id` (version + 1).
    pub(crate) async fn edit_confluence(&self, id: &str, old: &str, new: &str) {
        let p = self.conf_page(id).await;
        let storage = p["body"]["storage"]["value"].as_str().unwrap();
        assert!(storage.contains(old), "page {id} holds {old:?}: {storage}");
        let body = json!({
            "id": id,
            "status": "current",
            "title": p["title"],
            "body": {"representation": "storage", "value": storage.replacen(old, new, 1)},
            "version": {"number": p["version"]["number"].as_u64().unwrap() + 1},
        });
        let r = self
            .http
            .put(format!("{}/api/v2/pages/{id}", self.conf_url))
            .basic_auth(&self.email, Some(&self.token))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    pub(crate) async fn create_confluence(
        &self,
        space_id: &str,
        parent: &str,
        title: &str,
        storage: &str,
    ) {
        let r = self
            .http
            .post(format!("{}/api/v2/pages", self.conf_url))
            .basic_auth(&self.email, Some(&self.token))
            .json(&json!({
                "spaceId": space_id, "status": "current", "title": title, "parentId": parent,
                "body": {"representation": "storage", "value": storage},
            }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    pub(crate) fn notion(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(m, format!("{}/{path}", self.notion_url))
            .bearer_auth(&self.notion_token)
            .header("Notion-Version", "2025-09-03")
    }

    pub(crate) async fn children(&self, id: &str) -> Vec<Value> {
        let v: Value = self
            .notion(
                reqwest::Method::GET,
                &format!("blocks/{id}/children?page_size=100"),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["results"].as_array().unwrap().clone()
    }

    pub(crate) async fn set_paragraph(&self, block: &str, text: &str) {
        let r = self
            .notion(reqwest::Method::PATCH, &format!("blocks/{block}"))
            .json(
                &json!({"paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]}}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// The twin's request count for `method route` with status 200.
    pub(crate) async fn count(&self, method: &str, route: &str) -> u64 {
        let v: Value = reqwest::get(format!("{}/__sim/stats", self.sim_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] == method && r["route"] == route && r["status"] == 200)
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    }
}

fn text_of(b: &Value) -> String {
    b["paragraph"]["rich_text"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|t| t["plain_text"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default()
}

/// The three paragraphs a human appends to page `id`: (block id, text).
pub(crate) async fn write_paragraphs(h: &Human, id: &str) -> Vec<(String, String)> {
    let texts = [
        "Alpha paragraph about the deploy window",
        "Bravo paragraph about the pager rota",
        "Charlie paragraph about the backups",
    ];
    let children: Vec<Value> = texts
        .iter()
        .map(|t| json!({"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": t}}]}}))
        .collect();
    let r: Value = h
        .notion(reqwest::Method::PATCH, &format!("blocks/{id}/children"))
        .json(&json!({"children": children}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(texts)
        .map(|(b, t)| (b["id"].as_str().unwrap().to_string(), t.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_on_either_side_reach_the_other_merge_or_conflict_and_reruns_write_nothing() {
    let clock = Clock::default();
    let sim = twins(30, 0).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let (key, space_id) = space_key(&c).await;
    let found = n.search(Some("Team Home"), Some("page")).await.unwrap();
    let root = found
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .and_then(|p| p["id"].as_str())
        .unwrap()
        .to_string();
    let opts = NotionToConfluence {
        from: vec![root.clone()],
        space: key.clone(),
        parent: None,
        plan_only: false,
        force: false,
    };
    let h = Human::new(&sim);
    let paras = write_paragraphs(&h, &root).await;
    let m = migrate::n2c::run(&store, &n, &c, &opts, None)
        .await
        .unwrap();
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let init = sync::init(
        &cx,
        &InitOptions {
            name: "docs".into(),
            notion_root: root.clone(),
            space_key: key.clone(),
            confluence_root: None,
            policy: Policy::Manual,
            utc_offset_minutes: 0,
            deletion: sync::Deletion::Trash,
            adopt: false,
        },
        clock.now(),
    )
    .await
    .unwrap();
    let pages = m.pages - init.skipped_databases;
    assert!(init.adopted >= 5, "{init:?}");
    assert_eq!(
        init.adopted, pages,
        "every migrated page is paired: {init:?}"
    );
    assert!(init.unpaired.is_empty(), "{:?}", init.unpaired);
    // A second init of the same name is refused, naming the fix.
    let again = sync::init(
        &cx,
        &InitOptions {
            name: "docs".into(),
            notion_root: root.clone(),
            space_key: key.clone(),
            confluence_root: None,
            policy: Policy::Manual,
            utc_offset_minutes: 0,
            deletion: sync::Deletion::Trash,
            adopt: false,
        },
        clock.now(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(again.contains("exists already"), "{again}");

    // The first pass reads the root the human edited inside the overlap, once, and writes
    // nothing: the migration and the link agree with what both sides show.
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");
    assert!(r.checked <= 1, "{r:?}");
    // A minute later the root is read once more (its edit minute had not closed when it was
    // read: Notion rounds edit times to the minute, and a second edit could hide in it).
    clock.minute_later(&sim).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");
    assert!(r.checked <= 1, "{r:?}");
    // Quiet: nothing changed: nothing is written, one request per side.
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        (r.to_notion, r.to_confluence, r.checked),
        (0, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.requests["notion"], 1, "{r:?}");
    assert_eq!(r.requests["confluence"], 1, "{r:?}");

    let nid = kb_engine::migrate::transform::norm_id(&root).unwrap();
    let cid = init.confluence_root.clone();
    let (p1, p2, p3) = (&paras[0], &paras[1], &paras[2]);

    // 1. One paragraph edited in Confluence is one PATCH of that block in Notion.
    h.edit_confluence(&cid, &p2.1, "Edited in Confluence").await;
    let patches = h.count("PATCH", "/v1/blocks/{id}").await;
    let deletes = h.count("DELETE", "/v1/blocks/{id}").await;
    let appends = h.count("PATCH", "/v1/blocks/{id}/children").await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.to_notion, r.to_confluence), (1, 0), "{r:?}");
    assert_eq!(h.count("PATCH", "/v1/blocks/{id}").await - patches, 1);
    assert_eq!(h.count("DELETE", "/v1/blocks/{id}").await, deletes);
    assert_eq!(h.count("PATCH", "/v1/blocks/{id}/children").await, appends);
    let kids = h.children(&nid).await;
    let b2 = kids
        .iter()
        .find(|b| b["id"] == p2.0.as_str())
        .expect("block id kept");
    assert_eq!(text_of(b2), "Edited in Confluence");

    // The echo of that write is not sent back, and a re-run writes nothing.
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");

    // 2. Different paragraphs edited on both sides: both edits on both sides.
    h.set_paragraph(&p1.0, "First edited in Notion").await;
    h.edit_confluence(&cid, &p3.1, "Third edited in Confluence")
        .await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.merged, 1, "{r:?}");
    assert_eq!((r.to_notion, r.to_confluence), (1, 1), "{r:?}");
    let storage = h.conf_page(&cid).await["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(storage.contains("First edited in Notion"), "{storage}");
    assert!(storage.contains("Third edited in Confluence"), "{storage}");
    assert!(storage.contains("Edited in Confluence"), "{storage}");
    let kids = h.children(&nid).await;
    let texts: Vec<String> = kids.iter().map(text_of).collect();
    assert!(
        texts.contains(&"Third edited in Confluence".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"First edited in Notion".to_string()),
        "{texts:?}"
    );
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");

    // 3. The same paragraph edited differently on both: a conflict, neither side overwritten.
    h.set_paragraph(&p1.0, "Notion says this").await;
    h.edit_confluence(&cid, "First edited in Notion", "Confluence says that")
        .await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.conflicts.len(), 1, "{r:?}");
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");
    let storage = h.conf_page(&cid).await["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(storage.contains("Confluence says that"), "{storage}");
    let kids = h.children(&nid).await;
    assert!(kids.iter().any(|b| text_of(b) == "Notion says this"));
    let listed = sync::conflicts(&store, Some("docs"), true).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].notion.contains("Notion says this"),
        "{}",
        listed[0].notion
    );
    assert!(listed[0].confluence.contains("Confluence says that"));
    // While it is open, the pair waits.
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");

    // Settled for Notion: Confluence shows Notion's paragraph, Notion is left alone.
    let r = sync::resolve(&cx, listed[0].id, Take::Notion, clock.now())
        .await
        .unwrap();
    assert_eq!((r.to_notion, r.to_confluence), (0, 1), "{r:?}");
    let storage = h.conf_page(&cid).await["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(storage.contains("Notion says this"), "{storage}");
    assert!(!storage.contains("Confluence says that"), "{storage}");
    assert!(
        sync::conflicts(&store, Some("docs"), true)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        sync::resolve(&cx, listed[0].id, Take::Notion, clock.now())
            .await
            .is_err()
    );
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");

    // 4. A page created in Confluence under a synced page appears in Notion, once.
    h.create_confluence(
        &space_id,
        &cid,
        "Written in Confluence",
        "<h2>Runbook</h2><p>Restart the <strong>worker</strong> first.</p>",
    )
    .await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.created_in_notion, 1, "{r:?}");
    let kids = h.children(&nid).await;
    let child = kids
        .iter()
        .find(|b| b["type"] == "child_page" && b["child_page"]["title"] == "Written in Confluence")
        .expect("the new page is a child of the paired Notion page");
    let body = h.children(child["id"].as_str().unwrap()).await;
    assert!(body.iter().any(|b| b["type"] == "heading_2"), "{body:?}");
    // The Notion parent now shows the new page as a child-page block; the next pass carries
    // that link into the Confluence parent (as the migration wrote its children's links), and
    // nothing comes back.
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.created_in_notion, 0, "{r:?}");
    assert_eq!(r.to_notion, 0, "{r:?}");
    assert!(r.to_confluence <= 1, "{r:?}");
    let storage = h.conf_page(&cid).await["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(storage.contains("Written in Confluence"), "{storage}");
    clock.minute_later(&sim).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!(
        (r.to_notion, r.to_confluence, r.checked),
        (0, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.requests["notion"], 1, "{r:?}");
    assert_eq!(r.requests["confluence"], 1, "{r:?}");
    // The new page is created once: no second Notion page of that title.
    let kids = h.children(&nid).await;
    assert_eq!(
        kids.iter()
            .filter(|b| b["child_page"]["title"] == "Written in Confluence")
            .count(),
        1
    );

    let st = sync::status(&store).await.unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].pairs, pages + 1);
    assert_eq!(st[0].open_conflicts, 0);
}

/// The twins, a migrated and linked tree (the root holds three paragraphs a human wrote), on
/// `store`: (root Notion id, Confluence root id, paragraphs).
pub(crate) async fn linked(
    sim: &SimHandle,
    store: &kb_store::Store,
    clock: &Clock,
) -> (String, String, Vec<(String, String)>) {
    linked_with(sim, store, clock, sync::Deletion::Trash).await
}

/// [`linked`] with a deletion policy.
pub(crate) async fn linked_with(
    sim: &SimHandle,
    store: &kb_store::Store,
    clock: &Clock,
    deletion: sync::Deletion,
) -> (String, String, Vec<(String, String)>) {
    let (n, c) = (notion(sim), support::client(sim));
    let (key, _) = space_key(&c).await;
    let found = n.search(Some("Team Home"), Some("page")).await.unwrap();
    let root = found
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .and_then(|p| p["id"].as_str())
        .unwrap()
        .to_string();
    let h = Human::new(sim);
    let paras = write_paragraphs(&h, &root).await;
    let opts = NotionToConfluence {
        from: vec![root.clone()],
        space: key.clone(),
        parent: None,
        plan_only: false,
        force: false,
    };
    let m = migrate::n2c::run(store, &n, &c, &opts, None).await.unwrap();
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let cx = SyncContext {
        store,
        notion: &n,
        confluence: &c,
    };
    let init = sync::init(
        &cx,
        &InitOptions {
            name: "docs".into(),
            notion_root: root.clone(),
            space_key: key,
            confluence_root: None,
            policy: Policy::Manual,
            utc_offset_minutes: 0,
            deletion,
            adopt: false,
        },
        clock.now(),
    )
    .await
    .unwrap();
    (
        kb_engine::migrate::transform::norm_id(&root).unwrap(),
        init.confluence_root,
        paras,
    )
}

pub(crate) async fn set_faults(sim: &SimHandle, plan: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.url()))
        .json(&json!({ "plan": plan }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// A Confluence update whose answer is lost (applied, then 502): the pass reports the page,
/// the next pass finds its own write there and converges without a second write or a false
/// conflict. On both store backends.
async fn lost_answer_then_retry(store: kb_store::Store) {
    let sim = twins(30, 0).await;
    let clock = Clock::default();
    let (nid, cid, paras) = linked(&sim, &store, &clock).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let h = Human::new(&sim);
    let version = |p: &Value| p["version"]["number"].as_u64().unwrap();
    let before = version(&h.conf_page(&cid).await);
    h.set_paragraph(&paras[0].0, "Edited in Notion, answer lost")
        .await;
    set_faults(&sim, "PUT:/wiki/api/v2/pages/{id}:lost-answer=1:502").await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(
        r.errors[0].contains(&nid),
        "the failure names the page: {:?}",
        r.errors
    );
    assert_eq!(r.to_confluence, 0, "{r:?}");
    let p = h.conf_page(&cid).await;
    assert_eq!(version(&p), before + 1, "Confluence applied the update");
    set_faults(&sim, "").await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        r.conflicts.is_empty(),
        "its own write is no conflict: {r:?}"
    );
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");
    let p = h.conf_page(&cid).await;
    assert_eq!(version(&p), before + 1, "no second write");
    assert!(
        p["body"]["storage"]["value"]
            .as_str()
            .unwrap()
            .contains("Edited in Notion, answer lost")
    );
    clock.minute_later(&sim).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    let r2 = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");
    assert_eq!(
        (r2.to_notion, r2.to_confluence, r2.checked),
        (0, 0, 0),
        "{r2:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_confluence_answer_is_found_again_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    lost_answer_then_retry(support::sqlite(dir.path()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_confluence_answer_is_found_again_on_postgres() {
    let Some(store) = support::postgres("sync_lost_answer").await else {
        return;
    };
    lost_answer_then_retry(store).await;
}
