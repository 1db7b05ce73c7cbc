//! The names of clients and views, and the caller's clock.

use std::fmt;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $example:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SmolStr);

        impl $name {
            #[doc = concat!("A ", stringify!($name), " from its text (any string, `\"", $example, "\"` say).")]
            pub fn new(name: impl Into<SmolStr>) -> Self {
                $name(name.into())
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                $name(name.into())
            }
        }

        impl From<String> for $name {
            fn from(name: String) -> Self {
                $name(name.into())
            }
        }

        impl From<SmolStr> for $name {
            fn from(name: SmolStr) -> Self {
                $name(name)
            }
        }
    };
}

name_type! {
    /// A client: one connection's identity that outlives the connection (a
    /// device, a browser tab's stored id), so that a reconnecting client finds
    /// what it held.
    ///
    /// ```
    /// use ssp_cvr::ClientId;
    /// let client = ClientId::new("device-7f3a");
    /// assert_eq!(client.as_str(), "device-7f3a");
    /// assert_eq!(client, ClientId::from("device-7f3a"));
    /// ```
    ClientId, "device-7f3a"
}

name_type! {
    /// A view: a registered live query (with its parameters), as the runtime
    /// names it.
    ///
    /// ```
    /// use ssp_cvr::ViewId;
    /// let view = ViewId::new("open_issues?project=ssp");
    /// assert_eq!(view.to_string(), "open_issues?project=ssp");
    /// ```
    ViewId, "open_issues"
}

/// A point in time, in milliseconds, on the caller's clock (normally since the
/// Unix epoch).
///
/// SSP never reads a clock itself: the caller passes the time in, so that
/// tests control it and every worker of a cluster can use the same clock.
///
/// ```
/// use ssp_cvr::Timestamp;
/// let t = Timestamp(1_700_000_000_000);
/// assert_eq!(t.saturating_sub_millis(60_000), Timestamp(1_699_999_940_000));
/// assert!(Timestamp(1) < Timestamp(2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The time `millis` milliseconds earlier (or 0).
    pub fn saturating_sub_millis(self, millis: u64) -> Timestamp {
        Timestamp(self.0.saturating_sub(millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

impl From<u64> for Timestamp {
    fn from(millis: u64) -> Self {
        Timestamp(millis)
    }
}
