//! The twin's objects in the API's response shapes, per `Notion-Version`: users, parents,
//! pages with their property values (formulas and rollups computed here, from the data), blocks,
//! databases, data sources, comments, file uploads; and rich text normalised to the response
//! shape.

use serde_json::{Map, Value, json};

use super::api::Version;
use super::model::*;
use super::{Caller, Notion};

/// What rendering needs besides the object.
pub struct Ctx<'a> {
    pub ws: &'a Workspace,
    pub v: Version,
    pub notion: &'a Notion,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
}

pub fn partial_user(id: &str) -> Value {
    json!({"object": "user", "id": id})
}

pub fn user(u: &NUser, me: bool) -> Value {
    if u.bot {
        let mut bot = json!({
            "owner": {"type": "workspace", "workspace": true},
            "workspace_name": "kbridge sim",
        });
        if me {
            bot["workspace_limits"] = json!({"max_file_upload_size_in_bytes": 20 * 1024 * 1024});
        }
        json!({"object": "user", "id": u.id, "name": u.name, "avatar_url": u.avatar_url, "type": "bot", "bot": bot})
    } else {
        json!({"object": "user", "id": u.id, "name": u.name, "avatar_url": u.avatar_url, "type": "person",
               "person": {"email": u.email}})
    }
}

/// A page URL as Notion builds it: title words and the id without dashes.
pub fn page_url(title: &str, id: &str) -> String {
    let slug: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let hex = id.replace('-', "");
    if slug.is_empty() {
        format!("https://www.notion.so/{hex}")
    } else {
        format!("https://www.notion.so/{}-{hex}", slug.join("-"))
    }
}

