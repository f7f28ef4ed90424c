//! Tables computed from the parent links of the stored pages, without a request per page:
//! `child_pages` (the direct children of each page, as `GET /pages/{id}/children` would list
//! them) and `page_ancestors` (highest first, as `GET /pages/{id}/ancestors`). Folders between
//! pages are read once each (`GET /folders/{id}`), since no page row describes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kb_store::{Batch, Filter, Row};
use serde_json::{Value, json};

use super::content::SpaceRef;
use super::run::Ctx;
use super::{ExtractError, Progress, Result};

#[derive(Clone, Debug)]
struct Node {
    parent: Option<String>,
    parent_type: Option<String>,
    position: Option<i64>,
    title: Value,
    status: Value,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Rewrites `child_pages` and `page_ancestors` rows of the pages of one space: of every page
/// (`affected` = `None`, after a full listing), or of the pages re-read by an incremental run
/// and everything below them (a moved or trashed page changes its subtree's ancestors). Work
/// and memory are per page, in commits of 500 pages: nothing reads the whole tables back.
pub(crate) async fn page_tree(
    ctx: &Ctx,
    space: &SpaceRef,
    affected: Option<&[String]>,
) -> Result<()> {
    let want_children = ctx.opts.wants("child_pages");
    let want_ancestors = ctx.opts.wants("page_ancestors");
    if !want_children && !want_ancestors {
        return Ok(());
    }
    let what = format!("page tree of {}", space.key);
    ctx.progress(Progress::Phase { what: what.clone() });
    let rows = ctx
        .store
        .select(
            "pages",
            &[
                "id",
                "parent_id",
                "parent_type",
                "position",
                "title",
                "status",
            ],
            &Filter::all().eq("space_id", space.id.as_str()),
        )
        .await
        .map_err(ExtractError::store(format!(
            "reading the pages of {}",
            space.key
        )))?;
    let mut pages: BTreeMap<String, Node> = BTreeMap::new();
    for r in rows {
        let Some(id) = text(r.first()) else { continue };
        pages.insert(
            id,
            Node {
                parent: text(r.get(1)),
                parent_type: text(r.get(2)),
                position: r.get(3).and_then(Value::as_i64),
                title: r.get(4).cloned().unwrap_or(Value::Null),
                status: r.get(5).cloned().unwrap_or(Value::Null),
            },
        );
    }
    // The pages to rewrite: all, or the affected ones and their descendants.
    let targets: Vec<String> = match affected {
        None => pages.keys().cloned().collect(),
        Some(ids) => {
            let mut kids: HashMap<&str, Vec<&str>> = HashMap::new();
            for (id, n) in &pages {
                if let Some(p) = &n.parent {
                    kids.entry(p.as_str()).or_default().push(id.as_str());
                }
            }
            let mut out: BTreeSet<String> = BTreeSet::new();
            let mut todo: Vec<&str> = ids.iter().map(String::as_str).collect();
            while let Some(id) = todo.pop() {
                if out.insert(id.to_string()) {
                    todo.extend(kids.get(id).into_iter().flatten().copied());
                }
            }
            out.into_iter().collect()
        }
    };
    let live = |n: &Node| matches!(n.status.as_str(), Some("current" | "archived"));
    let mut folders: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
    let (mut n_children, mut n_ancestors) = (0u64, 0u64);
    for chunk in targets.chunks(500) {
        let mut batch = Batch::new();
        for id in chunk {
            let Some(n) = pages.get(id) else {
                // No longer in this space (purged or moved away): its rows go.
                batch.replace_set(
                    "child_pages",
                    Filter::all().eq("id", id.as_str()),
                    Vec::new(),
                );
                batch.replace_set(
                    "page_ancestors",
                    Filter::all().eq("page_id", id.as_str()),
                    Vec::new(),
                );
                continue;
            };
            if want_children {
                let mut rows = Vec::new();
                if let (Some(parent), Some("page")) = (&n.parent, n.parent_type.as_deref())
                    && live(n)
                {
                    rows.push(
                        Row::new(
                            "child_pages",
                            json!({
                                "id": id,
                                "status": n.status,
                                "title": n.title,
                                "spaceId": space.id,
                                "childPosition": n.position,
                            }),
                        )
                        .with("parent_id", parent.as_str()),
                    );
                }
                n_children += rows.len() as u64;
                batch.replace_set("child_pages", Filter::all().eq("id", id.as_str()), rows);
            }
            if want_ancestors {
                // Walk up: pages from the map, folders from the API (once each).
                let mut chain: Vec<(String, String)> = Vec::new();
                let mut cur = n.parent.clone().zip(n.parent_type.clone());
                while let Some((pid, ptype)) = cur {
                    if chain.iter().any(|(c, _)| *c == pid) || chain.len() > 1000 {
                        ctx.warn(format!("page {id}: its parent chain loops at {pid}"));
                        break;
                    }
                    chain.push((pid.clone(), ptype.clone()));
                    cur = match ptype.as_str() {
                        "page" => pages
                            .get(&pid)
                            .and_then(|p| p.parent.clone().zip(p.parent_type.clone())),
                        "folder" => {
                            if !folders.contains_key(&pid) {
                                let f = folder(ctx, &pid).await?;
                                folders.insert(pid.clone(), f);
                            }
                            let (p, t) = folders[&pid].clone();
                            p.zip(t)
                        }
                        _ => None,
                    };
                }
                chain.reverse();
                let rows: Vec<Row> = chain
                    .into_iter()
                    .enumerate()
                    .map(|(i, (a, t))| {
                        Row::new("page_ancestors", json!({"id": a, "type": t}))
                            .with("page_id", id.as_str())
                            .with("depth", i as i64 + 1)
                    })
                    .collect();
                n_ancestors += rows.len() as u64;
                batch.replace_set(
                    "page_ancestors",
                    Filter::all().eq("page_id", id.as_str()),
                    rows,
                );
            }
        }
        ctx.commit(&batch, &what).await?;
    }
    ctx.rows("child_pages", n_children);
    ctx.rows("page_ancestors", n_ancestors);
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

/// A folder's parent (id, type).
async fn folder(ctx: &Ctx, id: &str) -> Result<(Option<String>, Option<String>)> {
    let req = ctx
        .client
        .v2(&format!("folders/{id}"))
        .map_err(ExtractError::http("building a request"))?
        .object(format!("folder {id}"));
    match ctx.client.get(req).await {
        Ok(v) => Ok((text(v.get("parentId")), text(v.get("parentType")))),
        Err(e) if e.status() == Some(404) => {
            ctx.warn(format!(
                "folder {id} could not be read (404): ancestors above it are missing"
            ));
            Ok((None, None))
        }
        Err(e) => Err(ExtractError::http(format!("reading folder {id}"))(e)),
    }
}
