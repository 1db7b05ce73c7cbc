//! # ssp-runtime
//!
//! The live-query engine: views registered from SurrealQL once per query and
//! parameters, stepped with each version's change batches, and the diffs each
//! view's clients need, as records with their versions.
//!
//! This first layer is [`Engine`], the synchronous core of one worker: view
//! registry with one plan per query shape, routing of batches to the views
//! that read their tables, per-view [`ViewDiff`](ssp_cvr::ViewDiff)s, and the
//! minimal catch-up diff for a client from its CVR, and a circuit
//! [`Breaker`] that rehydrates a view instead of stepping it when a change is
//! big enough that rebuilding is cheaper.
//!
//! With feature `surreal`, [`Live`] runs the engine on SurrealDB: it follows
//! the tables through `ssp_surreal::Source`, keeps each client's CVR in a
//! store, and gives each subscription a `futures::Stream` of diffs.

mod engine;
mod error;
#[cfg(feature = "surreal")]
mod live;

pub use crate::engine::{Breaker, Engine, View};
pub use crate::error::RuntimeError;
#[cfg(feature = "surreal")]
pub use crate::live::{Live, SharedStore, Subscription, Update};
