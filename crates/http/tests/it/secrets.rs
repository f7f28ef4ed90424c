//! The secret goes to the server and nowhere else: not in `Debug` of the auth, the config or
//! the client, not in errors.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kb_http::{Auth, Client, Request, SecretString};

use super::{serve, site};

const SECRET: &str = "s3cr3t-TOKEN-value";

#[tokio::test]
async fn the_token_reaches_the_server_and_nothing_else() {
    let app = Router::new().route(
        "/me",
        get(|h: HeaderMap| async move {
            let auth = h
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // base64("me@example.com:s3cr3t-TOKEN-value")
            if auth == "Basic bWVAZXhhbXBsZS5jb206czNjcjN0LVRPS0VOLXZhbHVl" {
                (StatusCode::OK, r#"{"me":true}"#)
            } else {
                (StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#)
            }
        }),
    );
    let base = serve(app).await;
    let mut cfg = site(&base);
    let secret = SecretString::from(SECRET);
    cfg.auth = Some(Auth::basic("me@example.com", &secret).unwrap());
    let c = Client::new(cfg.clone()).unwrap();
    let v: serde_json::Value = c.json(&Request::get(c.url("me").unwrap())).await.unwrap();
    assert_eq!(v["me"], true);

    let wrong = SecretString::from("wrong-TOKEN");
    cfg.auth = Some(Auth::basic("me@example.com", &wrong).unwrap());
    let c2 = Client::new(cfg.clone()).unwrap();
    let e = c2
        .send(&Request::get(c2.url("me?api_token=wrong-TOKEN").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    let bearer = Auth::bearer(&secret).unwrap();
    for text in [
        format!("{e}"),
        format!("{e:?}"),
        format!("{cfg:?}"),
        format!("{c:?}"),
        format!("{c2:?}"),
        format!("{bearer:?}"),
    ] {
        for leak in [SECRET, "wrong-TOKEN", "czNjcjN0", "bWVAZXhhbXBsZS5jb206"] {
            assert!(!text.contains(leak), "{leak} leaked in {text}");
        }
    }
    assert!(format!("{bearer:?}").contains("Bearer <redacted>"));
    assert!(e.to_string().contains("api_token=REDACTED"), "{e}");
}
