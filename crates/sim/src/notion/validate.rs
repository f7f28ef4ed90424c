//! Request blocks (append children, create page `children`) checked against every documented
//! limit, with Notion's `validation_error` messages, and stored.

use serde_json::{Value, json};

use super::api::{NError, short};
use super::generator::normalize_data;
use super::model::*;

pub const MAX_CHILDREN: usize = 100;
pub const MAX_BLOCKS: usize = 1000;
pub const MAX_TEXT: usize = 2000;
pub const MAX_URL: usize = 2000;
pub const MAX_EQUATION: usize = 1000;
pub const MAX_RICH: usize = 100;
pub const MAX_PAYLOAD: usize = 500 * 1000;

const TEXT_TYPES: &[&str] = &[
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "heading_4",
    "bulleted_list_item",
    "numbered_list_item",
    "to_do",
    "toggle",
    "quote",
    "callout",
    "code",
    "template",
];
const MEDIA: &[&str] = &["image", "file", "pdf", "video", "audio"];
const OTHER: &[&str] = &[
    "divider",
    "breadcrumb",
    "table_of_contents",
    "column_list",
    "column",
    "table",
    "table_row",
    "equation",
    "bookmark",
    "embed",
    "link_to_page",
    "synced_block",
    "tab",
];
const NOT_CREATABLE: &[&str] = &[
    "child_page",
    "child_database",
    "link_preview",
    "meeting_notes",
    "transcription",
    "unsupported",
];

/// A checked request block.
#[derive(Debug)]
pub struct NewBlock {
    pub kind: String,
    pub data: Value,
    pub children: Vec<NewBlock>,
}

fn utf16(s: &str) -> usize {
    s.encode_utf16().count()
}

fn too_long(path: &str, max: usize, was: usize) -> NError {
    NError::body(format_args!(
        "{path}.length should be ≤ `{max}`, instead was `{was}`"
    ))
}

/// Checks a rich text array at `path`.
pub fn check_rich(v: &Value, path: &str) -> Result<(), NError> {
    let Some(a) = v.as_array() else {
        return Err(NError::body(format_args!(
            "{path} should be an array, instead was `{}`",
            short(v)
        )));
    };
    if a.len() > MAX_RICH {
        return Err(too_long(path, MAX_RICH, a.len()));
    }
    for (i, item) in a.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if !item.is_object() {
            return Err(NError::body(format_args!(
                "{p} should be an object, instead was `{}`",
                short(item)
            )));
        }
        if let Some(t) = item.get("text") {
            match t.get("content") {
                Some(Value::String(s)) => {
                    let n = utf16(s);
                    if n > MAX_TEXT {
                        return Err(too_long(&format!("{p}.text.content"), MAX_TEXT, n));
                    }
                }
                other => {
                    return Err(NError::body(format_args!(
                        "{p}.text.content should be a string, instead was `{}`",
                        other.map(short).unwrap_or_else(|| "undefined".into())
                    )));
                }
            }
            if let Some(u) = t
                .get("link")
                .and_then(|l| l.get("url"))
                .and_then(Value::as_str)
            {
                let n = utf16(u);
                if n > MAX_URL {
                    return Err(too_long(&format!("{p}.text.link.url"), MAX_URL, n));
                }
            }
        } else if let Some(e) = item.get("equation") {
            let s = e.get("expression").and_then(Value::as_str).unwrap_or("");
            let n = utf16(s);
            if n > MAX_EQUATION {
                return Err(too_long(
                    &format!("{p}.equation.expression"),
                    MAX_EQUATION,
                    n,
                ));
            }
        } else if let Some(mn) = item.get("mention") {
            let ty = mn.get("type").and_then(Value::as_str).or_else(|| {
                ["user", "page", "database", "date", "template_mention"]
                    .into_iter()
                    .find(|k| mn.get(*k).is_some())
            });
            let ok = mn.is_object()
                && ty.is_some_and(|t| {
                    [
                        "user",
                        "page",
                        "database",
                        "date",
                        "template_mention",
                        "custom_emoji",
                    ]
                    .contains(&t)
                        && mn.get(t).is_some_and(Value::is_object)
                });
            if !ok {
                return Err(NError::body(format_args!(
                    "{p}.mention should be a user, page, database, date, template_mention or custom_emoji mention, instead was `{}`",
                    short(mn)
                )));
            }
        } else {
            return Err(NError::body(format_args!(
                "{p}.text should be defined, instead was `undefined`"
            )));
        }
    }
    Ok(())
}

