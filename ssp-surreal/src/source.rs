//! [`Source`]: SurrealDB's change feed as an exact, ordered, resumable stream
//! of change batches, with live queries as the wake-up.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use ssp_core::{ChangeBatch, Datetime, Record, RecordId, Value, Version};
use surrealdb::{Connection, Surreal};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::convert::{ConvertError, from_surreal};
use crate::feed::{ChangeSet, DecodeError, RowChange, decode_changes};

/// How a [`Source`] reads the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceOptions {
    /// How often the feed is read when no live-query notification woke the
    /// source (notifications are the fast path; this bounds the delay when a
    /// live query is down). Default: 1 s.
    pub poll_interval: Duration,
    /// How far back a window scan reads before the newest commit applied, to
    /// take commits that became visible after a commit with a higher
    /// versionstamp (SurrealDB stamps a commit just before it becomes
    /// visible, so concurrent commits can appear out of stamp order). A
    /// commit that becomes visible later than this after its stamp would be
    /// missed. Reads start after the newest commit applied, and every quarter
    /// of this window one read scans the window again, so a commit that
    /// became visible late is delivered at the next scan. Measured on
    /// SurrealDB's hybrid logical clock (milliseconds shifted left by 16
    /// bits, as `mem`, `rocksdb` and `surrealkv` stamp). Default: 250 ms.
    pub visibility_window: Duration,
    /// Change-feed entries per read (SurrealDB's maximum is 1,000).
    /// Default: 1,000.
    pub page_size: u32,
    /// Whether to subscribe live queries as wake-ups (default). Without,
    /// [`Source::next`] polls every `poll_interval`.
    pub live_wakeup: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            poll_interval: Duration::from_secs(1),
            visibility_window: Duration::from_millis(250),
            page_size: 1000,
            live_wakeup: true,
        }
    }
}

impl SourceOptions {
    /// The visibility window in versionstamp units.
    fn window_stamps(&self) -> u64 {
        u64::try_from(self.visibility_window.as_millis()).unwrap_or(u64::MAX >> 16).saturating_mul(1 << 16)
    }
}

/// Where a [`Source`] is in the change feed: enough to continue after a
/// dropped connection or a restart with every change of the gap delivered
/// exactly once. Serializable; store it with the state it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The highest versionstamp applied (or the database clock's, in
    /// versionstamp units, at a hydration).
    stamp: u64,
    /// Where the next window scan of the feed starts: at or below every
    /// commit not yet applied.
    next_from: u64,
    /// The database's clock, in versionstamp units, at the last window scan.
    scanned_at: u64,
    /// The versionstamps applied within the visibility window below `stamp`.
    recent: BTreeSet<u64>,
    /// When the feed was last read to its end, by the database's clock
    /// (seconds and nanoseconds since the Unix epoch).
    seen_at: (i64, u32),
    /// The tables followed.
    tables: Vec<SmolStr>,
}

impl Cursor {
    /// The version of the stream at this cursor: the versionstamp of the
    /// last commit applied.
    pub fn version(&self) -> Version {
        Version(self.stamp)
    }

    /// When the feed was last read to its end, by the database's clock.
    /// On SurrealDB's clock-stamped backends, `seen_at` in versionstamp
    /// units is at or above every commit applied.
    pub fn seen_at(&self) -> Option<Datetime> {
        Datetime::from_timestamp(self.seen_at.0, self.seen_at.1)
    }

    /// The tables the cursor follows, by name.
    pub fn tables(&self) -> &[SmolStr] {
        &self.tables
    }

    fn applied(&self, stamp: u64) -> bool {
        self.recent.contains(&stamp)
    }
}

/// What one SurrealDB commit changed in the tables a [`Source`] follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The commit's versionstamp, as a version.
    pub version: Version,
    /// One batch per table the commit changed: a create is `+new`, an update
    /// `-old +new`, a delete `-old`. Records carry the whole row (its `id`
    /// field included) and their [content version](fn@ssp_cvr::content_version).
    pub batches: Vec<ChangeBatch>,
    /// The cursor after this commit.
    pub cursor: Cursor,
}

