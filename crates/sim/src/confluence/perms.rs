//! The permission model of the Confluence twin, as the service applies it to reads: users with
//! their own API tokens, groups whose membership is listable and changeable, space **View**
//! permissions (users, groups, anonymous) and inherited read restrictions at any depth, and the
//! oracle `POST /wiki/rest/api/content/{id}/permission/check`.
//!
//! A caller sees content when it may view the content's space *and* passes the read
//! restriction of the content and of every ancestor that has one (any listed user or group
//! passes one level; every level must pass). Attachments and comments follow their container.
//! Anonymous access: a space permission with principal type `anonymous` lets everyone read the
//! space, callers without credentials too (an unauthenticated request is accepted only when
//! some space grants it). Site admins (members of `site-admins`) are subject to restrictions
//! like everyone else, as on Cloud; they alone may check another subject's permission.
//!
//! [`PermScenario`] rewrites a generated site into one with many users, groups, an anonymous
//! space and restrictions at random depths (some the admin account cannot pass), for tests that
//! hold kbridge's answers against this oracle. The twin decides by its own data only.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::api::*;
use super::{Caller, Data, admits};
use crate::model::*;
use crate::rng::Rng;

type R = Result<Response, ApiError>;

/// The principal type of a space permission that admits everyone (logged in or not).
pub const ANONYMOUS: &str = "anonymous";

/// The API token of a generated user (`email:token` Basic auth): every user of the dataset
/// has one, besides the configured credentials.
pub fn user_token(account_id: &str) -> String {
    format!(
        "kbridge-sim-user-{:016x}",
        crate::rng::fnv1a64(account_id.as_bytes())
    )
}

/// The caller an anonymous (credential-less) request acts as.
pub fn anonymous_caller() -> Caller {
    Caller {
        account_id: String::new(),
        groups: Vec::new(),
    }
}

/// Whether any space admits anonymous readers (then requests without credentials are served).
pub fn anonymous_enabled(d: &Dataset) -> bool {
    d.spaces.iter().any(|s| {
        s.permissions
            .iter()
            .any(|p| p.principal_type == ANONYMOUS && is_view(p))
    })
}

fn is_view(p: &SpacePermission) -> bool {
    p.operation == "read" && p.target_type == "space"
}

/// Whether `caller` may view space `s` (its View permission names them, one of their groups,
/// or anonymous).
pub fn can_view_space(s: &Space, caller: &Caller) -> bool {
    s.permissions
        .iter()
        .filter(|p| is_view(p))
        .any(|p| match p.principal_type.as_str() {
            ANONYMOUS => true,
            "user" => !caller.account_id.is_empty() && p.principal_id == caller.account_id,
            "group" => caller.groups.contains(&p.principal_id),
            _ => false,
        })
}

/// The caller a user acts as: their account and their groups (`None` for an unknown account).
pub fn caller_of(d: &Dataset, account_id: &str) -> Option<Caller> {
    d.user(account_id)?;
    Some(Caller {
        account_id: account_id.to_string(),
        groups: d
            .groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == account_id))
            .map(|g| g.id.clone())
            .collect(),
    })
}

impl Data {
    /// Content in spaces `caller` may not view (added to what restrictions hide).
    pub(super) fn hidden_by_space(&self, caller: &Caller, set: &mut super::IdSet) {
        let blocked: std::collections::HashSet<u64> = self
            .d
            .spaces
            .iter()
            .filter(|s| !can_view_space(s, caller))
            .map(|s| s.id)
            .collect();
        if blocked.is_empty() {
            return;
        }
        for c in self.d.contents.values() {
            if blocked.contains(&c.space_id) {
                set.insert(c.id);
            }
        }
    }

    /// Whether `caller` may view space `id`.
    pub fn sees_space(&self, caller: &Caller, id: u64) -> bool {
        self.d.space(id).is_some_and(|s| can_view_space(s, caller))
    }
}

fn is_site_admin(d: &Dataset, caller: &Caller) -> bool {
    d.groups
        .iter()
        .any(|g| g.name == "site-admins" && caller.groups.contains(&g.id))
}

