//! The direct interpreter: a logical plan evaluated over whole tables, the
//! way SurrealDB runs a `SELECT` — row by row, subqueries once per row,
//! record links looked up by id.
//!
//! It shares no code with the circuits of `ssp-ops` beyond the meaning of
//! single values (comparisons, functions, arithmetic, the aggregate of one
//! group), so a lowering bug cannot hide behind a shared evaluator: the test
//! suite checks that every lowered circuit, stepped incrementally, equals
//! this interpreter after every change.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use smol_str::SmolStr;
use ssp_core::{FieldPath, Object, Value, ZSet};
use ssp_ops::{AggFn, Direction, Expr, Tables, arith, connective, neg, truthy};

use crate::logical::{Agg, Proj, Rel, Scalar};

/// Parameter values by name (without `$`). An unset parameter is `NONE`, as
/// in SurrealDB.
pub type Params = BTreeMap<SmolStr, Value>;

/// Evaluates `rel` over `tables`: the result rows in the query's order.
pub fn interpret(rel: &Rel, tables: &Tables, params: &Params) -> Vec<Value> {
    let db = Db::new(tables, &rel.tables());
    db.rel(rel, &Ctx { parent: None, params })
}

/// Evaluates `rel` over `tables` as a Z-set (each row with its multiplicity),
/// comparable with a circuit's integrated output.
pub fn interpret_zset(rel: &Rel, tables: &Tables, params: &Params) -> ZSet<Value> {
    let mut out = ZSet::new();
    for row in interpret(rel, tables, params) {
        out.update(row, 1);
    }
    out
}

/// The records the rows of `rel` show, each once: the records the rows come
/// from, the records their links reach, and the rows of their subqueries
/// (before the subqueries' projections). Empty for a grouped plan, whose
/// rows are computed. See [`Lowered::records`](crate::Lowered::records).
pub fn interpret_records(rel: &Rel, tables: &Tables, params: &Params) -> ZSet<Value> {
    let db = Db::new(tables, &rel.tables());
    let mut out = ZSet::new();
    for record in db.records(rel, &Ctx { parent: None, params }) {
        if out.weight(&record) == 0 {
            out.update(record, 1);
        }
    }
    out
}

/// The tables, each as its records in id order, and by id.
struct Db {
    rows: HashMap<SmolStr, Vec<Value>>,
    by_id: HashMap<Value, Value>,
}

struct Ctx<'a> {
    parent: Option<&'a Value>,
    params: &'a Params,
}

impl Db {
    fn new(tables: &Tables, names: &[SmolStr]) -> Db {
        let mut rows = HashMap::new();
        let mut by_id = HashMap::new();
        for name in names {
            let Some(z) = tables.rows(name) else { continue };
            let mut records: Vec<Value> = Vec::new();
            for (row, w) in z.iter() {
                for _ in 0..w.max(0) {
                    records.push(row.clone());
                }
            }
            records.sort_by(|a, b| id_of(a).cmp(&id_of(b)).then_with(|| a.cmp(b)));
            for r in &records {
                by_id.insert(id_of(r), r.clone());
            }
            rows.insert(name.clone(), records);
        }
        Db { rows, by_id }
    }

