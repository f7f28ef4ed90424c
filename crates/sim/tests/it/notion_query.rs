//! Data source and database queries against the ground truth: property and timestamp filters,
//! compounds, sorts; rollups and formulas consistent with the data they are computed from.

use kb_sim::NotionWorkspaceConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::notion_support::*;

fn minute_iso(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

#[tokio::test]
async fn filters_and_sorts_match_the_ground_truth() {
    let t = NTwin::with(NotionWorkspaceConfig {
        pages: 3,
        rows: 60,
        ..Default::default()
    })
    .await;
    let ds = t.dataset().await;
    let tasks = db(&ds, "Tasks");
    let (hours, done, prio, notes) = (
        prop_id(tasks, "Hours"),
        prop_id(tasks, "Done"),
        prop_id(tasks, "Priority"),
        prop_id(tasks, "Notes"),
    );
    let all = rows(&ds, tasks["id"].as_str().unwrap());
    let h = |p: &Value| p["props"][&hours].as_f64().unwrap();
    let title = |p: &Value| {
        p["props"]["title"][0]["plain_text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let q = format!(
        "/v1/data_sources/{}/query",
        tasks["data_source_id"].as_str().unwrap()
    );
    let q22 = format!("/v1/databases/{}/query", tasks["id"].as_str().unwrap());
    let run = |body: Value| {
        let (t, q) = (&t, q.clone());
        async move { ids(&t.collect_post(V2025, &q, &body, 7).await) }
    };
    let sorted_ids = |mut v: Vec<&Value>, key: &dyn Fn(&Value) -> f64, asc: bool| -> Vec<String> {
        v.sort_by(|a, b| {
            let o = key(a).partial_cmp(&key(b)).unwrap();
            let o = if asc { o } else { o.reverse() };
            o.then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
        });
        v.iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };

    // and: checkbox and number, sorted by a property descending
    let want = sorted_ids(
        all.iter()
            .copied()
            .filter(|p| p["props"][&done] == true && h(p) > 5.0)
            .collect(),
        &h,
        false,
    );
    let body = json!({"filter": {"and": [{"property": "Done", "checkbox": {"equals": true}}, {"property": "Hours", "number": {"greater_than": 5}}]},
                      "sorts": [{"property": "Hours", "direction": "descending"}]});
    assert_eq!(run(body.clone()).await, want);
    assert!(!want.is_empty());
    // the same through the 2022-06-28 database endpoint
    assert_eq!(ids(&t.collect_post(V2022, &q22, &body, 9).await), want);
    // or: select equals, title contains (case-insensitive), by hours ascending
    let want = sorted_ids(
        all.iter()
            .copied()
            .filter(|p| {
                p["props"][&prio]["name"] == "P0" || title(p).to_lowercase().contains("review")
            })
            .collect(),
        &h,
        true,
    );
    let got = run(json!({"filter": {"or": [{"property": "Priority", "select": {"equals": "P0"}}, {"property": "Name", "title": {"contains": "REVIEW"}}]},
                         "sorts": [{"property": "Hours", "direction": "ascending"}]})).await;
    assert_eq!(got, want);
    // rich_text is_not_empty, number less_than_or_equal_to, nested compound
    let want = sorted_ids(
        all.iter()
            .copied()
            .filter(|p| {
                p["props"][&notes].as_array().is_some_and(|a| !a.is_empty())
                    && (h(p) <= 3.0 || h(p) >= 15.0)
            })
            .collect(),
        &h,
        true,
    );
    let got = run(json!({"filter": {"and": [
        {"property": "Notes", "rich_text": {"is_not_empty": true}},
        {"or": [{"property": "Hours", "number": {"less_than_or_equal_to": 3}}, {"property": "Hours", "number": {"greater_than_or_equal_to": 15}}]}]},
        "sorts": [{"property": "Hours", "direction": "ascending"}]})).await;
    assert_eq!(got, want);
    // timestamp filters on last_edited_time (minute precision), sorted by the timestamp
    let mut times: Vec<String> = all
        .iter()
        .map(|p| minute_iso(&p["last_edited_time"]))
        .collect();
    times.sort();
    let mid = times[times.len() / 2].clone();
    let edited = |p: &Value| crate::notion_query::ms(&p["last_edited_time"]);
    for (cond, f) in [
        (
            "on_or_after",
            (|a: &str, b: &str| a >= b) as fn(&str, &str) -> bool,
        ),
        ("after", |a, b| a > b),
        ("before", |a, b| a < b),
        ("on_or_before", |a, b| a <= b),
        ("equals", |a, b| a == b),
    ] {
        let want = sorted_ids(
            all.iter()
                .copied()
                .filter(|p| f(&minute_iso(&p["last_edited_time"]), &mid))
                .collect(),
            &edited,
            true,
        );
        let got = run(json!({"filter": {"timestamp": "last_edited_time", "last_edited_time": {cond: mid}},
                             "sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}]})).await;
        assert_eq!(got, want, "{cond} {mid}");
    }
    // a date property with a date-only value compares by day
    let due = prop_id(tasks, "Due");
    let want: Vec<String> = {
        let v: Vec<&Value> = all
            .iter()
            .copied()
            .filter(|p| {
                p["props"][&due]["start"]
                    .as_str()
                    .is_some_and(|d| d >= "2024-06-01")
            })
            .collect();
        sorted_ids(v, &h, true)
    };
    let got = run(json!({"filter": {"property": "Due", "date": {"on_or_after": "2024-06-01"}}, "sorts": [{"property": "Hours", "direction": "ascending"}]})).await;
    assert_eq!(got, want);
    // relation contains, formula checkbox
    let projects = db(&ds, "Projects");
    let p0 = rows(&ds, projects["id"].as_str().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rel = prop_id(tasks, "Project");
    let want = sorted_ids(
        all.iter()
            .copied()
            .filter(|p| {
                p["props"][&rel]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == p0.as_str())
            })
            .collect(),
        &h,
        true,
    );
    let got = run(json!({"filter": {"property": "Project", "relation": {"contains": p0}}, "sorts": [{"property": "Hours", "direction": "ascending"}]})).await;
    assert_eq!(got, want);
    let want = sorted_ids(
        all.iter().copied().filter(|p| h(p) > 8.0).collect(),
        &h,
        true,
    );
    let got = run(json!({"filter": {"property": "Long", "formula": {"checkbox": {"equals": true}}}, "sorts": [{"property": "Hours", "direction": "ascending"}]})).await;
    assert_eq!(got, want);
    // bad filters are validation errors that name the problem
    for (body, needle) in [
        (
            json!({"filter": {"property": "Nope", "checkbox": {"equals": true}}}),
            "Nope",
        ),
        (
            json!({"filter": {"property": "Hours", "checkbox": {"equals": true}}}),
            "does not match filter checkbox",
        ),
        (
            json!({"filter": {"property": "Hours", "number": {"bigger": 1}}}),
            "bigger",
        ),
        (
            json!({"filter": {"timestamp": "last_edited_time", "last_edited_time": {"after": "yesterday"}}}),
            "ISO 8601",
        ),
        (json!({"sorts": [{"property": "Hours"}]}), "direction"),
        (
            json!({"sorts": [{"property": "Missing", "direction": "ascending"}]}),
            "Missing",
        ),
    ] {
        let m = t
            .fails(
                V2025,
                Method::POST,
                &q,
                Some(&body),
                400,
                "validation_error",
            )
            .await;
        assert!(m.contains(needle), "{m}");
    }
}

pub fn ms(v: &Value) -> f64 {
    let s = v.as_str().unwrap();
    // yyyy-mm-ddThh:mm (the API's minute precision) as a number that keeps the order
    s.bytes()
        .filter(u8::is_ascii_digit)
        .take(12)
        .fold(0f64, |a, d| a * 10.0 + (d - b'0') as f64)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[tokio::test]
async fn rollups_and_formulas_agree_with_the_data() {
    let t = NTwin::with(NotionWorkspaceConfig {
        pages: 3,
        rows: 45,
        ..Default::default()
    })
    .await;
    let ds = t.dataset().await;
    let (teams, projects, tasks) = (db(&ds, "Teams"), db(&ds, "Projects"), db(&ds, "Tasks"));
    let task_rows = rows(&ds, tasks["id"].as_str().unwrap());
    let (t_project, t_hours, t_done, t_due) = (
        prop_id(tasks, "Project"),
        prop_id(tasks, "Hours"),
        prop_id(tasks, "Done"),
        prop_id(tasks, "Due"),
    );
    let p_tasks = prop_id(projects, "Tasks");
    let p_team = prop_id(projects, "Team");
    let p_budget = prop_id(projects, "Budget");
    for p in rows(&ds, projects["id"].as_str().unwrap()) {
        let id = p["id"].as_str().unwrap();
        // dual relation: the project's Tasks are exactly the tasks pointing at it
        let mine: Vec<&&Value> = task_rows
            .iter()
            .filter(|r| {
                r["props"][&t_project]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == id)
            })
            .collect();
        let mut from_tasks: Vec<&str> = mine.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut listed: Vec<&str> = p["props"][&p_tasks]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        from_tasks.sort();
        listed.sort();
        assert_eq!(listed, from_tasks);
        let item = |name: &str| {
            let pid = prop_id(projects, name);
            let t = &t;
            async move {
                t.get(V2025, &format!("/v1/pages/{id}/properties/{pid}"))
                    .await
            }
        };
        let count = item("Task count").await;
        assert_eq!(
            count["property_item"]["rollup"]["number"].as_u64().unwrap() as usize,
            mine.len()
        );
        let sum: f64 = mine
            .iter()
            .map(|r| r["props"][&t_hours].as_f64().unwrap())
            .sum();
        let total = item("Total hours").await;
        assert_eq!(
            total["property_item"]["rollup"]["number"].as_f64().unwrap(),
            sum
        );
        let checked = mine.iter().filter(|r| r["props"][&t_done] == true).count();
        let ratio = item("Done ratio").await;
        let want = if mine.is_empty() {
            0.0
        } else {
            round2(checked as f64 / mine.len() as f64)
        };
        assert_eq!(
            ratio["property_item"]["rollup"]["number"].as_f64().unwrap(),
            want
        );
        let latest = mine
            .iter()
            .filter_map(|r| r["props"][&t_due]["start"].as_str())
            .max();
        let due = item("Latest task due").await;
        assert_eq!(
            due["property_item"]["rollup"]["date"]["start"].as_str(),
            latest
        );
        let budget = p["props"][&p_budget].as_f64().unwrap();
        let per = item("Budget per task").await;
        let want = if mine.is_empty() {
            0.0
        } else {
            round2(budget / mine.len() as f64)
        };
        assert_eq!(per["formula"]["number"].as_f64().unwrap(), want);
        let label = item("Label").await;
        let prio = p["props"][&prop_id(projects, "Priority")]["name"]
            .as_str()
            .unwrap_or("");
        assert_eq!(
            label["formula"]["string"],
            format!(
                "{} · {prio}",
                p["props"]["title"][0]["plain_text"].as_str().unwrap()
            )
        );
    }
    // teams: project count and budget sum over the dual relation
    let project_rows = rows(&ds, projects["id"].as_str().unwrap());
    let page = t
        .collect_post(
            V2025,
            &format!(
                "/v1/data_sources/{}/query",
                teams["data_source_id"].as_str().unwrap()
            ),
            &json!({}),
            100,
        )
        .await;
    assert_eq!(page.len(), rows(&ds, teams["id"].as_str().unwrap()).len());
    for team in page {
        let id = team["id"].as_str().unwrap();
        let mine: Vec<&&Value> = project_rows
            .iter()
            .filter(|r| {
                r["props"][&p_team]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == id)
            })
            .collect();
        assert_eq!(
            team["properties"]["Project count"]["rollup"]["number"]
                .as_u64()
                .unwrap() as usize,
            mine.len().min(25)
        );
        let sum: f64 = mine
            .iter()
            .take(25)
            .map(|r| r["props"][&p_budget].as_f64().unwrap())
            .sum();
        assert_eq!(
            team["properties"]["Total budget"]["rollup"]["number"]
                .as_f64()
                .unwrap(),
            sum
        );
        let size = team["properties"]["Size"]["number"].as_f64().unwrap();
        let name = team["properties"]["Name"]["title"][0]["plain_text"]
            .as_str()
            .unwrap();
        assert_eq!(
            team["properties"]["Summary"]["formula"]["string"],
            format!("{name} ({size})")
        );
    }
    // tasks: the show_original rollup carries the project's status
    let p_status = prop_id(projects, "Status");
    for r in task_rows.iter().take(10) {
        let id = r["id"].as_str().unwrap();
        let p = t.get(V2025, &format!("/v1/pages/{id}")).await;
        let project = r["props"][&t_project][0].as_str().unwrap();
        let pr = project_rows.iter().find(|x| x["id"] == project).unwrap();
        assert_eq!(
            p["properties"]["Project status"]["rollup"]["array"][0]["status"],
            pr["props"][&p_status]
        );
        assert_eq!(
            p["properties"]["Long"]["formula"]["boolean"],
            r["props"][&t_hours].as_f64().unwrap() > 8.0
        );
    }
}
