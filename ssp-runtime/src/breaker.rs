//! [`Breaker`]: when a view is rehydrated instead of stepped.

use std::time::Duration;

/// When a view is rehydrated instead of stepped: the circuit breaker.
///
/// - **Before a step**, the view's circuit estimates the rows an
///   incremental step with the change would touch and the rows a
///   rehydration would read ([`Circuit::cost`](ssp_ops::Circuit::cost)).
///   When the change has at least `min_batch` rows and the step would touch
///   more than `ratio` times what a rehydration reads, the view is not
///   stepped.
/// - **During a step**, a time `budget`: a view's step that runs longer
///   gives up (checked before each of the circuit's operators that keeps state, see
///   [`Circuit::step_within`](ssp_ops::Circuit::step_within)).
///
/// Either way the view is rehydrated from the tables once they took the
/// change, and its clients are sent the difference between what they held
/// and the new state: a batch that rewrites most of a table never costs much
/// more than rebuilding the view. [`Engine::trips`](crate::Engine::trips)
/// counts both kinds.
///
/// ```
/// use std::time::Duration;
/// use ssp_runtime::Breaker;
///
/// let breaker = Breaker::default().ratio(0.25).min_batch(1_000).budget(Some(Duration::from_millis(20)));
/// assert_eq!(breaker.min_batch, 1_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Breaker {
    /// Trip when the step's cost exceeds this share of the rehydration's.
    /// Default: 0.5.
    pub ratio: f64,
    /// Never trip on cost for a change of fewer rows than this. Default: 64.
    pub min_batch: usize,
    /// Give up a view's step that runs longer than this (`None`: never).
    /// Default: 100 ms.
    pub budget: Option<Duration>,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker { ratio: 0.5, min_batch: 64, budget: Some(Duration::from_millis(100)) }
    }
}

impl Breaker {
    /// A breaker that never trips.
    pub const NEVER: Breaker = Breaker { ratio: f64::INFINITY, min_batch: usize::MAX, budget: None };

    /// A breaker that trips on every change (every step is a rehydration).
    pub const ALWAYS: Breaker = Breaker { ratio: -1.0, min_batch: 0, budget: None };

    /// With the cost `ratio`.
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// With the minimum batch size for a trip on cost.
    pub fn min_batch(mut self, min_batch: usize) -> Self {
        self.min_batch = min_batch;
        self
    }

    /// With a time budget per view step (`None`: none).
    pub fn budget(mut self, budget: Option<Duration>) -> Self {
        self.budget = budget;
        self
    }

    /// Whether a step for a change of `batch_rows` rows trips, with the
    /// step's cost estimated only for a change big enough to trip.
    pub(crate) fn trips(&self, cost: impl FnOnce() -> ssp_ops::Cost, batch_rows: usize) -> bool {
        batch_rows >= self.min_batch && {
            let cost = cost();
            cost.step_rows as f64 > self.ratio * cost.rehydrate_rows as f64
        }
    }
}
