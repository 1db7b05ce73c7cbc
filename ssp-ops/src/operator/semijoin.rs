//! `⋉` (semi-join, EXISTS) and `▷` (anti-join, NOT EXISTS): the left rows
//! whose key the right input has (or lacks).
//!
//! With `L`, `R` before the step and `K` the keys a step touches, for each
//! `k ∈ K`: `Δout[k] = [R'(k) > 0]·L'[k] - [R(k) > 0]·L[k]`, where `R(k)` is the
//! total weight of right rows with key `k` and the primes are after the step
//! (negated tests for the anti-join). Work is proportional to the touched
//! keys' left rows.

use hashbrown::{HashMap, HashSet};
use ssp_core::{FixedHasher, Value, ZSet, ZWeight};

use super::join::{Ctx, Side, index_by};
use crate::expr::Expr;

/// The state of an incremental semi- or anti-join.
#[derive(Debug)]
pub(crate) struct SemiJoin {
    pub(crate) left: Side,
    pub(crate) right: Side,
    pub(crate) left_key: Expr,
    pub(crate) right_key: Expr,
    /// NOT EXISTS instead of EXISTS.
    pub(crate) anti: bool,
}

impl SemiJoin {
    pub(crate) fn step(&mut self, ctx: Ctx<'_>, dl: &ZSet<Value>, dr: &ZSet<Value>) -> ZSet<Value> {
        let dl_idx = index_by(dl, &self.left_key, ctx.params);
        let dr_idx = index_by(dr, &self.right_key, ctx.params);
        let touched: HashSet<&Value, FixedHasher> = dl_idx.keys().chain(dr_idx.keys()).collect();
        let mut out = ZSet::new();
        for k in touched {
            let before = self.right.count(ctx, k);
            let change: ZWeight = dr_idx.get(k).into_iter().flatten().map(|(_, w)| *w).fold(0, ZWeight::wrapping_add);
            let after = before.wrapping_add(change);
            let (kept_before, kept_after) = ((before > 0) != self.anti, (after > 0) != self.anti);
            let dl_k = dl_idx.get(k).into_iter().flatten();
            match (kept_before, kept_after) {
                (true, true) => dl_k.for_each(|(r, w)| {
                    out.update((*r).clone(), *w);
                }),
                (false, true) => {
                    self.left.for_each(ctx, k, |r, w| {
                        out.update(r.clone(), w);
                    });
                    dl_k.for_each(|(r, w)| {
                        out.update((*r).clone(), *w);
                    });
                }
                (true, false) => self.left.for_each(ctx, k, |r, w| {
                    out.update(r.clone(), w.wrapping_neg());
                }),
                (false, false) => {}
            }
        }
        self.left.absorb(&dl_idx);
        self.right.absorb(&dr_idx);
        out
    }
}

/// The semi- (or anti-) join of whole inputs.
pub(crate) fn reference(
    left: &ZSet<Value>,
    right: &ZSet<Value>,
    left_key: &Expr,
    right_key: &Expr,
    anti: bool,
    params: &[Value],
) -> ZSet<Value> {
    // Keys match as values (`1` matches `1.0f`), so they are counted by `==`.
    let mut counts: HashMap<Value, ZWeight, FixedHasher> = HashMap::default();
    for (r, w) in right.iter() {
        let count = counts.entry(right_key.eval_in(r, params)).or_default();
        *count = count.wrapping_add(w);
    }
    left.iter()
        .filter(|(l, _)| (counts.get(&left_key.eval_in(l, params)).copied().unwrap_or(0) > 0) != anti)
        .map(|(l, w)| (l.clone(), w))
        .collect()
}
