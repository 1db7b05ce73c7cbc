//! [`Engine`]: the views of one worker over one set of base tables.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use smallvec::SmallVec;
use ssp_core::{ChangeBatch, Value, Version};
use ssp_cvr::{ClientId, Cvr, Timestamp, ViewDiff, ViewId, ViewState, content_version};
use ssp_ops::{Circuit, Delta, Tables};
use ssp_planner::ast::Select;
use ssp_planner::{Lowered, Params, Schema, parse, plan};

use crate::breaker::Breaker;
use crate::error::RuntimeError;
use crate::lifetime::{Expired, Holds, Lifetime, Ttls};
use crate::routes::Routes;
use crate::view::{View, Views};

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
///   tables they touch and, through a predicate index on equality filters
///   and parameters, only those whose filters a changed row can pass; many
///   views are stepped in parallel (rayon), a few on the calling thread.
/// - **Breaker.** A view whose step would cost more than rebuilding it, or
///   runs out of its time budget, is rehydrated instead ([`Breaker`]).
/// - **Lifetimes.** Clients hold views ([`subscribe`](Self::subscribe),
///   [`release`](Self::release)); a view is [evicted](Self::expire) once no
///   registration, open subscription, permanent hold or unexpired hold of a
///   connected client keeps it ([`Lifetime`], [`Ttls`]), and rebuilt when a
///   client subscribes to it again.
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
    parallel_above: usize,
    parallel_rows: usize,
    restrict_above: usize,
    routes: Routes,
    holds: Holds,
    /// How often the breaker tripped (on cost, on time).
    trips: u64,
    budget_trips: u64,
    /// How many view steps (and rehydrations) the engine ran.
    stepped: u64,
    tables: Tables,
    /// The views in memory.
    views: Views,
    /// Lowered plans by canonical query text: the views of one shape.
    shapes: HashMap<Arc<str>, Vec<Arc<Lowered>>>,
    version: Version,
    /// Why a step failed part-way, if one did: the engine refuses to step
    /// again.
    failed: Option<String>,
}

/// Builds an [`Engine`]; every setting has a documented default.
///
/// ```
/// use std::time::Duration;
/// use ssp_runtime::{Breaker, Engine, Ttls};
///
/// let engine = Engine::builder()
///     .breaker(Breaker::default().budget(Some(Duration::from_millis(20))))
///     .ttls(Ttls::default().navigational(Duration::from_secs(60)))
///     .parallel_above(128)
///     .build();
/// assert_eq!(engine.views().count(), 0);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct EngineBuilder {
    schema: Schema,
    breaker: Breaker,
    ttls: Ttls,
    parallel_above: Option<usize>,
    parallel_rows: Option<usize>,
    restrict_above: Option<usize>,
}

impl EngineBuilder {
    /// The schema queries are checked against. Default: empty (any table
    /// and field is accepted).
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = schema;
        self
    }

    /// The circuit breaker. Default: [`Breaker::default`].
    pub fn breaker(mut self, breaker: Breaker) -> Self {
        self.breaker = breaker;
        self
    }

    /// The views' times to live. Default: [`Ttls::default`].
    pub fn ttls(mut self, ttls: Ttls) -> Self {
        self.ttls = ttls;
        self
    }

    /// A change that reaches at least this many views steps them in
    /// parallel on rayon's pool; fewer are stepped on the calling thread.
    /// Default: [`Engine::PARALLEL_ABOVE`].
    pub fn parallel_above(mut self, views: usize) -> Self {
        self.parallel_above = Some(views);
        self
    }

    /// Stepping goes parallel only when the views reached see at least this
    /// many changed rows each on average: a step of a few rows costs less
    /// than handing it to another thread. Default:
    /// [`Engine::PARALLEL_ROWS`].
    pub fn parallel_rows(mut self, rows: usize) -> Self {
        self.parallel_rows = Some(rows);
        self
    }

    /// A view that the predicate index reached through a few of the rows of
    /// a table's change of more than this many rows is stepped with only
    /// those rows (its filter admits no other): a batch of a thousand rows
    /// for a thousand views costs each view its own rows, not the thousand.
    /// Default: [`Engine::RESTRICT_ABOVE`].
    pub fn restrict_above(mut self, rows: usize) -> Self {
        self.restrict_above = Some(rows);
        self
    }

    /// The engine: no views, empty tables.
    pub fn build(self) -> Engine {
        Engine {
            schema: self.schema,
            breaker: self.breaker,
            parallel_above: self.parallel_above.unwrap_or(Engine::PARALLEL_ABOVE),
            parallel_rows: self.parallel_rows.unwrap_or(Engine::PARALLEL_ROWS),
            restrict_above: self.restrict_above.unwrap_or(Engine::RESTRICT_ABOVE),
            routes: Routes::default(),
            holds: Holds::new(self.ttls),
            trips: 0,
            budget_trips: 0,
            stepped: 0,
            tables: Tables::new(),
            views: Views::default(),
            shapes: HashMap::new(),
            version: Version::ZERO,
            failed: None,
        }
    }
}

