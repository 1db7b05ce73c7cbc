//! The predicate index: which views a change can reach.

use std::collections::{BTreeSet, HashMap};

use smallvec::SmallVec;

use smol_str::SmolStr;
use std::hash::BuildHasher;

use ssp_core::{FieldPath, FixedHasher, Value, ZSet};
use ssp_cvr::ViewId;
use ssp_ops::Delta;

/// Which views a change of a table can reach: the predicate index.
///
/// A view whose plan admits a table's rows only through an equality
/// (`field = constant` or `field = $param`, see
/// [`Plan::route_keys`](ssp_ops::Plan::route_keys)) is filed under that
/// field and value, and is stepped only for a change of a row holding the
/// value (before or after the change); ten thousand views of one shape
/// with different parameters cost a hash lookup per changed row, not ten
/// thousand steps. Other views are stepped on any change of their tables.
/// The views a change reached, with the rows that reached each.
pub(crate) struct Reached {
    /// Sorted by id: each view, and the group of rows it was reached by.
    pub(crate) views: SmallVec<[(ViewId, Option<usize>); 4]>,
    /// The table and rows of each group.
    pub(crate) groups: Vec<(SmolStr, ZSet<Value>)>,
}

/// The views filed under one value.
type Filed = SmallVec<[ViewId; 1]>;

#[derive(Default)]
pub(crate) struct Routes {
    /// By table and field, by value: the views filed there (most values
    /// name one view: inline, no allocation of its own).
    /// Values are filed by their hash (8 bytes, not the value): two values
    /// of one hash share a slot, and a change of either steps the views of
    /// both, which then find nothing to change; routing stays exact where it
    /// matters, in the views' own filters.
    keyed: HashMap<(SmolStr, FieldPath), HashMap<u64, Filed, FixedHasher>>,
    any: HashMap<SmolStr, BTreeSet<ViewId>>,
}

impl Routes {
    pub(crate) fn add(&mut self, view: &ViewId, keys: Vec<(SmolStr, Option<(FieldPath, Value)>)>) {
        for (table, key) in keys {
            match key {
                Some((field, value)) => {
                    let views = self.keyed.entry((table, field)).or_default().entry(hash(&value)).or_default();
                    if !views.contains(view) {
                        views.push(view.clone());
                    }
                }
                None => {
                    self.any.entry(table).or_default().insert(view.clone());
                }
            }
        }
    }

    pub(crate) fn remove(&mut self, view: &ViewId, keys: Vec<(SmolStr, Option<(FieldPath, Value)>)>) {
        for (table, key) in keys {
            match key {
                Some((field, value)) => {
                    let slot = (table, field);
                    if let Some(by_value) = self.keyed.get_mut(&slot) {
                        let key = hash(&value);
                        if let Some(views) = by_value.get_mut(&key) {
                            views.retain(|v| v != view);
                            if views.is_empty() {
                                by_value.remove(&key);
                            }
                        }
                        if by_value.is_empty() {
                            self.keyed.remove(&slot);
                        }
                    }
                }
                None => {
                    if let Some(views) = self.any.get_mut(&table) {
                        views.remove(view);
                        if views.is_empty() {
                            self.any.remove(&table);
                        }
                    }
                }
            }
        }
    }

    /// The views a change can reach, sorted, each once; each with the rows
    /// of the one table it is filed under by a value, when that is how the
    /// change reached it and the table's change has more than
    /// `restrict_above` rows (a view reached any other way, or through two
    /// slots, gets `None`: all of the change).
    ///
    /// The rows are grouped by slot and value once, so that a batch of many
    /// rows reaching many views costs a look-up per row, and each view can
    /// be stepped with only its own rows: its filter admits no other.
    pub(crate) fn reached(&self, delta: &Delta, restrict_above: usize) -> Reached {
        let mut views: SmallVec<[(ViewId, Option<usize>); 4]> = SmallVec::new();
        let mut groups: Vec<(SmolStr, ZSet<Value>)> = Vec::new();
        for (table, filed) in &self.any {
            if delta.table(table).is_some() {
                views.extend(filed.iter().map(|v| (v.clone(), None)));
            }
        }
        for ((table, field), by_value) in &self.keyed {
            let Some(rows) = delta.table(table) else { continue };
            if rows.len() <= restrict_above {
                // A small change: the views step with all of it.
                for (row, _) in rows.iter() {
                    if let Some(filed) = by_value.get(&hash(&row.pick(field))) {
                        views.extend(filed.iter().map(|v| (v.clone(), None)));
                    }
                }
                continue;
            }
            let mut group_of: HashMap<u64, usize, FixedHasher> = HashMap::default();
            for (row, w) in rows.iter() {
                let key = hash(&row.pick(field));
                let Some(filed) = by_value.get(&key) else { continue };
                let at = *group_of.entry(key).or_insert_with(|| {
                    groups.push((table.clone(), ZSet::new()));
                    views.extend(filed.iter().map(|v| (v.clone(), Some(groups.len() - 1))));
                    groups.len() - 1
                });
                groups[at].1.update(row.clone(), w);
            }
        }
        views.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // A view reached twice (two slots, or a slot and any change of a
        // table) steps with all of the change.
        views.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 = None;
            }
            same
        });
        Reached { views, groups }
    }
}

/// The slot of a value in the predicate index.
fn hash(value: &Value) -> u64 {
    FixedHasher::default().hash_one(value)
}
