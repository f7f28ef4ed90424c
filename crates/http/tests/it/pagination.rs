//! Listings as streams of pages: `_links.next` and `Link` cursors (with a context path, the
//! `/wiki/wiki` trap avoided), offsets (with a server that caps the page size), Notion's
//! `next_cursor`, resuming from a saved token, and decode errors that name the JSON path.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use futures_util::TryStreamExt as _;
use kb_http::{HttpError, Page, Pagination, Request};
use serde_json::{Value, json};

use super::{client, serve};

const N: u64 = 23;

fn params(raw: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn q(params: &HashMap<String, String>, key: &str, default: u64) -> u64 {
    params
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn items(from: u64, to: u64) -> Vec<Value> {
    (from..to.min(N))
        .map(|i| json!({"id": i.to_string(), "n": i}))
        .collect()
}

/// A v2-like cursor API under `/ctx` (the `/wiki` of Confluence): `next` links already carry
/// `/ctx`; v1-like links under `/ctx/rest` do not (they are relative to `_links.base`); a
/// third route gives its next page only in a `Link` header. Anything under `/ctx/ctx` is 404.
fn cursor_app() -> Router {
    Router::new()
        .route(
            "/ctx/api/list",
            get(|RawQuery(raw): RawQuery| async move {
                let p = params(raw);
                let from = q(&p, "cursor", 0);
                let limit = q(&p, "limit", 5);
                let mut links = json!({"base": "http://ignored.example/ctx"});
                if from + limit < N {
                    links["next"] = json!(format!("/ctx/api/list?limit={limit}&cursor={}", from + limit));
                }
                Json(json!({"results": items(from, from + limit), "_links": links}))
            }),
        )
        .route(
            "/ctx/rest/list",
            get(|RawQuery(raw): RawQuery| async move {
                let p = params(raw);
                let start = q(&p, "start", 0);
                let limit = q(&p, "limit", 5);
                let mut links = json!({"base": "http://ignored.example/ctx", "context": "/ctx"});
                if start + limit < N {
                    links["next"] = json!(format!("/rest/list?limit={limit}&start={}", start + limit));
                }
                Json(json!({"results": items(start, start + limit), "start": start, "limit": limit,
                    "size": items(start, start + limit).len(), "_links": links}))
            }),
        )
        .route(
            "/ctx/api/linked",
            get(|RawQuery(raw): RawQuery| async move {
                let p = params(raw);
                let from = q(&p, "cursor", 0);
                let mut h = HeaderMap::new();
                if from + 5 < N {
                    h.insert(
                        "link",
                        format!("</ctx/api/linked?cursor={}>; rel=\"next\", <http://x/ctx>; rel=\"base\"", from + 5)
                            .parse()
                            .unwrap(),
                    );
                }
                (h, Json(json!({"results": items(from, from + 5)})))
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({"message": "no such route"}))) })
}

async fn ids(mut s: kb_http::PageStream<Value>) -> Result<(Vec<u64>, usize), HttpError> {
    let mut out = Vec::new();
    let mut pages = 0;
    while let Some(page) = s.try_next().await? {
        pages += 1;
        out.extend(page.items.iter().map(|v| v["n"].as_u64().unwrap()));
    }
    Ok((out, pages))
}

#[tokio::test]
async fn links_pages_resolve_against_the_origin_and_the_context() {
    let base = serve(cursor_app()).await;
    let c = client(&format!("{base}/ctx"));
    let want: Vec<u64> = (0..N).collect();
    for path in ["api/list?limit=5", "rest/list?limit=5", "api/linked"] {
        let req = Request::get(c.url(path).unwrap());
        let (got, pages) = ids(c.pages(req, Pagination::Links)).await.unwrap();
        assert_eq!(got, want, "{path}");
        assert_eq!(pages, 5, "{path}");
    }
    // No request ever went to /ctx/ctx (it would have been a 404 and failed the stream).
    let s = c.stats().snapshot();
    assert!(
        s.by_endpoint.keys().all(|k| !k.contains("/ctx/ctx")),
        "{s:?}"
    );
    assert_eq!(s.with_status(404), 0);
}

#[tokio::test]
async fn a_saved_token_resumes_the_listing() {
    let base = serve(cursor_app()).await;
    let c = client(&format!("{base}/ctx"));
    let req = Request::get(c.url("api/list?limit=5").unwrap());
    let mut s = c.pages::<Value>(req.clone(), Pagination::Links);
    let first: Page<Value> = s.try_next().await.unwrap().unwrap();
    let second: Page<Value> = s.try_next().await.unwrap().unwrap();
    drop(s); // the process "dies" here, having committed two pages and their token
    let token = second.next.clone().expect("more pages");
    assert!(token.starts_with(&base), "an absolute URL: {token}");
    let (rest, _) = ids(c.pages_from(req, Pagination::Links, Some(token)))
        .await
        .unwrap();
    let mut all: Vec<u64> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|v| v["n"].as_u64().unwrap())
        .collect();
    all.extend(rest);
    assert_eq!(all, (0..N).collect::<Vec<_>>());
}

