//! Data source (and legacy database) queries: filters (property filters by type, timestamp
//! filters, `and`/`or` compounds) compiled once against the schema, then evaluated per row;
//! sorts by property or timestamp.

use std::cmp::Ordering;

use serde_json::Value;

use super::api::{NError, short};
use super::handlers::cmp_opt;
use super::model::*;
use super::render::Ctx;

const DAY: i64 = crate::time::MS_PER_DAY;

#[derive(Debug)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    /// A property (its schema), the filter type (`title`, `number`… or the formula's result
    /// type), the condition and its value.
    Prop {
        schema: Box<PropSchema>,
        ftype: String,
        cond: String,
        value: Value,
    },
    /// A rollup: `any`/`every`/`none` of its array's items meet the filter of type `ftype`,
    /// or its `number`/`date` result does.
    Rollup {
        schema: Box<PropSchema>,
        mode: String,
        ftype: String,
        cond: String,
        value: Value,
    },
    /// `created_time` or `last_edited_time` of the row.
    Time {
        which: String,
        cond: String,
        value: Value,
    },
}

fn conds(ftype: &str) -> &'static [&'static str] {
    match ftype {
        "title" | "rich_text" | "url" | "email" | "phone_number" | "string" => &[
            "equals",
            "does_not_equal",
            "contains",
            "does_not_contain",
            "starts_with",
            "ends_with",
            "is_empty",
            "is_not_empty",
        ],
        "number" => &[
            "equals",
            "does_not_equal",
            "greater_than",
            "less_than",
            "greater_than_or_equal_to",
            "less_than_or_equal_to",
            "is_empty",
            "is_not_empty",
        ],
        "checkbox" => &["equals", "does_not_equal"],
        "select" | "status" => &["equals", "does_not_equal", "is_empty", "is_not_empty"],
        "multi_select" | "people" | "relation" | "created_by" | "last_edited_by" => {
            &["contains", "does_not_contain", "is_empty", "is_not_empty"]
        }
        "date" | "created_time" | "last_edited_time" => &[
            "equals",
            "before",
            "after",
            "on_or_before",
            "on_or_after",
            "is_empty",
            "is_not_empty",
        ],
        _ => &[],
    }
}

/// The filter type a property takes (`created_time` properties take `date` too).
fn filter_key(kind: &str) -> &str {
    kind
}

fn one_condition(
    obj: &serde_json::Map<String, Value>,
    ftype: &str,
    path: &str,
) -> Result<(String, Value), NError> {
    let allowed = conds(ftype);
    let mut it = obj.iter();
    let Some((cond, value)) = it.next() else {
        return Err(NError::body(format_args!(
            "{path} should have one condition of {}, instead was `{{}}`",
            allowed.join(", ")
        )));
    };
    if !allowed.contains(&cond.as_str()) || it.next().is_some() {
        return Err(NError::body(format_args!(
            "{path}.{cond} is not a {ftype} filter condition; use one of {}",
            allowed.join(", ")
        )));
    }
    if matches!(ftype, "date" | "created_time" | "last_edited_time")
        && !matches!(cond.as_str(), "is_empty" | "is_not_empty")
        && value.as_str().and_then(crate::time::parse_iso).is_none()
    {
        return Err(NError::body(format_args!(
            "{path}.{cond} should be a valid ISO 8601 date string, instead was `{}`",
            short(value)
        )));
    }
    Ok((cond.clone(), value.clone()))
}

