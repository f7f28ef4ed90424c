//! Webhook emission: the twin POSTs events to registered receivers, the way Confluence Data
//! Center, Confluence Cloud apps and Notion integrations receive them.
//!
//! A receiver is registered with `POST /__sim/webhooks`, from [`crate::SimConfig::webhooks`], or
//! with `kbridge sim --webhook KIND=URL`. It has a kind (the shape and signature of what it
//! gets), an optional secret, an optional list of event names it wants, a delivery delay, a
//! duplication probability (the same event id delivered twice) and a reordering window (events
//! shuffled within windows of that size, deterministically from the seed; a window is closed
//! when full or after 1 s without events). Each receiver has one
//! background task that delivers its events one after the other, retrying non-2xx answers and
//! connection errors with exponential backoff, and records every delivery in a log
//! (`GET /__sim/webhooks/deliveries`).
//!
//! - `confluence_dc`: Server/Data Center 7.7+ webhooks: `{timestamp, event, userKey, <entity>}`
//!   with ID-only entities (what recent DC builds send), signed with
//!   `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>` when a secret is set.
//! - `confluence_cloud`: Connect-style app webhooks: `{timestamp, userAccountId, accountType,
//!   <entity>}` with the entity's summary (no body), and, when a secret (the app's shared
//!   secret) is set, `Authorization: JWT <HS256 token with a qsh claim>`.
//! - `notion`: Notion integration webhooks: first one unsigned verification request
//!   `{"verification_token": …}`, then envelopes (see [`notion_envelope`]) signed with
//!   `X-Notion-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed with the token>`.
//!
//! Every delivery also carries `X-Sim-Event-Id` (the twin's own header, not a real service's) so
//! that a test can recognise a duplicate. Secrets are never listed, logged or echoed.

use std::collections::{BTreeMap, VecDeque};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::rng::{Rng, mix};

/// What shape and signature a receiver gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverKind {
    ConfluenceDc,
    ConfluenceCloud,
    Notion,
}

impl ReceiverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverKind::ConfluenceDc => "confluence_dc",
            ReceiverKind::ConfluenceCloud => "confluence_cloud",
            ReceiverKind::Notion => "notion",
        }
    }
    /// Attempts per event when the receiver does not say: Cloud apps' webhooks are "best
    /// effort" (no retry, per Atlassian's Connect docs); Notion retries up to 8 times; the DC
    /// retry policy is not documented, the twin tries 3 times.
    pub fn default_attempts(self) -> u32 {
        match self {
            ReceiverKind::ConfluenceDc => 3,
            ReceiverKind::ConfluenceCloud => 1,
            ReceiverKind::Notion => 8,
        }
    }
}

/// A receiver as registered (`POST /__sim/webhooks` body, `SimConfig::webhooks`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Where to POST (http or https).
    pub url: String,
    pub kind: ReceiverKind,
    /// DC: the HMAC secret; Cloud: the app's shared secret (JWT); Notion: the verification
    /// token (generated from the seed when absent).
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
    /// Event names to deliver (`page_created`, `page.content_updated`…); empty = all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Each event is delivered no earlier than this after the change.
    #[serde(default)]
    pub delay_ms: u64,
    /// Probability that an event is delivered a second time (same event id).
    #[serde(default)]
    pub duplicate: f64,
    /// Events are shuffled within windows of this many (0 or 1: in order).
    #[serde(default)]
    pub reorder: usize,
    /// Attempts per event (default per kind: DC 3, Cloud 1, Notion 8).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// First retry delay; doubles each attempt (default 200 ms; the real services wait
    /// minutes, the twin compresses time).
    #[serde(default)]
    pub backoff_ms: Option<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WebhookError {
    #[error(
        "bad webhook receiver {given:?}: {why} (expected KIND=URL, KIND one of confluence_dc, confluence_cloud, notion)"
    )]
    Spec { given: String, why: String },
    #[error("bad webhook receiver: {0}")]
    Invalid(String),
}

impl ReceiverConfig {
    pub fn new(kind: ReceiverKind, url: impl Into<String>) -> Self {
        ReceiverConfig {
            url: url.into(),
            kind,
            secret: None,
            events: Vec::new(),
            delay_ms: 0,
            duplicate: 0.0,
            reorder: 0,
            max_attempts: None,
            backoff_ms: None,
        }
    }

