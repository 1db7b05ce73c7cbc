//! The linear operators σ (filter), π (map), `+` (union) and `-` (minus):
//! each is its own incremental form, `Q^Δ = Q`.

use rayon::prelude::*;
use ssp_core::{Value, ZSet, ZWeight};

use crate::expr::Expr;

/// Past this many rows a filter or map runs on rayon's pool (hydration);
/// below it, a step stays on the calling thread.
const PARALLEL_ROWS: usize = 8_192;

/// `σ_pred(z)`: the rows of `z` for which `pred` holds, with their weights.
pub(crate) fn filter(z: &ZSet<Value>, pred: &Expr, params: &[Value]) -> ZSet<Value> {
    if z.len() >= PARALLEL_ROWS {
        let rows: Vec<(&Value, ZWeight)> = z.iter().collect();
        return rows
            .into_par_iter()
            .filter(|(row, _)| pred.test_in(row, params))
            .map(|(row, w)| (row.clone(), w))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
    }
    z.iter().filter(|(row, _)| pred.test_in(row, params)).map(|(row, w)| (row.clone(), w)).collect()
}

/// `π_expr(z)`: every row mapped through `expr`; weights of rows that map to
/// the same value add.
pub(crate) fn map(z: &ZSet<Value>, expr: &Expr, params: &[Value]) -> ZSet<Value> {
    if z.len() >= PARALLEL_ROWS {
        let rows: Vec<(&Value, ZWeight)> = z.iter().collect();
        return rows
            .into_par_iter()
            .map(|(row, w)| (expr.eval_in(row, params), w))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
    }
    z.iter().map(|(row, w)| (expr.eval_in(row, params), w)).collect()
}

/// `a + b`.
pub(crate) fn union(a: &ZSet<Value>, b: &ZSet<Value>) -> ZSet<Value> {
    a + b
}

/// `a - b`.
pub(crate) fn minus(a: &ZSet<Value>, b: &ZSet<Value>) -> ZSet<Value> {
    a - b
}
