//! Who can read what, computed from the replica exactly as Confluence applies it.
//!
//! A page is readable by a user when the user may View its space AND, for every level from the
//! top restricted ancestor (pages and folders) down to the page itself, the user or one of
//! their groups is in that level's read restriction. Levels without a read restriction do not
//! count; edit restrictions never hide. Blog posts: the space and their own restriction.
//! Attachments follow their container. Anything whose restrictions were not read (no
//! `restriction_reads` row for it or an ancestor, no space permissions, a broken ancestor
//! chain) is [`Levels::Unknown`]: visible to no one.

use std::collections::{BTreeSet, HashMap, HashSet};

use kb_store::{Filter, Store, StoreError};
use serde_json::Value;

use crate::util::text;

/// The principal every searcher holds.
pub const ANONYMOUS: &str = "anonymous";

/// The `km_members` principal whose members are the groups giving product access.
pub const PRODUCT_ACCESS: &str = "product-access";

/// An article's access: the levels top down (an empty level is open), or unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Levels {
    /// Level 0 the space's readers, then each restricted ancestor and the content itself.
    Known(Vec<BTreeSet<String>>),
    /// Not known: visible to no one. The reason names the object.
    Unknown(String),
}

impl Levels {
    /// A stable text of the levels (for the source hash).
    pub fn fingerprint(&self) -> String {
        match self {
            Levels::Known(l) => l
                .iter()
                .map(|s| s.iter().cloned().collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
                .join("|"),
            Levels::Unknown(_) => "?".into(),
        }
    }

    /// The index's form.
    pub fn to_index(&self) -> kb_search::Access {
        match self {
            Levels::Known(l) => kb_search::Access::Levels(l.clone()),
            Levels::Unknown(_) => kb_search::Access::Unknown,
        }
    }
}

/// What the replica says about access, loaded once per run.
#[derive(Debug, Default)]
pub struct AccessData {
    /// Space id → the principals with View (`u:…`, `g:…`, `anonymous`).
    pub space_readers: HashMap<String, BTreeSet<String>>,
    /// Content id → the principals of its read restriction (absent: none).
    pub read: HashMap<String, BTreeSet<String>>,
    /// Content whose restrictions were read.
    pub known: HashSet<String>,
    /// Page id → its ancestors top down (pages and folders).
    pub ancestors: HashMap<String, Vec<String>>,
}

fn principal(kind: &str, id: Option<&str>) -> Option<String> {
    match (kind.to_ascii_lowercase().as_str(), id) {
        ("user", Some(id)) if !id.is_empty() => Some(format!("u:{id}")),
        ("group", Some(id)) if !id.is_empty() => Some(format!("g:{id}")),
        ("anonymous", _) => Some(ANONYMOUS.to_string()),
        _ => None,
    }
}

impl AccessData {
    /// Reads space permissions, read restrictions, what was read, and ancestors.
    pub async fn load(store: &Store) -> Result<AccessData, StoreError> {
        let mut a = AccessData::default();
        for r in store
            .select(
                "space_permissions",
                &[
                    "space_id",
                    "principal_type",
                    "principal_id",
                    "operation_key",
                    "operation_target_type",
                ],
                &Filter::all(),
            )
            .await?
        {
            let (Some(space), Some(kind), op, target) = (
                text(r.first()),
                text(r.get(1)),
                text(r.get(3)),
                text(r.get(4)),
            ) else {
                continue;
            };
            if op.as_deref() != Some("read") || target.as_deref() != Some("space") {
                continue;
            }
            let id = text(r.get(2));
            // A principal kind km does not understand (roles, access classes): not added,
            // so it admits no one (fail closed).
            if let Some(p) = principal(&kind, id.as_deref()) {
                a.space_readers.entry(space).or_default().insert(p);
            }
        }
        for r in store
            .select(
                "content_restrictions",
                &["content_id", "subject_type", "subject_id"],
                &Filter::all().eq("operation", "read"),
            )
            .await?
        {
            let (Some(c), Some(kind)) = (text(r.first()), text(r.get(1))) else {
                continue;
            };
            // An unknown subject still makes the level restricted, passable by no one.
            let p = principal(&kind, text(r.get(2)).as_deref())
                .unwrap_or_else(|| kb_search::NOBODY.to_string());
            a.read.entry(c).or_default().insert(p);
        }
        for r in store
            .select("restriction_reads", &["content_id"], &Filter::all())
            .await?
        {
            if let Some(c) = text(r.first()) {
                a.known.insert(c);
            }
        }
        let mut chains: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        let mut broken: HashSet<String> = HashSet::new();
        for r in store
            .select(
                "page_ancestors",
                &["page_id", "ancestor_id", "depth"],
                &Filter::all(),
            )
            .await?
        {
            let (Some(p), Some(anc)) = (text(r.first()), text(r.get(1))) else {
                continue;
            };
            let Some(depth) = r.get(2).and_then(Value::as_i64) else {
                // Without its depth the order is unknown: the page fails closed.
                broken.insert(p);
                continue;
            };
            chains.entry(p).or_default().push((depth, anc));
        }
        for (p, mut chain) in chains {
            if broken.contains(&p) {
                continue;
            }
            chain.sort();
            a.ancestors
                .insert(p, chain.into_iter().map(|(_, id)| id).collect());
        }
        Ok(a)
    }