/// A failed [`Source`] operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The table is not defined in the database.
    #[error("table `{table}` does not exist in the database")]
    UnknownTable {
        /// The table.
        table: SmolStr,
    },
    /// The table keeps no change feed, so its changes cannot be followed.
    #[error("table `{table}` has no change feed: define it with `DEFINE TABLE {table} CHANGEFEED 1h`")]
    NoChangefeed {
        /// The table.
        table: SmolStr,
    },
    /// A query to SurrealDB failed (a dropped connection, a refused query).
    #[error("SurrealDB {operation} failed: {source}")]
    Query {
        /// What was being done.
        operation: &'static str,
        /// The SDK's error.
        #[source]
        source: Box<surrealdb::Error>,
    },
    /// SurrealDB answered with something other than what was asked.
    #[error("SurrealDB {operation} answered unexpectedly: {problem}")]
    Unexpected {
        /// What was being done.
        operation: &'static str,
        /// What was wrong.
        problem: String,
    },
    /// A record holds a value SSP cannot represent.
    #[error("table `{table}`, record {record}: {source}")]
    Convert {
        /// The table.
        table: SmolStr,
        /// The record, as SurrealDB prints it (or `?` if unknown).
        record: String,
        /// What was found, and where in the record.
        #[source]
        source: ConvertError,
    },
    /// A change-feed entry does not have the shape SurrealDB writes.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The cursor is older than the change feed keeps: changes of the gap may
    /// be gone. Call [`Source::resync`] to rehydrate (or hydrate anew).
    #[error(
        "the cursor at {cursor} was last read at {seen_at}, {age:?} ago, past the change feed's retention of {retention:?}: rehydrate"
    )]
    CursorExpired {
        /// The cursor's version.
        cursor: Version,
        /// When the feed was last read to its end.
        seen_at: String,
        /// How long ago that was, by the database's clock.
        age: Duration,
        /// The shortest retention of the tables followed.
        retention: Duration,
    },
    /// A record given to [`Source::resume`] belongs to no followed table.
    #[error("record {id} belongs to no table the cursor follows ({tables:?})")]
    ForeignRecord {
        /// The record.
        id: RecordId,
        /// The tables followed.
        tables: Vec<SmolStr>,
    },
    /// A commit changed more tables than one read of the feed holds.
    #[error("the commit at versionstamp {versionstamp} spans at least {entries} tables, a whole page of {page_size}")]
    PageTooSmall {
        /// The commit.
        versionstamp: u64,
        /// The tables it changed.
        entries: usize,
        /// The page size read.
        page_size: u32,
    },
}

fn query_error(operation: &'static str) -> impl FnOnce(surrealdb::Error) -> SourceError {
    move |source| SourceError::Query { operation, source: Box::new(source) }
}

