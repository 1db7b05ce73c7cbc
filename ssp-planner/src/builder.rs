//! The typed query builder: views written in Rust, planned exactly like the
//! same query written in SurrealQL (both become the same [`ast::Select`]).
//!
//! ```
//! use ssp_planner::builder::{Query, field, param};
//! use ssp_planner::Direction;
//!
//! // SELECT title, score FROM issue WHERE status = $status ORDER BY score DESC LIMIT 10
//! let query = Query::from("issue")
//!     .fields(["title", "score"])
//!     .filter(field("status").eq(param("status")))
//!     .order_by("score", Direction::Desc)
//!     .limit(10);
//! let select = query.build();
//! assert_eq!(select.from.len(), 1);
//! ```

use smol_str::SmolStr;
use ssp_core::{RecordId, Value};

use crate::ast::{
    self, BinaryOp, Direction, ExprKind, Field, GraphDir, Group, Idiom, OrderTerm, Part, Projection, Span, Target,
    TargetKind, UnaryOp,
};

/// An expression under construction.
#[derive(Clone, Debug, PartialEq)]
pub struct E(pub ast::Expr);

/// A field by dotted path (`author.name`).
pub fn field(path: &str) -> E {
    E(ast::Expr::new(ExprKind::Idiom(idiom(path))))
}

/// A parameter, `$name`, or a path into one (`param("auth.id")` is `$auth.id`).
pub fn param(path: &str) -> E {
    let mut parts = path.split('.');
    let name = parts.next().unwrap_or_default();
    let mut all = vec![Part::Param(name.into(), Span::NONE)];
    all.extend(parts.map(|p| Part::Field(p.into(), Span::NONE)));
    E(ast::Expr::new(ExprKind::Idiom(Idiom { parts: all, span: Span::NONE })))
}

/// A literal value.
pub fn lit(v: impl Into<Value>) -> E {
    E(ast::Expr::new(ExprKind::Literal(v.into())))
}

/// A function call, e.g. `call("string::lowercase", [field("name")])`.
pub fn call(name: &str, args: impl IntoIterator<Item = E>) -> E {
    E(ast::Expr::new(ExprKind::Call { name: name.into(), args: args.into_iter().map(|e| e.0).collect() }))
}

/// A graph step, `->edge->table` (or `<-edge<-table` if not `out`): the
/// records reached through the edges of one table.
pub fn graph(out: bool, edge: &str, table: &str) -> E {
    E(ast::Expr::new(ExprKind::Idiom(graph_idiom(out, edge, table))))
}

fn graph_idiom(out: bool, edge: &str, table: &str) -> Idiom {
    let dir = if out { GraphDir::Out } else { GraphDir::In };
    let step = |t: &str| Part::Graph { dir, tables: vec![t.into()], span: Span::NONE };
    Idiom { parts: vec![step(edge), step(table)], span: Span::NONE }
}

/// A bounded recursion of a graph step from the record in `field`,
/// `field.{1..max+collect}(->edge->table)` (`<-edge<-table` if not `out`):
/// the distinct records reached in 1 to `max` steps.
pub fn reach(field: &str, max: u32, out: bool, edge: &str, table: &str) -> E {
    let path = graph_idiom(out, edge, table);
    let mut parts = idiom(field).parts;
    parts.push(Part::Recurse { min: 1, max: Some(max), collect: true, path: Box::new(path), span: Span::NONE });
    E(ast::Expr::new(ExprKind::Idiom(Idiom { parts, span: Span::NONE })))
}

/// `count()`.
pub fn count() -> E {
    call("count", [])
}

/// A subquery, `(SELECT …)`.
pub fn subquery(q: Query) -> E {
    E(ast::Expr::new(ExprKind::Subquery(Box::new(q.build()))))
}

fn idiom(path: &str) -> Idiom {
    Idiom::fields(path.split('.').map(SmolStr::from))
}

impl E {
    fn binary(self, op: BinaryOp, other: E) -> E {
        E(ast::Expr::new(ExprKind::Binary(op, Box::new(self.0), Box::new(other.0))))
    }

    /// `self = other`.
    pub fn eq(self, other: E) -> E {
        self.binary(BinaryOp::Eq, other)
    }
    /// `self != other`.
    pub fn ne(self, other: E) -> E {
        self.binary(BinaryOp::Ne, other)
    }
    /// `self < other`.
    pub fn lt(self, other: E) -> E {
        self.binary(BinaryOp::Lt, other)
    }
    /// `self <= other`.
    pub fn le(self, other: E) -> E {
        self.binary(BinaryOp::Le, other)
    }
    /// `self > other`.
    pub fn gt(self, other: E) -> E {
        self.binary(BinaryOp::Gt, other)
    }
    /// `self >= other`.
    pub fn ge(self, other: E) -> E {
        self.binary(BinaryOp::Ge, other)
    }
    /// `self AND other`.
    pub fn and(self, other: E) -> E {
        self.binary(BinaryOp::And, other)
    }
    /// `self OR other`.
    pub fn or(self, other: E) -> E {
        self.binary(BinaryOp::Or, other)
    }
    /// `self IN other` (`INSIDE`).
    pub fn inside(self, other: E) -> E {
        self.binary(BinaryOp::Inside, other)
    }
    /// `self NOT IN other`.
    pub fn not_inside(self, other: E) -> E {
        self.binary(BinaryOp::NotInside, other)
    }
    /// `self CONTAINS other`.
    pub fn contains(self, other: E) -> E {
        self.binary(BinaryOp::Contains, other)
    }
}