/// Checks `children` (at `path`, e.g. `body.children`) and returns the blocks to create.
/// `level` is 1 for a request's top-level blocks; blocks at level 3 may not have children
/// (two levels of nesting per request). `count` accumulates blocks for the 1000 limit.
pub fn check_children(
    ws: &Workspace,
    v: Option<&Value>,
    path: &str,
    level: usize,
    count: &mut usize,
) -> Result<Vec<NewBlock>, NError> {
    let Some(v) = v else {
        return Err(NError::body(format_args!(
            "{path} should be defined, instead was `undefined`"
        )));
    };
    let Some(a) = v.as_array() else {
        return Err(NError::body(format_args!(
            "{path} should be an array, instead was `{}`",
            short(v)
        )));
    };
    if a.len() > MAX_CHILDREN {
        return Err(too_long(path, MAX_CHILDREN, a.len()));
    }
    let mut out = Vec::new();
    for (i, b) in a.iter().enumerate() {
        *count += 1;
        if *count > MAX_BLOCKS {
            return Err(NError::body(format_args!(
                "body should contain at most `{MAX_BLOCKS}` block elements, instead was more"
            )));
        }
        out.push(check_block(ws, b, &format!("{path}[{i}]"), level, count)?);
    }
    Ok(out)
}

fn check_block(
    ws: &Workspace,
    b: &Value,
    path: &str,
    level: usize,
    count: &mut usize,
) -> Result<NewBlock, NError> {
    let Some(m) = b.as_object() else {
        return Err(NError::body(format_args!(
            "{path} should be an object, instead was `{}`",
            short(b)
        )));
    };
    let kind = match m.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => m
            .keys()
            .find(|k| {
                TEXT_TYPES.contains(&k.as_str())
                    || MEDIA.contains(&k.as_str())
                    || OTHER.contains(&k.as_str())
                    || NOT_CREATABLE.contains(&k.as_str())
            })
            .cloned()
            .ok_or_else(|| {
                NError::body(format_args!(
                    "{path}.type should be defined, instead was `undefined`"
                ))
            })?,
    };
    if NOT_CREATABLE.contains(&kind.as_str()) {
        return Err(NError::body(format_args!(
            "{path}.{kind} should be not present, instead was `{}`",
            short(m.get(&kind).unwrap_or(&Value::Null))
        )));
    }
    let known = TEXT_TYPES.contains(&kind.as_str())
        || MEDIA.contains(&kind.as_str())
        || OTHER.contains(&kind.as_str());
    if !known {
        return Err(NError::body(format_args!(
            "{path}.type should be a creatable block type, instead was `{}`",
            serde_json::to_string(&kind).unwrap_or_default()
        )));
    }
    let Some(data) = m.get(&kind) else {
        return Err(NError::body(format_args!(
            "{path}.{kind} should be defined, instead was `undefined`"
        )));
    };
    let Some(dm) = data.as_object() else {
        return Err(NError::body(format_args!(
            "{path}.{kind} should be an object, instead was `{}`",
            short(data)
        )));
    };
    let p = format!("{path}.{kind}");
    if let Some(allowed) = allowed_keys(&kind)
        && let Some(k) = dm.keys().find(|k| !allowed.contains(&k.as_str()))
    {
        return Err(NError::body(format_args!(
            "{p}.{k} should be not present, instead was `{}`",
            short(&dm[k])
        )));
    }
    let mut data = Value::Object(dm.clone());
    if TEXT_TYPES.contains(&kind.as_str()) {
        let rt = dm.get("rich_text").ok_or_else(|| {
            NError::body(format_args!(
                "{p}.rich_text should be defined, instead was `undefined`"
            ))
        })?;
        check_rich(rt, &format!("{p}.rich_text"))?;
        if data.get("color").is_none() && kind != "code" && kind != "template" {
            data["color"] = json!("default");
        }
    }
    if let Some(c) = dm.get("caption") {
        check_rich(c, &format!("{p}.caption"))?;
    }
    match kind.as_str() {
        "to_do" if data.get("checked").is_none() => data["checked"] = json!(false),
        "heading_1" | "heading_2" | "heading_3" | "heading_4"
            if data.get("is_toggleable").is_none() =>
        {
            data["is_toggleable"] = json!(false)
        }
        "code" => {
            if data.get("language").is_none() {
                data["language"] = json!("plain text");
            }
            if data.get("caption").is_none() {
                data["caption"] = json!([]);
            }
        }
        "callout" if data.get("icon").is_none() => data["icon"] = Value::Null,
        "equation" => {
            let e = dm
                .get("expression")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    NError::body(format_args!(
                        "{p}.expression should be defined, instead was `undefined`"
                    ))
                })?;
            if utf16(e) > MAX_EQUATION {
                return Err(too_long(&format!("{p}.expression"), MAX_EQUATION, utf16(e)));
            }
        }
        "bookmark" | "embed" => {
            let u = dm.get("url").and_then(Value::as_str).ok_or_else(|| {
                NError::body(format_args!(
                    "{p}.url should be defined, instead was `undefined`"
                ))
            })?;
            if utf16(u) > MAX_URL {
                return Err(too_long(&format!("{p}.url"), MAX_URL, utf16(u)));
            }
            if data.get("caption").is_none() {
                data["caption"] = json!([]);
            }
        }
        "link_to_page" => {
            let target = dm
                .get("page_id")
                .or(dm.get("database_id"))
                .and_then(Value::as_str)
                .and_then(super::api::norm_id)
                .ok_or_else(|| {
                    NError::body(format_args!(
                        "{p}.page_id should be a valid uuid, instead was `undefined`"
                    ))
                })?;
            let ty = if dm.contains_key("page_id") {
                "page_id"
            } else {
                "database_id"
            };
            data = json!({"type": ty, ty: target});
        }
        "table" => {
            let w = dm
                .get("table_width")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    NError::body(format_args!(
                        "{p}.table_width should be defined, instead was `undefined`"
                    ))
                })?;
            let rows = dm.get("children").and_then(Value::as_array);
            if rows.is_none_or(|r| r.is_empty()) {
                return Err(NError::body(format_args!(
                    "{p}.children should be defined, instead was `undefined`"
                )));
            }
            for (i, r) in rows.into_iter().flatten().enumerate() {
                let cells = r
                    .get("table_row")
                    .and_then(|t| t.get("cells"))
                    .and_then(Value::as_array);
                match cells {
                    Some(c) if c.len() as u64 == w => {
                        for (j, cell) in c.iter().enumerate() {
                            check_rich(cell, &format!("{p}.children[{i}].table_row.cells[{j}]"))?;
                        }
                    }
                    _ => {
                        return Err(NError::validation(
                            "Number of cells in table row must match the table width of the parent table.",
                        ));
                    }
                }
            }
            for k in ["has_column_header", "has_row_header"] {
                if data.get(k).is_none() {
                    data[k] = json!(false);
                }
            }
        }
        "column_list" => {
            let cols = dm.get("children").and_then(Value::as_array);
            if cols.is_none_or(|c| c.len() < 2) {
                return Err(NError::validation(
                    "A column list must be created with at least two columns.",
                ));
            }
        }
        "synced_block" => {
            if let Some(Value::Object(sf)) = dm.get("synced_from") {
                let id = sf
                    .get("block_id")
                    .and_then(Value::as_str)
                    .and_then(super::api::norm_id)
                    .filter(|id| ws.blocks.get(id).is_some_and(|b| b.kind == "synced_block"))
                    .ok_or_else(|| {
                        NError::validation(format!(
                            "{p}.synced_from.block_id must be an existing original synced block."
                        ))
                    })?;
                data = json!({"synced_from": {"type": "block_id", "block_id": id}});
            } else {
                data = json!({"synced_from": null});
            }
        }
        k if MEDIA.contains(&k) => {
            data = media(ws, dm, &p)?;
            if k == "file" && data.get("name").is_none() {
                let name = dm
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        data.get("file")
                            .and_then(|f| f.get("sim_file_id"))
                            .and_then(Value::as_str)
                            .and_then(|id| ws.files.get(id))
                            .map(|f| f.name.clone())
                    })
                    .unwrap_or_default();
                data["name"] = json!(name);
            }
        }
        _ => {}
    }
    let children = match dm.get("children") {
        None | Some(Value::Null) => Vec::new(),
        Some(c) if level >= 3 => {
            return Err(NError::body(format_args!(
                "{p}.children should be not present, instead was `{}`",
                short(c)
            )));
        }
        Some(c) => check_children(ws, Some(c), &format!("{p}.children"), level + 1, count)?,
    };
    if let Some(o) = data.as_object_mut() {
        o.remove("children");
    }
    normalize_data(ws, &mut data);
    Ok(NewBlock {
        kind,
        data,
        children,
    })
}

