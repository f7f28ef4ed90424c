//! The retry loop and the limiter against servers that misbehave on purpose.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kb_http::{Client, Event, HttpError, Request, RetryPolicy, TransportKind};
use tokio::time::Instant;

use super::{Arrivals, client, serve, site};

type Reply = (StatusCode, HeaderMap, String);

fn reply(status: u16, headers: &[(&'static str, String)], body: &str) -> Reply {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.insert(*k, v.parse().unwrap());
    }
    h.insert("content-type", "application/json".parse().unwrap());
    (StatusCode::from_u16(status).unwrap(), h, body.to_string())
}

/// A handler that records each arrival under `label` and answers the n-th request (from 0)
/// with `answer(n)`.
fn scripted_handler(
    label: &'static str,
    arrivals: &Arrivals,
    answer: impl Fn(u32) -> Reply + Clone + Send + Sync + 'static,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let (a, n) = (arrivals.clone(), Arc::new(AtomicU32::new(0)));
    move || {
        let (a, n, answer) = (a.clone(), n.clone(), answer.clone());
        Box::pin(async move {
            a.push(label);
            answer(n.fetch_add(1, Ordering::SeqCst))
        })
    }
}

/// A one-route app of [`scripted_handler`] at `path`.
fn scripted(
    path: &'static str,
    arrivals: &Arrivals,
    answer: impl Fn(u32) -> Reply + Clone + Send + Sync + 'static,
) -> Router {
    Router::new().route(path, get(scripted_handler(path, arrivals, answer)))
}

/// A 429 with `Retry-After: 5` on one endpoint stops every request of the site for 5 s: a
/// request to another endpoint started meanwhile waits too, and both then succeed.
#[tokio::test(start_paused = true)]
async fn a_429_pauses_the_whole_bucket_for_its_retry_after() {
    let arrivals = Arrivals::default();
    let app = scripted("/a", &arrivals, |n| match n {
        0 => reply(
            429,
            &[("retry-after", "5".into())],
            r#"{"message":"slow down"}"#,
        ),
        _ => reply(
            200,
            &[("x-ratelimit-nearlimit", "true".into())],
            r#"{"ok":"a"}"#,
        ),
    })
    .merge(scripted("/b", &arrivals, |_| {
        reply(200, &[], r#"{"ok":"b"}"#)
    }));
    let base = serve(app).await;
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let ev = events.clone();
    let c = Client::build(
        site(&base),
        None,
        Some(Arc::new(move |e: &Event| {
            ev.lock().unwrap().push(e.clone())
        })),
    )
    .unwrap();
    let t0 = Instant::now();
    let ra = Request::get(c.url("a").unwrap());
    let rb = Request::get(c.url("b").unwrap());
    let (a, b) = tokio::join!(c.json::<serde_json::Value>(&ra), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.json::<serde_json::Value>(&rb).await
    });
    assert_eq!(a.unwrap()["ok"], "a");
    assert_eq!(b.unwrap()["ok"], "b");
    let a_times = arrivals.of("/a");
    let b_times = arrivals.of("/b");
    assert_eq!(a_times.len(), 2, "one 429, one retry");
    assert_eq!(b_times.len(), 1);
    assert!(
        a_times[1] - t0 >= Duration::from_secs(5),
        "{:?}",
        a_times[1] - t0
    );
    assert!(
        b_times[0] - t0 >= Duration::from_secs(5),
        "the other endpoint waited for the pause too: {:?}",
        b_times[0] - t0
    );
    let s = c.stats().snapshot();
    assert_eq!(s.rate_limited, 1);
    assert_eq!(s.retries, 1);
    assert_eq!(s.requests, 3);
    assert_eq!(
        s.near_limit, 1,
        "the second answer to /a said the limit was near"
    );
    assert_eq!(s.by_endpoint["GET /a"][&429], 1);
    assert_eq!(s.by_endpoint["GET /a"][&200], 1);
    let json = c.stats().to_json();
    assert_eq!(json["by_endpoint"]["GET /a"]["429"], 1, "{json}");
    let ev = events.lock().unwrap();
    assert!(ev.iter().any(|e| matches!(e, Event::RateLimited { retry_after: Some(d), .. } if *d == Duration::from_secs(5))));
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Retried { attempt: 1, .. }))
    );
}

