//! The admin API (JSON under `/api/v1`, documented in docs/api.md and docs/openapi.json),
//! `/metrics`, and the public probes `/healthz` and `/readyz`.
//!
//! Every route is declared once in [`routes`] with its [`Access`]; the router is built from
//! that table only, so the test that walks the table and expects 401 without (or with a
//! wrong) token covers every admin route there is. The token is compared in constant time
//! (SHA-256 digests, so its length does not leak either); ten failures from one address within
//! five minutes answer 429 until the window passes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use kb_config::{Connection, Job};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Shared;
use crate::db::LogFilter;
use crate::error::ServeError;
use crate::schedule::{Schedule, ScheduleSpec};

type AppState = Arc<Shared>;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the probes, the login page).
    Public,
    /// The admin token (`Authorization: Bearer …`, or the UI's session cookie).
    Admin,
    /// A signed webhook: no admin token, but every delivery is verified (its service's
    /// signature or shared secret) before anything is processed; else 401.
    Signed,
}

/// One route of the daemon.
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

impl RouteDef {
    pub(crate) fn new(
        method: Method,
        path: &'static str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> RouteDef {
        RouteDef {
            method,
            path,
            access,
            handler,
        }
    }
}

fn r(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> RouteDef {
    RouteDef::new(method, path, access, handler)
}

/// Every route, the one list the router is built from.
pub fn routes() -> Vec<RouteDef> {
    use Access::{Admin, Public, Signed};
    let mut v = vec![
        r(Method::GET, "/healthz", Public, get(healthz)),
        r(Method::GET, "/readyz", Public, get(readyz)),
        r(Method::GET, "/metrics", Admin, get(metrics)),
        r(Method::GET, "/api/v1/overview", Admin, get(overview)),
        r(
            Method::GET,
            "/api/v1/connections",
            Admin,
            get(list_connections),
        ),
        r(
            Method::PUT,
            "/api/v1/connections/{name}",
            Admin,
            put(put_connection),
        ),
        r(
            Method::GET,
            "/api/v1/connections/{name}",
            Admin,
            get(get_connection),
        ),
        r(
            Method::DELETE,
            "/api/v1/connections/{name}",
            Admin,
            delete(delete_connection),
        ),
        r(
            Method::POST,
            "/api/v1/connections/{name}/test",
            Admin,
            post(test_connection),
        ),
        r(Method::GET, "/api/v1/jobs", Admin, get(list_jobs)),
        r(Method::PUT, "/api/v1/jobs/{name}", Admin, put(put_job)),
        r(Method::GET, "/api/v1/jobs/{name}", Admin, get(get_job)),
        r(
            Method::DELETE,
            "/api/v1/jobs/{name}",
            Admin,
            delete(delete_job),
        ),
        r(
            Method::POST,
            "/api/v1/jobs/{name}/run",
            Admin,
            post(run_job),
        ),
        r(
            Method::POST,
            "/api/v1/jobs/{name}/pause",
            Admin,
            post(pause_job),
        ),
        r(
            Method::POST,
            "/api/v1/jobs/{name}/resume",
            Admin,
            post(resume_job),
        ),
        r(Method::GET, "/api/v1/runs", Admin, get(list_runs)),
        r(Method::GET, "/api/v1/runs/{id}", Admin, get(get_run)),
        r(Method::GET, "/api/v1/runs/{id}/logs", Admin, get(run_logs)),
        r(Method::GET, "/api/v1/logs", Admin, get(logs)),
        r(Method::GET, "/api/v1/km/search", Admin, get(km_search)),
        r(Method::GET, "/api/v1/sync/links", Admin, get(sync_links)),
        r(
            Method::GET,
            "/api/v1/sync/conflicts",
            Admin,
            get(sync_conflicts),
        ),
        r(
            Method::POST,
            "/api/v1/sync/conflicts/{id}/resolve",
            Admin,
            post(sync_resolve),
        ),
        r(
            Method::POST,
            "/webhooks/notion",
            Signed,
            post(crate::webhooks::notion),
        ),
        r(
            Method::POST,
            "/webhooks/confluence",
            Signed,
            post(crate::webhooks::automation),
        ),
        r(
            Method::POST,
            "/webhooks/confluence-dc",
            Signed,
            post(crate::webhooks::data_center),
        ),
    ];
    v.extend(crate::ui::routes());
    v
}

/// The daemon's router.
pub fn router(sh: AppState) -> Router {
    let mut public = Router::new();
    let mut admin = Router::new();
    for d in routes() {
        match d.access {
            Access::Public | Access::Signed => public = public.route(d.path, d.handler),
            Access::Admin => admin = admin.route(d.path, d.handler),
        }
    }
    let admin = admin
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(sh.clone(), require_admin));
    public
        .merge(admin)
        .layer(middleware::from_fn_with_state(sh.clone(), observe))
        .with_state(sh)
}

