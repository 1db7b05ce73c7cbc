//! Memory per circuit: 1,000 circuits `WHERE category = $c ORDER BY score
//! DESC LIMIT 10` (one shared plan, `$c` one of 100 values) over one 100,000-row table, counted with a counting
//! global allocator. Reports the marginal bytes per circuit,
//! `(live after 1,000 circuits - live after the first) / 999`: what a view
//! costs beyond the shared state (the table and its order index, which the
//! first circuit builds).
//!
//! Run with `cargo bench --bench memory`.

#![allow(missing_docs)]

use std::sync::Arc;

use ssp::ssp_core::Value;
use ssp_ops::{Circuit, Delta, Direction, Expr, Plan, PlanBuilder, Tables};

#[path = "common/counting.rs"]
mod counting;

use counting::live;

/// `SELECT * FROM item WHERE category = $category ORDER BY score DESC LIMIT 10`:
/// one plan for every view of this shape, each circuit binding its category.
fn view() -> Plan {
    let mut b = PlanBuilder::new();
    let t = b.source("item");
    let f = b.filter(t, Expr::field("category").eq(Expr::Param(0)));
    let top = b.top_k(f, vec![(Expr::field("score"), Direction::Desc)], 10, 0);
    b.build(top).expect("valid plan")
}

fn main() {
    let rows = 100_000i64;
    let mut tables = Tables::new();
    let mut delta = Delta::new();
    for i in 0..rows {
        let row: Value = format!("{{ id: item:{i}, category: {}, score: {} }}", i % 100, (i * 7919) % 100_003)
            .parse()
            .expect("a literal");
        delta.update("item", row, 1);
    }
    tables.apply(&delta).expect("fresh rows");
    drop(delta);
    let base = live();

    let plan = Arc::new(view());
    let mut circuits = Vec::with_capacity(1_000);
    let (first, _) = Circuit::with_params(plan.clone(), vec![Value::from(0)], &mut tables);
    circuits.push(first);
    let after_first = live();
    for i in 1..1_000i64 {
        let (c, output) = Circuit::with_params(plan.clone(), vec![Value::from(i % 100)], &mut tables);
        assert_eq!(output.len(), 10);
        circuits.push(c);
    }
    let after_all = live();
    let marginal = (after_all - after_first) as f64 / 999.0;
    println!("table of {rows} rows: {} bytes live", base);
    println!("first circuit (builds the shared order index): {} bytes", after_first - base);
    println!("marginal bytes per circuit over 1,000 circuits: {marginal:.0}");
    println!("circuits hold {} rows of their own in all", circuits.iter().map(Circuit::owned_rows).sum::<usize>());
}
