//! [`Delta`]: the change of one version, and what the tables before it make
//! of it once for every circuit that steps with it.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, OnceLock};

use smallvec::SmallVec;
use smol_str::SmolStr;
use ssp_core::{ChangeBatch, FieldPath, Object, Record, Value, ZSet, ZWeight};

use crate::sort::SortKey;
use crate::tables::{OrderIndexRef, Stamp, Tables};

/// The row a record becomes in a circuit: its content (an object) with its
/// `id` field set to the record id, as SurrealDB returns records.
pub fn record_row(record: &Record) -> Value {
    // The `id` field, found where the last record had it.
    static ID: LazyLock<FieldPath> = LazyLock::new(|| FieldPath::field("id"));
    // Most contents already hold their id: then the row shares them as they are.
    if matches!(record.value.get(&ID), Some(Value::RecordId(id)) if **id == record.id) {
        return record.value.clone();
    }
    let mut object = match &record.value {
        Value::Object(o) => o.clone(),
        _ => Object::new(),
    };
    object.insert("id", Value::from(record.id.clone()));
    Value::Object(object)
}

/// The changes of one version, per table, as consolidated Z-sets of rows.
///
/// A Z-set keeps rows that differ only in a number's kind apart (`{ n: 1 }`
/// and `{ n: 1.0f }` are two rows; see [`ssp_core::Element`]), so an update
/// that changes a number's kind alone is a change. A removal may still name
/// its row in other kinds than the tables hold it in (from a source that
/// writes numbers differently): circuits and the tables see every removal as
/// the tables hold the row.
#[derive(Clone, Default)]
pub struct Delta {
    /// The changed tables, sorted by name, each with a non-empty change. A
    /// version changes few tables (usually one): a sorted vector finds them
    /// faster than a hash map, and is made without an allocation of its own.
    tables: SmallVec<[(SmolStr, ZSet<Value>); 1]>,
    /// The change as the tables before it see it, made once (by
    /// [`Tables::check`] or the first circuit that steps with it) and read by
    /// the circuits and by [`Tables::apply`]. Made for tables whose indexes
    /// then change, it is stale: each reader then makes its own.
    prepared: OnceLock<Prepared>,
}

impl PartialEq for Delta {
    fn eq(&self, other: &Self) -> bool {
        self.tables == other.tables
    }
}

impl Eq for Delta {}

impl fmt::Debug for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delta").field("tables", &self.tables).finish()
    }
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
        self.prepared = OnceLock::new();
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
    /// Removals are taken first, then insertions, each in batch order.
    pub fn from_batches<'a>(batches: impl IntoIterator<Item = &'a ChangeBatch>) -> Self {
        let mut delta = Delta::new();
        let batches: SmallVec<[&ChangeBatch; 4]> = batches.into_iter().collect();
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

    /// The change as `tables` (before it) see it: made once and kept, unless
    /// it was kept for other tables (then made again and not kept).
    pub(crate) fn prepare(&self, tables: &Tables) -> Prep<'_> {
        let stamp = tables.stamp();
        let kept = self.prepared.get_or_init(|| Prepared::new(self, tables));
        if kept.stamp == stamp { Prep::Kept(kept) } else { Prep::Fresh(Box::new(Prepared::new(self, tables))) }
    }

    /// The change of the `at`-th table as circuits see it.
    pub(crate) fn change_at<'a>(&'a self, prepared: &'a Prepared, at: usize) -> &'a ZSet<Value> {
        prepared.tables.get(at).and_then(|t| t.canonical.as_ref()).unwrap_or(&self.tables[at].1)
    }

    /// The change of `table` as circuits see it (every removal naming the
    /// row as the tables hold it).
    pub(crate) fn source<'a>(&'a self, prepared: &'a Prepared, table: &str) -> Option<&'a ZSet<Value>> {
        self.position(table).ok().map(|at| self.change_at(prepared, at))
    }

    /// The change of the `at`-th table as circuits see it, with the
    /// partitions and sort keys of its rows in the order index at `slot`
    /// (in the change's iteration order), if prepared.
    pub(crate) fn keyed_at<'a>(
        &'a self,
        prepared: &'a Prepared,
        at: usize,
        slot: usize,
    ) -> (&'a ZSet<Value>, Option<&'a [Keyed]>) {
        let change = self.change_at(prepared, at);
        let keys = prepared.tables.get(at).and_then(|t| t.order_keys.get(slot)).map(SmallVec::as_slice);
        (change, keys.filter(|keys| keys.len() == change.len()))
    }

    /// Each changed table, by name, with its change as circuits see it.
    pub(crate) fn changes<'a>(
        &'a self,
        prepared: &'a Prepared,
    ) -> impl Iterator<Item = (&'a str, &'a ZSet<Value>)> + 'a {
        self.tables.iter().enumerate().map(move |(at, (name, _))| (name.as_str(), self.change_at(prepared, at)))
    }

    /// The change of an order index's table as circuits see it, with each
    /// row's place in the index (in the change's iteration order): as
    /// prepared, or computed here for an index made after the change was
    /// prepared. `None` if the version does not change the table.
    pub(crate) fn keyed_for<'a>(
        &'a self,
        prepared: &'a Prepared,
        tables: &Tables,
        index: &OrderIndexRef,
    ) -> Option<(&'a ZSet<Value>, Cow<'a, [Keyed]>)> {
        if !tables.owns(index) {
            return None;
        }
        let at = self.position(&index.table).ok()?;
        match self.keyed_at(prepared, at, index.slot as usize) {
            (change, Some(keys)) => Some((change, Cow::Borrowed(keys))),
            (change, None) => {
                let index = tables.get_order_index(index)?;
                Some((change, Cow::Owned(change.iter().map(|(row, _)| index.keys_of(row)).collect())))
            }
        }
    }
}

