//! The syntax tree of the SurrealQL subset that live views use.
//!
//! Every node carries the [`Span`] of the text it was parsed from, so that
//! the planner's errors can point at the problem. Trees built in code (by the
//! query builder) carry [`Span::NONE`]. Equality of trees ignores spans: two
//! queries are equal when they say the same thing, wherever they were written.
//!
//! `Display` prints a tree back as SurrealQL that parses to an equal tree.

use std::fmt;

use smol_str::SmolStr;
use ssp_core::{RecordId, Value};
pub use ssp_ops::Direction;
use ssp_ops::MemberOp;

/// A range of bytes in the query text: `start..end`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// The first byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span of a node that was not parsed from text.
    pub const NONE: Span = Span { start: 0, end: 0 };

    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span { start: clamp(start), end: clamp(end) }
    }

    /// Whether this is [`Span::NONE`] (compared by value: `==` on spans is always true).
    pub fn is_none(self) -> bool {
        self.start == 0 && self.end == 0
    }

    /// The smallest span holding both ([`Span::NONE`] holds nothing).
    pub fn to(self, other: Span) -> Span {
        if self.is_none() {
            return other;
        }
        if other.is_none() {
            return self;
        }
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// The text this span covers in `source` (empty if out of range).
    pub fn text(self, source: &str) -> &str {
        source.get(self.start as usize..self.end as usize).unwrap_or("")
    }

    /// The byte range.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Spans never make two nodes different.
impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

/// Spans all being equal, this is an equivalence.
impl Eq for Span {}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A `SELECT` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    /// What each result row is: `VALUE expr` or a list of fields.
    pub projection: Projection,
    /// `OMIT` fields (removed from `*`).
    pub omit: Vec<Idiom>,
    /// `FROM`: one or more tables or record ids.
    pub from: Vec<Target>,
    /// `WHERE`.
    pub cond: Option<Expr>,
    /// `GROUP BY` / `GROUP ALL`.
    pub group: Option<Group>,
    /// `ORDER BY`, in order of precedence.
    pub order: Vec<OrderTerm>,
    /// `LIMIT`.
    pub limit: Option<Expr>,
    /// `START`.
    pub start: Option<Expr>,
    /// `FETCH` of record links.
    pub fetch: Vec<Idiom>,
    /// The whole statement.
    pub span: Span,
}

/// What each row of a `SELECT` is.
#[derive(Clone, Debug, PartialEq)]
pub enum Projection {
    /// `SELECT VALUE expr`: the value itself, not an object.
    Value(Expr),
    /// `SELECT a, b AS c, *`: an object of the fields.
    Fields(Vec<Field>),
}

/// One entry of a `SELECT` field list.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// `*`: every field of the record.
    All(Span),
    /// `expr` or `expr AS alias`.
    Expr {
        /// The value of the field.
        expr: Expr,
        /// The name it is given (`AS`); without one, the name follows the expression.
        alias: Option<Idiom>,
        /// The whole entry.
        span: Span,
    },
}

/// A `FROM` target.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// What is read.
    pub kind: TargetKind,
    /// Where it was written.
    pub span: Span,
}

/// What a `FROM` target reads.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetKind {
    /// A whole table.
    Table(SmolStr),
    /// One record.
    Record(RecordId),
    /// A parameter holding a table name, a record id or an array of them.
    Param(SmolStr),
}

/// `GROUP BY` or `GROUP ALL`.
#[derive(Clone, Debug, PartialEq)]
pub enum Group {
    /// `GROUP ALL`: one group over every row.
    All(Span),
    /// `GROUP BY a, b`.
    By(Vec<Idiom>),
}

/// One `ORDER BY` term.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderTerm {
    /// The field ordered by.
    pub field: Idiom,
    /// `ASC` (the default) or `DESC`.
    pub direction: Direction,
    /// The whole term.
    pub span: Span,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal value (numbers, strings, record ids, datetimes, `NONE`, ...).
    /// Arrays and objects whose items are all literals parse as one literal.
    Literal(Value),
    /// A path: a field, a parameter, a record link, a graph traversal.
    Idiom(Idiom),
    /// A prefix operator.
    Unary(UnaryOp, Box<Expr>),
    /// An infix operator.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A function call, `name(args)`, e.g. `count()`, `math::sum(x)`.
    Call {
        /// The function's full name, e.g. `string::lowercase`.
        name: SmolStr,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// A parenthesised `SELECT`.
    Subquery(Box<Select>),
    /// An array built from expressions: `[a, b + 1]`.
    Array(Vec<Expr>),
    /// An object built from expressions: `{ a: 1, b: x }`.
    Object(Vec<(SmolStr, Expr)>),
}

/// A prefix operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `!x` or `NOT x`.
    Not,
    /// `-x`.
    Neg,
}