// ---- authentication

const MAX_FAILURES: usize = 10;
const FAILURE_WINDOW_MS: i64 = 5 * 60 * 1000;

/// Failed logins per address, and the UI's sessions.
#[derive(Default)]
pub struct AuthState {
    failures: Mutex<HashMap<Option<IpAddr>, Vec<i64>>>,
    pub(crate) sessions: Mutex<HashMap<String, crate::ui::Session>>,
}

impl AuthState {
    /// Whether `ip` is locked out at `now` (too many recent failures).
    pub(crate) fn locked(&self, ip: Option<IpAddr>, now: i64) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let list = f.entry(ip).or_default();
        list.retain(|t| now - *t < FAILURE_WINDOW_MS);
        list.len() >= MAX_FAILURES
    }

    pub(crate) fn failed(&self, ip: Option<IpAddr>, now: i64) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.entry(ip).or_default().push(now);
    }
}

/// Whether `given` is the admin token (constant time).
pub(crate) fn token_ok(sh: &Shared, given: &str) -> bool {
    let d: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
    bool::from(d.ct_eq(&sh.token_digest))
}

pub(crate) fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn bearer(h: &HeaderMap) -> Option<&str> {
    h.get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

async fn require_admin(State(sh): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(&req);
    let now = sh.clock.now().as_millisecond();
    if sh.auth.locked(ip, now) {
        return too_many();
    }
    let ok = match bearer(req.headers()) {
        Some(t) => token_ok(&sh, t),
        None => crate::ui::session_of(&sh, req.headers(), now).is_some(),
    };
    if !ok {
        sh.auth.failed(ip, now);
        if crate::ui::wants_html(req.headers()) && req.method() == Method::GET {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                crate::ui::login_page(None),
            )
                .into_response();
        }
        let mut resp = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the admin token is missing or wrong",
        )
        .hint("send `Authorization: Bearer <token>` with the value of KBRIDGE_ADMIN_TOKEN")
        .into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    next.run(req).await
}

pub(crate) fn too_many() -> Response {
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed logins from this address",
    )
    .hint("wait five minutes, then use the right KBRIDGE_ADMIN_TOKEN")
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("300"));
    resp
}

async fn observe(State(sh): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let t = Instant::now();
    let resp = next.run(req).await;
    sh.metrics
        .http(&route, resp.status().as_u16(), t.elapsed().as_secs_f64());
    resp
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route").hint("docs/api.md lists the routes")
}

// ---- errors

/// An error answer: `{"error": …, "hint": …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    hint: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            hint: None,
        }
    }
    pub fn hint(mut self, h: impl Into<String>) -> ApiError {
        self.hint = Some(h.into());
        self
    }

    /// The error and its hint in one sentence (the UI's messages).
    pub fn text(&self) -> String {
        match &self.hint {
            Some(h) => format!("{}: {h}", self.error),
            None => self.error.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut v = json!({"error": self.error});
        if let Some(h) = self.hint {
            v["hint"] = json!(h);
        }
        (self.status, axum::Json(v)).into_response()
    }
}

