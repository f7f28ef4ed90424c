//! The three-way merge (`kb_doc::merge`): what merges, what conflicts, and the identities any
//! merge must keep.

use kb_doc::ir::Document;
use kb_doc::merge::{Piece, Side, merge};
use kb_doc::storage;
use proptest::prelude::*;

fn doc(xhtml: &str) -> Document {
    storage::read(xhtml).expect("valid storage")
}

fn xml(d: &Document) -> String {
    storage::write(d).trim().to_string()
}

fn merged(base: &str, ours: &str, theirs: &str) -> Option<String> {
    merge(&doc(base), &doc(ours), &doc(theirs))
        .clean()
        .map(|d| xml(&d))
}

const BASE: &str =
    "<h1>Backups</h1><p>Nightly at two.</p><p>Restores are tested monthly.</p><p>Ask ops.</p>";

#[test]
fn edits_to_different_blocks_both_apply() {
    let ours = "<h1>Backups</h1><p>Nightly at three.</p><p>Restores are tested monthly.</p><p>Ask ops.</p>";
    let theirs = "<h1>Backups</h1><p>Nightly at two.</p><p>Restores are tested monthly.</p><p>Ask the SRE team.</p>";
    let m = merged(BASE, ours, theirs).expect("clean");
    assert_eq!(
        m,
        xml(&doc(
            "<h1>Backups</h1><p>Nightly at three.</p><p>Restores are tested monthly.</p><p>Ask the SRE team.</p>"
        ))
    );
    // Adjacent blocks too (plain diff3 calls this a conflict).
    let theirs =
        "<h1>Backups</h1><p>Nightly at two.</p><p>Restores are tested weekly.</p><p>Ask ops.</p>";
    let m = merged(BASE, ours, theirs).expect("clean");
    assert!(m.contains("three") && m.contains("weekly"), "{m}");
}

#[test]
fn inserts_at_different_places_and_removals_merge() {
    let ours = "<h1>Backups</h1><p>New intro.</p><p>Nightly at two.</p><p>Restores are tested monthly.</p><p>Ask ops.</p>";
    let theirs = "<h1>Backups</h1><p>Nightly at two.</p><p>Restores are tested monthly.</p><p>Ask ops.</p><p>New footer.</p>";
    let m = merged(BASE, ours, theirs).expect("clean");
    assert_eq!(
        m,
        xml(&doc(
            "<h1>Backups</h1><p>New intro.</p><p>Nightly at two.</p><p>Restores are tested monthly.</p><p>Ask ops.</p><p>New footer.</p>"
        ))
    );
    let theirs = "<h1>Backups</h1><p>Nightly at two.</p><p>Ask ops.</p>";
    let m = merged(BASE, ours, theirs).expect("clean");
    assert!(!m.contains("Restores") && m.contains("New intro"), "{m}");
    // An edit next to an insertion on the other side.
    let ours = "<h1>Backups</h1><p>Nightly at three.</p><p>Restores are tested monthly.</p><p>Ask ops.</p>";
    let theirs = "<h1>Backups</h1><p>Nightly at two.</p><p>Inserted.</p><p>Restores are tested monthly.</p><p>Ask ops.</p>";
    let m = merged(BASE, ours, theirs).expect("clean");
    assert!(m.contains("three") && m.contains("Inserted"), "{m}");
}

