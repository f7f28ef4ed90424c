//! The fault plan: what fraction of requests fail, and how.
//!
//! `--faults 429=0.05,503=0.02,reset=0.01,slow=0.02:2s,truncate=0.005,lost-answer=0.02` reads
//! as: 5 % of requests answer 429 (with `Retry-After`), 2 % answer 503, 1 % have their
//! connection reset with no answer, 2 % are answered after 2 s, 0.5 % send half their body and
//! close, 2 % lose their answer. Any status 400–599 can be listed (`500=0.01`).
//!
//! Every fault but `lost-answer` happens *before* the handler runs, so nothing changed on the
//! twin. `lost-answer` is the other half of a real network: the handler runs and commits (the
//! page is created, the version bumped), then the answer never reaches the client: the
//! connection is reset (`lost-answer=0.02`), or a gateway answers 502 or 504 in its place
//! (`lost-answer=0.02:502`, `lost-answer=0.02:504`). A client that retries a write must find
//! out what happened instead of writing twice. One draw per request decides at most one fault, from the
//! seed and the request's sequence number, so a run with the same seed and the same request
//! order fails the same requests.
//!
//! Faults can be scoped to one endpoint: `GET:/wiki/api/v2/pages/{id}/children:503=0.5,429=0.05`
//! gives that route (method optional: `/wiki/api/v2/pages:503=0.5` is every method; a template
//! ending in `*` is a prefix) its own faults; the entries after a scope belong to it until the
//! next scope, and `;` also ends a scope, so `429=0.01;GET:/wiki/api/v2/pages:503=0.5` is 1 %
//! 429s everywhere except `GET /wiki/api/v2/pages`, which gets 50 % 503s. A request takes the
//! faults of the first scope that matches its method and route template, else the unscoped
//! ones (a scope replaces the global faults, it does not add to them).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::rng::{Rng, mix};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Answer with this status (429 and 503 carry `Retry-After`).
    Status(u16),
    /// Reset the TCP connection without answering.
    Reset,
    /// Answer normally after this delay.
    Slow(Duration),
    /// Send the headers and half of the body, then close the connection.
    Truncate,
    /// Run the handler (its changes are committed), then lose the answer: reset the connection
    /// (`None`) or answer this gateway status (502 or 504) instead.
    LostAnswer(Option<u16>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    pub probability: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// Faults of every request no scope matches.
    pub faults: Vec<Fault>,
    /// Faults of one endpoint (or a prefix of routes), first match wins.
    pub scoped: Vec<ScopedFaults>,
}

/// Faults for requests with this method (any when `None`) and route template.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopedFaults {
    /// Upper case (`GET`), or `None` for every method.
    pub method: Option<String>,
    /// An axum route template (`/wiki/api/v2/pages/{id}`); a trailing `*` makes it a prefix.
    pub route: String,
    pub faults: Vec<Fault>,
}

impl ScopedFaults {
    pub fn matches(&self, method: &str, route: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && match self.route.strip_suffix('*') {
                Some(prefix) => route.starts_with(prefix),
                None => route == self.route,
            }
    }
}

/// `GET:/wiki/…` or `/wiki/…` at the start of an entry: the scope and the rest of the entry.
fn split_scope(entry: &str) -> Option<(Option<String>, String, &str)> {
    let before_eq = entry.split_once('=').map_or(entry, |(a, _)| a);
    let (scope, name) = before_eq.rsplit_once(':')?;
    let rest = &entry[scope.len() + 1..];
    let _ = name;
    if let Some(route) = scope.strip_prefix('/') {
        return Some((None, format!("/{route}"), rest));
    }
    let (method, route) = scope.split_once(':')?;
    if !route.starts_with('/')
        || method.is_empty()
        || !method.chars().all(|c| c.is_ascii_alphabetic())
    {
        return None;
    }
    Some((Some(method.to_ascii_uppercase()), route.to_string(), rest))
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "bad fault plan entry {entry:?}: {why} (expected e.g. 429=0.05,503=0.02,reset=0.01,slow=0.02:2s,truncate=0.005,lost-answer=0.02)"
)]
pub struct FaultPlanError {
    pub entry: String,
    pub why: String,
}

/// `2s`, `150ms`, `1.5s`, `1m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v * mult))
}

impl FromStr for FaultPlan {
    type Err = FaultPlanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut plan = FaultPlan::default();
        for group in s.split(';') {
            let mut scope: Option<usize> = None;
            for entry in group.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let entry = match split_scope(entry) {
                    Some((method, route, rest)) => {
                        plan.scoped.push(ScopedFaults {
                            method,
                            route,
                            faults: Vec::new(),
                        });
                        scope = Some(plan.scoped.len() - 1);
                        rest
                    }
                    None => entry,
                };
                let f = parse_fault(entry)?;
                match scope {
                    Some(i) => plan.scoped[i].faults.push(f),
                    None => plan.faults.push(f),
                }
            }
        }
        check_total(s, &plan.faults)?;
        for sc in &plan.scoped {
            check_total(s, &sc.faults)?;
        }
        Ok(plan)
    }
}

