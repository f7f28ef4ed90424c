//! The Notion workspace generator: deterministic from the seed (SplitMix64 streams, no clock).
//!
//! It builds people and two integration bots; a tree of pages under "Team Home" (the first
//! `depth` pages form a chain, so depth is reached; the rest attach to random open parents)
//! whose content is written from kb-doc IR documents (GFM read into the IR, then the Notion
//! writer: headings, marks, links, nested lists, quotes, code, tables, task lists, equations,
//! callouts from alerts) plus the blocks Markdown cannot say (mentions of pages, users and
//! dates, toggleable headings, toggles, callouts with children, columns, images and files
//! backed by real bytes, bookmarks, links to pages, synced blocks original and duplicate,
//! dividers, tables of contents); and three related databases under "Databases" — Teams,
//! Projects, Tasks — with dual relations (Teams⇄Projects, Projects⇄Tasks), rollups over them,
//! formulas, and every common property type; rows have block content too. The first project
//! gets 30 tasks when there are enough rows, so the 25-reference truncation shows.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::model::*;
use super::render::{normalize_rich, text_item};
use crate::model::Bytes;
use crate::rng::Rng;

/// The size of the generated Notion workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct NotionWorkspaceConfig {
    /// Pages in the page tree (not counting database rows and the "Databases" page).
    pub pages: usize,
    /// The deepest level of the page tree below "Team Home" (≥ 1).
    pub depth: usize,
    /// Rows in each of the three databases.
    pub rows: usize,
    /// People besides the bots.
    pub users: usize,
}

impl Default for NotionWorkspaceConfig {
    fn default() -> Self {
        NotionWorkspaceConfig {
            pages: 12,
            depth: 4,
            rows: 8,
            users: 5,
        }
    }
}

const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Alan",
    "Hedy",
    "Katherine",
    "Edsger",
    "Radia",
    "Tim",
    "Sophie",
    "Jürgen",
    "Minh",
    "Yuki",
    "Soo-jin",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Turing",
    "Lamarr",
    "Johnson",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Wilson",
    "Müller",
    "Nguyen",
    "Tanaka",
    "Kim",
];
const WORDS: &[&str] = &[
    "roadmap",
    "release",
    "onboarding",
    "incident",
    "budget",
    "design",
    "review",
    "migration",
    "search",
    "latency",
    "backlog",
    "retro",
    "hiring",
    "security",
    "pricing",
    "analytics",
    "sync",
    "café",
    "naïve",
    "日本語",
    "한국어",
    "archive",
    "quarterly",
    "playbook",
];
const COLORS: &[&str] = &[
    "default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red",
];

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn title_rich(s: &str) -> Value {
    json!([text_item(s)])
}

/// Deterministic property ids: four alphanumerics (Notion's are short and stable).
fn prop_id(db: &str, name: &str) -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut h = crate::rng::fnv1a64(format!("{db}/{name}").as_bytes());
    (0..4)
        .map(|_| {
            let c = A[(h % A.len() as u64) as usize] as char;
            h /= A.len() as u64;
            c
        })
        .collect()
}

/// A real PNG (it decodes), sized by the seed.
fn png(seed: u64) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let (w, h) = (8 + r.below(24) as u32, 8 + r.below(24) as u32);
    let a = r.next_u64();
    crate::files::png(w, h, move |x, y| {
        let v = a.rotate_left((x + 2 * y) % 64);
        [v as u8, (v >> 16) as u8, (y * 255 / h) as u8]
    })
}

