//! Origin pinning: the credentials go only to the configured site's origin (scheme, host,
//! port). A `next` link, a download link or a redirect that leads to another origin is fetched
//! without them when that origin is a known file host, and refused otherwise. A capture server
//! on loopback (another port: another origin) records every header that reaches it.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::TryStreamExt as _;
use kb_http::{Auth, Client, HttpError, Pagination, Request, SecretString, Url};
use serde_json::{Value, json};

use super::{serve, site};

/// Every request that reached the capture server: its path and its `Authorization` header.
type Seen = Vec<(String, Option<String>)>;
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Seen>>);

impl Captured {
    fn all(&self) -> Vec<(String, Option<String>)> {
        self.0.lock().unwrap().clone()
    }
    fn with_auth(&self) -> Vec<(String, Option<String>)> {
        self.all()
            .into_iter()
            .filter(|(_, a)| a.is_some())
            .collect()
    }
}

/// A foreign server: answers every path with a JSON page and the bytes `foreign`, recording
/// what arrived.
async fn capture_server() -> (String, Captured) {
    let seen = Captured::default();
    let s = seen.clone();
    let app = Router::new().fallback(move |uri: axum::http::Uri, h: HeaderMap| {
        let s = s.clone();
        async move {
            let auth = h
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            s.0.lock().unwrap().push((uri.to_string(), auth));
            Json(json!({"results": [{"id": "stolen"}], "_links": {}}))
        }
    });
    (serve(app).await, seen)
}

/// The configured site: `/list` links its next page to `foreign`; `/dl` redirects (302) to
/// `/dl2` on the same origin, which redirects to `foreign/file`; `/away` redirects straight to
/// `foreign/file`. It records the `Authorization` of the same-origin hop.
async fn site_server(foreign: String, same_origin_auth: Captured) -> String {
    let f1 = foreign.clone();
    let f2 = foreign.clone();
    let app = Router::new()
        .route(
            "/list",
            get(move || {
                let f = f1.clone();
                async move {
                    Json(json!({
                        "results": [{"id": "1"}],
                        "_links": {"next": format!("{f}/steal?cursor=2")}
                    }))
                }
            }),
        )
        .route(
            "/dl",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/dl2")]).into_response() }),
        )
        .route(
            "/dl2",
            get(move |h: HeaderMap| {
                let f = f2.clone();
                let seen = same_origin_auth.clone();
                async move {
                    let auth = h
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    seen.0.lock().unwrap().push(("/dl2".into(), auth));
                    (StatusCode::FOUND, [(header::LOCATION, format!("{f}/file"))]).into_response()
                }
            }),
        )
        .route(
            "/away",
            get(move || {
                let f = foreign.clone();
                async move {
                    (
                        StatusCode::TEMPORARY_REDIRECT,
                        [(header::LOCATION, format!("{f}/file"))],
                    )
                        .into_response()
                }
            }),
        );
    serve(app).await
}

fn with_auth(base: &str) -> kb_http::SiteConfig {
    let mut cfg = site(base);
    cfg.auth = Some(Auth::basic("me@example.com", &SecretString::from("tok3n-s3cret")).unwrap());
    cfg
}

fn assert_foreign(e: &HttpError, foreign: &str) {
    assert!(
        matches!(e.root(), HttpError::ForeignOrigin { .. }),
        "not refused as foreign: {e:?}"
    );
    let text = e.to_string();
    assert!(text.contains(foreign), "the URL is not named: {text}");
    assert_eq!(e.code(), "foreign_origin");
    assert!(!text.contains("tok3n"), "{text}");
}

/// A `_links.next` on another origin: refused, naming the URL; the foreign server sees
/// nothing.
#[tokio::test]
async fn a_next_link_to_another_origin_is_refused() {
    let (foreign, seen) = capture_server().await;
    let base = site_server(foreign.clone(), Captured::default()).await;
    let c = Client::new(with_auth(&base)).unwrap();
    let mut pages = c.pages::<Value>(Request::get(c.url("list").unwrap()), Pagination::Links);
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 1);
    let e = pages.try_next().await.unwrap_err();
    assert!(
        seen.all().is_empty(),
        "reached the foreign server: {:?}",
        seen.all()
    );
    assert_foreign(&e, &foreign);
}

/// A redirect to another origin that is not a file host: refused; nothing reaches it.
#[tokio::test]
async fn a_redirect_to_another_origin_is_refused() {
    let (foreign, seen) = capture_server().await;
    let base = site_server(foreign.clone(), Captured::default()).await;
    let c = Client::new(with_auth(&base)).unwrap();
    let e = c
        .send(&Request::get(c.url("away").unwrap()))
        .await
        .unwrap_err();
    assert!(
        seen.all().is_empty(),
        "reached the foreign server: {:?}",
        seen.all()
    );
    assert_foreign(&e, &foreign);
    // An absolute download link on that origin: the same.
    let e = c
        .send(&Request::get(
            Url::parse(&format!("{foreign}/file")).unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(seen.all().is_empty(), "{:?}", seen.all());
    assert_foreign(&e, &foreign);
}

/// A known file host: a link to it and a redirect chain through the site to it are fetched,
/// the credentials only on the site's hops.
#[tokio::test]
async fn a_media_host_is_fetched_without_the_credentials() {
    let (foreign, seen) = capture_server().await;
    let same = Captured::default();
    let base = site_server(foreign.clone(), same.clone()).await;
    let mut cfg = with_auth(&base);
    cfg.media_origins = vec![Url::parse(&foreign).unwrap()];
    let c = Client::new(cfg).unwrap();
    // Redirects: site /dl → site /dl2 (credentials kept) → foreign /file (dropped).
    let r = c.send(&Request::get(c.url("dl").unwrap())).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(r.url.as_str().starts_with(&foreign), "{}", r.url);
    let same = same.all();
    assert_eq!(same.len(), 1);
    assert!(
        same[0]
            .1
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic ")),
        "{same:?}"
    );
    // A link straight to it.
    let r = c
        .send(&Request::get(
            Url::parse(&format!("{foreign}/direct")).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    // A next link to it.
    let mut pages = c.pages::<Value>(Request::get(c.url("list").unwrap()), Pagination::Links);
    while pages.try_next().await.unwrap().is_some() {}
    let all = seen.all();
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(
        seen.with_auth().is_empty(),
        "credentials reached the file host: {all:?}"
    );
}

/// A client without credentials (Notion's signed file URLs) has nothing to leak: any origin.
#[tokio::test]
async fn a_client_without_credentials_follows_any_origin() {
    let (foreign, seen) = capture_server().await;
    let base = site_server(foreign.clone(), Captured::default()).await;
    let c = Client::new(site(&base)).unwrap();
    let r = c.send(&Request::get(c.url("away").unwrap())).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(seen.all().len(), 1);
}