fn check_total(s: &str, faults: &[Fault]) -> Result<(), FaultPlanError> {
    let total: f64 = faults.iter().map(|f| f.probability).sum();
    if total > 1.0 + 1e-9 {
        return Err(FaultPlanError {
            entry: s.to_string(),
            why: format!("the probabilities add up to {total}, more than 1"),
        });
    }
    Ok(())
}

fn parse_fault(entry: &str) -> Result<Fault, FaultPlanError> {
    {
        {
            let err = |why: &str| FaultPlanError {
                entry: entry.to_string(),
                why: why.to_string(),
            };
            let (name, rest) = entry.split_once('=').ok_or_else(|| err("missing '='"))?;
            let (p, param) = match rest.split_once(':') {
                Some((p, x)) => (p, Some(x)),
                None => (rest, None),
            };
            let probability: f64 = p
                .trim()
                .parse()
                .map_err(|_| err("the probability is not a number"))?;
            if !(0.0..=1.0).contains(&probability) {
                return Err(err("the probability must be between 0 and 1"));
            }
            let kind = match name.trim() {
                "reset" => FaultKind::Reset,
                "truncate" => FaultKind::Truncate,
                "lost-answer" => FaultKind::LostAnswer(match param.map(str::trim) {
                    None => None,
                    Some("502") => Some(502),
                    Some("504") => Some(504),
                    Some(_) => {
                        return Err(err(
                            "lost-answer takes no parameter (connection reset), or 502 or 504",
                        ));
                    }
                }),
                "slow" => FaultKind::Slow(
                    param
                        .and_then(parse_duration)
                        .ok_or_else(|| err("slow needs a delay, e.g. slow=0.02:2s"))?,
                ),
                code => match code.parse::<u16>() {
                    Ok(c @ 400..=599) => FaultKind::Status(c),
                    _ => {
                        return Err(err(
                            "unknown fault; use a status 400-599, reset, slow, truncate or lost-answer",
                        ));
                    }
                },
            };
            if param.is_some() && !matches!(kind, FaultKind::Slow(_) | FaultKind::LostAnswer(_)) {
                return Err(err("only slow and lost-answer take a parameter"));
            }
            Ok(Fault { kind, probability })
        }
    }
}

