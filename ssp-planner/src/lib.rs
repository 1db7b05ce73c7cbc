//! # ssp-planner
//!
//! Turns a live view, written in SurrealQL or with the typed builder, into an
//! `ssp-ops` circuit: bind (names resolved and checked against an optional
//! [`Schema`]), rewrite ([`rewrite`]), lower ([`lower()`]).
//!
//! Every plan also runs on [`interpret`], a direct evaluator of the logical
//! plan that shares nothing with the circuits but the meaning of single
//! values; the test suite checks lowered circuits against it after every
//! change.

pub mod ast;
mod bind;
mod error;
mod interp;
pub mod logical;
mod lower;
pub mod rewrite;
mod schema;

pub use crate::bind::bind;
pub use crate::error::{PlanError, PlanErrorKind};
pub use crate::interp::{Params, interpret, interpret_zset};
pub use crate::lower::{Lowered, ParamSlot, lower};
pub use crate::schema::{Kind, Schema, Stats, TableDef};
pub mod builder;

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
    let lowered = lower(&optimized, params)?;
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
