//! [`View`]: a registered view, with what it shows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ssp_core::{Record, RecordId, Value, Version, ZSet};
use ssp_cvr::{ViewDiff, ViewId, ViewState, content_version};
use ssp_ops::Circuit;
use ssp_planner::Params;

use crate::error::RuntimeError;

/// The records a view shows, by id: a vector sorted by id while the view is
/// small (most views are a page of results: a vector of ten records is a
/// third of a hash map's size), a hash map once it is larger.
pub(crate) enum Shown {
    Small(Vec<Record>),
    Large(HashMap<RecordId, Record>),
}

impl Default for Shown {
    fn default() -> Self {
        Shown::Small(Vec::new())
    }
}

impl Shown {
    /// Above this many records, a hash map.
    const SMALL: usize = 32;

    pub(crate) fn get(&self, id: &RecordId) -> Option<&Record> {
        match self {
            Shown::Small(v) => v.binary_search_by(|r| r.id.cmp(id)).ok().map(|at| &v[at]),
            Shown::Large(m) => m.get(id),
        }
    }

    pub(crate) fn insert(&mut self, record: Record) {
        match self {
            Shown::Small(v) => match v.binary_search_by(|r| r.id.cmp(&record.id)) {
                Ok(at) => v[at] = record,
                Err(at) if v.len() < Self::SMALL => v.insert(at, record),
                Err(_) => {
                    let mut m: HashMap<RecordId, Record> = v.drain(..).map(|r| (r.id.clone(), r)).collect();
                    m.insert(record.id.clone(), record);
                    *self = Shown::Large(m);
                }
            },
            Shown::Large(m) => {
                m.insert(record.id.clone(), record);
            }
        }
    }

    pub(crate) fn remove(&mut self, id: &RecordId) {
        match self {
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

    pub(crate) fn values(&self) -> impl Iterator<Item = &Record> {
        let (small, large) = match self {
            Shown::Small(v) => (Some(v.iter()), None),
            Shown::Large(m) => (None, Some(m.values())),
        };
        small.into_iter().flatten().chain(large.into_iter().flatten())
    }

    /// Gives back what a small view's vector holds beyond its records.
    pub(crate) fn shrink(&mut self) {
        if let Shown::Small(v) = self
            && v.capacity() > v.len() + v.len() / 4 + 2
        {
            v.shrink_to_fit();
        }
    }
}

/// A registered view.
pub struct View {
    pub(crate) id: ViewId,
    pub(crate) text: String,
    pub(crate) params: Params,
    /// The plan and parameter values the circuit runs, to rebuild it.
    pub(crate) plan: Arc<ssp_ops::Plan>,
    pub(crate) slots: Vec<Value>,
    pub(crate) circuit: Circuit,
    /// How often the breaker rehydrated the view.
    pub(crate) trips: u64,
    /// Whether the view shows records (else computed rows).
    pub(crate) shows_records: bool,
    /// What the view shows now, by id.
    pub(crate) records: Shown,
    /// A grouped view's rows, integrated.
    pub(crate) rows: ZSet<Value>,
    /// The version of the last step that reached the view.
    pub(crate) version: Version,
    pub(crate) holders: usize,
}

impl View {
    /// The view's id.
    pub fn id(&self) -> &ViewId {
        &self.id
    }

    /// The view's query, as canonical SurrealQL.
    pub fn query(&self) -> &str {
        &self.text
    }

    /// The view's parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// What the view shows, as record ids and versions; its version is that
    /// of the last step that reached the view.
    pub fn state(&self) -> ViewState {
        ViewState::from_records(self.version, self.records.values().map(|r| (r.id.clone(), r.version)))
    }

    /// The records the view shows, in no particular order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    /// The tables the view reads.
    pub fn tables(&self) -> &[smol_str::SmolStr] {
        self.circuit.tables()
    }

    /// How many registrations hold the view.
    pub fn holders(&self) -> usize {
        self.holders
    }

    /// How often the circuit breaker rehydrated the view.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// What the view shows now, as the circuit's integrated output.
    pub(crate) fn output(&self) -> ZSet<Value> {
        if self.shows_records {
            self.records.values().map(|r| (r.value.clone(), 1)).collect()
        } else {
            self.rows.clone()
        }
    }

    /// Takes one version's output change into the view; returns the diff.
    pub(crate) fn absorb(&mut self, change: ZSet<Value>, version: Version) -> Result<ViewDiff, RuntimeError> {
        // Each touched id, with the version the view showed before.
        let mut touched: BTreeMap<RecordId, Option<Version>> = BTreeMap::new();
        if self.shows_records {
            // Every row's id first, so that a row without one changes nothing.
            let mut rows: Vec<(RecordId, &Value, i64)> = change
                .iter()
                .map(|(row, w)| record_id_of(&self.id, row).map(|id| (id, row, w)))
                .collect::<Result<_, _>>()?;
            // Removals first: an update is `-old +new` of one id.
            rows.sort_by_key(|(_, _, w)| *w);
            for (id, row, w) in rows {
                let held = self.records.get(&id).map(|r| r.version);
                touched.entry(id.clone()).or_insert(held);
                if w < 0 {
                    self.records.remove(&id);
                } else {
                    self.records.insert(Record::new(id, content_version(row), row.clone()));
                }
            }
        } else {
            for (row, w) in change.iter() {
                let before = self.rows.weight(row).max(0);
                self.rows.update(row.clone(), w);
                let after = self.rows.weight(row).max(0);
                let version = content_version(row);
                for copy in before.min(after)..before.max(after) {
                    let id = RecordId::new(self.id.as_str(), format!("{:016x}.{copy}", version.0));
                    let held = self.records.get(&id).map(|r| r.version);
                    touched.entry(id.clone()).or_insert(held);
                    if after > before {
                        self.records.insert(Record::new(id, version, row.clone()));
                    } else {
                        self.records.remove(&id);
                    }
                }
            }
        }
        let mut diff = ViewDiff::new(self.id.clone(), version);
        for (id, held) in touched {
            match (held, self.records.get(&id)) {
                (held, Some(now)) if held != Some(now.version) => {
                    diff.upsert(now.clone());
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
        let mut records: Vec<&Record> = self.records.values().collect();
        records.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        for r in records {
            diff.upsert(r.clone());
        }
        diff
    }
}

fn record_id_of(view: &ViewId, row: &Value) -> Result<RecordId, RuntimeError> {
    match row {
        Value::Object(o) => match o.get("id") {
            Some(Value::RecordId(id)) => Ok((**id).clone()),
            _ => Err(RuntimeError::NotARecord { view: view.clone(), row: row.to_string() }),
        },
        _ => Err(RuntimeError::NotARecord { view: view.clone(), row: row.to_string() }),
    }
}
