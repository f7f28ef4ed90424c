//! Attachment files (`--files DIR`): downloaded from each attachment's `downloadLink`,
//! content-addressed (`DIR/sha256/ab/abcdef…`), verified by size against its `fileSize` (a
//! mismatch is retried once, then an error naming the attachment: never a silently wrong file),
//! written to `DIR/.partial/` and renamed into place, so a killed run leaves no partial file
//! where files are. The hash and path of each attachment's file are recorded in the store; a
//! file already present with the recorded size, for the current version, is not downloaded
//! again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt as _;
use kb_confluence::keys;
use kb_store::AttachmentFile;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::run::Ctx;
use super::{ExtractError, Result};

/// Where temporary files are written before they are renamed into place.
const PARTIAL: &str = ".partial";

/// An attachment whose file may be needed.
#[derive(Debug)]
pub(crate) struct Wanted {
    id: String,
    version: i64,
    size: Option<i64>,
    link: String,
}

impl Wanted {
    /// From a v2 attachment: only current attachments with a download link.
    pub fn of(item: &Value) -> Option<Wanted> {
        if item.get("status").and_then(Value::as_str) != Some("current") {
            return None;
        }
        Some(Wanted {
            id: keys::id(item)?,
            version: keys::version_number(item).unwrap_or(0) as i64,
            size: item.get("fileSize").and_then(Value::as_i64),
            link: item
                .get("downloadLink")
                .and_then(Value::as_str)?
                .to_string(),
        })
    }
}

/// Removes what a killed run left in the temporary folder.
pub(crate) fn clear_partial(dir: &Path) -> Result<(), String> {
    let partial = dir.join(PARTIAL);
    match std::fs::remove_dir_all(&partial) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(
            "cannot clear {}: {e}; check the permissions of the --files folder",
            partial.display()
        )),
    }
}

/// Downloads the files of `wanted` that the store has no current record of (or whose recorded
/// file is missing or has another size), concurrently, and records them.
pub(crate) async fn download(ctx: &Ctx, dir: &Path, wanted: Vec<Wanted>) -> Result<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = wanted.iter().map(|w| w.id.as_str()).collect();
    let records: HashMap<String, AttachmentFile> = ctx
        .store
        .attachment_files(&ids)
        .await
        .map_err(ExtractError::store("reading attachment_files"))?
        .into_iter()
        .map(|f| (f.attachment_id.clone(), f))
        .collect();
    let todo: Vec<Wanted> = wanted
        .into_iter()
        .filter(|w| {
            records
                .get(&w.id)
                .is_none_or(|r| r.version < w.version || !has_size(&dir.join(&r.path), r.size))
        })
        .collect();
    let results = futures_util::stream::iter(todo)
        .map(|w| async move { fetch(ctx, dir, &w).await })
        .buffer_unordered(ctx.opts.concurrency.max(1));
    futures_util::pin_mut!(results);
    while let Some(r) = results.next().await {
        let Some(file) = r? else { continue };
        ctx.store
            .record_attachment_file(&file)
            .await
            .map_err(ExtractError::store("recording an attachment file"))?;
        ctx.report(|r| {
            r.files_downloaded += 1;
            r.file_bytes += file.size as u64;
        });
    }
    Ok(())
}

fn has_size(path: &Path, size: i64) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() as i64 == size)
}

/// One attachment's file: downloaded (twice at most when its size is wrong), written in place.
/// `None` when the attachment is gone (404), with a warning.
async fn fetch(ctx: &Ctx, dir: &Path, w: &Wanted) -> Result<Option<AttachmentFile>> {
    let http = ctx.client.http();
    // `downloadLink` is relative to the site's base (`/wiki`, or a Data Center context path).
    let req = ctx
        .client
        .download_request(&w.link, &w.id)
        .map_err(ExtractError::http(format!(
            "the download link of attachment {}",
            w.id
        )))?;
    let mut body = Vec::new();
    for attempt in 1..=2 {
        body = match http.send(&req).await {
            Ok(r) => r.body,
            Err(e) if e.status() == Some(404) => {
                ctx.warn(format!(
                    "the file of attachment {} answered 404 (gone since it was listed?): skipped",
                    w.id
                ));
                return Ok(None);
            }
            Err(e) => {
                return Err(ExtractError::http(format!(
                    "downloading the file of attachment {}",
                    w.id
                ))(e));
            }
        };
        match w.size {
            Some(size) if body.len() as i64 != size => {
                if attempt == 2 {
                    return Err(ExtractError::Files(format!(
                        "attachment {}: the download ({}) has {} bytes but the attachment's \
                         fileSize is {size}, twice; nothing was written (run again later, or \
                         report the attachment)",
                        w.id,
                        w.link,
                        body.len()
                    )));
                }
                ctx.warn(format!(
                    "attachment {}: the download has {} bytes, fileSize says {size}; retrying once",
                    w.id,
                    body.len()
                ));
            }
            _ => break,
        }
    }
    let sha = hex::encode(Sha256::digest(&body));
    let rel = format!("sha256/{}/{sha}", &sha[..2]);
    let (dir, rel2, id) = (dir.to_path_buf(), rel.clone(), w.id.clone());
    let size = body.len() as i64;
    tokio::task::spawn_blocking(move || write_file(&dir, &rel2, &id, &body))
        .await
        .map_err(|e| format!("attachment {}: the writer stopped: {e}", w.id))
        .and_then(|r| r)
        .map_err(ExtractError::Files)?;
    Ok(Some(AttachmentFile {
        attachment_id: w.id.clone(),
        version: w.version,
        sha256: sha,
        size,
        path: rel,
    }))
}

/// Writes `body` at `dir/rel` through a temporary file renamed into place (an existing file of
/// the same size is kept: same name, same hash).
fn write_file(dir: &Path, rel: &str, id: &str, body: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let target = dir.join(rel);
    if has_size(&target, body.len() as i64) {
        return Ok(());
    }
    let fail = |what: &str, p: &PathBuf, e: std::io::Error| {
        format!(
            "attachment {id}: cannot {what} {}: {e}; check the --files folder (space, permissions)",
            p.display()
        )
    };
    let partial = dir.join(PARTIAL);
    std::fs::create_dir_all(&partial).map_err(|e| fail("create", &partial, e))?;
    let tmp = partial.join(format!("{id}-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| fail("create", &tmp, e))?;
    f.write_all(body).map_err(|e| fail("write", &tmp, e))?;
    f.sync_all().map_err(|e| fail("write", &tmp, e))?;
    drop(f);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail("create", &parent.to_path_buf(), e))?;
    }
    std::fs::rename(&tmp, &target).map_err(|e| fail("rename into", &target, e))
}
