//! `⋈`, the equi-join. Bilinear: with `a`, `b` the inputs before the step,
//! `Δ(a ⋈ b) = Δa ⋈ b + a ⋈ Δb + Δa ⋈ Δb`.

use hashbrown::HashMap;
use smol_str::SmolStr;
use ssp_core::{FixedHasher, IndexedZSet, Object, Value, ZSet, ZWeight};

use smallvec::SmallVec;

use crate::delta::{Delta, Prepared};
use crate::expr::Expr;
use crate::plan::{NodeId, Op, Plan};
use crate::tables::{KeyIndexRef, Tables};

/// What an operator reads of the shared state during a step.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) tables: &'a Tables,
    /// During hydration the circuit starts from nothing: shared inputs read
    /// as empty, and the whole table arrives as the step's change.
    pub(crate) hydrating: bool,
    /// The circuit's parameters.
    pub(crate) params: &'a [Value],
    /// The circuit's plan, for the filters shared inputs apply.
    pub(crate) plan: &'a Plan,
    /// Stepping (not hydrating): the version's change and what the tables
    /// before it made of it.
    pub(crate) step: Option<(&'a Delta, &'a Prepared)>,
}

impl Ctx<'_> {
    /// Whether `row` passes the filter nodes `filters` of the plan.
    pub(crate) fn passes(&self, filters: &[NodeId], row: &Value) -> bool {
        filters.iter().all(|id| match self.plan.node(*id) {
            Op::Filter { pred, .. } => pred.test_in(row, self.params),
            _ => true,
        })
    }
}

/// The filter nodes between a shared input and its base table.
pub(crate) type Filters = SmallVec<[NodeId; 2]>;

/// One input of a join-like operator, as it was before the step, indexed by
/// the operator's key for that input.
#[derive(Debug)]
pub(crate) enum Side {
    /// The operator integrates this input itself.
    Owned(IndexedZSet<Value, Value>),
    /// A base table, filtered by the plan's `filters`, read through a shared
    /// key index: the operator keeps no copy of it.
    Shared { index: KeyIndexRef, filters: Filters },
}

impl Side {
    /// Calls `f` with every row of the input (before the step) whose key is `key`.
    pub(crate) fn for_each(&self, ctx: Ctx<'_>, key: &Value, mut f: impl FnMut(&Value, ZWeight)) {
        match self {
            Side::Owned(state) => {
                if let Some(rows) = state.get(key) {
                    rows.iter().for_each(|(r, w)| f(r, w));
                }
            }
            Side::Shared { index, filters } => {
                if ctx.hydrating {
                    return;
                }
                let rows = ctx.tables.get_key_index(index).and_then(|i| i.get(key));
                for (r, w) in rows.into_iter().flat_map(ZSet::iter) {
                    if ctx.passes(filters, r) {
                        f(r, w);
                    }
                }
            }
        }
    }

    /// Lets go of the shared index this side reads, if any.
    pub(crate) fn release(&self, tables: &mut Tables) {
        if let Side::Shared { index, .. } = self {
            tables.release_key_index(index);
        }
    }

    /// The total weight of the rows with key `key` (before the step).
    pub(crate) fn count(&self, ctx: Ctx<'_>, key: &Value) -> ZWeight {
        let mut n: ZWeight = 0;
        self.for_each(ctx, key, |_, w| n = n.wrapping_add(w));
        n
    }

    /// Takes the step's change into an owned input; shared inputs are updated
    /// by the tables themselves after the step.
    pub(crate) fn absorb(&mut self, indexed_delta: &Indexed<'_>) {
        if let Side::Owned(state) = self {
            for (k, rows) in indexed_delta {
                for (row, w) in rows {
                    state.update(k.clone(), (*row).clone(), *w);
                }
            }
        }
    }

    /// Rows an owned input holds (for memory and cost estimates).
    pub(crate) fn owned_rows(&self) -> usize {
        match self {
            Side::Owned(state) => state.iter().map(|(_, z)| z.len()).sum(),
            Side::Shared { .. } => 0,
        }
    }
}

/// A change indexed by key.
pub(crate) type Indexed<'a> = HashMap<Value, Vec<(&'a Value, ZWeight)>, FixedHasher>;

