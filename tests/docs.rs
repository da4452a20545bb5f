//! The docs in `docs/` are generated from the schemas; this fails when they are stale.
//! `UPDATE_DOCS=1 cargo test --test docs` (or `make docs`) rewrites them.

use std::path::Path;

#[test]
fn generated_docs_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (path, content) in crossrepl::docs::files(&crossrepl::provider::Crossrepl) {
        let file = root.join(&path);
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &content).unwrap();
        } else if std::fs::read_to_string(&file).ok().as_deref() != Some(content.as_str()) {
            stale.push(path);
        }
    }
    assert!(stale.is_empty(), "stale generated docs (run `make docs`): {stale:?}");
}

#[test]
fn every_attribute_is_documented() {
    for (path, content) in crossrepl::docs::files(&crossrepl::provider::Crossrepl) {
        for line in content.lines().filter(|l| l.starts_with("- `")) {
            let text = line.split_once(") ").map(|(_, d)| d.trim()).unwrap_or("");
            assert!(!text.is_empty(), "{path}: undocumented attribute: {line}");
        }
    }
}
