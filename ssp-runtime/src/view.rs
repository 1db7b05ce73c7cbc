//! [`View`]: a registered view, with what it shows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ssp_core::{Record, RecordId, Value, Version, ZSet};
use ssp_cvr::{ViewDiff, ViewId, ViewState, content_version};
use ssp_ops::Circuit;

use crate::error::RuntimeError;

/// The records a view shows, by id.
///
/// Most views are a page of rows of records, the window of a top-k: such a
/// view reads them from its circuit. Other views of records keep each row
/// with its content version in a vector sorted by the id the row holds (the
/// id is not copied, and the row's content is shared with the circuit, not
/// copied either: 40 bytes a record). A view of computed rows (a grouped
/// view) keeps records with ids of their own; any view above
/// [`Shown::SMALL`] records keeps a hash map. (Boxed, so that a view that
/// reads its window spends 16 bytes here.)
#[allow(clippy::box_collection, reason = "boxed so that the usual view, which reads its window, spends 16 bytes here")]
pub(crate) enum Shown {
    /// A view of records whose circuit ends in a top-k: the records are the
    /// rows of the circuit's window, read there (nothing kept here; their
    /// versions are computed when asked for).
    Window,
    Rows(Box<Vec<(Value, Version)>>),
    Small(Box<Vec<Record>>),
    Large(Box<HashMap<RecordId, Record>>),
}

/// The id a row of records holds, if it holds one.
pub(crate) fn row_id(row: &Value) -> Option<&RecordId> {
    match row {
        Value::Object(o) => match o.get("id") {
            Some(Value::RecordId(id)) => Some(id),
            _ => None,
        },
        _ => None,
    }
}

impl Shown {
    /// Above this many records, a hash map.
    const SMALL: usize = 32;

    /// What a view shows before its first row: rows of records, or
    /// computed records.
    pub(crate) fn new(shows_records: bool, windowed: bool) -> Self {
        match (shows_records, windowed) {
            (true, true) => Shown::Window,
            (true, false) => Shown::Rows(Box::default()),
            (false, _) => Shown::Small(Box::default()),
        }
    }

    fn find_row(rows: &[(Value, Version)], id: &RecordId) -> Result<usize, usize> {
        rows.binary_search_by(|(row, _)| row_id(row).cmp(&Some(id)))
    }

    /// The version and content of record `id`, if shown.
    pub(crate) fn get(&self, id: &RecordId) -> Option<(Version, &Value)> {
        match self {
            Shown::Window => None,
            Shown::Rows(v) => Self::find_row(v, id).ok().map(|at| (v[at].1, &v[at].0)),
            Shown::Small(v) => v.binary_search_by(|r| r.id.cmp(id)).ok().map(|at| (v[at].version, &v[at].value)),
            Shown::Large(m) => m.get(id).map(|r| (r.version, &r.value)),
        }
    }

    /// Shows `value` at `version` as record `id`.
    pub(crate) fn insert(&mut self, id: RecordId, version: Version, value: Value) {
        let full = self.len() >= Self::SMALL;
        match self {
            Shown::Rows(v) if row_id(&value) == Some(&id) => match Self::find_row(v, &id) {
                Ok(at) => return v[at] = (value, version),
                Err(at) if !full => return v.insert(at, (value, version)),
                Err(_) => {}
            },
            Shown::Small(v) => match v.binary_search_by(|r| r.id.cmp(&id)) {
                Ok(at) => return v[at] = Record::new(id, version, value),
                Err(at) if !full => return v.insert(at, Record::new(id, version, value)),
                Err(_) => {}
            },
            // A row that does not hold its id (not built so) goes to a map.
            _ => {}
        }
        self.grow().insert(id.clone(), Record::new(id, version, value));
    }

    /// Turns a vector into a hash map; returns the map.
    fn grow(&mut self) -> &mut HashMap<RecordId, Record> {
        let map: HashMap<RecordId, Record> = match std::mem::replace(self, Shown::Window) {
            Shown::Window => HashMap::new(),
            Shown::Rows(v) => (*v)
                .into_iter()
                .filter_map(|(row, version)| {
                    row_id(&row).cloned().map(|id| (id.clone(), Record::new(id, version, row)))
                })
                .collect(),
            Shown::Small(v) => (*v).into_iter().map(|r| (r.id.clone(), r)).collect(),
            Shown::Large(m) => *m,
        };
        *self = Shown::Large(Box::new(map));
        match self {
            Shown::Large(m) => m,
            // Just set.
            _ => unreachable!("the map was just set"),
        }
    }

