//! [`Live`]: the engine on SurrealDB, with subscriptions as async streams.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use smol_str::SmolStr;
use ssp_core::{Value, Version};
use ssp_cvr::{ClientId, CvrStore, MemoryStore, ViewDiff, ViewId};
use ssp_planner::{Params, Schema};
use ssp_surreal::{Commit, Source, SourceError, SourceOptions};
use surrealdb::{Connection, Surreal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::breaker::Breaker;
use crate::clock::{Clock, SystemClock};
use crate::engine::{Engine, EngineBuilder};
use crate::error::RuntimeError;
use crate::lifetime::{Expired, Lifetime, Ttls};

/// A CVR store shared by the engine's tasks.
pub type SharedStore = Arc<dyn CvrStore + Send + Sync>;

/// The engine on SurrealDB: it follows the tables through a
/// [`Source`](ssp_surreal::Source) (hydration at a known position, then one
/// step per SurrealDB commit), keeps each client's CVR in a store, and gives
/// each subscription a [`futures::Stream`] of [`Update`]s. Built with
/// [`Live::builder`].
///
/// The first diff of a subscription brings the client from what it holds
/// to the view as it is; each later diff is what one commit changed in the
/// view. Each diff handed to a subscription is recorded in the client's CVR,
/// so a client that reconnects (to this engine, or another sharing the
/// store) gets only what it lacks. A diff can be recorded and then lost
/// before the client applied it (a dropped subscription with diffs still
/// queued, a dropped connection): so the client says, when it subscribes,
/// the version of the last diff of the view it applied
/// ([`Request::applied`]). If that is not what its CVR says, it is sent the
/// whole view (and the ids to drop) instead of the minimal diff.
///
/// **Lifetimes.** Dropping a [`Subscription`] releases the client's hold on
/// the view: the view stays in memory for its [`Lifetime`]'s TTL, on a clock
/// that runs only while the client is connected, and is then evicted if no
/// one else holds it (its CVRs are kept; a later subscription rebuilds it
/// and sends the minimal diff). A hold whose TTL ran out is dropped with the
/// client's CVR of the view. Call [`disconnect`](Self::disconnect) when a
/// client's connection goes: its subscriptions end and its clock stops.
///
/// **Failures.** A CVR store failure ends that client's subscription
/// (nothing it was not sent is recorded); a failed step stops the engine and
/// ends every subscription ([`RuntimeError::Stopped`]). Steps, hydrations
/// and store calls run on tokio's blocking pool, never on the async
/// executor's threads. Dropping the `Live` stops following the database.
pub struct Live<C: Connection> {
    shared: Arc<Mutex<Shared>>,
    status: Arc<Status>,
    driver: JoinHandle<()>,
    expirer: JoinHandle<()>,
    _db: std::marker::PhantomData<fn() -> C>,
}

/// What the tasks report, readable without waiting for a step.
#[derive(Default)]
struct Status {
    /// Commits stepped.
    commits: AtomicU64,
    /// The last error of the stepping task (it retries).
    last_error: Mutex<Option<String>>,
}

impl Status {
    fn note(&self, e: &dyn std::fmt::Display) {
        tracing::warn!(error = %e, "ssp: following the database failed; retrying");
        *self.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.to_string());
    }
}

/// Builds a [`Live`]: the database and the tables to follow, and settings
/// that all have documented defaults.
///
/// ```no_run
/// # async fn run() -> Result<(), ssp_runtime::RuntimeError> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ssp_runtime::{Breaker, Live, Ttls};
/// use surrealdb::{Surreal, engine::local::Mem};
///
/// let db = Surreal::new::<Mem>(()).await.expect("an in-memory database");
/// let live = Live::builder(db)
///     .tables(["issue", "user"])
///     .store(Arc::new(ssp_cvr::MemoryStore::new()))
///     .breaker(Breaker::default().budget(Some(Duration::from_millis(20))))
///     .ttls(Ttls::default().navigational(Duration::from_secs(60)))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct LiveBuilder<C: Connection> {
    db: Surreal<C>,
    tables: Vec<String>,
    engine: EngineBuilder,
    store: Option<SharedStore>,
    clock: Arc<dyn Clock>,
    source: SourceOptions,
    expire_every: Duration,
}

