//! The parser of the SurrealQL subset that live views use: one `SELECT`.
//!
//! A recursive-descent parser with SurrealDB 3's operator precedence (a Pratt
//! loop for infix operators). Tokens are read on demand; literals are read by
//! `ssp-core`'s literal parser, so `1.5f`, `d'2024-01-01'`, `person:⟨a b⟩` and
//! the rest mean here what they mean to [`ssp_core::Value`]'s `FromStr`.
//!
//! The parser never panics, bounds nesting at [`MAX_DEPTH`] levels (so that
//! no input can overflow the stack) and reads each byte of the query a
//! bounded number of times.
//!
//! What SurrealDB accepts and the subset does not (`SPLIT`, `TIMEOUT`,
//! ranges, casts, other statements, ...) is refused with
//! [`ParseErrorKind::Unsupported`], naming the construct.
//!
//! Where the subset differs from SurrealDB's own parser:
//!
//! - `NOT x` is read as `!x` (SurrealDB reads `NOT(x)` as the function `not`,
//!   which is the same thing, and has no `NOT` prefix otherwise). `NOT a = b`
//!   is refused as ambiguous ([`ParseErrorKind::AmbiguousNot`]).
//! - Arrays and objects whose elements are all literals are read as one
//!   [`ExprKind::Literal`]: `[1, 'a']` is a literal array, `[1, a]` an
//!   [`ExprKind::Array`].
//! - `SELECT VALUE x AS name` is read, and the alias dropped, as SurrealDB does
//!   when it runs the query.
//! - A recursion without parentheses, `a.{1..3}->knows->person`, repeats every
//!   part after it: it reads as `a.{1..3}(->knows->person)`.
//! - `GROUP BY` fields are not checked against the projection (the planner does).

mod error;
mod lexer;

use std::borrow::Cow;

use smol_str::SmolStr;
use ssp_core::{Array, Number, Object, RecordId, Set, Value};

use self::error::PResult;
pub(crate) use self::error::render;
pub use self::error::{ParseError, ParseErrorKind};
use self::lexer::{Punct, Tok, Token, char_at, is_ident_char};
use crate::ast::{
    BinaryOp, Direction, Expr, ExprKind, Field, GraphDir, Group, Idiom, OrderTerm, Part, Projection, Select, Span,
    Target, TargetKind, UnaryOp,
};

/// How deeply a query may nest: parentheses, subqueries, operators (each
/// operator of a chain such as `a + b + c` counts, as in SurrealDB), arrays,
/// objects, function arguments and recursion paths.
pub const MAX_DEPTH: usize = 128;

/// Parses one `SELECT` statement (a trailing `;` is allowed).
///
/// ```
/// use ssp_planner::ast::{BinaryOp, ExprKind};
/// let select = ssp_planner::parse("SELECT name FROM person WHERE age >= 18 ORDER BY name LIMIT 10")?;
/// let cond = select.cond.as_ref().unwrap();
/// assert!(matches!(cond.kind, ExprKind::Binary(BinaryOp::Ge, _, _)));
/// assert_eq!(select.to_string(), "SELECT name FROM person WHERE age >= 18 ORDER BY name LIMIT 10");
/// # Ok::<(), ssp_planner::ParseError>(())
/// ```
pub fn parse(query: &str) -> Result<Select, ParseError> {
    Parser { src: query, pos: 0, last_end: 0, depth: 0, peeked: None }.statement()
}

// Binding powers, loosest first, as in SurrealDB 3.
const OR: u8 = 1;
const AND: u8 = 2;
const EQUALITY: u8 = 3;
const RELATION: u8 = 4;
const ADD: u8 = 5;
const MUL: u8 = 6;
pub(crate) const PREFIX: u8 = 7;
pub(crate) const PRIME: u8 = 8;

/// How tightly an infix operator binds.
pub(crate) fn binding_power(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        Or => OR,
        And => AND,
        Eq | ExactEq | Ne => EQUALITY,
        Lt | Le | Gt | Ge | Contains | ContainsNot | ContainsAll | ContainsAny | ContainsNone | Inside | NotInside
        | AllInside | AnyInside | NoneInside => RELATION,
        Add | Sub => ADD,
        Mul | Div => MUL,
    }
}

/// Whether operators of binding power `bp` cannot be chained (`a = b = c`).
pub(crate) fn is_comparison(bp: u8) -> bool {
    bp == EQUALITY || bp == RELATION
}

/// The binding power of an expression: its operator's, or [`PRIME`].
pub(crate) fn expr_power(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => binding_power(*op),
        ExprKind::Unary(..) => PREFIX,
        _ => PRIME,
    }
}

/// Words that, unquoted at the start of a path, a `FROM` target or a clause's
/// expression, are not read as names; the printer puts names equal to them
/// (in any case) in backticks.
pub(crate) const RESERVED: &[&str] = &[
    "NONE", "NULL", "TRUE", "FALSE", "NAN", "INFINITY", "SELECT", "VALUE", "NOT", "ONLY", "ALL", "BY", "AT", "RAND",
    "CREATE", "UPDATE", "UPSERT", "DELETE", "RELATE", "INSERT", "DEFINE", "REMOVE", "REBUILD", "ALTER", "INFO", "FOR",
    "LET", "SLEEP", "RETURN", "THROW", "CONTINUE", "BREAK", "IF", "FUNCTION", "EXPLAIN",
];

/// Whether `word` is one of [`RESERVED`], in any case.
pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Statements other than `SELECT`, by their first keyword.
const STATEMENTS: &[&str] = &[
    "CREATE", "UPDATE", "UPSERT", "DELETE", "RELATE", "INSERT", "DEFINE", "REMOVE", "REBUILD", "ALTER", "INFO", "FOR",
    "LET", "RETURN", "THROW", "CONTINUE", "BREAK", "EXPLAIN", "BEGIN", "COMMIT", "CANCEL", "KILL", "USE", "OPTION",
    "SHOW", "SLEEP", "ACCESS", "IF",
];

/// The infix operators, with the two-word ones still to complete.
#[derive(Clone, Copy)]
enum Infix {
    Op(BinaryOp),
    /// `IS` or `IS NOT`.
    Is,
    /// `NOT IN`.
    NotIn,
}