    /// Checks what cannot be right: the URL, the probability, the attempts.
    pub fn validate(&self) -> Result<(), WebhookError> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| WebhookError::Invalid(format!("url {:?}: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebhookError::Invalid(format!(
                "url {:?}: use http or https",
                self.url
            )));
        }
        if !(0.0..=1.0).contains(&self.duplicate) {
            return Err(WebhookError::Invalid(format!(
                "duplicate must be a probability between 0 and 1, was {}",
                self.duplicate
            )));
        }
        if self.max_attempts == Some(0) || self.max_attempts.is_some_and(|a| a > 20) {
            return Err(WebhookError::Invalid(
                "max_attempts must be between 1 and 20".into(),
            ));
        }
        if self.reorder > 1000 {
            return Err(WebhookError::Invalid(
                "reorder must be a window of at most 1000 events".into(),
            ));
        }
        if self.secret.as_ref().is_some_and(|s| s.len() > 255) {
            return Err(WebhookError::Invalid(
                "secret must be 255 characters or fewer".into(),
            ));
        }
        Ok(())
    }

    fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// `KIND=URL` (`kbridge sim --webhook confluence_dc=http://127.0.0.1:9000/hook`).
impl FromStr for ReceiverConfig {
    type Err = WebhookError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| WebhookError::Spec {
            given: s.to_string(),
            why: why.to_string(),
        };
        let (kind, url) = s.split_once('=').ok_or_else(|| err("missing '='"))?;
        let kind = match kind.trim() {
            "confluence_dc" | "dc" => ReceiverKind::ConfluenceDc,
            "confluence_cloud" | "cloud" => ReceiverKind::ConfluenceCloud,
            "notion" => ReceiverKind::Notion,
            _ => return Err(err("unknown kind")),
        };
        let r = ReceiverConfig::new(kind, url.trim());
        r.validate().map_err(|e| err(&e.to_string()))?;
        Ok(r)
    }
}

// ---------------------------------------------------------------------------------------------
// Events

/// A change of Confluence content, as the twin's writes report it. `entities` are the payload's
/// entity objects in their Cloud (full summary) shape, keyed as in the payload (`page`, `blog`,
/// `comment`, `attachment`, `attachedTo`, `label`, `labeled`, `content`, `space`); the DC
/// rendering keeps only their ids.
#[derive(Clone, Debug)]
pub struct ConfluenceEvent {
    /// The event name, e.g. `page_created`, `page_removed` (to the trash), `page_trashed`
    /// (purged), `comment_created`, `attachment_created`, `label_added`.
    pub event: String,
    /// Epoch ms.
    pub timestamp: i64,
    /// Account id of who made the change.
    pub user: String,
    pub entities: Vec<(String, Value)>,
    /// Other top-level fields (`updateTrigger`, `oldParent`, `newParent`…).
    pub extra: Vec<(String, Value)>,
}

/// The DC (Server/Data Center 7.7+) body: ID-only entities, as recent DC builds send unless
/// `confluence.webhooks.id.only.disabled=true`.
pub fn dc_payload(e: &ConfluenceEvent) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("timestamp".into(), json!(e.timestamp));
    m.insert("event".into(), json!(e.event));
    m.insert("userKey".into(), json!(e.user));
    for (k, v) in &e.entities {
        m.insert(k.clone(), id_only(v));
    }
    for (k, v) in &e.extra {
        m.insert(k.clone(), id_only(v));
    }
    Value::Object(m)
}

/// `{"id": 123}` (a number, as DC sends it) for an entity; arrays element-wise; labels keep
/// their name and prefix (they have no content id).
fn id_only(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(id_only).collect()),
        Value::Object(o) => match o.get("id") {
            Some(id) => {
                let id = id
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .map(Value::from)
                    .unwrap_or_else(|| id.clone());
                json!({ "id": id })
            }
            None => v.clone(),
        },
        other => other.clone(),
    }
}

