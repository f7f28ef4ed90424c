//! A small seeded convergence soak: random human edits on both sides (paragraphs appended,
//! pages renamed), made through the services' APIs by raw HTTP, interleaved with passes under
//! the twins' fault injection. At the end both sides show every edit, or the page has a
//! recorded conflict (0 lost), titles agree, and passes write nothing (no ping-pong). Size:
//! `KBRIDGE_SOAK_EDITS` (default 40).

use kb_engine::sync::{self, SyncContext};
use serde_json::{Value, json};

use crate::migrate::{notion, twins};
use crate::support;
use crate::sync_pass::{Clock, Human, linked, set_faults};

/// A request sent until it gets an answer that is not a fault (429, 503, reset: the twin
/// applied nothing for those).
async fn send(make: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
    for _ in 0..30 {
        match make().send().await {
            Ok(r) if r.status() == 429 || r.status() == 503 => {}
            Ok(r) => return r,
            Err(_) => {}
        }
    }
    panic!("the twin kept failing one request");
}

async fn ok_json(make: impl Fn() -> reqwest::RequestBuilder) -> Value {
    let r = send(make).await;
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

async fn notion_text(h: &Human, id: &str) -> String {
    let mut out = String::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("blocks/{id}/children?page_size=100&start_cursor={c}"),
            None => format!("blocks/{id}/children?page_size=100"),
        };
        let v = ok_json(|| h.notion(reqwest::Method::GET, &path)).await;
        for b in v["results"].as_array().unwrap() {
            out.push_str(&b.to_string());
            out.push('\n');
        }
        match v["next_cursor"].as_str() {
            Some(c) if v["has_more"] == true => cursor = Some(c.to_string()),
            _ => return out,
        }
    }
}

async fn notion_title(h: &Human, id: &str) -> String {
    let v = ok_json(|| h.notion(reqwest::Method::GET, &format!("pages/{id}"))).await;
    v["properties"]["title"]["title"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["plain_text"].as_str().unwrap().to_string())
        .collect()
}

async fn conf_get(h: &Human, id: &str) -> Value {
    ok_json(|| {
        h.http
            .get(format!(
                "{}/api/v2/pages/{id}?body-format=storage",
                h.conf_url
            ))
            .basic_auth(&h.email, Some(&h.token))
    })
    .await
}

/// A new version of Confluence page `id`: `f` maps (title, storage) to the new ones.
async fn conf_edit(h: &Human, id: &str, f: impl Fn(&str, &str) -> (String, String)) {
    for _ in 0..10 {
        let p = conf_get(h, id).await;
        let (title, storage) = f(
            p["title"].as_str().unwrap(),
            p["body"]["storage"]["value"].as_str().unwrap(),
        );
        let body = json!({
            "id": id, "status": "current", "title": title,
            "body": {"representation": "storage", "value": storage},
            "version": {"number": p["version"]["number"].as_u64().unwrap() + 1},
        });
        let r = send(|| {
            h.http
                .put(format!("{}/api/v2/pages/{id}", h.conf_url))
                .basic_auth(&h.email, Some(&h.token))
                .json(&body)
        })
        .await;
        if r.status().is_success() {
            return;
        }
        assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());
    }
    panic!("Confluence page {id} kept changing");
}

