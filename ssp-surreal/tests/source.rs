//! Change capture against the real embedded engine: hydration at a known
//! position, one commit per SurrealDB commit, exactly-once resume, content
//! versions equal across workers, and typed errors for bad input.

use std::collections::BTreeMap;
use std::time::Duration;

use ssp_core::{ChangeBatch, Record, RecordId, Value, ZSet};
use ssp_surreal::feed::{RowChange, decode_changes, decode_notification};
use ssp_surreal::{Commit, Source, SourceError, SourceOptions, from_surreal};
use surrealdb::Surreal;
use surrealdb::engine::local::{Db, Mem};
use surrealdb::types as sdb;

async fn db(schema: &str) -> Surreal<Db> {
    let db = Surreal::new::<Mem>(()).await.expect("an in-memory engine");
    db.use_ns("ssp").use_db("test").await.expect("a namespace and database");
    db.query(schema).await.expect("the schema").check().expect("the schema");
    db
}

async fn run(db: &Surreal<Db>, sql: &str) {
    db.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")).check().unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Runs one write (a statement or a `BEGIN ... COMMIT` block), again while
/// SurrealDB reports a transaction conflict: registering or killing a live
/// query conflicts with concurrent writers, which SurrealDB asks to retry. A
/// conflicted transaction wrote nothing.
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
    panic!("{sql}: still conflicting after 100 tries");
}

/// The tables' rows as SurrealDB returns them.
async fn select_all(db: &Surreal<Db>, tables: &[&str]) -> ZSet<Value> {
    let mut out = ZSet::new();
    for t in tables {
        let mut res = db.query(format!("SELECT * FROM {t}")).await.expect("a select");
        let rows: Vec<sdb::Value> = res.take(0).expect("rows");
        for row in rows {
            out.update(from_surreal(row).expect("a convertible row"), 1);
        }
    }
    out
}

/// What a consumer holds: the integral of every batch it was given.
#[derive(Default)]
struct Consumer {
    records: ZSet<Record>,
    seen: std::collections::BTreeSet<u64>,
}

impl Consumer {
    fn take(&mut self, batches: &[ChangeBatch]) {
        for b in batches {
            self.records += &b.to_zset();
        }
    }

    fn commit(&mut self, c: &Commit) {
        assert!(self.seen.insert(c.version.0), "commit {} delivered twice", c.version);
        self.take(&c.batches);
    }

    /// The rows, checking that every record is held once.
    fn rows(&self) -> ZSet<Value> {
        let mut out = ZSet::new();
        for (r, w) in self.records.iter() {
            assert_eq!(w, 1, "record {} held with weight {w}: a change was lost or repeated", r.id);
            out.update(r.value.clone(), 1);
        }
        out
    }

    fn state(&self) -> Vec<Record> {
        self.records.iter().map(|(r, _)| r.clone()).collect()
    }
}

fn options() -> SourceOptions {
    let mut o = SourceOptions::default();
    o.poll_interval = Duration::from_millis(20);
    o
}

#[tokio::test]
async fn hydration_then_one_commit_per_surrealdb_commit() {
    let db = db("DEFINE TABLE issue CHANGEFEED 1h; DEFINE TABLE label CHANGEFEED 1h INCLUDE ORIGINAL; DEFINE TABLE other CHANGEFEED 1h;").await;
    run(&db, "CREATE issue:1 SET title = 'Crash', n = 1; CREATE issue:2 SET title = 'Slow'; CREATE label:a SET name = 'bug';").await;
    let (mut source, snapshot) = Source::hydrate(db.clone(), &["issue", "label"], options()).await.expect("hydration");
    assert_eq!(snapshot.len(), 2);
    assert_eq!(snapshot[0].table(), "issue");
    assert_eq!(snapshot[0].len(), 2);
    assert!(snapshot.iter().all(|b| b.version() == source.cursor().version()));
    let mut consumer = Consumer::default();
    consumer.take(&snapshot);
    assert_eq!(consumer.rows(), select_all(&db, &["issue", "label"]).await);

    // Nothing new: nothing delivered, however often asked.
    assert!(source.poll().await.expect("a poll").is_empty());

    // One transaction over two tables is one commit with two batches; a
    // table not followed is not delivered.
    run(
        &db,
        "BEGIN; UPDATE issue:1 SET n = 2; DELETE issue:2; UPDATE label:a SET name = 'defect'; CREATE other:1; COMMIT;",
    )
    .await;
    let commits = source.next().await.expect("the commit");
    assert_eq!(commits.len(), 1);
    let c = &commits[0];
    assert_eq!(c.batches.iter().map(|b| b.table()).collect::<Vec<_>>(), ["issue", "label"]);
    let issue = &c.batches[0];
    let weights: Vec<(String, i64)> = issue.updates().iter().map(|(r, w)| (r.id.to_string(), *w)).collect();
    assert_eq!(weights, [("issue:1".into(), -1), ("issue:1".into(), 1), ("issue:2".into(), -1)]);
    consumer.commit(c);
    assert_eq!(consumer.rows(), select_all(&db, &["issue", "label"]).await);
    assert_eq!(source.cursor().version(), c.version);

    // Writing a record as it already is changes nothing, and is not sent.
    run(&db, "UPDATE issue:1 SET n = 2").await;
    run(&db, "CREATE label:b SET name = 'ui'").await;
    let commits = source.next().await.expect("the commit");
    assert_eq!(commits.len(), 1, "the no-op update is not a commit: {commits:?}");
    assert_eq!(commits[0].batches[0].updates()[0].0.id, RecordId::new("label", "b"));
    consumer.commit(&commits[0]);

    // Several statements are several commits, delivered in order.
    run(&db, "UPDATE label:b SET name = 'UI'; DELETE label:b; CREATE label:b SET name = 'back';").await;
    let mut got = Vec::new();
    while got.len() < 3 {
        got.extend(source.next().await.expect("commits"));
    }
    assert!(got.windows(2).all(|w| w[0].version < w[1].version));
    for c in &got {
        consumer.commit(c);
    }
    assert_eq!(consumer.rows(), select_all(&db, &["issue", "label"]).await);
    assert_eq!(source.state().count(), 3);
}