    pub(crate) fn remove(&mut self, id: &RecordId) {
        match self {
            Shown::Window => {}
            Shown::Rows(v) => {
                if let Ok(at) = Self::find_row(v, id) {
                    v.remove(at);
                }
            }
            Shown::Small(v) => {
                if let Ok(at) = v.binary_search_by(|r| r.id.cmp(id)) {
                    v.remove(at);
                }
            }
            Shown::Large(m) => {
                m.remove(id);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Shown::Window => 0,
            Shown::Rows(v) => v.len(),
            Shown::Small(v) => v.len(),
            Shown::Large(m) => m.len(),
        }
    }

    /// Every record shown, as id, version and content.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = (&RecordId, Version, &Value)> + '_> {
        match self {
            Shown::Window => Box::new(std::iter::empty()),
            Shown::Rows(v) => Box::new(v.iter().filter_map(|(row, version)| row_id(row).map(|id| (id, *version, row)))),
            Shown::Small(v) => Box::new(v.iter().map(|r| (&r.id, r.version, &r.value))),
            Shown::Large(m) => Box::new(m.values().map(|r| (&r.id, r.version, &r.value))),
        }
    }

    /// Gives back what a small view's vector holds beyond its records.
    pub(crate) fn shrink(&mut self) {
        match self {
            Shown::Rows(v) if v.capacity() > v.len() + v.len() / 4 + 2 => v.shrink_to_fit(),
            Shown::Small(v) if v.capacity() > v.len() + v.len() / 4 + 2 => v.shrink_to_fit(),
            _ => {}
        }
    }
}

/// A registered view.
pub struct View {
    pub(crate) id: ViewId,
    /// The query's canonical text, shared by the views of its shape.
    pub(crate) text: Arc<str>,
    pub(crate) circuit: Circuit,
    /// What the view shows now, by id.
    pub(crate) records: Shown,
    /// A grouped view's rows, integrated (`None` for a view of records).
    pub(crate) rows: Option<Box<ZSet<Value>>>,
    /// The version of the last step that reached the view.
    pub(crate) version: Version,
    /// How often the breaker rehydrated the view.
    pub(crate) trips: u32,
    /// Registrations holding the view.
    pub(crate) holders: u32,
}

impl View {
    /// A view of `circuit`'s output (rows of records if `shows_records`,
    /// else computed rows), showing nothing yet.
    pub(crate) fn new(id: ViewId, text: Arc<str>, circuit: Circuit, shows_records: bool) -> Self {
        View {
            id,
            text,
            records: Shown::new(shows_records, circuit.output_window().is_some()),
            circuit,
            rows: (!shows_records).then(Box::default),
            version: Version::ZERO,
            trips: 0,
            holders: 0,
        }
    }

    /// The view's id.
    pub fn id(&self) -> &ViewId {
        &self.id
    }

    /// The view's query, as canonical SurrealQL.
    pub fn query(&self) -> &str {
        &self.text
    }

    /// The values of the view's parameters, in the order of the plan's
    /// slots (the names are the caller's: the engine keeps only the values
    /// its circuit reads).
    pub fn param_values(&self) -> &[Value] {
        self.circuit.params()
    }

    /// What the view shows, as record ids and versions; its version is that
    /// of the last step that reached the view.
    pub fn state(&self) -> ViewState {
        ViewState::from_records(self.version, self.iter().map(|(id, version, _)| (id.clone(), version)))
    }

