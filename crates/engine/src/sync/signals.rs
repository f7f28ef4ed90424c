//! Change signals: webhook deliveries verified and turned into [`Hint`]s, and the queue that
//! de-duplicates and orders them. A hint only says "this changed, fetch it": polls and reads
//! are the truth, a webhook is never content.
//!
//! Every delivery is verified *before* its body is read as JSON: a Notion event by
//! `X-Notion-Signature` (HMAC-SHA256 of the raw body keyed with the subscription's verification
//! token), a Confluence Data Center webhook by `X-Hub-Signature` (the same HMAC with the
//! configured secret), a Confluence Automation rule's "Send web request" by its shared-secret
//! header. The one unsigned body accepted is Notion's one-time verification request, and only
//! when it holds nothing but the token. Comparisons are constant-time.

use std::collections::{BTreeMap, HashSet, VecDeque};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;

/// Where a signal came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// A Notion integration webhook.
    Notion,
    /// A Confluence Data Center webhook.
    ConfluenceDc,
    /// A Confluence Cloud Automation rule's web request.
    ConfluenceAutomation,
}

/// Who made a change, as the service says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// The user or bot id.
    pub id: String,
    /// `person`, `bot`, `agent`… (Notion), `user` (Confluence).
    pub kind: String,
}

/// "This object changed": what to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The service.
    pub service: Service,
    /// The delivery's event id, when the service gives one (de-duplication).
    pub event_id: Option<String>,
    /// The event name (`page.content_updated`, `page_updated`…).
    pub event: String,
    /// The changed object's id (Notion ids without dashes, lower case).
    pub entity_id: String,
    /// Its type (`page`, `database`, `data_source`, `block`, `comment`, `blogpost`,
    /// `attachment`…).
    pub entity_type: String,
    /// The parent's id, when the event names it.
    pub parent_id: Option<String>,
    /// When the change happened, epoch ms (0 when the event does not say).
    pub at_ms: i64,
    /// Who made it (empty when the event does not say).
    pub authors: Vec<Author>,
}

impl Hint {
    /// Whether the event says a page moved, was trashed or restored (Notion `page.moved`,
    /// `page.deleted`, `page.undeleted`; Confluence `page_moved`, `page_removed` (trashed),
    /// `page_trashed` (purged), `page_restored`, and the Automation rule's names for them):
    /// a change only a reconcile finds, so one is due.
    pub fn is_structural(&self) -> bool {
        let e = self.event.to_ascii_lowercase();
        [
            "moved",
            "deleted",
            "undeleted",
            "removed",
            "trashed",
            "restored",
        ]
        .iter()
        .any(|w| e.ends_with(w))
    }

    /// Whether every author is `bot_id` (kbridge's own integration): the echo of a write
    /// kbridge made. An event without authors, or with any other author, is not an echo.
    pub fn is_own_echo(&self, bot_id: &str) -> bool {
        let bot = normalise_id(bot_id);
        !self.authors.is_empty() && self.authors.iter().all(|a| normalise_id(&a.id) == bot)
    }
}

/// What a delivery was.
#[derive(Debug)]
pub enum Delivery {
    /// Notion's one-time subscription verification: show the token to the operator, who
    /// pastes it into Notion and configures it as the signing secret.
    Verification {
        /// The token (never logged).
        token: SecretString,
    },
    /// Verified change hints.
    Hints(Vec<Hint>),
}

