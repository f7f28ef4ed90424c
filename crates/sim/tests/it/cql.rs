//! v1 CQL search: type, space, ancestor, lastmodified windows, ordering and expansions.

use std::collections::BTreeSet;

use kb_sim::WorkspaceConfig;
use serde_json::{Value, json};

use crate::support::{Twin, ids};

fn q(cql: &str) -> String {
    form_urlencoded_like(cql)
}

fn form_urlencoded_like(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(twin: &Twin, cql: &str, extra: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!(
        "/wiki/rest/api/content/search?cql={}&limit=50{extra}",
        q(cql)
    );
    loop {
        let v = twin.ok(&path).await;
        out.extend(v["results"].as_array().unwrap().iter().cloned());
        match v["_links"]["next"].as_str() {
            Some(n) => path = format!("/wiki{n}"),
            None => break,
        }
    }
    out
}

#[tokio::test]
async fn lastmodified_window_finds_exactly_the_recent_edits_in_order() {
    let twin = Twin::with(WorkspaceConfig {
        pages: 80,
        ..WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let pages: Vec<u64> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "page" && c["status"] == "current")
        .map(|c| c["id"].as_u64().unwrap())
        .take(8)
        .collect();
    // The window starts a minute before the edits (CQL is minute-precise).
    let start = kb_sim::time::now_ms() - 60_000;
    let p = kb_sim::time::parts(start);
    let since = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        p.year, p.month, p.day, p.hour, p.minute
    );
    let edited = [pages[5], pages[1], pages[3]];
    for id in edited {
        twin.admin_post(
            &format!("/__sim/confluence/pages/{id}/edit"),
            &json!({"append": "changed"}),
        )
        .await;
    }
    let hits = search(
        &twin,
        &format!("lastmodified >= \"{since}\" and type = page order by lastmodified asc"),
        "&expand=version",
    )
    .await;
    let got: Vec<String> = ids(&hits);
    assert_eq!(got, edited.iter().map(u64::to_string).collect::<Vec<_>>());
    assert!(
        hits.iter()
            .all(|h| h["version"]["number"].as_u64().unwrap() >= 2)
    );
    let desc = search(
        &twin,
        &format!("lastModified >= \"{since}\" order by lastModified desc"),
        "",
    )
    .await;
    assert_eq!(
        ids(&desc),
        edited.iter().rev().map(u64::to_string).collect::<Vec<_>>()
    );
    // The other side of the window is everything else that is current.
    let older = search(
        &twin,
        &format!("type = page and lastmodified < \"{since}\""),
        "",
    )
    .await;
    let current: usize = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "page" && c["status"] == "current")
        .count();
    assert_eq!(older.len(), current - 3);
}