/// The Cloud (Connect-style) body: `{timestamp, userAccountId, accountType, <entities>…}`.
/// The shape follows the community clients' structs; Atlassian does not publish it.
pub fn cloud_payload(e: &ConfluenceEvent) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("timestamp".into(), json!(e.timestamp));
    m.insert("event".into(), json!(e.event));
    m.insert("userAccountId".into(), json!(e.user));
    m.insert("accountType".into(), json!("atlassian"));
    for (k, v) in &e.extra {
        m.insert(k.clone(), v.clone());
    }
    for (k, v) in &e.entities {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

/// A change on the Notion side, in the fields a Notion twin's change record carries (so that
/// its `NotionChange` maps onto it one to one).
#[derive(Clone, Debug, PartialEq)]
pub struct NotionEventInput {
    /// `page.created`, `page.content_updated`, `database.schema_updated`, `comment.created`…
    pub event_type: String,
    pub entity_id: String,
    /// `page`, `database`, `data_source`, `block`, `comment`, `file_upload`, `view`.
    pub entity_type: String,
    /// `data.parent`: `{id, type}` of the entity's parent, if any.
    pub parent: Option<NotionRef>,
    /// Who made the change: `{id, type: person|bot|agent}`; usually one.
    pub authors: Vec<NotionRef>,
    /// Epoch ms.
    pub timestamp: i64,
    /// More `data` fields (`updated_blocks`, `updated_properties`, `page_id`…).
    pub data: serde_json::Map<String, Value>,
}

/// An `{id, type}` reference in a Notion webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotionRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// The workspace and integration a Notion envelope names.
#[derive(Clone, Debug, PartialEq)]
pub struct NotionWorkspace {
    pub workspace_id: String,
    pub workspace_name: String,
    pub integration_id: String,
    pub api_version: String,
}

impl NotionWorkspace {
    /// A workspace derived from the seed.
    pub fn from_seed(seed: u64) -> Self {
        let mut r = Rng::stream(seed, 0x0_5e_b0_0c);
        NotionWorkspace {
            workspace_id: r.uuid(),
            workspace_name: "kbridge sim workspace".into(),
            integration_id: r.uuid(),
            api_version: "2025-09-03".into(),
        }
    }
}

/// A Notion integration webhook envelope (`{id, timestamp, workspace_id, workspace_name,
/// subscription_id, integration_id, type, authors, accessible_by, attempt_number, api_version,
/// entity {id, type}, data {…}}`).
pub fn notion_envelope(
    e: &NotionEventInput,
    ws: &NotionWorkspace,
    event_id: &str,
    subscription_id: &str,
    attempt_number: u32,
) -> Value {
    let mut data = serde_json::Map::new();
    if let Some(p) = &e.parent {
        data.insert("parent".into(), json!({"id": p.id, "type": p.kind}));
    }
    for (k, v) in &e.data {
        data.insert(k.clone(), v.clone());
    }
    json!({
        "id": event_id,
        "timestamp": crate::time::iso(e.timestamp),
        "workspace_id": ws.workspace_id,
        "workspace_name": ws.workspace_name,
        "subscription_id": subscription_id,
        "integration_id": ws.integration_id,
        "type": e.event_type,
        "authors": e.authors,
        "accessible_by": e.authors.iter().filter(|a| a.kind == "person").map(|a| json!({"id": a.id, "type": a.kind})).collect::<Vec<_>>(),
        "attempt_number": attempt_number,
        "api_version": ws.api_version,
        "entity": {"id": e.entity_id, "type": e.entity_type},
        "data": data,
    })
}

/// `sha256=<hex HMAC-SHA256 of body keyed with secret>`: `X-Hub-Signature` (DC) and
/// `X-Notion-Signature` (Notion) alike.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Connect JWT (HS256) for a POST to `url`: `iss`, `iat`, `exp` and the `qsh` query hash.
pub fn connect_jwt(secret: &str, url: &reqwest::Url, now_s: i64) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "jwt")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    let enc = |s: &str| -> String {
        form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    let qsh = hex::encode(Sha256::digest(format!("POST&{path}&{query}").as_bytes()));
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"iss": "kbridge-sim", "iat": now_s, "exp": now_s + 180, "qsh": qsh}).to_string(),
    );
    let signing_input = format!("{header}.{claims}");
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// One event on its way to one receiver.
struct Job {
    event_id: String,
    event: String,
    /// The body; for Notion, `attempt_number` is rewritten per attempt.
    body: Value,
    emitted: Instant,
    seq: u64,
}

