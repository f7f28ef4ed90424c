//! The Notion twin: the public API under `/v1` (search, users, pages and page properties,
//! blocks, databases and data sources, comments, file uploads), behind Bearer integration
//! tokens, `Notion-Version` (`2022-06-28` and `2025-09-03`, each rendered in its own shapes),
//! Notion's average of three requests per second per integration, and the seeded fault plan;
//! hosted files at expiring signed URLs under `/__files`; `/__sim/notion/…` introspection and
//! admin edits. Every change appends a [`NotionChange`] to a log that can be subscribed to.
//!
//! State is one [`Workspace`] behind a `RwLock`. `docs/sim.md` lists what is implemented.

pub mod admin;
pub mod api;
mod extra;
pub mod generator;
mod handlers;
mod markdown;
pub mod model;
mod query;
pub mod render;
mod validate;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use crate::faults::FaultKind;
use crate::ratelimit::{Limit, Limiter, RateLimits};
use crate::server::{ConnKill, Sim};
pub use api::{NError, Version};
pub use generator::NotionWorkspaceConfig;
pub use model::{ChangeAuthor, NotionChange, Workspace};

/// The default integration token (an internal integration shared with the whole workspace).
pub const DEFAULT_TOKEN: &str = "secret_kbridge_sim_notion_token";
/// The default token of the restricted integration (shared with part of the workspace only).
pub const DEFAULT_RESTRICTED_TOKEN: &str = "secret_kbridge_sim_notion_restricted";

/// Notion's documented average, three requests per second per integration, with a burst of
/// ten (Notion allows "some bursts" without saying how many; ten is the twin's choice).
pub const NOTION_RATE: Limit = Limit {
    per_second: 3.0,
    burst: 10,
};

/// How to start the Notion twin.
#[derive(Clone, Debug)]
pub struct NotionConfig {
    pub workspace: NotionWorkspaceConfig,
    /// The full integration's token.
    pub token: String,
    /// The restricted integration's token (sees only the pages shared with it).
    pub restricted_token: String,
    /// Requests per second per integration; `None` turns the limit off (tests of other
    /// features). On by default, as Notion always enforces it.
    pub rate: Option<Limit>,
    /// How long signed file URLs stay valid (Notion: one hour).
    pub file_url_ttl_secs: u64,
}

impl Default for NotionConfig {
    fn default() -> Self {
        NotionConfig {
            workspace: NotionWorkspaceConfig::default(),
            token: DEFAULT_TOKEN.into(),
            restricted_token: DEFAULT_RESTRICTED_TOKEN.into(),
            rate: Some(NOTION_RATE),
            file_url_ttl_secs: 3600,
        }
    }
}

/// An integration the twin accepts.
#[derive(Clone, Debug)]
pub struct Integration {
    pub token: String,
    /// Its bot user's id.
    pub bot_id: String,
    pub name: String,
    pub restricted: bool,
}

/// The caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub bot_id: String,
    pub name: String,
    pub restricted: bool,
    pub version: Version,
}

/// The Notion twin's state.
pub struct Notion {
    data: RwLock<Workspace>,
    initial: Arc<Workspace>,
    pub integrations: Vec<Integration>,
    pub file_url_ttl_secs: u64,
    limiter: Limiter,
    clock: Mutex<i64>,
    /// Added to the wall clock when checking file URL and upload expiry
    /// (`POST /__sim/notion/advance`).
    pub skew_ms: AtomicI64,
    /// Added to the wall clock for every timestamp the twin gives (`created_time`,
    /// `last_edited_time`, events): `POST /__sim/notion/clock`. Lets a test stand a minute
    /// later without waiting one.
    pub clock_skew_ms: AtomicI64,
    /// Signs file URLs; derived from the seed (this is a twin, not a secret store).
    sign_key: u64,
    log: Mutex<Vec<NotionChange>>,
    changes_tx: tokio::sync::broadcast::Sender<NotionChange>,
    request_seq: AtomicU64,
}