/// Records get the same versions on every worker: two sources hydrated at
/// different times, and one that followed the changes, agree.
#[tokio::test]
async fn record_versions_are_the_same_on_every_worker() {
    let db = db("DEFINE TABLE t CHANGEFEED 1h;").await;
    run(&db, "CREATE t:1 SET a = 1; CREATE t:2 SET a = [1, 'x', { b: 2.5f }], at = d'2024-01-01T00:00:00Z';").await;
    let (mut early, _) = Source::hydrate(db.clone(), &["t"], options()).await.expect("hydration");
    run(&db, "UPDATE t:1 SET a = 2; CREATE t:3 SET a = 1dec; UPDATE t:2 SET a = 1.0f").await;
    early.next().await.expect("changes");
    while !early.poll().await.expect("a poll").is_empty() {}
    let (late, _) = Source::hydrate(db.clone(), &["t"], options()).await.expect("hydration");
    let versions = |s: &Source<Db>| {
        s.records("t").expect("followed").map(|r| (r.id.clone(), r.version)).collect::<BTreeMap<_, _>>()
    };
    assert_eq!(versions(&early), versions(&late));
    assert_eq!(versions(&late).len(), 3);
    // A kind change alone (1dec -> 1) is a new content version, but
    // SurrealDB 3.3.5 does not write it: the stored value stays `1dec` and
    // the feed has no entry, so there is nothing to follow.
    let before = versions(&late)[&RecordId::new("t", 3)];
    run(&db, "UPDATE t:3 SET a = 1").await;
    let mut res = db.query("SELECT VALUE a FROM ONLY t:3").await.expect("a select");
    let stored = from_surreal(res.take::<sdb::Value>(0).expect("the value")).expect("a value");
    assert_eq!(stored, Value::from(1), "still 1dec, equal to 1");
    assert!(matches!(stored, Value::Number(ssp_core::Number::Decimal(_))), "{stored:?}");
    assert!(early.poll().await.expect("a poll").is_empty());
    assert_eq!(
        early.records("t").expect("followed").find(|r| r.id == RecordId::new("t", 3)).map(|r| r.version),
        Some(before)
    );
}

/// Writes racing the hydration land in the snapshot or in the stream, never
/// in neither and never in both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_during_hydration_are_in_the_snapshot_or_the_stream() {
    for trial in 0..20 {
        let db = db("DEFINE TABLE t CHANGEFEED 1h;").await;
        run(&db, "FOR $i IN 0..20 { CREATE type::record('t', $i) SET n = 0; }").await;
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                for i in 0..60 {
                    let k = (i * 7 + trial) % 25;
                    let sql = match i % 3 {
                        0 => format!("UPSERT t:{k} SET n = {i}"),
                        1 => format!("DELETE t:{k}"),
                        _ => {
                            format!("BEGIN; UPSERT t:{k} SET n = {i}; UPSERT t:{} SET n = -{i}; COMMIT;", (k + 1) % 25)
                        }
                    };
                    write(&db, &sql).await;
                }
            })
        };
        let (mut source, snapshot) = Source::hydrate(db.clone(), &["t"], options()).await.expect("hydration");
        writer.await.expect("the writer");
        let mut consumer = Consumer::default();
        consumer.take(&snapshot);
        // The snapshot is the table at its version, and so is the consumer
        // after every commit: no write is missed or seen twice on the way.
        let at = source.cursor().version().0;
        assert_eq!(consumer.rows(), rows_at(&db, "t", at).await, "trial {trial}: the snapshot at {at}");
        for c in source.poll().await.expect("a poll") {
            consumer.commit(&c);
            assert_eq!(consumer.rows(), rows_at(&db, "t", c.version.0).await, "trial {trial}: at {}", c.version);
        }
        assert_eq!(consumer.rows(), select_all(&db, &["t"]).await, "trial {trial}");
    }
}

