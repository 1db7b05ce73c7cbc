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
    /// The plan, shared by every circuit of this shape.
    pub plan: Arc<Plan>,
    /// Slot `i` of the plan's parameters.
    pub slots: Vec<ParamSlot>,
}

impl Lowered {
    /// The values of the plan's parameter slots, from the view's parameters
    /// (unset ones are `NONE`).
    pub fn bind(&self, params: &Params) -> Vec<Value> {
        self.slots
            .iter()
            .map(|slot| {
                let v = params.get(&slot.name).cloned().unwrap_or(Value::None);
                match &slot.path {
                    Some(p) => v.pick(p),
                    None => v,
                }
            })
            .collect()
    }
}

/// Lowers `rel`. `params` gives the values of parameters that fix the plan's
/// shape (`LIMIT $n`, `START $s`); every other parameter becomes a slot.
pub fn lower(rel: &Rel, params: &Params) -> Result<Lowered, PlanError> {
    let mut cx = Lowering { b: PlanBuilder::new(), slots: Vec::new(), params };
    let out = cx.rel(rel)?;
    let plan =
        cx.b.build(out).map_err(|e| PlanError::unsupported(format!("this plan ({e})"), "", Default::default()))?;
    Ok(Lowered { plan: Arc::new(plan), slots: cx.slots })
}

struct Lowering<'a> {
    b: PlanBuilder,
    slots: Vec<ParamSlot>,
    params: &'a Params,
}

/// How the rows of a node reach a record link: directly (`Plain`), or as
/// `{ l: row, r: linked record }` pairs of a join (`Joined`), or as rows
/// whose link matched nothing (`Unmatched`).
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Plain,
    Joined,
    Unmatched,
}

