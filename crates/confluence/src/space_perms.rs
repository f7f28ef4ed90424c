//! Space permissions, from wherever the site offers them: Cloud's REST v2
//! (`/spaces/{id}/permissions`), Data Center 9.1+'s REST (`/rest/api/space/{key}/permissions`)
//! or, up to 9.0, the JSON-RPC remote API (`getSpacePermissionSets` on
//! `/rpc/json-rpc/confluenceservice-v2`). All come back in the store's (Cloud v2) shape
//! `{id, principal: {type, id}, operation: {key, targetType}}`: users by user key, groups by
//! name, anonymous access as principal type `anonymous`; the raw Data Center fields are kept
//! beside it (`dcType`, `userName`, `groupName`).

use std::collections::BTreeMap;

use kb_http::{HttpError, Method, Request};
use serde_json::{Map, Value, json};

use crate::client::Confluence;
use crate::config::Flavour;
use crate::connector::{SpaceRef, version_tuple};

/// Where a site's space permissions are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionSource {
    /// Cloud: `GET /wiki/api/v2/spaces/{id}/permissions`.
    CloudRest,
    /// Data Center 9.1+: `GET /rest/api/space/{key}/permissions`.
    DcRest,
    /// Data Center up to 9.0: JSON-RPC `getSpacePermissionSets`.
    JsonRpc,
}

impl PermissionSource {
    /// What `check` and warnings say.
    pub fn describe(self) -> &'static str {
        match self {
            PermissionSource::CloudRest => {
                "REST v2 (/api/v2/spaces/{id}/permissions; needs space admin)"
            }
            PermissionSource::DcRest => {
                "REST (/rest/api/space/{key}/permissions, Data Center 9.1+; needs space admin)"
            }
            PermissionSource::JsonRpc => {
                "JSON-RPC remote API (getSpacePermissionSets on /rpc/json-rpc/confluenceservice-v2; no REST before 9.1; needs space admin)"
            }
        }
    }
}

/// A space's permissions, or why the server would not give them.
#[derive(Clone, Debug)]
pub enum SpacePermissions {
    /// Read, in the store's shape.
    Read {
        items: Vec<Value>,
        source: PermissionSource,
    },
    /// The server refused (the account is no space admin, the remote API is off): why.
    Refused {
        source: PermissionSource,
        reason: String,
    },
}