/// SurrealDB's change feed as an exact, ordered, resumable stream of change
/// batches, one [`Commit`] per SurrealDB commit.
///
/// - **Hydration without a race.** [`hydrate`](Self::hydrate) reads the
///   database's clock, then the tables, then replays the feed from the
///   clock's reading (less the visibility window) into what it read (a
///   record's last change wins, which is exact: a change already in the
///   snapshot is rewritten with itself). The snapshot is thus the tables at
///   a known position, and a write during hydration is in the snapshot or in
///   the stream after it, never in neither and never in both.
/// - **The change feed is the source of truth.** Each commit's changes come
///   from `SHOW CHANGES FOR DATABASE`, in versionstamp order; a live query
///   per table only wakes the source up (a filtered live query cannot see
///   rows leave its filter, and notifications carry no position).
/// - **Exactly once.** The [`Cursor`] names the last commit applied and the
///   commits applied within the [visibility
///   window](SourceOptions::visibility_window); reads start at the window's
///   start and skip what was applied, so a commit is delivered once even
///   when it became visible late, after a reconnect, or after a restart with
///   [`resume`](Self::resume). Reads are cancel-safe: commits applied before
///   a failure or a dropped future are returned by the next read.
/// - **Updates are `-old +new`.** The source holds each followed record's
///   current state (the rows, shared by `Arc` with the batches it emits) to
///   know the old side of an update; a change that leaves a record as it
///   was emits nothing.
/// - **No silent hole.** If the cursor is older than the feed's retention,
///   reads fail with [`SourceError::CursorExpired`], and
///   [`resync`](Self::resync) rehydrates and emits the difference.
///
/// Record versions are [content versions](fn@ssp_cvr::content_version): the
/// same on every worker for the same record state.
///
/// Tables must keep a change feed (`DEFINE TABLE t CHANGEFEED 1h`; `INCLUDE
/// ORIGINAL` is accepted but not needed). The source is generic over the
/// connection: the embedded engine and a remote server alike.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use surrealdb::Surreal;
/// use surrealdb::engine::local::Mem;
/// use ssp_surreal::{Source, SourceOptions};
///
/// let db = Surreal::new::<Mem>(()).await?;
/// db.use_ns("app").use_db("app").await?;
/// db.query("DEFINE TABLE issue CHANGEFEED 1h; CREATE issue:1 SET title = 'Crash';").await?.check()?;
///
/// let (mut source, snapshot) = Source::hydrate(db.clone(), &["issue"], SourceOptions::default()).await?;
/// assert_eq!(snapshot[0].len(), 1); // issue:1
///
/// db.query("UPDATE issue:1 SET title = 'Crash on start'").await?.check()?;
/// let commits = source.next().await?;
/// assert_eq!(commits[0].batches[0].updates().len(), 2); // -old +new
/// assert_eq!(source.cursor().version(), commits[0].version);
/// # Ok(())
/// # }
/// ```
pub struct Source<C: Connection> {
    db: Surreal<C>,
    options: SourceOptions,
    /// Each followed table's records, by id.
    tables: BTreeMap<SmolStr, HashMap<RecordId, Record>>,
    /// The shortest change-feed retention of the followed tables.
    retention: Duration,
    cursor: Cursor,
    /// Commits applied to `tables` but not yet returned (a read failed or
    /// was cancelled after them): returned first by the next read.
    pending: Vec<Commit>,
    wake: Option<Wake>,
}

