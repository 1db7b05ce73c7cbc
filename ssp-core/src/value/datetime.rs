//! Datetimes: UTC instants with nanosecond precision.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::error::ParseError;

/// A UTC instant with nanosecond precision, as SurrealDB stores a `datetime`.
///
/// Parsed from RFC 3339 (any offset is converted to UTC; a bare date means its
/// midnight; a year outside 0000-9999 is written with its sign, as chrono and
/// SurrealDB write it: `+10000-01-01T00:00:00Z`) and displayed as SurrealDB
/// does: RFC 3339 with a `Z` suffix and as many fractional digits as needed.
///
/// ```
/// use ssp_core::Datetime;
/// let d: Datetime = "2024-02-29T12:00:00.5+01:00".parse()?;
/// assert_eq!(d.to_string(), "2024-02-29T11:00:00.500Z");
/// # Ok::<(), ssp_core::ParseError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datetime(DateTime<Utc>);

impl Datetime {
    /// The Unix epoch, `1970-01-01T00:00:00Z`.
    pub const UNIX_EPOCH: Datetime = Datetime(DateTime::UNIX_EPOCH);

    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix epoch;
    /// `None` outside chrono's range (about ±262,000 years) or if `nanos` ≥ 10⁹.
    pub fn from_timestamp(secs: i64, nanos: u32) -> Option<Self> {
        DateTime::from_timestamp(secs, nanos).map(Datetime)
    }

    /// Seconds since the Unix epoch (negative before it).
    pub fn timestamp(&self) -> i64 {
        self.0.timestamp()
    }

    /// The nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.0.timestamp_subsec_nanos()
    }

    /// The instant as a [`chrono::DateTime`].
    pub fn as_chrono(&self) -> DateTime<Utc> {
        self.0
    }
}

impl From<DateTime<Utc>> for Datetime {
    fn from(d: DateTime<Utc>) -> Self {
        Datetime(d)
    }
}

impl fmt::Display for Datetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl FromStr for Datetime {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        if let Ok(d) = DateTime::parse_from_rfc3339(s) {
            return Ok(Datetime(d.with_timezone(&Utc)));
        }
        // Years past 9999 or before 0 carry a sign and more digits
        // (`+10000-01-01T00:00:00Z`), which RFC 3339 parsing refuses.
        let offset = s.strip_suffix(['Z', 'z']).map(|head| format!("{head}+00:00"));
        if let Ok(d) = DateTime::parse_from_str(offset.as_deref().unwrap_or(s), "%Y-%m-%dT%H:%M:%S%.f%:z") {
            return Ok(Datetime(d.with_timezone(&Utc)));
        }
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            && let Some(midnight) = date.and_hms_opt(0, 0, 0)
        {
            return Ok(Datetime(midnight.and_utc()));
        }
        // chrono does not say where it failed: point at the first character
        // that cannot belong to an RFC 3339 datetime, else at the start.
        let at =
            s.char_indices().find(|(_, c)| !(c.is_ascii_digit() || "-:.+TtZz ".contains(*c))).map_or(0, |(i, _)| i);
        Err(ParseError::new(s, at, "an RFC 3339 datetime such as 2024-01-31T12:00:00Z"))
    }
}