    fn rel(&self, rel: &Rel, ctx: &Ctx<'_>) -> Vec<Value> {
        match rel {
            Rel::Scan { table } => self.rows.get(table).cloned().unwrap_or_default(),
            Rel::Filter { input, pred } => {
                self.rel(input, ctx).into_iter().filter(|row| truthy(&self.scalar(pred, row, ctx))).collect()
            }
            Rel::SemiJoin { input, key, right, anti } => {
                let rows = self.rel(input, ctx);
                let right_rows = (!right.reads_parent()).then(|| self.rel(right, ctx));
                rows.into_iter()
                    .filter(|row| {
                        let k = self.scalar(key, row, ctx);
                        let found = match &right_rows {
                            Some(r) => r.contains(&k),
                            None => self.rel(right, &Ctx { parent: Some(row), params: ctx.params }).contains(&k),
                        };
                        found != *anti
                    })
                    .collect()
            }
            Rel::Project { input, proj } => {
                self.rel(input, ctx).into_iter().map(|row| self.project(proj, &row, ctx)).collect()
            }
            Rel::Aggregate { input, group, aggs } => {
                let rows = self.rel(input, ctx);
                // Rows whose keys are equal in other number kinds (`1`,
                // `1.0f`) form one group, which shows the first of their keys
                // in exact order (ints before floats before decimals).
                let mut groups: BTreeMap<Vec<Value>, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
                for row in rows {
                    let key: Vec<Value> = group.iter().map(|(_, e)| self.scalar(e, &row, ctx)).collect();
                    let (shown, rows) = groups.entry(key.clone()).or_insert_with(|| (key.clone(), Vec::new()));
                    if exact_before(&key, shown) {
                        *shown = key;
                    }
                    rows.push(row);
                }
                groups
                    .into_values()
                    .map(|(key, rows)| {
                        let mut out = Value::Object(Object::new());
                        for ((path, _), v) in group.iter().zip(key) {
                            out.put(path, v);
                        }
                        for (path, agg) in aggs {
                            out.put(path, self.aggregate(agg, &rows, ctx));
                        }
                        out
                    })
                    .collect()
            }
            Rel::TopK { input, order, limit, start } => {
                let mut rows: Vec<(Vec<Value>, Value)> = self
                    .rel(input, ctx)
                    .into_iter()
                    .map(|row| (order.iter().map(|(e, _)| self.scalar(e, &row, ctx)).collect(), row))
                    .collect();
                // A stable sort: ties keep their input order.
                rows.sort_by(|(a, _), (b, _)| {
                    a.iter()
                        .zip(b)
                        .zip(order)
                        .map(|((x, y), (_, d))| match d {
                            Direction::Asc => x.cmp(y),
                            Direction::Desc => y.cmp(x),
                        })
                        .find(|o| *o != Ordering::Equal)
                        .unwrap_or(Ordering::Equal)
                });
                let bound = |e: &Option<Scalar>| {
                    e.as_ref().map(|e| match self.scalar(e, &Value::None, ctx) {
                        Value::Number(n) => n.to_i64().and_then(|i| usize::try_from(i).ok()).unwrap_or(0),
                        _ => 0,
                    })
                };
                let start = bound(start).unwrap_or(0);
                let limit = bound(limit).unwrap_or(usize::MAX);
                rows.into_iter().skip(start).take(limit).map(|(_, row)| row).collect()
            }
            Rel::Union(inputs) => inputs.iter().flat_map(|r| self.rel(r, ctx)).collect(),
        }
    }

    fn records(&self, rel: &Rel, ctx: &Ctx<'_>) -> Vec<Value> {
        match rel {
            Rel::Union(inputs) => inputs.iter().flat_map(|r| self.records(r, ctx)).collect(),
            Rel::Project { input, proj } if crate::lower::shows_records(input) => {
                let rows = self.rel(input, ctx);
                let mut out = rows.clone();
                let scalars: Vec<&Scalar> = match proj {
                    Proj::Value(e) => vec![e],
                    Proj::Fields { fields, .. } => fields.iter().map(|(_, e)| e).collect(),
                };
                for row in &rows {
                    for s in &scalars {
                        self.reached(s, row, ctx, &mut out);
                    }
                }
                out
            }
            rel if crate::lower::shows_records(rel) => self.rel(rel, ctx),
            _ => Vec::new(),
        }
    }

    /// The records `e`, evaluated against `row`, reaches through links and
    /// subqueries (not counting those inside subqueries).
    fn reached(&self, e: &Scalar, row: &Value, ctx: &Ctx<'_>, out: &mut Vec<Value>) {
        match e {
            Scalar::Link { field, table, .. } => {
                if let Value::RecordId(id) = row.pick(field)
                    && id.table() == table
                    && let Some(record) = self.by_id.get(&Value::RecordId(id))
                {
                    out.push(record.clone());
                }
            }
            Scalar::Subquery(sub) => {
                let rows = match &**sub {
                    Rel::Project { input, .. } => &**input,
                    other => other,
                };
                // A subquery over aggregates computes its rows: it shows no records.
                if crate::lower::shows_records(rows) {
                    out.extend(self.rel(rows, &Ctx { parent: Some(row), params: ctx.params }));
                }
            }
            other => other.children().into_iter().for_each(|c| self.reached(c, row, ctx, out)),
        }
    }

