//! The linear operators σ (filter), π (map), `+` (union) and `-` (minus):
//! each is its own incremental form, `Q^Δ = Q`.

use std::borrow::Cow;

use rayon::prelude::*;
use smallvec::SmallVec;
use ssp_core::{Value, ZSet, ZWeight};

use crate::expr::Expr;

/// Past this many rows a filter or map runs on rayon's pool (hydration);
/// below it, a step stays on the calling thread.
const PARALLEL_ROWS: usize = 8_192;

/// Past this many rows a filter `field <op> number` compares the column with
/// the SIMD kernel.
const KERNEL_ROWS: usize = 4_096;

/// `σ_pred(z)`: the rows of `z` for which `pred` holds, with their weights.
pub(crate) fn filter(z: &ZSet<Value>, pred: &Expr, params: &[Value]) -> ZSet<Value> {
    if z.len() >= KERNEL_ROWS
        && let Some(out) = filter_numeric(z, pred)
    {
        return out;
    }
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

/// Below this many rows (the size of a step's change, not of a hydration),
/// a filter of a borrowed change tests the rows one by one, and passes the
/// change on as it is when it keeps every row; from it on, the filter takes
/// the kernel or parallel path of [`filter`].
const PASS_THROUGH_ROWS: usize = KERNEL_ROWS;

/// `σ_pred(z)` of a change borrowed for `'a`: `z` itself, without a copy (nor
/// the hashing a copy costs), when every row passes, as the rows of a step
/// usually do; else the rows that pass. Each row is tested once.
pub(crate) fn filter_borrowed<'a>(z: &'a ZSet<Value>, pred: &Expr, params: &[Value]) -> Cow<'a, ZSet<Value>> {
    if z.len() >= PASS_THROUGH_ROWS {
        return Cow::Owned(filter(z, pred, params));
    }
    let kept: SmallVec<[bool; 256]> = z.iter().map(|(row, _)| pred.test_in(row, params)).collect();
    if kept.iter().all(|k| *k) {
        return Cow::Borrowed(z);
    }
    // A Z-set iterates in the same order every time it is not changed.
    Cow::Owned(z.iter().zip(kept).filter(|(_, k)| *k).map(|((row, w), _)| (row.clone(), w)).collect())
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

/// `σ_{field <op> number}(z)` with the column compared by the SIMD kernel.
/// Rows whose field is not a number the kernel can compare exactly (a NaN,
/// an int past 2^53, a decimal no float equals, another kind, a missing
/// field) are tested one by one. `None` if `pred` is not of that shape.
fn filter_numeric(z: &ZSet<Value>, pred: &Expr) -> Option<ZSet<Value>> {
    let Expr::Cmp(op, a, b) = pred else { return None };
    let (Expr::Field(path), Expr::Lit(Value::Number(n))) = (&**a, &**b) else { return None };
    let threshold = n.exact_f64().filter(|t| !t.is_nan())?;
    let mut column = Vec::with_capacity(z.len());
    let mut rows = Vec::with_capacity(z.len());
    let mut out = ZSet::with_capacity(z.len() / 2);
    for (row, w) in z.iter() {
        let exact = match row.get(path) {
            Some(Value::Number(n)) => n.exact_f64().filter(|f| !f.is_nan()),
            _ => None,
        };
        match exact {
            Some(f) => {
                column.push(f);
                rows.push((row, w));
            }
            None => {
                if pred.test(row) {
                    out.update(row.clone(), w);
                }
            }
        }
    }
    let mut keep = Vec::new();
    crate::kernel::compare(&column, *op, threshold, &mut keep);
    for ((row, w), keep) in rows.into_iter().zip(keep) {
        if keep {
            out.update(row.clone(), w);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ssp_core::strategies::{number, scalar};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        // The kernel path of a large filter keeps exactly the rows the
        // predicate keeps, whatever the column holds (numbers of every kind,
        // NaN, huge ints, other kinds, missing fields).
        #[test]
        fn a_kernel_filter_keeps_what_the_predicate_keeps(
            values in prop::collection::vec(prop_oneof![4 => number().prop_map(Value::Number), 1 => scalar()], KERNEL_ROWS..KERNEL_ROWS + 64),
            op in crate::expr::strategies::cmp_op(),
            lit in number(),
        ) {
            let z: ZSet<Value> = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut o = ssp_core::Object::new();
                    o.insert("id", Value::from(i as i64));
                    if !v.is_none() {
                        o.insert("n", v);
                    }
                    (Value::Object(o), 1)
                })
                .collect();
            let pred = Expr::Cmp(op, Box::new(Expr::field("n")), Box::new(Expr::Lit(Value::Number(lit))));
            let plain: ZSet<Value> = z.iter().filter(|(r, _)| pred.test(r)).map(|(r, w)| (r.clone(), w)).collect();
            prop_assert_eq!(filter(&z, &pred, &[]), plain);
        }
    }
}