    /// The levels of content `id` in space `space_id`; `has_parent` says whether it sits
    /// under another page or folder (then its ancestor chain must be known).
    pub fn levels(&self, id: &str, space_id: &str, has_parent: bool) -> Levels {
        let Some(readers) = self.space_readers.get(space_id).filter(|r| !r.is_empty()) else {
            return Levels::Unknown(format!(
                "the View permissions of space {space_id} are not in the replica"
            ));
        };
        let mut levels = vec![readers.clone()];
        let chain: &[String] = match self.ancestors.get(id) {
            Some(c) => c,
            None if has_parent => {
                return Levels::Unknown(format!("the ancestors of {id} are not in the replica"));
            }
            None => &[],
        };
        for node in chain.iter().chain(std::iter::once(&id.to_string())) {
            if !self.known.contains(node) {
                return Levels::Unknown(if node == id {
                    format!("the restrictions of {id} were not read")
                } else {
                    format!("the restrictions of its ancestor {node} were not read")
                });
            }
            if let Some(r) = self.read.get(node).filter(|r| !r.is_empty()) {
                levels.push(r.clone());
            }
        }
        if levels.len() > kb_search::MAX_LEVELS {
            return Levels::Unknown(format!(
                "{} restricted levels: more than the index holds ({})",
                levels.len(),
                kb_search::MAX_LEVELS
            ));
        }
        Levels::Known(levels)
    }
}

/// The principals of a searcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Searcher {
    /// A user by account id.
    User(String),
    /// A role of the configuration (its groups' view).
    Role(String),
    /// Nobody logged in.
    Anonymous,
}

impl Searcher {
    /// `anonymous`, `role:NAME`, or an account id.
    pub fn parse(s: &str) -> Searcher {
        if s == ANONYMOUS {
            Searcher::Anonymous
        } else if let Some(r) = s.strip_prefix("role:") {
            Searcher::Role(r.to_string())
        } else {
            Searcher::User(s.strip_prefix("u:").unwrap_or(s).to_string())
        }
    }
}

/// The searcher's principals, groups expanded from `km_members` (so membership changes need
/// no reindex, only a permission sync).
pub async fn principals(store: &Store, who: &Searcher) -> Result<Vec<String>, StoreError> {
    let mut out = vec![ANONYMOUS.to_string()];
    let direct = match who {
        Searcher::Anonymous => return Ok(out),
        Searcher::User(a) => format!("u:{a}"),
        Searcher::Role(r) => format!("role:{r}"),
    };
    let mut mine: BTreeSet<String> = BTreeSet::from([direct.clone()]);
    // Roles hold groups, groups hold users: two rounds reach everything. Each round reads
    // only the memberships of what is known so far (`member` is indexed).
    for _ in 0..2 {
        let rows = store
            .select(
                "km_members",
                &["principal"],
                &Filter::all().any("member", mine.iter().map(String::as_str)),
            )
            .await?;
        for r in rows {
            if let Some(p) = text(r.first()) {
                mine.insert(p);
            }
        }
    }
    if let Searcher::User(_) = who {
        // A user without product access may not use Confluence: nothing, not even what
        // anonymous access grants (the API refuses them every read). Fail closed: no
        // product-access group known means no access.
        // (The expansion above reached PRODUCT_ACCESS through one of the user's groups.)
        if !mine.contains(PRODUCT_ACCESS) {
            return Ok(Vec::new());
        }
    }
    if let Searcher::Role(r) = who {
        // A role searches as its groups.
        let role = format!("role:{r}");
        for row in store
            .select(
                "km_members",
                &["member"],
                &Filter::all().eq("principal", role.as_str()),
            )
            .await?
        {
            if let Some(m) = text(row.first()) {
                mine.insert(m);
            }
        }
    }
    out.extend(mine);
    Ok(out)
}