impl Notion {
    pub fn new(cfg: &NotionConfig, seed: u64) -> Notion {
        let ws = generator::generate(&cfg.workspace, seed);
        let bots: Vec<_> = ws.users.iter().filter(|u| u.bot).cloned().collect();
        let integrations = vec![
            Integration {
                token: cfg.token.clone(),
                bot_id: bots.first().map(|b| b.id.clone()).unwrap_or_default(),
                name: bots.first().map(|b| b.name.clone()).unwrap_or_default(),
                restricted: false,
            },
            Integration {
                token: cfg.restricted_token.clone(),
                bot_id: bots.get(1).map(|b| b.id.clone()).unwrap_or_default(),
                name: bots.get(1).map(|b| b.name.clone()).unwrap_or_default(),
                restricted: true,
            },
        ];
        let mut limits = RateLimits::default();
        if let Some(l) = cfg.rate {
            limits.methods.push(("*".into(), l));
        }
        let (changes_tx, _) = tokio::sync::broadcast::channel(1024);
        Notion {
            initial: Arc::new(ws.clone()),
            data: RwLock::new(ws),
            integrations,
            file_url_ttl_secs: cfg.file_url_ttl_secs,
            limiter: Limiter::new(limits),
            clock: Mutex::new(0),
            skew_ms: AtomicI64::new(0),
            clock_skew_ms: AtomicI64::new(0),
            sign_key: crate::rng::mix(seed ^ 0x5167_4e01),
            log: Mutex::new(Vec::new()),
            changes_tx,
            request_seq: AtomicU64::new(0),
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Workspace> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Workspace> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Back to the generated workspace; the change log, buckets and clock skew are cleared.
    pub fn reset(&self) {
        *self.write() = (*self.initial).clone();
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.limiter.reset();
        self.skew_ms.store(0, Ordering::Relaxed);
        self.clock_skew_ms.store(0, Ordering::Relaxed);
    }

    /// Changes the per-integration rate (`None`: off).
    pub fn set_rate(&self, rate: Option<Limit>) {
        let mut limits = RateLimits::default();
        if let Some(l) = rate {
            limits.methods.push(("*".into(), l));
        }
        self.limiter.set(limits);
    }

    /// Now in ms, strictly increasing across calls.
    pub fn now(&self) -> i64 {
        let mut last = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        let t = (crate::time::now_ms() + self.clock_skew_ms.load(Ordering::Relaxed)).max(*last + 1);
        *last = t;
        t
    }

    /// The clock file URLs and uploads expire by (wall clock plus the admin skew).
    pub fn expiry_now_ms(&self) -> i64 {
        crate::time::now_ms() + self.skew_ms.load(Ordering::Relaxed)
    }

    /// Every change so far, oldest first.
    pub fn changes(&self) -> Vec<NotionChange> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes as they happen (for webhook delivery). Lagging receivers lose the oldest.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<NotionChange> {
        self.changes_tx.subscribe()
    }

    /// Appends a change to the log and announces it.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        event_type: &str,
        entity_id: &str,
        entity_type: &str,
        parent: Option<Value>,
        author: ChangeAuthor,
        at_ms: i64,
        data: Value,
    ) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let c = NotionChange {
            seq: log.last().map(|c| c.seq).unwrap_or(0) + 1,
            event_type: event_type.into(),
            entity_id: entity_id.into(),
            entity_type: entity_type.into(),
            parent,
            authors: vec![author],
            timestamp: crate::time::iso(at_ms),
            timestamp_ms: at_ms,
            data,
        };
        log.push(c.clone());
        let _ = self.changes_tx.send(c);
    }

    /// For a database row, a `data_source.content_updated` on its data source (Notion sends
    /// `database.content_updated` to 2022-06-28 subscriptions for the same change).
    pub fn record_row(
        &self,
        row: Option<(String, String)>,
        page: &str,
        author: ChangeAuthor,
        at_ms: i64,
    ) {
        if let Some((db, ds)) = row {
            self.record(
                "data_source.content_updated",
                &ds,
                "data_source",
                Some(serde_json::json!({"id": db, "type": "database"})),
                author,
                at_ms,
                serde_json::json!({"database_id": db, "updated_pages": [page]}),
            );
        }
    }