/// One line of the delivery log.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub event_id: String,
    pub event: String,
    pub receiver: u64,
    pub kind: ReceiverKind,
    /// The last answer's status; 0 when the connection failed.
    pub status: u16,
    pub attempts: u32,
    pub delivered: bool,
    /// The second delivery of a duplicated event.
    pub duplicate: bool,
    /// The unsigned Notion verification request.
    pub verification: bool,
}

#[derive(Default, Clone, Copy, Serialize)]
struct Counts {
    events: u64,
    deliveries: u64,
    delivered: u64,
    failed: u64,
    attempts: u64,
    duplicates: u64,
}

struct Receiver {
    id: u64,
    cfg: ReceiverConfig,
    subscription_id: String,
    tx: mpsc::UnboundedSender<Job>,
}

struct Shared {
    seed: u64,
    log: Mutex<VecDeque<Delivery>>,
    counts: Mutex<BTreeMap<u64, Counts>>,
}

const LOG_CAP: usize = 100_000;

impl Shared {
    fn record(&self, d: Delivery) {
        {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            let c = c.entry(d.receiver).or_default();
            c.deliveries += 1;
            c.attempts += d.attempts as u64;
            if d.delivered {
                c.delivered += 1;
            } else {
                c.failed += 1;
            }
            if d.duplicate {
                c.duplicates += 1;
            }
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= LOG_CAP {
            log.pop_front();
        }
        log.push_back(d);
    }
}

/// The twin's webhook machinery: receivers, their delivery tasks, the log.
pub struct Webhooks {
    shared: Arc<Shared>,
    receivers: Mutex<Vec<Receiver>>,
    next_receiver: AtomicU64,
    next_event: AtomicU64,
    notion: NotionWorkspace,
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .user_agent("kbridge-sim-webhooks")
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    })
}

impl Webhooks {
    pub fn new(seed: u64) -> Webhooks {
        Webhooks {
            shared: Arc::new(Shared {
                seed,
                log: Mutex::new(VecDeque::new()),
                counts: Mutex::new(BTreeMap::new()),
            }),
            receivers: Mutex::new(Vec::new()),
            next_receiver: AtomicU64::new(1),
            next_event: AtomicU64::new(0),
            notion: NotionWorkspace::from_seed(seed),
        }
    }

    /// Whether any receiver is registered (writes skip building events otherwise).
    pub fn active(&self) -> bool {
        !self
            .receivers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The Notion workspace the envelopes name.
    pub fn notion_workspace(&self) -> &NotionWorkspace {
        &self.notion
    }

    /// Registers a receiver and starts its delivery task (needs a tokio runtime). Returns its
    /// id.
    pub fn register(&self, mut cfg: ReceiverConfig) -> Result<u64, WebhookError> {
        cfg.validate()?;
        let id = self.next_receiver.fetch_add(1, Ordering::Relaxed);
        let mut r = Rng::stream(self.shared.seed, 0x5ec_0000 | id);
        let subscription_id = r.uuid();
        if cfg.kind == ReceiverKind::Notion && cfg.secret.is_none() {
            cfg.secret = Some(format!("secret_{}", r.uuid().replace('-', "")));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(
            self.shared.clone(),
            id,
            cfg.clone(),
            subscription_id.clone(),
            rx,
        ));
        self.receivers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Receiver {
                id,
                cfg,
                subscription_id,
                tx,
            });
        Ok(id)
    }

    /// Removes a receiver; its task ends after what is queued. False if there is none.
    pub fn remove(&self, id: u64) -> bool {
        let mut rs = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        let before = rs.len();
        rs.retain(|r| r.id != id);
        rs.len() != before
    }