/// An infix operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `AND` / `&&`.
    And,
    /// `OR` / `||`.
    Or,
    /// `=` / `IS`.
    Eq,
    /// `==`.
    ExactEq,
    /// `!=` / `IS NOT`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `CONTAINS`.
    Contains,
    /// `CONTAINSNOT`.
    ContainsNot,
    /// `CONTAINSALL`.
    ContainsAll,
    /// `CONTAINSANY`.
    ContainsAny,
    /// `CONTAINSNONE`.
    ContainsNone,
    /// `IN` / `INSIDE`.
    Inside,
    /// `NOT IN` / `NOTINSIDE`.
    NotInside,
    /// `ALLINSIDE`.
    AllInside,
    /// `ANYINSIDE`.
    AnyInside,
    /// `NONEINSIDE`.
    NoneInside,
}

/// A path: a sequence of parts read one after the other, e.g. `author.name`,
/// `$auth.id`, `->wrote->post`, `tags[0]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Idiom {
    /// The parts, first to last (never empty).
    pub parts: Vec<Part>,
    /// The whole path.
    pub span: Span,
}

/// One step of an [`Idiom`].
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// A field by name (`name`, or `.name` after another part).
    Field(SmolStr, Span),
    /// A parameter, only as the first part: `$name`.
    Param(SmolStr, Span),
    /// An array element by position: `[n]`.
    Index(i64, Span),
    /// Every element: `[*]` or `.*`.
    All(Span),
    /// A graph step: `->edge`, `<-edge`, `<->edge`, or several tables
    /// `->(likes, follows)`; no tables means any (`->?`).
    Graph {
        /// Which way the step follows edges.
        dir: GraphDir,
        /// The tables stepped into (empty: any table).
        tables: Vec<SmolStr>,
        /// The whole step.
        span: Span,
    },
    /// A bounded recursion of a path: `.{min..max}(path)`, optionally with
    /// `+collect` (every distinct node reached, rather than the last level):
    /// `.{1..3+collect}(->knows->person)`. Without parentheses, the rest of
    /// the path is repeated: `.{2}->knows->person`.
    Recurse {
        /// The fewest repetitions.
        min: u32,
        /// The most repetitions (`None`: SurrealDB's bound).
        max: Option<u32>,
        /// Whether `+collect` was given.
        collect: bool,
        /// The path repeated.
        path: Box<Idiom>,
        /// The whole part.
        span: Span,
    },
}

/// The direction of a graph step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GraphDir {
    /// `->`: from a record along its outgoing edges (`in` to `out`).
    Out,
    /// `<-`: along incoming edges (`out` to `in`).
    In,
    /// `<->`: both ways.
    Both,
}

impl Part {
    /// Where the part was written.
    pub fn span(&self) -> Span {
        match self {
            Part::Field(_, s) | Part::Param(_, s) | Part::Index(_, s) | Part::All(s) => *s,
            Part::Graph { span, .. } | Part::Recurse { span, .. } => *span,
        }
    }
}

impl Expr {
    /// An expression with no span (built in code).
    pub fn new(kind: ExprKind) -> Expr {
        Expr { kind, span: Span::NONE }
    }
}

impl Idiom {
    /// A path of plain fields, e.g. `Idiom::fields(["author", "name"])`.
    pub fn fields<S: Into<SmolStr>>(names: impl IntoIterator<Item = S>) -> Idiom {
        Idiom { parts: names.into_iter().map(|n| Part::Field(n.into(), Span::NONE)).collect(), span: Span::NONE }
    }

    /// The field names of a path made only of fields (`None` otherwise).
    pub fn as_fields(&self) -> Option<Vec<&SmolStr>> {
        self.parts.iter().map(|p| if let Part::Field(n, _) = p { Some(n) } else { None }).collect()
    }
}

impl BinaryOp {
    /// The membership test this operator is, if it is one.
    pub fn member(self) -> Option<MemberOp> {
        Some(match self {
            BinaryOp::Contains => MemberOp::Contains,
            BinaryOp::ContainsNot => MemberOp::ContainsNot,
            BinaryOp::ContainsAll => MemberOp::ContainsAll,
            BinaryOp::ContainsAny => MemberOp::ContainsAny,
            BinaryOp::ContainsNone => MemberOp::ContainsNone,
            BinaryOp::Inside => MemberOp::Inside,
            BinaryOp::NotInside => MemberOp::NotInside,
            BinaryOp::AllInside => MemberOp::AllInside,
            BinaryOp::AnyInside => MemberOp::AnyInside,
            BinaryOp::NoneInside => MemberOp::NoneInside,
            _ => return None,
        })
    }

    /// The operator as SurrealQL writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Eq => "=",
            BinaryOp::ExactEq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            _ => self.member().map_or("?", MemberOp::symbol),
        }
    }
}
