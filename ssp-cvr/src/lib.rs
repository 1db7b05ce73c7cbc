//! # ssp-cvr
//!
//! Client view records: what each client holds of each view, the minimal
//! diff that brings a reconnecting client up to date, and the stores that
//! keep those records between connections.
//!
//! SSP (the Spooky Stream Processor) keeps live queries ("views") up to date
//! and sends each subscriber only what changed. This crate sits between
//! `ssp-core` (values, record ids, versions) and the runtime: the runtime
//! steps a view, turns its output change into a [`ViewDiff`], sends it to each
//! subscriber and records it in that subscriber's [`Cvr`] through a
//! [`CvrStore`]. When a client comes back, after a second or a week and to any
//! worker, its CVR and the view's current [`ViewState`] give the
//! [`ReconnectDiff`]: only the records that are new, newer or gone.
//!
//! ## The model
//!
//! - A [`ViewState`] is a view's records as ids and versions, at a view
//!   version, with a [`StateHash`]: an order-independent hash of the
//!   `(id, version)` pairs, kept up to date in O(1) per change and specified
//!   byte for byte, so that a client, this worker and any other worker can
//!   compare states in O(1).
//! - A [`Cvr`] (client view record) is the [`ViewState`] one client holds of
//!   one view, with the time it was last seen ([`Timestamp`], passed in by
//!   the caller: the library reads no clock).
//! - A [`ViewDiff`] is what a view sends: upserted records (id, version,
//!   content), removed ids, and the version it brings the client to.
//!   [`Cvr::apply`] applies one all or nothing, and refuses one that goes
//!   back in version.
//! - [`Cvr::reconnect`] compares a CVR with the view's state: equal hashes
//!   mean an empty diff at once (the fast path); otherwise each record is
//!   compared once.
//! - A [`CvrStore`] keeps CVRs: [`MemoryStore`] in memory, and (feature
//!   `redb`, on by default) [`RedbStore`] durably in a redb file, each diff in
//!   one transaction. A later store in SurrealDB, shared by many workers,
//!   implements the same trait and passes the same test suite.
//!
//! ## Example
//!
//! A client follows a view, disconnects, and comes back after the view moved
//! on. Only what changed is sent:
//!
//! ```
//! use ssp_core::{Record, RecordId, Value, Version};
//! use ssp_cvr::{ClientId, CvrStore, MemoryStore, Timestamp, ViewDiff, ViewId, ViewState};
//!
//! let issue = |key: i64, version: u64| Record::new(RecordId::new("issue", key), Version(version), Value::Null);
//! let (store, alice, view) = (MemoryStore::new(), ClientId::new("alice"), ViewId::new("open_issues"));
//!
//! // The view at version 1, sent to alice.
//! let mut v1 = ViewDiff::new(view.clone(), Version(1));
//! v1.upsert(issue(1, 1)).upsert(issue(2, 1)).upsert(issue(3, 1));
//! let mut current = ViewState::new();
//! current.apply(&v1)?;
//! store.apply(&alice, &v1, Timestamp(1_000))?;
//!
//! // Alice is away while issue 2 changes and issue 3 closes.
//! let mut v2 = ViewDiff::new(view.clone(), Version(2));
//! v2.upsert(issue(2, 2)).remove(RecordId::new("issue", 3));
//! current.apply(&v2)?;
//!
//! // She reconnects: the header alone says whether anything changed...
//! let summary = store.summary(&alice, &view)?.expect("alice follows the view");
//! assert!(!summary.holds_same_records(&current));
//! // ...and her record gives the minimal diff.
//! let cvr = store.load(&alice, &view)?.expect("alice follows the view");
//! let diff = cvr.reconnect(&current)?;
//! assert_eq!(diff.upserts, [(RecordId::new("issue", 2), Version(2))]);
//! assert_eq!(diff.removed, [RecordId::new("issue", 3)]);
//!
//! // Sent and recorded: she now holds exactly the view.
//! let diff = diff.into_view_diff(|_id, _version| Some(Value::Null))?;
//! let summary = store.apply(&alice, &diff, Timestamp(9_000))?;
//! assert!(summary.holds_same_records(&current));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//!
//! - `redb` (default): [`RedbStore`]. Without it the crate has no OS-specific
//!   code (for WebAssembly).
//! - `testing`: `ssp_cvr::testing`, the suite of checks every [`CvrStore`]
//!   must pass, for stores of other crates.

mod cvr;
mod diff;
mod hash;
mod ids;
mod memory;
mod reconnect;
#[cfg(feature = "redb")]
mod redb_store;
mod state;
mod store;

pub mod codec;
#[cfg(feature = "testing")]
pub mod testing;

pub use crate::cvr::{Cvr, CvrSummary};
pub use crate::diff::{DiffError, ViewDiff};
pub use crate::hash::{StateHash, StateHashParseError, content_version};
pub use crate::ids::{ClientId, Timestamp, ViewId};
pub use crate::memory::MemoryStore;
pub use crate::reconnect::{MissingRecord, ReconnectDiff, ReconnectError};
#[cfg(feature = "redb")]
pub use crate::redb_store::{OpenError, RedbOptions, RedbStore};
pub use crate::state::ViewState;
pub use crate::store::{Corruption, CvrStore, StoreError};
