//! Structure: moves, trashes and restores made on one side, mirrored on the other.
//!
//! Moves are found from the parents the polls list (a page listed with another parent than
//! the one recorded moved on that side). Trashes and restores are found by the periodic
//! reconcile, whose listings are complete: a paired page missing from one side's listing is
//! looked up by its id (Notion `in_trash`, Confluence `status`). Neither service's incremental
//! listing shows a trash, and Confluence's does not show a move (a move makes no version).
//!
//! Order inside a pass: moves first (a Confluence trash moves the page's children up to its
//! parent; mirroring those moves first keeps them out of the Notion trash), then trashes,
//! deepest first, then restores, shallowest first.

use std::collections::HashMap;

use kb_http::{Method, Request};
use serde_json::{Value, json};

use super::SyncError;
use super::pass::SyncReport;
use super::state::{self, Deletion, Link, Pair, Policy};

/// What the listings of one pass showed: per pair index, the parent each side listed
/// (`None`: listed, under something that is not a page). `complete`: the listings were the
/// whole trees (a reconcile), so a pair missing from one is gone from that side.
#[derive(Default)]
pub(super) struct Listed {
    pub notion: HashMap<usize, Option<String>>,
    pub confluence: HashMap<usize, Option<String>>,
    pub complete: bool,
}

fn dashed(id: &str) -> String {
    kb_notion::dashed(id)
}

/// Whether pair `p` takes part in structure changes and content sync.
pub(super) fn active(p: &Pair) -> bool {
    !p.state.trashed && p.state.unlinked.is_none()
}

async fn notion_move(cx: &super::SyncContext<'_>, id: &str, parent: &str) -> Result<(), SyncError> {
    let http = cx.notion.http();
    let url = http.url(&format!("v1/pages/{}/move", dashed(id)))?;
    let body = json!({"parent": {"type": "page_id", "page_id": dashed(parent)}});
    let req = Request::json(Method::POST, url, &body)
        .object(format!("Notion page {id} (move)"))
        .idempotent(true);
    http.send(&req).await?;
    Ok(())
}

async fn notion_trash(cx: &super::SyncContext<'_>, id: &str, trash: bool) -> Result<(), SyncError> {
    cx.notion
        .update_page(&dashed(id), json!({"in_trash": trash}))
        .await?;
    Ok(())
}

async fn confluence_move(
    cx: &super::SyncContext<'_>,
    id: &str,
    parent: &str,
) -> Result<(), SyncError> {
    let http = cx.confluence.http();
    let url = http.url(&format!("rest/api/content/{id}/move/append/{parent}"))?;
    let req = Request::new(Method::PUT, url).object(format!("Confluence page {id} (move)"));
    http.send(&req).await?;
    Ok(())
}

/// The Confluence page `id` in any of the states a sync cares about (current, archived,
/// trashed), with its storage body; `None` when Confluence does not know it (purged).
async fn confluence_any(cx: &super::SyncContext<'_>, id: &str) -> Result<Option<Value>, SyncError> {
    let req = cx
        .confluence
        .v2(&format!("pages/{id}"))?
        .query("status", "current")
        .query("status", "archived")
        .query("status", "trashed")
        .query("body-format", "storage")
        .object(format!("page {id}"));
    match cx.confluence.get(req).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn confluence_trash(cx: &super::SyncContext<'_>, id: &str) -> Result<(), SyncError> {
    let http = cx.confluence.http();
    let url = http.url(&format!("api/v2/pages/{id}"))?;
    let req = Request::new(Method::DELETE, url).object(format!("Confluence page {id} (trash)"));
    match http.send(&req).await {
        Ok(_) => Ok(()),
        Err(e) => {
            // A trash whose answer was lost: the retry is refused, the page is in the trash.
            match confluence_any(cx, id).await? {
                Some(p) if kb_confluence::keys::status(&p) == Some("trashed") => Ok(()),
                _ => Err(e.into()),
            }
        }
    }
}

/// Restores trashed Confluence page `id` (`PUT` with `status: current`; Confluence ignores
/// the body of a restore, it is sent as the API requires one).
async fn confluence_restore(cx: &super::SyncContext<'_>, id: &str) -> Result<(), SyncError> {
    let Some(page) = confluence_any(cx, id).await? else {
        return Err(SyncError::Input(format!(
            "Confluence page {id} is gone for good (purged from the trash): it cannot be restored; unlink it or restore it from a backup"
        )));
    };
    if kb_confluence::keys::status(&page) != Some("trashed") {
        return Ok(());
    }
    let title = kb_confluence::keys::title(&page)
        .ok_or_else(|| SyncError::Input(format!("Confluence page {id} has no title")))?;
    let version = kb_confluence::keys::version_number(&page)
        .ok_or_else(|| SyncError::Input(format!("Confluence page {id} has no version")))?;
    let storage = page
        .pointer("/body/storage/value")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            SyncError::Input(format!(
                "Confluence page {id} came without its storage body"
            ))
        })?;
    let http = cx.confluence.http();
    let url = http.url(&format!("api/v2/pages/{id}"))?;
    let body = json!({
        "id": id,
        "status": "current",
        "title": title,
        "body": {"representation": "storage", "value": storage},
        "version": {"number": version + 1, "message": "kbridge sync: restored"},
    });
    let req =
        Request::json(Method::PUT, url, &body).object(format!("Confluence page {id} (restore)"));
    http.send(&req).await?;
    Ok(())
}