/// A real one-page PDF whose text extracts, sized by the seed.
fn pdf(seed: u64) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let lines: Vec<String> = (0..3 + r.below(10))
        .map(|_| {
            (0..4 + r.below(8))
                .map(|_| r.word(WORDS))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    crate::files::pdf(&lines)
}

struct Gen {
    ws: Workspace,
    r: Rng,
    t: i64,
    people: Vec<String>,
}

impl Gen {
    fn tick(&mut self) -> i64 {
        self.t += 60_000 * (1 + self.r.below(600) as i64);
        self.t
    }
    fn person(&mut self) -> String {
        let p = self.people.clone();
        self.r.pick(&p).clone()
    }

    fn file(&mut self, name: &str, ct: &str, bytes: Vec<u8>) -> String {
        let id = self.ws.new_id();
        self.ws.files.insert(
            id.clone(),
            NFile {
                id: id.clone(),
                name: name.into(),
                content_type: ct.into(),
                bytes: Bytes(Arc::from(bytes.into_boxed_slice())),
            },
        );
        id
    }

    fn new_page(&mut self, parent: Parent, props: BTreeMap<String, Value>) -> String {
        let id = self.ws.new_id();
        let created = self.tick();
        let who = self.person();
        let editor = self.person();
        let edited = created + 60_000 * self.r.below(5000) as i64;
        let icon = self.r.chance(0.4).then(
            || json!({"type": "emoji", "emoji": *self.r.pick(&["📘", "🚀", "🧭", "🛠️", "📊"])}),
        );
        self.ws.pages.insert(
            id.clone(),
            NPage {
                id: id.clone(),
                parent,
                props,
                icon,
                cover: None,
                children: Vec::new(),
                created_time: created,
                created_by: who,
                last_edited_time: edited,
                last_edited_by: editor,
                in_trash: false,
            },
        );
        id
    }

    /// Stores a block (and its children) under `parent`; returns its id.
    fn block(
        &mut self,
        parent: Parent,
        kind: &str,
        mut data: Value,
        children: Vec<Built>,
    ) -> String {
        let id = self.ws.new_id();
        normalize_data(&self.ws, &mut data);
        let created = self.tick();
        let who = self.person();
        let mut kids = Vec::new();
        for c in children {
            kids.push(self.build(Parent::Block(id.clone()), c));
        }
        self.ws.blocks.insert(
            id.clone(),
            NBlock {
                id: id.clone(),
                parent,
                kind: kind.into(),
                data,
                children: kids,
                created_time: created,
                created_by: who.clone(),
                last_edited_time: created,
                last_edited_by: who,
                in_trash: false,
            },
        );
        id
    }

    fn build(&mut self, parent: Parent, b: Built) -> String {
        self.block(parent, &b.0, b.1, b.2)
    }

    fn sentence(&mut self) -> String {
        let n = 4 + self.r.below(8);
        let w: Vec<&str> = (0..n).map(|_| self.r.word(WORDS)).collect();
        cap(&w.join(" "))
    }

    /// The page's body as the Notion editor stores it, written here as block JSON (never by
    /// kbridge's converters): headings, a paragraph of every annotation and a link, nested
    /// bulleted and numbered lists, a quote and code, a table, to-dos, an equation, a callout.
    fn markdown_blocks(&mut self, parent: &Parent, title: &str) -> Vec<String> {
        let h = |kind: &str, text: &str| {
            Built(
                kind.into(),
                json!({"rich_text": [txt(text)], "color": "default", "is_toggleable": false}),
                vec![],
            )
        };
        let item = |kind: &str, text: &str, kids: Vec<Built>| {
            Built(
                kind.into(),
                json!({"rich_text": [txt(text)], "color": "default"}),
                kids,
            )
        };
        let ann = |text: &str, a: Value| json!({"type": "text", "text": {"content": text}, "annotations": a});
        let mut out = vec![h("heading_1", title)];
        let h2 = cap(self.r.word(WORDS));
        out.push(h("heading_2", &h2));
        let s = self.sentence();
        let bold = format!("bold {}", self.r.word(WORDS));
        let href = format!("https://example.com/{}", self.r.word(WORDS));
        out.push(para(vec![
            txt(&format!("{s} with ")),
            ann(&bold, json!({"bold": true})),
            txt(", "),
            ann("italic", json!({"italic": true})),
            txt(", "),
            ann("struck", json!({"strikethrough": true})),
            txt(", "),
            ann("code", json!({"code": true})),
            txt(" and a "),
            json!({"type": "text", "text": {"content": "link", "link": {"url": href}}}),
            txt("."),
        ]));
        let h3 = cap(self.r.word(WORDS));
        out.push(h("heading_3", &h3));
        let (a, b, c, d) = (
            self.sentence(),
            self.sentence(),
            self.sentence(),
            self.sentence(),
        );
        out.push(item(
            "bulleted_list_item",
            &a,
            vec![item(
                "bulleted_list_item",
                &b,
                vec![item("bulleted_list_item", &c, vec![])],
            )],
        ));
        out.push(item("bulleted_list_item", &d, vec![]));
        let (e, f) = (self.sentence(), self.sentence());
        out.push(item("numbered_list_item", &e, vec![]));
        out.push(item("numbered_list_item", &f, vec![]));
        if self.r.chance(0.7) {
            let q = self.sentence();
            out.push(item("quote", &q, vec![]));
            let name = title
                .to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
            let code = format!("fn {name}() -> u32 {{ {} }}", self.r.below(100));
            out.push(Built(
                "code".into(),
                json!({"rich_text": [txt(&code)], "caption": [], "language": "rust"}),
                vec![],
            ));
        }
        if self.r.chance(0.6) {
            let mut rows = vec![["Item".to_string(), "Owner".into(), "Count".into()]];
            for _ in 0..2 {
                rows.push([
                    self.r.word(WORDS).to_string(),
                    self.r.pick(FIRST).to_string(),
                    self.r.below(50).to_string(),
                ]);
            }
            out.push(Built(
                "table".into(),
                json!({"table_width": 3, "has_column_header": true, "has_row_header": false}),
                rows.iter()
                    .map(|r| {
                        Built(
                            "table_row".into(),
                            json!({"cells": r.iter().map(|c| json!([txt(c)])).collect::<Vec<_>>()}),
                            vec![],
                        )
                    })
                    .collect(),
            ));
        }
        let (t1, t2) = (self.sentence(), self.sentence());
        let power = 1 + self.r.below(3);
        let note = self.sentence();
        out.push(Built(
            "to_do".into(),
            json!({"rich_text": [txt(&t1)], "checked": false, "color": "default"}),
            vec![],
        ));
        out.push(Built(
            "to_do".into(),
            json!({"rich_text": [txt(&t2)], "checked": true, "color": "default"}),
            vec![],
        ));
        out.push(Built(
            "equation".into(),
            json!({"expression": format!("E = mc^{power}")}),
            vec![],
        ));
        out.push(Built(
            "callout".into(),
            json!({"rich_text": [txt(&note)], "icon": {"type": "emoji", "emoji": "ℹ️"}, "color": "blue_background"}),
            vec![],
        ));
        out.into_iter()
            .map(|b| self.build(parent.clone(), b))
            .collect()
    }
}

/// A block to build: type, data, children.
struct Built(String, Value, Vec<Built>);

fn para(items: Vec<Value>) -> Built {
    Built(
        "paragraph".into(),
        json!({"rich_text": items, "color": "default"}),
        vec![],
    )
}

fn txt(s: &str) -> Value {
    json!({"type": "text", "text": {"content": s}})
}

/// Normalises every rich text array of a block's data to the response shape.
pub fn normalize_data(ws: &Workspace, data: &mut Value) {
    let Some(m) = data.as_object_mut() else {
        return;
    };
    m.remove("children");
    for key in ["rich_text", "caption"] {
        if let Some(Value::Array(a)) = m.get_mut(key) {
            for x in a.iter_mut() {
                *x = normalize_rich(ws, x);
            }
        }
    }
    if let Some(Value::Array(rows)) = m.get_mut("cells") {
        for cell in rows.iter_mut() {
            if let Value::Array(a) = cell {
                for x in a.iter_mut() {
                    *x = normalize_rich(ws, x);
                }
            }
        }
    }
}

/// Builds the workspace for `cfg` from `seed`.
pub fn generate(cfg: &NotionWorkspaceConfig, seed: u64) -> Workspace {
    let mut g = Gen {
        ws: Workspace {
            seed,
            ..Default::default()
        },
        r: Rng::stream(seed, 0x4e07),
        // 2024-03-01T00:00Z
        t: 1_709_251_200_000,
        people: Vec::new(),
    };
    // users
    for i in 0..cfg.users.max(1) {
        let id = g.ws.new_id();
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i * 7 + 3) % LAST.len()];
        g.ws.users.push(NUser {
            id: id.clone(),
            name: format!("{first} {last}"),
            avatar_url: Some(format!("https://example.com/avatars/{}.png", i + 1)),
            email: Some(format!(
                "{}.{}@example.com",
                first.to_lowercase(),
                last.to_lowercase()
            )),
            bot: false,
        });
        g.people.push(id);
    }
    for name in ["kbridge sim integration", "kbridge restricted integration"] {
        let id = g.ws.new_id();
        g.ws.users.push(NUser {
            id,
            name: name.into(),
            avatar_url: None,
            email: None,
            bot: true,
        });
    }
    // files
    let mut images = Vec::new();
    let mut docs = Vec::new();
    for i in 0..4u64 {
        images.push(g.file(
            &format!("diagram-{}.png", i + 1),
            "image/png",
            png(seed ^ i),
        ));
        docs.push(g.file(
            &format!("spec-{}.pdf", i + 1),
            "application/pdf",
            pdf(seed ^ (i + 10)),
        ));
    }

    // the page tree
    let mut tree: Vec<(String, usize)> = Vec::new();
    let home = g.new_page(
        Parent::Workspace,
        BTreeMap::from([("title".to_string(), title_rich("Team Home"))]),
    );
    tree.push((home.clone(), 0));
    let depth = cfg.depth.max(1);
    for i in 1..cfg.pages.max(1) {
        let (parent, d) = if i <= depth {
            tree[i - 1].clone()
        } else {
            let open: Vec<(String, usize)> =
                tree.iter().filter(|(_, d)| *d < depth).cloned().collect();
            g.r.pick(&open).clone()
        };
        let title = format!("{} {} {i}", cap(g.r.word(WORDS)), g.r.word(WORDS));
        let id = g.new_page(
            Parent::Page(parent.clone()),
            BTreeMap::from([("title".to_string(), title_rich(&title))]),
        );
        tree.push((id, d + 1));
    }
    let all_pages: Vec<String> = tree.iter().map(|x| x.0.clone()).collect();
    let mut synced_original: Option<String> = None;
    for (n, (pid, _)) in tree.clone().into_iter().enumerate() {
        let parent = Parent::Page(pid.clone());
        let title = plain(g.ws.pages[&pid].props.get("title"));
        let mut kids = g.markdown_blocks(&parent, &title);
        let other = g.r.pick(&all_pages).clone();
        let person = g.person();
        let everything = n == 0;
        let color = *g.r.pick(COLORS);
        // A paragraph with mentions of a page, a user and a date, and a coloured run.
        kids.push(g.build(
            parent.clone(),
            para(vec![
                txt("See "),
                json!({"type": "mention", "mention": {"type": "page", "page": {"id": other}}}),
                txt(", ask "),
                json!({"type": "mention", "mention": {"type": "user", "user": {"id": person}}}),
                txt(" before "),
                json!({"type": "mention", "mention": {"type": "date", "date": {"start": "2025-06-30"}}}),
                json!({"type": "text", "text": {"content": " (important)"}, "annotations": {"bold": true, "color": color}}),
                json!({"type": "equation", "equation": {"expression": "a^2+b^2=c^2"}}),
            ]),
        ));
        if everything || g.r.chance(0.5) {
            let s = g.sentence();
            kids.push(g.build(
                parent.clone(),
                Built(
                    "heading_2".into(),
                    json!({"rich_text": [txt("Details")], "color": "default", "is_toggleable": true}),
                    vec![para(vec![txt(&s)])],
                ),
            ));
            let s = g.sentence();
            kids.push(g.build(
                parent.clone(),
                Built(
                    "toggle".into(),
                    json!({"rich_text": [txt("More")], "color": "default"}),
                    vec![
                        para(vec![txt(&s)]),
                        Built(
                            "to_do".into(),
                            json!({"rich_text": [txt("Follow up")], "checked": false, "color": "default"}),
                            vec![],
                        ),
                    ],
                ),
            ));
        }
        if everything || g.r.chance(0.5) {
            let s = g.sentence();
            kids.push(g.build(
                parent.clone(),
                Built(
                    "callout".into(),
                    json!({"rich_text": [txt("Heads up")], "icon": {"type": "emoji", "emoji": "💡"}, "color": "yellow_background"}),
                    vec![para(vec![txt(&s)])],
                ),
            ));
            kids.push(g.build(parent.clone(), Built("divider".into(), json!({}), vec![])));
            let (a, b) = (g.sentence(), g.sentence());
            kids.push(g.build(
                parent.clone(),
                Built(
                    "column_list".into(),
                    json!({}),
                    vec![
                        Built("column".into(), json!({}), vec![para(vec![txt(&a)])]),
                        Built("column".into(), json!({}), vec![para(vec![txt(&b)])]),
                    ],
                ),
            ));
        }
        if everything || g.r.chance(0.5) {
            let img = g.r.pick(&images).clone();
            let doc = g.r.pick(&docs).clone();
            let doc_name = g.ws.files[&doc].name.clone();
            kids.push(g.build(
                parent.clone(),
                Built(
                    "image".into(),
                    json!({"caption": [txt("A diagram")], "type": "file", "file": {"sim_file_id": img}}),
                    vec![],
                ),
            ));
            kids.push(g.build(
                parent.clone(),
                Built(
                    "file".into(),
                    json!({"caption": [], "type": "file", "file": {"sim_file_id": doc}, "name": doc_name}),
                    vec![],
                ),
            ));
            let w = g.r.word(WORDS);
            kids.push(g.build(
                parent.clone(),
                Built(
                    "bookmark".into(),
                    json!({"caption": [], "url": format!("https://example.com/{w}")}),
                    vec![],
                ),
            ));
            kids.push(g.build(
                parent.clone(),
                Built(
                    "link_to_page".into(),
                    json!({"type": "page_id", "page_id": other}),
                    vec![],
                ),
            ));
        }
        if everything {
            kids.push(g.build(
                parent.clone(),
                Built(
                    "table_of_contents".into(),
                    json!({"color": "default"}),
                    vec![],
                ),
            ));
            let s = g.sentence();
            let id = g.build(
                parent.clone(),
                Built(
                    "synced_block".into(),
                    json!({"synced_from": null}),
                    vec![para(vec![txt(&s)])],
                ),
            );
            synced_original = Some(id.clone());
            kids.push(id);
        } else if let Some(orig) = synced_original.clone().filter(|_| n == 1) {
            kids.push(g.build(
                parent.clone(),
                Built(
                    "synced_block".into(),
                    json!({"synced_from": {"type": "block_id", "block_id": orig}}),
                    vec![],
                ),
            ));
        }
        if let Some(p) = g.ws.pages.get_mut(&pid) {
            p.children = kids;
        }
    }
    // Subpages appear in their parent's content, after its blocks.
    for (pid, _) in tree.iter().skip(1) {
        if let Parent::Page(parent) = g.ws.pages[pid].parent.clone()
            && let Some(p) = g.ws.pages.get_mut(&parent)
        {
            p.children.push(pid.clone());
        }
    }
    g.ws.restricted_roots = vec![tree.get(1).map(|x| x.0.clone()).unwrap_or(home.clone())];

    databases(&mut g, cfg.rows.max(1), &images, &docs);
    // Comments on a few pages.
    for pid in all_pages.iter().step_by(3) {
        let id = g.ws.new_id();
        let disc = g.ws.new_id();
        let who = g.person();
        let at = g.tick();
        let s = g.sentence();
        let rich = vec![normalize_rich(&g.ws, &txt(&s))];
        g.ws.comments.insert(
            id.clone(),
            NComment {
                id,
                discussion_id: disc,
                parent: Parent::Page(pid.clone()),
                rich_text: rich,
                created_time: at,
                created_by: who,
            },
        );
    }
    g.ws
}

