//! The web UI in a real Chromium (Debian's `chromium` and `chromium-driver`, driven by
//! fantoccini): an operator logs in, adds a connection to the twin, tests it, creates a
//! scheduled extract job, runs it now, watches it finish, sees counts and logs; the pages
//! also at a phone's width; then searches as a user (only that user's pages) and resolves a
//! sync conflict with its button. Screenshots of each page go to `target/screenshots/serve/`.
//!
//! Without the browser the test prints a visible SKIPPED line, unless
//! `KBRIDGE_REQUIRE_BROWSER=1` (CI sets it), which makes it a failure.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use kb_config::ConfigFile;
use kb_serve::{ServeOptions, Shared, SystemClock};

use crate::support::TOKEN;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn shots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let d = target.join("screenshots/serve");
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_adds_a_connection_tests_it_schedules_and_runs_an_extract() {
    if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
        if std::env::var("KBRIDGE_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "KBRIDGE_REQUIRE_BROWSER=1 but {CHROMIUM} or {DRIVER} is missing: apt-get install chromium chromium-driver"
            );
        }
        eprintln!(
            "SKIPPED: the browser test needs {CHROMIUM} and {DRIVER} (apt-get install chromium chromium-driver); KBRIDGE_REQUIRE_BROWSER=1 makes this a failure"
        );
        return;
    }
    let mut sc = kb_sim::SimConfig::default();
    sc.workspace.pages = 20;
    sc.workspace.seed = 31;
    let sim = kb_sim::start(sc).await.unwrap();
    let cred = sim.credentials()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let env = HashMap::from([("WIKI_TOKEN".to_string(), cred.token.clone())]);
    let sh = Shared::open(ServeOptions {
        store_url: dir.path().join("kbridge.db").to_str().unwrap().into(),
        config: ConfigFile::default(),
        admin_token: TOKEN.to_string().into(),
        env: Arc::new(move |k| env.get(k).cloned()),
        clock: Arc::new(SystemClock),
        worker: "browser-test".into(),
        lease: Duration::from_secs(30),
    })
    .await
    .unwrap();
    let port = free_port();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn(kb_serve::serve(
        sh.clone(),
        Some(SocketAddr::from(([127, 0, 0, 1], port))),
        2,
        stop,
    ));
    let base = format!("http://127.0.0.1:{port}");

    let dport = free_port();
    let _driver = Driver(
        std::process::Command::new(DRIVER)
            .arg(format!("--port={dport}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("chromedriver", async || {
        std::net::TcpStream::connect(("127.0.0.1", dport)).is_ok()
    })
    .await;
    wait_until("the daemon", async || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"]}),
    );
    let c = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{dport}"))
        .await
        .unwrap();

    // Log in.
    c.goto(&format!("{base}/")).await.unwrap();
    shot(&c, "01-login").await;
    c.find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    c.find(Locator::Css("#login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#overview"))
        .await
        .unwrap();
    shot(&c, "02-overview-empty").await;

    // Add a connection to the twin, and test it.
    c.goto(&format!("{base}/ui/connections")).await.unwrap();
    for (field, value) in [
        ("name", "wiki"),
        ("url", sim.confluence_url().as_str()),
        ("email", cred.email.as_str()),
        ("token_env", "WIKI_TOKEN"),
        ("rate", "2000"),
    ] {
        c.find(Locator::Css(&format!(
            "#add-connection input[name={field}]"
        )))
        .await
        .unwrap()
        .send_keys(value)
        .await
        .unwrap();
    }
    c.find(Locator::Css("#add-connection button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("tr[data-connection=wiki]"))
        .await
        .unwrap();
    c.find(Locator::Css("tr[data-connection=wiki] button[name=test]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let ok = c
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("#test-wiki [data-test]"))
        .await
        .unwrap();
    assert_eq!(
        ok.attr("data-test").await.unwrap().as_deref(),
        Some("ok"),
        "{}",
        ok.text().await.unwrap()
    );
    let text = c
        .find(Locator::Css("#test-wiki"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("spaces readable"), "{text}");
    assert!(
        !c.source().await.unwrap().contains(&cred.token),
        "no token on the page"
    );
    shot(&c, "03-connections-tested").await;

    // A scheduled extract job; run it now.
    c.goto(&format!("{base}/ui/jobs")).await.unwrap();
    let name = c
        .find(Locator::Css("#add-job input[name=name]"))
        .await
        .unwrap();
    name.send_keys("nightly").await.unwrap();
    c.find(Locator::Css("#add-job button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("tr[data-job=nightly]"))
        .await
        .unwrap();
    let row = c.find(Locator::Css("tr[data-job=nightly]")).await.unwrap();
    assert!(row.text().await.unwrap().contains("daily 02:00"));
    shot(&c, "04-jobs").await;
    c.find(Locator::Css("tr[data-job=nightly] button[value=run]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("#flash")).await.unwrap();
    let flash = c
        .find(Locator::Css("#flash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(flash.contains("queued"), "{flash}");

    // Watch it finish on its page (live progress re-renders it), then counts and logs.
    let run = sh.db.runs(Some("nightly"), 1).await.unwrap()[0].id;
    c.goto(&format!("{base}/ui/runs")).await.unwrap();
    c.find(Locator::Css(&format!("tr[data-run='{run}'] a")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut status = String::new();
    for _ in 0..600 {
        if let Ok(e) = c.find(Locator::Css("#run-status")).await {
            status = e
                .attr("data-status")
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            if status == "succeeded" || status == "failed" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "succeeded", "{}", c.source().await.unwrap());
    let counts = c
        .find(Locator::Css("#counts"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pages = sh.store.counts().await.unwrap()["pages"];
    assert!(
        pages > 0 && counts.contains(&format!("pages {pages}")),
        "{counts}"
    );
    let logs = c
        .find(Locator::Css("#logs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(logs.contains("rows written"), "{logs}");
    shot(&c, "05-run-succeeded").await;
    // Filter the log by object.
    c.find(Locator::Css("#log-filter input[name=object]"))
        .await
        .unwrap()
        .send_keys("page_versions")
        .await
        .unwrap();
    c.find(Locator::Css("#log-filter button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("#logs")).await.unwrap();
    let filtered = c
        .find(Locator::Css("#logs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = filtered.lines().skip(1).collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.contains("page_versions")),
        "{filtered}"
    );
    c.goto(&format!("{base}/ui/runs")).await.unwrap();
    c.wait().for_element(Locator::Css("#chart")).await.unwrap();
    shot(&c, "06-runs-chart").await;
    c.goto(&format!("{base}/ui/logs?level=info")).await.unwrap();
    shot(&c, "07-logs").await;
    c.goto(&format!("{base}/")).await.unwrap();
    let badge = c
        .find(Locator::Css("tr[data-job=nightly] [data-status]"))
        .await
        .unwrap();
    assert_eq!(
        badge.attr("data-status").await.unwrap().as_deref(),
        Some("ok")
    );
    shot(&c, "08-overview").await;

    // A phone's width: the pages still render (tables scroll in their card).
    c.set_window_size(390, 844).await.unwrap();
    for (p, n) in [
        ("/", "09-phone-overview"),
        ("/ui/jobs", "10-phone-jobs"),
        (&format!("/ui/runs/{run}") as &str, "11-phone-run"),
    ] {
        c.goto(&format!("{base}{p}")).await.unwrap();
        c.wait().for_element(Locator::Css("main")).await.unwrap();
        shot(&c, n).await;
    }
    let width: serde_json::Value = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .unwrap();
    assert!(
        width.as_u64().unwrap() <= 400,
        "the page is not wider than the phone: {width}"
    );

    c.close().await.unwrap();
    stop_tx.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}

/// Logs in at `base` as the operator.
async fn login(c: &Client, base: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    c.find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    c.find(Locator::Css("#login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#overview"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_searches_as_a_user_and_resolves_a_sync_conflict() {
    if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
        if std::env::var("KBRIDGE_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("KBRIDGE_REQUIRE_BROWSER=1 but {CHROMIUM} or {DRIVER} is missing");
        }
        eprintln!("SKIPPED: the browser test needs {CHROMIUM} and {DRIVER}");
        return;
    }
    // Two twins: a site with permissions for km, a Notion workspace and a site for sync.
    let km_sim = crate::km::twin().await;
    let sync_sim = crate::sync::twins().await;
    let mut config = crate::sync::config(&sync_sim);
    config.connections.insert(
        "kmwiki".into(),
        kb_config::Connection::ConfluenceCloud(kb_config::ConfluenceCloudConnection {
            url: km_sim.confluence_url(),
            email: km_sim.credentials()[0].email.clone(),
            token_env: Some("KMWIKI_TOKEN".into()),
            token_file: None,
            rate: Some(5000.0),
            concurrency: Some(8),
        }),
    );
    config.jobs.insert(
        "kb".into(),
        kb_config::Job::Km(kb_config::KmSyncJob {
            connection: Some("kmwiki".into()),
            what: None,
        }),
    );
    let mut env = crate::sync::env(&sync_sim);
    env.insert("KMWIKI_TOKEN".into(), km_sim.credentials()[0].token.clone());
    let now = jiff::Timestamp::now().to_string();
    let d = crate::support::daemon(config, env, &now).await;
    // The knowledge base imported, and a conflict waiting, before the operator opens the UI.
    crate::support::call(&d.sh, "POST", "/api/v1/jobs/kb/run", None).await;
    let done = kb_serve::runner::drain(&d.sh).await.unwrap();
    assert_eq!(
        done[0].1,
        kb_serve::runner::Ended::Finished("succeeded".into())
    );
    let cid = crate::sync::with_conflict(&sync_sim, &d).await;
    let conflict = d.sh.store.sync_conflicts(None, true).await.unwrap()[0].id;

    let port = free_port();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn(kb_serve::serve(
        d.sh.clone(),
        Some(SocketAddr::from(([127, 0, 0, 1], port))),
        2,
        stop,
    ));
    let base = format!("http://127.0.0.1:{port}");
    let dport = free_port();
    let _driver = Driver(
        std::process::Command::new(DRIVER)
            .arg(format!("--port={dport}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("chromedriver", async || {
        std::net::TcpStream::connect(("127.0.0.1", dport)).is_ok()
    })
    .await;
    wait_until("the daemon", async || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"]}),
    );
    let c = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{dport}"))
        .await
        .unwrap();
    login(&c, &base).await;

    // Search as a user: exactly the pages that user may read (the twin's own API says which).
    let admin = &km_sim.credentials()[0];
    let crawler = crate::km::api_readable(&km_sim, &admin.email, &admin.token).await;
    let users = crate::km::users(&km_sim).await;
    let (account, email, token) = users.into_iter().nth(3).unwrap();
    let oracle: std::collections::BTreeSet<String> =
        crate::km::api_readable(&km_sim, &email, &token)
            .await
            .intersection(&crawler)
            .cloned()
            .collect();
    assert!(
        oracle.len() < crawler.len(),
        "the user sees less than the crawler"
    );
    c.goto(&format!("{base}/ui/search")).await.unwrap();
    c.find(Locator::Css("#search-as"))
        .await
        .unwrap()
        .send_keys(&account)
        .await
        .unwrap();
    c.find(Locator::Css("#search-go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#search-total"))
        .await
        .unwrap();
    let mut shown = std::collections::BTreeSet::new();
    for row in c
        .find_all(Locator::Css("#search-hits tr.hit"))
        .await
        .unwrap()
    {
        shown.insert(row.attr("data-id").await.unwrap().unwrap());
    }
    assert_eq!(shown, oracle, "the hits for {account}");
    shot(&c, "12-search-as-user").await;

    // The conflict side by side; keep Notion's.
    c.goto(&format!("{base}/ui/sync")).await.unwrap();
    let section = c
        .find(Locator::Css(&format!("#conflict-{conflict}")))
        .await
        .unwrap();
    let text = section.text().await.unwrap();
    assert!(
        text.contains("Notion says this") && text.contains("Confluence says that"),
        "{text}"
    );
    shot(&c, "13-sync-conflict").await;
    c.find(Locator::Css(&format!(
        "#conflict-{conflict} button.take-notion"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.wait().for_element(Locator::Css("#flash")).await.unwrap();
    let flash = c
        .find(Locator::Css("#flash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(flash.contains("resolved"), "{flash}");
    c.find(Locator::Css("#no-conflicts")).await.unwrap();
    shot(&c, "14-sync-resolved").await;
    let storage = crate::sync::conf_page(&sync_sim, &cid).await["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(storage.contains("Notion says this"), "{storage}");
    assert!(!storage.contains("Confluence says that"), "{storage}");

    c.close().await.unwrap();
    stop_tx.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}
