//! # ssp-planner
//!
//! Turns a live view, written in SurrealQL or with the typed [`builder`],
//! into an `ssp-ops` circuit: [`bind`] resolves names and checks them against
//! an optional [`Schema`], [`rewrite`] improves the logical plan, [`lower()`]
//! makes the circuit's plan. [`plan`] runs all three.
//!
//! Every logical plan also runs on [`interpret`], a direct evaluator that
//! shares nothing with the circuits but the meaning of single values; the
//! test suite steps random lowered queries over random change streams and
//! checks them against it after every change.
//!
//! ## Example
//!
//! ```
//! use ssp_core::{ChangeBatch, Record, RecordId, Value, Version};
//! use ssp_ops::{Circuit, Delta, Tables};
//! use ssp_planner::builder::{Query, field, param};
//! use ssp_planner::{Direction, Params, Schema, plan};
//!
//! // SELECT title, score FROM issue WHERE status = $status ORDER BY score DESC LIMIT 2
//! let query = Query::from("issue")
//!     .fields(["title", "score"])
//!     .filter(field("status").eq(param("status")))
//!     .order_by("score", Direction::Desc)
//!     .limit(2);
//! let planned = plan(&query.build(), &Schema::new(), &Params::new())?;
//! let explain = planned.explain();
//! # let expected = "logical plan:
//! # Project title, score
//! #   TopK ORDER BY score DESC, id ASC LIMIT 2
//! #     Filter status = $status
//! #       Scan issue
//! # circuit:
//! # #0 source issue
//! # #1 filter status = $0 <- #0
//! # #2 top-k order by score Desc, id Asc limit 2 start 0 <- #1
//! # #3 map { title: title, score: score } <- #2
//! # output #3
//! # records circuit:
//! # #0 source issue
//! # #1 filter status = $0 <- #0
//! # #2 top-k order by score Desc, id Asc limit 2 start 0 <- #1
//! # output #2
//! # parameters:
//! #   $0 = $status
//! # ";
//! # assert_eq!(explain, expected);
//!
//! // One circuit per parameter value, all sharing the plan.
//! let params = Params::from([("status".into(), Value::from("open"))]);
//! let mut tables = Tables::new();
//! let (mut view, _) = Circuit::with_params(planned.lowered.plan.clone(), planned.lowered.bind(&params)?, &mut tables);
//!
//! let mut batch = ChangeBatch::new("issue", Version(1));
//! for (key, status, score) in [(1, "open", 5), (2, "open", 9), (3, "closed", 7), (4, "open", 1)] {
//!     let row: Value = format!("{{ title: 'issue {key}', status: '{status}', score: {score} }}").parse()?;
//!     batch.insert(Record::new(RecordId::new("issue", key), Version(1), row))?;
//! }
//! let delta = Delta::from_batches([&batch]);
//! tables.check(&delta)?;
//! let change = view.step(&tables, &delta);
//! tables.apply(&delta)?;
//! assert_eq!(change.len(), 2);
//! assert!(change.contains(&"{ title: 'issue 2', score: 9 }".parse::<Value>()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Its `EXPLAIN`: the optimized logical plan, the circuit of the view's
//! rows, and the circuit of the records they show (what a client holds and
//! its client view record tracks, by id and version):
//!
//! ```text
//! logical plan:
//! Project title, score
//!   TopK ORDER BY score DESC, id ASC LIMIT 2
//!     Filter status = $status
//!       Scan issue
//! circuit:
//! #0 source issue
//! #1 filter status = $0 <- #0
//! #2 top-k order by score Desc, id Asc limit 2 start 0 <- #1
//! #3 map { title: title, score: score } <- #2
//! output #3
//! records circuit:
//! #0 source issue
//! #1 filter status = $0 <- #0
//! #2 top-k order by score Desc, id Asc limit 2 start 0 <- #1
//! output #2
//! parameters:
//!   $0 = $status
//! ```
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
//!
//! ## What a view may say
//!
//! | construct | maintained as |
//! |---|---|
//! | `WHERE` comparisons, `AND`/`OR`/`NOT`, arithmetic, `CONTAINS`/`INSIDE` and friends, [functions](ssp_ops::Func) | a filter |
//! | `x IN (SELECT …)` / `NOT IN` (also inside `OR`) | a semi-join / anti-join |
//! | a subquery as a value, correlated by `field = $parent.field` (projection or `WHERE`) | its rows grouped by the correlation key, collected in order, joined |
//! | such a subquery over `GROUP ALL`, e.g. `(SELECT VALUE count() FROM comment WHERE post = $parent.id GROUP ALL)` | an aggregate grouped by the correlation key, joined |
//! | `author.name` where `author` is declared `record<user>`; `FETCH author` | a join with the linked table, keeping rows whose link dangles (`NONE`) |
//! | `->edge->table`, `<-edge<-table` | a correlated subquery over the edge table, in edge order |
//! | `id.{1..n+collect}(->edge->table)` | the fixpoint operator (reachability), its records in id order |
//! | `GROUP BY` / `GROUP ALL` with `count()`, `math::sum`, `math::min`, `math::max`, `math::mean` | an aggregate |
//! | `ORDER BY` with `LIMIT`/`START` | a top-k, ties broken by record id |
//! | `FROM a, b` | a union |
//!
//! Refused with a typed [`PlanError`] naming the construct: non-deterministic
//! functions (`time::now`, `rand::*`), `LIMIT` or `DESC` order inside a
//! correlated subquery, graph paths of more than one edge, recursions without
//! `+collect` or from a depth other than 1, `<->`, `FROM $param`, computed fields without `AS`, fields neither grouped
//! nor aggregated, more than three lookups in one clause.
//!
//! Known differences from SurrealDB 3.3.5 (to be closed or kept by the
//! SurrealDB oracle tests of `ssp-surreal`):
//!
//! - a field path does not follow a record link the schema does not declare
//!   (declare it `record<table>`), and a path through two links is refused;
//! - an arithmetic or function error is `NONE` for that row instead of
//!   failing the whole query;
//! - `ORDER BY` without `LIMIT`/`START` is presentation: a view's output is a
//!   set;
//! - a recursion's records come in id order (SurrealDB lists them
//!   breadth-first);
//! - `GROUP ALL` over no rows gives no row (SurrealDB gives one row of
//!   identities, `{ count: 0 }`), so a counting subquery of a parent with no
//!   rows is `[]`, not `[0]`;
//! - `math::min`/`math::max` take any values (SurrealDB's read numbers only,
//!   `Infinity`/`-Infinity` for a group of none), and of equal extremes of
//!   different kinds (`0` and `0dec`) give the last by kind (SurrealDB the
//!   first in row order);
//! - `math::sum` of floats and decimals converts the floats' total to a
//!   decimal once (SurrealDB adds in row order, converting the float total
//!   so far at the first decimal): the two round differently only for floats
//!   a decimal cannot hold exactly or non-finite ones;
//! - `==` is `=`.
//!
//! Queries parsed from text are bounded in depth by the parser; trees built
//! in code are not, and each level of nesting costs stack in every pass.

