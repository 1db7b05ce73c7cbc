//! `ssp-ops` benches, each beside its floor: the plain hash map or sort doing
//! the same final work on the same rows.
//!
//! - `topk_step_1`: one open row changes (its score moves into and out of
//!   the window, alternately) under `WHERE status = 'open' ORDER BY score DESC
//!   LIMIT 10` over 10,000 rows; floor: a `BTreeSet` of the open rows' (score,
//!   id) taking the change, then reading its first 10.
//! - `topk_step_100`: 100 rows change at once (same view and floor).
//! - `topk_hydrate`: the view built over 10,000 rows; floor: filter, then
//!   sort by score and take 10.
//! - `agg_step_1`: one row moves between groups under `SELECT g, count(),
//!   math::sum(x) GROUP BY g` (100 groups, 10,000 rows); floor: a `HashMap`
//!   of (count, sum) per group.
//! - `join_hydrate`: `a ⋈ b` on `k`, 1,000 x 1,000 rows (1,000 pairs);
//!   floor: a hash join into a `Vec`.
//! - `join_step_10`: 10 rows of `a` change their key; floor: probing a
//!   `HashMap` index of `b` for the 10 old and new keys.
//! - `scaling`: the 1-row change through filter + top-k and through the join,
//!   at 1K, 10K and 100K rows.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use ssp::ssp_core::{ChangeBatch, Record, RecordId, Value, Version};
use ssp_ops::{AggFn, Circuit, Delta, Direction, Expr, Plan, PlanBuilder, Tables};

fn issue(i: i64, score: i64) -> Value {
    let status = if i % 4 == 0 { "closed" } else { "open" };
    format!("{{ id: issue:{i}, status: '{status}', score: {score}, g: {}, x: {i}, k: {} }}", i % 100, i % 1000)
        .parse()
        .expect("a literal")
}

fn score(i: i64) -> i64 {
    (i * 7919) % 100_003
}

fn top10_plan() -> Plan {
    let mut b = PlanBuilder::new();
    let t = b.source("issue");
    let open = b.filter(t, Expr::field("status").eq(Expr::lit("open")));
    let top = b.top_k(open, vec![(Expr::field("score"), Direction::Desc)], 10, 0);
    b.build(top).expect("valid plan")
}

fn load(tables: &mut Tables, table: &str, rows: impl Iterator<Item = Value>) {
    let mut delta = Delta::new();
    for row in rows {
        delta.update(table, row, 1);
    }
    tables.apply(&delta).expect("fresh rows");
}

/// Rows that alternate between two states, one version each way: a change a
/// bench can apply again and again without the table drifting. The rows are
/// built before timing; parsing them is not the work measured.
struct Toggle {
    table: &'static str,
    /// (key, home state, away state)
    rows: Vec<(i64, Value, Value)>,
    away: bool,
    version: u64,
}

impl Toggle {
    fn new(table: &'static str, rows: Vec<(i64, Value, Value)>) -> Self {
        Toggle { table, rows, away: false, version: 1 }
    }

    /// The next version's change batch: every row moves to its other state.
    fn next_batch(&mut self) -> ChangeBatch {
        let v = Version(self.version);
        let mut batch = ChangeBatch::new(self.table, v);
        for (key, home, away) in &self.rows {
            let (old, new) = if self.away { (away, home) } else { (home, away) };
            let id = RecordId::new(self.table, *key);
            batch
                .update(Record::new(id.clone(), v, old.clone()), Record::new(id, v.next(), new.clone()))
                .expect("same id");
        }
        self.away = !self.away;
        self.version += 1;
        batch
    }

    /// The next version as a delta.
    fn next(&mut self) -> Delta {
        Delta::from_batches([&self.next_batch()])
    }
}

/// Times whole versions of `toggle` through `circuit`: the version's change
/// batch turned into a delta, the step against the tables before the
/// version, then the tables taking it. The change batches are the input (a
/// source builds them), so they are built before timing, as the floors'
/// changes are given.
fn bench_steps(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    tables: &mut Tables,
    circuit: &mut Circuit,
    mut toggle: Toggle,
) {
    group.bench_function(id, |b| {
        b.iter_batched_ref(
            || toggle.next_batch(),
            |batch| {
                let delta = Delta::from_batches([&*batch]);
                let out = circuit.step(tables, &delta);
                tables.apply(&delta).expect("consistent");
                // The change is dropped in the timing, as the floors' are.
                black_box(out.len())
            },
            BatchSize::SmallInput,
        )
    });
}