/// Offsets without links: the server serves at most 3 per page whatever the client asks (as
/// Data Center does silently) but says so in `limit`; nothing is skipped.
#[tokio::test]
async fn offset_pages_survive_a_capped_page_size() {
    let app = Router::new()
        .route(
            "/items",
            get(|RawQuery(raw): RawQuery| async move {
                let p = params(raw);
                let start = q(&p, "start", 0);
                let limit = q(&p, "limit", 10).min(3);
                Json(
                    json!({"results": items(start, start + limit), "start": start, "limit": limit}),
                )
            }),
        )
        .route(
            "/counted",
            get(|RawQuery(raw): RawQuery| async move {
                let p = params(raw);
                let start = q(&p, "start", 0);
                let limit = q(&p, "limit", 10);
                Json(json!({"results": items(start, start + limit), "totalSize": N}))
            }),
        );
    let base = serve(app).await;
    let c = client(&base);
    let (got, pages) = ids(c.pages(
        Request::get(c.url("items?limit=10").unwrap()),
        Pagination::offset(10),
    ))
    .await
    .unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    assert_eq!(pages, 8, "23 items, 3 at a time");
    let (got, pages) = ids(c.pages(
        Request::get(c.url("counted?limit=10").unwrap()),
        Pagination::offset(10),
    ))
    .await
    .unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    assert_eq!(
        pages, 3,
        "the total stops the listing without an empty page"
    );
    // Resuming an offset listing from its token.
    let (got, _) = ids(c.pages_from(
        Request::get(c.url("counted?limit=10").unwrap()),
        Pagination::offset(10),
        Some("20".into()),
    ))
    .await
    .unwrap();
    assert_eq!(got, vec![20, 21, 22]);
}

/// Notion: `has_more`/`next_cursor`, the cursor in the query of a GET and in the body of a
/// POST.
#[tokio::test]
async fn notion_cursors_in_query_and_body() {
    fn answer(from: u64) -> Json<Value> {
        let next = from + 4;
        Json(json!({"object": "list", "results": items(from, next),
            "has_more": next < N, "next_cursor": if next < N { json!(format!("c{next}")) } else { Value::Null }}))
    }
    let app = Router::new()
        .route(
            "/v1/blocks/{id}/children",
            get(|RawQuery(raw): RawQuery| async move {
                let p = params(raw);
                answer(
                    p.get("start_cursor")
                        .map(|c| c[1..].parse().unwrap())
                        .unwrap_or(0),
                )
            }),
        )
        .route(
            "/v1/search",
            post(|Json(body): Json<Value>| async move {
                assert_eq!(body["query"], "x", "the rest of the body is kept");
                answer(
                    body["start_cursor"]
                        .as_str()
                        .map(|c| c[1..].parse().unwrap())
                        .unwrap_or(0),
                )
            }),
        );
    let base = serve(app).await;
    let c = client(&base);
    let want: Vec<u64> = (0..N).collect();
    let (got, pages) = ids(c.pages(
        Request::get(c.url("v1/blocks/abc/children").unwrap()),
        Pagination::next_cursor(),
    ))
    .await
    .unwrap();
    assert_eq!((got, pages), (want.clone(), 6));
    let search = Request::json(
        kb_http::Method::POST,
        c.url("v1/search").unwrap(),
        &json!({"query": "x"}),
    );
    let mut s = c.pages::<Value>(search.clone(), Pagination::next_cursor());
    let first = s.try_next().await.unwrap().unwrap();
    assert_eq!(first.next.as_deref(), Some("c4"));
    let (rest, _) = ids(c.pages_from(search, Pagination::next_cursor(), first.next))
        .await
        .unwrap();
    assert_eq!(rest, (4..N).collect::<Vec<_>>());
}

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Item {
    id: String,
    n: u64,
}

/// A malformed item names the URL and its JSON path; a `next` link that points at the page
/// just read is an error, not an endless loop.
#[tokio::test]
async fn malformed_pages_are_precise_errors() {
    let app = Router::new()
        .route(
            "/bad",
            get(|| async {
                Json(json!({"results": [{"id": "1", "n": 1}, {"id": "2", "n": "two"}]}))
            }),
        )
        .route(
            "/stuck",
            get(|| async { Json(json!({"results": [], "_links": {"next": "/stuck"}})) }),
        )
        .route("/notalist", get(|| async { Json(json!({"results": 7})) }));
    let base = serve(app).await;
    let c = client(&base);
    let e = c
        .pages::<Item>(Request::get(c.url("bad").unwrap()), Pagination::Links)
        .try_next()
        .await
        .unwrap_err();
    match &e {
        HttpError::Decode { path, url, .. } => {
            assert_eq!(path, "results[1].n");
            assert!(url.ends_with("/bad"), "{url}");
        }
        other => panic!("{other:?}"),
    }
    let e = ids(c.pages(Request::get(c.url("stuck").unwrap()), Pagination::Links))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("never end"), "{e}");
    let e = ids(c.pages(Request::get(c.url("notalist").unwrap()), Pagination::Links))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`results`"), "{e}");
}
