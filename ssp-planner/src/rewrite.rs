//! Rewrite passes over the logical plan. Each is small, runs on its own, and
//! preserves the plan's result (the test suite checks each on random plans
//! and data with the interpreter).
//!
//! | pass | what it does |
//! |---|---|
//! | [`fold_constants`] | evaluates what depends on no row or parameter; drops `WHERE true` |
//! | [`unnest_subqueries`] | `x IN (SELECT …)` / `NOT IN` conjuncts become semi-/anti-joins |
//! | [`push_predicates`] | splits conditions into conjuncts and moves each as close to its table as it can go: below unions and semi-joins, into both sides of a union |
//! | [`push_projections`] | a projection over a union goes into each branch |
//! | [`order_joins`] | orders a chain of filters and semi-joins so the most selective runs first, from table statistics |

use ssp_core::Value;
use ssp_ops::{MemberOp, truthy};

use crate::logical::{Proj, Rel, Scalar};
use crate::schema::Schema;

/// Runs every pass, in order.
pub fn optimize(rel: Rel, schema: &Schema) -> Rel {
    let rel = fold_constants(rel);
    let rel = unnest_subqueries(rel);
    let rel = push_predicates(rel);
    let rel = push_projections(rel);
    order_joins(rel, schema)
}

/// Applies `f` to every direct input of `rel`.
fn map_inputs(rel: Rel, f: &mut impl FnMut(Rel) -> Rel) -> Rel {
    let mut b = |r: Box<Rel>| Box::new(f(*r));
    match rel {
        Rel::Scan { .. } => rel,
        Rel::Filter { input, pred } => Rel::Filter { input: b(input), pred },
        Rel::SemiJoin { input, key, right, anti } => Rel::SemiJoin { input: b(input), key, right: b(right), anti },
        Rel::Project { input, proj } => Rel::Project { input: b(input), proj },
        Rel::Aggregate { input, group, aggs } => Rel::Aggregate { input: b(input), group, aggs },
        Rel::TopK { input, order, limit, start } => Rel::TopK { input: b(input), order, limit, start },
        Rel::Union(inputs) => Rel::Union(inputs.into_iter().map(f).collect()),
    }
}

/// Applies `f` to every scalar of `rel` (not of its inputs).
fn map_scalars(rel: Rel, f: &mut impl FnMut(Scalar) -> Scalar) -> Rel {
    match rel {
        Rel::Scan { .. } | Rel::Union(_) => rel,
        Rel::Filter { input, pred } => Rel::Filter { input, pred: f(pred) },
        Rel::SemiJoin { input, key, right, anti } => Rel::SemiJoin { input, key: f(key), right, anti },
        Rel::Project { input, proj } => Rel::Project {
            input,
            proj: match proj {
                Proj::Value(e) => Proj::Value(f(e)),
                Proj::Fields { all, omit, fields } => {
                    Proj::Fields { all, omit, fields: fields.into_iter().map(|(p, e)| (p, f(e))).collect() }
                }
            },
        },
        Rel::Aggregate { input, group, aggs } => Rel::Aggregate {
            input,
            group: group.into_iter().map(|(p, e)| (p, f(e))).collect(),
            aggs: aggs.into_iter().map(|(p, a)| (p, map_agg(a, f))).collect(),
        },
        Rel::TopK { input, order, limit, start } => Rel::TopK {
            input,
            order: order.into_iter().map(|(e, d)| (f(e), d)).collect(),
            limit: limit.map(&mut *f),
            start: start.map(f),
        },
    }
}

fn map_agg(a: crate::logical::Agg, f: &mut impl FnMut(Scalar) -> Scalar) -> crate::logical::Agg {
    use crate::logical::Agg;
    match a {
        Agg::Count => Agg::Count,
        Agg::Sum(e) => Agg::Sum(f(e)),
        Agg::Min(e) => Agg::Min(f(e)),
        Agg::Max(e) => Agg::Max(f(e)),
        Agg::Mean(e) => Agg::Mean(f(e)),
    }
}

// ---------------------------------------------------------------------------
// Constant folding

/// Evaluates every sub-expression that reads no row, parameter or table, and
/// removes filters that keep every row.
pub fn fold_constants(rel: Rel) -> Rel {
    let rel = map_inputs(rel, &mut fold_constants);
    let rel = map_scalars(rel, &mut fold);
    let rel = match rel {
        Rel::Filter { input, pred } => Rel::Filter { input, pred: fold_condition(pred) },
        other => other,
    };
    match rel {
        Rel::Filter { input, pred: Scalar::Lit(v) } if truthy(&v) => *input,
        other => other,
    }
}

