//! Listings stay complete under the fault plan `429=0.05,503=0.02,reset=0.01`, and the
//! retries are counted. The client runs on tokio's paused clock (its `Retry-After` waits take
//! no wall time); the twin runs on its own runtime thread with the real clock.

use std::collections::BTreeSet;

use kb_confluence::{ContentQuery, CqlQuery};
use kb_sim::SimConfig;

use super::*;

#[test]
fn listings_are_complete_under_the_fault_plan() {
    let sim = kb_sim::BackgroundSim::start(SimConfig {
        faults: "429=0.05,503=0.02,reset=0.01".parse().unwrap(),
        ..SimConfig::default()
    })
    .unwrap();
    let wiki = sim.handle.confluence_url();
    let origin = sim.handle.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let d = dataset(&origin).await;
        let mut cfg = config(&wiki, ADMIN);
        // No per-attempt timeout: on the paused clock a pending timer would fire while a
        // request waits on the socket.
        cfg.timeout = None;
        cfg.retry.max_attempts = 12;
        let c = kb_confluence::Confluence::new(cfg).unwrap();
        let (spaces, _, _) = ids_of(paged(c.spaces().unwrap(), 1)).await;
        assert_eq!(spaces, truth(&d, "spaces", |_| true));
        let space_ids: Vec<String> = spaces.into_iter().collect();
        let statuses = ["current", "archived", "trashed"];
        let q = ContentQuery::in_spaces(&space_ids)
            .statuses(&statuses)
            .with_body();
        let (pages, _, _) = ids_of(paged(c.pages(&q).unwrap(), 3)).await;
        assert_eq!(
            pages,
            truth(&d, "contents", |v| v["type"] == "page"
                && status_in(v, &statuses))
        );
        let (footer, _, _) = ids_of(paged(
            c.footer_comments(&ContentQuery::default()).unwrap(),
            4,
        ))
        .await;
        assert_eq!(
            footer,
            truth(&d, "comments", |v| v["type"] == "footer"
                && v["status"] == "current")
        );
        let (atts, _, _) = ids_of(paged(c.attachments(&ContentQuery::default()).unwrap(), 4)).await;
        let want: BTreeSet<String> = truth(&d, "attachments", |v| {
            status_in(v, &["current", "archived"])
        })
        .into_iter()
        .map(|id| format!("att{id}"))
        .collect();
        assert_eq!(atts, want);
        let (found, _, _) = ids_of(paged(
            c.content_search(&CqlQuery::default().to_cql(), &["version"])
                .unwrap(),
            3,
        ))
        .await;
        assert_eq!(
            found,
            truth(&d, "contents", |v| (v["type"] == "page"
                || v["type"] == "blogpost")
                && v["status"] == "current")
        );

        let s = c.stats();
        let twin = sim_stats(&origin).await.to_string();
        assert!(s.rate_limited > 0, "the plan sent 429s: {s:?}\n{twin}");
        assert!(s.with_status(503) > 0, "the plan sent 503s: {s:?}");
        assert!(s.with_status(0) > 0, "the plan reset connections: {s:?}");
        assert_eq!(
            s.retries,
            s.with_status(429) + s.with_status(503) + s.with_status(0),
            "every fault was retried once: {s:?}"
        );
        assert_eq!(s.gave_up, 0);
    });
}
