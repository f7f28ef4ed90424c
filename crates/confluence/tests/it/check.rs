//! `check()`: who am I, what can I read, and one clear error per cause.

use kb_confluence::CheckError;
use kb_sim::SimConfig;

use super::*;

#[tokio::test]
async fn check_reports_the_account_and_the_readable_spaces() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let d = dataset(&sim.url()).await;
    let r = client(&sim.confluence_url(), ADMIN).check().await.unwrap();
    assert_eq!(r.spaces, Some(d["spaces"].as_array().unwrap().len() as u64));
    assert!(r.v2 && r.v2_error.is_none());
    let admin = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == ADMIN.0)
        .unwrap();
    assert_eq!(r.account_id.as_deref(), admin["accountId"].as_str());
    assert_eq!(r.site, sim.confluence_url());
    assert!(r.space_keys.contains(&"ENG".to_string()), "{r:?}");
    assert!(r.requests >= 2);
}

#[tokio::test]
async fn check_tells_each_failure_apart() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();

    let e = client(&sim.confluence_url(), ("admin@example.com", "bad-TOKEN-4"))
        .check()
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::Unauthorized { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("CONFLUENCE_EMAIL") && text.contains("CONFLUENCE_API_TOKEN"),
        "{text}"
    );
    assert!(!text.contains("bad-TOKEN-4") && !format!("{e:?}").contains("bad-TOKEN-4"));

    let e = client(&sim.confluence_url(), UNLICENSED)
        .check()
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::Unlicensed { .. }), "{e:?}");
    assert!(e.to_string().contains("no Confluence access"), "{e}");

    // A server that is not Confluence at that path.
    let e = client(&format!("{}/other/wiki", sim.url()), ADMIN)
        .check()
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::NotConfluence { .. }), "{e:?}");
    assert!(
        e.to_string().contains("is it a Confluence Cloud site?"),
        "{e}"
    );

    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config(&format!("http://127.0.0.1:{port}"), ADMIN);
    cfg.retry.max_attempts = 2;
    cfg.retry.base = std::time::Duration::from_millis(10);
    let e = kb_confluence::Confluence::new(cfg)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string().contains("cannot reach") && e.to_string().contains("CONFLUENCE_URL"),
        "{e}"
    );
}
