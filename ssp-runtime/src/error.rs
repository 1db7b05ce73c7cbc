//! [`RuntimeError`]: what can go wrong registering and stepping views.

use ssp_core::Version;
use ssp_cvr::{ClientId, MissingRecord, ReconnectError, ViewId};

/// A failed [`Engine`](crate::Engine) operation. Nothing was changed, but
/// for [`RuntimeError::NotARecord`] (see [`Engine::step`](crate::Engine::step)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The query is not SurrealQL of the live-query subset.
    #[error("{rendered}")]
    Parse {
        /// The query.
        query: String,
        /// The error drawn under the query's text.
        rendered: String,
        /// The parser's error (boxed to keep the error small).
        #[source]
        source: Box<ssp_planner::ParseError>,
    },
    /// The query cannot be planned: an unknown table or field, a wrong
    /// type, a parameter of the wrong kind, a form the planner rejects.
    #[error("{rendered}")]
    Plan {
        /// The query, as canonical SurrealQL.
        query: String,
        /// The error drawn under the query's text.
        rendered: String,
        /// The planner's error (boxed to keep the error small).
        #[source]
        source: Box<ssp_planner::PlanError>,
    },
    /// No view is registered under this id (never, or no longer).
    #[error("no view `{view}` is registered")]
    UnknownView {
        /// The view.
        view: ViewId,
    },
    /// The view was evicted (no one held it for its TTL): its state is
    /// freed. Subscribe with its query to rebuild it.
    #[error("view `{view}` was evicted; subscribe with its query to rebuild it")]
    Evicted {
        /// The view.
        view: ViewId,
    },
    /// The view is not held by this client (or, for `None`, by a
    /// registration): there is nothing to let go of.
    #[error("view `{view}` is not held by {}", client.as_ref().map_or_else(|| "a registration".to_owned(), |c| format!("client `{c}`")))]
    NotHeld {
        /// The view.
        view: ViewId,
        /// The client, or `None` for a registration.
        client: Option<ClientId>,
    },
    /// A change batch does not fit the tables (it removes a record state
    /// they do not hold).
    #[error(transparent)]
    Apply(#[from] Box<ssp_ops::ApplyError>),
    /// Versions only grow: a step must come after the last.
    #[error("the engine is at {current}; a step at {given} does not come after it")]
    VersionNotAfter {
        /// The engine's version.
        current: Version,
        /// The step's version.
        given: Version,
    },
    /// A view of records produced a row that is not a record.
    #[error("view `{view}` produced a row without a record id: {row}")]
    NotARecord {
        /// The view.
        view: ViewId,
        /// The row.
        row: String,
    },
    /// The client's record cannot be brought to the view's state here.
    #[error(transparent)]
    Reconnect(#[from] Box<ReconnectError>),
    /// A record the catch-up diff needs is not held at its version.
    #[error(transparent)]
    Missing(#[from] Box<MissingRecord>),
    /// The CVR store failed; the diff was not sent.
    #[error(transparent)]
    Store(#[from] Box<ssp_cvr::StoreError>),
    /// The engine stopped: a step failed and its views no longer match the
    /// database. Subscriptions ended; start a new engine.
    #[error("the engine stopped: {reason}")]
    Stopped {
        /// Why.
        reason: String,
    },
    /// The view reads a table the engine does not follow.
    #[error("the view reads table `{table}`, which is not followed (followed: {followed:?})")]
    NotFollowed {
        /// The table.
        table: smol_str::SmolStr,
        /// The tables followed.
        followed: Vec<smol_str::SmolStr>,
    },
    /// SurrealDB could not be read (feature `surreal`).
    #[cfg(feature = "surreal")]
    #[error(transparent)]
    Source(#[from] Box<ssp_surreal::SourceError>),
}
