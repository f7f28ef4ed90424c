//! `kbridge bench km`: the knowledge base over a generated site, against a twin started in
//! this process, printed as JSON.
//!
//! The twin runs here, with the permission scenario (20 more users, groups, restrictions at
//! random depths) and a labelled relevance set written through its API (`kb_sim::relevance`).
//! Each phase runs in a child process (`kbridge bench km-once`) so that its peak resident set
//! is km's alone:
//!
//! 1. **import**: the extract into a fresh SQLite store, then km's import of the replica into
//!    articles and the index (timed apart: articles/s is km's own rate), index size against the
//!    plain text's size;
//! 2. **no-change sync**: requests and articles rewritten;
//! 3. **10 edits** made through the twin, then a sync: articles re-indexed;
//! 4. **search**: the labelled queries as the admin (recall@10, MRR@10), then `--queries` mixed
//!    queries as random users (p50/p99 latency of `kb_km::search`: principals, index, store).

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Settings of one benchmark.
#[derive(clap::Args, Debug)]
pub struct KmBenchArgs {
    /// Pages of the generated site (the relevance set's pages come on top).
    #[arg(long, default_value_t = 10_000)]
    pages: usize,
    /// Spaces of the generated site.
    #[arg(long, default_value_t = 3)]
    spaces: usize,
    /// Seed of the generated site and of the queries.
    #[arg(long, default_value_t = 11)]
    seed: u64,
    /// Subjects of the relevance set (5 labelled queries each).
    #[arg(long, default_value_t = 60)]
    subjects: usize,
    /// Mixed queries as random users for the latency figures.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
}

/// One phase in this process (used by `km`; prints one JSON object).
#[derive(clap::Args, Debug)]
pub struct KmOnceArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    store: String,
    #[arg(long)]
    index: std::path::PathBuf,
    /// `import`, `sync` or `search`.
    #[arg(long)]
    phase: String,
    /// `search`: a JSON file of `{"labelled": [{text, tag}], "mixed": [{text, who}]}`.
    #[arg(long)]
    queries: Option<std::path::PathBuf>,
}

fn client(url: &str) -> Result<kb_confluence::Confluence> {
    let mut cfg = kb_confluence::ConfluenceConfig::new(
        url,
        "admin@example.com",
        "kbridge-sim-token".to_string().into(),
    )?;
    cfg.rate = kb_confluence::NO_CEILING;
    cfg.concurrency = 4;
    Ok(kb_confluence::Confluence::new(cfg)?)
}