/// A Data Center permission type (`VIEWSPACE`…) as Cloud's `(operation key, target type)`.
pub fn dc_permission_operation(kind: &str) -> (String, &'static str) {
    let (op, target) = match kind {
        "VIEWSPACE" => ("read", "space"),
        "EDITSPACE" => ("create", "page"),
        "EXPORTPAGE" => ("export", "page"),
        "REMOVEPAGE" => ("delete", "page"),
        "ARCHIVEPAGE" => ("archive", "page"),
        "EDITBLOG" => ("create", "blogpost"),
        "REMOVEBLOG" => ("delete", "blogpost"),
        "COMMENT" => ("create", "comment"),
        "REMOVECOMMENT" => ("delete", "comment"),
        "CREATEATTACHMENT" => ("create", "attachment"),
        "REMOVEATTACHMENT" => ("delete", "attachment"),
        "REMOVEMAIL" => ("delete", "mail"),
        "EXPORTSPACE" => ("export", "space"),
        "SETSPACEPERMISSIONS" => ("administer", "space"),
        "SETPAGEPERMISSIONS" => ("restrict_content", "space"),
        "REMOVEOWNCONTENT" => ("delete_own", "space"),
        // A type this table does not know (an app's) is kept under its own name.
        other => return (other.to_ascii_lowercase(), "space"),
    };
    (op.to_string(), target)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One permission row in the store's shape; `id` is stable across runs (Data Center's
/// permissions have none the client can see).
fn row(
    id: Option<String>,
    principal_type: &str,
    principal_id: Option<String>,
    op: &str,
    target: &str,
    raw: Map<String, Value>,
) -> Value {
    let id = id.unwrap_or_else(|| {
        format!(
            "{op}:{target}:{principal_type}:{}",
            principal_id.as_deref().unwrap_or("")
        )
    });
    let mut out = raw;
    out.insert("id".into(), json!(id));
    out.insert(
        "principal".into(),
        json!({"type": principal_type, "id": principal_id}),
    );
    out.insert("operation".into(), json!({"key": op, "targetType": target}));
    Value::Object(out)
}

impl Confluence {
    /// Where this site's space permissions come from.
    pub async fn permission_source(&self) -> PermissionSource {
        match self.flavour {
            Flavour::Cloud => PermissionSource::CloudRest,
            Flavour::DataCenter => {
                let info = self.server_info().await;
                match info.version.as_deref().and_then(version_tuple) {
                    Some(v) if v >= (9, 1) => PermissionSource::DcRest,
                    _ => PermissionSource::JsonRpc,
                }
            }
        }
    }

    /// The permissions of `space`, in the store's shape, from where the site offers them.
    pub async fn read_space_permissions(
        &self,
        space: &SpaceRef,
    ) -> Result<SpacePermissions, HttpError> {
        let source = self.permission_source().await;
        let refused = |e: &HttpError| match e.status() {
            Some(401 | 403) => Some(format!("not permitted ({e})")),
            _ => None,
        };
        let read = match source {
            PermissionSource::CloudRest => self.space_permissions(&space.id)?.all().await,
            PermissionSource::DcRest => self.dc_rest_permissions(space).await,
            PermissionSource::JsonRpc => match self.rpc_permissions(space).await {
                Ok(Ok(items)) => Ok(items),
                Ok(Err(reason)) => return Ok(SpacePermissions::Refused { source, reason }),
                Err(e) if matches!(e.status(), Some(404 | 405)) => {
                    return Ok(SpacePermissions::Refused {
                        source,
                        reason: format!(
                            "the server has no JSON-RPC remote API ({e}): an administrator can enable it, or Data Center 9.1+ offers REST"
                        ),
                    });
                }
                Err(e) => Err(e),
            },
        };
        match read {
            Ok(items) => Ok(SpacePermissions::Read { items, source }),
            Err(e) => match refused(&e) {
                Some(reason) => Ok(SpacePermissions::Refused { source, reason }),
                None => Err(e),
            },
        }
    }

    /// JSON-RPC 2.0 `getSpacePermissionSets(spaceKey)`; `Ok(Err(why))` when the server
    /// answered with a JSON-RPC error (not permitted, no such space).
    async fn rpc_permissions(
        &self,
        space: &SpaceRef,
    ) -> Result<Result<Vec<Value>, String>, HttpError> {
        let url = self.http.url("rpc/json-rpc/confluenceservice-v2")?;
        let body = json!({"jsonrpc": "2.0", "method": "getSpacePermissionSets", "params": [space.key], "id": 1});
        // A read, safe to send twice.
        let req = Request::json(Method::POST, url, &body)
            .idempotent(true)
            .object(format!("permissions of space {}", space.key));
        let answer: Value = self.http.json(&req).await?;
        if let Some(err) = answer.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| err.to_string());
            return Ok(Err(format!(
                "getSpacePermissionSets({}) answered an error: {message}",
                space.key
            )));
        }
        let Some(sets) = answer.get("result").and_then(Value::as_array) else {
            return Err(HttpError::Decode {
                method: "POST".into(),
                url: req.url.to_string(),
                path: "result".into(),
                message: "a JSON-RPC answer without a result array".into(),
            });
        };
        // Sorted and de-duplicated by id, so the rows are the same run after run.
        let mut rows = BTreeMap::new();
        for set in sets {
            let set_type = text(set.get("type"));
            let Some(perms) = set.get("spacePermissions").and_then(Value::as_array) else {
                continue;
            };
            for p in perms {
                let Some(kind) = text(p.get("type")).or_else(|| set_type.clone()) else {
                    return Err(HttpError::Decode {
                        method: "POST".into(),
                        url: req.url.to_string(),
                        path: "result[].spacePermissions[].type".into(),
                        message: "a space permission without a type".into(),
                    });
                };
                let (op, target) = dc_permission_operation(&kind);
                let mut raw = Map::new();
                raw.insert("dcType".into(), json!(kind));
                let (ptype, pid) = match (text(p.get("userName")), text(p.get("groupName"))) {
                    (Some(user), _) => {
                        raw.insert("userName".into(), json!(user));
                        // Users are known by their user key in the store; a username the
                        // server no longer knows stays as it is (it matches no one).
                        let key = self.user_key_of(&user).await?;
                        ("user", Some(key.unwrap_or(user)))
                    }
                    (None, Some(group)) => {
                        raw.insert("groupName".into(), json!(group));
                        ("group", Some(group))
                    }
                    (None, None) => ("anonymous", None),
                };
                let v = row(None, ptype, pid, &op, target, raw);
                if let Some(id) = text(v.get("id")) {
                    rows.insert(id, v);
                }
            }
        }
        Ok(Ok(rows.into_values().collect()))
    }

    /// Data Center 9.1+: `GET /rest/api/space/{key}/permissions` (one array, no pages).
    async fn dc_rest_permissions(&self, space: &SpaceRef) -> Result<Vec<Value>, HttpError> {
        let url = self
            .http
            .url(&format!("rest/api/space/{}/permissions", space.key))?;
        let req = Request::get(url).object(format!("permissions of space {}", space.key));
        let answer: Vec<Value> = self.http.json(&req).await?;
        let mut rows = BTreeMap::new();
        for p in answer {
            let op = text(p.pointer("/operation/operationKey"))
                .or_else(|| text(p.pointer("/operation/key")));
            let target = text(p.pointer("/operation/targetType"));
            let (Some(op), Some(target)) = (op, target) else {
                return Err(HttpError::Decode {
                    method: "GET".into(),
                    url: req.url.to_string(),
                    path: "[].operation".into(),
                    message: "a space permission without an operation".into(),
                });
            };
            let subject = p.get("subject");
            let (ptype, pid) = match subject.and_then(|s| s.get("type")).and_then(Value::as_str) {
                Some("user") => (
                    "user",
                    text(subject.and_then(|s| s.get("userKey")))
                        .or_else(|| text(subject.and_then(|s| s.get("name")))),
                ),
                Some("group") => ("group", text(subject.and_then(|s| s.get("name")))),
                _ => ("anonymous", None),
            };
            let mut raw = Map::new();
            if let Some(s) = subject {
                raw.insert("subject".into(), s.clone());
            }
            let v = row(text(p.get("id")), ptype, pid, &op, &target, raw);
            if let Some(id) = text(v.get("id")) {
                rows.insert(id, v);
            }
        }
        Ok(rows.into_values().collect())
    }

    /// A Data Center user's key by username (`GET /rest/api/user?username=`), looked up once
    /// per client; `None` when the server knows no such user.
    async fn user_key_of(&self, username: &str) -> Result<Option<String>, HttpError> {
        if let Some(k) = self
            .user_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(username)
        {
            return Ok(k.clone());
        }
        let req = Request::get(self.http.url("rest/api/user")?)
            .query("username", username)
            .object(format!("user {username}"));
        let key = match self.http.json::<Value>(&req).await {
            Ok(u) => text(u.get("userKey")),
            Err(e) if e.status() == Some(404) => None,
            Err(e) => return Err(e),
        };
        self.user_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(username.to_string(), key.clone());
        Ok(key)
    }
}