    /// The signature of a file URL.
    pub fn sign(&self, file_id: &str, expires: i64) -> String {
        let mut buf = self.sign_key.to_le_bytes().to_vec();
        buf.extend_from_slice(file_id.as_bytes());
        buf.extend_from_slice(&expires.to_le_bytes());
        let a = crate::rng::fnv1a64(&buf);
        let b = crate::rng::mix(a ^ self.sign_key);
        format!("{a:016x}{b:016x}")
    }

    /// Matches `Authorization: Bearer <token>` (constant time); the token is dropped after.
    fn authenticate(&self, header: Option<&str>) -> Result<&Integration, NError> {
        let h = header.ok_or_else(NError::unauthorized)?;
        let (scheme, tok) = h.split_once(' ').ok_or_else(NError::unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(NError::unauthorized());
        }
        let tok = tok.trim().as_bytes();
        self.integrations
            .iter()
            .find(|i| {
                i.token.len() == tok.len()
                    && i.token
                        .as_bytes()
                        .iter()
                        .zip(tok)
                        .fold(0u8, |a, (x, y)| a | (x ^ y))
                        == 0
            })
            .ok_or_else(NError::unauthorized)
    }

    fn next_request_id(&self) -> String {
        api::request_id(self.request_seq.fetch_add(1, Ordering::Relaxed))
    }
}

/// `(database id, data source id)` when `page` is a database row.
pub(crate) fn row_source(ws: &Workspace, page: &str) -> Option<(String, String)> {
    match &ws.pages.get(page)?.parent {
        model::Parent::Database(d) => ws
            .databases
            .get(d)
            .map(|x| (x.id.clone(), x.data_source_id.clone())),
        _ => None,
    }
}

/// Every `/v1` route (nested under `/v1` by the server) and the file host.
pub fn routes(sim: Arc<Sim>) -> Router<Arc<Sim>> {
    use handlers as h;
    let v1 = Router::new()
        .route("/search", post(h::search))
        .route("/users", get(h::users))
        .route("/users/me", get(h::me))
        .route("/users/{id}", get(h::get_user))
        .route("/pages", post(h::create_page))
        .route("/pages/{id}", get(h::page).patch(h::update_page))
        .route("/pages/{id}/move", post(extra::move_page))
        .route("/pages/{id}/markdown", get(extra::page_markdown))
        .route("/views", get(extra::list_views))
        .route("/views/{id}", get(extra::view))
        .route("/pages/{id}/properties/{prop}", get(h::page_property))
        .route(
            "/blocks/{id}",
            get(h::block).patch(h::update_block).delete(h::delete_block),
        )
        .route(
            "/blocks/{id}/children",
            get(h::block_children).patch(h::append_children),
        )
        .route("/databases/{id}", get(h::database))
        .route("/databases/{id}/query", post(h::query_database))
        .route("/data_sources/{id}", get(h::data_source))
        .route("/data_sources/{id}/query", post(h::query_data_source))
        .route("/comments", get(h::comments).post(h::create_comment))
        .route("/comments/{id}", get(extra::comment))
        .route("/custom_emojis", get(extra::custom_emojis))
        .route("/data_sources/{id}/templates", get(extra::templates))
        .route("/file_uploads", get(extra::uploads).post(h::create_upload))
        .route("/file_uploads/{id}", get(h::upload))
        .route("/file_uploads/{id}/send", post(h::send_upload))
        .fallback(|| async { NError::invalid_url() })
        .method_not_allowed_fallback(|| async { NError::invalid_url() })
        .layer(axum::middleware::from_fn_with_state(sim, layer))
        .layer(axum::extract::DefaultBodyLimit::max(25 * 1024 * 1024));
    Router::new()
        .nest("/v1", v1)
        .route("/__files/{id}/{name}", get(h::download))
        .merge(admin::routes())
}

