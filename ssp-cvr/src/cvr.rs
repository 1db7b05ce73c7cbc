//! [`Cvr`]: a client view record, and its [`CvrSummary`].

use ssp_core::{RecordId, Version};

use crate::{ClientId, DiffError, StateHash, Timestamp, ViewDiff, ViewId, ViewState};

/// A client view record: what one client holds of one view.
///
/// It is the [`ViewState`] that the client was last sent (each record id and
/// version it holds, the view version it is at, and the state hash of the
/// pairs) and the last time the client was seen, so that an idle record can
/// expire. From a CVR and the view's current state,
/// [`reconnect`](Cvr::reconnect) computes the minimal diff that brings a
/// returning client up to date.
///
/// ```
/// use ssp_core::{Record, RecordId, Value, Version};
/// use ssp_cvr::{Cvr, Timestamp, ViewDiff};
///
/// let mut cvr = Cvr::new("alice", "open_issues");
/// let mut diff = ViewDiff::new("open_issues", Version(1));
/// diff.upsert(Record::new(RecordId::new("issue", 1), Version(1), Value::from("crash")));
/// cvr.apply(&diff)?;
/// cvr.touch(Timestamp(1_000));
///
/// assert_eq!(cvr.version(), Version(1));
/// assert_eq!(cvr.get(&RecordId::new("issue", 1)), Some(Version(1)));
/// assert_eq!(cvr.last_seen(), Timestamp(1_000));
///
/// // An older diff arriving late is refused.
/// assert!(cvr.apply(&ViewDiff::new("open_issues", Version(0))).is_err());
/// # Ok::<(), ssp_cvr::DiffError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cvr {
    client: ClientId,
    view: ViewId,
    state: ViewState,
    last_seen: Timestamp,
}

impl Cvr {
    /// The record of a client that holds nothing of `view` yet: no records, at
    /// [`Version::ZERO`], last seen at time 0.
    pub fn new(client: impl Into<ClientId>, view: impl Into<ViewId>) -> Self {
        Cvr::from_state(client, view, ViewState::new(), Timestamp(0))
    }

    /// A record from its parts (as a store loads it).
    pub fn from_state(
        client: impl Into<ClientId>,
        view: impl Into<ViewId>,
        state: ViewState,
        last_seen: Timestamp,
    ) -> Self {
        Cvr { client: client.into(), view: view.into(), state, last_seen }
    }

    /// The client.
    pub fn client(&self) -> &ClientId {
        &self.client
    }

    /// The view.
    pub fn view(&self) -> &ViewId {
        &self.view
    }

    /// What the client holds: record ids, versions, the version and hash.
    pub fn state(&self) -> &ViewState {
        &self.state
    }

    /// The last view version sent to the client.
    pub fn version(&self) -> Version {
        self.state.version()
    }

    /// The state hash of the `(id, version)` pairs the client holds.
    pub fn state_hash(&self) -> StateHash {
        self.state.state_hash()
    }

    /// The number of records the client holds.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// Whether the client holds no record of the view.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    /// The version of record `id` that the client holds.
    pub fn get(&self, id: &RecordId) -> Option<Version> {
        self.state.get(id)
    }

    /// The record ids and versions the client holds, in hash order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&RecordId, Version)> + '_ {
        self.state.iter()
    }

    /// When the client was last seen.
    pub fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    /// Marks the client as seen at `now` (the last-seen time never goes back:
    /// an earlier `now` is ignored).
    pub fn touch(&mut self, now: Timestamp) {
        self.last_seen = self.last_seen.max(now);
    }

    /// Applies a diff that was sent to the client, as [`ViewDiff`] documents,
    /// all or nothing. The diff must be of this CVR's view
    /// ([`DiffError::WrongView`] otherwise). The last-seen time is not changed
    /// (see [`touch`](Self::touch)).
    pub fn apply(&mut self, diff: &ViewDiff) -> Result<(), DiffError> {
        self.check(diff)?;
        self.state.apply_unchecked(diff);
        Ok(())
    }

    /// Checks that `diff` applies to this CVR, without applying it.
    pub(crate) fn check(&self, diff: &ViewDiff) -> Result<(), DiffError> {
        if diff.view != self.view {
            return Err(DiffError::WrongView { cvr: self.view.clone(), diff: diff.view.clone() });
        }
        diff.check_against(self.version())
    }

    /// Applies a diff that [`check`](Self::check) accepted.
    pub(crate) fn apply_unchecked(&mut self, diff: &ViewDiff) {
        self.state.apply_unchecked(diff);
    }

    /// The record's header: everything but the records.
    pub fn summary(&self) -> CvrSummary {
        CvrSummary {
            client: self.client.clone(),
            view: self.view.clone(),
            version: self.version(),
            state_hash: self.state_hash(),
            len: self.len() as u64,
            last_seen: self.last_seen,
        }
    }
}

/// The header of a [`Cvr`]: its client, view, version, state hash, record
/// count and last-seen time, without the records.
///
/// Stores return it from cheap operations (listing a client's views, applying
/// a diff), and it is enough for the reconnection fast path: if
/// [`holds_same_records`](CvrSummary::holds_same_records) says yes, the
/// client is up to date and its records need not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CvrSummary {
    /// The client.
    pub client: ClientId,
    /// The view.
    pub view: ViewId,
    /// The last view version sent to the client.
    pub version: Version,
    /// The state hash of what the client holds.
    pub state_hash: StateHash,
    /// The number of records the client holds.
    pub len: u64,
    /// When the client was last seen.
    pub last_seen: Timestamp,
}

impl CvrSummary {
    /// A summary from its parts (as a store decodes it).
    pub fn new(
        client: ClientId,
        view: ViewId,
        version: Version,
        state_hash: StateHash,
        len: u64,
        last_seen: Timestamp,
    ) -> Self {
        CvrSummary { client, view, version, state_hash, len, last_seen }
    }

    /// Whether the client holds exactly the records of `current` (by state
    /// hash and count, in O(1)); the versions may differ.
    ///
    /// ```
    /// use ssp_core::{RecordId, Version};
    /// use ssp_cvr::{Cvr, ViewDiff, ViewState};
    ///
    /// let view = ViewState::from_records(Version(5), [(RecordId::new("issue", 1), Version(2))]);
    /// let cvr = Cvr::new("alice", "v");
    /// assert!(!cvr.summary().holds_same_records(&view));
    /// ```
    pub fn holds_same_records(&self, current: &ViewState) -> bool {
        self.state_hash == current.state_hash() && self.len == current.len() as u64
    }
}
