//! [`Engine`]: the views of one worker over one set of base tables.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use smol_str::SmolStr;
use ssp_core::{ChangeBatch, FieldPath, Record, RecordId, Value, Version, ZSet};
use ssp_cvr::{Cvr, ViewDiff, ViewId, ViewState, content_version};
use ssp_ops::{Circuit, Delta, Tables};
use ssp_planner::ast::Select;
use ssp_planner::{Lowered, Params, Schema, parse, plan};

use crate::error::RuntimeError;

/// The views of one worker over one set of base tables: it registers views
/// from SurrealQL (once per query and parameters), steps them with each
/// version's change batches, and says what changed for the clients of each
/// view, as [`ViewDiff`]s of records with their versions.
///
/// - **One view per query and parameters.** Registering the same query
///   (in any spelling that parses to the same tree) with the same parameters
///   gives the same [`ViewId`], however many clients hold it; the id is a
///   function of the canonical text and the parameters, so it is the same on
///   every worker.
/// - **One plan per shape.** Views of one query text with different
///   parameters share one lowered plan and the base tables' shared indexes;
///   each owns only its own state.
/// - **Records, with versions.** A view of rows of records shows the records
///   themselves (those its rows come from, those their links reach and
///   `FETCH` brings, the rows of their subqueries), each with its [content
///   version](content_version). A grouped view's rows are computed: each is
///   shown as a record of its own whose id is made from its content (table
///   the view id), so it is sent again only when it changes.
/// - **Routing.** A version's batches step only the views that read the
///   tables they touch.
/// - **Catch-up.** [`catch_up`](Self::catch_up) gives a client the minimal
///   diff from what its CVR says it holds to the view as it is.
///
/// ```
/// use ssp_core::{ChangeBatch, Record, RecordId, Value, Version};
/// use ssp_cvr::{Cvr, ViewState};
/// use ssp_runtime::Engine;
///
/// let mut engine = Engine::new(Default::default());
/// let open = engine.register("SELECT * FROM issue WHERE open = true ORDER BY id LIMIT 10", Default::default())?;
///
/// let mut batch = ChangeBatch::new("issue", Version(1));
/// let row: Value = "{ id: issue:1, title: 'Crash', open: true }".parse()?;
/// batch.insert(Record::new(RecordId::new("issue", 1), Version(1), row))?;
/// let diffs = engine.step(Version(1), &[batch])?;
/// assert_eq!(diffs[0].view, open);
/// assert_eq!(diffs[0].upserts[0].id, RecordId::new("issue", 1));
///
/// // A client that connects now gets the view from what it holds (nothing).
/// let diff = engine.catch_up(&open, None)?;
/// assert_eq!(diff.upserts.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Engine {
    schema: Schema,
    breaker: Breaker,
    routes: Routes,
    /// How often the breaker tripped.
    trips: u64,
    /// How many view steps (and rehydrations) the engine ran.
    stepped: u64,
    tables: Tables,
    views: BTreeMap<ViewId, View>,
    /// Lowered plans by canonical query text: the views of one shape.
    shapes: HashMap<String, Vec<Arc<Lowered>>>,
    version: Version,
}

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
struct Routes {
    keyed: HashMap<(SmolStr, FieldPath), HashMap<Value, BTreeSet<ViewId>>>,
    any: HashMap<SmolStr, BTreeSet<ViewId>>,
}

