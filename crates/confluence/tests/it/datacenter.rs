//! The Data Center flavour against the Data Center twin (`/confluence`, PAT or Basic): the check
//! reports flavour, version, user and spaces with Data Center hints; listings page by offsets
//! and the scan under silently capped limits without losing or repeating an item; errors name
//! Data Center's settings, never `atlassian.net`; the per-user rate limit is learned from
//! `X-RateLimit-FillRate`.

use std::collections::BTreeSet;

use kb_confluence::{
    AuthScheme, CheckError, Confluence, ConfluenceConfig, ContentKind, Flavour, SpaceRef,
};
use kb_http::SecretString;
use kb_sim::SimConfig;

use super::*;

fn pat(sim: &kb_sim::SimHandle, who: usize) -> String {
    kb_sim::dc::pat_for(&sim.credentials()[who])
}

fn dc_config(sim: &kb_sim::SimHandle, pat: &str) -> ConfluenceConfig {
    let mut c =
        ConfluenceConfig::data_center_pat(&sim.dc_url(), SecretString::from(pat.to_string()))
            .unwrap();
    c.rate = 500.0;
    c.retry.jitter_seed = Some(7);
    c
}

fn dc(sim: &kb_sim::SimHandle) -> Confluence {
    Confluence::new(dc_config(sim, &pat(sim, 0))).unwrap()
}

#[tokio::test]
async fn check_reports_flavour_version_user_and_spaces() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let d = dataset(&sim.url()).await;
    let r = dc(&sim).check().await.unwrap();
    assert_eq!(r.flavour, "dc");
    assert_eq!(r.version.as_deref(), Some(kb_sim::dc::VERSION));
    assert!(r.scan, "9.0 has content/scan");
    assert_eq!(r.spaces, Some(d["spaces"].as_array().unwrap().len() as u64));
    assert_eq!(r.username.as_deref(), Some("admin"));
    let admin = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == ADMIN.0)
        .unwrap();
    assert_eq!(
        r.account_id,
        Some(kb_sim::dc::user_key(admin["accountId"].as_str().unwrap()))
    );
    assert!(r.space_permissions.contains("JSON-RPC"), "{r:?}");
    assert!(r.hints.iter().any(|h| h.contains("per user")), "{r:?}");
    assert_eq!(r.site, sim.dc_url());

    // Username and password (Basic) work too, and the check says a PAT is better.
    let cfg = ConfluenceConfig::data_center_basic(
        &sim.dc_url(),
        "admin",
        SecretString::from(ADMIN.1.to_string()),
    )
    .unwrap();
    assert_eq!(cfg.auth, AuthScheme::Basic);
    let r = Confluence::new(cfg).unwrap().check().await.unwrap();
    assert!(
        r.hints.iter().any(|h| h.contains("CONFLUENCE_PAT")),
        "{r:?}"
    );
}

#[tokio::test]
async fn data_center_errors_name_data_center_settings() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let e = Confluence::new(dc_config(&sim, "pat-wrong"))
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::Unauthorized { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("CONFLUENCE_PAT") && !msg.contains("atlassian"),
        "{msg}"
    );
    assert!(!msg.contains("pat-wrong"), "{msg}");
    // A 404 on an object names it, in Data Center's terms.
    let c = dc(&sim);
    let req = kb_http::Request::get(c.http().url("rest/api/content/999999999").unwrap())
        .object("page 999999999");
    let e = c.get(req).await.unwrap_err().to_string();
    assert!(
        e.contains("page 999999999 does not exist") && !e.contains("atlassian"),
        "{e}"
    );
    // A 404 on an object names it.
    let c = dc(&sim);
    let l = c.group_member_listing("no-such-group").unwrap();
    let e = l.all().await.unwrap_err().to_string();
    assert!(
        e.contains("group no-such-group") && !e.contains("atlassian"),
        "{e}"
    );
}