impl Infix {
    fn power(self) -> u8 {
        match self {
            Infix::Op(op) => binding_power(op),
            Infix::Is => EQUALITY,
            Infix::NotIn => RELATION,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Infix::Op(op) => op.symbol(),
            Infix::Is => "IS",
            Infix::NotIn => "NOT IN",
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    /// Where the next token is looked for.
    pos: usize,
    /// The end of the last token read.
    last_end: usize,
    /// The current nesting, bounded by [`MAX_DEPTH`].
    depth: usize,
    /// The token at `.0`, if it was already read.
    peeked: Option<(usize, Token)>,
}

impl Parser<'_> {
    // ----- tokens -----

    fn peek(&mut self) -> PResult<Token> {
        if let Some((at, t)) = &self.peeked
            && *at == self.pos
        {
            return Ok(t.clone());
        }
        let t = lexer::lex(self.src, self.pos)?;
        self.peeked = Some((self.pos, t.clone()));
        Ok(t)
    }

    fn advance_to(&mut self, end: usize) {
        self.pos = end;
        self.last_end = end;
    }

    fn bump(&mut self) -> PResult<Token> {
        let t = self.peek()?;
        self.advance_to(t.end);
        Ok(t)
    }

    fn eat(&mut self, p: Punct) -> PResult<Option<Token>> {
        let t = self.peek()?;
        if t.is_punct(p) {
            self.advance_to(t.end);
            Ok(Some(t))
        } else {
            Ok(None)
        }
    }

    fn eat_kw(&mut self, kw: &str) -> PResult<Option<Token>> {
        let t = self.peek()?;
        if t.is_kw(kw) {
            self.advance_to(t.end);
            Ok(Some(t))
        } else {
            Ok(None)
        }
    }

    fn expect(&mut self, p: Punct, expected: &'static str) -> PResult<Token> {
        match self.eat(p)? {
            Some(t) => Ok(t),
            None => Err(self.unexpected_next(expected)),
        }
    }

    fn expect_kw(&mut self, kw: &str, expected: &'static str) -> PResult<Token> {
        match self.eat_kw(kw)? {
            Some(t) => Ok(t),
            None => Err(self.unexpected_next(expected)),
        }
    }

    /// The error for token `t` where `expected` should be.
    fn unexpected(&self, t: &Token, expected: impl Into<Cow<'static, str>>) -> ParseError {
        let expected = expected.into();
        if matches!(t.tok, Tok::Eof) {
            return ParseError::new(ParseErrorKind::UnexpectedEnd { expected }, Span::new(t.start, t.start));
        }
        let text = self.src.get(t.start..t.end).unwrap_or("");
        let found = if text.chars().count() > 40 {
            let cut: String = text.chars().take(40).collect();
            format!("{cut}…")
        } else {
            text.to_owned()
        };
        ParseError::new(ParseErrorKind::Unexpected { expected, found }, t.span())
    }

    /// The error for the next token, where `expected` should be.
    fn unexpected_next(&mut self, expected: &'static str) -> ParseError {
        match self.peek() {
            Ok(t) => self.unexpected(&t, expected),
            Err(e) => e,
        }
    }

    // ----- nesting -----

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    #[cold]
    fn too_deep(&mut self) -> ParseError {
        let span = self.peek().map_or(Span::new(self.pos, self.pos), |t| t.span());
        ParseError::new(ParseErrorKind::TooDeep { limit: MAX_DEPTH }, span)
    }

    // ----- statements -----

    fn statement(mut self) -> PResult<Select> {
        let t = self.peek()?;
        if !t.is_kw("SELECT") {
            if let Tok::Ident(word) = &t.tok
                && let Some(stmt) = STATEMENTS.iter().chain(&["LIVE"]).find(|s| s.eq_ignore_ascii_case(word))
            {
                let mut span = t.span();
                let what = if *stmt == "LIVE" {
                    self.bump()?;
                    let next = self.peek()?;
                    if next.is_kw("SELECT") {
                        span = span.to(next.span());
                    }
                    Cow::Borrowed("`LIVE SELECT` statements (the live view is the `SELECT` itself)")
                } else {
                    Cow::Owned(format!("`{stmt}` statements"))
                };
                return Err(ParseError::unsupported(what, span));
            }
            return Err(self.unexpected(&t, "`SELECT`"));
        }
        self.bump()?;
        let select = self.select(t.start)?;
        let mut semicolon = false;
        while self.eat(Punct::Semi)?.is_some() {
            semicolon = true;
        }
        let t = self.peek()?;
        match t.tok {
            Tok::Eof => Ok(select),
            _ if semicolon => {
                let end = self.src.trim_end().len().max(t.end);
                Err(ParseError::unsupported("more than one statement", Span::new(t.start, end)))
            }
            _ => Err(self.unexpected(&t, "an operator, a clause or the end of the query")),
        }
    }

    /// A `SELECT` after its keyword, which started at `start`.
    ///
    /// (The functions on the path of nested expressions keep their stack
    /// frames small, so that [`MAX_DEPTH`] levels fit in a small stack even
    /// in debug builds: the clauses are read by several functions.)
    fn select(&mut self, start: usize) -> PResult<Select> {
        let saved = self.depth;
        let mut select = Select {
            projection: Projection::Fields(Vec::new()),
            omit: Vec::new(),
            from: Vec::new(),
            cond: None,
            group: None,
            order: Vec::new(),
            limit: None,
            start: None,
            fetch: Vec::new(),
            span: Span::NONE,
        };
        self.select_clauses(&mut select)?;
        self.depth = saved;
        select.span = Span::new(start, self.last_end);
        Ok(select)
    }

    fn select_clauses(&mut self, select: &mut Select) -> PResult<()> {
        self.enter()?;
        self.select_head(select)?;
        self.select_filter(select)?;
        self.select_tail(select)
    }

    /// The projection, `OMIT` and `FROM`.
    fn select_head(&mut self, select: &mut Select) -> PResult<()> {
        self.projection(select)?;
        self.omit(select)?;
        self.unsupported_clause()?;
        self.from(select)?;
        self.unsupported_clause()
    }

    /// `WHERE`, `GROUP` and `ORDER`.
    fn select_filter(&mut self, select: &mut Select) -> PResult<()> {
        select.cond = self.where_clause()?;
        self.unsupported_clause()?;
        select.group = self.group()?;
        self.unsupported_clause()?;
        select.order = self.order()?;
        self.unsupported_clause()
    }

    /// `LIMIT`, `START` and `FETCH`.
    fn select_tail(&mut self, select: &mut Select) -> PResult<()> {
        self.limit_start(select)?;
        self.unsupported_clause()?;
        select.fetch = self.fetch()?;
        self.unsupported_clause()
    }

    fn projection(&mut self, select: &mut Select) -> PResult<()> {
        if self.eat_kw("VALUE")?.is_some() {
            select.projection = Projection::Value(self.expr()?);
            // SurrealDB reads an alias after `VALUE expr` and never uses it.
            if self.eat_kw("AS")?.is_some() {
                self.name("a name")?;
            }
        } else {
            self.fields(select)?;
        }
        Ok(())
    }

    fn omit(&mut self, select: &mut Select) -> PResult<()> {
        if self.eat_kw("OMIT")?.is_none() {
            return Ok(());
        }
        loop {
            let expr = self.expr()?;
            match expr.kind {
                ExprKind::Idiom(idiom) => select.omit.push(idiom),
                _ => return Err(ParseError::unsupported("an `OMIT` entry that is not a field path", expr.span)),
            }
            if self.eat(Punct::Comma)?.is_none() {
                return Ok(());
            }
        }
    }

    fn from(&mut self, select: &mut Select) -> PResult<()> {
        self.expect_kw("FROM", "`,` or `FROM`")?;
        if let Some(only) = self.eat_kw("ONLY")? {
            return Err(ParseError::unsupported("`FROM ONLY`", only.span()));
        }
        loop {
            let target = self.target()?;
            select.from.push(target);
            if self.eat(Punct::Comma)?.is_none() {
                return Ok(());
            }
        }
    }

    fn where_clause(&mut self) -> PResult<Option<Expr>> {
        if self.eat_kw("WHERE")?.is_none() {
            return Ok(None);
        }
        self.expr().map(Some)
    }

    fn limit_start(&mut self, select: &mut Select) -> PResult<()> {
        if self.peek()?.is_kw("START") {
            select.start = self.start_clause()?;
            select.limit = self.limit_clause()?;
        } else {
            select.limit = self.limit_clause()?;
            select.start = self.start_clause()?;
        }
        Ok(())
    }

    /// Refuses the clauses of SurrealDB's `SELECT` that the subset leaves out.
    fn unsupported_clause(&mut self) -> PResult<()> {
        let t = self.peek()?;
        let Tok::Ident(word) = &t.tok else { return Ok(()) };
        let what = match word.to_ascii_uppercase().as_str() {
            "SPLIT" => "the `SPLIT` clause",
            "TIMEOUT" => "the `TIMEOUT` clause",
            "PARALLEL" => "the `PARALLEL` clause",
            "TEMPFILES" => "the `TEMPFILES` clause",
            "EXPLAIN" => "the `EXPLAIN` clause",
            "VERSION" => "the `VERSION` clause",
            "WITH" => "index hints (`WITH INDEX`, `WITH NOINDEX`)",
            "FOR" => "`FOR UPDATE`",
            "ONLY" => "`FROM ONLY`",
            _ => return Ok(()),
        };
        let mut span = t.span();
        if t.is_kw("WITH") || t.is_kw("FOR") {
            self.bump()?;
            let next = self.peek()?;
            if matches!(next.tok, Tok::Ident(_)) {
                span = span.to(next.span());
            }
        }
        Err(ParseError::unsupported(what, span))
    }

    fn fields(&mut self, select: &mut Select) -> PResult<()> {
        let mut fields = Vec::new();
        loop {
            if let Some(star) = self.eat(Punct::Star)? {
                fields.push(Field::All(star.span()));
            } else {
                let field = self.field()?;
                fields.push(field);
            }
            if self.eat(Punct::Comma)?.is_none() {
                select.projection = Projection::Fields(fields);
                return Ok(());
            }
        }
    }

    fn field(&mut self) -> PResult<Field> {
        let expr = self.expr()?;
        let alias = if self.eat_kw("AS")?.is_some() { Some(self.plain_idiom()?) } else { None };
        let span = Span::new(expr.span.start as usize, self.last_end);
        Ok(Field::Expr { expr, alias, span })
    }

    fn target(&mut self) -> PResult<Target> {
        let expr = self.expr()?;
        let span = expr.span;
        let other = "a `FROM` target other than a table, a record id or a parameter";
        let kind = match expr.kind {
            ExprKind::Idiom(Idiom { parts, .. }) if parts.len() == 1 => match parts.into_iter().next() {
                Some(Part::Field(name, _)) => TargetKind::Table(name),
                Some(Part::Param(name, _)) => TargetKind::Param(name),
                _ => return Err(ParseError::unsupported(other, span)),
            },
            ExprKind::Literal(Value::RecordId(id)) => TargetKind::Record(RecordId::clone(&id)),
            ExprKind::Subquery(_) => return Err(ParseError::unsupported("a subquery as a `FROM` target", span)),
            _ => return Err(ParseError::unsupported(other, span)),
        };
        Ok(Target { kind, span })
    }

    fn group(&mut self) -> PResult<Option<Group>> {
        let Some(group) = self.eat_kw("GROUP")? else { return Ok(None) };
        if let Some(all) = self.eat_kw("ALL")? {
            return Ok(Some(Group::All(group.span().to(all.span()))));
        }
        self.eat_kw("BY")?;
        let mut by = vec![self.basic_idiom()?];
        while self.eat(Punct::Comma)?.is_some() {
            by.push(self.basic_idiom()?);
        }
        Ok(Some(Group::By(by)))
    }

    fn order(&mut self) -> PResult<Vec<OrderTerm>> {
        let mut terms = Vec::new();
        if self.eat_kw("ORDER")?.is_none() {
            return Ok(terms);
        }
        self.eat_kw("BY")?;
        let t = self.peek()?;
        if t.is_kw("RAND") && lexer::lex(self.src, t.end)?.is_punct(Punct::LParen) {
            self.bump()?;
            self.bump()?;
            let end = self.eat(Punct::RParen)?.map_or(self.last_end, |t| t.end);
            return Err(ParseError::unsupported("`ORDER BY RAND()`", Span::new(t.start, end)));
        }
        loop {
            let start = self.peek()?.start;
            let field = self.basic_idiom()?;
            for kw in ["COLLATE", "NUMERIC"] {
                if let Some(t) = self.eat_kw(kw)? {
                    return Err(ParseError::unsupported(format!("`{kw}` in `ORDER BY`"), t.span()));
                }
            }
            let t = self.peek()?;
            let direction = if t.is_kw("DESC") || t.is_kw("DESCENDING") {
                self.bump()?;
                Direction::Desc
            } else {
                if t.is_kw("ASC") || t.is_kw("ASCENDING") {
                    self.bump()?;
                }
                Direction::Asc
            };
            terms.push(OrderTerm { field, direction, span: Span::new(start, self.last_end) });
            if self.eat(Punct::Comma)?.is_none() {
                return Ok(terms);
            }
        }
    }

    fn limit_clause(&mut self) -> PResult<Option<Expr>> {
        if self.eat_kw("LIMIT")?.is_none() {
            return Ok(None);
        }
        self.eat_kw("BY")?;
        self.expr().map(Some)
    }

    fn start_clause(&mut self) -> PResult<Option<Expr>> {
        if self.eat_kw("START")?.is_none() {
            return Ok(None);
        }
        self.eat_kw("AT")?;
        self.expr().map(Some)
    }

    fn fetch(&mut self) -> PResult<Vec<Idiom>> {
        let mut fetch = Vec::new();
        if self.eat_kw("FETCH")?.is_none() {
            return Ok(fetch);
        }
        loop {
            let t = self.peek()?;
            let idiom = match &t.tok {
                Tok::Param(name) => {
                    self.bump()?;
                    let parts = self.idiom_rest(vec![Part::Param(name.clone(), t.span())])?;
                    Idiom { parts, span: Span::new(t.start, self.last_end) }
                }
                _ if t.is_kw("TYPE") && lexer::lex(self.src, t.end)?.is_punct(Punct::ColonColon) => {
                    return Err(ParseError::unsupported("`type::field` in `FETCH`", t.span()));
                }
                _ => self.plain_idiom()?,
            };
            fetch.push(idiom);
            if self.eat(Punct::Comma)?.is_none() {
                return Ok(fetch);
            }
        }
    }

    // ----- paths -----

    /// An identifier, plain or quoted.
    fn name(&mut self, expected: &'static str) -> PResult<(SmolStr, Token)> {
        let t = self.bump()?;
        match &t.tok {
            Tok::Ident(s) | Tok::Quoted(s) => Ok((s.clone(), t)),
            _ => Err(self.unexpected(&t, expected)),
        }
    }

    /// `a.b[0].*`: the paths of `GROUP BY` and `ORDER BY`.
    fn basic_idiom(&mut self) -> PResult<Idiom> {
        let (name, first) = self.name("a field name")?;
        let mut parts = vec![Part::Field(name, first.span())];
        loop {
            let t = self.peek()?;
            if t.is_punct(Punct::Dot) {
                self.bump()?;
                let n = self.bump()?;
                parts.push(match &n.tok {
                    Tok::Punct(Punct::Star) => Part::All(Span::new(t.start, n.end)),
                    Tok::Ident(s) | Tok::Quoted(s) => Part::Field(s.clone(), n.span()),
                    _ => return Err(self.unexpected(&n, "a field name or `*`")),
                });
            } else if t.is_punct(Punct::LBracket) {
                self.bump()?;
                let n = self.bump()?;
                let index = match &n.tok {
                    Tok::Punct(Punct::Star) => None,
                    Tok::Punct(Punct::Dollar) => {
                        return Err(ParseError::unsupported("the last element `[$]`", Span::new(t.start, n.end)));
                    }
                    Tok::Literal(Value::Number(Number::Int(i))) if *i >= 0 => Some(*i),
                    Tok::Punct(Punct::Minus) => return Err(self.unexpected(&n, "an index that is not negative")),
                    _ => return Err(self.unexpected(&n, "`*` or an index")),
                };
                let close = self.expect(Punct::RBracket, "`]`")?;
                let span = Span::new(t.start, close.end);
                parts.push(index.map_or(Part::All(span), |i| Part::Index(i, span)));
            } else {
                return Ok(Idiom { parts, span: Span::new(first.start, self.last_end) });
            }
        }
    }

    /// A path that starts with a name or a graph step: aliases and `FETCH`.
    fn plain_idiom(&mut self) -> PResult<Idiom> {
        let t = self.bump()?;
        let first = match &t.tok {
            Tok::Punct(Punct::Arrow | Punct::LArrow | Punct::BothArrow) => self.graph_part(&t)?,
            Tok::Ident(s) | Tok::Quoted(s) => Part::Field(s.clone(), t.span()),
            _ => return Err(self.unexpected(&t, "a field name")),
        };
        let parts = self.idiom_rest(vec![first])?;
        Ok(Idiom { parts, span: Span::new(t.start, self.last_end) })
    }

    /// The parts that continue a path: `.name`, `.*`, `[n]`, `[*]`, graph
    /// steps and recursions.
    fn idiom_rest(&mut self, mut parts: Vec<Part>) -> PResult<Vec<Part>> {
        while self.idiom_part(&mut parts)? {}
        Ok(parts)
    }

    /// Reads one more part of a path into `parts`; `false` if none follows.
    fn idiom_part(&mut self, parts: &mut Vec<Part>) -> PResult<bool> {
        let t = self.peek()?;
        let part = match t.tok {
            Tok::Punct(Punct::Dot) => {
                self.advance_to(t.end);
                return self.dot_part(t.start, parts).map(|()| true);
            }
            Tok::Punct(Punct::LBracket) => {
                self.advance_to(t.end);
                self.bracket_part(t.start)?
            }
            Tok::Punct(Punct::Arrow | Punct::LArrow | Punct::BothArrow) => {
                self.advance_to(t.end);
                self.graph_part(&t)?
            }
            Tok::Punct(Punct::DotDotDot) => return Err(ParseError::unsupported("flattening with `...`", t.span())),
            Tok::Punct(Punct::Other("<~")) => return Err(ParseError::unsupported("reference lookups `<~`", t.span())),
            _ => return Ok(false),
        };
        parts.push(part);
        Ok(true)
    }

    /// The part after a `.` (at `dot`).
    fn dot_part(&mut self, dot: usize, parts: &mut Vec<Part>) -> PResult<()> {
        let t = self.bump()?;
        let span = Span::new(dot, t.end);
        match &t.tok {
            Tok::Punct(Punct::Star) => parts.push(Part::All(span)),
            Tok::Ident(s) | Tok::Quoted(s) => {
                if self.peek()?.is_punct(Punct::LParen) {
                    return Err(ParseError::unsupported("method calls such as `.len()`", span.to(self.peek()?.span())));
                }
                parts.push(Part::Field(s.clone(), t.span()));
            }
            Tok::Punct(Punct::LBrace) if self.starts_recursion()? => return self.recurse(dot, parts),
            _ => return Err(self.dot_error(&t, span)),
        }
        Ok(())
    }

    /// Whether `.{` starts a recursion (rather than a destructuring).
    fn starts_recursion(&mut self) -> PResult<bool> {
        let next = self.peek()?;
        Ok(next.is_punct(Punct::DotDot) || self.is_count(&next))
    }

    #[cold]
    fn dot_error(&self, t: &Token, span: Span) -> ParseError {
        match &t.tok {
            Tok::Punct(Punct::LBrace) => ParseError::unsupported("destructuring `.{ … }`", span),
            Tok::Punct(Punct::Question) => ParseError::unsupported("optional parts `.?`", span),
            Tok::Punct(Punct::Other("@")) => ParseError::unsupported("recursion back-references `.@`", span),
            _ => self.unexpected(t, "a field name, `*` or `{`"),
        }
    }

    /// Whether `t` is written as digits (a repetition count).
    fn is_count(&self, t: &Token) -> bool {
        matches!(t.tok, Tok::Literal(Value::Number(_)))
            && char_at(self.src, t.start).is_some_and(|c| c.is_ascii_digit())
    }

    fn count(&mut self) -> PResult<u32> {
        let t = self.bump()?;
        match t.tok {
            Tok::Literal(Value::Number(Number::Int(i))) => u32::try_from(i).map_err(|_| {
                let found = self.src.get(t.start..t.end).unwrap_or("").to_owned();
                let expected = "a repetition count that fits in 32 bits".into();
                ParseError::new(ParseErrorKind::InvalidLiteral { expected, found }, t.span())
            }),
            _ => Err(self.unexpected(&t, "a whole number")),
        }
    }

    /// A recursion `.{min..max+collect}(path)` (at `dot`), after its `{`.
    fn recurse(&mut self, dot: usize, parts: &mut Vec<Part>) -> PResult<()> {
        let (min, max, collect, close) = self.recurse_bounds()?;
        let saved = self.depth;
        self.enter()?;
        let path = if self.eat(Punct::LParen)?.is_some() {
            self.recurse_path_in_parens()?
        } else {
            self.recurse_path_after(dot, close)?
        };
        self.depth = saved;
        let span = Span::new(dot, self.last_end);
        parts.push(Part::Recurse { min, max, collect, path: Box::new(path), span });
        Ok(())
    }

    /// `min..max+collect}`: the bounds, whether to collect, and the end of the `}`.
    fn recurse_bounds(&mut self) -> PResult<(u32, Option<u32>, bool, usize)> {
        let first = self.peek()?;
        let min = if self.is_count(&first) { Some(self.count()?) } else { None };
        let (min, max) = if let Some(dots) = self.eat(Punct::DotDot)? {
            let next = self.peek()?;
            let max = if next.start == dots.end && self.is_count(&next) { Some(self.count()?) } else { None };
            (min.unwrap_or(1), max)
        } else {
            match min {
                Some(n) => (n, Some(n)),
                None => return Err(self.unexpected(&first, "a whole number or `..`")),
            }
        };
        let mut collect = false;
        while let Some(plus) = self.eat(Punct::Plus)? {
            let (word, t) = self.name("`collect`")?;
            if word.eq_ignore_ascii_case("collect") && !collect {
                collect = true;
            } else {
                let what = format!("the recursion instruction `+{word}`");
                return Err(ParseError::unsupported(what, Span::new(plus.start, t.end)));
            }
        }
        let close = self.expect(Punct::RBrace, "`+collect` or `}`")?;
        Ok((min, max, collect, close.end))
    }

    /// `path)`: the path a recursion repeats, after its `(`.
    fn recurse_path_in_parens(&mut self) -> PResult<Idiom> {
        let start = self.last_end;
        let parts = self.idiom_rest(Vec::new())?;
        if parts.is_empty() {
            return Err(self.unexpected_next("a path such as `->edge->table` or `.field`"));
        }
        let span = Span::new(start, self.last_end);
        self.expect(Punct::RParen, "`)`")?;
        Ok(Idiom { parts, span })
    }

    /// The rest of the path after a recursion without parentheses, which it repeats.
    fn recurse_path_after(&mut self, dot: usize, close: usize) -> PResult<Idiom> {
        let start = self.peek()?.start;
        let parts = self.idiom_rest(Vec::new())?;
        if parts.is_empty() {
            return Err(ParseError::unsupported("a recursion with no path to repeat", Span::new(dot, close)));
        }
        Ok(Idiom { parts, span: Span::new(start, self.last_end) })
    }

    /// The part after a `[` (at `open`).
    fn bracket_part(&mut self, open: usize) -> PResult<Part> {
        let t = self.peek()?;
        let index = if t.is_punct(Punct::Star) {
            self.advance_to(t.end);
            None
        } else if t.is_punct(Punct::Dollar) || t.is_punct(Punct::Question) || t.is_kw("WHERE") {
            return Err(bracket_unsupported(&t, open));
        } else {
            Some(self.index()?)
        };
        let close = self.expect(Punct::RBracket, "`]`")?;
        let span = Span::new(open, close.end);
        Ok(index.map_or(Part::All(span), |i| Part::Index(i, span)))
    }

    /// An index: an expression that must be a whole number.
    fn index(&mut self) -> PResult<i64> {
        let expr = self.expr()?;
        match expr.kind {
            ExprKind::Literal(Value::Number(Number::Int(i))) => Ok(i),
            _ => Err(ParseError::unsupported("an index other than a whole number", expr.span)),
        }
    }

    /// A graph step after its arrow: `->edge`, `->?`, `->(a, b)`.
    fn graph_part(&mut self, arrow: &Token) -> PResult<Part> {
        let dir = match arrow.tok {
            Tok::Punct(Punct::LArrow) => GraphDir::In,
            Tok::Punct(Punct::BothArrow) => GraphDir::Both,
            _ => GraphDir::Out,
        };
        let t = self.bump()?;
        let tables = match &t.tok {
            Tok::Punct(Punct::Question) => Vec::new(),
            Tok::Punct(Punct::LParen) => {
                let next = self.peek()?;
                if next.is_kw("SELECT") {
                    return Err(ParseError::unsupported("`SELECT` inside a graph step", next.span()));
                }
                let mut tables = Vec::new();
                if self.eat(Punct::Question)?.is_none() {
                    loop {
                        let (name, t) = self.name("a table name or `?`")?;
                        tables.push(self.graph_table(name, &t)?);
                        if self.eat(Punct::Comma)?.is_none() {
                            break;
                        }
                    }
                }
                let close = self.peek()?;
                if !close.is_punct(Punct::RParen) {
                    if let Tok::Ident(word) = &close.tok {
                        let what = format!("`{}` inside a graph step", word.to_ascii_uppercase());
                        return Err(ParseError::unsupported(what, close.span()));
                    }
                    return Err(self.unexpected(&close, "`,` or `)`"));
                }
                self.bump()?;
                tables
            }
            Tok::Ident(s) | Tok::Quoted(s) => vec![self.graph_table(s.clone(), &t)?],
            _ => return Err(self.unexpected(&t, "a table name, `?` or `(`")),
        };
        Ok(Part::Graph { dir, tables, span: Span::new(arrow.start, self.last_end) })
    }

    fn graph_table(&mut self, name: SmolStr, t: &Token) -> PResult<SmolStr> {
        if char_at(self.src, t.end) == Some(':') {
            let end = self.src.get(t.end..).map_or(t.end, |r| t.end + r.find(char::is_whitespace).unwrap_or(r.len()));
            return Err(ParseError::unsupported("record ranges in a graph step", Span::new(t.start, end)));
        }
        Ok(name)
    }

    // ----- expressions -----

    fn expr(&mut self) -> PResult<Expr> {
        self.pratt(0)
    }

    /// An expression of operators that bind tighter than `min`.
    ///
    /// (Depth is restored on success only: an error ends the parse.)
    fn pratt(&mut self, min: u8) -> PResult<Expr> {
        let saved = self.depth;
        self.enter()?;
        let (lhs, prime) = self.unary_or_prime()?;
        let e = self.infix_loop(lhs, prime, min)?;
        self.depth = saved;
        Ok(e)
    }

    /// Appends the infix operators that bind tighter than `min` to `lhs`.
    /// `prime`: `lhs` is a primary expression (`(a = b)` may be compared again).
    fn infix_loop(&mut self, mut lhs: Expr, mut prime: bool, min: u8) -> PResult<Expr> {
        while let Some((infix, at)) = self.next_infix(min)? {
            let op = self.infix_op(infix)?;
            let rhs = self.pratt(infix.power())?;
            if !prime && is_comparison(infix.power()) && expr_power(&lhs) == infix.power() {
                return Err(chained(infix, at, &rhs));
            }
            let span = lhs.span.to(rhs.span);
            lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span };
            prime = false;
        }
        Ok(lhs)
    }

