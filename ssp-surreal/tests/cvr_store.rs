//! The SurrealDB CVR store on the real embedded engine: the generic store
//! suite (`ssp_cvr::testing`), several workers sharing one database, corrupt
//! rows written behind the store's back, and the sync/async bridge.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use ssp_core::{Record, RecordId, Value, Version};
use ssp_cvr::{ClientId, Corruption, CvrStore, StateHash, StoreError, Timestamp, ViewDiff, ViewId};
use ssp_surreal::{CvrBackendError, CvrOpenError, SurrealCvrOptions, SurrealCvrStore};
use surrealdb::Surreal;
use surrealdb::engine::local::{Db, Mem};
use surrealdb::types as sdb;
use tokio::runtime::Runtime;

/// The runtime every store of these tests runs on, and the one embedded
/// engine they share (each test gets a database of its own).
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
    })
}

fn engine() -> &'static Surreal<Db> {
    static ENGINE: OnceLock<Surreal<Db>> = OnceLock::new();
    ENGINE.get_or_init(|| runtime().block_on(async { Surreal::new::<Mem>(()).await }).expect("an in-memory engine"))
}

/// A connection to a new, empty database.
fn fresh_db() -> Surreal<Db> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("test{}", N.fetch_add(1, Ordering::Relaxed));
    connect(&name)
}

/// A connection (a session of its own) to database `name`.
fn connect(name: &str) -> Surreal<Db> {
    let db = engine().clone();
    // Tests create databases at once, and creating one can conflict.
    for attempt in 1.. {
        match runtime().block_on(async { db.use_ns("ssp").use_db(name).await }) {
            Ok(_) => break,
            Err(e) if attempt < 20 && e.message().contains("conflict") => continue,
            Err(e) => panic!("a namespace and database: {e}"),
        }
    }
    db
}

fn surreal_store() -> SurrealCvrStore<Db> {
    SurrealCvrStore::open(fresh_db(), runtime().handle().clone()).expect("a new store opens")
}

ssp_cvr::cvr_store_suite!(on_surreal, super::surreal_store);

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

fn alice() -> ClientId {
    ClientId::new("alice")
}

fn v() -> ViewId {
    ViewId::new("v")
}

/// Runs SurrealQL on `db` directly, as another program would.
fn sql(db: &Surreal<Db>, query: &str) -> Vec<sdb::Value> {
    runtime().block_on(async {
        let mut res = db.query(query).await.expect("a query");
        let n = res.num_statements();
        (0..n).map(|i| res.take::<sdb::Value>(i).unwrap_or_else(|e| panic!("{query}: {e}"))).collect()
    })
}

// Two workers with their own connections to one database see each other's
// writes at once: the point of a shared store.
#[test]
fn two_workers_on_one_database_see_each_others_writes() {
    let name = "shared_workers";
    let first = SurrealCvrStore::open(connect(name), runtime().handle().clone()).unwrap();
    let second = SurrealCvrStore::open(connect(name), runtime().handle().clone()).unwrap();
    first.apply(&alice(), &sample_diff(1, 0..3), Timestamp(10)).unwrap();
    let seen = second.load(&alice(), &v()).unwrap().expect("the second worker sees the first one's CVR");
    assert_eq!((seen.version(), seen.len()), (Version(1), 3));
    let mut more = ViewDiff::new("v", Version(2));
    more.remove(issue(0));
    second.apply(&alice(), &more, Timestamp(20)).unwrap();
    assert_eq!(first.load(&alice(), &v()).unwrap(), second.load(&alice(), &v()).unwrap());
    assert_eq!(first.summary(&alice(), &v()).unwrap().map(|s| (s.len, s.last_seen)), Some((2, Timestamp(20))));
    assert_eq!(first.expire(Timestamp(21)).unwrap(), 1);
    assert_eq!(second.views(&alice()).unwrap(), []);
}