    /// The receivers, secrets left out.
    pub fn list(&self) -> Value {
        let rs = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        Value::Array(
            rs.iter()
                .map(|r| {
                    let mut v = serde_json::to_value(&r.cfg).unwrap_or(Value::Null);
                    v["id"] = json!(r.id);
                    v["hasSecret"] = json!(r.cfg.secret.is_some());
                    if r.cfg.kind == ReceiverKind::Notion {
                        v["subscriptionId"] = json!(r.subscription_id);
                    }
                    v
                })
                .collect(),
        )
    }

    /// The delivery log, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Counts per receiver and in all (for `/__sim/stats`).
    pub fn counts(&self) -> Value {
        let c = self.shared.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut total = Counts::default();
        for x in c.values() {
            total.events += x.events;
            total.deliveries += x.deliveries;
            total.delivered += x.delivered;
            total.failed += x.failed;
            total.attempts += x.attempts;
            total.duplicates += x.duplicates;
        }
        let per: Vec<Value> = c
            .iter()
            .map(|(id, x)| {
                let mut v = serde_json::to_value(x).unwrap_or(Value::Null);
                v["receiver"] = json!(id);
                v
            })
            .collect();
        let mut t = serde_json::to_value(total).unwrap_or(Value::Null);
        t["receivers"] = Value::Array(per);
        t
    }

    /// Clears the log and counts (`POST /__sim/reset`); receivers stay.
    pub fn reset(&self) {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn event_id(&self, seq: u64) -> String {
        Rng::stream(self.shared.seed, 0xe0e0_0000_0000 | seq).uuid()
    }

    fn send(
        &self,
        kind_ok: impl Fn(ReceiverKind) -> bool,
        event: &str,
        body: impl Fn(ReceiverKind, &Receiver, &str) -> Value,
    ) {
        let seq = self.next_event.fetch_add(1, Ordering::Relaxed);
        let event_id = self.event_id(seq);
        let now = Instant::now();
        let rs = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        for r in rs
            .iter()
            .filter(|r| kind_ok(r.cfg.kind) && r.cfg.wants(event))
        {
            self.shared
                .counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(r.id)
                .or_default()
                .events += 1;
            let _ = r.tx.send(Job {
                event_id: event_id.clone(),
                event: event.to_string(),
                body: body(r.cfg.kind, r, &event_id),
                emitted: now,
                seq,
            });
        }
    }

    /// Emits a Confluence change to the Confluence receivers (DC and Cloud shapes).
    pub fn emit_confluence(&self, e: &ConfluenceEvent) {
        self.send(
            |k| k != ReceiverKind::Notion,
            &e.event,
            |k, _, _| {
                if k == ReceiverKind::ConfluenceDc {
                    dc_payload(e)
                } else {
                    cloud_payload(e)
                }
            },
        );
    }

    /// Emits a Notion change to the Notion receivers.
    pub fn emit_notion(&self, e: &NotionEventInput) {
        self.send(
            |k| k == ReceiverKind::Notion,
            &e.event_type,
            |_, r, id| notion_envelope(e, &self.notion, id, &r.subscription_id, 1),
        );
    }
}

/// A receiver's delivery task: verification (Notion), then events in windows, each after its
/// delay, retried with backoff, sometimes twice.
async fn run(
    shared: Arc<Shared>,
    receiver: u64,
    cfg: ReceiverConfig,
    _subscription_id: String,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let url = match reqwest::Url::parse(&cfg.url) {
        Ok(u) => u,
        Err(_) => return,
    };
    if cfg.kind == ReceiverKind::Notion {
        let body = json!({"verification_token": cfg.secret.clone().unwrap_or_default()});
        let (status, attempts) = post(&cfg, &url, "verification", &body, None).await;
        shared.record(Delivery {
            event_id: String::new(),
            event: "verification".into(),
            receiver,
            kind: cfg.kind,
            status,
            attempts,
            delivered: (200..300).contains(&status),
            duplicate: false,
            verification: true,
        });
    }
    let mut window_no = 0u64;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        if cfg.reorder > 1 {
            // Fill the window; 1 s without events closes it early.
            while batch.len() < cfg.reorder {
                match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
                    Ok(Some(j)) => batch.push(j),
                    _ => break,
                }
            }
            let mut r = Rng::stream(shared.seed ^ mix(receiver), 0x5bf_0000 | window_no);
            for i in (1..batch.len()).rev() {
                let j = r.below(i as u64 + 1) as usize;
                batch.swap(i, j);
            }
            window_no += 1;
        }
        for job in batch {
            tokio::time::sleep_until(job.emitted + Duration::from_millis(cfg.delay_ms)).await;
            let twice = cfg.duplicate > 0.0
                && Rng::stream(shared.seed ^ mix(receiver), 0xd0b_0000 | job.seq).unit()
                    < cfg.duplicate;
            for duplicate in [false, true] {
                if duplicate && !twice {
                    break;
                }
                let (status, attempts) =
                    post(&cfg, &url, &job.event, &job.body, Some(&job.event_id)).await;
                shared.record(Delivery {
                    event_id: job.event_id.clone(),
                    event: job.event.clone(),
                    receiver,
                    kind: cfg.kind,
                    status,
                    attempts,
                    delivered: (200..300).contains(&status),
                    duplicate,
                    verification: false,
                });
            }
        }
    }
}

