//! Records and versions.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{RecordId, Value};

/// A version: of a record (how many times it was written, or the commit that
/// wrote it) or of a stream (a logical time). Versions only grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub u64);

impl Version {
    /// The version before any write.
    pub const ZERO: Version = Version(0);

    /// The next version.
    pub fn next(self) -> Version {
        Version(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl From<u64> for Version {
    fn from(v: u64) -> Self {
        Version(v)
    }
}

/// A record: its id, its version and its content.
///
/// The content is a [`Value`] (an object, for table rows), so cloning a record
/// is cheap: the fields are shared, not copied.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Record {
    /// The record's id.
    pub id: RecordId,
    /// The version of this state of the record.
    pub version: Version,
    /// The record's content.
    pub value: Value,
}

impl Record {
    /// A record.
    pub fn new(id: RecordId, version: Version, value: impl Into<Value>) -> Self {
        Record { id, version, value: value.into() }
    }
}
