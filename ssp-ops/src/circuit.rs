//! [`Circuit`]: a plan with the incremental state of its operators.

use std::borrow::Cow;
use std::sync::Arc;

use smallvec::SmallVec;
use smol_str::SmolStr;
use ssp_core::{IndexedZSet, Value, ZSet};

use crate::delta::{Delta, Prep};
use crate::expr::{CmpOp, Expr};
use crate::operator::aggregate::Aggregate;
use crate::operator::distinct::Distinct;
use crate::operator::join::{Ctx, Filters, Join, Side};
use crate::operator::reach::Reach;
use crate::operator::semijoin::SemiJoin;
use crate::operator::topk::{Ordered, Spec, TopK};
use crate::operator::{aggregate, distinct, join, linear, reach, semijoin, topk};
use crate::plan::{NodeId, Op, Plan};
use crate::tables::Tables;

/// The incremental state of one operator.
#[derive(Debug)]
enum State {
    Linear,
    Join(Box<Join>),
    SemiJoin(Box<SemiJoin>),
    Aggregate(Box<Aggregate>),
    Distinct(Box<Distinct>),
    TopK(Box<TopK>),
    Reach(Box<Reach>),
}

/// What a circuit would cost to bring up to date, in rows touched: the
/// figures the runtime's breaker compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Rows an incremental step with the given change would touch.
    pub step_rows: usize,
    /// Rows a rehydration from the tables would read.
    pub rehydrate_rows: usize,
}

/// A plan with the incremental state of its operators: fed the change of each
/// version, it returns the change of its output.
///
/// A circuit owns only what is its own (group state, top-k windows, the
/// integrated inputs of operators that read other operators); base tables and
/// their indexes are read from the shared [`Tables`].
///
/// ```
/// use ssp_core::{Record, RecordId, Value, Version, ChangeBatch};
/// use ssp_ops::{Circuit, Delta, Direction, Expr, PlanBuilder, Tables};
///
/// let mut b = PlanBuilder::new();
/// let issues = b.source("issue");
/// let open = b.filter(issues, Expr::field("open").eq(Expr::lit(true)));
/// let top = b.top_k(open, vec![(Expr::field("votes"), Direction::Desc)], 2, 0);
/// let plan = b.build(top)?;
///
/// let mut tables = Tables::new();
/// let (mut circuit, initial) = Circuit::new(plan, &mut tables);
/// assert!(initial.is_empty());
///
/// let mut batch = ChangeBatch::new("issue", Version(1));
/// for (key, votes) in [(1, 5), (2, 9), (3, 7)] {
///     let value: Value = format!("{{ open: true, votes: {votes} }}").parse()?;
///     batch.insert(Record::new(RecordId::new("issue", key), Version(1), value))?;
/// }
/// let delta = Delta::from_batches([&batch]);
/// tables.check(&delta)?;                       // refuse what the tables would refuse
/// let change = circuit.step(&tables, &delta); // phase 1: against the tables before
/// tables.apply(&delta)?;                       // phase 2: the tables take the change
/// assert_eq!(change.len(), 2);                 // issues 2 and 3
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Circuit {
    plan: Arc<Plan>,
    params: Box<[Value]>,
    states: Box<[State]>,
    /// The nodes the output depends on: a step runs only these.
    live: Box<[bool]>,
}

/// The base table and filter nodes of a chain `Filter* <- Source`, if `node`
/// is one.
fn source_chain(plan: &Plan, mut node: NodeId) -> Option<(SmolStr, Filters)> {
    let mut filters = Filters::new();
    loop {
        match plan.node(node) {
            Op::Source { table } => return Some((table.clone(), filters)),
            Op::Filter { input, .. } => {
                filters.push(node);
                node = *input;
            }
            _ => return None,
        }
    }
}

/// The value a constant side of an equality stands for: a literal, or a
/// parameter's value.
fn eq_value<'a>(side: &'a Expr, params: &'a [Value]) -> Option<&'a Value> {
    match side {
        Expr::Lit(v) => Some(v),
        Expr::Param(i) => Some(params.get(*i as usize).unwrap_or(&Value::None)),
        _ => None,
    }
}

/// The predicates of filter nodes.
fn preds<'a>(plan: &'a Plan, filters: &Filters) -> impl Iterator<Item = &'a Expr> + 'a {
    let filters = filters.clone();
    filters.into_iter().filter_map(move |id| match plan.node(id) {
        Op::Filter { pred, .. } => Some(pred),
        _ => None,
    })
}

