//! [`MemoryStore`]: client view records in memory.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbrown::HashMap;
use ssp_core::{FixedHasher, Version};

use crate::{ClientId, Cvr, CvrStore, CvrSummary, StoreError, Timestamp, ViewDiff, ViewId};

type Clients = HashMap<ClientId, BTreeMap<ViewId, Cvr>, FixedHasher>;

/// A [`CvrStore`] in memory, for one process, tests, and targets without a
/// file system (it has no OS-specific code).
///
/// It is a map behind a read-write lock: reads run in parallel, writes one at
/// a time. Applying a diff costs O(diff); expiring visits every record.
///
/// ```
/// use ssp_core::Version;
/// use ssp_cvr::{ClientId, CvrStore, MemoryStore, Timestamp, ViewDiff};
///
/// let store = MemoryStore::new();
/// let summary = store.apply(&ClientId::new("alice"), &ViewDiff::new("v", Version(3)), Timestamp(5))?;
/// assert_eq!(summary.version, Version(3));
/// # Ok::<(), ssp_cvr::StoreError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    clients: RwLock<Clients>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read(&self, operation: &'static str) -> Result<RwLockReadGuard<'_, Clients>, StoreError> {
        // Every write validates before it mutates, so a panic cannot leave a
        // half-applied diff behind; still, report a poisoned lock rather than
        // trust it.
        self.clients.read().map_err(|_| StoreError::backend(operation, "the store's lock is poisoned"))
    }

    fn write(&self, operation: &'static str) -> Result<RwLockWriteGuard<'_, Clients>, StoreError> {
        self.clients.write().map_err(|_| StoreError::backend(operation, "the store's lock is poisoned"))
    }
}

impl CvrStore for MemoryStore {
    fn load(&self, client: &ClientId, view: &ViewId) -> Result<Option<Cvr>, StoreError> {
        Ok(self.read("load a CVR")?.get(client).and_then(|views| views.get(view)).cloned())
    }

    fn summary(&self, client: &ClientId, view: &ViewId) -> Result<Option<CvrSummary>, StoreError> {
        Ok(self.read("load a CVR header")?.get(client).and_then(|views| views.get(view)).map(Cvr::summary))
    }

    fn views(&self, client: &ClientId) -> Result<Vec<CvrSummary>, StoreError> {
        let clients = self.read("list a client's views")?;
        Ok(clients.get(client).map(|views| views.values().map(Cvr::summary).collect()).unwrap_or_default())
    }

    fn load_all(&self, client: &ClientId) -> Result<Vec<Cvr>, StoreError> {
        let clients = self.read("load a client's CVRs")?;
        Ok(clients.get(client).map(|views| views.values().cloned().collect()).unwrap_or_default())
    }

    fn apply_all(&self, diffs: &[(&ClientId, &ViewDiff)], now: Timestamp) -> Result<Vec<CvrSummary>, StoreError> {
        let mut clients = self.write("apply a diff")?;
        // Check every diff first, following the versions that the earlier
        // diffs of the batch move to, so that applying cannot fail half way.
        let mut versions: HashMap<(&ClientId, &ViewId), Version, FixedHasher> = HashMap::default();
        for (client, diff) in diffs {
            let held = match versions.get(&(*client, &diff.view)) {
                Some(v) => *v,
                None => {
                    clients.get(*client).and_then(|views| views.get(&diff.view)).map_or(Version::ZERO, Cvr::version)
                }
            };
            diff.check_against(held).map_err(|e| StoreError::diff(client, &diff.view, e))?;
            versions.insert((client, &diff.view), diff.to_version);
        }
        let mut summaries = Vec::with_capacity(diffs.len());
        for (client, diff) in diffs {
            let views = clients.entry((*client).clone()).or_default();
            let cvr = views.entry(diff.view.clone()).or_insert_with(|| Cvr::new((*client).clone(), diff.view.clone()));
            cvr.apply_unchecked(diff);
            cvr.touch(now);
            summaries.push(cvr.summary());
        }
        Ok(summaries)
    }

    fn remove(&self, client: &ClientId, view: &ViewId) -> Result<bool, StoreError> {
        let mut clients = self.write("remove a CVR")?;
        let Some(views) = clients.get_mut(client) else { return Ok(false) };
        let removed = views.remove(view).is_some();
        if views.is_empty() {
            clients.remove(client);
        }
        Ok(removed)
    }

    fn expire(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut clients = self.write("expire CVRs")?;
        let mut removed = 0;
        clients.retain(|_, views| {
            let held = views.len();
            views.retain(|_, cvr| cvr.last_seen() >= before);
            removed += held - views.len();
            !views.is_empty()
        });
        Ok(removed)
    }
}
