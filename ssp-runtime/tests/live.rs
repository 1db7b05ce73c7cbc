//! `Live` on the embedded SurrealDB engine: clients subscribed to
//! overlapping views follow random writes, and what each holds (built only
//! from the diffs it received) equals what SurrealDB answers for its query;
//! a client that leaves and comes back gets only what it lacks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ssp_core::{RecordId, Value, ZSet};
use ssp_cvr::CvrStore;
use ssp_cvr::{ClientId, Cvr, MemoryStore};
use ssp_runtime::{Lifetime, Live, ManualClock, Request, RuntimeError, Subscription, Update};
use ssp_surreal::{SourceOptions, from_surreal};
use surrealdb::Surreal;
use surrealdb::engine::local::{Db, Mem};
use surrealdb::types as sdb;

async fn db() -> Surreal<Db> {
    let db = Surreal::new::<Mem>(()).await.expect("an in-memory engine");
    db.use_ns("ssp").use_db("live").await.expect("a database");
    db.query(
        "DEFINE TABLE issue CHANGEFEED 1h; DEFINE TABLE person CHANGEFEED 1h; \
         CREATE person:ann SET name = 'Ann'; CREATE person:bob SET name = 'Bob'; \
         FOR $i IN 0..12 { CREATE type::record('issue', $i) SET votes = $i * 3 % 7, open = $i % 3 != 0, author = person:ann; };",
    )
    .await
    .and_then(|r| r.check())
    .expect("the data");
    db
}

