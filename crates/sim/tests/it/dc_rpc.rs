//! The Data Center twin's JSON-RPC remote API (`getSpacePermissionSets`, the only source of
//! space permissions up to 9.0) answers what Confluence answers, from the twin's own data: the
//! JSON-RPC 2.0 envelope and the light form agree; permission types, `userName` and
//! `groupName` name exactly the dataset's View/create/admin grants; a non-admin gets
//! `NotPermittedException`; an unknown method or space is an error, never an empty success.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::Twin;

const RPC: &str = "/confluence/rpc/json-rpc/confluenceservice-v2";
/// Data Center usernames (the email's local part) and the Cloud tokens as passwords.
const DC_ADMIN: (&str, &str) = ("admin", "kbridge-sim-token");
const DC_GUEST: (&str, &str) = ("guest", "kbridge-sim-guest-token");

fn triples(sets: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for set in sets.as_array().expect("an array of permission sets") {
        let t = set["type"].as_str().unwrap();
        for p in set["spacePermissions"].as_array().unwrap() {
            assert_eq!(p["type"], t, "{set}");
            let who = match (&p["userName"], &p["groupName"]) {
                (Value::String(u), Value::Null) => format!("user:{u}"),
                (Value::Null, Value::String(g)) => format!("group:{g}"),
                (Value::Null, Value::Null) => "anonymous".to_string(),
                other => panic!("a permission names a user and a group: {other:?}"),
            };
            out.insert((t.to_string(), who, String::new()));
        }
    }
    out
}

#[tokio::test]
async fn get_space_permission_sets_answers_the_datasets_permissions() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let space = &d["spaces"][0];
    let key = space["key"].as_str().unwrap();
    let env = twin
        .call_as(
            Some(DC_ADMIN),
            Method::POST,
            RPC,
            Some(&json!({"jsonrpc": "2.0", "method": "getSpacePermissionSets", "params": [key], "id": 7})),
        )
        .await;
    assert_eq!(env.status, StatusCode::OK, "{}", env.json);
    assert_eq!(env.json["jsonrpc"], "2.0");
    assert_eq!(env.json["id"], 7);
    let got = triples(&env.json["result"]);

    // The dataset's grants in Data Center's terms, worked out here from the dataset.
    let username = |account: &str| {
        let u = d["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["accountId"] == account)
            .unwrap();
        u["email"]
            .as_str()
            .unwrap()
            .split('@')
            .next()
            .unwrap()
            .to_lowercase()
    };
    let group = |id: &str| {
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
    let mut want = BTreeSet::new();
    for p in space["permissions"].as_array().unwrap() {
        let t = match (
            p["operation"].as_str().unwrap(),
            p["targetType"].as_str().unwrap(),
        ) {
            ("read", "space") => "VIEWSPACE",
            ("create", "page") => "EDITSPACE",
            ("create", "blogpost") => "EDITBLOG",
            ("create", "comment") => "COMMENT",
            ("create", "attachment") => "CREATEATTACHMENT",
            ("delete", "comment") => "REMOVECOMMENT",
            ("delete", "page") => "REMOVEPAGE",
            ("administer", "space") => "SETSPACEPERMISSIONS",
            ("restrict_content", "space") => "SETPAGEPERMISSIONS",
            other => panic!("a grant this test does not know: {other:?}"),
        };
        let pid = p["principalId"].as_str().unwrap_or("");
        let who = match p["principalType"].as_str().unwrap() {
            "user" => format!("user:{}", username(pid)),
            "group" => format!("group:{}", group(pid)),
            _ => "anonymous".to_string(),
        };
        want.insert((t.to_string(), who, String::new()));
    }
    assert!(!want.is_empty());
    assert_eq!(got, want);

    // The light form: the params as the body, the bare result back, the same sets.
    let light = twin
        .call_as(
            Some(DC_ADMIN),
            Method::POST,
            &format!("{RPC}/getSpacePermissionSets"),
            Some(&json!([key])),
        )
        .await;
    assert_eq!(light.status, StatusCode::OK, "{}", light.json);
    assert_eq!(light.json, env.json["result"]);

    // One set by type.
    let one = twin
        .call_as(
            Some(DC_ADMIN),
            Method::POST,
            RPC,
            Some(&json!({"jsonrpc": "2.0", "method": "getSpacePermissionSet", "params": [key, "VIEWSPACE"], "id": 8})),
        )
        .await;
    assert_eq!(one.json["result"]["type"], "VIEWSPACE");
    let views: BTreeSet<_> = want
        .iter()
        .filter(|t| t.0 == "VIEWSPACE")
        .cloned()
        .collect();
    assert_eq!(triples(&json!([one.json["result"].clone()])), views);
}

#[tokio::test]
async fn non_admins_unknown_spaces_and_methods_are_errors() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let key = d["spaces"][0]["key"].as_str().unwrap();
    let call = |who, method: &str, params: Value| {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        let twin = &twin;
        async move {
            twin.call_as(Some(who), Method::POST, RPC, Some(&body))
                .await
        }
    };
    // The guest can read the space but administers none.
    let r = call(DC_GUEST, "getSpacePermissionSets", json!([key])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json.get("result").is_none(), "{}", r.json);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NotPermittedException"),
        "{}",
        r.json
    );
    let r = call(DC_ADMIN, "getSpacePermissionSets", json!(["NOSUCHSPACE"])).await;
    assert!(r.json["error"]["message"].is_string(), "{}", r.json);
    let r = call(DC_ADMIN, "getSpacePermissionSetz", json!([key])).await;
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("getSpacePermissionSetz"),
        "{}",
        r.json
    );
    // The light form fails with a 500 and the error.
    let r = twin
        .call_as(
            Some(DC_GUEST),
            Method::POST,
            &format!("{RPC}/getSpacePermissionSets"),
            Some(&json!([key])),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.json["error"]["message"].is_string());
    // Without credentials: Data Center's 401.
    let r = twin
        .call_as(
            None,
            Method::POST,
            RPC,
            Some(&json!({"jsonrpc": "2.0", "method": "getSpacePermissionSets", "params": [key], "id": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
