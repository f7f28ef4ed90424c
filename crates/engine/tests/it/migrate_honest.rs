//! Honest migrations: a retried write that Confluence applied is recognised as kbridge's own
//! (not a conflict), and a stored page state that cannot be decoded is an error, not a skip.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kb_confluence::{Confluence, ConfluenceConfig};
use kb_engine::migrate::{self, NotionToConfluence};
use kb_sim::SimHandle;
use kb_store::Batch;
use serde_json::json;

use crate::migrate::{notion, roots, space_key, twins};
use crate::support;

fn opts(from: &[String], space: &str) -> NotionToConfluence {
    NotionToConfluence {
        from: from.to_vec(),
        space: space.to_string(),
        parent: None,
        plan_only: false,
        force: false,
    }
}

/// A loopback proxy in front of the twin that, while `lose` (`lose_create`) is above zero,
/// forwards a `PUT …/pages/{id}` (`POST …/pages`) to the twin, which applies it, and then
/// answers 502 instead of the twin's answer.
#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    lose: Arc<AtomicUsize>,
    lose_create: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
}

/// Takes one from `n` if it is above zero.
fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), usize::MAX).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut out = p
        .http
        .request(method.clone(), format!("{}{path}", p.upstream))
        .body(body);
    for (k, v) in headers.iter() {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let answer = match out.send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let mut hs = HeaderMap::new();
    for (k, v) in answer.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            hs.insert(k.clone(), v.clone());
        }
    }
    let bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let update = method == "PUT" && path.contains("/pages/");
    let create = method == "POST" && path.ends_with("/api/v2/pages");
    if status.is_success() && ((update && take(&p.lose)) || (create && take(&p.lose_create))) {
        p.lost.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::BAD_GATEWAY, "answer lost").into_response();
    }
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    *r.headers_mut() = hs;
    r
}

async fn proxy(sim: &SimHandle) -> (Proxy, String) {
    let p = Proxy {
        upstream: sim.url(),
        http: reqwest::Client::new(),
        lose: Arc::new(AtomicUsize::new(0)),
        lose_create: Arc::new(AtomicUsize::new(0)),
        lost: Arc::new(AtomicUsize::new(0)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(forward).with_state(p.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (p, format!("http://{addr}/wiki"))
}

fn client_at(sim: &SimHandle, base: &str) -> Confluence {
    let c = &sim.credentials()[0];
    let mut cfg = ConfluenceConfig::new(base, c.email.clone(), c.token.clone().into()).unwrap();
    cfg.rate = 2000.0;
    cfg.burst = 200;
    cfg.retry = support::fast_retry(cfg.retry);
    Confluence::new(cfg).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_update_answer_is_kbridges_own_write_not_a_conflict() {
    let sim = twins(4, 2).await;
    let n = notion(&sim);
    let (p, base) = proxy(&sim).await;
    let c = client_at(&sim, &base);
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let from = roots(&n).await;
    let (key, _) = space_key(&c).await;
    let first = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .unwrap();
    assert!(first.created > 0 && first.conflicts.is_empty(), "{first:?}");

    // Edit one Notion page; the update that carries it is applied, its answer lost.
    let nid = migrate::transform::norm_id(&from[0]).unwrap();
    let cid = first.ids[&nid].clone();
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/notion/pages/{nid}/edit", sim.url()))
        .json(&json!({"append": "Edited before a lost answer"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "edit: {}", r.status());
    p.lose.store(1, Ordering::SeqCst);
    let second = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .unwrap();
    assert_eq!(p.lost.load(Ordering::SeqCst), 1, "the answer was lost once");
    assert!(
        second.conflicts.is_empty(),
        "own echo: {:?}",
        second.conflicts
    );
    assert_eq!(second.updated, 1, "{second:?}");
    let page = c.page_with_body(&cid).await.unwrap();
    assert_eq!(page["version"]["number"], 2, "applied exactly once");
    assert!(
        page["body"]["storage"]["value"]
            .as_str()
            .unwrap()
            .contains("Edited before a lost answer")
    );

    // Re-runs stay clean: nothing to write, no conflict.
    let third = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .unwrap();
    assert!(third.conflicts.is_empty(), "{:?}", third.conflicts);
    assert_eq!((third.created, third.updated, third.writes), (0, 0, 0));

    // A real edit in Confluence is still a conflict after the next Notion edit.
    let cur = c.page_with_body(&cid).await.unwrap();
    c.update_page(&kb_confluence::PageUpdate {
        id: &cid,
        title: cur["title"].as_str().unwrap(),
        parent_id: None,
        storage: "<p>A human edit</p>",
        version: 3,
        message: "human",
    })
    .await
    .unwrap();
    reqwest::Client::new()
        .post(format!("{}/__sim/notion/pages/{nid}/edit", sim.url()))
        .json(&json!({"append": "A second Notion edit"}))
        .send()
        .await
        .unwrap();
    let fourth = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .unwrap();
    assert_eq!(fourth.conflicts.len(), 1, "{:?}", fourth.conflicts);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_adopts_the_page_it_made_once() {
    let sim = twins(4, 2).await;
    let n = notion(&sim);
    let (p, base) = proxy(&sim).await;
    let c = client_at(&sim, &base);
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let from = roots(&n).await;
    let (key, space_id) = space_key(&c).await;
    p.lose_create.store(1, Ordering::SeqCst);
    let first = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .unwrap();
    assert_eq!(p.lost.load(Ordering::SeqCst), 1, "one create answer lost");
    assert_eq!(first.adopted, 1, "{first:?}");
    assert!(
        first.errors.is_empty() && first.conflicts.is_empty(),
        "{first:?}"
    );
    let listed = c
        .space_pages(&space_id, &kb_confluence::ContentQuery::default())
        .unwrap()
        .all()
        .await
        .unwrap();
    let mut titles: Vec<&str> = listed.iter().filter_map(|p| p["title"].as_str()).collect();
    let all = titles.len();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), all, "no page created twice");
    let again = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .unwrap();
    assert_eq!(
        (again.created, again.updated, again.writes),
        (0, 0, 0),
        "{again:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_state_that_does_not_decode_is_an_error_naming_it() {
    let sim = twins(3, 2).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let from = roots(&n).await;
    let (key, _) = space_key(&c).await;
    let first = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .unwrap();
    let page = first.ids.keys().next().unwrap().clone();
    let mut b = Batch::new();
    b.set_checkpoint(
        migrate::n2c::scope(&key),
        &page,
        json!({"title": 7, "version": "two"}),
    );
    store.commit(&b).await.unwrap();
    let err = migrate::n2c::run(&store, &n, &c, &opts(&from, &key), None)
        .await
        .expect_err("an undecodable state stops the run");
    let msg = err.to_string();
    assert!(msg.contains(&page), "names the page: {msg}");
    let err = migrate::verify::notion_to_confluence(&store, &n, &c, &from, &key)
        .await
        .expect_err("and verify");
    assert!(err.to_string().contains(&page), "{err}");
    sim.shutdown().await;
}
