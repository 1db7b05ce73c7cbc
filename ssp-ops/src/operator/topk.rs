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
use std::collections::btree_map::Entry as Slot;
use std::iter::Peekable;

use smallvec::SmallVec;
use ssp_core::{Value, ZSet, ZWeight};

use super::join::{Ctx, Filters};
use crate::expr::Expr;
use crate::sort::{Direction, Ranked, SortKey, cmp_ranked};
use crate::tables::{OrderIndexRef, Tables};

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

/// A row in sort order, borrowed: its sort key, the row, its weight.
type Entry<'a> = (&'a SortKey, &'a Value, ZWeight);

/// The window `offset .. offset + limit` taken from rows in order: the rows
/// with the positions each fills (borrowed: a row already in the window is
/// not copied again), the sort key of the last, and whether every position
/// is filled.
type Taken<'a> = (Vec<(&'a Value, ZWeight)>, Option<&'a SortKey>, bool);

/// Takes the window `offset .. offset + limit` from rows in order.
fn take_window<'a>(rows: impl Iterator<Item = Entry<'a>>, offset: usize, limit: usize) -> Taken<'a> {
    let (mut skip, mut room) = (offset as u128, limit as u128);
    let mut window = Vec::with_capacity(limit.min(64));
    if room == 0 {
        return (window, None, true);
    }
    let mut last = None;
    for (key, row, w) in rows {
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
        window.push((row, taken as ZWeight));
        last = Some(key);
        if room == 0 {
            break;
        }
    }
    (window, last, room == 0)
}

/// Up to this many rows in the two windows, their difference is found by
/// comparing rows pairwise (rows of a shared index compare by pointer first).
const PAIRWISE_WINDOW: usize = 64;

/// Replaces the window `old` by `new`: returns `new - old`. A row in both
/// windows moves from the old to the new one, so that only the rows that
/// join the window are copied (a copy of a row touches its memory, which
/// for a row that sat in the window unchanged is likely cold); the rows that
/// leave move into the change.
fn next_window(old: &mut Vec<(Value, ZWeight)>, new: &[(&Value, ZWeight)]) -> ZSet<Value> {
    let mut out = ZSet::new();
    // A window has an exact-size buffer: it lives as long as the view.
    let mut window = Vec::with_capacity(new.len());
    if old.len() + new.len() > PAIRWISE_WINDOW {
        for (row, w) in new {
            window.push(((*row).clone(), *w));
            out.update((*row).clone(), *w);
        }
        out.extend(old.drain(..).map(|(r, w)| (r, w.wrapping_neg())));
        *old = window;
        return out;
    }
    let mut matched = [false; PAIRWISE_WINDOW];
    // A window's rows are distinct, and both windows are in order: a row of
    // the new one is looked for among the old rows not yet matched, from
    // just after the last match (a step usually shifts the window by a row
    // or two).
    let mut from = 0;
    for &(row, w) in new {
        let n = old.len();
        let found = (0..n).map(|k| (from + k) % n).find(|&i| !matched[i] && old[i].0.identical(row));
        match found {
            Some(i) => {
                from = i + 1;
                matched[i] = true;
                let (kept, was) = std::mem::take(&mut old[i]);
                let d = w.wrapping_sub(was);
                if d != 0 {
                    out.update(kept.clone(), d);
                }
                window.push((kept, w));
            }
            None => {
                window.push((row.clone(), w));
                out.update(row.clone(), w);
            }
        }
    }
    for (i, (row, w)) in old.drain(..).enumerate() {
        if !matched[i] {
            out.update(row, w.wrapping_neg());
        }
    }
    *old = window;
    out
}

/// Merges two streams of rows in order, adding the weights of equal rows.
struct Merge<'a, A: Iterator<Item = Entry<'a>>, B: Iterator<Item = Entry<'a>>> {
    a: Peekable<A>,
    b: Peekable<B>,
}

impl<'a, A: Iterator<Item = Entry<'a>>, B: Iterator<Item = Entry<'a>>> Iterator for Merge<'a, A, B> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => cmp_ranked((x.0, x.1), (y.0, y.1)),
        };
        match order {
            std::cmp::Ordering::Less => self.a.next(),
            std::cmp::Ordering::Greater => self.b.next(),
            std::cmp::Ordering::Equal => {
                let (k, r, wa) = self.a.next()?;
                let (_, _, wb) = self.b.next()?;
                Some((k, r, wa.wrapping_add(wb)))
            }
        }
    }
}

impl TopK {
    pub(crate) fn new(input: Ordered) -> Self {
        TopK { input, window: Vec::new(), last: None, full: false }
    }

    /// The window: the output rows in order, with the positions each fills.
    pub(crate) fn window(&self) -> &[(Value, ZWeight)] {
        &self.window
    }

    /// The rows of the window (for memory accounting).
    pub(crate) fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Lets go of the shared order index it reads, if any.
    pub(crate) fn release(&self, tables: &mut Tables) {
        if let Ordered::Shared { index, .. } = &self.input {
            tables.release_order_index(index);
        }
    }