/// A shape's lowered plan, the parameter slots' values for one view of it,
/// and the shape's text.
type Bound = (Arc<Lowered>, Vec<Value>, Arc<str>);

/// What stepping one view came to.
enum Stepped {
    Diff(ViewDiff),
    /// The breaker tripped: on cost before the step, or on time during it.
    Tripped {
        on_time: bool,
    },
}

/// Steps one view with `delta` against the tables before it, unless the
/// breaker trips.
fn step_view(
    parent: &tracing::Span,
    view: &mut View,
    tables: &Tables,
    delta: &Delta,
    breaker: &Breaker,
    batch_rows: usize,
    version: Version,
) -> Result<Stepped, RuntimeError> {
    // Explicit parent: on rayon's threads the step's span is not current.
    let _span = tracing::trace_span!(parent: parent, "ssp.view", view = %view.id).entered();
    if breaker.trips(|| view.circuit.cost(tables, delta), batch_rows) {
        return Ok(Stepped::Tripped { on_time: false });
    }
    let change = match breaker.budget {
        None => view.circuit.step(tables, delta),
        Some(budget) => {
            // The clock starts at the first operator that keeps state (the
            // first time the circuit asks): one clock read for most views.
            let started: Cell<Option<Instant>> = Cell::new(None);
            let out_of_time = || {
                let now = Instant::now();
                let since = started.get().unwrap_or_else(|| {
                    started.set(Some(now));
                    now
                });
                now.duration_since(since) >= budget
            };
            match view.circuit.step_within(tables, delta, &out_of_time) {
                Some(change) => change,
                None => return Ok(Stepped::Tripped { on_time: true }),
            }
        }
    };
    view.absorb(change, version).map(Stepped::Diff)
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
        Engine::builder().build()
    }
}

fn parse_query(query: &str) -> Result<Select, RuntimeError> {
    parse(query).map_err(|e| RuntimeError::Parse {
        query: query.to_owned(),
        rendered: e.display_with(query),
        source: Box::new(e),
    })
}

impl Engine {
    /// Views reached by one change from which stepping goes parallel, by
    /// default.
    pub const PARALLEL_ABOVE: usize = 64;

    /// Rows each reached view must see, on average, for stepping to go
    /// parallel, by default (measured: 1,000 views of one row each step
    /// faster on one thread; of 1,000 rows each, twice as fast on two).
    pub const PARALLEL_ROWS: usize = 16;

    /// Rows of a table's change above which a view the predicate index
    /// reached through some of them steps with only those, by default.
    pub const RESTRICT_ABOVE: usize = 8;

    /// An engine with no views over empty tables, checking queries against
    /// `schema` (an empty schema accepts any table and field), with the
    /// default breaker and TTLs. See [`Engine::builder`] for the others.
    pub fn new(schema: Schema) -> Self {
        Engine::builder().schema(schema).build()
    }

    /// A builder, to set the schema, the breaker, the TTLs and when to step
    /// in parallel.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The views' times to live.
    pub fn ttls(&self) -> &Ttls {
        self.holds.ttls()
    }

    /// How often the circuit breaker tripped, over all views, on cost or on
    /// time.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// How many of the [`trips`](Self::trips) were a step running out of its
    /// time budget.
    pub fn budget_trips(&self) -> u64 {
        self.budget_trips
    }