/// Faults, auth, the rate limit, `Notion-Version`, counting and request ids, in front of every
/// `/v1` route.
async fn layer(State(sim): State<Arc<Sim>>, mut req: Request, next: Next) -> Response {
    let n = &sim.notion;
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "/v1/(unmatched)".into());
    let method = req.method().as_str().to_string();
    let rid = n.next_request_id();
    let (fault, seq) = sim.next_fault_for(&method, &route);
    let req_kill = req
        .extensions()
        .get::<ConnectInfo<ConnKill>>()
        .map(|c| c.0.clone());
    let mut truncate = false;
    match fault {
        Some(FaultKind::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let e = match code {
                429 => NError::rate_limited(1 + seq % 3),
                503 => {
                    let mut e = NError::new(
                        status,
                        "service_unavailable",
                        "Notion is unavailable, please try again later.",
                    );
                    e.retry_after = Some(1 + seq % 3);
                    e
                }
                500 => NError::new(
                    status,
                    "internal_server_error",
                    "Unexpected error occurred.",
                ),
                502 => NError::new(status, "bad_gateway", "Bad gateway."),
                504 => NError::new(status, "gateway_timeout", "Gateway timeout."),
                _ => NError::new(
                    status,
                    "internal_server_error",
                    status.canonical_reason().unwrap_or("Error"),
                ),
            };
            sim.stats.record(&method, &route, code);
            return e.into_response_with(&rid);
        }
        Some(FaultKind::Reset) => {
            if let Some(ConnectInfo(k)) = req.extensions().get::<ConnectInfo<ConnKill>>() {
                k.kill();
            }
            sim.stats.record(&method, &route, 0);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(FaultKind::Slow(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::Truncate) => truncate = true,
        Some(FaultKind::LostAnswer(_)) | None => {}
    }
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let integ = match n.authenticate(auth.as_deref()) {
        Ok(i) => i.clone(),
        Err(e) => {
            sim.stats.record(&method, &route, 401);
            return e.into_response_with(&rid);
        }
    };
    if let Some(v) = n.limiter.check("*", &integ.name)
        && !v.allowed
    {
        let secs = v.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        sim.stats.record(&method, &route, 429);
        return NError::rate_limited(secs).into_response_with(&rid);
    }
    let version = match req
        .headers()
        .get("notion-version")
        .map(|h| h.to_str().unwrap_or(""))
    {
        None => Err(NError::new(
            StatusCode::BAD_REQUEST,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        )),
        Some(s) => Version::parse(s).ok_or_else(|| {
            NError::validation(format!(
                "Notion-Version header failed validation: Notion-Version header should be one of `2022-06-28`, `2025-09-03`, instead was `{}`.",
                serde_json::to_string(s).unwrap_or_default()
            ))
        }),
    };
    let version = match version {
        Ok(v) => v,
        Err(e) => {
            sim.stats.record(&method, &route, 400);
            return e.into_response_with(&rid);
        }
    };
    req.extensions_mut().insert(Caller {
        bot_id: integ.bot_id.clone(),
        name: integ.name.clone(),
        restricted: integ.restricted,
        version,
    });
    let resp = next.run(req).await;
    if let Some(FaultKind::LostAnswer(how)) = fault {
        return crate::server::lost_answer(&sim, &method, &route, how, req_kill, resp, |code| {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            let e = if code == 504 {
                NError::new(status, "gateway_timeout", "Gateway timeout.")
            } else {
                NError::new(status, "bad_gateway", "Bad gateway.")
            };
            e.into_response_with(&rid)
        })
        .await;
    }
    let mut resp = finish(resp, &rid).await;
    sim.stats.record(&method, &route, resp.status().as_u16());
    if truncate {
        resp = crate::server::truncated(resp).await;
    }
    resp
}

/// Errors become Notion error bodies; JSON objects get the `request_id`.
async fn finish(resp: Response, rid: &str) -> Response {
    if let Some(e) = resp.extensions().get::<NError>().cloned() {
        return e.into_response_with(rid);
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut m)) => {
            m.insert("request_id".into(), Value::String(rid.into()));
            let mut r = api::json_response(parts.status, &Value::Object(m));
            for (k, v) in parts.headers.iter() {
                if k != header::CONTENT_LENGTH {
                    r.headers_mut().insert(k.clone(), v.clone());
                }
            }
            r
        }
        _ => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}