impl Circuit {
    /// Instantiates `plan` over the current `tables`, registering the shared
    /// indexes it reads, and returns it with its initial output (the plan's
    /// result over the tables as they are: the hydration).
    pub fn new(plan: impl Into<Arc<Plan>>, tables: &mut Tables) -> (Circuit, ZSet<Value>) {
        Self::with_params(plan, Vec::new(), tables)
    }

    /// [`Circuit::new`] with parameters bound: [`Expr::Param`]`(i)` reads
    /// `params[i]`. Circuits of one plan with different parameters share the
    /// plan (pass the same `Arc`) and the shared indexes.
    pub fn with_params(plan: impl Into<Arc<Plan>>, params: Vec<Value>, tables: &mut Tables) -> (Circuit, ZSet<Value>) {
        let plan = plan.into();
        let states = plan.nodes.iter().map(|op| Self::state(&plan, op, &params, tables)).collect();
        let mut circuit = Circuit { plan, params: params.into_boxed_slice(), states, live: Box::new([]) };
        circuit.live = circuit.demand(false).into_boxed_slice();
        let output = circuit.run(true, tables, &Delta::new(), None).unwrap_or_default();
        (circuit, output)
    }

    /// Lets go of the shared indexes this circuit reads: an index no
    /// circuit reads any more is dropped from `tables`, with its memory.
    ///
    /// Call it with the tables the circuit was made over when the circuit
    /// is no longer wanted (dropping a circuit without it keeps its indexes
    /// for as long as the tables live, and up to date, at a cost per change).
    /// Released against other tables, it lets go of nothing: their indexes
    /// are other circuits'.
    ///
    /// ```
    /// use ssp_ops::{Circuit, Direction, Expr, PlanBuilder, Tables};
    /// let mut b = PlanBuilder::new();
    /// let t = b.source("t");
    /// let top = b.top_k(t, vec![(Expr::field("score"), Direction::Desc)], 10, 0);
    /// let plan = b.build(top).unwrap();
    /// let mut tables = Tables::new();
    /// let (first, _) = Circuit::new(plan.clone(), &mut tables);
    /// let (second, _) = Circuit::new(plan.clone(), &mut tables);
    /// assert_eq!(tables.index_count(), 1, "one order index, shared");
    /// first.release(&mut tables);
    /// assert_eq!(tables.index_count(), 1, "the second circuit still reads it");
    /// second.release(&mut tables);
    /// assert_eq!(tables.index_count(), 0);
    ///
    /// // Other tables hold none of a circuit's indexes: nothing of theirs is
    /// // let go (and the circuit's own stay registered).
    /// let mut others = Tables::new();
    /// let (theirs, _) = Circuit::new(plan.clone(), &mut others);
    /// let (mine, _) = Circuit::new(plan, &mut tables);
    /// mine.release(&mut others);
    /// assert_eq!((tables.index_count(), others.index_count()), (1, 1));
    /// theirs.release(&mut others);
    /// assert_eq!(others.index_count(), 0);
    /// ```
    pub fn release(self, tables: &mut Tables) {
        for state in self.states.iter() {
            match state {
                State::TopK(t) => t.release(tables),
                State::Join(j) => {
                    j.left.release(tables);
                    j.right.release(tables);
                }
                State::SemiJoin(j) => {
                    j.left.release(tables);
                    j.right.release(tables);
                }
                _ => {}
            }
        }
    }

    /// A new circuit of this one's plan and parameters over `tables` as they
    /// are, with its initial output: a rehydration (after a step that gave
    /// up, or when rebuilding is cheaper than stepping). The new circuit
    /// registers its own uses of the shared indexes: [`release`] the one it
    /// replaces.
    ///
    /// [`release`]: Circuit::release
    pub fn rebuild(&self, tables: &mut Tables) -> (Circuit, ZSet<Value>) {
        Self::with_params(self.plan.clone(), self.params.to_vec(), tables)
    }

    /// The nodes a run must compute: those the output depends on, but not
    /// the inputs of a top-k over a shared order index (it reads its table's
    /// change itself) nor, when hydrating, those of a join of shared sides.
    fn demand(&self, hydrating: bool) -> Vec<bool> {
        let mut needed = vec![false; self.plan.nodes.len()];
        needed[self.plan.output.index()] = true;
        for i in (0..needed.len()).rev() {
            // A shared top-k reads its table's change itself, and hydrates
            // from the index; a join of shared sides hydrates from them.
            let from_index = match &self.states[i] {
                State::TopK(t) => t.is_shared(),
                State::Join(j) => hydrating && j.both_shared(),
                _ => false,
            };
            if needed[i] && !from_index {
                for input in self.plan.nodes[i].inputs() {
                    needed[input.index()] = true;
                }
            }
        }
        needed
    }

