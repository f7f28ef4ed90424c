//! The web UI: server-rendered pages (askama templates, auto-escaped) with htmx (vendored,
//! `/assets/htmx.min.js`, no Node build step): overview, connections with a test button,
//! jobs with run now / pause / resume, runs with counts and a chart of the last runs, a run
//! with its live progress and log, logs with filters.
//!
//! Sessions: `/login` takes the admin token (failed logins count toward the per-address limit)
//! and sets a random session cookie (`HttpOnly`, `SameSite=Strict`); each session has a CSRF
//! token that every form carries (`csrf` field) and htmx sends (`x-csrf-token`). A POST without
//! it, or with another session's, is refused with 403 and does nothing.

// A refused form is answered by the response in the `Err` (axum's idiom).
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::api::{Access, RouteDef};
use crate::db::{LogFilter, RunRow};
use crate::schedule::ScheduleSpec;

type AppState = Arc<Shared>;

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    pub expires_at: i64,
}

const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
const COOKIE: &str = "kb_session";
const HTMX: &str = include_str!("../assets/htmx-2.0.10.min.js");

fn r(
    method: Method,
    path: &'static str,
    access: Access,
    handler: axum::routing::MethodRouter<AppState>,
) -> RouteDef {
    RouteDef::new(method, path, access, handler)
}

/// The UI's routes (the login page is public: it is how the token gets in).
pub fn routes() -> Vec<RouteDef> {
    use Access::{Admin, Public};
    vec![
        r(Method::GET, "/login", Public, get(login_form)),
        r(Method::POST, "/login", Public, post(login)),
        r(Method::POST, "/logout", Admin, post(logout)),
        r(Method::GET, "/assets/htmx.min.js", Admin, get(htmx)),
        r(Method::GET, "/", Admin, get(overview)),
        r(Method::GET, "/ui/connections", Admin, get(connections)),
        r(Method::POST, "/ui/connections", Admin, post(add_connection)),
        r(
            Method::POST,
            "/ui/connections/{name}/test",
            Admin,
            post(test_connection),
        ),
        r(Method::GET, "/ui/jobs", Admin, get(jobs)),
        r(Method::POST, "/ui/jobs", Admin, post(add_job)),
        r(Method::POST, "/ui/jobs/{name}/run", Admin, post(run_job)),
        r(
            Method::POST,
            "/ui/jobs/{name}/pause",
            Admin,
            post(pause_job),
        ),
        r(
            Method::POST,
            "/ui/jobs/{name}/resume",
            Admin,
            post(resume_job),
        ),
        r(Method::GET, "/ui/runs", Admin, get(runs)),
        r(Method::GET, "/ui/runs/{id}", Admin, get(run)),
        r(Method::GET, "/ui/logs", Admin, get(logs)),
        r(Method::GET, "/ui/search", Admin, get(search)),
        r(Method::GET, "/ui/sync", Admin, get(sync_page)),
        r(
            Method::POST,
            "/ui/sync/conflicts/{id}/resolve",
            Admin,
            post(resolve_conflict),
        ),
    ]
}

// ---- sessions and CSRF

fn random_hex() -> Result<String, Response> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no randomness: {e}"),
        )
            .into_response()
    })?;
    Ok(hex::encode(b))
}

/// The session of the request's cookie, if valid at `now`.
pub(crate) fn session_of(sh: &Shared, headers: &HeaderMap, now: i64) -> Option<Session> {
    let id = cookie(headers, COOKIE)?;
    let mut s = sh.auth.sessions.lock().unwrap_or_else(|e| e.into_inner());
    s.retain(|_, v| v.expires_at > now);
    s.get(&id).cloned()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    error: Option<&'a str>,
}

pub(crate) fn login_page(error: Option<&str>) -> String {
    Login { error }
        .render()
        .unwrap_or_else(|e| format!("the login page cannot be rendered: {e}"))
}