    /// How many times a view was stepped or rehydrated for a change: the
    /// predicate index keeps this to the views a change can reach.
    pub fn view_steps(&self) -> u64 {
        self.stepped
    }

    /// Registers the view of SurrealQL `query` with `params`, or takes one
    /// more hold of it if it is registered; returns its id. The view is
    /// hydrated from the tables as they are. A registration holds the view
    /// until [`unregister`](Self::unregister)ed, whatever the TTLs; clients
    /// hold views with [`subscribe`](Self::subscribe).
    pub fn register(&mut self, query: &str, params: Params) -> Result<ViewId, RuntimeError> {
        self.register_select(&parse_query(query)?, params)
    }

    /// [`register`](Self::register) for a query built in code (see
    /// `ssp_planner::builder`) or parsed already.
    pub fn register_select(&mut self, select: &Select, params: Params) -> Result<ViewId, RuntimeError> {
        let id = self.ensure(select, params)?;
        if let Some(view) = self.views.get_mut(&id) {
            view.holders += 1;
        }
        Ok(id)
    }

    /// `client` subscribes to the view of `query` with `params`, under
    /// `lifetime`: the view is registered, or rebuilt if it was evicted, and
    /// the client holds it until it [releases](Self::release) it and the
    /// lifetime's TTL runs out. Connects the client. `now` is the time on
    /// the caller's clock (the TTLs are measured on it).
    pub fn subscribe(
        &mut self,
        client: &ClientId,
        query: &str,
        params: Params,
        lifetime: Lifetime,
        now: Timestamp,
    ) -> Result<ViewId, RuntimeError> {
        self.subscribe_select(client, &parse_query(query)?, params, lifetime, now)
    }

    /// [`subscribe`](Self::subscribe) for a query built in code or parsed
    /// already.
    pub fn subscribe_select(
        &mut self,
        client: &ClientId,
        select: &Select,
        params: Params,
        lifetime: Lifetime,
        now: Timestamp,
    ) -> Result<ViewId, RuntimeError> {
        let id = self.ensure(select, params)?;
        self.holds.open(client, &id, lifetime, now);
        Ok(id)
    }

    /// `client` subscribes to a registered view by its id (a client coming
    /// back with the ids its CVRs name). Fails with
    /// [`RuntimeError::Evicted`] if the view was evicted (subscribe with its
    /// query to rebuild it) and [`RuntimeError::UnknownView`] if the engine
    /// does not know it.
    pub fn hold(
        &mut self,
        client: &ClientId,
        view: &ViewId,
        lifetime: Lifetime,
        now: Timestamp,
    ) -> Result<(), RuntimeError> {
        self.resident(view)?;
        self.holds.open(client, view, lifetime, now);
        Ok(())
    }

    /// `client` lets go of one subscription to `view`; once it has none
    /// left, the view's TTL starts on the client's clock.
    pub fn release(&mut self, client: &ClientId, view: &ViewId, now: Timestamp) -> Result<(), RuntimeError> {
        if self.holds.close(client, view, now) {
            Ok(())
        } else {
            Err(RuntimeError::NotHeld { view: view.clone(), client: Some(client.clone()) })
        }
    }

    /// `client` (re)connects: its TTL clock runs again.
    pub fn connect(&mut self, client: &ClientId, now: Timestamp) {
        self.holds.connect(client, now);
    }

    /// `client` disconnects: its subscriptions are released and its TTL
    /// clock stops until it connects again. Its holds (but permanent ones)
    /// no longer keep views in memory once [`Ttls::disconnect_grace`] has
    /// passed (default 0): the next [`expire`](Self::expire) after it evicts
    /// those no one else holds, to be rebuilt when it comes back. A client
    /// already disconnected stays so since it first left.
    pub fn disconnect(&mut self, client: &ClientId, now: Timestamp) {
        self.holds.disconnect(client, now);
    }

    /// Forgets `client` and all its holds; returns the views they named
    /// (the caller drops the client's CVRs of them). Views no one else holds
    /// are evicted at the next [`expire`](Self::expire).
    pub fn forget(&mut self, client: &ClientId) -> Vec<ViewId> {
        self.holds.forget(client)
    }

