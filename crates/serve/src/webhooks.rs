//! The webhook receivers: `POST /webhooks/notion` (`X-Notion-Signature`),
//! `/webhooks/confluence` (a Confluence Cloud Automation rule's shared-secret header) and
//! `/webhooks/confluence-dc` (Data Center's `X-Hub-Signature`). Each delivery is verified by
//! kb-engine's `sync::signals` before anything of it is read; an unsigned or forged one answers
//! 401 and nothing is processed. A verified change hint queues a run of every `sync` job (the
//! run queue is in the store, so the hint is durable before the 200; a job with a run already
//! queued or running is not queued twice — the open run's pass reads the change).
//!
//! Secrets come from the environment: `KBRIDGE_NOTION_WEBHOOK_TOKEN` (the subscription's
//! verification token) and `KBRIDGE_CONFLUENCE_WEBHOOK_SECRET` (the Automation header's value,
//! or the Data Center webhook's secret). They are never logged nor answered.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kb_engine::sync::signals::{self, Delivery};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::Shared;

/// The environment variable holding Notion's verification token.
pub const NOTION_TOKEN_ENV: &str = "KBRIDGE_NOTION_WEBHOOK_TOKEN";
/// The environment variable holding the Confluence webhook secret.
pub const CONFLUENCE_SECRET_ENV: &str = "KBRIDGE_CONFLUENCE_WEBHOOK_SECRET";

fn secret(sh: &Shared, name: &str) -> Option<SecretString> {
    (sh.env)(name)
        .filter(|v| !v.trim().is_empty())
        .map(|v| SecretString::from(v.trim().to_string()))
}

/// Which receiver.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    Notion,
    Automation,
    DataCenter,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Notion => "notion",
            Source::Automation => "confluence",
            Source::DataCenter => "confluence-dc",
        }
    }
}

pub(crate) async fn receive(
    sh: Arc<Shared>,
    source: Source,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let got = match source {
        Source::Notion => {
            let token = {
                let held = sh
                    .notion_webhook_token
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                held.or_else(|| secret(&sh, NOTION_TOKEN_ENV))
            };
            signals::notion(&body, h("x-notion-signature"), token.as_ref())
        }
        Source::Automation => signals::confluence_automation(
            &body,
            h(signals::AUTOMATION_SECRET_HEADER),
            secret(&sh, CONFLUENCE_SECRET_ENV).as_ref(),
        ),
        Source::DataCenter => signals::confluence_dc(
            &body,
            h("x-hub-signature"),
            secret(&sh, CONFLUENCE_SECRET_ENV).as_ref(),
        ),
    };
    let name = source.name();
    match got {
        Ok(Delivery::Verification { token }) => {
            // Shown once on the daemon's terminal (as `kbridge sync watch` does), for the
            // operator to paste into Notion; kept in memory to verify the next deliveries.
            eprintln!(
                "Notion webhook verification token: {} — paste it into the subscription in Notion, and set {NOTION_TOKEN_ENV} to it for later starts.",
                token.expose_secret()
            );
            *sh.notion_webhook_token
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(token);
            sh.metrics.webhook(name, "verification");
            (
                StatusCode::OK,
                axum::Json(json!({"verification": "received"})),
            )
                .into_response()
        }
        Ok(Delivery::Hints(hints)) => match wake_sync_jobs(&sh, name).await {
            Ok(queued) => {
                sh.metrics.webhook(name, "accepted");
                tracing::info!(
                    service = name,
                    hints = hints.len(),
                    queued = queued.len(),
                    "webhook: a sync pass is due"
                );
                (
                    StatusCode::OK,
                    axum::Json(json!({"hints": hints.len(), "queued": queued})),
                )
                    .into_response()
            }
            Err(e) => {
                // Not queued durably: the service retries a non-2xx delivery.
                sh.metrics.webhook(name, "error");
                tracing::warn!(service = name, error = %e, "webhook verified but not queued");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"error": "the run queue cannot be written; deliver again"})),
                )
                    .into_response()
            }
        },
        Err(e) => {
            sh.metrics.webhook(name, "refused");
            tracing::warn!(service = name, error = %e, "webhook refused; nothing processed");
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": e.to_string()})),
            )
                .into_response()
        }
    }
}

/// Queues a run of every `sync` job; the runs queued (a job with an open run is skipped).
async fn wake_sync_jobs(sh: &Shared, source: &str) -> Result<Vec<Value>, crate::ServeError> {
    let now = sh.clock.now().as_millisecond();
    let mut queued = Vec::new();
    for j in sh.db.jobs().await? {
        if j.spec.get("kind").and_then(Value::as_str) != Some("sync") {
            continue;
        }
        if let Some(id) = sh
            .db
            .enqueue(&j.name, "sync", &format!("webhook:{source}"), None, now)
            .await?
        {
            queued.push(json!({"job": j.name, "run": id}));
        }
    }
    Ok(queued)
}

pub(crate) async fn notion(State(sh): State<Arc<Shared>>, h: HeaderMap, b: Bytes) -> Response {
    receive(sh, Source::Notion, h, b).await
}

pub(crate) async fn automation(State(sh): State<Arc<Shared>>, h: HeaderMap, b: Bytes) -> Response {
    receive(sh, Source::Automation, h, b).await
}

pub(crate) async fn data_center(State(sh): State<Arc<Shared>>, h: HeaderMap, b: Bytes) -> Response {
    receive(sh, Source::DataCenter, h, b).await
}