    /// The records the view shows, in no particular order (made on the fly:
    /// their contents are shared, not copied).
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.iter().map(|(id, version, value)| Record::new(id.clone(), version, value.clone()))
    }

    /// The tables the view reads.
    pub fn tables(&self) -> &[smol_str::SmolStr] {
        self.circuit.tables()
    }

    /// How many registrations hold the view.
    pub fn holders(&self) -> usize {
        self.holders as usize
    }

    /// How often the circuit breaker rehydrated the view.
    pub fn trips(&self) -> u64 {
        u64::from(self.trips)
    }

    /// What the view shows now, as the circuit's integrated output.
    pub(crate) fn output(&self) -> ZSet<Value> {
        match (&self.rows, self.circuit.output_window()) {
            (Some(rows), _) => (**rows).clone(),
            (None, Some(window)) if matches!(self.records, Shown::Window) => window.iter().cloned().collect(),
            (None, _) => self.iter().map(|(_, _, row)| (row.clone(), 1)).collect(),
        }
    }

    /// Every record the view shows, as id, version and content.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = (&RecordId, Version, &Value)> + '_> {
        match (&self.records, self.circuit.output_window()) {
            (Shown::Window, Some(window)) => {
                Box::new(window.iter().filter_map(|(row, _)| row_id(row).map(|id| (id, content_version(row), row))))
            }
            (shown, _) => shown.iter(),
        }
    }

    /// Takes one version's output change into the view; returns the diff.
    pub(crate) fn absorb(&mut self, change: ZSet<Value>, version: Version) -> Result<ViewDiff, RuntimeError> {
        // Each touched id, with the version the view showed before.
        let mut touched: BTreeMap<RecordId, Option<Version>> = BTreeMap::new();
        if let Some(grouped) = &mut self.rows {
            for (row, w) in change.iter() {
                let before = grouped.weight(row).max(0);
                grouped.update(row.clone(), w);
                let after = grouped.weight(row).max(0);
                let version = content_version(row);
                for copy in before.min(after)..before.max(after) {
                    let id = RecordId::new(self.id.as_str(), format!("{:016x}.{copy}", version.0));
                    let held = self.records.get(&id).map(|(v, _)| v);
                    touched.entry(id.clone()).or_insert(held);
                    if after > before {
                        self.records.insert(id, version, row.clone());
                    } else {
                        self.records.remove(&id);
                    }
                }
            }
        } else if matches!(self.records, Shown::Window) {
            // The circuit's window already holds the new state: the change
            // says what each touched record was (its removed row) and is
            // (its added row). Sorted by id, each id's rows are adjacent.
            let mut rows: Vec<(&RecordId, i64, &Value)> = change
                .iter()
                .map(|(row, w)| {
                    row_id(row)
                        .map(|id| (id, w, row))
                        .ok_or_else(|| RuntimeError::NotARecord { view: self.id.clone(), row: row.to_string() })
                })
                .collect::<Result<_, _>>()?;
            rows.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
            let mut diff = ViewDiff::new(self.id.clone(), version);
            for same in rows.chunk_by(|a, b| a.0 == b.0) {
                let id = same[0].0;
                let held = same.iter().find(|(_, w, _)| *w < 0).map(|(_, _, row)| content_version(row));
                match same.iter().find(|(_, w, _)| *w > 0) {
                    Some(&(_, _, row)) => {
                        let at = content_version(row);
                        if held != Some(at) {
                            diff.upsert(Record::new(id.clone(), at, row.clone()));
                        }
                    }
                    None if held.is_some() => {
                        diff.remove(id.clone());
                    }
                    None => {}
                }
            }
            self.version = self.version.max(version);
            return Ok(diff);
        } else {
            // Every row's id first, so that a row without one changes nothing.
            let mut rows: Vec<(RecordId, &Value, i64)> = change
                .iter()
                .map(|(row, w)| record_id_of(&self.id, row).map(|id| (id, row, w)))
                .collect::<Result<_, _>>()?;
            // Removals first: an update is `-old +new` of one id.
            rows.sort_by_key(|(_, _, w)| *w);
            for (id, row, w) in rows {
                let held = self.records.get(&id).map(|(v, _)| v);
                touched.entry(id.clone()).or_insert(held);
                if w < 0 {
                    self.records.remove(&id);
                } else {
                    self.records.insert(id, content_version(row), row.clone());
                }
            }
        }
        let mut diff = ViewDiff::new(self.id.clone(), version);
        for (id, held) in touched {
            match (held, self.records.get(&id)) {
                (held, Some((now, value))) if held != Some(now) => {
                    diff.upsert(Record::new(id, now, value.clone()));
                }
                (Some(_), None) => {
                    diff.remove(id);
                }
                _ => {}
            }
        }
        self.version = self.version.max(version);
        self.records.shrink();
        Ok(diff)
    }

    /// The whole view, at `version`, as a diff to a client that holds
    /// nothing.
    pub(crate) fn everything(&self, version: Version) -> ViewDiff {
        let mut diff = ViewDiff::new(self.id.clone(), version.max(self.version));
        let mut records: Vec<(&RecordId, Version, &Value)> = self.iter().collect();
        records.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (id, version, value) in records {
            diff.upsert(Record::new(id.clone(), version, value.clone()));
        }
        diff
    }
}

