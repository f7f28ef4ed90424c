//! `view` and `export_view`: HTML rendered from storage by the twin, on v2 single reads and
//! versions, v1 content, search and comments (what langchain's ConfluenceLoader reads with
//! `expand=body.view.value`), and v1 folder children.

use reqwest::Method;
use serde_json::json;

use crate::support::Twin;

/// A body with every construct the renderer knows, plus an unknown macro and rare entities.
const BODY: &str = "<h2>Plan &amp; scope</h2><p>See <ac:link><ri:page ri:content-title=\"TITLE\" /></ac:link>, ask <ac:link><ri:user ri:account-id=\"ACCOUNT\" /></ac:link> by <time datetime=\"2026-01-02\" /> <ac:structured-macro ac:name=\"status\" ac:schema-version=\"1\"><ac:parameter ac:name=\"colour\">Green</ac:parameter><ac:parameter ac:name=\"title\">ON TRACK</ac:parameter></ac:structured-macro> caf&eacute;&nbsp;&mdash; <ac:inline-comment-marker ac:ref=\"m-1\">marked</ac:inline-comment-marker>.</p><ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\"><ac:parameter ac:name=\"language\">sql</ac:parameter><ac:plain-text-body><![CDATA[SELECT 1 WHERE a < b;]]></ac:plain-text-body></ac:structured-macro><ac:structured-macro ac:name=\"info\"><ac:rich-text-body><p>Heads up</p></ac:rich-text-body></ac:structured-macro><ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>ship it</ac:task-body></ac:task></ac:task-list><ac:structured-macro ac:name=\"vendor-roadmap\"><ac:parameter ac:name=\"lanes\">3</ac:parameter><ac:rich-text-body><p>Inside an unknown macro</p></ac:rich-text-body></ac:structured-macro><p><ac:image ac:height=\"250\"><ri:attachment ri:filename=\"d.png\" /></ac:image></p>";