impl Routes {
    fn add(&mut self, view: &ViewId, keys: Vec<(SmolStr, Option<(FieldPath, Value)>)>) {
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

    fn remove(&mut self, view: &ViewId, keys: Vec<(SmolStr, Option<(FieldPath, Value)>)>) {
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
    fn reached(&self, delta: &Delta) -> BTreeSet<ViewId> {
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

/// When a view is rehydrated instead of stepped: the circuit breaker.
///
/// Before each step of a view, its circuit estimates the rows an
/// incremental step with the change would touch and the rows a rehydration
/// would read ([`Circuit::cost`]). When the change has at least
/// `min_batch` rows and the step would touch more than `ratio` times what a
/// rehydration reads, the view is rehydrated from the tables after the step
/// and its clients are sent the difference between what they held and the
/// new state; a batch that rewrites most of a table never costs more than
/// rebuilding the view.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Breaker {
    /// Trip when the step's cost exceeds this share of the rehydration's.
    /// Default: 0.5.
    pub ratio: f64,
    /// Never trip for a change of fewer rows than this. Default: 64.
    pub min_batch: usize,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker { ratio: 0.5, min_batch: 64 }
    }
}

impl Breaker {
    /// A breaker that never trips.
    pub const NEVER: Breaker = Breaker { ratio: f64::INFINITY, min_batch: usize::MAX };

    /// A breaker that trips on every change (every step is a rehydration).
    pub const ALWAYS: Breaker = Breaker { ratio: -1.0, min_batch: 0 };

    fn trips(&self, cost: ssp_ops::Cost, batch_rows: usize) -> bool {
        batch_rows >= self.min_batch && cost.step_rows as f64 > self.ratio * cost.rehydrate_rows as f64
    }
}

/// The records a view shows, by id: a vector sorted by id while the view is
/// small (most views are a page of results: a vector of ten records is a
/// third of a hash map's size), a hash map once it is larger.
enum Shown {
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

    fn get(&self, id: &RecordId) -> Option<&Record> {
        match self {
            Shown::Small(v) => v.binary_search_by(|r| r.id.cmp(id)).ok().map(|at| &v[at]),
            Shown::Large(m) => m.get(id),
        }
    }

    fn insert(&mut self, record: Record) {
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

    fn remove(&mut self, id: &RecordId) {
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

    fn values(&self) -> impl Iterator<Item = &Record> {
        let (small, large) = match self {
            Shown::Small(v) => (Some(v.iter()), None),
            Shown::Large(m) => (None, Some(m.values())),
        };
        small.into_iter().flatten().chain(large.into_iter().flatten())
    }

    /// Gives back what a small view's vector holds beyond its records.
    fn shrink(&mut self) {
        if let Shown::Small(v) = self
            && v.capacity() > v.len() + v.len() / 4 + 2
        {
            v.shrink_to_fit();
        }
    }
}

/// A registered view.
pub struct View {
    id: ViewId,
    text: String,
    params: Params,
    /// The plan and parameter values the circuit runs, to rebuild it.
    plan: Arc<ssp_ops::Plan>,
    slots: Vec<Value>,
    circuit: Circuit,
    /// How often the breaker rehydrated the view.
    trips: u64,
    /// Whether the view shows records (else computed rows).
    shows_records: bool,
    /// What the view shows now, by id.
    records: Shown,
    /// A grouped view's rows, integrated.
    rows: ZSet<Value>,
    /// The version of the last step that reached the view.
    version: Version,
    holders: usize,
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
    fn output(&self) -> ZSet<Value> {
        if self.shows_records {
            self.records.values().map(|r| (r.value.clone(), 1)).collect()
        } else {
            self.rows.clone()
        }
    }

    /// Takes one version's output change into the view; returns the diff.
    fn absorb(&mut self, change: ZSet<Value>, version: Version) -> Result<ViewDiff, RuntimeError> {
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
    fn everything(&self, version: Version) -> ViewDiff {
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

/// The id of the view of `text` (canonical) with `params`: the same on every
/// worker.
fn view_id(text: &str, params: &Params) -> ViewId {
    let key = Value::Array(
        [Value::from(text), Value::Object(params.iter().map(|(k, v)| (k.clone(), v.clone())).collect())]
            .into_iter()
            .collect(),
    );
    ViewId::new(format!("view_{:016x}", content_version(&key).0))
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(Schema::default())
    }
}

impl Engine {
    /// An engine with no views over empty tables, checking queries against
    /// `schema` (an empty schema accepts any table and field).
    pub fn new(schema: Schema) -> Self {
        Engine::with_breaker(schema, Breaker::default())
    }

    /// [`Engine::new`] with a circuit breaker of its own.
    pub fn with_breaker(schema: Schema, breaker: Breaker) -> Self {
        Engine {
            schema,
            breaker,
            trips: 0,
            stepped: 0,
            routes: Routes::default(),
            tables: Tables::new(),
            views: BTreeMap::new(),
            shapes: HashMap::new(),
            version: Version::ZERO,
        }
    }

    /// How often the circuit breaker tripped, over all views.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// How many times a view was stepped or rehydrated for a change: the
    /// predicate index keeps this to the views a change can reach.
    pub fn view_steps(&self) -> u64 {
        self.stepped
    }

    /// Registers the view of SurrealQL `query` with `params`, or takes one
    /// more hold of it if it is registered; returns its id. The view is
    /// hydrated from the tables as they are.
    pub fn register(&mut self, query: &str, params: Params) -> Result<ViewId, RuntimeError> {
        let select = parse(query).map_err(|e| RuntimeError::Parse {
            query: query.to_owned(),
            rendered: e.display_with(query),
            source: Box::new(e),
        })?;
        self.register_select(&select, params)
    }

    /// [`register`](Self::register) for a query built in code (see
    /// `ssp_planner::builder`) or parsed already.
    pub fn register_select(&mut self, select: &Select, params: Params) -> Result<ViewId, RuntimeError> {
        let text = select.to_string();
        let id = view_id(&text, &params);
        if let Some(view) = self.views.get_mut(&id) {
            view.holders += 1;
            return Ok(id);
        }
        let (lowered, slots) = self.lowered(select, &text, &params)?;
        let (plan, shows_records) = match &lowered.records {
            Some(records) => (records.clone(), true),
            None => (lowered.plan.clone(), false),
        };
        let (circuit, initial) = Circuit::with_params(plan.clone(), slots.clone(), &mut self.tables);
        let mut view = View {
            id: id.clone(),
            text,
            params,
            plan,
            slots,
            circuit,
            trips: 0,
            shows_records,
            records: Shown::default(),
            rows: ZSet::new(),
            version: Version::ZERO,
            holders: 1,
        };
        view.absorb(initial, self.version)?;
        self.routes.add(&id, view.circuit.route_keys());
        self.views.insert(id.clone(), view);
        Ok(id)
    }

    /// The lowered plan of `select`'s shape that serves `params`, planned
    /// once per shape (and per value of the parameters that fix a shape,
    /// like `LIMIT $n`), and the parameter slots' values.
    fn lowered(
        &mut self,
        select: &Select,
        text: &str,
        params: &Params,
    ) -> Result<(Arc<Lowered>, Vec<Value>), RuntimeError> {
        let shapes = self.shapes.entry(text.to_owned()).or_default();
        for lowered in shapes.iter() {
            if let Ok(slots) = lowered.bind(params) {
                return Ok((lowered.clone(), slots));
            }
        }
        let planned = plan(select, &self.schema, params).map_err(|e| RuntimeError::Plan {
            query: text.to_owned(),
            rendered: e.display_with(text),
            source: Box::new(e),
        })?;
        let lowered = Arc::new(planned.lowered);
        let slots = lowered.bind(params).map_err(|e| RuntimeError::Plan {
            query: text.to_owned(),
            rendered: e.display_with(text),
            source: Box::new(e),
        })?;
        shapes.push(lowered.clone());
        Ok((lowered, slots))
    }

    /// Lets go of one hold of `view`; the view is dropped with its last hold.
    /// Returns whether the view is still registered.
    pub fn unregister(&mut self, view: &ViewId) -> Result<bool, RuntimeError> {
        let v = self.views.get_mut(view).ok_or_else(|| RuntimeError::UnknownView { view: view.clone() })?;
        v.holders -= 1;
        if v.holders == 0 {
            if let Some(gone) = self.views.remove(view) {
                self.routes.remove(view, gone.circuit.route_keys());
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// Steps every view that reads a table the batches touch with the
    /// changes of `version`, then applies them to the base tables. Returns
    /// one diff per view whose records changed.
    ///
    /// Fails, changing nothing, if `version` is not after the engine's, or
    /// if a batch removes a record state the tables do not hold. A view of
    /// records whose plan yields a row without a record id
    /// ([`RuntimeError::NotARecord`], a planner bug) fails the step after
    /// the views before it were stepped: the engine must then be rebuilt.
    pub fn step(&mut self, version: Version, batches: &[ChangeBatch]) -> Result<Vec<ViewDiff>, RuntimeError> {
        if version <= self.version && self.version != Version::ZERO {
            return Err(RuntimeError::VersionNotAfter { current: self.version, given: version });
        }
        let delta = Delta::from_batches(batches);
        self.tables.check(&delta).map_err(Box::new)?;
        let mut diffs = Vec::new();
        let batch_rows: usize = batches.iter().map(ChangeBatch::len).sum();
        let mut tripped = Vec::new();
        // Phase one: every view the change can reach, against the tables
        // before the step (or, if the breaker trips, after phase two).
        for id in self.routes.reached(&delta) {
            let Some(view) = self.views.get_mut(&id) else { continue };
            self.stepped += 1;
            if self.breaker.trips(view.circuit.cost(&self.tables, &delta), batch_rows) {
                tripped.push(view.id.clone());
                continue;
            }
            let change = view.circuit.step(&self.tables, &delta);
            let diff = view.absorb(change, version)?;
            if !diff.is_empty() {
                diffs.push(diff);
            }
        }
        // Phase two: the shared tables and indexes take the delta.
        self.tables.apply(&delta).map_err(Box::new)?;
        self.version = version;
        // The tripped views: rebuilt from the tables, their clients sent the
        // difference from what the view showed.
        for id in tripped {
            let Some(view) = self.views.get_mut(&id) else { continue };
            let (circuit, output) = Circuit::with_params(view.plan.clone(), view.slots.clone(), &mut self.tables);
            let mut change = output;
            change -= &view.output();
            view.circuit = circuit;
            view.trips += 1;
            self.trips += 1;
            let diff = view.absorb(change, version)?;
            if !diff.is_empty() {
                diffs.push(diff);
            }
        }
        diffs.sort_by(|a, b| a.view.cmp(&b.view));
        Ok(diffs)
    }

    /// The whole of `view` for a client whose record `held` may be ahead of
    /// what it really holds (it lost diffs that were recorded): every record
    /// the view shows, and the ids of `held` the view no longer shows.
    pub fn catch_up_full(&self, view: &ViewId, held: Option<&Cvr>) -> Result<ViewDiff, RuntimeError> {
        let v = self.views.get(view).ok_or_else(|| RuntimeError::UnknownView { view: view.clone() })?;
        let mut diff = v.everything(self.version);
        if let Some(cvr) = held {
            for (id, _) in cvr.iter() {
                if v.records.get(id).is_none() {
                    diff.remove(id.clone());
                }
            }
        }
        Ok(diff)
    }

    /// The diff that brings a client from what `held` says it holds of
    /// `view` (nothing, for `None`) to the view as it is: only the records
    /// it lacks or holds at another version, and the ids it should drop.
    pub fn catch_up(&self, view: &ViewId, held: Option<&Cvr>) -> Result<ViewDiff, RuntimeError> {
        let v = self.views.get(view).ok_or_else(|| RuntimeError::UnknownView { view: view.clone() })?;
        let Some(cvr) = held else { return Ok(v.everything(self.version)) };
        // A view is not stepped by changes that cannot reach it: its state is
        // current at the engine's version.
        let mut state = v.state();
        state.advance_to(self.version);
        let diff = cvr.reconnect(&state).map_err(Box::new)?;
        Ok(diff
            .into_view_diff(|id, version| v.records.get(id).filter(|r| r.version == version).map(|r| r.value.clone()))
            .map_err(Box::new)?)
    }

    /// A registered view.
    pub fn view(&self, view: &ViewId) -> Option<&View> {
        self.views.get(view)
    }

    /// The registered views, by id.
    pub fn views(&self) -> impl Iterator<Item = &View> {
        self.views.values()
    }

    /// The version of the last step.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The base tables, with their shared indexes.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// How many lowered plans serve the registered views' shapes.
    pub fn plans(&self) -> usize {
        self.shapes.values().map(Vec::len).sum()
    }
}
