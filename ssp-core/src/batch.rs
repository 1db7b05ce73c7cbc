//! [`ChangeBatch`]: the changes one version made to one table.

use smol_str::SmolStr;

use crate::algebra::ZWeight;
use crate::error::BatchError;
use crate::record::{Record, Version};
use crate::zset::{Element, ZSet};

/// The changes that one version (one commit) made to one table, as weighted
/// records: an insert is `+new`, a delete is `-old`, an update is `-old +new`.
///
/// ```
/// use ssp_core::{ChangeBatch, Record, RecordId, Value, Version};
/// let id = RecordId::new("issue", 1);
/// let old = Record::new(id.clone(), Version(1), "{ title: 'Crash' }".parse::<Value>()?);
/// let new = Record::new(id, Version(2), "{ title: 'Crash on start' }".parse::<Value>()?);
/// let mut batch = ChangeBatch::new("issue", Version(2));
/// batch.update(old, new)?;
/// assert_eq!(batch.updates().len(), 2);
/// assert_eq!(batch.updates()[0].1, -1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeBatch {
    table: SmolStr,
    version: Version,
    updates: Vec<(Record, ZWeight)>,
}

impl ChangeBatch {
    /// An empty batch of `table` at `version`.
    pub fn new(table: impl Into<SmolStr>, version: Version) -> Self {
        ChangeBatch { table: table.into(), version, updates: Vec::new() }
    }

    /// The table the batch changes.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The version (logical time) the batch brings its table to.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The weighted records, in the order they were added.
    pub fn updates(&self) -> &[(Record, ZWeight)] {
        &self.updates
    }

    /// The weighted records, by value.
    pub fn into_updates(self) -> Vec<(Record, ZWeight)> {
        self.updates
    }

    /// The number of weighted records.
    pub fn len(&self) -> usize {
        self.updates.len()
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// Adds `record` with `weight`; fails if the record is not of this table.
    pub fn push(&mut self, record: Record, weight: ZWeight) -> Result<(), BatchError> {
        if record.id.table() != self.table {
            return Err(BatchError::WrongTable { table: self.table.clone(), id: record.id });
        }
        if weight != 0 {
            self.updates.push((record, weight));
        }
        Ok(())
    }

    /// Records an insert: `+record`.
    pub fn insert(&mut self, record: Record) -> Result<(), BatchError> {
        self.push(record, 1)
    }

    /// Records a delete: `-record` (the record as it was).
    pub fn delete(&mut self, record: Record) -> Result<(), BatchError> {
        self.push(record, -1)
    }

    /// Records an update: `-old +new`; both must have the same id.
    pub fn update(&mut self, old: Record, new: Record) -> Result<(), BatchError> {
        if old.id != new.id {
            return Err(BatchError::IdChanged { old: old.id, new: new.id });
        }
        self.push(old, -1)?;
        self.push(new, 1)
    }

    /// Cancels matching `+r` and `-r` of the same record state and drops zero
    /// weights; what remains is sorted by record.
    pub fn consolidate(&mut self) {
        consolidate(&mut self.updates);
    }

    /// The batch as a Z-set of records.
    pub fn to_zset(&self) -> ZSet<Record> {
        self.updates.iter().map(|(r, w)| (r.clone(), *w)).collect()
    }
}

/// Sorts `updates` and merges equal elements, adding their weights and dropping
/// zeros: the list form of a [`ZSet`], in element order.
///
/// Elements merge when they are one element of a Z-set ([`Element::same`]):
/// of values equal across number kinds (`1` and `1.0f`), which sort as equal,
/// each kind is kept, in the order of their first update.
///
/// ```
/// let mut v = vec![("b", 1), ("a", 2), ("b", -1), ("a", 1)];
/// ssp_core::consolidate(&mut v);
/// assert_eq!(v, [("a", 3)]);
/// ```
pub fn consolidate<K: Ord + Element>(updates: &mut Vec<(K, ZWeight)>) {
    updates.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(K, ZWeight)> = Vec::with_capacity(updates.len());
    // Where the run of elements equal (by `Ord`) to the last one starts.
    let mut run = 0;
    for (k, w) in updates.drain(..) {
        if out.last().is_some_and(|(last, _)| *last == k) {
            if let Some(same) = out[run..].iter_mut().find(|(e, _)| e.same(&k)) {
                same.1 = same.1.wrapping_add(w);
                continue;
            }
        } else {
            run = out.len();
        }
        out.push((k, w));
    }
    out.retain(|(_, w)| *w != 0);
    *updates = out;
}