pub fn compile(db: &NDatabase, f: &Value, path: &str, depth: usize) -> Result<Filter, NError> {
    let Some(m) = f.as_object() else {
        return Err(NError::body(format_args!(
            "{path} should be an object, instead was `{}`",
            short(f)
        )));
    };
    for (k, ctor) in [
        ("and", Filter::And as fn(Vec<Filter>) -> Filter),
        ("or", Filter::Or),
    ] {
        if let Some(list) = m.get(k) {
            if depth >= 2 {
                return Err(NError::body(format_args!(
                    "{path}.{k} is nested too deeply: compound filters support two levels of nesting"
                )));
            }
            let a = list.as_array().ok_or_else(|| {
                NError::body(format_args!(
                    "{path}.{k} should be an array, instead was `{}`",
                    short(list)
                ))
            })?;
            let parts = a
                .iter()
                .enumerate()
                .map(|(i, x)| compile(db, x, &format!("{path}.{k}[{i}]"), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(ctor(parts));
        }
    }
    if let Some(ts) = m.get("timestamp").and_then(Value::as_str) {
        if ts != "created_time" && ts != "last_edited_time" {
            return Err(NError::body(format_args!(
                "{path}.timestamp should be either `\"created_time\"` or `\"last_edited_time\"`, instead was `\"{ts}\"`"
            )));
        }
        let inner = m.get(ts).and_then(Value::as_object).ok_or_else(|| {
            NError::body(format_args!(
                "{path}.{ts} should be defined, instead was `undefined`"
            ))
        })?;
        let (cond, value) = one_condition(inner, ts, &format!("{path}.{ts}"))?;
        return Ok(Filter::Time {
            which: ts.into(),
            cond,
            value,
        });
    }
    let Some(pname) = m.get("property").and_then(Value::as_str) else {
        return Err(NError::body(format_args!(
            "{path}.property should be defined, instead was `undefined`"
        )));
    };
    let schema = db.prop(pname).cloned().ok_or_else(|| {
        NError::validation(format!("Could not find property with name or id: {pname}"))
    })?;
    let fkey = m
        .keys()
        .find(|k| *k != "property")
        .cloned()
        .ok_or_else(|| NError::body(format_args!("{path} should have a filter condition")))?;
    let expected = match schema.kind.as_str() {
        "created_time" | "last_edited_time" => "date",
        k => filter_key(k),
    };
    let ok_key = fkey == schema.kind || fkey == expected;
    if !ok_key {
        return Err(NError::validation(format!(
            "database property {} does not match filter {fkey}",
            schema.kind
        )));
    }
    let inner = m.get(&fkey).and_then(Value::as_object).ok_or_else(|| {
        NError::body(format_args!(
            "{path}.{fkey} should be an object, instead was `{}`",
            short(&m[&fkey])
        ))
    })?;
    if schema.kind == "formula" {
        let (rtype, sub) = inner.iter().next().ok_or_else(|| {
            NError::body(format_args!(
                "{path}.formula should name a result type (string, number, checkbox, date)"
            ))
        })?;
        let ftype = match rtype.as_str() {
            "string" | "number" | "checkbox" | "date" => rtype.clone(),
            _ => {
                return Err(NError::body(format_args!(
                    "{path}.formula.{rtype} is not a formula filter; use string, number, checkbox or date"
                )));
            }
        };
        let sub = sub.as_object().ok_or_else(|| {
            NError::body(format_args!("{path}.formula.{rtype} should be an object"))
        })?;
        let (cond, value) = one_condition(sub, &ftype, &format!("{path}.formula.{rtype}"))?;
        return Ok(Filter::Prop {
            schema: Box::new(schema),
            ftype,
            cond,
            value,
        });
    }
    if schema.kind == "rollup" {
        return compile_rollup(schema, inner, &format!("{path}.rollup"));
    }
    if schema.kind == "files" {
        return Err(NError::validation(
            "Filtering on files properties is not supported by the twin.",
        ));
    }
    let ftype = expected.to_string();
    let (cond, value) = one_condition(inner, &ftype, &format!("{path}.{fkey}"))?;
    Ok(Filter::Prop {
        schema: Box::new(schema),
        ftype,
        cond,
        value,
    })
}

/// The filter types a rollup's array items take in `any`/`every`/`none`.
const ROLLUP_ITEM_TYPES: &[&str] = &[
    "rich_text",
    "title",
    "number",
    "checkbox",
    "select",
    "multi_select",
    "status",
    "date",
    "people",
    "relation",
    "url",
    "email",
    "phone_number",
    "created_time",
    "last_edited_time",
    "created_by",
    "last_edited_by",
];

/// `{"rollup": {"any"|"every"|"none": {TYPE: {COND: V}}}}` or `{"rollup": {"number"|"date":
/// {COND: V}}}`, as Notion's filter reference defines the rollup filter.
fn compile_rollup(
    schema: PropSchema,
    inner: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<Filter, NError> {
    let mut it = inner.iter();
    let (mode, sub) = match (it.next(), it.next()) {
        (Some(x), None) => x,
        _ => {
            return Err(NError::body(format_args!(
                "{path} should have exactly one of any, every, none, number, date"
            )));
        }
    };
    let sub = sub.as_object().ok_or_else(|| {
        NError::body(format_args!(
            "{path}.{mode} should be an object, instead was `{}`",
            short(sub)
        ))
    })?;
    let (ftype, cond, value) = match mode.as_str() {
        "any" | "every" | "none" => {
            let mut it = sub.iter();
            let (ty, obj) = match (it.next(), it.next()) {
                (Some(x), None) => x,
                _ => {
                    return Err(NError::body(format_args!(
                        "{path}.{mode} should have one property filter type ({})",
                        ROLLUP_ITEM_TYPES.join(", ")
                    )));
                }
            };
            if !ROLLUP_ITEM_TYPES.contains(&ty.as_str()) {
                return Err(NError::body(format_args!(
                    "{path}.{mode}.{ty} is not a rollup item filter; use one of {}",
                    ROLLUP_ITEM_TYPES.join(", ")
                )));
            }
            let obj = obj.as_object().ok_or_else(|| {
                NError::body(format_args!("{path}.{mode}.{ty} should be an object"))
            })?;
            let ftype = match ty.as_str() {
                "created_time" | "last_edited_time" => "date",
                t => t,
            };
            let (c, v) = one_condition(obj, ftype, &format!("{path}.{mode}.{ty}"))?;
            (ty.clone(), c, v)
        }
        "number" | "date" => {
            let (c, v) = one_condition(sub, mode, &format!("{path}.{mode}"))?;
            (mode.clone(), c, v)
        }
        _ => {
            return Err(NError::body(format_args!(
                "{path}.{mode} is not a rollup filter; use any, every, none, number or date"
            )));
        }
    };
    Ok(Filter::Rollup {
        schema: Box::new(schema),
        mode: mode.clone(),
        ftype,
        cond,
        value,
    })
}

fn text_match(have: &str, cond: &str, v: &Value) -> bool {
    let want = v.as_str().unwrap_or("");
    let (h, w) = (have.to_lowercase(), want.to_lowercase());
    match cond {
        "equals" => have == want,
        "does_not_equal" => have != want,
        "contains" => h.contains(&w),
        "does_not_contain" => !h.contains(&w),
        "starts_with" => h.starts_with(&w),
        "ends_with" => h.ends_with(&w),
        "is_empty" => have.is_empty(),
        "is_not_empty" => !have.is_empty(),
        _ => false,
    }
}

fn num_match(have: Option<f64>, cond: &str, v: &Value) -> bool {
    let want = v.as_f64();
    match (cond, have, want) {
        ("is_empty", h, _) => h.is_none(),
        ("is_not_empty", h, _) => h.is_some(),
        (_, None, _) | (_, _, None) => false,
        ("equals", Some(h), Some(w)) => h == w,
        ("does_not_equal", Some(h), Some(w)) => h != w,
        ("greater_than", Some(h), Some(w)) => h > w,
        ("less_than", Some(h), Some(w)) => h < w,
        ("greater_than_or_equal_to", Some(h), Some(w)) => h >= w,
        ("less_than_or_equal_to", Some(h), Some(w)) => h <= w,
        _ => false,
    }
}

/// Date conditions; a date-only filter value compares by day.
fn date_match(have: Option<i64>, cond: &str, v: &Value) -> bool {
    match cond {
        "is_empty" => return have.is_none(),
        "is_not_empty" => return have.is_some(),
        _ => {}
    }
    let Some(h) = have else { return false };
    let s = v.as_str().unwrap_or("");
    let Some(w) = crate::time::parse_iso(s) else {
        return false;
    };
    let (h, w) = if s.len() <= 10 {
        (h.div_euclid(DAY), w.div_euclid(DAY))
    } else {
        (h, w)
    };
    match cond {
        "equals" => h == w,
        "before" => h < w,
        "after" => h > w,
        "on_or_before" => h <= w,
        "on_or_after" => h >= w,
        _ => false,
    }
}

fn ids_match(have: &[String], cond: &str, v: &Value) -> bool {
    let want = v.as_str().and_then(super::api::norm_id).unwrap_or_default();
    match cond {
        "contains" => have.contains(&want),
        "does_not_contain" => !have.contains(&want),
        "is_empty" => have.is_empty(),
        "is_not_empty" => !have.is_empty(),
        _ => false,
    }
}

pub fn minute(ms: i64) -> i64 {
    ms - ms.rem_euclid(60_000)
}

pub fn eval(r: &Ctx, p: &NPage, db: &NDatabase, f: &Filter) -> bool {
    match f {
        Filter::And(v) => v.iter().all(|x| eval(r, p, db, x)),
        Filter::Or(v) => v.iter().any(|x| eval(r, p, db, x)),
        Filter::Time { which, cond, value } => {
            let t = if which == "created_time" {
                p.created_time
            } else {
                p.last_edited_time
            };
            date_match(Some(minute(t)), cond, value)
        }
        Filter::Prop {
            schema,
            ftype,
            cond,
            value,
        } => {
            let raw = r.raw_value(p, db, schema, false);
            let raw = if schema.kind == "formula" {
                raw.get(raw["type"].as_str().unwrap_or(""))
                    .cloned()
                    .unwrap_or(Value::Null)
            } else {
                raw
            };
            let t = match schema.kind.as_str() {
                "created_time" => Some(minute(p.created_time)),
                "last_edited_time" => Some(minute(p.last_edited_time)),
                _ => None,
            };
            value_match(ftype, &raw, t, cond, value)
        }
        Filter::Rollup {
            schema,
            mode,
            ftype,
            cond,
            value,
        } => {
            let raw = r.raw_value(p, db, schema, false);
            match mode.as_str() {
                "number" => num_match(raw.get("number").and_then(Value::as_f64), cond, value),
                "date" => {
                    let t = raw
                        .pointer("/date/start")
                        .and_then(Value::as_str)
                        .and_then(crate::time::parse_iso);
                    date_match(t, cond, value)
                }
                _ => {
                    // Array items are property values `{type, <type>: …}`; an item of another
                    // type than the filter's never matches it (`title` items take
                    // `rich_text` filters too, as Notion's do).
                    let items: Vec<Value> = match raw.get("array").and_then(Value::as_array) {
                        Some(a) => a.clone(),
                        None => Vec::new(),
                    };
                    let hit = |it: &Value| {
                        let ty = it.get("type").and_then(Value::as_str).unwrap_or("");
                        let same = ty == ftype
                            || (ftype == "rich_text" && ty == "title")
                            || (ftype == "title" && ty == "rich_text");
                        if !same {
                            return false;
                        }
                        let v = it.get(ty).cloned().unwrap_or(Value::Null);
                        let (ft, t) = match ty {
                            "created_time" | "last_edited_time" => (
                                "date",
                                v.as_str().and_then(crate::time::parse_iso).map(minute),
                            ),
                            _ => (ftype.as_str(), None),
                        };
                        value_match(ft, &v, t, cond, value)
                    };
                    match mode.as_str() {
                        "any" => items.iter().any(hit),
                        "every" => items.iter().all(hit),
                        _ => !items.iter().any(hit),
                    }
                }
            }
        }
    }
}

/// Whether property value `raw` (the part under its type; `time` for created/edited times)
/// meets condition `cond` of filter type `ftype`.
fn value_match(ftype: &str, raw: &Value, time: Option<i64>, cond: &str, value: &Value) -> bool {
    match ftype {
        "title" | "rich_text" => text_match(&plain(Some(raw)), cond, value),
        "url" | "email" | "phone_number" | "string" => {
            text_match(raw.as_str().unwrap_or(""), cond, value)
        }
        "number" => num_match(raw.as_f64(), cond, value),
        "checkbox" => {
            let h = raw.as_bool().unwrap_or(false);
            let w = value.as_bool().unwrap_or(false);
            if cond == "equals" { h == w } else { h != w }
        }
        "select" | "status" => {
            let h = raw.get("name").and_then(Value::as_str);
            match cond {
                "equals" => h == value.as_str(),
                "does_not_equal" => h != value.as_str(),
                "is_empty" => h.is_none(),
                _ => h.is_some(),
            }
        }
        "multi_select" => {
            let names: Vec<String> = raw
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["name"].as_str().map(str::to_string))
                .collect();
            let want = value.as_str().unwrap_or("").to_string();
            match cond {
                "contains" => names.contains(&want),
                "does_not_contain" => !names.contains(&want),
                "is_empty" => names.is_empty(),
                _ => !names.is_empty(),
            }
        }
        "people" | "relation" => {
            let ids: Vec<String> = raw
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o.as_str().or_else(|| o["id"].as_str()).map(str::to_string))
                .collect();
            ids_match(&ids, cond, value)
        }
        "created_by" | "last_edited_by" => {
            let ids: Vec<String> = raw
                .as_str()
                .or_else(|| raw["id"].as_str())
                .map(str::to_string)
                .into_iter()
                .collect();
            ids_match(&ids, cond, value)
        }
        "date" => {
            let t = time.or_else(|| {
                raw.get("start")
                    .and_then(Value::as_str)
                    .and_then(crate::time::parse_iso)
            });
            date_match(t, cond, value)
        }
        _ => false,
    }
}

#[derive(Debug)]
pub enum Sort {
    Prop(PropSchema, bool),
    Time(String, bool),
}

pub fn sorts(db: &NDatabase, v: Option<&Value>) -> Result<Vec<Sort>, NError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let a = v.as_array().ok_or_else(|| {
        NError::body(format_args!(
            "body.sorts should be an array, instead was `{}`",
            short(v)
        ))
    })?;
    let mut out = Vec::new();
    for (i, s) in a.iter().enumerate() {
        let asc = match s.get("direction").and_then(Value::as_str) {
            Some("ascending") => true,
            Some("descending") => false,
            _ => {
                return Err(NError::body(format_args!(
                    "body.sorts[{i}].direction should be either `\"ascending\"` or `\"descending\"`, instead was `{}`",
                    short(s.get("direction").unwrap_or(&Value::Null))
                )));
            }
        };
        if let Some(p) = s.get("property").and_then(Value::as_str) {
            let schema = db.prop(p).cloned().ok_or_else(|| {
                NError::validation(format!("Could not find sort property with name or id: {p}"))
            })?;
            out.push(Sort::Prop(schema, asc));
        } else if let Some(t) = s.get("timestamp").and_then(Value::as_str) {
            if t != "created_time" && t != "last_edited_time" {
                return Err(NError::body(format_args!(
                    "body.sorts[{i}].timestamp should be either `\"created_time\"` or `\"last_edited_time\"`, instead was `\"{t}\"`"
                )));
            }
            out.push(Sort::Time(t.into(), asc));
        } else {
            return Err(NError::body(format_args!(
                "body.sorts[{i}].property should be defined, instead was `undefined`"
            )));
        }
    }
    Ok(out)
}