fn entries(faults: &[Fault]) -> String {
    faults
        .iter()
        .map(|x| match x.kind {
            FaultKind::Status(c) => format!("{c}={}", x.probability),
            FaultKind::Reset => format!("reset={}", x.probability),
            FaultKind::Truncate => format!("truncate={}", x.probability),
            FaultKind::Slow(d) => format!("slow={}:{}ms", x.probability, d.as_millis()),
            FaultKind::LostAnswer(None) => format!("lost-answer={}", x.probability),
            FaultKind::LostAnswer(Some(c)) => format!("lost-answer={}:{c}", x.probability),
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups = Vec::new();
        if !self.faults.is_empty() {
            groups.push(entries(&self.faults));
        }
        for s in &self.scoped {
            let scope = match &s.method {
                Some(m) => format!("{m}:{}", s.route),
                None => s.route.clone(),
            };
            groups.push(format!("{scope}:{}", entries(&s.faults)));
        }
        f.write_str(&groups.join(";"))
    }
}

impl FaultPlan {
    pub fn is_empty(&self) -> bool {
        self.faults.iter().all(|f| f.probability == 0.0)
            && self
                .scoped
                .iter()
                .all(|s| s.faults.iter().all(|f| f.probability == 0.0))
    }

    /// The fault for request number `seq` under `seed`, if any (unscoped faults only).
    pub fn decide(&self, seed: u64, seq: u64) -> Option<FaultKind> {
        draw(&self.faults, seed, seq)
    }

    /// The fault for request number `seq` under `seed` to `method` on route template `route`:
    /// the first matching scope's faults, else the unscoped ones.
    pub fn decide_for(&self, seed: u64, seq: u64, method: &str, route: &str) -> Option<FaultKind> {
        let faults = self
            .scoped
            .iter()
            .find(|s| s.matches(method, route))
            .map_or(&self.faults, |s| &s.faults);
        draw(faults, seed, seq)
    }
}

fn draw(faults: &[Fault], seed: u64, seq: u64) -> Option<FaultKind> {
    {
        if faults.is_empty() {
            return None;
        }
        let u = Rng::new(mix(seed ^ 0xfa17_fa17_fa17_fa17) ^ mix(seq)).unit();
        let mut acc = 0.0;
        for f in faults {
            acc += f.probability;
            if u < acc {
                return Some(f.kind);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_plan() {
        let p: FaultPlan = "429=0.05,503=0.02,reset=0.01,slow=0.02:2s,truncate=0.005"
            .parse()
            .unwrap();
        assert_eq!(p.faults.len(), 5);
        assert_eq!(p.faults[3].kind, FaultKind::Slow(Duration::from_secs(2)));
        assert_eq!(
            p.to_string(),
            "429=0.05,503=0.02,reset=0.01,slow=0.02:2000ms,truncate=0.005"
        );
        assert_eq!(p.to_string().parse::<FaultPlan>().unwrap(), p);
    }

    #[test]
    fn parses_lost_answer_in_every_form_and_scope() {
        let p: FaultPlan =
            "lost-answer=0.02,lost-answer=0.01:502;POST:/wiki/api/v2/pages:lost-answer=1:504"
                .parse()
                .unwrap();
        assert_eq!(p.faults[0].kind, FaultKind::LostAnswer(None));
        assert_eq!(p.faults[1].kind, FaultKind::LostAnswer(Some(502)));
        assert_eq!(p.scoped[0].faults[0].kind, FaultKind::LostAnswer(Some(504)));
        assert_eq!(p.to_string().parse::<FaultPlan>().unwrap(), p);
        assert_eq!(
            p.decide_for(1, 0, "POST", "/wiki/api/v2/pages"),
            Some(FaultKind::LostAnswer(Some(504)))
        );
        for bad in ["lost-answer=0.1:503", "lost-answer=0.1:2s", "lost-answer"] {
            let e = bad.parse::<FaultPlan>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn rejects_bad_plans() {
        for bad in [
            "429",
            "429=x",
            "429=1.5",
            "200=0.1",
            "teapot=0.1",
            "slow=0.1",
            "slow=0.1:fast",
            "reset=0.1:2s",
            "429=0.6,503=0.6",
        ] {
            assert!(bad.parse::<FaultPlan>().is_err(), "{bad}");
        }
        assert!("".parse::<FaultPlan>().unwrap().is_empty());
    }

    #[test]
    fn draws_are_deterministic_and_follow_the_probabilities() {
        let p: FaultPlan = "429=0.1,503=0.05".parse().unwrap();
        let a: Vec<_> = (0..10_000).map(|i| p.decide(7, i)).collect();
        let b: Vec<_> = (0..10_000).map(|i| p.decide(7, i)).collect();
        assert_eq!(a, b);
        let c: Vec<_> = (0..10_000).map(|i| p.decide(8, i)).collect();
        assert_ne!(a, c);
        let n429 = a
            .iter()
            .filter(|f| **f == Some(FaultKind::Status(429)))
            .count();
        let n503 = a
            .iter()
            .filter(|f| **f == Some(FaultKind::Status(503)))
            .count();
        assert!((800..1200).contains(&n429), "{n429}");
        assert!((350..650).contains(&n503), "{n503}");
    }

    #[test]
    fn scoped_faults_apply_to_their_route_only() {
        let p: FaultPlan =
            "429=0.01;GET:/wiki/api/v2/pages/{id}/children:503=0.5,429=0.05;/wiki/rest/*:500=1"
                .parse()
                .unwrap();
        assert_eq!(p.faults.len(), 1);
        assert_eq!(p.scoped.len(), 2);
        assert_eq!(p.scoped[0].method.as_deref(), Some("GET"));
        assert_eq!(p.scoped[0].faults.len(), 2);
        assert_eq!(p.to_string().parse::<FaultPlan>().unwrap(), p);
        let children = "/wiki/api/v2/pages/{id}/children";
        let n = (0..10_000)
            .filter(|i| p.decide_for(7, *i, "GET", children) == Some(FaultKind::Status(503)))
            .count();
        assert!((4500..5500).contains(&n), "{n}");
        assert!(
            (0..1000).all(|i| p.decide_for(7, i, "POST", children) != Some(FaultKind::Status(503)))
        );
        assert!(
            (0..1000).all(|i| p.decide_for(7, i, "GET", "/wiki/rest/api/space")
                == Some(FaultKind::Status(500)))
        );
        assert_eq!(
            (0..100)
                .map(|i| p.decide_for(7, i, "GET", children))
                .collect::<Vec<_>>(),
            (0..100)
                .map(|i| p.decide_for(7, i, "GET", children))
                .collect::<Vec<_>>()
        );
        // A scope without '=' after it, or a probability sum over 1 in a scope, is an error.
        assert!("GET:/x".parse::<FaultPlan>().is_err());
        assert!("GET:/x:503=0.7,429=0.7".parse::<FaultPlan>().is_err());
        // The old syntax is unchanged.
        let old: FaultPlan = "429=0.05,slow=0.02:2s".parse().unwrap();
        assert!(old.scoped.is_empty());
        assert_eq!(old.to_string(), "429=0.05,slow=0.02:2000ms");
    }
}