/// The live queries that wake a source up.
struct Wake {
    notify: Arc<Notify>,
    /// Set when a live query's stream ended or failed.
    down: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Wake {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl<C: Connection> Source<C> {
    /// Reads `tables` at a known position of the change feed and starts
    /// following them from there. Returns the source and one batch of
    /// inserts per table (in id order) at [`cursor`](Self::cursor)'s
    /// version.
    ///
    /// Fails if a table does not exist or keeps no change feed, or if a
    /// record holds a value SSP cannot represent.
    pub async fn hydrate(
        db: Surreal<C>,
        tables: &[&str],
        options: SourceOptions,
    ) -> Result<(Self, Vec<ChangeBatch>), SourceError> {
        let names: Vec<SmolStr> =
            tables.iter().map(|t| SmolStr::from(*t)).collect::<BTreeSet<_>>().into_iter().collect();
        let retention = check_tables(&db, &names).await?;
        let mut source = Source::fresh(db, names, retention, options).await?;
        let version = source.cursor.version();
        let batches = source
            .tables
            .iter()
            .map(|(table, rows)| {
                let mut batch = ChangeBatch::new(table.clone(), version);
                let mut records: Vec<&Record> = rows.values().collect();
                records.sort_unstable_by(|a, b| a.id.cmp(&b.id));
                for r in records {
                    batch.insert(r.clone()).map_err(|e| unexpected("hydration", e))?;
                }
                Ok(batch)
            })
            .collect::<Result<Vec<_>, SourceError>>()?;
        source.subscribe().await;
        Ok((source, batches))
    }

    /// Continues from `cursor` with the followed tables' records as they were
    /// at the cursor (`state`, e.g. what the application applied up to it),
    /// after a dropped connection or a restart. The next reads deliver every
    /// commit after the cursor exactly once.
    ///
    /// Fails with [`SourceError::CursorExpired`] if the change feed may no
    /// longer hold every change since the cursor; then hydrate anew.
    pub async fn resume(
        db: Surreal<C>,
        cursor: Cursor,
        state: impl IntoIterator<Item = Record>,
        options: SourceOptions,
    ) -> Result<Self, SourceError> {
        let retention = check_tables(&db, &cursor.tables).await?;
        let mut tables: BTreeMap<SmolStr, HashMap<RecordId, Record>> =
            cursor.tables.iter().map(|t| (t.clone(), HashMap::new())).collect();
        for record in state {
            match tables.get_mut(record.id.table()) {
                Some(rows) => {
                    rows.insert(record.id.clone(), record);
                }
                None => return Err(SourceError::ForeignRecord { id: record.id, tables: cursor.tables.clone() }),
            }
        }
        let mut source = Source { db, options, tables, retention, cursor, pending: Vec::new(), wake: None };
        let now = source.now().await?;
        source.check_age(now)?;
        source.subscribe().await;
        Ok(source)
    }

    /// Reads the change feed to its end and returns the commits that changed
    /// the followed tables since the last read, in order. Empty when nothing
    /// changed.
    ///
    /// Cancel-safe and error-safe: commits applied before a read fails or
    /// the future is dropped are returned by the next call, never lost.
    pub async fn poll(&mut self) -> Result<Vec<Commit>, SourceError> {
        // At most this many full pages per call; the rest is read next time.
        const MAX_PAGES: usize = 64;
        let window = self.options.window_stamps();
        let limit = self.options.page_size.clamp(2, 1000);
        // Most reads start after the newest commit applied; every quarter
        // window, one scans the window for commits that became visible late.
        let clock_then = clock_stamp_of(self.cursor.seen_at);
        let scan = clock_then >= self.cursor.scanned_at.saturating_add(window / 4);
        let mut since = if scan { self.cursor.next_from } else { self.cursor.next_from.max(self.cursor.stamp + 1) };
        let mut first_read: Option<Datetime> = None;
        for _ in 0..MAX_PAGES {
            let (now, sets) = self.read(since, limit).await?;
            if first_read.is_none() {
                self.check_age(now)?;
                first_read = Some(now);
            }
            // The feed holds one entry per table a commit changed; a page of
            // fewer entries than asked for reached the end of the feed.
            let entries: usize = sets.iter().map(tables_touched).sum();
            if entries < limit as usize {
                for set in sets {
                    self.apply(set)?;
                }
                self.cursor.seen_at = (now.timestamp(), now.subsec_nanos());
                break;
            }
            // A full page may end inside a commit: hold the last one back
            // and read again from it.
            let Some(last) = sets.last().map(|s| s.versionstamp) else { break };
            if sets.len() == 1 {
                return Err(SourceError::PageTooSmall { versionstamp: last, entries, page_size: limit });
            }
            for set in sets.into_iter().filter(|s| s.versionstamp != last) {
                self.apply(set)?;
            }
            since = last;
        }
        // After a scan: a commit not yet visible at its first read becomes
        // visible within the window of its stamp, so its stamp is above the
        // clock at that read minus the window: the next scan starts there
        // (or lower). Reads between scans do not move it.
        if let (true, Some(first)) = (scan, first_read) {
            let clock = clock_stamp(first);
            self.cursor.next_from = self.cursor.next_from.max(self.cursor.stamp.min(clock).saturating_sub(window));
            self.cursor.recent = self.cursor.recent.split_off(&self.cursor.next_from);
            self.cursor.scanned_at = clock;
        }
        let mut commits = std::mem::take(&mut self.pending);
        if let Some(last) = commits.last_mut() {
            // The last commit's cursor carries the final read.
            last.cursor = self.cursor.clone();
        }
        Ok(commits)
    }

    /// Waits for the next commits that change the followed tables and
    /// returns them (at least one). Woken by the tables' live queries, and
    /// every [`poll_interval`](SourceOptions::poll_interval) in any case; a
    /// live query that ended (killed, or its connection dropped) is
    /// subscribed again.
    pub async fn next(&mut self) -> Result<Vec<Commit>, SourceError> {
        loop {
            let commits = self.poll().await?;
            if !commits.is_empty() {
                return Ok(commits);
            }
            if self.options.live_wakeup && self.wake.as_ref().is_none_or(|w| w.down.load(Ordering::Acquire)) {
                self.subscribe().await;
            }
            let interval = self.options.poll_interval;
            match &self.wake {
                Some(wake) => {
                    let notify = wake.notify.clone();
                    tokio::select! {
                        () = notify.notified() => {}
                        () = tokio::time::sleep(interval) => {}
                    }
                }
                None => tokio::time::sleep(interval).await,
            }
        }
    }

    /// Rehydrates after [`SourceError::CursorExpired`] (or at any time):
    /// reads the tables anew at a known position and returns one commit that
    /// takes what the source held to what the tables hold now (`-old +new`
    /// for the records that differ), so nothing is skipped, even changes the
    /// feed no longer has.
    pub async fn resync(&mut self) -> Result<Commit, SourceError> {
        // Read into a new source, so that a failure (or a drop of this
        // future) leaves this one as it was.
        let fresh =
            Source::fresh(self.db.clone(), self.cursor.tables.clone(), self.retention, self.options.clone()).await?;
        // The consumer has not seen the commits still pending: diff against
        // what it holds, the tables without them.
        let mut held = std::mem::take(&mut self.tables);
        for commit in std::mem::take(&mut self.pending).iter().rev() {
            for batch in commit.batches.iter().rev() {
                for (record, weight) in batch.updates().iter().rev() {
                    let Some(rows) = held.get_mut(batch.table()) else { continue };
                    if *weight > 0 {
                        rows.remove(&record.id);
                    } else {
                        rows.insert(record.id.clone(), record.clone());
                    }
                }
            }
        }
        let version = fresh.cursor.version();
        let mut batches = Vec::new();
        for (table, rows) in &fresh.tables {
            let mut batch = ChangeBatch::new(table.clone(), version);
            let old = held.get(table);
            for (id, new) in rows {
                match old.and_then(|o| o.get(id)) {
                    Some(old) if old == new => {}
                    Some(old) => batch.update(old.clone(), new.clone()).map_err(|e| unexpected("resync", e))?,
                    None => batch.insert(new.clone()).map_err(|e| unexpected("resync", e))?,
                }
            }
            for (id, old) in old.into_iter().flatten() {
                if !rows.contains_key(id) {
                    batch.delete(old.clone()).map_err(|e| unexpected("resync", e))?;
                }
            }
            if !batch.is_empty() {
                batch.consolidate();
                batches.push(batch);
            }
        }
        self.tables = fresh.tables;
        self.cursor = fresh.cursor;
        Ok(Commit { version, batches, cursor: self.cursor.clone() })
    }

    /// Where the source is in the change feed.
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// The records of a followed table as of [`cursor`](Self::cursor), in no
    /// particular order; `None` for a table not followed.
    pub fn records(&self, table: &str) -> Option<impl Iterator<Item = &Record>> {
        self.tables.get(table).map(|rows| rows.values())
    }

    /// All followed records as of the cursor, e.g. to save beside the cursor
    /// for [`resume`](Self::resume).
    pub fn state(&self) -> impl Iterator<Item = &Record> {
        self.tables.values().flat_map(|rows| rows.values())
    }

    /// The shortest change-feed retention of the followed tables.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The connection the source reads through.
    pub fn db(&self) -> &Surreal<C> {
        &self.db
    }

    /// A source holding `tables` as they are at a known position of the
    /// feed, with its cursor there.
    ///
    /// The database's clock is read first, then the tables, then the feed is
    /// replayed from the clock's reading minus the visibility window into
    /// what was read: a commit missing from the read became visible after
    /// the clock was read, so its stamp is in the replay; each record's last
    /// change wins, so a change already in the read is rewritten with
    /// itself. The tables end at the position the replay reaches.
    async fn fresh(
        db: Surreal<C>,
        names: Vec<SmolStr>,
        retention: Duration,
        options: SourceOptions,
    ) -> Result<Self, SourceError> {
        let window = options.window_stamps();
        let mut source = Source {
            db,
            options,
            tables: BTreeMap::new(),
            retention,
            cursor: Cursor {
                stamp: 0,
                next_from: 0,
                scanned_at: 0,
                recent: BTreeSet::new(),
                seen_at: (0, 0),
                tables: names,
            },
            pending: Vec::new(),
            wake: None,
        };
        let before = source.now().await?;
        let mut tables = BTreeMap::new();
        for table in &source.cursor.tables {
            tables.insert(table.clone(), source.select(table).await?);
        }
        source.tables = tables;
        let clock = clock_stamp(before);
        source.cursor.stamp = clock;
        source.cursor.next_from = clock.saturating_sub(window);
        source.cursor.seen_at = (before.timestamp(), before.subsec_nanos());
        source.poll().await?;
        Ok(source)
    }

    async fn select(&self, table: &SmolStr) -> Result<HashMap<RecordId, Record>, SourceError> {
        let mut res =
            self.db.query(format!("SELECT * FROM {}", Ident(table))).await.map_err(query_error("hydration"))?;
        let rows: Vec<surrealdb::types::Value> = res.take(0).map_err(query_error("hydration"))?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let (id, value) = row_of(table, row)?;
            out.insert(id.clone(), Record::new(id, ssp_cvr::content_version(&value), value));
        }
        Ok(out)
    }

    /// The database's clock.
    async fn now(&self) -> Result<Datetime, SourceError> {
        let mut res = self.db.query("RETURN time::now()").await.map_err(query_error("clock read"))?;
        let now: surrealdb::types::Value = res.take(0).map_err(query_error("clock read"))?;
        datetime(now, "clock read")
    }

    /// One page of the feed from `since`, and the database's clock before it.
    async fn read(&self, since: u64, limit: u32) -> Result<(Datetime, Vec<ChangeSet>), SourceError> {
        let mut res = self
            .db
            .query(format!("RETURN time::now(); SHOW CHANGES FOR DATABASE SINCE {since} LIMIT {limit}"))
            .await
            .map_err(query_error("change feed read"))?;
        let now: surrealdb::types::Value = res.take(0).map_err(query_error("change feed read"))?;
        let page: surrealdb::types::Value = res.take(1).map_err(query_error("change feed read"))?;
        let page = from_surreal(page).map_err(|source| SourceError::Convert {
            table: SmolStr::new_static("?"),
            record: "?".into(),
            source,
        })?;
        Ok((datetime(now, "change feed read")?, decode_changes(&page)?))
    }

    fn check_age(&self, now: Datetime) -> Result<(), SourceError> {
        let seen = i128::from(self.cursor.seen_at.0) * 1_000_000_000 + i128::from(self.cursor.seen_at.1);
        let now_ns = i128::from(now.timestamp()) * 1_000_000_000 + i128::from(now.subsec_nanos());
        let age = Duration::from_nanos(u64::try_from((now_ns - seen).max(0)).unwrap_or(u64::MAX));
        if age.saturating_add(self.options.visibility_window) >= self.retention {
            return Err(SourceError::CursorExpired {
                cursor: self.cursor.version(),
                seen_at: self.cursor.seen_at().map_or_else(|| "?".to_owned(), |d| d.to_string()),
                age,
                retention: self.retention,
            });
        }
        Ok(())
    }

    /// Applies one change set to the followed tables, and keeps its commit
    /// (if it changed them) to be returned.
    fn apply(&mut self, set: ChangeSet) -> Result<(), SourceError> {
        if self.cursor.applied(set.versionstamp) {
            return Ok(());
        }
        let version = Version(set.versionstamp);
        // Each record's state before the commit, in the order first touched.
        let mut before: Vec<(SmolStr, RecordId, Option<Record>)> = Vec::new();
        let mut touched: std::collections::HashSet<RecordId> = std::collections::HashSet::new();
        for change in set.changes {
            let Some(rows) = self.tables.get_mut(change.table()) else { continue };
            let table = SmolStr::from(change.table());
            match change {
                RowChange::Set { id, value } => {
                    let record = Record::new(id.clone(), ssp_cvr::content_version(&value), value);
                    let old = rows.insert(id.clone(), record);
                    if touched.insert(id.clone()) {
                        before.push((table, id, old));
                    }
                }
                RowChange::Delete { id } => {
                    let old = rows.remove(&id);
                    if touched.insert(id.clone()) {
                        before.push((table, id, old));
                    }
                }
                RowChange::DefineTable { .. } => {}
            }
        }
        self.cursor.recent.insert(set.versionstamp);
        self.cursor.stamp = self.cursor.stamp.max(set.versionstamp);
        let mut batches: BTreeMap<SmolStr, ChangeBatch> = BTreeMap::new();
        for (table, id, old) in before {
            let new = self.tables.get(&table).and_then(|rows| rows.get(&id));
            if old.as_ref() == new {
                continue;
            }
            let batch = batches.entry(table.clone()).or_insert_with(|| ChangeBatch::new(table, version));
            if let Some(old) = old {
                batch.delete(old).map_err(|e| unexpected("change feed read", e))?;
            }
            if let Some(new) = new {
                batch.insert(new.clone()).map_err(|e| unexpected("change feed read", e))?;
            }
        }
        if !batches.is_empty() {
            self.pending.push(Commit {
                version,
                batches: batches.into_values().collect(),
                cursor: self.cursor.clone(),
            });
        }
        Ok(())
    }

    /// Subscribes a live query per table as a wake-up. A failure leaves the
    /// source polling on its interval; it is tried again by the next wait.
    async fn subscribe(&mut self) {
        if !self.options.live_wakeup {
            return;
        }
        let notify = self.wake.as_ref().map_or_else(|| Arc::new(Notify::new()), |w| w.notify.clone());
        let down = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::with_capacity(self.cursor.tables.len());
        for table in &self.cursor.tables {
            let stream: Result<surrealdb::method::Stream<Vec<surrealdb::types::Value>>, _> =
                self.db.select(table.as_str()).live().await;
            let Ok(mut stream) = stream else {
                down.store(true, Ordering::Release);
                continue;
            };
            let (notify, down) = (notify.clone(), down.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(item) = stream.next().await {
                    if item.is_err() {
                        break;
                    }
                    notify.notify_one();
                }
                down.store(true, Ordering::Release);
                notify.notify_one();
            }));
        }
        // Dropping the old wake-up aborts its tasks (and kills their queries).
        self.wake = Some(Wake { notify, down, tasks });
    }
}