    fn side(plan: &Plan, input: NodeId, key: &Expr, tables: &mut Tables) -> Side {
        // A shared index is keyed without parameters: a key that reads one
        // differs per circuit, so such an input is integrated by the operator.
        match source_chain(plan, input) {
            Some((table, filters)) if !key.has_params() => {
                Side::Shared { index: tables.key_index(&table, key), filters }
            }
            _ => Side::Owned(IndexedZSet::new()),
        }
    }

    fn state(plan: &Plan, op: &Op, params: &[Value], tables: &mut Tables) -> State {
        match op {
            Op::Source { .. } | Op::Filter { .. } | Op::Map { .. } | Op::Union { .. } | Op::Minus { .. } => {
                State::Linear
            }
            Op::Join { left, right, left_key, right_key, left_name, right_name } => State::Join(Box::new(Join {
                left: Self::side(plan, *left, left_key, tables),
                right: Self::side(plan, *right, right_key, tables),
                left_key: left_key.clone(),
                right_key: right_key.clone(),
                left_name: left_name.clone(),
                right_name: right_name.clone(),
            })),
            Op::SemiJoin { left, right, left_key, right_key } | Op::AntiJoin { left, right, left_key, right_key } => {
                State::SemiJoin(Box::new(SemiJoin {
                    left: Self::side(plan, *left, left_key, tables),
                    right: Self::side(plan, *right, right_key, tables),
                    left_key: left_key.clone(),
                    right_key: right_key.clone(),
                    anti: matches!(op, Op::AntiJoin { .. }),
                }))
            }
            Op::Aggregate { group, aggregates, .. } => {
                State::Aggregate(Box::new(Aggregate::new(group.clone(), aggregates.clone())))
            }
            Op::Distinct { .. } => State::Distinct(Box::default()),
            Op::TopK { input, order, .. } => {
                let chain = source_chain(plan, *input).filter(|_| order.iter().all(|(e, _)| !e.has_params()));
                let ordered = match chain {
                    Some((table, mut filters)) => {
                        // An equality with a constant partitions the index, so
                        // that the top-k walks only its own partition.
                        let eq = preds(plan, &filters).flat_map(|p| p.conjuncts()).find_map(|c| match c {
                            Expr::Cmp(CmpOp::Eq, a, b) => match (&**a, &**b) {
                                (f @ Expr::Field(_), Expr::Lit(v)) | (Expr::Lit(v), f @ Expr::Field(_)) => {
                                    Some((f.clone(), v.clone()))
                                }
                                (f @ Expr::Field(_), Expr::Param(i)) | (Expr::Param(i), f @ Expr::Field(_)) => {
                                    Some((f.clone(), params.get(*i as usize).cloned().unwrap_or_default()))
                                }
                                _ => None,
                            },
                            _ => None,
                        });
                        let (partition_expr, partition) = match eq {
                            Some((f, v)) => {
                                // A filter that is only that equality holds for
                                // every row of the partition (the index groups
                                // rows by `==` of the field, as the filter
                                // tests): the walk need not test it again.
                                filters.retain(|id| match plan.node(*id) {
                                    Op::Filter { pred, .. } => match pred.conjuncts()[..] {
                                        [Expr::Cmp(CmpOp::Eq, a, b)] => {
                                            !matches!(
                                                (&**a, &**b),
                                                (Expr::Field(_), Expr::Lit(_) | Expr::Param(_))
                                                    | (Expr::Lit(_) | Expr::Param(_), Expr::Field(_))
                                            ) || !(**a == f || **b == f)
                                                || !(eq_value(a, params) == Some(&v) || eq_value(b, params) == Some(&v))
                                        }
                                        _ => true,
                                    },
                                    _ => true,
                                });
                                (Some(f), v)
                            }
                            None => (None, Value::None),
                        };
                        let index = tables.order_index(&table, partition_expr.as_ref(), order);
                        Ordered::Shared { index, partition, filters }
                    }
                    None => Ordered::Owned(Default::default()),
                };
                State::TopK(Box::new(TopK::new(ordered)))
            }
            Op::Reach { start_key, edge_from, edge_to, min_depth, max_depth, .. } => State::Reach(Box::new(
                Reach::new(start_key.clone(), edge_from.clone(), edge_to.clone(), *min_depth, *max_depth),
            )),
        }
    }

