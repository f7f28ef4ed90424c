//! Small helpers: instants, hashes, JSON values of store rows.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Epoch ms of an RFC 3339 instant or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_instant(s: &str) -> Option<i64> {
    if let Some(ms) = kb_store::time::parse_rfc3339(s) {
        return Some(ms);
    }
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        return kb_store::time::parse_rfc3339(&format!("{s}T00:00:00Z"));
    }
    None
}

/// SHA-256 of `parts`, each length-prefixed, as lowercase hex.
pub fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A store value as text (`None` for null or absent).
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
