//! The endpoints added for replication: custom content reads, `PUT /tasks/{id}`, inline comment
//! creation, comment updates and deletes, v2 attachment delete, v1 restriction writes and
//! content history: each against the ground truth, with
//! its error cases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN, GUEST, Twin, ids};

fn storage(s: &str) -> Value {
    json!({"representation": "storage", "value": s})
}

async fn delete(twin: &Twin, path: &str) -> crate::support::Reply {
    twin.call_as(Some(ADMIN), Method::DELETE, path, None).await
}

fn current_body(d: &Value, id: &str) -> String {
    d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_u64().is_some_and(|x| x.to_string() == id))
        .unwrap()["versions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn custom_content_is_listed_by_type_and_container_as_generated() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let all = d["customContents"]
        .as_array()
        .expect("generated custom content");
    let diagram = "ac:com.example.app:diagram";
    let want: Vec<String> = all
        .iter()
        .filter(|c| c["type"] == diagram)
        .map(|c| c["id"].to_string())
        .collect();
    assert!(want.len() >= 3);
    let got = twin
        .collect_v2(&format!(
            "/wiki/api/v2/custom-content?type={diagram}&limit=2&body-format=storage"
        ))
        .await;
    assert_eq!(ids(&got), want);
    for c in &got {
        assert_eq!(c["type"], diagram);
        assert!(
            c["body"]["storage"]["value"]
                .as_str()
                .unwrap()
                .starts_with("<p>")
        );
        assert!(c["version"]["number"].as_u64().unwrap() >= 1);
    }
    // By space, by page, by blog post.
    for c in all {
        let id = c["id"].to_string();
        let (path, key) = match c["containerId"].as_u64() {
            None => (
                format!("/wiki/api/v2/spaces/{}/custom-content", c["spaceId"]),
                "spaceId",
            ),
            Some(p) => {
                let parent = d["contents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["id"] == p);
                match parent.map(|x| x["type"].as_str().unwrap()) {
                    Some("page") => (format!("/wiki/api/v2/pages/{p}/custom-content"), "pageId"),
                    Some("blogpost") => (
                        format!("/wiki/api/v2/blogposts/{p}/custom-content"),
                        "blogPostId",
                    ),
                    _ => continue,
                }
            }
        };
        let list = twin
            .collect_v2(&format!("{path}?type={}", c["type"].as_str().unwrap()))
            .await;
        let hit = list
            .iter()
            .find(|x| x["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} in {path}"));
        if key != "spaceId" {
            assert_eq!(hit[key], c["containerId"].to_string().as_str());
        }
    }
    // One, with its includes, labels, versions.
    let c = all
        .iter()
        .find(|c| c["versions"].as_array().unwrap().len() > 1)
        .unwrap();
    let id = c["id"].to_string();
    let one = twin
        .ok(&format!(
            "/wiki/api/v2/custom-content/{id}?body-format=storage&include-labels=true&include-versions=true"
        ))
        .await;
    let last = c["versions"].as_array().unwrap().last().unwrap();
    assert_eq!(one["body"]["storage"]["value"], last["body"]);
    assert_eq!(one["version"]["number"], last["number"]);
    assert_eq!(
        one["versions"]["results"].as_array().unwrap().len(),
        c["versions"].as_array().unwrap().len()
    );
    assert!(one["_links"]["base"].as_str().unwrap().ends_with("/wiki"));
    let v1 = twin
        .ok(&format!(
            "/wiki/api/v2/custom-content/{id}?version=1&body-format=storage"
        ))
        .await;
    assert_eq!(v1["status"], "historical");
    assert_eq!(v1["body"]["storage"]["value"], c["versions"][0]["body"]);
    let versions = twin
        .collect_v2(&format!("/wiki/api/v2/custom-content/{id}/versions"))
        .await;
    assert_eq!(versions.len(), c["versions"].as_array().unwrap().len());
    // Errors: no type, a bad id, an unknown one, an unimplemented representation.
    let r = twin.get("/wiki/api/v2/custom-content").await;
    assert_eq!(r.status, 400);
    assert!(
        r.json["errors"][0]["title"]
            .as_str()
            .unwrap()
            .contains("type")
    );
    assert_eq!(
        twin.get("/wiki/api/v2/custom-content/abc").await.status,
        400
    );
    assert_eq!(twin.get("/wiki/api/v2/custom-content/1").await.status, 404);
    let r = twin
        .get(&format!(
            "/wiki/api/v2/custom-content?type={diagram}&body-format=raw"
        ))
        .await;
    assert_eq!(r.status, 501);
}

#[tokio::test]
async fn a_task_status_change_is_reflected_in_the_body_and_the_task_list() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let t = d["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["status"] == "incomplete"
                && d["contents"].as_array().unwrap().iter().any(|c| {
                    c["id"] == t["contentId"] && c["status"] == "current" && c["type"] == "page"
                })
        })
        .expect("an open task on a current page")
        .clone();
    let tid = t["id"].to_string();
    let page = t["contentId"].to_string();
    let r = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/tasks/{tid}?body-format=storage"),
            &json!({"id": tid, "status": "complete"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "complete");
    assert!(r.json["completedAt"].is_string());
    let after = twin.dataset().await;
    let body = current_body(&after, &page);
    let local = t["localId"].as_str().unwrap();
    let at = body
        .find(&format!("<ac:task-id>{local}</ac:task-id>"))
        .unwrap();
    assert!(
        body[at..].starts_with(&format!(
            "<ac:task-id>{local}</ac:task-id><ac:task-status>complete</ac:task-status>"
        )) || body[at..body[at..].find("</ac:task>").unwrap() + at]
            .contains("<ac:task-status>complete</ac:task-status>"),
        "{body}"
    );
    // Same version number: the body changed in place.
    let before_v = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_u64().is_some_and(|x| x.to_string() == page))
        .unwrap()["versions"]
        .as_array()
        .unwrap()
        .len();
    let after_v = after["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_u64().is_some_and(|x| x.to_string() == page))
        .unwrap()["versions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before_v, after_v);
    let listed = twin
        .ok(&format!("/wiki/api/v2/tasks?task-id={tid}&status=complete"))
        .await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    // A later page edit keeps it complete (it is read back from the body).
    let v = after["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_u64().is_some_and(|x| x.to_string() == page))
        .unwrap()["versions"]
        .as_array()
        .unwrap()
        .len();
    let title = twin.ok(&format!("/wiki/api/v2/pages/{page}")).await["title"].clone();
    let upd = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/pages/{page}"),
            &json!({"id": page, "status": "current", "title": title, "body": storage(&body), "version": {"number": v + 1}}),
        )
        .await;
    assert_eq!(upd.status, 200);
    assert_eq!(
        twin.ok(&format!("/wiki/api/v2/tasks/{tid}")).await["status"],
        "complete"
    );
    // Errors.
    let bad = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/tasks/{tid}"),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let none = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/tasks/{tid}"),
            &json!({}),
        )
        .await;
    assert_eq!(none.status, 400);
    let missing = twin
        .send(
            Method::PUT,
            "/wiki/api/v2/tasks/1",
            &json!({"status": "complete"}),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn inline_comments_anchor_a_marker_and_can_be_edited_resolved_and_deleted() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let space = d["spaces"][0]["id"].to_string();
    let p = twin
        .send(
            Method::POST,
            "/wiki/api/v2/pages",
            &json!({"spaceId": space, "title": "Anchors", "body": storage("<p>one fish two fish</p><p>red <strong>fish</strong></p>")}),
        )
        .await;
    let pid = p.json["id"].as_str().unwrap().to_string();
    let mk = |count: i64, index: i64| json!({"pageId": pid, "body": storage("<p>why?</p>"), "inlineCommentProperties": {"textSelection": "fish", "textSelectionMatchCount": count, "textSelectionMatchIndex": index}});
    // Wrong count, index out of range, text absent, no properties: 400s.
    for bad in [
        mk(2, 0),
        mk(3, 3),
        json!({"pageId": pid, "body": storage("<p>x</p>"), "inlineCommentProperties": {"textSelection": "cat", "textSelectionMatchCount": 1, "textSelectionMatchIndex": 0}}),
        json!({"pageId": pid, "body": storage("<p>x</p>")}),
        json!({"body": storage("<p>x</p>")}),
    ] {
        let r = twin
            .send(Method::POST, "/wiki/api/v2/inline-comments", &bad)
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
    }
    let r = twin
        .send(Method::POST, "/wiki/api/v2/inline-comments", &mk(3, 1))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let cid = r.json["id"].as_str().unwrap().to_string();
    let marker = r.json["properties"]["inlineMarkerRef"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r.json["properties"]["inlineOriginalSelection"], "fish");
    assert_eq!(r.json["resolutionStatus"], "open");
    let body = current_body(&twin.dataset().await, &pid);
    assert_eq!(
        body,
        format!(
            "<p>one fish two <ac:inline-comment-marker ac:ref=\"{marker}\">fish</ac:inline-comment-marker></p><p>red <strong>fish</strong></p>"
        )
    );
    // A reply.
    let reply = twin
        .send(
            Method::POST,
            "/wiki/api/v2/inline-comments",
            &json!({"parentCommentId": cid, "body": storage("<p>because</p>")}),
        )
        .await;
    assert_eq!(reply.status, 201);
    let listed = twin
        .ok(&format!("/wiki/api/v2/pages/{pid}/inline-comments"))
        .await;
    assert_eq!(
        ids(listed["results"].as_array().unwrap()),
        vec![cid.clone()]
    );
    // Update: stale version 409, then resolve.
    let stale = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/inline-comments/{cid}"),
            &json!({"version": {"number": 1}, "body": storage("<p>x</p>")}),
        )
        .await;
    assert_eq!(stale.status, 409);
    let upd = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/inline-comments/{cid}"),
            &json!({"version": {"number": 2, "message": "m"}, "body": storage("<p>resolved it</p>"), "resolved": true}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.json);
    assert_eq!(upd.json["resolutionStatus"], "resolved");
    assert_eq!(upd.json["version"]["number"], 2);
    assert_eq!(upd.json["body"]["storage"]["value"], "<p>resolved it</p>");
    let reopen = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/inline-comments/{cid}"),
            &json!({"version": {"number": 3}, "body": storage("<p>again</p>"), "resolved": false}),
        )
        .await;
    assert_eq!(reopen.json["resolutionStatus"], "reopened");
    // Delete: the comment and its reply go, the marker leaves the body, the text stays.
    assert_eq!(
        delete(&twin, &format!("/wiki/api/v2/inline-comments/{cid}"))
            .await
            .status,
        204
    );
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/inline-comments/{cid}"))
            .await
            .status,
        404
    );
    let rid = reply.json["id"].as_str().unwrap();
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/inline-comments/{rid}"))
            .await
            .status,
        404
    );
    assert_eq!(
        current_body(&twin.dataset().await, &pid),
        "<p>one fish two fish</p><p>red <strong>fish</strong></p>"
    );
    assert_eq!(
        delete(&twin, &format!("/wiki/api/v2/inline-comments/{cid}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn footer_comments_update_and_delete() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let c = d["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "footer" && c["parentCommentId"].is_null())
        .unwrap()
        .clone();
    let id = c["id"].to_string();
    let n = c["versions"].as_array().unwrap().len();
    let upd = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/footer-comments/{id}"),
            &json!({"version": {"number": n + 1}, "body": storage("<p>edited</p>")}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.json);
    let got = twin
        .ok(&format!(
            "/wiki/api/v2/footer-comments/{id}?body-format=storage"
        ))
        .await;
    assert_eq!(got["body"]["storage"]["value"], "<p>edited</p>");
    assert_eq!(got["version"]["number"], n + 1);
    let stale = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/footer-comments/{id}"),
            &json!({"version": {"number": n + 1}, "body": storage("<p>x</p>")}),
        )
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.json["errors"][0]["code"], "CONFLICT");
    let bad = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/footer-comments/{id}"),
            &json!({"version": {"number": n + 2}, "body": storage("<p>unclosed")}),
        )
        .await;
    assert_eq!(bad.status, 400);
    // resolved is for inline comments.
    let r = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/footer-comments/{id}"),
            &json!({"version": {"number": n + 2}, "body": storage("<p>x</p>"), "resolved": true}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        delete(&twin, &format!("/wiki/api/v2/footer-comments/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/footer-comments/{id}"))
            .await
            .status,
        404
    );
    let after = twin.dataset().await;
    assert!(
        !after["comments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == c["id"] || x["parentCommentId"] == c["id"]),
        "the comment and its replies are gone"
    );
}

