//! The workspace generator: a deterministic Confluence site from a seed.
//!
//! Same [`WorkspaceConfig`] (seed included) ⇒ the same [`Dataset`], byte for byte: every draw
//! comes from [`Rng`] streams keyed by purpose, and nothing reads the clock. Page bodies are
//! storage written here (headings, paragraphs with marks, links to other generated pages by
//! title, user mentions, status lozenges, dates, lists, tables, code, panels, task lists, images
//! of the page's own attachments, inline-comment markers), never by kbridge's writer, mixed
//! with [`ODD_BODIES`] and, with a [`Corpus`], real storage files, so the code under test meets
//! bodies it did not write.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::model::*;
use crate::rng::Rng;
use crate::storage as xml;
pub use crate::storage::TaskSpec;
use crate::time::{self, MS_PER_DAY};

/// What to generate. `Default` is a small site suitable for tests.
#[derive(Clone, Debug)]
pub struct WorkspaceConfig {
    pub seed: u64,
    pub spaces: usize,
    /// Pages in all spaces together, homepages included (at least one per space).
    pub pages: usize,
    /// Maximum depth of a page below its space homepage.
    pub depth: usize,
    /// Maximum children per page (the homepage takes the overflow).
    pub fanout: usize,
    pub blogposts_per_space: usize,
    /// Users besides the three fixed accounts (admin, guest, unlicensed).
    pub users: usize,
    /// Take page bodies from these real storage files instead of generating them.
    pub corpus: Option<Arc<Corpus>>,
    /// Start of the generated history (ms since the epoch); everything happens within about
    /// 600 days after it.
    pub base_time_ms: i64,
    /// Fraction (0–1) of pages, when no corpus is given, whose body is one of [`ODD_BODIES`]:
    /// valid storage kbridge's writer never produces, so engine tests meet bodies kbridge did
    /// not write. 0 turns it off.
    pub odd_bodies: f64,
    /// More odd bodies for the same fraction: real storage files (the shared corpus in tests,
    /// [`Corpus::load`]), drawn alongside [`ODD_BODIES`]. Unlike [`Self::corpus`] they replace
    /// only the odd fraction, so the rest of the site stays generated.
    pub odd_corpus: Option<Arc<Corpus>>,
}

/// How many days before the start of today the default generated history begins.
pub const HISTORY_LEAD_DAYS: i64 = 410;

/// Odd but valid storage, written by hand: unknown macros, nested layouts, deep lists, CDATA,
/// rare entities, legacy `<ac:macro>`, comments, unprefixed unknown attributes.
pub const ODD_BODIES: &[(&str, &str)] = &[
    (
        "unknown macro",
        "<p>Before.</p><ac:structured-macro ac:name=\"vendor-roadmap\" ac:schema-version=\"1\" ac:macro-id=\"0d1f\"><ac:parameter ac:name=\"lanes\">3</ac:parameter><ac:rich-text-body><p>Inside an <strong>unknown</strong> macro.</p></ac:rich-text-body></ac:structured-macro><p>After.</p>",
    ),
    (
        "nested layouts",
        "<ac:layout><ac:layout-section ac:type=\"two_right_sidebar\"><ac:layout-cell><h2>Main</h2><p>Left cell.</p></ac:layout-cell><ac:layout-cell><ac:structured-macro ac:name=\"panel\"><ac:rich-text-body><p>Panel in a sidebar.</p></ac:rich-text-body></ac:structured-macro></ac:layout-cell></ac:layout-section><ac:layout-section ac:type=\"single\"><ac:layout-cell><p>Full width.</p></ac:layout-cell></ac:layout-section></ac:layout>",
    ),
    (
        "deep lists",
        "<ul><li>one<ul><li>two<ol><li>three<ul><li>four<ol><li>five<ul><li>six</li></ul></li></ol></li></ul></li></ol></li></ul></li><li>back at one</li></ul>",
    ),
    (
        "cdata and legacy macro",
        "<ac:macro ac:name=\"code\"><ac:parameter ac:name=\"language\">sql</ac:parameter><ac:plain-text-body><![CDATA[SELECT * FROM t WHERE a < 3 && b > 2;]]></ac:plain-text-body></ac:macro><p>Legacy macro above.</p>",
    ),
    (
        "rare entities",
        "<p>&nbsp;&ndash;&mdash;&hellip;&laquo;quoted&raquo; &copy; &reg; &trade; &deg; &frac12; &euro; &#x1F680; &#169;</p><p>caf&eacute; na&iuml;ve &Ouml;sterreich</p>",
    ),
    (
        "comments and odd attributes",
        "<!-- exported by an old plugin --><p class=\"auto-cursor-target\" data-x=\"1\">x</p><div class=\"content-wrapper\"><p><span style=\"color: rgb(255,0,0);\">red</span><br /></p></div><table class=\"wrapped relative-table\"><colgroup><col style=\"width: 50%;\" /><col /></colgroup><tbody><tr><th><p>k</p></th><td><p>v</p></td></tr></tbody></table>",
    ),
];

impl Default for WorkspaceConfig {
    fn default() -> Self {
        WorkspaceConfig {
            seed: 7,
            spaces: 3,
            pages: 60,
            depth: 4,
            fanout: 6,
            blogposts_per_space: 3,
            users: 9,
            corpus: None,
            // Dated relative to the clock (the start of today, UTC, so a day's twins agree):
            // a default site's history spans about 400 days, so its latest edits fall in
            // the last weeks and most of it inside a one-year `--since`.
            base_time_ms: time::now_ms().div_euclid(MS_PER_DAY) * MS_PER_DAY
                - HISTORY_LEAD_DAYS * MS_PER_DAY,
            odd_bodies: 0.2,
            odd_corpus: None,
        }
    }
}

/// The account the default admin credential maps to (index into [`Dataset::users`]).
pub const ADMIN_USER: usize = 0;
/// A licensed user who is in no restriction and no group but `confluence-users`.
pub const GUEST_USER: usize = 1;
/// A user without Confluence access (answers 403).
pub const UNLICENSED_USER: usize = 2;

/// One page body from a corpus, with what the generator needs to know about it.
#[derive(Clone, Debug)]
pub struct CorpusPage {
    pub name: String,
    pub body: Arc<str>,
    /// File names of the attachments it references (`ri:attachment ri:filename`).
    pub filenames: Vec<String>,
    pub tasks: Vec<TaskSpec>,
}

/// Real storage bodies to serve instead of generated ones.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub pages: Vec<CorpusPage>,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read corpus folder {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("corpus folder {0} holds no .xhtml, .xml or .html files")]
    Empty(String),
}

