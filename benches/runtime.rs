//! Engine benches (`cargo bench --bench runtime --features runtime`), each
//! beside its floor. The table: 100,000 rows `item:i { category, score }`.
//!
//! - `runtime_1_of_1000_views`: 1,000 views `SELECT * FROM item WHERE
//!   category = $c ORDER BY score DESC LIMIT 10` (one plan, `$c` in
//!   0..1,000, 100 rows each); a 1-row change (one item's score) stepped
//!   through the engine: routed by the predicate index to its view, stepped,
//!   its diff made. Floor: the same change to a hash map of items and one
//!   ordered set per category, and the category's first 10 read.
//! - `runtime_1_of_10000_views`: the same with 10,000 views (10 rows each).
//! - `runtime_1000_rows_into_1000_views`: a batch of 1,000 updates, one
//!   item of each category, so that every one of the 1,000 views is
//!   stepped: with the defaults (each view steps with its own row, on one
//!   thread), forced onto rayon's pool, and without the restriction to a
//!   view's own rows (each view filters the 1,000) on one thread and on
//!   rayon's pool. Floor: the 1,000 updates to the floor's sets, each
//!   category's first 10 read.
//! - `runtime_register_10000_views`: registering 10,000 views of that shape
//!   (one plan, shared indexes) over the 100,000 rows. Floor: building the
//!   10,000 top-10 lists from the per-category ordered sets.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ssp::ssp_runtime::{Engine, EngineBuilder};
use ssp::{ChangeBatch, Record, RecordId, Value, Version};

const ROWS: i64 = 100_000;
const QUERY: &str = "SELECT * FROM item WHERE category = $c ORDER BY score DESC LIMIT 10";

fn score(i: i64, round: i64) -> i64 {
    (i * 7919 + round * 104_729) % 100_003
}

fn row(i: i64, categories: i64, round: i64) -> Value {
    format!("{{ id: item:{i}, category: {}, score: {} }}", i % categories, score(i, round)).parse().expect("a row")
}

/// An engine over the table, without views.
fn table(categories: i64) -> Engine {
    table_with(Engine::builder(), categories)
}

/// [`table`] for an engine of `builder`.
fn table_with(builder: EngineBuilder, categories: i64) -> Engine {
    let mut engine = builder.build();
    let mut batch = ChangeBatch::new("item", Version(1));
    for i in 0..ROWS {
        batch.insert(Record::new(RecordId::new("item", i), Version(1), row(i, categories, 0))).expect("a row");
    }
    engine.step(Version(1), &[batch]).expect("the table");
    engine
}

/// An engine over the table, with a view per category.
fn engine(categories: i64) -> Engine {
    let mut engine = table(categories);
    for c in 0..categories {
        engine.register(QUERY, [("c".into(), Value::from(c))].into()).expect("a view");
    }
    engine
}

/// The floor's state: items, and per category its items by score.
struct Floor {
    items: hashbrown::HashMap<i64, (i64, i64)>,
    by_category: hashbrown::HashMap<i64, BTreeSet<(Reverse<i64>, i64)>>,
}

impl Floor {
    fn new(categories: i64) -> Self {
        let mut f = Floor { items: hashbrown::HashMap::new(), by_category: hashbrown::HashMap::new() };
        for i in 0..ROWS {
            let (c, s) = (i % categories, score(i, 0));
            f.items.insert(i, (c, s));
            f.by_category.entry(c).or_default().insert((Reverse(s), i));
        }
        f
    }

    fn update(&mut self, i: i64, s: i64) -> Vec<i64> {
        let Some(&(c, old)) = self.items.get(&i) else { return Vec::new() };
        let set = self.by_category.entry(c).or_default();
        set.remove(&(Reverse(old), i));
        set.insert((Reverse(s), i));
        self.items.insert(i, (c, s));
        set.iter().take(10).map(|(_, id)| *id).collect()
    }
}