    /// The plan this circuit runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The base tables the circuit reads: a change to any other table cannot
    /// change its output.
    pub fn tables(&self) -> &[SmolStr] {
        self.plan.source_tables()
    }

    /// The parameters bound to this circuit.
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// [`Plan::route_keys`] with the circuit's parameters bound: for each
    /// table it reads, the field and the value a changed row must hold to
    /// change the output, if there is one.
    pub fn route_keys(&self) -> Vec<(SmolStr, Option<(ssp_core::FieldPath, Value)>)> {
        self.plan
            .route_keys()
            .into_iter()
            .map(|(table, key)| {
                let key = key.map(|(field, k)| {
                    let value = match k {
                        Expr::Param(i) => self.params.get(i as usize).cloned().unwrap_or(Value::None),
                        Expr::Lit(v) => v,
                        _ => Value::None,
                    };
                    (field, value)
                });
                (table, key)
            })
            .collect()
    }

    /// Whether `delta` touches a table this circuit reads.
    pub fn is_affected_by(&self, delta: &Delta) -> bool {
        self.tables().iter().any(|t| delta.table(t).is_some())
    }

    /// Phase one of a version: the change of the circuit's output for the
    /// version's change `delta`, computed against `tables` as they were
    /// *before* the version. Check `delta` with [`Tables::check`] first (a
    /// change the tables refuse must not reach any circuit), and call
    /// [`Tables::apply`] with the same `delta` once every affected circuit has
    /// stepped; create no circuit in between. `tables` are the tables the
    /// circuit was made over: in other tables it finds none of its shared
    /// indexes.
    pub fn step(&mut self, tables: &Tables, delta: &Delta) -> ZSet<Value> {
        if !self.is_affected_by(delta) {
            return ZSet::new();
        }
        self.run(false, tables, delta, None).unwrap_or_default()
    }

