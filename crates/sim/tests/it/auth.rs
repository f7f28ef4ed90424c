//! Basic auth, the real 401/403/404 answers, restrictions, and 400s for bad input.

use kb_sim::WorkspaceConfig;
use reqwest::Method;
use serde_json::json;

use crate::support::{ADMIN, GUEST, Twin, UNLICENSED};

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_in_each_api_shape() {
    let twin = Twin::small().await;
    for who in [
        None,
        Some(("admin@example.com", "wrong-token")),
        Some(("nobody@example.com", "kbridge-sim-token")),
    ] {
        let r = twin
            .call_as(who, Method::GET, "/wiki/api/v2/spaces", None)
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json,
            json!({"errors": [{"status": 401, "code": "UNAUTHORIZED", "title": "Unauthorized", "detail": null}]})
        );
        let r = twin
            .call_as(who, Method::GET, "/wiki/rest/api/group", None)
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json["statusCode"], 401);
        assert_eq!(r.json["reason"], "Unauthorized");
    }
    // A Bearer token is not how Cloud API tokens work.
    let r = twin
        .http
        .get(twin.url("/wiki/api/v2/spaces"))
        .bearer_auth("kbridge-sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = twin
        .http
        .get(twin.url("/wiki/api/v2/spaces"))
        .header("authorization", "Basic !!!not-base64")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The token never comes back in an answer.
    let body = twin
        .http
        .get(twin.url("/wiki/api/v2/spaces"))
        .basic_auth("admin@example.com", Some("secret-typo"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("secret-typo"));
    // Introspection needs no credentials.
    assert_eq!(
        twin.http
            .get(twin.url("/__sim/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn an_account_without_confluence_access_gets_403() {
    let twin = Twin::small().await;
    let r = twin
        .call_as(Some(UNLICENSED), Method::GET, "/wiki/api/v2/pages", None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json["errors"][0]["code"], "FORBIDDEN");
    assert_eq!(
        r.json["errors"][0]["title"],
        "Current user not permitted to use Confluence"
    );
}

#[tokio::test]
async fn read_restrictions_hide_pages_and_their_subtrees() {
    let twin = Twin::with(WorkspaceConfig {
        pages: 400,
        seed: 3,
        ..WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let restricted: Vec<u64> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["type"] == "page"
                && c["status"] == "current"
                && !c["restrictions"]["read"]["users"]
                    .as_array()
                    .unwrap()
                    .is_empty()
        })
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert!(!restricted.is_empty(), "the generator restricts some pages");
    let id = restricted[0];
    assert_eq!(
        twin.get(&format!("/wiki/api/v2/pages/{id}")).await.status,
        200,
        "the admin is in every restriction"
    );
    let r = twin
        .call_as(
            Some(GUEST),
            Method::GET,
            &format!("/wiki/api/v2/pages/{id}"),
            None,
        )
        .await;
    assert_eq!(
        r.status, 404,
        "a page the caller may not see does not exist for them"
    );
    assert_eq!(r.json["errors"][0]["code"], "NOT_FOUND");
    // A child of a restricted page inherits the restriction.
    if let Some(child) = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["parentId"].as_u64() == Some(id))
    {
        let r = twin
            .call_as(
                Some(GUEST),
                Method::GET,
                &format!("/wiki/api/v2/pages/{}", child["id"]),
                None,
            )
            .await;
        assert_eq!(r.status, 404);
    }
    // Lists leave them out for the guest, not for the admin.
    let q = format!(
        "/wiki/api/v2/pages?limit=250&id={}",
        restricted
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(
        twin.ok(&q).await["results"].as_array().unwrap().len(),
        restricted.len()
    );
    let r = twin.call_as(Some(GUEST), Method::GET, &q, None).await;
    assert_eq!(r.json["results"].as_array().unwrap().len(), 0);
    // v1 shows the restriction itself.
    let v = twin
        .ok(&format!(
            "/wiki/rest/api/content/{id}/restriction/byOperation/read"
        ))
        .await;
    assert_eq!(v["operation"], "read");
    let users: Vec<&str> = v["restrictions"]["user"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["accountId"].as_str().unwrap())
        .collect();
    assert!(users.contains(&d["users"][0]["accountId"].as_str().unwrap()));
    let both = twin
        .ok(&format!(
            "/wiki/rest/api/content/{id}/restriction/byOperation"
        ))
        .await;
    assert!(both["read"]["restrictions"]["group"]["results"].is_array());
    assert_eq!(
        twin.ok(&format!("/wiki/rest/api/content/{id}/restriction"))
            .await["size"],
        2
    );
}

#[tokio::test]
async fn bad_input_gets_a_400_never_a_crash() {
    let twin = Twin::small().await;
    for path in [
        "/wiki/api/v2/pages/not-a-number",
        "/wiki/api/v2/pages?id=abc",
        "/wiki/api/v2/pages?sort=size",
        "/wiki/api/v2/pages?status=bogus",
        "/wiki/api/v2/pages?body-format=html",
        "/wiki/api/v2/spaces?include-icon=maybe",
        "/wiki/api/v2/pages/1/descendants?depth=9",
        "/wiki/rest/api/content/search",
        "/wiki/rest/api/content/search?cql=type%20%3D",
        "/wiki/rest/api/content/search?cql=lastmodified%20%3E%3D%20%22yesterday%22",
        "/wiki/rest/api/group/x/membersByGroupId?limit=500",
    ] {
        let r = twin.get(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.json);
        let shaped = r.json["errors"][0]["status"] == 400 || r.json["statusCode"] == 400;
        assert!(shaped, "{path}: {}", r.json);
    }
    // `none` (sent by atlassian-python-api) means no body.
    let r = twin
        .get("/wiki/api/v2/pages?limit=1&body-format=none")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["results"][0]["body"], serde_json::json!({}));
    // Not implemented yet is said plainly, not faked.
    let r = twin
        .get("/wiki/api/v2/pages?body-format=atlas_doc_format")
        .await;
    assert_eq!(r.status, 501);
    assert!(
        r.json["errors"][0]["title"]
            .as_str()
            .unwrap()
            .contains("not implemented")
    );
    // Unknown routes, methods and ids.
    assert_eq!(twin.get("/wiki/api/v2/nothing-here").await.status, 404);
    let r = twin
        .call_as(Some(ADMIN), Method::PATCH, "/wiki/api/v2/pages", None)
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json["errors"][0]["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(twin.get("/wiki/api/v2/pages/1").await.status, 404);
    assert_eq!(
        twin.get("/wiki/rest/api/content/1/label").await.json["statusCode"],
        404
    );
    // Malformed and wrong-shaped JSON bodies.
    for body in [
        "{",
        "[1,2]",
        "\"text\"",
        "{\"spaceId\": {\"nested\": true}}",
    ] {
        let r = twin
            .http
            .post(twin.url("/wiki/api/v2/pages"))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            v["errors"][0]["code"], "INVALID_REQUEST_PARAMETER",
            "{body}"
        );
    }
}
