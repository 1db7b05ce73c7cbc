//! [`SurrealCvrStore`]: client view records in SurrealDB, shared by many workers.

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use ssp_core::{RecordId, Version};
use ssp_cvr::codec;
use ssp_cvr::{
    ClientId, Corruption, Cvr, CvrStore, CvrSummary, DiffError, StateHash, StoreError, Timestamp, ViewDiff, ViewId,
};
use surrealdb::types::{Number, Object, Value};
use surrealdb::{Connection, Surreal};
use tokio::runtime::{Handle, RuntimeFlavor};

use self::rows::{Entry, Tables, intern, text, u64_value};

mod rows;

/// The layout of the tables, checked when a store opens. Record rows hold
/// [`codec`] values, so a new codec format is a new layout too.
const LAYOUT_VERSION: u32 = 1;

/// What a guard throws when the row it checks changed since it was read.
const GUARD_MARK: &str = "ssp_cvr: a CVR changed since it was read";

/// A [`CvrStore`] in SurrealDB: one database shared by every worker of a
/// cluster, so that a client finds its records whichever worker it reconnects
/// to.
///
/// # Layout
///
/// Three tables, named from a prefix (default `ssp_cvr`, see
/// [`SurrealCvrOptions::prefix`]), defined when the store opens (`DEFINE ...
/// IF NOT EXISTS`, so opening is idempotent and workers may open at once):
///
/// - `ssp_cvr`: one row per CVR, id `ssp_cvr:[client, view]`, with the
///   header as plain fields: `version`, `len` and `last_seen` (numbers: an
///   `int`, or an exact `decimal` above `i64::MAX`) and `state_hash` (32 hex
///   digits, as [`StateHash`] prints). `last_seen` is indexed, for expiry.
/// - `ssp_cvr_record`: one row per record a client holds, id
///   `ssp_cvr_record:[client, view, key]` where `key` is the record id's
///   canonical encoding ([`codec::encode_record`]) in lowercase hex, so that
///   equal ids (`t:[1]`, `t:[1.0f]`) are one row. Its field `value` holds the
///   codec's record value (the version, and the exact form of array and
///   object keys) as `bytes`.
/// - `ssp_cvr_meta`: the row `ssp_cvr_meta:format`, the layout version,
///   checked when a store opens.
///
/// A CVR's records are one range of row ids, so loading one CVR reads only
/// its rows, and [`summary`](CvrStore::summary) and
/// [`views`](CvrStore::views) read only headers.
///
/// # Atomicity and concurrent workers
///
/// Every operation is one SurrealDB transaction; reads see one snapshot, and
/// a load checks the records against the header's count and state hash (a
/// stored row that does not decode or disagrees is a
/// [`StoreError::Corrupt`], never a partial CVR).
///
/// A write reads what it needs in one transaction, computes the new headers
/// here, and writes them in a second transaction that first checks that
/// every header it read is unchanged. If another worker wrote one of those
/// CVRs in between, the check fails (or SurrealDB reports a transaction
/// conflict), nothing is written, and the operation starts again from the
/// read, at most [`max_attempts`](SurrealCvrOptions::max_attempts) times with
/// a short randomised back-off. After the last attempt the operation fails
/// with [`StoreError::Backend`] whose source is
/// [`CvrBackendError::Conflict`]: a write is applied whole or not at all,
/// never lost. This holds for writers that go through this store; rows
/// written behind its back are reported as corrupt when read.
///
/// # Blocking, and the runtime
///
/// [`CvrStore`] is synchronous and the SurrealDB SDK is asynchronous. The
/// store holds a [`Handle`] to a **multi-thread** tokio runtime (refused
/// otherwise, [`CvrOpenError::CurrentThreadRuntime`]). Each query is spawned
/// on that runtime and the calling thread waits for its answer on a channel:
///
/// - From a thread that is not a runtime's worker (a plain thread, or
///   [`spawn_blocking`](tokio::task::spawn_blocking)), it simply waits.
/// - From a worker of a multi-thread runtime (this store's or another), it
///   waits inside [`block_in_place`](tokio::task::block_in_place), which
///   hands the worker's other tasks to another thread, so the query's task
///   runs even on a runtime with one worker.
/// - From a current-thread runtime's thread, it blocks that runtime while it
///   waits; the query still completes on the store's runtime. Prefer
///   `spawn_blocking` in async code all the same: a blocked worker runs
///   nothing else.
///
/// The connection must be driven by a runtime that keeps running, normally
/// the one the store is given: create the connection on it (a remote
/// connection's socket task lives on the runtime that created it).
///
/// # Example
///
/// ```
/// use ssp_core::{Record, RecordId, Value, Version};
/// use ssp_cvr::{ClientId, CvrStore, Timestamp, ViewDiff, ViewId};
/// use ssp_surreal::SurrealCvrStore;
/// use surrealdb::Surreal;
/// use surrealdb::engine::local::Mem;
///
/// let runtime = tokio::runtime::Runtime::new()?;
/// let db = runtime.block_on(async {
///     let db = Surreal::new::<Mem>(()).await?;
///     db.use_ns("app").use_db("app").await?;
///     Ok::<_, surrealdb::Error>(db)
/// })?;
/// let store = SurrealCvrStore::open(db, runtime.handle().clone())?;
///
/// let alice = ClientId::new("alice");
/// let mut diff = ViewDiff::new("open_issues", Version(1));
/// diff.upsert(Record::new(RecordId::new("issue", 1), Version(1), Value::from("crash")));
/// store.apply(&alice, &diff, Timestamp(1_000))?;
/// let cvr = store.load(&alice, &ViewId::new("open_issues"))?.expect("just written");
/// assert_eq!(cvr.get(&RecordId::new("issue", 1)), Some(Version(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A remote database is opened the same way (`Surreal::new::<Ws>(address)`,
/// feature `protocol-ws` of `surrealdb`).
pub struct SurrealCvrStore<C: Connection> {
    db: Arc<Surreal<C>>,
    runtime: Handle,
    tables: Tables,
    max_attempts: u32,
}

