//! Markdown reader: any text is some Markdown; reading and writing it back never panics, and
//! the storage written from it reads back.
//! The same check runs on stable in `crates/doc/tests/it/robustness.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let doc = kb_doc::markdown::read(&input);
    let md = kb_doc::markdown::write(&doc);
    let _ = kb_doc::markdown::read(&md);
    let xml = kb_doc::storage::write(&doc);
    if let Err(e) = kb_doc::storage::read(&xml) {
        panic!("storage written from Markdown does not read back: {e}\n--- written\n{xml}");
    }
});
