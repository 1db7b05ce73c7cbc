//! # ssp-runtime
//!
//! The live-query engine: views registered from SurrealQL once per query and
//! parameters, stepped with each version's change batches, and the diffs each
//! view's clients need, as records with their versions.
//!
//! [`Engine`] is the synchronous core of one worker: the view registry with
//! one plan per query shape, routing of batches through a predicate index to
//! the views a change can reach (stepped in parallel when there are many),
//! per-view [`ViewDiff`](ssp_cvr::ViewDiff)s, the minimal catch-up diff for a
//! client from its CVR, a circuit [`Breaker`] that rehydrates a view instead
//! of stepping it when rebuilding is cheaper or a step runs out of time, and
//! view [`Lifetime`]s: views no client holds are evicted once their TTLs run
//! out, on clocks that stop while their clients are disconnected.
//!
//! With feature `surreal`, [`Live`] runs the engine on SurrealDB: it follows
//! the tables through `ssp_surreal::Source`, keeps each client's CVR in a
//! store, and gives each subscription a `futures::Stream` of diffs.

mod breaker;
mod clock;
mod engine;
mod error;
mod lifetime;
#[cfg(feature = "surreal")]
mod live;
mod routes;
mod view;

pub use crate::breaker::Breaker;
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::engine::{Engine, EngineBuilder};
pub use crate::error::RuntimeError;
pub use crate::lifetime::{Dropped, Expired, Lifetime, Ttls};
#[cfg(feature = "surreal")]
pub use crate::live::{Live, LiveBuilder, Request, SharedStore, Subscription, Update};
pub use crate::view::View;