#[test]
fn different_words_of_one_paragraph_merge_and_the_same_words_conflict() {
    let base = "<p>The backup runs nightly at two and takes an hour.</p>";
    let ours = "<p>The backup runs nightly at three and takes an hour.</p>";
    let theirs = "<p>The backup runs nightly at two and takes ten minutes.</p>";
    assert_eq!(
        merged(base, ours, theirs).expect("clean"),
        xml(&doc(
            "<p>The backup runs nightly at three and takes ten minutes.</p>"
        ))
    );
    // Formatting survives the word-level merge.
    let base = "<p>Run <strong>the nightly job</strong> then check the logs.</p>";
    let ours = "<p>Run <strong>the weekly job</strong> then check the logs.</p>";
    let theirs = "<p>Run <strong>the nightly job</strong> then check the dashboard.</p>";
    assert_eq!(
        merged(base, ours, theirs).expect("clean"),
        xml(&doc(
            "<p>Run <strong>the weekly job</strong> then check the dashboard.</p>"
        ))
    );
    // The same word changed differently: a conflict, with all three versions kept.
    let base = "<p>Nightly at two.</p><p>Other.</p>";
    let ours = "<p>Nightly at three.</p><p>Other.</p>";
    let theirs = "<p>Nightly at four.</p><p>Other.</p>";
    let m = merge(&doc(base), &doc(ours), &doc(theirs));
    assert!(!m.is_clean());
    assert_eq!(m.conflicts(), 1);
    match &m.pieces[0] {
        Piece::Conflict {
            base: b,
            ours: o,
            theirs: t,
        } => {
            assert_eq!((b.len(), o.len(), t.len()), (1, 1, 1));
            assert_eq!(
                xml(&Document { blocks: o.clone() }),
                xml(&doc("<p>Nightly at three.</p>"))
            );
            assert_eq!(
                xml(&Document { blocks: t.clone() }),
                xml(&doc("<p>Nightly at four.</p>"))
            );
        }
        p => panic!("expected a conflict, got {p:?}"),
    }
    assert!(matches!(&m.pieces[1], Piece::Clean(_)));
    assert_eq!(xml(&m.resolve(Side::Ours)), xml(&doc(ours)));
    assert_eq!(xml(&m.resolve(Side::Theirs)), xml(&doc(theirs)));
}

#[test]
fn the_same_change_on_both_sides_is_taken_once_and_edit_against_delete_conflicts() {
    let ours = "<h1>Backups</h1><p>Nightly at three.</p><p>Restores are tested monthly.</p><p>Ask ops.</p>";
    assert_eq!(merged(BASE, ours, ours).expect("clean"), xml(&doc(ours)));
    let theirs = "<h1>Backups</h1><p>Restores are tested monthly.</p><p>Ask ops.</p>";
    let m = merge(&doc(BASE), &doc(ours), &doc(theirs));
    assert_eq!(m.conflicts(), 1, "{m:?}");
}

#[test]
fn lists_and_tasks_merge_item_by_item() {
    let base = "<ul><li>alpha</li><li>beta</li><li>gamma</li></ul>";
    let ours = "<ul><li>alpha one</li><li>beta</li><li>gamma</li></ul>";
    let theirs = "<ul><li>alpha</li><li>beta</li><li>gamma three</li><li>delta</li></ul>";
    assert_eq!(
        merged(base, ours, theirs).expect("clean"),
        xml(&doc(
            "<ul><li>alpha one</li><li>beta</li><li>gamma three</li><li>delta</li></ul>"
        ))
    );
    let task = |done: &str, text: &str| {
        format!(
            "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>{done}</ac:task-status><ac:task-body>{text}</ac:task-body></ac:task></ac:task-list>"
        )
    };
    let base = task("incomplete", "Rotate the keys");
    let ours = task("complete", "Rotate the keys");
    let theirs = task("incomplete", "Rotate the API keys");
    assert_eq!(
        merged(&base, &ours, &theirs).expect("clean"),
        xml(&doc(&task("complete", "Rotate the API keys")))
    );
}

