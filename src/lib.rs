//! # SSP, the Spooky Stream Processor
//!
//! Live queries for Rust services: register queries (views) over database
//! tables, and SSP keeps every view's result up to date as rows change,
//! incrementally, sending each client only the difference.
//!
//! SSP follows DBSP (Budiu et al., VLDB 2023): every view is a circuit of
//! incremental operators over Z-sets, and every incremental result is checked
//! against a plain, non-incremental evaluation in SSP's tests.
//!
//! This crate is the facade: it re-exports the layers, which you can also
//! depend on one by one.
//!
//! | layer | crate | what it holds |
//! |---|---|---|
//! | values and algebra | [`ssp_core`] | [`Value`], [`RecordId`], [`ZSet`], [`ChangeBatch`], `D`/`I`/`z⁻¹` |
//! | operators | [`ssp_ops`] | incremental σ π ⋈ ⋉ ▷ Γ δ, top-k, reach; circuits, shared tables, the reference evaluator |
//! | client view records | [`ssp_cvr`] | what each client holds, the reconnection diff, memory and redb stores |
//! | SurrealQL | [`ssp_planner`] | the live-query subset's parser, query builder, logical plan, rewrites, lowering |
//! | SurrealDB (feature `surreal`) | `ssp_surreal` | lossless values, change capture from the change feed, a CVR store |
//! | engine (feature `runtime`) | `ssp_runtime` | views registered once per query and parameters, routed steps, per-view diffs, catch-up |
//!
//! ```
//! use ssp::{Value, ZSet};
//! let row: Value = "{ title: 'Crash', votes: 3 }".parse()?;
//! let table: ZSet<Value> = [(row, 1)].into_iter().collect();
//! assert_eq!(table.len(), 1);
//! # Ok::<(), ssp::ParseError>(())
//! ```
//!
//! ## Features
//!
//! - `proptest`: the strategies of every layer ([`strategies`]), and
//!   [`testing::check_view`], for property tests of your own queries.
//! - `surreal`: `ssp_surreal`, SurrealDB as source, oracle and CVR store.
//! - `runtime`: `ssp_runtime`, the live-query engine.

pub use ssp_core;
pub use ssp_core::*;
pub use ssp_cvr;
pub use ssp_ops;
pub use ssp_planner;
/// The live-query engine (feature `runtime`).
#[cfg(feature = "runtime")]
pub use ssp_runtime;
/// SurrealDB as source and oracle (feature `surreal`).
#[cfg(feature = "surreal")]
pub use ssp_surreal;

#[cfg(feature = "proptest")]
pub mod testing;

/// The README's examples, compiled and run as doctests so that they stay true
/// (with features `runtime` and `surreal`, which the live-query one needs).
#[cfg(all(doctest, feature = "runtime", feature = "surreal"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
