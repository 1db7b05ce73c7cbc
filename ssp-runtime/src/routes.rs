//! The predicate index: which views a change can reach.

use std::collections::{BTreeSet, HashMap};

use smol_str::SmolStr;
use ssp_core::{FieldPath, Value};
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
#[derive(Default)]
pub(crate) struct Routes {
    keyed: HashMap<(SmolStr, FieldPath), HashMap<Value, BTreeSet<ViewId>>>,
    any: HashMap<SmolStr, BTreeSet<ViewId>>,
}

impl Routes {
    pub(crate) fn add(&mut self, view: &ViewId, keys: Vec<(SmolStr, Option<(FieldPath, Value)>)>) {
        for (table, key) in keys {
            match key {
                Some((field, value)) => {
                    self.keyed.entry((table, field)).or_default().entry(value).or_default().insert(view.clone());
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
                        if let Some(views) = by_value.get_mut(&value) {
                            views.remove(view);
                            if views.is_empty() {
                                by_value.remove(&value);
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

    /// The views a change can reach.
    pub(crate) fn reached(&self, delta: &Delta) -> BTreeSet<ViewId> {
        let mut out = BTreeSet::new();
        for (table, views) in &self.any {
            if delta.table(table).is_some() {
                out.extend(views.iter().cloned());
            }
        }
        for ((table, field), by_value) in &self.keyed {
            let Some(rows) = delta.table(table) else { continue };
            for (row, _) in rows.iter() {
                if let Some(views) = by_value.get(&row.pick(field)) {
                    out.extend(views.iter().cloned());
                }
            }
        }
        out
    }
}