#[tokio::test]
async fn attachments_are_trashed_then_purged() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let a = &d["attachments"][0];
    let aid = format!("att{}", a["id"]);
    assert_eq!(
        delete(&twin, &format!("/wiki/api/v2/attachments/{aid}?purge=true"))
            .await
            .status,
        400,
        "purge needs the trash first"
    );
    assert_eq!(
        delete(&twin, &format!("/wiki/api/v2/attachments/{aid}"))
            .await
            .status,
        204
    );
    let trashed = twin.ok(&format!("/wiki/api/v2/attachments/{aid}")).await;
    assert_eq!(trashed["status"], "trashed");
    let listed = twin
        .collect_v2(&format!(
            "/wiki/api/v2/pages/{}/attachments",
            a["containerId"]
        ))
        .await;
    assert!(
        !listed.iter().any(|x| x["id"] == aid.as_str()),
        "gone from the default listing"
    );
    assert_eq!(
        delete(&twin, &format!("/wiki/api/v2/attachments/{aid}"))
            .await
            .status,
        400
    );
    assert_eq!(
        delete(&twin, &format!("/wiki/api/v2/attachments/{aid}?purge=true"))
            .await
            .status,
        204
    );
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/attachments/{aid}"))
            .await
            .status,
        404
    );
    assert_eq!(
        delete(&twin, "/wiki/api/v2/attachments/nope").await.status,
        400
    );
    assert_eq!(
        delete(&twin, "/wiki/api/v2/attachments/att1").await.status,
        404
    );
}

