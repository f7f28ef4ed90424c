//! markdown tests
use kb_doc::*;

#[test]
fn scratch() {
    let inputs = [
        "# Title #\n\nSome *em* and **strong** and ~~del~~ `code` $x^2$ <u>u</u> H<sub>2</sub>O\n\n- a\n- b\n  - c\n\n1. x\n2. y\n\n3. z\n\n- [ ] t1\n- [x] t2\n\n> quote\n\n> **Note:** careful\n\n> [!TIP]\n> tip\n\n```rust title=\"main.rs\"\nfn main() {}\n```\n\n| a | b |\n|:--|--:|\n| 1 | `x\\|y` |\n\n---\n\n![alt](a%20b.png)\n*cap*\n\n$$E=mc^2$$\n\n[TOC]\n\n<details>\n<summary>More</summary>\n\ninside\n\n</details>\n\n[p](My%20Page.md#s) [s](#top) [u](https://x.y/z) <https://auto.link> <a id=\"anc\"></a>\n\n<div>raw</div>\n",
    ];
    for i in inputs {
        let d = markdown::read(i);
        println!("{}", serde_json::to_string_pretty(&d).unwrap());
        let w = markdown::write_report(&d);
        println!("----\n{}\n----{:?}", w.output, w.fallbacks);
        let d2 = markdown::read(&w.output);
        assert_eq!(d, d2);
    }
}
