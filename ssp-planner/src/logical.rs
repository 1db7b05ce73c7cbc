//! The logical plan: what a view computes, as a tree of relational operators
//! over scalar expressions, before any choice of how.
//!
//! A plan is bound from a query (text or builder) by [`bind`](crate::bind),
//! rewritten by the passes of [`rewrite`](crate::rewrite), evaluated directly
//! by [`interpret`](crate::interpret) and lowered to a circuit by
//! [`lower`](crate::lower). Its `Display` is the logical half of `EXPLAIN`.

use std::fmt;

use smol_str::SmolStr;
use ssp_core::{FieldPath, Value};
use ssp_ops::{ArithOp, CmpOp, Direction, Func, MemberOp};

/// A scalar expression of the logical plan, evaluated against one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A constant.
    Lit(Value),
    /// The whole row.
    Row,
    /// A field of the row (`NONE` if absent).
    Field(FieldPath),
    /// A parameter of the view, `$name`, or a path into one (`$auth.id`).
    Param {
        /// The parameter's name, without `$`.
        name: SmolStr,
        /// The path read inside its value (empty: the value itself).
        path: Option<FieldPath>,
    },
    /// A field of the row of the enclosing query (`$parent.x` in a subquery).
    Parent(FieldPath),
    /// A record link followed: `field` holds a record id of `table`, and the
    /// value is `path` read in that record (`NONE` if the record is absent).
    Link {
        /// The field holding the link.
        field: FieldPath,
        /// The table linked to.
        table: SmolStr,
        /// What is read in the linked record.
        path: FieldPath,
    },
    /// A comparison.
    Cmp(CmpOp, Box<Scalar>, Box<Scalar>),
    /// A membership test.
    Member(MemberOp, Box<Scalar>, Box<Scalar>),
    /// All of the conditions.
    And(Vec<Scalar>),
    /// Any of the conditions.
    Or(Vec<Scalar>),
    /// The negation of a condition's truth.
    Not(Box<Scalar>),
    /// Arithmetic.
    Arith(ArithOp, Box<Scalar>, Box<Scalar>),
    /// `-x`.
    Neg(Box<Scalar>),
    /// A built-in function.
    Call(Func, Vec<Scalar>),
    /// An array of values.
    Array(Vec<Scalar>),
    /// An object of named values.
    Object(Vec<(SmolStr, Scalar)>),
    /// The records reachable from the record at `start` in 1 to `max` graph
    /// steps through `edge` (`.{1..max+collect}(->edge->table)`): each
    /// distinct record once, in id order, the start itself only if a cycle
    /// leads back to it.
    Reach {
        /// The field holding the record walks start from.
        start: FieldPath,
        /// The edge table.
        edge: SmolStr,
        /// The field of an edge its walk leaves from (`in` for `->`).
        from: SmolStr,
        /// The field of an edge its walk enters (`out` for `->`).
        to: SmolStr,
        /// The table of the records stepped into.
        table: SmolStr,
        /// The most steps.
        max: u32,
    },
    /// The rows of a subquery, as an array in its order; inside it,
    /// [`Scalar::Parent`] reads the row this expression is evaluated against.
    Subquery(Box<Rel>),
}

/// An aggregate of a grouped query.
#[derive(Clone, Debug, PartialEq)]
pub enum Agg {
    /// `count()`.
    Count,
    /// `math::sum(x)`.
    Sum(Scalar),
    /// `math::min(x)`.
    Min(Scalar),
    /// `math::max(x)`.
    Max(Scalar),
    /// `math::mean(x)`.
    Mean(Scalar),
}

/// What each output row of a projection is.
#[derive(Clone, Debug, PartialEq)]
pub enum Proj {
    /// `SELECT VALUE expr`.
    Value(Scalar),
    /// An object: the whole row if `all` (less the `omit` paths), then each
    /// field set at its path (`a.b` makes `{ a: { b: … } }`).
    Fields {
        /// Whether `*` was selected.
        all: bool,
        /// `OMIT` paths.
        omit: Vec<FieldPath>,
        /// The fields, in order.
        fields: Vec<(FieldPath, Scalar)>,
    },
}

