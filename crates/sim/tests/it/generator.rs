//! The generator is deterministic by seed, and its site is consistent with what is served.

use kb_sim::WorkspaceConfig;
use kb_sim::generator::generate;

use crate::support::Twin;

#[tokio::test]
async fn same_seed_same_dataset_other_seed_other_dataset() {
    let cfg = WorkspaceConfig {
        seed: 42,
        pages: 70,
        ..WorkspaceConfig::default()
    };
    let a = Twin::with(cfg.clone()).await.dataset().await;
    let b = Twin::with(cfg.clone()).await.dataset().await;
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let c = Twin::with(WorkspaceConfig {
        seed: 43,
        ..cfg.clone()
    })
    .await
    .dataset()
    .await;
    assert_ne!(a, c);
    // The library call gives the same ground truth as the endpoint.
    assert_eq!(generate(&cfg).to_json(true), a);
    // Without bodies the dataset is smaller but has the same objects.
    let slim = generate(&cfg).to_json(false);
    assert_eq!(
        slim["contents"].as_array().unwrap().len(),
        a["contents"].as_array().unwrap().len()
    );
    assert!(slim["contents"][0]["versions"][0].get("body").is_none());
}

#[tokio::test]
async fn generated_site_has_everything_an_extractor_meets() {
    let d = generate(&WorkspaceConfig {
        pages: 150,
        ..WorkspaceConfig::default()
    })
    .to_json(true);
    let count = |k: &str, f: &dyn Fn(&serde_json::Value) -> bool| {
        d[k].as_array().unwrap().iter().filter(|x| f(x)).count()
    };
    assert_eq!(count("contents", &|c| c["type"] == "page"), 150);
    assert!(count("contents", &|c| c["type"] == "blogpost") > 0);
    assert!(count("contents", &|c| c["type"] == "folder") > 0);
    assert!(count("contents", &|c| c["versions"].as_array().unwrap().len() > 1) > 0);
    assert!(count("contents", &|c| !c["labels"].as_array().unwrap().is_empty()) > 0);
    assert!(
        count("contents", &|c| !c["properties"]
            .as_array()
            .unwrap()
            .is_empty())
            > 0
    );
    assert!(
        count("contents", &|c| c["status"] != "current") > 0,
        "some archived or trashed pages"
    );
    assert!(count("comments", &|c| c["type"] == "inline") > 0);
    assert!(
        count("comments", &|c| c["parentCommentId"].is_u64()) > 0,
        "replies"
    );
    assert!(
        count("attachments", &|a| a["versions"][0]["bytes"]["size"]
            .as_u64()
            .unwrap()
            > 0)
            > 0
    );
    assert!(count("tasks", &|_| true) > 0);
    assert!(d["groups"].as_array().unwrap().len() >= 3);
    let bodies: String = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["versions"].as_array().unwrap().last()?["body"].as_str())
        .collect();
    for needle in [
        "<ac:link><ri:page ri:content-title=",
        "<ri:user ri:account-id=",
        "ac:name=\"status\"",
        "<table",
        "ac:name=\"code\"",
        "<ac:task-list>",
        "<ac:image",
        "ac:inline-comment-marker",
    ] {
        assert!(bodies.contains(needle), "no {needle} in any body");
    }
    // Inline comments point at markers that exist in their page.
    for c in d["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["markerRef"].is_string())
    {
        let page = d["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == c["containerId"])
            .unwrap();
        let body = page["versions"].as_array().unwrap().last().unwrap()["body"]
            .as_str()
            .unwrap();
        assert!(body.contains(c["markerRef"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn a_corpus_provides_the_bodies() {
    let Some(dir) = crate::support::corpus_dir("confluence-storage/real-cloud") else {
        return;
    };
    let corpus = kb_sim::Corpus::load(&dir).expect("corpus loads");
    assert!(corpus.pages.len() > 10);
    let bodies: Vec<String> = corpus.pages.iter().map(|p| p.body.to_string()).collect();
    let twin = Twin::with(WorkspaceConfig {
        pages: 30,
        corpus: Some(std::sync::Arc::new(corpus)),
        ..WorkspaceConfig::default()
    })
    .await;
    let pages = twin
        .collect_v2("/wiki/api/v2/pages?body-format=storage&limit=250")
        .await;
    assert!(!pages.is_empty());
    for p in &pages {
        let v = p["body"]["storage"]["value"].as_str().unwrap();
        assert!(
            bodies.iter().any(|b| b == v),
            "a served body is a corpus file"
        );
    }
    // Attachments the bodies reference exist on their page.
    let d = twin.dataset().await;
    let with_images = d["attachments"].as_array().unwrap().len();
    assert!(with_images > 0, "corpus pages reference attachments");
}

/// By default a fifth of the pages carry odd but valid storage kbridge's writer never makes;
/// `odd_bodies: 0.0` turns it off without moving anything else; every body the generator
/// makes passes the twin's own (kb-doc independent) validation.
#[test]
fn generated_sites_mix_in_odd_bodies_kbridge_did_not_write() {
    use kb_sim::confluence::xhtml;
    use kb_sim::generator::ODD_BODIES;
    let on = generate(&WorkspaceConfig {
        pages: 120,
        ..WorkspaceConfig::default()
    });
    let off = generate(&WorkspaceConfig {
        pages: 120,
        odd_bodies: 0.0,
        ..WorkspaceConfig::default()
    });
    let is_odd = |b: &str| ODD_BODIES.iter().any(|(_, o)| *o == b);
    let odd = on
        .contents
        .values()
        .filter(|c| is_odd(c.current().body.as_str()))
        .count();
    assert!((10..=45).contains(&odd), "about 20 % of ~130 pages: {odd}");
    let kinds: std::collections::HashSet<&str> = on
        .contents
        .values()
        .filter_map(|c| {
            ODD_BODIES
                .iter()
                .find(|(_, o)| *o == c.current().body.as_str())
                .map(|(n, _)| *n)
        })
        .collect();
    assert!(kinds.len() >= 4, "several odd shapes: {kinds:?}");
    assert_eq!(
        off.contents
            .values()
            .filter(|c| is_odd(c.current().body.as_str()))
            .count(),
        0
    );
    assert_eq!(on.contents.len(), off.contents.len());
    for c in on.contents.values().chain(off.contents.values()) {
        for v in &c.versions {
            assert_eq!(xhtml::check(v.body.as_str()), Ok(()), "content {}", c.id);
        }
    }
    for (name, body) in ODD_BODIES {
        assert_eq!(xhtml::check(body), Ok(()), "{name}");
    }
}

/// Generated history is dated relative to the twin's clock: the latest edits are in the last
/// weeks, nothing is in the future, and most history falls in the last year, so default
/// `--since` windows (one year) see versions.
#[test]
fn generated_history_is_dated_relative_to_the_clock() {
    for pages in [30, 600] {
        let now = kb_sim::time::now_ms();
        let d = generate(&WorkspaceConfig {
            pages,
            ..WorkspaceConfig::default()
        });
        let stamps: Vec<i64> = d
            .contents
            .values()
            .flat_map(|c| c.versions.iter().map(|v| v.created_at))
            .collect();
        let day = kb_sim::time::MS_PER_DAY;
        let newest = *stamps.iter().max().unwrap();
        assert!(
            newest <= now,
            "nothing in the future: {}",
            kb_sim::time::iso(newest)
        );
        assert!(
            newest >= now - 30 * day,
            "recent edits: {}",
            kb_sim::time::iso(newest)
        );
        let last_year = stamps.iter().filter(|t| **t >= now - 365 * day).count();
        assert!(
            last_year * 2 >= stamps.len(),
            "{last_year} of {} versions in the last year",
            stamps.len()
        );
        let last_month = stamps.iter().filter(|t| **t >= now - 30 * day).count();
        assert!(last_month > 0);
    }
}

/// With the shared corpus as `odd_corpus`, real-world storage joins the odd fraction: pages
/// hold corpus bodies byte for byte while the rest of the site stays generated.
#[test]
fn the_shared_corpus_joins_the_odd_bodies() {
    let Some(dir) = kb_testkit::shared("corpus/confluence-storage/real-cloud") else {
        return;
    };
    let corpus = std::sync::Arc::new(kb_sim::Corpus::load(&dir).expect("the corpus loads"));
    let d = generate(&WorkspaceConfig {
        pages: 200,
        odd_bodies: 0.5,
        odd_corpus: Some(corpus.clone()),
        ..WorkspaceConfig::default()
    });
    let from_corpus = d
        .contents
        .values()
        .filter(|c| {
            corpus
                .pages
                .iter()
                .any(|p| *p.body == *c.current().body.as_str())
        })
        .count();
    let odd = d
        .contents
        .values()
        .filter(|c| {
            kb_sim::generator::ODD_BODIES
                .iter()
                .any(|(_, o)| *o == c.current().body.as_str())
        })
        .count();
    assert!(
        from_corpus >= 20,
        "corpus bodies among 200 pages: {from_corpus}"
    );
    assert!(odd >= 3, "built-in odd bodies still drawn: {odd}");
    let generated = d.contents.len() - from_corpus - odd;
    assert!(generated >= 50, "the rest is generated: {generated}");
}
