//! Top-k: ORDER BY … LIMIT … START ….
//!
//! The output is the window of input rows at positions `offset .. offset +
//! limit` in sort order (a row of weight `n` fills `n` positions). A step
//! that changes nothing at or before the window's last row, while the window
//! is full, changes nothing; otherwise the window is read again from the
//! ordered input, `offset + limit` positions at most, and the step emits
//! `new window - old window`.
//!
//! The ordered input is either the operator's own (it integrates its input
//! into a B-tree), or, for a filtered base table, the table's shared order
//! index, which the operator walks merged with the step's change: then the
//! operator owns nothing but its window.

use std::collections::BTreeMap;
use std::iter::Peekable;

use ssp_core::{Value, ZSet, ZWeight};

use super::join::{Ctx, Filters};
use crate::expr::Expr;
use crate::sort::{Direction, Ranked, SortKey};
use crate::tables::OrderIndexRef;

/// Where a top-k reads its ordered input.
#[derive(Debug)]
pub(crate) enum Ordered {
    /// Its own integrated input.
    Owned(BTreeMap<Ranked, ZWeight>),
    /// A base table's shared order index: the rows of `partition` that pass
    /// the plan's `filters`.
    Shared { index: OrderIndexRef, partition: Value, filters: Filters },
}

/// The state of an incremental top-k: where it reads its ordered input, and
/// its window. The ORDER BY, LIMIT and START are read from the plan.
#[derive(Debug)]
pub(crate) struct TopK {
    pub(crate) input: Ordered,
    /// The current output in order, with the positions each row fills.
    window: Vec<(Value, ZWeight)>,
    /// The sort key of the window's last row.
    last: Option<SortKey>,
    /// Whether every position of the window is filled.
    full: bool,
}

/// The ORDER BY … LIMIT … START … of a top-k, from its plan.
#[derive(Clone, Copy)]
pub(crate) struct Spec<'a> {
    pub(crate) order: &'a [(Expr, Direction)],
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

/// Takes the window `offset .. offset + limit` from rows in order.
fn take_window(
    rows: impl Iterator<Item = (Ranked, ZWeight)>,
    offset: usize,
    limit: usize,
) -> (Vec<(Ranked, ZWeight)>, bool) {
    let (mut skip, mut room) = (offset as u128, limit as u128);
    let mut window = Vec::new();
    if room == 0 {
        return (window, true);
    }
    for (ranked, w) in rows {
        if w <= 0 {
            continue;
        }
        let mut w = w as u128;
        let skipped = w.min(skip);
        skip -= skipped;
        w -= skipped;
        if w == 0 {
            continue;
        }
        let taken = w.min(room);
        room -= taken;
        window.push((ranked, taken as ZWeight));
        if room == 0 {
            return (window, true);
        }
    }
    (window, false)
}

