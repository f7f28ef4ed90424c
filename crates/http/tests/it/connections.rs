//! Connection failures told apart, each with its own code and a hint naming the URL setting,
//! after a short bounded retry while the site has never answered (a wrong URL shows at once),
//! and the full policy once it has (a site restarting mid-run is waited for).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use kb_http::{Client, Event, HttpError, Request, TransportKind};

use super::{serve, site};

fn counting(cfg: kb_http::SiteConfig) -> (Client, std::sync::Arc<std::sync::Mutex<Vec<Event>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let cb: kb_http::EventCallback = std::sync::Arc::new(move |e: &Event| {
        s.lock().unwrap().push(e.clone());
    });
    (Client::build(cfg, None, Some(cb)).unwrap(), seen)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Nothing listens: `connection_refused`, 3 attempts (not 8), the hint names the setting.
#[tokio::test(start_paused = true)]
async fn refused_is_retried_briefly_and_names_the_setting() {
    let mut cfg = site(&format!("http://127.0.0.1:{}", free_port()));
    cfg.url_setting = Some("CONFLUENCE_URL".into());
    let (c, events) = counting(cfg);
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportKind::Refused), "{e:?}");
    assert_eq!(e.code(), "connection_refused");
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("CONFLUENCE_URL") && hint.contains("nothing listens"),
        "{hint}"
    );
    let attempts = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Event::RequestDone { .. }))
        .count();
    assert_eq!(attempts, 3);
    // The message says it once: the method and URL are not repeated by the retry wrapper.
    let text = e.to_string();
    assert_eq!(text.matches("GET http").count(), 1, "{text}");
    assert!(text.contains("gave up after 3 attempts"), "{text}");
}

/// `https://` to a plain-HTTP server: its own code and hint (use http://), never retried.
#[tokio::test]
async fn tls_to_a_plain_http_server_says_so() {
    let base = serve(Router::new().route("/x", get(|| async { "plain" }))).await;
    let https = base.replace("http://", "https://");
    let mut cfg = site(&https);
    cfg.url_setting = Some("NOTION_URL".into());
    let (c, events) = counting(cfg);
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(
        e.transport_kind(),
        Some(TransportKind::TlsToPlainHttp),
        "{e:?}"
    );
    assert_eq!(e.code(), "connection_tls_plain_http");
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("http://") && hint.contains("NOTION_URL"),
        "{hint}"
    );
    assert_eq!(
        events.lock().unwrap().len(),
        1,
        "retried: {:?}",
        events.lock().unwrap()
    );
}

/// A name that does not resolve: `connection_dns`, not retried before a first answer.
#[tokio::test]
async fn a_name_that_does_not_resolve_says_so() {
    let mut cfg = site("http://no-such-host.invalid");
    cfg.url_setting = Some("CONFLUENCE_URL".into());
    let (c, events) = counting(cfg);
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportKind::Dns), "{e:?}");
    assert_eq!(e.code(), "connection_dns");
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("no-such-host.invalid") && hint.contains("CONFLUENCE_URL"),
        "{hint}"
    );
    assert_eq!(events.lock().unwrap().len(), 1);
}

/// No answer in time: `timeout`, with the setting in the hint.
#[tokio::test(start_paused = true)]
async fn no_answer_in_time_names_the_setting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            held.push(sock); // accepted, never answered
        }
    });
    let mut cfg = site(&format!("http://{addr}"));
    cfg.timeout = Some(Duration::from_secs(5));
    cfg.retry.max_attempts = 2;
    cfg.url_setting = Some("CONFLUENCE_URL".into());
    let c = Client::new(cfg).unwrap();
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(e.root(), HttpError::Timeout { .. }), "{e:?}");
    assert_eq!(e.code(), "timeout");
    assert!(e.hint().unwrap().contains("CONFLUENCE_URL"), "{e}");
}

/// Once the site has answered, a refused connection (a restart) gets the whole policy.
#[tokio::test(start_paused = true)]
async fn a_site_that_answered_before_is_waited_for() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let app = Router::new().route("/x", get(|| async { "{}" }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut cfg = site(&format!("http://{addr}"));
    cfg.retry.max_attempts = 5;
    let (c, events) = counting(cfg);
    c.send(&Request::get(c.url("x").unwrap())).await.unwrap();
    server.abort();
    let _ = server.await;
    let e = c
        .send(&Request::get(c.url("x").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportKind::Refused), "{e:?}");
    let attempts = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Event::RequestDone { .. }))
        .count();
    assert_eq!(attempts, 1 + 5);
}

/// A wrong URL answering 401 in another service's shape: the hint says check the URL
/// setting, not the token; an answer in the service's shape keeps the client's hint.
#[tokio::test]
async fn a_foreign_401_is_blamed_on_the_url_not_the_token() {
    use axum::http::StatusCode;
    let app = Router::new()
        .route(
            "/v1/users/me",
            get(|| async { (StatusCode::UNAUTHORIZED, r#"{"message":"Bad credentials"}"#) }),
        )
        .route(
            "/v1/pages/x",
            get(|| async {
                (
                    StatusCode::UNAUTHORIZED,
                    r#"{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}"#,
                )
            }),
        );
    let base = serve(app).await;
    let mut cfg = site(&base);
    cfg.url_setting = Some("NOTION_URL".into());
    cfg.service_error_shape =
        Some(|b: &[u8]| String::from_utf8_lossy(b).contains("\"object\":\"error\""));
    let hints: kb_http::Hints = std::sync::Arc::new(|_, _| Some("check NOTION_TOKEN".into()));
    let c = Client::build(cfg, Some(hints), None).unwrap();
    let e = c
        .send(&Request::get(c.url("v1/users/me").unwrap()))
        .await
        .unwrap_err();
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("Check NOTION_URL") && !hint.contains("NOTION_TOKEN"),
        "{hint}"
    );
    let e = c
        .send(&Request::get(c.url("v1/pages/x").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.hint(), Some("check NOTION_TOKEN"));
}