fn schema(
    db: &str,
    name: &str,
    kind: &str,
    config: Value,
    computed: Option<Computed>,
) -> PropSchema {
    PropSchema {
        id: if kind == "title" {
            "title".into()
        } else {
            prop_id(db, name)
        },
        name: name.into(),
        kind: kind.into(),
        config,
        computed,
    }
}

fn options(db: &str, prop: &str, names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                json!({"id": prop_id(db, &format!("{prop}:{n}")), "name": n, "color": COLORS[(i * 3 + 1) % COLORS.len()], "description": null})
            })
            .collect(),
    )
}

fn option(cfg: &Value, i: usize) -> Value {
    let a = cfg["options"].as_array().cloned().unwrap_or_default();
    let o = &a[i % a.len().max(1)];
    json!({"id": o["id"], "name": o["name"], "color": o["color"]})
}

fn rollup_cfg(rel: &PropSchema, target: &PropSchema, function: &str) -> Value {
    json!({
        "relation_property_name": rel.name, "relation_property_id": rel.id,
        "rollup_property_name": target.name, "rollup_property_id": target.id,
        "function": function,
    })
}

fn databases(g: &mut Gen, rows: usize, images: &[String], docs: &[String]) {
    let holder = g.new_page(
        Parent::Workspace,
        BTreeMap::from([("title".to_string(), title_rich("Databases"))]),
    );
    let teams = g.ws.new_id();
    let projects = g.ws.new_id();
    let tasks = g.ws.new_id();
    let (t, p, k) = (teams.as_str(), projects.as_str(), tasks.as_str());
    let dual = |db: &str, other: &str, other_name: &str| json!({"database_id": db, "type": "dual_property", "dual_property": {"synced_property_id": prop_id(db, other), "synced_property_name": other_name}});
    // Teams
    let status_cfg = json!({
        "options": options(p, "Status", &["Not started", "In progress", "Done"]),
        "groups": [],
    });
    let t_props = vec![
        schema(t, "Name", "title", json!({}), None),
        schema(t, "Lead", "people", json!({}), None),
        schema(t, "Email", "email", json!({}), None),
        schema(t, "Size", "number", json!({"format": "number"}), None),
        schema(t, "Active", "checkbox", json!({}), None),
        schema(t, "Projects", "relation", dual(p, "Team", "Team"), None),
        schema(t, "Created", "created_time", json!({}), None),
        schema(t, "Edited", "last_edited_time", json!({}), None),
    ];
    let p_props = vec![
        schema(p, "Name", "title", json!({}), None),
        schema(p, "Summary", "rich_text", json!({}), None),
        schema(p, "Status", "status", status_cfg.clone(), None),
        schema(
            p,
            "Priority",
            "select",
            json!({"options": options(p, "Priority", &["High", "Medium", "Low"])}),
            None,
        ),
        schema(
            p,
            "Tags",
            "multi_select",
            json!({"options": options(p, "Tags", &["backend", "frontend", "infra", "docs", "ux"])}),
            None,
        ),
        schema(p, "Budget", "number", json!({"format": "dollar"}), None),
        schema(p, "Due", "date", json!({}), None),
        schema(p, "Archived", "checkbox", json!({}), None),
        schema(p, "Website", "url", json!({}), None),
        schema(p, "Contact", "email", json!({}), None),
        schema(p, "Phone", "phone_number", json!({}), None),
        schema(p, "Owner", "people", json!({}), None),
        schema(p, "Brief", "files", json!({}), None),
        schema(p, "Team", "relation", dual(t, "Projects", "Projects"), None),
        schema(p, "Tasks", "relation", dual(k, "Project", "Project"), None),
        schema(p, "Created", "created_time", json!({}), None),
        schema(p, "Edited", "last_edited_time", json!({}), None),
        schema(p, "Created by", "created_by", json!({}), None),
        schema(p, "Edited by", "last_edited_by", json!({}), None),
    ];
    let k_props = vec![
        schema(k, "Name", "title", json!({}), None),
        schema(k, "Notes", "rich_text", json!({}), None),
        schema(k, "Hours", "number", json!({"format": "number"}), None),
        schema(k, "Done", "checkbox", json!({}), None),
        schema(
            k,
            "Priority",
            "select",
            json!({"options": options(k, "Priority", &["P0", "P1", "P2"])}),
            None,
        ),
        schema(
            k,
            "Labels",
            "multi_select",
            json!({"options": options(k, "Labels", &["bug", "feature", "chore"])}),
            None,
        ),
        schema(k, "Due", "date", json!({}), None),
        schema(k, "Assignee", "people", json!({}), None),
        schema(k, "Link", "url", json!({}), None),
        schema(k, "Attachments", "files", json!({}), None),
        schema(k, "Project", "relation", dual(p, "Tasks", "Tasks"), None),
        schema(k, "Edited", "last_edited_time", json!({}), None),
    ];
    let find = |v: &[PropSchema], n: &str| v.iter().find(|s| s.name == n).cloned().expect("schema");
    let mut t_props = t_props;
    let mut p_props = p_props;
    let mut k_props = k_props;
    // rollups and formulas
    let tr = find(&t_props, "Projects");
    t_props.push(schema(
        t,
        "Project count",
        "rollup",
        rollup_cfg(&tr, &find(&p_props, "Name"), "count"),
        Some(Computed::Rollup {
            relation: tr.id.clone(),
            target: "title".into(),
            function: "count".into(),
        }),
    ));
    let pb = find(&p_props, "Budget");
    t_props.push(schema(
        t,
        "Total budget",
        "rollup",
        rollup_cfg(&tr, &pb, "sum"),
        Some(Computed::Rollup {
            relation: tr.id.clone(),
            target: pb.id.clone(),
            function: "sum".into(),
        }),
    ));
    t_props.push(schema(
        t,
        "Summary",
        "formula",
        json!({"expression": "prop(\"Name\") + \" (\" + format(prop(\"Size\")) + \")\""}),
        Some(Computed::Formula {
            name: "team_summary".into(),
        }),
    ));
    let pt = find(&p_props, "Tasks");
    let kh = find(&k_props, "Hours");
    let kd = find(&k_props, "Done");
    let kdue = find(&k_props, "Due");
    p_props.push(schema(
        p,
        "Task count",
        "rollup",
        rollup_cfg(&pt, &find(&k_props, "Name"), "count"),
        Some(Computed::Rollup {
            relation: pt.id.clone(),
            target: "title".into(),
            function: "count".into(),
        }),
    ));
    p_props.push(schema(
        p,
        "Total hours",
        "rollup",
        rollup_cfg(&pt, &kh, "sum"),
        Some(Computed::Rollup {
            relation: pt.id.clone(),
            target: kh.id.clone(),
            function: "sum".into(),
        }),
    ));
    p_props.push(schema(
        p,
        "Done ratio",
        "rollup",
        rollup_cfg(&pt, &kd, "percent_checked"),
        Some(Computed::Rollup {
            relation: pt.id.clone(),
            target: kd.id.clone(),
            function: "percent_checked".into(),
        }),
    ));
    p_props.push(schema(
        p,
        "Latest task due",
        "rollup",
        rollup_cfg(&pt, &kdue, "latest_date"),
        Some(Computed::Rollup {
            relation: pt.id.clone(),
            target: kdue.id.clone(),
            function: "latest_date".into(),
        }),
    ));
    p_props.push(schema(
        p,
        "Label",
        "formula",
        json!({"expression": "prop(\"Name\") + \" · \" + prop(\"Priority\")"}),
        Some(Computed::Formula {
            name: "project_label".into(),
        }),
    ));
    p_props.push(schema(p, "Budget per task", "formula", json!({"expression": "if(length(prop(\"Tasks\")) > 0, round(prop(\"Budget\") / length(prop(\"Tasks\")) * 100) / 100, 0)"}), Some(Computed::Formula { name: "budget_per_task".into() })));
    let kp = find(&k_props, "Project");
    let ps = find(&p_props, "Status");
    k_props.push(schema(
        k,
        "Project status",
        "rollup",
        rollup_cfg(&kp, &ps, "show_original"),
        Some(Computed::Rollup {
            relation: kp.id.clone(),
            target: ps.id.clone(),
            function: "show_original".into(),
        }),
    ));
    k_props.push(schema(
        k,
        "Long",
        "formula",
        json!({"expression": "prop(\"Hours\") > 8"}),
        Some(Computed::Formula {
            name: "long_task".into(),
        }),
    ));

    let mk_db =
        |g: &mut Gen, id: &str, title: &str, desc: &str, props: Vec<PropSchema>, icon: &str| {
            let created = g.tick();
            let who = g.person();
            let ds = g.ws.new_id();
            g.ws.databases.insert(
                id.to_string(),
                NDatabase {
                    id: id.to_string(),
                    data_source_id: ds,
                    parent: Parent::Page(holder.clone()),
                    title: title.into(),
                    description: desc.into(),
                    is_inline: false,
                    icon: Some(json!({"type": "emoji", "emoji": icon})),
                    properties: props,
                    created_time: created,
                    created_by: who.clone(),
                    last_edited_time: created,
                    last_edited_by: who,
                    in_trash: false,
                },
            );
        };
    mk_db(g, t, "Teams", "Who works on what", t_props.clone(), "👥");
    mk_db(
        g,
        p,
        "Projects",
        "Everything in flight",
        p_props.clone(),
        "📁",
    );
    mk_db(
        g,
        k,
        "Tasks",
        "The work, one row per task",
        k_props.clone(),
        "✅",
    );
    if let Some(h) = g.ws.pages.get_mut(&holder) {
        h.children = vec![teams.clone(), projects.clone(), tasks.clone()];
    }

    let sid = |v: &[PropSchema], n: &str| {
        v.iter()
            .find(|s| s.name == n)
            .map(|s| s.id.clone())
            .expect("schema")
    };
    let mut team_ids = Vec::new();
    let mut project_ids = Vec::new();
    let mut task_ids = Vec::new();
    for i in 0..rows {
        let name = format!("{} team {}", cap(g.r.word(WORDS)), i + 1);
        let lead = g.person();
        let mut props = BTreeMap::from([
            ("title".to_string(), title_rich(&name)),
            (sid(&t_props, "Lead"), json!([lead])),
            (
                sid(&t_props, "Email"),
                json!(format!("team{}@example.com", i + 1)),
            ),
            (sid(&t_props, "Size"), json!(2 + g.r.below(12))),
            (sid(&t_props, "Active"), json!(g.r.chance(0.7))),
        ]);
        props.insert(sid(&t_props, "Projects"), json!([]));
        team_ids.push(g.new_page(Parent::Database(teams.clone()), props));
    }
    let p_status = find(&p_props, "Status").config;
    let p_prio = find(&p_props, "Priority").config;
    let p_tags = find(&p_props, "Tags").config;
    for i in 0..rows {
        let name = format!("{} {}", cap(g.r.word(WORDS)), cap(g.r.word(WORDS)));
        let name = format!("{name} {}", i + 1);
        let team = g.r.pick(&team_ids).clone();
        let owner = g.person();
        let tags: Vec<Value> = (0..g.r.below(3))
            .map(|j| option(&p_tags, (i + j as usize * 2) % 5))
            .collect();
        let due = (g.r.chance(0.8)).then(|| {
            json!({"start": crate::time::iso(g.t + 86_400_000 * g.r.below(200) as i64)[..10].to_string(), "end": null, "time_zone": null})
        });
        let brief = if g.r.chance(0.5) {
            let f = g.r.pick(docs).clone();
            json!([{"name": g.ws.files[&f].name, "type": "file", "file": {"sim_file_id": f}}])
        } else {
            json!([{"name": "spec", "type": "external", "external": {"url": "https://example.com/spec.pdf"}}])
        };
        let s = g.sentence();
        let props = BTreeMap::from([
            ("title".to_string(), title_rich(&name)),
            (
                sid(&p_props, "Summary"),
                json!([normalize_rich(&g.ws, &txt(&s))]),
            ),
            (
                sid(&p_props, "Status"),
                option(&p_status, g.r.below(3) as usize),
            ),
            (
                sid(&p_props, "Priority"),
                if g.r.chance(0.9) {
                    option(&p_prio, g.r.below(3) as usize)
                } else {
                    Value::Null
                },
            ),
            (sid(&p_props, "Tags"), Value::Array(tags)),
            (sid(&p_props, "Budget"), json!(1000 * (1 + g.r.below(50)))),
            (sid(&p_props, "Due"), due.unwrap_or(Value::Null)),
            (sid(&p_props, "Archived"), json!(g.r.chance(0.2))),
            (
                sid(&p_props, "Website"),
                json!(format!("https://example.com/projects/{}", i + 1)),
            ),
            (
                sid(&p_props, "Contact"),
                json!(format!("project{}@example.com", i + 1)),
            ),
            (
                sid(&p_props, "Phone"),
                if g.r.chance(0.5) {
                    json!(format!("+1 555 01{:02}", i % 100))
                } else {
                    Value::Null
                },
            ),
            (sid(&p_props, "Owner"), json!([owner])),
            (sid(&p_props, "Brief"), brief),
            (sid(&p_props, "Team"), json!([team])),
            (sid(&p_props, "Tasks"), json!([])),
        ]);
        let id = g.new_page(Parent::Database(projects.clone()), props);
        let tp = sid(&t_props, "Projects");
        if let Some(tm) = g.ws.pages.get_mut(&team)
            && let Some(Value::Array(a)) = tm.props.get_mut(&tp)
        {
            a.push(json!(id));
        }
        project_ids.push(id);
    }
    let k_prio = find(&k_props, "Priority").config;
    let k_labels = find(&k_props, "Labels").config;
    for i in 0..rows {
        let name = format!(
            "{} the {} {}",
            cap(g
                .r
                .word(&["Fix", "Write", "Review", "Ship", "Plan", "Test"])),
            g.r.word(WORDS),
            i + 1
        );
        // The first 30 tasks go to the first project (truncation at 25 shows), when there
        // are enough rows to leave others some.
        let project = if rows >= 40 && i < 30 {
            project_ids[0].clone()
        } else {
            g.r.pick(&project_ids).clone()
        };
        let assignees: Vec<String> = (0..1 + g.r.below(2)).map(|_| g.person()).collect();
        let att = if g.r.chance(0.3) {
            let f = g.r.pick(images).clone();
            json!([{"name": g.ws.files[&f].name, "type": "file", "file": {"sim_file_id": f}}])
        } else {
            json!([])
        };
        let s = g.sentence();
        let due = g.r.chance(0.7).then(|| {
            json!({"start": crate::time::iso(g.t + 86_400_000 * g.r.below(120) as i64)[..10].to_string(), "end": null, "time_zone": null})
        });
        let props = BTreeMap::from([
            ("title".to_string(), title_rich(&name)),
            (
                sid(&k_props, "Notes"),
                json!([normalize_rich(&g.ws, &txt(&s))]),
            ),
            (sid(&k_props, "Hours"), json!(1 + g.r.below(16))),
            (sid(&k_props, "Done"), json!(g.r.chance(0.4))),
            (
                sid(&k_props, "Priority"),
                option(&k_prio, g.r.below(3) as usize),
            ),
            (
                sid(&k_props, "Labels"),
                json!([option(&k_labels, g.r.below(3) as usize)]),
            ),
            (sid(&k_props, "Due"), due.unwrap_or(Value::Null)),
            (sid(&k_props, "Assignee"), json!(assignees)),
            (
                sid(&k_props, "Link"),
                if g.r.chance(0.5) {
                    json!(format!("https://example.com/tasks/{}", i + 1))
                } else {
                    Value::Null
                },
            ),
            (sid(&k_props, "Attachments"), att),
            (sid(&k_props, "Project"), json!([project])),
        ]);
        let id = g.new_page(Parent::Database(tasks.clone()), props);
        let pt = sid(&p_props, "Tasks");
        if let Some(pr) = g.ws.pages.get_mut(&project)
            && let Some(Value::Array(a)) = pr.props.get_mut(&pt)
        {
            a.push(json!(id));
        }
        task_ids.push(id);
    }
    // Row content.
    for id in team_ids.iter().chain(&project_ids).chain(&task_ids) {
        let parent = Parent::Page(id.clone());
        let s = g.sentence();
        let checked = g.r.chance(0.5);
        let a = g.build(parent.clone(), para(vec![txt(&s)]));
        let b = g.build(
            parent,
            Built(
                "to_do".into(),
                json!({"rich_text": [txt("Check the numbers")], "checked": checked, "color": "default"}),
                vec![],
            ),
        );
        if let Some(p) = g.ws.pages.get_mut(id) {
            p.children = vec![a, b];
        }
    }
}
