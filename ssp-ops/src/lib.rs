//! # ssp-ops
//!
//! The incremental operators of SSP, the circuits built from them, the shared
//! state they read, and the plain evaluation every circuit is checked against.
//!
//! SSP follows DBSP (Budiu et al., VLDB 2023). A query is a [`Plan`]: a DAG of
//! operators ([`Op`]) over Z-sets of rows, built with a [`PlanBuilder`]. A
//! [`Circuit`] runs a plan incrementally: fed the change of each version (a
//! [`Delta`]), it returns the change of its output, with work proportional to
//! the change and the state it touches, not to the tables. [`evaluate`] runs
//! the same plan over whole tables; the test suite checks, on random plans,
//! data and change streams, that the integrated output of every circuit equals
//! [`evaluate`] after every step.
//!
//! | operator | incremental form |
//! |---|---|
//! | σ filter, π map, `+` union, `-` minus | linear: `Q^Δ = Q` |
//! | ⋈ join | bilinear: `Δa⋈b + a⋈Δb + Δa⋈Δb` (`a`, `b` before the step) |
//! | ⋉ / ▷ semi- and anti-join (EXISTS) | per touched key, `[R'(k)>0]·L'[k] - [R(k)>0]·L[k]` |
//! | Γ aggregate (count, sum, min, max, mean) | per touched group, `-old +new` |
//! | δ distinct | per touched row, `[I'(r)>0] - [I(r)>0]` |
//! | top-k (ORDER BY, LIMIT, START) | the window re-read only when the change reaches it |
//! | reach (graph paths) | per depth, bilinear on supports, until a depth adds nothing |
//!
//! ## Shared state
//!
//! Base tables and their arrangements live once, in [`Tables`]: a join or
//! semi-join whose input is a (filtered) base table reads the table's shared
//! key index, and a top-k over a (filtered) base table walks the table's
//! shared order index, partitioned by an equality filter (`category = 'x'`).
//! Such circuits own only their windows and group state. Stepping a version
//! is two phases: once the change passes [`Tables::check`], every affected
//! circuit computes its change against the tables *before* the version
//! ([`Circuit::step`]), then the tables take the change ([`Tables::apply`]).
//!
//! ## Example
//!
//! ```
//! use ssp_core::{ChangeBatch, Record, RecordId, Value, Version};
//! use ssp_ops::{AggFn, Circuit, Delta, Expr, PlanBuilder, Tables, evaluate};
//!
//! // SELECT status, count() AS n FROM issue GROUP BY status
//! let mut b = PlanBuilder::new();
//! let issues = b.source("issue");
//! let by_status = b.aggregate(issues, vec![("status".into(), Expr::field("status"))], vec![("n".into(), AggFn::Count)]);
//! let plan = b.build(by_status)?;
//!
//! let mut tables = Tables::new();
//! let (mut circuit, _) = Circuit::new(plan.clone(), &mut tables);
//! let mut batch = ChangeBatch::new("issue", Version(1));
//! for (key, status) in [(1, "open"), (2, "open"), (3, "closed")] {
//!     let value: Value = format!("{{ status: '{status}' }}").parse()?;
//!     batch.insert(Record::new(RecordId::new("issue", key), Version(1), value))?;
//! }
//! let delta = Delta::from_batches([&batch]);
//! tables.check(&delta)?; // a change the tables would refuse reaches no circuit
//! let change = circuit.step(&tables, &delta);
//! tables.apply(&delta)?;
//! assert_eq!(change, evaluate(&plan, &tables)); // from nothing, the change is the whole result
//! assert!(change.contains(&"{ n: 2, status: 'open' }".parse::<Value>()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod circuit;
mod delta;
mod error;
mod expr;
mod func;
mod kernel;
mod operator;
mod plan;
mod sort;
mod tables;

pub use crate::circuit::{Circuit, Cost, evaluate, evaluate_with};
pub use crate::delta::{Delta, record_row};
pub use crate::error::{ApplyError, BuildError};
pub use crate::expr::{ArithOp, CmpOp, Expr, arith, connective, neg, truthy};
pub use crate::func::{Func, MemberOp};
pub use crate::plan::{AggFn, MAX_REACH_DEPTH, NodeId, Op, Plan, PlanBuilder};
pub use crate::sort::{Direction, OrderBy, SortKey};
pub use crate::tables::Tables;