#[tokio::test]
async fn space_type_ancestor_and_expansions() {
    let twin = Twin::with(WorkspaceConfig {
        pages: 90,
        spaces: 2,
        ..WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let contents = d["contents"].as_array().unwrap();
    let space = &d["spaces"][1];
    let key = space["key"].as_str().unwrap();
    let sid = space["id"].as_u64().unwrap();
    let blogs = search(&twin, &format!("space = \"{key}\" and type = blogpost"), "").await;
    let want: BTreeSet<String> = contents
        .iter()
        .filter(|c| c["type"] == "blogpost" && c["spaceId"] == sid && c["status"] == "current")
        .map(|c| c["id"].to_string())
        .collect();
    assert_eq!(ids(&blogs).into_iter().collect::<BTreeSet<_>>(), want);
    assert!(!want.is_empty());

    let home = space["homepageId"].as_u64().unwrap();
    let under = search(
        &twin,
        &format!("ancestor = {home} and type = page"),
        "&expand=ancestors",
    )
    .await;
    let want: BTreeSet<String> = contents
        .iter()
        .filter(|c| {
            c["type"] == "page"
                && c["status"] == "current"
                && c["spaceId"] == sid
                && c["id"] != home
                && c["parentId"].is_u64()
        })
        .filter(|c| {
            // Under the homepage (not a root-level page).
            let mut cur = c["parentId"].as_u64();
            while let Some(p) = cur {
                if p == home {
                    return true;
                }
                cur = contents
                    .iter()
                    .find(|x| x["id"] == p)
                    .and_then(|x| x["parentId"].as_u64());
            }
            false
        })
        .map(|c| c["id"].to_string())
        .collect();
    assert_eq!(ids(&under).into_iter().collect::<BTreeSet<_>>(), want);
    for h in &under {
        assert_eq!(
            h["ancestors"][0]["id"],
            home.to_string(),
            "ancestors start at the top"
        );
    }

    let one = search(&twin, &format!("id = {home}"), "&expand=version,body.storage,metadata.labels,space,restrictions.read.restrictions.user,restrictions.read.restrictions.group").await;
    let c = &one[0];
    assert_eq!(c["type"], "page");
    assert!(
        c["body"]["storage"]["value"]
            .as_str()
            .unwrap()
            .starts_with('<')
    );
    assert_eq!(c["body"]["storage"]["representation"], "storage");
    assert!(c["version"]["by"]["accountId"].is_string());
    assert!(c["metadata"]["labels"]["results"].is_array());
    assert_eq!(c["space"]["key"], key);
    assert!(c["restrictions"]["read"]["restrictions"]["user"]["results"].is_array());
    assert!(
        c.get("ancestors").is_none() && c["_expandable"]["ancestors"].is_string(),
        "only what was expanded"
    );

    // Unsupported parts are said plainly.
    assert_eq!(
        twin.get(&format!(
            "/wiki/rest/api/content/search?cql={}",
            q("type = folder")
        ))
        .await
        .status,
        501
    );
    assert_eq!(
        twin.get(&format!(
            "/wiki/rest/api/content/search?cql={}&expand=body.editor",
            q("type = page")
        ))
        .await
        .status,
        501
    );
}

#[tokio::test]
async fn cql_finds_attachments_and_comments_when_asked() {
    let twin = crate::support::Twin::small().await;
    let d = twin.dataset().await;
    let space = &d["spaces"][0];
    let key = space["key"].as_str().unwrap();
    let contents = d["contents"].as_array().unwrap();
    let current_in_space = |id: &serde_json::Value| {
        contents
            .iter()
            .any(|c| c["id"] == *id && c["status"] == "current" && c["spaceId"] == space["id"])
    };
    let mut want: Vec<String> = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "current" && current_in_space(&a["containerId"]))
        .map(|a| format!("att{}", a["id"]))
        .collect();
    want.sort();
    let cql = format!("type = attachment AND space = \"{key}\"");
    let mut got = Vec::new();
    let mut start = 0;
    loop {
        let r = twin
            .ok(&format!(
                "/wiki/rest/api/content/search?cql={}&start={start}&limit=50",
                urlencode(&cql)
            ))
            .await;
        let batch = r["results"].as_array().unwrap();
        assert!(batch.iter().all(|x| x["type"] == "attachment"));
        got.extend(batch.iter().map(|x| x["id"].as_str().unwrap().to_string()));
        assert_eq!(r["totalSize"], want.len());
        if r["_links"]["next"].is_null() {
            break;
        }
        start += 50;
    }
    got.sort();
    assert_eq!(got, want);
    // Comments on one page, newest first, and mixed with the page itself.
    let page = d["comments"].as_array().unwrap()[0]["containerId"].clone();
    let n = d["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["containerId"] == page && c["status"] == "current")
        .count();
    let cql = format!("type = comment AND container = {page} ORDER BY created DESC");
    let r = twin
        .ok(&format!(
            "/wiki/rest/api/content/search?cql={}&limit=100&expand=body.storage",
            urlencode(&cql)
        ))
        .await;
    let res = r["results"].as_array().unwrap();
    assert_eq!(res.len(), n);
    assert!(
        res.iter()
            .all(|c| c["type"] == "comment" && c["body"]["storage"]["value"].is_string())
    );
    let cql = format!("type IN (page, comment) AND (id = {page} OR container = {page})");
    let mixed = twin
        .ok(&format!(
            "/wiki/rest/api/content/search?cql={}&limit=100",
            urlencode(&cql)
        ))
        .await;
    assert_eq!(mixed["totalSize"], n + 1);
    // Still 501 for what the twin does not search.
    let r = twin
        .get(&format!(
            "/wiki/rest/api/content/search?cql={}",
            urlencode("type = whiteboard")
        ))
        .await;
    assert_eq!(r.status, 501);
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn cached_searches_see_every_change() {
    let twin = crate::support::Twin::small().await;
    let home = twin.dataset().await["spaces"][0]["homepageId"].clone();
    let path = format!(
        "/wiki/rest/api/content/search?cql={}&expand=metadata.labels",
        urlencode("label = \"fresh-label\"")
    );
    assert_eq!(twin.ok(&path).await["totalSize"], 0);
    // A label write does not rebuild the index; the cached search and rendering still follow.
    let r = twin
        .send(
            reqwest::Method::POST,
            &format!("/wiki/rest/api/content/{home}/label"),
            &json!([{"prefix": "global", "name": "fresh-label"}]),
        )
        .await;
    assert_eq!(r.status, 200);
    let after = twin.ok(&path).await;
    assert_eq!(after["totalSize"], 1);
    assert_eq!(after["size"], 1);
    let labels = after["results"][0]["metadata"]["labels"]["results"]
        .as_array()
        .unwrap();
    assert!(labels.iter().any(|l| l["name"] == "fresh-label"));
    // The same query twice gives the same answer (the second from the cache).
    assert_eq!(twin.ok(&path).await, after);
}
