//! docs/keymap.md is generated from the keymap; this fails when it is stale.
//! `UPDATE_DOCS=1 cargo test -p ringside-core --test keymap_doc` rewrites it.

#[test]
fn keymap_doc_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/keymap.md");
    let want = ringside_core::command::keymap_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/keymap.md is stale: run UPDATE_DOCS=1 cargo test -p ringside-core --test keymap_doc"
    );
}
