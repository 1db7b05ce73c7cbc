//! # ssp-surreal
//!
//! SurrealDB as SSP's source of changes and second oracle.
//!
//! - [`from_surreal`] / [`to_surreal`] convert values without loss: every
//!   kind SurrealDB stores in a record maps to one of SSP's, and back; a kind
//!   SSP cannot hold is a typed [`ConvertError`] naming where it was.
//! - [`Source`] turns SurrealDB into an exact, ordered, resumable stream of
//!   change batches: hydration at a known position of the change feed, one
//!   [`Commit`] per SurrealDB commit, a [`Cursor`] to resume from with every
//!   change of a gap delivered exactly once, and a typed error (then a
//!   resync) when the feed no longer holds the gap.
//! - [`feed`] decodes change-feed entries and live-query notifications.
//! - [`SurrealCvrStore`] keeps client view records in SurrealDB, for many
//!   workers sharing one database.

mod convert;
mod cvr_store;
pub mod feed;
mod source;

pub use crate::convert::{ConvertError, from_surreal, to_surreal};
pub use crate::cvr_store::{CvrBackendError, CvrOpenError, SurrealCvrOptions, SurrealCvrStore};
pub use crate::source::{Commit, Cursor, Source, SourceError, SourceOptions};