impl Corpus {
    /// Loads every `.xhtml`, `.xml` and `.html` file of `dir` (not recursive), sorted by name.
    pub fn load(dir: &Path) -> Result<Corpus, CorpusError> {
        let io = |source| CorpusError::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "xhtml" | "xml" | "html"))
            })
            .collect();
        files.sort();
        let mut pages = Vec::new();
        for p in files {
            let body = std::fs::read_to_string(&p).map_err(io)?;
            pages.push(Corpus::page(
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                body,
            ));
        }
        if pages.is_empty() {
            return Err(CorpusError::Empty(dir.display().to_string()));
        }
        Ok(Corpus { pages })
    }

    /// One corpus page from its body: attachment names and tasks are found by the twin's own
    /// scans (never by kbridge's reader).
    pub fn page(name: String, body: String) -> CorpusPage {
        let mut filenames = Vec::new();
        let needle = "ri:filename=\"";
        let mut rest = body.as_str();
        while let Some(i) = rest.find(needle) {
            rest = &rest[i + needle.len()..];
            if let Some(end) = rest.find('"') {
                let f = unescape_attr(&rest[..end]);
                if !f.is_empty() && !filenames.contains(&f) {
                    filenames.push(f);
                }
                rest = &rest[end..];
            }
        }
        let tasks = xml::tasks(&body);
        CorpusPage {
            name,
            body: body.into(),
            filenames,
            tasks,
        }
    }
}

fn unescape_attr(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const FIRST: &[&str] = &[
    "Ada", "Bruno", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustavo", "Hana", "Ishaan", "Jonas",
    "Keiko", "Lars", "Maya", "Nikolai", "Olivia", "Pedro", "Quinn", "Ravi", "Sofia", "Tomás",
    "Uma", "Viktor", "Wen", "Yusuf", "Zoë",
];
const LAST: &[&str] = &[
    "Almeida", "Becker", "Chen", "Dubois", "Eriksson", "Fischer", "García", "Haddad", "Ivanova",
    "Jensen", "Kim", "Larsen", "Müller", "Novak", "Okafor", "Park", "Rossi", "Schmidt", "Tanaka",
    "Umarov", "Varga", "Wójcik",
];
const SPACES: &[(&str, &str)] = &[
    ("ENG", "Engineering"),
    ("PROD", "Product"),
    ("OPS", "Operations"),
    ("DOCS", "Documentation"),
    ("SEC", "Security"),
    ("DATA", "Data Platform"),
    ("HR", "People"),
    ("MOB", "Mobile"),
    ("WEB", "Web"),
    ("QA", "Quality"),
    ("SALES", "Sales"),
    ("LEGAL", "Legal"),
];
const TOPICS: &[&str] = &[
    "Onboarding",
    "Deployment",
    "Architecture",
    "Runbook",
    "Incident review",
    "API design",
    "Roadmap",
    "Release notes",
    "Meeting notes",
    "Retrospective",
    "Security policy",
    "On-call",
    "Data model",
    "Style guide",
    "FAQ",
    "Troubleshooting",
    "Glossary",
    "Benchmarks",
    "Migration plan",
    "Postmortem",
    "Capacity planning",
    "Access control",
    "Backups",
    "Observability",
    "Code review",
    "Design review",
    "Decision log",
];
const NOUNS: &[&str] = &[
    "billing service",
    "search cluster",
    "build pipeline",
    "metrics dashboard",
    "API gateway",
    "job scheduler",
    "cache layer",
    "event queue",
    "auth proxy",
    "mobile app",
    "data warehouse",
    "feature flags",
    "CDN",
    "Postgres fleet",
    "webhook relay",
    "export tool",
    "SSO integration",
    "rate limiter",
    "ingest workers",
];
const WORDS: &[&str] = &[
    "the",
    "service",
    "deploy",
    "requests",
    "latency",
    "we",
    "should",
    "review",
    "before",
    "release",
    "config",
    "owner",
    "team",
    "rollback",
    "budget",
    "error",
    "rate",
    "alert",
    "threshold",
    "migration",
    "schema",
    "index",
    "query",
    "users",
    "traffic",
    "region",
    "failover",
    "backup",
    "restore",
    "policy",
    "access",
    "token",
    "rotate",
    "weekly",
    "check",
    "cluster",
    "node",
    "disk",
    "memory",
    "capacity",
    "plan",
    "draft",
    "approved",
    "pending",
    "naïve",
    "café",
    "Zürich",
    "데이터",
    "München",
    "日本語",
    "façade",
    "coöperate",
    "résumé",
    "straße",
];
const LABELS: &[&str] = &[
    "architecture",
    "how-to",
    "meeting-notes",
    "runbook",
    "decision",
    "draft",
    "team-alpha",
    "q3-planning",
    "security",
    "onboarding",
    "faq",
    "release",
    "postmortem",
    "kb-how-to-article",
    "api",
    "design",
    "retro",
];
const LANGS: &[&str] = &[
    "rust", "python", "bash", "sql", "yaml", "json", "java", "go",
];
const COLOURS: &[&str] = &["Grey", "Red", "Yellow", "Green", "Blue", "Purple"];
const STATUS_TEXT: &[&str] = &[
    "DONE",
    "IN PROGRESS",
    "BLOCKED",
    "TODO",
    "APPROVED",
    "DRAFT",
];

// ---------------------------------------------------------------------------------------------

struct Gen<'a> {
    cfg: &'a WorkspaceConfig,
    d: Dataset,
    /// Per space, titles of its pages (for links).
    titles: Vec<Vec<String>>,
}

/// Generates the whole site.
pub fn generate(cfg: &WorkspaceConfig) -> Dataset {
    let mut g = Gen {
        cfg,
        d: Dataset {
            seed: cfg.seed,
            ..Dataset::default()
        },
        titles: Vec::new(),
    };
    let mut ids = Rng::stream(cfg.seed, 1);
    // Real ids are large and sparse; start somewhere seed-dependent.
    g.d.next_content_id = 1_000_000 + ids.below(8_000_000) * 16;
    g.d.next_aux_id = 10_000 + ids.below(90_000);
    g.users();
    g.groups();
    g.spaces();
    g.trees();
    g.bodies();
    g.blogposts();
    g.custom_contents();
    g.d
}

/// The app content types the generator creates custom content of.
pub const CUSTOM_CONTENT_TYPES: &[&str] =
    &["ac:com.example.app:diagram", "ac:com.example.app:checklist"];