impl<C: Connection> std::fmt::Debug for SurrealCvrStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SurrealCvrStore")
            .field("tables", &[self.tables.header, self.tables.record, self.tables.meta])
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

/// How [`SurrealCvrStore`] opens.
///
/// ```
/// use ssp_surreal::SurrealCvrOptions;
/// let options = SurrealCvrOptions::new().prefix("tenant_7_cvr").max_attempts(20);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct SurrealCvrOptions {
    prefix: String,
    max_attempts: u32,
}

impl Default for SurrealCvrOptions {
    fn default() -> Self {
        SurrealCvrOptions { prefix: "ssp_cvr".into(), max_attempts: 8 }
    }
}

impl SurrealCvrOptions {
    /// The defaults: prefix `ssp_cvr`, 8 attempts per write.
    pub fn new() -> Self {
        SurrealCvrOptions::default()
    }

    /// The prefix of the table names (default `ssp_cvr`): the tables are
    /// `{prefix}`, `{prefix}_record` and `{prefix}_meta`. ASCII letters,
    /// digits and `_`, not starting with a digit.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many times a write runs when other workers keep changing the same
    /// CVRs (default 8, at least 1) before it fails with
    /// [`CvrBackendError::Conflict`].
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Opens the store in the database that `db` uses, defining its tables
    /// if they do not exist. Its queries run on `runtime`, which must be a
    /// multi-thread runtime. Blocks until the tables are defined.
    ///
    /// # Errors
    ///
    /// [`CvrOpenError::InvalidPrefix`], [`CvrOpenError::CurrentThreadRuntime`],
    /// [`CvrOpenError::LayoutVersion`] for tables written by another release,
    /// [`CvrOpenError::Backend`] if SurrealDB fails.
    pub fn open<C: Connection>(&self, db: Surreal<C>, runtime: Handle) -> Result<SurrealCvrStore<C>, CvrOpenError> {
        let prefix = &self.prefix;
        let valid = prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && prefix.bytes().next().is_some_and(|b| !b.is_ascii_digit());
        if !valid {
            return Err(CvrOpenError::InvalidPrefix { prefix: prefix.clone() });
        }
        if runtime.runtime_flavor() != RuntimeFlavor::MultiThread {
            return Err(CvrOpenError::CurrentThreadRuntime);
        }
        let tables = Tables {
            header: intern(prefix.clone()),
            record: intern(format!("{prefix}_record")),
            meta: intern(format!("{prefix}_meta")),
        };
        let store = SurrealCvrStore { db: Arc::new(db), runtime, tables, max_attempts: self.max_attempts };
        let found =
            store.guarded(|| store.retrying("define the CVR tables", || store.define())).map_err(|e| match e {
                StoreError::Backend { source, .. } => match source.downcast::<CvrBackendError>() {
                    Ok(e) => CvrOpenError::Backend(*e),
                    Err(other) => CvrOpenError::Backend(CvrBackendError::Response(other.to_string())),
                },
                other => CvrOpenError::Backend(CvrBackendError::Response(other.to_string())),
            })?;
        if found != Value::Number(Number::Int(i64::from(LAYOUT_VERSION))) {
            return Err(CvrOpenError::LayoutVersion {
                table: store.tables.meta,
                found: format!("{found:?}"),
                expected: LAYOUT_VERSION,
            });
        }
        Ok(store)
    }
}