/// `POST /wiki/rest/api/content/{id}/permission/check` with
/// `{"subject": {"type": "user"|"group", "identifier": "…"}, "operation": "read"|"update"}`:
/// `{"hasPermission": bool, "errors": []}`. Checking a subject other than oneself needs a site
/// admin (403 otherwise); unknown subjects and content are 404s, a bad body a 400.
pub async fn check(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("Could not read the JSON body: {e}")).v1())?;
    let kind = body
        .pointer("/subject/type")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("subject.type is required (user or group)").v1())?;
    let ident = body
        .pointer("/subject/identifier")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("subject.identifier is required").v1())?;
    let op = body
        .pointer("/operation")
        .and_then(|o| o.as_str().or_else(|| o.get("key").and_then(Value::as_str)))
        .ok_or_else(|| ApiError::bad_request("operation is required (read or update)").v1())?;
    if op != "read" && op != "update" {
        return Err(ApiError::bad_request(format!(
            "Invalid operation: {op}; the twin checks read and update"
        ))
        .v1());
    }
    let cid = path_id(&id).map_err(ApiError::v1)?;
    let data = ctx.conf().read();
    let subject = match kind {
        "user" => caller_of(&data.d, ident).ok_or_else(|| {
            ApiError::not_found_msg(format!("No user with accountId {ident}")).v1()
        })?,
        "group" => {
            if !data.d.groups.iter().any(|g| g.id == ident) {
                return Err(ApiError::not_found_msg(format!("No group with id {ident}")).v1());
            }
            Caller {
                account_id: format!("group:{ident}"),
                groups: vec![ident.to_string()],
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid subject type: {other}; use user or group"
            ))
            .v1());
        }
    };
    let myself = kind == "user" && ident == ctx.caller.account_id;
    if !myself && !is_site_admin(&data.d, &ctx.caller) {
        return Err(ApiError::forbidden(
            "Only a site admin may check the permissions of another user or a group",
        )
        .v1());
    }
    // The content must exist and be visible to the one asking.
    if !data.can_view_any(&ctx.caller, cid) {
        return Err(ApiError::not_found_msg(format!("No content with id {cid}")).v1());
    }
    let unlicensed = kind == "user"
        && ctx.sim.confluence.credentials.iter().any(|c| {
            !c.licensed
                && data
                    .d
                    .users
                    .get(c.user)
                    .is_some_and(|u| u.account_id == ident)
        });
    let mut has = !unlicensed && data.can_view_any(&subject, cid);
    if has && op == "update" {
        let container = data
            .d
            .attachments
            .get(&cid)
            .map(|a| a.container_id)
            .unwrap_or(cid);
        has = data
            .d
            .contents
            .get(&container)
            .is_some_and(|c| admits(&c.restrictions.update, &subject));
    }
    ok(json!({"hasPermission": has, "errors": []}))
}

/// `GET /wiki/rest/api/user/memberof?accountId=`: the user's groups (v1 offsets).
pub async fn member_of(ctx: Ctx) -> R {
    let account = ctx
        .q
        .get("accountId")
        .ok_or_else(|| ApiError::bad_request("accountId is required").v1())?
        .to_string();
    let data = ctx.conf().read();
    if data.d.user(&account).is_none() {
        return Err(ApiError::not_found_msg(format!("No user with accountId {account}")).v1());
    }
    let groups: Vec<Value> = data
        .d
        .groups
        .iter()
        .filter(|g| g.members.contains(&account))
        .map(|g| json!({"type": "group", "name": g.name, "id": g.id}))
        .collect();
    ok(json!({"results": groups, "start": 0, "limit": 200, "size": groups.len()}))
}

fn group_param(ctx: &Ctx) -> Result<String, ApiError> {
    ctx.q
        .get("groupId")
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("groupId is required").v1())
}

/// `POST /wiki/rest/api/group/userByGroupId?groupId=` `{"accountId": "…"}`: adds a member
/// (site admins only). 201 with no body; already a member is fine.
pub async fn add_member(ctx: Ctx, bytes: Bytes) -> R {
    let gid = group_param(&ctx)?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("Could not read the JSON body: {e}")).v1())?;
    let account = body
        .get("accountId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("accountId is required").v1())?
        .to_string();
    let conf = ctx.conf();
    let mut data = conf.write();
    if !is_site_admin(&data.d, &ctx.caller) {
        return Err(ApiError::forbidden("Only a site admin may change group membership").v1());
    }
    if data.d.user(&account).is_none() {
        return Err(ApiError::not_found_msg(format!("No user with accountId {account}")).v1());
    }
    let g = data
        .d
        .groups
        .iter_mut()
        .find(|g| g.id == gid)
        .ok_or_else(|| ApiError::not_found_msg(format!("No group with id {gid}")).v1())?;
    if !g.members.contains(&account) {
        g.members.push(account);
    }
    data.reindex();
    Ok(json_response(StatusCode::CREATED, &Value::Null))
}

/// `DELETE /wiki/rest/api/group/userByGroupId?groupId=&accountId=`: removes a member (site
/// admins only); 404 when they were not in it.
pub async fn remove_member(ctx: Ctx) -> R {
    let gid = group_param(&ctx)?;
    let account = ctx
        .q
        .get("accountId")
        .ok_or_else(|| ApiError::bad_request("accountId is required").v1())?
        .to_string();
    let conf = ctx.conf();
    let mut data = conf.write();
    if !is_site_admin(&data.d, &ctx.caller) {
        return Err(ApiError::forbidden("Only a site admin may change group membership").v1());
    }
    let g = data
        .d
        .groups
        .iter_mut()
        .find(|g| g.id == gid)
        .ok_or_else(|| ApiError::not_found_msg(format!("No group with id {gid}")).v1())?;
    let before = g.members.len();
    g.members.retain(|m| *m != account);
    if g.members.len() == before {
        return Err(ApiError::not_found_msg(format!(
            "User {account} is not a member of group {gid}"
        ))
        .v1());
    }
    data.reindex();
    Ok(json_response(StatusCode::NO_CONTENT, &Value::Null))
}

