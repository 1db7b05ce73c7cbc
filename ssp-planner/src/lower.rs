//! Lowering: a logical plan becomes an `ssp-ops` [`Plan`], the DAG of
//! incremental operators a circuit runs.
//!
//! Parameters become the plan's parameter slots, so that views of one shape
//! with different parameters share one plan (and the shared arrangements).
//! `ORDER BY` without `LIMIT`/`START` lowers to nothing: a view's output is
//! a set, its order a presentation the client applies.

use std::sync::Arc;

use smol_str::SmolStr;
use ssp_core::{FieldPath, Object, PathPart, Value};
use ssp_ops::{AggFn, Direction, Expr, NodeId, Op, Plan, PlanBuilder};

use crate::error::PlanError;
use crate::interp::Params;
use crate::logical::{Agg, Proj, Rel, Scalar};

/// A parameter slot of a lowered plan: the parameter and the path read in
/// its value (`$auth.id` is `auth` and `id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSlot {
    /// The parameter's name.
    pub name: SmolStr,
    /// The path read inside it.
    pub path: Option<FieldPath>,
}

/// A lowered view: the circuit's plan and what each parameter slot holds.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The plan of the view's rows, shared by every circuit of this shape.
    pub plan: Arc<Plan>,
    /// The plan of the records the view's rows show (`None` for a grouped
    /// view, whose rows are computed): the records the rows come from, the
    /// records their links reach and `FETCH` brings, and the rows of their
    /// subqueries, each once. This is what a client holds and a CVR tracks,
    /// by id and version. It shares the slots of [`Lowered::plan`].
    pub records: Option<Arc<Plan>>,
    /// Slot `i` of the plans' parameters.
    pub slots: Vec<ParamSlot>,
    /// The parameters that fixed the plan's shape (`LIMIT $n`, `START $s`)
    /// and the values they had: a plan serves only views whose parameters
    /// have these values.
    pub fixed: Vec<(ParamSlot, Value)>,
}

impl Lowered {
    /// The values of the plan's parameter slots, from the view's parameters
    /// (unset ones are `NONE`). An error if a parameter that fixed the plan's
    /// shape has another value now: plan the view again for it.
    pub fn bind(&self, params: &Params) -> Result<Vec<Value>, PlanError> {
        for (slot, planned) in &self.fixed {
            let now = slot.value(params);
            if now != *planned {
                return Err(PlanError::new(
                    crate::error::PlanErrorKind::ShapeParam {
                        name: slot.name.clone(),
                        planned: planned.to_string(),
                        now: now.to_string(),
                    },
                    Default::default(),
                ));
            }
        }
        Ok(self.slots.iter().map(|slot| slot.value(params)).collect())
    }
}

impl ParamSlot {
    /// The slot's value among `params` (`NONE` if unset).
    pub fn value(&self, params: &Params) -> Value {
        let v = params.get(&self.name).cloned().unwrap_or(Value::None);
        match &self.path {
            Some(p) => v.pick(p),
            None => v,
        }
    }
}

/// Lowers `rel`. `params` gives the values of parameters that fix the plan's
/// shape (`LIMIT $n`, `START $s`); every other parameter becomes a slot.
pub fn lower(rel: &Rel, params: &Params) -> Result<Lowered, PlanError> {
    let mut cx = Lowering { b: PlanBuilder::new(), slots: Vec::new(), fixed: Vec::new(), params };
    let out = cx.rel(rel)?;
    let build_error =
        |e: ssp_ops::BuildError| PlanError::unsupported(format!("this plan ({e})"), "", Default::default());
    let plan = std::mem::take(&mut cx.b).build(out).map_err(build_error)?;
    let plan = Arc::new(plan);
    // A view of whole records shows exactly its rows: one plan serves both.
    let records = if shows_records(rel) && !matches!(rel, Rel::Union(_)) {
        Some(plan.clone())
    } else {
        match cx.records(rel)? {
            Some((node, distinct)) => {
                let node = if distinct { cx.b.distinct(node) } else { node };
                Some(Arc::new(std::mem::take(&mut cx.b).build(node).map_err(build_error)?))
            }
            None => None,
        }
    };
    Ok(Lowered { plan, records, slots: cx.slots, fixed: cx.fixed })
}

