//! Errors that say what to do: a wrong token, a page not shared, bad input.

use kb_notion::{Notion, NotionError, NotionVersion};
use serde_json::json;

use super::support::Twin;

#[tokio::test]
async fn a_bad_token_says_check_notion_token_and_hides_it() {
    let twin = Twin::small().await;
    let truth = twin.truth().await;
    let mut cfg = twin.config(NotionVersion::V2025_09_03);
    cfg.token = "secret_WRONG_token_42".to_string().into();
    let notion = Notion::new(cfg).unwrap();
    let id = truth.pages()[0]["id"].as_str().unwrap();
    let e = notion.page(id).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    let msg = e.to_string();
    assert!(msg.contains("check NOTION_TOKEN"), "{msg}");
    assert!(msg.contains("API token is invalid"), "{msg}");
    assert!(!msg.contains("secret_WRONG_token_42"), "{msg}");
    assert!(!format!("{notion:?} {e:?}").contains("secret_WRONG_token_42"));
    let e = notion.check().await.unwrap_err();
    assert!(e.to_string().contains("NOTION_TOKEN"), "{e}");
    // One attempt: a 401 is not retried.
    assert_eq!(notion.stats().snapshot().retries, 0);
}

#[tokio::test]
async fn an_unshared_page_says_to_share_it() {
    let twin = Twin::small().await;
    let truth = twin.truth().await;
    let mut cfg = twin.config(NotionVersion::V2025_09_03);
    cfg.token = twin.handle.notion_restricted_token().to_string().into();
    let notion = Notion::new(cfg).unwrap();
    let roots: Vec<&str> = truth.raw["restricted_roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let home = truth
        .pages()
        .into_iter()
        .find(|p| p["parent"]["type"] == "workspace" && !roots.contains(&p["id"].as_str().unwrap()))
        .unwrap();
    let id = home["id"].as_str().unwrap();
    for e in [
        notion.page(id).await.unwrap_err(),
        notion.block_tree(id).await.unwrap_err(),
    ] {
        assert_eq!(e.status(), Some(404));
        let msg = e.to_string();
        assert!(
            msg.contains("share the page with the integration (••• → Connections)"),
            "{msg}"
        );
        assert!(msg.contains(id), "{msg}");
    }
    // The shared root reads.
    assert!(!notion.block_tree(roots[0]).await.unwrap().is_empty());
    let c = notion.check().await.unwrap();
    assert!(c.pages >= 1 && (c.pages as usize) < truth.pages().len());
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let twin = Twin::small().await;
    let notion = twin.client(NotionVersion::V2025_09_03);
    let e = notion.page("../users/me").await.unwrap_err();
    assert!(matches!(e, NotionError::Config(_)), "{e}");
    assert!(e.to_string().contains("not a Notion id"), "{e}");
    let e = notion.download("not a url").await.unwrap_err();
    assert!(e.to_string().contains("not a URL"), "{e}");
    let e = notion
        .upload(&"x".repeat(901), "text/plain", b"hi")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("900 bytes"), "{e}");
    assert_eq!(notion.stats().snapshot().requests, 0);
    // A validation error comes back with Notion's message.
    let e = notion
        .create_page(json!({"page_id": "0000"}), json!({}), vec![])
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
}

#[tokio::test]
async fn an_unreachable_api_says_check_notion_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = kb_notion::NotionConfig::new(
        format!("http://127.0.0.1:{port}").parse().unwrap(),
        "t".to_string().into(),
    );
    cfg.retry.max_attempts = 2;
    cfg.retry.jitter_seed = Some(1);
    let e = Notion::new(cfg).unwrap().check().await.unwrap_err();
    assert!(e.to_string().contains("check NOTION_URL"), "{e}");
}