impl From<ServeError> for ApiError {
    fn from(e: ServeError) -> ApiError {
        match e {
            ServeError::NotFound(w) => {
                ApiError::new(StatusCode::NOT_FOUND, format!("{w} not found"))
            }
            ServeError::Invalid { what, fix } => {
                ApiError::new(StatusCode::BAD_REQUEST, what).hint(fix)
            }
            e => {
                tracing::error!(error = %e, "an admin request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        }
    }
}

type ApiResult<T = axum::Json<Value>> = Result<T, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(axum::Json(v))
}

fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    let good = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if good {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{what} names are 1 to 64 letters, digits, `_` or `-`"),
        ))
    }
}

/// A body that does not fit the model, said without echoing its values (a value may be a
/// token pasted in the wrong place).
fn model_error(what: &str, e: &serde_json::Error) -> ApiError {
    let msg = e.to_string();
    let shown = if msg.starts_with("unknown field")
        || msg.starts_with("missing field")
        || msg.starts_with("unknown variant")
    {
        msg.split(" at line").next().unwrap_or("").to_string()
    } else {
        format!(
            "a value has the wrong type or form (line {}, column {})",
            e.line(),
            e.column()
        )
    };
    ApiError::new(StatusCode::BAD_REQUEST, format!("{what}: {shown}"))
        .hint("docs/config.md lists the fields; secrets are never sent: name the environment variable (`token_env`) or file (`token_file`)")
}

fn parse_body<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| model_error(what, &e))
}

// ---- probes and metrics

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(sh): State<AppState>) -> Response {
    match sh.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({"ready": true, "store": sh.store.describe()})),
        )
            .into_response(),
        Err(e) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn metrics(State(sh): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        sh.metrics.render(),
    )
        .into_response()
}

// ---- connections

async fn list_connections(State(sh): State<AppState>) -> ApiResult {
    ok(json!({"connections": sh.db.connections().await?}))
}

async fn get_connection(State(sh): State<AppState>, Path(name): Path<String>) -> ApiResult {
    let c = sh
        .db
        .connections()
        .await?
        .into_iter()
        .find(|c| c.name == name);
    match c {
        Some(c) => ok(json!(c)),
        None => Err(ServeError::NotFound(format!("connection {name:?}")).into()),
    }
}

/// Saves a connection from the API or the UI (checked against the model; no secret fits it).
pub(crate) async fn save_connection(
    sh: &Shared,
    name: &str,
    spec: &Value,
) -> Result<Value, ApiError> {
    check_name("connection", name)?;
    let c: Connection = serde_json::from_value(spec.clone())
        .map_err(|e| model_error(&format!("connection {name:?}"), &e))?;
    let spec = serde_json::to_value(&c)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    sh.db
        .put_connection(name, &spec, "api", sh.clock.now().as_millisecond())
        .await?;
    Ok(json!({"name": name, "spec": spec, "origin": "api"}))
}

async fn put_connection(
    State(sh): State<AppState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    check_name("connection", &name)?;
    let c: Connection = parse_body(&format!("connection {name:?}"), &body)?;
    let spec = serde_json::to_value(&c)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    sh.db
        .put_connection(&name, &spec, "api", sh.clock.now().as_millisecond())
        .await?;
    ok(json!({"name": name, "spec": spec, "origin": "api"}))
}

async fn delete_connection(State(sh): State<AppState>, Path(name): Path<String>) -> ApiResult {
    if sh.db.delete_connection(&name).await? {
        ok(json!({"deleted": name}))
    } else {
        Err(ServeError::NotFound(format!("connection {name:?}")).into())
    }
}