/// Whether the rows of `rel` are records of its tables (not projected or
/// computed).
pub(crate) fn shows_records(rel: &Rel) -> bool {
    match rel {
        Rel::Scan { .. } => true,
        Rel::Filter { input, .. } | Rel::SemiJoin { input, .. } | Rel::TopK { input, .. } => shows_records(input),
        Rel::Union(inputs) => inputs.iter().all(shows_records),
        Rel::Project { .. } | Rel::Aggregate { .. } => false,
    }
}

/// A lookup ready to join: the key's path in the row (`None`: a constant
/// key), the right node, and the key of a right row.
type Prepared = (Option<FieldPath>, NodeId, Expr);

/// The most lookups one clause may make (each doubles the branches).
const MAX_LOOKUPS: usize = 3;

struct Lowering<'a> {
    b: PlanBuilder,
    slots: Vec<ParamSlot>,
    fixed: Vec<(ParamSlot, Value)>,
    params: &'a Params,
}

/// Where, in the rows of a node, the row and each of its lookups (record
/// links and subqueries followed by joins) are. Each lookup either found
/// something (the row was joined: `{ l: row so far, r: found }`) or did not
/// (the row is as it was, and the lookup reads `NONE`, or `[]` for a
/// subquery).
#[derive(Clone, Default)]
struct Frame {
    /// The lookups, in the order they were joined.
    lookups: Vec<Scalar>,
    /// For the lookups joined so far, whether each found something.
    matched: Vec<bool>,
}

impl Frame {
    /// How many joins wrap the row: the row is at `l.l.…` that deep.
    fn depth(&self) -> usize {
        self.matched.iter().filter(|m| **m).count()
    }

    /// The path of `path` in the row, below the joins.
    fn row_path(&self, path: &FieldPath) -> FieldPath {
        FieldPath::from_parts(
            std::iter::repeat_n(PathPart::Field("l".into()), self.depth()).chain(path.parts().iter().cloned()),
        )
    }

    /// The row itself.
    fn row(&self) -> Expr {
        match self.depth() {
            0 => Expr::Row,
            _ => Expr::Field(self.row_path(&FieldPath::from_parts([]))),
        }
    }

    /// What lookup `i` found, at `path` inside it: `None` if it found nothing
    /// (or is not joined in this frame).
    fn found(&self, i: usize, path: &FieldPath) -> Option<FieldPath> {
        if !*self.matched.get(i)? {
            return None;
        }
        let outer = self.matched[i + 1..].iter().filter(|m| **m).count();
        Some(FieldPath::from_parts(
            std::iter::repeat_n(PathPart::Field("l".into()), outer)
                .chain(std::iter::once(PathPart::Field("r".into())))
                .chain(path.parts().iter().cloned()),
        ))
    }

    /// The index of the lookup `s` is, if it is one.
    fn lookup(&self, s: &Scalar) -> Option<usize> {
        self.lookups.iter().position(|l| match (l, s) {
            (Scalar::Link { field: f, table: t, .. }, Scalar::Link { field, table, .. }) => f == field && t == table,
            (l, s) => l == s,
        })
    }
}

