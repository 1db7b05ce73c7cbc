//! The generic store suite (`ssp_cvr::testing`), run against every store of
//! this crate, and the redb store's own file-level behaviour: persistence,
//! locking, format versions, and corrupt or foreign files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ssp_core::{Record, RecordId, Value, Version};
use ssp_cvr::{
    ClientId, Corruption, CvrStore, MemoryStore, OpenError, RedbStore, StoreError, Timestamp, ViewDiff, ViewId,
};
use tempfile::TempDir;

/// A new redb store in a fresh file of this test thread's temporary directory.
fn redb_store() -> RedbStore {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = TEMP.with(|d| d.path().to_owned());
    RedbStore::open(dir.join(format!("suite-{}.redb", N.fetch_add(1, Ordering::Relaxed)))).expect("a new store opens")
}

thread_local! {
    static TEMP: TempDir = tempfile::tempdir().expect("a temporary directory");
}

ssp_cvr::cvr_store_suite!(on_memory, MemoryStore::new);
ssp_cvr::cvr_store_suite!(on_redb, super::redb_store);

// `run_all` is what other crates call; it must run too.
#[test]
fn run_all_passes_for_the_memory_store() {
    ssp_cvr::testing::run_all(MemoryStore::new);
}

fn issue(key: i64) -> RecordId {
    RecordId::new("issue", key)
}

fn sample_diff(to: u64, keys: std::ops::Range<i64>) -> ViewDiff {
    let mut d = ViewDiff::new("v", Version(to));
    for k in keys {
        d.upsert(Record::new(issue(k), Version(to), Value::Null));
    }
    d
}

fn file(dir: &TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

// Diffs are durable: a store reopened on the file holds what was applied.
#[test]
fn redb_store_keeps_its_cvrs_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "cvr.redb");
    let alice = ClientId::new("alice");
    let expected = {
        let store = RedbStore::open(&path).unwrap();
        store.apply(&alice, &sample_diff(1, 0..50), Timestamp(1)).unwrap();
        store.apply(&alice, &sample_diff(2, 25..75), Timestamp(2)).unwrap();
        store.load(&alice, &ViewId::new("v")).unwrap().unwrap()
    };
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.load(&alice, &ViewId::new("v")).unwrap(), Some(expected));
    assert_eq!(store.path(), path);
}

// A second store on a file that a store holds would corrupt it: it must be
// refused with a typed error, not opened.
#[test]
fn redb_file_held_by_another_store_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "cvr.redb");
    let _held = RedbStore::open(&path).unwrap();
    match RedbStore::open(&path) {
        Err(OpenError::Locked { path: p }) => assert_eq!(p, path),
        other => panic!("expected Locked, got {other:?}"),
    }
}

// The same from another process: the crash test's child binary holds the
// file, and this process must get Locked.
#[cfg(unix)]
#[test]
fn redb_file_held_by_another_process_is_locked() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "held.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_holds_a_store_open", "--ignored", "--nocapture", "--test-threads=1"])
        .env("SSP_CVR_HOLD", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("@holding")), "the child never opened the store");
    let result = RedbStore::open(&path);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(matches!(result, Err(OpenError::Locked { .. })), "expected Locked, got {result:?}");
    // Once the other process is gone, the file opens.
    RedbStore::open(&path).unwrap();
}

#[test]
#[ignore = "the child process of redb_file_held_by_another_process_is_locked"]
fn child_holds_a_store_open() {
    let Some(path) = std::env::var_os("SSP_CVR_HOLD") else { return };
    let _store = RedbStore::open(Path::new(&path)).unwrap();
    println!("\n@holding");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

/// Overwrites a table entry of a closed store file through redb itself.
fn poke(path: &Path, table: &str, key: &[u8], value: Option<&[u8]>) {
    let db = redb::Database::create(path).expect("writing the store file through redb");
    let txn = db.begin_write().expect("writing the store file through redb");
    {
        let mut t = txn
            .open_table(redb::TableDefinition::<&[u8], &[u8]>::new(table))
            .expect("writing the store file through redb");
        match value {
            Some(v) => {
                t.insert(key, v).expect("writing the store file through redb");
            }
            None => {
                t.remove(key).expect("writing the store file through redb");
            }
        }
    }
    txn.commit().expect("writing the store file through redb");
}

/// All entries of a table of a closed store file.
fn entries(path: &Path, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    use redb::ReadableDatabase;
    let db = redb::Database::create(path).expect("reading the store file through redb");
    let txn = db.begin_read().expect("reading the store file through redb");
    let t =
        txn.open_table(redb::TableDefinition::<&[u8], &[u8]>::new(table)).expect("reading the store file through redb");
    t.range::<&[u8]>(..)
        .expect("reading the store file through redb")
        .map(|e| e.expect("reading the store file through redb"))
        .map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
        .collect()
}

fn store_with_one_cvr(dir: &TempDir) -> PathBuf {
    let path = file(dir, "cvr.redb");
    let store = RedbStore::open(&path).expect("a store with one CVR");
    store.apply(&ClientId::new("alice"), &sample_diff(3, 0..10), Timestamp(5)).expect("a store with one CVR");
    path
}

// A file written by another release (another format version) must be
// refused with both versions named, so that a migration can be written.
#[test]
fn redb_file_of_another_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_one_cvr(&dir);
    poke(&path, "ssp_cvr_meta", b"format_version", Some(&2u32.to_le_bytes()));
    match RedbStore::open(&path) {
        Err(OpenError::FormatVersion { found: 2, expected: 1, path: p }) => assert_eq!(p, path),
        other => panic!("expected FormatVersion, got {other:?}"),
    }
    poke(&path, "ssp_cvr_meta", b"format_version", Some(b"\x01"));
    assert!(matches!(RedbStore::open(&path), Err(OpenError::Corrupt { .. })));
}