    /// Lets go of what expired at `now`: the holds whose TTL ran out on
    /// their client's clock (and those of clients disconnected longer than
    /// [`Ttls::forget_after`]), then every view that no registration and no
    /// hold keeps in memory is evicted (its state freed; subscribing to it
    /// again rebuilds it).
    pub fn expire(&mut self, now: Timestamp) -> Expired {
        let dropped = self.holds.expire(now);
        let pinned = self.holds.pinned(now);
        let evicted: Vec<ViewId> =
            self.views.values().filter(|v| v.holders == 0 && !pinned.contains(&v.id)).map(|v| v.id.clone()).collect();
        for id in &evicted {
            self.evict(id);
        }
        if !evicted.is_empty() || !dropped.is_empty() {
            tracing::debug!(evicted = evicted.len(), dropped = dropped.len(), "ssp: views expired");
        }
        Expired { evicted, dropped }
    }

    fn evict(&mut self, view: &ViewId) {
        if let Some(gone) = self.views.remove(view) {
            self.routes.remove(view, gone.circuit.route_keys());
            // The shared indexes only this view read go with it.
            let View { circuit, text, .. } = *gone;
            circuit.release(&mut self.tables);
            // The shape's plans go with its last view (the text is shared
            // by the shape's views and the map's key).
            if Arc::strong_count(&text) == 2 {
                self.shapes.remove(&text);
            }
        }
    }

    /// Whether `view` was evicted: not in memory, but held by a client (it
    /// is rebuilt when one subscribes to its query).
    pub fn is_evicted(&self, view: &ViewId) -> bool {
        !self.views.contains_key(view) && self.holds.names(view)
    }

    /// The view, or why it is not in memory.
    fn resident(&self, view: &ViewId) -> Result<&View, RuntimeError> {
        match self.views.get(view) {
            Some(v) => Ok(v),
            None if self.holds.names(view) => Err(RuntimeError::Evicted { view: view.clone() }),
            None => Err(RuntimeError::UnknownView { view: view.clone() }),
        }
    }

    /// The id of the view of `select` with `params`, registered (hydrated
    /// from the tables) if it is not.
    fn ensure(&mut self, select: &Select, params: Params) -> Result<ViewId, RuntimeError> {
        let text = select.to_string();
        let id = view_id(&text, &params);
        if self.views.contains_key(&id) {
            return Ok(id);
        }
        let _span = tracing::debug_span!("ssp.hydrate", view = %id).entered();
        let (lowered, slots, text) = self.lowered(select, text, &params)?;
        let (plan, shows_records) = match &lowered.records {
            Some(records) => (records.clone(), true),
            None => (lowered.plan.clone(), false),
        };
        let (circuit, initial) = Circuit::with_params(plan, slots, &mut self.tables);
        let mut view = Box::new(View::new(id.clone(), text, circuit, shows_records));
        if let Err(e) = view.absorb(initial, self.version) {
            // The circuit's indexes go with it (its shape stays: its plans
            // are planned, and another view may take them).
            let View { circuit, .. } = *view;
            circuit.release(&mut self.tables);
            return Err(e);
        }
        self.routes.add(&id, view.circuit.route_keys());
        self.views.insert(view);
        Ok(id)
    }

    /// The lowered plan of `select`'s shape that serves `params`, planned
    /// once per shape (and per value of the parameters that fix a shape,
    /// like `LIMIT $n`), the parameter slots' values, and the shape's text.
    fn lowered(&mut self, select: &Select, text: String, params: &Params) -> Result<Bound, RuntimeError> {
        let text: Arc<str> = match self.shapes.get_key_value(text.as_str()) {
            Some((shared, _)) => shared.clone(),
            None => text.into(),
        };
        for lowered in self.shapes.get(&text).into_iter().flatten() {
            if let Ok(slots) = lowered.bind(params) {
                return Ok((lowered.clone(), slots, text));
            }
        }
        let failed = |e: ssp_planner::PlanError| RuntimeError::Plan {
            query: text.to_string(),
            rendered: e.display_with(&text),
            source: Box::new(e),
        };
        let planned = plan(select, &self.schema, params).map_err(failed)?;
        let lowered = Arc::new(planned.lowered);
        let slots = lowered.bind(params).map_err(failed)?;
        // Kept only once planned: a query that fails to plan leaves nothing.
        self.shapes.entry(text.clone()).or_default().push(lowered.clone());
        Ok((lowered, slots, text))
    }

