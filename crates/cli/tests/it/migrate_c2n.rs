//! `kbridge migrate confluence-to-notion` and `kbridge verify confluence-to-notion` against the
//! twins: text and JSON outputs, a re-run that changes nothing, and errors that name the fix.

use super::{Run, json, run_service};

struct Twins {
    sim: kb_sim::BackgroundSim,
    space: String,
    home: String,
    dir: tempfile::TempDir,
}

impl Twins {
    fn start() -> Twins {
        let mut cfg = kb_sim::SimConfig::default();
        cfg.workspace.pages = 24;
        cfg.notion.workspace.pages = 3;
        cfg.notion.workspace.rows = 2;
        cfg.notion.rate = None;
        let sim = kb_sim::BackgroundSim::start(cfg).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (space, home) = rt.block_on(async {
            let c = &sim.handle.credentials()[0];
            let conf = kb_confluence::Confluence::new(
                kb_confluence::ConfluenceConfig::new(
                    &sim.handle.confluence_url(),
                    c.email.clone(),
                    c.token.clone().into(),
                )
                .unwrap(),
            )
            .unwrap();
            let spaces = conf.spaces().unwrap().all().await.unwrap();
            let n = kb_notion::Notion::new(kb_notion::NotionConfig::new(
                sim.handle.notion_url().parse().unwrap(),
                sim.handle.notion_token().to_string().into(),
            ))
            .unwrap();
            let found = n.search(Some("Team Home"), Some("page")).await.unwrap();
            let home = found
                .iter()
                .find(|p| p["parent"]["type"] == "workspace")
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            (spaces[0]["key"].as_str().unwrap().to_string(), home)
        });
        Twins {
            sim,
            space,
            home,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let h = &self.sim.handle;
        let url = h.confluence_url();
        let notion_url = h.notion_url();
        let store = self.dir.path().join("kbridge.db");
        let store = store.to_str().unwrap();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--notion-rate", "500", "--confluence-rate", "500"]);
        run_service(
            Some(self.dir.path()),
            &[
                ("CONFLUENCE_URL", url.as_str()),
                ("CONFLUENCE_EMAIL", "admin@example.com"),
                ("CONFLUENCE_API_TOKEN", "kbridge-sim-token"),
                ("NOTION_TOKEN", h.notion_token()),
                ("NOTION_URL", notion_url.as_str()),
                ("KBRIDGE_STORE", store),
            ],
            &all,
        )
    }
}

#[test]
fn migrate_and_verify_confluence_to_notion() {
    let t = Twins::start();
    let (space, home) = (t.space.as_str(), t.home.as_str());
    let base = [
        "migrate",
        "confluence-to-notion",
        "--space",
        space,
        "--to",
        home,
    ];

    let mut plan = base.to_vec();
    plan.push("--plan");
    let r = t.run(&plan);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("plan: "), "{}", r.stdout);
    assert!(r.stdout.contains("nothing was written"), "{}", r.stdout);
    assert!(r.stdout.contains("estimate: "), "{}", r.stdout);
    plan.push("--json");
    let r = t.run(&plan);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let p = json(&r.stdout);
    let pages = p["pages"].as_u64().unwrap();
    assert!(pages >= 3, "{p}");
    assert_eq!(p["notion_plan"].as_array().unwrap().len() as u64, pages);
    assert!(p["estimate"]["seconds"].as_f64().unwrap() > 0.0, "{p}");

    let mut run = base.to_vec();
    run.push("--json");
    let r = t.run(&run);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let j = json(&r.stdout);
    assert_eq!(j["created"].as_u64(), Some(pages), "{j}");
    assert_eq!(j["ids"].as_object().unwrap().len() as u64, pages);
    let r = t.run(&base);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "{pages} pages: 0 created, 0 updated, {pages} unchanged"
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("(0 writes)"), "{}", r.stdout);

    let verify = [
        "verify",
        "confluence-to-notion",
        "--space",
        space,
        "--to",
        home,
    ];
    let r = t.run(&verify);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(": OK"), "{}", r.stdout);
    let mut vj = verify.to_vec();
    vj.push("--json");
    let r = t.run(&vj);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["ok"], true);
    assert_eq!(v["summary"]["pages"].as_u64(), Some(pages));
}

#[test]
fn bad_space_and_bad_target_name_the_fix() {
    let t = Twins::start();
    let home = t.home.as_str();
    let r = t.run(&[
        "migrate",
        "confluence-to-notion",
        "--space",
        "NOPE",
        "--to",
        home,
    ]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("NOPE") && r.stderr.contains("check the key"),
        "{}",
        r.stderr
    );
    for to in ["0123456789abcdef0123456789abcdef", "not-a-page"] {
        let r = t.run(&[
            "migrate",
            "confluence-to-notion",
            "--space",
            &t.space,
            "--to",
            to,
        ]);
        assert_eq!(r.status, 1);
        assert!(
            r.stderr.contains("--to") && r.stderr.contains("give"),
            "{}",
            r.stderr
        );
    }
    let r = t.run(&[
        "verify",
        "confluence-to-notion",
        "--space",
        "NOPE",
        "--to",
        home,
        "--json",
    ]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("check the key"), "{}", r.stderr);
    assert!(!r.stderr.contains("kbridge-sim-token"));
}