    /// Whether the ordered input is a shared order index.
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.input, Ordered::Shared { .. })
    }

    /// Keeps a new window as the current output and returns `new - old`.
    fn replace_window(
        window: &mut Vec<(Value, ZWeight)>,
        last: &mut Option<SortKey>,
        full: &mut bool,
        taken: Taken<'_>,
    ) -> ZSet<Value> {
        let (rows, new_last, new_full) = taken;
        let out = next_window(window, &rows);
        *last = new_last.cloned();
        *full = new_full;
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
        let rows = index.scan(partition).filter(|(_, row)| ctx.passes(filters, row)).map(|(k, r)| (k, r, 1));
        let taken = take_window(rows, spec.offset, spec.limit);
        Some(Self::replace_window(&mut self.window, &mut self.last, &mut self.full, taken))
    }

    /// One step. An owned input's change is `delta`; a shared input reads
    /// the version's change of its table itself (the circuit does not run
    /// the filters before it): the rows of its own partition that pass the
    /// other filters, with the places in the index prepared for them once
    /// per version.
    pub(crate) fn step(&mut self, ctx: Ctx<'_>, spec: Spec<'_>, delta: &ZSet<Value>) -> ZSet<Value> {
        if spec.limit == 0 {
            return ZSet::new();
        }
        let shared = match (&self.input, ctx.step) {
            (Ordered::Shared { index, partition, filters }, Some((d, p))) => {
                Some((d.keyed_for(p, ctx.tables, index), partition, filters))
            }
            _ => None,
        };
        let computed: Vec<SortKey>;
        // A step's change is usually a row or two: kept on the stack.
        let mut changes: SmallVec<[(&SortKey, &Value, ZWeight); 8]> = match &shared {
            Some((keyed, partition, filters)) => match keyed {
                Some((change, keys)) => change
                    .iter()
                    .zip(keys.iter())
                    .filter(|((row, _), (part, _))| part == *partition && ctx.passes(filters, row))
                    .map(|((row, w), (_, key))| (key, row, w))
                    .collect(),
                None => SmallVec::new(),
            },
            None => {
                computed = delta.iter().map(|(r, _)| SortKey::of_in(spec.order, r, ctx.params)).collect();
                delta.iter().zip(&computed).map(|((r, w), k)| (k, r, w)).collect()
            }
        };
        if changes.is_empty() {
            return ZSet::new();
        }
        // A Z-set holds each row once: no two changes are equal, and an
        // unstable sort (no buffer) gives the one order.
        changes.sort_unstable_by(|a, b| cmp_ranked((a.0, a.1), (b.0, b.1)));
        // Does the change reach the window? Only rows up to its last one can
        // move it, unless it is not full (then any row may join it).
        let reaches = !self.full
            || match (&self.last, self.window.last()) {
                (Some(key), Some((row, _))) => cmp_ranked((changes[0].0, changes[0].1), (key, row)).is_le(),
                _ => true,
            };
        if let Ordered::Owned(state) = &mut self.input {
            for (key, row, w) in &changes {
                match state.entry(Ranked { key: (*key).clone(), row: (*row).clone() }) {
                    Slot::Occupied(mut e) => {
                        *e.get_mut() = e.get().wrapping_add(*w);
                        if *e.get() == 0 {
                            e.remove();
                        }
                    }
                    Slot::Vacant(e) => {
                        e.insert(*w);
                    }
                }
            }
        }
        if !reaches {
            return ZSet::new();
        }
        let taken = match &self.input {
            Ordered::Owned(state) => {
                take_window(state.iter().map(|(r, w)| (&r.key, &r.row, *w)), spec.offset, spec.limit)
            }
            Ordered::Shared { index, partition, filters } => {
                let before = ctx
                    .tables
                    .get_order_index(index)
                    .filter(|_| !ctx.hydrating)
                    .into_iter()
                    .flat_map(move |index| index.scan(partition))
                    .filter(move |(_, row)| ctx.passes(filters, row))
                    .map(|(k, r)| (k, r, 1));
                let changed = changes.iter().map(|(k, r, w)| (*k, *r, *w));
                take_window(Merge { a: before.peekable(), b: changed.peekable() }, spec.offset, spec.limit)
            }
        };
        Self::replace_window(&mut self.window, &mut self.last, &mut self.full, taken)
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
    let mut rows: Vec<(SortKey, &Value, ZWeight)> =
        input.iter().map(|(r, w)| (SortKey::of_in(order, r, params), r, w)).collect();
    rows.sort_by(|a, b| cmp_ranked((&a.0, a.1), (&b.0, b.1)));
    let (window, _, _) = take_window(rows.iter().map(|(k, r, w)| (k, *r, *w)), offset, limit);
    window.into_iter().map(|(r, w)| (r.clone(), w)).collect()
}