/// Runs the `check` of a connection: who the credentials are and what they can read.
pub async fn test_connection_json(sh: &Shared, name: &str) -> Result<Value, ApiError> {
    let config = sh.config_with_connections().await?;
    enum Client {
        Confluence(Box<kb_confluence::Confluence>),
        Notion(kb_notion::Notion),
    }
    let quick = |retry: &mut kb_notion::kb_http::RetryPolicy,
                 timeout: &mut Option<std::time::Duration>| {
        retry.max_attempts = 3;
        retry.max_elapsed = std::time::Duration::from_secs(30);
        *timeout = Some(std::time::Duration::from_secs(20));
    };
    // The clients are built before any await (kb-config's Env borrows a closure).
    let client: Result<Client, String> = {
        let env = sh.env.clone();
        let get = move |k: &str| env(k);
        let env = kb_config::Env::new(&get);
        match config.connections.get(name) {
            Some(Connection::ConfluenceCloud(_)) => {
                kb_engine::connect::confluence(&config, Some(name), &Default::default(), &env)
                    .map_err(|e| e.to_string())
                    .and_then(|(mut cfg, _)| {
                        quick(&mut cfg.retry, &mut cfg.timeout);
                        kb_confluence::Confluence::new(cfg).map_err(|e| e.to_string())
                    })
                    .map(|c| Client::Confluence(Box::new(c)))
            }
            Some(Connection::Notion(_)) => {
                kb_engine::connect::notion(&config, Some(name), &Default::default(), &env)
                    .map_err(|e| e.to_string())
                    .and_then(|mut cfg| {
                        quick(&mut cfg.retry, &mut cfg.timeout);
                        kb_notion::Notion::new(cfg).map_err(|e| e.to_string())
                    })
                    .map(Client::Notion)
            }
            None => return Err(ServeError::NotFound(format!("connection {name:?}")).into()),
        }
    };
    Ok(match client {
        Err(e) => json!({"name": name, "ok": false, "error": e}),
        Ok(Client::Confluence(c)) => match c.check().await {
            Ok(r) => json!({"name": name, "ok": r.v2, "kind": "confluence_cloud", "report": r}),
            Err(e) => json!({"name": name, "ok": false, "error": e.to_string()}),
        },
        Ok(Client::Notion(c)) => match c.check().await {
            Ok(r) => json!({"name": name, "ok": true, "kind": "notion", "report": r}),
            Err(e) => json!({"name": name, "ok": false, "error": e.to_string()}),
        },
    })
}

async fn test_connection(State(sh): State<AppState>, Path(name): Path<String>) -> ApiResult {
    Ok(axum::Json(test_connection_json(&sh, &name).await?))
}

// ---- jobs

/// `PUT /api/v1/jobs/{name}`: the job as in kbridge.toml, its schedule, whether paused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobBody {
    job: Value,
    #[serde(default)]
    schedule: Option<ScheduleSpec>,
    #[serde(default)]
    paused: Option<bool>,
}

/// Saves a job from the API or the UI.
pub(crate) async fn save_job(
    sh: &Shared,
    name: &str,
    job: &Value,
    schedule: Option<ScheduleSpec>,
    paused: Option<bool>,
) -> Result<Value, ApiError> {
    check_name("job", name)?;
    let parsed: Job = serde_json::from_value(job.clone())
        .map_err(|e| model_error(&format!("job {name:?}"), &e))?;
    if crate::jobs::kind_for(&sh.registry, &parsed).is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "no runner hosts jobs of kind {:?}",
                crate::jobs::kind_of(&parsed)
            ),
        ));
    }
    let schedule = match schedule {
        Some(s) => {
            Schedule::new(s.clone()).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, format!("job {name:?}: {e}"))
            })?;
            Some(
                serde_json::to_value(s)
                    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?,
            )
        }
        None => None,
    };
    let spec = serde_json::to_value(&parsed)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    sh.db
        .put_job(
            name,
            &spec,
            schedule.as_ref(),
            paused,
            "api",
            sh.clock.now().as_millisecond(),
        )
        .await?;
    job_json(sh, name).await
}

async fn put_job(
    State(sh): State<AppState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let b: JobBody = parse_body(&format!("job {name:?}"), &body)?;
    Ok(axum::Json(
        save_job(&sh, &name, &b.job, b.schedule, b.paused).await?,
    ))
}

