//! v1 content writes as the v1 spec defines them (and as atlassian-python-api sends them):
//! create, update with version + 1 (409 otherwise), title-only updates, trash then purge,
//! comments and replies, content properties by key; v1 error shapes; listing caps.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Twin;

async fn space_and_home(twin: &Twin) -> (String, String) {
    let s = twin
        .ok("/wiki/rest/api/space?limit=1&expand=homepage")
        .await;
    let s = &s["results"][0];
    (
        s["key"].as_str().unwrap().to_string(),
        s["homepage"]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn v1_creates_updates_trashes_and_purges_pages() {
    let twin = Twin::small().await;
    let (key, home) = space_and_home(&twin).await;
    let created = twin
        .send(
            Method::POST,
            "/wiki/rest/api/content",
            &json!({"type": "page", "title": "Made through v1", "space": {"key": key},
                    "ancestors": [{"id": home}],
                    "body": {"storage": {"value": "<p>first</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.json);
    let c = &created.json;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["type"], "page");
    assert_eq!(c["version"]["number"], 1);
    assert_eq!(c["body"]["storage"]["value"], "<p>first</p>");
    assert_eq!(c["space"]["key"], key.as_str());
    assert_eq!(
        c["ancestors"].as_array().unwrap().last().unwrap()["id"],
        home.as_str()
    );
    let v2 = twin
        .ok(&format!("/wiki/api/v2/pages/{id}?body-format=storage"))
        .await;
    assert_eq!(v2["parentId"], home.as_str());
    // The same title again, and storage that is not well-formed, are refused in v1's shape.
    let dup = twin
        .send(
            Method::POST,
            "/wiki/rest/api/content",
            &json!({"type": "page", "title": "Made through v1", "space": {"key": key},
                    "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(dup.status, 400, "{}", dup.json);
    assert_eq!(dup.json["statusCode"], 400);
    let bad = twin
        .send(
            Method::POST,
            "/wiki/rest/api/content",
            &json!({"type": "page", "title": "Broken", "space": {"key": key},
                    "body": {"storage": {"value": "<p><b>x</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json["message"]
            .as_str()
            .unwrap()
            .contains("Error parsing xhtml"),
        "{}",
        bad.json
    );
    let nospace = twin
        .send(
            Method::POST,
            "/wiki/rest/api/content",
            &json!({"type": "page", "title": "t", "space": {"key": "NOPE"}}),
        )
        .await;
    assert_eq!(nospace.status, 404, "{}", nospace.json);
    // Update: version must be current + 1.
    let put = |n: i64, title: &str, body: Option<&str>| {
        let mut b = json!({"id": id, "type": "page", "title": title, "version": {"number": n}});
        if let Some(s) = body {
            b["body"] = json!({"storage": {"value": s, "representation": "storage"}});
        }
        b
    };
    let r = twin
        .send(
            Method::PUT,
            &format!("/wiki/rest/api/content/{id}"),
            &put(2, "Made through v1", Some("<p>second</p>")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["version"]["number"], 2);
    assert_eq!(r.json["body"]["storage"]["value"], "<p>second</p>");
    let stale = twin
        .send(
            Method::PUT,
            &format!("/wiki/rest/api/content/{id}"),
            &put(2, "Made through v1", Some("<p>again</p>")),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.json);
    assert_eq!(stale.json["statusCode"], 409);
    assert!(
        stale.json["message"]
            .as_str()
            .unwrap()
            .contains("Current Version: [2]"),
        "{}",
        stale.json
    );
    // A title-only update keeps the body.
    let r = twin
        .send(
            Method::PUT,
            &format!("/wiki/rest/api/content/{id}"),
            &put(3, "Renamed through v1", None),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["title"], "Renamed through v1");
    assert_eq!(r.json["body"]["storage"]["value"], "<p>second</p>");
    // An unknown id is a v1 404.
    let r = twin
        .send(
            Method::PUT,
            "/wiki/rest/api/content/999999999",
            &put(2, "x", None),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["statusCode"], 404);
    // Delete: to the trash, then purged with status=trashed.
    let r = twin
        .call_as(
            Some(crate::support::ADMIN),
            Method::DELETE,
            &format!("/wiki/rest/api/content/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.json);
    let v2 = twin
        .ok(&format!("/wiki/api/v2/pages/{id}?status=trashed"))
        .await;
    assert_eq!(v2["status"], "trashed");
    let r = twin
        .call_as(
            Some(crate::support::ADMIN),
            Method::DELETE,
            &format!("/wiki/rest/api/content/{id}?status=trashed"),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.json);
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/pages/{id}?status=trashed"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn v1_comments_and_replies_are_content_of_type_comment() {
    let twin = Twin::small().await;
    let (_, home) = space_and_home(&twin).await;
    let r = twin
        .send(
            Method::POST,
            "/wiki/rest/api/content",
            &json!({"type": "comment", "container": {"id": home, "type": "page"},
                    "body": {"storage": {"value": "<p>A v1 comment</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["type"], "comment");
    assert_eq!(r.json["container"]["id"], home.as_str());
    let top = r.json["id"].as_str().unwrap().to_string();
    let reply = twin
        .send(
            Method::POST,
            "/wiki/rest/api/content",
            &json!({"type": "comment", "container": {"id": home, "type": "page"}, "ancestors": [{"id": top}],
                    "body": {"storage": {"value": "<p>A reply</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let reply_id = reply.json["id"].as_str().unwrap().to_string();
    let listed = twin
        .ok(&format!(
            "/wiki/rest/api/content/{home}/child/comment?depth=all&expand=body.storage&limit=200"
        ))
        .await;
    let ids: Vec<&str> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&top.as_str()) && ids.contains(&reply_id.as_str()),
        "{ids:?}"
    );
    let v2 = twin
        .ok(&format!("/wiki/api/v2/footer-comments/{reply_id}"))
        .await;
    assert_eq!(v2["parentCommentId"], top.as_str());
    // Update with version + 1, then delete.
    let r = twin
        .send(
            Method::PUT,
            &format!("/wiki/rest/api/content/{top}"),
            &json!({"type": "comment", "version": {"number": 2},
                    "body": {"storage": {"value": "<p>Edited</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["body"]["storage"]["value"], "<p>Edited</p>");
    let r = twin
        .call_as(
            Some(crate::support::ADMIN),
            Method::DELETE,
            &format!("/wiki/rest/api/content/{top}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/footer-comments/{top}"))
            .await
            .status,
        404
    );
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/footer-comments/{reply_id}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn v1_content_properties_by_key() {
    let twin = Twin::small().await;
    let (_, home) = space_and_home(&twin).await;
    let base = format!("/wiki/rest/api/content/{home}/property");
    let r = twin
        .send(
            Method::POST,
            &base,
            &json!({"key": "kb.test", "value": {"a": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["version"]["number"], 1);
    let again = twin
        .send(Method::POST, &base, &json!({"key": "kb.test", "value": 2}))
        .await;
    assert_eq!(again.status, 409, "{}", again.json);
    let got = twin.ok(&format!("{base}/kb.test")).await;
    assert_eq!(got["value"], json!({"a": 1}));
    let r = twin
        .send(
            Method::PUT,
            &format!("{base}/kb.test"),
            &json!({"key": "kb.test", "value": [1, 2], "version": {"number": 2}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["value"], json!([1, 2]));
    assert_eq!(r.json["version"]["number"], 2);
    let stale = twin
        .send(
            Method::PUT,
            &format!("{base}/kb.test"),
            &json!({"key": "kb.test", "value": 3, "version": {"number": 2}}),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.json);
    // The v2 view agrees.
    let v2 = twin
        .ok(&format!("/wiki/api/v2/pages/{home}/properties?key=kb.test"))
        .await;
    assert_eq!(v2["results"][0]["value"], json!([1, 2]));
    let r = twin
        .call_as(
            Some(crate::support::ADMIN),
            Method::DELETE,
            &format!("{base}/kb.test"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let gone = twin.get(&format!("{base}/kb.test")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json["statusCode"], 404);
}

#[tokio::test]
async fn v1_listings_cap_their_limits_as_cloud_does() {
    let twin = Twin::small().await;
    for (path, cap) in [
        ("/wiki/rest/api/content?limit=100000", 1000),
        ("/wiki/rest/api/space?limit=100000", 1000),
        (
            "/wiki/rest/api/content/search?cql=type%3Dpage&limit=100000",
            250,
        ),
        ("/wiki/rest/api/group?limit=100000", 200),
    ] {
        let r: Value = twin.ok(path).await;
        assert_eq!(r["limit"], cap, "{path}: {}", r["limit"]);
        assert!(r["results"].as_array().unwrap().len() <= cap, "{path}");
    }
}

/// atlassian-python-api's `create_page(space, title, body, parent_id=…)` sends
/// `ancestors: [{type: "page", id}]` to `POST rest/api/content/` (trailing slash). The parent
/// must be in `space.key`'s space: one in another space is a 404 in v1's shape ("The parent
/// content is invalid", the v1 spec's 404), and nothing is created; the same call with a parent
/// of the space creates the page under it.
#[tokio::test]
async fn v1_create_with_an_ancestor_in_another_space_is_a_404() {
    let twin = Twin::small().await;
    let spaces = twin
        .ok("/wiki/rest/api/space?limit=2&expand=homepage")
        .await;
    let (a, b) = (&spaces["results"][0], &spaces["results"][1]);
    let key = a["key"].as_str().unwrap();
    let before = twin.dataset().await["contents"].as_array().unwrap().len();
    let foreign = b["homepage"]["id"].as_str().unwrap();
    let body = |parent: &str| {
        json!({"type": "page", "title": "Child by python", "status": "current", "space": {"key": key},
               "ancestors": [{"type": "page", "id": parent}],
               "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}},
               "metadata": {"properties": {"content-appearance-published": {"value": "fixed-width"}}}})
    };
    let r = twin
        .send(Method::POST, "/wiki/rest/api/content/", &body(foreign))
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(r.json["statusCode"], 404, "{}", r.json);
    assert!(
        r.json["message"].as_str().unwrap().contains(foreign),
        "{}",
        r.json
    );
    assert_eq!(
        twin.dataset().await["contents"].as_array().unwrap().len(),
        before,
        "nothing was created"
    );
    let home = a["homepage"]["id"].as_str().unwrap();
    let ok = twin
        .send(Method::POST, "/wiki/rest/api/content/", &body(home))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert_eq!(
        ok.json["ancestors"].as_array().unwrap().last().unwrap()["id"],
        home
    );
}