/// A relational operator of the logical plan. Rows are values (records are
/// objects with an `id`); a relation is a multiset of rows with an order
/// where the query gives one.
#[derive(Clone, Debug, PartialEq)]
pub enum Rel {
    /// The records of a table, in the order of their ids.
    Scan {
        /// The table.
        table: SmolStr,
    },
    /// The rows for which `pred` is truthy.
    Filter {
        /// The input.
        input: Box<Rel>,
        /// The condition.
        pred: Scalar,
    },
    /// The rows of `input` whose `key` equals some row of `right`
    /// (`key IN (SELECT …)`), or equals none if `anti` (`NOT IN`).
    SemiJoin {
        /// The rows kept or dropped.
        input: Box<Rel>,
        /// The value looked up.
        key: Scalar,
        /// The rows looked in.
        right: Box<Rel>,
        /// Keep the rows with no match instead.
        anti: bool,
    },
    /// Each row mapped to its projection.
    Project {
        /// The input.
        input: Box<Rel>,
        /// The output row.
        proj: Proj,
    },
    /// One row per group: the group fields and the aggregates, each at its
    /// path. With no group fields, one row over everything (`GROUP ALL`), none
    /// if the input is empty.
    Aggregate {
        /// The input.
        input: Box<Rel>,
        /// The group fields: output path and value.
        group: Vec<(FieldPath, Scalar)>,
        /// The aggregates: output path and function.
        aggs: Vec<(FieldPath, Agg)>,
    },
    /// The rows in the order of `order` (ties in input order), from `start`,
    /// at most `limit`.
    TopK {
        /// The input.
        input: Box<Rel>,
        /// The sort keys.
        order: Vec<(Scalar, Direction)>,
        /// `LIMIT` (none: all).
        limit: Option<Scalar>,
        /// `START` (none: 0).
        start: Option<Scalar>,
    },
    /// The rows of every input, one after the other (`FROM a, b`).
    Union(Vec<Rel>),
}

impl Scalar {
    /// A field by dotted path.
    pub fn field(path: &str) -> Scalar {
        Scalar::Field(path.parse().unwrap_or_else(|_| FieldPath::field(path)))
    }

    /// The direct sub-expressions (not into subqueries).
    pub fn children(&self) -> Vec<&Scalar> {
        match self {
            Scalar::Lit(_)
            | Scalar::Row
            | Scalar::Field(_)
            | Scalar::Param { .. }
            | Scalar::Parent(_)
            | Scalar::Link { .. }
            | Scalar::Reach { .. }
            | Scalar::Subquery(_) => vec![],
            Scalar::Cmp(_, a, b) | Scalar::Member(_, a, b) | Scalar::Arith(_, a, b) => vec![a, b],
            Scalar::And(es) | Scalar::Or(es) | Scalar::Call(_, es) | Scalar::Array(es) => es.iter().collect(),
            Scalar::Object(fields) => fields.iter().map(|(_, e)| e).collect(),
            Scalar::Not(e) | Scalar::Neg(e) => vec![e],
        }
    }

    /// Calls `f` on the expression and each expression inside it, down to
    /// subqueries (which `f` sees, but not what is inside them).
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Scalar)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }

    /// Whether the expression, anywhere inside (subqueries included), satisfies `pred`.
    pub fn any(&self, pred: &mut impl FnMut(&Scalar) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        if let Scalar::Subquery(rel) = self {
            return rel.any_scalar(pred);
        }
        self.children().into_iter().any(|c| c.any(pred))
    }

    /// The conjuncts of a condition (`a AND b` gives `[a, b]`).
    pub fn conjuncts(self) -> Vec<Scalar> {
        match self {
            Scalar::And(all) => all.into_iter().flat_map(Scalar::conjuncts).collect(),
            other => vec![other],
        }
    }

    /// The conjunction of conditions (the condition itself if one).
    pub fn all(mut conds: Vec<Scalar>) -> Scalar {
        if conds.len() == 1 {
            return conds.remove(0);
        }
        Scalar::And(conds)
    }
}

impl Rel {
    /// The inputs of this operator.
    pub fn inputs(&self) -> Vec<&Rel> {
        match self {
            Rel::Scan { .. } => vec![],
            Rel::Filter { input, .. }
            | Rel::Project { input, .. }
            | Rel::Aggregate { input, .. }
            | Rel::TopK { input, .. } => vec![input],
            Rel::SemiJoin { input, right, .. } => vec![input, right],
            Rel::Union(inputs) => inputs.iter().collect(),
        }
    }