/// Folds one expression, bottom-up.
pub fn fold(e: Scalar) -> Scalar {
    let lit = |s: &Scalar| if let Scalar::Lit(v) = s { Some(v.clone()) } else { None };
    match e {
        Scalar::Subquery(rel) => Scalar::Subquery(Box::new(fold_constants(*rel))),
        Scalar::Cmp(op, a, b) => {
            let (a, b) = (fold(*a), fold(*b));
            match (lit(&a), lit(&b)) {
                (Some(x), Some(y)) => Scalar::Lit(Value::Bool(op.test(&x, &y))),
                _ => Scalar::Cmp(op, Box::new(a), Box::new(b)),
            }
        }
        Scalar::Member(op, a, b) => {
            let (a, b) = (fold(*a), fold(*b));
            match (lit(&a), lit(&b)) {
                (Some(x), Some(y)) => Scalar::Lit(Value::Bool(op.test(&x, &y))),
                _ => Scalar::Member(op, Box::new(a), Box::new(b)),
            }
        }
        Scalar::Arith(op, a, b) => {
            let (a, b) = (fold(*a), fold(*b));
            match (lit(&a), lit(&b)) {
                (Some(x), Some(y)) => Scalar::Lit(ssp_ops::arith(op, &x, &y)),
                _ => Scalar::Arith(op, Box::new(a), Box::new(b)),
            }
        }
        Scalar::Neg(a) => {
            let a = fold(*a);
            match lit(&a) {
                Some(x) => Scalar::Lit(ssp_ops::neg(&x)),
                None => Scalar::Neg(Box::new(a)),
            }
        }
        Scalar::Not(a) => {
            let a = fold(*a);
            match lit(&a) {
                Some(x) => Scalar::Lit(Value::Bool(!truthy(&x))),
                None => Scalar::Not(Box::new(a)),
            }
        }
        Scalar::Call(f, args) => {
            let args: Vec<Scalar> = args.into_iter().map(fold).collect();
            match args.iter().map(lit).collect::<Option<Vec<Value>>>() {
                Some(values) => Scalar::Lit(f.apply(&values)),
                None => Scalar::Call(f, args),
            }
        }
        Scalar::And(es) => fold_connective(es, true),
        Scalar::Or(es) => fold_connective(es, false),
        Scalar::Array(es) => {
            let es: Vec<Scalar> = es.into_iter().map(fold).collect();
            match es.iter().map(lit).collect::<Option<Vec<Value>>>() {
                Some(values) => Scalar::Lit(Value::Array(values.into_iter().collect())),
                None => Scalar::Array(es),
            }
        }
        Scalar::Object(fields) => Scalar::Object(fields.into_iter().map(|(k, v)| (k, fold(v))).collect()),
        other => other,
    }
}

/// Folds a condition, where only its truth matters: `AND` drops its true
/// literals, `OR` its false ones.
fn fold_condition(pred: Scalar) -> Scalar {
    let keep = |es: Vec<Scalar>, and: bool| -> Vec<Scalar> {
        es.into_iter().filter(|e| !matches!(e, Scalar::Lit(v) if truthy(v) == and)).collect()
    };
    match pred {
        Scalar::And(es) => match keep(es, true) {
            kept if kept.is_empty() => Scalar::Lit(Value::Bool(true)),
            mut kept if kept.len() == 1 => kept.remove(0),
            kept => Scalar::And(kept),
        },
        Scalar::Or(es) => match keep(es, false) {
            kept if kept.is_empty() => Scalar::Lit(Value::Bool(false)),
            mut kept if kept.len() == 1 => kept.remove(0),
            kept => Scalar::Or(kept),
        },
        other => other,
    }
}