/// Depth of pair `i` in the Notion tree the pairs record (the root is 0).
fn depth(pairs: &[Pair], i: usize) -> usize {
    let by_id: HashMap<&str, usize> = pairs
        .iter()
        .enumerate()
        .map(|(k, p)| (p.notion_id.as_str(), k))
        .collect();
    let mut d = 0;
    let mut cur = i;
    while let Some(&up) = by_id.get(pairs[cur].state.notion_parent.as_str()) {
        d += 1;
        cur = up;
        if d > pairs.len() {
            break;
        }
    }
    d
}

/// Applies the structure changes the listings show; each change is saved with its pair.
/// A failure is reported with the page and leaves that pair as it was.
#[allow(clippy::needless_range_loop)] // pairs are read and written by index in one loop
pub(super) async fn apply(
    cx: &super::SyncContext<'_>,
    link: &Link,
    pairs: &mut [Pair],
    listed: &Listed,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let root = pairs
        .iter()
        .position(|p| p.notion_id == link.spec.notion_root);
    // --- Moves.
    for i in 0..pairs.len() {
        if Some(i) == root || !active(&pairs[i]) {
            continue;
        }
        let n_now = listed.notion.get(&i).cloned().flatten();
        let c_now = listed.confluence.get(&i).cloned().flatten();
        let n_moved = n_now
            .as_ref()
            .is_some_and(|x| *x != pairs[i].state.notion_parent);
        let c_moved = c_now
            .as_ref()
            .is_some_and(|x| *x != pairs[i].state.confluence_parent);
        if !n_moved && !c_moved {
            continue;
        }
        let r = move_one(
            cx,
            link,
            pairs,
            i,
            n_moved.then_some(n_now).flatten(),
            c_moved.then_some(c_now).flatten(),
            report,
        )
        .await;
        match r {
            Ok(()) => state::save_pair(cx.store, &link.name, &pairs[i]).await?,
            Err(e @ SyncError::Store(_)) => return Err(e),
            Err(e) => report.errors.push(format!(
                "Notion page {} / Confluence page {}: a move was not mirrored: {e}",
                pairs[i].notion_id, pairs[i].confluence_id
            )),
        }
    }
    if !listed.complete {
        return Ok(());
    }
    // --- What each side shows of every pair: gone (trashed) or there.
    let mut n_gone: HashMap<usize, bool> = HashMap::new();
    let mut c_gone: HashMap<usize, bool> = HashMap::new();
    for i in 0..pairs.len() {
        if Some(i) == root || pairs[i].state.unlinked.is_some() {
            continue;
        }
        let p = &pairs[i];
        let n = if listed.notion.contains_key(&i) {
            Some(false)
        } else {
            match cx.notion.page(&dashed(&p.notion_id)).await {
                Ok(page) if page.in_trash || page.archived => Some(true),
                Ok(_) => {
                    report.errors.push(format!(
                        "Notion page {} is not in the trash but no longer listed by search (not shared with the integration any more?): its pair is left as it was",
                        p.notion_id
                    ));
                    None
                }
                Err(e) if e.status() == Some(404) => {
                    report.errors.push(format!(
                        "Notion page {} is no longer visible to the integration (deleted for good, or not shared any more): its pair is left as it was; share it again, or `kbridge sync remove` the link",
                        p.notion_id
                    ));
                    None
                }
                Err(e) => {
                    report
                        .errors
                        .push(format!("Notion page {}: {e}", p.notion_id));
                    None
                }
            }
        };
        let c = if listed.confluence.contains_key(&i) {
            Some(false)
        } else {
            match confluence_any(cx, &p.confluence_id).await {
                Ok(Some(v)) if kb_confluence::keys::status(&v) == Some("trashed") => Some(true),
                Ok(Some(_)) => {
                    // There, but not under the synced root: moved out of the tree.
                    if active(p) {
                        let p = &mut pairs[i];
                        p.state.unlinked = Some(format!(
                            "Confluence page {} was moved out of the synced tree",
                            p.confluence_id
                        ));
                        report.unlinked += 1;
                        state::save_pair(cx.store, &link.name, p).await?;
                    }
                    None
                }
                Ok(None) => {
                    report.errors.push(format!(
                        "Confluence page {} is gone for good (purged): its pair is left as it was",
                        p.confluence_id
                    ));
                    None
                }
                Err(e @ SyncError::Store(_)) => return Err(e),
                Err(e) => {
                    report
                        .errors
                        .push(format!("Confluence page {}: {e}", p.confluence_id));
                    None
                }
            }
        };
        if let Some(x) = n {
            n_gone.insert(i, x);
        }
        if let Some(x) = c {
            c_gone.insert(i, x);
        }
    }
    // A Notion page under a trashed page is in the trash with it (Notion trashes subtrees).
    let by_nid: HashMap<String, usize> = pairs
        .iter()
        .enumerate()
        .map(|(k, p)| (p.notion_id.clone(), k))
        .collect();
    let under_trashed = |i: usize, n_gone: &HashMap<usize, bool>| {
        let mut cur = listed.notion.get(&i).cloned().flatten();
        let mut hops = 0;
        while let Some(parent) = cur {
            let Some(&k) = by_nid.get(&parent) else { break };
            if n_gone.get(&k) == Some(&true) {
                return true;
            }
            cur = listed.notion.get(&k).cloned().flatten();
            hops += 1;
            if hops > pairs.len() {
                break;
            }
        }
        false
    };
    let snapshot = n_gone.clone();
    for (i, g) in n_gone.iter_mut() {
        if !*g && under_trashed(*i, &snapshot) {
            *g = true;
        }
    }
    // --- Trashes, deepest first (a pair trashed by this pass is not restored by it).
    let was_trashed: Vec<bool> = pairs.iter().map(|p| p.state.trashed).collect();
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(depth(pairs, i)));
    for &i in &order {
        let (Some(&n), Some(&c)) = (n_gone.get(&i), c_gone.get(&i)) else {
            continue;
        };
        if !active(&pairs[i]) || !(n || c) {
            continue;
        }
        let r = trash_one(cx, link, &mut pairs[i], n, c, report).await;
        finish(cx, link, &mut pairs[i], r, "a trash", report).await?;
    }
    // --- Restores, shallowest first.
    for &i in order.iter().rev() {
        let (Some(&n), Some(&c)) = (n_gone.get(&i), c_gone.get(&i)) else {
            continue;
        };
        if !was_trashed[i] || pairs[i].state.unlinked.is_some() || (n && c) {
            continue;
        }
        let parents = (
            listed.notion.get(&i).cloned().flatten(),
            listed.confluence.get(&i).cloned().flatten(),
        );
        let r = restore_one(cx, pairs, i, (n, c), parents, report).await;
        let mut p = pairs[i].clone();
        finish(cx, link, &mut p, r, "a restore", report).await?;
        pairs[i] = p;
    }
    Ok(())
}

