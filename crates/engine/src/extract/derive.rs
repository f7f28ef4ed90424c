//! Tables computed from the parent links of the stored pages, without a request per page:
//! `child_pages` (the direct children of each page, as `GET /pages/{id}/children` would list
//! them) and `page_ancestors` (highest first, as `GET /pages/{id}/ancestors`). Folders between
//! pages are read once each (`GET /folders/{id}`), since no page row describes them.

use std::collections::{BTreeMap, HashMap};

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

/// Recomputes `child_pages` and `page_ancestors` for the pages of one space, writing only what
/// differs from the store.
pub(crate) async fn page_tree(ctx: &Ctx, space: &SpaceRef) -> Result<()> {
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
    let live = |n: &Node| matches!(n.status.as_str(), Some("current" | "archived"));

    if want_children {
        let mut rows = Vec::new();
        for (id, n) in &pages {
            let (Some(parent), Some("page")) = (&n.parent, n.parent_type.as_deref()) else {
                continue;
            };
            if !live(n) {
                continue;
            }
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
        let mut batch = Batch::new();
        ctx.rows("child_pages", rows.len() as u64);
        batch.replace_set(
            "child_pages",
            Filter::all().eq("space_id", space.id.as_str()),
            rows,
        );
        ctx.commit(&batch, &what).await?;
    }

    if want_ancestors {
        let mut folders: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
        let stored = ctx
            .store
            .select(
                "page_ancestors",
                &["page_id", "ancestor_id", "ancestor_type", "depth"],
                &Filter::all(),
            )
            .await
            .map_err(ExtractError::store("reading page_ancestors"))?;
        let mut have: HashMap<String, Vec<(String, String, i64)>> = HashMap::new();
        for r in stored {
            if let (Some(p), Some(a)) = (text(r.first()), text(r.get(1))) {
                have.entry(p).or_default().push((
                    a,
                    text(r.get(2)).unwrap_or_default(),
                    r.get(3).and_then(Value::as_i64).unwrap_or(0),
                ));
            }
        }
        let mut batch = Batch::new();
        let mut written = 0u64;
        for (id, n) in &pages {
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
            let mut want: Vec<(String, String, i64)> = chain
                .into_iter()
                .enumerate()
                .map(|(i, (a, t))| (a, t, i as i64 + 1))
                .collect();
            let mut got = have.remove(id).unwrap_or_default();
            want.sort();
            got.sort();
            if want != got {
                written += 1;
                let rows = want
                    .into_iter()
                    .map(|(a, t, d)| {
                        Row::new("page_ancestors", json!({"id": a, "type": t}))
                            .with("page_id", id.as_str())
                            .with("depth", d)
                    })
                    .collect();
                batch.replace_set(
                    "page_ancestors",
                    Filter::all().eq("page_id", id.as_str()),
                    rows,
                );
                if batch.len() >= 500 {
                    ctx.commit(&batch, &what).await?;
                    batch = Batch::new();
                }
            }
        }
        ctx.commit(&batch, &what).await?;
        ctx.rows("page_ancestors", written);
    }
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
