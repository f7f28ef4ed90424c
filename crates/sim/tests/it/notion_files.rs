//! File uploads (create, send, attach, download) and hosted files at signed URLs that expire.

use reqwest::Method;
use serde_json::{Value, json};

use crate::notion_support::*;

async fn fetch(t: &NTwin, url: &str) -> (u16, Vec<u8>) {
    let r = t.http.get(url).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_upload_is_sent_attached_and_downloaded_byte_for_byte() {
    let t = NTwin::small().await;
    let up = t
        .ok(
            V2025,
            Method::POST,
            "/v1/file_uploads",
            Some(&json!({"filename": "notes.bin", "content_type": "application/octet-stream"})),
        )
        .await;
    assert_eq!(up["object"], "file_upload");
    assert_eq!(up["status"], "pending");
    let id = up["id"].as_str().unwrap().to_string();
    assert!(
        up["upload_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v1/file_uploads/{id}/send"))
    );
    // attaching before sending is refused
    let ds = t.dataset().await;
    let page = ds["pages"][0]["id"].as_str().unwrap().to_string();
    let attach = json!({"children": [{"type": "image", "image": {"type": "file_upload", "file_upload": {"id": id}}}]});
    t.fails(
        V2025,
        Method::PATCH,
        &format!("/v1/blocks/{page}/children"),
        Some(&attach),
        400,
        "validation_error",
    )
    .await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("ignored.bin"),
    );
    let r = t
        .http
        .post(format!("{}/v1/file_uploads/{id}/send", t.origin))
        .bearer_auth(&t.token)
        .header("Notion-Version", V2025)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sent: Value = r.json().await.unwrap();
    assert_eq!(sent["status"], "uploaded");
    assert_eq!(sent["content_length"], 70_000);
    assert_eq!(sent["filename"], "notes.bin");
    assert_eq!(
        t.get(V2025, &format!("/v1/file_uploads/{id}")).await["status"],
        "uploaded"
    );
    // sending twice is refused
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![1, 2]).file_name("x"),
    );
    let r = t
        .http
        .post(format!("{}/v1/file_uploads/{id}/send", t.origin))
        .bearer_auth(&t.token)
        .header("Notion-Version", V2025)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // attached as an image block, served as a hosted file
    let r = t
        .ok(
            V2025,
            Method::PATCH,
            &format!("/v1/blocks/{page}/children"),
            Some(&attach),
        )
        .await;
    let img = &r["results"][0]["image"];
    assert_eq!(img["type"], "file");
    let url = img["file"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/__files/", t.origin))
            && url.contains("expires=")
            && url.contains("sig="),
        "{url}"
    );
    let (status, got) = fetch(&t, url).await;
    assert_eq!(status, 200);
    assert_eq!(got, bytes);
    // and as a files property value and a page icon
    let tasks = db(&ds, "Tasks");
    let row = rows(&ds, tasks["id"].as_str().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p = t.ok(V2025, Method::PATCH, &format!("/v1/pages/{row}"), Some(&json!({"properties": {"Attachments": {"files": [{"name": "n", "file_upload": {"id": id}}]}}}))).await;
    let u = p["properties"]["Attachments"]["files"][0]["file"]["url"]
        .as_str()
        .unwrap();
    assert_eq!(fetch(&t, u).await.1, bytes);
    // the ground truth lists the file with its size and hash
    let ds = t.dataset().await;
    let f = ds["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "notes.bin")
        .unwrap();
    assert_eq!(f["bytes"]["size"], 70_000);
    assert_eq!(f["bytes"]["fnv1a64"].as_str().unwrap().len(), 16);
    // other modes are refused with a clear message
    let m = t
        .fails(
            V2025,
            Method::POST,
            "/v1/file_uploads",
            Some(&json!({"mode": "multi_part"})),
            400,
            "validation_error",
        )
        .await;
    assert!(m.contains("single_part"), "{m}");
}

#[tokio::test]
async fn signed_urls_really_expire() {
    let t = NTwin::small().await;
    let ds = t.dataset().await;
    let img = ds["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "image")
        .unwrap();
    let id = img["id"].as_str().unwrap();
    let file = ds["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == img["data"]["file"]["sim_file_id"])
        .unwrap();
    let b = t.get(V2025, &format!("/v1/blocks/{id}")).await;
    let url = b["image"]["file"]["url"].as_str().unwrap().to_string();
    let expiry = b["image"]["file"]["expiry_time"].as_str().unwrap();
    assert!(expiry.ends_with('Z'));
    let (status, bytes) = fetch(&t, &url).await;
    assert_eq!(status, 200);
    assert_eq!(bytes.len() as u64, file["bytes"]["size"].as_u64().unwrap());
    assert_eq!(&bytes[..4], b"\x89PNG");
    // a tampered signature is refused
    let (status, body) = fetch(&t, &url.replace("sig=", "sig=0")).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("SignatureDoesNotMatch"));
    // an hour later the URL is dead
    t.admin("/__sim/notion/advance", &json!({"seconds": 3601}))
        .await;
    let (status, body) = fetch(&t, &url).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("Request has expired"));
    // reading the block again gives a fresh URL that works
    let b = t.get(V2025, &format!("/v1/blocks/{id}")).await;
    let fresh = b["image"]["file"]["url"].as_str().unwrap();
    assert_ne!(fresh, url);
    assert_eq!(fetch(&t, fresh).await.0, 200);
}
