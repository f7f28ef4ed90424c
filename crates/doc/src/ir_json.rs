//! The IR's JSON form (`convert --to ir` / `--from ir`). serde_json's default recursion limit
//! (128) is below what the readers produce (each list level is several JSON levels), so the
//! reader lifts it and applies its own guard instead: JSON nesting past [`MAX_JSON_DEPTH`] is an
//! error with its place, before anything recurses.

use crate::{Document, ReadError};

/// Deepest JSON nesting read back. Every document the readers produce stays below it: the
/// deepest storage body ([`crate::storage::MAX_DEPTH`] elements) needs at most 4 JSON levels
/// per element.
pub const MAX_JSON_DEPTH: usize = 4 * crate::storage::MAX_DEPTH + 16;

/// Writes the IR as pretty JSON, within the depth policy ([`crate::depth::limit`]).
pub fn write(doc: &Document) -> Result<String, serde_json::Error> {
    write_report(doc).map(|w| w.output)
}

/// [`write()`](fn@write), and the places where nesting past the depth policy was lifted.
pub fn write_report(doc: &Document) -> Result<crate::Written, serde_json::Error> {
    let (doc, fallbacks) = crate::depth::limit(doc);
    Ok(crate::Written {
        output: serde_json::to_string_pretty(&*doc)?,
        fallbacks,
    })
}

/// Reads the IR's JSON form.
pub fn read(input: &str) -> Result<Document, ReadError> {
    check_depth(input)?;
    let mut de = serde_json::Deserializer::from_str(input);
    de.disable_recursion_limit();
    let doc = serde::Deserialize::deserialize(&mut de).map_err(|e| json_error(input, &e))?;
    de.end().map_err(|e| json_error(input, &e))?;
    Ok(doc)
}

fn json_error(input: &str, e: &serde_json::Error) -> ReadError {
    // serde_json counts lines and columns from 1; find the byte offset of that place.
    let line_start: usize = input
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let offset = input[line_start.min(input.len())..]
        .char_indices()
        .nth(e.column().saturating_sub(1))
        .map_or(input.len(), |(i, _)| line_start + i);
    let msg = e.to_string();
    let cause = msg
        .rsplit_once(" at line ")
        .map_or(msg.as_str(), |(c, _)| c);
    ReadError::at(
        "ir",
        input,
        offset,
        format!("not a kbridge IR document: {cause} (write it with `kbridge convert --to ir`)"),
    )
}

/// Fails when arrays/objects nest deeper than [`MAX_JSON_DEPTH`] (strings are skipped).
fn check_depth(input: &str) -> Result<(), ReadError> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for (i, b) in input.bytes().enumerate() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(ReadError::at(
                        "ir",
                        input,
                        i,
                        format!(
                            "JSON nested deeper than {MAX_JSON_DEPTH} levels; no document kbridge writes nests this deep"
                        ),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