fn dir_size(p: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn once(a: KmOnceArgs) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let v = rt.block_on(async {
        let store = kb_store::Store::open(&a.store).await?;
        let mut index = kb_search::SearchIndex::open(&a.index)?;
        let cfg = kb_km::KmConfig::default();
        let v = match a.phase.as_str() {
            "import" => {
                let c = client(&a.url)?;
                let t = Instant::now();
                let ex = kb_engine::extract::extract(
                    &c,
                    &store,
                    &kb_engine::extract::ExtractOptions {
                        concurrency: 4,
                        ..Default::default()
                    },
                    None,
                )
                .await?;
                let extract_s = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let opts = kb_km::ImportOptions {
                    site_url: c.site().wiki().as_str().trim_end_matches('/').to_string(),
                    ..Default::default()
                };
                let (_, counts) = kb_km::import_only(&store, &mut index, &cfg, &opts).await?;
                let import_s = t.elapsed().as_secs_f64();
                let mut text_bytes = 0u64;
                for r in store
                    .select("km_articles", &["body_text"], &kb_store::Filter::all())
                    .await?
                {
                    text_bytes += r
                        .first()
                        .and_then(Value::as_str)
                        .map_or(0, |s| s.len() as u64);
                }
                let articles = counts.added + counts.updated + counts.unchanged;
                json!({
                    "extract_s": extract_s,
                    "extract_requests": ex.requests_total,
                    "import_s": import_s,
                    "articles": articles,
                    "counts": counts,
                    "articles_per_s": articles as f64 / import_s.max(1e-9),
                    "text_bytes": text_bytes,
                    "index_bytes": dir_size(&a.index),
                    "index_to_text": dir_size(&a.index) as f64 / (text_bytes.max(1) as f64),
                })
            }
            "sync" => {
                let c = client(&a.url)?;
                let t = Instant::now();
                let r = kb_km::sync(&c, &store, &mut index, &cfg, &kb_km::SyncOptions::default())
                    .await?;
                json!({
                    "wall_s": t.elapsed().as_secs_f64(),
                    "status": r.status,
                    "requests": r.requests,
                    "requests_by_endpoint": r.extract_requests,
                    "counts": r.counts,
                })
            }
            "search" => {
                let path = a.queries.as_ref().context("--queries is needed")?;
                let q: Value = serde_json::from_slice(
                    &std::fs::read(path).with_context(|| path.display().to_string())?,
                )?;
                let ask = |text: &str, tag: Option<&str>| kb_km::SearchRequest {
                    text: text.to_string(),
                    tags: tag.map(str::to_string).into_iter().collect(),
                    limit: 10,
                    ..Default::default()
                };
                let admin = kb_km::Searcher::parse(q["admin"].as_str().context("admin")?);
                let mut answers = Vec::new();
                for l in q["labelled"].as_array().context("labelled")? {
                    let req = ask(l["text"].as_str().context("text")?, l["tag"].as_str());
                    let ans = kb_km::search(&store, &index, &admin, &req).await?;
                    answers.push(ans.hits.into_iter().map(|h| h.id).collect::<Vec<_>>());
                }
                let mut ms = Vec::new();
                let mut by_kind: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
                let mut hits = 0usize;
                for m in q["mixed"].as_array().context("mixed")? {
                    let who = kb_km::Searcher::parse(m["who"].as_str().context("who")?);
                    let req = ask(m["text"].as_str().context("text")?, m["tag"].as_str());
                    let t = Instant::now();
                    let ans = kb_km::search(&store, &index, &who, &req).await?;
                    let took = t.elapsed().as_secs_f64() * 1000.0;
                    ms.push(took);
                    by_kind
                        .entry(m["kind"].as_str().unwrap_or("?").to_string())
                        .or_default()
                        .push(took);
                    hits += ans.hits.len();
                }
                // Match-all as a random user with the facet counts, as a search page shows
                // them.
                let mut faceted = Vec::new();
                for m in q["mixed"].as_array().context("mixed")?.iter().take(200) {
                    let who = kb_km::Searcher::parse(m["who"].as_str().context("who")?);
                    let req = kb_km::SearchRequest {
                        facets: true,
                        ..ask("", None)
                    };
                    let t = Instant::now();
                    kb_km::search(&store, &index, &who, &req).await?;
                    faceted.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                faceted.sort_by(f64::total_cmp);
                ms.sort_by(f64::total_cmp);
                let kinds: serde_json::Map<String, Value> = by_kind
                    .into_iter()
                    .map(|(k, mut v)| {
                        v.sort_by(f64::total_cmp);
                        let j = json!({"queries": v.len(), "p50_ms": percentile(&v, 0.5), "p99_ms": percentile(&v, 0.99)});
                        (k, j)
                    })
                    .collect();
                json!({
                    "answers": answers,
                    "mixed": ms.len(),
                    "mixed_hits": hits,
                    "by_kind": kinds,
                    "match_all_with_facets": {"queries": faceted.len(),
                        "p50_ms": percentile(&faceted, 0.5), "p99_ms": percentile(&faceted, 0.99)},
                    "p50_ms": percentile(&ms, 0.5),
                    "p99_ms": percentile(&ms, 0.99),
                    "max_ms": ms.last().copied().unwrap_or(0.0),
                })
            }
            other => bail!("--phase {other}: use import, sync or search"),
        };
        store.close().await;
        anyhow::Ok(v)
    })?;
    let mut v = v;
    v["peak_rss_bytes"] = json!(crate::bench::peak_rss());
    println!("{v}");
    Ok(true)
}

fn child(
    exe: &std::path::Path,
    url: &str,
    store: &str,
    index: &std::path::Path,
    phase: &str,
    queries: Option<&std::path::Path>,
) -> Result<Value> {
    let mut cmd = Command::new(exe);
    cmd.args([
        "bench", "km-once", "--url", url, "--store", store, "--phase", phase,
    ])
    .arg("--index")
    .arg(index);
    if let Some(q) = queries {
        cmd.arg("--queries").arg(q);
    }
    let out = cmd.output().context("cannot run the km child process")?;
    if !out.status.success() {
        bail!(
            "the km {phase} phase failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("the km {phase} child printed something that is not JSON"))
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn run(a: KmBenchArgs) -> Result<bool> {
    let exe = std::env::current_exe().context("cannot find the kbridge executable")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let store = tmp.path().join("bench.db").display().to_string();
    let index = tmp.path().join("index");
    rt.block_on(async {
        let mut cfg = kb_sim::SimConfig::default();
        cfg.workspace.pages = a.pages;
        cfg.workspace.spaces = a.spaces;
        cfg.workspace.seed = a.seed;
        cfg.workspace.users = 20;
        cfg.permissions = Some(kb_sim::confluence::perms::PermScenario::default());
        let t = Instant::now();
        let sim = kb_sim::start(cfg).await?;
        let startup = t.elapsed().as_secs_f64();
        let http = reqwest::Client::new();
        let dataset = || async {
            let d: Value = http
                .get(format!("{}/__sim/confluence/dataset?bodies=false", sim.url()))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(d)
        };
        let d = dataset().await?;
        let admin = &sim.credentials()[0];
        let space = s(&d["spaces"][0]["key"]);
        let set = kb_sim::relevance::generate(a.seed, a.subjects);
        let ids = kb_sim::relevance::install(&sim.url(), &admin.email, &admin.token, &space, &set)
            .await?;
        let url = sim.confluence_url();

        let import = child(&exe, &url, &store, &index, "import", None)?;
        let quiet = child(&exe, &url, &store, &index, "sync", None)?;

        // 10 edits, as a person would make them, of pages that are articles (the crawler
        // reads them).
        let d = dataset().await?;
        let editable: Vec<String> = {
            let st = kb_store::Store::open(&store).await?;
            let ids = st.ids("km_articles", &kb_store::Filter::all()).await?;
            st.close().await;
            ids.iter()
                .filter_map(|i| i.strip_prefix("page:").map(str::to_string))
                .collect()
        };
        if editable.len() < 10 {
            bail!("the import made {} page articles: too few to edit 10", editable.len());
        }
        let mut rng = kb_sim::rng::Rng::new(a.seed);
        let mut edited = std::collections::BTreeSet::new();
        while edited.len() < 10.min(editable.len()) {
            edited.insert(rng.pick(&editable).clone());
        }
        for id in &edited {
            let r = http
                .post(format!("{}/__sim/confluence/pages/{id}/edit", sim.url()))
                .json(&json!({"append": "<p>benchmark edit</p>"}))
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("editing page {id} in the twin: {}", r.status());
            }
        }
        let edits = child(&exe, &url, &store, &index, "sync", None)?;

        // Queries: the labelled set as the admin; mixed queries as random users.
        let users: Vec<String> = d["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["accountId"].as_str().map(str::to_string))
            .collect();
        if users.is_empty() {
            bail!("the twin has no users");
        }
        let titles: Vec<String> = d["contents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["status"] == "current")
            .filter_map(|c| c["title"].as_str().map(str::to_string))
            .collect();
        let labelled: Vec<Value> = set
            .queries
            .iter()
            .map(|q| json!({"text": q.text, "tag": q.tag}))
            .collect();
        let mut mixed = Vec::new();
        for i in 0..a.queries {
            let who = rng.pick(&users).clone();
            let (kind, text) = match i % 4 {
                0 => ("labelled", set.queries[i % set.queries.len()].text.clone()),
                1 => {
                    let t = rng.pick(&titles);
                    ("title_words", t.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
                }
                2 => {
                    let t = rng.pick(&titles);
                    let w = t.split_whitespace().next().unwrap_or("the");
                    let cut: String = w.chars().take(3).collect();
                    ("prefix", format!("{cut}*"))
                }
                _ => ("match_all", String::new()),
            };
            mixed.push(json!({"text": text, "who": who, "kind": kind}));
        }
        let qfile = tmp.path().join("queries.json");
        std::fs::write(
            &qfile,
            serde_json::to_vec(&json!({"admin": users[0], "labelled": labelled, "mixed": mixed}))?,
        )?;
        let search = child(&exe, &url, &store, &index, "search", Some(&qfile))?;
        let answers: Vec<Vec<String>> = serde_json::from_value(search["answers"].clone())?;
        let relevant: Vec<Vec<String>> = set
            .queries
            .iter()
            .map(|q| q.relevant.iter().map(|&i| format!("page:{}", ids[i])).collect())
            .collect();
        let kinds: Vec<_> = set.queries.iter().map(|q| q.kind).collect();
        let scores = kb_sim::relevance::score(&kinds, &relevant, &answers);
        let mut search = search;
        if let Some(o) = search.as_object_mut() {
            o.remove("answers");
        }
        let out = json!({
            "bench": "km",
            "site": {"pages": a.pages, "spaces": a.spaces, "seed": a.seed,
                     "relevance_pages": set.pages.len(), "twin_startup_s": startup},
            "import": import,
            "no_change_sync": quiet,
            "ten_edits_sync": edits,
            "search": search,
            "relevance": scores,
            "targets": {"articles_per_s": 1000, "p99_ms": 10.0, "recall_at_10": 0.9, "mrr_at_10": 0.9,
                        "no_change_requests": 5},
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        drop(sim);
        anyhow::Ok(true)
    })
}
