//! The client of one site: one `reqwest::Client` (one connection pool), one limiter, one set
//! of counters, the retry loop.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::error::{HttpError, StatusError, TransportKind, redact_url, service_message};
use crate::events::{Event, Stats};
use crate::limiter::{Limiter, LimiterConfig};
use crate::retry::{Jitter, RetryPolicy, RetryReason, classify_status, retry_after};

/// How a client authenticates. The secret is turned into a header once, marked sensitive (so
/// `reqwest` and `http` never print it), and never shown by `Debug`.
#[derive(Clone)]
pub struct Auth(HeaderValue);

impl Auth {
    /// `Authorization: Basic base64(user:secret)` (Confluence Cloud: email and API token).
    pub fn basic(user: &str, secret: &SecretString) -> Result<Auth, HttpError> {
        let raw = format!("{user}:{}", secret.expose_secret());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        Auth::header(format!("Basic {encoded}"))
    }

    /// `Authorization: Bearer <token>` (Notion, Confluence Data Center personal access tokens).
    pub fn bearer(token: &SecretString) -> Result<Auth, HttpError> {
        Auth::header(format!("Bearer {}", token.expose_secret()))
    }

    fn header(value: String) -> Result<Auth, HttpError> {
        let mut v = HeaderValue::from_str(&value).map_err(|_| {
            HttpError::Config(
                "the credentials contain characters that cannot go in an HTTP header".into(),
            )
        })?;
        v.set_sensitive(true);
        Ok(Auth(v))
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self
            .0
            .to_str()
            .ok()
            .and_then(|s| s.split(' ').next())
            .unwrap_or("?");
        write!(f, "Auth({scheme} <redacted>)")
    }
}

/// Decides the hint of a status error, given the request that failed (e.g. 401 → "check
/// CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN"). Set by the client of a service.
pub type Hints = Arc<dyn Fn(u16, &Request) -> Option<String> + Send + Sync>;

/// Receives every [`Event`] (after it is counted): the client's sink, which logs it
/// ([`Event::log`]); a client without one logs its events itself.
pub type EventCallback = Arc<dyn Fn(&Event) + Send + Sync>;

/// A service client's own pacing, in front of the site limiter: [`Pacer::acquire`] runs before
/// every attempt (it may wait, e.g. for the budget of the request's endpoint class) and
/// [`Pacer::observe`] sees the status and headers of every answer (rate-limit headers, 429s).
/// With a pacer, a 429 no longer pauses the whole site: pausing is the pacer's business.
pub trait Pacer: Send + Sync {
    /// Waits until `req` may be sent.
    fn acquire<'a>(&'a self, req: &'a Request) -> futures_util::future::BoxFuture<'a, ()>;
    /// The answer to `req` (any status, also errors and 429s).
    fn observe(&self, req: &Request, status: u16, headers: &HeaderMap);
}

/// Everything about one site.
#[derive(Clone)]
pub struct SiteConfig {
    /// The service's base URL (e.g. `https://x.atlassian.net/wiki/`); relative paths given to
    /// [`Client::url`] are joined onto it. Relative `next` links resolve against its origin.
    pub base_url: Url,
    /// Rate and concurrency of the site.
    pub limits: LimiterConfig,
    /// When and how long to retry.
    pub retry: RetryPolicy,
    /// Time allowed for one attempt, answer body included (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Time allowed to connect.
    pub connect_timeout: Option<Duration>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The credentials, sent only to the origin (scheme, host, port) of `base_url`.
    pub auth: Option<Auth>,
    /// Origins a link may lead to (a download, a redirect, a `next` link) to be fetched
    /// *without* the credentials: the service's file hosts. A client with credentials refuses
    /// every other origin ([`HttpError::ForeignOrigin`]); a client without any fetches any
    /// http(s) origin.
    pub media_origins: Vec<Url>,
    /// The setting the base URL came from (`CONFLUENCE_URL`), named in the hints of connection
    /// failures; without it the hints name the URL.
    pub url_setting: Option<String>,
    /// Whether a failing answer's body has the service's own error shape (Notion's
    /// `{"object":"error",…}`). When set and an answer from the site does not, the hint says
    /// the URL may not be the service's (naming `url_setting`) instead of blaming the token.
    pub service_error_shape: Option<fn(&[u8]) -> bool>,
    /// Headers sent with every request (e.g. `Notion-Version`).
    pub default_headers: HeaderMap,
    /// The service client's own pacing (endpoint classes, learned limits), if any.
    pub pacer: Option<Arc<dyn Pacer>>,
}

