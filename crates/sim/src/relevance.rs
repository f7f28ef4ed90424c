//! A labelled relevance set: pages whose generator knows what each one is about, and queries
//! with the pages that answer them. Used to measure a search's recall@10 and MRR@10
//! (`kbridge bench km`, kb-km's relevance test).
//!
//! Each *subject* is a system and an aspect of it ("Kafka" × "backups"). A subject has a main
//! page (titled with both, dense in its words, holding the subject's exact phrase and its
//! error code), one or two supporting pages (titled with the aspect and the system, mentioning
//! the code), all labelled with the system's tag. *Distractors* mention a subject's system
//! and aspect words once each inside text about something else, never its phrase or code, and
//! carry no tag of it. The pages are written through the twin's public REST API, as a person
//! would write them, on top of whatever site the twin generated.
//!
//! Nothing here knows how kbridge indexes or ranks: the labels come from what each page was
//! written about.

use serde::Serialize;
use serde_json::{Value, json};

use crate::rng::Rng;

/// Systems: (display name, tag, the words a page about it uses).
const SYSTEMS: &[(&str, &str, &[&str])] = &[
    (
        "Kafka",
        "kafka",
        &["kafka", "broker", "partitions", "offsets"],
    ),
    (
        "Redis",
        "redis",
        &["redis", "keyspace", "eviction", "sentinel"],
    ),
    (
        "Elasticsearch",
        "elasticsearch",
        &["elasticsearch", "shards", "mappings", "analyzers"],
    ),
    (
        "Kubernetes",
        "kubernetes",
        &["kubernetes", "pods", "kubelet", "namespaces"],
    ),
    (
        "Terraform",
        "terraform",
        &["terraform", "modules", "statefile", "providers"],
    ),
    (
        "Jenkins",
        "jenkins",
        &["jenkins", "pipelines", "agents", "executors"],
    ),
    (
        "Vault",
        "vault",
        &["vault", "secrets", "unseal", "policies"],
    ),
    (
        "Nginx",
        "nginx",
        &["nginx", "upstreams", "vhosts", "proxying"],
    ),
    (
        "Cassandra",
        "cassandra",
        &["cassandra", "keyspaces", "compaction", "tombstones"],
    ),
    (
        "RabbitMQ",
        "rabbitmq",
        &["rabbitmq", "exchanges", "bindings", "vhost"],
    ),
    (
        "Airflow",
        "airflow",
        &["airflow", "dags", "operators", "scheduler"],
    ),
    (
        "Grafana",
        "grafana",
        &["grafana", "panels", "dashboards", "datasources"],
    ),
    (
        "Snowflake",
        "snowflake",
        &["snowflake", "warehouses", "stages", "credits"],
    ),
    (
        "Okta",
        "okta",
        &["okta", "tenants", "factors", "assertions"],
    ),
    (
        "Stripe",
        "stripe",
        &["stripe", "charges", "payouts", "invoices"],
    ),
    (
        "Spark",
        "spark",
        &["spark", "executors", "shuffles", "dataframes"],
    ),
    (
        "Consul",
        "consul",
        &["consul", "catalog", "gossip", "intentions"],
    ),
    (
        "MongoDB",
        "mongodb",
        &["mongodb", "replicasets", "oplog", "collections"],
    ),
    (
        "Envoy",
        "envoy",
        &["envoy", "listeners", "clusters", "filters"],
    ),
    (
        "Prometheus",
        "prometheus",
        &["prometheus", "scrapes", "exporters", "recording"],
    ),
];

/// Aspects: (display name, the words a page about it uses).
const ASPECTS: &[(&str, &[&str])] = &[
    ("backups", &["backups", "snapshots", "restore", "retention"]),
    (
        "upgrades",
        &["upgrades", "versions", "compatibility", "rollout"],
    ),
    (
        "monitoring",
        &["monitoring", "alerts", "thresholds", "paging"],
    ),
    ("capacity", &["capacity", "headroom", "forecast", "sizing"]),
    (
        "security hardening",
        &["hardening", "tls", "audit", "least"],
    ),
    ("cost", &["cost", "spend", "budget", "savings"]),
    ("failover", &["failover", "replicas", "quorum", "promotion"]),
    (
        "onboarding",
        &["onboarding", "access", "accounts", "walkthrough"],
    ),
    (
        "performance tuning",
        &["tuning", "throughput", "profiling", "bottleneck"],
    ),
    (
        "disaster recovery",
        &["recovery", "region", "drills", "objectives"],
    ),
    (
        "incident response",
        &["incident", "triage", "escalation", "timeline"],
    ),
    (
        "data retention",
        &["purging", "archival", "compliance", "lifecycle"],
    ),
];

