//! [`ViewState`]: record ids and versions, with their state hash.

use std::fmt;

use hashbrown::HashMap;
use ssp_core::{FixedHasher, RecordId, Version};

use crate::hash::ElementHasher;
use crate::{DiffError, StateHash, ViewDiff};

/// The records of a view at one version, as ids and versions, with their
/// [`StateHash`] kept up to date.
///
/// It is both what a view holds (the runtime keeps one per view, next to the
/// record contents it shares between views) and what a client holds (the
/// state inside a [`Cvr`](crate::Cvr)). Every change updates the hash in
/// O(1), so the hash is always [`StateHash::from_pairs`] of the records.
///
/// ```
/// use ssp_core::{RecordId, Version};
/// use ssp_cvr::{StateHash, ViewState};
///
/// let mut state = ViewState::new();
/// state.insert(RecordId::new("issue", 1), Version(1));
/// state.insert(RecordId::new("issue", 2), Version(1));
/// state.insert(RecordId::new("issue", 1), Version(2)); // an update
/// state.remove(&RecordId::new("issue", 2));
///
/// assert_eq!(state.len(), 1);
/// assert_eq!(state.state_hash(), StateHash::of(&RecordId::new("issue", 1), Version(2)));
/// ```
#[derive(Clone, Default)]
pub struct ViewState {
    version: Version,
    records: HashMap<RecordId, Version, FixedHasher>,
    hash: StateHash,
}

impl ViewState {
    /// An empty state at [`Version::ZERO`].
    pub fn new() -> Self {
        ViewState::default()
    }

    /// An empty state at [`Version::ZERO`] with room for `n` records.
    pub fn with_capacity(n: usize) -> Self {
        ViewState {
            version: Version::ZERO,
            records: HashMap::with_capacity_and_hasher(n, FixedHasher::default()),
            hash: StateHash::EMPTY,
        }
    }

    /// A state at `version` holding `records` (a repeated id keeps its last
    /// version).
    ///
    /// ```
    /// use ssp_core::{RecordId, Version};
    /// use ssp_cvr::ViewState;
    ///
    /// let state = ViewState::from_records(Version(4), [(RecordId::new("issue", 1), Version(3))]);
    /// assert_eq!(state.version(), Version(4));
    /// assert_eq!(state.get(&RecordId::new("issue", 1)), Some(Version(3)));
    /// ```
    pub fn from_records(version: Version, records: impl IntoIterator<Item = (RecordId, Version)>) -> Self {
        let records = records.into_iter();
        let mut state = ViewState::with_capacity(records.size_hint().0);
        state.version = version;
        let mut hasher = ElementHasher::default();
        for (id, v) in records {
            state.insert_with(id, v, &mut hasher);
        }
        state
    }

    /// The version of the view this state is at.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Moves the state to `version` without changing its records (versions
    /// only grow: a lower `version` is ignored).
    pub fn advance_to(&mut self, version: Version) {
        self.version = self.version.max(version);
    }

    /// The state hash of the records.
    pub fn state_hash(&self) -> StateHash {
        self.hash
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The version of record `id`, if the state holds it.
    pub fn get(&self, id: &RecordId) -> Option<Version> {
        self.records.get(id).copied()
    }

    /// Whether the state holds record `id` (at any version).
    pub fn contains(&self, id: &RecordId) -> bool {
        self.records.contains_key(id)
    }

    /// The records and their versions, in hash order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&RecordId, Version)> + '_ {
        self.records.iter().map(|(id, v)| (id, *v))
    }

    /// Sets record `id` to `version`, returning the version it had.
    pub fn insert(&mut self, id: RecordId, version: Version) -> Option<Version> {
        self.insert_with(id, version, &mut ElementHasher::default())
    }

    /// Removes record `id`, returning the version it had.
    pub fn remove(&mut self, id: &RecordId) -> Option<Version> {
        self.remove_with(id, &mut ElementHasher::default())
    }

    fn insert_with(&mut self, id: RecordId, version: Version, hasher: &mut ElementHasher) -> Option<Version> {
        self.hash += hasher.hash(&id, version);
        match self.records.get_mut(&id) {
            Some(held) => {
                // Subtract with the id as held: equal ids hash equal anyway.
                self.hash -= hasher.hash(&id, *held);
                Some(std::mem::replace(held, version))
            }
            None => {
                self.records.insert(id, version);
                None
            }
        }
    }

    /// Inserts record `id`, absent so far, whose element hash is `hash`
    /// (computed from its stored bytes); returns `false`, changing nothing, if
    /// the state holds the id already.
    #[cfg(feature = "redb")]
    pub(crate) fn insert_new_hashed(&mut self, id: RecordId, version: Version, hash: StateHash) -> bool {
        match self.records.entry(id) {
            hashbrown::hash_map::Entry::Occupied(_) => false,
            hashbrown::hash_map::Entry::Vacant(slot) => {
                slot.insert(version);
                self.hash += hash;
                true
            }
        }
    }

    fn remove_with(&mut self, id: &RecordId, hasher: &mut ElementHasher) -> Option<Version> {
        let (held_id, version) = self.records.remove_entry(id)?;
        self.hash -= hasher.hash(&held_id, version);
        Some(version)
    }

    /// Applies `diff` as [`ViewDiff`] documents: all of it, or nothing and an
    /// error. The diff's view is not checked (a `ViewState` does not know its
    /// view; [`Cvr::apply`](crate::Cvr::apply) checks it).
    pub fn apply(&mut self, diff: &ViewDiff) -> Result<(), DiffError> {
        diff.check_against(self.version)?;
        self.apply_unchecked(diff);
        Ok(())
    }

    /// Applies a diff that [`ViewDiff::check_against`] accepted.
    pub(crate) fn apply_unchecked(&mut self, diff: &ViewDiff) {
        let mut hasher = ElementHasher::default();
        self.records.reserve(diff.upserts.len());
        for id in &diff.removed {
            self.remove_with(id, &mut hasher);
        }
        for record in &diff.upserts {
            self.insert_with(record.id.clone(), record.version, &mut hasher);
        }
        self.version = diff.to_version;
    }
}

impl PartialEq for ViewState {
    /// Equal versions and equal records (the hashes then agree too).
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.hash == other.hash && self.records == other.records
    }
}

impl Eq for ViewState {}

impl fmt::Debug for ViewState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut records: Vec<(&RecordId, Version)> = self.iter().collect();
        records.sort_unstable();
        f.debug_struct("ViewState")
            .field("version", &self.version)
            .field("hash", &self.hash)
            .field("records", &records)
            .finish()
    }
}
