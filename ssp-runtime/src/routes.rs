//! The predicate index: which views a change can reach.

use std::collections::{BTreeSet, HashMap};

use smallvec::SmallVec;

use smol_str::SmolStr;
use std::hash::BuildHasher;

use ssp_core::{FieldPath, FixedHasher, Value};
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

    /// The views a change can reach, sorted, each once.
    pub(crate) fn reached(&self, delta: &Delta) -> Vec<ViewId> {
        let mut out = Vec::new();
        for (table, views) in &self.any {
            if delta.table(table).is_some() {
                out.extend(views.iter().cloned());
            }
        }
        for ((table, field), by_value) in &self.keyed {
            let Some(rows) = delta.table(table) else { continue };
            for (row, _) in rows.iter() {
                if let Some(views) = by_value.get(&hash(&row.pick(field))) {
                    out.extend(views.iter().cloned());
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The slot of a value in the predicate index.
fn hash(value: &Value) -> u64 {
    FixedHasher::default().hash_one(value)
}