#[tokio::test]
async fn v1_restriction_writes_change_who_sees_a_page() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let admin = d["users"][0]["accountId"].as_str().unwrap().to_string();
    let page = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["type"] == "page"
                && c["status"] == "current"
                && c["parentId"].is_u64()
                && c["restrictions"]["read"]["users"]
                    .as_array()
                    .unwrap()
                    .is_empty()
        })
        .unwrap()["id"]
        .to_string();
    let v2 = format!("/wiki/api/v2/pages/{page}");
    assert_eq!(
        twin.call_as(Some(GUEST), Method::GET, &v2, None)
            .await
            .status,
        200
    );
    let put = twin
        .send(
            Method::PUT,
            &format!("/wiki/rest/api/content/{page}/restriction"),
            &json!([{"operation": "read", "restrictions": {"user": [{"type": "known", "accountId": admin}], "group": []}}]),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.json);
    assert_eq!(put.json["results"][0]["operation"], "read");
    assert_eq!(
        put.json["results"][0]["restrictions"]["user"]["results"][0]["accountId"],
        admin.as_str()
    );
    assert_eq!(
        twin.call_as(Some(GUEST), Method::GET, &v2, None)
            .await
            .status,
        404
    );
    // The guest cannot change restrictions of what it cannot see.
    let g = twin
        .call_as(
            Some(GUEST),
            Method::DELETE,
            &format!("/wiki/rest/api/content/{page}/restriction"),
            None,
        )
        .await;
    assert_eq!(g.status, 404);
    assert_eq!(g.json["statusCode"], 404);
    // Per user and per group.
    let user_path = format!(
        "/wiki/rest/api/content/{page}/restriction/byOperation/read/user?accountId={admin}"
    );
    assert_eq!(twin.get(&user_path).await.status, 200);
    let group = d["groups"][0]["id"].as_str().unwrap().to_string();
    let gpath =
        format!("/wiki/rest/api/content/{page}/restriction/byOperation/update/byGroupId/{group}");
    assert_eq!(twin.get(&gpath).await.status, 404);
    assert_eq!(
        twin.call_as(Some(ADMIN), Method::PUT, &gpath, None)
            .await
            .status,
        200
    );
    assert_eq!(twin.get(&gpath).await.status, 200);
    let ds = twin.dataset().await;
    let c = ds["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_u64().is_some_and(|x| x.to_string() == page))
        .unwrap();
    assert_eq!(c["restrictions"]["update"]["groups"][0], group.as_str());
    // Bad input.
    let bad_op = twin
        .send(
            Method::POST,
            &format!("/wiki/rest/api/content/{page}/restriction"),
            &json!([{"operation": "delete", "restrictions": {}}]),
        )
        .await;
    assert_eq!(bad_op.status, 400);
    let bad_user = twin
        .send(
            Method::POST,
            &format!("/wiki/rest/api/content/{page}/restriction"),
            &json!([{"operation": "read", "restrictions": {"user": [{"accountId": "nobody"}]}}]),
        )
        .await;
    assert_eq!(bad_user.status, 400);
    assert!(
        bad_user.json["message"]
            .as_str()
            .unwrap()
            .contains("nobody")
    );
    // DELETE removes them all: the guest sees it again.
    let del = delete(&twin, &format!("/wiki/rest/api/content/{page}/restriction")).await;
    assert_eq!(del.status, 200);
    assert_eq!(
        twin.call_as(Some(GUEST), Method::GET, &v2, None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn v1_history_names_the_versions() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let c = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "page" && c["versions"].as_array().unwrap().len() > 1)
        .unwrap();
    let vs = c["versions"].as_array().unwrap();
    let h = twin
        .ok(&format!("/wiki/rest/api/content/{}/history", c["id"]))
        .await;
    assert_eq!(
        h["latest"],
        c["status"] == "current" || c["status"] == "archived"
    );
    assert_eq!(h["createdBy"]["accountId"], c["authorId"]);
    assert_eq!(h["lastUpdated"]["number"], vs.last().unwrap()["number"]);
    assert_eq!(
        h["lastUpdated"]["by"]["accountId"],
        vs.last().unwrap()["authorId"]
    );
    assert_eq!(h["previousVersion"]["number"], vs[vs.len() - 2]["number"]);
    assert_eq!(
        twin.get("/wiki/rest/api/content/1/history").await.status,
        404
    );
}

#[tokio::test]
async fn v1_children_comments_and_properties_match_the_ground_truth() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let contents = d["contents"].as_array().unwrap();
    let kids_of = |parent: &Value| -> Vec<String> {
        let mut v: Vec<&Value> = contents
            .iter()
            .filter(|c| c["type"] == "page" && c["status"] == "current" && c["parentId"] == *parent)
            .collect();
        v.sort_by_key(|c| (c["position"].as_i64().unwrap(), c["id"].as_u64().unwrap()));
        v.iter().map(|c| c["id"].to_string()).collect()
    };
    let parent = contents
        .iter()
        .max_by_key(|p| kids_of(&p["id"]).len())
        .unwrap();
    let mut got = Vec::new();
    let mut start = 0;
    loop {
        let r = twin
            .ok(&format!(
                "/wiki/rest/api/content/{}/child/page?start={start}&limit=2&expand=version",
                parent["id"]
            ))
            .await;
        let batch = r["results"].as_array().unwrap().clone();
        assert!(batch.iter().all(|c| c["version"]["number"].is_u64()));
        got.extend(ids(&batch));
        if r["_links"]["next"].is_null() {
            break;
        }
        start += 2;
    }
    assert_eq!(got, kids_of(&parent["id"]));
    // Comments: top level by default, replies with depth=all, footer/inline by location.
    let comments = d["comments"].as_array().unwrap();
    let reply = comments
        .iter()
        .find(|c| c["parentCommentId"].is_u64())
        .unwrap();
    let page = reply["containerId"].clone();
    let on_page: Vec<&Value> = comments
        .iter()
        .filter(|c| c["containerId"] == page)
        .collect();
    let path = format!("/wiki/rest/api/content/{page}/child/comment");
    let top = twin.ok(&format!("{path}?limit=200")).await;
    assert_eq!(
        top["results"].as_array().unwrap().len(),
        on_page
            .iter()
            .filter(|c| c["parentCommentId"].is_null())
            .count()
    );
    let all = twin
        .ok(&format!(
            "{path}?limit=200&depth=all&expand=body.storage,ancestors"
        ))
        .await;
    let all = all["results"].as_array().unwrap();
    assert_eq!(all.len(), on_page.len());
    let r = all
        .iter()
        .find(|c| c["id"] == reply["id"].to_string().as_str())
        .unwrap();
    assert_eq!(
        r["ancestors"][0]["id"],
        reply["parentCommentId"].to_string().as_str()
    );
    assert_eq!(
        r["body"]["storage"]["value"],
        reply["versions"].as_array().unwrap().last().unwrap()["body"]
    );
    let footer = twin
        .ok(&format!("{path}?limit=200&depth=all&location=footer"))
        .await;
    assert!(
        footer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["extensions"]["location"] == "footer")
    );
    assert_eq!(twin.get(&format!("{path}?depth=some")).await.status, 400);
    assert_eq!(
        twin.get(&format!("{path}?location=margin")).await.status,
        400
    );
    assert_eq!(
        twin.get(&format!("/wiki/rest/api/content/{page}/child/whiteboard"))
            .await
            .status,
        400
    );
    // Properties.
    let p = contents
        .iter()
        .find(|c| !c["properties"].as_array().unwrap().is_empty())
        .unwrap();
    let props = twin
        .ok(&format!("/wiki/rest/api/content/{}/property", p["id"]))
        .await;
    assert_eq!(
        props["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["key"].clone())
            .collect::<Vec<_>>(),
        p["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["key"].clone())
            .collect::<Vec<_>>()
    );
}
