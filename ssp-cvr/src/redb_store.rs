//! [`RedbStore`]: client view records in a redb file.

use std::error::Error as StdError;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, StorageError, Table, TableDefinition, TableError,
};
use ssp_core::Version;

use crate::codec::{self, DecodeError, FORMAT_VERSION};
use crate::hash::{encode_id, hash_encoded};
use crate::store::Corruption;
use crate::{
    ClientId, Cvr, CvrStore, CvrSummary, DiffError, StateHash, StoreError, Timestamp, ViewDiff, ViewId, ViewState,
};

type Bytes = &'static [u8];

/// `b"format_version"` → the format version ([`codec::encode_format_version`]).
const META: TableDefinition<Bytes, Bytes> = TableDefinition::new("ssp_cvr_meta");
/// cvr key → header.
const HEADERS: TableDefinition<Bytes, Bytes> = TableDefinition::new("ssp_cvr_headers");
/// record key → record value.
const RECORDS: TableDefinition<Bytes, Bytes> = TableDefinition::new("ssp_cvr_records");
/// `u64be(last seen)` cvr key → nothing: the CVRs by last-seen time, for expiry.
const LAST_SEEN: TableDefinition<Bytes, Bytes> = TableDefinition::new("ssp_cvr_last_seen");

const FORMAT_KEY: &[u8] = b"format_version";
const TABLES: [&str; 4] = ["ssp_cvr_meta", "ssp_cvr_headers", "ssp_cvr_records", "ssp_cvr_last_seen"];

/// A [`CvrStore`] in a [redb](https://www.redb.org) file: durable, for one
/// worker process.
///
/// # Layout
///
/// Four tables, each from bytes to bytes in the encodings of [`codec`]:
/// `ssp_cvr_meta` holds the format version ([`FORMAT_VERSION`], checked on
/// open), `ssp_cvr_headers` a header per CVR (version, state hash, last-seen
/// time, record count), `ssp_cvr_records` one entry per record a client
/// holds, and `ssp_cvr_last_seen` the CVRs ordered by last-seen time.
///
/// # Costs and guarantees
///
/// - Applying a diff writes only the records it names, its header and its
///   index entry: O(diff), not a rewrite of the CVR, in one write transaction
///   that is durable when [`apply`](CvrStore::apply) returns (redb's
///   `Durability::Immediate`: an fsync per commit, so batch with
///   [`apply_all`](CvrStore::apply_all)). A crash leaves every CVR as it was
///   after its last committed diff.
/// - Loading a CVR reads its records in one range scan and checks them
///   against the header's count and state hash: a corrupt or missing entry is
///   a [`StoreError::Corrupt`], never a smaller CVR.
/// - Expiry visits only the CVRs it removes.
/// - The file is locked: a second store (in this or another process) on the
///   same file gets [`OpenError::Locked`].
///
/// ```
/// use ssp_core::{Record, RecordId, Value, Version};
/// use ssp_cvr::{ClientId, CvrStore, RedbStore, Timestamp, ViewDiff, ViewId};
///
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("cvr.redb");
/// let alice = ClientId::new("alice");
/// let view = ViewId::new("open_issues");
/// {
///     let store = RedbStore::open(&path)?;
///     let mut diff = ViewDiff::new(view.clone(), Version(1));
///     diff.upsert(Record::new(RecordId::new("issue", 1), Version(1), Value::from("crash")));
///     store.apply(&alice, &diff, Timestamp(1_000))?;
/// }
/// let store = RedbStore::open(&path)?; // the diff outlived the process's store
/// assert_eq!(store.load(&alice, &view)?.map(|cvr| cvr.len()), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// How [`RedbStore`] opens its file.
///
/// ```
/// use ssp_cvr::RedbOptions;
/// # let dir = tempfile::tempdir()?;
/// let store = RedbOptions::new().verify_on_open(false).cache_size(64 << 20).open(dir.path().join("cvr.redb"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct RedbOptions {
    verify_on_open: bool,
    cache_size: Option<usize>,
}

impl Default for RedbOptions {
    fn default() -> Self {
        RedbOptions { verify_on_open: true, cache_size: None }
    }
}

impl RedbOptions {
    /// The defaults: verify on open, redb's default cache size (1 GiB at most).
    pub fn new() -> Self {
        RedbOptions::default()
    }

