//! Storage reader: any bytes give a document or a positioned error, never a panic; a document
//! that was read is written, and the written storage must read back.
//! The same check runs on stable in `crates/doc/tests/it/robustness.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match kb_doc::storage::read_bytes(data) {
        Err(e) => {
            assert!(e.line >= 1 && e.column >= 1, "bad error position: {e:?}");
            assert!(
                e.offset <= data.len(),
                "error offset beyond the input: {e:?}"
            );
        }
        Ok(doc) => {
            let written = kb_doc::storage::write(&doc);
            if let Err(e) = kb_doc::storage::read(&written) {
                panic!("written storage does not read back: {e}\n--- written\n{written}");
            }
            let _ = kb_doc::markdown::write(&doc);
            let _ = kb_doc::text::to_text(&doc);
        }
    }
});