/// Several workers apply diffs to one client's view at once. Returns the ids
/// each successful apply wrote, and the errors.
fn race(name: &str, workers: usize, per_worker: i64, max_attempts: u32) -> (Vec<RecordId>, Vec<StoreError>) {
    let stores: Vec<Arc<SurrealCvrStore<Db>>> = (0..workers)
        .map(|_| {
            let options = SurrealCvrOptions::new().max_attempts(max_attempts);
            Arc::new(options.open(connect(name), runtime().handle().clone()).expect("a worker's store opens"))
        })
        .collect();
    let threads: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(w, store)| {
            std::thread::spawn(move || {
                let (mut written, mut errors) = (Vec::new(), Vec::new());
                for i in 0..per_worker {
                    // Every diff is at version 1 so that none is refused as
                    // stale: each one must land, whatever the order.
                    let id = RecordId::new("issue", w as i64 * 1_000 + i);
                    let mut d = ViewDiff::new("v", Version(1));
                    d.upsert(Record::new(id.clone(), Version(1), Value::Null));
                    match store.apply(&alice(), &d, Timestamp(i as u64)) {
                        Ok(_) => written.push(id),
                        Err(e) => errors.push(e),
                    }
                }
                (written, errors)
            })
        })
        .collect();
    let mut all = (Vec::new(), Vec::new());
    for t in threads {
        let (written, errors) = t.join().expect("a worker thread");
        all.0.extend(written);
        all.1.extend(errors);
    }
    all
}

fn check_holds_exactly(name: &str, written: &[RecordId]) {
    let store = SurrealCvrStore::open(connect(name), runtime().handle().clone()).expect("the store opens");
    let cvr = store.load(&alice(), &v()).expect("the CVR loads").expect("the CVR exists");
    assert_eq!(cvr.len(), written.len(), "the CVR holds one record per successful apply");
    for id in written {
        assert_eq!(cvr.get(id), Some(Version(1)), "{id} was applied and is missing");
    }
    assert_eq!(cvr.state_hash(), StateHash::from_pairs(written.iter().map(|id| (id, Version(1)))));
}

// Concurrent writers to one CVR conflict; with enough attempts every write
// lands, and the result is the union of all of them (what applying them one
// after another gives, in any order): no write is lost to a race.
#[test]
fn concurrent_applies_to_one_cvr_lose_nothing() {
    let name = "race_retried";
    let (written, errors) = race(name, 4, 6, 1_000);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(written.len(), 24);
    check_holds_exactly(name, &written);
}

// With a single attempt, a write that meets a conflict fails with a typed
// conflict error and leaves nothing behind; the others are all there.
#[test]
fn conflicts_without_retries_fail_typed_and_change_nothing() {
    let name = "race_single_attempt";
    let (written, errors) = race(name, 4, 6, 1);
    assert_eq!(written.len() + errors.len(), 24);
    for e in &errors {
        let source = match e {
            StoreError::Backend { source, .. } => source.downcast_ref::<CvrBackendError>(),
            _ => None,
        };
        assert!(matches!(source, Some(CvrBackendError::Conflict { attempts: 1, .. })), "{e:?}");
    }
    check_holds_exactly(name, &written);
}

/// A store with one CVR of 10 records, and its connection for tampering.
fn store_with_one_cvr() -> (SurrealCvrStore<Db>, Surreal<Db>) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("corrupt{}", N.fetch_add(1, Ordering::Relaxed));
    let store = SurrealCvrStore::open(connect(&name), runtime().handle().clone()).expect("the store opens");
    store.apply(&alice(), &sample_diff(3, 0..10), Timestamp(5)).expect("the CVR is written");
    (store, connect(&name))
}

fn record_row(key: i64) -> String {
    let (mut k, mut value) = (Vec::new(), Vec::new());
    ssp_cvr::codec::encode_record(&issue(key), Version(3), &mut k, &mut value);
    let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
    format!("ssp_cvr_record:['alice', 'v', '{hex}']")
}