/// Words for the exact phrases (each subject's phrase is three of these, unique in the set).
const PHRASE_WORDS: &[&str] = &[
    "amber", "granite", "willow", "copper", "falcon", "harbor", "lantern", "meadow", "orchid",
    "pepper", "quartz", "saffron", "timber", "velvet", "walnut", "juniper", "cobalt", "ember",
    "glacier", "hazel", "indigo", "marble", "nectar", "opal", "pebble", "raven", "sierra",
    "tundra", "umber", "violet",
];

/// Filler, the words every page has.
const FILLER: &[&str] = &[
    "the", "team", "owns", "this", "and", "checks", "it", "weekly", "with", "notes", "from",
    "last", "quarter", "see", "also", "steps", "below", "when", "needed", "for", "our", "service",
];

/// A page the set writes.
#[derive(Debug, Clone, Serialize)]
pub struct RelevancePage {
    /// Unique in the set.
    pub title: String,
    /// Confluence storage.
    pub storage: String,
    pub labels: Vec<String>,
}

/// What a query is testing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// The subject's name words (system and aspect).
    Title,
    /// The subject's exact phrase, quoted.
    Phrase,
    /// The subject's error code and one aspect word.
    Code,
    /// A prefix of the system's name and the aspect.
    Prefix,
    /// An aspect word, filtered by the system's tag.
    Tag,
}

/// A labelled query.
#[derive(Debug, Clone, Serialize)]
pub struct LabelledQuery {
    pub kind: QueryKind,
    /// The query text (kbridge's syntax: words, `"phrases"`, `prefix*`).
    pub text: String,
    /// Only hits with this tag.
    pub tag: Option<String>,
    /// The pages (indices into [`RelevanceSet::pages`]) that answer it.
    pub relevant: Vec<usize>,
}

/// Pages and labelled queries.
#[derive(Debug, Clone, Serialize)]
pub struct RelevanceSet {
    pub pages: Vec<RelevancePage>,
    pub queries: Vec<LabelledQuery>,
}

