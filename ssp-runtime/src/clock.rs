//! [`Clock`]: where the engine reads the time its TTLs are measured on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ssp_cvr::Timestamp;

/// Where the time comes from: the wall clock in production
/// ([`SystemClock`]), a clock the test moves in tests ([`ManualClock`]).
pub trait Clock: Send + Sync + 'static {
    /// Now, in milliseconds.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told: clones share one time.
///
/// ```
/// use std::time::Duration;
/// use ssp_runtime::{Clock, ManualClock};
///
/// let clock = ManualClock::default();
/// let seen_by_engine = clock.clone();
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(seen_by_engine.now().0, 30_000);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock at `at`.
    pub fn at(at: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicU64::new(at.0)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // `fetch_update` with a saturating add: the closure never fails.
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(by)));
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}
