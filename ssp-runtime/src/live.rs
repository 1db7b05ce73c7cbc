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
/// each subscription a [`futures::Stream`] of [`ViewDiff`]s.
///
/// The first diff of a subscription brings the client from what its CVR
/// says it holds (nothing, for a new client) to the view as it is; each
/// later diff is what one commit changed in the view. Every diff is recorded
/// in the client's CVR before it is sent, so a client that reconnects (to
/// this engine, or another sharing the store) gets only what it lacks.
///
/// Dropping a [`Subscription`] lets go of its hold on the view; a view is
/// dropped with its last hold. Dropping the `Live` stops following the
/// database.
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
    /// Commits stepped.
    commits: u64,
}

struct Subscriber {
    client: ClientId,
    tx: mpsc::UnboundedSender<ViewDiff>,
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
                            shared.last_error = Some(e.to_string());
                        }
                    }
                }
                tokio::task::yield_now().await;
            }
        });
        Ok(Live { shared, driver, _db: std::marker::PhantomData })
    }

    /// Subscribes `client` to the view of `query` with `params` (registering
    /// the view, or taking one more hold of it). The stream's first item
    /// brings the client from what its CVR holds to the view as it is.
    pub fn subscribe(&self, client: ClientId, query: &str, params: Params) -> Result<Subscription, RuntimeError> {
        let mut shared = lock(&self.shared);
        let view = shared.engine.register(query, params)?;
        match shared.subscribe(&client, &view) {
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
    ) -> Result<mpsc::UnboundedReceiver<ViewDiff>, RuntimeError> {
        let tables = self.engine.view(view).map(|v| v.tables().to_vec()).unwrap_or_default();
        if let Some(table) = tables.iter().find(|t| !self.followed.contains(t)) {
            return Err(RuntimeError::NotFollowed { table: table.clone(), followed: self.followed.clone() });
        }
        let held = self.store.load(client, view).map_err(Box::new)?;
        let diff = self.engine.catch_up(view, held.as_ref())?;
        self.store.apply(client, &diff, now()).map_err(Box::new)?;
        let (tx, rx) = mpsc::unbounded_channel();
        // The receiver is here: the first send cannot fail.
        tx.send(diff).ok();
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
        for diff in diffs {
            let Some(subs) = self.subscribers.get_mut(&diff.view) else { continue };
            let mut gone = 0;
            subs.retain(|s| {
                if s.tx.is_closed() {
                    gone += 1;
                    return false;
                }
                true
            });
            for s in subs.iter() {
                // Recorded before it is sent: what a client may hold is never
                // less than its CVR says.
                self.store.apply(&s.client, &diff, at).map_err(Box::new)?;
                s.tx.send(diff.clone()).ok();
            }
            for _ in 0..gone {
                self.engine.unregister(&diff.view).ok();
            }
        }
        Ok(())
    }
}

/// A client's subscription to a view: a stream of [`ViewDiff`]s, the first
/// bringing it to the view's state, each next one a commit's change.
pub struct Subscription {
    view: ViewId,
    rx: mpsc::UnboundedReceiver<ViewDiff>,
}

impl Subscription {
    /// The view subscribed to.
    pub fn view(&self) -> &ViewId {
        &self.view
    }
}

impl futures::Stream for Subscription {
    type Item = ViewDiff;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ViewDiff>> {
        self.rx.poll_recv(cx)
    }
}
