//! atlassian-python-api (the pin of `tests/clients/python/requirements.txt`) in its Server /
//! Data Center mode, `Confluence(url, token=PAT, cloud=False)`, runs unmodified against the
//! Data Center twin for the reads and writes kbridge makes there (spaces, the pages of a
//! space by offsets, a page with its body, labels, properties, attachments, groups and members;
//! create_page, update_page, set_page_label, attach_content twice), each checked by the script
//! against the twin's ground truth (`tests/clients/python/confluence_dc_client.py`). The venv is
//! the Cloud client test's (`python_client.rs`); without python3 the test says `SKIPPED`
//! unless `KBRIDGE_REQUIRE_CORPUS=1`.

use std::process::Command;

use serde_json::{Value, json};

use crate::python_client::{client_dir, ensure_venv_for, run, skip_or_fail_for};
use crate::support::Twin;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_python_api_in_server_mode_reads_and_writes_the_dc_twin() {
    let what = "atlassian-python-api (Server mode)";
    if run(Command::new("python3").arg("--version")).is_err() {
        skip_or_fail_for(what, "python3 is not installed");
        return;
    }
    let reqs = client_dir("python").join("requirements.txt");
    let python = match tokio::task::spawn_blocking(move || ensure_venv_for("venv", &reqs))
        .await
        .expect("join")
    {
        Ok(p) => p,
        Err(e) => {
            skip_or_fail_for(what, &format!("cannot prepare the venv: {e}"));
            return;
        }
    };
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let spaces = d["spaces"].as_array().unwrap();
    let contents = d["contents"].as_array().unwrap();
    let live_page = |c: &&Value| c["type"] == "page" && c["status"] == "current";
    // A page with labels and properties; its space is the one listed and written to.
    let page = contents
        .iter()
        .filter(live_page)
        .find(|c| {
            !c["labels"].as_array().unwrap().is_empty()
                && !c["properties"].as_array().unwrap().is_empty()
        })
        .expect("a page with labels and properties");
    let space = spaces
        .iter()
        .find(|sp| sp["id"] == page["spaceId"])
        .unwrap();
    let key = s(&space["key"]);
    let label_name = |id: &Value| -> String {
        match &d["labels"] {
            Value::Array(a) => s(&a.iter().find(|l| l["id"] == *id).unwrap()["name"]),
            Value::Object(m) => s(&m[&s(id)]["name"]),
            other => panic!("labels: {other}"),
        }
    };
    let attachments = d["attachments"].as_array().unwrap();
    let with_files = contents
        .iter()
        .filter(live_page)
        .find(|c| {
            attachments
                .iter()
                .any(|a| a["containerId"] == c["id"] && a["status"] == "current")
        })
        .expect("a page with attachments");
    let titles: Vec<Value> = attachments
        .iter()
        .filter(|a| a["containerId"] == with_files["id"] && a["status"] == "current")
        .map(|a| a["title"].clone())
        .collect();
    let group = &d["groups"][0];
    let usernames: Vec<String> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let u = d["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["accountId"] == *m)
                .unwrap();
            s(&u["email"]).split('@').next().unwrap().to_lowercase()
        })
        .collect();
    let expected = json!({
        "url": twin.handle.dc_url(),
        "token": kb_sim::dc::pat_for(&twin.handle.credentials()[0]),
        "space_keys": spaces.iter().map(|sp| sp["key"].clone()).collect::<Vec<_>>(),
        "space": key,
        "space_page_ids": contents.iter().filter(live_page).filter(|c| c["spaceId"] == space["id"]).map(|c| s(&c["id"])).collect::<Vec<_>>(),
        "page": {
            "id": s(&page["id"]),
            "title": page["title"],
            "body": page["versions"].as_array().unwrap().last().unwrap()["body"],
            "labels": page["labels"].as_array().unwrap().iter().map(label_name).collect::<Vec<_>>(),
            "property_keys": page["properties"].as_array().unwrap().iter().map(|p| p["key"].clone()).collect::<Vec<_>>(),
        },
        "attachments": {"page": s(&with_files["id"]), "titles": titles},
        "group": {"name": group["name"], "usernames": usernames},
        "parent": s(&page["id"]),
        "dataset_url": twin.url("/__sim/confluence/dataset"),
    });
    let file = std::env::temp_dir().join(format!(
        "kbridge-pyclient-dc-{}-{}.json",
        std::process::id(),
        twin.handle.addr().port()
    ));
    std::fs::write(&file, serde_json::to_vec(&expected).unwrap()).expect("write expected");
    let script = client_dir("python").join("confluence_dc_client.py");
    let out = tokio::task::spawn_blocking(move || {
        let out = Command::new(python)
            .arg(&script)
            .arg(&file)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("run the script");
        let _ = std::fs::remove_file(&file);
        out
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "atlassian-python-api (Server mode) disagrees with the ground truth ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        18,
        "every check ran:\n{stdout}"
    );
    // Everything went to the Data Center routes (never /wiki), with the PAT.
    let stats = twin.stats().await;
    let count = |route: &str| crate::support::ok_count(&stats, route);
    for route in [
        "/confluence/rest/api/space",
        "/confluence/rest/api/content",
        "/confluence/rest/api/content/{id}",
        "/confluence/rest/api/content/{id}/label",
        "/confluence/rest/api/content/{id}/property",
        "/confluence/rest/api/content/{id}/child/attachment",
        "/confluence/rest/api/content/{id}/child/attachment/{att}/data",
        "/confluence/rest/api/group/{name}/member",
    ] {
        assert!(count(route) >= 1, "{route}: {stats}");
    }
    assert!(
        count("/confluence/rest/api/space") >= (spaces.len() as u64).div_ceil(2),
        "{stats}"
    );
}