/// Why a [`SurrealCvrStore`] did not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CvrOpenError {
    /// The table prefix is not a plain SurrealDB identifier.
    #[error("`{prefix}` is not a table prefix: ASCII letters, digits and `_`, not starting with a digit")]
    InvalidPrefix {
        /// The prefix.
        prefix: String,
    },
    /// The runtime is a current-thread runtime: a thread waiting for an
    /// answer could be the one thread that would compute it.
    #[error("the CVR store needs a multi-thread tokio runtime")]
    CurrentThreadRuntime,
    /// The tables hold another layout version (written by another release
    /// of SSP).
    #[error("the CVR tables have layout version {found} in `{table}:format`; this release reads version {expected}")]
    LayoutVersion {
        /// The meta table.
        table: &'static str,
        /// The version found, as SurrealDB holds it.
        found: String,
        /// The version this release reads and writes.
        expected: u32,
    },
    /// SurrealDB failed.
    #[error("the CVR store failed to open")]
    Backend(#[source] CvrBackendError),
}

/// The source of a [`StoreError::Backend`] from a [`SurrealCvrStore`]
/// (downcast the source to it), and of [`CvrOpenError::Backend`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CvrBackendError {
    /// SurrealDB returned an error.
    #[error("SurrealDB failed: {0}")]
    Database(#[source] surrealdb::Error),
    /// Other workers kept changing the CVRs the operation read, on every
    /// attempt; nothing of the operation was written. It may be retried.
    #[error("other writers changed the same CVRs during each of {attempts} attempts; nothing was written")]
    Conflict {
        /// The attempts made.
        attempts: u32,
        /// What the last attempt ran into.
        #[source]
        last: surrealdb::Error,
    },
    /// The store's runtime shut down before the operation finished.
    #[error("the store's tokio runtime shut down before the operation finished")]
    RuntimeGone,
    /// SurrealDB answered in a shape the store did not ask for (not a stored
    /// row: those are [`StoreError::Corrupt`]).
    #[error("SurrealDB answered in an unexpected shape: {0}")]
    Response(String),
}

/// Why one attempt of an operation failed.
enum Failure {
    /// Another writer got there first; the operation may run again.
    Conflict(surrealdb::Error),
    /// The operation fails with this.
    Fail(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Fail(e)
    }
}

type Attempt<T> = Result<T, Failure>;

fn is_conflict(e: &surrealdb::Error) -> bool {
    use surrealdb::types::QueryError;
    let message = e.message();
    e.query_details() == Some(&QueryError::TransactionConflict)
        || message.contains("Transaction conflict")
        || message.contains("can be retried")
        || (e.is_thrown() && message.contains(GUARD_MARK))
}

fn backend(operation: &'static str, e: CvrBackendError) -> StoreError {
    StoreError::backend(operation, e)
}

/// The answer of a query: the statement results, or the failure (a conflict
/// when any statement conflicted).
fn answer(operation: &'static str, result: surrealdb::Result<surrealdb::IndexedResults>) -> Attempt<Vec<Value>> {
    let mut response = match result {
        Ok(response) => response,
        Err(e) if is_conflict(&e) => return Err(Failure::Conflict(e)),
        Err(e) => return Err(backend(operation, CvrBackendError::Database(e)).into()),
    };
    let mut errors: Vec<(usize, surrealdb::Error)> = response.take_errors().into_iter().collect();
    if !errors.is_empty() {
        // In a failed transaction every statement reports an error; the one
        // that says why is a conflict, or else the first.
        errors.sort_by_key(|(i, _)| *i);
        if let Some(at) = errors.iter().position(|(_, e)| is_conflict(e)) {
            return Err(Failure::Conflict(errors.swap_remove(at).1));
        }
        let (_, first) = errors.swap_remove(0);
        return Err(backend(operation, CvrBackendError::Database(first)).into());
    }
    (0..response.num_statements())
        .map(|i| response.take::<Value>(i).map_err(|e| backend(operation, CvrBackendError::Database(e)).into()))
        .collect()
}