/// Every attempt pays a token: at 2 requests/s with a burst of 1, three attempts (a 503 with
/// `Retry-After: 0`, then two successes) are spaced by the rate, not sent at once.
#[tokio::test(start_paused = true)]
async fn every_attempt_pays_a_token() {
    let arrivals = Arrivals::default();
    let app = scripted("/x", &arrivals, |n| match n {
        0 => reply(503, &[("retry-after", "0".into())], "{}"),
        _ => reply(200, &[], "{}"),
    });
    let base = serve(app).await;
    let mut cfg = site(&base);
    cfg.limits.rate = 2.0;
    cfg.limits.burst = 1;
    let c = Client::new(cfg).unwrap();
    let r = Request::get(c.url("x").unwrap());
    c.send(&r).await.unwrap();
    c.send(&r).await.unwrap();
    let t = arrivals.of("/x");
    assert_eq!(t.len(), 3);
    assert!(
        t[1] - t[0] >= Duration::from_millis(500),
        "{:?}",
        t[1] - t[0]
    );
    assert!(
        t[2] - t[1] >= Duration::from_millis(500),
        "{:?}",
        t[2] - t[1]
    );
}

/// `Beta-Retry-After` is honoured when `Retry-After` is absent, and an HTTP-date
/// `Retry-After` too.
#[tokio::test(start_paused = true)]
async fn beta_retry_after_and_http_dates_are_honoured() {
    let arrivals = Arrivals::default();
    let app = scripted("/x", &arrivals, |n| match n {
        0 => reply(503, &[("beta-retry-after", "7".into())], "{}"),
        1 => reply(
            429,
            &[(
                "retry-after",
                httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(20)),
            )],
            "{}",
        ),
        _ => reply(200, &[], "{}"),
    });
    let base = serve(app).await;
    let c = client(&base);
    c.send(&Request::get(c.url("x").unwrap())).await.unwrap();
    let t = arrivals.of("/x");
    assert_eq!(t.len(), 3);
    assert!(t[1] - t[0] >= Duration::from_secs(7), "{:?}", t[1] - t[0]);
    // The date has whole seconds: between 19 and 20 s from the answer.
    assert!(t[2] - t[1] >= Duration::from_secs(19), "{:?}", t[2] - t[1]);
}

/// A 4xx other than 429 fails at once (one request), with the service's message, the object
/// and the caller's hint in the error.
#[tokio::test(start_paused = true)]
async fn client_errors_fail_at_once_with_message_and_hint() {
    let arrivals = Arrivals::default();
    let app = Router::new().route(
        "/wiki/api/v2/pages/{id}",
        get(scripted_handler("/pages", &arrivals, |_| {
            reply(
                404,
                &[],
                r#"{"errors":[{"status":404,"code":"NOT_FOUND","title":"Not Found","detail":"No content with id 99"}]}"#,
            )
        })),
    );
    let base = serve(app).await;
    let hints: kb_http::Hints = Arc::new(|status, req: &Request| {
        (status == 404).then(|| {
            format!(
                "check that {} exists",
                req.object.as_deref().unwrap_or("it")
            )
        })
    });
    let c = Client::build(site(&base), Some(hints), None).unwrap();
    let req = Request::get(c.url("wiki/api/v2/pages/99").unwrap()).object("page 99");
    assert_eq!(req.endpoint, "GET /wiki/api/v2/pages/{id}");
    let e = c.send(&req).await.unwrap_err();
    assert_eq!(arrivals.of("/pages").len(), 1, "no retry on a 404");
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.hint(), Some("check that page 99 exists"));
    let text = e.to_string();
    for part in [
        "404 Not Found",
        "GET",
        "/wiki/api/v2/pages/99",
        "(page 99)",
        "No content with id 99",
        "check that page 99 exists",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    assert_eq!(c.stats().snapshot().retries, 0);
}

/// Other 5xx back off linearly (1 s, 2 s, 3 s) and the policy gives up after its attempts,
/// with the last answer inside the error and a `GaveUp` event.
#[tokio::test(start_paused = true)]
async fn server_errors_back_off_linearly_then_give_up() {
    let arrivals = Arrivals::default();
    let app = scripted("/x", &arrivals, |_| {
        reply(502, &[], r#"{"message":"bad gateway"}"#)
    });
    let base = serve(app).await;
    let mut cfg = site(&base);
    cfg.retry = RetryPolicy {
        max_attempts: 4,
        ..cfg.retry
    };
    let c = Client::new(cfg).unwrap();
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    let t = arrivals.of("/x");
    assert_eq!(t.len(), 4);
    for (i, w) in t.windows(2).enumerate() {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_secs(i as u64 + 1) && gap < Duration::from_secs(i as u64 + 2),
            "gap {i}: {gap:?}"
        );
    }
    match &e {
        HttpError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert_eq!(last.status(), Some(502));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("gave up after 4 attempts"), "{e}");
    assert!(e.to_string().contains("bad gateway"), "{e}");
    let s = c.stats().snapshot();
    assert_eq!((s.retries, s.gave_up), (3, 1));
}

