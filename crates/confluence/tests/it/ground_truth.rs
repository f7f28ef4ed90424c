//! Every listing the extraction needs, against the twin's ground truth: nothing skipped,
//! nothing repeated, with page sizes small enough that every listing pages.

use std::collections::BTreeSet;

use kb_confluence::{ContentKind, ContentQuery, CqlQuery, SEARCH_EXPAND, keys};
use kb_sim::SimConfig;
use serde_json::Value;

use super::*;

#[tokio::test]
async fn every_listing_matches_the_ground_truth() {
    let sim = kb_sim::start(bigger_site()).await.unwrap();
    let c = client(&sim.confluence_url(), ADMIN);
    let d = dataset(&sim.url()).await;

    // Spaces.
    let (spaces, space_items, _) = ids_of(paged(c.spaces().unwrap(), 2)).await;
    assert_eq!(spaces, truth(&d, "spaces", |_| true));
    let space_ids: Vec<String> = spaces.iter().cloned().collect();

    // Pages of every space, every status the extraction reads, with bodies.
    let statuses = ["current", "archived", "trashed"];
    let q = ContentQuery::in_spaces(&space_ids)
        .statuses(&statuses)
        .with_body();
    let (pages, page_items, n) = ids_of(paged(c.pages(&q).unwrap(), 7)).await;
    let want = truth(&d, "contents", |v| {
        v["type"] == "page" && status_in(v, &statuses)
    });
    assert_eq!(pages, want);
    assert!(n > 5, "the listing paged ({n} pages)");
    for p in &page_items {
        assert!(
            p["body"]["storage"]["value"]
                .as_str()
                .is_some_and(|b| !b.is_empty()),
            "page {} has its body",
            p["id"]
        );
        assert!(keys::version_number(p).is_some() && keys::space_id(p).is_some());
    }

    // The same through each space's own listing.
    let mut per_space = BTreeSet::new();
    for s in &space_ids {
        let q = ContentQuery::default().statuses(&statuses);
        per_space.extend(ids_of(paged(c.space_pages(s, &q).unwrap(), 4)).await.0);
    }
    assert_eq!(per_space, want);

    // Blog posts (current), comments (current), attachments (current and archived), labels,
    // tasks (of current and archived content).
    let (blogs, _, _) = ids_of(paged(
        c.blogposts(&ContentQuery::in_spaces(&space_ids).with_body())
            .unwrap(),
        2,
    ))
    .await;
    assert_eq!(
        blogs,
        truth(&d, "contents", |v| v["type"] == "blogpost"
            && v["status"] == "current")
    );
    assert!(!blogs.is_empty());
    let (footer, _, _) = ids_of(paged(
        c.footer_comments(&ContentQuery::default().with_body())
            .unwrap(),
        9,
    ))
    .await;
    assert_eq!(
        footer,
        truth(&d, "comments", |v| v["type"] == "footer"
            && v["status"] == "current")
    );
    let (inline, inline_items, _) = ids_of(paged(
        c.inline_comments(&ContentQuery::default().with_body())
            .unwrap(),
        4,
    ))
    .await;
    assert_eq!(
        inline,
        truth(&d, "comments", |v| v["type"] == "inline"
            && v["status"] == "current")
    );
    assert!(!inline.is_empty() && inline_items.iter().all(|i| keys::container(i).is_some()));
    let (atts, _, _) = ids_of(paged(c.attachments(&ContentQuery::default()).unwrap(), 9)).await;
    let want_atts: BTreeSet<String> = truth(&d, "attachments", |v| {
        status_in(v, &["current", "archived"])
    })
    .into_iter()
    .map(|id| format!("att{id}"))
    .collect();
    assert_eq!(atts, want_atts);
    let (labels, _, _) = ids_of(paged(c.labels().unwrap(), 5)).await;
    assert_eq!(labels, truth(&d, "labels", |_| true));
    let live: BTreeSet<String> = truth(&d, "contents", |v| status_in(v, &["current", "archived"]));
    let (tasks, _, _) = ids_of(paged(
        c.tasks(&ContentQuery::in_spaces(&space_ids).with_body())
            .unwrap(),
        6,
    ))
    .await;
    assert_eq!(
        tasks,
        truth(&d, "tasks", |v| live.contains(&v["contentId"].to_string()))
    );
    assert!(!tasks.is_empty());

    // Space labels, properties, permissions.
    for s in space_items.iter() {
        let id = keys::id(s).unwrap();
        let truth_space = d["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| keys::id(t).as_deref() == Some(id.as_str()))
            .unwrap();
        let (labels, _, _) = ids_of(c.space_labels(&id).unwrap()).await;
        let want: BTreeSet<String> = truth_space["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(labels, want, "labels of space {id}");
        let (props, _, _) = ids_of(c.space_properties(&id).unwrap()).await;
        assert_eq!(
            props.len(),
            truth_space["properties"].as_array().unwrap().len()
        );
        let (perms, _, _) = ids_of(paged(c.space_permissions(&id).unwrap(), 3)).await;
        assert_eq!(
            perms.len(),
            truth_space["permissions"].as_array().unwrap().len()
        );
    }

    // Per page: versions, labels, properties, attachments, comments, ancestors, children.
    let contents = d["contents"].as_array().unwrap();
    let by_id = |id: &str| {
        contents
            .iter()
            .find(|v| keys::id(v).as_deref() == Some(id))
            .unwrap()
    };
    for t in contents
        .iter()
        .filter(|v| v["type"] == "page" && v["status"] == "current")
        .take(12)
    {
        let id = t["id"].to_string();
        let (versions, _, _) = ids_of_versions(c.versions(ContentKind::Page, &id).unwrap()).await;
        assert_eq!(
            versions,
            t["versions"].as_array().unwrap().len(),
            "versions of {id}"
        );
        let (labels, _, _) = ids_of(c.content_labels(ContentKind::Page, &id).unwrap()).await;
        let want: BTreeSet<String> = t["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(labels, want, "labels of {id}");
        let (props, _, _) = ids_of(c.properties(ContentKind::Page, &id).unwrap()).await;
        assert_eq!(
            props.len(),
            t["properties"].as_array().unwrap().len(),
            "properties of {id}"
        );
        let (atts, _, _) = ids_of(c.content_attachments(ContentKind::Page, &id).unwrap()).await;
        let want: BTreeSet<String> = truth(&d, "attachments", |a| {
            a["containerId"] == t["id"] && status_in(a, &["current", "archived"])
        })
        .into_iter()
        .map(|id| format!("att{id}"))
        .collect();
        assert_eq!(atts, want, "attachments of {id}");
        let (fc, _, _) = ids_of(c.content_footer_comments(ContentKind::Page, &id).unwrap()).await;
        let want = truth(&d, "comments", |x| {
            x["containerId"] == t["id"]
                && x["type"] == "footer"
                && x["parentCommentId"].is_null()
                && x["status"] == "current"
        });
        assert_eq!(fc, want, "footer comments of {id}");
        // Ancestors: the parent chain, highest first.
        let (_, ancestors, _) = ids_of(c.ancestors(&id).unwrap()).await;
        let mut chain = Vec::new();
        let mut p = t["parentId"].clone();
        while !p.is_null() {
            chain.push(p.to_string());
            p = by_id(&p.to_string())["parentId"].clone();
        }
        chain.reverse();
        let got: Vec<String> = ancestors.iter().map(|a| keys::id(a).unwrap()).collect();
        assert_eq!(got, chain, "ancestors of {id}");
        // Direct children: each has this page as its parent.
        let (children, _, _) = ids_of(c.direct_children(&id).unwrap()).await;
        for ch in &children {
            assert_eq!(by_id(ch)["parentId"], t["id"], "child {ch} of {id}");
        }
    }

    // Versions and properties of attachments and blog posts too.
    let blog = contents
        .iter()
        .find(|v| v["type"] == "blogpost" && v["status"] == "current")
        .unwrap();
    let (n, _, _) = ids_of_versions(
        c.versions(ContentKind::BlogPost, &blog["id"].to_string())
            .unwrap(),
    )
    .await;
    assert_eq!(n, blog["versions"].as_array().unwrap().len());
    let att = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "current")
        .unwrap();
    // Attachments' versions, labels and properties.
    let att_id = format!("att{}", att["id"]);
    let v = c
        .versions(ContentKind::Attachment, &att_id)
        .unwrap()
        .all()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.len(), att["versions"].as_array().unwrap().len());
    for l in [
        c.content_labels(ContentKind::Attachment, &att_id).unwrap(),
        c.properties(ContentKind::Attachment, &att_id).unwrap(),
    ] {
        let items = l.all().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(items.iter().all(|i| keys::id(i).is_some()));
    }

    // Groups and members (v1).
    let (groups, _, _) = ids_of(paged(c.groups().unwrap(), 2)).await;
    assert_eq!(groups, truth(&d, "groups", |_| true));
    for g in d["groups"].as_array().unwrap() {
        let (members, _, _) = ids_of(paged(
            c.group_members(g["id"].as_str().unwrap()).unwrap(),
            2,
        ))
        .await;
        let want: BTreeSet<String> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect();
        assert_eq!(members, want, "members of {}", g["name"]);
    }

    // CQL search with expansions (current content only, as the twin searches).
    let cql = CqlQuery::default().to_cql();
    let (found, hits, n) = ids_of(paged(c.content_search(&cql, SEARCH_EXPAND).unwrap(), 8)).await;
    assert_eq!(
        found,
        truth(&d, "contents", |v| (v["type"] == "page"
            || v["type"] == "blogpost")
            && v["status"] == "current")
    );
    assert!(n > 3);
    for h in &hits {
        let t = by_id(&keys::id(h).unwrap());
        assert_eq!(
            keys::version_number(h),
            Some(t["versions"].as_array().unwrap().len() as u64)
        );
        assert!(h["body"]["storage"]["value"].is_string());
        assert!(h["restrictions"]["read"]["restrictions"]["user"].is_object());
        assert_eq!(keys::space_id(h), Some(t["spaceId"].to_string()));
    }

    // Restrictions (v1) of a page with a read restriction.
    let restricted = contents
        .iter()
        .find(|v| v["status"] == "current" && restricted(v))
        .expect("the twin restricts some pages");
    let r = c
        .content_restrictions(&restricted["id"].to_string())
        .await
        .unwrap();
    let text = r.to_string();
    let read = &restricted["restrictions"]["read"];
    for u in read["users"]
        .as_array()
        .unwrap()
        .iter()
        .chain(read["groups"].as_array().unwrap())
    {
        assert!(text.contains(u.as_str().unwrap()), "{u} in {text}");
    }

    // No request went to /wiki/wiki, and nothing failed (but the skipped calls above).
    let s = c.stats();
    assert!(
        s.by_endpoint.keys().all(|k| !k.contains("/wiki/wiki")),
        "{:?}",
        s.by_endpoint.keys()
    );
    assert_eq!(s.retries, 0);
    assert!(
        s.by_endpoint
            .iter()
            .filter(|(k, _)| !k.contains("/attachments/{id}/"))
            .all(|(_, m)| m.keys().all(|st| *st == 200)),
        "{:?}",
        s.by_endpoint
    );
}

/// Versions have no id: count them, checking the numbers are distinct.
async fn ids_of_versions(l: kb_confluence::Listing) -> (usize, Vec<Value>, usize) {
    use futures_util::TryStreamExt as _;
    let mut s = l.pages();
    let mut numbers = BTreeSet::new();
    let mut items = Vec::new();
    let mut pages = 0;
    while let Some(p) = s.try_next().await.unwrap() {
        pages += 1;
        for v in p.items {
            assert!(
                numbers.insert(v["number"].as_u64().unwrap()),
                "version listed twice"
            );
            items.push(v);
        }
    }
    (numbers.len(), items, pages)
}

/// A CQL `lastmodified` window finds exactly the pages edited after the high-water mark.
#[tokio::test]
async fn a_lastmodified_window_finds_the_edits() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let c = client(&sim.confluence_url(), ADMIN);
    let d = dataset(&sim.url()).await;
    let latest = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["versions"].as_array().unwrap().iter())
        .map(|v| v["createdAt"].as_i64().unwrap())
        .max()
        .unwrap();
    let pages: Vec<String> = truth(&d, "contents", |v| {
        v["type"] == "page" && v["status"] == "current"
    })
    .into_iter()
    .take(3)
    .collect();
    let http = reqwest::Client::new();
    for id in &pages {
        let r = http
            .post(format!("{}/__sim/confluence/pages/{id}/edit", sim.url()))
            .json(&serde_json::json!({"append": "<p>edited</p>"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    // The high-water mark is the newest generated version; edits come later (the twin's clock
    // only moves forward, and edits are stamped now).
    let q = CqlQuery {
        types: vec!["page".into()],
        since_ms: Some(latest + 60_000),
        overlap: Some(std::time::Duration::ZERO),
        ..CqlQuery::default()
    };
    let (found, hits, _) = ids_of(c.content_search(&q.to_cql(), &["version"]).unwrap()).await;
    assert_eq!(
        found,
        pages.iter().cloned().collect::<BTreeSet<_>>(),
        "{}",
        q.to_cql()
    );
    for h in hits {
        assert!(keys::version_number(&h).unwrap() >= 2);
    }
}

/// Custom content of the type the twin's apps wrote: every item of the listing is one of the
/// dataset's, with its id.
#[tokio::test]
async fn custom_content_is_listed_by_type() {
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let d = dataset(&sim.url()).await;
    let all = d["customContents"]
        .as_array()
        .unwrap_or_else(|| panic!("no customContents in the dataset"));
    let kind = all
        .iter()
        .find_map(|c| c["type"].as_str())
        .expect("the default site has custom content");
    let want: std::collections::BTreeSet<String> = all
        .iter()
        .filter(|c| c["type"] == kind && c["status"] == "current")
        .map(|c| keys::id(c).unwrap())
        .collect();
    let c = client(&sim.confluence_url(), ADMIN);
    let items = c
        .custom_content(kind, &ContentQuery::default().with_body())
        .unwrap()
        .all()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: std::collections::BTreeSet<String> =
        items.iter().map(|i| keys::id(i).unwrap()).collect();
    assert!(!got.is_empty());
    assert_eq!(got, want);
}

/// A listing killed after two pages resumes from the saved `next` token: together the two
/// runs read every page exactly once.
#[tokio::test]
async fn a_listing_resumes_from_its_saved_token() {
    use futures_util::TryStreamExt as _;
    let sim = kb_sim::start(SimConfig::default()).await.unwrap();
    let c = client(&sim.confluence_url(), ADMIN);
    let d = dataset(&sim.url()).await;
    let q = ContentQuery::default().statuses(&["current", "archived"]);
    let mut first_run = paged(c.pages(&q).unwrap(), 6).pages();
    let mut seen = Vec::new();
    let mut token = None;
    for _ in 0..2 {
        let page = first_run.try_next().await.unwrap().unwrap();
        seen.extend(page.items.iter().map(|p| keys::id(p).unwrap()));
        token = page.next.clone();
    }
    drop(first_run);
    let token = token.expect("more than two pages");
    let mut second_run = paged(c.pages(&q).unwrap(), 6).resume(Some(token));
    while let Some(page) = second_run.try_next().await.unwrap() {
        seen.extend(page.items.iter().map(|p| keys::id(p).unwrap()));
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "nothing read twice");
    assert_eq!(
        unique,
        truth(&d, "contents", |v| v["type"] == "page"
            && status_in(v, &["current", "archived"]))
    );
}