/// Writes, again while SurrealDB reports a transaction conflict (a live
/// query being registered conflicts with concurrent writers).
async fn write(db: &Surreal<Db>, sql: &str) {
    for _ in 0..100 {
        match db.query(sql).await.and_then(|r| r.check()) {
            Ok(_) => return,
            Err(e) if e.to_string().contains("retried") || e.to_string().contains("failed transaction") => {
                tokio::task::yield_now().await;
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
    panic!("{sql}: still conflicting");
}

async fn surreal_rows(db: &Surreal<Db>, query: &str) -> ZSet<Value> {
    let mut res = db.query(query).await.expect("a query");
    let rows: Vec<sdb::Value> = res.take(0).expect("rows");
    rows.into_iter().map(|r| (from_surreal(r).expect("a row"), 1)).collect()
}

/// A client: its subscription, its record of the view, the content it holds.
struct Client {
    query: &'static str,
    sub: Subscription,
    cvr: Cvr,
    held: BTreeMap<RecordId, Value>,
    /// The ids the diffs named.
    touched: std::collections::BTreeSet<RecordId>,
}

impl Client {
    fn take(&mut self, update: &Update) {
        let diff = update.diff();
        if update.is_snapshot() {
            self.cvr = Cvr::new(self.cvr.client().clone(), diff.view.clone());
            self.held.clear();
        }
        self.cvr.apply(diff).expect("a diff that applies");
        for r in &diff.upserts {
            self.held.insert(r.id.clone(), r.value.clone());
            self.touched.insert(r.id.clone());
        }
        for id in &diff.removed {
            self.held.remove(id);
            self.touched.insert(id.clone());
        }
    }

    fn rows(&self) -> ZSet<Value> {
        self.held.values().map(|v| (v.clone(), 1)).collect()
    }

    /// Takes diffs until the client holds what SurrealDB answers.
    async fn settle(&mut self, db: &Surreal<Db>) {
        let want = surreal_rows(db, self.query).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.rows() != want {
            match tokio::time::timeout_at(deadline, self.sub.next()).await {
                Ok(Some(update)) => self.take(&update),
                Ok(None) => panic!("{}: the subscription ended", self.query),
                Err(_) => {
                    panic!("{}: the client holds\n{:?}\nbut SurrealDB answers\n{:?}", self.query, self.rows(), want)
                }
            }
        }
    }
}

const QUERIES: [&str; 3] = [
    "SELECT * FROM issue WHERE open = true ORDER BY votes DESC, id LIMIT 3",
    "SELECT * FROM issue WHERE author = person:bob",
    "SELECT * FROM person",
];

fn options() -> SourceOptions {
    let mut o = SourceOptions::default();
    o.poll_interval = Duration::from_millis(20);
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_hold_what_surrealdb_answers_and_catch_up_minimally() {
    let db = db().await;
    let store = Arc::new(MemoryStore::new());
    let live = Live::builder(db.clone())
        .tables(["issue", "person"])
        .store(store.clone())
        .source_options(options())
        .start()
        .await
        .expect("the engine");
    let mut clients = Vec::new();
    for (i, query) in QUERIES.iter().chain(QUERIES.iter()).enumerate() {
        let client = ClientId::new(format!("c{i}"));
        let mut sub = live.subscribe(client.clone(), *query).await.expect("a subscription");
        let first = sub.next().await.expect("the first diff");
        let mut c = Client {
            query,
            cvr: Cvr::new(client, sub.view().clone()),
            held: BTreeMap::new(),
            touched: Default::default(),
            sub,
        };
        c.take(&first);
        assert_eq!(c.rows(), surreal_rows(&db, query).await, "{query}: the first diff");
        clients.push(c);
    }
    // Six subscriptions, three views.
    assert_eq!(live.with_engine(|e| e.views().count()), 3);

    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..4 {
        for _ in 0..8 {
            let k = next(14);
            let sql = match next(5) {
                0 => format!("DELETE issue:{k}"),
                1 => format!("UPSERT issue:{k} SET votes = {}, open = {}, author = person:ann", next(9), next(2) == 0),
                2 => format!("UPDATE issue:{k} SET author = person:bob"),
                3 => format!("UPDATE person:{} SET name = 'N{k}'", if next(2) == 0 { "ann" } else { "bob" }),
                _ => format!(
                    "BEGIN; UPDATE issue:{k} SET votes += 5; UPSERT issue:{} SET votes = 1, open = true; COMMIT;",
                    next(14)
                ),
            };
            write(&db, &sql).await;
            // After every commit, each client (built only from its diffs)
            // comes to what SurrealDB answers for its query.
            for c in clients.iter_mut() {
                c.settle(&db).await;
            }
        }
        // Each client's record is the view's state.
        for c in &clients {
            let state = live.with_engine(|e| e.view(c.sub.view()).expect("registered").state());
            assert!(c.cvr.summary().holds_same_records(&state), "round {round}: {}", c.query);
        }
    }

    // A client leaves, writes go on, and it comes back: its first diff is
    // no larger than what changed in its view, and it ends equal.
    let gone = clients.remove(0);
    let (query, cvr_before) = (gone.query, gone.cvr.clone());
    let held_before = gone.held.clone();
    drop(gone);
    // Its twin (same query) stays and sees what changed meanwhile.
    let twin = clients.iter().position(|c| c.query == query).expect("a twin");
    clients[twin].touched.clear();
    write(&db, "UPDATE issue SET votes += 1 WHERE open = true").await;
    write(&db, "DELETE issue:1").await;
    for c in clients.iter_mut() {
        c.settle(&db).await;
    }
    let applied = cvr_before.version();
    let mut sub =
        live.subscribe(ClientId::new("c0"), Request::new(query).applied(Some(applied))).await.expect("a subscription");
    let first = sub.next().await.expect("the catch-up");
    let mut back = Client { query, sub, cvr: cvr_before, held: held_before, touched: Default::default() };
    let missed = clients[twin].touched.len();
    assert!(missed > 0, "the writes changed the view");
    assert!(!first.is_snapshot(), "it applied what its record says: the minimal diff");
    assert!(
        first.diff().upserts.len() + first.diff().removed.len() <= missed,
        "a catch-up of {} records for {missed} changed",
        first.diff().upserts.len() + first.diff().removed.len()
    );
    back.take(&first);
    back.settle(&db).await;
    assert!(live.last_error().is_none(), "{:?}", live.last_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_subscriptions_are_typed_errors() {
    let db = db().await;
    let live = Live::builder(db.clone()).tables(["issue"]).source_options(options()).start().await.expect("the engine");
    let c = ClientId::new("c");
    assert!(matches!(live.subscribe(c.clone(), "SELECT * FROM").await, Err(RuntimeError::Parse { .. })));
    match live.subscribe(c.clone(), "SELECT * FROM person").await {
        Err(RuntimeError::NotFollowed { table, .. }) => assert_eq!(table, "person"),
        other => panic!("expected NotFollowed, got {:?}", other.err()),
    }
    assert_eq!(live.with_engine(|e| e.views().count()), 0, "a refused subscription holds no view");
    match Live::builder(db.clone()).tables(["nope"]).source_options(options()).start().await {
        Err(RuntimeError::Source(e)) => assert!(e.to_string().contains("nope"), "{e}"),
        Err(other) => panic!("expected a source error, got {other}"),
        Ok(_) => panic!("expected a source error"),
    }
}

/// Diffs recorded in the CVR but lost before the client applied them (its
/// subscription dropped with diffs queued): the client says which version it
/// applied, and is sent the whole view, ending equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diffs_lost_after_recording_are_sent_again() {
    let db = db().await;
    let live = Live::builder(db.clone())
        .tables(["issue", "person"])
        .source_options(options())
        .start()
        .await
        .expect("the engine");
    let query = QUERIES[0];
    let client = ClientId::new("lossy");
    let mut sub = live.subscribe(client.clone(), query).await.expect("a subscription");
    let first = sub.next().await.expect("the first diff");
    let mut c = Client {
        query,
        cvr: Cvr::new(client.clone(), sub.view().clone()),
        held: BTreeMap::new(),
        touched: Default::default(),
        sub,
    };
    c.take(&first);
    let applied = c.cvr.version();
    // Writes that change the view; their diffs are queued, never read.
    let commits = live.commits();
    write(&db, "UPSERT issue:100 SET votes = 100, open = true").await;
    write(&db, "UPSERT issue:101 SET votes = 101, open = true").await;
    while live.commits() < commits + 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let Client { query, held, .. } = c;
    let sub = live.subscribe(client.clone(), Request::new(query).applied(Some(applied))).await.expect("a subscription");
    let mut back = Client { query, cvr: Cvr::new(client, sub.view().clone()), held, touched: Default::default(), sub };
    let catch_up = back.sub.next().await.expect("the catch-up");
    // The whole view: the minimal diff from the record would have sent
    // nothing, since the record already names issue:100 and issue:101.
    assert!(catch_up.is_snapshot());
    assert_eq!(catch_up.diff().upserts.len(), 3, "{catch_up:?}");
    back.take(&catch_up);
    assert_eq!(back.rows(), surreal_rows(&db, query).await);
    // Its record on the server is exactly what it holds now.
    let state = live.with_engine(|e| e.view(back.sub.view()).expect("registered").state());
    assert!(back.cvr.summary().holds_same_records(&state));
}

/// An engine on `clock`, letting go of what expired every `expire_every`.
async fn on_a_clock(
    db: &Surreal<Db>,
    clock: &ManualClock,
    store: &Arc<MemoryStore>,
    expire_every: Duration,
) -> Live<Db> {
    Live::builder(db.clone())
        .tables(["issue", "person"])
        .store(store.clone())
        .clock(clock.clone())
        .expire_every(expire_every)
        .source_options(options())
        .start()
        .await
        .expect("the engine")
}

/// Lifetimes on a clock the test moves: a dropped subscription keeps its
/// view for its TTL, then the view is evicted and the client's record
/// dropped; a client that disconnects has its view evicted, and when it
/// subscribes again the view is rebuilt and it gets only what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_live_their_ttl_and_are_rebuilt_for_a_returning_client() {
    let (db, clock, store) = (db().await, ManualClock::default(), Arc::new(MemoryStore::new()));
    let live = on_a_clock(&db, &clock, &store, Duration::from_secs(3_600)).await;
    let query = QUERIES[0];
    let client = ClientId::new("nav");
    let mut sub = live.subscribe(client.clone(), query).await.expect("a subscription");
    sub.next().await.expect("the first diff");
    let view = sub.view().clone();
    drop(sub);
    // The release is seen at 0 s; the navigational TTL is 30 s.
    live.expire().await;
    clock.advance(Duration::from_secs(29));
    live.expire().await;
    assert!(live.with_engine(|e| e.view(&view).is_some()), "kept for its TTL");
    assert!(store.load(&client, &view).expect("a store").is_some());
    clock.advance(Duration::from_secs(1));
    live.expire().await;
    assert!(live.with_engine(|e| e.view(&view).is_none()), "evicted at its TTL");
    assert!(store.load(&client, &view).expect("a store").is_none(), "the expired hold's record is dropped");

    // Subscribed again (rebuilt on demand), then the client disconnects.
    let mut sub = live.subscribe(client.clone(), query).await.expect("a subscription");
    let first = sub.next().await.expect("the first diff");
    assert!(first.is_snapshot(), "its record was dropped: from nothing");
    let mut c = Client {
        query,
        cvr: Cvr::new(client.clone(), view.clone()),
        held: BTreeMap::new(),
        touched: Default::default(),
        sub,
    };
    c.take(&first);
    let applied = c.cvr.version();
    live.disconnect(client.clone()).await;
    assert!(c.sub.next().await.is_none(), "a disconnected client's subscriptions end");
    live.expire().await;
    assert!(live.with_engine(|e| e.is_evicted(&view)), "evicted while its client is away");
    assert!(store.load(&client, &view).expect("a store").is_some(), "its record is kept");

    // Writes while it is away, an hour of them: its clock stands still.
    let commits = live.commits();
    write(&db, "UPSERT issue:100 SET votes = 100, open = true").await;
    while live.commits() < commits + 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    clock.advance(Duration::from_secs(3_600));
    live.expire().await;
    assert!(live.with_engine(|e| e.is_evicted(&view)), "still its view");

    let Client { held, cvr, .. } = c;
    let sub = live.subscribe(client.clone(), Request::new(query).applied(Some(applied))).await.expect("a subscription");
    let mut back = Client { query, cvr, held, touched: Default::default(), sub };
    let catch_up = back.sub.next().await.expect("the catch-up");
    assert!(!catch_up.is_snapshot(), "its record was kept: the minimal diff");
    let diff = catch_up.diff();
    assert_eq!((diff.upserts.len(), diff.removed.len()), (1, 1), "issue:100 in, the third out: {diff:?}");
    back.take(&catch_up);
    back.settle(&db).await;
    assert!(live.last_error().is_none(), "{:?}", live.last_error());
}

/// With no writes at all, the engine still lets go of what expired: a
/// dropped subscription's view is evicted once its TTL runs out; a
/// forgotten client's records are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_expire_on_a_quiet_database_and_forgotten_clients_leave_nothing() {
    let (db, clock, store) = (db().await, ManualClock::default(), Arc::new(MemoryStore::new()));
    let live = on_a_clock(&db, &clock, &store, Duration::from_millis(10)).await;
    let (quiet, gone) = (ClientId::new("quiet"), ClientId::new("gone"));
    let request = Request::new(QUERIES[1]).lifetime(Lifetime::Ephemeral);
    let mut sub = live.subscribe(quiet.clone(), request).await.expect("a subscription");
    sub.next().await.expect("the first diff");
    let view = sub.view().clone();
    let mut other = live.subscribe(gone.clone(), QUERIES[2]).await.expect("a subscription");
    other.next().await.expect("the first diff");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    // Dropped: released and, ephemeral, evicted by the engine itself.
    drop(sub);
    while live.with_engine(|e| e.view(&view).is_some()) {
        assert!(tokio::time::Instant::now() < deadline, "never evicted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(store.load(&quiet, &view).expect("a store").is_none(), "the expired hold's record is dropped");
    assert_eq!(store.views(&gone).expect("a store").len(), 1);
    live.forget(gone.clone()).await.expect("forgotten");
    assert!(store.views(&gone).expect("a store").is_empty(), "a forgotten client's records are dropped");
    assert!(other.next().await.is_none(), "its subscriptions end");
    assert!(live.last_error().is_none() && live.stopped().is_none());
}
