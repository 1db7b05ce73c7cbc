//! Shared state: base tables and their arrangements (indexes), held once and
//! read by every circuit.

use std::collections::BTreeSet;

use hashbrown::{HashMap, hash_map};
use smallvec::SmallVec;
use smol_str::SmolStr;
use ssp_core::{ChangeBatch, FixedHasher, Object, Record, Value, ZSet, ZWeight};

use crate::error::ApplyError;
use crate::expr::Expr;
use crate::sort::{Direction, Ranked, SortKey};

/// The row a record becomes in a circuit: its content (an object) with its
/// `id` field set to the record id, as SurrealDB returns records.
pub fn record_row(record: &Record) -> Value {
    let mut object = match &record.value {
        Value::Object(o) => o.clone(),
        _ => Object::new(),
    };
    // Most contents already hold their id: then the row shares them as they are.
    let holds_id = matches!(object.get("id"), Some(Value::RecordId(id)) if **id == record.id);
    if !holds_id {
        object.insert("id", Value::from(record.id.clone()));
    }
    Value::Object(object)
}

/// Whether two expressions compute the same values, so that one index serves
/// both. `Expr`'s `==` holds `2` and `2.0f` equal (as values they are), but
/// `x * 2` and `x * 2.0f` compute different kinds, so literals must match in
/// kind too: their SurrealQL text does.
fn same_expr(a: &Expr, b: &Expr) -> bool {
    a == b && a.to_string() == b.to_string()
}

/// The changes of one version, per table, as consolidated Z-sets of rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// The changed tables, sorted by name, each with a non-empty change. A
    /// version changes few tables (usually one): a sorted vector finds them
    /// faster than a hash map, and is made without an allocation of its own.
    tables: SmallVec<[(SmolStr, ZSet<Value>); 1]>,
}