/// Why a delivery was refused. Nothing of a refused delivery is processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    /// No signature header, and not a verification request.
    #[error("unsigned {0} delivery refused: configure the webhook's secret on both sides")]
    Unsigned(&'static str),
    /// The signature does not match the body.
    #[error("{0} delivery with a wrong signature refused (forged, or the secret differs)")]
    BadSignature(&'static str),
    /// The receiver has no secret configured, so nothing can be verified.
    #[error(
        "{0} delivery refused: no secret is configured for this receiver, so it cannot be verified"
    )]
    NoSecret(&'static str),
    /// Verified, but not a body kbridge understands.
    #[error("{service} delivery is not an event kbridge understands: {why}")]
    Malformed {
        /// The service.
        service: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// A Notion webhook delivery: the raw body, the `X-Notion-Signature` header, and the
/// verification token once the subscription is verified.
pub fn notion(
    body: &[u8],
    signature: Option<&str>,
    token: Option<&SecretString>,
) -> Result<Delivery, SignalError> {
    const S: &str = "Notion";
    let Some(sig) = signature else {
        // The only unsigned body Notion sends: {"verification_token": "…"}, once.
        let v: Value = serde_json::from_slice(body).map_err(|_| SignalError::Unsigned(S))?;
        return match v.as_object() {
            Some(o) if o.len() == 1 => match o.get("verification_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => Ok(Delivery::Verification {
                    token: SecretString::from(t.to_string()),
                }),
                _ => Err(SignalError::Unsigned(S)),
            },
            _ => Err(SignalError::Unsigned(S)),
        };
    };
    let token = token.ok_or(SignalError::NoSecret(S))?;
    verify_hmac(S, token.expose_secret().as_bytes(), body, sig)?;
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(S, e.to_string()))?;
    let event = str_at(&v, "/type").ok_or_else(|| malformed(S, "no `type`".into()))?;
    let entity_id =
        str_at(&v, "/entity/id").ok_or_else(|| malformed(S, "no `entity.id`".into()))?;
    // No authors: unknown, so the hint can never be taken for kbridge's own echo.
    let authors = match v.get("authors") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| {
                Some(Author {
                    id: normalise_id(x.get("id")?.as_str()?),
                    kind: str_at(x, "/type").unwrap_or_else(|| "unknown".into()),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Delivery::Hints(vec![Hint {
        service: Service::Notion,
        event_id: str_at(&v, "/id"),
        event,
        entity_id: normalise_id(&entity_id),
        entity_type: str_at(&v, "/entity/type").unwrap_or_else(|| "unknown".into()),
        parent_id: str_at(&v, "/data/parent/id").map(|p| normalise_id(&p)),
        at_ms: str_at(&v, "/timestamp")
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_millisecond())
            .unwrap_or(0),
        authors,
    }]))
}

/// A Confluence Data Center webhook: the raw body, the `X-Hub-Signature` header and the
/// configured secret. Data Center sends ID-only entities (`{"event":"page_updated","page":
/// {"id":123}}`).
pub fn confluence_dc(
    body: &[u8],
    signature: Option<&str>,
    secret: Option<&SecretString>,
) -> Result<Delivery, SignalError> {
    const S: &str = "Confluence Data Center";
    let secret = secret.ok_or(SignalError::NoSecret(S))?;
    let sig = signature.ok_or(SignalError::Unsigned(S))?;
    verify_hmac(S, secret.expose_secret().as_bytes(), body, sig)?;
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(S, e.to_string()))?;
    let event = str_at(&v, "/event").ok_or_else(|| malformed(S, "no `event`".into()))?;
    let (entity_type, entity_id) = confluence_entity(&v)
        .ok_or_else(|| malformed(S, format!("no entity id in the {event} event")))?;
    let user = str_at(&v, "/userKey").or_else(|| str_at(&v, "/user/userKey"));
    Ok(Delivery::Hints(vec![Hint {
        service: Service::ConfluenceDc,
        event_id: None,
        event,
        entity_id,
        entity_type,
        parent_id: None,
        at_ms: v.get("timestamp").and_then(Value::as_i64).unwrap_or(0),
        authors: user
            .into_iter()
            .map(|id| Author {
                id,
                kind: "user".into(),
            })
            .collect(),
    }]))
}

/// The header a Confluence Automation rule's "Send web request" carries its shared secret in.
pub const AUTOMATION_SECRET_HEADER: &str = "x-kbridge-secret";