    /// Whether to verify the checksum of every page when opening (default
    /// `true`). Verification reads the whole file, so opening costs time in
    /// proportion to its size; without it, a file that was damaged outside
    /// redb (a disk error, a truncation) may make redb panic instead of
    /// returning [`OpenError::Corrupt`]. After a crash redb verifies anyway.
    pub fn verify_on_open(mut self, verify: bool) -> Self {
        self.verify_on_open = verify;
        self
    }

    /// The most memory redb may use to cache pages, in bytes.
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = Some(bytes);
        self
    }

    /// Opens the store in the file at `path`, creating it if there is no file
    /// or the file is empty.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<RedbStore, OpenError> {
        let path = path.as_ref();
        let mut builder = Database::builder();
        builder.set_check_integrity_on_open(self.verify_on_open);
        if let Some(bytes) = self.cache_size {
            builder.set_cache_size(bytes);
        }
        let db = builder.create(path).map_err(|e| open_error(path, e))?;
        check_format(&db, path)?;
        Ok(RedbStore { db, path: path.to_owned() })
    }
}

/// Why a [`RedbStore`] did not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Another store holds the file: in another process, or in this one.
    #[error("the CVR store {} is open in another process (or another store of this one)", path.display())]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file is a CVR store of another format version (written by another
    /// release of SSP).
    #[error("the CVR store {} has format version {found}; this release reads version {expected}", path.display())]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// The file's format version.
        found: u32,
        /// The version this release reads and writes.
        expected: u32,
    },
    /// The file is a redb database, but not a CVR store.
    #[error("{} is a redb database, but not a CVR store (its tables: {tables:?})", path.display())]
    NotACvrStore {
        /// The file.
        path: PathBuf,
        /// The tables it holds.
        tables: Vec<String>,
    },
    /// The file is damaged: it is not a redb database, it was truncated, a
    /// page fails its checksum, or its format entry does not decode.
    #[error("the CVR store {} is corrupt", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the database or the decoder reported.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The file could not be read or written.
    #[error("I/O error on the CVR store {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The database failed otherwise.
    #[error("the CVR store {} failed to open", path.display())]
    Backend {
        /// The file.
        path: PathBuf,
        /// The database's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

fn open_error(path: &Path, error: DatabaseError) -> OpenError {
    let path = path.to_owned();
    match error {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => OpenError::Locked { path },
        DatabaseError::Storage(StorageError::Corrupted(message)) => OpenError::Corrupt { path, source: message.into() },
        DatabaseError::Storage(StorageError::Io(source))
            if matches!(source.kind(), io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof) =>
        {
            OpenError::Corrupt { path, source: Box::new(source) }
        }
        DatabaseError::Storage(StorageError::Io(source)) => OpenError::Io { path, source },
        other => OpenError::Backend { path, source: Box::new(other) },
    }
}

fn open_backend(path: &Path, error: impl Into<redb::Error>) -> OpenError {
    match error.into() {
        redb::Error::Corrupted(message) => OpenError::Corrupt { path: path.to_owned(), source: message.into() },
        redb::Error::Io(source) => OpenError::Io { path: path.to_owned(), source },
        other => OpenError::Backend { path: path.to_owned(), source: Box::new(other) },
    }
}

/// Checks the format version of an existing store, or initialises a new one.
fn check_format(db: &Database, path: &Path) -> Result<(), OpenError> {
    let txn = db.begin_read().map_err(|e| open_backend(path, e))?;
    let tables: Vec<String> =
        txn.list_tables().map_err(|e| open_backend(path, e))?.map(|t| redb::TableHandle::name(&t).to_owned()).collect();
    if tables.is_empty() {
        drop(txn);
        let txn = db.begin_write().map_err(|e| open_backend(path, e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| open_backend(path, e))?;
            meta.insert(FORMAT_KEY, codec::encode_format_version(FORMAT_VERSION).as_slice())
                .map_err(|e| open_backend(path, e))?;
            for table in [HEADERS, RECORDS, LAST_SEEN] {
                txn.open_table(table).map_err(|e| open_backend(path, e))?;
            }
        }
        return txn.commit().map_err(|e| open_backend(path, e));
    }
    if !tables.iter().any(|t| t == TABLES[0]) {
        return Err(OpenError::NotACvrStore { path: path.to_owned(), tables });
    }
    let meta = txn.open_table(META).map_err(|e| match e {
        TableError::TableTypeMismatch { .. } => {
            OpenError::NotACvrStore { path: path.to_owned(), tables: tables.clone() }
        }
        other => open_backend(path, other),
    })?;
    let found = match meta.get(FORMAT_KEY).map_err(|e| open_backend(path, e))? {
        Some(bytes) => codec::decode_format_version(bytes.value())
            .map_err(|e| OpenError::Corrupt { path: path.to_owned(), source: Box::new(e) })?,
        None => {
            return Err(OpenError::Corrupt { path: path.to_owned(), source: "the format version is missing".into() });
        }
    };
    if found != FORMAT_VERSION {
        return Err(OpenError::FormatVersion { path: path.to_owned(), found, expected: FORMAT_VERSION });
    }
    if let Some(missing) = TABLES.iter().find(|name| !tables.iter().any(|t| t == *name)) {
        return Err(OpenError::Corrupt { path: path.to_owned(), source: format!("table {missing} is missing").into() });
    }
    Ok(())
}

impl RedbStore {
    /// Opens the store in the file at `path` with the default
    /// [`RedbOptions`], creating it if there is no file or the file is empty.
    ///
    /// # Errors
    ///
    /// [`OpenError::Locked`] if another store holds the file,
    /// [`OpenError::FormatVersion`] for a store of another format version,
    /// [`OpenError::NotACvrStore`] for another redb database,
    /// [`OpenError::Corrupt`] for a damaged or foreign file.
    pub fn open(path: impl AsRef<Path>) -> Result<RedbStore, OpenError> {
        RedbOptions::new().open(path)
    }

    /// The options to open a store with.
    pub fn options() -> RedbOptions {
        RedbOptions::new()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn backend(operation: &'static str) -> impl FnOnce(redb::Error) -> StoreError {
    move |e| StoreError::backend(operation, e)
}

/// Wraps any redb error as [`StoreError::Backend`].
macro_rules! try_db {
    ($e:expr, $op:expr) => {
        $e.map_err(|e| backend($op)(redb::Error::from(e)))?
    };
}

fn corrupt(table: &'static str, key: &[u8], problem: impl Into<Corruption>) -> StoreError {
    let (client, view) = match codec::split_cvr_key(key) {
        Ok((client, view, _)) => (Some(client), Some(view)),
        Err(_) => (None, None),
    };
    StoreError::Corrupt { table, client, view, key: key.to_vec(), problem: Box::new(problem.into()) }
}

fn corrupt_at(
    table: &'static str,
    key: &[u8],
    client: &ClientId,
    view: &ViewId,
    problem: impl Into<Corruption>,
) -> StoreError {
    StoreError::Corrupt {
        table,
        client: Some(client.clone()),
        view: Some(view.clone()),
        key: key.to_vec(),
        problem: Box::new(problem.into()),
    }
}

/// The keys starting with `prefix`, as a range.
fn prefix_range(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

fn as_slices(range: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (range.0.as_ref().map(Vec::as_slice), range.1.as_ref().map(Vec::as_slice))
}

fn index_key(last_seen: Timestamp, cvr_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + cvr_key.len());
    key.extend_from_slice(&last_seen.0.to_be_bytes());
    key.extend_from_slice(cvr_key);
    key
}

fn read_header(
    headers: &impl ReadableTable<Bytes, Bytes>,
    client: &ClientId,
    view: &ViewId,
    cvr_key: &[u8],
) -> Result<Option<CvrSummary>, StoreError> {
    let Some(bytes) = try_db!(headers.get(cvr_key), "read a CVR header") else { return Ok(None) };
    codec::decode_header(client.clone(), view.clone(), bytes.value())
        .map(Some)
        .map_err(|e| corrupt_at("ssp_cvr_headers", cvr_key, client, view, e))
}

/// Loads the records of the CVR with header `header` and checks them against it.
fn read_records(
    records: &impl ReadableTable<Bytes, Bytes>,
    header: CvrSummary,
    cvr_key: &[u8],
) -> Result<Cvr, StoreError> {
    let (client, view) = (&header.client, &header.view);
    // A corrupt count must not allocate without bound; the map grows if needed.
    let mut state = ViewState::with_capacity(header.len.min(1 << 16) as usize);
    let range = prefix_range(cvr_key);
    let mut buf = Vec::new();
    for entry in try_db!(records.range::<&[u8]>(as_slices(&range)), "load a CVR") {
        let (key, value) = try_db!(entry, "load a CVR");
        let key = key.value();
        let suffix = &key[cvr_key.len()..];
        let (id, version) = codec::decode_record(suffix, value.value())
            .map_err(|e| corrupt_at("ssp_cvr_records", key, client, view, e))?;
        let hash = hash_encoded(suffix, version, &mut buf);
        if !state.insert_new_hashed(id, version, hash) {
            // Two keys for one id: the canonical encoding was bypassed.
            return Err(corrupt_at("ssp_cvr_records", key, client, view, DecodeError::KeyMismatch));
        }
    }
    if state.len() as u64 != header.len {
        let problem = Corruption::CountMismatch { header: header.len, found: state.len() as u64 };
        return Err(corrupt_at("ssp_cvr_headers", cvr_key, client, view, problem));
    }
    if state.state_hash() != header.state_hash {
        let problem = Corruption::HashMismatch { header: header.state_hash, computed: state.state_hash() };
        return Err(corrupt_at("ssp_cvr_headers", cvr_key, client, view, problem));
    }
    state.advance_to(header.version);
    Ok(Cvr::from_state(header.client, header.view, state, header.last_seen))
}

/// The headers of `client`'s CVRs, by ascending view id.
fn read_views(headers: &impl ReadableTable<Bytes, Bytes>, client: &ClientId) -> Result<Vec<CvrSummary>, StoreError> {
    let mut prefix = Vec::new();
    codec::encode_client_prefix(client, &mut prefix);
    let range = prefix_range(&prefix);
    let mut out = Vec::new();
    for entry in try_db!(headers.range::<&[u8]>(as_slices(&range)), "list a client's views") {
        let (key, value) = try_db!(entry, "list a client's views");
        let key = key.value();
        let (_, view) = codec::decode_cvr_key(key).map_err(|e| corrupt("ssp_cvr_headers", key, e))?;
        let summary = codec::decode_header(client.clone(), view, value.value())
            .map_err(|e| corrupt("ssp_cvr_headers", key, e))?;
        out.push(summary);
    }
    out.sort_by(|a, b| a.view.cmp(&b.view));
    Ok(out)
}

struct WriteTables<'txn> {
    headers: Table<'txn, Bytes, Bytes>,
    records: Table<'txn, Bytes, Bytes>,
    last_seen: Table<'txn, Bytes, Bytes>,
}

impl WriteTables<'_> {
    fn apply(&mut self, client: &ClientId, diff: &ViewDiff, now: Timestamp) -> Result<CvrSummary, StoreError> {
        let view = &diff.view;
        diff.validate().map_err(|e| StoreError::diff(client, view, e))?;
        let mut cvr_key = Vec::new();
        codec::encode_cvr_key(client, view, &mut cvr_key);
        let old = read_header(&self.headers, client, view, &cvr_key)?;
        let mut header = match &old {
            Some(old) if diff.to_version < old.version => {
                let regressed = DiffError::Regressed { held: old.version, diff: diff.to_version };
                return Err(StoreError::diff(client, view, regressed));
            }
            Some(old) => old.clone(),
            None => CvrSummary::new(client.clone(), view.clone(), Version::ZERO, StateHash::EMPTY, 0, Timestamp(0)),
        };
        let overflow = || corrupt_at("ssp_cvr_headers", &cvr_key, client, view, Corruption::CountOverflow);
        let prefix = cvr_key.len();
        let (mut key, mut value, mut buf) = (cvr_key.clone(), Vec::new(), Vec::new());
        for id in &diff.removed {
            key.truncate(prefix);
            encode_id(id, &mut key);
            let Some(previous) = try_db!(self.records.remove(key.as_slice()), "apply a diff") else { continue };
            let (_, version) = codec::decode_record(&key[prefix..], previous.value())
                .map_err(|e| corrupt_at("ssp_cvr_records", &key, client, view, e))?;
            header.state_hash -= hash_encoded(&key[prefix..], version, &mut buf);
            header.len = header.len.checked_sub(1).ok_or_else(overflow)?;
        }
        for record in &diff.upserts {
            key.truncate(prefix);
            value.clear();
            codec::encode_record(&record.id, record.version, &mut key, &mut value);
            // Never write what cannot be read back: the transaction is dropped
            // (aborted) with the error, so nothing of the diff is stored.
            if let Err(e) = codec::decode_record(&key[prefix..], &value) {
                return Err(StoreError::Unstorable {
                    client: client.clone(),
                    view: view.clone(),
                    id: record.id.clone(),
                    reason: e.to_string(),
                });
            }
            let previous = try_db!(self.records.insert(key.as_slice(), value.as_slice()), "apply a diff");
            match previous {
                Some(previous) => {
                    let (_, version) = codec::decode_record(&key[prefix..], previous.value())
                        .map_err(|e| corrupt_at("ssp_cvr_records", &key, client, view, e))?;
                    header.state_hash -= hash_encoded(&key[prefix..], version, &mut buf);
                }
                None => header.len = header.len.checked_add(1).ok_or_else(overflow)?,
            }
            header.state_hash += hash_encoded(&key[prefix..], record.version, &mut buf);
        }
        header.version = diff.to_version;
        header.last_seen = header.last_seen.max(now);
        if old.as_ref().map(|o| o.last_seen) != Some(header.last_seen) {
            if let Some(old) = &old {
                try_db!(self.last_seen.remove(index_key(old.last_seen, &cvr_key).as_slice()), "apply a diff");
            }
            try_db!(
                self.last_seen.insert(index_key(header.last_seen, &cvr_key).as_slice(), [].as_slice()),
                "apply a diff"
            );
        }
        try_db!(self.headers.insert(cvr_key.as_slice(), codec::encode_header(&header).as_slice()), "apply a diff");
        Ok(header)
    }

    /// Removes the CVR with key `cvr_key` whose header was `header` (the
    /// header is already removed).
    fn remove_cvr(&mut self, cvr_key: &[u8], header: Option<Timestamp>) -> Result<(), StoreError> {
        let range = prefix_range(cvr_key);
        try_db!(self.records.retain_in::<&[u8], _>(as_slices(&range), |_, _| false), "remove a CVR");
        match header {
            Some(last_seen) => {
                try_db!(self.last_seen.remove(index_key(last_seen, cvr_key).as_slice()), "remove a CVR");
            }
            // The header did not decode, so its index entry is found by scanning.
            None => try_db!(self.last_seen.retain(|k, _| k.get(8..) != Some(cvr_key)), "remove a CVR"),
        }
        Ok(())
    }
}

impl RedbStore {
    fn write<T>(
        &self,
        operation: &'static str,
        body: impl FnOnce(&mut WriteTables<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = try_db!(self.db.begin_write(), operation);
        let result = (|| {
            let mut tables = WriteTables {
                headers: try_db!(txn.open_table(HEADERS), operation),
                records: try_db!(txn.open_table(RECORDS), operation),
                last_seen: try_db!(txn.open_table(LAST_SEEN), operation),
            };
            body(&mut tables)
        })();
        match result {
            Ok(out) => {
                try_db!(txn.commit(), operation);
                Ok(out)
            }
            Err(e) => {
                // Nothing of a failed operation is committed; an abort that
                // fails too changes nothing more.
                let _ = txn.abort();
                Err(e)
            }
        }
    }
}

impl CvrStore for RedbStore {
    fn load(&self, client: &ClientId, view: &ViewId) -> Result<Option<Cvr>, StoreError> {
        let txn = try_db!(self.db.begin_read(), "load a CVR");
        let headers = try_db!(txn.open_table(HEADERS), "load a CVR");
        let mut cvr_key = Vec::new();
        codec::encode_cvr_key(client, view, &mut cvr_key);
        let Some(header) = read_header(&headers, client, view, &cvr_key)? else { return Ok(None) };
        let records = try_db!(txn.open_table(RECORDS), "load a CVR");
        read_records(&records, header, &cvr_key).map(Some)
    }

    fn summary(&self, client: &ClientId, view: &ViewId) -> Result<Option<CvrSummary>, StoreError> {
        let txn = try_db!(self.db.begin_read(), "load a CVR header");
        let headers = try_db!(txn.open_table(HEADERS), "load a CVR header");
        let mut cvr_key = Vec::new();
        codec::encode_cvr_key(client, view, &mut cvr_key);
        read_header(&headers, client, view, &cvr_key)
    }

    fn views(&self, client: &ClientId) -> Result<Vec<CvrSummary>, StoreError> {
        let txn = try_db!(self.db.begin_read(), "list a client's views");
        let headers = try_db!(txn.open_table(HEADERS), "list a client's views");
        read_views(&headers, client)
    }

    fn load_all(&self, client: &ClientId) -> Result<Vec<Cvr>, StoreError> {
        let txn = try_db!(self.db.begin_read(), "load a client's CVRs");
        let headers = try_db!(txn.open_table(HEADERS), "load a client's CVRs");
        let records = try_db!(txn.open_table(RECORDS), "load a client's CVRs");
        let mut cvr_key = Vec::new();
        read_views(&headers, client)?
            .into_iter()
            .map(|header| {
                cvr_key.clear();
                codec::encode_cvr_key(&header.client, &header.view, &mut cvr_key);
                read_records(&records, header, &cvr_key)
            })
            .collect()
    }

    fn apply_all(&self, diffs: &[(&ClientId, &ViewDiff)], now: Timestamp) -> Result<Vec<CvrSummary>, StoreError> {
        self.write("apply a diff", |tables| {
            diffs.iter().map(|(client, diff)| tables.apply(client, diff, now)).collect()
        })
    }

    fn remove(&self, client: &ClientId, view: &ViewId) -> Result<bool, StoreError> {
        self.write("remove a CVR", |tables| {
            let mut cvr_key = Vec::new();
            codec::encode_cvr_key(client, view, &mut cvr_key);
            let Some(header) = try_db!(tables.headers.remove(cvr_key.as_slice()), "remove a CVR") else {
                return Ok(false);
            };
            let last_seen =
                codec::decode_header(client.clone(), view.clone(), header.value()).ok().map(|h| h.last_seen);
            drop(header);
            tables.remove_cvr(&cvr_key, last_seen)?;
            Ok(true)
        })
    }

    fn expire(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.write("expire CVRs", |tables| {
            let end = before.0.to_be_bytes();
            let mut expired: Vec<Vec<u8>> = Vec::new();
            let mut count = 0;
            for entry in try_db!(tables.last_seen.range::<&[u8]>(..end.as_slice()), "expire CVRs") {
                let (key, _) = try_db!(entry, "expire CVRs");
                expired.push(key.value().to_vec());
            }
            for index in &expired {
                let cvr_key = index.get(8..).unwrap_or_default();
                let (client, view) =
                    codec::decode_cvr_key(cvr_key).map_err(|e| corrupt("ssp_cvr_last_seen", index, e))?;
                let last_seen =
                    index.get(..8).and_then(|b| b.try_into().ok()).map(|b| Timestamp(u64::from_be_bytes(b)));
                let header = try_db!(tables.headers.get(cvr_key), "expire CVRs")
                    .map(|bytes| codec::decode_header(client.clone(), view.clone(), bytes.value()))
                    .transpose()
                    .map_err(|e| corrupt_at("ssp_cvr_headers", cvr_key, &client, &view, e))?;
                // The last-seen index is derived from the headers: an entry that
                // disagrees with them is stale, and is repaired here rather than
                // left to block every later expiry.
                let Some(header) = header else {
                    // No CVR behind the entry: drop it and any orphaned records.
                    try_db!(tables.last_seen.remove(index.as_slice()), "expire CVRs");
                    tables.remove_cvr(cvr_key, None)?;
                    continue;
                };
                if Some(header.last_seen) != last_seen {
                    // The CVR was seen at another time: the stale entry goes,
                    // and the CVR expires by its own time.
                    try_db!(tables.last_seen.remove(index.as_slice()), "expire CVRs");
                    if header.last_seen >= before {
                        let own = index_key(header.last_seen, cvr_key);
                        try_db!(tables.last_seen.insert(own.as_slice(), [].as_slice()), "expire CVRs");
                        continue;
                    }
                }
                try_db!(tables.headers.remove(cvr_key), "expire CVRs");
                tables.remove_cvr(cvr_key, Some(header.last_seen))?;
                count += 1;
            }
            Ok(count)
        })
    }
}