impl Delta {
    /// An empty delta.
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, table: &str) -> Result<usize, usize> {
        self.tables.binary_search_by(|(name, _)| name.as_str().cmp(table))
    }

    /// The change of `table`, made empty with room for `rows` rows if new.
    fn table_mut(&mut self, table: &str, rows: usize) -> &mut ZSet<Value> {
        let at = match self.position(table) {
            Ok(at) => at,
            Err(at) => {
                self.tables.insert(at, (SmolStr::from(table), ZSet::with_capacity(rows)));
                at
            }
        };
        &mut self.tables[at].1
    }

    /// The delta of a version's change batches (rows built by [`record_row`]).
    ///
    /// Rows are equal across number kinds (`{ n: 1 }` is `{ n: 1.0f }`), so a
    /// row's removal and its re-insertion in another kind meet in one entry.
    /// Removals are taken first, so that such an entry keeps the row as the
    /// tables hold it (what the batch's first removal of it names), and the
    /// operators see a row leave in the kind it arrived in.
    pub fn from_batches<'a>(batches: impl IntoIterator<Item = &'a ChangeBatch>) -> Self {
        let mut delta = Delta::new();
        let batches: Vec<&ChangeBatch> = batches.into_iter().collect();
        for removals in [true, false] {
            for batch in &batches {
                let z = delta.table_mut(batch.table(), batch.len());
                for (record, w) in batch.updates() {
                    if (*w < 0) == removals {
                        z.update(record_row(record), *w);
                    }
                }
            }
        }
        delta.tables.retain(|(_, z)| !z.is_empty());
        delta
    }

    /// Adds `weight` to `row` of `table`.
    pub fn update(&mut self, table: &str, row: Value, weight: ZWeight) {
        let z = self.table_mut(table, 0);
        z.update(row, weight);
        if z.is_empty()
            && let Ok(at) = self.position(table)
        {
            self.tables.remove(at);
        }
    }

    /// The change to `table`, or `None` if the version does not change it.
    pub fn table(&self, table: &str) -> Option<&ZSet<Value>> {
        self.position(table).ok().map(|at| &self.tables[at].1)
    }

    /// The tables that change, by name.
    pub fn tables(&self) -> impl Iterator<Item = (&str, &ZSet<Value>)> + '_ {
        self.tables.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of changed rows, over all tables.
    pub fn len(&self) -> usize {
        self.tables.iter().map(|(_, z)| z.len()).sum()
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// An index of a table's rows by the value of a key expression: the
/// arrangement joins and semi-joins read.
#[derive(Debug)]
pub(crate) struct KeyIndex {
    pub(crate) key: Expr,
    map: HashMap<Value, ZSet<Value>, FixedHasher>,
}

impl KeyIndex {
    fn update(&mut self, row: &Value, w: ZWeight) {
        match self.map.entry(self.key.eval(row)) {
            hash_map::Entry::Occupied(mut group) => {
                group.get_mut().update(row.clone(), w);
                if group.get().is_empty() {
                    group.remove();
                }
            }
            hash_map::Entry::Vacant(group) => {
                group.insert(ZSet::from_iter([(row.clone(), w)]));
            }
        }
    }

    pub(crate) fn get(&self, key: &Value) -> Option<&ZSet<Value>> {
        self.map.get(key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Value, &ZSet<Value>)> + '_ {
        self.map.iter()
    }
}

/// An index of a table's rows in ORDER BY order, optionally partitioned by the
/// value of an expression (the `category` of `WHERE category = $c`): the
/// arrangement top-k views refill from. Each partition is its own B-tree, so
/// that a walk and an update compare sort keys only.
#[derive(Debug)]
pub(crate) struct OrderIndex {
    pub(crate) partition: Option<Expr>,
    pub(crate) order: Vec<(Expr, Direction)>,
    partitions: HashMap<Value, BTreeSet<Ranked>, FixedHasher>,
}

impl OrderIndex {
    fn partition_of(&self, row: &Value) -> Value {
        self.partition.as_ref().map_or(Value::None, |p| p.eval(row))
    }

    fn update(&mut self, row: &Value, w: ZWeight) {
        let part = self.partition_of(row);
        let entry = (SortKey::of(&self.order, row), row.clone());
        if w > 0 {
            self.partitions.entry(part).or_default().insert(entry);
        } else if let Some(tree) = self.partitions.get_mut(&part) {
            tree.remove(&entry);
            if tree.is_empty() {
                self.partitions.remove(&part);
            }
        }
    }

    /// The rows of `partition` in order.
    pub(crate) fn scan<'a>(&'a self, partition: &Value) -> impl Iterator<Item = (&'a SortKey, &'a Value)> + 'a {
        self.partitions.get(partition).into_iter().flatten().map(|(k, r)| (k, r))
    }
}

/// A base table: its rows (a set: every row has weight one) and its shared
/// arrangements.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: ZSet<Value>,
    pub(crate) key_indexes: Vec<KeyIndex>,
    pub(crate) order_indexes: Vec<OrderIndex>,
}

impl Table {
    pub(crate) fn rows(&self) -> &ZSet<Value> {
        &self.rows
    }
}

/// The shared state of an engine: every base table's rows and arrangements,
/// held once and read by every circuit.
///
/// Stepping one version is two phases: every affected [`Circuit`] computes its
/// output change against the tables *before* the version
/// ([`Circuit::step`]), then the tables take the change ([`Tables::apply`]).
///
/// [`Circuit`]: crate::Circuit
/// [`Circuit::step`]: crate::Circuit::step
#[derive(Debug, Default)]
pub struct Tables {
    tables: HashMap<SmolStr, Table, FixedHasher>,
}

/// A handle on a key index of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyIndexRef {
    pub(crate) table: SmolStr,
    pub(crate) slot: usize,
}

/// A handle on an order index of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrderIndexRef {
    pub(crate) table: SmolStr,
    pub(crate) slot: usize,
}

impl Tables {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// The rows of `table`, or `None` if no change ever reached it.
    pub fn rows(&self, table: &str) -> Option<&ZSet<Value>> {
        self.tables.get(table).map(Table::rows)
    }

