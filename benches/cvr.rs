//! Client view record benches, each beside its floor: a plain
//! `hashbrown::HashMap<RecordId, Version>` doing the same final work.
//!
//! - `cvr_reconnect_10k_1pct`: the reconnection diff of a 10,000-record view
//!   of which 1% changed since the client left (50 records updated, 25
//!   removed, 25 added). Floor: comparing two hash maps both ways.
//! - `cvr_reconnect_fast_path_10k`: the same view, unchanged: the state hashes
//!   agree and the diff is empty at once. Floor: comparing the two maps (the
//!   work a store without a state hash must do to learn that nothing changed).
//! - `cvr_redb_load_client`: load all the CVRs of a client that follows 10
//!   views of 1,000 records each from a redb store (one range scan per view,
//!   decoding and checking count and state hash). Floor: building the same 10
//!   hash maps from in-memory pairs.
//! - `cvr_redb_apply`: record a 10-record diff to a 1,000-record CVR, one diff
//!   per durable commit and 100 diffs (of 100 clients) per commit. Floor: the
//!   same updates to an in-memory hash map.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ssp::{Record, RecordId, Value, Version};
use ssp_cvr::{ClientId, Cvr, CvrStore, MemoryStore, RedbStore, Timestamp, ViewDiff, ViewId, ViewState};

type Floor = hashbrown::HashMap<RecordId, Version>;
type Pairs = Vec<(RecordId, Version)>;

fn issue(i: i64) -> RecordId {
    RecordId::new("issue", i)
}

/// The client's records (10,000 at version 1) and the view now: 50 updated,
/// 25 removed, 25 added.
fn held_and_current() -> (Pairs, Pairs) {
    let held: Pairs = (0..10_000).map(|i| (issue(i), Version(1))).collect();
    let mut current: Pairs = (0..10_000)
        .filter(|i| !(50..75).contains(i))
        .map(|i| (issue(i), if i < 50 { Version(2) } else { Version(1) }))
        .collect();
    current.extend((10_000..10_025).map(|i| (issue(i), Version(1))));
    (held, current)
}

fn floor_diff(held: &Floor, current: &Floor) -> (Pairs, Vec<RecordId>) {
    let upserts = current.iter().filter(|(id, v)| held.get(*id) != Some(v)).map(|(id, v)| (id.clone(), *v)).collect();
    let removed = held.keys().filter(|id| !current.contains_key(*id)).cloned().collect();
    (upserts, removed)
}

fn reconnect(c: &mut Criterion) {
    let (held, current) = held_and_current();
    let (held_floor, current_floor): (Floor, Floor) =
        (held.iter().cloned().collect(), current.iter().cloned().collect());
    let cvr = Cvr::from_state("alice", "v", ViewState::from_records(Version(1), held.clone()), Timestamp(0));
    let view = ViewState::from_records(Version(2), current);
    assert_eq!(cvr.reconnect(&view).map(|d| (d.upserts.len(), d.removed.len())).ok(), Some((75, 25)));

    let mut group = c.benchmark_group("cvr_reconnect_10k_1pct");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function(BenchmarkId::new("floor", "hashmap"), |b| {
        b.iter(|| black_box(floor_diff(&held_floor, &current_floor)))
    });
    group.bench_function(BenchmarkId::new("ssp", "reconnect"), |b| b.iter(|| black_box(cvr.reconnect(&view))));
    group.finish();

    let same = ViewState::from_records(Version(2), held.clone());
    assert!(cvr.reconnect(&same).map(|d| d.fast_path && d.is_empty()).unwrap_or(false));
    let mut group = c.benchmark_group("cvr_reconnect_fast_path_10k");
    let held_twin: Floor = held.iter().cloned().collect();
    group.bench_function(BenchmarkId::new("floor", "hashmap_eq"), |b| {
        b.iter(|| black_box(black_box(&held_floor) == black_box(&held_twin)))
    });
    group.bench_function(BenchmarkId::new("ssp", "hash_fast_path"), |b| b.iter(|| black_box(cvr.reconnect(&same))));
    group.finish();
}

/// A directory for the bench's redb files, removed when dropped.
struct BenchDir(PathBuf);