impl Gen<'_> {
    fn rng(&self, purpose: u64, n: u64) -> Rng {
        Rng::stream(self.cfg.seed, purpose << 40 | n)
    }

    fn t(&self, days: f64) -> i64 {
        self.cfg.base_time_ms + (days * MS_PER_DAY as f64) as i64
    }

    fn users(&mut self) {
        let mut r = self.rng(2, 0);
        let fixed = [
            ("Kim Admin", "admin@example.com"),
            ("Guest Reader", "guest@example.com"),
            ("Una Licensed", "unlicensed@example.com"),
        ];
        for (name, email) in fixed {
            let account_id = format!("712020:{}", r.uuid());
            self.d.users.push(User {
                account_id,
                display_name: name.into(),
                email: email.into(),
            });
        }
        let mut seen = HashSet::new();
        for i in 0..self.cfg.users {
            let mut name = format!("{} {}", r.pick(FIRST), r.pick(LAST));
            if !seen.insert(name.clone()) {
                name = format!("{name} {}", i + 2);
            }
            // Old-style (24 hex) and new-style (712020:uuid) account ids both occur on Cloud.
            let account_id = if r.chance(0.3) {
                format!("{:016x}{:08x}", r.next_u64(), r.next_u64() as u32)
            } else {
                format!("712020:{}", r.uuid())
            };
            let email = format!("{}@example.com", ascii_slug(&name, '.'));
            self.d.users.push(User {
                account_id,
                display_name: name,
                email,
            });
        }
    }

    fn groups(&mut self) {
        let mut r = self.rng(3, 0);
        let users: Vec<String> = self.d.users.iter().map(|u| u.account_id.clone()).collect();
        let licensed: Vec<String> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != UNLICENSED_USER)
            .map(|(_, a)| a.clone())
            .collect();
        let others: Vec<String> = users.iter().skip(3).cloned().collect();
        let mut groups = vec![
            Group {
                id: r.uuid(),
                name: "confluence-users".into(),
                members: licensed,
            },
            Group {
                id: r.uuid(),
                name: "site-admins".into(),
                members: vec![users[ADMIN_USER].clone()],
            },
        ];
        for name in ["engineering", "product", "support"] {
            let mut members: Vec<String> =
                others.iter().filter(|_| r.chance(0.4)).cloned().collect();
            members.insert(0, users[ADMIN_USER].clone());
            groups.push(Group {
                id: r.uuid(),
                name: name.into(),
                members,
            });
        }
        self.d.groups = groups;
    }

    fn spaces(&mut self) {
        let mut r = self.rng(4, 0);
        let n = self.cfg.spaces.max(1);
        let mut next_space_id = 100_000 + r.below(900_000) * 4;
        for i in 0..n {
            let (k, name) = SPACES[i % SPACES.len()];
            let (key, name) = if i < SPACES.len() {
                (k.to_string(), name.to_string())
            } else {
                (
                    format!("{k}{}", i / SPACES.len() + 1),
                    format!("{name} {}", i / SPACES.len() + 1),
                )
            };
            let id = next_space_id;
            next_space_id += 1 + r.below(50);
            let created_at = self.t(r.unit() * 20.0);
            let author_id = self.d.users[ADMIN_USER].account_id.clone();
            let mut labels = Vec::new();
            for _ in 0..r.below(3) {
                let l = self.d.intern_label("global", r.word(LABELS));
                if !labels.contains(&l) {
                    labels.push(l);
                }
            }
            let pid = self.d.alloc_aux_id();
            let properties = vec![Property {
                id: pid,
                key: "kbridge.space-meta".into(),
                value: serde_json::json!({"tier": r.range(1, 3), "owner": author_id}),
                version: PropertyVersion {
                    number: 1,
                    message: String::new(),
                    minor_edit: false,
                    author_id: author_id.clone(),
                    created_at,
                },
            }];
            let mut permissions = Vec::new();
            let users_group = self.d.groups[0].id.clone();
            let admins_group = self.d.groups[1].id.clone();
            for (op, target) in [
                ("read", "space"),
                ("create", "page"),
                ("create", "blogpost"),
                ("create", "comment"),
                ("create", "attachment"),
                ("delete", "comment"),
            ] {
                permissions.push(SpacePermission {
                    id: self.d.alloc_aux_id(),
                    principal_type: "group".into(),
                    principal_id: users_group.clone(),
                    operation: op.into(),
                    target_type: target.into(),
                });
            }
            for (ptype, pid, op, target) in [
                ("group", admins_group.clone(), "administer", "space"),
                ("user", author_id.clone(), "administer", "space"),
                ("user", author_id.clone(), "delete", "page"),
                ("user", author_id.clone(), "restrict_content", "space"),
            ] {
                permissions.push(SpacePermission {
                    id: self.d.alloc_aux_id(),
                    principal_type: ptype.into(),
                    principal_id: pid,
                    operation: op.into(),
                    target_type: target.into(),
                });
            }
            self.d.spaces.push(Space {
                id,
                key,
                description: format!("Everything the {name} team writes down."),
                name,
                kind: "global".into(),
                status: Status::Current,
                author_id,
                created_at,
                homepage_id: None,
                labels,
                properties,
                permissions,
            });
        }
    }

    fn random_user(&self, r: &mut Rng) -> String {
        // Anyone but the guest and the unlicensed account writes content.
        let n = self.d.users.len();
        let mut i = r.below(n as u64) as usize;
        if i == GUEST_USER || i == UNLICENSED_USER {
            i = ADMIN_USER;
        }
        self.d.users[i].account_id.clone()
    }

    /// Page trees: for each space a homepage, then pages under random open parents.
    fn trees(&mut self) {
        let n_spaces = self.d.spaces.len();
        let total = self.cfg.pages.max(n_spaces);
        for si in 0..n_spaces {
            let mut r = self.rng(5, si as u64);
            let count = total / n_spaces + usize::from(si < total % n_spaces);
            let space_id = self.d.spaces[si].id;
            let space_created = self.d.spaces[si].created_at;
            let mut titles = HashSet::new();
            let mut title_list = Vec::new();
            // (id, depth, children, created_at)
            let mut nodes: Vec<(u64, usize, usize, i64)> = Vec::new();
            let mut open: Vec<usize> = Vec::new();
            let home_title = format!("{} Home", self.d.spaces[si].name);
            let home = self.new_content(
                ContentKind::Page,
                space_id,
                None,
                0,
                home_title.clone(),
                space_created + 60_000,
                &mut r,
            );
            titles.insert(home_title.clone());
            title_list.push(home_title);
            self.d.spaces[si].homepage_id = Some(home);
            nodes.push((home, 0, 0, space_created + 60_000));
            if self.cfg.depth > 0 {
                open.push(0);
            }
            // A folder under the homepage in spaces big enough to have one.
            if count >= 8 {
                let created = space_created + 120_000;
                let title = "Team archive".to_string();
                let f = self.new_content(
                    ContentKind::Folder,
                    space_id,
                    Some(home),
                    0,
                    title.clone(),
                    created,
                    &mut r,
                );
                titles.insert(title);
                nodes[0].2 += 1;
                nodes.push((f, 1, 0, created));
                if self.cfg.depth > 1 {
                    open.push(nodes.len() - 1);
                }
            }
            let mut root_pos = 1;
            for k in 1..count {
                let title = unique_title(&mut r, &mut titles, k);
                title_list.push(title.clone());
                let root_level = r.chance(0.03);
                let (parent, depth, position, parent_created) =
                    if root_level || open.is_empty() && self.cfg.depth == 0 {
                        root_pos += 1;
                        (None, 0, root_pos - 1, space_created)
                    } else {
                        let slot = if open.is_empty() {
                            None
                        } else {
                            Some(r.below(open.len() as u64) as usize)
                        };
                        let ni = slot.map(|s| open[s]).unwrap_or(0);
                        let (pid, pdepth, pchildren, pcreated) = nodes[ni];
                        nodes[ni].2 += 1;
                        if let Some(s) = slot
                            && nodes[ni].2 >= self.cfg.fanout.max(1)
                        {
                            open.swap_remove(s);
                        }
                        (Some(pid), pdepth + 1, pchildren as i32, pcreated)
                    };
                let created = parent_created.max(self.t(r.unit() * 300.0))
                    + r.range(3_600_000, 30 * MS_PER_DAY as u64) as i64;
                let id = self.new_content(
                    ContentKind::Page,
                    space_id,
                    parent,
                    position,
                    title,
                    created,
                    &mut r,
                );
                nodes.push((id, depth, 0, created));
                if depth < self.cfg.depth && self.cfg.fanout > 0 {
                    open.push(nodes.len() - 1);
                }
            }
            // A few leaves are archived or trashed.
            for &(id, depth, children, _) in &nodes {
                if depth == 0 || children > 0 || self.d.contents[&id].kind != ContentKind::Page {
                    continue;
                }
                let x = r.unit();
                let c = self.d.contents.get_mut(&id).expect("generated");
                if x < 0.02 {
                    c.status = Status::Archived;
                } else if x < 0.03 {
                    c.status = Status::Trashed;
                }
            }
            self.titles.push(title_list);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_content(
        &mut self,
        kind: ContentKind,
        space_id: u64,
        parent: Option<u64>,
        position: i32,
        title: String,
        created_at: i64,
        r: &mut Rng,
    ) -> u64 {
        let id = self.d.alloc_content_id();
        self.d.next_content_id += r.below(40);
        let author = self.random_user(r);
        self.d.contents.insert(
            id,
            Content {
                id,
                kind,
                status: Status::Current,
                title: title.clone(),
                space_id,
                parent_id: parent,
                position,
                author_id: author.clone(),
                owner_id: author.clone(),
                created_at,
                versions: vec![Version {
                    number: 1,
                    message: String::new(),
                    minor_edit: false,
                    author_id: author,
                    created_at,
                    title,
                    body: Body::new(""),
                }],
                labels: Vec::new(),
                properties: Vec::new(),
                restrictions: Restrictions::default(),
                modified_at: 0,
            },
        );
        id
    }

    /// Attachments, bodies, versions, labels, properties, restrictions, comments and tasks of
    /// every page.
    fn bodies(&mut self) {
        let ids: Vec<u64> = self.d.contents.keys().copied().collect();
        for id in ids {
            if self.d.contents[&id].kind == ContentKind::Page {
                self.fill(id);
            }
        }
    }

    fn space_index(&self, space_id: u64) -> usize {
        self.d
            .spaces
            .iter()
            .position(|s| s.id == space_id)
            .unwrap_or(0)
    }

    fn fill(&mut self, id: u64) {
        let mut r = self.rng(6, id);
        let (space_id, created, title) = {
            let c = &self.d.contents[&id];
            (c.space_id, c.created_at, c.title.clone())
        };
        let si = self.space_index(space_id);
        let author = self.d.contents[&id].author_id.clone();

        // Attachments first: the body shows some of them.
        let corpus_page = self
            .cfg
            .corpus
            .as_ref()
            .map(|c| c.pages[r.below(c.pages.len() as u64) as usize].clone())
            .or_else(|| self.odd_page(id));
        let names: Vec<(String, &'static str)> = match &corpus_page {
            Some(p) => p
                .filenames
                .iter()
                .map(|f| (f.clone(), media_type_of(f)))
                .collect(),
            None => (0..r.below(4))
                .map(|i| {
                    let (stem, ext, mt) = *r.pick(&[
                        ("diagram", "png", "image/png"),
                        ("screenshot", "png", "image/png"),
                        ("notes", "txt", "text/plain"),
                        ("spec", "pdf", "application/pdf"),
                        ("export", "csv", "text/csv"),
                        ("photo", "jpg", "image/jpeg"),
                        (
                            "minutes",
                            "docx",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        ),
                    ]);
                    (format!("{stem}-{}.{ext}", i + 1), mt)
                })
                .collect(),
        };
        let mut images = Vec::new();
        for (name, mt) in names {
            if mt.starts_with("image/") {
                images.push(name.clone());
            }
            let at = created + r.range(60_000, 3 * MS_PER_DAY as u64) as i64;
            self.new_attachment(id, &name, mt, at, &author, &mut r);
        }

        // The body.
        let (doc_blocks, markers, body_tasks, full_body) = match &corpus_page {
            Some(p) => (None, Vec::new(), p.tasks.clone(), p.body.clone()),
            None => {
                let mut ctx = DocCtx::new(self.cfg.seed, id);
                let n = 3 + r.below(6) as usize;
                let doc = self.document(&mut r, si, &title, &images, &mut ctx, n);
                let body: Arc<str> = doc.concat().into();
                let tasks = xml::tasks(&body);
                (Some(doc), ctx.markers, tasks, body)
            }
        };

        // History: older versions hold a prefix of the final document.
        let n_versions = 1 + r.below(if self.d.contents[&id].parent_id.is_none() {
            6
        } else {
            4
        }) as u32;
        let mut versions = Vec::new();
        let mut at = created;
        let old_title = if r.chance(0.1) {
            format!("{title} (draft)")
        } else {
            title.clone()
        };
        for n in 1..=n_versions {
            let body = if n == n_versions {
                Body(full_body.clone())
            } else {
                match &doc_blocks {
                    Some(doc) => {
                        let keep = (doc.len() * n as usize)
                            .div_ceil(n_versions as usize)
                            .max(1);
                        Body::new(doc[..keep].concat())
                    }
                    None => Body(full_body.clone()),
                }
            };
            let editor = if n == 1 {
                author.clone()
            } else {
                self.random_user(&mut r)
            };
            versions.push(Version {
                number: n,
                message: if n > 1 && r.chance(0.4) {
                    r.pick(&[
                        "Fixed typos",
                        "Updated after review",
                        "Added examples",
                        "Clarified steps",
                    ])
                    .to_string()
                } else {
                    String::new()
                },
                minor_edit: n > 1 && r.chance(0.2),
                author_id: editor,
                created_at: at,
                title: if n == n_versions {
                    title.clone()
                } else {
                    old_title.clone()
                },
                body,
            });
            at += r.range(600_000, 20 * MS_PER_DAY as u64) as i64;
        }
        let last_modified = versions.last().map(|v| v.created_at).unwrap_or(created);

        // Labels, properties, restrictions.
        let mut labels = Vec::new();
        for _ in 0..r.below(4) {
            let prefix = if r.chance(0.05) { "team" } else { "global" };
            let l = self.d.intern_label(prefix, r.word(LABELS));
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        let mut properties = Vec::new();
        if r.chance(0.3) {
            let v = r
                .pick(&["full-width", "fixed-width", "default"])
                .to_string();
            properties.push(self.property(
                "content-appearance-published",
                serde_json::json!(v),
                created,
                &author,
            ));
        }
        if r.chance(0.2) {
            properties.push(self.property("editor", serde_json::json!("v2"), created, &author));
        }
        if r.chance(0.1) {
            let v = serde_json::json!({"score": r.below(100), "reviewed": r.chance(0.5), "tags": ["a", "b"]});
            properties.push(self.property("kbridge.sample", v, created, &author));
        }
        let mut restrictions = Restrictions::default();
        if r.chance(0.05) {
            restrictions.read.users = vec![
                self.d.users[ADMIN_USER].account_id.clone(),
                self.random_user(&mut r),
            ];
            restrictions.read.users.dedup();
            restrictions.read.groups = vec![self.d.groups[2].id.clone()];
        }
        if r.chance(0.05) {
            restrictions.update.users = vec![self.d.users[ADMIN_USER].account_id.clone()];
            restrictions.update.groups = vec![self.d.groups[1].id.clone()];
        }
        {
            let c = self.d.contents.get_mut(&id).expect("generated");
            c.versions = versions;
            c.labels = labels;
            c.properties = properties;
            c.restrictions = restrictions;
        }

        // Tasks from the final body.
        for t in body_tasks {
            self.new_task(id, space_id, &t, created, last_modified, &mut r);
        }
        // Comments.
        self.comments(id, created, &markers, &mut r);
    }

    fn property(&mut self, key: &str, value: serde_json::Value, at: i64, author: &str) -> Property {
        Property {
            id: self.d.alloc_aux_id(),
            key: key.into(),
            value,
            version: PropertyVersion {
                number: 1,
                message: String::new(),
                minor_edit: false,
                author_id: author.into(),
                created_at: at,
            },
        }
    }

    /// One of [`ODD_BODIES`] for page `id`, for a `cfg.odd_bodies` fraction of pages. Drawn
    /// from its own stream, so the rest of the workspace is the same with or without them.
    fn odd_page(&self, id: u64) -> Option<CorpusPage> {
        let mut r = Rng::stream(self.cfg.seed, 0x0dd0_0000 ^ id);
        if !(self.cfg.odd_bodies > 0.0 && r.chance(self.cfg.odd_bodies)) {
            return None;
        }
        let extra = self.cfg.odd_corpus.as_ref().map_or(0, |c| c.pages.len());
        let k = r.below((ODD_BODIES.len() + extra) as u64) as usize;
        match ODD_BODIES.get(k) {
            Some((name, body)) => Some(CorpusPage {
                name: name.to_string(),
                body: (*body).into(),
                filenames: Vec::new(),
                tasks: Vec::new(),
            }),
            None => self
                .cfg
                .odd_corpus
                .as_ref()
                .and_then(|c| c.pages.get(k - ODD_BODIES.len()).cloned()),
        }
    }

    fn new_attachment(
        &mut self,
        container: u64,
        name: &str,
        media_type: &str,
        at: i64,
        author: &str,
        r: &mut Rng,
    ) {
        let id = self.d.alloc_content_id();
        let n_versions = if r.chance(0.2) { 2 } else { 1 };
        let mut versions = Vec::new();
        for n in 1..=n_versions {
            versions.push(AttachmentVersion {
                number: n,
                created_at: at + (n as i64 - 1) * 3_600_000,
                author_id: author.into(),
                message: String::new(),
                minor_edit: false,
                bytes: Bytes(file_bytes(media_type, r).into()),
            });
        }
        // Some attachments carry a label (their own stream, so the rest of the site stays
        // what it was for a given seed).
        let mut lr = self.rng(31, id);
        let mut labels = Vec::new();
        if lr.chance(0.15) {
            labels.push(self.d.intern_label(
                "global",
                lr.word(&["diagram", "screenshot", "export", "signed", "draft"]),
            ));
        }
        self.d.attachments.insert(
            id,
            Attachment {
                id,
                container_id: container,
                title: name.into(),
                media_type: media_type.into(),
                file_id: r.uuid(),
                comment: if r.chance(0.3) {
                    "Uploaded from the desktop app".into()
                } else {
                    String::new()
                },
                status: Status::Current,
                created_at: at,
                author_id: author.into(),
                versions,
                labels,
            },
        );
    }

    fn new_task(
        &mut self,
        content: u64,
        space: u64,
        t: &TaskSpec,
        created: i64,
        modified: i64,
        r: &mut Rng,
    ) {
        let id = self.d.alloc_aux_id();
        let created_by = self.random_user(r);
        let completed_by = t.done.then(|| self.random_user(r));
        self.d.tasks.insert(
            id,
            Task {
                id,
                local_id: t.local_id.clone(),
                content_id: content,
                space_id: space,
                status: if t.done { "complete" } else { "incomplete" }.into(),
                body: t.body.clone(),
                created_by,
                assigned_to: t.assignee.clone(),
                completed_by,
                created_at: created,
                updated_at: modified,
                due_at: t.due,
                completed_at: t.done.then_some(modified),
            },
        );
    }

    fn comments(
        &mut self,
        container: u64,
        created: i64,
        markers: &[(String, String)],
        r: &mut Rng,
    ) {
        let mut at = created + 3_600_000;
        for _ in 0..r.below(4) {
            at += r.range(60_000, 5 * MS_PER_DAY as u64) as i64;
            let top = self.new_comment(CommentKind::Footer, container, None, at, r);
            for _ in 0..r.below(3) {
                at += r.range(60_000, MS_PER_DAY as u64) as i64;
                self.new_comment(CommentKind::Footer, container, Some(top), at, r);
            }
        }
        for (marker, selection) in markers {
            at += r.range(60_000, 2 * MS_PER_DAY as u64) as i64;
            let c = self.new_comment(CommentKind::Inline, container, None, at, r);
            {
                let cm = self.d.comments.get_mut(&c).expect("generated");
                cm.marker_ref = Some(marker.clone());
                cm.original_selection = Some(selection.clone());
                cm.resolution_status = Some(if r.chance(0.3) { "resolved" } else { "open" }.into());
            }
            if r.chance(0.5) {
                at += r.range(60_000, MS_PER_DAY as u64) as i64;
                let reply = self.new_comment(CommentKind::Inline, container, Some(c), at, r);
                self.d
                    .comments
                    .get_mut(&reply)
                    .expect("generated")
                    .resolution_status = Some("open".into());
            }
        }
    }

    fn new_comment(
        &mut self,
        kind: CommentKind,
        container: u64,
        parent: Option<u64>,
        at: i64,
        r: &mut Rng,
    ) -> u64 {
        let id = self.d.alloc_content_id();
        let author = self.random_user(r);
        let mut inls = {
            let n = 6 + r.below(10) as usize;
            xml::esc(&sentence(r, n))
        };
        if r.chance(0.2) {
            let who =
                xml::mention(&self.d.users[r.below(self.d.users.len() as u64) as usize].account_id);
            inls = format!("{who} {inls}");
        }
        let body = xml::p(&inls);
        self.d.comments.insert(
            id,
            Comment {
                id,
                kind,
                container_id: container,
                parent_comment_id: parent,
                status: Status::Current,
                author_id: author.clone(),
                created_at: at,
                versions: vec![Version {
                    number: 1,
                    message: String::new(),
                    minor_edit: false,
                    author_id: author,
                    created_at: at,
                    title: String::new(),
                    body: Body::new(body),
                }],
                resolution_status: None,
                marker_ref: None,
                original_selection: None,
            },
        );
        id
    }

    fn blogposts(&mut self) {
        let space_ids: Vec<u64> = self.d.spaces.iter().map(|s| s.id).collect();
        for (si, space_id) in space_ids.into_iter().enumerate() {
            let mut r = self.rng(7, si as u64);
            for k in 0..self.cfg.blogposts_per_space {
                let title = match r.below(3) {
                    0 => format!("Weekly update {}", k + 1),
                    1 => format!("Release {}.{} is out", 1 + k / 4, k % 4),
                    _ => format!("{} retrospective #{}", r.pick(NOUNS), k + 1),
                };
                let created = self.t(30.0 + r.unit() * 500.0);
                let id = self.new_content(
                    ContentKind::Blogpost,
                    space_id,
                    None,
                    0,
                    title.clone(),
                    created,
                    &mut r,
                );
                let author = self.d.contents[&id].author_id.clone();
                let mut images = Vec::new();
                if r.chance(0.5) {
                    let name = format!("banner-{}.png", k + 1);
                    self.new_attachment(id, &name, "image/png", created + 60_000, &author, &mut r);
                    images.push(name);
                }
                let mut ctx = DocCtx::new(self.cfg.seed, id);
                let n = 2 + r.below(3) as usize;
                let doc = self.document(&mut r, si, &title, &images, &mut ctx, n);
                let body = Body::new(doc.concat());
                let tasks = xml::tasks(body.as_str());
                if r.chance(0.3) {
                    let p = self.property(
                        "content-appearance-published",
                        serde_json::json!("full-width"),
                        created,
                        &author,
                    );
                    self.d
                        .contents
                        .get_mut(&id)
                        .expect("generated")
                        .properties
                        .push(p);
                }
                let mut labels = Vec::new();
                if r.chance(0.5) {
                    labels.push(
                        self.d
                            .intern_label("global", r.word(&["release", "announcement", "weekly"])),
                    );
                }
                {
                    let c = self.d.contents.get_mut(&id).expect("generated");
                    c.versions[0].body = body.clone();
                    if r.chance(0.4) {
                        c.versions.push(Version {
                            number: 2,
                            message: "Fixed a link".into(),
                            minor_edit: true,
                            author_id: author,
                            created_at: created + r.range(600_000, 2 * MS_PER_DAY as u64) as i64,
                            title: title.clone(),
                            body,
                        });
                    }
                    c.labels = labels;
                }
                for t in tasks {
                    self.new_task(
                        id,
                        space_id,
                        &t,
                        created,
                        self.d.contents[&id].last_modified(),
                        &mut r,
                    );
                }
                self.comments(id, created, &ctx.markers, &mut r);
            }
        }
    }

    /// Custom content of two app types per space: some at space level, most under pages,
    /// some under blog posts or other custom content; 1-3 versions, labels, a property.
    /// Generated last, from its own streams, so the rest of the site does not change with it.
    fn custom_contents(&mut self) {
        let space_ids: Vec<u64> = self.d.spaces.iter().map(|s| s.id).collect();
        for (si, space_id) in space_ids.into_iter().enumerate() {
            let mut r = self.rng(11, si as u64);
            let pages: Vec<u64> = self
                .d
                .contents
                .values()
                .filter(|c| {
                    c.space_id == space_id
                        && c.kind == ContentKind::Page
                        && c.status == Status::Current
                })
                .map(|c| c.id)
                .collect();
            let blogs: Vec<u64> = self
                .d
                .contents
                .values()
                .filter(|c| c.space_id == space_id && c.kind == ContentKind::Blogpost)
                .map(|c| c.id)
                .collect();
            let n = (3 + pages.len() / 25).min(40);
            let mut mine: Vec<u64> = Vec::new();
            for k in 0..n {
                let kind = CUSTOM_CONTENT_TYPES[k % CUSTOM_CONTENT_TYPES.len()];
                let x = r.unit();
                let container = if x < 0.2 || pages.is_empty() {
                    None
                } else if x < 0.3 && !blogs.is_empty() {
                    Some(*r.pick(&blogs))
                } else if x < 0.4 && !mine.is_empty() {
                    Some(*r.pick(&mine))
                } else {
                    Some(*r.pick(&pages))
                };
                let noun = r.pick(NOUNS).to_string();
                let title = if kind.ends_with("diagram") {
                    format!("{} diagram {}", capitalise(&noun), k + 1)
                } else {
                    format!("{} checklist {}", capitalise(&noun), k + 1)
                };
                let created = self.t(60.0 + r.unit() * 500.0);
                let author = self.random_user(&mut r);
                let id = self.d.alloc_content_id();
                self.d.next_content_id += r.below(20);
                let nv = 1 + r.below(3) as u32;
                let mut versions = Vec::new();
                let mut at = created;
                for v in 1..=nv {
                    let items = (0..(1 + v as usize))
                        .map(|i| format!("<li>{} {}</li>", r.pick(NOUNS), i + 1))
                        .collect::<String>();
                    let body = if kind.ends_with("diagram") {
                        format!(
                            "<p>{title}: {} boxes, {} arrows</p><ul>{items}</ul>",
                            2 + v,
                            1 + v
                        )
                    } else {
                        format!("<p>{title}</p><ul>{items}</ul>")
                    };
                    versions.push(Version {
                        number: v,
                        message: if v == 1 {
                            String::new()
                        } else {
                            "Updated by the app".into()
                        },
                        minor_edit: false,
                        author_id: if v == 1 {
                            author.clone()
                        } else {
                            self.random_user(&mut r)
                        },
                        created_at: at,
                        title: title.clone(),
                        body: Body::new(body),
                    });
                    at += r.range(3_600_000, 20 * MS_PER_DAY as u64) as i64;
                }
                let mut labels = Vec::new();
                if r.chance(0.5) {
                    labels.push(
                        self.d
                            .intern_label("global", r.word(&["diagram", "app", "architecture"])),
                    );
                }
                let mut properties = Vec::new();
                if r.chance(0.5) {
                    properties.push(self.property(
                        "app-state",
                        serde_json::json!({"schema": 1 + r.below(3), "locked": r.chance(0.3)}),
                        created,
                        &author,
                    ));
                }
                self.d.custom_contents.insert(
                    id,
                    CustomContent {
                        id,
                        kind: kind.to_string(),
                        status: Status::Current,
                        title,
                        space_id,
                        container_id: container,
                        author_id: author,
                        created_at: created,
                        versions,
                        labels,
                        properties,
                    },
                );
                mine.push(id);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Documents: storage written here, block by block, in the shapes Confluence's editors
    // save (never by kbridge's writer).

    fn document(
        &self,
        r: &mut Rng,
        si: usize,
        title: &str,
        images: &[String],
        ctx: &mut DocCtx,
        n: usize,
    ) -> Vec<String> {
        let mut blocks = Vec::new();
        if r.chance(0.15) {
            let id = ctx.macro_id();
            blocks.push(xml::p(&xml::structured_macro(
                "toc",
                &id,
                &[("maxLevel", "3")],
                xml::Body::None,
            )));
        }
        blocks.push(xml::p(&self.rich(r, si, title, ctx)));
        let mut images = images.iter();
        let mut had_tasks = false;
        for _ in 0..n {
            match r.below(12) {
                0 | 1 => {
                    blocks.push(xml::heading(
                        2,
                        &xml::esc(&format!("{} {}", r.pick(TOPICS), r.pick(NOUNS))),
                    ));
                    blocks.push(xml::p(&self.rich(r, si, title, ctx)));
                }
                2 => blocks.push(self.list(r, si, title, ctx)),
                3 => blocks.push(self.table(r, ctx)),
                4 => {
                    let language = r.word(LANGS);
                    let text = code_sample(r, language);
                    let id = ctx.macro_id();
                    blocks.push(xml::structured_macro(
                        "code",
                        &id,
                        &[("language", language)],
                        xml::Body::Plain(&text),
                    ));
                }
                5 => {
                    let kind = *r.pick(&["info", "note", "warning", "tip"]);
                    let inner = xml::p(&self.rich(r, si, title, ctx));
                    let id = ctx.macro_id();
                    blocks.push(xml::structured_macro(
                        kind,
                        &id,
                        &[],
                        xml::Body::Rich(&inner),
                    ));
                }
                6 if !had_tasks => {
                    had_tasks = true;
                    blocks.push(self.tasks(r, ctx));
                }
                7 => match images.next() {
                    Some(f) => blocks.push(xml::image(f, Some(f), Some("250"))),
                    None => blocks.push(xml::p(&self.rich(r, si, title, ctx))),
                },
                8 => blocks.push("<hr />".into()),
                _ => blocks.push(xml::p(&self.rich(r, si, title, ctx))),
            }
        }
        // Images not placed yet still appear at the end, as on real pages.
        for f in images {
            blocks.push(xml::image(f, None, None));
        }
        blocks
    }

    /// A paragraph's worth of inline storage with marks, links, mentions and lozenges.
    fn rich(&self, r: &mut Rng, si: usize, own_title: &str, ctx: &mut DocCtx) -> String {
        let mut out = String::new();
        for s in 0..1 + r.below(3) {
            if s > 0 {
                out.push(' ');
            }
            let n = 5 + r.below(12) as usize;
            out.push_str(&xml::esc(&sentence(r, n)));
            let x = r.unit();
            if x < 0.25 {
                if let Some((t, key)) = self.other_title(r, si, own_title) {
                    out.push_str(" (see ");
                    out.push_str(&xml::page_link(&t, key.as_deref()));
                    out.push(')');
                }
            } else if x < 0.38 {
                out.push_str(", owner ");
                let u = &self.d.users[r.below(self.d.users.len() as u64) as usize];
                out.push_str(&xml::mention(&u.account_id));
            } else if x < 0.46 {
                out.push(' ');
                let text = r.pick(STATUS_TEXT).to_string();
                let colour = r.pick(COLOURS).to_string();
                out.push_str(&xml::status(&ctx.macro_id(), &text, &colour));
            } else if x < 0.52 {
                out.push_str(" by ");
                out.push_str(&xml::date(&day_string(self.t(r.unit() * 700.0))));
            } else if x < 0.6 {
                out.push(' ');
                let tag = *r.pick(&["strong", "em", "code"]);
                out.push_str(&xml::el(tag, &xml::esc(r.word(WORDS))));
            } else if x < 0.66 {
                out.push_str(" — ");
                out.push_str(&xml::a(
                    &format!("https://example.com/docs/{}", r.pick(WORDS)),
                    "reference",
                ));
            } else if x < 0.72 && ctx.markers.len() < 2 {
                let sel = format!("{} {}", r.pick(WORDS), r.pick(WORDS));
                let id = Rng::stream(r.next_u64(), 0).uuid();
                out.push(' ');
                out.push_str(&xml::marker(&id, &xml::esc(&sel)));
                ctx.markers.push((id, sel));
            }
            out.push('.');
        }
        out
    }

    /// Another page's title, with its space key when it is in another space.
    fn other_title(&self, r: &mut Rng, si: usize, own: &str) -> Option<(String, Option<String>)> {
        let (space, cross) = if r.chance(0.1) && self.titles.len() > 1 {
            let o = (si + 1 + r.below(self.titles.len() as u64 - 1) as usize) % self.titles.len();
            (o, true)
        } else {
            (si, false)
        };
        let list = self.titles.get(space)?;
        let t = r.pick(list);
        if t == own {
            return None;
        }
        Some((t.clone(), cross.then(|| self.d.spaces[space].key.clone())))
    }

    fn list(&self, r: &mut Rng, si: usize, title: &str, ctx: &mut DocCtx) -> String {
        let tag = if r.chance(0.4) { "ol" } else { "ul" };
        let mut items = String::new();
        for _ in 0..2 + r.below(4) {
            let content = if r.chance(0.3) {
                self.rich(r, si, title, ctx)
            } else {
                let n = 3 + r.below(8) as usize;
                xml::esc(&sentence(r, n))
            };
            // The new editor wraps list text in paragraphs, the old one did not.
            if ctx.paragraphs_in_lists {
                items.push_str(&xml::el("li", &xml::p(&content)));
            } else {
                items.push_str(&xml::el("li", &content));
            }
        }
        xml::el(tag, &items)
    }

    fn table(&self, r: &mut Rng, ctx: &mut DocCtx) -> String {
        let cols = 2 + r.below(3) as usize;
        let rows = 2 + r.below(5) as usize;
        let mut o = String::from("<tbody><tr>");
        for _ in 0..cols {
            o.push_str(&xml::el(
                "th",
                &xml::p(&xml::esc(&capitalise(r.word(WORDS)))),
            ));
        }
        o.push_str("</tr>");
        for _ in 0..rows {
            o.push_str("<tr>");
            for c in 0..cols {
                let content = if c == 0 {
                    xml::esc(r.word(NOUNS))
                } else if r.chance(0.2) {
                    let text = r.pick(STATUS_TEXT).to_string();
                    let colour = r.pick(COLOURS).to_string();
                    xml::status(&ctx.macro_id(), &text, &colour)
                } else {
                    format!("{}", r.below(1000))
                };
                o.push_str(&xml::el("td", &xml::p(&content)));
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody>");
        format!("<table data-table-width=\"760\" data-layout=\"default\">{o}</table>")
    }

    fn tasks(&self, r: &mut Rng, ctx: &mut DocCtx) -> String {
        let items: Vec<(String, bool, String)> = (0..1 + r.below(4))
            .map(|_| {
                ctx.task_seq += 1;
                let n = 3 + r.below(6) as usize;
                let mut content = xml::esc(&sentence(r, n));
                if r.chance(0.5) {
                    content.push(' ');
                    let u = &self.d.users[r.below(self.d.users.len() as u64) as usize];
                    content.push_str(&xml::mention(&u.account_id));
                }
                if r.chance(0.3) {
                    content.push(' ');
                    content.push_str(&xml::date(&day_string(self.t(100.0 + r.unit() * 600.0))));
                }
                (ctx.task_seq.to_string(), r.chance(0.4), content)
            })
            .collect();
        xml::task_list(&items)
    }
}

struct DocCtx {
    /// Inline-comment markers placed in the body: (ref, selected text).
    markers: Vec<(String, String)>,
    task_seq: u32,
    /// Seed of the macro ids (`ac:macro-id`), drawn apart from the content stream.
    macro_seed: u64,
    macro_seq: u64,
    /// `<li><p>…</p></li>` (new editor) or `<li>…</li>` (old editor).
    paragraphs_in_lists: bool,
}

impl DocCtx {
    fn new(seed: u64, id: u64) -> DocCtx {
        let macro_seed = Rng::stream(seed, 0x3ac0_0000 ^ id).next_u64();
        DocCtx {
            markers: Vec::new(),
            task_seq: 0,
            macro_seed,
            macro_seq: 0,
            paragraphs_in_lists: macro_seed.is_multiple_of(2),
        }
    }

    fn macro_id(&mut self) -> String {
        self.macro_seq += 1;
        Rng::stream(self.macro_seed, self.macro_seq).uuid()
    }
}

fn unique_title(r: &mut Rng, seen: &mut HashSet<String>, k: usize) -> String {
    let base = match r.below(4) {
        0 => format!("{}: {}", r.pick(TOPICS), r.pick(NOUNS)),
        1 => format!("{} for the {}", r.pick(TOPICS), r.pick(NOUNS)),
        2 => format!(
            "{} {}",
            capitalise(r.word(NOUNS)),
            r.pick(TOPICS).to_lowercase()
        ),
        _ => format!("{} {}", r.pick(TOPICS), 2020 + r.below(6)),
    };
    if seen.insert(base.clone()) {
        return base;
    }
    let t = format!("{base} ({k})");
    seen.insert(t.clone());
    t
}

fn sentence(r: &mut Rng, n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let w = r.pick(WORDS);
        if i == 0 {
            s.push_str(&capitalise(w));
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn day_string(ms: i64) -> String {
    let p = time::parts(ms);
    format!("{:04}-{:02}-{:02}", p.year, p.month, p.day)
}

fn ascii_slug(s: &str, sep: char) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = match c {
            'é' | 'è' | 'ë' => 'e',
            'á' | 'à' | 'ä' => 'a',
            'ó' | 'ö' => 'o',
            'ü' | 'ú' => 'u',
            'í' => 'i',
            'ł' => 'l',
            'ć' => 'c',
            other => other,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with(sep) && !out.is_empty() {
            out.push(sep);
        }
    }
    out.trim_end_matches(sep).to_string()
}

fn code_sample(r: &mut Rng, language: &str) -> String {
    let n = r.below(1000);
    match language {
        "rust" => format!(
            "fn main() {{\n    let retries = {n};\n    println!(\"retries: {{retries}}\");\n}}\n"
        ),
        "python" => format!("def retries():\n    return {n}\n"),
        "sql" => format!("SELECT id, title\n  FROM pages\n WHERE version > {n}\n ORDER BY id;\n"),
        "yaml" => format!("service:\n  name: ingest\n  retries: {n}\n"),
        "json" => format!("{{\"retries\": {n}, \"backoff\": \"exponential\"}}\n"),
        "java" => format!("class Retry {{\n  static final int MAX = {n};\n}}\n"),
        "go" => format!("package main\n\nconst maxRetries = {n}\n"),
        _ => format!(
            "curl -u \"$EMAIL:$TOKEN\" \\\n  \"https://example.atlassian.net/wiki/api/v2/pages?limit={}\"\n",
            1 + n % 250
        ),
    }
}

/// The media type Confluence would record for a file name.
pub fn media_type_of(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("txt" | "log") => "text/plain",
        Some("csv") => "text/csv",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Real files, sized by the seed: a PDF whose text extracts, PNG and JPEG images that decode,
/// a DOCX, CSV and plain text ([`crate::files`]); other types get seeded bytes.
fn file_bytes(media_type: &str, r: &mut Rng) -> Vec<u8> {
    let words = |r: &mut Rng, n: usize| (0..n).map(|_| r.word(WORDS)).collect::<Vec<_>>().join(" ");
    match media_type {
        "application/pdf" => {
            let lines: Vec<String> = (0..2 + r.below(12))
                .map(|_| {
                    let n = 4 + r.below(8) as usize;
                    capitalise(&words(r, n))
                })
                .collect();
            crate::files::pdf(&lines)
        }
        "image/png" => {
            let (w, h) = (4 + r.below(24) as u32, 4 + r.below(16) as u32);
            let (a, b) = (r.next_u64(), r.next_u64());
            crate::files::png(w, h, move |x, y| {
                let v = a.rotate_left((x * 7 + y * 3) % 64) ^ b;
                [v as u8, (v >> 8) as u8, (x * 255 / w.max(1)) as u8]
            })
        }
        "image/jpeg" => {
            let (bw, bh) = (1 + r.below(6) as u32, 1 + r.below(4) as u32);
            let a = r.next_u64();
            crate::files::jpeg(bw, bh, move |x, y| {
                (a.rotate_left((x * 5 + y * 11) % 64) & 0xff) as u8
            })
        }
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            let paras: Vec<String> = (0..1 + r.below(6))
                .map(|_| {
                    let n = 5 + r.below(10) as usize;
                    capitalise(&words(r, n))
                })
                .collect();
            // Writing a zip in memory does not fail; should it, the file is its text.
            crate::files::docx(&paras).unwrap_or_else(|| paras.join("\n").into_bytes())
        }
        "text/csv" => {
            let mut s = String::from("id,name,owner,count\n");
            for i in 0..2 + r.below(30) {
                s.push_str(&format!(
                    "{},{},{},{}\n",
                    i + 1,
                    r.word(NOUNS),
                    r.word(FIRST),
                    r.below(1000)
                ));
            }
            s.into_bytes()
        }
        t if t.starts_with("text/") => {
            let len = 64 + r.below(3000) as usize;
            let mut v = Vec::new();
            while v.len() < len {
                v.extend_from_slice(r.pick(WORDS).as_bytes());
                v.push(if r.chance(0.1) { b'\n' } else { b' ' });
            }
            v
        }
        _ => {
            let len = 64 + r.below(3000) as usize;
            let mut v = Vec::new();
            while v.len() < len {
                v.extend_from_slice(&r.next_u64().to_le_bytes());
            }
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_respect_depth_and_every_page_reads_back() {
        let cfg = WorkspaceConfig {
            pages: 120,
            spaces: 2,
            depth: 3,
            fanout: 4,
            ..Default::default()
        };
        let d = generate(&cfg);
        let pages = d
            .contents
            .values()
            .filter(|c| c.kind == ContentKind::Page)
            .count();
        assert_eq!(pages, 120);
        for c in d.contents.values() {
            let mut depth = 0;
            let mut p = c.parent_id;
            while let Some(id) = p {
                depth += 1;
                p = d.contents[&id].parent_id;
            }
            assert!(depth <= 3, "{} is {} deep", c.title, depth);
            // Every generated body is well-formed storage.
            crate::confluence::xhtml::check(c.current().body.as_str())
                .unwrap_or_else(|e| panic!("{}: {e}", c.title));
        }
        for s in &d.spaces {
            let home = s.homepage_id.expect("homepage");
            assert_eq!(d.contents[&home].parent_id, None);
        }
    }

    #[test]
    fn tasks_are_found_in_bodies() {
        let d = generate(&WorkspaceConfig {
            pages: 80,
            ..Default::default()
        });
        assert!(!d.tasks.is_empty());
        for t in d.tasks.values() {
            let body = d.contents[&t.content_id]
                .current()
                .body
                .as_str()
                .to_string();
            assert!(
                body.contains(&format!("<ac:task-id>{}</ac:task-id>", t.local_id)),
                "{body}"
            );
        }
    }

    #[test]
    fn corpus_pages_give_attachments_and_tasks() {
        let p = Corpus::page(
            "x.xhtml".into(),
            r#"<p><ac:image><ri:attachment ri:filename="a &amp; b.png" /></ac:image></p><ac:task-list><ac:task><ac:task-id>9</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>ship <time datetime="2025-02-03" /></ac:task-body></ac:task></ac:task-list>"#.into(),
        );
        assert_eq!(p.filenames, vec!["a & b.png".to_string()]);
        assert_eq!(p.tasks.len(), 1);
        assert_eq!(p.tasks[0].local_id, "9");
        assert!(p.tasks[0].done);
        assert_eq!(p.tasks[0].due, time::parse_cql_date("2025-02-03"));
    }
}