#[test]
fn edits_of_two_equal_paragraphs_on_different_sides_merge() {
    // An LCS may pair the kept "e" of one side with either copy; the edit must stay an edit
    // (found by `edits_on_disjoint_paragraphs_always_merge` in CI).
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let base = of(&s(&["a", "e", "e", "a"]));
    let ours = of(&s(&["a", "e", "e ours", "a"]));
    let theirs = of(&s(&["a", "e theirs", "e", "a theirs"]));
    let want = xml(&of(&s(&["a", "e theirs", "e ours", "a theirs"])));
    assert_eq!(
        merge(&base, &ours, &theirs).clean().map(|d| xml(&d)),
        Some(want.clone())
    );
    assert_eq!(
        merge(&base, &theirs, &ours).clean().map(|d| xml(&d)),
        Some(want),
        "the same with the sides swapped"
    );
    // The case CI found: copies of one paragraph, edited alternately.
    let base = of(&s(&["a", "a", "a", "a"]));
    let ours = of(&s(&["a", "a", "a ours", "a"]));
    let theirs = of(&s(&["a", "a theirs", "a", "a theirs"]));
    assert_eq!(
        merge(&base, &ours, &theirs).clean().map(|d| xml(&d)),
        Some(xml(&of(&s(&["a", "a theirs", "a ours", "a theirs"]))))
    );
    // A longer run of copies, the edits far apart.
    let base = of(&s(&["e", "e", "e", "e", "e"]));
    let ours = of(&s(&["e", "e", "e", "e", "e ours"]));
    let theirs = of(&s(&["e theirs", "e", "e", "e", "e"]));
    assert_eq!(
        merge(&base, &ours, &theirs).clean().map(|d| xml(&d)),
        Some(xml(&of(&s(&["e theirs", "e", "e", "e", "e ours"]))))
    );
}

#[test]
fn long_documents_beyond_the_alignment_limit_still_merge() {
    // 2100 paragraphs edited at both ends by one side and in the middle by the other: the
    // part between the common ends exceeds the edit-distance table, so the LCS aligns it.
    let base: Vec<String> = (0..2100).map(|n| format!("p{n}")).collect();
    let mut ours = base.clone();
    ours[0] = "p0 ours".into();
    ours[2099] = "p2099 ours".into();
    let mut theirs = base.clone();
    theirs[1000] = "p1000 theirs".into();
    let mut want = ours.clone();
    want[1000] = "p1000 theirs".into();
    let m = merge(&of(&base), &of(&ours), &of(&theirs));
    assert_eq!(m.clean().map(|d| xml(&d)), Some(xml(&of(&want))));
}

fn paragraphs() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-e]{1,3}( [a-e]{1,3}){0,4}", 0..8)
}

fn of(ps: &[String]) -> Document {
    doc(&ps.iter().map(|p| format!("<p>{p}</p>")).collect::<String>())
}

proptest! {
    #[test]
    fn a_side_that_did_not_change_takes_the_other(base in paragraphs(), x in paragraphs()) {
        let (b, x) = (of(&base), of(&x));
        prop_assert_eq!(merge(&b, &b, &x).clean(), Some(x.clone()));
        prop_assert_eq!(merge(&b, &x, &b).clean(), Some(x.clone()));
        prop_assert_eq!(merge(&b, &x, &x).clean(), Some(x.clone()));
    }

    #[test]
    fn edits_on_disjoint_paragraphs_always_merge(
        base in prop::collection::vec("[a-e]{1,3}( [a-e]{1,3}){0,4}", 2..10),
        edits in prop::collection::vec(any::<bool>(), 10),
    ) {
        // Even paragraphs edited on one side, odd ones on the other (when picked).
        let mut ours = base.clone();
        let mut theirs = base.clone();
        for (i, p) in base.iter().enumerate() {
            if edits[i] {
                if i % 2 == 0 { ours[i] = format!("{p} ours"); } else { theirs[i] = format!("{p} theirs"); }
            }
        }
        let m = merge(&of(&base), &of(&ours), &of(&theirs));
        let expected: Vec<String> = base.iter().enumerate().map(|(i, p)| {
            if edits[i] { if i % 2 == 0 { format!("{p} ours") } else { format!("{p} theirs") } } else { p.clone() }
        }).collect();
        // Duplicate paragraphs can align differently; the text must still come out right.
        prop_assert_eq!(m.clean().map(|d| xml(&d)), Some(xml(&of(&expected))));
    }
}