impl Lowering<'_> {
    fn rel(&mut self, rel: &Rel) -> Result<NodeId, PlanError> {
        match rel {
            Rel::Scan { table } => Ok(self.b.source(table)),
            Rel::Filter { input, pred } => {
                let input = self.rel(input)?;
                self.with_links(input, &[pred], &mut |cx, node, frame| {
                    let pred = cx.expr(pred, frame)?;
                    let kept = cx.b.filter(node, pred);
                    Ok(if frame.depth() > 0 { cx.b.map(kept, frame.row()) } else { kept })
                })
            }
            Rel::SemiJoin { input, key, right, anti } => {
                if right.reads_parent() {
                    return Err(PlanError::unsupported(
                        "a correlated subquery in WHERE",
                        "compare with an uncorrelated `x IN (SELECT VALUE …)`",
                        Default::default(),
                    ));
                }
                let left = self.rel(input)?;
                let right = self.rel(right)?;
                let key = self.expr(key, &Frame::default())?;
                Ok(if *anti {
                    self.b.anti_join(left, right, key, Expr::Row)
                } else {
                    self.b.semi_join(left, right, key, Expr::Row)
                })
            }
            Rel::Project { input, proj } => {
                let input = self.rel(input)?;
                let scalars: Vec<&Scalar> = match proj {
                    Proj::Value(e) => vec![e],
                    Proj::Fields { fields, .. } => fields.iter().map(|(_, e)| e).collect(),
                };
                self.with_links(input, &scalars, &mut |cx, node, frame| {
                    let expr = match proj {
                        Proj::Value(e) => cx.expr(e, frame)?,
                        Proj::Fields { all, omit, fields } => Expr::Patch {
                            base: Box::new(if *all { frame.row() } else { Expr::Lit(Value::Object(Object::new())) }),
                            set: fields
                                .iter()
                                .map(|(p, e)| Ok((p.clone(), cx.expr(e, frame)?)))
                                .collect::<Result<_, PlanError>>()?,
                            omit: omit.clone(),
                        },
                    };
                    Ok(cx.b.map(node, expr))
                })
            }
            Rel::Aggregate { input, group, aggs } => {
                let input = self.rel(input)?;
                if group.iter().map(|(_, e)| e).chain(aggs.iter().filter_map(|(_, a)| agg_arg(a))).any(has_link) {
                    return Err(PlanError::unsupported(
                        "a record link in GROUP BY or an aggregate",
                        "group by a field of the table",
                        Default::default(),
                    ));
                }
                let simple = group.iter().map(|(p, _)| p).chain(aggs.iter().map(|(p, _)| p)).all(single_field);
                let name = |i: usize, p: &FieldPath| -> SmolStr {
                    match p.parts() {
                        [PathPart::Field(name)] if simple => name.clone(),
                        _ => format!("_{i}").into(),
                    }
                };
                let group_ops = group
                    .iter()
                    .enumerate()
                    .map(|(i, (p, e))| Ok((name(i, p), self.expr(e, &Frame::default())?)))
                    .collect::<Result<Vec<_>, PlanError>>()?;
                let agg_ops = aggs
                    .iter()
                    .enumerate()
                    .map(|(i, (p, a))| Ok((name(group.len() + i, p), self.agg(a)?)))
                    .collect::<Result<Vec<_>, PlanError>>()?;
                let node = self.b.aggregate(input, group_ops, agg_ops);
                if simple {
                    return Ok(node);
                }
                let set = group
                    .iter()
                    .map(|(p, _)| p)
                    .chain(aggs.iter().map(|(p, _)| p))
                    .enumerate()
                    .map(|(i, p)| (p.clone(), Expr::field(&format!("_{i}"))))
                    .collect();
                Ok(self.b.map(
                    node,
                    Expr::Patch { base: Box::new(Expr::Lit(Value::Object(Object::new()))), set, omit: vec![] },
                ))
            }
            Rel::TopK { input, order, limit, start } => {
                let node = self.rel(input)?;
                if limit.is_none() && start.is_none() {
                    return Ok(node);
                }
                let limit = match limit {
                    Some(l) => self.bound(l, "LIMIT")?,
                    None => usize::MAX,
                };
                let start = match start {
                    Some(s) => self.bound(s, "START")?,
                    None => 0,
                };
                if order.iter().any(|(e, _)| has_link(e)) {
                    return Err(PlanError::unsupported(
                        "ORDER BY a record link's field with LIMIT",
                        "order by a field of the table",
                        Default::default(),
                    ));
                }
                let order = order.iter().map(|(e, d)| Ok((self.expr(e, &Frame::default())?, *d))).collect::<Result<
                    Vec<(Expr, Direction)>,
                    PlanError,
                >>(
                )?;
                Ok(self.b.top_k(node, order, limit, start))
            }
            Rel::Union(inputs) => {
                let mut nodes = inputs.iter().map(|r| self.rel(r));
                let Some(first) = nodes.next() else {
                    return Err(PlanError::unsupported("an empty union", "", Default::default()));
                };
                let mut acc = first?;
                let rest: Vec<NodeId> = nodes.collect::<Result<_, _>>()?;
                for n in rest {
                    acc = self.b.union(acc, n);
                }
                Ok(acc)
            }
        }
    }

    /// The records the rows of `rel` show (see [`Lowered::records`]), if its
    /// rows show any.
    fn records(&mut self, rel: &Rel) -> Result<Option<(NodeId, bool)>, PlanError> {
        match rel {
            Rel::Union(inputs) => {
                // Branches that read one table may show the same records
                // (`FROM t, t:1`): then the union needs a distinct.
                let mut acc: Option<(NodeId, bool)> = None;
                let mut seen: Vec<SmolStr> = Vec::new();
                for input in inputs {
                    let tables = input.tables();
                    let overlaps = tables.iter().any(|t| seen.contains(t));
                    seen.extend(tables);
                    if let Some((n, d)) = self.records(input)? {
                        acc = Some(match acc {
                            Some((a, da)) => (self.b.union(a, n), da || d || overlaps),
                            None => (n, d),
                        });
                    }
                }
                Ok(acc)
            }
            Rel::Project { input, proj } if shows_records(input) => {
                let main = self.rel(input)?;
                let scalars: Vec<&Scalar> = match proj {
                    Proj::Value(e) => vec![e],
                    Proj::Fields { fields, .. } => fields.iter().map(|(_, e)| e).collect(),
                };
                let mut lookups = Vec::new();
                for s in scalars {
                    collect_lookups(s, &mut lookups);
                }
                // Records reached through lookups may repeat each other or
                // the rows' own: then the union needs a distinct.
                let mut acc = (main, false);
                for lookup in lookups {
                    let reached = match lookup {
                        Scalar::Link { field, table, .. } => {
                            let target = self.b.source(table);
                            self.b.semi_join(target, main, Expr::field("id"), Expr::Field(field.clone()))
                        }
                        Scalar::Subquery(sub) => match self.subquery_records(sub, main)? {
                            Some(node) => node,
                            None => continue,
                        },
                        _ => continue,
                    };
                    acc = (self.b.union(acc.0, reached), true);
                }
                Ok(Some(acc))
            }
            rel if shows_records(rel) => Ok(Some((self.rel(rel)?, false))),
            _ => Ok(None),
        }
    }

    /// The records a subquery shows for the rows of `parents`: its rows
    /// (before its projection) whose correlation key some parent has.
    fn subquery_records(&mut self, sub: &Rel, parents: NodeId) -> Result<Option<NodeId>, PlanError> {
        let below = match sub {
            Rel::Project { input, .. } => &**input,
            other => other,
        };
        if !shows_records(below) {
            // Its rows are computed: it shows no records.
            return Ok(None);
        }
        let rows = match sub {
            Rel::Project { input, proj } => {
                let mut inner = Vec::new();
                match proj {
                    Proj::Value(e) => collect_lookups(e, &mut inner),
                    Proj::Fields { fields, .. } => fields.iter().for_each(|(_, e)| collect_lookups(e, &mut inner)),
                }
                if !inner.is_empty() {
                    return Err(PlanError::unsupported(
                        "a record link or subquery inside a subquery's fields",
                        "select the linked records with their own subquery",
                        Default::default(),
                    ));
                }
                &**input
            }
            other => other,
        };
        let (outer, rows, inner) = self.correlation(rows)?;
        let rows = self.rel(&rows)?;
        Ok(Some(match (outer, inner) {
            (Some(outer), Some(inner)) => {
                let inner = self.expr(&inner, &Frame::default())?;
                self.b.semi_join(rows, parents, inner, Expr::Field(outer))
            }
            _ => {
                let yes = Expr::Lit(Value::Bool(true));
                self.b.semi_join(rows, parents, yes.clone(), yes)
            }
        }))
    }

    /// `LIMIT`/`START` as a number, fixed at planning time.
    fn bound(&mut self, e: &Scalar, clause: &'static str) -> Result<usize, PlanError> {
        let v = match e {
            Scalar::Lit(v) => v.clone(),
            Scalar::Param { name, path } => {
                if !self.params.contains_key(name) {
                    return Err(PlanError::new(
                        crate::error::PlanErrorKind::MissingParam {
                            name: name.clone(),
                            hint: "; LIMIT and START fix the plan's shape, so their parameters need values when it is planned",
                        },
                        Default::default(),
                    ));
                }
                let slot = ParamSlot { name: name.clone(), path: path.clone() };
                let v = slot.value(self.params);
                if !self.fixed.iter().any(|(s, _)| *s == slot) {
                    self.fixed.push((slot, v.clone()));
                }
                v
            }
            other => {
                let found = other.to_string();
                return Err(PlanError::new(
                    crate::error::PlanErrorKind::BadBound { clause, found },
                    Default::default(),
                ));
            }
        };
        match &v {
            Value::Number(n) => n.to_i64().and_then(|i| usize::try_from(i).ok()),
            _ => None,
        }
        .ok_or_else(|| {
            PlanError::new(crate::error::PlanErrorKind::BadBound { clause, found: v.to_string() }, Default::default())
        })
    }

    /// Runs `build` over the rows of `node` such that what the `scalars`
    /// look up beyond the row can be read: a record link (the linked record)
    /// or a subquery (its rows, as an array). Without either, `build` runs on
    /// `node` itself; with one, it runs over the join of the rows with what
    /// they look up and, separately, over the rows that find nothing (a link
    /// reads `NONE` there, a subquery `[]`), and the two are unioned.
    fn with_links(
        &mut self,
        node: NodeId,
        scalars: &[&Scalar],
        build: &mut dyn FnMut(&mut Self, NodeId, &Frame) -> Result<NodeId, PlanError>,
    ) -> Result<NodeId, PlanError> {
        let mut lookups: Vec<&Scalar> = Vec::new();
        for s in scalars {
            collect_lookups(s, &mut lookups);
        }
        if lookups.len() > MAX_LOOKUPS {
            return Err(PlanError::unsupported(
                format!("{} lookups (record links or subqueries) in one clause", lookups.len()),
                "follow at most 3 per clause",
                Default::default(),
            ));
        }
        // Each lookup's right side is built once and shared by every branch:
        // only the key of the row depends on the joins before it.
        let mut prepared = Vec::with_capacity(lookups.len());
        for lookup in &lookups {
            prepared.push(self.prepare(lookup, node)?);
        }
        let frame = Frame { lookups: lookups.into_iter().cloned().collect(), matched: Vec::new() };
        self.branch(node, frame, &prepared, build)
    }

    /// The right side of a lookup: `(key path in the row, right node, key of
    /// a right row)`; no path means every row looks up the one right row.
    /// `rows` are the rows before any join (a walk starts from them).
    fn prepare(&mut self, lookup: &Scalar, rows: NodeId) -> Result<Prepared, PlanError> {
        Ok(match lookup {
            Scalar::Link { field, table, .. } => (Some(field.clone()), self.b.source(table), Expr::field("id")),
            Scalar::Reach { start, edge, from, to, table, max } => {
                let edges = self.b.source(edge);
                let into = Expr::Cmp(
                    ssp_ops::CmpOp::Eq,
                    Box::new(Expr::Call(ssp_ops::Func::RecordTb, vec![Expr::field(to)])),
                    Box::new(Expr::Lit(Value::from(table.as_str()))),
                );
                let edges = self.b.filter(edges, into);
                let walks = self
                    .b
                    .reach(rows, edges, Expr::Field(start.clone()), Expr::field(from), Expr::field(to), 1, *max)
                    .map_err(|e| PlanError::unsupported(format!("this recursion ({e})"), "", Default::default()))?;
                let reached = Expr::field("to");
                let collect = AggFn::Collect(Expr::Array(vec![reached.clone(), reached]));
                let grouped =
                    self.b.aggregate(walks, vec![("k".into(), Expr::field("from"))], vec![("v".into(), collect)]);
                (Some(start.clone()), grouped, Expr::field("k"))
            }
            Scalar::Subquery(sub) => self.nested(sub)?,
            _ => return Err(PlanError::unsupported("this lookup", "", Default::default())),
        })
    }

    /// Joins the next lookup of `frame` to `node`, both ways (found and not
    /// found), and builds over each branch; every lookup joined, `build`.
    fn branch(
        &mut self,
        node: NodeId,
        frame: Frame,
        prepared: &[Prepared],
        build: &mut dyn FnMut(&mut Self, NodeId, &Frame) -> Result<NodeId, PlanError>,
    ) -> Result<NodeId, PlanError> {
        let Some((path, right, right_key)) = prepared.get(frame.matched.len()).cloned() else {
            return build(self, node, &frame);
        };
        let left_key = match &path {
            Some(path) => Expr::Field(frame.row_path(path)),
            None => right_key.clone(),
        };
        let joined = self
            .b
            .add(Op::Join {
                left: node,
                right,
                left_key: left_key.clone(),
                right_key: right_key.clone(),
                left_name: "l".into(),
                right_name: "r".into(),
            })
            .map_err(|e| PlanError::unsupported(format!("this join ({e})"), "", Default::default()))?;
        let unmatched = self.b.anti_join(node, right, left_key, right_key);
        let mut found = frame.clone();
        found.matched.push(true);
        let mut missing = frame;
        missing.matched.push(false);
        let a = self.branch(joined, found, prepared, build)?;
        let b = self.branch(unmatched, missing, prepared, build)?;
        Ok(self.b.union(a, b))
    }

    /// A subquery as a lookup: its rows grouped by the value they correlate
    /// on (`inner = $parent.outer`), each group collected into an array in
    /// the subquery's order, as `{ k: inner, v: [rows] }`. Returns the key of
    /// a parent row, the grouped node and its key. An uncorrelated subquery
    /// is one group that every row looks up.
    fn nested(&mut self, sub: &Rel) -> Result<(Option<FieldPath>, NodeId, Expr), PlanError> {
        let (proj, rest) = match sub {
            Rel::Project { input, proj } => (Some(proj), &**input),
            other => (None, other),
        };
        if let Rel::Aggregate { input, group, aggs } = rest {
            return self.nested_aggregate(proj, input, group, aggs);
        }
        let order = match rest {
            Rel::TopK { order, .. } => order.iter().map(|(e, _)| e.clone()).collect(),
            _ => vec![Scalar::field("id")],
        };
        let (outer, rows, inner) = self.correlation(rest)?;
        let proj_reads_parent = match proj {
            Some(Proj::Value(e)) => reads_parent(e),
            Some(Proj::Fields { fields, .. }) => fields.iter().any(|(_, e)| reads_parent(e)),
            None => false,
        };
        if proj_reads_parent || order.iter().any(reads_parent) {
            return Err(PlanError::unsupported(
                "$parent in a subquery's fields",
                "correlate in the subquery's WHERE",
                Default::default(),
            ));
        }
        let rows = self.rel(&rows)?;
        let plain = Frame::default();
        let item = match proj {
            None => Expr::Row,
            Some(Proj::Value(e)) => self.expr(e, &plain)?,
            Some(Proj::Fields { all, omit, fields }) => {
                let set = fields.iter().map(|(p, e)| Ok((p.clone(), self.expr(e, &plain)?)));
                Expr::Patch {
                    base: Box::new(if *all { Expr::Row } else { Expr::Lit(Value::Object(Object::new())) }),
                    set: set.collect::<Result<_, PlanError>>()?,
                    omit: omit.clone(),
                }
            }
        };
        let order = Expr::Array(order.iter().map(|e| self.expr(e, &plain)).collect::<Result<_, _>>()?);
        let collect = AggFn::Collect(Expr::Array(vec![order, item]));
        Ok(match (outer, inner) {
            (Some(outer), Some(inner)) => {
                let inner = self.expr(&inner, &plain)?;
                let grouped = self.b.aggregate(rows, vec![("k".into(), inner)], vec![("v".into(), collect)]);
                (Some(outer), grouped, Expr::field("k"))
            }
            _ => {
                let grouped = self.b.aggregate(rows, vec![], vec![("v".into(), collect)]);
                (None, grouped, Expr::Lit(Value::Bool(true)))
            }
        })
    }

    /// A subquery over `GROUP ALL` as a lookup: its one row per parent (none
    /// for a parent with no rows to aggregate), as `{ k: inner, v: [row] }`.
    fn nested_aggregate(
        &mut self,
        proj: Option<&Proj>,
        input: &Rel,
        group: &[(FieldPath, Scalar)],
        aggs: &[(FieldPath, crate::logical::Agg)],
    ) -> Result<(Option<FieldPath>, NodeId, Expr), PlanError> {
        if !group.is_empty() {
            return Err(PlanError::unsupported(
                "GROUP BY in a subquery",
                "aggregate a subquery with GROUP ALL",
                Default::default(),
            ));
        }
        let (outer, rows, inner) = self.correlation(input)?;
        let key = FieldPath::field("__k");
        let grouped = Rel::Aggregate {
            input: Box::new(rows),
            group: inner.map(|inner| (key.clone(), inner)).into_iter().collect(),
            aggs: aggs.to_vec(),
        };
        let node = self.rel(&grouped)?;
        let plain = Frame::default();
        let item = match proj {
            Some(Proj::Value(e)) => self.expr(e, &plain)?,
            Some(Proj::Fields { all: false, omit, fields }) => Expr::Patch {
                base: Box::new(Expr::Lit(Value::Object(Object::new()))),
                set: fields
                    .iter()
                    .map(|(p, e)| Ok((p.clone(), self.expr(e, &plain)?)))
                    .collect::<Result<_, PlanError>>()?,
                omit: omit.clone(),
            },
            Some(Proj::Fields { all: true, .. }) | None => {
                Expr::Patch { base: Box::new(Expr::Row), set: vec![], omit: vec![key.clone()] }
            }
        };
        let right_key = match outer {
            Some(_) => Expr::Field(key),
            None => Expr::Lit(Value::Bool(true)),
        };
        let pair = Expr::Object(vec![("k".into(), right_key), ("v".into(), Expr::Array(vec![item]))]);
        let node = self.b.map(node, pair);
        let join_key = match outer {
            Some(_) => Expr::field("k"),
            None => Expr::Lit(Value::Bool(true)),
        };
        Ok((outer, node, join_key))
    }

    /// The rows of a subquery (below its projection) apart from their
    /// correlation: `(outer, rows, inner)` where the subquery keeps the
    /// `rows` whose `inner` equals the parent's `outer` (both `None` when it
    /// is not correlated). An ascending `ORDER BY` without `LIMIT`/`START`
    /// only orders the rows, and is left to the caller.
    fn correlation(&self, rows: &Rel) -> Result<(Option<FieldPath>, Rel, Option<Scalar>), PlanError> {
        let unsupported = |what: &str, hint: &str| PlanError::unsupported(what, hint, Default::default());
        let rest = match rows {
            Rel::TopK { input, order, limit: None, start: None } => {
                if order.iter().any(|(_, d)| *d == Direction::Desc) {
                    return Err(unsupported("ORDER BY … DESC in a subquery", "order the subquery's rows ascending"));
                }
                &**input
            }
            Rel::TopK { .. } => {
                return Err(unsupported("LIMIT or START in a subquery", "select the subquery's rows without them"));
            }
            other => other,
        };
        let (source, conds) = match rest {
            Rel::Filter { input, pred } => (&**input, pred.clone().conjuncts()),
            other => (other, vec![]),
        };
        let mut correlation = None;
        let mut kept = Vec::new();
        for c in conds {
            if !reads_parent(&c) {
                kept.push(c);
                continue;
            }
            match (&c, correlation.is_some()) {
                (Scalar::Cmp(ssp_ops::CmpOp::Eq, a, b), false) => match (&**a, &**b) {
                    (Scalar::Parent(p), inner) | (inner, Scalar::Parent(p)) if !reads_parent(inner) => {
                        correlation = Some((p.clone(), inner.clone()));
                    }
                    _ => return Err(unsupported("this use of $parent", "correlate with `field = $parent.field`")),
                },
                _ => {
                    return Err(unsupported(
                        "this use of $parent",
                        "correlate a subquery with one `field = $parent.field` condition",
                    ));
                }
            }
        }
        if reads_parent_rel(source) {
            return Err(unsupported("$parent below a subquery's WHERE", "correlate in the subquery's own WHERE"));
        }
        let rows = if kept.is_empty() {
            source.clone()
        } else {
            Rel::Filter { input: Box::new(source.clone()), pred: Scalar::all(kept) }
        };
        Ok(match correlation {
            Some((outer, inner)) => (Some(outer), rows, Some(inner)),
            None => (None, rows, None),
        })
    }

    fn slot(&mut self, name: &SmolStr, path: &Option<FieldPath>) -> u32 {
        let slot = ParamSlot { name: name.clone(), path: path.clone() };
        let i = match self.slots.iter().position(|s| *s == slot) {
            Some(i) => i,
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    fn agg(&mut self, a: &Agg) -> Result<AggFn, PlanError> {
        Ok(match a {
            Agg::Count => AggFn::Count,
            Agg::Sum(e) => AggFn::Sum(self.expr(e, &Frame::default())?),
            Agg::Min(e) => AggFn::Min(self.expr(e, &Frame::default())?),
            Agg::Max(e) => AggFn::Max(self.expr(e, &Frame::default())?),
            Agg::Mean(e) => AggFn::Mean(self.expr(e, &Frame::default())?),
        })
    }

    /// A scalar as an `ssp-ops` expression over rows of `shape`.
    fn expr(&mut self, e: &Scalar, frame: &Frame) -> Result<Expr, PlanError> {
        let mut go = |e: &Scalar| self.expr(e, frame);
        Ok(match e {
            Scalar::Lit(v) => Expr::Lit(v.clone()),
            Scalar::Row => frame.row(),
            Scalar::Field(p) => Expr::Field(frame.row_path(p)),
            Scalar::Link { path, .. } => match frame.lookup(e) {
                Some(i) => frame.found(i, path).map_or(Expr::Lit(Value::None), Expr::Field),
                None => return Err(PlanError::unsupported("a record link here", "", Default::default())),
            },
            Scalar::Param { name, path } => Expr::Param(self.slot(name, path)),
            Scalar::Cmp(op, a, b) => Expr::Cmp(*op, Box::new(go(a)?), Box::new(go(b)?)),
            Scalar::Member(op, a, b) => Expr::Member(*op, Box::new(go(a)?), Box::new(go(b)?)),
            Scalar::And(es) => Expr::And(es.iter().map(&mut go).collect::<Result<_, _>>()?),
            Scalar::Or(es) => Expr::Or(es.iter().map(&mut go).collect::<Result<_, _>>()?),
            Scalar::Not(x) => Expr::Not(Box::new(go(x)?)),
            Scalar::Arith(op, a, b) => Expr::Arith(*op, Box::new(go(a)?), Box::new(go(b)?)),
            Scalar::Neg(x) => Expr::Neg(Box::new(go(x)?)),
            Scalar::Call(f, args) => Expr::Call(*f, args.iter().map(&mut go).collect::<Result<_, _>>()?),
            Scalar::Array(es) => Expr::Array(es.iter().map(&mut go).collect::<Result<_, _>>()?),
            Scalar::Object(fields) => {
                Expr::Object(fields.iter().map(|(k, v)| Ok((k.clone(), go(v)?))).collect::<Result<_, PlanError>>()?)
            }
            Scalar::Subquery(_) | Scalar::Reach { .. } => match frame.lookup(e) {
                Some(i) => frame
                    .found(i, &FieldPath::field("v"))
                    .map_or_else(|| Expr::Lit(Value::Array(Vec::<Value>::new().into_iter().collect())), Expr::Field),
                None => return Err(PlanError::unsupported("a subquery here", "", Default::default())),
            },
            Scalar::Parent(_) => {
                return Err(PlanError::unsupported(
                    "$parent here",
                    "correlate a subquery with one `field = $parent.field` condition of its WHERE",
                    Default::default(),
                ));
            }
        })
    }
}

fn agg_arg(a: &Agg) -> Option<&Scalar> {
    match a {
        Agg::Count => None,
        Agg::Sum(e) | Agg::Min(e) | Agg::Max(e) | Agg::Mean(e) => Some(e),
    }
}

/// The lookups an expression makes beyond its row: record links and
/// subqueries (not those inside subqueries), each once.
fn collect_lookups<'a>(s: &'a Scalar, out: &mut Vec<&'a Scalar>) {
    match s {
        Scalar::Link { field, table, .. } => {
            if !out.iter().any(|l| matches!(l, Scalar::Link { field: f, table: t, .. } if f == field && t == table)) {
                out.push(s);
            }
        }
        Scalar::Subquery(_) | Scalar::Reach { .. } => {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        _ => s.children().into_iter().for_each(|c| collect_lookups(c, out)),
    }
}

/// Whether the rows of `rel` read `$parent` anywhere (a correlation below a
/// subquery's top filter, which the lowering does not decorrelate).
fn reads_parent_rel(rel: &Rel) -> bool {
    rel.scalars().into_iter().any(|s| matches!(s, Scalar::Parent(_)) || s.children().into_iter().any(reads_parent))
        || rel.inputs().into_iter().any(reads_parent_rel)
}

fn reads_parent(e: &Scalar) -> bool {
    e.any(&mut |s| matches!(s, Scalar::Parent(_)))
}

fn has_link(e: &Scalar) -> bool {
    e.any(&mut |s| matches!(s, Scalar::Link { .. }))
}

fn single_field(p: &FieldPath) -> bool {
    matches!(p.parts(), [PathPart::Field(_)])
}
