//! Attachment files (`--files DIR`): streamed from each attachment's `downloadLink` straight
//! into a temporary file in `DIR/.partial/` (hashed on the way, so memory stays at one chunk
//! whatever the size; a timeout on progress, not on the whole transfer), content-addressed
//! (`DIR/sha256/ab/abcdef…`), verified by size against its `fileSize` (a mismatch is
//! downloaded once more), and renamed into place, so a killed run or a reset mid-transfer
//! leaves no partial file where files are. A file that cannot be downloaded is recorded in the
//! run's report and row, with its attachment id, and the next run tries it again; the run goes
//! on. The hash and path of each attachment's file are recorded in the store; a
//! file already present with the recorded size, for the current version, is not downloaded
//! again.

use std::collections::HashMap;
use std::path::Path;

use futures_util::StreamExt as _;
use kb_confluence::keys;
use kb_store::AttachmentFile;
use serde_json::Value;

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

/// The longest wait for a download's headers or its next bytes (a slow transfer that keeps
/// moving is never cut; a stalled one is).
pub(crate) const PROGRESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Downloads the files of `wanted` that the store has no current record of (or whose recorded
/// file is missing or has another size), concurrently, and records them. A file that cannot be
/// downloaded is a [`FileFailure`] of the run (the next run tries it again), never the end of
/// the run; only the store and the `--files` folder failing stop it. Returns how many failed.
pub(crate) async fn download(ctx: &Ctx, dir: &Path, wanted: Vec<Wanted>) -> Result<usize> {
    if wanted.is_empty() {
        return Ok(0);
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
    let partial = dir.join(PARTIAL);
    std::fs::create_dir_all(&partial).map_err(|e| {
        ExtractError::Files(format!(
            "cannot create {}: {e}; check the --files folder (space, permissions)",
            partial.display()
        ))
    })?;
    let results = futures_util::stream::iter(todo)
        .map(|w| async move { (fetch(ctx, dir, &w).await, w) })
        .buffer_unordered(ctx.opts.concurrency.max(1));
    futures_util::pin_mut!(results);
    let mut failed = 0;
    while let Some((r, w)) = results.next().await {
        let file = match r {
            Ok(Some(file)) => file,
            Ok(None) => continue,
            Err(Failure::Local(message)) => return Err(ExtractError::Files(message)),
            Err(Failure::File(reason)) => {
                failed += 1;
                ctx.file_failed(&w.id, reason);
                continue;
            }
        };
        ctx.store
            .record_attachment_file(&file)
            .await
            .map_err(ExtractError::store("recording an attachment file"))?;
        ctx.file_stored(&file);
    }
    Ok(failed)
}

fn has_size(path: &Path, size: i64) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() as i64 == size)
}

/// Why one file was not stored.
enum Failure {
    /// The file's own problem (its download failed, its size is wrong): recorded, the run goes on.
    File(String),
    /// The `--files` folder cannot be written: every file would fail the same way.
    Local(String),
}

/// One attachment's file: streamed into `DIR/.partial/` (hashed on the way, in flat memory),
/// checked against `fileSize` (a mismatch is downloaded once more), renamed into place.
/// `None` when the attachment is gone (404), with a warning.
async fn fetch(ctx: &Ctx, dir: &Path, w: &Wanted) -> Result<Option<AttachmentFile>, Failure> {
    let http = ctx.client.http();
    // `downloadLink` is relative to the site's base (`/wiki`, or a Data Center context path).
    let req = ctx
        .client
        .download_request(&w.link, &w.id)
        .map_err(|e| Failure::File(format!("its download link {}: {e}", w.link)))?;
    let partial = dir.join(PARTIAL);
    let opts = kb_http::DownloadOptions {
        dir: &partial,
        progress_timeout: PROGRESS_TIMEOUT,
    };
    let mut attempt = 0;
    let got = loop {
        attempt += 1;
        let got = match http.download(&req, opts, &|_| {}).await {
            Ok(d) => d,
            Err(e) if e.status() == Some(404) => {
                ctx.warn(format!(
                    "the file of attachment {} answered 404 (gone since it was listed?): skipped",
                    w.id
                ));
                return Ok(None);
            }
            Err(kb_http::HttpError::Config(message)) => return Err(Failure::Local(message)),
            Err(e) => return Err(Failure::File(format!("downloading it: {e}"))),
        };
        match w.size {
            Some(size) if got.bytes as i64 != size => {
                if attempt == 2 {
                    return Err(Failure::File(format!(
                        "the download ({}) has {} bytes but the attachment's fileSize is \
                         {size}, twice; nothing was written",
                        w.link, got.bytes
                    )));
                }
                tracing::debug!(
                    target: "kb_engine::extract",
                    attachment = w.id.as_str(),
                    bytes = got.bytes,
                    file_size = size,
                    "a download's size differs from fileSize: downloading it once more"
                );
            }
            _ => break got,
        }
    };
    let rel = format!("sha256/{}/{}", &got.sha256[..2], got.sha256);
    let target = dir.join(&rel);
    let (bytes, sha256) = (got.bytes, got.sha256.clone());
    let id = w.id.clone();
    tokio::task::spawn_blocking(move || place(got.file, &target, bytes, &id))
        .await
        .map_err(|e| Failure::Local(format!("attachment {}: the writer stopped: {e}", w.id)))?
        .map_err(Failure::Local)?;
    Ok(Some(AttachmentFile {
        attachment_id: w.id.clone(),
        version: w.version,
        sha256,
        size: bytes as i64,
        path: rel,
    }))
}

/// Renames the downloaded temporary file to `target` (synced first; an existing file of the
/// same size is kept: same name, same hash, and the temporary file is deleted).
fn place(file: tempfile::NamedTempFile, target: &Path, size: u64, id: &str) -> Result<(), String> {
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        format!(
            "attachment {id}: cannot {what} {}: {e}; check the --files folder (space, permissions)",
            p.display()
        )
    };
    if has_size(target, size as i64) {
        return Ok(());
    }
    file.as_file()
        .sync_all()
        .map_err(|e| fail("write", file.path(), e))?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail("create", parent, e))?;
    }
    file.persist(target)
        .map(drop)
        .map_err(|e| fail("rename into", target, e.error))
}