#[derive(PartialEq, PartialOrd)]
enum Key {
    N(f64),
    S(String),
}

fn sort_key(r: &Ctx, p: &NPage, db: &NDatabase, s: &PropSchema) -> Option<Key> {
    let raw = r.raw_value(p, db, s, false);
    match s.kind.as_str() {
        "title" | "rich_text" => Some(plain(Some(&raw)))
            .filter(|x| !x.is_empty())
            .map(|x| Key::S(x.to_lowercase())),
        "number" => raw.as_f64().map(Key::N),
        "checkbox" => Some(Key::N(if raw.as_bool() == Some(true) {
            1.0
        } else {
            0.0
        })),
        "select" | "status" => {
            let opts = s.config["options"].as_array().cloned().unwrap_or_default();
            let name = raw.get("name")?.clone();
            opts.iter()
                .position(|o| o["name"] == name)
                .map(|i| Key::N(i as f64))
        }
        "date" => raw
            .get("start")
            .and_then(Value::as_str)
            .and_then(crate::time::parse_iso)
            .map(|t| Key::N(t as f64)),
        "created_time" => Some(Key::N(minute(p.created_time) as f64)),
        "last_edited_time" => Some(Key::N(minute(p.last_edited_time) as f64)),
        "url" | "email" | "phone_number" => raw.as_str().map(|x| Key::S(x.to_lowercase())),
        "formula" => {
            let t = raw["type"].as_str().unwrap_or("");
            match &raw[t] {
                Value::Number(n) => n.as_f64().map(Key::N),
                Value::String(x) => Some(Key::S(x.to_lowercase())),
                Value::Bool(b) => Some(Key::N(*b as u8 as f64)),
                _ => None,
            }
        }
        "rollup" => raw.get("number").and_then(Value::as_f64).map(Key::N),
        _ => None,
    }
}

/// Sorts rows by `sorts`; without sorts, newest created first. Ties break by id.
pub fn sort_rows(r: &Ctx, db: &NDatabase, sorts: &[Sort], rows: &mut [&NPage]) {
    rows.sort_by(|a, b| {
        for s in sorts {
            let o = match s {
                Sort::Prop(schema, asc) => cmp_opt(
                    &sort_key(r, a, db, schema),
                    &sort_key(r, b, db, schema),
                    *asc,
                ),
                Sort::Time(w, asc) => {
                    let (x, y) = if w == "created_time" {
                        (minute(a.created_time), minute(b.created_time))
                    } else {
                        (minute(a.last_edited_time), minute(b.last_edited_time))
                    };
                    if *asc { x.cmp(&y) } else { y.cmp(&x) }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        if sorts.is_empty() {
            return b
                .created_time
                .cmp(&a.created_time)
                .then_with(|| a.id.cmp(&b.id));
        }
        a.id.cmp(&b.id)
    });
}