/// Indexes the rows of `z` by `key`.
pub(crate) fn index_by<'a>(z: &'a ZSet<Value>, key: &Expr, params: &[Value]) -> Indexed<'a> {
    let mut out: Indexed<'a> = HashMap::default();
    for (row, w) in z.iter() {
        out.entry(key.eval_in(row, params)).or_default().push((row, w));
    }
    out
}

/// The output row of a joined pair.
fn pair(left_name: &SmolStr, l: &Value, right_name: &SmolStr, r: &Value) -> Value {
    Value::Object(Object::from_iter([(left_name.clone(), l.clone()), (right_name.clone(), r.clone())]))
}

/// The state of an incremental join: its two inputs before the step.
#[derive(Debug)]
pub(crate) struct Join {
    pub(crate) left: Side,
    pub(crate) right: Side,
    pub(crate) left_key: Expr,
    pub(crate) right_key: Expr,
    pub(crate) left_name: SmolStr,
    pub(crate) right_name: SmolStr,
}

impl Join {
    /// Whether both inputs are shared base tables.
    pub(crate) fn both_shared(&self) -> bool {
        matches!((&self.left, &self.right), (Side::Shared { .. }, Side::Shared { .. }))
    }

    /// Hydration of a join of two shared tables, straight from their key
    /// indexes as they are now. `None` unless both inputs are shared.
    pub(crate) fn hydrate_shared(&self, ctx: Ctx<'_>) -> Option<ZSet<Value>> {
        let (Side::Shared { index: li, filters: lf }, Side::Shared { .. }) = (&self.left, &self.right) else {
            return None;
        };
        let now = Ctx { hydrating: false, ..ctx };
        let mut out = ZSet::new();
        for (k, lrows) in ctx.tables.get_key_index(li)?.iter() {
            for (l, wl) in lrows.iter().filter(|(l, _)| ctx.passes(lf, l)) {
                self.right.for_each(now, k, |r, wr| {
                    out.update(pair(&self.left_name, l, &self.right_name, r), wl.wrapping_mul(wr));
                });
            }
        }
        Some(out)
    }

    /// `Δa ⋈ b + a ⋈ Δb + Δa ⋈ Δb`, then `a += Δa`, `b += Δb`.
    pub(crate) fn step(&mut self, ctx: Ctx<'_>, dl: &ZSet<Value>, dr: &ZSet<Value>) -> ZSet<Value> {
        let dl_idx = index_by(dl, &self.left_key, ctx.params);
        let dr_idx = index_by(dr, &self.right_key, ctx.params);
        let mut out = ZSet::new();
        for (k, lrows) in &dl_idx {
            for &(l, wl) in lrows {
                self.right.for_each(ctx, k, |r, wr| {
                    out.update(pair(&self.left_name, l, &self.right_name, r), wl.wrapping_mul(wr));
                });
                for &(r, wr) in dr_idx.get(k).into_iter().flatten() {
                    out.update(pair(&self.left_name, l, &self.right_name, r), wl.wrapping_mul(wr));
                }
            }
        }
        for (k, rrows) in &dr_idx {
            for &(r, wr) in rrows {
                self.left.for_each(ctx, k, |l, wl| {
                    out.update(pair(&self.left_name, l, &self.right_name, r), wl.wrapping_mul(wr));
                });
            }
        }
        self.left.absorb(&dl_idx);
        self.right.absorb(&dr_idx);
        out
    }
}

/// The join of whole inputs.
pub(crate) fn reference(
    left: &ZSet<Value>,
    right: &ZSet<Value>,
    left_key: &Expr,
    right_key: &Expr,
    left_name: &SmolStr,
    right_name: &SmolStr,
    params: &[Value],
) -> ZSet<Value> {
    let right_idx = index_by(right, right_key, params);
    let mut out = ZSet::new();
    for (l, wl) in left.iter() {
        for &(r, wr) in right_idx.get(&left_key.eval_in(l, params)).into_iter().flatten() {
            out.update(pair(left_name, l, right_name, r), wl.wrapping_mul(wr));
        }
    }
    out
}