/// Checks that every table exists and keeps a change feed; returns the
/// shortest retention.
async fn check_tables<C: Connection>(db: &Surreal<C>, tables: &[SmolStr]) -> Result<Duration, SourceError> {
    let mut res = db.query("INFO FOR DB").await.map_err(query_error("schema read"))?;
    let info: surrealdb::types::Value = res.take(0).map_err(query_error("schema read"))?;
    let info = from_surreal(info).map_err(|source| SourceError::Convert {
        table: SmolStr::new_static("?"),
        record: "INFO FOR DB".into(),
        source,
    })?;
    let defs = match &info {
        Value::Object(o) => match o.get("tables") {
            Some(Value::Object(t)) => t,
            _ => return Err(unexpected("schema read", "INFO FOR DB has no `tables`")),
        },
        _ => return Err(unexpected("schema read", "INFO FOR DB is not an object")),
    };
    let mut retention: Option<Duration> = None;
    for table in tables {
        let Some(Value::String(def)) = defs.get(table) else {
            return Err(SourceError::UnknownTable { table: table.clone() });
        };
        let kept = changefeed_of(def).ok_or_else(|| SourceError::NoChangefeed { table: table.clone() })?;
        retention = Some(retention.map_or(kept, |r| r.min(kept)));
    }
    Ok(retention.unwrap_or(Duration::MAX))
}