#[tokio::test]
async fn capped_limits_and_the_scan_lose_nothing() {
    let sim = kb_sim::start(bigger_site()).await.unwrap();
    let d = dataset(&sim.url()).await;
    let c = dc(&sim);
    assert_eq!(c.flavour(), Flavour::DataCenter);
    let spaces = c.space_listing(&[]).unwrap().all().await.unwrap();
    let mut got = BTreeSet::new();
    for sp in &spaces {
        let space = SpaceRef {
            id: kb_confluence::keys::id(sp).unwrap(),
            key: kb_confluence::keys::space_key(sp).unwrap().to_string(),
        };
        let statuses = ["current", "archived", "trashed"];
        // The client asks for 200, the twin answers 50 at most: `next` carries on.
        let l = c
            .content_listing(ContentKind::Page, &space, &statuses, false)
            .await
            .unwrap();
        assert!(l.request.url.path().ends_with("/content/scan"));
        let (ids, items, pages) = ids_of(l).await;
        assert!(pages > 1 || ids.len() <= kb_sim::dc::CONTENT_CAP, "{pages}");
        assert!(items.iter().all(|p| p["spaceId"] == sp["id"]));
        got.extend(ids);
    }
    let want = truth(&d, "contents", |v| {
        v["type"] == "page" && status_in(v, &["current", "archived", "trashed"])
    });
    assert_eq!(got, want);
    // Blog posts by offsets.
    let sp = &spaces[0];
    let space = SpaceRef {
        id: kb_confluence::keys::id(sp).unwrap(),
        key: kb_confluence::keys::space_key(sp).unwrap().to_string(),
    };
    let l = c
        .content_listing(ContentKind::BlogPost, &space, &["current"], true)
        .await
        .unwrap();
    let (ids, items, _) = ids_of(l).await;
    let want = truth(&d, "contents", |v| {
        v["type"] == "blogpost"
            && v["status"] == "current"
            && v["spaceId"].as_u64().map(|n| n.to_string()).as_deref() == sp["id"].as_str()
    });
    assert_eq!(ids, want);
    assert!(
        items
            .iter()
            .all(|b| b["body"]["storage"]["value"].is_string())
    );
    // No request went to /wiki.
    assert!(
        c.stats().by_endpoint.keys().all(|e| !e.contains("/wiki")),
        "{:?}",
        c.stats().by_endpoint.keys()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_user_fill_rate_is_learned() {
    let sim = kb_sim::start(SimConfig {
        rate_limits: "get=30/30".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = dc(&sim);
    let d = dataset(&sim.url()).await;
    let ids: Vec<String> = truth(&d, "contents", |v| {
        v["type"] == "page" && v["status"] == "current"
    })
    .into_iter()
    .take(40)
    .collect();
    for id in &ids {
        c.content_details(
            ContentKind::Page,
            id,
            &["current"],
            kb_confluence::Wanted::default(),
        )
        .await
        .unwrap();
    }
    let p = c.pacing();
    let site = p.iter().find(|x| x.class == "site").unwrap();
    assert!((site.rate - 28.5).abs() < 0.01, "{p:?}");
    assert_eq!(c.stats().rate_limited, 0, "{:?}", c.stats());
}

#[tokio::test]
async fn space_permissions_come_from_json_rpc_with_user_keys_and_group_names() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let d = dataset(&sim.url()).await;
    let sp = &d["spaces"][0];
    let space = SpaceRef {
        id: match &sp["id"] {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        },
        key: sp["key"].as_str().unwrap().to_string(),
    };
    let admin = dc(&sim);
    assert_eq!(
        admin.permission_source().await,
        kb_confluence::PermissionSource::JsonRpc
    );
    let kb_confluence::SpacePermissions::Read { items, source } =
        admin.read_space_permissions(&space).await.unwrap()
    else {
        panic!("the admin reads the space's permissions")
    };
    assert_eq!(source, kb_confluence::PermissionSource::JsonRpc);
    let got: BTreeSet<(String, String, String, String)> = items
        .iter()
        .map(|p| {
            (
                p["principal"]["type"].as_str().unwrap().to_string(),
                p["principal"]["id"].as_str().unwrap_or("").to_string(),
                p["operation"]["key"].as_str().unwrap().to_string(),
                p["operation"]["targetType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let group_name = |id: &str| {
        d["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .unwrap()["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let want: BTreeSet<(String, String, String, String)> = sp["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t = p["principalType"].as_str().unwrap().to_string();
            let id = p["principalId"].as_str().unwrap_or("");
            let id = match t.as_str() {
                "user" => kb_sim::dc::user_key(id),
                "group" => group_name(id),
                _ => String::new(),
            };
            (
                t,
                id,
                p["operation"].as_str().unwrap().to_string(),
                p["targetType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Ids are stable: a second read gives the same rows in the same order.
    let kb_confluence::SpacePermissions::Read { items: again, .. } =
        admin.read_space_permissions(&space).await.unwrap()
    else {
        panic!("read again")
    };
    assert_eq!(again, items);

    // The guest administers no space: refused, and said why (not an error, not empty rows).
    let guest = Confluence::new(dc_config(&sim, &pat(&sim, 1))).unwrap();
    match guest.read_space_permissions(&space).await.unwrap() {
        kb_confluence::SpacePermissions::Refused { reason, source } => {
            assert_eq!(source, kb_confluence::PermissionSource::JsonRpc);
            assert!(reason.contains("NotPermittedException"), "{reason}");
        }
        other => panic!("the guest reads permissions: {other:?}"),
    }
}