pub mod ast;
mod bind;
mod error;
mod interp;
pub mod logical;
mod lower;
pub mod parse;
mod print;
pub mod rewrite;
mod schema;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;

pub use crate::bind::bind;
pub use crate::error::{PlanError, PlanErrorKind};
pub use crate::interp::{Params, interpret, interpret_records, interpret_zset};
pub use crate::lower::{Lowered, ParamSlot, lower};
pub use crate::parse::{ParseError, ParseErrorKind, parse};
pub use crate::schema::{Kind, Schema, Stats, TableDef};
pub mod builder;

use std::sync::Arc;

pub use ssp_ops::Direction;

/// A view planned: the bound plan, the optimized plan and its circuit.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The plan as the query says it, names resolved.
    pub bound: logical::Rel,
    /// The plan after the rewrite passes.
    pub optimized: logical::Rel,
    /// The circuit's plan and parameter slots.
    pub lowered: Lowered,
}

/// Plans a parsed or built query: bind, rewrite, lower. `params` are needed
/// only for parameters that fix the plan's shape (`LIMIT $n`).
pub fn plan(select: &ast::Select, schema: &Schema, params: &Params) -> Result<Planned, PlanError> {
    let bound = bind(select, schema)?;
    let optimized = rewrite::optimize(bound.clone(), schema);
    // What lowering refuses has no place of its own in the text: it points at
    // the whole query.
    let lowered = lower(&optimized, params).map_err(|mut e| {
        if e.span.is_none() {
            e.span = select.span;
        }
        e
    })?;
    Ok(Planned { bound, optimized, lowered })
}

impl Planned {
    /// `EXPLAIN`: the optimized logical plan, then the circuit it lowers to.
    pub fn explain(&self) -> String {
        let mut out = String::from("logical plan:\n");
        out.push_str(&self.optimized.to_string());
        out.push_str("circuit:\n");
        out.push_str(&self.lowered.plan.to_string());
        if !out.ends_with('\n') {
            out.push('\n');
        }
        match &self.lowered.records {
            Some(records) if Arc::ptr_eq(records, &self.lowered.plan) => {
                out.push_str("records: the rows themselves\n");
            }
            Some(records) => {
                out.push_str("records circuit:\n");
                out.push_str(&records.to_string());
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str("records: none (computed rows)\n"),
        }
        if !self.lowered.slots.is_empty() {
            out.push_str("parameters:\n");
            for (i, slot) in self.lowered.slots.iter().enumerate() {
                match &slot.path {
                    Some(p) => out.push_str(&format!("  ${i} = ${}.{p}\n", slot.name)),
                    None => out.push_str(&format!("  ${i} = ${}\n", slot.name)),
                }
            }
        }
        out
    }
}