/// A permission-heavy site made from a generated one: more groups, spaces with different
/// readers (one of them anonymous), and read restrictions at random depths.
#[derive(Clone, Debug)]
pub struct PermScenario {
    pub seed: u64,
    /// Groups besides the generated ones (named `team-1`, `team-2`…).
    pub extra_groups: usize,
    /// Share of pages and blog posts that get a read restriction.
    pub restricted: f64,
    /// Share of restrictions the admin account (the usual crawler) is not in.
    pub crawler_excluded: f64,
    /// The first space admits anonymous readers.
    pub anonymous_space: bool,
}

impl Default for PermScenario {
    fn default() -> Self {
        PermScenario {
            seed: 11,
            extra_groups: 6,
            restricted: 0.12,
            crawler_excluded: 0.2,
            anonymous_space: true,
        }
    }
}

/// Rewrites groups, space View permissions and read restrictions of `d` after `s`.
pub fn apply(d: &mut Dataset, s: &PermScenario) {
    let mut r = Rng::new(s.seed ^ 0x7065_726d_7321);
    let admin = d.users[crate::generator::ADMIN_USER].account_id.clone();
    let others: Vec<String> = d
        .users
        .iter()
        .skip(3)
        .map(|u| u.account_id.clone())
        .collect();
    for i in 0..s.extra_groups {
        let mut members: Vec<String> = others.iter().filter(|_| r.chance(0.3)).cloned().collect();
        if members.is_empty() && !others.is_empty() {
            members.push(others[r.below(others.len() as u64) as usize].clone());
        }
        d.groups.push(Group {
            id: r.uuid(),
            name: format!("team-{}", i + 1),
            members,
        });
    }
    let group_ids: Vec<String> = d.groups.iter().skip(2).map(|g| g.id.clone()).collect();
    let admins_group = d.groups[1].id.clone();
    let users_group = d.groups[0].id.clone();
    // Space View: the first space everyone (anonymous), the others some groups and users;
    // the admin account always (it is the crawler).
    let n_spaces = d.spaces.len();
    for si in 0..n_spaces {
        let mut view: Vec<(String, String)> = Vec::new();
        if si == 0 && s.anonymous_space {
            view.push((ANONYMOUS.into(), String::new()));
        } else if si == 1 {
            view.push(("group".into(), users_group.clone()));
        } else {
            for g in &group_ids {
                if r.chance(0.4) {
                    view.push(("group".into(), g.clone()));
                }
            }
            for u in &others {
                if r.chance(0.1) {
                    view.push(("user".into(), u.clone()));
                }
            }
        }
        view.push(("group".into(), admins_group.clone()));
        let mut ids = Vec::new();
        for _ in 0..view.len() {
            ids.push(d.alloc_aux_id());
        }
        let sp = &mut d.spaces[si];
        sp.permissions.retain(|p| !is_view(p));
        for ((ptype, pid), id) in view.into_iter().zip(ids) {
            sp.permissions.push(SpacePermission {
                id,
                principal_type: ptype,
                principal_id: pid,
                operation: "read".into(),
                target_type: "space".into(),
            });
        }
    }
    // Read restrictions: cleared, then drawn per page and blog post (folders stay open).
    let ids: Vec<u64> = d.contents.keys().copied().collect();
    for id in ids {
        let Some(c) = d.contents.get_mut(&id) else {
            continue;
        };
        c.restrictions.read = Subjects::default();
        if c.kind == ContentKind::Folder || !r.chance(s.restricted) {
            continue;
        }
        let mut subj = Subjects::default();
        for _ in 0..r.range(1, 2) {
            let g = group_ids[r.below(group_ids.len() as u64) as usize].clone();
            if !subj.groups.contains(&g) {
                subj.groups.push(g);
            }
        }
        for _ in 0..r.below(3) {
            if others.is_empty() {
                break;
            }
            let u = others[r.below(others.len() as u64) as usize].clone();
            if !subj.users.contains(&u) {
                subj.users.push(u);
            }
        }
        if !r.chance(s.crawler_excluded) {
            subj.users.push(admin.clone());
        }
        // An empty restriction would mean "none": keep at least one subject.
        if subj.is_empty() {
            subj.users.push(admin.clone());
        }
        c.restrictions.read = subj;
    }
    // The admin is in every generated group but the crawler must not pass restrictions by
    // group alone in this scenario: it passes only where named.
    for g in d.groups.iter_mut().skip(2) {
        g.members.retain(|m| *m != admin);
    }
}