fn topk_step(c: &mut Criterion, group_name: &str, n: i64, changed: i64) {
    let mut group = c.benchmark_group(group_name);
    // Open rows (ids 4j+1) alternate between their own score and a top
    // score, so that every step moves the window.
    let id = |j: i64| 4 * j + 1;
    let flip = |j: i64, up: bool| issue(id(j), if up { 200_000 + j } else { score(id(j)) });

    let mut floor: BTreeSet<(std::cmp::Reverse<i64>, i64)> =
        (0..n).filter(|i| i % 4 != 0).map(|i| (std::cmp::Reverse(score(i)), i)).collect();
    let mut up = false;
    group.bench_function(BenchmarkId::new("floor", n), |b| {
        b.iter(|| {
            for j in 0..changed {
                let (old, new) = if up { (200_000 + j, score(id(j))) } else { (score(id(j)), 200_000 + j) };
                floor.remove(&(std::cmp::Reverse(old), id(j)));
                floor.insert((std::cmp::Reverse(new), id(j)));
            }
            up = !up;
            black_box(floor.iter().take(10).copied().collect::<Vec<_>>())
        })
    });

    let mut tables = Tables::new();
    load(&mut tables, "issue", (0..n).map(|i| issue(i, score(i))));
    let (mut circuit, _) = Circuit::new(top10_plan(), &mut tables);
    let toggle = Toggle::new("issue", (0..changed).map(|j| (id(j), flip(j, false), flip(j, true))).collect());
    bench_steps(&mut group, BenchmarkId::new("ssp", n), &mut tables, &mut circuit, toggle);
    group.finish();
}

fn topk(c: &mut Criterion) {
    topk_step(c, "topk_step_1", 10_000, 1);
    topk_step(c, "topk_step_100", 10_000, 100);
}

fn topk_hydrate(c: &mut Criterion) {
    let mut group = c.benchmark_group("topk_hydrate");
    let rows: Vec<Value> = (0..10_000).map(|i| issue(i, score(i))).collect();
    group.bench_function(BenchmarkId::new("floor", 10_000), |b| {
        b.iter(|| {
            let status = "status".parse().expect("a path");
            let score_path = "score".parse().expect("a path");
            let mut open: Vec<(Value, &Value)> = rows
                .iter()
                .filter(|r| r.get(&status).and_then(Value::as_str) == Some("open"))
                .map(|r| (r.pick(&score_path), r))
                .collect();
            open.sort_unstable_by(|a, b| b.0.cmp(&a.0));
            black_box(open.into_iter().take(10).map(|(_, r)| r.clone()).collect::<Vec<_>>())
        })
    });
    let mut tables = Tables::new();
    load(&mut tables, "issue", rows.iter().cloned());
    let plan = top10_plan();
    // Hydration reads the table through the shared order index, which every
    // view of this shape shares: build it once, as an engine would.
    let _ = Circuit::new(plan.clone(), &mut tables);
    group.bench_function(BenchmarkId::new("ssp", 10_000), |b| {
        b.iter(|| black_box(Circuit::new(plan.clone(), &mut tables).1))
    });
    group.finish();
}

fn agg(c: &mut Criterion) {
    let mut group = c.benchmark_group("agg_step_1");
    let n = 10_000;
    let mut floor: hashbrown::HashMap<i64, (i64, i64)> = hashbrown::HashMap::new();
    for i in 0..n {
        let e = floor.entry(i % 100).or_default();
        e.0 += 1;
        e.1 += i;
    }
    let mut up = false;
    group.bench_function(BenchmarkId::new("floor", n), |b| {
        b.iter(|| {
            // Row 7 moves from group 7 to group 8 and back.
            let (from, to) = if up { (8, 7) } else { (7, 8) };
            for (g, sign) in [(from, -1), (to, 1)] {
                let e = floor.entry(g).or_default();
                e.0 += sign;
                e.1 += sign * 7;
            }
            up = !up;
            black_box((floor[&7], floor[&8]))
        })
    });
    let mut b = PlanBuilder::new();
    let t = b.source("issue");
    let a = b.aggregate(
        t,
        vec![("g".into(), Expr::field("g"))],
        vec![("n".into(), AggFn::Count), ("s".into(), AggFn::Sum(Expr::field("x")))],
    );
    let plan = b.build(a).expect("valid plan");
    let mut tables = Tables::new();
    load(&mut tables, "issue", (0..n).map(|i| issue(i, score(i))));
    let (mut circuit, _) = Circuit::new(plan, &mut tables);
    let row = |g: i64| -> Value {
        format!("{{ id: issue:7, status: 'open', score: 1, g: {g}, x: 7, k: 7 }}").parse().expect("literal")
    };
    // Row 7 gets a fixed shape first, then moves between groups 7 and 8.
    let mut first = Toggle::new("issue", vec![(7, issue(7, score(7)), row(7))]);
    tables.apply(&first.next()).expect("consistent");
    let toggle = Toggle::new("issue", vec![(7, row(7), row(8))]);
    bench_steps(&mut group, BenchmarkId::new("ssp", n), &mut tables, &mut circuit, toggle);
    group.finish();
}

fn join_plan() -> Plan {
    let mut b = PlanBuilder::new();
    let a = b.source("a");
    let c = b.source("b");
    let j = b.join(a, c, Expr::field("k"), Expr::field("k"));
    b.build(j).expect("valid plan")
}

fn side(table: &str, i: i64, k: i64) -> Value {
    format!("{{ id: {table}:{i}, k: {k}, v: {i} }}").parse().expect("a literal")
}

