//! The Data Center twin's JSON-RPC remote API (`/confluence/rpc/json-rpc/confluenceservice-v2`),
//! the only way to read space permissions up to 9.0: `getSpacePermissionSets(spaceKey)` and
//! `getSpacePermissionSet(spaceKey, type)`, as a JSON-RPC 2.0 envelope
//! (`{"jsonrpc":"2.0","method":…,"params":[…],"id":…}` → `{"jsonrpc":"2.0","result":…,"id":…}`)
//! or in the "light" form (`POST …/confluenceservice-v2/{method}` with the params array as the
//! body, the bare result back). Answers are the twin's own space permissions in Data Center's
//! terms: permission types (`VIEWSPACE`…), `userName` (the username) and `groupName`, both null
//! for anonymous access. Only a site admin or an administrator of the space may read them
//! (else a `NotPermittedException` error, as Confluence answers).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::confluence::api::{ApiError, Ctx, json_response};
use crate::model::{Dataset, Space, SpacePermission};

/// The Data Center permission type of a twin permission (Cloud's operation and target).
fn dc_type(p: &SpacePermission) -> Option<&'static str> {
    Some(match (p.operation.as_str(), p.target_type.as_str()) {
        ("read", "space") => "VIEWSPACE",
        ("create", "page") => "EDITSPACE",
        ("export", "page") => "EXPORTPAGE",
        ("delete", "page") => "REMOVEPAGE",
        ("archive", "page") => "ARCHIVEPAGE",
        ("create", "blogpost") => "EDITBLOG",
        ("delete", "blogpost") => "REMOVEBLOG",
        ("create", "comment") => "COMMENT",
        ("delete", "comment") => "REMOVECOMMENT",
        ("create", "attachment") => "CREATEATTACHMENT",
        ("delete", "attachment") => "REMOVEATTACHMENT",
        ("export", "space") => "EXPORTSPACE",
        ("administer", "space") => "SETSPACEPERMISSIONS",
        ("restrict_content", "space") => "SETPAGEPERMISSIONS",
        _ => return None,
    })
}

/// The order Confluence lists permission sets in.
const TYPES: &[&str] = &[
    "VIEWSPACE",
    "REMOVEOWNCONTENT",
    "EDITSPACE",
    "REMOVEPAGE",
    "EDITBLOG",
    "REMOVEBLOG",
    "CREATEATTACHMENT",
    "REMOVEATTACHMENT",
    "COMMENT",
    "REMOVECOMMENT",
    "SETPAGEPERMISSIONS",
    "REMOVEMAIL",
    "EXPORTSPACE",
    "SETSPACEPERMISSIONS",
    "EXPORTPAGE",
    "ARCHIVEPAGE",
];

fn username(d: &Dataset, account_id: &str) -> Option<String> {
    let u = d.user(account_id)?;
    Some(
        u.email
            .split('@')
            .next()
            .unwrap_or(&u.email)
            .to_ascii_lowercase(),
    )
}

fn entry(d: &Dataset, kind: &str, p: &SpacePermission) -> Option<Value> {
    let (user, group) = match p.principal_type.as_str() {
        "user" => (Some(username(d, &p.principal_id)?), None),
        "group" => (
            None,
            Some(
                d.groups
                    .iter()
                    .find(|g| g.id == p.principal_id)?
                    .name
                    .clone(),
            ),
        ),
        crate::confluence::perms::ANONYMOUS => (None, None),
        _ => return None,
    };
    Some(json!({"type": kind, "userName": user, "groupName": group}))
}

fn sets(d: &Dataset, s: &Space, only: Option<&str>) -> Vec<Value> {
    TYPES
        .iter()
        .filter(|t| only.is_none_or(|o| o == **t))
        .filter_map(|t| {
            let perms: Vec<Value> = s
                .permissions
                .iter()
                .filter(|p| dc_type(p) == Some(*t))
                .filter_map(|p| entry(d, t, p))
                .collect();
            (!perms.is_empty() || only.is_some())
                .then(|| json!({"type": t, "spacePermissions": perms}))
        })
        .collect()
}

/// A JSON-RPC failure: Confluence's `RemoteException` text.
struct RpcError(String);

fn call(ctx: &Ctx, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    let key = params
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError(format!("{method}: the first parameter must be a space key")))?;
    let data = ctx.conf().read();
    let d = &data.d;
    let not_permitted = || {
        RpcError(
            "com.atlassian.confluence.rpc.NotPermittedException: You're not allowed to view that space, or it does not exist.".into(),
        )
    };
    let s = d
        .spaces
        .iter()
        .find(|s| s.key == key)
        .ok_or_else(not_permitted)?;
    let admin = d
        .groups
        .iter()
        .any(|g| g.name == "site-admins" && ctx.caller.groups.contains(&g.id))
        || s.permissions.iter().any(|p| {
            p.operation == "administer"
                && p.target_type == "space"
                && match p.principal_type.as_str() {
                    "user" => p.principal_id == ctx.caller.account_id,
                    "group" => ctx.caller.groups.contains(&p.principal_id),
                    _ => false,
                }
        });
    if !admin {
        return Err(RpcError(
            "com.atlassian.confluence.rpc.NotPermittedException: You don't have the 'Admin' permission for this space.".into(),
        ));
    }
    match method {
        "getSpacePermissionSets" => Ok(json!(sets(d, s, None))),
        "getSpacePermissionSet" => {
            let t = params.get(1).and_then(Value::as_str).ok_or_else(|| {
                RpcError(
                    "getSpacePermissionSet: the second parameter must be a permission type".into(),
                )
            })?;
            if !TYPES.contains(&t) {
                return Err(RpcError(format!(
                    "com.atlassian.confluence.rpc.RemoteException: Unknown permission type: {t}"
                )));
            }
            Ok(sets(d, s, Some(t))
                .into_iter()
                .next()
                .unwrap_or(Value::Null))
        }
        other => Err(RpcError(format!(
            "com.atlassian.confluence.rpc.RemoteException: No such operation: {other}"
        ))),
    }
}

/// `POST /confluence/rpc/json-rpc/confluenceservice-v2`: a JSON-RPC 2.0 envelope.
pub async fn envelope(ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}),
        ));
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": id}),
        ));
    };
    let params: Vec<Value> = match req.get("params") {
        Some(Value::Array(a)) => a.clone(),
        None => Vec::new(),
        Some(_) => {
            return Ok(json_response(
                StatusCode::OK,
                &json!({"jsonrpc": "2.0", "error": {"code": -32602, "message": "Invalid params"}, "id": id}),
            ));
        }
    };
    let out = match call(&ctx, method, &params) {
        Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
        Err(RpcError(message)) => {
            json!({"jsonrpc": "2.0", "error": {"code": 500, "message": message}, "id": id})
        }
    };
    Ok(json_response(StatusCode::OK, &out))
}

/// `POST /confluence/rpc/json-rpc/confluenceservice-v2/{method}`: the light form (the params
/// array as the body, the bare result back; a failure is a 500 with the error).
pub async fn light(
    ctx: Ctx,
    Path(method): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params: Vec<Value> = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("the body must be a JSON array of parameters"))?;
    Ok(match call(&ctx, &method, &params) {
        Ok(result) => json_response(StatusCode::OK, &result),
        Err(RpcError(message)) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": {"code": 500, "message": message}}),
        ),
    })
}