/// The set for `subjects` subjects (at most systems × aspects = 240) from `seed`.
pub fn generate(seed: u64, subjects: usize) -> RelevanceSet {
    let mut r = Rng::new(seed ^ 0x5e1e_7a9c_e000_0001);
    // Subjects: distinct (system, aspect) pairs.
    let mut pairs: Vec<(usize, usize)> = (0..SYSTEMS.len())
        .flat_map(|s| (0..ASPECTS.len()).map(move |a| (s, a)))
        .collect();
    for i in (1..pairs.len()).rev() {
        let j = r.below(i as u64 + 1) as usize;
        pairs.swap(i, j);
    }
    pairs.truncate(subjects.min(pairs.len()));
    let mut pages = Vec::new();
    let mut queries = Vec::new();
    let mut phrases = std::collections::HashSet::new();
    let mut subjects_pages: Vec<Vec<usize>> = Vec::new();
    for (k, &(si, ai)) in pairs.iter().enumerate() {
        let (system, tag, sys_words) = SYSTEMS[si];
        let (aspect, asp_words) = ASPECTS[ai];
        let phrase = loop {
            let p = format!(
                "{} {} {}",
                r.pick(PHRASE_WORDS),
                r.pick(PHRASE_WORDS),
                r.pick(PHRASE_WORDS)
            );
            let distinct = p.split(' ').collect::<std::collections::HashSet<_>>().len() == 3;
            if distinct && phrases.insert(p.clone()) {
                break p;
            }
        };
        let code = format!("e{}", 4100 + k * 7);
        let mut own = Vec::new();
        // The main page.
        let mut body = Vec::new();
        body.push(format!(
            "This page describes {aspect} for {system}: {}.",
            words(&mut r, sys_words, asp_words, 14)
        ));
        body.push(format!(
            "The {aspect} procedure is known internally as the {phrase} procedure."
        ));
        body.push(format!(
            "If {system} reports error {code} during {aspect}, {}.",
            words(&mut r, sys_words, asp_words, 10)
        ));
        body.push(words(&mut r, sys_words, asp_words, 24));
        own.push(pages.len());
        pages.push(RelevancePage {
            title: format!("{system} {aspect}"),
            storage: paragraphs(&body),
            labels: vec![tag.to_string(), slug(aspect)],
        });
        // Supporting pages.
        for (n, what) in ["checklist", "FAQ"]
            .iter()
            .take(1 + r.below(2) as usize)
            .enumerate()
        {
            let mut body = Vec::new();
            body.push(format!(
                "A {what} for {aspect} on {system}. {}.",
                words(&mut r, sys_words, asp_words, 12)
            ));
            if n == 0 {
                body.push(format!(
                    "Error {code} means the {aspect} step must be repeated."
                ));
            }
            body.push(words(&mut r, sys_words, asp_words, 16));
            own.push(pages.len());
            pages.push(RelevancePage {
                title: format!("{} {what} for {system}", capitalise(aspect)),
                storage: paragraphs(&body),
                labels: vec![tag.to_string()],
            });
        }
        let main = own[0];
        let with_code: Vec<usize> = own.iter().take(2).copied().collect();
        queries.push(LabelledQuery {
            kind: QueryKind::Title,
            text: format!("{system} {aspect}"),
            tag: None,
            relevant: own.clone(),
        });
        queries.push(LabelledQuery {
            kind: QueryKind::Phrase,
            text: format!("\"{phrase}\""),
            tag: None,
            relevant: vec![main],
        });
        queries.push(LabelledQuery {
            kind: QueryKind::Code,
            text: format!("{code} {}", asp_words[0]),
            tag: None,
            relevant: with_code,
        });
        let sys_lower = system.to_lowercase();
        let cut = sys_lower.len().clamp(3, 5).min(sys_lower.len());
        queries.push(LabelledQuery {
            kind: QueryKind::Prefix,
            text: format!("{}* {}", &sys_lower[..cut], asp_words[0]),
            tag: None,
            relevant: own.clone(),
        });
        queries.push(LabelledQuery {
            kind: QueryKind::Tag,
            text: asp_words[0].to_string(),
            tag: Some(tag.to_string()),
            relevant: own.clone(),
        });
        subjects_pages.push(own);
    }
    // Distractors: each mentions a subject's system and aspect once, in text about another.
    for (k, &(si, ai)) in pairs.iter().enumerate() {
        let (_, _, sys_words) = SYSTEMS[si];
        let (aspect, _) = ASPECTS[ai];
        let other = pairs[(k + 1) % pairs.len()];
        let (o_system, o_tag, o_words) = SYSTEMS[other.0];
        let (o_aspect, o_asp) = ASPECTS[other.1];
        let body = vec![
            format!(
                "Meeting notes on {o_aspect} for {o_system}: {}.",
                words(&mut r, o_words, o_asp, 18)
            ),
            format!(
                "Someone asked whether {} matters for {aspect}; it does not here.",
                sys_words[0]
            ),
            words(&mut r, o_words, o_asp, 20),
        ];
        pages.push(RelevancePage {
            title: format!("Weekly sync {} ({o_system})", k + 1),
            storage: paragraphs(&body),
            labels: vec![o_tag.to_string(), "meeting-notes".into()],
        });
    }
    RelevanceSet { pages, queries }
}