impl BenchDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ssp-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        BenchDir(dir)
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn view_diff(view: &ViewId, version: u64, keys: impl Iterator<Item = i64>) -> ViewDiff {
    let mut diff = ViewDiff::new(view.clone(), Version(version));
    for k in keys {
        diff.upsert(Record::new(issue(k), Version(version), Value::Null));
    }
    diff
}

fn load_client(c: &mut Criterion) {
    let dir = BenchDir::new("load");
    let store = RedbStore::open(dir.0.join("load.redb")).expect("a store");
    let memory = MemoryStore::new();
    let alice = ClientId::new("alice");
    let views: Vec<ViewId> = (0..10).map(|v| ViewId::new(format!("view-{v}"))).collect();
    for (v, view) in views.iter().enumerate() {
        let base = v as i64 * 1_000;
        let diff = view_diff(view, 1, base..base + 1_000);
        store.apply(&alice, &diff, Timestamp(1)).expect("apply");
        memory.apply(&alice, &diff, Timestamp(1)).expect("apply");
        // Other clients' records around alice's, as in a real store.
        for other in ["aaron", "bob"] {
            store.apply(&ClientId::new(other), &diff, Timestamp(1)).expect("apply");
        }
    }
    let pairs: Vec<Pairs> =
        (0..10).map(|v| (v * 1_000..(v + 1) * 1_000).map(|i| (issue(i), Version(1))).collect()).collect();
    assert_eq!(store.load_all(&alice).expect("load").iter().map(Cvr::len).sum::<usize>(), 10_000);

    let mut group = c.benchmark_group("cvr_redb_load_client");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(30);
    group.bench_function(BenchmarkId::new("floor", "hashmap_build"), |b| {
        b.iter(|| black_box(pairs.iter().map(|p| p.iter().cloned().collect::<Floor>()).collect::<Vec<_>>()))
    });
    group.bench_function(BenchmarkId::new("ssp", "memory_store"), |b| b.iter(|| black_box(memory.load_all(&alice))));
    group.bench_function(BenchmarkId::new("ssp", "redb_store"), |b| b.iter(|| black_box(store.load_all(&alice))));
    group.finish();
}

fn apply(c: &mut Criterion) {
    let dir = BenchDir::new("apply");
    let store = RedbStore::open(dir.0.join("apply.redb")).expect("a store");
    let memory = MemoryStore::new();
    let view = ViewId::new("v");
    let clients: Vec<ClientId> = (0..100).map(|i| ClientId::new(format!("client-{i}"))).collect();
    let base = view_diff(&view, 1, 0..1_000);
    let batch: Vec<(&ClientId, &ViewDiff)> = clients.iter().map(|c| (c, &base)).collect();
    store.apply_all(&batch, Timestamp(1)).expect("apply");
    memory.apply_all(&batch, Timestamp(1)).expect("apply");
    let mut floor: Floor = (0..1_000).map(|i| (issue(i), Version(1))).collect();
    let mut version = 1;
    // Each diff updates 10 records, a different 10 each time.
    let mut next_diff = move || {
        version += 1;
        let start = (version as i64 * 10) % 1_000;
        view_diff(&view, version, start..start + 10)
    };

    let mut group = c.benchmark_group("cvr_redb_apply");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function(BenchmarkId::new("floor", "hashmap_10_updates"), |b| {
        let diff = next_diff();
        b.iter(|| {
            for r in &diff.upserts {
                floor.insert(r.id.clone(), r.version);
            }
            black_box(floor.len())
        })
    });
    group.bench_function(BenchmarkId::new("ssp", "memory_store"), |b| {
        b.iter(|| black_box(memory.apply(&clients[0], &next_diff(), Timestamp(2))))
    });
    group.bench_function(BenchmarkId::new("ssp", "redb_one_diff_per_commit"), |b| {
        b.iter(|| black_box(store.apply(&clients[0], &next_diff(), Timestamp(2))))
    });
    group.finish();

    let mut group = c.benchmark_group("cvr_redb_apply_batch_100");
    group.throughput(Throughput::Elements(100));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function(BenchmarkId::new("ssp", "redb_100_diffs_per_commit"), |b| {
        b.iter(|| {
            let diff = next_diff();
            let batch: Vec<(&ClientId, &ViewDiff)> = clients.iter().map(|c| (c, &diff)).collect();
            black_box(store.apply_all(&batch, Timestamp(3)))
        })
    });
    group.finish();
}

criterion_group!(benches, reconnect, load_client, apply);
criterion_main!(benches);