    /// The next infix operator, if it binds tighter than `min`, and where it starts.
    fn next_infix(&mut self, min: u8) -> PResult<Option<(Infix, usize)>> {
        let t = self.peek()?;
        match self.infix(&t)? {
            Some(infix) if infix.power() > min => {
                // Each operator of a chain deepens the tree by one.
                self.enter()?;
                self.advance_to(t.end);
                Ok(Some((infix, t.start)))
            }
            _ => Ok(None),
        }
    }

    /// The operator, after its (first) token.
    fn infix_op(&mut self, infix: Infix) -> PResult<BinaryOp> {
        Ok(match infix {
            Infix::Op(op) => op,
            Infix::Is if self.eat_kw("NOT")?.is_some() => BinaryOp::Ne,
            Infix::Is => BinaryOp::Eq,
            Infix::NotIn => {
                self.expect_kw("IN", "`IN` after `NOT`")?;
                BinaryOp::NotInside
            }
        })
    }

    /// The infix operator `t` is, if any.
    fn infix(&self, t: &Token) -> PResult<Option<Infix>> {
        use BinaryOp::*;
        let op = match &t.tok {
            Tok::Punct(p) => match p {
                Punct::OrOr => Or,
                Punct::AndAnd => And,
                Punct::Eq => Eq,
                Punct::EqEq => ExactEq,
                Punct::Ne => Ne,
                Punct::Lt => Lt,
                Punct::Le => Le,
                Punct::Gt => Gt,
                Punct::Ge => Ge,
                Punct::Plus => Add,
                Punct::Minus => Sub,
                Punct::Star => Mul,
                Punct::Slash => Div,
                Punct::Sym(op) => *op,
                Punct::DotDot => return Err(ParseError::unsupported("ranges such as `1..5`", t.span())),
                Punct::LParen => {
                    return Err(ParseError::unsupported("calling a value, such as `$f(1)`", t.span()));
                }
                Punct::Other("|" | "<~") => return Ok(None),
                Punct::Other(s) => {
                    return Err(ParseError::unsupported(format!("the `{s}` operator"), t.span()));
                }
                _ => return Ok(None),
            },
            Tok::Ident(word) => match word.to_ascii_uppercase().as_str() {
                "OR" => Or,
                "AND" => And,
                "IS" => return Ok(Some(Infix::Is)),
                "NOT" => return Ok(Some(Infix::NotIn)),
                "IN" | "INSIDE" => Inside,
                "NOTINSIDE" => NotInside,
                "CONTAINS" => Contains,
                "CONTAINSNOT" => ContainsNot,
                "CONTAINSALL" => ContainsAll,
                "CONTAINSANY" => ContainsAny,
                "CONTAINSNONE" => ContainsNone,
                "ALLINSIDE" => AllInside,
                "ANYINSIDE" => AnyInside,
                "NONEINSIDE" => NoneInside,
                w @ ("OUTSIDE" | "INTERSECTS") => {
                    return Err(ParseError::unsupported(format!("the `{w}` operator"), t.span()));
                }
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        Ok(Some(Infix::Op(op)))
    }

    /// A prefix operator and its operand, or a primary expression; and whether it is the latter.
    fn unary_or_prime(&mut self) -> PResult<(Expr, bool)> {
        let t = self.peek()?;
        let (result, prime) = match &t.tok {
            Tok::Punct(Punct::Bang) => (self.prefix_not(t.start, t.end, false), false),
            Tok::Ident(word) if word.eq_ignore_ascii_case("NOT") => (self.prefix_not(t.start, t.end, true), false),
            Tok::Punct(Punct::Minus) => return self.minus(t.start, t.end),
            Tok::Punct(Punct::Plus) => (self.plus(t.start, t.end), true),
            Tok::Punct(Punct::Lt | Punct::DotDot) => return Err(prefix_unsupported(&t)),
            _ => (self.prime(), true),
        };
        result.map(|e| (e, prime))
    }

    /// `!x`, or `NOT x` (`keyword`).
    fn prefix_not(&mut self, start: usize, end: usize, keyword: bool) -> PResult<Expr> {
        self.advance_to(end);
        let covered = self.peek()?.is_punct(Punct::LParen);
        let operand = self.pratt(PREFIX)?;
        if keyword && !covered {
            self.check_not(start)?;
        }
        Ok(unary(UnaryOp::Not, operand, start))
    }

    /// Refuses `NOT a = b`, which reads as `(!a) = b`.
    fn check_not(&mut self, start: usize) -> PResult<()> {
        let next = self.peek()?;
        if let Ok(Some(infix)) = self.infix(&next)
            && infix.power() > AND
        {
            let kind = ParseErrorKind::AmbiguousNot { op: infix.text() };
            return Err(ParseError::new(kind, Span::new(start, next.end)));
        }
        Ok(())
    }

    /// `-x`, or a negative number.
    fn minus(&mut self, start: usize, end: usize) -> PResult<(Expr, bool)> {
        if char_at(self.src, end).is_some_and(|c| c.is_ascii_digit()) || self.infinity_at(end) {
            return self.negative_literal(start, end).map(|e| (e, true));
        }
        self.advance_to(end);
        let operand = self.pratt(PREFIX)?;
        Ok((unary(UnaryOp::Neg, operand, start), false))
    }

    /// `+5`: a number (the unary `+` is not in the subset otherwise).
    fn plus(&mut self, start: usize, end: usize) -> PResult<Expr> {
        if !char_at(self.src, end).is_some_and(|c| c.is_ascii_digit()) {
            return Err(ParseError::unsupported("the unary `+` operator", Span::new(start, end)));
        }
        self.advance_to(end);
        let n = self.bump()?;
        if let Tok::Literal(v @ (Value::Number(_) | Value::Duration(_))) = n.tok {
            self.no_path_after("a literal")?;
            return Ok(Expr { kind: ExprKind::Literal(v), span: Span::new(start, n.end) });
        }
        Err(self.unexpected(&n, "a number"))
    }

    /// Whether `Infinity` (and no longer word) starts at `at`.
    fn infinity_at(&self, at: usize) -> bool {
        self.src.get(at..).is_some_and(|r| r.starts_with("Infinity"))
            && !char_at(self.src, at + 8).is_some_and(is_ident_char)
    }

    /// `-5`, `-1.5f`, `-Infinity`: one literal; `-5s`: a negated duration (as in SurrealDB).
    fn negative_literal(&mut self, start: usize, digits: usize) -> PResult<Expr> {
        let src = self.src;
        let (value, used) =
            Value::parse_prefix(src.get(start..).unwrap_or("")).map_err(|e| lexer::literal_error(src, start, e))?;
        let end = start + used;
        if char_at(src, end).is_some_and(is_ident_char) {
            if let Ok((d @ Value::Duration(_), used)) = Value::parse_prefix(src.get(digits..).unwrap_or(""))
                && !char_at(src, digits + used).is_some_and(is_ident_char)
            {
                let end = digits + used;
                self.advance_to(end);
                let lit = Expr { kind: ExprKind::Literal(d), span: Span::new(digits, end) };
                self.no_path_after("a literal")?;
                return Ok(unary(UnaryOp::Neg, lit, start));
            }
            return Err(lexer::bad_number_suffix(src, start, end));
        }
        self.advance_to(end);
        self.no_path_after("a literal")?;
        Ok(Expr { kind: ExprKind::Literal(value), span: Span::new(start, end) })
    }

    /// Refuses a path after an expression that is not a path (`(SELECT …)[0]`, `'a'.len`).
    fn no_path_after(&mut self, what: &str) -> PResult<()> {
        let t = self.peek()?;
        match t.tok {
            Tok::Punct(
                Punct::Dot | Punct::DotDotDot | Punct::LBracket | Punct::Arrow | Punct::LArrow | Punct::BothArrow,
            ) => Err(ParseError::unsupported(format!("a path after {what}"), t.span())),
            _ => Ok(()),
        }
    }

    /// A primary expression: a literal, a path, a call, a subquery,
    /// parentheses, an array or an object.
    fn prime(&mut self) -> PResult<Expr> {
        let t = self.bump()?;
        match &t.tok {
            Tok::Literal(_) => self.literal_prime(t),
            Tok::Param(_) | Tok::Punct(Punct::Arrow | Punct::LArrow | Punct::BothArrow) => self.path_prime(t),
            Tok::Ident(_) | Tok::Quoted(_) => self.word(t),
            Tok::Punct(Punct::LParen) => self.paren(t.start, t.end),
            Tok::Punct(Punct::LBracket) => self.array(t.start),
            Tok::Punct(Punct::LBrace) => self.brace(t.start),
            _ => Err(self.prime_error(&t)),
        }
    }

    fn literal_prime(&mut self, t: Token) -> PResult<Expr> {
        let span = t.span();
        let Tok::Literal(v) = t.tok else { return Err(self.unexpected(&t, "a literal")) };
        self.no_path_after("a literal")?;
        Ok(Expr { kind: ExprKind::Literal(v), span })
    }

    /// A path from a parameter or a graph step.
    fn path_prime(&mut self, t: Token) -> PResult<Expr> {
        let span = t.span();
        let first = match t.tok {
            Tok::Param(name) => Part::Param(name, span),
            _ => self.graph_part(&t)?,
        };
        let parts = self.idiom_rest(vec![first])?;
        Ok(self.idiom_expr(parts, t.start))
    }

    #[cold]
    fn prime_error(&self, t: &Token) -> ParseError {
        let what = match &t.tok {
            Tok::Punct(Punct::Slash) => "regular expressions such as `/a.*/`",
            Tok::Punct(Punct::Other("|")) => "closures and mocks such as `|person:1..3|`",
            Tok::Punct(Punct::Other("@")) => "`@` document references",
            Tok::Punct(Punct::Other("<~")) => "reference lookups `<~`",
            Tok::Punct(Punct::Other(s)) => return ParseError::unsupported(format!("the `{s}` operator"), t.span()),
            _ => return self.unexpected(t, "an expression"),
        };
        ParseError::unsupported(what, t.span())
    }

    fn idiom_expr(&self, parts: Vec<Part>, start: usize) -> Expr {
        let span = Span::new(start, self.last_end);
        Expr { kind: ExprKind::Idiom(Idiom { parts, span }), span }
    }

    /// What an identifier starts: a record id, a keyword literal, a subquery,
    /// a function call or a path.
    fn word(&mut self, t: Token) -> PResult<Expr> {
        if char_at(self.src, t.end) == Some(':') && char_at(self.src, t.end + 1) != Some(':') {
            return self.record_id(&t);
        }
        if t.is_kw("SELECT") {
            return self.subquery(t.start);
        }
        if let Some(e) = self.keyword(&t)? {
            return Ok(e);
        }
        if self.starts_call()? {
            return self.call(&t);
        }
        let span = t.span();
        let (Tok::Ident(word) | Tok::Quoted(word)) = t.tok else { return Err(self.unexpected(&t, "a name")) };
        let parts = self.idiom_rest(vec![Part::Field(word, span)])?;
        Ok(self.idiom_expr(parts, span.start as usize))
    }

    /// A bare `SELECT` (in parentheses or not) after its keyword.
    fn subquery(&mut self, start: usize) -> PResult<Expr> {
        let select = self.select(start)?;
        let span = select.span;
        Ok(Expr { kind: ExprKind::Subquery(Box::new(select)), span })
    }

    /// Whether a `(` or `::` comes next, making the name before a function's.
    fn starts_call(&mut self) -> PResult<bool> {
        let t = self.peek()?;
        Ok(t.is_punct(Punct::LParen) || t.is_punct(Punct::ColonColon))
    }

    /// A keyword literal (`NONE`, `true`, `NaN`, ...), or the error for a
    /// keyword that starts another statement.
    fn keyword(&mut self, t: &Token) -> PResult<Option<Expr>> {
        let Tok::Ident(word) = &t.tok else { return Ok(None) };
        let upper = word.to_ascii_uppercase();
        let literal = match upper.as_str() {
            "NONE" => Value::None,
            "NULL" => Value::Null,
            "TRUE" => Value::Bool(true),
            "FALSE" => Value::Bool(false),
            _ if word == "NaN" => Value::from(f64::NAN),
            _ if word == "Infinity" => Value::from(f64::INFINITY),
            _ => {
                let what = match upper.as_str() {
                    "IF" => Cow::Borrowed("`IF` expressions"),
                    "FUNCTION" => Cow::Borrowed("embedded JavaScript functions"),
                    "SLEEP" if self.peek()?.is_punct(Punct::LParen) => return Ok(None),
                    "CREATE" | "UPDATE" | "UPSERT" | "DELETE" | "RELATE" | "INSERT" | "DEFINE" | "REMOVE"
                    | "REBUILD" | "ALTER" | "INFO" | "FOR" | "LET" | "SLEEP" | "RETURN" | "THROW" | "CONTINUE"
                    | "BREAK" | "EXPLAIN" => Cow::Owned(format!("`{upper}` statements")),
                    _ => return Ok(None),
                };
                return Err(ParseError::unsupported(what, t.span()));
            }
        };
        self.no_path_after("a literal")?;
        Ok(Some(Expr { kind: ExprKind::Literal(literal), span: t.span() }))
    }

    /// A record id starting at `t`, its table.
    fn record_id(&mut self, t: &Token) -> PResult<Expr> {
        let src = self.src;
        let (id, used) = RecordId::parse_prefix(src.get(t.start..).unwrap_or(""))
            .map_err(|e| lexer::literal_error(src, t.start, e))?;
        let end = t.start + used;
        if char_at(src, end).is_some_and(is_ident_char) {
            return Err(lexer::bad_number_suffix(src, t.start, end));
        }
        self.advance_to(end);
        let next = self.peek()?;
        if next.is_punct(Punct::DotDot)
            || (next.is_punct(Punct::Gt) && src.get(next.end..).is_some_and(|r| r.starts_with("..")))
        {
            return Err(ParseError::unsupported(
                "record id ranges such as `person:1..5`",
                Span::new(t.start, next.end),
            ));
        }
        self.no_path_after("a record id")?;
        Ok(Expr { kind: ExprKind::Literal(Value::from(id)), span: Span::new(t.start, end) })
    }

    /// A function call `name(args)` or `a::b(args)`, at its first name `t`.
    fn call(&mut self, t: &Token) -> PResult<Expr> {
        let name = self.function_name(t)?;
        let args = self.call_args()?;
        let e = Expr { kind: ExprKind::Call { name, args }, span: Span::new(t.start, self.last_end) };
        self.no_path_after("a function call")?;
        Ok(e)
    }

    /// A function's arguments, after its `(`.
    fn call_args(&mut self) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        while self.eat(Punct::RParen)?.is_none() {
            let arg = self.expr()?;
            args.push(arg);
            if self.eat(Punct::Comma)?.is_none() {
                self.expect(Punct::RParen, "`,` or `)`")?;
                break;
            }
        }
        Ok(args)
    }

    /// The name of a function, up to and including its `(`.
    fn function_name(&mut self, t: &Token) -> PResult<SmolStr> {
        let (Tok::Ident(first) | Tok::Quoted(first)) = &t.tok else { return Err(self.unexpected(t, "a name")) };
        // Built-in function names are case-insensitive, as in SurrealDB;
        // user-defined `fn::` names keep their case.
        let custom = first.eq_ignore_ascii_case("fn");
        let mut name = first.to_lowercase();
        while self.eat(Punct::ColonColon)?.is_some() {
            let (segment, _) = self.name("a function name")?;
            name.push_str("::");
            if custom {
                name.push_str(&segment);
            } else {
                name.push_str(&segment.to_lowercase());
            }
        }
        if self.eat(Punct::LParen)?.is_none() {
            let what = "constants and other paths without a call, such as `math::pi`";
            return Err(ParseError::unsupported(what, Span::new(t.start, self.last_end)));
        }
        Ok(name.into())
    }

    /// After `(`: a point `(x, y)`, a subquery or an expression in parentheses.
    fn paren(&mut self, start: usize, end: usize) -> PResult<Expr> {
        if let Some(point) = self.point(start, end)? {
            return Ok(point);
        }
        let inner = if self.peek()?.is_kw("SELECT") { self.paren_select()? } else { self.expr()? };
        let close = self.expect(Punct::RParen, "an operator or `)`")?;
        self.no_path_after("an expression in parentheses")?;
        Ok(Expr { span: Span::new(start, close.end), ..inner })
    }

    /// `(SELECT …)` costs one level, as a bare `SELECT` does (so that printing,
    /// which puts every subquery in parentheses, never deepens a query).
    fn paren_select(&mut self) -> PResult<Expr> {
        let saved = self.depth;
        let select_kw = self.bump()?;
        let select = self.select(select_kw.start)?;
        let span = select.span;
        let e = self.infix_loop(Expr { kind: ExprKind::Subquery(Box::new(select)), span }, true, 0)?;
        self.depth = saved;
        Ok(e)
    }

    /// `(x, y)` with numbers, a point (read by `ssp-core`); `None` if it is not one.
    fn point(&mut self, start: usize, end: usize) -> PResult<Option<Expr>> {
        let src = self.src;
        let at = lexer::skip_trivia(src, end)?;
        let rest = src.get(at..).unwrap_or("");
        let numeric = rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
            || rest.starts_with("NaN")
            || rest.starts_with("Infinity");
        if !numeric {
            return Ok(None);
        }
        match Value::parse_prefix(src.get(start..).unwrap_or("")) {
            Ok((v @ Value::Geometry(_), used)) => {
                let end = start + used;
                self.advance_to(end);
                self.no_path_after("a point")?;
                Ok(Some(Expr { kind: ExprKind::Literal(v), span: Span::new(start, end) }))
            }
            _ => Ok(None),
        }
    }

    /// `[a, b]`, after its `[`.
    fn array(&mut self, start: usize) -> PResult<Expr> {
        let mut items = Vec::new();
        loop {
            if self.eat(Punct::RBracket)?.is_some() {
                break;
            }
            let item = self.expr()?;
            items.push(item);
            if self.eat(Punct::Comma)?.is_none() {
                self.expect(Punct::RBracket, "`,` or `]`")?;
                break;
            }
        }
        let span = Span::new(start, self.last_end);
        self.no_path_after("an array")?;
        Ok(Expr { kind: array_kind(items), span })
    }

    /// The key an object entry would have if it starts with `t`.
    fn object_key(&self, t: &Token) -> Option<SmolStr> {
        match &t.tok {
            Tok::Ident(s) | Tok::Quoted(s) => Some(s.clone()),
            Tok::Literal(Value::String(s)) => Some(s.clone()),
            Tok::Literal(Value::Number(_)) if char_at(self.src, t.start).is_some_and(|c| c.is_ascii_digit()) => {
                self.src.get(t.start..t.end).map(SmolStr::new)
            }
            _ => None,
        }
    }

    /// After `{`: an object `{ a: x }`, or a set of literals `{1, 2}`, `{,}`.
    fn brace(&mut self, start: usize) -> PResult<Expr> {
        if self.eat(Punct::RBrace)?.is_some() {
            return self.finish_brace(Value::Object(Object::new()), start);
        }
        if self.eat(Punct::Comma)?.is_some() {
            self.expect(Punct::RBrace, "`}`")?;
            return self.finish_brace(Value::Set(Set::new()), start);
        }
        if let Some(key) = self.object_start()? {
            return self.object(start, key);
        }
        self.set(start)
    }

    /// The first key of an object and its `:`, if the brace starts one.
    fn object_start(&mut self) -> PResult<Option<SmolStr>> {
        let save = self.pos;
        let first = self.peek()?;
        if let Some(key) = self.object_key(&first) {
            self.advance_to(first.end);
            if self.eat(Punct::Colon)?.is_some() {
                return Ok(Some(key));
            }
            self.pos = save;
        }
        Ok(None)
    }

    /// A set `{a, b}` after its `{`: of literals only.
    fn set(&mut self, start: usize) -> PResult<Expr> {
        let first = self.expr()?;
        if self.eat(Punct::Comma)?.is_none() {
            let span = Span::new(start, first.span.end as usize);
            return Err(ParseError::unsupported("blocks `{ … }`", span));
        }
        let mut items = vec![first];
        loop {
            if self.eat(Punct::RBrace)?.is_some() {
                break;
            }
            let item = self.expr()?;
            items.push(item);
            if self.eat(Punct::Comma)?.is_none() {
                self.expect(Punct::RBrace, "`,` or `}`")?;
                break;
            }
        }
        match literals(&items) {
            Some(values) => self.finish_brace(Value::Set(values.into_iter().collect()), start),
            None => {
                let span = Span::new(start, self.last_end);
                Err(ParseError::unsupported("sets of expressions other than literals", span))
            }
        }
    }

    fn finish_brace(&mut self, value: Value, start: usize) -> PResult<Expr> {
        let span = Span::new(start, self.last_end);
        self.no_path_after("an object")?;
        Ok(Expr { kind: ExprKind::Literal(value), span })
    }

    /// An object after its first key and `:`.
    fn object(&mut self, start: usize, first: SmolStr) -> PResult<Expr> {
        let value = self.expr()?;
        let mut entries = vec![(first, value)];
        while let Some(key) = self.next_object_key()? {
            let value = self.expr()?;
            entries.push((key, value));
        }
        let span = Span::new(start, self.last_end);
        self.no_path_after("an object")?;
        Ok(Expr { kind: object_kind(entries), span })
    }

    /// After an entry: the next key and its `:`, or `None` at the closing `}`.
    fn next_object_key(&mut self) -> PResult<Option<SmolStr>> {
        if self.eat(Punct::Comma)?.is_none() {
            self.expect(Punct::RBrace, "`,` or `}`")?;
            return Ok(None);
        }
        if self.eat(Punct::RBrace)?.is_some() {
            return Ok(None);
        }
        let t = self.bump()?;
        let key = self.object_key(&t).ok_or_else(|| self.unexpected(&t, "an object key"))?;
        self.expect(Punct::Colon, "`:`")?;
        Ok(Some(key))
    }
}

/// An array: a literal if its items all are.
fn array_kind(items: Vec<Expr>) -> ExprKind {
    match literals(&items) {
        Some(values) => ExprKind::Literal(Value::Array(Array::from(values))),
        None => ExprKind::Array(items),
    }
}

/// An object: a literal if its values all are.
fn object_kind(entries: Vec<(SmolStr, Expr)>) -> ExprKind {
    if !entries.iter().all(|(_, e)| matches!(e.kind, ExprKind::Literal(_))) {
        return ExprKind::Object(entries);
    }
    let object: Object = entries
        .into_iter()
        .filter_map(|(k, e)| match e.kind {
            ExprKind::Literal(v) => Some((k, v)),
            _ => None,
        })
        .collect();
    ExprKind::Literal(Value::Object(object))
}

/// The error for `[$]`, `[? …]` or `[WHERE …]`.
#[cold]
fn bracket_unsupported(t: &Token, open: usize) -> ParseError {
    let what = if t.is_punct(Punct::Dollar) { "the last element `[$]`" } else { "filters such as `[WHERE …]`" };
    ParseError::unsupported(what, Span::new(open, t.end))
}

/// The error for `<` (a cast) or `..` (a range) where an expression starts.
#[cold]
fn prefix_unsupported(t: &Token) -> ParseError {
    let what = if t.is_punct(Punct::Lt) { "casts such as `<int> value`" } else { "ranges such as `..5`" };
    ParseError::unsupported(what, t.span())
}

/// The error for `a = b = c`.
#[cold]
fn chained(infix: Infix, at: usize, rhs: &Expr) -> ParseError {
    let kind = ParseErrorKind::ChainedComparison { op: infix.text() };
    ParseError::new(kind, Span::new(at, rhs.span.end as usize))
}

fn unary(op: UnaryOp, operand: Expr, start: usize) -> Expr {
    let span = Span::new(start, operand.span.end as usize);
    Expr { kind: ExprKind::Unary(op, Box::new(operand)), span }
}

/// The values of `items` if they are all literals.
fn literals(items: &[Expr]) -> Option<Vec<Value>> {
    items
        .iter()
        .map(|e| match &e.kind {
            ExprKind::Literal(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}
