//! The web UI without a browser: the login sets a session, every page renders with the data,
//! forms without (or with another) CSRF token are refused and change nothing, failed logins
//! count toward the per-address limit, no page shows a secret.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use kb_config::ConfigFile;

use crate::support::{TOKEN, daemon};

struct Browser {
    sh: std::sync::Arc<kb_serve::Shared>,
    cookie: Option<String>,
    ip: [u8; 4],
}

impl Browser {
    async fn send(
        &self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (StatusCode, HashMap<String, String>, String) {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("accept", "text/html");
        if let Some(c) = &self.cookie {
            b = b.header("cookie", c.clone());
        }
        let mut req = match form {
            Some(f) => {
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(f.iter())
                    .finish();
                b.header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap()
            }
            None => b.body(Body::empty()).unwrap(),
        };
        req.extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((self.ip, 5000))));
        let resp = tower::ServiceExt::oneshot(kb_serve::api::router(self.sh.clone()), req)
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }
}

fn csrf_in(page: &str) -> String {
    let i = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    page[i + 19..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_pages_and_csrf() {
    let d = daemon(
        ConfigFile::default(),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    let mut b = Browser {
        sh: d.sh.clone(),
        cookie: None,
        ip: [10, 9, 0, 1],
    };
    // Not logged in: the login form, 401.
    let (s, _, page) = b.send("GET", "/", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(page.contains("name=\"token\""), "{page}");
    let (s, _, _) = b.send("GET", "/assets/htmx.min.js", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, page) = b
        .send(
            "POST",
            "/login",
            Some(&[("token", "not-the-token-0123456789")]),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(page.contains("not the admin token"));
    let (s, h, _) = b.send("POST", "/login", Some(&[("token", TOKEN)])).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = h["set-cookie"].clone();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    b.cookie = Some(cookie.split(';').next().unwrap().to_string());

    let (s, _, page) = b.send("GET", "/", None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Overview") && page.contains("/assets/htmx.min.js"));
    let (s, h, js) = b.send("GET", "/assets/htmx.min.js", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-type"].starts_with("text/javascript") && js.contains("htmx"));
    let csrf = csrf_in(&page);

    // A form without the token, or with another, is refused and changes nothing.
    let conn = [
        ("name", "wiki"),
        ("kind", "confluence_cloud"),
        ("url", "https://acme.atlassian.net"),
        ("email", "a@example.com"),
        ("token_env", "WIKI_TOKEN"),
    ];
    let (s, _, _) = b.send("POST", "/ui/connections", Some(&conn)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut forged = conn.to_vec();
    forged.push((
        "csrf",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ));
    let (s, _, _) = b.send("POST", "/ui/connections", Some(&forged)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(d.sh.db.connections().await.unwrap().is_empty());
    // With it, saved.
    let mut good = conn.to_vec();
    good.push(("csrf", &csrf));
    let (s, h, _) = b.send("POST", "/ui/connections", Some(&good)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(h["location"].starts_with("/ui/connections?flash="));
    assert_eq!(d.sh.db.connections().await.unwrap().len(), 1);
    let (_, _, page) = b.send("GET", "/ui/connections", None).await;
    assert!(
        page.contains("data-connection=\"wiki\"") && page.contains("$WIKI_TOKEN"),
        "{page}"
    );

    // A job, then run now: without CSRF nothing is queued.
    let job = [
        ("name", "nightly"),
        ("connection", "wiki"),
        ("spaces", "ENG, OPS"),
        ("every", "daily 02:00"),
        ("time_zone", "Europe/Paris"),
        ("csrf", &csrf),
    ];
    let (s, _, _) = b.send("POST", "/ui/jobs", Some(&job)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let j = d.sh.db.job("nightly").await.unwrap().unwrap();
    assert_eq!(j.spec["spaces"], serde_json::json!(["ENG", "OPS"]));
    let (s, _, _) = b.send("POST", "/ui/jobs/nightly/run", Some(&[])).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(d.sh.db.runs(None, 10).await.unwrap().is_empty());
    let (s, _, _) = b
        .send("POST", "/ui/jobs/nightly/run", Some(&[("csrf", &csrf)]))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let runs = d.sh.db.runs(None, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    // A bad schedule is said on the page, not saved.
    let bad = [
        ("name", "broken"),
        ("connection", "wiki"),
        ("every", "daily 2am"),
        ("csrf", &csrf),
    ];
    let (_, h, _) = b.send("POST", "/ui/jobs", Some(&bad)).await;
    assert!(h["location"].contains("HH%3AMM"), "{h:?}");
    assert!(d.sh.db.job("broken").await.unwrap().is_none());

    // Every page renders with the data.
    kb_serve::runner::drain(&d.sh).await.unwrap();
    for (path, needle) in [
        ("/", "data-job=\"nightly\""),
        ("/ui/jobs", "daily 02:00 (Europe/Paris)"),
        ("/ui/runs", &format!("data-run=\"{}\"", runs[0].id)),
        (&format!("/ui/runs/{}", runs[0].id), "id=\"run-status\""),
        (
            &format!("/ui/runs/{}?level=error", runs[0].id),
            "badge error",
        ),
        ("/ui/logs?level=error", "badge error"),
    ] {
        let (s, _, page) = b.send("GET", path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(page.contains(needle), "{path} lacks {needle}: {page}");
        assert!(!page.contains(TOKEN), "{path}");
    }
    let (s, _, _) = b.send("GET", "/ui/runs/abc", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Log out: the session is gone.
    let (s, _, _) = b.send("POST", "/logout", Some(&[("csrf", &csrf)])).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _) = b.send("GET", "/", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_through_the_form_are_rate_limited() {
    let d = daemon(
        ConfigFile::default(),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    let b = Browser {
        sh: d.sh.clone(),
        cookie: None,
        ip: [10, 9, 1, 1],
    };
    for i in 0..10 {
        let (s, _, _) = b
            .send("POST", "/login", Some(&[("token", &format!("guess-{i}"))]))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _, _) = b.send("POST", "/login", Some(&[("token", TOKEN)])).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}
