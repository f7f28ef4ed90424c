//! Relevance: labelled queries over pages whose generator knows what each is about
//! (`kb_sim::relevance`: subjects with titles, exact phrases, error codes and tags, plus
//! distractors), written into the twin through its API on top of a generated site. The search
//! must find them: recall@10 and MRR@10 at least 0.9.

use kb_km::KmConfig;
use kb_search::SearchIndex;

use crate::support::{self, s};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labelled_queries_reach_recall_and_mrr_at_10_of_0_9() {
    let sim = support::twin(300, 31, false).await;
    let d = support::dataset(&sim).await;
    let space = s(&d["spaces"][0]["key"]);
    let set = kb_sim::relevance::generate(31, 60);
    assert!(set.queries.len() >= 50, "{}", set.queries.len());
    let c = &sim.credentials()[0];
    let ids = kb_sim::relevance::install(&sim.url(), &c.email, &c.token, &space, &set)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::open(&dir.path().join("index")).unwrap();
    let r = support::sync(&sim, &store, &mut index, &KmConfig::default(), false).await;
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert!(r.counts.added as usize >= 300 + set.pages.len(), "{r:?}");

    let who = kb_km::Searcher::User(s(&d["users"][0]["accountId"]));
    let mut answers = Vec::new();
    for q in &set.queries {
        let req = kb_km::SearchRequest {
            text: q.text.clone(),
            tags: q.tag.iter().cloned().collect(),
            limit: 10,
            ..Default::default()
        };
        let a = kb_km::search(&store, &index, &who, &req).await.unwrap();
        answers.push(a.hits.into_iter().map(|h| h.id).collect::<Vec<_>>());
    }
    let relevant: Vec<Vec<String>> = set
        .queries
        .iter()
        .map(|q| {
            q.relevant
                .iter()
                .map(|&i| format!("page:{}", ids[i]))
                .collect()
        })
        .collect();
    let kinds: Vec<_> = set.queries.iter().map(|q| q.kind).collect();
    let scores = kb_sim::relevance::score(&kinds, &relevant, &answers);
    eprintln!("relevance: {}", serde_json::to_string(&scores).unwrap());
    // Every query kind is at the target on its own, not only on average.
    for (kind, (n, recall, mrr)) in &scores.by_kind {
        assert!(*n >= 50, "{kind}: {n} queries");
        assert!(*recall >= 0.9, "{kind}: recall@10 {recall}: {scores:?}");
        assert!(*mrr >= 0.9, "{kind}: MRR@10 {mrr}: {scores:?}");
    }
    assert!(
        scores.recall_at_10 >= 0.9 && scores.mrr_at_10 >= 0.9,
        "{scores:?}"
    );
}
