//! `kbridge sim`: starts, says where it listens and which credentials it accepts, serves the
//! Confluence and Notion twins, and rejects bad flags.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use super::KBRIDGE;

/// A raw HTTP/1.1 GET with extra header lines (a blocking test needs no async client): status
/// and body.
fn get_with(addr: &str, path: &str, headers: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the twin");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A Confluence GET with Basic auth.
fn get(addr: &str, path: &str, basic: &str) -> (u16, String) {
    get_with(addr, path, &format!("Authorization: Basic {basic}\r\n"))
}

/// A Notion GET: Bearer token and `Notion-Version`.
fn get_notion(addr: &str, path: &str, token: &str) -> (u16, String) {
    get_with(
        addr,
        path,
        &format!("Authorization: Bearer {token}\r\nNotion-Version: 2025-09-03\r\n"),
    )
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn sim_serves_both_twins_until_stopped() {
    let mut child = Command::new(KBRIDGE)
        .args([
            "sim",
            "--json",
            "--pages",
            "30",
            "--seed",
            "3",
            "--notion-pages",
            "9",
            "--notion-rows",
            "4",
            "--webhook",
            "confluence_dc=http://127.0.0.1:9/hook",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kbridge sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let base = info["confluence"]["base_url"].as_str().unwrap().to_string();
    let cred = &info["confluence"]["credentials"][0];
    let auth = base64(&format!(
        "{}:{}",
        cred["email"].as_str().unwrap(),
        cred["token"].as_str().unwrap()
    ));
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/wiki")
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "loopback by default: {addr}"
    );
    assert_eq!(info["pages"], 30);

    let (status, body) = get(&addr, "/wiki/api/v2/spaces", &auth);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    let (status, _) = get(
        &addr,
        "/wiki/api/v2/spaces",
        &base64("admin@example.com:wrong"),
    );
    assert_eq!(status, 401);
    // The --webhook receiver is registered.
    let (status, body) = get(&addr, "/__sim/webhooks", &auth);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["receivers"][0]["kind"], "confluence_dc");
    assert_eq!(v["receivers"][0]["url"], "http://127.0.0.1:9/hook");

    // The Notion twin on the same port.
    let notion = &info["notion"];
    assert_eq!(
        notion["base_url"].as_str().unwrap(),
        format!("http://{addr}/v1")
    );
    assert_eq!(notion["pages"], 9 + 1 + 3 * 4, "tree, Databases page, rows");
    assert_eq!(notion["databases"], 3);
    assert_eq!(notion["rate_limit"]["per_second"], 3.0);
    let token = notion["tokens"][0]["token"].as_str().unwrap();
    let (status, body) = get_notion(&addr, "/v1/users/me", token);
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["type"], "bot");
    let (status, body) = get_notion(&addr, "/v1/users/me", "secret_wrong");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("unauthorized"));

    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sim_rejects_bad_flags_with_a_clear_error() {
    for (args, needle) in [
        (vec!["sim", "--faults", "429=2"], "--faults"),
        (vec!["sim", "--rate-limit", "get=abc"], "--rate-limit"),
        (vec!["sim", "--notion-rate", "fast"], "--notion-rate"),
        (vec!["sim", "--notion-rate", "3/0"], "--notion-rate"),
        (
            vec!["sim", "--webhook", "jira=http://127.0.0.1:9/h"],
            "--webhook",
        ),
        (
            vec!["sim", "--webhook", "notion=ftp://x"],
            "use http or https",
        ),
        (
            vec!["sim", "--faults", "GET:/wiki/api/v2/pages"],
            "--faults",
        ),
        (
            vec!["sim", "--corpus", "/nonexistent/corpus"],
            "cannot read corpus folder",
        ),
    ] {
        let out = Command::new(KBRIDGE)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