/// The rows of a `SELECT` result.
fn rows(operation: &'static str, value: Value) -> Result<Vec<Object>, StoreError> {
    match value {
        Value::None => Ok(Vec::new()),
        Value::Array(rows) => rows
            .into_iter()
            .map(|row| match row {
                Value::Object(o) => Ok(o),
                other => Err(backend(operation, CvrBackendError::Response(format!("a row that is {other:?}")))),
            })
            .collect(),
        other => Err(backend(operation, CvrBackendError::Response(format!("rows that are {other:?}")))),
    }
}

/// One diff of a batch, encoded and checked before any query runs.
struct Planned<'a> {
    client: &'a ClientId,
    diff: &'a ViewDiff,
    /// `validate`'s verdict, reported in batch order.
    invalid: Option<DiffError>,
    /// Canonical keys of the removed ids.
    removed: Vec<Vec<u8>>,
    /// Canonical key, record value bytes, id and version of each upsert.
    upserts: Vec<(Vec<u8>, Vec<u8>, &'a RecordId, Version)>,
}

/// What a batch does to one CVR, as it is computed.
struct Touched {
    client: ClientId,
    view: ViewId,
    /// The header row as read (`NONE` if there was none), for the guard.
    read: Value,
    header: CvrSummary,
    /// Whether the CVR is new (its record range is cleared of strays).
    new: bool,
    /// The records the batch names, by canonical key.
    records: BTreeMap<Vec<u8>, Slot>,
}

/// A record that a batch names.
#[derive(Default)]
struct Slot {
    /// The id, version and record value held now (`None`: absent).
    held: Option<(RecordId, Version, Vec<u8>)>,
    /// Whether the batch changed it.
    changed: bool,
}

impl<C: Connection> SurrealCvrStore<C> {
    /// Opens the store with the default [`SurrealCvrOptions`]; see
    /// [`SurrealCvrOptions::open`].
    pub fn open(db: Surreal<C>, runtime: Handle) -> Result<Self, CvrOpenError> {
        SurrealCvrOptions::new().open(db, runtime)
    }

    /// The options to open a store with.
    pub fn options() -> SurrealCvrOptions {
        SurrealCvrOptions::new()
    }

    /// The connection.
    pub fn db(&self) -> &Surreal<C> {
        &self.db
    }

    /// The table names: CVR headers, records and the meta table.
    pub fn tables(&self) -> [&'static str; 3] {
        [self.tables.header, self.tables.record, self.tables.meta]
    }

    /// Runs `body` where the calling thread may block: inside
    /// `block_in_place` on a multi-thread runtime's worker, as is elsewhere.
    fn guarded<T>(&self, body: impl FnOnce() -> T) -> T {
        match Handle::try_current() {
            Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(body),
            _ => body(),
        }
    }