fn record_id_of(view: &ViewId, row: &Value) -> Result<RecordId, RuntimeError> {
    row_id(row).cloned().ok_or_else(|| RuntimeError::NotARecord { view: view.clone(), row: row.to_string() })
}

/// The views in memory, by id: a hash table of boxed views keyed by the id
/// each holds (a slot is a pointer; the id is not kept twice).
#[derive(Default)]
pub(crate) struct Views(hashbrown::HashTable<Box<View>>);

fn slot(id: &ViewId) -> u64 {
    use std::hash::BuildHasher;
    ssp_core::FixedHasher::default().hash_one(id)
}

impl Views {
    pub(crate) fn get(&self, id: &ViewId) -> Option<&View> {
        self.0.find(slot(id), |v| &v.id == id).map(|v| &**v)
    }

    pub(crate) fn get_mut(&mut self, id: &ViewId) -> Option<&mut View> {
        self.0.find_mut(slot(id), |v| &v.id == id).map(|v| &mut **v)
    }

    pub(crate) fn contains_key(&self, id: &ViewId) -> bool {
        self.get(id).is_some()
    }

    /// Adds `view`; its id must not be in the table.
    pub(crate) fn insert(&mut self, view: Box<View>) {
        self.0.insert_unique(slot(&view.id), view, |v| slot(&v.id));
    }

    pub(crate) fn remove(&mut self, id: &ViewId) -> Option<Box<View>> {
        self.0.find_entry(slot(id), |v| &v.id == id).ok().map(|entry| entry.remove().0)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &View> {
        self.0.iter().map(|v| &**v)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut View> {
        self.0.iter_mut().map(|v| &mut **v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssp_ops::{Direction, Expr, PlanBuilder, Tables};

    fn row(text: &str) -> Value {
        text.parse().expect("a literal")
    }

    /// A view of records over `t`, its circuit ending in a top-k if `windowed`.
    fn view(windowed: bool) -> View {
        let mut b = PlanBuilder::new();
        let t = b.source("t");
        let out = if windowed { b.top_k(t, vec![(Expr::field("n"), Direction::Asc)], 3, 0) } else { t };
        let plan = b.build(out).expect("a valid plan");
        let (circuit, _) = Circuit::new(plan, &mut Tables::new());
        View::new(ViewId::new("v"), Arc::from("SELECT * FROM t"), circuit, true)
    }

    // A view of records whose circuit yields a row without a record id (a
    // planner bug, not reachable from a query) fails with `NotARecord`
    // naming the view and the row, whether it reads its records from its
    // window or keeps them, and takes nothing of the change.
    #[test]
    fn a_row_without_a_record_id_is_refused_by_name() {
        for windowed in [true, false] {
            let mut v = view(windowed);
            assert_eq!(matches!(v.records, Shown::Window), windowed);
            let change: ZSet<Value> = [(row("{ id: t:1, n: 1 }"), 1), (row("{ n: 2 }"), 1)].into_iter().collect();
            let err = v.absorb(change, Version(1)).expect_err("a row without an id");
            match &err {
                RuntimeError::NotARecord { view, row } => {
                    assert_eq!(view.as_str(), "v");
                    assert_eq!(row, "{ n: 2 }");
                }
                other => panic!("expected NotARecord, got {other:?}"),
            }
            assert!(err.to_string().contains("without a record id"), "{err}");
            assert_eq!(v.records().count(), 0, "the refused change shows nothing");
        }
    }
}