/// A job with its schedule state, next time and status against its schedule.
pub(crate) async fn job_json(sh: &Shared, name: &str) -> Result<Value, ApiError> {
    let Some(j) = sh.db.job(name).await? else {
        return Err(ServeError::NotFound(format!("job {name:?}")).into());
    };
    let runs = sh.db.runs(Some(name), 20).await?;
    let now = sh.clock.now();
    let schedule = crate::scheduler::schedule_of(&j).ok().flatten();
    let status = crate::overview::status(&j, schedule.as_ref(), &runs, now);
    let fmt = |ms: Option<i64>| {
        ms.and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
            .map(|t| t.to_string())
    };
    Ok(json!({
        "name": j.name,
        "job": j.spec,
        "schedule": j.schedule,
        "paused": j.paused,
        "origin": j.origin,
        "next_due_at": fmt(j.next_due_at),
        "last_due_at": fmt(j.last_due_at),
        "status": status,
        "last_run": runs.first(),
    }))
}

async fn list_jobs(State(sh): State<AppState>) -> ApiResult {
    let mut out = Vec::new();
    for j in sh.db.jobs().await? {
        out.push(job_json(&sh, &j.name).await?);
    }
    ok(json!({"jobs": out}))
}

async fn get_job(State(sh): State<AppState>, Path(name): Path<String>) -> ApiResult {
    Ok(axum::Json(job_json(&sh, &name).await?))
}

async fn delete_job(State(sh): State<AppState>, Path(name): Path<String>) -> ApiResult {
    if sh.db.delete_job(&name).await? {
        ok(json!({"deleted": name}))
    } else {
        Err(ServeError::NotFound(format!("job {name:?}")).into())
    }
}

/// Queues a run of `name` now.
pub(crate) async fn run_now(sh: &Shared, name: &str) -> Result<Value, ApiError> {
    let Some(j) = sh.db.job(name).await? else {
        return Err(ServeError::NotFound(format!("job {name:?}")).into());
    };
    let kind = j
        .spec
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    match sh
        .db
        .enqueue(name, &kind, "manual", None, sh.clock.now().as_millisecond())
        .await?
    {
        Some(id) => Ok(json!({"run": id, "job": name, "status": "queued"})),
        None => {
            let open = sh.db.open_run(name).await?;
            Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "job {name:?} already has a run open ({})",
                    open.map(|i| i.to_string()).unwrap_or_else(|| "?".into())
                ),
            )
            .hint("a job never runs twice at once: wait for that run to end"))
        }
    }
}

async fn run_job(
    State(sh): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let v = run_now(&sh, &name).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(v)).into_response())
}

pub(crate) async fn set_paused(sh: &Shared, name: &str, paused: bool) -> Result<Value, ApiError> {
    if !sh.db.set_paused(name, paused).await? {
        return Err(ServeError::NotFound(format!("job {name:?}")).into());
    }
    job_json(sh, name).await
}

async fn pause_job(State(sh): State<AppState>, Path(name): Path<String>) -> ApiResult {
    Ok(axum::Json(set_paused(&sh, &name, true).await?))
}

async fn resume_job(State(sh): State<AppState>, Path(name): Path<String>) -> ApiResult {
    Ok(axum::Json(set_paused(&sh, &name, false).await?))
}

// ---- runs and logs

#[derive(Deserialize)]
struct RunsQuery {
    job: Option<String>,
    limit: Option<i64>,
}

async fn list_runs(State(sh): State<AppState>, Query(q): Query<RunsQuery>) -> ApiResult {
    let runs = sh
        .db
        .runs(q.job.as_deref(), q.limit.unwrap_or(50).clamp(1, 1000))
        .await?;
    ok(json!({"runs": runs}))
}

async fn get_run(State(sh): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    match sh.db.run(id).await? {
        Some(r) => ok(json!(r)),
        None => Err(ServeError::NotFound(format!("run {id}")).into()),
    }
}

fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "a run id is a number"))
}