macro_rules! arith {
    ($($trait:ident $method:ident $op:ident $sym:literal;)+) => {$(
        #[doc = concat!("`a ", $sym, " b`.")]
        impl std::ops::$trait for E {
            type Output = E;
            fn $method(self, other: E) -> E {
                self.binary(BinaryOp::$op, other)
            }
        }
    )+};
}

arith! {
    Add add Add "+";
    Sub sub Sub "-";
    Mul mul Mul "*";
    Div div Div "/";
}

/// `!a`.
impl std::ops::Not for E {
    type Output = E;
    fn not(self) -> E {
        E(ast::Expr::new(ExprKind::Unary(UnaryOp::Not, Box::new(self.0))))
    }
}

/// A `SELECT` under construction. Without [`Query::fields`] or
/// [`Query::value`] it selects `*`.
#[derive(Clone, Debug)]
pub struct Query {
    select: ast::Select,
}

impl Query {
    /// `SELECT * FROM table`.
    pub fn from(table: &str) -> Query {
        Query::from_target(TargetKind::Table(table.into()))
    }

    /// `SELECT * FROM <record id>`.
    pub fn from_record(id: RecordId) -> Query {
        Query::from_target(TargetKind::Record(id))
    }

    fn from_target(kind: TargetKind) -> Query {
        Query {
            select: ast::Select {
                projection: Projection::Fields(vec![Field::All(Span::NONE)]),
                omit: vec![],
                from: vec![Target { kind, span: Span::NONE }],
                cond: None,
                group: None,
                order: vec![],
                limit: None,
                start: None,
                fetch: vec![],
                span: Span::NONE,
            },
        }
    }

    /// Another table to read (`FROM a, b`).
    pub fn and_from(mut self, table: &str) -> Query {
        self.select.from.push(Target { kind: TargetKind::Table(table.into()), span: Span::NONE });
        self
    }

    fn push_field(&mut self, f: Field) {
        match &mut self.select.projection {
            Projection::Fields(fields) if fields == &[Field::All(Span::NONE)] && !matches!(f, Field::All(_)) => {
                *fields = vec![f]
            }
            Projection::Fields(fields) => fields.push(f),
            Projection::Value(_) => self.select.projection = Projection::Fields(vec![f]),
        }
    }

    /// Selects fields by path (replacing the default `*`).
    pub fn fields<'a>(mut self, paths: impl IntoIterator<Item = &'a str>) -> Query {
        for p in paths {
            self.push_field(Field::Expr { expr: field(p).0, alias: None, span: Span::NONE });
        }
        self
    }

    /// Selects `expr AS alias`.
    pub fn field_as(mut self, expr: E, alias: &str) -> Query {
        self.push_field(Field::Expr { expr: expr.0, alias: Some(idiom(alias)), span: Span::NONE });
        self
    }

    /// Selects `*` as well as the fields given.
    pub fn all(mut self) -> Query {
        self.push_field(Field::All(Span::NONE));
        self
    }

    /// `SELECT VALUE expr`.
    pub fn value(mut self, expr: E) -> Query {
        self.select.projection = Projection::Value(expr.0);
        self
    }

    /// `OMIT path`.
    pub fn omit(mut self, path: &str) -> Query {
        self.select.omit.push(idiom(path));
        self
    }

    /// `WHERE cond` (`AND`ed with an earlier one).
    pub fn filter(mut self, cond: E) -> Query {
        self.select.cond = Some(match self.select.cond.take() {
            Some(c) => E(c).and(cond).0,
            None => cond.0,
        });
        self
    }

    /// `GROUP BY path` (once per group field).
    pub fn group_by(mut self, path: &str) -> Query {
        match &mut self.select.group {
            Some(Group::By(fields)) => fields.push(idiom(path)),
            _ => self.select.group = Some(Group::By(vec![idiom(path)])),
        }
        self
    }

    /// `GROUP ALL`.
    pub fn group_all(mut self) -> Query {
        self.select.group = Some(Group::All(Span::NONE));
        self
    }

    /// `ORDER BY path ASC|DESC` (after earlier keys).
    pub fn order_by(mut self, path: &str, direction: Direction) -> Query {
        self.select.order.push(OrderTerm { field: idiom(path), direction, span: Span::NONE });
        self
    }

    /// `LIMIT n`.
    pub fn limit(mut self, n: i64) -> Query {
        self.select.limit = Some(lit(n).0);
        self
    }

    /// `START n`.
    pub fn start(mut self, n: i64) -> Query {
        self.select.start = Some(lit(n).0);
        self
    }

    /// `FETCH path`: the record link at `path` replaced by its record.
    pub fn fetch(mut self, path: &str) -> Query {
        self.select.fetch.push(idiom(path));
        self
    }

    /// The syntax tree of the query.
    pub fn build(self) -> ast::Select {
        self.select
    }
}