    /// [`step`](Self::step) that gives up when `stop` says so: `stop` is
    /// asked before each operator that keeps state (joins, groups, top-k,
    /// distinct, reachability: those whose work a change can multiply) runs;
    /// an operator, once started, runs to its end. When it answers `true`
    /// the step ends with `None`.
    ///
    /// A step that gave up leaves the circuit's state part-way through the
    /// version: drop the circuit and build a new one (a rehydration) once the
    /// tables have taken the change. This is how a caller bounds the time a
    /// step may take (a circuit breaker's time budget) without anything here
    /// reading a clock.
    ///
    /// ```
    /// # use ssp_core::{ChangeBatch, Record, RecordId, Value, Version};
    /// # use ssp_ops::{Circuit, Delta, Direction, Expr, PlanBuilder, Tables};
    /// let mut b = PlanBuilder::new();
    /// let issues = b.source("issue");
    /// let top = b.top_k(issues, vec![(Expr::field("votes"), Direction::Desc)], 10, 0);
    /// let plan = b.build(top)?;
    /// let mut tables = Tables::new();
    /// let (mut circuit, _) = Circuit::new(plan, &mut tables);
    /// let mut batch = ChangeBatch::new("issue", Version(1));
    /// batch.insert(Record::new(RecordId::new("issue", 1), Version(1), Value::from(1)))?;
    /// let delta = Delta::from_batches([&batch]);
    /// // Out of time before the top-k: the step gives up.
    /// assert!(circuit.step_within(&tables, &delta, &|| true).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn step_within(&mut self, tables: &Tables, delta: &Delta, stop: &dyn Fn() -> bool) -> Option<ZSet<Value>> {
        if !self.is_affected_by(delta) {
            return Some(ZSet::new());
        }
        self.run(false, tables, delta, Some(stop))
    }

    /// Estimates the rows a step with `delta` and a rehydration would touch.
    pub fn cost(&self, tables: &Tables, delta: &Delta) -> Cost {
        let mut step_rows = 0usize;
        let mut rehydrate_rows = 0usize;
        for t in self.tables() {
            step_rows += delta.table(t).map_or(0, ZSet::len);
            rehydrate_rows += tables.len(t);
        }
        // Each stateful operator at least reads its touched state once more.
        let stateful = self.states.iter().filter(|s| !matches!(s, State::Linear)).count().max(1);
        Cost { step_rows: step_rows.saturating_mul(stateful), rehydrate_rows: rehydrate_rows.saturating_mul(stateful) }
    }

    /// The circuit's whole output, if the circuit holds it: when the output
    /// operator is a top-k, its window, in order, each row with the
    /// positions it fills (its weight). A caller that needs the integrated
    /// output of such a circuit reads it here instead of keeping a copy.
    ///
    /// A step that [gave up](Self::step_within) did so before the output
    /// operator ran: the window is then still the one before the step.
    pub fn output_window(&self) -> Option<&[(Value, ssp_core::ZWeight)]> {
        match &self.states[self.plan.output.index()] {
            State::TopK(t) => Some(t.window()),
            _ => None,
        }
    }

    /// Rows the circuit holds of its own (integrated inputs, windows, groups),
    /// a measure of its memory beyond the shared tables.
    pub fn owned_rows(&self) -> usize {
        self.states
            .iter()
            .map(|s| match s {
                State::Linear => 0,
                State::Join(j) => j.left.owned_rows() + j.right.owned_rows(),
                State::SemiJoin(j) => j.left.owned_rows() + j.right.owned_rows(),
                State::Aggregate(a) => a.group_count(),
                State::Distinct(d) => d.input.len(),
                State::TopK(t) => t.window_len(),
                State::Reach(r) => r.owned_rows(),
            })
            .sum()
    }

    /// Runs one step. Hydrating, the sources read the whole tables as their
    /// change (shared inputs then read as empty), and only the nodes the output
    /// needs run.
    fn run(
        &mut self,
        hydrating: bool,
        tables: &Tables,
        delta: &Delta,
        stop: Option<&dyn Fn() -> bool>,
    ) -> Option<ZSet<Value>> {
        // Only the nodes the output needs run (stepping, those whose inputs
        // did not change return at once).
        let needed: Cow<'_, [bool]> = if hydrating { Cow::Owned(self.demand(true)) } else { Cow::Borrowed(&self.live) };
        // The change as the tables see it, prepared by the first circuit that
        // steps with it and shared by the others.
        let prep = (!hydrating).then(|| delta.prepare(tables));
        let prepared = prep.as_ref().map(Prep::get);
        let ctx = Ctx { tables, hydrating, params: &self.params, plan: &self.plan, step: prepared.map(|p| (delta, p)) };
        // Plans are small: the outputs live on the stack.
        let mut outs: SmallVec<[Cow<'_, ZSet<Value>>; 8]> = SmallVec::with_capacity(self.plan.nodes.len());
        for (i, (op, state)) in self.plan.nodes.iter().zip(&mut self.states).enumerate() {
            if !needed[i] {
                outs.push(Cow::Owned(ZSet::new()));
                continue;
            }
            // Asked before each operator that keeps state (the ones whose
            // work a change can multiply); a linear operator's work is that of
            // its input's change.
            if !matches!(state, State::Linear) && stop.is_some_and(|stop| stop()) {
                return None;
            }
            let input = |n: &NodeId| -> &ZSet<Value> { &outs[n.index()] };
            let out: Cow<'_, ZSet<Value>> = match (op, state) {
                (Op::Source { table }, _) => {
                    let rows = match prepared {
                        Some(p) => delta.source(p, table),
                        None if ctx.hydrating => ctx.tables.rows(table),
                        None => delta.table(table),
                    };
                    rows.map_or_else(|| Cow::Owned(ZSet::new()), Cow::Borrowed)
                }
                // A filter that keeps every row of a borrowed change passes it
                // on as it is, without building (and hashing) a copy.
                (Op::Filter { input: i, pred }, _) if matches!(&outs[i.index()], Cow::Borrowed(_)) => {
                    match &outs[i.index()] {
                        Cow::Borrowed(z) => linear::filter_borrowed(z, pred, ctx.params),
                        Cow::Owned(z) => Cow::Owned(linear::filter(z, pred, ctx.params)),
                    }
                }
                (Op::TopK { order, limit, offset, .. }, State::TopK(t)) if ctx.hydrating && t.is_shared() => {
                    let spec = Spec { order, limit: *limit, offset: *offset };
                    Cow::Owned(t.hydrate_shared(ctx, spec).unwrap_or_default())
                }
                (Op::Join { .. }, State::Join(j)) if ctx.hydrating && j.both_shared() => {
                    Cow::Owned(j.hydrate_shared(ctx).unwrap_or_default())
                }
                (op, state) => Cow::Owned(match (op, state) {
                    (Op::Filter { input: i, pred }, _) => linear::filter(input(i), pred, ctx.params),
                    (Op::Map { input: i, expr }, _) => linear::map(input(i), expr, ctx.params),
                    (Op::Union { left, right }, _) => linear::union(input(left), input(right)),
                    (Op::Minus { left, right }, _) => linear::minus(input(left), input(right)),
                    (Op::Join { left, right, .. }, State::Join(j)) => {
                        let (dl, dr) = (input(left), input(right));
                        if dl.is_empty() && dr.is_empty() { ZSet::new() } else { j.step(ctx, dl, dr) }
                    }
                    (Op::SemiJoin { left, right, .. } | Op::AntiJoin { left, right, .. }, State::SemiJoin(j)) => {
                        let (dl, dr) = (input(left), input(right));
                        if dl.is_empty() && dr.is_empty() { ZSet::new() } else { j.step(ctx, dl, dr) }
                    }
                    (Op::Aggregate { input: i, .. }, State::Aggregate(a)) => a.step(input(i), ctx.params),
                    (Op::Distinct { input: i }, State::Distinct(d)) => d.step(input(i)),
                    (Op::TopK { input: i, order, limit, offset }, State::TopK(t)) => {
                        t.step(ctx, Spec { order, limit: *limit, offset: *offset }, input(i))
                    }
                    (Op::Reach { starts, edges, .. }, State::Reach(r)) => {
                        let (ds, de) = (input(starts), input(edges));
                        if ds.is_empty() && de.is_empty() { ZSet::new() } else { r.step(ds, de, ctx.params) }
                    }
                    // Every stateful operator got its state in `Circuit::new`.
                    _ => ZSet::new(),
                }),
            };
            outs.push(out);
        }
        Some(outs.swap_remove(self.plan.output.index()).into_owned())
    }
}

