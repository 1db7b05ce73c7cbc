//! Shared state: base tables and their arrangements (indexes), held once and
//! read by every circuit.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::{HashMap, hash_map};
use smallvec::SmallVec;
use smol_str::SmolStr;
use ssp_core::{ChangeBatch, FixedHasher, Value, ZSet, ZWeight};

use crate::delta::{Delta, Prepared};
use crate::error::ApplyError;
use crate::expr::Expr;
use crate::sort::{Direction, Ranked, RankedKey, SortKey};

/// Whether two expressions compute the same values, so that one index serves
/// both. `Expr`'s `==` holds `2` and `2.0f` equal (as values they are), but
/// `x * 2` and `x * 2.0f` compute different kinds, so literals must match in
/// kind too: their SurrealQL text does.
fn same_expr(a: &Expr, b: &Expr) -> bool {
    a == b && a.to_string() == b.to_string()
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
/// that a walk and an update compare sort keys only (the prefixes, in line;
/// rows only where the keys tie).
#[derive(Debug)]
pub(crate) struct OrderIndex {
    pub(crate) partition: Option<Expr>,
    pub(crate) order: Vec<(Expr, Direction)>,
    partitions: HashMap<Value, BTreeSet<Ranked>, FixedHasher>,
}

impl OrderIndex {
    /// The partition and the sort key of `row` in this index.
    pub(crate) fn keys_of(&self, row: &Value) -> (Value, SortKey) {
        (self.partition.as_ref().map_or(Value::None, |p| p.eval(row)), SortKey::of(&self.order, row))
    }

    fn update(&mut self, row: &Value, w: ZWeight) {
        let (part, key) = self.keys_of(row);
        self.update_keyed([(&part, &key, row, w)].into_iter());
    }

    /// Takes changed rows with their partitions and sort keys known. Rows of
    /// one partition in a row (the usual change) find their B-tree once.
    fn update_keyed<'a>(&mut self, changes: impl Iterator<Item = (&'a Value, &'a SortKey, &'a Value, ZWeight)>) {
        let mut changes = changes.peekable();
        while let Some(&(part, ..)) = changes.peek() {
            let tree = match self.partitions.get_mut(part) {
                Some(tree) => tree,
                None => self.partitions.entry(part.clone()).or_default(),
            };
            while let Some((_, key, row, w)) = changes.next_if(|(p, ..)| *p == part) {
                if w > 0 {
                    tree.insert(Ranked { key: key.clone(), row: row.clone() });
                } else {
                    // Found by reference: no copy of the row or key to make.
                    tree.remove(&(key, row) as &dyn RankedKey);
                }
            }
            if tree.is_empty() {
                self.partitions.remove(part);
            }
        }
    }

    /// The rows of `partition` in order.
    pub(crate) fn scan<'a>(&'a self, partition: &Value) -> impl Iterator<Item = (&'a SortKey, &'a Value)> + 'a {
        self.partitions.get(partition).into_iter().flatten().map(|r| (&r.key, &r.row))
    }
}

/// A slot's number in a handle (a table has few indexes).
fn slot_number(slot: usize) -> u32 {
    u32::try_from(slot).unwrap_or(u32::MAX)
}

/// How `rows` hold `row`: its weight, and, if they hold it only in other
/// number kinds, the row they hold.
fn held<'a>(rows: &'a ZSet<Value>, row: &Value) -> (ZWeight, Option<&'a Value>) {
    let (mut now, mut other) = (0, None);
    for (held, w) in rows.equal_to(row) {
        if held.identical(row) {
            now = w;
        } else {
            other = other.or(Some(held));
        }
    }
    (now, other.filter(|_| now == 0))
}

/// Whether `apart`, a row held in other number kinds than an inserted row
/// (the same record, written differently; see [`held`]), stays held after
/// `change`: inserting the row would hold the record twice.
fn stays_apart(apart: Option<&Value>, change: &ZSet<Value>) -> bool {
    apart.is_some_and(|held| change.weight(held) >= 0)
}

/// A shared index and the number of circuits that use it; a slot whose
/// index no circuit uses any more is empty (and taken by the next index).
#[derive(Debug)]
pub(crate) struct Shared<I> {
    pub(crate) index: I,
    users: usize,
}

/// A table's shared indexes of one kind, by slot.
pub(crate) type Slots<I> = Vec<Option<Shared<I>>>;

/// Registers a use of the index in `slots` that `same` finds, or of a new
/// one that `build` makes (in the first empty slot): its slot, and whether
/// the slots changed.
fn register<I>(slots: &mut Slots<I>, same: impl Fn(&I) -> bool, build: impl FnOnce() -> I) -> (usize, bool) {
    if let Some(slot) = slots.iter().position(|s| s.as_ref().is_some_and(|s| same(&s.index))) {
        if let Some(shared) = &mut slots[slot] {
            shared.users += 1;
        }
        return (slot, false);
    }
    let shared = Some(Shared { index: build(), users: 1 });
    match slots.iter().position(Option::is_none) {
        Some(slot) => {
            slots[slot] = shared;
            (slot, true)
        }
        None => {
            slots.push(shared);
            (slots.len() - 1, true)
        }
    }
}