impl Ctx<'_> {
    pub fn parent(&self, p: &Parent) -> Value {
        match p {
            Parent::Workspace => json!({"type": "workspace", "workspace": true}),
            Parent::Page(id) => json!({"type": "page_id", "page_id": id}),
            Parent::Block(id) => json!({"type": "block_id", "block_id": id}),
            Parent::Database(id) => match self.v {
                Version::V2022 => json!({"type": "database_id", "database_id": id}),
                Version::V2025 => json!({
                    "type": "data_source_id",
                    "data_source_id": self.ws.databases.get(id).map(|d| d.data_source_id.as_str()).unwrap_or(""),
                    "database_id": id,
                }),
            },
        }
    }

    /// A signed URL for a hosted file and its expiry (`/__files/{id}/{name}?expires=&sig=`).
    pub fn file_url(&self, file_id: &str) -> (String, String) {
        let name = self
            .ws
            .files
            .get(file_id)
            .map(|f| f.name.clone())
            .unwrap_or_else(|| "file".into());
        let exp = self.notion.expiry_now_ms() / 1000 + self.notion.file_url_ttl_secs as i64;
        let sig = self.notion.sign(file_id, exp);
        // A name of dots only would be a dot segment, which every URL parser resolves away
        // (`/__files/id/..` is `/__files/`): the object key gets a neutral name instead.
        let enc: String = if name.chars().all(|c| c == '.') {
            "file".into()
        } else {
            form_urlencoded::byte_serialize(name.as_bytes()).collect()
        };
        (
            format!(
                "{}/__files/{file_id}/{enc}?expires={exp}&sig={sig}",
                self.origin
            ),
            crate::time::iso(exp * 1000),
        )
    }

    /// Replaces stored hosted-file references (`file: {sim_file_id}`) with signed URLs,
    /// anywhere in `v`.
    pub fn sign_files(&self, v: &mut Value) {
        match v {
            Value::Object(m) => {
                if let Some(id) = m
                    .get("file")
                    .and_then(|f| f.get("sim_file_id"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                {
                    let (url, exp) = self.file_url(&id);
                    m.insert("file".into(), json!({"url": url, "expiry_time": exp}));
                }
                for x in m.values_mut() {
                    self.sign_files(x);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.sign_files(x)),
            _ => {}
        }
    }

    fn envelope(
        &self,
        object: &str,
        id: &str,
        created: i64,
        created_by: &str,
        edited: i64,
        edited_by: &str,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("object".into(), json!(object));
        m.insert("id".into(), json!(id));
        m.insert("created_time".into(), json!(iso_minute(created)));
        m.insert("created_by".into(), partial_user(created_by));
        m.insert("last_edited_time".into(), json!(iso_minute(edited)));
        m.insert("last_edited_by".into(), partial_user(edited_by));
        m
    }

    /// A page object. `full`: property lists complete (property-item endpoint semantics);
    /// otherwise relations and people are cut at 25 references, as page retrieval does.
    pub fn page(&self, p: &NPage) -> Value {
        let mut m = self.envelope(
            "page",
            &p.id,
            p.created_time,
            &p.created_by,
            p.last_edited_time,
            &p.last_edited_by,
        );
        let mut cover = p.cover.clone().unwrap_or(Value::Null);
        let mut icon = p.icon.clone().unwrap_or(Value::Null);
        self.sign_files(&mut cover);
        self.sign_files(&mut icon);
        m.insert("cover".into(), cover);
        m.insert("icon".into(), icon);
        m.insert("parent".into(), self.parent(&p.parent));
        m.insert("archived".into(), json!(p.in_trash));
        m.insert("in_trash".into(), json!(p.in_trash));
        m.insert("is_archived".into(), json!(false));
        m.insert("is_locked".into(), json!(false));
        let mut props = Map::new();
        match self.db_of(p) {
            Some(db) => {
                for s in &db.properties {
                    props.insert(s.name.clone(), self.prop_value(p, db, s, true));
                }
            }
            None => {
                props.insert(
                    "title".into(),
                    json!({"id": "title", "type": "title", "title": p.props.get("title").cloned().unwrap_or(json!([]))}),
                );
            }
        }
        m.insert("properties".into(), Value::Object(props));
        let title = plain(p.props.get("title"));
        m.insert("url".into(), json!(page_url(&title, &p.id)));
        m.insert("public_url".into(), Value::Null);
        Value::Object(m)
    }

    pub fn db_of(&self, p: &NPage) -> Option<&NDatabase> {
        match &p.parent {
            Parent::Database(d) => self.ws.databases.get(d),
            _ => None,
        }
    }

    /// `{id, type, <type>: value}` of one property of a row. `truncate`: at most 25 references
    /// in relations and people, and rollups over the first 25 related pages only.
    pub fn prop_value(&self, p: &NPage, db: &NDatabase, s: &PropSchema, truncate: bool) -> Value {
        let mut out = json!({"id": s.id, "type": s.kind});
        let v = self.raw_value(p, db, s, truncate);
        match s.kind.as_str() {
            "relation" | "people" => {
                let all = v.as_array().cloned().unwrap_or_default();
                if truncate && all.len() > 25 {
                    out[&s.kind] = Value::Array(all[..25].to_vec());
                    out["has_more"] = json!(true);
                } else {
                    out[&s.kind] = Value::Array(all);
                    if s.kind == "relation" {
                        out["has_more"] = json!(false);
                    }
                }
            }
            _ => out[&s.kind] = v,
        }
        out
    }

    /// The value part of a property (`page.properties[name][type]`), untruncated people and
    /// relations rendered as objects.
    pub fn raw_value(&self, p: &NPage, db: &NDatabase, s: &PropSchema, truncate: bool) -> Value {
        let stored = p.props.get(&s.id);
        match s.kind.as_str() {
            "title" | "rich_text" | "multi_select" => stored.cloned().unwrap_or(json!([])),
            "people" => Value::Array(
                stored
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|id| match self.ws.user(id) {
                        Some(u) => user(u, false),
                        None => partial_user(id),
                    })
                    .collect(),
            ),
            "relation" => Value::Array(
                stored
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|id| json!({"id": id}))
                    .collect(),
            ),
            "files" => {
                let mut v = stored.cloned().unwrap_or(json!([]));
                self.sign_files(&mut v);
                v
            }
            "checkbox" => stored.cloned().unwrap_or(json!(false)),
            "created_time" => json!(iso_minute(p.created_time)),
            "last_edited_time" => json!(iso_minute(p.last_edited_time)),
            "created_by" => self
                .ws
                .user(&p.created_by)
                .map(|u| user(u, false))
                .unwrap_or_else(|| partial_user(&p.created_by)),
            "last_edited_by" => self
                .ws
                .user(&p.last_edited_by)
                .map(|u| user(u, false))
                .unwrap_or_else(|| partial_user(&p.last_edited_by)),
            "rollup" => match &s.computed {
                Some(Computed::Rollup {
                    relation,
                    target,
                    function,
                }) => rollup(self.ws, p, relation, target, function, truncate),
                _ => json!({"type": "unsupported", "unsupported": {}, "function": "count"}),
            },
            "formula" => match &s.computed {
                Some(Computed::Formula { name }) => formula(self.ws, p, db, name),
                _ => json!({"type": "string", "string": null}),
            },
            _ => stored.cloned().unwrap_or(Value::Null),
        }
    }

    pub fn block(&self, b: &NBlock) -> Value {
        let mut m = self.envelope(
            "block",
            &b.id,
            b.created_time,
            &b.created_by,
            b.last_edited_time,
            &b.last_edited_by,
        );
        m.insert("parent".into(), self.parent(&b.parent));
        m.insert("has_children".into(), json!(self.has_children(&b.children)));
        m.insert("archived".into(), json!(b.in_trash));
        m.insert("in_trash".into(), json!(b.in_trash));
        m.insert("type".into(), json!(b.kind));
        let mut data = b.data.clone();
        self.sign_files(&mut data);
        m.insert(b.kind.clone(), data);
        Value::Object(m)
    }

    fn has_children(&self, ids: &[String]) -> bool {
        ids.iter().any(|c| self.live_child(c))
    }

    /// Whether a child id is a live block, page or database.
    pub fn live_child(&self, id: &str) -> bool {
        self.ws.blocks.get(id).is_some_and(|b| !b.in_trash)
            || self.ws.pages.get(id).is_some_and(|p| !p.in_trash)
            || self.ws.databases.get(id).is_some_and(|d| !d.in_trash)
    }

    /// A page as the `child_page` block its parent lists.
    pub fn child_page_block(&self, p: &NPage) -> Value {
        let mut m = self.envelope(
            "block",
            &p.id,
            p.created_time,
            &p.created_by,
            p.last_edited_time,
            &p.last_edited_by,
        );
        m.insert("parent".into(), self.parent(&p.parent));
        m.insert("has_children".into(), json!(self.has_children(&p.children)));
        m.insert("archived".into(), json!(p.in_trash));
        m.insert("in_trash".into(), json!(p.in_trash));
        m.insert("type".into(), json!("child_page"));
        m.insert(
            "child_page".into(),
            json!({"title": plain(p.props.get("title"))}),
        );
        Value::Object(m)
    }

    pub fn child_database_block(&self, d: &NDatabase) -> Value {
        let mut m = self.envelope(
            "block",
            &d.id,
            d.created_time,
            &d.created_by,
            d.last_edited_time,
            &d.last_edited_by,
        );
        m.insert("parent".into(), self.parent(&d.parent));
        m.insert("has_children".into(), json!(false));
        m.insert("archived".into(), json!(d.in_trash));
        m.insert("in_trash".into(), json!(d.in_trash));
        m.insert("type".into(), json!("child_database"));
        m.insert("child_database".into(), json!({"title": d.title}));
        Value::Object(m)
    }

    /// Any child id as a block object.
    pub fn any_block(&self, id: &str) -> Option<Value> {
        if let Some(b) = self.ws.blocks.get(id) {
            return Some(self.block(b));
        }
        if let Some(p) = self.ws.pages.get(id) {
            return Some(self.child_page_block(p));
        }
        self.ws
            .databases
            .get(id)
            .map(|d| self.child_database_block(d))
    }

    fn schema(&self, db: &NDatabase) -> Value {
        let mut props = Map::new();
        for s in &db.properties {
            let mut cfg = s.config.clone();
            if s.kind == "relation"
                && self.v == Version::V2025
                && let Some(target) = cfg.get("database_id").and_then(Value::as_str)
                && let Some(t) = self.ws.databases.get(target)
            {
                cfg["data_source_id"] = json!(t.data_source_id);
            }
            let mut p = json!({"id": s.id, "name": s.name, "description": null, "type": s.kind});
            p[&s.kind] = cfg;
            props.insert(s.name.clone(), p);
        }
        Value::Object(props)
    }

    pub fn database(&self, db: &NDatabase) -> Value {
        let mut m = self.envelope(
            "database",
            &db.id,
            db.created_time,
            &db.created_by,
            db.last_edited_time,
            &db.last_edited_by,
        );
        m.insert("title".into(), json!([text_item(&db.title)]));
        m.insert("description".into(), json!([text_item(&db.description)]));
        m.insert("icon".into(), db.icon.clone().unwrap_or(Value::Null));
        m.insert("cover".into(), Value::Null);
        m.insert("parent".into(), self.parent(&db.parent));
        m.insert("is_inline".into(), json!(db.is_inline));
        m.insert("archived".into(), json!(db.in_trash));
        m.insert("in_trash".into(), json!(db.in_trash));
        m.insert("is_locked".into(), json!(false));
        match self.v {
            Version::V2022 => {
                m.insert("properties".into(), self.schema(db));
            }
            Version::V2025 => {
                // The 2025-09-03 database object names no authors.
                m.remove("created_by");
                m.remove("last_edited_by");
                m.insert(
                    "data_sources".into(),
                    json!([{"id": db.data_source_id, "name": db.title}]),
                );
            }
        }
        m.insert("url".into(), json!(page_url(&db.title, &db.id)));
        m.insert("public_url".into(), Value::Null);
        Value::Object(m)
    }

    pub fn data_source(&self, db: &NDatabase) -> Value {
        let mut m = self.envelope(
            "data_source",
            &db.data_source_id,
            db.created_time,
            &db.created_by,
            db.last_edited_time,
            &db.last_edited_by,
        );
        m.insert("title".into(), json!([text_item(&db.title)]));
        m.insert("description".into(), json!([text_item(&db.description)]));
        m.insert("icon".into(), db.icon.clone().unwrap_or(Value::Null));
        m.insert("cover".into(), Value::Null);
        m.insert(
            "parent".into(),
            json!({"type": "database_id", "database_id": db.id}),
        );
        m.insert("database_parent".into(), self.parent(&db.parent));
        m.insert("is_inline".into(), json!(db.is_inline));
        m.insert("archived".into(), json!(db.in_trash));
        m.insert("in_trash".into(), json!(db.in_trash));
        m.insert("properties".into(), self.schema(db));
        m.insert("url".into(), json!(page_url(&db.title, &db.id)));
        m.insert("public_url".into(), Value::Null);
        Value::Object(m)
    }

    pub fn comment(&self, c: &NComment) -> Value {
        json!({
            "object": "comment",
            "id": c.id,
            "parent": self.parent(&c.parent),
            "discussion_id": c.discussion_id,
            "created_time": iso_minute(c.created_time),
            "last_edited_time": iso_minute(c.created_time),
            "created_by": partial_user(&c.created_by),
            "rich_text": c.rich_text,
            "attachments": [],
            "display_name": {"type": "integration", "resolved_name": self.ws.user(&c.created_by).map(|u| u.name.as_str()).unwrap_or("")},
        })
    }

    pub fn upload(&self, u: &NUpload) -> Value {
        let mut v = json!({
            "object": "file_upload",
            "id": u.id,
            "created_time": iso_minute(u.created_time),
            "created_by": {"id": u.created_by, "type": "bot"},
            "last_edited_time": iso_minute(u.created_time),
            "archived": false,
            "in_trash": false,
            "expiry_time": if u.status == "pending" { json!(crate::time::iso(u.expiry_time)) } else { Value::Null },
            "status": u.status,
            "filename": u.filename,
            "content_type": u.content_type,
            "content_length": u.content_length,
        });
        if u.status == "pending" {
            v["upload_url"] = json!(format!("{}/v1/file_uploads/{}/send", self.origin, u.id));
        }
        v
    }
}