impl<C: Connection> LiveBuilder<C> {
    /// The tables to follow; views may read only these. Each needs a
    /// change feed (`DEFINE TABLE … CHANGEFEED`).
    pub fn tables<I, S>(mut self, tables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tables.extend(tables.into_iter().map(Into::into));
        self
    }

    /// The schema queries are checked against. Default: empty (any field).
    pub fn schema(mut self, schema: Schema) -> Self {
        self.engine = self.engine.schema(schema);
        self
    }

    /// The circuit breaker. Default: [`Breaker::default`].
    pub fn breaker(mut self, breaker: Breaker) -> Self {
        self.engine = self.engine.breaker(breaker);
        self
    }

    /// The views' times to live. Default: [`Ttls::default`].
    pub fn ttls(mut self, ttls: Ttls) -> Self {
        self.engine = self.engine.ttls(ttls);
        self
    }

    /// How many views a change must reach to be stepped in parallel.
    /// Default: [`Engine::PARALLEL_ABOVE`].
    pub fn parallel_above(mut self, views: usize) -> Self {
        self.engine = self.engine.parallel_above(views);
        self
    }

    /// Where the clients' CVRs are kept. Default: a new
    /// [`MemoryStore`](ssp_cvr::MemoryStore) (use a
    /// `RedbStore` or a `SurrealCvrStore` for records that outlive the
    /// process or are shared by several engines).
    pub fn store(mut self, store: SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock TTLs are measured on. Default: [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often dropped subscriptions are released and expired holds and
    /// views let go of, besides after each step. Default: 1 s.
    pub fn expire_every(mut self, every: Duration) -> Self {
        self.expire_every = every;
        self
    }

    /// How the tables are followed. Default: [`SourceOptions::default`].
    pub fn source_options(mut self, options: SourceOptions) -> Self {
        self.source = options;
        self
    }

    /// Hydrates the tables and starts following them.
    pub async fn start(self) -> Result<Live<C>, RuntimeError> {
        let tables: Vec<&str> = self.tables.iter().map(String::as_str).collect();
        let (source, snapshot) = Source::hydrate(self.db, &tables, self.source).await.map_err(Box::new)?;
        let version = source.cursor().version().max(Version(1));
        let followed = source.cursor().tables().to_vec();
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let (engine, clock) = (self.engine, self.clock);
        let shared = blocking(move || {
            let mut engine = engine.build();
            engine.step(version, &snapshot)?;
            Ok(Arc::new(Mutex::new(Shared {
                engine,
                store,
                clock,
                subscribers: HashMap::new(),
                followed,
                stopped: None,
                status: Arc::default(),
            })))
        })
        .await?;
        let status = lock(&shared).status.clone();
        let driver = tokio::spawn(drive(source, shared.clone()));
        let expirer = tokio::spawn(tick(Arc::downgrade(&shared), self.expire_every));
        Ok(Live { shared, status, driver, expirer, _db: std::marker::PhantomData })
    }
}

/// Runs `f` on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RuntimeError> + Send + 'static,
) -> Result<T, RuntimeError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(RuntimeError::Stopped { reason: e.to_string() }),
    }
}

