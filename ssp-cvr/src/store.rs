//! [`CvrStore`]: where client view records live between connections.

use std::error::Error as StdError;
use std::fmt;

use crate::codec::DecodeError;
use crate::{ClientId, Cvr, CvrSummary, DiffError, StateHash, Timestamp, ViewDiff, ViewId};

/// A store of client view records.
///
/// Every operation is atomic: a reader sees a CVR before or after a diff,
/// never in between, and [`apply_all`](Self::apply_all) applies all of its
/// diffs or none. A record that comes back from a store is exactly what was
/// written; a store that finds anything else (corrupt bytes, a record count
/// or state hash that disagrees with the records) returns
/// [`StoreError::Corrupt`], never a partial or emptied CVR.
///
/// The suite in `ssp_cvr::testing` (feature `testing`) checks these rules
/// against any implementation; [`MemoryStore`](crate::MemoryStore) and
/// `RedbStore` pass it.
///
/// ```
/// use ssp_core::{Record, RecordId, Value, Version};
/// use ssp_cvr::{ClientId, CvrStore, MemoryStore, Timestamp, ViewDiff, ViewId};
///
/// let store = MemoryStore::new();
/// let alice = ClientId::new("alice");
/// let mut diff = ViewDiff::new("open_issues", Version(1));
/// diff.upsert(Record::new(RecordId::new("issue", 1), Version(1), Value::from("crash")));
/// store.apply(&alice, &diff, Timestamp(1_000))?;
///
/// let cvr = store.load(&alice, &ViewId::new("open_issues"))?.expect("just written");
/// assert_eq!(cvr.len(), 1);
/// assert_eq!(store.views(&alice)?.len(), 1);
/// assert_eq!(store.expire(Timestamp(2_000))?, 1); // idle since 1,000
/// assert!(store.views(&alice)?.is_empty());
/// # Ok::<(), ssp_cvr::StoreError>(())
/// ```
pub trait CvrStore {
    /// `client`'s record of `view`, or `None` if it has none.
    fn load(&self, client: &ClientId, view: &ViewId) -> Result<Option<Cvr>, StoreError>;

    /// The header of `client`'s record of `view` (no records), or `None`.
    /// Enough for the reconnection fast path, see
    /// [`CvrSummary::holds_same_records`].
    fn summary(&self, client: &ClientId, view: &ViewId) -> Result<Option<CvrSummary>, StoreError>;

    /// The headers of all of `client`'s records, by ascending view id.
    fn views(&self, client: &ClientId) -> Result<Vec<CvrSummary>, StoreError>;

    /// All of `client`'s records, by ascending view id, read at one point in
    /// time.
    fn load_all(&self, client: &ClientId) -> Result<Vec<Cvr>, StoreError>;

    /// Records that `diff` was sent to `client` at `now`, atomically: its
    /// records and version, and the last-seen time (which never goes back). A
    /// client without a record of the diff's view gets one. Returns the new
    /// header.
    ///
    /// A diff that [`Cvr::apply`] refuses is refused with
    /// [`StoreError::Diff`], and nothing changes.
    fn apply(&self, client: &ClientId, diff: &ViewDiff, now: Timestamp) -> Result<CvrSummary, StoreError> {
        let mut summaries = self.apply_all(&[(client, diff)], now)?;
        summaries.pop().ok_or(StoreError::Backend {
            operation: "apply",
            source: "the store returned no summary for the diff".into(),
        })
    }

    /// Applies several diffs (of one client or many) in order, as
    /// [`apply`](Self::apply) does, all in one atomic step: if one is refused,
    /// none is applied. Returns the new headers, one per diff.
    fn apply_all(&self, diffs: &[(&ClientId, &ViewDiff)], now: Timestamp) -> Result<Vec<CvrSummary>, StoreError>;

    /// Removes `client`'s record of `view`; returns whether there was one.
    fn remove(&self, client: &ClientId, view: &ViewId) -> Result<bool, StoreError>;

