//! The HTTP server: one axum app on loopback serving the Confluence twin, the Notion twin
//! (`/v1`, behind its own middleware in `notion`) and the `/__sim` introspection endpoints, with
//! the fault plan, rate limits, request counting and Basic auth applied in one middleware in
//! front of every Confluence route.

use std::collections::BTreeMap;
use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::confluence::api::{ApiError, Flavor};
use crate::confluence::{self, Confluence, Credential};
use crate::faults::{FaultKind, FaultPlan};
use crate::generator::{self, WorkspaceConfig};
use crate::notion::{Notion, NotionConfig};
use crate::ratelimit::{Limiter, RateLimits};

/// How to start the twins.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free one. Loopback by default.
    pub bind: SocketAddr,
    pub workspace: WorkspaceConfig,
    /// Accepted accounts. Empty means [`SimConfig::default_credentials`].
    pub credentials: Vec<Credential>,
    pub faults: FaultPlan,
    pub rate_limits: RateLimits,
    /// The Notion twin under `/v1` (workspace size, tokens, its rate limit).
    pub notion: NotionConfig,
    /// Webhook receivers registered at start-up.
    pub webhooks: Vec<crate::webhooks::ReceiverConfig>,
    /// Rewrite the generated site's groups, space permissions and read restrictions
    /// (`confluence::perms`): permission tests against the twin as an oracle.
    pub permissions: Option<confluence::perms::PermScenario>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            workspace: WorkspaceConfig::default(),
            credentials: Vec::new(),
            faults: FaultPlan::default(),
            rate_limits: RateLimits::default(),
            notion: NotionConfig::default(),
            webhooks: Vec::new(),
            permissions: None,
        }
    }
}

impl SimConfig {
    /// The admin, a guest (licensed, outside every restriction) and an account without
    /// Confluence access. Tokens are fixed: this is a local twin, not a secret store.
    pub fn default_credentials() -> Vec<Credential> {
        vec![
            Credential {
                email: "admin@example.com".into(),
                token: "kbridge-sim-token".into(),
                user: generator::ADMIN_USER,
                licensed: true,
            },
            Credential {
                email: "guest@example.com".into(),
                token: "kbridge-sim-guest-token".into(),
                user: generator::GUEST_USER,
                licensed: true,
            },
            Credential {
                email: "unlicensed@example.com".into(),
                token: "kbridge-sim-unlicensed-token".into(),
                user: generator::UNLICENSED_USER,
                licensed: false,
            },
        ]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the runtime for the twin: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Webhook(#[from] crate::webhooks::WebhookError),
}

/// Request counts per (method, route template, status).
#[derive(Default)]
pub struct Stats {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl Stats {
    pub fn record(&self, method: &str, route: &str, status: u16) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((method.into(), route.into(), status))
            .or_default() += 1;
    }
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
    pub fn snapshot(&self) -> serde_json::Value {
        let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let total: u64 = c.values().sum();
        let requests: Vec<_> = c
            .iter()
            .map(|((m, r, s), n)| serde_json::json!({"method": m, "route": r, "status": s, "count": n}))
            .collect();
        serde_json::json!({"total": total, "requests": requests})
    }
    /// The count for one (method, route template, status).
    pub fn count(&self, method: &str, route: &str, status: u16) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(method.into(), route.into(), status))
            .copied()
            .unwrap_or(0)
    }
}

/// Shared state of a running twin.
pub struct Sim {
    pub addr: SocketAddr,
    pub seed: u64,
    pub confluence: Confluence,
    pub notion: Notion,
    pub stats: Stats,
    pub faults: Mutex<FaultPlan>,
    pub limiter: Limiter,
    pub webhooks: crate::webhooks::Webhooks,
    seq: AtomicU64,
}