impl SiteConfig {
    /// Defaults: 10 requests/s, burst 10, 4 in flight, 60 s per attempt, [`RetryPolicy::default`].
    pub fn new(base_url: Url) -> SiteConfig {
        SiteConfig {
            base_url,
            limits: LimiterConfig::default(),
            retry: RetryPolicy::default(),
            timeout: Some(Duration::from_secs(60)),
            connect_timeout: Some(Duration::from_secs(15)),
            user_agent: concat!("kbridge/", env!("CARGO_PKG_VERSION")).to_string(),
            auth: None,
            media_origins: Vec::new(),
            url_setting: None,
            service_error_shape: None,
            default_headers: HeaderMap::new(),
            pacer: None,
        }
    }
}

impl fmt::Debug for SiteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteConfig")
            .field("base_url", &redact_url(&self.base_url))
            .field("limits", &self.limits)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("auth", &self.auth)
            .field(
                "media_origins",
                &self
                    .media_origins
                    .iter()
                    .map(|u| u.origin().ascii_serialization())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// One request, kept whole so that every retry sends the same thing.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method (GET for listings).
    pub method: Method,
    /// The full URL, query included.
    pub url: Url,
    /// The endpoint label for events and counters; by default the method and the URL path with
    /// numeric ids replaced by `{id}`.
    pub endpoint: String,
    /// What is asked for, in words, for error messages ("page 123", "space ENG").
    pub object: Option<String>,
    /// Extra headers of this request (the auth header is added by the client).
    pub headers: HeaderMap,
    /// A JSON body.
    pub body: Option<Vec<u8>>,
    /// Whether sending it twice does no harm. Only idempotent requests are retried after a
    /// failure that may have reached the server (a reset, a cut body, a timeout, a 5xx other
    /// than 503); every request is retried after a 429, a 503 or a failed connect, which the
    /// server never acted on. Default: true for GET, HEAD, PUT, DELETE, OPTIONS; false for
    /// POST and PATCH (a Notion query, a POST that only reads, can say true).
    pub idempotent: bool,
}

impl Request {
    /// A request with the default endpoint label.
    pub fn new(method: Method, url: Url) -> Request {
        let endpoint = endpoint_label(&method, &url);
        let idempotent = !matches!(method, Method::POST | Method::PATCH);
        Request {
            method,
            url,
            endpoint,
            object: None,
            headers: HeaderMap::new(),
            body: None,
            idempotent,
        }
    }

    /// A GET.
    pub fn get(url: Url) -> Request {
        Request::new(Method::GET, url)
    }

    /// A request with a JSON body.
    pub fn json(method: Method, url: Url, body: &serde_json::Value) -> Request {
        let mut r = Request::new(method, url);
        r.body = Some(serde_json::to_vec(body).unwrap_or_default());
        r.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }

    /// A `multipart/form-data` request (file uploads), with the body built in memory so that a
    /// retry sends the same bytes. The boundary is derived from the content, so it never occurs
    /// in it.
    pub fn multipart(method: Method, url: Url, parts: &[Part<'_>]) -> Request {
        let mut r = Request::new(method, url);
        let boundary = boundary_for(parts);
        let mut body = Vec::new();
        for p in parts {
            body.extend_from_slice(b"--");
            body.extend_from_slice(boundary.as_bytes());
            body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
            body.extend_from_slice(quote_field(p.name).as_bytes());
            body.push(b'"');
            if let Some(f) = p.filename {
                body.extend_from_slice(b"; filename=\"");
                body.extend_from_slice(quote_field(f).as_bytes());
                body.push(b'"');
            }
            body.extend_from_slice(b"\r\n");
            if let Some(ct) = p.content_type {
                body.extend_from_slice(b"Content-Type: ");
                body.extend_from_slice(ct.as_bytes());
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(p.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"--\r\n");
        r.body = Some(body);
        if let Ok(v) = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")) {
            r.headers.insert(reqwest::header::CONTENT_TYPE, v);
        }
        r
    }

    /// Appends a query parameter.
    pub fn query(mut self, key: &str, value: impl AsRef<str>) -> Request {
        self.url.query_pairs_mut().append_pair(key, value.as_ref());
        self
    }

    /// Sets (replaces) a query parameter.
    pub fn set_query(mut self, key: &str, value: impl AsRef<str>) -> Request {
        set_query(&mut self.url, key, Some(value.as_ref()));
        self
    }

    /// Overrides the endpoint label of events and counters.
    pub fn endpoint(mut self, label: impl Into<String>) -> Request {
        self.endpoint = label.into();
        self
    }

    /// Says what is asked for ("page 123"), for error messages and hints.
    pub fn object(mut self, what: impl Into<String>) -> Request {
        self.object = Some(what.into());
        self
    }

    /// Marks the request as safe (or not) to send twice; see [`Request::idempotent`].
    pub fn idempotent(mut self, yes: bool) -> Request {
        self.idempotent = yes;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Request {
        self.headers.insert(name, value);
        self
    }
}

/// One field of a [`Request::multipart`] body.
#[derive(Clone, Copy, Debug)]
pub struct Part<'a> {
    /// The form field name (`file`, `comment`, `minorEdit`…).
    pub name: &'a str,
    /// The file name, for a file field.
    pub filename: Option<&'a str>,
    /// The part's content type (`application/octet-stream`, `image/png`…).
    pub content_type: Option<&'a str>,
    /// The bytes.
    pub data: &'a [u8],
}

/// A boundary that occurs in none of the parts: a hash of their content, lengthened until it
/// is absent.
fn boundary_for(parts: &[Part<'_>]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.data.iter().take(4096) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mut boundary = format!("kbridge-{h:016x}");
    while parts.iter().any(|p| contains(p.data, boundary.as_bytes())) {
        h = h.rotate_left(17).wrapping_mul(0x0100_0000_01b3) ^ 0x9e37_79b9;
        boundary.push_str(&format!("{:04x}", h & 0xffff));
    }
    boundary
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A form field name or file name inside double quotes. A quote is escaped as an RFC 9110
/// quoted-pair (`\"`), which the servers' multipart parsers (Jersey, Commons FileUpload, multer)
/// read back as a quote; the browsers' `%22` is not decoded by them, so a file named `a "b".txt`
/// was stored as `a %22b%22.txt` while the page referenced `a "b".txt`. A backslash is sent as
/// is (it escapes nothing but a quote for those parsers). Line breaks cannot be in a header
/// value: `%0D`/`%0A`, and the caller compares the name the service stored with the one it sent.
fn quote_field(s: &str) -> String {
    s.replace('"', "\\\"")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Replaces (or with `None` removes) a query parameter, keeping the others in order.
pub fn set_query(url: &mut Url, key: &str, value: Option<&str>) {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some(v) = value {
        pairs.push((key.to_string(), v.to_string()));
    }
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
}

/// `GET /wiki/api/v2/pages/{id}/versions` from `GET …/pages/123/versions?limit=5`.
pub fn endpoint_label(method: &Method, url: &Url) -> String {
    let path: Vec<String> = url
        .path_segments()
        .map(|segs| {
            segs.map(|s| {
                let digits = s.trim_start_matches("att");
                let uuidish = s.len() >= 32 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
                if (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())) || uuidish {
                    "{id}".to_string()
                } else {
                    s.to_string()
                }
            })
            .collect()
        })
        .unwrap_or_default();
    format!("{method} /{}", path.join("/"))
}

/// A successful answer, read whole.
#[derive(Clone, Debug)]
pub struct Response {
    /// The HTTP status (2xx).
    pub status: u16,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
    /// The URL that answered.
    pub url: Url,
}

impl Response {
    /// The body as `T`; a mismatch names the URL and the JSON path.
    pub fn json<T: DeserializeOwned>(&self, method: &Method) -> Result<T, HttpError> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de).map_err(|e| HttpError::Decode {
            method: method.to_string(),
            url: redact_url(&self.url),
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }
}

struct Inner {
    http: reqwest::Client,
    cfg: SiteConfig,
    limiter: Limiter,
    stats: Stats,
    jitter: Jitter,
    hints: Option<Hints>,
    on_event: Option<EventCallback>,
    /// Whether the site has answered once (any status): connection failures before that are
    /// most likely a wrong URL and get a short retry.
    answered: AtomicBool,
    /// The newest `Date` an answer carried (epoch ms, the server's clock; 0: none yet).
    server_date_ms: std::sync::atomic::AtomicI64,
}

/// The client of one site. Cheap to clone: clones share the pool, the limiter and the counters.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

enum Attempt<T> {
    Done(T),
    Retry {
        reason: RetryReason,
        retry_after: Option<Duration>,
        error: HttpError,
    },
    Fail(HttpError),
}

impl Client {
    /// A client without hints or event callback.
    pub fn new(cfg: SiteConfig) -> Result<Client, HttpError> {
        Client::build(cfg, None, None)
    }

    /// A client with a hint function for status errors and an event callback.
    pub fn build(
        cfg: SiteConfig,
        hints: Option<Hints>,
        on_event: Option<EventCallback>,
    ) -> Result<Client, HttpError> {
        if cfg.base_url.cannot_be_a_base() || !matches!(cfg.base_url.scheme(), "http" | "https") {
            return Err(HttpError::InvalidUrl {
                url: redact_url(&cfg.base_url),
                message: "an http:// or https:// base URL is needed".into(),
            });
        }
        // Redirects are followed by hand, each hop under the origin rule (credentials only
        // to the site, other origins only when they are file hosts).
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(cfg.user_agent.clone())
            .default_headers(cfg.default_headers.clone());
        if let Some(t) = cfg.connect_timeout {
            b = b.connect_timeout(t);
        }
        let http = b.build().map_err(|e| HttpError::Config(e.to_string()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                limiter: Limiter::new(&cfg.limits),
                jitter: Jitter::new(cfg.retry.jitter_seed),
                stats: Stats::default(),
                answered: AtomicBool::new(false),
                server_date_ms: std::sync::atomic::AtomicI64::new(0),
                cfg,
                hints,
                on_event,
            }),
        })
    }

    /// The site's configuration.
    pub fn config(&self) -> &SiteConfig {
        &self.inner.cfg
    }

    /// The counters of this site.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// The server's clock as of the newest answer so far (its `Date` header, whole seconds;
    /// epoch ms), or `None` before any answer carried one. A time taken before a listing starts
    /// is at or before everything the listing sees, by the server's own clock.
    pub fn server_clock_ms(&self) -> Option<i64> {
        match self.inner.server_date_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(ms),
        }
    }

    /// The limiter of this site.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// `path` (relative, e.g. `api/v2/pages`) joined onto the base URL.
    pub fn url(&self, path: &str) -> Result<Url, HttpError> {
        let base = &self.inner.cfg.base_url;
        let mut b = base.clone();
        if !b.path().ends_with('/') {
            b.set_path(&format!("{}/", b.path()));
        }
        b.join(path.trim_start_matches('/'))
            .map_err(|e| HttpError::InvalidUrl {
                url: format!("{}{}", redact_url(base), path),
                message: e.to_string(),
            })
    }

    /// A link as a service returns it: absolute, or relative to the site's origin (a path
    /// starting with `/`), resolved to a full URL.
    pub fn resolve(&self, link: &str) -> Result<Url, HttpError> {
        self.inner
            .cfg
            .base_url
            .join(link)
            .map_err(|e| HttpError::InvalidUrl {
                url: link.to_string(),
                message: e.to_string(),
            })
    }

    /// Counts `event` and hands it to the sink, which logs it; without a sink, logs it here.
    fn emit(&self, event: Event) {
        self.inner.stats.record(&event);
        match &self.inner.on_event {
            Some(cb) => cb(&event),
            None => event.log(),
        }
    }

    /// Sends `req` under the limiter and the retry policy; a success (2xx) comes back read
    /// whole, anything else as a typed error.
    pub async fn send(&self, req: &Request) -> Result<Response, HttpError> {
        let timeout = self.inner.cfg.timeout;
        self.run(req, timeout, || self.exchange(req)).await
    }

    /// The retry loop around one kind of exchange (`op`: read whole, or stream to a file).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        req: &Request,
        timeout: Option<Duration>,
        mut op: F,
    ) -> Result<T, HttpError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Answer<T>, HttpError>>,
    {
        let policy = &self.inner.cfg.retry;
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = {
                if let Some(p) = &self.inner.cfg.pacer {
                    p.acquire(req).await;
                }
                let _permit = self.inner.limiter.acquire().await;
                self.attempt(req, attempt, timeout, op()).await
            };
            let (reason, after, error) = match outcome {
                Attempt::Done(r) => return Ok(r),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry {
                    reason,
                    retry_after,
                    error,
                } => (reason, retry_after, error),
            };
            let delay = policy.delay(reason, attempt, after, &self.inner.jitter);
            if reason == RetryReason::RateLimited {
                let pause = after.unwrap_or(delay).min(policy.max_retry_after);
                if self.inner.cfg.pacer.is_none() {
                    self.inner.limiter.pause_for(pause);
                }
                self.emit(Event::RateLimited {
                    endpoint: req.endpoint.clone(),
                    retry_after: after,
                    pause,
                });
            }
            // A site that never answered and refuses connections is most likely a wrong
            // URL: a short bounded retry, then the hint.
            let cold_connect = !self.inner.answered.load(Ordering::Relaxed)
                && error
                    .transport_kind()
                    .is_some_and(TransportKind::is_connect);
            let max = if cold_connect {
                policy
                    .cold_connect_attempts
                    .clamp(1, policy.max_attempts.max(1))
            } else {
                policy.max_attempts.max(1)
            };
            let elapsed = Instant::now() - started;
            if attempt >= max || elapsed + delay > policy.max_elapsed {
                self.emit(Event::GaveUp {
                    endpoint: req.endpoint.clone(),
                    attempts: attempt,
                    reason: reason.to_string(),
                });
                if attempt == 1 {
                    return Err(error);
                }
                return Err(HttpError::RetriesExhausted {
                    method: req.method.to_string(),
                    url: redact_url(&req.url),
                    attempts: attempt,
                    elapsed,
                    last: Box::new(error),
                });
            }
            self.emit(Event::Retried {
                endpoint: req.endpoint.clone(),
                attempt,
                reason,
                delay,
            });
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends `req` and decodes the JSON answer as `T`.
    pub async fn json<T: DeserializeOwned>(&self, req: &Request) -> Result<T, HttpError> {
        self.send(req).await?.json(&req.method)
    }

    async fn attempt<T>(
        &self,
        req: &Request,
        attempt: u32,
        timeout: Option<Duration>,
        fut: impl Future<Output = Result<Answer<T>, HttpError>>,
    ) -> Attempt<T> {
        let t0 = Instant::now();
        let result = match timeout {
            Some(limit) => match tokio::time::timeout(limit, fut).await {
                Ok(r) => r,
                Err(_) => Err(HttpError::Timeout {
                    method: req.method.to_string(),
                    url: redact_url(&req.url),
                    timeout: limit,
                    hint: Some(self.timeout_hint(&req.url, limit)),
                }),
            },
            None => fut.await,
        };
        let elapsed = Instant::now() - t0;
        let status = match &result {
            Ok(r) => r.status,
            Err(_) => 0,
        };
        // A link refused before anything was sent is not a request.
        if !matches!(
            result,
            Err(HttpError::ForeignOrigin { .. } | HttpError::InvalidUrl { .. })
        ) {
            self.emit(Event::RequestDone {
                endpoint: req.endpoint.clone(),
                status,
                elapsed,
                attempt,
            });
        }
        if let Ok(r) = &result {
            if let Some(p) = &self.inner.cfg.pacer {
                p.observe(req, r.status, &r.headers);
            }
            self.inner.answered.store(true, Ordering::Relaxed);
            if let Some(ms) = r
                .headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            {
                self.inner
                    .server_date_ms
                    .fetch_max(ms.as_millis() as i64, Ordering::Relaxed);
            }
            if ["x-ratelimit-nearlimit", "x-beta-ratelimit-nearlimit"]
                .iter()
                .any(|h| {
                    r.headers
                        .get(*h)
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
                })
            {
                self.emit(Event::NearLimit {
                    endpoint: req.endpoint.clone(),
                });
            }
        }
        let answered = self.inner.answered.load(Ordering::Relaxed);
        match result {
            Err(e @ HttpError::Timeout { .. }) if req.idempotent => Attempt::Retry {
                reason: RetryReason::Timeout,
                retry_after: None,
                error: e,
            },
            // TLS never heals by itself; a name that does not resolve is retried only on a
            // site that has answered before (a passing resolver failure).
            Err(
                e @ HttpError::Transport {
                    kind: TransportKind::TlsToPlainHttp | TransportKind::Tls,
                    ..
                },
            ) => Attempt::Fail(e),
            Err(
                e @ HttpError::Transport {
                    kind: TransportKind::Dns,
                    ..
                },
            ) if !answered => Attempt::Fail(e),
            Err(e @ HttpError::Transport { kind, .. }) if kind.is_connect() || req.idempotent => {
                Attempt::Retry {
                    reason: RetryReason::Transport,
                    retry_after: None,
                    error: e,
                }
            }
            Err(e) => Attempt::Fail(e),
            Ok(Answer {
                outcome: Ok(value), ..
            }) => Attempt::Done(value),
            Ok(Answer {
                status,
                headers,
                outcome: Err(body),
                ..
            }) => {
                let after = retry_after(&headers);
                let error = HttpError::Status(Box::new(StatusError {
                    method: req.method.to_string(),
                    url: redact_url(&req.url),
                    status,
                    object: req.object.clone(),
                    message: service_message(&body),
                    hint: self.status_hint(status, req, &body),
                    retry_after: after,
                }));
                match classify_status(status) {
                    Some(RetryReason::ServerError(_)) if !req.idempotent => Attempt::Fail(error),
                    Some(reason) => Attempt::Retry {
                        reason,
                        retry_after: after,
                        error,
                    },
                    None => Attempt::Fail(error),
                }
            }
        }
    }

    /// The hint of a failing status: the service client's, unless the answer is not the
    /// service's at all (a wrong URL answering 401 is not a wrong token).
    fn status_hint(&self, status: u16, req: &Request, body: &[u8]) -> Option<String> {
        let cfg = &self.inner.cfg;
        if let Some(is_service) = cfg.service_error_shape
            && req.url.origin() == cfg.base_url.origin()
            && !matches!(status, 429 | 502..=504)
            && !is_service(body)
        {
            return Some(format!(
                "the answer ({status}) does not come from the service's API (not its error shape): is {} its URL? Check {}",
                redact_url(&cfg.base_url),
                self.setting_for(&req.url)
            ));
        }
        self.inner.hints.as_ref().and_then(|h| h(status, req))
    }

    /// What a failure on `url` should check: the site's URL setting when `url` is on the site,
    /// else the link itself.
    fn setting_for(&self, url: &Url) -> String {
        let cfg = &self.inner.cfg;
        if url.origin() == cfg.base_url.origin() {
            match &cfg.url_setting {
                Some(s) => s.clone(),
                None => format!("the URL {}", redact_url(&cfg.base_url)),
            }
        } else {
            format!("the link {}", redact_url(url))
        }
    }

    pub(crate) fn timeout_hint(&self, url: &Url, limit: Duration) -> String {
        format!(
            "no answer within {}s: check {} and the network (a slow service: the limit is per attempt)",
            limit.as_secs_f64(),
            self.setting_for(url)
        )
    }

    pub(crate) fn transport_error(
        &self,
        method: &Method,
        url: &Url,
        kind: TransportKind,
        e: reqwest::Error,
    ) -> HttpError {
        HttpError::Transport {
            method: method.to_string(),
            url: redact_url(url),
            kind,
            // A classified connection failure needs only its root cause ("Connection refused
            // (os error 111)"); the layers above it say "error sending request" again.
            message: if kind.is_connect() && kind != TransportKind::Connect {
                root_cause(&e)
            } else {
                describe(e)
            },
            hint: Some(kind.hint(&self.setting_for(url), url)),
        }
    }

    /// Whether a request to `url` carries the credentials: yes on the site's origin, no on a
    /// file host; any other origin is refused (a client without credentials goes anywhere).
    fn credentials_for(&self, method: &Method, url: &Url) -> Result<Option<&Auth>, HttpError> {
        let cfg = &self.inner.cfg;
        let Some(auth) = &cfg.auth else {
            return Ok(None);
        };
        let origin = url.origin();
        if origin == cfg.base_url.origin() {
            return Ok(Some(auth));
        }
        if cfg.media_origins.iter().any(|m| m.origin() == origin) {
            return Ok(None);
        }
        Err(HttpError::ForeignOrigin {
            method: method.to_string(),
            url: redact_url(url),
            site: cfg.base_url.origin().ascii_serialization(),
        })
    }

    /// Sends the request and follows redirects (at most [`MAX_REDIRECTS`]), each hop under the
    /// origin rule; gives the answer (headers read, body not) and the URL that answered.
    pub(crate) async fn open(&self, req: &Request) -> Result<(reqwest::Response, Url), HttpError> {
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        let mut body = req.body.clone();
        let mut headers = req.headers.clone();
        let mut hops = 0;
        loop {
            let credentials = self.credentials_for(&method, &url)?;
            let mut b = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(auth) = credentials {
                b = b.header(reqwest::header::AUTHORIZATION, auth.0.clone());
            }
            if let Some(body) = &body {
                b = b.body(body.clone());
            }
            let resp = b
                .send()
                .await
                .map_err(|e| self.transport_error(&method, &url, send_kind(&e, &url), e))?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let (true, Some(location)) = (matches!(status, 301 | 302 | 303 | 307 | 308), location)
            else {
                return Ok((resp, url));
            };
            hops += 1;
            let bad = |message: String| HttpError::InvalidUrl {
                url: redact_url(&url),
                message,
            };
            if hops > MAX_REDIRECTS {
                return Err(bad(format!("more than {MAX_REDIRECTS} redirects")));
            }
            let next = url.join(&location).map_err(|e| {
                bad(format!(
                    "it redirects ({status}) to a Location that is not a URL: {e}"
                ))
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(bad(format!(
                    "it redirects ({status}) to a {} URL",
                    next.scheme()
                )));
            }
            if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                method = Method::GET;
                body = None;
                headers.remove(reqwest::header::CONTENT_TYPE);
            }
            url = next;
        }
    }

    /// One exchange: send (redirects followed), read the whole body.
    async fn exchange(&self, req: &Request) -> Result<Answer<Response>, HttpError> {
        let (resp, url) = self.open(req).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(&req.method, &url, TransportKind::Body, e))?
            .to_vec();
        let outcome = if (200..300).contains(&status) {
            Ok(Response {
                status,
                headers: headers.clone(),
                body,
                url,
            })
        } else {
            Err(body)
        };
        Ok(Answer {
            status,
            headers,
            outcome,
        })
    }
}