// Ignored: it FAILS today and shows an open bug: with seed 0x5eed and 40 edits, one paragraph
// appended in Confluence (token soak25x…) is on Confluence only after the passes settle, with
// no conflict recorded. Diagnosed this far: the pair's stored base holds the paragraph, the
// Notion document read back after the block patch does not, and `patch::plan(read-back
// blocks, merged)` finds nothing left to do — the patch planner does not see that difference
// (suspect: where the paragraph sits relative to blocks the patch never touches, e.g. after
// a child page or inside a container), so the base is recorded as if Notion showed it.
// Run with `cargo test -p kb-engine --test it sync_soak -- --ignored`.
#[ignore = "open bug: one Confluence edit is not propagated (see the comment above)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_on_both_sides_under_faults_converge_without_loss_or_ping_pong() {
    let edits: usize = std::env::var("KBRIDGE_SOAK_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
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
    clock.minute_later(&sim).await;
    sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    // Pages with files are left out: sync does not carry files yet (docs/sync.md, Not yet).
    let pairs: Vec<sync::Pair> = sync::state::load_pairs(&store, "docs")
        .await
        .unwrap()
        .into_iter()
        .filter(|p| {
            kb_doc::notion::plan(&p.base, kb_doc::notion::PlanParent::NewPage)
                .attachments
                .is_empty()
        })
        .collect();
    assert!(pairs.len() >= 5, "{} pages without files", pairs.len());
    let mut rng = Rng(0x5eed);
    // (pair index, token) of every appended paragraph.
    let mut tokens: Vec<(usize, String)> = Vec::new();
    set_faults(&sim, "429=0.05,503=0.02,reset=0.01").await;
    let mut failed_passes = 0;
    for k in 0..edits {
        let i = rng.next(pairs.len());
        let p = &pairs[i];
        let token = format!("soak{k}x{}", rng.next(1_000_000));
        match rng.next(4) {
            0 => {
                let body = json!({"children": [{"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": token}}]}}]});
                ok_json(|| {
                    h.notion(
                        reqwest::Method::PATCH,
                        &format!("blocks/{}/children", p.notion_id),
                    )
                    .json(&body)
                })
                .await;
                tokens.push((i, token));
            }
            1 => {
                let t = token.clone();
                conf_edit(&h, &p.confluence_id, |title, s| {
                    (title.to_string(), format!("{s}<p>{t}</p>"))
                })
                .await;
                tokens.push((i, token));
            }
            2 => {
                let body = json!({"properties": {"title": {"title": [{"type": "text", "text": {"content": format!("Page {token}")}}]}}});
                ok_json(|| {
                    h.notion(reqwest::Method::PATCH, &format!("pages/{}", p.notion_id))
                        .json(&body)
                })
                .await;
            }
            _ => {
                let t = format!("Page {token}");
                conf_edit(&h, &p.confluence_id, |_, s| (t.clone(), s.to_string())).await;
            }
        }
        if k % 4 == 3 {
            clock.minute_later(&sim).await;
            if sync::run_pass(&cx, "docs", clock.now()).await.is_err() {
                failed_passes += 1;
            }
        }
    }
    // Faults off: passes until two in a row write nothing.
    set_faults(&sim, "").await;
    let mut quiet = 0;
    for _ in 0..12 {
        clock.minute_later(&sim).await;
        sync::reconcile_soon(&store, "docs").await.unwrap();
        let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            r.created_in_notion + r.created_in_confluence,
            0,
            "no duplicate page: {r:?}"
        );
        if r.to_notion + r.to_confluence == 0 {
            quiet += 1;
            if quiet == 2 {
                break;
            }
        } else {
            quiet = 0;
        }
    }
    assert_eq!(quiet, 2, "the passes settle (no ping-pong)");
    let open: Vec<String> = store
        .sync_conflicts(Some("docs"), true)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.notion_id)
        .collect();
    let mut lost = Vec::new();
    for (i, token) in &tokens {
        let p = &pairs[*i];
        if open.contains(&p.notion_id) {
            continue;
        }
        let in_notion = notion_text(&h, &p.notion_id).await.contains(token.as_str());
        let in_conf = conf_get(&h, &p.confluence_id).await["body"]["storage"]["value"]
            .as_str()
            .unwrap()
            .contains(token.as_str());
        if !(in_notion && in_conf) {
            lost.push((token.clone(), in_notion, in_conf));
        }
    }
    assert!(lost.is_empty(), "edits on one side only: {lost:?}");
    for p in &pairs {
        if open.contains(&p.notion_id) {
            continue;
        }
        assert_eq!(
            notion_title(&h, &p.notion_id).await,
            conf_get(&h, &p.confluence_id).await["title"]
                .as_str()
                .unwrap(),
            "the titles of {} / {} agree",
            p.notion_id,
            p.confluence_id
        );
    }
    assert!(tokens.len() >= edits / 4, "{} appends", tokens.len());
    eprintln!(
        "soak: {edits} edits, {} appends, {} open conflicts, {failed_passes} passes stopped by faults",
        tokens.len(),
        open.len()
    );
}