    /// Lets go of one registration of `view`; the view is dropped with its
    /// last registration unless a client holds it. Returns whether the view
    /// is still in memory.
    pub fn unregister(&mut self, view: &ViewId) -> Result<bool, RuntimeError> {
        let named = self.holds.names(view);
        let v = self.views.get_mut(view).ok_or_else(|| RuntimeError::UnknownView { view: view.clone() })?;
        if v.holders == 0 {
            return Err(RuntimeError::NotHeld { view: view.clone(), client: None });
        }
        v.holders -= 1;
        if v.holders == 0 && !named {
            self.evict(view);
            return Ok(false);
        }
        Ok(true)
    }

    /// Steps every view that reads a table the batches touch with the
    /// changes of `version`, then applies them to the base tables. Returns
    /// one diff per view whose records changed, by view id.
    ///
    /// Fails, changing nothing, if `version` is not after the engine's, or
    /// if a batch removes a record state the tables do not hold. A view of
    /// records whose plan yields a row without a record id
    /// ([`RuntimeError::NotARecord`], a planner bug) fails the step after
    /// the views were stepped: the engine then refuses every later step
    /// ([`RuntimeError::Stopped`]) and must be rebuilt.
    pub fn step(&mut self, version: Version, batches: &[ChangeBatch]) -> Result<Vec<ViewDiff>, RuntimeError> {
        if let Some(reason) = &self.failed {
            return Err(RuntimeError::Stopped { reason: reason.clone() });
        }
        if version <= self.version && self.version != Version::ZERO {
            return Err(RuntimeError::VersionNotAfter { current: self.version, given: version });
        }
        let delta = Delta::from_batches(batches);
        self.tables.check(&delta).map_err(Box::new)?;
        let batch_rows: usize = batches.iter().map(ChangeBatch::len).sum();
        let reached = self.routes.reached(&delta, self.restrict_above);
        let span =
            tracing::debug_span!("ssp.step", version = version.0, rows = batch_rows, views = reached.views.len());
        let _entered = span.enter();
        self.stepped += reached.views.len() as u64;
        // Phase one: every view the change can reach, against the tables
        // before the step (or, if the breaker trips, after phase two). A
        // view reached by a few rows of a larger change is stepped with only
        // those rows (and all of the change to its other tables).
        let (tables, breaker) = (&self.tables, &self.breaker);
        let own_change = |view: &View, group: Option<usize>| -> Option<Delta> {
            let (table, rows) = &reached.groups[group?];
            let all = delta.table(table)?;
            if rows.len() == all.len() {
                return None;
            }
            let mut own = Delta::new();
            for (row, w) in rows.iter() {
                own.update(table, row.clone(), w);
            }
            for (other, change) in delta.tables().filter(|(t, _)| t != table && view.tables().iter().any(|v| v == t)) {
                for (row, w) in change.iter() {
                    own.update(other, row.clone(), w);
                }
            }
            Some(own)
        };
        let step = |view: &mut View, group: Option<usize>| {
            let own = own_change(view, group);
            step_view(&span, view, tables, own.as_ref().unwrap_or(&delta), breaker, batch_rows, version)
        };
        // Parallel when there are many views and each has enough to do: a
        // view's step of a few rows costs less than handing it to another
        // thread (and its allocations to another arena).
        let rows_seen: usize =
            reached.views.iter().map(|(_, group)| group.map_or(delta.len(), |g| reached.groups[g].1.len())).sum();
        let parallel = reached.views.len() >= self.parallel_above
            && rows_seen >= self.parallel_rows.saturating_mul(reached.views.len());
        // A change usually reaches a view or two: their outcomes stay on the stack.
        let outcomes: SmallVec<[(ViewId, Result<Stepped, RuntimeError>); 2]> = if parallel {
            let mut views: Vec<(&mut View, Option<usize>)> = self
                .views
                .values_mut()
                .filter_map(|v| {
                    let at = reached.views.binary_search_by(|(id, _)| id.cmp(&v.id)).ok()?;
                    Some((v, reached.views[at].1))
                })
                .collect();
            views.par_iter_mut().map(|(v, group)| (v.id.clone(), step(v, *group))).collect::<Vec<_>>().into()
        } else {
            let mut outcomes = SmallVec::with_capacity(reached.views.len());
            for (id, group) in &reached.views {
                if let Some(v) = self.views.get_mut(id) {
                    outcomes.push((id.clone(), step(v, *group)));
                }
            }
            outcomes
        };
        let mut diffs = Vec::new();
        let mut tripped = Vec::new();
        let mut failed = None;
        for (id, outcome) in outcomes {
            match outcome {
                Ok(Stepped::Diff(diff)) if !diff.is_empty() => diffs.push(diff),
                Ok(Stepped::Diff(_)) => {}
                Ok(Stepped::Tripped { on_time }) => {
                    tracing::debug!(view = %id, on_time, "ssp: breaker tripped, rehydrating");
                    self.budget_trips += u64::from(on_time);
                    tripped.push(id);
                }
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        // Phase two: the shared tables and indexes take the delta.
        self.tables.apply(&delta).map_err(Box::new)?;
        self.version = version;
        if let Some(e) = failed {
            self.failed = Some(e.to_string());
            return Err(e);
        }
        // The tripped views: rebuilt from the tables, their clients sent the
        // difference from what the view showed.
        for id in tripped {
            let Some(view) = self.views.get_mut(&id) else { continue };
            let _span = tracing::debug_span!("ssp.rehydrate", view = %id).entered();
            let (circuit, output) = view.circuit.rebuild(&mut self.tables);
            let mut change = output;
            change -= &view.output();
            std::mem::replace(&mut view.circuit, circuit).release(&mut self.tables);
            view.trips += 1;
            self.trips += 1;
            let diff = view.absorb(change, version).inspect_err(|e| self.failed = Some(e.to_string()))?;
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
        let v = self.resident(view)?;
        let mut diff = v.everything(self.version);
        if let Some(cvr) = held {
            // What the view shows is what the diff upserts, sorted by id.
            let gone: Vec<ssp_core::RecordId> = cvr
                .iter()
                .filter(|(id, _)| diff.upserts.binary_search_by(|r| r.id.cmp(id)).is_err())
                .map(|(id, _)| id.clone())
                .collect();
            for id in gone {
                diff.remove(id);
            }
        }
        Ok(diff)
    }

    /// The diff that brings a client from what `held` says it holds of
    /// `view` (nothing, for `None`) to the view as it is: only the records
    /// it lacks or holds at another version, and the ids it should drop.
    /// Fails with [`RuntimeError::Evicted`] for an evicted view.
    pub fn catch_up(&self, view: &ViewId, held: Option<&Cvr>) -> Result<ViewDiff, RuntimeError> {
        let v = self.resident(view)?;
        let Some(cvr) = held else { return Ok(v.everything(self.version)) };
        // A view is not stepped by changes that cannot reach it: its state is
        // current at the engine's version.
        // What the view shows, read once (a window's versions are computed).
        let shown: HashMap<&ssp_core::RecordId, (Version, &Value)> =
            v.iter().map(|(id, version, row)| (id, (version, row))).collect();
        let mut state = ViewState::from_records(v.version, shown.iter().map(|(id, (at, _))| ((*id).clone(), *at)));
        state.advance_to(self.version);
        let diff = cvr.reconnect(&state).map_err(Box::new)?;
        Ok(diff
            .into_view_diff(|id, version| shown.get(id).filter(|(at, _)| *at == version).map(|(_, row)| (*row).clone()))
            .map_err(Box::new)?)
    }

    /// A view in memory.
    pub fn view(&self, view: &ViewId) -> Option<&View> {
        self.views.get(view)
    }

    /// The views in memory, in no particular order.
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

    /// How many lowered plans serve the shapes of the views in memory (a
    /// shape's plans are dropped with its last view).
    pub fn plans(&self) -> usize {
        self.shapes.values().map(Vec::len).sum()
    }
}
