//! Sort keys for ORDER BY: several keys, each ascending or descending.

use std::cmp::Ordering;

use smallvec::SmallVec;
use ssp_core::Value;

use crate::expr::Expr;

/// The direction of one ORDER BY key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One component of a [`SortKey`]: a value with its direction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Part {
    Asc(Value),
    Desc(Value),
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Asc(a), Part::Asc(b)) => a.cmp(b),
            (Part::Desc(a), Part::Desc(b)) => b.cmp(a),
            // Keys of one ORDER BY never mix directions at one position.
            (Part::Asc(_), Part::Desc(_)) => Ordering::Less,
            (Part::Desc(_), Part::Asc(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The sort key of a row under an ORDER BY: rows compare by their keys in
/// turn, each ascending or descending by [`Value`]'s order.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortKey(SmallVec<[Part; 1]>);

/// An ORDER BY: the keys and their directions.
pub type OrderBy = Vec<(Expr, Direction)>;

impl SortKey {
    /// The sort key of `row` under `order`.
    pub fn of(order: &[(Expr, Direction)], row: &Value) -> SortKey {
        Self::of_in(order, row, &[])
    }

    /// The sort key of `row` under `order`, with `params` bound.
    pub fn of_in(order: &[(Expr, Direction)], row: &Value, params: &[Value]) -> SortKey {
        SortKey(
            order
                .iter()
                .map(|(e, d)| match d {
                    Direction::Asc => Part::Asc(e.eval_in(row, params)),
                    Direction::Desc => Part::Desc(e.eval_in(row, params)),
                })
                .collect(),
        )
    }
}

/// A row's place in an ORDER BY: its sort key, ties broken by the row itself
/// so that the order is total and deterministic.
pub(crate) type Ranked = (SortKey, Value);