/// The retention in a table definition's `CHANGEFEED <duration>` clause.
fn changefeed_of(definition: &str) -> Option<Duration> {
    let mut words = definition.split_whitespace();
    words.find(|w| *w == "CHANGEFEED")?;
    match words.next()?.parse::<Value>().ok()? {
        Value::Duration(d) => Some(d.as_std()),
        _ => None,
    }
}

/// [`clock_stamp`] of a cursor's `seen_at`.
fn clock_stamp_of((secs, nanos): (i64, u32)) -> u64 {
    Datetime::from_timestamp(secs, nanos).map_or(0, clock_stamp)
}

/// A time of the database's clock in versionstamp units: milliseconds
/// since the Unix epoch shifted left by 16 bits, as SurrealDB's hybrid
/// logical clock stamps commits on `mem`, `rocksdb` and `surrealkv`.
fn clock_stamp(at: Datetime) -> u64 {
    let millis = i128::from(at.timestamp()) * 1000 + i128::from(at.subsec_nanos() / 1_000_000);
    u64::try_from(millis.max(0)).unwrap_or(u64::MAX >> 16).min(u64::MAX >> 16) << 16
}

/// The tables a change set touches (the feed stores one entry per table).
fn tables_touched(set: &ChangeSet) -> usize {
    set.changes.iter().map(RowChange::table).collect::<BTreeSet<_>>().len()
}

