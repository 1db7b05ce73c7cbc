//! The reconnection diff: from what a client holds to what the view holds now.

use ssp_core::{Record, RecordId, Value, Version};

use crate::{ClientId, Cvr, ViewDiff, ViewId, ViewState};

/// The minimal change that brings a returning client from its [`Cvr`] to the
/// view's current [`ViewState`], as ids and versions.
///
/// `upserts` holds exactly the records the view holds at a version the client
/// does not (new to the client, or at another version, normally a newer one);
/// `removed` holds exactly the ids the client holds that the view no longer
/// does. Nothing the client already holds at the current version is sent.
/// [`into_view_diff`](Self::into_view_diff) adds the record contents.
///
/// Built by [`Cvr::reconnect`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectDiff {
    /// The view.
    pub view: ViewId,
    /// The version the client held.
    pub from_version: Version,
    /// The view's current version, which the diff brings the client to.
    pub to_version: Version,
    /// Records new to the client or at another version, with the view's version.
    pub upserts: Vec<(RecordId, Version)>,
    /// Records the client holds that left the view.
    pub removed: Vec<RecordId>,
    /// Whether the state hashes agreed, so that no record was compared.
    pub fast_path: bool,
}

impl ReconnectDiff {
    /// Whether the client already holds the view's records (it may still need
    /// the new version).
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.removed.is_empty()
    }

    /// The diff to send: each upserted id with its content, which `content`
    /// looks up (the view's records, shared by the runtime). A record that
    /// `content` does not find (e.g. a store evicted it) is an error, never a
    /// diff that silently leaves it out.
    ///
    /// ```
    /// use ssp_core::{RecordId, Value, Version};
    /// use ssp_cvr::{Cvr, ViewState};
    ///
    /// let current = ViewState::from_records(Version(3), [(RecordId::new("issue", 1), Version(2))]);
    /// let cvr = Cvr::new("alice", "open_issues");
    /// let diff = cvr.reconnect(&current)?.into_view_diff(|_id, _version| Some(Value::from("crash")))?;
    /// assert_eq!(diff.to_version, Version(3));
    /// assert_eq!(diff.upserts[0].value, Value::from("crash"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_view_diff(
        self,
        mut content: impl FnMut(&RecordId, Version) -> Option<Value>,
    ) -> Result<ViewDiff, MissingRecord> {
        let mut upserts = Vec::with_capacity(self.upserts.len());
        for (id, version) in self.upserts {
            match content(&id, version) {
                Some(value) => upserts.push(Record::new(id, version, value)),
                None => return Err(MissingRecord { view: self.view, id, version }),
            }
        }
        Ok(ViewDiff { view: self.view, to_version: self.to_version, upserts, removed: self.removed })
    }
}

/// A record that a [`ReconnectDiff`] needs and whose content was not found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("view `{view}`: no content for record {id} at {version}")]
#[non_exhaustive]
pub struct MissingRecord {
    /// The view.
    pub view: ViewId,
    /// The record.
    pub id: RecordId,
    /// The version that was looked up.
    pub version: Version,
}

/// Why a reconnection diff cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReconnectError {
    /// The view is at an older version than the client: this worker has not
    /// caught up with what another one already sent. Sending its state would
    /// move the client back; wait until the view reaches `held`.
    #[error("client `{client}` holds view `{view}` at {held}, but the view is only at {current}")]
    ViewBehind {
        /// The client.
        client: ClientId,
        /// The view.
        view: ViewId,
        /// The version the client holds.
        held: Version,
        /// The view's version.
        current: Version,
    },
}

impl Cvr {
    /// The minimal diff that brings this client to `current`, the view's state
    /// now.
    ///
    /// **Fast path**: if the state hashes and record counts agree, the client
    /// holds exactly the view's records and the diff is empty, in O(1).
    /// Otherwise every record of both sides is compared once, O(n + m) hash
    /// lookups, and only what differs is returned (see [`ReconnectDiff`]).
    ///
    /// Applying the result (through
    /// [`into_view_diff`](ReconnectDiff::into_view_diff)) to this CVR gives
    /// exactly `current`: the same records at the same versions, the same
    /// hash and version.
    ///
    /// ```
    /// use ssp_core::{RecordId, Version};
    /// use ssp_cvr::{Cvr, ViewState};
    ///
    /// let id = |i: i64| RecordId::new("issue", i);
    /// let held = ViewState::from_records(Version(5), [(id(1), Version(1)), (id(2), Version(1))]);
    /// let cvr = Cvr::from_state("alice", "v", held, ssp_cvr::Timestamp(0));
    ///
    /// let current = ViewState::from_records(Version(9), [(id(1), Version(1)), (id(2), Version(4)), (id(3), Version(1))]);
    /// let diff = cvr.reconnect(&current)?;
    /// let mut upserts = diff.upserts.clone();
    /// upserts.sort();
    /// assert_eq!(upserts, [(id(2), Version(4)), (id(3), Version(1))]); // not issue:1: the client has it
    /// assert!(diff.removed.is_empty());
    /// assert_eq!(diff.to_version, Version(9));
    /// # Ok::<(), ssp_cvr::ReconnectError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ReconnectError::ViewBehind`] if `current` is at an older version than
    /// the client holds.
    pub fn reconnect(&self, current: &ViewState) -> Result<ReconnectDiff, ReconnectError> {
        if current.version() < self.version() {
            return Err(ReconnectError::ViewBehind {
                client: self.client().clone(),
                view: self.view().clone(),
                held: self.version(),
                current: current.version(),
            });
        }
        let mut diff = ReconnectDiff {
            view: self.view().clone(),
            from_version: self.version(),
            to_version: current.version(),
            upserts: Vec::new(),
            removed: Vec::new(),
            fast_path: false,
        };
        if self.state_hash() == current.state_hash() && self.len() == current.len() {
            diff.fast_path = true;
            return Ok(diff);
        }
        let held = self.state();
        // Ids of the view that the client holds (at any version): if that is
        // all the client holds, nothing was removed and the second pass is
        // skipped.
        let mut common = 0;
        for (id, version) in current.iter() {
            match held.get(id) {
                Some(v) => {
                    common += 1;
                    if v != version {
                        diff.upserts.push((id.clone(), version));
                    }
                }
                None => diff.upserts.push((id.clone(), version)),
            }
        }
        if common < held.len() {
            diff.removed.extend(held.iter().filter(|(id, _)| !current.contains(id)).map(|(id, _)| id.clone()));
        }
        Ok(diff)
    }
}