/// A Confluence Cloud Automation rule's web request: the body the documented rule sends
/// (`{"event": "page_updated", "pageId": "{{page.id}}"}`; `page.id`/`content.id` accepted too)
/// and the value of [`AUTOMATION_SECRET_HEADER`].
pub fn confluence_automation(
    body: &[u8],
    secret_header: Option<&str>,
    secret: Option<&SecretString>,
) -> Result<Delivery, SignalError> {
    const S: &str = "Confluence Automation";
    let secret = secret.ok_or(SignalError::NoSecret(S))?;
    let given = secret_header.ok_or(SignalError::Unsigned(S))?;
    if !constant_time_eq(given.trim().as_bytes(), secret.expose_secret().as_bytes()) {
        return Err(SignalError::BadSignature(S));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(S, e.to_string()))?;
    let id = ["/pageId", "/page/id", "/content/id", "/id"]
        .iter()
        .find_map(|p| v.pointer(p).and_then(id_text))
        .ok_or_else(|| {
            malformed(
                S,
                "no `pageId`: the rule's body must carry {{page.id}}".into(),
            )
        })?;
    Ok(Delivery::Hints(vec![Hint {
        service: Service::ConfluenceAutomation,
        event_id: None,
        event: str_at(&v, "/event").unwrap_or_else(|| "page_changed".into()),
        entity_id: id,
        entity_type: "page".into(),
        parent_id: None,
        at_ms: 0,
        authors: vec![],
    }]))
}

fn confluence_entity(v: &Value) -> Option<(String, String)> {
    for (key, kind) in [
        ("page", "page"),
        ("blog", "blogpost"),
        ("comment", "comment"),
        ("attachments", "attachment"),
        ("content", "content"),
        ("labeled", "content"),
        ("space", "space"),
    ] {
        let x = match v.get(key) {
            Some(Value::Array(a)) => a.first(),
            other => other,
        };
        if let Some(id) = x
            .and_then(|e| e.get("id").or_else(|| e.get("key")))
            .and_then(id_text)
        {
            return Some((kind.to_string(), id));
        }
    }
    None
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn malformed(service: &'static str, why: String) -> SignalError {
    SignalError::Malformed { service, why }
}

/// `sha256=<hex>` of HMAC-SHA256(key, body), compared in constant time.
fn verify_hmac(
    service: &'static str,
    key: &[u8],
    body: &[u8],
    header: &str,
) -> Result<(), SignalError> {
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .unwrap_or(header.trim());
    let given = hex::decode(hex_sig).map_err(|_| SignalError::BadSignature(service))?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| SignalError::NoSecret(service))?;
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| SignalError::BadSignature(service))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Notion ids with or without dashes, any case → 32 lower-case hex digits (other ids as given).
pub fn normalise_id(id: &str) -> String {
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    if compact.len() == 32 && compact.chars().all(|c| c.is_ascii_hexdigit()) {
        compact.to_ascii_lowercase()
    } else {
        id.to_string()
    }
}

/// Pending hints: one per object (the latest), de-duplicated by event id (within the last
/// [`HintQueue::REMEMBERED`] ids), drained oldest change first.
#[derive(Debug, Default)]
pub struct HintQueue {
    pending: BTreeMap<(Service, String), Hint>,
    seen: HashSet<String>,
    order: VecDeque<String>,
}

impl HintQueue {
    /// How many event ids are remembered for de-duplication.
    pub const REMEMBERED: usize = 10_000;

    /// Queues a hint; `false` when it repeats an event already seen.
    pub fn push(&mut self, hint: Hint) -> bool {
        if let Some(id) = &hint.event_id {
            if self.seen.contains(id) {
                return false;
            }
            self.seen.insert(id.clone());
            self.order.push_back(id.clone());
            if self.order.len() > Self::REMEMBERED
                && let Some(old) = self.order.pop_front()
            {
                self.seen.remove(&old);
            }
        }
        let key = (hint.service, hint.entity_id.clone());
        match self.pending.get_mut(&key) {
            Some(existing) => {
                // Keep the latest change's time and every author (an echo needs all of them
                // to be kbridge's own).
                for a in hint.authors {
                    if !existing.authors.contains(&a) {
                        existing.authors.push(a);
                    }
                }
                if hint.at_ms > existing.at_ms {
                    existing.at_ms = hint.at_ms;
                    existing.event = hint.event;
                    existing.event_id = hint.event_id;
                }
            }
            None => {
                self.pending.insert(key, hint);
            }
        }
        true
    }

    /// How many objects wait.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes every pending hint, oldest change first.
    pub fn drain(&mut self) -> Vec<Hint> {
        let mut v: Vec<Hint> = std::mem::take(&mut self.pending).into_values().collect();
        v.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.entity_id.cmp(&b.entity_id)));
        v
    }
}
