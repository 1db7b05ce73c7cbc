//! # ssp-core
//!
//! The foundation of SSP, the Spooky Stream Processor: the values SSP computes
//! with and the algebra that makes its live queries incremental and exact.
//!
//! SSP follows DBSP (Budiu et al., [*DBSP: Automatic Incremental View
//! Maintenance for Rich Query Languages*](https://www.vldb.org/pvldb/vol16/p1601-budiu.pdf),
//! VLDB 2023). This crate is its lowest layer; `ssp-ops` builds the incremental
//! operators on it, `ssp-planner` compiles SurrealQL to them, `ssp-cvr` tracks
//! what each client holds, and `ssp-runtime` runs it all against SurrealDB.
//!
//! ## The model
//!
//! - A [`Value`] is a SurrealDB value (numbers, strings, datetimes, record ids,
//!   objects, …) with SurrealDB's total order, so that SSP sorts, groups and
//!   compares exactly as the database does. A [`Record`] is a row: its
//!   [`RecordId`] (`table:key`), its [`Version`] and its content.
//! - A [`ZSet`] maps elements to non-zero integer weights ([`ZWeight`]). A table
//!   is the Z-set of its rows (weight `1` each); a change is a Z-set too:
//!   `+1` inserts, `-1` deletes, and an update is `-old +new`. Adding a change
//!   to a state gives the next state; weights that reach zero vanish
//!   (*consolidation*).
//! - A **stream** is a sequence of Z-sets, one per version (logical time). A
//!   [`ChangeBatch`] is what one version did to one table.
//! - The stream primitives [`Integrate`] (`I`, running sum: changes → state),
//!   [`Differentiate`] (`D`: states → changes) and [`Delay`] (`z⁻¹`) satisfy
//!   `D∘I = I∘D = id`. An operator `Q` on states has the incremental form
//!   `D∘Q∘I` on changes; SSP's operators compute that form directly, with work
//!   proportional to the change rather than the table.
//! - An [`IndexedZSet`] groups a Z-set by key: the state of joins and
//!   aggregates.
//!
//! ## Example
//!
//! A table of issues changes over three versions; integrating the changes
//! gives the table, differentiating the states gives the changes back.
//!
//! ```
//! use ssp_core::{differentiate, integrate, ChangeBatch, Record, RecordId, Value, Version, ZSet};
//!
//! let issue = |key: i64, version: u64, title: &str| {
//!     let value: Value = format!("{{ title: '{title}' }}").parse().expect("a literal");
//!     Record::new(RecordId::new("issue", key), Version(version), value)
//! };
//!
//! let mut v1 = ChangeBatch::new("issue", Version(1));
//! v1.insert(issue(1, 1, "Crash"))?;
//! v1.insert(issue(2, 1, "Typo"))?;
//! let mut v2 = ChangeBatch::new("issue", Version(2));
//! v2.update(issue(1, 1, "Crash"), issue(1, 2, "Crash on start"))?;
//! let mut v3 = ChangeBatch::new("issue", Version(3));
//! v3.delete(issue(2, 1, "Typo"))?;
//!
//! let changes: Vec<ZSet<Record>> = [v1, v2, v3].iter().map(ChangeBatch::to_zset).collect();
//! let states: Vec<ZSet<Record>> = integrate(changes.clone()).collect();
//! assert_eq!(states[2], ZSet::from_iter([(issue(1, 2, "Crash on start"), 1)]));
//! assert_eq!(differentiate(states).collect::<Vec<_>>(), changes);
//! # Ok::<(), ssp_core::BatchError>(())
//! ```
//!
//! ## Features
//!
//! - `proptest`: `strategies` for values, record ids, Z-sets and change
//!   streams, for property tests of your own queries.

mod algebra;
mod batch;
mod error;
mod indexed;
mod record;
mod record_id;
mod stream;
mod value;
mod zset;

#[cfg(feature = "proptest")]
pub mod strategies;

pub use crate::algebra::{Abelian, Monoid, ZWeight};
pub use crate::batch::{ChangeBatch, consolidate};
pub use crate::error::{BatchError, ParseError};
pub use crate::indexed::IndexedZSet;
pub use crate::record::{Record, Version};
pub use crate::record_id::{RecordId, RecordKey};
pub use crate::stream::{Delay, Differentiate, Integrate, delay, differentiate, integrate};
pub use crate::value::{
    Array, Datetime, Duration, FieldPath, Geometry, Number, Object, PathPart, Point, Polygon, Set, Value, ValueKind,
};
pub use crate::zset::{Element, FixedHasher, ZSet};

/// Names written as SurrealQL reads them, for printers of SurrealQL built on
/// this crate (the planner's query printer uses them).
pub mod sql {
    pub use crate::value::path::is_plain_ident;
    pub use crate::value::sql::{write_backticked, write_ident};
}
pub use rust_decimal::Decimal;
pub use uuid::Uuid;