fn join(c: &mut Criterion) {
    let mut group = c.benchmark_group("join_hydrate");
    let n = 1_000;
    let a: Vec<Value> = (0..n).map(|i| side("a", i, i)).collect();
    let bs: Vec<Value> = (0..n).map(|i| side("b", i, i)).collect();
    let key: ssp::FieldPath = "k".parse().expect("a path");
    group.bench_function(BenchmarkId::new("floor", "1k x 1k"), |bench| {
        bench.iter(|| {
            let mut index: hashbrown::HashMap<Value, Vec<&Value>> = hashbrown::HashMap::with_capacity(bs.len());
            for r in &bs {
                index.entry(r.pick(&key)).or_default().push(r);
            }
            let mut out: Vec<(Value, Value)> = Vec::new();
            for l in &a {
                for r in index.get(&l.pick(&key)).into_iter().flatten() {
                    out.push((l.clone(), (*r).clone()));
                }
            }
            black_box(out)
        })
    });
    let mut tables = Tables::new();
    load(&mut tables, "a", a.iter().cloned());
    load(&mut tables, "b", bs.iter().cloned());
    let plan = join_plan();
    let _ = Circuit::new(plan.clone(), &mut tables);
    group.bench_function(BenchmarkId::new("ssp", "1k x 1k"), |bench| {
        bench.iter(|| black_box(Circuit::new(plan.clone(), &mut tables).1))
    });
    group.finish();

    let mut group = c.benchmark_group("join_step_10");
    let index: hashbrown::HashMap<i64, Vec<i64>> = (0..n).map(|i| (i, vec![i])).collect();
    let mut up = false;
    group.bench_function(BenchmarkId::new("floor", "1k x 1k"), |bench| {
        bench.iter(|| {
            let mut out = Vec::new();
            for i in 0..10 {
                let (old, new) = if up { ((i + 1) % n, i) } else { (i, (i + 1) % n) };
                for r in index.get(&old).into_iter().flatten() {
                    out.push((i, *r, -1));
                }
                for r in index.get(&new).into_iter().flatten() {
                    out.push((i, *r, 1));
                }
            }
            up = !up;
            black_box(out)
        })
    });
    let (mut circuit, _) = Circuit::new(plan, &mut tables);
    let toggle = Toggle::new("a", (0..10).map(|i| (i, side("a", i, i), side("a", i, (i + 1) % n))).collect());
    bench_steps(&mut group, BenchmarkId::new("ssp", "1k x 1k"), &mut tables, &mut circuit, toggle);
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling");
    group.sample_size(30);
    for n in [1_000i64, 10_000, 100_000] {
        let mut tables = Tables::new();
        load(&mut tables, "issue", (0..n).map(|i| issue(i, score(i))));
        let (mut circuit, _) = Circuit::new(top10_plan(), &mut tables);
        let toggle = Toggle::new("issue", vec![(1, issue(1, score(1)), issue(1, 300_000))]);
        bench_steps(&mut group, BenchmarkId::new("topk_step_1", n), &mut tables, &mut circuit, toggle);

        let mut tables = Tables::new();
        load(&mut tables, "a", (0..n).map(|i| side("a", i, i)));
        load(&mut tables, "b", (0..n).map(|i| side("b", i, i)));
        let (mut circuit, _) = Circuit::new(join_plan(), &mut tables);
        let toggle = Toggle::new("a", vec![(1, side("a", 1, 1), side("a", 1, 2))]);
        bench_steps(&mut group, BenchmarkId::new("join_step_1", n), &mut tables, &mut circuit, toggle);
    }
    group.finish();
}

/// The SIMD kernel's end-to-end worth: a filter `score > t` hydrated over
/// 100,000 rows through the kernel path, beside the same filter written so
/// that it takes the row-by-row path (`!(score <= t)`, equal on these rows).
fn kernel_filter(c: &mut Criterion) {
    let mut group = c.benchmark_group("hydrate_filter_100k");
    group.sample_size(20);
    let n = 100_000;
    let rows: Vec<Value> = (0..n).map(|i| issue(i, score(i))).collect();
    let path: ssp::FieldPath = "score".parse().expect("a path");
    group.bench_function(BenchmarkId::new("floor", n), |b| {
        b.iter(|| {
            black_box(
                rows.iter()
                    .filter(|r| r.get(&path).is_some_and(|v| *v > Value::from(50_000)))
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        })
    });
    let mut tables = Tables::new();
    load(&mut tables, "issue", rows.iter().cloned());
    for (name, pred) in [
        ("kernel", Expr::field("score").gt(Expr::lit(50_000))),
        ("row_by_row", Expr::field("score").le(Expr::lit(50_000)).not()),
    ] {
        let mut b = PlanBuilder::new();
        let t = b.source("issue");
        let f = b.filter(t, pred);
        let plan = std::sync::Arc::new(b.build(f).expect("valid plan"));
        group.bench_function(BenchmarkId::new(name, n), |bench| {
            bench.iter(|| black_box(Circuit::new(plan.clone(), &mut tables).1))
        });
    }
    group.finish();
}

criterion_group!(benches, topk, topk_hydrate, agg, join, scaling, kernel_filter);
criterion_main!(benches);
