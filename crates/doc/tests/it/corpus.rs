//! Round trips over the shared real-world corpus (`../shared/corpus/confluence-storage`).
//! The folder is enumerated, so a new file is covered automatically.

use kb_doc::{storage, text};

use crate::support::{corpus_dir, files_with_suffix};
use crate::xmlnorm;

fn storage_files() -> Option<Vec<std::path::PathBuf>> {
    let real = corpus_dir("confluence-storage/real-cloud")?;
    let md2conf = corpus_dir("confluence-storage/md2conf")?;
    let mut v = files_with_suffix(&real, ".xhtml");
    v.extend(files_with_suffix(&md2conf, ".xml"));
    assert!(
        v.len() >= 43 + 30,
        "corpus unexpectedly small: {} files",
        v.len()
    );
    Some(v)
}

/// Every corpus body reads; storage → IR → storage → IR is a fixed point; the written storage
/// has the same plain text as the original.
#[test]
fn corpus_storage_reads_and_round_trips_to_a_fixed_point() {
    let Some(files) = storage_files() else { return };
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let ir1 = match storage::read(&src) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: read failed: {e}"));
                continue;
            }
        };
        // The IR's JSON form (what `convert --to ir` prints) reads back to the same IR.
        let json = serde_json::to_string(&ir1).unwrap();
        match serde_json::from_str::<kb_doc::Document>(&json) {
            Ok(back) if back == ir1 => {}
            Ok(_) => failures.push(format!("{name}: IR JSON does not read back to the same IR")),
            Err(e) => failures.push(format!("{name}: IR JSON does not read back: {e}")),
        }
        let out = storage::write(&ir1);
        let ir2 = match storage::read(&out) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: re-read of written storage failed: {e}"));
                continue;
            }
        };
        if ir1 != ir2 {
            let j1 = serde_json::to_string_pretty(&ir1).unwrap();
            let j2 = serde_json::to_string_pretty(&ir2).unwrap();
            let line = j1
                .lines()
                .zip(j2.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.push(format!(
                "{name}: IR not a fixed point; first differing JSON line {line}: {:?} vs {:?}",
                j1.lines().nth(line),
                j2.lines().nth(line)
            ));
        }
        let t1 = xmlnorm::plain_text(&src);
        let t2 = xmlnorm::plain_text(&out);
        if t1 != t2 {
            let i = t1
                .chars()
                .zip(t2.chars())
                .position(|(a, b)| a != b)
                .unwrap_or(t1.len().min(t2.len()));
            failures.push(format!(
                "{name}: plain text differs at char {i}: {:?} vs {:?}",
                t1.chars()
                    .skip(i.saturating_sub(20))
                    .take(60)
                    .collect::<String>(),
                t2.chars()
                    .skip(i.saturating_sub(20))
                    .take(60)
                    .collect::<String>()
            ));
        }
        // The IR's own plain-text renderer shows nothing that is not in the source: every word of
        // it (letters and digits only) occurs in the source's text or attribute values (emoji
        // short names and macro parameters live in attributes).
        let ir_text = text::to_text(&ir1);
        let alnum = |s: &str| {
            s.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        };
        let haystack = alnum(&(t1.clone() + &xmlnorm::attribute_values(&src)));
        for w in ir_text.split_whitespace().take(5000) {
            let w = alnum(w);
            if !w.is_empty() && !haystack.contains(&w) {
                failures.push(format!("{name}: IR text has {w:?} which the source lacks"));
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Written storage is semantically equal to the original for the real-cloud pages (same
/// elements, attributes and text after normalising attribute order, entity spelling, macro
/// parameter order and insignificant whitespace). Prints the tally; every page must be equal.
#[test]
fn corpus_real_cloud_storage_is_semantically_preserved() {
    let Some(real) = corpus_dir("confluence-storage/real-cloud") else {
        return;
    };
    let files = files_with_suffix(&real, ".xhtml");
    assert_eq!(files.len(), 43, "the real-cloud corpus holds 43 pages");
    let mut unequal = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let out = storage::write(&storage::read(&src).unwrap());
        let a = xmlnorm::parse(&src);
        let b = xmlnorm::parse(&out);
        if let Some(d) = xmlnorm::first_diff(&a, &b) {
            unequal.push(format!("{}: {d}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    eprintln!(
        "real-cloud semantic equality: {} of {} pages equal",
        files.len() - unequal.len(),
        files.len()
    );
    assert!(
        unequal.is_empty(),
        "{} pages differ:\n{}",
        unequal.len(),
        unequal.join("\n")
    );
}

/// The md2conf bodies (generated by another tool) are semantically preserved too.
#[test]
fn corpus_md2conf_storage_is_semantically_preserved() {
    let Some(dir) = corpus_dir("confluence-storage/md2conf") else {
        return;
    };
    let files = files_with_suffix(&dir, ".xml");
    let mut unequal = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let out = storage::write(&storage::read(&src).unwrap());
        if let Some(d) = xmlnorm::first_diff(&xmlnorm::parse(&src), &xmlnorm::parse(&out)) {
            unequal.push(format!("{}: {d}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    eprintln!(
        "md2conf semantic equality: {} of {} files equal",
        files.len() - unequal.len(),
        files.len()
    );
    assert!(
        unequal.is_empty(),
        "{} files differ:\n{}",
        unequal.len(),
        unequal.join("\n")
    );
}
