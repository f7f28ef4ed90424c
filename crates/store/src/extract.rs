//! From a [`Row`] to the values of its table's columns, by the catalog. Pure: no database.

use serde_json::Value;

use crate::batch::Row;
use crate::error::{Result, StoreError};
use crate::schema::{ColumnDef, ColumnType, Source, TableDef};
use crate::time;

/// A value bound to a statement. Timestamps (normalised) and JSON travel as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

impl SqlValue {
    pub(crate) fn is_null(&self) -> bool {
        matches!(
            self,
            SqlValue::Text(None) | SqlValue::Int(None) | SqlValue::Bool(None)
        )
    }

    /// As JSON (for keys compared in memory).
    pub(crate) fn to_json(&self) -> Value {
        match self {
            SqlValue::Text(Some(s)) => Value::String(s.clone()),
            SqlValue::Int(Some(i)) => Value::from(*i),
            SqlValue::Bool(Some(b)) => Value::Bool(*b),
            _ => Value::Null,
        }
    }
}

/// A row ready to bind: one value per typed column (catalog order), then `raw`.
#[derive(Debug, Clone)]
pub(crate) struct Extracted {
    pub values: Vec<SqlValue>,
    pub raw: String,
    pub key: Vec<Value>,
    pub version: Option<i64>,
}

/// A short name for the object in errors: its id (or key fields) when they can be read.
pub(crate) fn describe_object(table: &TableDef, row: &Row) -> String {
    for ptr in ["/id", "/accountId", "/number", "/key", "/name"] {
        if let Some(v) = row
            .raw
            .pointer(ptr)
            .filter(|v| v.is_string() || v.is_number())
        {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let ctx: Vec<String> = table
                .primary_key
                .iter()
                .filter_map(|k| row.context.get(*k).map(|v| format!("{k}={v}")))
                .collect();
            return if ctx.is_empty() {
                format!("{}={shown}", &ptr[1..])
            } else {
                format!("{}={shown} ({})", &ptr[1..], ctx.join(", "))
            };
        }
    }
    "(without an id)".to_string()
}

fn bad(table: &TableDef, row: &Row, field: String, problem: String) -> StoreError {
    StoreError::BadRow {
        table: table.name.to_string(),
        object: describe_object(table, row),
        field,
        problem,
    }
}

fn source_name(s: &Source) -> String {
    match s {
        Source::Json(p) => format!("JSON {p}"),
        Source::Context(k) => format!("context {k:?}"),
        Source::FirstOf(list) => list
            .iter()
            .map(source_name)
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn lookup<'a>(s: &Source, row: &'a Row) -> Option<&'a Value> {
    match s {
        Source::Json(p) => row.raw.pointer(p).filter(|v| !v.is_null()),
        Source::Context(k) => row.context.get(*k).filter(|v| !v.is_null()),
        Source::FirstOf(list) => list.iter().find_map(|s| lookup(s, row)),
    }
}

/// `v` as a value of column `c`.
pub(crate) fn convert(c: &ColumnDef, v: Option<&Value>) -> std::result::Result<SqlValue, String> {
    let Some(v) = v else {
        return Ok(match c.ty {
            ColumnType::Integer => SqlValue::Int(None),
            ColumnType::Boolean => SqlValue::Bool(None),
            _ => SqlValue::Text(None),
        });
    };
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    match c.ty {
        ColumnType::Text => match v {
            Value::String(s) => Ok(SqlValue::Text(Some(s.clone()))),
            Value::Number(n) => Ok(SqlValue::Text(Some(n.to_string()))),
            other => Err(format!("expected a string, found {}", kind(other))),
        },
        ColumnType::Integer => match v.as_i64() {
            Some(i) => Ok(SqlValue::Int(Some(i))),
            None => Err(format!("expected an integer, found {} ({v})", kind(v))),
        },
        ColumnType::Boolean => match v {
            Value::Bool(b) => Ok(SqlValue::Bool(Some(*b))),
            other => Err(format!("expected a boolean, found {}", kind(other))),
        },
        ColumnType::Timestamp => match v {
            Value::String(s) => time::normalize(s)
                .map(|t| SqlValue::Text(Some(t)))
                .ok_or_else(|| format!("{s:?} is not an RFC 3339 date-time")),
            Value::Number(n) => n
                .as_i64()
                .filter(|ms| ms.unsigned_abs() < 253_402_300_800_000)
                .map(|ms| SqlValue::Text(Some(time::format_millis(ms))))
                .ok_or_else(|| format!("{n} is not epoch milliseconds")),
            other => Err(format!(
                "expected a date-time string or epoch milliseconds, found {}",
                kind(other)
            )),
        },
        ColumnType::Json => Ok(SqlValue::Text(Some(v.to_string()))),
    }
}

