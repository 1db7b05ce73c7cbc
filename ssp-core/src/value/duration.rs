//! Durations, written as SurrealQL writes them (`1y2w3d4h5m6s7ms8µs9ns`).

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;

const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;
const SECONDS_PER_WEEK: u64 = 7 * SECONDS_PER_DAY;
/// SurrealDB counts a year as 365 days.
const SECONDS_PER_YEAR: u64 = 365 * SECONDS_PER_DAY;

/// A non-negative span of time with nanosecond precision, as SurrealDB stores it.
///
/// Displayed and parsed in SurrealQL's unit syntax:
///
/// ```
/// use ssp_core::Duration;
/// let d: Duration = "1h30m".parse()?;
/// assert_eq!(d.as_std().as_secs(), 5400);
/// assert_eq!(d.to_string(), "1h30m");
/// assert_eq!(Duration::default().to_string(), "0ns");
/// # Ok::<(), ssp_core::ParseError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

impl Duration {
    /// A duration from a [`std::time::Duration`].
    pub const fn from_std(d: std::time::Duration) -> Self {
        Duration(d)
    }

    /// The duration as a [`std::time::Duration`].
    pub const fn as_std(&self) -> std::time::Duration {
        self.0
    }

    /// A duration of `secs` seconds and `nanos` nanoseconds (carried into seconds).
    pub const fn new(secs: u64, nanos: u32) -> Self {
        Duration(std::time::Duration::new(secs, nanos))
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.as_secs();
        let mut nanos = self.0.subsec_nanos();
        if secs == 0 && nanos == 0 {
            return f.write_str("0ns");
        }
        for (per, unit) in [
            (SECONDS_PER_YEAR, "y"),
            (SECONDS_PER_WEEK, "w"),
            (SECONDS_PER_DAY, "d"),
            (SECONDS_PER_HOUR, "h"),
            (SECONDS_PER_MINUTE, "m"),
            (1, "s"),
        ] {
            let n = secs / per;
            secs %= per;
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        for (per, unit) in [(1_000_000, "ms"), (1_000, "µs"), (1, "ns")] {
            let n = nanos / per;
            nanos %= per;
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Duration {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut rest = s;
        let mut total = std::time::Duration::ZERO;
        if rest.is_empty() {
            return Err(ParseError::new(s, 0, "a duration such as `1h30m`"));
        }
        while !rest.is_empty() {
            let at = s.len() - rest.len();
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(ParseError::new(s, at, "a number followed by a duration unit"));
            }
            let n: u64 = rest[..digits].parse().map_err(|_| ParseError::new(s, at, "a number that fits in 64 bits"))?;
            rest = &rest[digits..];
            let unit_at = s.len() - rest.len();
            let (part, unit_len) = unit_part(rest, n)
                .ok_or_else(|| ParseError::new(s, unit_at, "a duration unit (y w d h m s ms us µs ns)"))?;
            let part = part.ok_or_else(|| ParseError::new(s, at, "a duration that fits"))?;
            total = total.checked_add(part).ok_or_else(|| ParseError::new(s, at, "a duration that fits"))?;
            rest = &rest[unit_len..];
        }
        Ok(Duration(total))
    }
}

/// Reads the unit at the start of `rest`: `None` if there is no unit, else the
/// part (`None` on overflow) and the unit's length in bytes.
fn unit_part(rest: &str, n: u64) -> Option<(Option<std::time::Duration>, usize)> {
    use std::time::Duration as D;
    // Two-letter units first, so that `ms` is not read as `m`.
    for (unit, make) in
        [("ns", D::from_nanos as fn(u64) -> D), ("us", D::from_micros), ("µs", D::from_micros), ("ms", D::from_millis)]
    {
        if rest.starts_with(unit) {
            return Some((Some(make(n)), unit.len()));
        }
    }
    let per = match rest.as_bytes().first()? {
        b's' => 1,
        b'm' => SECONDS_PER_MINUTE,
        b'h' => SECONDS_PER_HOUR,
        b'd' => SECONDS_PER_DAY,
        b'w' => SECONDS_PER_WEEK,
        b'y' => SECONDS_PER_YEAR,
        _ => return None,
    };
    Some((n.checked_mul(per).map(D::from_secs), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_surrealql() {
        let d = Duration::new(SECONDS_PER_YEAR + 2 * SECONDS_PER_WEEK + 3 * SECONDS_PER_DAY + 3723, 7_008_009);
        assert_eq!(d.to_string(), "1y2w3d1h2m3s7ms8µs9ns");
        assert_eq!(d.to_string().parse::<Duration>(), Ok(d));
    }

    #[test]
    fn bad_duration_points_at_the_offending_character() {
        let err = "1h3x".parse::<Duration>().unwrap_err();
        assert_eq!(err.position, 3);
        let err = "h".parse::<Duration>().unwrap_err();
        assert_eq!(err.position, 0);
        assert!("99999999999999999999y".parse::<Duration>().is_err());
        assert!("18446744073709551615y".parse::<Duration>().is_err());
    }
}