/// Lets go of one use of the index at `slot`, dropping it with its last:
/// whether the slots changed.
fn unregister<I>(slots: &mut Slots<I>, slot: usize) -> bool {
    let Some(Some(shared)) = slots.get_mut(slot) else { return false };
    shared.users -= 1;
    if shared.users > 0 {
        return false;
    }
    slots[slot] = None;
    while slots.last().is_some_and(Option::is_none) {
        slots.pop();
    }
    true
}

/// A base table: its rows (a set: every row has weight one) and its shared
/// arrangements.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: ZSet<Value>,
    pub(crate) key_indexes: Slots<KeyIndex>,
    pub(crate) order_indexes: Slots<OrderIndex>,
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
#[derive(Debug)]
pub struct Tables {
    tables: HashMap<SmolStr, Table, FixedHasher>,
    /// Which tables these are, and how many changes they took: what a
    /// [`Delta`] prepared against them is valid for.
    stamp: Stamp,
}

impl Default for Tables {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Tables { tables: HashMap::default(), stamp: Stamp { id: NEXT.fetch_add(1, Ordering::Relaxed), changes: 0 } }
    }
}

/// One state of one [`Tables`]: its identity and the number of changes it
/// took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    id: u64,
    changes: u64,
}

/// A handle on a key index of a table of one [`Tables`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyIndexRef {
    pub(crate) table: SmolStr,
    pub(crate) slot: u32,
    /// The tables that hold it (the low bits of their id): a handle used
    /// with other tables finds no index, and releases none.
    owner: u32,
}

/// A handle on an order index of a table of one [`Tables`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrderIndexRef {
    pub(crate) table: SmolStr,
    pub(crate) slot: u32,
    owner: u32,
}

impl Tables {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// These tables as they are now.
    pub(crate) fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// Which tables these are, as index handles record it.
    fn owner(&self) -> u32 {
        self.stamp.id as u32
    }

    /// Whether these tables hold the index `r` names.
    pub(crate) fn owns(&self, r: &OrderIndexRef) -> bool {
        r.owner == self.owner()
    }