/// `new - old` for two windows, both in order: a merge that touches only the
/// rows that differ (a window moves by a row or two per step).
fn window_change(old: &[(Ranked, ZWeight)], new: &[(Ranked, ZWeight)]) -> ZSet<Value> {
    let mut out = ZSet::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.0.cmp(&b.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                out.update(old[i].0.1.clone(), -old[i].1);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.update(new[j].0.1.clone(), new[j].1);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let w = new[j].1.wrapping_sub(old[i].1);
                if w != 0 {
                    out.update(new[j].0.1.clone(), w);
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Merges two streams of ranked rows in order, adding the weights of equal rows.
struct Merge<A: Iterator<Item = (Ranked, ZWeight)>, B: Iterator<Item = (Ranked, ZWeight)>> {
    a: Peekable<A>,
    b: Peekable<B>,
}

impl<A: Iterator<Item = (Ranked, ZWeight)>, B: Iterator<Item = (Ranked, ZWeight)>> Iterator for Merge<A, B> {
    type Item = (Ranked, ZWeight);

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.0.cmp(&y.0),
        };
        match order {
            std::cmp::Ordering::Less => self.a.next(),
            std::cmp::Ordering::Greater => self.b.next(),
            std::cmp::Ordering::Equal => {
                let (k, wa) = self.a.next()?;
                let (_, wb) = self.b.next()?;
                Some((k, wa.wrapping_add(wb)))
            }
        }
    }
}

impl TopK {
    pub(crate) fn new(input: Ordered) -> Self {
        TopK { input, window: Vec::new(), last: None, full: false }
    }

    /// The rows of the window (for memory accounting).
    pub(crate) fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Whether the ordered input is a shared order index.
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.input, Ordered::Shared { .. })
    }

    /// Keeps `window` as the current output and returns `window - old`.
    fn replace_window(
        &mut self,
        spec: Spec<'_>,
        params: &[Value],
        window: Vec<(Ranked, ZWeight)>,
        full: bool,
    ) -> ZSet<Value> {
        let old: Vec<(Ranked, ZWeight)> = std::mem::take(&mut self.window)
            .into_iter()
            .map(|(row, w)| ((SortKey::of_in(spec.order, &row, params), row), w))
            .collect();
        let out = window_change(&old, &window);
        self.last = window.last().map(|((k, _), _)| k.clone());
        // A fresh vector of the exact size: collecting in place would keep the
        // larger buffer of `window` alive for as long as the view lives.
        let mut rows = Vec::with_capacity(window.len());
        rows.extend(window.into_iter().map(|((_, row), w)| (row, w)));
        self.window = rows;
        self.full = full;
        out
    }

    /// Hydration over a shared order index: the window read straight from the
    /// index as it is now, without the table's rows as a change. `None` if the
    /// input is not shared.
    pub(crate) fn hydrate_shared(&mut self, ctx: Ctx<'_>, spec: Spec<'_>) -> Option<ZSet<Value>> {
        let Ordered::Shared { index, partition, filters } = &self.input else {
            return None;
        };
        let index = ctx.tables.get_order_index(index)?;
        let rows = index.scan(partition).filter(|(_, row)| ctx.passes(filters, row)).map(|r| (r, 1));
        let (window, full) = take_window(rows, spec.offset, spec.limit);
        Some(self.replace_window(spec, ctx.params, window, full))
    }

    pub(crate) fn step(&mut self, ctx: Ctx<'_>, spec: Spec<'_>, delta: &ZSet<Value>) -> ZSet<Value> {
        if delta.is_empty() || spec.limit == 0 {
            return ZSet::new();
        }
        let mut changes: Vec<(Ranked, ZWeight)> =
            delta.iter().map(|(r, w)| ((SortKey::of_in(spec.order, r, ctx.params), r.clone()), w)).collect();
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        // Does the change reach the window? Only rows up to its last one can
        // move it, unless it is not full (then any row may join it).
        let reaches = !self.full
            || match (&self.last, self.window.last()) {
                (Some(key), Some((row, _))) => (&changes[0].0.0, &changes[0].0.1) <= (key, row),
                _ => true,
            };
        if let Ordered::Owned(state) = &mut self.input {
            for (ranked, w) in &changes {
                let e = state.entry(ranked.clone()).or_insert(0);
                *e = e.wrapping_add(*w);
                if *e == 0 {
                    state.remove(ranked);
                }
            }
        }
        if !reaches {
            return ZSet::new();
        }
        let (window, full) = match &self.input {
            Ordered::Owned(state) => take_window(state.iter().map(|(k, w)| (k.clone(), *w)), spec.offset, spec.limit),
            Ordered::Shared { index, partition, filters } => {
                let before: Box<dyn Iterator<Item = (Ranked, ZWeight)>> = match ctx.tables.get_order_index(index) {
                    Some(index) if !ctx.hydrating => {
                        Box::new(index.scan(partition).filter(move |(_, row)| ctx.passes(filters, row)).map(|r| (r, 1)))
                    }
                    _ => Box::new(std::iter::empty()),
                };
                let merged = Merge { a: before.peekable(), b: changes.into_iter().peekable() };
                take_window(merged, spec.offset, spec.limit)
            }
        };
        self.replace_window(spec, ctx.params, window, full)
    }
}

/// The top-k of a whole input.
pub(crate) fn reference(
    input: &ZSet<Value>,
    order: &[(Expr, Direction)],
    limit: usize,
    offset: usize,
    params: &[Value],
) -> ZSet<Value> {
    let mut rows: Vec<(Ranked, ZWeight)> =
        input.iter().map(|(r, w)| ((SortKey::of_in(order, r, params), r.clone()), w)).collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let (window, _) = take_window(rows.into_iter(), offset, limit);
    window.into_iter().map(|((_, row), w)| (row, w)).collect()
}
