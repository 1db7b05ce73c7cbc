//! Memory per view in the engine (`cargo bench --bench runtime_memory
//! --features runtime`): views `SELECT * FROM item WHERE category = $c ORDER
//! BY score DESC LIMIT 10` registered in an `Engine` over one 100,000-row
//! table, counted with a counting global allocator. Reports the marginal
//! bytes per view, `(live after n views - live after the first) / (n - 1)`:
//! what a view costs beyond the shared state (the table and its order
//! index), with everything the engine keeps for it (circuit, records shown,
//! ids and versions for catch-up, its entry in the predicate index).

#![allow(missing_docs)]

use ssp::ssp_runtime::Engine;
use ssp::{ChangeBatch, Record, RecordId, Value, Version};

#[path = "common/counting.rs"]
mod counting;

use counting::live;

fn measure(views: i64, categories: i64) {
    let mut engine = Engine::default();
    let mut batch = ChangeBatch::new("item", Version(1));
    for i in 0..100_000i64 {
        let row: Value = format!("{{ id: item:{i}, category: {}, score: {} }}", i % categories, (i * 7919) % 100_003)
            .parse()
            .expect("a row");
        batch.insert(Record::new(RecordId::new("item", i), Version(1), row)).expect("a row");
    }
    engine.step(Version(1), &[batch]).expect("the table");
    let query = "SELECT * FROM item WHERE category = $c ORDER BY score DESC LIMIT 10";
    let base = live();
    let started = std::time::Instant::now();
    engine.register(query, [("c".into(), Value::from(0))].into()).expect("a view");
    let after_first = live();
    for c in 1..views {
        engine.register(query, [("c".into(), Value::from(c % categories))].into()).expect("a view");
    }
    let elapsed = started.elapsed();
    let after_all = live();
    let marginal = (after_all - after_first) as f64 / (views - 1) as f64;
    println!(
        "{views} views over 100,000 rows in {categories} categories: first view {} bytes (shared index), \
         marginal {marginal:.0} bytes per view, registered in {elapsed:?} ({} views held)",
        after_first - base,
        engine.views().count()
    );
}

fn main() {
    measure(1_000, 1_000);
    measure(10_000, 10_000);
}