/// POSTs one event with retries; returns the last status (0: no answer) and the attempts made.
async fn post(
    cfg: &ReceiverConfig,
    url: &reqwest::Url,
    _event: &str,
    body: &Value,
    event_id: Option<&str>,
) -> (u16, u32) {
    let max = cfg
        .max_attempts
        .unwrap_or_else(|| cfg.kind.default_attempts());
    let backoff = Duration::from_millis(cfg.backoff_ms.unwrap_or(200));
    let mut status = 0;
    for attempt in 1..=max {
        let mut body = body.clone();
        if cfg.kind == ReceiverKind::Notion && event_id.is_some() {
            body["attempt_number"] = json!(attempt);
        }
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut rb = client()
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(id) = event_id {
            rb = rb.header("x-sim-event-id", id);
        }
        match (cfg.kind, cfg.secret.as_deref(), event_id) {
            (ReceiverKind::ConfluenceDc, Some(s), _) => {
                rb = rb.header("x-hub-signature", sign(s, &bytes));
            }
            (ReceiverKind::ConfluenceCloud, Some(s), _) => {
                let now = crate::time::now_ms() / 1000;
                rb = rb.header(
                    reqwest::header::AUTHORIZATION,
                    format!("JWT {}", connect_jwt(s, url, now)),
                );
            }
            // The verification request is unsigned; events are signed with its token.
            (ReceiverKind::Notion, Some(s), Some(_)) => {
                rb = rb.header("x-notion-signature", sign(s, &bytes));
            }
            _ => {}
        }
        status = match rb.body(bytes).send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        if (200..300).contains(&status) {
            return (status, attempt);
        }
        if attempt < max {
            tokio::time::sleep(backoff * 2u32.saturating_pow(attempt - 1)).await;
        }
    }
    (status, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_raw_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dc_payloads_are_id_only() {
        let e = ConfluenceEvent {
            event: "page_updated".into(),
            timestamp: 1_778_071_365_412,
            user: "abc123".into(),
            entities: vec![("page".into(), json!({"id": "123456", "title": "T"}))],
            extra: vec![],
        };
        assert_eq!(
            dc_payload(&e).to_string(),
            r#"{"timestamp":1778071365412,"event":"page_updated","userKey":"abc123","page":{"id":123456}}"#
        );
        let c = cloud_payload(&e);
        assert_eq!(c["page"]["title"], "T");
        assert_eq!(c["userAccountId"], "abc123");
    }

    #[test]
    fn receiver_specs_parse_and_bad_ones_are_named() {
        let r: ReceiverConfig = "confluence_dc=http://127.0.0.1:9/h".parse().unwrap();
        assert_eq!(r.kind, ReceiverKind::ConfluenceDc);
        for bad in ["x=http://a", "notion", "notion=ftp://a", "dc=not a url"] {
            let e = bad.parse::<ReceiverConfig>().unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn connect_jwts_have_three_parts_and_a_qsh() {
        let url = reqwest::Url::parse("http://127.0.0.1:1/hook?b=2&a=1").unwrap();
        let t = connect_jwt("s3cret", &url, 1_700_000_000);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let qsh = hex::encode(Sha256::digest(b"POST&/hook&a=1&b=2"));
        assert_eq!(claims["qsh"], qsh.as_str());
        assert_eq!(claims["exp"], 1_700_000_180);
    }
}

// ---------------------------------------------------------------------------------------------
// `/__sim/webhooks`: registration, the delivery log, and a manual Notion event.

mod admin {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::Response;
    use axum::routing::{delete, get, post};
    use serde_json::{Value, json};

    use super::{NotionEventInput, NotionRef, ReceiverConfig};
    use crate::confluence::api::{ApiError, json_response};
    use crate::server::Sim;

    type R = Result<Response, ApiError>;

    pub fn routes() -> Router<Arc<Sim>> {
        Router::new()
            .route("/__sim/webhooks", get(list).post(register))
            .route("/__sim/webhooks/{id}", delete(remove))
            .route("/__sim/webhooks/deliveries", get(deliveries))
            .route("/__sim/notion/events", post(notion_event))
    }

    async fn list(State(sim): State<Arc<Sim>>) -> Response {
        json_response(StatusCode::OK, &json!({"receivers": sim.webhooks.list()}))
    }

    async fn register(State(sim): State<Arc<Sim>>, bytes: Bytes) -> R {
        let cfg: ReceiverConfig = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(format!(
                "bad webhook receiver: {e} (expected {{\"url\", \"kind\": \"confluence_dc\"|\"confluence_cloud\"|\"notion\", \"secret\"?, \"events\"?, \"delay_ms\"?, \"duplicate\"?, \"reorder\"?, \"max_attempts\"?, \"backoff_ms\"?}})"
            ))
        })?;
        let id = sim
            .webhooks
            .register(cfg)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(json_response(StatusCode::CREATED, &json!({"id": id})))
    }

    async fn remove(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> R {
        let id: u64 = id.parse().map_err(|_| {
            ApiError::bad_request(format!("No webhook receiver {id}: ids are numbers"))
        })?;
        if sim.webhooks.remove(id) {
            Ok(json_response(StatusCode::OK, &json!({"removed": id})))
        } else {
            Err(ApiError::not_found_msg(format!("No webhook receiver {id}")))
        }
    }

    async fn deliveries(State(sim): State<Arc<Sim>>) -> Response {
        json_response(
            StatusCode::OK,
            &json!({"deliveries": sim.webhooks.deliveries()}),
        )
    }

    /// `{type, entity: {id, type}, parent?: {id, type}, authors?: [{id, type}], timestamp?
    /// (epoch ms), data?: {…}}`: emits one Notion event, as the Notion twin will on changes.
    async fn notion_event(State(sim): State<Arc<Sim>>, bytes: Bytes) -> R {
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("bad Notion event: {e}")))?;
        let bad = |what: &str| ApiError::bad_request(format!("bad Notion event: {what}"));
        let event_type = v
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("type (e.g. page.content_updated) is required"))?;
        let entity: NotionRef =
            serde_json::from_value(v.get("entity").cloned().unwrap_or(Value::Null))
                .map_err(|_| bad("entity {id, type} is required"))?;
        let parent: Option<NotionRef> = match v.get("parent") {
            None | Some(Value::Null) => None,
            Some(p) => Some(
                serde_json::from_value(p.clone()).map_err(|_| bad("parent must be {id, type}"))?,
            ),
        };
        let authors: Vec<NotionRef> = match v.get("authors") {
            None | Some(Value::Null) => Vec::new(),
            Some(a) => serde_json::from_value(a.clone())
                .map_err(|_| bad("authors must be [{id, type}]"))?,
        };
        let timestamp = match v.get("timestamp") {
            None | Some(Value::Null) => sim.confluence.now(),
            Some(t) => t
                .as_i64()
                .ok_or_else(|| bad("timestamp must be epoch ms"))?,
        };
        let data = match v.get("data") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(_) => return Err(bad("data must be an object")),
        };
        sim.webhooks.emit_notion(&NotionEventInput {
            event_type: event_type.to_string(),
            entity_id: entity.id,
            entity_type: entity.kind,
            parent,
            authors,
            timestamp,
            data,
        });
        Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({"emitted": true}),
        ))
    }
}

pub use admin::routes;