fn row_of(table: &SmolStr, row: surrealdb::types::Value) -> Result<(RecordId, Value), SourceError> {
    let record = match &row {
        surrealdb::types::Value::Object(o) => match o.get("id").cloned().map(from_surreal) {
            Some(Ok(id)) => id.to_string(),
            _ => "?".to_owned(),
        },
        _ => "?".to_owned(),
    };
    let value = from_surreal(row).map_err(|source| SourceError::Convert { table: table.clone(), record, source })?;
    match &value {
        Value::Object(o) => match o.get("id") {
            Some(Value::RecordId(id)) if id.table() == table.as_str() => Ok(((**id).clone(), value)),
            _ => Err(unexpected("hydration", format!("a row of `{table}` without its record id: {value}"))),
        },
        _ => Err(unexpected("hydration", format!("a row of `{table}` that is not an object: {value}"))),
    }
}

fn datetime(v: surrealdb::types::Value, operation: &'static str) -> Result<Datetime, SourceError> {
    match from_surreal(v) {
        Ok(Value::Datetime(d)) => Ok(d),
        Ok(other) => Err(unexpected(operation, format!("time::now() gave {other}"))),
        Err(e) => Err(unexpected(operation, e)),
    }
}

fn unexpected(operation: &'static str, problem: impl ToString) -> SourceError {
    SourceError::Unexpected { operation, problem: problem.to_string() }
}

/// A table name as SurrealQL: plain, or in backticks.
struct Ident<'a>(&'a str);

impl std::fmt::Display for Ident<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        ssp_core::sql::write_ident(f, self.0)
    }
}