fn one_change(c: &mut Criterion, name: &str, categories: i64) {
    let mut g = c.benchmark_group(name);
    let mut floor = Floor::new(categories);
    let mut round = 0i64;
    g.bench_function("floor", |b| {
        b.iter(|| {
            round += 1;
            let i = (round * 7) % ROWS;
            black_box(floor.update(i, score(i, round)))
        })
    });
    let mut engine = engine(categories);
    // The current row of each item changed so far.
    let mut current: BTreeMap<i64, Value> = BTreeMap::new();
    let mut version = 1u64;
    g.bench_function("ssp_engine", |b| {
        b.iter_batched_ref(
            || {
                round += 1;
                version += 1;
                let i = (round * 7) % ROWS;
                let old = current.remove(&i).unwrap_or_else(|| row(i, categories, 0));
                let new = row(i, categories, round);
                current.insert(i, new.clone());
                let id = RecordId::new("item", i);
                let mut batch = ChangeBatch::new("item", Version(version));
                batch
                    .update(Record::new(id.clone(), Version(version - 1), old), Record::new(id, Version(version), new))
                    .expect("a batch");
                (Version(version), vec![batch])
            },
            |(v, batches)| black_box(engine.step(*v, batches).expect("a step")),
            BatchSize::PerIteration,
        )
    });
    assert!(engine.view_steps() <= 2 * (version - 1), "each change steps at most its view");
    g.finish();
}

fn changes(c: &mut Criterion) {
    one_change(c, "runtime_1_of_1000_views", 1_000);
    one_change(c, "runtime_1_of_10000_views", 10_000);
}

fn many_views(c: &mut Criterion) {
    const CATEGORIES: i64 = 1_000;
    let mut g = c.benchmark_group("runtime_1000_rows_into_1000_views");
    let mut floor = Floor::new(CATEGORIES);
    let mut round = 0i64;
    g.bench_function("floor", |b| {
        b.iter(|| {
            round += 1;
            let tops: Vec<Vec<i64>> = (0..CATEGORIES)
                .map(|k| {
                    let i = k + CATEGORIES * (round % (ROWS / CATEGORIES));
                    floor.update(i, score(i, round))
                })
                .collect();
            black_box(tops)
        })
    });
    for (name, builder) in [
        ("ssp_engine", Engine::builder()),
        ("ssp_engine_rayon_forced", Engine::builder().parallel_above(0).parallel_rows(0)),
        ("ssp_engine_unrestricted_one_thread", Engine::builder().parallel_above(usize::MAX).restrict_above(usize::MAX)),
        ("ssp_engine_unrestricted_rayon", Engine::builder().restrict_above(usize::MAX).parallel_rows(0)),
    ] {
        let mut engine = table_with(builder, CATEGORIES);
        for c in 0..CATEGORIES {
            engine.register(QUERY, [("c".into(), Value::from(c))].into()).expect("a view");
        }
        let mut current: BTreeMap<i64, Value> = BTreeMap::new();
        let (mut version, mut round) = (1u64, 0i64);
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    round += 1;
                    version += 1;
                    let mut batch = ChangeBatch::new("item", Version(version));
                    for k in 0..CATEGORIES {
                        let i = k + CATEGORIES * (round % (ROWS / CATEGORIES));
                        let old = current.remove(&i).unwrap_or_else(|| row(i, CATEGORIES, 0));
                        let new = row(i, CATEGORIES, round);
                        current.insert(i, new.clone());
                        let id = RecordId::new("item", i);
                        let (old, new) = (
                            Record::new(id.clone(), Version(version - 1), old),
                            Record::new(id, Version(version), new),
                        );
                        batch.update(old, new).expect("a batch");
                    }
                    (Version(version), vec![batch])
                },
                |(v, batches)| black_box(engine.step(*v, batches).expect("a step")),
                BatchSize::PerIteration,
            )
        });
        assert_eq!(engine.trips(), 0, "1,000 of 100,000 rows: stepped, not rehydrated");
    }
    g.finish();
}

fn register(c: &mut Criterion) {
    let mut g = c.benchmark_group("runtime_register_10000_views");
    g.sample_size(10);
    let floor = Floor::new(10_000);
    g.bench_function("floor", |b| {
        b.iter(|| {
            let tops: Vec<Vec<i64>> = (0..10_000i64)
                .map(|c| {
                    floor.by_category.get(&c).map_or(Vec::new(), |s| s.iter().take(10).map(|(_, id)| *id).collect())
                })
                .collect();
            black_box(tops)
        })
    });
    g.bench_function("ssp_engine", |b| {
        b.iter_batched(
            || table(10_000),
            |mut e| {
                for c in 0..10_000i64 {
                    e.register(QUERY, [("c".into(), Value::from(c))].into()).expect("a view");
                }
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, changes, many_views, register);
criterion_main!(benches);