#[derive(Deserialize)]
struct LogsQuery {
    run: Option<i64>,
    level: Option<String>,
    object: Option<String>,
    limit: Option<i64>,
}

fn log_filter(run: Option<i64>, q: LogsQuery) -> Result<LogFilter, ApiError> {
    if let Some(l) = &q.level
        && !["info", "warn", "error"].contains(&l.as_str())
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "level is one of info, warn, error",
        ));
    }
    Ok(LogFilter {
        run_id: run.or(q.run),
        level: q.level.filter(|s| !s.is_empty()),
        object: q.object.filter(|s| !s.is_empty()),
        limit: q.limit.unwrap_or(1000),
    })
}

async fn run_logs(
    State(sh): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let f = log_filter(Some(id), q)?;
    ok(json!({"logs": sh.db.logs(&f).await?}))
}

async fn logs(State(sh): State<AppState>, Query(q): Query<LogsQuery>) -> ApiResult {
    let f = log_filter(None, q)?;
    ok(json!({"logs": sh.db.logs(&f).await?}))
}

async fn overview(State(sh): State<AppState>) -> ApiResult {
    ok(crate::overview::overview(&sh).await?)
}

// ---- km search

#[derive(Deserialize)]
pub(crate) struct KmSearchQuery {
    /// Who searches: an account id, `role:NAME` or `anonymous`.
    #[serde(rename = "as")]
    pub(crate) who: Option<String>,
    /// The words (empty or `*`: everything the searcher may read).
    pub(crate) q: Option<String>,
    pub(crate) limit: Option<usize>,
    pub(crate) offset: Option<usize>,
}

/// `GET /api/v1/km/search?as=WHO&q=TEXT`: km search as a user or a role, only what they may
/// read (their principals from the store, groups expanded).
pub(crate) async fn km_search_json(sh: &Arc<Shared>, q: KmSearchQuery) -> Result<Value, ApiError> {
    let (who, text, answer) = km_search_answer(sh, q).await?;
    Ok(json!({
        "as": who,
        "q": text,
        "total": answer.total,
        "hits": answer.hits,
        "principals": answer.principals,
    }))
}

/// Who searched, the words, and km's answer.
pub(crate) async fn km_search_answer(
    sh: &Arc<Shared>,
    q: KmSearchQuery,
) -> Result<(String, String, kb_km::SearchAnswer), ApiError> {
    let who = match q.who.as_deref().map(str::trim) {
        Some(w) if !w.is_empty() => w.to_string(),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "km search needs `as`: who searches",
            )
            .hint("give as=ACCOUNT_ID, as=role:NAME or as=anonymous"));
        }
    };
    let text = match q.q.as_deref().map(str::trim) {
        None | Some("*") => String::new(),
        Some(t) => t.to_string(),
    };
    let limit = q.limit.unwrap_or(20).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0);
    let req = kb_km::SearchRequest {
        text: text.clone(),
        limit,
        offset,
        snippets: true,
        ..kb_km::SearchRequest::default()
    };
    let searcher = kb_km::Searcher::parse(&who);
    // kb-km's futures are not Send: searched on a blocking thread of this runtime.
    let handle = tokio::runtime::Handle::current();
    let sh2 = sh.clone();
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let index = sh2.km_index.lock().await.map_err(|e| e.0)?;
            kb_km::search(&sh2.store, &index, &searcher, &req)
                .await
                .map_err(|e| e.to_string())
        })
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("km search: {e}")))?
    .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))?;
    sh.metrics.search_latency(started.elapsed());
    Ok((who, text, answer))
}

async fn km_search(State(sh): State<AppState>, Query(q): Query<KmSearchQuery>) -> ApiResult {
    Ok(axum::Json(km_search_json(&sh, q).await?))
}

// ---- sync links and conflicts