async fn finish(
    cx: &super::SyncContext<'_>,
    link: &Link,
    p: &mut Pair,
    r: Result<(), SyncError>,
    what: &str,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    match r {
        Ok(()) => state::save_pair(cx.store, &link.name, p).await,
        Err(e @ SyncError::Store(_)) => Err(e),
        Err(e) => {
            report.errors.push(format!(
                "Notion page {} / Confluence page {}: {what} was not mirrored: {e}",
                p.notion_id, p.confluence_id
            ));
            Ok(())
        }
    }
}

/// Pair `i` moved on one side (or both): the other side follows. Both moved elsewhere: the
/// policy's side wins (`prefer-confluence`: Confluence; otherwise Notion).
async fn move_one(
    cx: &super::SyncContext<'_>,
    link: &Link,
    pairs: &mut [Pair],
    i: usize,
    n_now: Option<String>,
    c_now: Option<String>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let live = |pairs: &[Pair], f: &dyn Fn(&Pair) -> bool| {
        pairs
            .iter()
            .find(|p| active(p) && f(p))
            .map(|p| (p.notion_id.clone(), p.confluence_id.clone()))
    };
    let notion_wins = match (&n_now, &c_now) {
        (Some(n), Some(c)) => {
            if live(pairs, &|p| p.notion_id == *n).is_some_and(|(_, pc)| pc == *c) {
                // Both moved to the same place.
                let p = &mut pairs[i];
                p.state.notion_parent = n.clone();
                p.state.confluence_parent = c.clone();
                return Ok(());
            }
            link.spec.policy != Policy::PreferConfluence
        }
        (Some(_), None) => true,
        _ => false,
    };
    if notion_wins {
        let n = n_now.unwrap_or_default();
        match live(pairs, &|p| p.notion_id == n) {
            Some((_, target)) => {
                confluence_move(cx, &pairs[i].confluence_id, &target).await?;
                let p = &mut pairs[i];
                p.state.notion_parent = n;
                p.state.confluence_parent = target;
                report.moved_in_confluence += 1;
            }
            None => {
                let p = &mut pairs[i];
                p.state.unlinked = Some(format!(
                    "Notion page {} was moved out of the synced tree (under {n})",
                    p.notion_id
                ));
                report.unlinked += 1;
            }
        }
    } else {
        let c = c_now.unwrap_or_default();
        match live(pairs, &|p| p.confluence_id == c) {
            Some((target, _)) => {
                notion_move(cx, &pairs[i].notion_id, &target).await?;
                let p = &mut pairs[i];
                p.state.confluence_parent = c;
                p.state.notion_parent = target;
                report.moved_in_notion += 1;
            }
            None => {
                let p = &mut pairs[i];
                p.state.unlinked = Some(format!(
                    "Confluence page {} was moved out of the synced tree (under {c})",
                    p.confluence_id
                ));
                report.unlinked += 1;
            }
        }
    }
    Ok(())
}

