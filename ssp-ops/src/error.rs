//! Errors of `ssp-ops`.

use smol_str::SmolStr;
use ssp_core::{Value, ZWeight};

use crate::plan::NodeId;

/// A plan that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An operator names an input that is not (yet) in the plan.
    #[error("{user} refers to node {node}, which is not defined before it")]
    UnknownNode {
        /// The missing node.
        node: NodeId,
        /// The operator that refers to it.
        user: &'static str,
    },
    /// A reachability depth range that is empty, starts at zero or is deeper
    /// than [`MAX_REACH_DEPTH`](crate::MAX_REACH_DEPTH).
    #[error("reach depth {min}..={max} must satisfy 1 <= min <= max <= 256")]
    BadDepth {
        /// The least depth.
        min: u32,
        /// The greatest depth.
        max: u32,
    },
    /// More operators than a plan can hold (2³²).
    #[error("a plan holds at most 2^32 operators")]
    TooLarge,
}

/// A change that cannot be applied to the [`Tables`](crate::Tables).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The change would give a row of a base table a weight other than 0 or
    /// 1: it deletes a row that is not there or inserts one that is.
    #[error("table `{table}` would hold row {row} with weight {weight}; a table holds each row at most once")]
    NotASet {
        /// The table.
        table: SmolStr,
        /// The row.
        row: Value,
        /// The weight it would have.
        weight: ZWeight,
    },
}
