//! The configuration reference, rendered from the model's JSON schema (whose descriptions are
//! the doc comments of [`crate::model`]). `docs/config.md` holds it between two markers; a test
//! fails when the two differ, so the reference cannot drift from the code.

use serde_json::Value;

use crate::model::ConfigFile;

/// The line before the generated reference in `docs/config.md`.
pub const BEGIN: &str = "<!-- BEGIN GENERATED REFERENCE (kbridge config reference) -->";
/// The line after it.
pub const END: &str = "<!-- END GENERATED REFERENCE -->";

/// The JSON schema of `kbridge.toml`.
pub fn schema() -> Value {
    schemars::schema_for!(ConfigFile).to_value()
}

/// The reference as Markdown: one section per table of the file, one row per key.
pub fn markdown() -> String {
    let root = schema();
    let mut out = String::new();
    let props = root.get("properties").cloned().unwrap_or(Value::Null);
    let Value::Object(props) = props else {
        return out;
    };
    for (name, prop) in props {
        let desc = description(&prop);
        let target = deref(&root, &prop);
        if let Some(variants) = map_values(&root, &target) {
            out.push_str(&format!("### `[{name}.NAME]`\n\n{desc}\n\n"));
            for v in variants {
                let v = merged(&root, &v);
                let kind = v
                    .pointer("/properties/kind/const")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                out.push_str(&format!(
                    "#### `kind = \"{kind}\"`\n\n{}\n\n",
                    description(&v)
                ));
                table(&mut out, &root, &v, &["kind"]);
            }
        } else {
            section(&mut out, &root, &format!("[{name}]"), &desc, &target);
        }
    }
    out
}

/// A table's section, then one section per nested table (`[km.filters]`) and per list of
/// tables (`[[km.jobs]]`).
fn section(out: &mut String, root: &Value, header: &str, desc: &str, target: &Value) {
    out.push_str(&format!("### `{header}`\n\n{desc}\n\n"));
    table(out, root, target, &[]);
    let Some(Value::Object(props)) = target.get("properties") else {
        return;
    };
    let base = header.trim_matches(['[', ']']);
    for (k, p) in props {
        let sub = deref(root, p);
        if sub.get("properties").is_some() {
            section(out, root, &format!("[{base}.{k}]"), &description(p), &sub);
        } else if let Some(items) = sub.get("items") {
            let item = deref(root, items);
            if item.get("properties").is_some() {
                section(
                    out,
                    root,
                    &format!("[[{base}.{k}]]"),
                    &description(p),
                    &item,
                );
            }
        }
    }
}

/// The variants of a `BTreeMap<String, Enum>`'s values, if `v` is one.
fn map_values(root: &Value, v: &Value) -> Option<Vec<Value>> {
    let add = v.get("additionalProperties")?;
    let add = deref(root, add);
    add.get("oneOf")
        .or_else(|| add.get("anyOf"))
        .and_then(Value::as_array)
        .cloned()
}

/// A variant may be `$ref` plus its own `properties` (the tag): merge them.
fn merged(root: &Value, v: &Value) -> Value {
    let mut base = deref(root, v);
    if let (Some(Value::Object(own)), Value::Object(b)) = (v.get("properties"), &mut base) {
        let props = b
            .entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(p) = props {
            for (k, x) in own {
                p.insert(k.clone(), x.clone());
            }
        }
    }
    if let (Some(d), Value::Object(b)) = (v.get("description"), &mut base) {
        b.insert("description".into(), d.clone());
    }
    base
}

fn table(out: &mut String, root: &Value, obj: &Value, skip: &[&str]) {
    let Some(Value::Object(props)) = obj.get("properties") else {
        return;
    };
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("| key | type | |\n|---|---|---|\n");
    for (k, p) in props {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let ty = type_name(root, p);
        let req = if required.contains(&k.as_str()) {
            " (required)"
        } else {
            ""
        };
        out.push_str(&format!(
            "| `{k}` | {ty}{req} | {} |\n",
            description(p).replace('\n', " ").replace('|', "\\|")
        ));
    }
    out.push('\n');
}

fn type_name(root: &Value, p: &Value) -> String {
    let p = deref(root, p);
    if let Some(alts) = p.get("anyOf").and_then(Value::as_array) {
        let names: Vec<String> = alts
            .iter()
            .map(|a| type_name(root, a))
            .filter(|n| n != "null")
            .collect();
        return names.join(" or ");
    }
    let ty = match p.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "value".into(),
    };
    match ty.as_str() {
        "array" => match p.get("items") {
            Some(i) => format!("list of {}", type_name(root, i)),
            None => "list".into(),
        },
        "object" => "table".into(),
        t => t.to_string(),
    }
}

fn description(v: &Value) -> String {
    v.get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Follows a `$ref` (`#/$defs/X`), also inside a one-element `anyOf` with `null` (an `Option`).
fn deref(root: &Value, v: &Value) -> Value {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let path = r.trim_start_matches('#');
        if let Some(t) = root.pointer(path) {
            return deref(root, t);
        }
    }
    if let Some(alts) = v.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let [one] = non_null[..]
            && one.get("$ref").is_some()
        {
            let mut d = deref(root, one);
            if let (Some(desc), Value::Object(m)) = (v.get("description"), &mut d) {
                m.insert("description".into(), desc.clone());
            }
            return d;
        }
    }
    v.clone()
}
