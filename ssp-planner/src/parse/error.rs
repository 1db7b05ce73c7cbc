//! Errors of the query parser.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::ast::Span;

/// A query that could not be parsed: what went wrong ([`kind`](Self::kind))
/// and where ([`span`](Self::span), byte offsets into the query).
///
/// `Display` gives one line, such as ``expected an expression, found `)` at
/// 23..24``; [`display_with`](Self::display_with) shows the line of the query
/// with a caret under the span.
///
/// Note that spans compare equal whatever their offsets (see [`Span`]), so two
/// errors are `==` when their kinds are; compare
/// [`span.range()`](Span::range) to check the place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at {span}")]
#[non_exhaustive]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Where: the token or construct at fault.
    pub span: Span,
}

/// What went wrong in a [`ParseError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A token that cannot come here.
    #[error("expected {expected}, found `{found}`")]
    Unexpected {
        /// What could have come here.
        expected: Cow<'static, str>,
        /// The text found instead (shortened when long).
        found: String,
    },
    /// The query ended too early.
    #[error("expected {expected}, found the end of the query")]
    UnexpectedEnd {
        /// What should have come.
        expected: Cow<'static, str>,
    },
    /// Valid SurrealQL that live views do not support (a clause such as
    /// `SPLIT`, another statement, an operator such as `%`, ...).
    #[error("unsupported in a live query: {what}")]
    Unsupported {
        /// The construct, as SurrealQL names it.
        what: Cow<'static, str>,
    },
    /// A literal (number, string, datetime, uuid, record id, ...) that is malformed.
    #[error("invalid literal: expected {expected}, found {found}")]
    InvalidLiteral {
        /// What the literal's grammar expected.
        expected: Cow<'static, str>,
        /// What was found instead.
        found: String,
    },
    /// A string, quoted identifier or comment that never ends.
    #[error("unterminated {what}")]
    Unterminated {
        /// `"string"`, `"identifier"` or `"comment"`.
        what: &'static str,
    },
    /// Nesting (of parentheses, subqueries, operators, arrays, ...) deeper than the parser allows.
    #[error("the query nests deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// `a = b = c`: comparisons have no associativity in SurrealQL.
    #[error("chained `{op}` comparisons have no defined order; add parentheses")]
    ChainedComparison {
        /// The second operator.
        op: &'static str,
    },
    /// `NOT a = b`: `NOT` binds as tightly as `!`, so this would mean
    /// `(!a) = b`; the parser asks for parentheses instead.
    #[error("`NOT` before `{op}` is ambiguous; write `!(a {op} b)` or `(!a) {op} b`")]
    AmbiguousNot {
        /// The operator after the operand of `NOT`.
        op: &'static str,
    },
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, span: Span) -> ParseError {
        ParseError { kind, span }
    }

    pub(crate) fn unsupported(what: impl Into<Cow<'static, str>>, span: Span) -> ParseError {
        ParseError::new(ParseErrorKind::Unsupported { what: what.into() }, span)
    }

    /// The error with the line of `source` it is on and a caret under its span:
    ///
    /// ```text
    /// error: expected an expression, found `)`
    ///  --> line 1, column 31
    ///   |
    /// 1 | SELECT * FROM person WHERE (a =)
    ///   |                               ^
    /// ```
    ///
    /// `source` must be the query that was parsed; a span outside it is
    /// clamped to its end.
    pub fn display_with(&self, source: &str) -> String {
        render(&self.kind, self.span, source)
    }
}

/// Renders `message` with the line of `source` that `span` starts on and a
/// caret under the span, as a compiler would.
pub(crate) fn render(message: &dyn std::fmt::Display, span: Span, source: &str) -> String {
    let start = floor_char_boundary(source, span.start as usize);
    let end = floor_char_boundary(source, (span.end as usize).max(start));
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let line_no = source[..start].matches('\n').count() + 1;
    let line = source[line_start..line_end].trim_end_matches('\r');
    let column = source[line_start..start].chars().count() + 1;
    let carets = source[start..end.min(line_end)].chars().count().max(1);
    let gutter = " ".repeat(line_no.to_string().len());
    let pad: String = source[line_start..start].chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    let mut out = String::new();
    let _ = writeln!(out, "error: {message}");
    let _ = writeln!(out, "{gutter}--> line {line_no}, column {column}");
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{line_no} | {line}");
    let _ = write!(out, "{gutter} | {pad}{}", "^".repeat(carets));
    out
}

/// The largest char boundary of `s` at or before `i` (clamped to `s.len()`).
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The result of a parse step.
pub(crate) type PResult<T> = Result<T, ParseError>;