/// The rows of `table` at `version`, by replaying the whole change feed from
/// its start: the reference a snapshot and every commit are checked against.
async fn rows_at(db: &Surreal<Db>, table: &str, version: u64) -> ZSet<Value> {
    let mut rows: BTreeMap<RecordId, Value> = BTreeMap::new();
    let mut since = 0;
    loop {
        let mut res = db.query(format!("SHOW CHANGES FOR TABLE {table} SINCE {since} LIMIT 1000")).await.expect("feed");
        let page = from_surreal(res.take::<sdb::Value>(0).expect("feed")).expect("feed");
        let sets = decode_changes(&page).expect("a well-formed feed");
        let Some(last) = sets.last().map(|s| s.versionstamp) else { break };
        for set in sets.into_iter().filter(|s| s.versionstamp <= version) {
            for change in set.changes {
                match change {
                    RowChange::Set { id, value } => {
                        rows.insert(id, value);
                    }
                    RowChange::Delete { id } => {
                        rows.remove(&id);
                    }
                    RowChange::DefineTable { .. } => {}
                }
            }
        }
        since = last + 1;
    }
    let mut out = ZSet::new();
    for v in rows.into_values() {
        out.update(v, 1);
    }
    out
}

/// A small deterministic generator, so that a failing trial can be rerun.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Kills the live queries of `table` from outside, as a server restart or a
/// dropped session would.
async fn kill_live_queries(db: &Surreal<Db>, table: &str) -> usize {
    let mut res = db.query(format!("INFO FOR TABLE {table}")).await.expect("info");
    let info = from_surreal(res.take::<sdb::Value>(0).expect("info")).expect("info");
    let Value::Object(info) = info else { panic!("INFO is an object") };
    let Some(Value::Object(lives)) = info.get("lives") else { return 0 };
    for id in lives.keys() {
        run(db, &format!("KILL u'{id}'")).await;
    }
    lives.len()
}

/// The fault test: a writer keeps writing while the consumer follows, and at
/// random points the live queries are killed, or the source is dropped (a
/// crash) and resumed from the last cursor with what the consumer holds.
/// Every trial ends with 0 lost and 0 repeated changes: the consumer's
/// records equal a full SELECT, each held once, each commit delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_and_repeat_nothing() {
    let tables = ["a", "b"];
    let (mut kills, mut crashes) = (0, 0);
    for trial in 0..20u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (trial + 1));
        let db = db("DEFINE TABLE a CHANGEFEED 1h; DEFINE TABLE b CHANGEFEED 1h INCLUDE ORIGINAL;").await;
        let (mut source, snapshot) = Source::hydrate(db.clone(), &tables, options()).await.expect("hydration");
        let mut consumer = Consumer::default();
        consumer.take(&snapshot);
        let seed = rng.below(u64::MAX);
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut rng = Rng(seed | 1);
                for i in 0..40 {
                    let one = |rng: &mut Rng| {
                        let t = if rng.below(2) == 0 { "a" } else { "b" };
                        let k = rng.below(8);
                        match rng.below(4) {
                            0 => format!("DELETE {t}:{k};"),
                            1 => format!("UPSERT {t}:{k} MERGE {{ m: {i} }};"),
                            _ => format!("UPSERT {t}:{k} CONTENT {{ n: {i}, s: 'w{}' }};", rng.below(3)),
                        }
                    };
                    let sql = if rng.below(3) == 0 {
                        format!("BEGIN; {} {} COMMIT;", one(&mut rng), one(&mut rng))
                    } else {
                        one(&mut rng)
                    };
                    write(&db, &sql).await;
                    if rng.below(4) == 0 {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            })
        };
        let mut last_cursor = source.cursor().clone();
        while !writer.is_finished() {
            match rng.below(6) {
                0 => kills += kill_live_queries(&db, tables[rng.below(2) as usize]).await,
                1 => {
                    // A crash: the source and its live queries are gone; a
                    // new one continues from what the consumer saved.
                    drop(source);
                    crashes += 1;
                    source = Source::resume(db.clone(), last_cursor.clone(), consumer.state(), options())
                        .await
                        .expect("a resume");
                }
                _ => {}
            }
            if let Ok(commits) = tokio::time::timeout(Duration::from_millis(30), source.next()).await {
                for c in commits.expect("commits") {
                    consumer.commit(&c);
                    last_cursor = c.cursor.clone();
                }
            }
        }
        writer.await.expect("the writer");
        for c in source.poll().await.expect("a poll") {
            consumer.commit(&c);
        }
        assert_eq!(consumer.rows(), select_all(&db, &tables).await, "trial {trial}");
    }
    assert!(kills > 0 && crashes > 0, "the faults happened: {kills} kills, {crashes} crashes");
}