fn find_nul(v: &Value, path: &mut String) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().enumerate().any(|(i, x)| {
            let len = path.len();
            path.push_str(&format!("/{i}"));
            let found = find_nul(x, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(m) => m.iter().any(|(k, x)| {
            let len = path.len();
            path.push('/');
            path.push_str(k);
            let found = k.contains('\0') || find_nul(x, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

/// The column values of `row` for `table`, or the first problem with it.
pub(crate) fn extract(table: &TableDef, row: &Row) -> Result<Extracted> {
    if !row.raw.is_object() {
        return Err(bad(
            table,
            row,
            "raw".into(),
            "the object's JSON must be a JSON object".into(),
        ));
    }
    let mut path = String::new();
    if find_nul(&row.raw, &mut path) {
        return Err(bad(
            table,
            row,
            format!("raw{path}"),
            "contains U+0000, which PostgreSQL cannot store in text or JSONB; strip it before \
             writing"
                .into(),
        ));
    }
    let mut values = Vec::with_capacity(table.columns.len());
    let mut key = vec![Value::Null; table.primary_key.len()];
    let mut version = None;
    for c in table.columns {
        let v = convert(c, lookup(&c.source, row)).map_err(|p| {
            bad(
                table,
                row,
                format!("{} ({})", c.name, source_name(&c.source)),
                p,
            )
        })?;
        if c.required && v.is_null() {
            let what = if table.is_key(c.name) {
                "a primary-key field"
            } else {
                "a required field"
            };
            let hint = match c.source {
                Source::Context(k) => format!("; pass it with Row::with({k:?}, …)"),
                Source::FirstOf(list) if list.iter().any(|s| matches!(s, Source::Context(_))) => {
                    "; when the JSON lacks it, pass it in the row's context".to_string()
                }
                _ => String::new(),
            };
            return Err(bad(
                table,
                row,
                format!("{} ({})", c.name, source_name(&c.source)),
                format!("{what} is missing{hint}"),
            ));
        }
        if let Some(i) = table.primary_key.iter().position(|k| *k == c.name) {
            key[i] = v.to_json();
        }
        if table.version_column == Some(c.name)
            && let SqlValue::Int(n) = v
        {
            version = n;
        }
        values.push(v);
    }
    Ok(Extracted {
        values,
        raw: row.raw.to_string(),
        key,
        version,
    })
}

/// The primary key of `row` as JSON values, when every key column can be read (also for a row
/// whose other fields are bad): how a quarantined record is known again.
pub(crate) fn key_of(table: &TableDef, row: &Row) -> Option<Vec<Value>> {
    table
        .primary_key
        .iter()
        .map(|k| {
            let c = table.column(k)?;
            match convert(c, lookup(&c.source, row)) {
                Ok(v) if !v.is_null() => Some(v.to_json()),
                _ => None,
            }
        })
        .collect()
}

/// A primary key given by a caller, checked and converted.
pub(crate) fn key_values(table: &TableDef, key: &[Value]) -> Result<Vec<SqlValue>> {
    if key.len() != table.primary_key.len() {
        return Err(StoreError::BadRow {
            table: table.name.into(),
            object: Value::Array(key.to_vec()).to_string(),
            field: table.primary_key.join(", "),
            problem: format!(
                "a key of {} has {} values, {} given",
                table.name,
                table.primary_key.len(),
                key.len()
            ),
        });
    }
    table
        .primary_key
        .iter()
        .zip(key)
        .map(|(k, v)| {
            let c = table.column(k).expect("keys are columns (catalog test)");
            match convert(c, Some(v).filter(|v| !v.is_null())) {
                Ok(x) if !x.is_null() => Ok(x),
                Ok(_) => Err("a key value cannot be null".to_string()),
                Err(e) => Err(e),
            }
            .map_err(|problem| StoreError::BadRow {
                table: table.name.into(),
                object: Value::Array(key.to_vec()).to_string(),
                field: k.to_string(),
                problem,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::table;
    use serde_json::json;

    #[test]
    fn extracts_typed_columns_and_keys() {
        let t = table("page_labels").unwrap();
        let row = Row::new(
            "page_labels",
            json!({"id": "7", "name": "howto", "prefix": "global"}),
        )
        .with("page_id", "42");
        let e = extract(t, &row).unwrap();
        assert_eq!(e.key, vec![json!("42"), json!("7")]);
        assert_eq!(e.values[2], SqlValue::Text(Some("howto".into())));

        let err = extract(t, &Row::new("page_labels", json!({"id": "7"}))).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("page_labels") && msg.contains("id=7") && msg.contains("page_id"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_types_are_named() {
        let t = table("pages").unwrap();
        let row = Row::new(
            "pages",
            json!({"id": "1", "spaceId": "9", "version": {"number": "three"}}),
        );
        let msg = extract(t, &row).unwrap_err().to_string();
        assert!(
            msg.contains("pages")
                && msg.contains("id=1")
                && msg.contains("version_number")
                && msg.contains("/version/number")
                && msg.contains("integer"),
            "{msg}"
        );
        let row = Row::new(
            "pages",
            json!({"id": "1", "spaceId": "9", "createdAt": "soon"}),
        );
        assert!(
            extract(t, &row)
                .unwrap_err()
                .to_string()
                .contains("RFC 3339")
        );
        let row = Row::new(
            "pages",
            json!({"id": "1", "spaceId": "9", "title": "a\u{0}b"}),
        );
        assert!(
            extract(t, &row)
                .unwrap_err()
                .to_string()
                .contains("raw/title")
        );
    }
}
