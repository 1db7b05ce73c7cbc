//! # ssp-planner
//!
//! Turns a live view, written in SurrealQL or with the typed builder, into an
//! `ssp-ops` circuit.
//!
//! ## Parsing SurrealQL
//!
//! [`parse()`] reads one `SELECT` statement of the live-view subset of SurrealQL
//! into an [`ast::Select`]; the tree prints back (`Display`) as canonical
//! SurrealQL that parses to an equal tree.
//!
//! ```
//! use ssp_planner::ast::{ExprKind, TargetKind};
//!
//! let select = ssp_planner::parse(
//!     "select title, ->tagged->tag.name AS tags FROM post \
//!      WHERE author IN (SELECT VALUE id FROM user WHERE team = $team) ORDER BY created DESC LIMIT 20",
//! )?;
//! assert!(matches!(&select.from[0].kind, TargetKind::Table(t) if t == "post"));
//! assert!(matches!(select.cond.as_ref().map(|c| &c.kind), Some(ExprKind::Binary(..))));
//! assert_eq!(
//!     select.to_string(),
//!     "SELECT title, ->tagged->tag.name AS tags FROM post \
//!      WHERE author INSIDE (SELECT VALUE id FROM user WHERE team = $team) ORDER BY created DESC LIMIT 20",
//! );
//! # Ok::<(), ssp_planner::ParseError>(())
//! ```
//!
//! Errors say what was expected and where; [`ParseError::display_with`] shows
//! the place in the query:
//!
//! ```
//! let query = "SELECT * FROM person\nWHERE age > 18 SPLIT tags";
//! let err = ssp_planner::parse(query).unwrap_err();
//! assert_eq!(err.to_string(), "unsupported in a live query: the `SPLIT` clause at 36..41");
//! assert_eq!(
//!     err.display_with(query),
//!     "error: unsupported in a live query: the `SPLIT` clause\n \
//!      --> line 2, column 16\n  \
//!      |\n\
//!      2 | WHERE age > 18 SPLIT tags\n  \
//!      |                ^^^^^",
//! );
//! ```

pub mod ast;
pub mod parse;
mod print;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;

pub use crate::parse::{ParseError, ParseErrorKind, parse};