/// The fields a request block's type object may have (`None`: not checked).
fn allowed_keys(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "paragraph" | "callout" => &["rich_text", "color", "icon", "children"],
        "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
            &["rich_text", "color", "is_toggleable", "children"]
        }
        "bulleted_list_item" | "toggle" | "quote" | "template" => {
            &["rich_text", "color", "children"]
        }
        "numbered_list_item" => &[
            "rich_text",
            "color",
            "children",
            "list_start_index",
            "list_format",
        ],
        "to_do" => &["rich_text", "color", "checked", "children"],
        "code" => &["rich_text", "language", "caption"],
        "equation" => &["expression"],
        "divider" | "breadcrumb" => &[],
        "table_of_contents" => &["color"],
        "bookmark" | "embed" => &["url", "caption"],
        "image" | "pdf" | "video" | "audio" => &["type", "external", "file_upload", "caption"],
        "file" => &["type", "external", "file_upload", "caption", "name"],
        _ => return None,
    })
}

/// A media block's source: `external` (URL checked) or `file_upload` (an uploaded upload,
/// stored as the hosted file); `file` cannot be written.
fn media(ws: &Workspace, dm: &serde_json::Map<String, Value>, p: &str) -> Result<Value, NError> {
    let caption = dm.get("caption").cloned().unwrap_or(json!([]));
    if let Some(e) = dm.get("external") {
        let u = e.get("url").and_then(Value::as_str).ok_or_else(|| {
            NError::body(format_args!(
                "{p}.external.url should be defined, instead was `undefined`"
            ))
        })?;
        if utf16(u) > MAX_URL {
            return Err(too_long(&format!("{p}.external.url"), MAX_URL, utf16(u)));
        }
        return Ok(json!({"caption": caption, "type": "external", "external": {"url": u}}));
    }
    if let Some(f) = dm.get("file_upload") {
        let file_id = file_upload_file(ws, f, &format!("{p}.file_upload"))?;
        return Ok(json!({"caption": caption, "type": "file", "file": {"sim_file_id": file_id}}));
    }
    Err(NError::body(format_args!(
        "{p}.external should be defined, instead was `undefined`"
    )))
}