    /// A breadth-first walk from `start`: the distinct records reached in 1
    /// to `max` steps, in id order.
    fn reach(&self, start: Value, edge: &str, from: &FieldPath, to: &FieldPath, table: &str, max: u32) -> Value {
        let edges = self.rows.get(edge).map(Vec::as_slice).unwrap_or_default();
        let step = |node: &Value| -> Vec<Value> {
            edges
                .iter()
                .filter(|e| e.pick(from) == *node)
                .map(|e| e.pick(to))
                .filter(|n| matches!(n, Value::RecordId(id) if id.table() == table))
                .collect()
        };
        let mut reached: std::collections::BTreeSet<Value> = std::collections::BTreeSet::new();
        let mut expanded: std::collections::BTreeSet<Value> = std::collections::BTreeSet::from([start.clone()]);
        let mut frontier = vec![start];
        for _ in 0..max {
            let mut next = Vec::new();
            for node in &frontier {
                for n in step(node) {
                    reached.insert(n.clone());
                    if expanded.insert(n.clone()) {
                        next.push(n);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Value::Array(reached.into_iter().collect())
    }

    fn project(&self, proj: &Proj, row: &Value, ctx: &Ctx<'_>) -> Value {
        match proj {
            Proj::Value(e) => self.scalar(e, row, ctx),
            Proj::Fields { all, omit, fields } => {
                let mut out = if *all { row.clone() } else { Value::Object(Object::new()) };
                for (path, e) in fields {
                    out.put(path, self.scalar(e, row, ctx));
                }
                for path in omit {
                    out.cut(path);
                }
                out
            }
        }
    }

    fn aggregate(&self, agg: &Agg, rows: &[Value], ctx: &Ctx<'_>) -> Value {
        let (f, arg) = match agg {
            Agg::Count => (AggFn::Count, None),
            Agg::Sum(e) => (AggFn::Sum(Expr::Row), Some(e)),
            Agg::Min(e) => (AggFn::Min(Expr::Row), Some(e)),
            Agg::Max(e) => (AggFn::Max(Expr::Row), Some(e)),
            Agg::Mean(e) => (AggFn::Mean(Expr::Row), Some(e)),
        };
        f.over(rows.iter().map(|row| (arg.map_or(Value::None, |e| self.scalar(e, row, ctx)), 1)))
    }

    fn scalar(&self, e: &Scalar, row: &Value, ctx: &Ctx<'_>) -> Value {
        let eval = |e: &Scalar| self.scalar(e, row, ctx);
        match e {
            Scalar::Lit(v) => v.clone(),
            Scalar::Row => row.clone(),
            Scalar::Field(p) => row.pick(p),
            Scalar::Param { name, path } => {
                let v = ctx.params.get(name).cloned().unwrap_or(Value::None);
                match path {
                    Some(p) => v.pick(p),
                    None => v,
                }
            }
            Scalar::Parent(p) => ctx.parent.map_or(Value::None, |parent| parent.pick(p)),
            Scalar::Link { field, table, path } => match row.pick(field) {
                Value::RecordId(id) if id.table() == table => {
                    self.by_id.get(&Value::RecordId(id)).map_or(Value::None, |r| r.pick(path))
                }
                _ => Value::None,
            },
            Scalar::Reach { start, edge, from, to, table, max } => self.reach(
                row.pick(start),
                edge,
                &FieldPath::field(from.clone()),
                &FieldPath::field(to.clone()),
                table,
                *max,
            ),
            Scalar::Cmp(op, a, b) => Value::Bool(op.test(&eval(a), &eval(b))),
            Scalar::Member(op, a, b) => Value::Bool(op.test(&eval(a), &eval(b))),
            Scalar::And(es) => connective(es, true, eval),
            Scalar::Or(es) => connective(es, false, eval),
            Scalar::Not(e) => Value::Bool(!truthy(&eval(e))),
            Scalar::Arith(op, a, b) => arith(*op, &eval(a), &eval(b)),
            Scalar::Neg(e) => neg(&eval(e)),
            Scalar::Call(f, args) => f.apply(&args.iter().map(eval).collect::<Vec<_>>()),
            Scalar::Array(es) => Value::Array(es.iter().map(eval).collect()),
            Scalar::Object(fields) => {
                Value::Object(fields.iter().map(|(k, e)| (k.clone(), eval(e))).collect::<Object>())
            }
            Scalar::Subquery(rel) => {
                Value::Array(self.rel(rel, &Ctx { parent: Some(row), params: ctx.params }).into_iter().collect())
            }
        }
    }
}

/// A row's `id` (`NONE` if it has none).
fn id_of(row: &Value) -> Value {
    row.pick(&ssp_core::FieldPath::field("id"))
}

/// Whether key `a` comes before key `b` in exact order ([`Value::cmp_exact`]).
fn exact_before(a: &[Value], b: &[Value]) -> bool {
    a.iter().zip(b).map(|(x, y)| x.cmp_exact(y)).find(|o| o.is_ne()) == Some(Ordering::Less)
}
