//! [`Live`]: the engine on SurrealDB, with subscriptions as async streams.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smol_str::SmolStr;
use ssp_core::Version;
use ssp_cvr::{ClientId, CvrStore, Timestamp, ViewDiff, ViewId};
use ssp_planner::{Params, Schema};
use ssp_surreal::{Commit, Source, SourceError, SourceOptions};
use surrealdb::{Connection, Surreal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::error::RuntimeError;

/// A CVR store shared by the engine's tasks.
pub type SharedStore = Arc<dyn CvrStore + Send + Sync>;

/// The engine on SurrealDB: it follows the tables through a
/// [`Source`](ssp_surreal::Source) (hydration at a known position, then one
/// step per SurrealDB commit), keeps each client's CVR in a store, and gives
/// each subscription a [`futures::Stream`] of [`Update`]s.
///
/// The first diff of a subscription brings the client from what it holds
/// to the view as it is; each later diff is what one commit changed in the
/// view. Each diff handed to a subscription is recorded in the client's CVR,
/// so a client that reconnects (to this engine, or another sharing the
/// store) gets only what it lacks. A diff can be recorded and then lost
/// before the client applied it (a dropped subscription with diffs still
/// queued, a dropped connection): so the client says, when it subscribes,
/// the version of the last diff of the view it applied. If that is not what
/// its CVR says, it is sent the whole view (and the ids to drop) instead of
/// the minimal diff.
///
/// A CVR store failure ends that client's subscription (nothing it was not
/// sent is recorded); a failed step stops the engine and ends every
/// subscription ([`RuntimeError::Stopped`]). Dropping a [`Subscription`]
/// lets go of its hold on the view (at the next step); a view is dropped
/// with its last hold. Dropping the `Live` stops following the database.
///
/// CVR store calls run on the stepping task while it holds the engine: use a
/// fast store (memory, redb), or one that does not block the runtime.
pub struct Live<C: Connection> {
    shared: Arc<Mutex<Shared>>,
    driver: JoinHandle<()>,
    _db: std::marker::PhantomData<fn() -> C>,
}

struct Shared {
    engine: Engine,
    store: SharedStore,
    /// The subscribers of each view.
    subscribers: HashMap<ViewId, Vec<Subscriber>>,
    /// The tables the source follows.
    followed: Vec<SmolStr>,
    /// The last error of the stepping task (it retries).
    last_error: Option<String>,
    /// Why the engine stopped, if it did.
    stopped: Option<String>,
    /// Commits stepped.
    commits: u64,
}

struct Subscriber {
    client: ClientId,
    tx: mpsc::UnboundedSender<Update>,
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

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while stepping leaves the engine as the step found it or
    // after it (steps check before they change anything).
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records the stepping task's last error.
fn note(shared: &Mutex<Shared>, e: &dyn std::fmt::Display) {
    lock(shared).last_error = Some(e.to_string());
}

impl<C: Connection> Live<C> {
    /// Hydrates `tables` from `db` and starts following them: views may
    /// then be subscribed to over these tables. `schema` checks queries
    /// (an empty schema accepts any field).
    pub async fn start(
        db: Surreal<C>,
        tables: &[&str],
        schema: Schema,
        store: SharedStore,
        options: SourceOptions,
    ) -> Result<Self, RuntimeError> {
        let (mut source, snapshot) = Source::hydrate(db, tables, options).await.map_err(Box::new)?;
        let mut engine = Engine::new(schema);
        engine.step(source.cursor().version().max(Version(1)), &snapshot)?;
        let followed = source.cursor().tables().to_vec();
        let shared = Arc::new(Mutex::new(Shared {
            engine,
            store,
            subscribers: HashMap::new(),
            followed,
            last_error: None,
            stopped: None,
            commits: 0,
        }));
        let state = shared.clone();
        let driver = tokio::spawn(async move {
            loop {
                let commits = match source.next().await {
                    Ok(commits) => commits,
                    Err(SourceError::CursorExpired { .. }) => match source.resync().await {
                        Ok(commit) => vec![commit],
                        Err(e) => {
                            note(&state, &e);
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    },
                    Err(e) => {
                        // A dropped connection, a refused read: the cursor
                        // has not moved, so retrying loses nothing.
                        note(&state, &e);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                {
                    let mut shared = lock(&state);
                    for commit in commits {
                        if let Err(e) = shared.step(commit) {
                            // The engine no longer follows the database:
                            // stop, and end every subscription.
                            shared.stopped = Some(e.to_string());
                            shared.subscribers.clear();
                            return;
                        }
                    }
                }
                tokio::task::yield_now().await;
            }
        });
        Ok(Live { shared, driver, _db: std::marker::PhantomData })
    }

    /// Subscribes `client` to the view of `query` with `params` (registering
    /// the view, or taking one more hold of it). `applied` is the version of
    /// the last diff of this view the client applied (`None` if it holds
    /// nothing of it). The stream's first item brings the client from what
    /// it holds to the view as it is.
    pub fn subscribe(
        &self,
        client: ClientId,
        query: &str,
        params: Params,
        applied: Option<Version>,
    ) -> Result<Subscription, RuntimeError> {
        let mut shared = lock(&self.shared);
        if let Some(reason) = &shared.stopped {
            return Err(RuntimeError::Stopped { reason: reason.clone() });
        }
        let view = shared.engine.register(query, params)?;
        match shared.subscribe(&client, &view, applied) {
            Ok(rx) => Ok(Subscription { view, rx }),
            Err(e) => {
                shared.engine.unregister(&view).ok();
                Err(e)
            }
        }
    }

    /// How many commits were stepped since the start.
    pub fn commits(&self) -> u64 {
        lock(&self.shared).commits
    }

    /// The last error the stepping task met (it retries), if any.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared).last_error.clone()
    }

    /// Runs `f` with the engine (to read views, their states and records).
    pub fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        f(&lock(&self.shared).engine)
    }
}

impl<C: Connection> Drop for Live<C> {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Shared {
    fn subscribe(
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
        self.store.apply(client, update.diff(), now()).map_err(Box::new)?;
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
        self.commits += 1;
        let at = now();
        let mut released = Vec::new();
        for diff in diffs {
            let Some(subs) = self.subscribers.get_mut(&diff.view) else { continue };
            let store = &self.store;
            // Handed over, then recorded; a subscription gone, or whose
            // record cannot be written, ends here (its stream ends, and the
            // client catches up from its record when it comes back).
            let before = subs.len();
            subs.retain(|s| s.tx.send(Update::Diff(diff.clone())).is_ok() && store.apply(&s.client, &diff, at).is_ok());
            released.extend(std::iter::repeat_n(diff.view.clone(), before - subs.len()));
        }
        for view in released {
            self.engine.unregister(&view).ok();
        }
        self.sweep();
        Ok(())
    }

    /// Lets go of the holds of subscriptions that were dropped.
    fn sweep(&mut self) {
        let mut released = Vec::new();
        for (view, subs) in self.subscribers.iter_mut() {
            let before = subs.len();
            subs.retain(|s| !s.tx.is_closed());
            released.extend(std::iter::repeat_n(view.clone(), before - subs.len()));
        }
        self.subscribers.retain(|_, subs| !subs.is_empty());
        for view in released {
            self.engine.unregister(&view).ok();
        }
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