async fn page_with_body(twin: &Twin) -> (String, String, String, String) {
    let d = twin.dataset().await;
    let page = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "page" && c["status"] == "current" && c["parentId"].is_number())
        .unwrap()
        .clone();
    let space = page["spaceId"].to_string();
    let other = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "page" && c["spaceId"] == page["spaceId"] && c["id"] != page["id"])
        .unwrap()
        .clone();
    let user = d["users"][3].clone();
    let body = BODY
        .replace("TITLE", other["title"].as_str().unwrap())
        .replace("ACCOUNT", user["accountId"].as_str().unwrap());
    let r = twin
        .send(
            Method::POST,
            "/wiki/api/v2/pages",
            &json!({"spaceId": space.trim_matches('"'), "status": "current", "title": "Rendered page",
                    "body": {"representation": "storage", "value": body}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    (
        r.json["id"].as_str().unwrap().to_string(),
        other["id"].to_string(),
        user["displayName"].as_str().unwrap().to_string(),
        body,
    )
}

/// The rendered HTML: no storage markup left, the text and the structure kept, and
/// well-formed (so a browser and an XML parser both read it).
fn assert_view(html: &str, other_id: &str, user_name: &str) {
    assert!(!html.contains("ac:") && !html.contains("ri:"), "{html}");
    assert_eq!(kb_sim::confluence::xhtml::check(html), Ok(()), "{html}");
    for needle in [
        "<h2>Plan &amp; scope</h2>",
        &format!("/pages/{other_id}/"),
        user_name,
        "<time datetime=\"2026-01-02\"",
        "ON TRACK</span>",
        "café\u{a0}—",
        "<span class=\"inline-comment-marker\" data-ref=\"m-1\">marked</span>",
        "<pre",
        "SELECT 1 WHERE a &lt; b;",
        "confluence-information-macro-info",
        "<p>Heads up</p>",
        "inline-task-list",
        "ship it",
        "Inside an unknown macro",
        "<img class=\"confluence-embedded-image\"",
        "d.png",
    ] {
        assert!(html.contains(needle), "no {needle:?} in {html}");
    }
    assert!(!html.contains("Green"), "parameters are not shown: {html}");
    assert!(!html.contains("lanes"), "{html}");
}

#[tokio::test]
async fn v2_renders_view_and_export_view_from_storage() {
    let twin = Twin::small().await;
    let (id, other, user, body) = page_with_body(&twin).await;
    let v = twin
        .ok(&format!("/wiki/api/v2/pages/{id}?body-format=view"))
        .await;
    assert_eq!(v["body"]["view"]["representation"], "view");
    assert!(v["body"].get("storage").is_none(), "{}", v["body"]);
    assert_view(v["body"]["view"]["value"].as_str().unwrap(), &other, &user);
    let e = twin
        .ok(&format!("/wiki/api/v2/pages/{id}?body-format=export_view"))
        .await;
    assert_eq!(e["body"]["export_view"]["representation"], "export_view");
    assert_view(
        e["body"]["export_view"]["value"].as_str().unwrap(),
        &other,
        &user,
    );
    // Storage is still the body as written, byte for byte.
    let s = twin
        .ok(&format!("/wiki/api/v2/pages/{id}?body-format=storage"))
        .await;
    assert_eq!(s["body"]["storage"]["value"], body.as_str());
    // Older versions render too; listings take only what the spec lists for them.
    let vs = twin
        .ok(&format!(
            "/wiki/api/v2/pages/{id}?version=1&body-format=view"
        ))
        .await;
    assert!(
        vs["body"]["view"]["value"]
            .as_str()
            .is_some_and(|h| h.contains("ON TRACK")),
        "{vs}"
    );
    let r = twin.get("/wiki/api/v2/pages?body-format=view").await;
    assert_eq!(r.status, 400, "{}", r.json);
    // Every generated page renders without storage markup left over.
    let d = twin.dataset().await;
    for c in d["contents"].as_array().unwrap().iter().take(40) {
        if c["kind"] != "page" || c["status"] != "current" {
            continue;
        }
        let v = twin
            .ok(&format!("/wiki/api/v2/pages/{}?body-format=view", c["id"]))
            .await;
        let html = v["body"]["view"]["value"].as_str().unwrap();
        assert!(!html.contains("<ac:") && !html.contains("<ri:"), "{html}");
        assert_eq!(kb_sim::confluence::xhtml::check(html), Ok(()), "{html}");
    }
}

#[tokio::test]
async fn v1_expands_view_and_export_view_on_content_search_and_comments() {
    let twin = Twin::small().await;
    let (id, other, user, _) = page_with_body(&twin).await;
    let c = twin
        .ok(&format!(
            "/wiki/rest/api/content/{id}?expand=body.view,body.export_view,body.storage"
        ))
        .await;
    assert_view(c["body"]["view"]["value"].as_str().unwrap(), &other, &user);
    let export = c["body"]["export_view"]["value"].as_str().unwrap();
    assert_view(export, &other, &user);
    assert!(
        export.contains(&format!("href=\"{}/spaces/", twin.base)),
        "export_view links are absolute: {export}"
    );
    assert!(c["body"]["storage"]["value"].as_str().is_some());
    // langchain's ConfluenceLoader asks for body.view.value alone.
    let c = twin
        .ok(&format!(
            "/wiki/rest/api/content/{id}?expand=body.view.value"
        ))
        .await;
    assert!(
        c["body"]["view"]["value"].as_str().is_some(),
        "{}",
        c["body"]
    );
    assert!(c["body"].get("storage").is_none(), "{}", c["body"]);
    let hits = twin
        .ok(&format!(
            "/wiki/rest/api/content/search?cql=id%3D{id}&expand=body.view"
        ))
        .await;
    assert!(
        hits["results"][0]["body"]["view"]["value"]
            .as_str()
            .is_some_and(|h| h.contains("ON TRACK")),
        "{hits}"
    );
    // Comments: the loader's `child/comment?expand=body.view.value` (a KeyError before).
    let d = twin.dataset().await;
    let with_comments = d["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "footer" && c["parentCommentId"].is_null())
        .unwrap()["containerId"]
        .clone();
    let cs = twin
        .ok(&format!(
            "/wiki/rest/api/content/{with_comments}/child/comment?expand=body.view.value&depth=all"
        ))
        .await;
    let results = cs["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let html = r["body"]["view"]["value"].as_str().unwrap();
        assert!(html.starts_with("<p>") && !html.contains("ac:"), "{html}");
    }
    // v2 comments render too.
    let first = results[0]["id"].as_str().unwrap();
    let fc = twin
        .get(&format!(
            "/wiki/api/v2/footer-comments/{first}?body-format=view"
        ))
        .await;
    if fc.status == 200 {
        assert!(
            fc.json["body"]["view"]["value"].as_str().is_some(),
            "{}",
            fc.json
        );
    } else {
        let ic = twin
            .ok(&format!(
                "/wiki/api/v2/inline-comments/{first}?body-format=view"
            ))
            .await;
        assert!(ic["body"]["view"]["value"].as_str().is_some(), "{ic}");
    }
    // What the twin does not render is said plainly.
    let r = twin
        .get(&format!("/wiki/rest/api/content/{id}?expand=body.editor"))
        .await;
    assert_eq!(r.status, 501, "{}", r.json);
}

#[tokio::test]
async fn v1_lists_folder_children() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let contents = d["contents"].as_array().unwrap();
    let folder = contents
        .iter()
        .find(|c| c["type"] == "folder" && c["parentId"].is_number())
        .expect("a generated folder under a page");
    let parent = folder["parentId"].clone();
    let expected: Vec<String> = contents
        .iter()
        .filter(|c| c["type"] == "folder" && c["parentId"] == parent && c["status"] == "current")
        .map(|c| c["id"].to_string())
        .collect();
    let r = twin
        .ok(&format!("/wiki/rest/api/content/{parent}/child/folder"))
        .await;
    let got: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!got.is_empty());
    assert_eq!(got, expected);
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "folder")
    );
}