/// Folds `AND` (`and`) or `OR`, which give an operand (SurrealDB's `AND`:
/// the first falsy operand or else the last; `OR`: the first truthy or else
/// the last). A literal that lets evaluation go on is dropped unless it is
/// last; one that stops it ends the list.
fn fold_connective(es: Vec<Scalar>, and: bool) -> Scalar {
    let empty = Scalar::Lit(Value::Bool(and));
    let mut out: Vec<Scalar> = Vec::new();
    let n = es.len();
    for (i, e) in es.into_iter().map(fold).enumerate() {
        let Scalar::Lit(v) = &e else {
            out.push(e);
            continue;
        };
        if truthy(v) != and {
            // This literal stops the evaluation: it is the result if reached.
            out.push(e);
            break;
        }
        if i + 1 == n {
            out.push(e);
        }
    }
    match out.len() {
        0 => empty,
        1 => out.remove(0),
        _ => {
            if and {
                Scalar::And(out)
            } else {
                Scalar::Or(out)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Subquery unnesting

/// Turns each conjunct `key IN (SELECT …)`, `(SELECT …) CONTAINS key` or
/// `key NOT IN (SELECT …)` (or `!(key IN (SELECT …))`) of a filter, where
/// the subquery is not correlated, into a semi-join (or anti-join) of the
/// filter's input. A conjunct `d1 OR d2 OR …` with such a subquery becomes a
/// union of disjoint branches, `d1`, `!d1 AND d2`, …, each unnested in turn.
pub fn unnest_subqueries(rel: Rel) -> Rel {
    let rel = map_inputs(rel, &mut unnest_subqueries);
    let Rel::Filter { input, pred } = rel else { return rel };
    unnest_filter(*input, pred)
}

/// The most branches unnesting `OR`s of subqueries may make of one filter.
const MAX_UNION_BRANCHES: usize = 16;

/// How many copies of its input a plan holds side by side (1 but for unions).
fn union_width(rel: &Rel) -> usize {
    match rel {
        Rel::Union(inputs) => inputs.iter().map(union_width).sum(),
        other => other.inputs().first().map_or(1, |i| union_width(i)),
    }
}

fn has_subquery(s: &Scalar) -> bool {
    s.any(&mut |x| matches!(x, Scalar::Subquery(r) if !r.reads_parent()))
}

fn unnest_filter(mut input: Rel, pred: Scalar) -> Rel {
    let mut rest = Vec::new();
    let mut disjunctions = Vec::new();
    for c in pred.conjuncts() {
        match semi_join_of(c) {
            Ok((key, right, anti)) => {
                input = Rel::SemiJoin { input: Box::new(input), key, right: Box::new(right), anti };
            }
            Err(Scalar::Or(ds)) if ds.iter().any(has_subquery) => disjunctions.push(ds),
            Err(c) => rest.push(c),
        }
    }
    if !rest.is_empty() {
        input = Rel::Filter { input: Box::new(input), pred: Scalar::all(rest) };
    }
    for ds in disjunctions {
        // Each disjunction multiplies the branches of the plan: past a budget,
        // it stays a filter (with its subqueries as lookups).
        if union_width(&input) * ds.len() > MAX_UNION_BRANCHES {
            input = Rel::Filter { input: Box::new(input), pred: Scalar::Or(ds) };
            continue;
        }
        let mut branches = Vec::new();
        for (i, d) in ds.iter().enumerate() {
            let mut cond: Vec<Scalar> = ds[..i].iter().map(|e| Scalar::Not(Box::new(e.clone()))).collect();
            cond.push(d.clone());
            branches.push(unnest_filter(input.clone(), Scalar::all(cond)));
        }
        input = Rel::Union(branches);
    }
    input
}

// `Err` hands back the conjunct that is not a semi-join, by value: a
// pass-through, not an error, so its size does not matter.
#[allow(clippy::result_large_err)]
fn semi_join_of(c: Scalar) -> Result<(Scalar, Rel, bool), Scalar> {
    // The key must be evaluable on the row alone: no subquery, record link
    // or graph walk (those are lookups a filter makes, not a semi-join key).
    let plain =
        |s: &Scalar| !s.any(&mut |x| matches!(x, Scalar::Subquery(_) | Scalar::Link { .. } | Scalar::Reach { .. }));
    let (negated, c) = match c {
        Scalar::Not(inner) if matches!(*inner, Scalar::Member(..)) => (true, *inner),
        c => (false, c),
    };
    let (op, key, sub) = match c {
        Scalar::Member(op @ (MemberOp::Inside | MemberOp::NotInside), key, sub) => (op, key, sub),
        Scalar::Member(op @ (MemberOp::Contains | MemberOp::ContainsNot), sub, key) => (op, key, sub),
        other if negated => return Err(Scalar::Not(Box::new(other))),
        other => return Err(other),
    };
    let anti = matches!(op, MemberOp::NotInside | MemberOp::ContainsNot) != negated;
    match *sub {
        Scalar::Subquery(right) if !right.reads_parent() && plain(&key) => Ok((*key, unnest_subqueries(*right), anti)),
        sub => {
            let c = match op {
                MemberOp::Inside | MemberOp::NotInside => Scalar::Member(op, key, Box::new(sub)),
                _ => Scalar::Member(op, Box::new(sub), key),
            };
            Err(if negated { Scalar::Not(Box::new(c)) } else { c })
        }
    }
}

// ---------------------------------------------------------------------------
// Predicate pushdown

/// Moves filter conditions towards the tables: a filter over a union goes
/// into every branch, a filter over a semi-join goes below it (into the
/// rows it filters), and stacked filters merge.
pub fn push_predicates(rel: Rel) -> Rel {
    let rel = map_inputs(rel, &mut push_predicates);
    let Rel::Filter { input, pred } = rel else { return rel };
    push_filter(*input, pred)
}

fn push_filter(input: Rel, pred: Scalar) -> Rel {
    match input {
        Rel::Union(inputs) => Rel::Union(inputs.into_iter().map(|r| push_filter(r, pred.clone())).collect()),
        Rel::SemiJoin { input, key, right, anti } => {
            Rel::SemiJoin { input: Box::new(push_filter(*input, pred)), key, right, anti }
        }
        Rel::Filter { input, pred: inner } => {
            let mut all = inner.conjuncts();
            all.extend(pred.conjuncts());
            Rel::Filter { input, pred: Scalar::all(all) }
        }
        other => Rel::Filter { input: Box::new(other), pred },
    }
}

// ---------------------------------------------------------------------------
// Projection pushdown

/// Moves a projection over a union into each branch, so that each table's
/// rows are narrowed where they are read.
pub fn push_projections(rel: Rel) -> Rel {
    let rel = map_inputs(rel, &mut push_projections);
    match rel {
        Rel::Project { input, proj } => match *input {
            Rel::Union(inputs) => Rel::Union(
                inputs.into_iter().map(|r| Rel::Project { input: Box::new(r), proj: proj.clone() }).collect(),
            ),
            input => Rel::Project { input: Box::new(input), proj },
        },
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Join ordering

/// Orders each chain of semi-joins (and the filter below them) over one
/// table so that the step that keeps the fewest rows runs first, as
/// estimated from the statistics in `schema`: a semi-join keeps about
/// `min(1, rows(right) / distinct(key))` of its input. Chains without
/// statistics keep their order.
pub fn order_joins(rel: Rel, schema: &Schema) -> Rel {
    let rel = map_inputs(rel, &mut |r| order_joins(r, schema));
    if !matches!(rel, Rel::SemiJoin { .. }) {
        return rel;
    }
    // Unstack the chain: semi-joins down to their first other input.
    let mut joins = Vec::new();
    let mut base = rel;
    while let Rel::SemiJoin { input, key, right, anti } = base {
        joins.push((key, right, anti));
        base = *input;
    }
    let table = base.tables().into_iter().next();
    let rows_of = |r: &Rel| r.tables().first().and_then(|t| schema.stats(t)).map(|s| s.rows as f64);
    let estimate = |(key, right, anti): &(Scalar, Box<Rel>, bool)| -> f64 {
        let distinct = match (key, &table) {
            (Scalar::Field(p), Some(t)) => match p.parts() {
                [ssp_core::PathPart::Field(name)] => schema.stats(t).and_then(|s| s.distinct.get(name).copied()),
                _ => None,
            },
            _ => None,
        };
        let kept = match (rows_of(right), distinct) {
            (Some(r), Some(d)) if d > 0 => (r / d as f64).min(1.0),
            _ => 0.5,
        };
        if *anti { 1.0 - kept } else { kept }
    };
    // Innermost (applied first) first; a stable sort keeps the written order
    // among joins of equal estimates.
    joins.reverse();
    joins.sort_by(|a, b| estimate(a).total_cmp(&estimate(b)));
    joins.into_iter().fold(base, |input, (key, right, anti)| Rel::SemiJoin { input: Box::new(input), key, right, anti })
}

#[cfg(test)]
mod tests {
    use ssp_core::FieldPath;
    use ssp_ops::{ArithOp, CmpOp};

    use super::*;
    use crate::schema::Stats;

    fn scan(t: &str) -> Rel {
        Rel::Scan { table: t.into() }
    }

    fn eq(field: &str, v: impl Into<Value>) -> Scalar {
        Scalar::Cmp(CmpOp::Eq, Box::new(Scalar::field(field)), Box::new(Scalar::Lit(v.into())))
    }

    fn sub(t: &str) -> Rel {
        Rel::Project { input: Box::new(scan(t)), proj: Proj::Value(Scalar::field("k")) }
    }

    #[test]
    fn folding_evaluates_constants_and_drops_true_filters() {
        let two = Scalar::Arith(ArithOp::Add, Box::new(Scalar::Lit(1.into())), Box::new(Scalar::Lit(1.into())));
        let pred = Scalar::And(vec![
            Scalar::Cmp(CmpOp::Eq, Box::new(Scalar::field("k")), Box::new(two)),
            Scalar::Lit(Value::Bool(true)),
        ]);
        let folded = fold_constants(Rel::Filter { input: Box::new(scan("t")), pred });
        assert_eq!(folded, Rel::Filter { input: Box::new(scan("t")), pred: eq("k", 2) });
        let always = Rel::Filter { input: Box::new(scan("t")), pred: Scalar::Not(Box::new(Scalar::Lit(Value::None))) };
        assert_eq!(fold_constants(always), scan("t"));
    }

    #[test]
    fn unnesting_makes_semi_and_anti_joins() {
        let member = |op, t: &str| {
            Scalar::Member(op, Box::new(Scalar::field("k")), Box::new(Scalar::Subquery(Box::new(sub(t)))))
        };
        let pred = Scalar::And(vec![member(MemberOp::Inside, "a"), eq("s", "x"), member(MemberOp::NotInside, "b")]);
        let out = unnest_subqueries(Rel::Filter { input: Box::new(scan("t")), pred });
        let Rel::Filter { input, pred } = out else { panic!("the plain conjunct stays a filter: {out:?}") };
        assert_eq!(pred, eq("s", "x"));
        let Rel::SemiJoin { input, anti: true, .. } = *input else { panic!("NOT IN is an anti-join") };
        assert!(matches!(*input, Rel::SemiJoin { anti: false, .. }));
    }

    #[test]
    fn predicates_go_below_unions_and_semi_joins() {
        let union = Rel::Union(vec![scan("a"), scan("b")]);
        let pushed = push_predicates(Rel::Filter { input: Box::new(union), pred: eq("k", 1) });
        let Rel::Union(branches) = pushed else { panic!("a union stays on top") };
        assert!(branches.iter().all(|b| matches!(b, Rel::Filter { .. })));
        let semi = Rel::SemiJoin {
            input: Box::new(scan("a")),
            key: Scalar::field("k"),
            right: Box::new(sub("b")),
            anti: false,
        };
        let pushed = push_predicates(Rel::Filter { input: Box::new(semi), pred: eq("k", 1) });
        let Rel::SemiJoin { input, .. } = pushed else { panic!("the semi-join stays on top") };
        assert!(matches!(*input, Rel::Filter { .. }));
    }

    #[test]
    fn projections_go_into_union_branches() {
        let proj = Proj::Value(Scalar::field("k"));
        let pushed = push_projections(Rel::Project { input: Box::new(Rel::Union(vec![scan("a"), scan("b")])), proj });
        let Rel::Union(branches) = pushed else { panic!("a union stays on top") };
        assert!(branches.iter().all(|b| matches!(b, Rel::Project { .. })));
    }

    #[test]
    fn the_most_selective_semi_join_runs_first() {
        let mut schema = Schema::new();
        schema.set_stats("t", Stats { rows: 1000, distinct: [("k".into(), 100), ("j".into(), 1000)].into() });
        schema.set_stats("big", Stats { rows: 1000, distinct: Default::default() });
        schema.set_stats("small", Stats { rows: 10, distinct: Default::default() });
        let join = |input: Rel, key: &str, t: &str| Rel::SemiJoin {
            input: Box::new(input),
            key: Scalar::Field(FieldPath::field(key)),
            right: Box::new(sub(t)),
            anti: false,
        };
        // Written with the unselective join innermost; reordered, the
        // selective one (10 of 1000 keys) is applied first.
        let plan = join(join(scan("t"), "k", "big"), "j", "small");
        let Rel::SemiJoin { input, right, .. } = order_joins(plan, &schema) else { panic!("still a chain") };
        assert_eq!(right.tables(), vec!["big"]);
        assert!(matches!(*input, Rel::SemiJoin { ref right, .. } if right.tables() == vec!["small"]));
    }
}