    /// The scalar expressions of this operator (not of its inputs).
    pub fn scalars(&self) -> Vec<&Scalar> {
        match self {
            Rel::Scan { .. } | Rel::Union(_) => vec![],
            Rel::Filter { pred, .. } => vec![pred],
            Rel::SemiJoin { key, .. } => vec![key],
            Rel::Project { proj: Proj::Value(e), .. } => vec![e],
            Rel::Project { proj: Proj::Fields { fields, .. }, .. } => fields.iter().map(|(_, e)| e).collect(),
            Rel::Aggregate { group, aggs, .. } => group
                .iter()
                .map(|(_, e)| e)
                .chain(aggs.iter().filter_map(|(_, a)| match a {
                    Agg::Count => None,
                    Agg::Sum(e) | Agg::Min(e) | Agg::Max(e) | Agg::Mean(e) => Some(e),
                }))
                .collect(),
            Rel::TopK { order, limit, start, .. } => {
                order.iter().map(|(e, _)| e).chain(limit.iter()).chain(start.iter()).collect()
            }
        }
    }

    /// Whether a scalar anywhere in the plan satisfies `pred`.
    pub fn any_scalar(&self, pred: &mut impl FnMut(&Scalar) -> bool) -> bool {
        self.scalars().into_iter().any(|s| s.any(pred)) || self.inputs().into_iter().any(|r| r.any_scalar(pred))
    }

    /// Whether the plan reads `$parent` (is a correlated subquery).
    pub fn reads_parent(&self) -> bool {
        self.any_scalar(&mut |s| matches!(s, Scalar::Parent(_)))
    }

    /// The tables the plan reads, each once, in order of first use.
    pub fn tables(&self) -> Vec<SmolStr> {
        let mut out = Vec::new();
        self.collect_tables(&mut out);
        out
    }

    fn collect_tables(&self, out: &mut Vec<SmolStr>) {
        let mut add = |t: &SmolStr| {
            if !out.contains(t) {
                out.push(t.clone());
            }
        };
        if let Rel::Scan { table } = self {
            add(table);
        }
        let mut subqueries = Vec::new();
        for s in self.scalars() {
            s.walk(&mut |s| match s {
                Scalar::Link { table, .. } => add(table),
                Scalar::Reach { edge, .. } => add(edge),
                Scalar::Subquery(rel) => subqueries.push(&**rel),
                _ => {}
            });
        }
        for sub in subqueries {
            sub.collect_tables(out);
        }
        for input in self.inputs() {
            input.collect_tables(out);
        }
    }

    /// The subqueries of this operator's scalars (not those nested in them).
    pub fn subqueries(&self) -> Vec<&Rel> {
        let mut out = Vec::new();
        for s in self.scalars() {
            s.walk(&mut |s| {
                if let Scalar::Subquery(rel) = s {
                    out.push(&**rel);
                }
            });
        }
        out
    }
}

