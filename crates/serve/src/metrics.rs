//! `/metrics` in the Prometheus text format (prometheus-client): job runs and their
//! durations, rows written per table, the services' requests, 429s and retries as the runs
//! counted them, and the admin API's requests by route and status.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::Value;

type Labels = Vec<(String, String)>;

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The daemon's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    runs: Family<Labels, Counter>,
    running: Family<Labels, Gauge>,
    durations: Family<Labels, Histogram>,
    rows: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    rate_limited: Family<Labels, Counter>,
    retries: Family<Labels, Counter>,
    http: Family<Labels, Counter>,
    http_latency: Family<Labels, Histogram>,
    search_latency: Histogram,
    webhooks: Family<Labels, Counter>,
}

fn duration_buckets() -> Histogram {
    Histogram::new([
        0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
    ])
}

fn latency_buckets() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Registry::with_prefix("kbridge");
        let m = Metrics {
            runs: Family::default(),
            running: Family::default(),
            durations: Family::new_with_constructor(duration_buckets as fn() -> Histogram),
            rows: Family::default(),
            requests: Family::default(),
            rate_limited: Family::default(),
            retries: Family::default(),
            http: Family::default(),
            http_latency: Family::new_with_constructor(latency_buckets as fn() -> Histogram),
            search_latency: latency_buckets(),
            webhooks: Family::default(),
            registry: Mutex::new(Registry::default()),
        };
        r.register(
            "job_runs",
            "Job runs ended, by kind and status",
            m.runs.clone(),
        );
        r.register(
            "job_runs_running",
            "Job runs in progress, by kind",
            m.running.clone(),
        );
        r.register(
            "job_duration_seconds",
            "Wall time of ended job runs, by kind",
            m.durations.clone(),
        );
        r.register(
            "rows_written",
            "Rows written to the store by job runs, by table",
            m.rows.clone(),
        );
        r.register(
            "service_requests",
            "Requests sent to a service by job runs, by service and endpoint",
            m.requests.clone(),
        );
        r.register(
            "service_rate_limited",
            "Answers 429 (rate-limited) met by job runs, by service",
            m.rate_limited.clone(),
        );
        r.register(
            "service_retries",
            "Requests retried by job runs, by service",
            m.retries.clone(),
        );
        r.register(
            "admin_requests",
            "Requests to the daemon, by route and status",
            m.http.clone(),
        );
        r.register(
            "admin_request_seconds",
            "Latency of the daemon's answers, by route",
            m.http_latency.clone(),
        );
        r.register(
            "km_search_seconds",
            "Latency of km searches (as a user or a role)",
            m.search_latency.clone(),
        );
        r.register(
            "webhook_deliveries",
            "Webhook deliveries received, by source and outcome",
            m.webhooks.clone(),
        );
        *m.registry.lock().unwrap_or_else(|e| e.into_inner()) = r;
        m
    }
}

impl Metrics {
    pub fn run_started(&self, kind: &str) {
        self.running.get_or_create(&l(&[("kind", kind)])).inc();
    }

    pub fn run_finished(&self, kind: &str, status: &str, secs: f64) {
        let k = l(&[("kind", kind)]);
        self.running.get_or_create(&k).dec();
        self.runs
            .get_or_create(&l(&[("kind", kind), ("status", status)]))
            .inc();
        self.durations.get_or_create(&k).observe(secs);
    }

    /// Counts a run's `counts.rows` (per table) and its requests (`requests.by_endpoint`,
    /// `rate_limited`, `retries`; a migration's `requests.by_service`).
    pub fn rows_written(&self, counts: &Value) {
        if let Some(rows) = counts.get("rows").and_then(Value::as_object) {
            for (table, n) in rows {
                if let Some(n) = n.as_u64() {
                    self.rows.get_or_create(&l(&[("table", table)])).inc_by(n);
                }
            }
        }
    }

    pub fn requests(&self, service: &str, requests: &Value) {
        if let Some(by) = requests.get("by_endpoint").and_then(Value::as_object) {
            for (endpoint, n) in by {
                if let Some(n) = n.as_u64() {
                    self.requests
                        .get_or_create(&l(&[("service", service), ("endpoint", endpoint)]))
                        .inc_by(n);
                }
            }
        }
        if let Some(by) = requests.get("by_service").and_then(Value::as_object) {
            for (svc, n) in by {
                if let Some(n) = n.as_u64() {
                    self.requests
                        .get_or_create(&l(&[("service", svc), ("endpoint", "all")]))
                        .inc_by(n);
                }
            }
        }
        if let Some(n) = requests.get("rate_limited").and_then(Value::as_u64) {
            self.rate_limited
                .get_or_create(&l(&[("service", service)]))
                .inc_by(n);
        }
        if let Some(n) = requests.get("retries").and_then(Value::as_u64) {
            self.retries
                .get_or_create(&l(&[("service", service)]))
                .inc_by(n);
        }
    }

    pub fn http(&self, route: &str, status: u16, secs: f64) {
        self.http
            .get_or_create(&l(&[("route", route), ("status", &status.to_string())]))
            .inc();
        self.http_latency
            .get_or_create(&l(&[("route", route)]))
            .observe(secs);
    }

    pub fn search_latency(&self, d: std::time::Duration) {
        self.search_latency.observe(d.as_secs_f64());
    }

    pub fn webhook(&self, source: &str, outcome: &str) {
        self.webhooks
            .get_or_create(&l(&[("source", source), ("outcome", outcome)]))
            .inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &r);
        out
    }
}