    /// Removes every record last seen before `before`; returns how many.
    fn expire(&self, before: Timestamp) -> Result<usize, StoreError>;
}

/// A failed [`CvrStore`] operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The diff cannot apply to the client's record; nothing was changed.
    #[error("client `{client}`, view `{view}`: {source}")]
    Diff {
        /// The client.
        client: ClientId,
        /// The view.
        view: ViewId,
        /// Why the diff was refused.
        #[source]
        source: DiffError,
    },
    /// A stored entry is corrupt: it does not decode, or it contradicts the
    /// rest of its record. Nothing was returned from it.
    #[error("corrupt {table} entry {}: {problem}", EntryName { client: client.as_ref(), view: view.as_ref(), key })]
    Corrupt {
        /// The table (or part of the store) that holds the entry.
        table: &'static str,
        /// The client whose record it belongs to, when its key says.
        client: Option<ClientId>,
        /// The view whose record it belongs to, when its key says.
        view: Option<ViewId>,
        /// The entry's key, as stored.
        key: Vec<u8>,
        /// What is wrong (boxed to keep the error small).
        #[source]
        problem: Box<Corruption>,
    },
    /// A record id that the store's encoding cannot write so that it reads
    /// back (an array or object key nested deeper than its decoder allows);
    /// nothing was changed.
    #[error("client `{client}`, view `{view}`: record id {id} cannot be stored: {reason}")]
    Unstorable {
        /// The client.
        client: ClientId,
        /// The view.
        view: ViewId,
        /// The record id.
        id: ssp_core::RecordId,
        /// Why it cannot be read back.
        reason: String,
    },
    /// The storage failed (I/O, a lock, the database engine).
    #[error("the CVR store failed to {operation}")]
    Backend {
        /// What the store was doing.
        operation: &'static str,
        /// The storage's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

/// What is wrong with a corrupt entry ([`StoreError::Corrupt`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The header's record count is not the number of records stored.
    #[error("the header counts {header} records, {found} are stored")]
    CountMismatch {
        /// The header's count.
        header: u64,
        /// The records found.
        found: u64,
    },
    /// The header's state hash is not the hash of the records stored.
    #[error("the header's state hash is {header}, the records hash to {computed}")]
    HashMismatch {
        /// The header's hash.
        header: StateHash,
        /// The hash of the records found.
        computed: StateHash,
    },
    /// The last-seen index disagrees with the CVR headers (an entry names a
    /// CVR that does not exist, or with another last-seen time).
    #[error("the last-seen index disagrees with the CVR header")]
    IndexMismatch,
    /// The header's record count cannot follow the records a diff adds or
    /// removes (it would go below zero or overflow).
    #[error("the header's record count does not match the records")]
    CountOverflow,
    /// A field of a stored row is missing or not of its kind (for stores
    /// whose entries are rows with named fields, such as a SurrealDB table).
    #[error("the field `{field}` {problem}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it ("is missing", "is a string, not a number").
        problem: String,
    },
}

/// Displays the entry of a corruption error: client and view when known, and
/// the key bytes.
struct EntryName<'a> {
    client: Option<&'a ClientId>,
    view: Option<&'a ViewId>,
    key: &'a [u8],
}

impl fmt::Display for EntryName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(client) = self.client {
            write!(f, "of client `{client}` ")?;
        }
        if let Some(view) = self.view {
            write!(f, "view `{view}` ")?;
        }
        f.write_str("(key ")?;
        for b in self.key.iter().take(64) {
            write!(f, "{b:02x}")?;
        }
        if self.key.len() > 64 {
            write!(f, "… {} bytes", self.key.len())?;
        }
        f.write_str(")")
    }
}

impl StoreError {
    /// A diff refused for `client`'s record of `view`.
    pub fn diff(client: &ClientId, view: &ViewId, source: DiffError) -> Self {
        StoreError::Diff { client: client.clone(), view: view.clone(), source }
    }

    /// A storage failure while doing `operation`.
    pub fn backend(operation: &'static str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        StoreError::Backend { operation, source: source.into() }
    }
}