// Another application's redb database is not silently turned into a CVR store.
#[test]
fn redb_file_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "other.redb");
    poke(&path, "users", b"k", Some(b"v"));
    match RedbStore::open(&path) {
        Err(OpenError::NotACvrStore { tables, .. }) => assert_eq!(tables, ["users"]),
        other => panic!("expected NotACvrStore, got {other:?}"),
    }
}

// Garbage and truncated files are typed errors, never a panic or an empty store.
#[test]
fn redb_garbage_and_truncated_files_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = file(&dir, "garbage.redb");
    std::fs::write(&garbage, (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>()).unwrap();
    assert!(matches!(RedbStore::open(&garbage), Err(OpenError::Corrupt { .. })), "{:?}", RedbStore::open(&garbage));

    let path = store_with_one_cvr(&dir);
    let bytes = std::fs::read(&path).unwrap();
    for cut in [bytes.len() / 2, bytes.len() / 4, 100, 1] {
        let truncated = file(&dir, &format!("truncated-{cut}.redb"));
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        match RedbStore::open(&truncated) {
            Err(OpenError::Corrupt { .. } | OpenError::Io { .. }) => {}
            Ok(store) => {
                // redb may recover an older committed state; it must then be a
                // whole, consistent one, never a partial CVR.
                let cvr = store.load(&ClientId::new("alice"), &ViewId::new("v"));
                assert!(matches!(cvr, Ok(None) | Ok(Some(_)) | Err(StoreError::Corrupt { .. })), "{cvr:?}");
                if let Ok(Some(cvr)) = cvr {
                    assert_eq!(cvr.len(), 10, "a truncated file gave a partial CVR");
                }
            }
            Err(other) => panic!("truncated at {cut}: expected Corrupt, got {other:?}"),
        }
    }
}

fn alice_v(store: &RedbStore) -> Result<Option<ssp_cvr::Cvr>, StoreError> {
    store.load(&ClientId::new("alice"), &ViewId::new("v"))
}

// A corrupt record value is an error that names its key, never a CVR without
// the record.
#[test]
fn redb_corrupt_record_is_an_error_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_one_cvr(&dir);
    let (key, _) = entries(&path, "ssp_cvr_records").remove(3);
    poke(&path, "ssp_cvr_records", &key, Some(b"\x01\x02"));
    let store = RedbStore::open(&path).unwrap();
    match alice_v(&store) {
        Err(StoreError::Corrupt { table: "ssp_cvr_records", client, view, key: k, problem }) => {
            assert!(matches!(*problem, Corruption::Decode(_)), "{problem:?}");
            assert_eq!((client, view), (Some(ClientId::new("alice")), Some(ViewId::new("v"))));
            assert_eq!(k, key);
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
    // Applying a diff over the corrupt record reports it too, and changes nothing.
    // Records sort by their key bytes, little-endian integers here: entry 3 is issue:3.
    let mut d = ViewDiff::new("v", Version(4));
    d.remove(issue(3));
    assert!(matches!(store.apply(&ClientId::new("alice"), &d, Timestamp(9)), Err(StoreError::Corrupt { .. })));
    // It can still be removed, and then the client starts afresh.
    assert!(store.remove(&ClientId::new("alice"), &ViewId::new("v")).unwrap());
    assert_eq!(alice_v(&store).unwrap(), None);
}

// A lost record (or a header that counts more) is an error, not a smaller CVR.
#[test]
fn redb_missing_record_is_a_count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_one_cvr(&dir);
    let (key, _) = entries(&path, "ssp_cvr_records").remove(0);
    poke(&path, "ssp_cvr_records", &key, None);
    let store = RedbStore::open(&path).unwrap();
    match alice_v(&store) {
        Err(StoreError::Corrupt { problem, .. }) => {
            assert_eq!(*problem, Corruption::CountMismatch { header: 10, found: 9 });
        }
        other => panic!("expected a count mismatch, got {other:?}"),
    }
}

