//! The planner's errors: each names the problem and points at it.

use smol_str::SmolStr;

use crate::ast::Span;

/// Why a query cannot become a view.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{kind} at {span}")]
pub struct PlanError {
    /// What is wrong.
    pub kind: PlanErrorKind,
    /// Where in the query text (`Span::NONE` for built queries).
    pub span: Span,
}

/// What is wrong with a query.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanErrorKind {
    /// The schema has no such table.
    #[error("unknown table `{table}`")]
    UnknownTable {
        /// The table named.
        table: SmolStr,
    },
    /// The schema's table has no such field.
    #[error("unknown field `{field}` of table `{table}`")]
    UnknownField {
        /// The table.
        table: SmolStr,
        /// The field named.
        field: SmolStr,
    },
    /// A value of one kind where the schema says another.
    #[error("type mismatch: `{what}` is {found}, expected {expected}")]
    TypeMismatch {
        /// The expression.
        what: String,
        /// The kind found.
        found: String,
        /// The kind expected.
        expected: String,
    },
    /// A function SSP does not know.
    #[error("unknown function `{name}` (supported: {supported})")]
    UnknownFunction {
        /// The name called.
        name: SmolStr,
        /// The functions SSP supports.
        supported: String,
    },
    /// A function whose result depends on more than the data (time,
    /// randomness, the session): a view of it could not be maintained.
    #[error("`{name}` is not deterministic, so a live view cannot use it{hint}")]
    NonDeterministic {
        /// The function.
        name: SmolStr,
        /// What to do instead.
        hint: &'static str,
    },
    /// A function called with the wrong number of arguments.
    #[error("`{name}` takes {expected} argument(s), found {found}")]
    Arity {
        /// The function.
        name: SmolStr,
        /// How many it takes.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// A construct the planner does not maintain incrementally (yet).
    #[error("{what} is not supported in a live view{hint}")]
    Unsupported {
        /// The construct.
        what: String,
        /// What to do instead, if anything (starts with "; ").
        hint: String,
    },
    /// A parameter the view needs was not given a value where one is
    /// needed at planning time (`LIMIT $n`).
    #[error("parameter `${name}` has no value{hint}")]
    MissingParam {
        /// The parameter.
        name: SmolStr,
        /// Why it is needed.
        hint: &'static str,
    },
    /// A parameter that fixed a plan's shape (`LIMIT $n`) has another value
    /// than when the plan was made.
    #[error("parameter `${name}` was {planned} when the view was planned and is {now} now; plan the view again")]
    ShapeParam {
        /// The parameter.
        name: SmolStr,
        /// Its value when planned.
        planned: String,
        /// Its value now.
        now: String,
    },
    /// `LIMIT` or `START` that is not a non-negative integer.
    #[error("{clause} must be a non-negative integer, found {found}")]
    BadBound {
        /// `LIMIT` or `START`.
        clause: &'static str,
        /// The value found.
        found: String,
    },
}

impl PlanError {
    pub(crate) fn new(kind: PlanErrorKind, span: Span) -> PlanError {
        PlanError { kind, span }
    }

    /// The error with the line of the query it points at and a caret under
    /// the problem, like [`ParseError::display_with`](crate::ParseError::display_with).
    ///
    /// ```
    /// use ssp_planner::{Params, Schema, parse, plan};
    /// let query = "SELECT * FROM issue\nWHERE time::now() > created";
    /// let err = plan(&parse(query)?, &Schema::new(), &Params::new()).unwrap_err();
    /// assert!(err.display_with(query).ends_with("WHERE time::now() > created\n  |       ^^^^^^^^^^^"));
    /// # Ok::<(), ssp_planner::ParseError>(())
    /// ```
    pub fn display_with(&self, source: &str) -> String {
        crate::parse::render(&self.kind, self.span, source)
    }

    pub(crate) fn unsupported(what: impl Into<String>, hint: &str, span: Span) -> PlanError {
        let hint = if hint.is_empty() { String::new() } else { format!("; {hint}") };
        PlanError::new(PlanErrorKind::Unsupported { what: what.into(), hint }, span)
    }
}
