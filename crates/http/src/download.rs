//! Streaming downloads: the body goes straight to a temporary file, hashed (SHA-256) on the
//! way, with a timeout on *progress* (no bytes for `progress_timeout`) rather than on the
//! whole transfer, so a large file on a slow link is not cut while a stalled one is. Memory
//! stays at one chunk whatever the size. The request goes through the same limiter, retry
//! policy and origin rule as [`Client::send`]; a retry starts the file again.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::client::{Answer, Client, Request};
use crate::error::{HttpError, TransportKind, redact_url};

/// A finished download.
#[derive(Debug)]
pub struct Download {
    /// The bytes, in a temporary file (deleted on drop unless persisted: `file.persist(path)`).
    pub file: tempfile::NamedTempFile,
    /// How many bytes were written.
    pub bytes: u64,
    /// The SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// The final URL (after redirects).
    pub url: url::Url,
}

/// How to download.
#[derive(Clone, Copy, Debug)]
pub struct DownloadOptions<'a> {
    /// The folder of the temporary file (the same file system as its final place, so that
    /// persisting it is a rename).
    pub dir: &'a Path,
    /// The longest wait for the answer's headers or for the next bytes.
    pub progress_timeout: Duration,
}

impl Client {
    /// Downloads `req`'s body into a temporary file in `opts.dir`, hashing it on the way;
    /// `on_chunk` is told the size of each chunk as it is written (progress bars). A failing
    /// status is the usual [`HttpError::Status`] (its body is read, it is small).
    pub async fn download(
        &self,
        req: &Request,
        opts: DownloadOptions<'_>,
        on_chunk: &(dyn Fn(usize) + Sync),
    ) -> Result<Download, HttpError> {
        self.run(req, None, || self.stream_once(req, opts, on_chunk))
            .await
    }

    async fn stream_once(
        &self,
        req: &Request,
        opts: DownloadOptions<'_>,
        on_chunk: &(dyn Fn(usize) + Sync),
    ) -> Result<Answer<Download>, HttpError> {
        let limit = opts.progress_timeout;
        let stalled = |url: &url::Url| HttpError::Timeout {
            method: req.method.to_string(),
            url: redact_url(url),
            timeout: limit,
            hint: Some(self.timeout_hint(url, limit)),
        };
        let (mut resp, url) = tokio::time::timeout(limit, self.open(req))
            .await
            .map_err(|_| stalled(&req.url))??;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body_error =
            |e: reqwest::Error| self.transport_error(&req.method, &url, TransportKind::Body, e);
        if !(200..300).contains(&status) {
            let body = tokio::time::timeout(limit, resp.bytes())
                .await
                .map_err(|_| stalled(&url))?
                .map_err(body_error)?;
            return Ok(Answer {
                status,
                headers,
                outcome: Err(body.to_vec()),
            });
        }
        let local = |what: &str, e: std::io::Error| {
            HttpError::Config(format!(
                "{what} in {} for the download of {}: {e}",
                opts.dir.display(),
                redact_url(&url)
            ))
        };
        let mut file = tempfile::Builder::new()
            .prefix(".kbridge-download-")
            .tempfile_in(opts.dir)
            .map_err(|e| local("cannot create a temporary file", e))?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        loop {
            let chunk = tokio::time::timeout(limit, resp.chunk())
                .await
                .map_err(|_| stalled(&url))?
                .map_err(body_error)?;
            let Some(chunk) = chunk else { break };
            hasher.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| local("cannot write the temporary file", e))?;
            bytes += chunk.len() as u64;
            on_chunk(chunk.len());
        }
        file.flush()
            .map_err(|e| local("cannot write the temporary file", e))?;
        let sha256 = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Answer {
            status,
            headers,
            outcome: Ok(Download {
                file,
                bytes,
                sha256,
                url,
            }),
        })
    }
}