/// Whether `caller` may see object `id` (page, block or database).
pub fn visible(ws: &Workspace, caller: &Caller, id: &str) -> bool {
    !caller.restricted || ws.restricted_roots.iter().any(|r| ws.is_under(id, r))
}

/// A plain text rich text item in response shape.
pub fn text_item(s: &str) -> Value {
    json!({
        "type": "text",
        "text": {"content": s, "link": null},
        "annotations": default_annotations(),
        "plain_text": s,
        "href": null,
    })
}

pub fn default_annotations() -> Value {
    json!({"bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"})
}

/// A request (or writer) rich text item in response shape: `type` inferred, annotations
/// completed, `plain_text` and `href` computed (page titles and user names for mentions).
pub fn normalize_rich(ws: &Workspace, item: &Value) -> Value {
    let mut m = item.as_object().cloned().unwrap_or_default();
    let ty = m
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            ["text", "mention", "equation"]
                .into_iter()
                .find(|k| m.contains_key(*k))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "text".into());
    m.insert("type".into(), json!(ty));
    let mut ann = default_annotations();
    if let Some(a) = m.get("annotations").and_then(Value::as_object) {
        for (k, v) in a {
            ann[k] = v.clone();
        }
    }
    m.insert("annotations".into(), ann);
    let (plain_text, href) = match ty.as_str() {
        "text" => {
            let t = m.get("text").cloned().unwrap_or(json!({}));
            let content = t
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let link = t
                .get("link")
                .and_then(|l| l.get("url"))
                .and_then(Value::as_str)
                .map(str::to_string);
            m.insert(
                "text".into(),
                json!({"content": content, "link": link.as_ref().map(|u| json!({"url": u}))}),
            );
            (content, link.map(Value::String).unwrap_or(Value::Null))
        }
        "equation" => {
            let e = m
                .get("equation")
                .and_then(|e| e.get("expression"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (e, Value::Null)
        }
        "mention" => {
            let mention = m
                .get("mention")
                .filter(|x| x.is_object())
                .cloned()
                .unwrap_or(json!({}));
            let mty = mention
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    ["user", "page", "database", "date", "template_mention"]
                        .into_iter()
                        .find(|k| mention.get(*k).is_some())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            let mut mention = mention;
            mention["type"] = json!(mty);
            let out = match mty.as_str() {
                "user" if mention["user"].is_object() => {
                    let id = mention["user"]["id"].as_str().unwrap_or("").to_string();
                    match ws.user(&id) {
                        Some(u) => {
                            mention["user"] = user(u, false);
                            (format!("@{}", u.name), Value::Null)
                        }
                        None => ("@Anonymous".into(), Value::Null),
                    }
                }
                "page" | "database" => {
                    let id = mention[&mty]["id"].as_str().unwrap_or("").to_string();
                    let title = ws.title_of(&id).unwrap_or_else(|| "Untitled".into());
                    let title = if title.is_empty() {
                        "Untitled".into()
                    } else {
                        title
                    };
                    let href = format!("https://www.notion.so/{}", id.replace('-', ""));
                    (title, json!(href))
                }
                "date" if mention["date"].is_object() => {
                    let start = mention["date"]["start"].as_str().unwrap_or("").to_string();
                    if mention["date"].get("end").is_none() {
                        mention["date"]["end"] = Value::Null;
                    }
                    if mention["date"].get("time_zone").is_none() {
                        mention["date"]["time_zone"] = Value::Null;
                    }
                    (start, Value::Null)
                }
                _ => (String::new(), Value::Null),
            };
            m.insert("mention".into(), mention);
            out
        }
        _ => (String::new(), Value::Null),
    };
    m.insert("plain_text".into(), json!(plain_text));
    m.insert("href".into(), href);
    Value::Object(m)
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A rollup's value: `function` over property `target` of the pages related through
/// `relation` (the first 25 when `truncate`).
pub fn rollup(
    ws: &Workspace,
    p: &NPage,
    relation: &str,
    target: &str,
    function: &str,
    truncate: bool,
) -> Value {
    let mut ids: Vec<&str> = p
        .props
        .get(relation)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if truncate {
        ids.truncate(25);
    }
    let related: Vec<&NPage> = ids
        .iter()
        .filter_map(|id| ws.pages.get(*id))
        .filter(|r| !r.in_trash)
        .collect();
    let vals: Vec<Option<&Value>> = related.iter().map(|r| r.props.get(target)).collect();
    match function {
        "count" => json!({"type": "number", "number": related.len(), "function": function}),
        "sum" => {
            let s: f64 = vals.iter().filter_map(|v| num(*v)).sum();
            json!({"type": "number", "number": round2(s), "function": function})
        }
        "percent_checked" => {
            let n = vals.len();
            let c = vals
                .iter()
                .filter(|v| v.and_then(Value::as_bool) == Some(true))
                .count();
            let pct = if n == 0 {
                0.0
            } else {
                round2(c as f64 / n as f64)
            };
            json!({"type": "number", "number": pct, "function": function})
        }
        "latest_date" => {
            let best = vals
                .iter()
                .filter_map(|v| v.and_then(|d| d.get("start")).and_then(Value::as_str))
                .max();
            json!({"type": "date", "date": best.map(|s| json!({"start": s, "end": null, "time_zone": null})), "function": function})
        }
        "show_original" => {
            // The target's property type, from the related data source's schema.
            let arr: Vec<Value> = related
                .iter()
                .filter_map(|r| {
                    let Parent::Database(d) = &r.parent else {
                        return None;
                    };
                    let db = ws.databases.get(d)?;
                    let s = db.prop_by_id(target)?;
                    let mut v = json!({"type": s.kind});
                    v[&s.kind] = r.props.get(target).cloned().unwrap_or(Value::Null);
                    Some(v)
                })
                .collect();
            json!({"type": "array", "array": arr, "function": function})
        }
        _ => json!({"type": "unsupported", "unsupported": {}, "function": function}),
    }
}

/// The twin's fixed formulas, by name; each schema shows its expression.
pub fn formula(ws: &Workspace, p: &NPage, db: &NDatabase, name: &str) -> Value {
    let get = |prop: &str| db.prop(prop).and_then(|s| p.props.get(&s.id));
    match name {
        "project_label" => {
            let prio = get("Priority")
                .and_then(|v| v.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            json!({"type": "string", "string": format!("{} · {prio}", plain(p.props.get("title")))})
        }
        "budget_per_task" => {
            let budget = num(get("Budget")).unwrap_or(0.0);
            let count = db
                .prop("Tasks")
                .and_then(|s| p.props.get(&s.id))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|id| ws.pages.get(*id).is_some_and(|t| !t.in_trash))
                        .count()
                })
                .unwrap_or(0);
            let v = if count == 0 {
                0.0
            } else {
                round2(budget / count as f64)
            };
            json!({"type": "number", "number": v})
        }
        "long_task" => {
            json!({"type": "boolean", "boolean": num(get("Hours")).unwrap_or(0.0) > 8.0})
        }
        "team_summary" => {
            let size = num(get("Size")).unwrap_or(0.0);
            json!({"type": "string", "string": format!("{} ({size})", plain(p.props.get("title")))})
        }
        _ => json!({"type": "string", "string": null}),
    }
}
