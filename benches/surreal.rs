//! SurrealDB change-capture benches on the embedded in-memory engine, each
//! beside its floor (run with `cargo bench --bench surreal --features surreal`):
//!
//! - `surreal_hydrate_10k`: [`Source::hydrate`] of a 10,000-row table into a
//!   base change batch (finding the end of the change feed, reading the rows,
//!   converting them to SSP values, content versions, the replay to a known
//!   position). Floor: SurrealDB's own `SELECT * FROM t` of the same rows into
//!   its SDK values.
//! - `surreal_write_to_batch`: from one committed `UPDATE` to its change batch
//!   in hand: by [`Source::poll`] right after the write, and through the
//!   live-query wake-up ([`Source::next`] waiting). Floor: the `UPDATE` alone.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ssp::ssp_surreal::{Source, SourceOptions};
use surrealdb::Surreal;
use surrealdb::engine::local::{Db, Mem};
use surrealdb::types as sdb;
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
}

async fn engine(rows: usize) -> Surreal<Db> {
    let db = Surreal::new::<Mem>(()).await.expect("an in-memory engine");
    db.use_ns("bench").use_db("bench").await.expect("a database");
    db.query("DEFINE TABLE t CHANGEFEED 1h").await.and_then(|r| r.check()).expect("the table");
    if rows > 0 {
        db.query(format!(
            "FOR $i IN 0..{rows} {{ CREATE type::record('t', $i) SET category = $i % 100, score = $i * 7 % 1000, title = 'issue ' + <string> $i; }}"
        ))
        .await
        .and_then(|r| r.check())
        .expect("the rows");
    }
    db
}

/// The write every `surreal_write_to_batch` bench commits: one row's score.
async fn update(db: &Surreal<Db>, i: u64) {
    db.query(format!("UPDATE t:{} SET score = {i}", i % 1000)).await.and_then(|r| r.check()).expect("a write");
}

fn quiet() -> SourceOptions {
    let mut o = SourceOptions::default();
    o.live_wakeup = false;
    o
}

fn hydrate(c: &mut Criterion) {
    let rt = runtime();
    let db = rt.block_on(engine(10_000));
    let mut g = c.benchmark_group("surreal_hydrate_10k");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(20);
    g.bench_function("floor_bare_select", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut res = db.query("SELECT * FROM t").await.expect("a select");
                let rows: Vec<sdb::Value> = res.take(0).expect("rows");
                assert_eq!(rows.len(), 10_000);
                black_box(rows)
            })
        })
    });
    g.bench_function("ssp_source_hydrate", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (source, batches) = Source::hydrate(db.clone(), &["t"], quiet()).await.expect("hydration");
                assert_eq!(batches[0].len(), 10_000);
                black_box((source.cursor().version(), batches))
            })
        })
    });
    g.finish();
}

fn write_to_batch(c: &mut Criterion) {
    let rt = runtime();
    let db = rt.block_on(engine(1_000));
    let mut g = c.benchmark_group("surreal_write_to_batch");
    g.measurement_time(Duration::from_secs(8));
    let mut i = 0u64;
    g.bench_function("floor_update_alone", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(async {
                update(&db, i).await;
            })
        })
    });
    let (mut polling, _) = rt.block_on(Source::hydrate(db.clone(), &["t"], quiet())).expect("hydration");
    g.bench_function("ssp_update_then_poll", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(async {
                update(&db, i).await;
                let commits = polling.poll().await.expect("a poll");
                assert_eq!(commits.len(), 1);
                black_box(commits)
            })
        })
    });
    drop(polling);
    let mut options = SourceOptions::default();
    // The wake-up alone must bring the batch: no timer fires within a sample.
    options.poll_interval = Duration::from_secs(60);
    let (woken, _) = rt.block_on(Source::hydrate(db.clone(), &["t"], options)).expect("hydration");
    let mut woken = Some(woken);
    g.sample_size(20);
    g.bench_function("ssp_update_then_live_wakeup", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    i += 1;
                    let mut source = woken.take().expect("the source");
                    let waiter = tokio::spawn(async move {
                        let commits = source.next().await;
                        (source, commits)
                    });
                    // Let the source read the feed and wait on its wake-up.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    let start = Instant::now();
                    update(&db, i).await;
                    let (source, commits) = waiter.await.expect("the waiter");
                    total += start.elapsed();
                    assert_eq!(commits.expect("the commit").len(), 1);
                    woken = Some(source);
                }
                total
            })
        })
    });
    g.finish();
}

criterion_group!(benches, hydrate, write_to_batch);
criterion_main!(benches);