/// Evaluates `plan` over whole tables, non-incrementally: the reference that
/// every circuit's integrated output must equal after every step.
pub fn evaluate(plan: &Plan, tables: &Tables) -> ZSet<Value> {
    evaluate_with(plan, &[], tables)
}

/// [`evaluate`] with parameters bound.
pub fn evaluate_with(plan: &Plan, params: &[Value], tables: &Tables) -> ZSet<Value> {
    let mut results: Vec<ZSet<Value>> = Vec::with_capacity(plan.nodes.len());
    for op in &plan.nodes {
        let r = |n: &NodeId| -> &ZSet<Value> { &results[n.index()] };
        let out = match op {
            Op::Source { table } => tables.rows(table).cloned().unwrap_or_default(),
            Op::Filter { input, pred } => {
                r(input).iter().filter(|(row, _)| pred.test_in(row, params)).map(|(row, w)| (row.clone(), w)).collect()
            }
            Op::Map { input, expr } => r(input).iter().map(|(row, w)| (expr.eval_in(row, params), w)).collect(),
            Op::Union { left, right } => {
                r(left).iter().chain(r(right).iter()).map(|(row, w)| (row.clone(), w)).collect()
            }
            Op::Minus { left, right } => r(left)
                .iter()
                .map(|(row, w)| (row.clone(), w))
                .chain(r(right).iter().map(|(row, w)| (row.clone(), -w)))
                .collect(),
            Op::Join { left, right, left_key, right_key, left_name, right_name } => {
                join::reference(r(left), r(right), left_key, right_key, left_name, right_name, params)
            }
            Op::SemiJoin { left, right, left_key, right_key } => {
                semijoin::reference(r(left), r(right), left_key, right_key, false, params)
            }
            Op::AntiJoin { left, right, left_key, right_key } => {
                semijoin::reference(r(left), r(right), left_key, right_key, true, params)
            }
            Op::Aggregate { input, group, aggregates } => aggregate::reference(r(input), group, aggregates, params),
            Op::Distinct { input } => distinct::reference(r(input)),
            Op::TopK { input, order, limit, offset } => topk::reference(r(input), order, *limit, *offset, params),
            Op::Reach { starts, edges, start_key, edge_from, edge_to, min_depth, max_depth } => {
                let walk = reach::Walk { start_key, edge_from, edge_to, min_depth: *min_depth, max_depth: *max_depth };
                reach::reference(r(starts), r(edges), walk, params)
            }
        };
        results.push(out);
    }
    results.swap_remove(plan.output.index())
}