/// Redirects followed for one request at most.
pub const MAX_REDIRECTS: usize = 10;

/// What one exchange gave: the status and headers, and the value of a success or the body of
/// a failing answer.
pub(crate) struct Answer<T> {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) outcome: Result<T, Vec<u8>>,
}

/// The kind of a failed send, from reqwest's error and its causes.
fn send_kind(e: &reqwest::Error, url: &Url) -> TransportKind {
    if !e.is_connect() {
        if e.is_timeout() {
            return TransportKind::ConnectTimeout;
        }
        return if e.is_body() || e.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Request
        };
    }
    let mut refused = false;
    let mut text = String::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = src {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
            if io.kind() == std::io::ErrorKind::TimedOut {
                return TransportKind::ConnectTimeout;
            }
        }
        text.push_str(&cause.to_string().to_ascii_lowercase());
        text.push('\n');
        src = cause.source();
    }
    if refused || text.contains("connection refused") {
        TransportKind::Refused
    } else if text.contains("dns error")
        || text.contains("failed to lookup address")
        || text.contains("name or service not known")
        || text.contains("no address associated")
    {
        TransportKind::Dns
    } else if e.is_timeout() || text.contains("timed out") {
        TransportKind::ConnectTimeout
    } else if url.scheme() == "https"
        && (text.contains("invalidcontenttype")
            || text.contains("corrupt message")
            || text.contains("wrong version number")
            || text.contains("http request to an https server"))
    {
        TransportKind::TlsToPlainHttp
    } else if text.contains("tls")
        || text.contains("certificate")
        || text.contains("handshake")
        || text.contains("rustls")
    {
        TransportKind::Tls
    } else {
        TransportKind::Connect
    }
}