/// The stepping task: each batch of commits is stepped on the blocking
/// pool, then what expired is let go of. A step that fails or panics stops
/// the engine: every subscription ends, and later ones are refused.
async fn drive<C: Connection>(mut source: Source<C>, state: Arc<Mutex<Shared>>) {
    let status = lock(&state).status.clone();
    loop {
        let commits = match source.next().await {
            Ok(commits) => commits,
            Err(SourceError::CursorExpired { .. }) => match source.resync().await {
                Ok(commit) => vec![commit],
                Err(e) => {
                    status.note(&e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            Err(e) => {
                // A dropped connection, a refused read: the cursor has not
                // moved, so retrying loses nothing.
                status.note(&e);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let shared = state.clone();
        let stepped = tokio::task::spawn_blocking(move || {
            let mut shared = lock(&shared);
            for commit in commits {
                shared.step(commit)?;
            }
            shared.tidy();
            Ok::<(), RuntimeError>(())
        })
        .await;
        let failure = match stepped {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("a step panicked: {e}"),
        };
        // The engine no longer follows the database: stop, and end every
        // subscription.
        tracing::error!(error = %failure, "ssp: a step failed; the engine stops");
        let mut shared = lock(&state);
        shared.stopped = Some(failure);
        shared.subscribers.clear();
        return;
    }
}

/// The expiry task: every `every`, releases the holds of dropped
/// subscriptions and lets go of what expired, also while the database is
/// quiet. Ends with the engine.
async fn tick(shared: std::sync::Weak<Mutex<Shared>>, every: Duration) {
    let mut interval = tokio::time::interval(every.max(Duration::from_millis(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        let swept = tokio::task::spawn_blocking(move || {
            let mut shared = lock(&shared);
            if shared.stopped.is_none() {
                shared.tidy();
            }
        })
        .await;
        if swept.is_err() {
            return;
        }
    }
}

struct Shared {
    engine: Engine,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    /// The subscribers of each view.
    subscribers: HashMap<ViewId, Vec<Subscriber>>,
    /// The tables the source follows.
    followed: Vec<SmolStr>,
    /// Why the engine stopped, if it did.
    stopped: Option<String>,
    status: Arc<Status>,
}

struct Subscriber {
    client: ClientId,
    tx: mpsc::UnboundedSender<Update>,
}

/// What a client subscribes to: a query, its parameters, the lifetime of
/// the client's hold on the view, and what the client holds of it already.
///
/// ```
/// use ssp_runtime::{Lifetime, Request};
/// use ssp_core::Version;
///
/// let request = Request::new("SELECT * FROM issue WHERE author = $me ORDER BY votes DESC LIMIT 10")
///     .param("me", ssp_core::RecordId::new("user", "ann"))
///     .lifetime(Lifetime::Preload)
///     .applied(Some(Version(41)));
/// assert_eq!(request.query(), "SELECT * FROM issue WHERE author = $me ORDER BY votes DESC LIMIT 10");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Request {
    query: String,
    params: Params,
    lifetime: Lifetime,
    applied: Option<Version>,
}

impl Request {
    /// A request for the view of SurrealQL `query`, without parameters,
    /// [navigational](Lifetime::Navigational), from nothing.
    pub fn new(query: impl Into<String>) -> Self {
        Request { query: query.into(), params: Params::new(), lifetime: Lifetime::default(), applied: None }
    }

    /// With all of the query's parameters.
    pub fn params(mut self, params: Params) -> Self {
        self.params = params;
        self
    }

    /// With parameter `$name` set to `value`.
    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// Under `lifetime`. Default: [`Lifetime::Navigational`].
    pub fn lifetime(mut self, lifetime: Lifetime) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The version of the last diff of this view the client applied (`None`,
    /// the default: it holds nothing of it).
    pub fn applied(mut self, applied: Option<Version>) -> Self {
        self.applied = applied;
        self
    }

    /// The query.
    pub fn query(&self) -> &str {
        &self.query
    }
}

impl From<&str> for Request {
    fn from(query: &str) -> Self {
        Request::new(query)
    }
}

impl From<String> for Request {
    fn from(query: String) -> Self {
        Request::new(query)
    }
}

/// An item of a [`Subscription`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// The whole view: the client replaces what it holds of the view with
    /// exactly these records (`removed` lists ids the engine knows the client
    /// may hold; a client holding others drops them too).
    Snapshot(ViewDiff),
    /// What changed since the client's last update: upsert these records,
    /// drop these ids.
    Diff(ViewDiff),
}

impl Update {
    /// The diff, whichever kind of update.
    pub fn diff(&self) -> &ViewDiff {
        match self {
            Update::Snapshot(d) | Update::Diff(d) => d,
        }
    }

    /// Whether the client replaces what it holds.
    pub fn is_snapshot(&self) -> bool {
        matches!(self, Update::Snapshot(_))
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while stepping stops the engine (the stepping task marks it
    // stopped, and its state is only read after that): the poison adds
    // nothing.
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<C: Connection> Live<C> {
    /// A builder following `db`: name the tables, then
    /// [`start`](LiveBuilder::start).
    pub fn builder(db: Surreal<C>) -> LiveBuilder<C> {
        LiveBuilder {
            db,
            tables: Vec::new(),
            engine: Engine::builder(),
            store: None,
            clock: Arc::new(SystemClock),
            source: SourceOptions::default(),
            expire_every: Duration::from_secs(1),
        }
    }

    /// Subscribes `client` to the view of the request's query and
    /// parameters (registering the view, rebuilding it if it was evicted,
    /// or taking one more hold of it). The stream's first item brings the
    /// client from what it holds ([`Request::applied`]) to the view as it
    /// is. A `&str` is a request for that query with the defaults.
    pub async fn subscribe(&self, client: ClientId, request: impl Into<Request>) -> Result<Subscription, RuntimeError> {
        let request = request.into();
        let shared = self.shared.clone();
        blocking(move || lock(&shared).subscribe(client, request)).await
    }

    /// `client`'s connection went: its subscriptions end (their holds are
    /// released) and its TTL clock stops until it subscribes again. Views
    /// only it held are evicted at the first expiry after
    /// [`Ttls::disconnect_grace`] (default 0); its CVRs are kept. Call it
    /// before dropping the client's [`Subscription`]s: a subscription
    /// dropped first is released as the client's own letting go, with no
    /// grace.
    pub async fn disconnect(&self, client: ClientId) {
        let shared = self.shared.clone();
        // The closure does not fail.
        let _ = blocking(move || {
            let mut shared = lock(&shared);
            let now = shared.clock.now();
            shared.end_subscriptions(&client);
            shared.engine.disconnect(&client, now);
            Ok(())
        })
        .await;
    }

    /// Forgets `client`: its subscriptions end, its holds go, and every CVR
    /// the store keeps for it is dropped (all are tried; the first failure
    /// is returned).
    pub async fn forget(&self, client: ClientId) -> Result<(), RuntimeError> {
        let shared = self.shared.clone();
        blocking(move || {
            let mut shared = lock(&shared);
            shared.end_subscriptions(&client);
            let mut views: Vec<ViewId> = shared.engine.forget(&client);
            let stored = shared.store.views(&client).map_err(Box::new);
            views.extend(stored.as_ref().map_or(&[][..], Vec::as_slice).iter().map(|summary| summary.view.clone()));
            views.sort();
            views.dedup();
            let mut first = stored.err().map(RuntimeError::from);
            for view in views {
                if let Err(e) = shared.store.remove(&client, &view) {
                    first = first.or(Some(RuntimeError::Store(Box::new(e))));
                }
            }
            first.map_or(Ok(()), Err)
        })
        .await
    }

    /// Lets go now of what expired (the engine does so after each step and
    /// every [`expire_every`](LiveBuilder::expire_every)): releases the
    /// holds of dropped subscriptions, drops expired holds with their CVRs,
    /// evicts views no one holds.
    pub async fn expire(&self) -> Expired {
        let shared = self.shared.clone();
        blocking(move || Ok(lock(&shared).tidy())).await.unwrap_or_default()
    }

    /// How many commits were stepped since the start.
    pub fn commits(&self) -> u64 {
        self.status.commits.load(Ordering::Relaxed)
    }

    /// The last error the stepping task met (it retries), if any.
    pub fn last_error(&self) -> Option<String> {
        self.status.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Why the engine stopped (a step failed), if it did.
    pub fn stopped(&self) -> Option<String> {
        lock(&self.shared).stopped.clone()
    }

    /// Runs `f` with the engine (to read views, their states and records).
    /// It blocks the calling thread until a step in progress ends: from
    /// async code, call it inside `tokio::task::spawn_blocking`, or only
    /// where a short wait is acceptable (tests, diagnostics).
    pub fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        f(&lock(&self.shared).engine)
    }
}

impl<C: Connection> Drop for Live<C> {
    fn drop(&mut self) {
        self.driver.abort();
        self.expirer.abort();
    }
}

impl Shared {
    fn subscribe(&mut self, client: ClientId, request: Request) -> Result<Subscription, RuntimeError> {
        if let Some(reason) = &self.stopped {
            return Err(RuntimeError::Stopped { reason: reason.clone() });
        }
        // Registered while the subscription is set up, held by the client
        // once it is: a refused subscription leaves no hold behind.
        let view = self.engine.register(&request.query, request.params)?;
        let opened = self.open(&client, &view, request.applied);
        let held = match &opened {
            Ok(_) => self.engine.hold(&client, &view, request.lifetime, self.clock.now()),
            Err(_) => Ok(()),
        };
        self.engine.unregister(&view)?;
        held?;
        Ok(Subscription { view, rx: opened? })
    }

    fn open(
        &mut self,
        client: &ClientId,
        view: &ViewId,
        applied: Option<Version>,
    ) -> Result<mpsc::UnboundedReceiver<Update>, RuntimeError> {
        let tables = self.engine.view(view).map(|v| v.tables().to_vec()).unwrap_or_default();
        if let Some(table) = tables.iter().find(|t| !self.followed.contains(t)) {
            return Err(RuntimeError::NotFollowed { table: table.clone(), followed: self.followed.clone() });
        }
        let held = self.store.load(client, view).map_err(Box::new)?;
        let update = match (&held, applied) {
            // The client holds what its record says: the minimal diff.
            (Some(cvr), Some(v)) if cvr.version() == v => Update::Diff(self.engine.catch_up(view, held.as_ref())?),
            // It holds nothing, less (diffs recorded but lost) or other:
            // all of it, and its record becomes exactly the view.
            _ => Update::Snapshot(self.engine.catch_up_full(view, held.as_ref())?),
        };
        self.store.apply(client, update.diff(), self.clock.now()).map_err(Box::new)?;
        let (tx, rx) = mpsc::unbounded_channel();
        // The receiver is here: the first send cannot fail.
        tx.send(update).ok();
        self.subscribers.entry(view.clone()).or_default().push(Subscriber { client: client.clone(), tx });
        Ok(rx)
    }

    fn step(&mut self, commit: Commit) -> Result<(), RuntimeError> {
        // Versions only grow; a commit that became visible late is stepped
        // after the ones already stepped.
        let version = commit.version.max(self.engine.version().next());
        let diffs = self.engine.step(version, &commit.batches)?;
        self.status.commits.fetch_add(1, Ordering::Relaxed);
        let at = self.clock.now();
        let mut released = Vec::new();
        for diff in diffs {
            let Some(subs) = self.subscribers.get_mut(&diff.view) else { continue };
            let store = &self.store;
            // Handed over, then recorded; a subscription gone, or whose
            // record cannot be written, ends here (its stream ends, and the
            // client catches up from its record when it comes back).
            subs.retain(|s| {
                let kept = s.tx.send(Update::Diff(diff.clone())).is_ok() && store.apply(&s.client, &diff, at).is_ok();
                if !kept {
                    released.push((s.client.clone(), diff.view.clone()));
                }
                kept
            });
        }
        for (client, view) in released {
            self.engine.release(&client, &view, at).ok();
        }
        Ok(())
    }

    /// Ends `client`'s subscriptions (their streams end).
    fn end_subscriptions(&mut self, client: &ClientId) {
        for subs in self.subscribers.values_mut() {
            subs.retain(|s| &s.client != client);
        }
        self.subscribers.retain(|_, subs| !subs.is_empty());
    }

    /// Releases the holds of dropped subscriptions, then lets go of what
    /// expired.
    fn tidy(&mut self) -> Expired {
        self.sweep();
        self.expire()
    }

    /// Releases the holds of subscriptions that were dropped.
    fn sweep(&mut self) {
        let now = self.clock.now();
        let mut released = Vec::new();
        for (view, subs) in self.subscribers.iter_mut() {
            subs.retain(|s| {
                let open = !s.tx.is_closed();
                if !open {
                    released.push((s.client.clone(), view.clone()));
                }
                open
            });
        }
        self.subscribers.retain(|_, subs| !subs.is_empty());
        for (client, view) in released {
            self.engine.release(&client, &view, now).ok();
        }
    }

    /// Drops expired holds (with their CVRs) and evicts views no one holds.
    /// A CVR written after the hold's release was written by another engine
    /// sharing the store (the client moved there): it is not dropped.
    fn expire(&mut self) -> Expired {
        let expired = self.engine.expire(self.clock.now());
        for d in &expired.dropped {
            let dropped = match self.store.summary(&d.client, &d.view) {
                Ok(Some(summary)) if summary.last_seen <= d.released => self.store.remove(&d.client, &d.view).map(drop),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = dropped {
                tracing::warn!(error = %e, client = %d.client, view = %d.view, "ssp: an expired CVR could not be dropped");
                self.status.note(&e);
            }
        }
        expired
    }
}

/// A client's subscription to a view: a stream of [`Update`]s, the first
/// bringing it to the view's state, each next one a commit's change.
pub struct Subscription {
    view: ViewId,
    rx: mpsc::UnboundedReceiver<Update>,
}

impl Subscription {
    /// The view subscribed to.
    pub fn view(&self) -> &ViewId {
        &self.view
    }
}

impl futures::Stream for Subscription {
    type Item = Update;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Update>> {
        self.rx.poll_recv(cx)
    }
}