    pub(crate) fn table(&self, table: &str) -> Option<&Table> {
        self.tables.get(table)
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
    /// row already there, as a stale or repeated notification would, also
    /// where it writes a number in another kind: `{ id: t:1, n: 1.0f }` while
    /// `{ id: t:1, n: 1 }` is held).
    ///
    /// Check a version's change *before* stepping circuits with it: circuits
    /// take the change into their state as they step, so a change that
    /// [`Tables::apply`] then refuses would leave them ahead of the tables.
    pub fn check(&self, delta: &Delta) -> Result<(), ApplyError> {
        let prepared = delta.prepare(self);
        for (name, change) in delta.changes(prepared.get()) {
            let rows = self.tables.get(name).map(Table::rows);
            for (row, w) in change.iter() {
                // One look-up finds the row and any held in other kinds.
                let (now, apart) = rows.map_or((0, None), |rows| held(rows, row));
                let after = now.wrapping_add(w);
                if after != 0 && after != 1 {
                    return Err(ApplyError::NotASet { table: name.into(), row: row.clone(), weight: after });
                }
                // One record in two forms: held in another, or inserted
                // twice by this change.
                let twice = || change.equal_to(row).any(|(other, w)| w > 0 && !other.identical(row));
                if w > 0 && (stays_apart(apart, change) || twice()) {
                    return Err(ApplyError::NotASet { table: name.into(), row: row.clone(), weight: 2 });
                }
            }
        }
        // `apply` need not look for records held in other kinds again.
        prepared.get().mark_checked();
        Ok(())
    }

    /// Applies a version's change to the tables and all their arrangements.
    ///
    /// Fails, changing nothing, if the change would give a row a weight other
    /// than zero or one (a delete of a row that is not there, or an insert of
    /// a row already there).
    pub fn apply(&mut self, delta: &Delta) -> Result<(), ApplyError> {
        // The change as the tables before it see it (every removal naming
        // the row as held, and the rows' places in the order indexes): what
        // the circuits that stepped with it prepared, or made now.
        let prep = delta.prepare(self);
        let prepared = prep.get();
        let checked = prepared.is_checked();
        self.stamp.changes += 1;
        // The rows first, each update checked as it is made (one hash lookup
        // per row); a refused update undoes the `made` ones before it.
        let mut made = 0usize;
        let mut created: SmallVec<[&str; 1]> = SmallVec::new();
        let mut refused = None;
        'tables: for (name, change) in delta.changes(prepared) {
            let table = match self.tables.get_mut(name) {
                Some(table) => table,
                None => {
                    created.push(name);
                    self.tables.entry(SmolStr::from(name)).or_default()
                }
            };
            for (row, w) in change.iter() {
                // A removal finds its row by reference (no copy to drop).
                let after = if w < 0 {
                    let now = table.rows.remove(row);
                    let after = now.wrapping_add(w);
                    if after != 0 {
                        table.rows.update(row.clone(), after);
                    }
                    after
                } else if !checked && stays_apart(held(&table.rows, row).1, change) {
                    refused = Some(ApplyError::NotASet { table: name.into(), row: row.clone(), weight: 2 });
                    break 'tables;
                } else {
                    table.rows.update(row.clone(), w)
                };
                made += 1;
                if after != 0 && after != 1 {
                    refused = Some(ApplyError::NotASet { table: name.into(), row: row.clone(), weight: after });
                    break 'tables;
                }
            }
        }
        if let Some(error) = refused {
            self.undo_rows(delta, prepared, made, &created);
            return Err(error);
        }
        for (at, (name, _)) in delta.tables().enumerate() {
            let change = delta.change_at(prepared, at);
            let Some(table) = self.tables.get_mut(name) else { continue };
            for index in table.key_indexes.iter_mut().flatten().map(|s| &mut s.index) {
                for (row, w) in change.iter() {
                    index.update(row, w);
                }
            }
            for (slot, index) in table.order_indexes.iter_mut().enumerate() {
                let Some(Shared { index, .. }) = index else { continue };
                match delta.keyed_at(prepared, at, slot) {
                    (change, Some(keys)) => {
                        index.update_keyed(change.iter().zip(keys).map(|((row, w), (part, key))| (part, key, row, w)));
                    }
                    (_, None) => {
                        for (row, w) in change.iter() {
                            index.update(row, w);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Undoes the first `made` row updates of `delta` (in its iteration
    /// order, which is the order [`Tables::apply`] made them in) and removes
    /// the tables `created` for it.
    fn undo_rows(&mut self, delta: &Delta, prepared: &Prepared, made: usize, created: &[&str]) {
        let updates =
            delta.changes(prepared).flat_map(|(name, change)| change.iter().map(move |(row, w)| (name, row, w)));
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

    /// Registers a use of the key index of `table` by `key`, built from the
    /// current rows if new. Each registration is let go of with
    /// [`Tables::release_key_index`].
    pub(crate) fn key_index(&mut self, table: &str, key: &Expr) -> KeyIndexRef {
        let t = self.tables.entry(SmolStr::from(table)).or_default();
        let rows = &t.rows;
        let (slot, changed) = register(
            &mut t.key_indexes,
            |i| same_expr(&i.key, key),
            || {
                let mut index = KeyIndex { key: key.clone(), map: HashMap::default() };
                for (row, w) in rows.iter() {
                    index.update(row, w);
                }
                index
            },
        );
        // New slots: what a delta prepared for the tables is stale.
        self.stamp.changes += u64::from(changed);
        KeyIndexRef { table: table.into(), slot: slot_number(slot), owner: self.owner() }
    }

    /// Registers a use of the order index of `table` by `partition` and
    /// `order`, built from the current rows if new. Each registration is let
    /// go of with [`Tables::release_order_index`].
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
        let rows = &t.rows;
        let (slot, changed) = register(
            &mut t.order_indexes,
            |i| same_partition(i) && same_order(i),
            || {
                let mut index =
                    OrderIndex { partition: partition.cloned(), order: order.to_vec(), partitions: HashMap::default() };
                for (row, w) in rows.iter() {
                    index.update(row, w);
                }
                index
            },
        );
        self.stamp.changes += u64::from(changed);
        OrderIndexRef { table: table.into(), slot: slot_number(slot), owner: self.owner() }
    }

    /// Lets go of one registration of a key index; the index is dropped
    /// with its last.
    pub(crate) fn release_key_index(&mut self, r: &KeyIndexRef) {
        if r.owner == self.owner()
            && let Some(t) = self.tables.get_mut(&r.table)
            && unregister(&mut t.key_indexes, r.slot as usize)
        {
            self.stamp.changes += 1;
        }
    }

    /// Lets go of one registration of an order index; the index is dropped
    /// with its last.
    pub(crate) fn release_order_index(&mut self, r: &OrderIndexRef) {
        if r.owner == self.owner()
            && let Some(t) = self.tables.get_mut(&r.table)
            && unregister(&mut t.order_indexes, r.slot as usize)
        {
            self.stamp.changes += 1;
        }
    }

    /// The number of shared indexes (by join key and by order) over all
    /// tables: each lives while a [`Circuit`](crate::Circuit) that reads it
    /// does, until [`Circuit::release`](crate::Circuit::release).
    pub fn index_count(&self) -> usize {
        self.tables
            .values()
            .map(|t| t.key_indexes.iter().flatten().count() + t.order_indexes.iter().flatten().count())
            .sum()
    }

    pub(crate) fn get_key_index(&self, r: &KeyIndexRef) -> Option<&KeyIndex> {
        let t = self.tables.get(&r.table).filter(|_| r.owner == self.owner())?;
        t.key_indexes.get(r.slot as usize)?.as_ref().map(|s| &s.index)
    }

    pub(crate) fn get_order_index(&self, r: &OrderIndexRef) -> Option<&OrderIndex> {
        let t = self.tables.get(&r.table).filter(|_| r.owner == self.owner())?;
        t.order_indexes.get(r.slot as usize)?.as_ref().map(|s| &s.index)
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