#[tokio::test]
async fn bad_input_is_a_typed_error_with_context() {
    let db = db("DEFINE TABLE plain; DEFINE TABLE t CHANGEFEED 1h; DEFINE TABLE odd CHANGEFEED 1h;").await;
    match Source::hydrate(db.clone(), &["t", "nope"], options()).await {
        Err(SourceError::UnknownTable { table }) => assert_eq!(table, "nope"),
        other => panic!("expected UnknownTable, got {:?}", other.err()),
    }
    match Source::hydrate(db.clone(), &["plain"], options()).await {
        Err(e @ SourceError::NoChangefeed { .. }) => assert!(e.to_string().contains("CHANGEFEED"), "{e}"),
        other => panic!("expected NoChangefeed, got {:?}", other.err()),
    }
    // A record holding a value SSP cannot represent: named, with its field.
    run(&db, "CREATE odd:1 SET r = 1..5").await;
    match Source::hydrate(db.clone(), &["odd"], options()).await {
        Err(e @ SourceError::Convert { .. }) => {
            let text = e.to_string();
            assert!(text.contains("odd:1") && text.contains("$.r") && text.contains("range"), "{text}");
        }
        other => panic!("expected Convert, got {:?}", other.err()),
    }
    // Malformed change-feed pages and notifications.
    let bad = |text: &str| decode_changes(&text.parse::<Value>().expect("a value")).expect_err(text).to_string();
    assert!(bad("{ a: 1 }").contains("expected an array"));
    assert!(bad("[{ changes: [] }]").contains("versionstamp"));
    assert!(bad("[{ versionstamp: -1, changes: [] }]").contains("not a versionstamp"));
    assert!(bad("[{ versionstamp: 2, changes: [] }, { versionstamp: 1, changes: [] }]").contains("does not follow"));
    assert!(bad("[{ versionstamp: 1, changes: [{ update: { x: 1 } }] }]").contains("$[0].changes[0].update"));
    assert!(bad("[{ versionstamp: 1, changes: [{ frobnicate: 1 }] }]").contains("expected one of"));
    use surrealdb::types::Action;
    let n = |action, text: &str| decode_notification(action, &text.parse::<Value>().expect("a value"));
    assert!(n(Action::Create, "'not a row'").expect_err("a string").to_string().contains("notification"));
    assert!(n(Action::Update, "{ id: 3 }").is_err());
    assert!(n(Action::Killed, "NONE").is_err());
    assert_eq!(
        n(Action::Delete, "{ id: t:1, a: 1 }").expect("a delete"),
        RowChange::Delete { id: RecordId::new("t", 1) }
    );
}

/// A cursor older than the change feed's retention is refused with a typed
/// error, and a resync brings the consumer to the tables' state.
#[tokio::test]
async fn a_cursor_past_retention_is_refused_then_resynced() {
    let db = db("DEFINE TABLE t CHANGEFEED 1s;").await;
    run(&db, "CREATE t:1 SET n = 1; CREATE t:2 SET n = 2;").await;
    let (mut source, snapshot) = Source::hydrate(db.clone(), &["t"], options()).await.expect("hydration");
    assert_eq!(source.retention(), Duration::from_secs(1));
    let mut consumer = Consumer::default();
    consumer.take(&snapshot);
    let saved = (source.cursor().clone(), consumer.state());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    run(&db, "UPDATE t:1 SET n = 10; DELETE t:2; CREATE t:3 SET n = 3;").await;
    match source.poll().await {
        Err(SourceError::CursorExpired { retention, age, .. }) => {
            assert_eq!(retention, Duration::from_secs(1));
            assert!(age >= retention);
        }
        other => panic!("expected CursorExpired, got {other:?}"),
    }
    match Source::resume(db.clone(), saved.0, saved.1, options()).await {
        Err(SourceError::CursorExpired { .. }) => {}
        other => panic!("expected CursorExpired on resume, got {:?}", other.err()),
    }
    let commit = source.resync().await.expect("a resync");
    consumer.take(&commit.batches);
    assert_eq!(consumer.rows(), select_all(&db, &["t"]).await);
    // The stream goes on from there.
    run(&db, "UPDATE t:3 SET n = 4").await;
    for c in source.next().await.expect("commits") {
        consumer.commit(&c);
    }
    assert_eq!(consumer.rows(), select_all(&db, &["t"]).await);
}