/// 501 Not Implemented is not retried.
#[tokio::test(start_paused = true)]
async fn not_implemented_is_not_retried() {
    let arrivals = Arrivals::default();
    let app = scripted("/x", &arrivals, |_| reply(501, &[], "{}"));
    let c = client(&serve(app).await);
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(501));
    assert_eq!(arrivals.of("/x").len(), 1);
}

/// A slow answer times out and is retried; the retry succeeds.
#[tokio::test(start_paused = true)]
async fn timeouts_are_retried() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/x",
        get(move || {
            let h = h.clone();
            async move {
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                reply(200, &[], r#"{"ok":true}"#)
            }
        }),
    );
    let base = serve(app).await;
    let mut cfg = site(&base);
    cfg.timeout = Some(Duration::from_secs(2));
    let c = Client::new(cfg).unwrap();
    let v: serde_json::Value = c.json(&Request::get(c.url("x").unwrap())).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let s = c.stats().snapshot();
    assert_eq!(s.retries, 1);
    assert_eq!(
        s.by_endpoint["GET /x"][&0], 1,
        "the timed-out attempt counts as status 0"
    );
}

/// A raw server: the first connection is closed without an answer, the second gets its
/// headers and half the body before closing; the third answers. Both failures are retried.
#[tokio::test(start_paused = true)]
async fn resets_and_cut_bodies_are_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            n += 1;
            let k = n;
            tokio::spawn(async move {
                read_request(&sock).await;
                let body = r#"{"ok":"whole body"}"#;
                match k {
                    1 => drop(sock),
                    2 => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
                            body.len(),
                            &body[..body.len() / 2]
                        );
                        write_all(&sock, head.as_bytes()).await;
                        drop(sock);
                    }
                    _ => {
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                            body.len(),
                            body
                        );
                        write_all(&sock, resp.as_bytes()).await;
                    }
                }
            });
        }
    });
    let c = client(&format!("http://{addr}"));
    let v: serde_json::Value = c.json(&Request::get(c.url("x").unwrap())).await.unwrap();
    assert_eq!(v["ok"], "whole body");
    let s = c.stats().snapshot();
    assert_eq!(s.retries, 2, "{s:?}");
    assert_eq!(s.by_endpoint["GET /x"][&0], 2);
}

/// Nothing listens: a connection error, retried, then given up with the cause named.
#[tokio::test(start_paused = true)]
async fn connection_refused_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut cfg = site(&format!("http://{addr}"));
    cfg.retry.max_attempts = 2;
    let c = Client::new(cfg).unwrap();
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    assert!(e.is_transport(), "{e:?}");
    match e.root() {
        HttpError::Transport { kind, .. } => assert_eq!(*kind, TransportKind::Refused),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

async fn read_request(sock: &tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        sock.readable().await.unwrap();
        match sock.try_read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

async fn write_all(sock: &tokio::net::TcpStream, mut data: &[u8]) {
    while !data.is_empty() {
        sock.writable().await.unwrap();
        match sock.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

/// A POST is not retried after a 502 (the server may have acted on it), unless the caller
/// says it is idempotent; a 503 is retried either way (the server refused it).
#[tokio::test(start_paused = true)]
async fn non_idempotent_requests_are_retried_only_when_the_server_did_not_act() {
    let arrivals = Arrivals::default();
    let app = Router::new()
        .route(
            "/bad-gateway",
            axum::routing::post(scripted_handler("/bad-gateway", &arrivals, |n| match n {
                0 | 1 => reply(502, &[], "{}"),
                _ => reply(200, &[], r#"{"created":true}"#),
            })),
        )
        .route(
            "/busy",
            axum::routing::post(scripted_handler("/busy", &arrivals, |n| match n {
                0 => reply(503, &[("retry-after", "1".into())], "{}"),
                _ => reply(200, &[], r#"{"created":true}"#),
            })),
        );
    let c = client(&serve(app).await);
    let body = serde_json::json!({"title": "x"});
    let post = |path: &str| Request::json(kb_http::Method::POST, c.url(path).unwrap(), &body);
    let e = c.send(&post("bad-gateway")).await.unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert_eq!(arrivals.of("/bad-gateway").len(), 1, "not sent twice");
    let v: serde_json::Value = c.json(&post("bad-gateway").idempotent(true)).await.unwrap();
    assert_eq!(v["created"], true);
    assert_eq!(arrivals.of("/bad-gateway").len(), 3);
    let v: serde_json::Value = c.json(&post("busy")).await.unwrap();
    assert_eq!(v["created"], true);
    assert_eq!(
        arrivals.of("/busy").len(),
        2,
        "a 503 is retried even for a POST"
    );
}
