//! A Notion twin with a generated workspace, a client on it, and the twin's ground truth.

use std::collections::HashMap;

use kb_doc::notion::model::Block;
use kb_notion::{Notion, NotionConfig, NotionVersion};
use kb_sim::notion::NotionConfig as TwinConfig;
use kb_sim::{NotionWorkspaceConfig, SimConfig, SimHandle};
use serde_json::Value;

pub struct Twin {
    pub handle: SimHandle,
}

impl Twin {
    /// A twin with this workspace; `rate: None` turns its rate limit off.
    pub async fn start(ws: NotionWorkspaceConfig, rate_on: bool, faults: Option<&str>) -> Twin {
        let mut notion = TwinConfig {
            workspace: ws,
            ..TwinConfig::default()
        };
        if !rate_on {
            notion.rate = None;
        }
        let cfg = SimConfig {
            notion,
            faults: faults
                .map(|f| f.parse().expect("a fault plan"))
                .unwrap_or_default(),
            ..SimConfig::default()
        };
        Twin {
            handle: kb_sim::start(cfg).await.expect("the twin starts"),
        }
    }

    pub async fn small() -> Twin {
        Twin::start(NotionWorkspaceConfig::default(), false, None).await
    }

    /// The config of a client of the full integration, paced for a twin without rate limit.
    pub fn config(&self, version: NotionVersion) -> NotionConfig {
        let mut c = NotionConfig::new(
            self.handle.notion_url().parse().unwrap(),
            self.handle.notion_token().to_string().into(),
        );
        c.version = version;
        c.rate = 1000.0;
        c.burst = 1000;
        c.concurrency = 8;
        c.retry.jitter_seed = Some(7);
        c
    }

    pub fn client(&self, version: NotionVersion) -> Notion {
        Notion::new(self.config(version)).expect("a client")
    }

    /// `/__sim/notion/dataset?trees=true`.
    pub async fn truth(&self) -> Truth {
        let v: Value = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!(
                "{}/__sim/notion/dataset?trees=true",
                self.handle.url()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Truth::new(v)
    }
}

/// The twin's ground truth, indexed.
pub struct Truth {
    pub raw: Value,
    /// Every node of every page tree, by id.
    nodes: HashMap<String, Value>,
}

impl Truth {
    fn new(raw: Value) -> Truth {
        let mut nodes = HashMap::new();
        fn index(n: &Value, out: &mut HashMap<String, Value>) {
            if let Some(id) = n["id"].as_str() {
                out.insert(id.to_string(), n.clone());
            }
            for c in n["children"].as_array().into_iter().flatten() {
                index(c, out);
            }
        }
        for p in raw["pages"].as_array().unwrap() {
            for n in p["tree"].as_array().into_iter().flatten() {
                index(n, &mut nodes);
            }
        }
        Truth { raw, nodes }
    }

    /// Live pages.
    pub fn pages(&self) -> Vec<&Value> {
        self.raw["pages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in_trash"] != true)
            .collect()
    }

    pub fn page(&self, id: &str) -> &Value {
        self.raw["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("no page {id} in the truth"))
    }

    /// The page's blocks as the API shows them: trashed blocks left out, a synced duplicate
    /// with its original's children, child pages and databases without children.
    pub fn tree(&self, page_id: &str) -> Vec<Value> {
        self.live(self.page(page_id)["tree"].as_array().unwrap())
    }

    fn live(&self, nodes: &[Value]) -> Vec<Value> {
        nodes
            .iter()
            .filter(|n| n["in_trash"] != true)
            .map(|n| {
                let mut kids = n["children"].as_array().cloned().unwrap_or_default();
                if n["type"] == "synced_block"
                    && let Some(orig) = n["data"]["synced_from"]["block_id"].as_str()
                {
                    kids = self.nodes[orig]["children"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                }
                let mut m = n.clone();
                m["children"] = Value::Array(self.live(&kids));
                m
            })
            .collect()
    }

    /// `{size, fnv1a64}` of a hosted file.
    pub fn file(&self, file_id: &str) -> &Value {
        self.raw["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == file_id)
            .unwrap_or_else(|| panic!("no file {file_id}"))
    }
}

/// The plain text of a rich-text array of the truth.
fn truth_text(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            r["plain_text"]
                .as_str()
                .or(r["text"]["content"].as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// Asserts that the fetched tree equals the truth block for block: ids, types, text, order,
/// children.
pub fn assert_same_tree(got: &[Block], want: &[Value], at: &str) {
    let ids: Vec<String> = got
        .iter()
        .map(|b| b.id.clone().unwrap_or_default())
        .collect();
    let want_ids: Vec<&str> = want.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, want_ids, "{at}: children differ");
    for (b, n) in got.iter().zip(want) {
        let here = format!("{at}/{}", n["id"].as_str().unwrap());
        assert_eq!(b.kind, n["type"].as_str().unwrap(), "{here}: type");
        if n["data"]["rich_text"].is_array() {
            let text: String = b
                .data
                .as_ref()
                .map(|d| d.rich().iter().map(|r| r.plain()).collect())
                .unwrap_or_default();
            assert_eq!(text, truth_text(&n["data"]["rich_text"]), "{here}: text");
        }
        assert_same_tree(&b.children, n["children"].as_array().unwrap(), &here);
    }
}

/// Blocks in a tree, at every level.
pub fn count(blocks: &[Block]) -> usize {
    blocks.iter().map(|b| 1 + count(&b.children)).sum()
}

/// An IR document as JSON without what differs between two copies of the same content: block
/// ids, hosted-file URLs (signed per read), upload ids.
pub fn comparable(doc: &kb_doc::Document) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("notion:id");
                for (_, x) in m.iter_mut() {
                    strip(x);
                }
                if m.get("attrs")
                    .is_some_and(|a| a.as_object().is_some_and(|o| o.is_empty()))
                {
                    m.remove("attrs");
                }
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            Value::String(s) if s.contains("/__files/") => *s = "<hosted file>".into(),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(doc).expect("IR serialises");
    strip(&mut v);
    v
}