fn list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: impl IntoIterator<Item = T>, sep: &str) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Lit(v) => write!(f, "{v}"),
            Scalar::Row => f.write_str("$this"),
            Scalar::Field(p) => write!(f, "{p}"),
            Scalar::Param { name, path: None } => write!(f, "${name}"),
            Scalar::Param { name, path: Some(p) } => write!(f, "${name}.{p}"),
            Scalar::Parent(p) => write!(f, "$parent.{p}"),
            Scalar::Link { field, table, path } => write!(f, "{field}->{table}.{path}"),
            Scalar::Reach { start, edge, from, to, table, max } => {
                write!(f, "reach({start}, {edge}.{from} -> {edge}.{to} into {table}, 1..={max})")
            }
            Scalar::Cmp(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            Scalar::Member(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            Scalar::And(es) if es.is_empty() => f.write_str("true"),
            Scalar::Or(es) if es.is_empty() => f.write_str("false"),
            Scalar::And(es) | Scalar::Or(es) => {
                let sep = if matches!(self, Scalar::And(_)) { " AND " } else { " OR " };
                f.write_str("(")?;
                list(f, es, sep)?;
                f.write_str(")")
            }
            Scalar::Not(e) => write!(f, "!({e})"),
            Scalar::Arith(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Scalar::Neg(e) => write!(f, "-({e})"),
            Scalar::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                list(f, args, ", ")?;
                f.write_str(")")
            }
            Scalar::Array(es) => {
                f.write_str("[")?;
                list(f, es, ", ")?;
                f.write_str("]")
            }
            Scalar::Object(fields) => {
                f.write_str("{ ")?;
                list(f, fields.iter().map(|(n, e)| format!("{n}: {e}")), ", ")?;
                f.write_str(" }")
            }
            Scalar::Subquery(rel) => {
                // A subquery prints on one line here; EXPLAIN shows its tree.
                write!(f, "(subquery of {})", rel.tables().join(", "))
            }
        }
    }
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Agg::Count => f.write_str("count()"),
            Agg::Sum(e) => write!(f, "math::sum({e})"),
            Agg::Min(e) => write!(f, "math::min({e})"),
            Agg::Max(e) => write!(f, "math::max({e})"),
            Agg::Mean(e) => write!(f, "math::mean({e})"),
        }
    }
}

fn dir(d: Direction) -> &'static str {
    match d {
        Direction::Asc => "ASC",
        Direction::Desc => "DESC",
    }
}

impl Rel {
    /// Writes the plan as an indented tree, one operator a line.
    pub(crate) fn explain(&self, f: &mut impl fmt::Write, depth: usize) -> fmt::Result {
        let pad = "  ".repeat(depth);
        let subqueries = self.subqueries();
        match self {
            Rel::Scan { table } => writeln!(f, "{pad}Scan {table}")?,
            Rel::Filter { pred, .. } => writeln!(f, "{pad}Filter {pred}")?,
            Rel::SemiJoin { key, anti, .. } => {
                writeln!(f, "{pad}{} {key} IN right", if *anti { "AntiJoin" } else { "SemiJoin" })?
            }
            Rel::Project { proj: Proj::Value(e), .. } => writeln!(f, "{pad}Project VALUE {e}")?,
            Rel::Project { proj: Proj::Fields { all, omit, fields }, .. } => {
                write!(f, "{pad}Project ")?;
                let mut items: Vec<String> = Vec::new();
                if *all {
                    items.push("*".into());
                }
                items.extend(fields.iter().map(|(p, e)| {
                    if let Scalar::Field(q) = e
                        && q == p
                    {
                        return p.to_string();
                    }
                    format!("{e} AS {p}")
                }));
                f.write_str(&items.join(", "))?;
                if !omit.is_empty() {
                    write!(f, " OMIT ")?;
                    f.write_str(&omit.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))?;
                }
                writeln!(f)?;
            }
            Rel::Aggregate { group, aggs, .. } => {
                write!(f, "{pad}Aggregate ")?;
                if group.is_empty() {
                    f.write_str("ALL")?;
                } else {
                    f.write_str("BY ")?;
                    f.write_str(&group.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join(", "))?;
                }
                f.write_str(": ")?;
                f.write_str(&aggs.iter().map(|(p, a)| format!("{a} AS {p}")).collect::<Vec<_>>().join(", "))?;
                writeln!(f)?;
            }
            Rel::TopK { order, limit, start, .. } => {
                write!(f, "{pad}TopK ")?;
                if !order.is_empty() {
                    f.write_str("ORDER BY ")?;
                    f.write_str(&order.iter().map(|(e, d)| format!("{e} {}", dir(*d))).collect::<Vec<_>>().join(", "))?;
                }
                if let Some(l) = limit {
                    write!(f, " LIMIT {l}")?;
                }
                if let Some(s) = start {
                    write!(f, " START {s}")?;
                }
                writeln!(f)?;
            }
            Rel::Union(_) => writeln!(f, "{pad}Union")?,
        }
        for sub in subqueries {
            writeln!(f, "{pad}  subquery:")?;
            sub.explain(f, depth + 2)?;
        }
        for input in self.inputs() {
            input.explain(f, depth + 1)?;
        }
        Ok(())
    }
}

impl fmt::Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.explain(f, 0)
    }
}