/// A row's place in an order index: its partition and its sort key.
pub(crate) type Keyed = (Value, SortKey);

/// A prepared change, kept in its [`Delta`] or made for one step.
pub(crate) enum Prep<'a> {
    Kept(&'a Prepared),
    Fresh(Box<Prepared>),
}

impl Prep<'_> {
    pub(crate) fn get(&self) -> &Prepared {
        match self {
            Prep::Kept(p) => p,
            Prep::Fresh(p) => p,
        }
    }
}

/// What the tables before a version make of its change: computed once, by
/// the first circuit that steps with it.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    /// The tables it was made against, as they were.
    stamp: Stamp,
    /// Per changed table, in the order of [`Delta::tables`].
    tables: SmallVec<[PreparedTable; 1]>,
    /// Whether [`Tables::check`] passed the change against those tables.
    checked: Checked,
}

/// A flag set once, read by any thread.
#[derive(Debug, Default)]
struct Checked(AtomicBool);

impl Clone for Checked {
    fn clone(&self) -> Self {
        Checked(AtomicBool::new(self.0.load(Ordering::Relaxed)))
    }
}

impl Prepared {
    /// Marks the change as checked against the tables it was made for.
    pub(crate) fn mark_checked(&self) {
        self.checked.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Tables::check`] passed the change against these tables.
    pub(crate) fn is_checked(&self) -> bool {
        self.checked.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone, Debug)]
struct PreparedTable {
    /// The change with every removal naming the row as the table holds it;
    /// `None` where the change already does (the usual case).
    canonical: Option<ZSet<Value>>,
    /// Per order index of the table (by slot): the partition and sort key of
    /// each row of the change, in the change's iteration order, for the
    /// top-k circuits that step with it and then for the index itself.
    order_keys: SmallVec<[SmallVec<[Keyed; 2]>; 1]>,
}

impl Prepared {
    fn new(delta: &Delta, tables: &Tables) -> Prepared {
        let prepared = delta
            .tables
            .iter()
            .map(|(name, change)| {
                let Some(table) = tables.table(name) else {
                    return PreparedTable { canonical: None, order_keys: SmallVec::new() };
                };
                let canonical = canonical(table.rows(), change);
                let rows = canonical.as_ref().unwrap_or(change);
                let order_keys = table
                    .order_indexes
                    .iter()
                    .map(|slot| match slot {
                        Some(shared) => rows.iter().map(|(row, _)| shared.index.keys_of(row)).collect(),
                        None => SmallVec::new(),
                    })
                    .collect();
                PreparedTable { canonical, order_keys }
            })
            .collect();
        Prepared { stamp: tables.stamp(), tables: prepared, checked: Checked::default() }
    }
}

/// `change` with each removal naming its row as `rows` hold it, or `None` if
/// every removal already does.
///
/// A removal may name a row in other number kinds than the table holds it
/// in (from a source that writes numbers differently): it removes the row
/// the table holds. And a removal that names the row alike is usually still
/// another copy of it (a source decodes the old row anew): it is replaced by
/// the held row too, so that everything after (the check, the circuits, the
/// tables) finds the row by pointer, not by reading every field again.
fn canonical(rows: &ZSet<Value>, change: &ZSet<Value>) -> Option<ZSet<Value>> {
    let held: SmallVec<[Option<&Value>; 4]> =
        change.iter().map(|(row, w)| (w < 0).then(|| rows.get_equal(row).map(|(held, _)| held)).flatten()).collect();
    let shared = held.iter().zip(change.iter()).all(|(held, (row, _))| held.is_none_or(|held| shares(held, row)));
    if shared {
        return None;
    }
    Some(change.iter().zip(held).map(|((row, w), held)| (held.unwrap_or(row).clone(), w)).collect())
}

/// Whether `a` and `b` are one row: the same handle on an object's fields,
/// or identical values of other kinds.
fn shares(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => Object::ptr_eq(a, b),
        _ => a.identical(b),
    }
}