/// The CSRF token of the request's session when the form (or the htmx header) carries it;
/// else a 403 answer. Every UI POST checks it before doing anything.
fn csrf_ok(sh: &Shared, headers: &HeaderMap, form: Option<&str>) -> Result<String, Response> {
    let now = sh.clock.now().as_millisecond();
    let refuse = |why: &str| {
        (
            StatusCode::FORBIDDEN,
            Html(format!("<p>{why}: reload the page and try again.</p>")),
        )
            .into_response()
    };
    let Some(s) = session_of(sh, headers, now) else {
        return Err(refuse("this form needs a logged-in session"));
    };
    let given = form.map(str::to_string).or_else(|| {
        headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    match given {
        Some(g) if subtle::ConstantTimeEq::ct_eq(g.as_bytes(), s.csrf.as_bytes()).into() => {
            Ok(s.csrf)
        }
        Some(_) => Err(refuse("the form's CSRF token is not this session's")),
        None => Err(refuse("the form carries no CSRF token")),
    }
}

fn csrf_of(sh: &Shared, headers: &HeaderMap) -> String {
    session_of(sh, headers, sh.clock.now().as_millisecond())
        .map(|s| s.csrf)
        .unwrap_or_default()
}

async fn login_form() -> Html<String> {
    Html(login_page(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(sh): State<AppState>, req: Request) -> Response {
    let ip = crate::api::client_ip(&req);
    let now = sh.clock.now().as_millisecond();
    if sh.auth.locked(ip, now) {
        return crate::api::too_many();
    }
    let Ok(Form(f)) = Form::<LoginForm>::from_request(req, &()).await else {
        return (
            StatusCode::BAD_REQUEST,
            Html(login_page(Some("Give the admin token."))),
        )
            .into_response();
    };
    if !crate::api::token_ok(&sh, &f.token) {
        sh.auth.failed(ip, now);
        return (
            StatusCode::UNAUTHORIZED,
            Html(login_page(Some(
                "That is not the admin token (KBRIDGE_ADMIN_TOKEN).",
            ))),
        )
            .into_response();
    }
    let (id, csrf) = match (random_hex(), random_hex()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    sh.auth
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            Session {
                csrf,
                expires_at: now + SESSION_TTL.as_millis() as i64,
            },
        );
    let mut resp = Redirect::to("/").into_response();
    let c = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

use axum::extract::FromRequest;

async fn logout(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = csrf_ok(&sh, &headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    if let Some(id) = cookie(&headers, COOKIE) {
        sh.auth
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("kb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    resp
}

async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        HTMX,
    )
        .into_response()
}

// ---- helpers

fn page(t: impl Template) -> Response {
    match t.render() {
        Ok(h) => Html(h).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page cannot be rendered: {e}"),
        )
            .into_response(),
    }
}

fn err_page(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(format!("<p>{}</p>", html_escape(&e.to_string()))),
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "—".into())
}

/// Items a run wrote: rows of an extract, pages written by a migration.
fn items(r: &RunRow) -> u64 {
    if let Some(rows) = r.counts.get("rows").and_then(Value::as_object) {
        return rows.values().filter_map(Value::as_u64).sum();
    }
    ["created", "updated"]
        .iter()
        .filter_map(|k| r.counts.get(*k).and_then(Value::as_u64))
        .sum()
}

fn secs(r: &RunRow) -> String {
    match (r.started_at, r.ended_at) {
        (Some(s), Some(e)) => format!("{:.1}", (e - s) as f64 / 1000.0),
        _ => "—".into(),
    }
}

fn errors_of(r: &RunRow) -> Vec<String> {
    r.errors
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    e.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| e.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Deserialize, Default)]
struct Flash {
    #[serde(default)]
    flash: Option<String>,
}

// ---- overview and jobs

struct JobView {
    name: String,
    kind: String,
    what: String,
    schedule: String,
    status: String,
    next_due: String,
    paused: bool,
    last_run: Option<i64>,
    last_status: String,
}

async fn job_views(sh: &Shared) -> Result<Vec<JobView>, crate::ServeError> {
    let mut out = Vec::new();
    for j in sh.db.jobs().await? {
        let runs = sh.db.runs(Some(&j.name), 20).await?;
        let schedule = crate::scheduler::schedule_of(&j).ok().flatten();
        let status = crate::overview::status(&j, schedule.as_ref(), &runs, sh.clock.now());
        let spec = &j.spec;
        let what = match spec.get("kind").and_then(Value::as_str) {
            Some("extract") => format!(
                "{} · spaces {}",
                spec.get("connection")
                    .and_then(Value::as_str)
                    .unwrap_or("confluence"),
                spec.get("spaces")
                    .and_then(Value::as_array)
                    .map(|a| a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "all".into())
            ),
            Some(_) => spec
                .get("space")
                .and_then(Value::as_str)
                .map(|s| format!("space {s}"))
                .unwrap_or_default(),
            None => String::new(),
        };
        out.push(JobView {
            kind: spec
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            what,
            schedule: match (&j.schedule, &schedule) {
                (Some(v), Some(_)) => format!(
                    "{} ({})",
                    v.get("every").and_then(Value::as_str).unwrap_or("?"),
                    v.get("time_zone").and_then(Value::as_str).unwrap_or("UTC")
                ),
                (Some(_), None) => "invalid".into(),
                _ => "by hand".into(),
            },
            status: status.to_string(),
            next_due: when(j.next_due_at),
            paused: j.paused,
            last_run: runs.first().map(|r| r.id),
            last_status: runs.first().map(|r| r.status.clone()).unwrap_or_default(),
            name: j.name,
        });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    now: String,
    jobs: Vec<JobView>,
}

async fn overview(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Flash>,
) -> Response {
    match job_views(&sh).await {
        Ok(jobs) => page(OverviewPage {
            csrf: csrf_of(&sh, &headers),
            nav: "overview",
            flash: f.flash.unwrap_or_default(),
            now: sh.clock.now().strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            jobs,
        }),
        Err(e) => err_page(e),
    }
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    jobs: Vec<JobView>,
    conns: Vec<String>,
}

async fn jobs(State(sh): State<AppState>, headers: HeaderMap, Query(f): Query<Flash>) -> Response {
    let conns = match sh.config_with_connections().await {
        Ok(c) => c
            .connections
            .iter()
            .filter(|(_, c)| matches!(c, kb_config::Connection::ConfluenceCloud(_)))
            .map(|(n, _)| n.clone())
            .collect(),
        Err(e) => return err_page(e),
    };
    match job_views(&sh).await {
        Ok(jobs) => page(JobsPage {
            csrf: csrf_of(&sh, &headers),
            nav: "jobs",
            flash: f.flash.unwrap_or_default(),
            jobs,
            conns,
        }),
        Err(e) => err_page(e),
    }
}

fn back(to: &str, flash: &str) -> Response {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("flash", flash)
        .finish();
    Redirect::to(&format!("{to}?{q}")).into_response()
}

fn api_error_text(e: crate::api::ApiError) -> String {
    e.text()
}

async fn add_job(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = csrf_ok(&sh, &headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let spaces: Vec<String> = get("spaces")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let job = json!({"kind": "extract", "connection": get("connection"), "spaces": spaces});
    let jitter = match get("jitter_seconds").as_str() {
        "" => 0,
        s => match s.parse() {
            Ok(n) => n,
            Err(_) => return back("/ui/jobs", "Jitter is a number of seconds."),
        },
    };
    let schedule = (!get("every").is_empty()).then(|| ScheduleSpec {
        every: get("every"),
        time_zone: Some(get("time_zone"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "UTC".into()),
        jitter_seconds: jitter,
    });
    let name = get("name");
    match crate::api::save_job(&sh, &name, &job, schedule, None).await {
        Ok(_) => back("/ui/jobs", &format!("Job {name} saved.")),
        Err(e) => back("/ui/jobs", &api_error_text(e)),
    }
}

async fn job_action(
    sh: &Shared,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
    name: &str,
    action: &str,
) -> Response {
    if let Err(r) = csrf_ok(sh, headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let r = match action {
        "run" => crate::api::run_now(sh, name)
            .await
            .map(|v| format!("Run #{} of {name} queued.", v["run"])),
        "pause" => crate::api::set_paused(sh, name, true)
            .await
            .map(|_| format!("{name} paused.")),
        _ => crate::api::set_paused(sh, name, false)
            .await
            .map(|_| format!("{name} resumed.")),
    };
    let to = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("/ui/")
                .map(|i| r[i..].split('?').next().unwrap_or("/").to_string())
        })
        .unwrap_or_else(|| "/".into());
    match r {
        Ok(m) => back(&to, &m),
        Err(e) => back(&to, &api_error_text(e)),
    }
}

async fn run_job(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    job_action(&sh, &headers, &f, &name, "run").await
}

async fn pause_job(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    job_action(&sh, &headers, &f, &name, "pause").await
}

async fn resume_job(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    job_action(&sh, &headers, &f, &name, "resume").await
}

// ---- connections

struct ConnView {
    name: String,
    kind: String,
    url: String,
    token_ref: String,
    origin: String,
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    conns: Vec<ConnView>,
}

async fn connections(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Flash>,
) -> Response {
    let rows = match sh.db.connections().await {
        Ok(r) => r,
        Err(e) => return err_page(e),
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let conns = rows
        .into_iter()
        .map(|c| ConnView {
            kind: s(&c.spec, "kind"),
            url: s(&c.spec, "url"),
            token_ref: match (
                c.spec.get("token_env").and_then(Value::as_str),
                c.spec.get("token_file").and_then(Value::as_str),
            ) {
                (_, Some(f)) => format!("file {f}"),
                (Some(e), _) => format!("${e}"),
                _ => "the default variable".into(),
            },
            origin: c.origin,
            name: c.name,
        })
        .collect();
    page(ConnectionsPage {
        csrf: csrf_of(&sh, &headers),
        nav: "connections",
        flash: f.flash.unwrap_or_default(),
        conns,
    })
}

async fn add_connection(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = csrf_ok(&sh, &headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let get = |k: &str| {
        f.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let mut spec = serde_json::Map::new();
    spec.insert(
        "kind".into(),
        json!(get("kind").unwrap_or_else(|| "confluence_cloud".into())),
    );
    for k in ["url", "email", "token_env"] {
        if let Some(v) = get(k) {
            spec.insert(k.into(), json!(v));
        }
    }
    if let Some(r) = get("rate") {
        match r.parse::<f64>() {
            Ok(n) => {
                spec.insert("rate".into(), json!(n));
            }
            Err(_) => {
                return back(
                    "/ui/connections",
                    "The rate is a number of requests per second.",
                );
            }
        }
    }
    let name = get("name").unwrap_or_default();
    match crate::api::save_connection(&sh, &name, &Value::Object(spec)).await {
        Ok(_) => back(
            "/ui/connections",
            &format!("Connection {name} saved: test it."),
        ),
        Err(e) => back("/ui/connections", &api_error_text(e)),
    }
}

#[derive(Template)]
#[template(path = "test_result.html")]
struct TestResult {
    ok: bool,
    summary: String,
}

async fn test_connection(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = csrf_ok(&sh, &headers, None) {
        return r;
    }
    match crate::api::test_connection_json(&sh, &name).await {
        Ok(v) => {
            let ok = v["ok"].as_bool() == Some(true);
            let summary = if !ok {
                v["error"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| "the check failed".into())
            } else if v["kind"] == "notion" {
                let r = &v["report"];
                format!(
                    "integration {} in {}: {} pages and {} databases shared",
                    r["bot_name"].as_str().unwrap_or("?"),
                    r["workspace_name"].as_str().unwrap_or("?"),
                    r["pages"],
                    r["databases"]
                )
            } else {
                let r = &v["report"];
                let keys: Vec<&str> = r["space_keys"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!(
                    "{} as {}: {} spaces readable ({})",
                    r["site"].as_str().unwrap_or("?"),
                    r["display_name"].as_str().unwrap_or("?"),
                    r["spaces"],
                    keys.join(", ")
                )
            };
            page(TestResult { ok, summary })
        }
        Err(e) => page(TestResult {
            ok: false,
            summary: api_error_text(e),
        }),
    }
}

// ---- runs

struct RunView {
    id: i64,
    job: String,
    trigger: String,
    status: String,
    started: String,
    secs: String,
    items: u64,
    errors: usize,
}

impl RunView {
    fn of(r: &RunRow) -> RunView {
        RunView {
            id: r.id,
            job: r.job.clone(),
            trigger: r.trigger.clone(),
            status: r.status.clone(),
            started: when(r.started_at),
            secs: secs(r),
            items: items(r),
            errors: r.errors.as_array().map(Vec::len).unwrap_or(0),
        }
    }
}

struct Bar {
    id: i64,
    x: usize,
    x2: usize,
    dur_y: f64,
    dur_h: f64,
    items_y: f64,
    items_h: f64,
    secs: String,
    items: u64,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    job: String,
    runs: Vec<RunView>,
    bars: Vec<Bar>,
    chart_width: usize,
}

#[derive(Deserialize)]
struct RunsQuery {
    job: Option<String>,
}

async fn runs(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RunsQuery>,
) -> Response {
    let job = q.job.filter(|j| !j.is_empty());
    let rows = match sh.db.runs(job.as_deref(), 100).await {
        Ok(r) => r,
        Err(e) => return err_page(e),
    };
    // The chart: the last 30 ended runs, oldest left; bar heights relative to the largest.
    let ended: Vec<&RunRow> = rows
        .iter()
        .filter(|r| r.ended_at.is_some())
        .take(30)
        .collect();
    let max_ms = ended
        .iter()
        .filter_map(|r| Some(r.ended_at? - r.started_at?))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let max_items = ended.iter().map(|r| items(r)).max().unwrap_or(1).max(1) as f64;
    let bars = ended
        .iter()
        .rev()
        .enumerate()
        .map(|(i, r)| {
            let d = (r.ended_at.unwrap_or(0) - r.started_at.unwrap_or(0)).max(0) as f64;
            let dh = (d / max_ms * 110.0).max(1.0);
            let ih = (items(r) as f64 / max_items * 110.0).max(1.0);
            Bar {
                id: r.id,
                x: i * 26 + 2,
                x2: i * 26 + 13,
                dur_y: 120.0 - dh,
                dur_h: dh,
                items_y: 120.0 - ih,
                items_h: ih,
                secs: secs(r),
                items: items(r),
            }
        })
        .collect::<Vec<_>>();
    page(RunsPage {
        csrf: csrf_of(&sh, &headers),
        nav: "runs",
        flash: String::new(),
        job: job.unwrap_or_default(),
        chart_width: bars.len() * 26 + 4,
        runs: rows.iter().map(RunView::of).collect(),
        bars,
    })
}

struct LogView {
    at: String,
    run_id: i64,
    level: String,
    object: String,
    message: String,
}

fn log_views(rows: Vec<crate::db::LogRow>) -> Vec<LogView> {
    rows.into_iter()
        .map(|l| LogView {
            at: when(Some(l.at)),
            run_id: l.run_id,
            level: l.level,
            object: l.object.unwrap_or_default(),
            message: l.message,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    run: RunView,
    open: bool,
    live_lines: usize,
    counts: Vec<(String, String, String)>,
    requests: Vec<(String, String)>,
    errors: Vec<String>,
    logs: Vec<LogView>,
    levels: Vec<String>,
    level: String,
    object: String,
}

#[derive(Deserialize)]
struct LogQuery {
    run: Option<String>,
    level: Option<String>,
    object: Option<String>,
}

fn level_of(q: &LogQuery) -> Option<String> {
    q.level
        .clone()
        .filter(|l| ["info", "warn", "error"].contains(&l.as_str()))
}

async fn run(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (
            StatusCode::BAD_REQUEST,
            Html("<p>a run id is a number</p>".to_string()),
        )
            .into_response();
    };
    let row = match sh.db.run(id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, Html(format!("<p>no run #{id}</p>"))).into_response();
        }
        Err(e) => return err_page(e),
    };
    let level = level_of(&q);
    let object = q.object.clone().filter(|o| !o.is_empty());
    let logs = match sh
        .db
        .logs(&LogFilter {
            run_id: Some(id),
            level: level.clone(),
            object: object.clone(),
            limit: 2000,
        })
        .await
    {
        Ok(l) => l,
        Err(e) => return err_page(e),
    };
    let mut counts: Vec<(String, String, String)> = Vec::new();
    if let Some(rows) = row.counts.get("rows").and_then(Value::as_object) {
        let deleted = row
            .counts
            .get("deleted")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut tables: BTreeMap<&str, ()> = rows.keys().map(|k| (k.as_str(), ())).collect();
        tables.extend(deleted.keys().map(|k| (k.as_str(), ())));
        for t in tables.keys() {
            counts.push((
                t.to_string(),
                rows.get(*t)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "0".into()),
                deleted
                    .get(*t)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "0".into()),
            ));
        }
    } else if let Some(o) = row.counts.as_object() {
        for (k, v) in o {
            counts.push((k.clone(), v.to_string(), String::new()));
        }
    }
    let mut requests = Vec::new();
    if let Some(o) = row.requests.as_object() {
        for (k, v) in o {
            match v.as_object() {
                Some(inner) => requests.extend(
                    inner
                        .iter()
                        .map(|(k2, v2)| (format!("{k}: {k2}"), v2.to_string())),
                ),
                None => requests.push((k.clone(), v.to_string())),
            }
        }
    }
    let open = row.status == "running" || row.status == "queued";
    page(RunPage {
        csrf: csrf_of(&sh, &headers),
        nav: "runs",
        flash: String::new(),
        open,
        live_lines: logs.len(),
        counts,
        requests,
        errors: errors_of(&row),
        run: RunView::of(&row),
        logs: log_views(logs),
        levels: vec!["info".into(), "warn".into(), "error".into()],
        level: level.unwrap_or_default(),
        object: object.unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    logs: Vec<LogView>,
    levels: Vec<String>,
    level: String,
    object: String,
    run: String,
}

async fn logs(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LogQuery>,
) -> Response {
    let run = q.run.clone().filter(|r| !r.trim().is_empty());
    let run_id = match run.as_deref().map(|r| r.trim().parse::<i64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return (
                StatusCode::BAD_REQUEST,
                Html("<p>a run id is a number</p>".to_string()),
            )
                .into_response();
        }
    };
    let level = level_of(&q);
    let object = q.object.clone().filter(|o| !o.is_empty());
    match sh
        .db
        .logs(&LogFilter {
            run_id,
            level: level.clone(),
            object: object.clone(),
            limit: 2000,
        })
        .await
    {
        Ok(l) => page(LogsPage {
            csrf: csrf_of(&sh, &headers),
            nav: "logs",
            flash: String::new(),
            logs: log_views(l),
            levels: vec!["info".into(), "warn".into(), "error".into()],
            level: level.unwrap_or_default(),
            object: object.unwrap_or_default(),
            run: run.unwrap_or_default(),
        }),
        Err(e) => err_page(e),
    }
}

// ---- km search as a user

struct HitView {
    id: String,
    title: String,
    url: String,
    score: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    who: String,
    q: String,
    searched: bool,
    error: String,
    total: usize,
    hits: Vec<HitView>,
}

async fn search(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Query(mut q): Query<crate::api::KmSearchQuery>,
) -> Response {
    // The page shows up to 200 hits (the API's default is 20).
    q.limit = Some(q.limit.unwrap_or(200));
    let who = q.who.clone().unwrap_or_default();
    let text = q.q.clone().unwrap_or_default();
    let mut p = SearchPage {
        csrf: csrf_of(&sh, &headers),
        nav: "search",
        flash: String::new(),
        who: who.clone(),
        q: text,
        searched: false,
        error: String::new(),
        total: 0,
        hits: Vec::new(),
    };
    if q.who.is_some() {
        match crate::api::km_search_answer(&sh, q).await {
            Ok((_, _, ans)) => {
                p.searched = true;
                p.total = ans.total;
                p.hits = ans
                    .hits
                    .into_iter()
                    .map(|h| HitView {
                        id: h.id,
                        title: h.title,
                        url: h.url.unwrap_or_default(),
                        score: format!("{:.3}", h.score),
                    })
                    .collect();
            }
            Err(e) => p.error = e.text(),
        }
    }
    page(p)
}

// ---- sync links and conflicts

#[derive(Template)]
#[template(path = "sync.html")]
struct SyncPage {
    csrf: String,
    nav: &'static str,
    flash: String,
    links: Vec<kb_engine::sync::LinkStatus>,
    conflicts: Vec<kb_engine::sync::ConflictView>,
}

async fn sync_page(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Flash>,
) -> Response {
    let links = match crate::api::sync_links_list(&sh).await {
        Ok(l) => l,
        Err(e) => return err_page(e.text()),
    };
    let conflicts = match crate::api::sync_conflicts_list(
        &sh,
        crate::api::ConflictsQuery {
            link: None,
            open: Some(true),
        },
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return err_page(e.text()),
    };
    page(SyncPage {
        csrf: csrf_of(&sh, &headers),
        nav: "sync",
        flash: f.flash.unwrap_or_default(),
        links,
        conflicts,
    })
}

async fn resolve_conflict(
    State(sh): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = csrf_ok(&sh, &headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return back("/ui/sync", "A conflict id is a number.");
    };
    let Some(take) = f.get("take").cloned() else {
        return back("/ui/sync", "Choose the side to keep.");
    };
    let body = crate::api::ResolveBody {
        take,
        notion: None,
        confluence: None,
    };
    match crate::api::resolve_conflict(&sh, id, body).await {
        Ok(v) => back(
            "/ui/sync",
            &format!(
                "Conflict {id} resolved: {} written to both sides.",
                v["take"]
            ),
        ),
        Err(e) => back("/ui/sync", &api_error_text(e)),
    }
}