/// `n` words: the subject's words mixed with filler.
fn words(r: &mut Rng, a: &[&str], b: &[&str], n: usize) -> String {
    (0..n)
        .map(|_| match r.below(4) {
            0 => *r.pick(a),
            1 => *r.pick(b),
            _ => *r.pick(FILLER),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn paragraphs(ps: &[String]) -> String {
    ps.iter()
        .map(|p| format!("<p>{}</p>", crate::storage::esc(p)))
        .collect()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn slug(s: &str) -> String {
    s.replace(' ', "-")
}

/// Why writing the set failed.
#[derive(Debug, thiserror::Error)]
#[error("writing the relevance set: {0}")]
pub struct InstallError(pub String);

/// Writes the pages into the Confluence twin at `base` (its origin, without `/wiki`) through
/// its public REST API as `email`/`token`, into the space `space_key`; returns each page's
/// content id, in the order of [`RelevanceSet::pages`].
pub async fn install(
    base: &str,
    email: &str,
    token: &str,
    space_key: &str,
    set: &RelevanceSet,
) -> Result<Vec<String>, InstallError> {
    let http = reqwest::Client::new();
    let err = |e: String| InstallError(e);
    let spaces: Value = http
        .get(format!("{base}/wiki/api/v2/spaces?keys={space_key}"))
        .basic_auth(email, Some(token))
        .send()
        .await
        .map_err(|e| err(e.to_string()))?
        .json()
        .await
        .map_err(|e| err(e.to_string()))?;
    let space_id = spaces["results"][0]["id"]
        .as_str()
        .ok_or_else(|| err(format!("no space {space_key}: {spaces}")))?
        .to_string();
    let mut ids = Vec::with_capacity(set.pages.len());
    for p in &set.pages {
        let resp = http
            .post(format!("{base}/wiki/api/v2/pages"))
            .basic_auth(email, Some(token))
            .json(&json!({
                "spaceId": space_id,
                "status": "current",
                "title": p.title,
                "body": {"representation": "storage", "value": p.storage},
            }))
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let v: Value = resp.json().await.map_err(|e| err(e.to_string()))?;
        let id = v["id"]
            .as_str()
            .ok_or_else(|| err(format!("creating {:?}: {status} {v}", p.title)))?
            .to_string();
        if !p.labels.is_empty() {
            let labels: Vec<Value> = p
                .labels
                .iter()
                .map(|l| json!({"prefix": "global", "name": l}))
                .collect();
            let resp = http
                .post(format!("{base}/wiki/rest/api/content/{id}/label"))
                .basic_auth(email, Some(token))
                .json(&labels)
                .send()
                .await
                .map_err(|e| err(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(err(format!("labelling {id}: {}", resp.status())));
            }
        }
        ids.push(id);
    }
    Ok(ids)
}

/// recall@10 and MRR@10 of ranked answers against the labels.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    pub queries: usize,
    pub recall_at_10: f64,
    pub mrr_at_10: f64,
    /// Per kind: (queries, recall@10, MRR@10).
    pub by_kind: std::collections::BTreeMap<String, (usize, f64, f64)>,
}

/// Scores ranked ids (`answers[q]`, best first) against the relevant ids of each query.
pub fn score(kinds: &[QueryKind], relevant: &[Vec<String>], answers: &[Vec<String>]) -> Scores {
    let mut s = Scores::default();
    let mut per: std::collections::BTreeMap<String, (usize, f64, f64)> = Default::default();
    for ((kind, rel), ans) in kinds.iter().zip(relevant).zip(answers) {
        let top: Vec<&String> = ans.iter().take(10).collect();
        let found = rel.iter().filter(|r| top.contains(r)).count();
        let recall = if rel.is_empty() {
            1.0
        } else {
            found as f64 / rel.len().min(10) as f64
        };
        let rr = top
            .iter()
            .position(|a| rel.contains(a))
            .map_or(0.0, |i| 1.0 / (i + 1) as f64);
        s.queries += 1;
        s.recall_at_10 += recall;
        s.mrr_at_10 += rr;
        let name = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{kind:?}"));
        let e = per.entry(name).or_default();
        e.0 += 1;
        e.1 += recall;
        e.2 += rr;
    }
    if s.queries > 0 {
        s.recall_at_10 /= s.queries as f64;
        s.mrr_at_10 /= s.queries as f64;
    }
    for (_, v) in per.iter_mut() {
        v.1 /= v.0 as f64;
        v.2 /= v.0 as f64;
    }
    s.by_kind = per;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_have_unique_titles_phrases_and_labels() {
        let set = generate(3, 60);
        assert_eq!(set.queries.len(), 60 * 5);
        let titles: std::collections::HashSet<_> = set.pages.iter().map(|p| &p.title).collect();
        assert_eq!(titles.len(), set.pages.len());
        for q in &set.queries {
            assert!(!q.relevant.is_empty());
            if q.kind == QueryKind::Phrase {
                let phrase = q.text.trim_matches('"');
                let holders: Vec<usize> = (0..set.pages.len())
                    .filter(|&i| set.pages[i].storage.contains(phrase))
                    .collect();
                assert_eq!(holders, q.relevant, "{phrase}");
            }
        }
    }

    #[test]
    fn scores_count_recall_and_reciprocal_rank() {
        let rel = vec![vec!["a".to_string(), "b".to_string()]];
        let ans = vec![vec!["x".to_string(), "a".to_string(), "b".to_string()]];
        let s = score(&[QueryKind::Title], &rel, &ans);
        assert_eq!(s.recall_at_10, 1.0);
        assert_eq!(s.mrr_at_10, 0.5);
        let ans = vec![vec!["b".to_string()]];
        let s = score(&[QueryKind::Title], &rel, &ans);
        assert_eq!(s.recall_at_10, 0.5);
        assert_eq!(s.mrr_at_10, 1.0);
    }
}
