//! One change window for a whole incremental run (Cloud): a single CQL search over every
//! extracted space and every content type whose listing is incremental this time, and the
//! trash of all spaces in one listing per kind, instead of a search and a trash listing per
//! space and kind plus a site-wide listing per attachment and comment kind. A run that finds
//! nothing changed then costs the space listing, the window and the two trash listings.
//!
//! The window starts at the oldest floor (high-water mark minus the overlap) of the listings it
//! stands for, so it covers each of them; what a listing already stored is recognised by its
//! version as before. Hits are handed to each space and kind by their `space`; a site-wide
//! listing of attachments or comments runs only when the window holds a change of its type at
//! or after its own floor (otherwise its checkpoint stays where it is, and the next run looks
//! from the same floor again). Where the window cannot stand for a listing (Data Center, a
//! hit without a known space), each listing asks for itself, as before.

use std::collections::{HashMap, HashSet};

use kb_confluence::{Flavour, keys};
use serde_json::Value;

use super::content::{BLOG_POSTS, CQL_EXPAND, Kind, ListState, PAGES, SpaceRef, modified_ms};
use super::run::Ctx;
use super::{ExtractError, Progress, Result};

/// What the run's window found.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// The window's start (epoch ms): every change at or after it is in it.
    from: i64,
    /// The CQL types searched (`page`, `blogpost`, `attachment`, `comment`).
    types: Vec<&'static str>,
    /// The (space id, table) pairs the window stands for, with their hits.
    hits: HashMap<(String, &'static str), Vec<Value>>,
    /// The trash of each (space id, table) whose kind was listed for all spaces at once.
    trashed: HashMap<(String, &'static str), Vec<Value>>,
    /// The tables whose trash was listed (for every space of `hits` of that table).
    trash_listed: HashSet<&'static str>,
    /// The newest modification among all hits (epoch ms, the server's clock): the window saw
    /// every change of the listings it stands for up to it, so their marks move up to it
    /// even when they saw nothing of their own (a space without new blog posts does not
    /// drag every later window back to its last one).
    newest: i64,
    /// Per attachment/comment type: its hits' (id, version, modification time).
    others: HashMap<&'static str, Vec<(String, i64, i64)>>,
}

impl Window {
    /// The window's hits for a space's kind, when it stands for that listing.
    pub(crate) fn hits(&self, space: &SpaceRef, kind: Kind) -> Option<Vec<Value>> {
        self.hits.get(&(space.id.clone(), kind.table)).cloned()
    }

    /// The trash of a space's kind, when it was listed for all spaces at once.
    pub(crate) fn trashed(&self, space: &SpaceRef, kind: Kind) -> Option<Vec<Value>> {
        if !self.trash_listed.contains(kind.table) {
            return None;
        }
        let key = (space.id.clone(), kind.table);
        self.hits
            .contains_key(&key)
            .then(|| self.trashed.get(&key).cloned().unwrap_or_default())
    }

    /// The mark a listing the window stood for may move up to.
    pub(crate) fn newest(&self) -> i64 {
        self.newest
    }

    /// The (id, version) of every hit of `cql_type` (`attachment`, `comment`) modified at or
    /// after `floor`, or `None` when the window does not cover that type from `floor`. When
    /// the store already holds each of them at that version, nothing of the type changed and
    /// its site-wide listing can be skipped.
    pub(crate) fn changed(&self, cql_type: &str, floor: i64) -> Option<Vec<(String, i64)>> {
        if !self.types.contains(&cql_type) || self.from > floor {
            return None;
        }
        Some(
            self.others
                .get(cql_type)
                .into_iter()
                .flatten()
                .filter(|(_, _, modified)| *modified >= floor)
                .map(|(id, version, _)| (id.clone(), *version))
                .collect(),
        )
    }
}

/// The floor of an incremental listing from its checkpoint, or `None` when it runs in full.
fn incremental_floor(ctx: &Ctx, v: Option<&Value>) -> Option<i64> {
    let s = ListState::from_json(v);
    (s.done && !s.listed && !ctx.opts.full).then(|| s.hwm - ctx.opts.overlap.as_millis() as i64)
}

/// Searches the run's one window, or `None` when no listing is incremental or the flavour
/// lists each space on its own.
pub(crate) async fn search(ctx: &Ctx, spaces: &[SpaceRef]) -> Result<Option<Window>> {
    if ctx.client.flavour() != Flavour::Cloud || spaces.is_empty() {
        return Ok(None);
    }
    let mut from: Option<i64> = None;
    let mut lower = |f: i64| from = Some(from.map_or(f, |x: i64| x.min(f)));
    let mut stands_for: Vec<(SpaceRef, Kind)> = Vec::new();
    for kind in [PAGES, BLOG_POSTS] {
        if !ctx.opts.wants_any(&super::run::content_tables(kind)) {
            continue;
        }
        for space in spaces {
            let v = ctx
                .store
                .checkpoint(&ctx.scope(&space.id), kind.table)
                .await
                .map_err(ExtractError::store("reading a checkpoint"))?;
            if let Some(f) = incremental_floor(ctx, v.as_ref()) {
                lower(f);
                stands_for.push((space.clone(), kind));
            }
        }
    }
    let mut types: Vec<&'static str> = Vec::new();
    for kind in [PAGES, BLOG_POSTS] {
        if stands_for.iter().any(|(_, k)| k.table == kind.table) {
            types.push(kb_confluence::cql_type(kind.api));
        }
    }
    // The site-wide listings: incremental when the site's and every space's checkpoint is done.
    let space_ids: Vec<String> = spaces.iter().map(|s| s.id.clone()).collect();
    for (cql_type, endpoints, tables) in [
        (
            "attachment",
            &["attachments"][..],
            &[
                "attachments",
                "attachment_versions",
                "attachment_labels",
                "attachment_content_properties",
            ][..],
        ),
        (
            "comment",
            &["footer-comments", "inline-comments"][..],
            &[
                "page_footer_comments",
                "blog_post_footer_comments",
                "page_inline_comments",
                "blog_post_inline_comments",
            ][..],
        ),
    ] {
        if !ctx.opts.wants_any(tables) || ctx.opts.reconcile {
            continue;
        }
        let mut floors = Vec::new();
        for endpoint in endpoints {
            if let Some(f) = super::site::incremental_floor(ctx, endpoint, &space_ids).await? {
                floors.push(f);
            }
        }
        if let Some(f) = floors.into_iter().min() {
            lower(f);
            types.push(cql_type);
        }
    }
    let Some(from) = from else {
        return Ok(None);
    };
    let what = "changes since the last run".to_string();
    ctx.progress(Progress::Phase { what: what.clone() });
    // Up to 100 space keys per search, so the CQL stays well inside URL length limits.
    let mut found = Vec::new();
    for chunk in spaces.chunks(100) {
        let listing = ctx
            .client
            .changed_in_spaces(&types, chunk, from, ctx.opts.utc_offset_minutes, CQL_EXPAND)
            .map_err(ExtractError::http(format!("searching {what}")))?;
        let cql = listing.request.url.query().unwrap_or("").to_string();
        found.extend(
            listing
                .all()
                .await
                .map_err(ExtractError::http(format!("searching {what} ({cql})")))?,
        );
    }
    let mut w = Window {
        from,
        types: types.clone(),
        ..Window::default()
    };
    for (space, kind) in &stands_for {
        w.hits.insert((space.id.clone(), kind.table), Vec::new());
    }
    let by_key: HashMap<&str, &SpaceRef> = spaces.iter().map(|s| (s.key.as_str(), s)).collect();
    for hit in found {
        w.newest = w.newest.max(modified_ms(&hit));
        let t = hit.get("type").and_then(Value::as_str).unwrap_or("");
        match t {
            "page" | "blogpost" => {
                let table = if t == "page" {
                    PAGES.table
                } else {
                    BLOG_POSTS.table
                };
                let space = hit
                    .get("space")
                    .and_then(|s| s.get("key"))
                    .and_then(Value::as_str)
                    .and_then(|k| by_key.get(k));
                let Some(space) = space else {
                    // Not attributable: every listing asks for itself.
                    tracing::debug!(id = ?keys::id(&hit), "a CQL hit without a known space: the window is not used");
                    return Ok(None);
                };
                if let Some(v) = w.hits.get_mut(&(space.id.clone(), table)) {
                    v.push(hit);
                }
            }
            "attachment" | "comment" => {
                let key: &'static str = if t == "attachment" {
                    "attachment"
                } else {
                    "comment"
                };
                let Some(id) = keys::id(&hit) else {
                    tracing::debug!("a CQL hit without an id: the window is not used");
                    return Ok(None);
                };
                let version = keys::version_number(&hit).map_or(0, |v| v as i64);
                w.others
                    .entry(key)
                    .or_default()
                    .push((id, version, modified_ms(&hit)));
            }
            _ => {
                tracing::debug!(
                    kind = t,
                    "a CQL hit of an unexpected type: the window is not used"
                );
                return Ok(None);
            }
        }
    }
    // The trash of every space the window stands for, one listing per kind.
    for kind in [PAGES, BLOG_POSTS] {
        let of_kind: Vec<SpaceRef> = stands_for
            .iter()
            .filter(|(_, k)| k.table == kind.table)
            .map(|(s, _)| s.clone())
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let Some(listings) = ctx
            .client
            .trash_of_spaces(kind.api, &of_kind)
            .map_err(ExtractError::http("building a request"))?
        else {
            continue;
        };
        let ids: HashSet<&str> = of_kind.iter().map(|s| s.id.as_str()).collect();
        let mut of_spaces: HashMap<(String, &'static str), Vec<Value>> = HashMap::new();
        let mut attributable = true;
        for l in listings {
            let items = l.all().await.map_err(ExtractError::http(format!(
                "listing trashed {}",
                kind.table
            )))?;
            for item in items {
                let Some(space_id) = keys::space_id(&item) else {
                    attributable = false;
                    continue;
                };
                if ids.contains(space_id.as_str()) {
                    of_spaces
                        .entry((space_id, kind.table))
                        .or_default()
                        .push(item);
                }
            }
        }
        if !attributable {
            // Each space lists its own trash then.
            tracing::debug!(
                table = kind.table,
                "a trashed item without a spaceId: the trash is listed per space"
            );
            continue;
        }
        w.trashed.extend(of_spaces);
        w.trash_listed.insert(kind.table);
    }
    ctx.progress(Progress::PhaseDone { what });
    Ok(Some(w))
}
