//! `/readyz` asks the store whether it is ready: its schema current, and on SQLite its file
//! still the one it opened.

#[test]
fn a_sqlite_store_whose_file_is_moved_away_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let store = store::Store::open(path.to_str().unwrap()).unwrap();
    store.migrate().unwrap();
    assert!(store.ready().is_ok());
    std::fs::rename(&path, dir.path().join("moved.db")).unwrap();
    assert!(store.ready().is_err(), "moved away");
    // Another file at the same path is not the store either.
    std::fs::write(&path, b"").unwrap();
    let e = store.ready().unwrap_err().to_string();
    assert!(
        e.contains("已被替换") && !e.contains("x.db"),
        "replaced: {e}"
    );
}