// A record row whose value does not decode is an error naming the client,
// view and table, never a CVR without the record.
#[test]
fn corrupt_record_row_is_an_error_naming_its_entry() {
    let (store, db) = store_with_one_cvr();
    sql(&db, &format!("UPDATE {} SET value = <bytes>'xy'", record_row(3)));
    match store.load(&alice(), &v()) {
        Err(e @ StoreError::Corrupt { table: "ssp_cvr_record", .. }) => {
            let StoreError::Corrupt { client, view, problem, .. } = &e else { unreachable!() };
            assert_eq!((client.clone(), view.clone()), (Some(alice()), Some(v())));
            assert!(matches!(**problem, Corruption::Decode(_)), "{problem:?}");
            assert!(e.to_string().contains("client `alice`"), "{e}");
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
    assert!(matches!(store.load_all(&alice()), Err(StoreError::Corrupt { .. })));
    // A diff over the corrupt record reports it too, and changes nothing.
    let mut d = ViewDiff::new("v", Version(4));
    d.remove(issue(3));
    assert!(matches!(store.apply(&alice(), &d, Timestamp(9)), Err(StoreError::Corrupt { .. })));
    assert_eq!(store.summary(&alice(), &v()).unwrap().map(|s| s.version), Some(Version(3)));
    // It can still be removed, and then the client starts afresh.
    assert!(store.remove(&alice(), &v()).unwrap());
    assert_eq!(store.load(&alice(), &v()).unwrap(), None);
    assert_eq!(sql(&db, "SELECT VALUE id FROM ssp_cvr_record")[0], sdb::Value::Array(sdb::Array::new()));
}

// A value of the wrong kind is a field error, not a panic.
#[test]
fn record_row_of_the_wrong_kind_is_an_invalid_field() {
    let (store, db) = store_with_one_cvr();
    sql(&db, &format!("UPDATE {} SET value = 'not bytes'", record_row(0)));
    match store.load(&alice(), &v()) {
        Err(StoreError::Corrupt { problem, .. }) => {
            assert!(matches!(*problem, Corruption::InvalidField { field: "value", .. }), "{problem:?}");
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
}

// A lost record row is a count mismatch, not a smaller CVR.
#[test]
fn missing_record_row_is_a_count_mismatch() {
    let (store, db) = store_with_one_cvr();
    sql(&db, &format!("DELETE {}", record_row(0)));
    match store.load(&alice(), &v()) {
        Err(StoreError::Corrupt { table: "ssp_cvr", problem, .. }) => {
            assert_eq!(*problem, Corruption::CountMismatch { header: 10, found: 9 });
        }
        other => panic!("expected a count mismatch, got {other:?}"),
    }
}

// A record whose version changed behind the store's back fails the state hash.
#[test]
fn altered_record_version_is_a_hash_mismatch() {
    let (store, db) = store_with_one_cvr();
    let (mut k, mut value) = (Vec::new(), Vec::new());
    ssp_cvr::codec::encode_record(&issue(0), Version(4), &mut k, &mut value);
    let query = format!("UPDATE {} SET value = $value", record_row(0));
    runtime()
        .block_on(async { db.query(query).bind(("value", sdb::Value::Bytes(value.into()))).await?.check() })
        .expect("the record row is rewritten");
    match store.load(&alice(), &v()) {
        Err(StoreError::Corrupt { problem, .. }) => {
            assert!(matches!(*problem, Corruption::HashMismatch { .. }), "{problem:?}");
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
}

// A header field of the wrong kind is an error from every operation that
// reads the header; remove and expire still clear it.
#[test]
fn corrupt_header_is_an_error_from_every_read() {
    let (store, db) = store_with_one_cvr();
    sql(&db, "UPDATE ssp_cvr:['alice', 'v'] SET version = 'three'");
    for result in [
        store.load(&alice(), &v()).map(|_| ()),
        store.summary(&alice(), &v()).map(|_| ()),
        store.views(&alice()).map(|_| ()),
        store.load_all(&alice()).map(|_| ()),
        store.apply(&alice(), &sample_diff(4, 0..1), Timestamp(6)).map(|_| ()),
    ] {
        match result {
            Err(e @ StoreError::Corrupt { table: "ssp_cvr", .. }) => {
                assert!(e.to_string().contains("client `alice`") && e.to_string().contains("version"), "{e}");
            }
            other => panic!("expected a corrupt header, got {other:?}"),
        }
    }
    assert_eq!(store.expire(Timestamp(6)).unwrap(), 1);
    assert_eq!(sql(&db, "SELECT VALUE id FROM ssp_cvr_record")[0], sdb::Value::Array(sdb::Array::new()));
}

// Versions and times past i64::MAX are stored as exact decimals, round-trip,
// and order correctly for expiry.
#[test]
fn numbers_past_i64_round_trip_and_expire_in_order() {
    let store = surreal_store();
    let late = Timestamp(u64::MAX - 1);
    let summary = store.apply(&alice(), &sample_diff(u64::MAX, 0..2), late).unwrap();
    store.apply(&ClientId::new("bob"), &sample_diff(1, 0..2), Timestamp(7)).unwrap();
    assert_eq!(store.summary(&alice(), &v()).unwrap(), Some(summary.clone()));
    assert_eq!(
        store.load(&alice(), &v()).unwrap().map(|c| (c.version(), c.last_seen())),
        Some((Version(u64::MAX), late))
    );
    assert_eq!(store.expire(Timestamp(u64::MAX - 1)).unwrap(), 1, "only bob, seen at 7");
    assert_eq!(store.expire(Timestamp(u64::MAX)).unwrap(), 1, "then alice");
}

// Opening is idempotent, and tables of another prefix are another store.
#[test]
fn prefixes_separate_stores_and_reopening_keeps_data() {
    let name = "prefixes";
    let a = SurrealCvrStore::open(connect(name), runtime().handle().clone()).unwrap();
    a.apply(&alice(), &sample_diff(1, 0..2), Timestamp(1)).unwrap();
    let again = SurrealCvrStore::open(connect(name), runtime().handle().clone()).unwrap();
    assert_eq!(again.load(&alice(), &v()).unwrap().map(|c| c.len()), Some(2));
    let other = SurrealCvrOptions::new().prefix("tenant_cvr").open(connect(name), runtime().handle().clone()).unwrap();
    assert_eq!(other.tables(), ["tenant_cvr", "tenant_cvr_record", "tenant_cvr_meta"]);
    assert_eq!(other.load(&alice(), &v()).unwrap(), None);
    for bad in ["", "1abc", "a-b", "a;DELETE x"] {
        let result = SurrealCvrOptions::new().prefix(bad).open(connect(name), runtime().handle().clone());
        assert!(matches!(result, Err(CvrOpenError::InvalidPrefix { .. })), "{bad}: {result:?}");
    }
}

// Tables written by another layout version are refused, naming both versions.
#[test]
fn tables_of_another_layout_version_are_refused() {
    let db = fresh_db();
    let store = SurrealCvrStore::open(db.clone(), runtime().handle().clone()).unwrap();
    drop(store);
    sql(&db, "UPDATE ssp_cvr_meta:format SET layout = 2");
    match SurrealCvrStore::open(db, runtime().handle().clone()) {
        Err(CvrOpenError::LayoutVersion { found, expected: 1, .. }) => assert!(found.contains('2'), "{found}"),
        other => panic!("expected LayoutVersion, got {other:?}"),
    }
}

// A current-thread runtime could be blocked by the very thread waiting on it.
#[test]
fn a_current_thread_runtime_is_refused() {
    let current = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let result = SurrealCvrStore::open(fresh_db(), current.handle().clone());
    assert!(matches!(result, Err(CvrOpenError::CurrentThreadRuntime)), "{result:?}");
}

// Found by design review: a store waiting on its own runtime's only worker
// would deadlock. Called from a task on a one-worker runtime, it must finish.
#[test]
fn called_from_a_task_of_its_own_one_worker_runtime_it_finishes() {
    let one = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let db = one.block_on(async {
        let db = Surreal::new::<Mem>(()).await.unwrap();
        db.use_ns("ssp").use_db("one").await.unwrap();
        db
    });
    let store = Arc::new(SurrealCvrStore::open(db, one.handle().clone()).unwrap());
    let task = {
        let store = Arc::clone(&store);
        one.spawn(async move {
            store.apply(&alice(), &sample_diff(1, 0..3), Timestamp(1)).unwrap();
            store.load(&alice(), &v()).unwrap().map(|c| c.len())
        })
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(one.block_on(task)));
    let len = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the call finished").unwrap();
    assert_eq!(len, Some(3));
}

// Called straight from async code on another, current-thread runtime (a
// `#[tokio::test]`), the store blocks that thread but finishes: its queries
// run on its own runtime. From `spawn_blocking` it finishes too.
#[tokio::test]
async fn called_from_a_current_thread_runtime_it_finishes() {
    let store = tokio::task::spawn_blocking(surreal_store).await.unwrap();
    store.apply(&alice(), &sample_diff(1, 0..2), Timestamp(1)).unwrap();
    assert_eq!(store.load(&alice(), &v()).unwrap().map(|c| c.len()), Some(2));
    let from_blocking = tokio::task::spawn_blocking(move || store.load(&alice(), &v()).map(|c| c.map(|c| c.len())));
    assert_eq!(from_blocking.await.unwrap().unwrap(), Some(2));
}

// The store is shared between threads.
#[test]
fn the_store_and_its_errors_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SurrealCvrStore<Db>>();
    check::<CvrBackendError>();
    check::<CvrOpenError>();
}
