//! Z-set benches, each beside its floor: a plain `hashbrown::HashMap<RecordId, i64>`
//! doing the same work on the same rows.
//!
//! - `zset_build_10k`: build and consolidate a Z-set from 10,000 weighted
//!   record ids (plus 1,000 updates that cancel or re-weight some of them).
//! - `zset_add_100_into_10k`: add a 100-row delta (50 deletes of present ids,
//!   50 inserts of new ones) into a 10,000-row Z-set, then add its negation
//!   (restoring the set, so that every iteration does the same work).

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ssp::{RecordId, ZSet, ZWeight};

type Floor = hashbrown::HashMap<RecordId, ZWeight>;

fn ids(range: std::ops::Range<i64>) -> Vec<RecordId> {
    range.map(|i| RecordId::new("issue", i)).collect()
}

fn build_updates() -> Vec<(RecordId, ZWeight)> {
    let mut updates: Vec<(RecordId, ZWeight)> = ids(0..10_000).into_iter().map(|id| (id, 1)).collect();
    // Cancel 500 and re-weight 500: consolidation has real work to do.
    updates.extend(ids(0..500).into_iter().map(|id| (id, -1)));
    updates.extend(ids(500..1_000).into_iter().map(|id| (id, 1)));
    updates
}

fn floor_update(map: &mut Floor, id: &RecordId, w: ZWeight) {
    if let Some(weight) = map.get_mut(id) {
        *weight += w;
        if *weight == 0 {
            map.remove(id);
        }
    } else {
        map.insert(id.clone(), w);
    }
}

fn build(c: &mut Criterion) {
    let updates = build_updates();
    let mut group = c.benchmark_group("zset_build_10k");
    group.throughput(Throughput::Elements(updates.len() as u64));
    group.bench_function(BenchmarkId::new("floor", "hashmap"), |b| {
        b.iter(|| {
            let mut map = Floor::with_capacity(updates.len());
            for (id, w) in &updates {
                floor_update(&mut map, id, *w);
            }
            black_box(map)
        })
    });
    group.bench_function(BenchmarkId::new("ssp", "zset"), |b| {
        b.iter(|| {
            let z: ZSet<RecordId> = updates.iter().cloned().collect();
            black_box(z)
        })
    });
    group.finish();
}

fn add_delta(c: &mut Criterion) {
    let base: Vec<RecordId> = ids(0..10_000);
    let delta: Vec<(RecordId, ZWeight)> =
        ids(0..50).into_iter().map(|id| (id, -1)).chain(ids(10_000..10_050).into_iter().map(|id| (id, 1))).collect();
    let negated: Vec<(RecordId, ZWeight)> = delta.iter().map(|(id, w)| (id.clone(), -w)).collect();

    let mut group = c.benchmark_group("zset_add_100_into_10k");
    group.throughput(Throughput::Elements(2 * delta.len() as u64));

    let mut floor: Floor = base.iter().map(|id| (id.clone(), 1)).collect();
    group.bench_function(BenchmarkId::new("floor", "hashmap"), |b| {
        b.iter(|| {
            for (id, w) in delta.iter().chain(&negated) {
                floor_update(&mut floor, id, *w);
            }
            black_box(floor.len())
        })
    });

    let mut z: ZSet<RecordId> = base.iter().map(|id| (id.clone(), 1)).collect();
    let dz: ZSet<RecordId> = delta.iter().cloned().collect();
    let ndz: ZSet<RecordId> = negated.iter().cloned().collect();
    group.bench_function(BenchmarkId::new("ssp", "zset"), |b| {
        b.iter(|| {
            z += &dz;
            z += &ndz;
            black_box(z.len())
        })
    });
    assert_eq!(z.len(), base.len(), "the delta and its negation cancel");
    group.finish();
}

criterion_group!(benches, build, add_delta);
criterion_main!(benches);