fn sync_err(e: kb_engine::sync::SyncError) -> ApiError {
    match e {
        kb_engine::sync::SyncError::Input(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

/// Runs a kb-engine future (not Send) on a blocking thread of this runtime.
async fn blocking<T: Send + 'static>(
    sh: &Arc<Shared>,
    f: impl for<'a> FnOnce(
        &'a Shared,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, ApiError>> + 'a>,
    > + Send
    + 'static,
) -> Result<T, ApiError> {
    let handle = tokio::runtime::Handle::current();
    let sh = sh.clone();
    tokio::task::spawn_blocking(move || handle.block_on(f(&sh)))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

pub(crate) async fn sync_links_list(
    sh: &Arc<Shared>,
) -> Result<Vec<kb_engine::sync::LinkStatus>, ApiError> {
    blocking(sh, |sh| {
        Box::pin(async move { kb_engine::sync::status(&sh.store).await.map_err(sync_err) })
    })
    .await
}

async fn sync_links(State(sh): State<AppState>) -> ApiResult {
    Ok(axum::Json(json!({"links": sync_links_list(&sh).await?})))
}

#[derive(Deserialize)]
pub(crate) struct ConflictsQuery {
    pub(crate) link: Option<String>,
    /// `false` to list resolved conflicts too (default: open ones).
    pub(crate) open: Option<bool>,
}

pub(crate) async fn sync_conflicts_list(
    sh: &Arc<Shared>,
    q: ConflictsQuery,
) -> Result<Vec<kb_engine::sync::ConflictView>, ApiError> {
    blocking(sh, move |sh| {
        Box::pin(async move {
            kb_engine::sync::conflicts(
                &sh.store,
                q.link.as_deref().filter(|l| !l.is_empty()),
                q.open.unwrap_or(true),
            )
            .await
            .map_err(sync_err)
        })
    })
    .await
}

async fn sync_conflicts(State(sh): State<AppState>, Query(q): Query<ConflictsQuery>) -> ApiResult {
    Ok(axum::Json(
        json!({"conflicts": sync_conflicts_list(&sh, q).await?}),
    ))
}

/// `POST /api/v1/sync/conflicts/{id}/resolve`: which side wins, and the connections to write
/// with (default `notion` and `confluence`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    pub(crate) take: String,
    #[serde(default)]
    pub(crate) notion: Option<String>,
    #[serde(default)]
    pub(crate) confluence: Option<String>,
}

pub(crate) async fn resolve_conflict(
    sh: &Arc<Shared>,
    id: i64,
    b: ResolveBody,
) -> Result<Value, ApiError> {
    let take = match b.take.as_str() {
        "notion" => kb_engine::sync::Take::Notion,
        "confluence" => kb_engine::sync::Take::Confluence,
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("take = {other:?} is not a side"),
            )
            .hint("give take = notion or take = confluence"));
        }
    };
    let config = sh.config_with_connections().await?;
    blocking(sh, move |sh| {
        Box::pin(async move {
            let ctx = crate::jobs::JobContext {
                store: sh.store.clone(),
                config,
                env: sh.env.clone(),
                now: sh.clock.now(),
                log: Arc::new(|_, _, _| {}),
                km_index: sh.km_index.clone(),
            };
            let bad = |e: crate::jobs::JobError| ApiError::new(StatusCode::BAD_REQUEST, e.0);
            let n = crate::jobs::notion(&ctx, b.notion.as_deref()).map_err(bad)?;
            let (c, _) = crate::jobs::confluence(&ctx, b.confluence.as_deref()).map_err(bad)?;
            let cx = kb_engine::sync::SyncContext {
                store: &sh.store,
                notion: &n,
                confluence: &c,
            };
            let r = kb_engine::sync::resolve(&cx, id, take, ctx.now.as_millisecond())
                .await
                .map_err(sync_err)?;
            Ok(json!({"resolved": id, "take": b.take, "report": r}))
        })
    })
    .await
}

async fn sync_resolve(
    State(sh): State<AppState>,
    Path(id): Path<String>,
    axum::Json(b): axum::Json<ResolveBody>,
) -> ApiResult {
    let id = id
        .parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "a conflict id is a number"))?;
    Ok(axum::Json(resolve_conflict(&sh, id, b).await?))
}