impl Sim {
    /// The fault for the next twin request to `method` on route template `route` (scoped
    /// faults apply), and its sequence number.
    pub(crate) fn next_fault_for(&self, method: &str, route: &str) -> (Option<FaultKind>, u64) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let f = self
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .decide_for(self.seed, seq, method, route);
        (f, seq)
    }
    pub fn reset(&self) {
        self.confluence.reset();
        self.notion.reset();
        self.webhooks.reset();
        self.stats.reset();
        self.limiter.reset();
        self.seq.store(0, Ordering::Relaxed);
    }
}

/// A running twin. Dropping it stops the server.
pub struct SimHandle {
    pub sim: Arc<Sim>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`: the site origin (resolve v2 `_links.next` against it).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// `http://127.0.0.1:PORT/wiki`: the Confluence base URL clients are configured with.
    pub fn confluence_url(&self) -> String {
        format!("http://{}/wiki", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT/confluence`: the Confluence Data Center twin's base URL (its
    /// context path; see [`crate::dc`]).
    pub fn dc_url(&self) -> String {
        format!("http://{}{}", self.addr, crate::dc::CONTEXT)
    }
    /// `http://127.0.0.1:PORT/v1`: the Notion base URL (the official SDK's `baseUrl` is the
    /// origin; it adds `/v1` itself).
    pub fn notion_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
    /// The full Notion integration's token.
    pub fn notion_token(&self) -> &str {
        &self.sim.notion.integrations[0].token
    }
    /// The restricted Notion integration's token (shared with part of the workspace).
    pub fn notion_restricted_token(&self) -> &str {
        &self.sim.notion.integrations[1].token
    }
    pub fn credentials(&self) -> &[Credential] {
        &self.sim.confluence.credentials
    }
    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Generates the workspace, binds, and serves on the current tokio runtime.
pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
    let mut dataset = generator::generate(&cfg.workspace);
    if let Some(p) = &cfg.permissions {
        confluence::perms::apply(&mut dataset, p);
    }
    let listener = TcpListener::bind(cfg.bind)
        .await
        .map_err(|source| SimError::Bind {
            addr: cfg.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: cfg.bind,
        source,
    })?;
    let credentials = if cfg.credentials.is_empty() {
        SimConfig::default_credentials()
    } else {
        cfg.credentials.clone()
    };
    let sim = Arc::new(Sim {
        addr,
        seed: cfg.workspace.seed,
        confluence: Confluence::new(dataset, credentials),
        notion: Notion::new(&cfg.notion, cfg.workspace.seed),
        stats: Stats::default(),
        faults: Mutex::new(cfg.faults.clone()),
        limiter: Limiter::new(cfg.rate_limits.clone()),
        webhooks: crate::webhooks::Webhooks::new(cfg.workspace.seed),
        seq: AtomicU64::new(0),
    });
    for r in &cfg.webhooks {
        sim.webhooks.register(r.clone())?;
    }
    forward_notion_changes(&sim);
    let app = tower::Layer::layer(
        &tower::util::MapRequestLayer::new(trim_trailing_slash),
        app(sim.clone()),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let listener = SimListener { inner: listener };
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            axum::ServiceExt::<Request>::into_make_service_with_connect_info::<ConnKill>(app),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await;
    });
    Ok(SimHandle {
        sim,
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Confluence's REST paths answer with or without a trailing slash (Jersey matches both;
/// clients name `rest/api/content/`, though atlassian-python-api strips it): `/wiki/…/` and `/rest/…/` are routed as
/// if the slash were not there, before routing. The Notion API is left as it is.
fn trim_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1
        && path.ends_with('/')
        && (path.starts_with("/wiki/") || path.starts_with("/rest/"))
    {
        let trimmed = path.trim_end_matches('/').to_string();
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(v) = pq.parse() {
            parts.path_and_query = Some(v);
            if let Ok(u) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
    req
}

/// Every change of the Notion twin (API or admin) becomes a Notion integration webhook. The
/// task holds the twin weakly: it ends when the twin is dropped (its change channel closes).
fn forward_notion_changes(sim: &Arc<Sim>) {
    use tokio::sync::broadcast::error::RecvError;
    let mut rx = sim.notion.subscribe();
    let weak = Arc::downgrade(sim);
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(change) => {
                    let Some(sim) = weak.upgrade() else { break };
                    sim.webhooks.emit_notion(&notion_event(&change));
                }
                Err(RecvError::Lagged(n)) => {
                    report_lagged(n);
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

fn report_lagged(n: u64) {
    eprintln!(
        "kbridge sim: {n} Notion changes were not turned into webhooks (the forwarder lagged)"
    );
}

/// A change record of the Notion twin as the input of a Notion webhook.
fn notion_event(c: &crate::notion::NotionChange) -> crate::webhooks::NotionEventInput {
    use crate::webhooks::NotionRef;
    let parent = c.parent.as_ref().and_then(|p| {
        Some(NotionRef {
            id: p.get("id")?.as_str()?.to_string(),
            kind: p.get("type")?.as_str()?.to_string(),
        })
    });
    crate::webhooks::NotionEventInput {
        event_type: c.event_type.clone(),
        entity_id: c.entity_id.clone(),
        entity_type: c.entity_type.clone(),
        parent,
        authors: c
            .authors
            .iter()
            .map(|a| NotionRef {
                id: a.id.clone(),
                kind: a.kind.clone(),
            })
            .collect(),
        timestamp: c.timestamp_ms,
        data: c.data.as_object().cloned().unwrap_or_default(),
    }
}

/// A twin running on its own runtime thread, for callers without tokio (benchmarks, sync
/// tests). Dropping it stops the server and the thread.
pub struct BackgroundSim {
    pub handle: SimHandle,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundSim {
    pub fn start(cfg: SimConfig) -> Result<BackgroundSim, SimError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(SimError::Runtime)?;
        let handle = runtime.block_on(start(cfg))?;
        Ok(BackgroundSim {
            handle,
            runtime: Some(runtime),
        })
    }
}

impl Drop for BackgroundSim {
    fn drop(&mut self) {
        if let Some(tx) = self.handle.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

fn app(sim: Arc<Sim>) -> Router {
    let twin = confluence::routes()
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            sim.clone(),
            twin_layer,
        ))
        .layer(DefaultBodyLimit::max(100 * 1024 * 1024));
    Router::new()
        .merge(confluence::admin::routes())
        .merge(crate::notion::routes(sim.clone()))
        .merge(crate::webhooks::routes())
        .merge(crate::dc::routes(sim.clone()))
        .merge(twin)
        .with_state(sim)
}

async fn method_not_allowed(req: Request) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("Method {} is not allowed here", req.method()),
    )
    .flavor(Flavor::of_path(req.uri().path()))
    .into_response()
}

async fn not_found(req: Request) -> Response {
    ApiError::not_found()
        .flavor(Flavor::of_path(req.uri().path()))
        .into_response()
}

/// Faults, rate limits, auth and counting, in front of every twin route.
async fn twin_layer(State(sim): State<Arc<Sim>>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let method = req.method().as_str().to_string();
    let flavor = Flavor::of_path(req.uri().path());
    let seq = sim.seq.fetch_add(1, Ordering::Relaxed);
    let fault = sim
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .decide_for(sim.seed, seq, &method, &route);
    let req_kill = req
        .extensions()
        .get::<ConnectInfo<ConnKill>>()
        .map(|c| c.0.clone());
    let mut truncate = false;
    match fault {
        Some(FaultKind::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut e = ApiError::new(status, fault_code(code), fault_message(code)).flavor(flavor);
            if code == 429 || code == 503 {
                // Deterministic 1–3 s, as the real service varies it.
                e = e.header(header::RETRY_AFTER, (1 + seq % 3).to_string());
            }
            sim.stats.record(&method, &route, code);
            return e.into_response();
        }
        Some(FaultKind::Reset) => {
            if let Some(ConnectInfo(k)) = req.extensions().get::<ConnectInfo<ConnKill>>() {
                k.0.store(true, Ordering::SeqCst);
            }
            sim.stats.record(&method, &route, 0);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(FaultKind::Slow(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::Truncate) => truncate = true,
        Some(FaultKind::LostAnswer(_)) | None => {}
    }
    let verdict = sim.limiter.check(&method, &route);
    if let Some(v) = verdict
        && !v.allowed
    {
        let secs = v.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let reset = crate::time::iso_minute(crate::time::now_ms() + (secs as i64) * 1000);
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_REQUESTS",
            "Rate limit exceeded",
        )
        .flavor(flavor)
        .header(header::RETRY_AFTER, secs.to_string())
        .into_response();
        rate_headers(&mut r, v.limit, 0);
        if let Ok(h) = HeaderValue::from_str(&reset) {
            r.headers_mut().insert("x-ratelimit-reset", h);
        }
        sim.stats.record(&method, &route, 429);
        return r;
    }
    // The points pool (`points=` or `realistic`): an empty pool is a 429 until it refills.
    if let Some(pool) = sim.limiter.points(crate::time::now_ms())
        && pool.remaining == 0
    {
        let secs = pool.reset_secs();
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_REQUESTS",
            "Rate limit exceeded: the points quota of this window is used up",
        )
        .flavor(flavor)
        .header(header::RETRY_AFTER, secs.to_string())
        .into_response();
        points_headers(&mut r, &pool);
        let h = r.headers_mut();
        h.insert("beta-retry-after", HeaderValue::from(secs));
        h.insert(
            "ratelimit-reason",
            HeaderValue::from_static("confluence-quota-global-based"),
        );
        h.insert("x-ratelimit-nearlimit", HeaderValue::from_static("true"));
        if let Ok(v) = HeaderValue::from_str(&crate::time::iso_minute(pool.reset_at_ms)) {
            h.insert("x-ratelimit-reset", v);
        }
        sim.stats.record(&method, &route, 429);
        return r;
    }
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let mut resp = match sim.confluence.authenticate(auth.as_deref()) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.flavor(flavor).into_response(),
    };
    if let Some(v) = verdict {
        rate_headers(&mut resp, v.limit, v.remaining);
    }
    if sim.limiter.points(crate::time::now_ms()).is_some() {
        resp = charge_points(&sim, &method, &route, resp).await;
    }
    if let Some(FaultKind::LostAnswer(how)) = fault {
        let kill = req_kill;
        return lost_answer(&sim, &method, &route, how, kill, resp, |code| {
            ApiError::new(
                StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY),
                fault_code(code),
                fault_message(code),
            )
            .flavor(flavor)
            .into_response()
        })
        .await;
    }
    sim.stats.record(&method, &route, resp.status().as_u16());
    if truncate {
        resp = truncated(resp).await;
    }
    resp
}

/// The handler has run (and committed); its answer is lost on the way: the connection is reset,
/// or `gateway(code)` answers in its place. The handler's body is drained first, so a streamed
/// answer has done its work too.
pub(crate) async fn lost_answer(
    sim: &Sim,
    method: &str,
    route: &str,
    how: Option<u16>,
    kill: Option<ConnKill>,
    resp: Response,
    gateway: impl FnOnce(u16) -> Response,
) -> Response {
    let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
    match how {
        Some(code) => {
            sim.stats.record(method, route, code);
            gateway(code)
        }
        None => {
            if let Some(k) = kill {
                k.kill();
            }
            sim.stats.record(method, route, 0);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Charges the answer's points (objects counted in its JSON, see
/// [`crate::ratelimit::points_cost`]) and adds the pool's headers. Only with a points quota.
async fn charge_points(sim: &Sim, method: &str, route: &str, resp: Response) -> Response {
    let status = resp.status().as_u16();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (resp, objects) = if method == "GET" && json && (200..300).contains(&status) {
        let (parts, body) = resp.into_parts();
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => {
                #[derive(serde::Deserialize)]
                struct Listing {
                    results: Option<Vec<serde::de::IgnoredAny>>,
                }
                let n = serde_json::from_slice::<Listing>(&bytes)
                    .ok()
                    .and_then(|l| l.results)
                    .map_or(1, |r| r.len());
                (
                    Response::from_parts(parts, axum::body::Body::from(bytes)),
                    n,
                )
            }
            Err(_) => (Response::from_parts(parts, axum::body::Body::empty()), 1),
        }
    } else {
        (resp, 1)
    };
    let mut resp = resp;
    let cost = crate::ratelimit::points_cost(method, route, status, objects);
    if let Some(pool) = sim.limiter.charge(crate::time::now_ms(), cost) {
        points_headers(&mut resp, &pool);
    }
    resp
}

/// The points pool's headers, as Cloud sent them while it introduced the quotas:
/// `Beta-RateLimit-Policy: "global-app-quota";q=QUOTA;w=WINDOW` and
/// `Beta-RateLimit: "global-app-quota";r=REMAINING;t=SECONDS_TO_RESET`.
fn points_headers(r: &mut Response, pool: &crate::ratelimit::PointsState) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "\"global-app-quota\";q={};w={}",
        pool.quota, pool.window_secs
    )) {
        h.insert("beta-ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "\"global-app-quota\";r={};t={}",
        pool.remaining,
        pool.reset_secs()
    )) {
        h.insert("beta-ratelimit", v);
    }
}

fn rate_headers(r: &mut Response, limit: u32, remaining: u32) {
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    if (remaining as f64) < (limit as f64) * 0.2 {
        h.insert("x-ratelimit-nearlimit", HeaderValue::from_static("true"));
    }
}

fn fault_code(code: u16) -> &'static str {
    match code {
        429 => "TOO_MANY_REQUESTS",
        500 => "INTERNAL_SERVER_ERROR",
        502 => "BAD_GATEWAY",
        503 => "SERVICE_UNAVAILABLE",
        504 => "GATEWAY_TIMEOUT",
        _ => "ERROR",
    }
}

fn fault_message(code: u16) -> String {
    match code {
        429 => "Rate limit exceeded".into(),
        503 => "Service Unavailable".into(),
        c => StatusCode::from_u16(c)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_string(),
    }
}

/// The answer with its full `Content-Length` but only half the body, then a broken
/// connection.
pub(crate) async fn truncated(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(
        parts,
        Body::new(Truncated {
            data: Some(half),
            pause: None,
        }),
    )
}

struct Truncated {
    data: Option<axum::body::Bytes>,
    /// A pause after the half body, so that it is flushed before the connection breaks.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Truncated {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Some(d) = self.data.take() {
            self.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(20))));
            return Poll::Ready(Some(Ok(http_body::Frame::data(d))));
        }
        if let Some(p) = self.pause.as_mut() {
            if p.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "truncated by the fault plan",
        ))))
    }
}

// ---------------------------------------------------------------------------------------------
// A listener whose connections can be reset from a handler.

struct SimListener {
    inner: TcpListener,
}

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((s, a)) => {
                    let _ = s.set_nodelay(true);
                    return (
                        SimStream {
                            inner: s,
                            kill: Arc::new(AtomicBool::new(false)),
                        },
                        a,
                    );
                }
                // Out of file descriptors and the like: wait and go on, as axum's own loop does.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The kill switch of one connection, reachable from handlers through `ConnectInfo`.
#[derive(Clone)]
pub struct ConnKill(Arc<AtomicBool>);

impl ConnKill {
    /// Resets the connection instead of answering.
    pub(crate) fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        ConnKill(stream.io().kill.clone())
    }
}

/// A TCP stream that, once its kill switch is set, refuses to write and closes with a reset
/// (`SO_LINGER` 0), so the client sees the connection reset with no answer.
struct SimStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl SimStream {
    fn killed(&self) -> bool {
        if self.kill.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            true
        } else {
            false
        }
    }
}

fn reset_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "reset by the fault plan",
    )
}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