    /// The number of rows of `table`.
    pub fn len(&self, table: &str) -> usize {
        self.rows(table).map_or(0, ZSet::len)
    }

    /// Checks that `delta` can be applied: that it gives no row a weight other
    /// than zero or one (a delete of a row that is not there, an insert of a
    /// row already there, as a stale or repeated notification would).
    ///
    /// Check a version's change *before* stepping circuits with it: circuits
    /// take the change into their state as they step, so a change that
    /// [`Tables::apply`] then refuses would leave them ahead of the tables.
    pub fn check(&self, delta: &Delta) -> Result<(), ApplyError> {
        for (name, change) in delta.tables() {
            let rows = self.tables.get(name).map(Table::rows);
            for (row, w) in change.iter() {
                let now = rows.map_or(0, |r| r.weight(row));
                let after = now.wrapping_add(w);
                if after != 0 && after != 1 {
                    return Err(ApplyError::NotASet { table: name.into(), row: row.clone(), weight: after });
                }
            }
        }
        Ok(())
    }

    /// Applies a version's change to the tables and all their arrangements.
    ///
    /// Fails, changing nothing, if the change would give a row a weight other
    /// than zero or one (a delete of a row that is not there, or an insert of
    /// a row already there).
    pub fn apply(&mut self, delta: &Delta) -> Result<(), ApplyError> {
        // The rows first, each update checked as it is made (one hash lookup
        // per row); a refused update undoes the `made` ones before it.
        let mut made = 0usize;
        let mut created: SmallVec<[&str; 1]> = SmallVec::new();
        let mut refused = None;
        'tables: for (name, change) in delta.tables() {
            let table = match self.tables.get_mut(name) {
                Some(table) => table,
                None => {
                    created.push(name);
                    self.tables.entry(SmolStr::from(name)).or_default()
                }
            };
            for (row, w) in change.iter() {
                let after = table.rows.update(row.clone(), w);
                made += 1;
                if after != 0 && after != 1 {
                    refused = Some(ApplyError::NotASet { table: name.into(), row: row.clone(), weight: after });
                    break 'tables;
                }
            }
        }
        if let Some(error) = refused {
            self.undo_rows(delta, made, &created);
            return Err(error);
        }
        for (name, change) in delta.tables() {
            let Some(table) = self.tables.get_mut(name) else { continue };
            for index in &mut table.key_indexes {
                for (row, w) in change.iter() {
                    index.update(row, w);
                }
            }
            for index in &mut table.order_indexes {
                for (row, w) in change.iter() {
                    index.update(row, w);
                }
            }
        }
        Ok(())
    }

    /// Undoes the first `made` row updates of `delta` (in its iteration
    /// order, which is the order [`Tables::apply`] made them in) and removes
    /// the tables `created` for it.
    fn undo_rows(&mut self, delta: &Delta, made: usize, created: &[&str]) {
        let updates = delta.tables().flat_map(|(name, change)| change.iter().map(move |(row, w)| (name, row, w)));
        for (name, row, w) in updates.take(made) {
            if let Some(table) = self.tables.get_mut(name) {
                table.rows.update(row.clone(), w.wrapping_neg());
            }
        }
        for name in created {
            self.tables.remove(*name);
        }
    }

    /// Applies change batches: [`Delta::from_batches`] then [`Tables::apply`].
    pub fn apply_batches<'a>(&mut self, batches: impl IntoIterator<Item = &'a ChangeBatch>) -> Result<(), ApplyError> {
        self.apply(&Delta::from_batches(batches))
    }

    /// The key index of `table` by `key`, built from the current rows if new.
    pub(crate) fn key_index(&mut self, table: &str, key: &Expr) -> KeyIndexRef {
        let t = self.tables.entry(SmolStr::from(table)).or_default();
        let slot = match t.key_indexes.iter().position(|i| same_expr(&i.key, key)) {
            Some(slot) => slot,
            None => {
                let mut index = KeyIndex { key: key.clone(), map: HashMap::default() };
                for (row, w) in t.rows.iter() {
                    index.update(row, w);
                }
                t.key_indexes.push(index);
                t.key_indexes.len() - 1
            }
        };
        KeyIndexRef { table: table.into(), slot }
    }

    /// The order index of `table` by `partition` and `order`, built from the
    /// current rows if new.
    pub(crate) fn order_index(
        &mut self,
        table: &str,
        partition: Option<&Expr>,
        order: &[(Expr, Direction)],
    ) -> OrderIndexRef {
        let t = self.tables.entry(SmolStr::from(table)).or_default();
        let same_partition = |i: &OrderIndex| match (&i.partition, partition) {
            (Some(a), Some(b)) => same_expr(a, b),
            (None, None) => true,
            _ => false,
        };
        let same_order = |i: &OrderIndex| {
            i.order.len() == order.len()
                && i.order.iter().zip(order).all(|((a, da), (b, db))| da == db && same_expr(a, b))
        };
        let slot = match t.order_indexes.iter().position(|i| same_partition(i) && same_order(i)) {
            Some(slot) => slot,
            None => {
                let mut index =
                    OrderIndex { partition: partition.cloned(), order: order.to_vec(), partitions: HashMap::default() };
                for (row, w) in t.rows.iter() {
                    index.update(row, w);
                }
                t.order_indexes.push(index);
                t.order_indexes.len() - 1
            }
        };
        OrderIndexRef { table: table.into(), slot }
    }

    pub(crate) fn get_key_index(&self, r: &KeyIndexRef) -> Option<&KeyIndex> {
        self.tables.get(&r.table).and_then(|t| t.key_indexes.get(r.slot))
    }

    pub(crate) fn get_order_index(&self, r: &OrderIndexRef) -> Option<&OrderIndex> {
        self.tables.get(&r.table).and_then(|t| t.order_indexes.get(r.slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Circuit, Direction, PlanBuilder, evaluate};

    fn row(text: &str) -> Value {
        text.parse().expect("a literal")
    }

    // A change refused part-way (rows of one table taken, a row of another
    // refused) leaves every table, and its indexes, as they were.
    #[test]
    fn a_refused_change_undoes_the_rows_taken_before_the_refusal() {
        let mut b = PlanBuilder::new();
        let t = b.source("t");
        let top = b.top_k(t, vec![(Expr::field("score"), Direction::Desc)], 2, 0);
        let plan = b.build(top).expect("valid plan");
        let mut tables = Tables::new();
        let _ = Circuit::new(plan.clone(), &mut tables); // registers the order index
        let mut first = Delta::new();
        first.update("t", row("{ id: 1, score: 1 }"), 1);
        first.update("t", row("{ id: 2, score: 2 }"), 1);
        tables.apply(&first).expect("fresh rows");
        let rows_before = tables.rows("t").cloned();

        let mut delta = Delta::new();
        for key in 3..40 {
            delta.update("t", row(&format!("{{ id: {key}, score: 9 }}")), 1);
        }
        delta.update("t", row("{ id: 1, score: 1 }"), -1);
        delta.update("u", row("{ a: 1 }"), 1);
        delta.update("u", row("{ a: 2 }"), -1);
        let err = tables.check(&delta).expect_err("deleting a missing row");
        assert_eq!(tables.apply(&delta), Err(err));
        assert_eq!(tables.rows("t").cloned(), rows_before);
        assert_eq!(tables.rows("u"), None, "a table made for the refused change is gone");

        // The shared order index did not take the refused rows either.
        let (mut circuit, initial) = Circuit::new(plan.clone(), &mut tables);
        assert_eq!(initial, evaluate(&plan, &tables));
        let mut last = Delta::new();
        last.update("t", row("{ id: 2, score: 2 }"), -1);
        let change = circuit.step(&tables, &last);
        tables.apply(&last).expect("a present row");
        let mut view = initial;
        view += &change;
        assert_eq!(view, evaluate(&plan, &tables));
    }
}
