//! [`ViewDiff`]: what a view sends a client, and the errors of applying one.

use hashbrown::HashSet;
use serde::{Deserialize, Serialize};
use ssp_core::{FixedHasher, Record, RecordId, Version};

use crate::ViewId;

/// What a view sends a client to bring it from one state to the next: the
/// records that are new or changed (each with its id, version and content),
/// the ids that left the view, and the version the client is at afterwards.
///
/// # Applying a diff
///
/// A diff applies to a state (a [`ViewState`](crate::ViewState) or a
/// [`Cvr`](crate::Cvr)) as follows, all or nothing:
///
/// 1. It is refused with [`DiffError::Regressed`] if `to_version` is below the
///    state's version (an older diff arriving late). An equal version is
///    accepted: an empty diff at the current version only marks the client
///    as seen.
/// 2. It is refused with [`DiffError::DuplicateId`] if an id appears twice
///    (in `upserts`, in `removed`, or in both): such a diff has no single
///    meaning.
/// 3. Each id in `removed` leaves the state (an id the state does not hold is
///    ignored, so a removal is idempotent); each record in `upserts` is set to
///    its version, whether it was held (at any version) or not.
/// 4. The state's version becomes `to_version`.
///
/// ```
/// use ssp_core::{Record, RecordId, Value, Version};
/// use ssp_cvr::{ViewDiff, ViewState};
///
/// let mut diff = ViewDiff::new("open_issues", Version(2));
/// diff.upsert(Record::new(RecordId::new("issue", 1), Version(2), Value::from("crash")));
/// diff.remove(RecordId::new("issue", 9));
///
/// let mut state = ViewState::new();
/// state.apply(&diff)?;
/// assert_eq!(state.version(), Version(2));
/// assert_eq!(state.get(&RecordId::new("issue", 1)), Some(Version(2)));
/// # Ok::<(), ssp_cvr::DiffError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewDiff {
    /// The view this diff belongs to.
    pub view: ViewId,
    /// The view's version that the client holds once the diff is applied.
    pub to_version: Version,
    /// Records that are new to the client or changed since it got them.
    pub upserts: Vec<Record>,
    /// Ids of records that left the view.
    pub removed: Vec<RecordId>,
}

impl ViewDiff {
    /// An empty diff of `view` to `to_version`.
    pub fn new(view: impl Into<ViewId>, to_version: Version) -> Self {
        ViewDiff { view: view.into(), to_version, upserts: Vec::new(), removed: Vec::new() }
    }

    /// Adds a new or changed record.
    pub fn upsert(&mut self, record: Record) -> &mut Self {
        self.upserts.push(record);
        self
    }

    /// Adds the id of a record that left the view.
    pub fn remove(&mut self, id: RecordId) -> &mut Self {
        self.removed.push(id);
        self
    }

    /// Whether the diff changes no record (it may still move the version).
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.removed.is_empty()
    }

    /// The number of records the diff changes.
    pub fn len(&self) -> usize {
        self.upserts.len() + self.removed.len()
    }

    /// Checks that no id appears twice in the diff (rule 2 above).
    ///
    /// ```
    /// use ssp_core::{Record, RecordId, Value, Version};
    /// use ssp_cvr::{DiffError, ViewDiff};
    ///
    /// let id = RecordId::new("issue", 1);
    /// let mut diff = ViewDiff::new("v", Version(1));
    /// diff.upsert(Record::new(id.clone(), Version(1), Value::Null)).remove(id.clone());
    /// assert_eq!(diff.validate(), Err(DiffError::DuplicateId { id }));
    /// ```
    pub fn validate(&self) -> Result<(), DiffError> {
        if self.len() < 2 {
            return Ok(());
        }
        let mut seen: HashSet<&RecordId, FixedHasher> =
            HashSet::with_capacity_and_hasher(self.len(), FixedHasher::default());
        for id in self.upserts.iter().map(|r| &r.id).chain(&self.removed) {
            if !seen.insert(id) {
                return Err(DiffError::DuplicateId { id: id.clone() });
            }
        }
        Ok(())
    }

    /// Checks the whole diff against a state at version `held`: rules 1 and 2.
    pub(crate) fn check_against(&self, held: Version) -> Result<(), DiffError> {
        if self.to_version < held {
            return Err(DiffError::Regressed { held, diff: self.to_version });
        }
        self.validate()
    }
}

/// A [`ViewDiff`] that a state cannot take. Nothing was applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// The diff would move the state back to an older version.
    #[error("the diff goes back from {held} to {diff}")]
    Regressed {
        /// The version the state is at.
        held: Version,
        /// The diff's `to_version`.
        diff: Version,
    },
    /// An id appears twice in the diff.
    #[error("record {id} appears twice in the diff")]
    DuplicateId {
        /// The repeated id.
        id: RecordId,
    },
    /// The diff belongs to another view than the CVR it was applied to.
    #[error("a diff of view `{diff}` cannot apply to a CVR of view `{cvr}`")]
    WrongView {
        /// The CVR's view.
        cvr: ViewId,
        /// The diff's view.
        diff: ViewId,
    },
}