// A record whose version changed behind the store's back fails the state hash.
#[test]
fn redb_altered_record_version_is_a_hash_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_one_cvr(&dir);
    let (key, mut value) = entries(&path, "ssp_cvr_records").remove(0);
    value[0] ^= 1;
    poke(&path, "ssp_cvr_records", &key, Some(&value));
    let store = RedbStore::open(&path).unwrap();
    match alice_v(&store) {
        Err(StoreError::Corrupt { problem, .. }) => {
            assert!(matches!(*problem, Corruption::HashMismatch { .. }), "{problem:?}");
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
}

// A corrupt header is an error from every operation that reads it.
#[test]
fn redb_corrupt_header_is_an_error_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_one_cvr(&dir);
    let (key, _) = entries(&path, "ssp_cvr_headers").remove(0);
    poke(&path, "ssp_cvr_headers", &key, Some(&[0; 39]));
    let store = RedbStore::open(&path).unwrap();
    let alice = ClientId::new("alice");
    for result in [
        alice_v(&store).map(|_| ()),
        store.summary(&alice, &ViewId::new("v")).map(|_| ()),
        store.views(&alice).map(|_| ()),
        store.load_all(&alice).map(|_| ()),
        store.apply(&alice, &sample_diff(4, 0..1), Timestamp(6)).map(|_| ()),
    ] {
        match result {
            Err(e @ StoreError::Corrupt { table: "ssp_cvr_headers", .. }) => {
                assert!(e.to_string().contains("client `alice`"), "{e}");
            }
            other => panic!("expected a corrupt header, got {other:?}"),
        }
    }
    // Removing the CVR (and expiring) still works around the corrupt header.
    assert!(store.remove(&alice, &ViewId::new("v")).unwrap());
    assert!(entries_after_close(store, &path).is_empty());
}

fn entries_after_close(store: RedbStore, path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    drop(store);
    let mut all = entries(path, "ssp_cvr_records");
    all.extend(entries(path, "ssp_cvr_headers"));
    all.extend(entries(path, "ssp_cvr_last_seen"));
    all
}

// Expiry and removal leave nothing behind in any table.
#[test]
fn redb_expire_and_remove_leave_no_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "cvr.redb");
    let store = RedbStore::open(&path).unwrap();
    for (i, c) in ["a", "b", "c"].into_iter().enumerate() {
        store.apply(&ClientId::new(c), &sample_diff(1, 0..20), Timestamp(i as u64)).unwrap();
    }
    assert_eq!(store.expire(Timestamp(2)).unwrap(), 2);
    assert!(store.remove(&ClientId::new("c"), &ViewId::new("v")).unwrap());
    assert!(entries_after_close(store, &path).is_empty());
}

// The store's operations take `&self` and the store is shared between threads.
#[test]
fn stores_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RedbStore>();
    check::<MemoryStore>();
    check::<StoreError>();
    check::<OpenError>();
}

// Found in review: a key nested deeper than the record decoder allows was
// written, and then every load of that CVR failed as corrupt. It is refused
// instead, and the diff leaves no trace.
#[test]
fn redb_refuses_a_record_id_it_could_not_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(file(&dir, "deep.redb")).unwrap();
    let alice = ClientId::new("alice");
    store.apply(&alice, &sample_diff(1, 0..3), Timestamp(1)).unwrap();
    let mut deep = Value::from(1);
    for _ in 0..200 {
        deep = Value::from(vec![deep]);
    }
    let Value::Array(key) = deep else { unreachable!("built as an array") };
    let mut diff = sample_diff(2, 10..12);
    diff.upsert(Record::new(RecordId::new("t", key), Version(2), Value::Null));
    let err = store.apply(&alice, &diff, Timestamp(2)).unwrap_err();
    assert!(matches!(err, StoreError::Unstorable { .. }), "{err}");
    let cvr = store.load(&alice, &ViewId::new("v")).unwrap().unwrap();
    assert_eq!(cvr.version(), Version(1));
    assert_eq!(cvr.len(), 3);
}

// Found in review: one stale entry in the last-seen index made every later
// expiry fail. The index is derived from the headers, so expiry repairs it:
// a stale entry goes, a CVR seen since stays, and one with no header behind
// it is cleaned up.
#[test]
fn redb_expiry_repairs_a_stale_last_seen_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_one_cvr(&dir);
    let index = entries(&path, "ssp_cvr_last_seen");
    assert_eq!(index.len(), 1);
    let cvr_key = index[0].0[8..].to_vec();
    let mut stale = 1u64.to_be_bytes().to_vec();
    stale.extend_from_slice(&cvr_key);
    poke(&path, "ssp_cvr_last_seen", &stale, Some(&[]));

    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.expire(Timestamp(3)).unwrap(), 0, "the CVR was seen at 5, after 3");
    drop(store);
    let index = entries(&path, "ssp_cvr_last_seen");
    assert_eq!(index.len(), 1, "the stale entry is gone, the CVR's own stays");
    assert_eq!(&index[0].0[..8], &5u64.to_be_bytes());

    let store = RedbStore::open(&path).unwrap();
    assert!(store.load(&ClientId::new("alice"), &ViewId::new("v")).unwrap().is_some());
    assert_eq!(store.expire(Timestamp(6)).unwrap(), 1);
    assert!(store.load(&ClientId::new("alice"), &ViewId::new("v")).unwrap().is_none());
}