/// One side trashed pair `p` (or both did): under `trash` the other side's page goes to its
/// trash too; under `unlink` the pair is forgotten and the other page stays.
async fn trash_one(
    cx: &super::SyncContext<'_>,
    link: &Link,
    p: &mut Pair,
    n_gone: bool,
    c_gone: bool,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    if n_gone && c_gone {
        p.state.trashed = true;
        return Ok(());
    }
    if link.spec.deletion == Deletion::Unlink {
        p.state.unlinked = Some(if n_gone {
            format!(
                "Notion page {} was trashed (deletion policy unlink: the Confluence page stays)",
                p.notion_id
            )
        } else {
            format!(
                "Confluence page {} was trashed (deletion policy unlink: the Notion page stays)",
                p.confluence_id
            )
        });
        report.unlinked += 1;
        return Ok(());
    }
    if n_gone {
        confluence_trash(cx, &p.confluence_id).await?;
        report.trashed_in_confluence += 1;
    } else {
        notion_trash(cx, &p.notion_id, true).await?;
        report.trashed_in_notion += 1;
    }
    p.state.trashed = true;
    Ok(())
}

/// Pair `i` is trashed and one side restored it: the other side restores it too, under the
/// parent the restored side shows.
async fn restore_one(
    cx: &super::SyncContext<'_>,
    pairs: &mut [Pair],
    i: usize,
    (n_gone, c_gone): (bool, bool),
    (n_parent, c_parent): (Option<String>, Option<String>),
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    if let Some(x) = n_parent.filter(|_| !n_gone) {
        pairs[i].state.notion_parent = x;
    }
    if let Some(x) = c_parent.filter(|_| !c_gone) {
        pairs[i].state.confluence_parent = x;
    }
    if !n_gone && !c_gone {
        pairs[i].state.trashed = false;
        return Ok(());
    }
    if c_gone {
        // Restored in Notion.
        let cid = pairs[i].confluence_id.clone();
        confluence_restore(cx, &cid).await?;
        report.restored_in_confluence += 1;
        let want = pairs
            .iter()
            .find(|p| p.notion_id == pairs[i].state.notion_parent && active(p))
            .map(|p| p.confluence_id.clone());
        if let Some(parent) = want {
            let now = confluence_any(cx, &cid).await?;
            if now
                .as_ref()
                .and_then(kb_confluence::keys::parent_id)
                .as_deref()
                != Some(parent.as_str())
            {
                confluence_move(cx, &cid, &parent).await?;
            }
            pairs[i].state.confluence_parent = parent;
        }
    } else {
        // Restored in Confluence.
        let nid = pairs[i].notion_id.clone();
        notion_trash(cx, &nid, false).await?;
        report.restored_in_notion += 1;
        let want = pairs
            .iter()
            .find(|p| p.confluence_id == pairs[i].state.confluence_parent && active(p))
            .map(|p| p.notion_id.clone());
        if let Some(parent) = want {
            let page = cx.notion.page(&dashed(&nid)).await?;
            let now = page
                .parent
                .as_ref()
                .and_then(|p| p.get("page_id"))
                .and_then(Value::as_str)
                .and_then(crate::migrate::transform::norm_id);
            if now.as_deref() != Some(parent.as_str()) {
                notion_move(cx, &nid, &parent).await?;
            }
            pairs[i].state.notion_parent = parent;
        }
    }
    pairs[i].state.trashed = false;
    Ok(())
}
