//! Errors name the object and the fix, fail at once on 4xx, and never show the token.

use kb_confluence::{ConfluenceConfig, ContentKind, ContentQuery};
use kb_http::SecretString;
use kb_sim::SimConfig;

use super::*;

#[tokio::test]
async fn wrong_token_is_a_401_naming_the_env_vars_and_not_the_token() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let c = client(
        &sim.confluence_url(),
        ("admin@example.com", "not-the-TOKEN-123"),
    );
    let e = c
        .pages(&ContentQuery::default())
        .unwrap()
        .all()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    let text = e.to_string();
    assert!(
        text.contains("CONFLUENCE_EMAIL") && text.contains("CONFLUENCE_API_TOKEN"),
        "{text}"
    );
    assert!(text.contains("/wiki/api/v2/pages"), "{text}");
    assert!(
        text.contains("Unauthorized"),
        "the service's message: {text}"
    );
    let s = c.stats();
    assert_eq!(s.requests, 1, "a 401 is not retried");
    for shown in [text, format!("{e:?}"), format!("{c:?}")] {
        assert!(!shown.contains("not-the-TOKEN-123"), "{shown}");
        // base64 of "admin@example.com:not-the-TOKEN-123" starts like this.
        assert!(!shown.contains("YWRtaW5AZXhhbXBsZS5jb206"), "{shown}");
    }
}

#[tokio::test]
async fn unlicensed_account_gets_a_403_with_what_to_do() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let c = client(&sim.confluence_url(), UNLICENSED);
    let e = c.spaces().unwrap().all().await.unwrap_err();
    assert_eq!(e.status(), Some(403));
    let text = e.to_string();
    assert!(text.contains("not permitted to use Confluence"), "{text}");
    assert!(text.contains("Confluence access"), "{text}");
}

#[tokio::test]
async fn a_missing_object_is_a_404_naming_it() {
    let sim = kb_sim::start(bigger_site()).await.unwrap();
    let c = client(&sim.confluence_url(), ADMIN);
    let e = c
        .content(ContentKind::Page, "987654321", true)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    let text = e.to_string();
    assert!(
        text.contains("page 987654321") && text.contains("does not exist"),
        "{text}"
    );
    let e = c
        .versions(ContentKind::BlogPost, "987654321")
        .unwrap()
        .all()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("blog post 987654321"), "{e}");
    // A restricted page is a 404 for the guest, and the error says why that may be.
    let d = dataset(&sim.url()).await;
    let restricted = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["type"] == "page" && v["status"] == "current" && restricted(v))
        .unwrap();
    let guest = client(&sim.confluence_url(), GUEST);
    let e = guest
        .content(ContentKind::Page, &restricted["id"].to_string(), false)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("cannot see it"), "{e}");
    assert_eq!(c.stats().retries + guest.stats().retries, 0);
}

/// The base URL in every spelling reaches the same API; `next` links never go to /wiki/wiki
/// (which the twin, like Cloud, answers with a 404).
#[tokio::test]
async fn the_wiki_wiki_trap_is_avoided() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let mut seen = None;
    for url in [
        sim.url(),
        format!("{}/", sim.url()),
        sim.confluence_url(),
        format!("{}//", sim.confluence_url()),
    ] {
        let c = client(&url, ADMIN);
        let (ids, _, pages) = ids_of(paged(c.pages(&ContentQuery::default()).unwrap(), 10)).await;
        assert!(pages > 1);
        if let Some(prev) = &seen {
            assert_eq!(&ids, prev, "{url}");
        }
        seen = Some(ids);
        assert!(
            c.stats()
                .by_endpoint
                .keys()
                .all(|k| !k.contains("/wiki/wiki"))
        );
    }
    // What gluing would have done: the twin answers 404.
    let c = client(&sim.confluence_url(), ADMIN);
    let mut s = paged(c.pages(&ContentQuery::default()).unwrap(), 10).pages();
    use futures_util::TryStreamExt as _;
    let first = s.try_next().await.unwrap().unwrap();
    let next = url::Url::parse(first.next.as_deref().unwrap()).unwrap();
    assert!(next.path().starts_with("/wiki/api/v2/pages"), "{next}");
    let glued = format!(
        "{}{}?{}",
        sim.confluence_url(),
        next.path(),
        next.query().unwrap_or("")
    );
    let r = reqwest::Client::new()
        .get(glued)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[test]
fn config_debug_hides_the_token() {
    let c = ConfluenceConfig::new(
        "https://acme.atlassian.net",
        "me@acme.test",
        SecretString::from("TOKEN-xyz-789"),
    )
    .unwrap();
    let conf = kb_confluence::Confluence::new(c.clone()).unwrap();
    for text in [format!("{c:?}"), format!("{conf:?}")] {
        assert!(!text.contains("TOKEN-xyz-789"), "{text}");
        assert!(text.contains("acme.atlassian.net"), "{text}");
    }
}

/// Space keys are resolved in one request; unknown ones are named together.
#[tokio::test]
async fn unknown_space_keys_are_named() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let c = client(&sim.confluence_url(), ADMIN);
    let spaces = c.spaces_for_keys(&["OPS", "ENG"]).await.unwrap();
    let keys: Vec<&str> = spaces
        .iter()
        .map(|s| kb_confluence::keys::space_key(s).unwrap())
        .collect();
    assert_eq!(keys, ["OPS", "ENG"]);
    let e = c
        .spaces_for_keys(&["ENG", "NOPE", "eng"])
        .await
        .unwrap_err();
    match &e {
        kb_confluence::ConfluenceError::UnknownSpaces { keys, .. } => {
            assert_eq!(keys, &["NOPE".to_string(), "eng".to_string()])
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("NOPE, eng"), "{e}");
    assert!(e.to_string().contains("case-sensitive"), "{e}");
}

/// A write through `send_json`: a content property created on a page is then listed; a
/// duplicate key is a 409 that is not retried.
#[tokio::test]
async fn a_property_written_is_read_back() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let c = client(&sim.confluence_url(), ADMIN);
    let d = dataset(&sim.url()).await;
    let page = truth(&d, "contents", |v| {
        v["type"] == "page" && v["status"] == "current"
    })
    .into_iter()
    .next()
    .unwrap();
    let body = serde_json::json!({"key": "kbridge.check", "value": {"hash": "abc"}});
    let created = c
        .send_json(
            kb_http::Method::POST,
            &format!("pages/{page}/properties"),
            &body,
        )
        .await
        .unwrap();
    assert_eq!(created["key"], "kbridge.check");
    let props = c
        .properties(ContentKind::Page, &page)
        .unwrap()
        .all()
        .await
        .unwrap();
    assert!(
        props
            .iter()
            .any(|p| p["key"] == "kbridge.check" && p["value"]["hash"] == "abc")
    );
    let before = c.stats().requests;
    let e = c
        .send_json(
            kb_http::Method::POST,
            &format!("pages/{page}/properties"),
            &body,
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    assert_eq!(c.stats().requests, before + 1);
}

/// One missing attachment file is a 404 on that file, not a doubt about the whole site.
#[tokio::test]
async fn a_missing_attachment_file_names_the_file_not_the_site() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let c = client(
        &sim.confluence_url(),
        ("admin@example.com", "kbridge-sim-token"),
    );
    let e = c
        .download("/download/attachments/999999999/nowhere.png?version=1&api=v2")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let hint = e.hint().unwrap_or_default().to_string();
    assert!(
        hint.contains("nowhere.png") && hint.contains("does not exist"),
        "{hint}"
    );
    assert!(!e.to_string().contains("Confluence Cloud site"), "{e}");
}