    /// Runs `query` with `bindings` on the store's runtime and waits for it.
    fn query(
        &self,
        operation: &'static str,
        query: String,
        bindings: Vec<(&'static str, Value)>,
    ) -> Attempt<Vec<Value>> {
        let db = Arc::clone(&self.db);
        let (tx, rx) = mpsc::sync_channel(1);
        let task = async move {
            let mut request = db.query(query);
            for binding in bindings {
                request = request.bind(binding);
            }
            // The receiver is gone only if the caller is; nothing to tell.
            let _ = tx.send(request.await);
        };
        self.spawn(task);
        match rx.recv() {
            Ok(result) => answer(operation, result),
            Err(_) => Err(backend(operation, CvrBackendError::RuntimeGone).into()),
        }
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        // A runtime that shut down drops the task, and with it the sender.
        drop(self.runtime.spawn(task));
    }

    /// Runs `attempt` until it does not conflict, at most `max_attempts`
    /// times, with randomised exponential back-off between attempts.
    fn retrying<T>(&self, operation: &'static str, mut attempt: impl FnMut() -> Attempt<T>) -> Result<T, StoreError> {
        let random = RandomState::new();
        let mut n = 0;
        loop {
            n += 1;
            match attempt() {
                Ok(out) => return Ok(out),
                Err(Failure::Fail(e)) => return Err(e),
                Err(Failure::Conflict(last)) if n >= self.max_attempts => {
                    return Err(backend(operation, CvrBackendError::Conflict { attempts: n, last }));
                }
                Err(Failure::Conflict(_)) => {
                    // 0.5 to 1.5 times 1 ms · 2^n, at most about 100 ms.
                    let base = 1_000u64 << n.min(6);
                    let jitter = random.hash_one(n) % base;
                    std::thread::sleep(Duration::from_micros(base / 2 + jitter));
                }
            }
        }
    }

    fn define(&self) -> Attempt<Value> {
        let Tables { header, record, meta } = self.tables;
        let query = format!(
            "BEGIN TRANSACTION;
             DEFINE TABLE IF NOT EXISTS {header} SCHEMALESS;
             DEFINE INDEX IF NOT EXISTS {header}_last_seen ON {header} FIELDS last_seen;
             DEFINE TABLE IF NOT EXISTS {record} SCHEMALESS;
             DEFINE TABLE IF NOT EXISTS {meta} SCHEMALESS;
             UPSERT {meta}:format SET layout = layout ?? $layout RETURN VALUE layout;
             COMMIT TRANSACTION;"
        );
        let layout = Value::Number(Number::Int(i64::from(LAYOUT_VERSION)));
        let mut answers = self.query("define the CVR tables", query, vec![("layout", layout)])?;
        match answers.get_mut(5).map(std::mem::take) {
            Some(Value::Array(mut found)) if found.len() == 1 => Ok(found.swap_remove(0)),
            other => Err(backend("define the CVR tables", CvrBackendError::Response(format!("{other:?}"))).into()),
        }
    }

    fn read_cvr(&self, client: &ClientId, view: &ViewId) -> Attempt<Option<Cvr>> {
        const OP: &str = "load a CVR";
        let query = "BEGIN TRANSACTION; SELECT * FROM $header; SELECT id, value FROM $records; COMMIT TRANSACTION;";
        let bindings =
            vec![("header", self.tables.header_id(client, view)), ("records", self.tables.cvr_records(client, view))];
        let mut answers = self.query(OP, query.into(), bindings)?.into_iter().skip(1);
        let headers = rows(OP, answers.next().unwrap_or_default())?;
        let records = rows(OP, answers.next().unwrap_or_default())?;
        let Some(row) = headers.first() else { return Ok(None) };
        let header = self.tables.decode_header(client, view, row)?;
        Ok(Some(self.tables.assemble(header, &records)?))
    }

    fn read_summary(&self, client: &ClientId, view: &ViewId) -> Attempt<Option<CvrSummary>> {
        const OP: &str = "load a CVR header";
        let bindings = vec![("header", self.tables.header_id(client, view))];
        let mut answers = self.query(OP, "SELECT * FROM $header".into(), bindings)?;
        let headers = rows(OP, answers.pop().unwrap_or_default())?;
        headers.first().map(|row| self.tables.decode_header(client, view, row)).transpose().map_err(Failure::Fail)
    }

    /// The headers of `rows` (of `client`'s range), by ascending view id.
    fn client_summaries(&self, client: &ClientId, rows: &[Object]) -> Result<Vec<CvrSummary>, StoreError> {
        let mut out = rows
            .iter()
            .map(|row| {
                let (c, view, rest) = self.tables.split_id(self.tables.header, row)?;
                if c != *client || !rest.is_empty() {
                    let entry = Entry::cvr(self.tables.header, &c, &view);
                    return Err(entry.field("id", "is not [client, view]"));
                }
                self.tables.decode_header(client, &view, row)
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.view.cmp(&b.view));
        Ok(out)
    }

    fn read_views(&self, client: &ClientId) -> Attempt<Vec<CvrSummary>> {
        const OP: &str = "list a client's views";
        let bindings = vec![("headers", self.tables.client_headers(client))];
        let mut answers = self.query(OP, "SELECT * FROM $headers".into(), bindings)?;
        let headers = rows(OP, answers.pop().unwrap_or_default())?;
        Ok(self.client_summaries(client, &headers)?)
    }

    fn read_all(&self, client: &ClientId) -> Attempt<Vec<Cvr>> {
        const OP: &str = "load a client's CVRs";
        let query = "BEGIN TRANSACTION; SELECT * FROM $headers; SELECT id, value FROM $records; COMMIT TRANSACTION;";
        let bindings =
            vec![("headers", self.tables.client_headers(client)), ("records", self.tables.client_records(client))];
        let mut answers = self.query(OP, query.into(), bindings)?.into_iter().skip(1);
        let headers = rows(OP, answers.next().unwrap_or_default())?;
        let records = rows(OP, answers.next().unwrap_or_default())?;
        let mut by_view: BTreeMap<ViewId, Vec<Object>> = BTreeMap::new();
        for row in records {
            let (_, view, _) = self.tables.split_id(self.tables.record, &row)?;
            by_view.entry(view).or_default().push(row);
        }
        let summaries = self.client_summaries(client, &headers)?;
        // Records of a view without a header are strays that no load returns
        // (and that the next diff creating the CVR clears), as in `load`.
        Ok(summaries
            .into_iter()
            .map(|header| {
                let records = by_view.remove(&header.view).unwrap_or_default();
                self.tables.assemble(header, &records)
            })
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Encodes and checks a batch before any query.
    fn plan<'a>(&self, diffs: &[(&'a ClientId, &'a ViewDiff)]) -> Result<Vec<Planned<'a>>, StoreError> {
        diffs
            .iter()
            .map(|&(client, diff)| {
                let mut planned = Planned {
                    client,
                    diff,
                    invalid: diff.validate().err(),
                    removed: Vec::with_capacity(diff.removed.len()),
                    upserts: Vec::with_capacity(diff.upserts.len()),
                };
                let (mut key, mut value) = (Vec::new(), Vec::new());
                for id in &diff.removed {
                    // The canonical key of an id is the record key without its value.
                    key.clear();
                    value.clear();
                    codec::encode_record(id, Version::ZERO, &mut key, &mut value);
                    planned.removed.push(key.clone());
                }
                for record in &diff.upserts {
                    let (mut key, mut value) = (Vec::new(), Vec::new());
                    codec::encode_record(&record.id, record.version, &mut key, &mut value);
                    // Never write what cannot be read back.
                    if let Err(e) = codec::decode_record(&key, &value) {
                        return Err(StoreError::Unstorable {
                            client: client.clone(),
                            view: diff.view.clone(),
                            id: record.id.clone(),
                            reason: e.to_string(),
                        });
                    }
                    planned.upserts.push((key, value, &record.id, record.version));
                }
                Ok(planned)
            })
            .collect()
    }

    fn apply_once(&self, plan: &[Planned<'_>], now: Timestamp) -> Attempt<Vec<CvrSummary>> {
        const OP: &str = "apply a diff";
        // What to read: each CVR's header, and the records the diffs name.
        let mut cvrs: Vec<(ClientId, ViewId)> = Vec::new();
        let mut header_ids = Vec::new();
        let mut record_ids = Vec::new();
        for p in plan {
            let cvr = (p.client.clone(), p.diff.view.clone());
            if !cvrs.contains(&cvr) {
                header_ids.push(self.tables.header_id(&cvr.0, &cvr.1));
                cvrs.push(cvr);
            }
            for key in p.removed.iter().chain(p.upserts.iter().map(|u| &u.0)) {
                record_ids.push(self.tables.record_id(p.client, &p.diff.view, key));
            }
        }
        let query = "BEGIN TRANSACTION; SELECT * FROM $headers; SELECT id, value FROM $records; COMMIT TRANSACTION;";
        let bindings = vec![("headers", Value::Array(header_ids.into())), ("records", Value::Array(record_ids.into()))];
        let mut answers = self.query(OP, query.into(), bindings)?.into_iter().skip(1);
        let header_rows = rows(OP, answers.next().unwrap_or_default())?;
        let record_rows = rows(OP, answers.next().unwrap_or_default())?;

        let mut touched: Vec<Touched> = cvrs
            .into_iter()
            .map(|(client, view)| Touched {
                header: CvrSummary::new(client.clone(), view.clone(), Version::ZERO, StateHash::EMPTY, 0, Timestamp(0)),
                client,
                view,
                read: Value::None,
                new: true,
                records: BTreeMap::new(),
            })
            .collect();
        let find = |touched: &[Touched], client: &ClientId, view: &ViewId| {
            touched.iter().position(|t| t.client == *client && t.view == *view)
        };
        for row in header_rows {
            let (client, view, _) = self.tables.split_id(self.tables.header, &row)?;
            let Some(t) = find(&touched, &client, &view) else { continue };
            touched[t].header = self.tables.decode_header(&client, &view, &row)?;
            touched[t].new = false;
            touched[t].read = Value::Object(row);
        }
        for row in record_rows {
            let (client, view, rest) = self.tables.split_id(self.tables.record, &row)?;
            let Some(t) = find(&touched, &client, &view) else { continue };
            if touched[t].new {
                // A stray of a CVR that does not exist: cleared, not held.
                continue;
            }
            let (key, id, version) = self.tables.decode_record(&client, &view, rest, &row)?;
            let value = match row.get("value") {
                Some(Value::Bytes(b)) => b.to_vec(),
                _ => Vec::new(),
            };
            touched[t].records.insert(key, Slot { held: Some((id, version, value)), changed: false });
        }

        let mut summaries = Vec::with_capacity(plan.len());
        for p in plan {
            let (client, view) = (p.client, &p.diff.view);
            let Some(t) = find(&touched, client, view) else {
                return Err(backend(OP, CvrBackendError::Response("a CVR of the batch was not read".into())).into());
            };
            let t = &mut touched[t];
            let held = t.header.version;
            if p.diff.to_version < held {
                let regressed = DiffError::Regressed { held, diff: p.diff.to_version };
                return Err(StoreError::diff(client, view, regressed).into());
            }
            if let Some(e) = &p.invalid {
                return Err(StoreError::diff(client, view, e.clone()).into());
            }
            let overflow = || Entry::cvr(self.tables.header, client, view).corrupt(Corruption::CountOverflow);
            let header = &mut t.header;
            for key in &p.removed {
                let slot = t.records.entry(key.clone()).or_default();
                if let Some((id, version, _)) = slot.held.take() {
                    header.state_hash -= StateHash::of(&id, version);
                    header.len = header.len.checked_sub(1).ok_or_else(overflow)?;
                    slot.changed = true;
                }
            }
            for (key, value, id, version) in &p.upserts {
                let slot = t.records.entry(key.clone()).or_default();
                match slot.held.take() {
                    Some((old, old_version, _)) => header.state_hash -= StateHash::of(&old, old_version),
                    None => header.len = header.len.checked_add(1).ok_or_else(overflow)?,
                }
                header.state_hash += StateHash::of(id, *version);
                *slot = Slot { held: Some(((*id).clone(), *version, value.clone())), changed: true };
            }
            header.version = p.diff.to_version;
            header.last_seen = header.last_seen.max(now);
            summaries.push(header.clone());
        }

        let mut guards = Vec::new();
        let mut clear = Vec::new();
        let mut deletes = Vec::new();
        let mut headers = Vec::new();
        let mut puts = Vec::new();
        for t in touched {
            let id = self.tables.header_id(&t.client, &t.view);
            let mut guard = Object::new();
            guard.insert("id", id.clone());
            guard.insert("row", t.read);
            guards.push(Value::Object(guard));
            if t.new {
                clear.push(self.tables.cvr_records(&t.client, &t.view));
            }
            let mut header = Object::new();
            header.insert("id", id);
            header.insert("row", Tables::header_row(&t.header));
            headers.push(Value::Object(header));
            for (key, slot) in t.records {
                if !slot.changed {
                    continue;
                }
                let id = self.tables.record_id(&t.client, &t.view, &key);
                match slot.held {
                    None => deletes.push(id),
                    Some((_, _, value)) => {
                        let mut put = Object::new();
                        put.insert("id", id);
                        put.insert("value", Value::Bytes(value.into()));
                        puts.push(Value::Object(put));
                    }
                }
            }
        }
        let query = "BEGIN TRANSACTION;
             FOR $g IN $guards { IF (SELECT * FROM ONLY $g.id) != $g.row { THROW $mark; }; };
             FOR $r IN $clear { DELETE $r RETURN NONE; };
             FOR $d IN $deletes { DELETE $d RETURN NONE; };
             FOR $h IN $headers { UPSERT $h.id CONTENT $h.row RETURN NONE; };
             FOR $p IN $puts { UPSERT $p.id CONTENT { value: $p.value } RETURN NONE; };
             COMMIT TRANSACTION;";
        let bindings = vec![
            ("mark", text(GUARD_MARK)),
            ("guards", Value::Array(guards.into())),
            ("clear", Value::Array(clear.into())),
            ("deletes", Value::Array(deletes.into())),
            ("headers", Value::Array(headers.into())),
            ("puts", Value::Array(puts.into())),
        ];
        self.query(OP, query.into(), bindings)?;
        Ok(summaries)
    }

    fn remove_once(&self, client: &ClientId, view: &ViewId) -> Attempt<bool> {
        const OP: &str = "remove a CVR";
        let query = "BEGIN TRANSACTION; DELETE $header RETURN BEFORE; DELETE $records RETURN NONE; COMMIT TRANSACTION;";
        let bindings =
            vec![("header", self.tables.header_id(client, view)), ("records", self.tables.cvr_records(client, view))];
        let mut answers = self.query(OP, query.into(), bindings)?.into_iter().skip(1);
        Ok(!rows(OP, answers.next().unwrap_or_default())?.is_empty())
    }

    fn expire_once(&self, before: Timestamp) -> Attempt<usize> {
        const OP: &str = "expire CVRs";
        let header = self.tables.header;
        let query = format!("SELECT * FROM {header} WHERE last_seen < $before");
        let mut answers = self.query(OP, query, vec![("before", u64_value(before.0))])?;
        let expired = rows(OP, answers.pop().unwrap_or_default())?;
        if expired.is_empty() {
            return Ok(0);
        }
        let mut guards = Vec::with_capacity(expired.len());
        let mut ranges = Vec::with_capacity(expired.len());
        for row in &expired {
            let (client, view, rest) = self.tables.split_id(header, row)?;
            if !rest.is_empty() {
                return Err(Entry::cvr(header, &client, &view).field("id", "is not [client, view]").into());
            }
            let mut guard = Object::new();
            guard.insert("id", self.tables.header_id(&client, &view));
            guard.insert("row", Value::Object(row.clone()));
            guards.push(Value::Object(guard));
            ranges.push(self.tables.cvr_records(&client, &view));
        }
        let query = "BEGIN TRANSACTION;
             FOR $g IN $guards { IF (SELECT * FROM ONLY $g.id) != $g.row { THROW $mark; }; DELETE $g.id RETURN NONE; };
             FOR $r IN $ranges { DELETE $r RETURN NONE; };
             COMMIT TRANSACTION;";
        let bindings = vec![
            ("mark", text(GUARD_MARK)),
            ("guards", Value::Array(guards.into())),
            ("ranges", Value::Array(ranges.into())),
        ];
        self.query(OP, query.into(), bindings)?;
        Ok(expired.len())
    }
}

impl<C: Connection> CvrStore for SurrealCvrStore<C> {
    fn load(&self, client: &ClientId, view: &ViewId) -> Result<Option<Cvr>, StoreError> {
        self.guarded(|| self.retrying("load a CVR", || self.read_cvr(client, view)))
    }

    fn summary(&self, client: &ClientId, view: &ViewId) -> Result<Option<CvrSummary>, StoreError> {
        self.guarded(|| self.retrying("load a CVR header", || self.read_summary(client, view)))
    }

    fn views(&self, client: &ClientId) -> Result<Vec<CvrSummary>, StoreError> {
        self.guarded(|| self.retrying("list a client's views", || self.read_views(client)))
    }

    fn load_all(&self, client: &ClientId) -> Result<Vec<Cvr>, StoreError> {
        self.guarded(|| self.retrying("load a client's CVRs", || self.read_all(client)))
    }

    fn apply_all(&self, diffs: &[(&ClientId, &ViewDiff)], now: Timestamp) -> Result<Vec<CvrSummary>, StoreError> {
        if diffs.is_empty() {
            return Ok(Vec::new());
        }
        let plan = self.plan(diffs)?;
        self.guarded(|| self.retrying("apply a diff", || self.apply_once(&plan, now)))
    }

    fn remove(&self, client: &ClientId, view: &ViewId) -> Result<bool, StoreError> {
        self.guarded(|| self.retrying("remove a CVR", || self.remove_once(client, view)))
    }

    fn expire(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.guarded(|| self.retrying("expire CVRs", || self.expire_once(before)))
    }
}