/// The hosted file behind `{id}` of an uploaded file upload.
pub fn file_upload_file(ws: &Workspace, f: &Value, p: &str) -> Result<String, NError> {
    let id = f
        .get("id")
        .and_then(Value::as_str)
        .and_then(super::api::norm_id)
        .ok_or_else(|| {
            NError::body(format_args!(
                "{p}.id should be a valid uuid, instead was `{}`",
                short(f.get("id").unwrap_or(&Value::Null))
            ))
        })?;
    let up = ws
        .uploads
        .get(&id)
        .ok_or_else(|| NError::not_found("file upload", &id))?;
    match (&up.status[..], &up.file_id) {
        ("uploaded", Some(fid)) => Ok(fid.clone()),
        _ => Err(NError::validation(format!(
            "File upload with ID: {id} is in status `{}` and cannot be attached; send its content first.",
            up.status
        ))),
    }
}

/// Stores checked blocks under `parent`; returns their ids.
pub fn insert(
    ws: &mut Workspace,
    parent: &Parent,
    blocks: Vec<NewBlock>,
    who: &str,
    now: i64,
) -> Vec<String> {
    let mut ids = Vec::new();
    for b in blocks {
        let id = ws.new_id();
        let kids = insert(ws, &Parent::Block(id.clone()), b.children, who, now);
        ws.blocks.insert(
            id.clone(),
            NBlock {
                id: id.clone(),
                parent: parent.clone(),
                kind: b.kind,
                data: b.data,
                children: kids,
                created_time: now,
                created_by: who.into(),
                last_edited_time: now,
                last_edited_by: who.into(),
                in_trash: false,
            },
        );
        ids.push(id);
    }
    ids
}