impl Lowering<'_> {
    fn rel(&mut self, rel: &Rel) -> Result<NodeId, PlanError> {
        match rel {
            Rel::Scan { table } => Ok(self.b.source(table)),
            Rel::Filter { input, pred } => {
                let input = self.rel(input)?;
                self.with_links(input, &[pred], |cx, node, shape| {
                    let pred = cx.expr(pred, shape)?;
                    let kept = cx.b.filter(node, pred);
                    Ok(match shape {
                        Shape::Joined => cx.b.map(kept, Expr::field("l")),
                        _ => kept,
                    })
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
                let key = self.expr(key, Shape::Plain)?;
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
                self.with_links(input, &scalars, |cx, node, shape| {
                    let expr = match proj {
                        Proj::Value(e) => cx.expr(e, shape)?,
                        Proj::Fields { all, omit, fields } => Expr::Patch {
                            base: Box::new(if *all { cx.row(shape) } else { Expr::Lit(Value::Object(Object::new())) }),
                            set: fields
                                .iter()
                                .map(|(p, e)| Ok((p.clone(), cx.expr(e, shape)?)))
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
                    if simple { p.to_string().into() } else { format!("_{i}").into() }
                };
                let group_ops = group
                    .iter()
                    .enumerate()
                    .map(|(i, (p, e))| Ok((name(i, p), self.expr(e, Shape::Plain)?)))
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
                let order = order
                    .iter()
                    .map(|(e, d)| Ok((self.expr(e, Shape::Plain)?, *d)))
                    .collect::<Result<Vec<(Expr, Direction)>, PlanError>>()?;
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

    /// `LIMIT`/`START` as a number, fixed at planning time.
    fn bound(&self, e: &Scalar, clause: &'static str) -> Result<usize, PlanError> {
        let v = match e {
            Scalar::Lit(v) => v.clone(),
            Scalar::Param { name, path } => {
                let Some(v) = self.params.get(name) else {
                    return Err(PlanError::new(
                        crate::error::PlanErrorKind::MissingParam {
                            name: name.clone(),
                            hint: "; LIMIT and START fix the plan's shape, so their parameters need values when it is planned",
                        },
                        Default::default(),
                    ));
                };
                path.as_ref().map_or_else(|| v.clone(), |p| v.pick(p))
            }
            other => other_bound(other, clause)?,
        };
        match &v {
            Value::Number(n) => n.to_i64().and_then(|i| usize::try_from(i).ok()),
            _ => None,
        }
        .ok_or_else(|| {
            PlanError::new(crate::error::PlanErrorKind::BadBound { clause, found: v.to_string() }, Default::default())
        })
    }

    /// Runs `build` over the rows of `node` such that the record links the
    /// `scalars` follow can be read: if they follow one, over the join of the
    /// rows with the linked table and, separately, over the rows whose link
    /// matches no record (where the link reads `NONE`), and unions the two.
    fn with_links(
        &mut self,
        node: NodeId,
        scalars: &[&Scalar],
        mut build: impl FnMut(&mut Self, NodeId, Shape) -> Result<NodeId, PlanError>,
    ) -> Result<NodeId, PlanError> {
        let mut links: Vec<(FieldPath, SmolStr)> = Vec::new();
        for s in scalars {
            s.any(&mut |s| {
                if let Scalar::Link { field, table, .. } = s
                    && !links.iter().any(|(f, t)| f == field && t == table)
                {
                    links.push((field.clone(), table.clone()));
                }
                false
            });
        }
        match links.as_slice() {
            [] => build(self, node, Shape::Plain),
            [(field, table)] => {
                let target = self.b.source(table);
                let key = Expr::Field(field.clone());
                let joined = self
                    .b
                    .add(Op::Join {
                        left: node,
                        right: target,
                        left_key: key.clone(),
                        right_key: Expr::field("id"),
                        left_name: "l".into(),
                        right_name: "r".into(),
                    })
                    .map_err(|e| PlanError::unsupported(format!("this join ({e})"), "", Default::default()))?;
                let unmatched = self.b.anti_join(node, target, key, Expr::field("id"));
                let a = build(self, joined, Shape::Joined)?;
                let b = build(self, unmatched, Shape::Unmatched)?;
                Ok(self.b.union(a, b))
            }
            _ => Err(PlanError::unsupported(
                "following two different record links in one clause",
                "select one link per query, or join with a subquery",
                Default::default(),
            )),
        }
    }

    /// The row itself, in a node of `shape`.
    fn row(&self, shape: Shape) -> Expr {
        match shape {
            Shape::Joined => Expr::field("l"),
            _ => Expr::Row,
        }
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
            Agg::Sum(e) => AggFn::Sum(self.expr(e, Shape::Plain)?),
            Agg::Min(e) => AggFn::Min(self.expr(e, Shape::Plain)?),
            Agg::Max(e) => AggFn::Max(self.expr(e, Shape::Plain)?),
            Agg::Mean(e) => AggFn::Mean(self.expr(e, Shape::Plain)?),
        })
    }

    /// A scalar as an `ssp-ops` expression over rows of `shape`.
    fn expr(&mut self, e: &Scalar, shape: Shape) -> Result<Expr, PlanError> {
        let mut go = |e: &Scalar| self.expr(e, shape);
        Ok(match e {
            Scalar::Lit(v) => Expr::Lit(v.clone()),
            Scalar::Row => match shape {
                Shape::Joined => Expr::field("l"),
                _ => Expr::Row,
            },
            Scalar::Field(p) => match shape {
                Shape::Joined => Expr::Field(prefixed("l", p)),
                _ => Expr::Field(p.clone()),
            },
            Scalar::Link { path, .. } => match shape {
                Shape::Joined => Expr::Field(prefixed("r", path)),
                Shape::Unmatched => Expr::Lit(Value::None),
                Shape::Plain => {
                    return Err(PlanError::unsupported("a record link here", "", Default::default()));
                }
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
            Scalar::Parent(_) => {
                return Err(PlanError::unsupported(
                    "a correlated subquery",
                    "not yet maintained incrementally; use `x IN (SELECT VALUE …)`",
                    Default::default(),
                ));
            }
            Scalar::Subquery(_) => {
                return Err(PlanError::unsupported(
                    "a subquery here",
                    "a subquery is maintained as a top-level `x IN (SELECT …)` / `NOT IN` condition of WHERE",
                    Default::default(),
                ));
            }
        })
    }
}

fn other_bound(e: &Scalar, clause: &'static str) -> Result<Value, PlanError> {
    Err(PlanError::new(crate::error::PlanErrorKind::BadBound { clause, found: e.to_string() }, Default::default()))
}

fn agg_arg(a: &Agg) -> Option<&Scalar> {
    match a {
        Agg::Count => None,
        Agg::Sum(e) | Agg::Min(e) | Agg::Max(e) | Agg::Mean(e) => Some(e),
    }
}

fn has_link(e: &Scalar) -> bool {
    e.any(&mut |s| matches!(s, Scalar::Link { .. }))
}

fn single_field(p: &FieldPath) -> bool {
    matches!(p.parts(), [PathPart::Field(_)])
}

fn prefixed(head: &str, p: &FieldPath) -> FieldPath {
    FieldPath::from_parts(std::iter::once(PathPart::Field(head.into())).chain(p.parts().iter().cloned()))
}