/// The innermost cause of an error, as words.
fn root_cause(e: &reqwest::Error) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// A reqwest error as words, with its causes, without the URL (the caller prints it redacted).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_boundary_never_occurs_in_the_content() {
        let url = Url::parse("http://127.0.0.1/upload").unwrap();
        let plain = Request::multipart(
            Method::POST,
            url.clone(),
            &[Part {
                name: "file",
                filename: Some("a \"b\".txt"),
                content_type: Some("text/plain"),
                data: b"hello",
            }],
        );
        let ct = plain.headers[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap();
        let boundary = ct.split("boundary=").nth(1).unwrap().to_string();
        // Content that contains the boundary the first body used.
        let tricky = format!("x--{boundary}\r\ny");
        let r = Request::multipart(
            Method::POST,
            url,
            &[Part {
                name: "file",
                filename: Some("t.bin"),
                content_type: None,
                data: tricky.as_bytes(),
            }],
        );
        let ct = r.headers[reqwest::header::CONTENT_TYPE].to_str().unwrap();
        let b2 = ct.split("boundary=").nth(1).unwrap();
        assert!(!tricky.contains(b2), "boundary {b2} occurs in the content");
        let body = String::from_utf8(r.body.unwrap()).unwrap();
        assert!(body.starts_with(&format!("--{b2}\r\n")));
        assert!(body.ends_with(&format!("--{b2}--\r\n")));
        assert!(body.contains(&tricky));
        let first = String::from_utf8(plain.body.unwrap()).unwrap();
        assert!(first.contains("filename=\"a \\\"b\\\".txt\""), "{first}");
        assert!(
            !plain.idempotent,
            "a POST upload is not retried after it may have arrived"
        );
    }
}
