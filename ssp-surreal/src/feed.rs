//! Decoding SurrealDB's change feed and live-query notifications.
//!
//! These decoders work on SSP [`Value`]s (converted from SurrealDB's without
//! loss by [`from_surreal`](crate::from_surreal)), so they are pure functions
//! of their input: [`Source`](crate::Source) uses them, applications that
//! ingest LIVE notifications themselves can too, and they are fuzzed.

use smol_str::SmolStr;
use ssp_core::{Object, RecordId, Value};

/// One entry of `SHOW CHANGES`: everything one commit changed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSet {
    /// The commit's versionstamp.
    pub versionstamp: u64,
    /// The changes, in the order the feed lists them.
    pub changes: Vec<RowChange>,
}

/// One change of a [`ChangeSet`] or of a live-query notification.
#[derive(Clone, Debug, PartialEq)]
pub enum RowChange {
    /// The record's content after the commit (a create or an update). The
    /// content is the whole row, its `id` field included.
    Set {
        /// The record.
        id: RecordId,
        /// Its content.
        value: Value,
    },
    /// The record was deleted.
    Delete {
        /// The record.
        id: RecordId,
    },
    /// The table was defined or redefined (its data is unchanged by this).
    DefineTable {
        /// The table.
        table: SmolStr,
    },
}

impl RowChange {
    /// The table the change belongs to.
    pub fn table(&self) -> &str {
        match self {
            RowChange::Set { id, .. } | RowChange::Delete { id } => id.table(),
            RowChange::DefineTable { table } => table,
        }
    }
}

/// What was wrong with a change-feed entry or a notification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} at `{path}`: {problem}")]
pub struct DecodeError {
    /// What was being read: `change feed` or `notification`.
    pub what: &'static str,
    /// Where: `$` for the whole value, then `[i]` and `.field`.
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

fn bad(what: &'static str, path: impl Into<String>, problem: impl Into<String>) -> DecodeError {
    DecodeError { what, path: path.into(), problem: problem.into() }
}

const FEED: &str = "change feed";
const NOTIFICATION: &str = "notification";

/// Decodes the result of `SHOW CHANGES FOR ... SINCE n`: an array of
/// `{ versionstamp, changes }` objects, as SurrealDB 3 writes them (with or
/// without `INCLUDE ORIGINAL`).
///
/// ```
/// use ssp_core::{RecordId, Value};
/// use ssp_surreal::feed::{RowChange, decode_changes};
///
/// let page: Value = "[{ versionstamp: 65536, changes: [
///     { update: { id: issue:1, title: 'Crash' } },
///     { delete: { id: issue:2 } },
/// ] }]".parse()?;
/// let sets = decode_changes(&page)?;
/// assert_eq!(sets[0].versionstamp, 65536);
/// assert_eq!(sets[0].changes[1], RowChange::Delete { id: RecordId::new("issue", 2) });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_changes(page: &Value) -> Result<Vec<ChangeSet>, DecodeError> {
    let Value::Array(sets) = page else {
        return Err(bad(FEED, "$", format!("expected an array of change sets, found {}", kind(page))));
    };
    let mut out: Vec<ChangeSet> = Vec::with_capacity(sets.len());
    for (i, set) in sets.iter().enumerate() {
        let path = format!("$[{i}]");
        let obj = object(FEED, set, &path)?;
        let versionstamp = match obj.get("versionstamp") {
            Some(Value::Number(n)) => n
                .to_i64()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| bad(FEED, format!("{path}.versionstamp"), format!("{n} is not a versionstamp")))?,
            other => return Err(missing(FEED, &path, "versionstamp", other)),
        };
        if let Some(prev) = out.last()
            && prev.versionstamp >= versionstamp
        {
            return Err(bad(
                FEED,
                format!("{path}.versionstamp"),
                format!("versionstamp {versionstamp} does not follow {}", prev.versionstamp),
            ));
        }
        let changes = match obj.get("changes") {
            Some(Value::Array(changes)) => changes
                .iter()
                .enumerate()
                .map(|(j, c)| change(c, &format!("{path}.changes[{j}]")))
                .collect::<Result<_, _>>()?,
            other => return Err(missing(FEED, &path, "changes", other)),
        };
        out.push(ChangeSet { versionstamp, changes });
    }
    Ok(out)
}

fn change(c: &Value, path: &str) -> Result<RowChange, DecodeError> {
    let obj = object(FEED, c, path)?;
    if let Some(def) = obj.get("define_table") {
        let name = match object(FEED, def, &format!("{path}.define_table"))?.get("name") {
            Some(Value::String(name)) => name.clone(),
            other => return Err(missing(FEED, &format!("{path}.define_table"), "name", other)),
        };
        return Ok(RowChange::DefineTable { table: name });
    }
    if let Some(del) = obj.get("delete") {
        let inner = format!("{path}.delete");
        let id = record_id(FEED, object(FEED, del, &inner)?.get("id"), &inner)?;
        return Ok(RowChange::Delete { id });
    }
    // With `INCLUDE ORIGINAL` an update is `{ current, update: [patches] }`;
    // without, and for a create, `{ update: row }`.
    let (row, at) = match (obj.get("current"), obj.get("update")) {
        (Some(current), _) => (current, format!("{path}.current")),
        (None, Some(update)) => (update, format!("{path}.update")),
        (None, None) => {
            return Err(bad(FEED, path, "expected one of `update`, `current`, `delete`, `define_table`"));
        }
    };
    row_change(FEED, row, &at)
}

/// A row with its `id`: a `Set`.
fn row_change(what: &'static str, row: &Value, path: &str) -> Result<RowChange, DecodeError> {
    let id = record_id(what, object(what, row, path)?.get("id"), path)?;
    Ok(RowChange::Set { id, value: row.clone() })
}

/// Decodes a live-query notification (`LIVE SELECT * FROM t`, or the SDK's
/// `select(t).live()`): its action and data, converted with
/// [`from_surreal`](crate::from_surreal). A create or update gives
/// [`RowChange::Set`], a delete [`RowChange::Delete`]; a `Killed`
/// notification or one whose data is not a row with a record id is an error.
///
/// [`Source`](crate::Source) reads changes from the change feed and uses
/// notifications only to wake up; this is for applications that ingest
/// notifications themselves.
pub fn decode_notification(action: surrealdb::types::Action, data: &Value) -> Result<RowChange, DecodeError> {
    use surrealdb::types::Action;
    match action {
        Action::Create | Action::Update => row_change(NOTIFICATION, data, "$"),
        Action::Delete => {
            // A delete carries the record as it was, or at least its id.
            let id = match data {
                Value::RecordId(id) => (**id).clone(),
                _ => record_id(NOTIFICATION, object(NOTIFICATION, data, "$")?.get("id"), "$")?,
            };
            Ok(RowChange::Delete { id })
        }
        Action::Killed => Err(bad(NOTIFICATION, "$", "the live query was killed")),
        other => Err(bad(NOTIFICATION, "$", format!("the live query reported {other:?}: {data}"))),
    }
}

fn object<'a>(what: &'static str, v: &'a Value, path: &str) -> Result<&'a Object, DecodeError> {
    match v {
        Value::Object(o) => Ok(o),
        other => Err(bad(what, path, format!("expected an object, found {}", kind(other)))),
    }
}

fn record_id(what: &'static str, v: Option<&Value>, path: &str) -> Result<RecordId, DecodeError> {
    match v {
        Some(Value::RecordId(id)) => Ok((**id).clone()),
        other => Err(missing(what, path, "id", other)),
    }
}

fn missing(what: &'static str, path: &str, field: &str, found: Option<&Value>) -> DecodeError {
    match found {
        None => bad(what, path, format!("no `{field}`")),
        Some(v) => bad(what, format!("{path}.{field}"), format!("unexpected {}", kind(v))),
    }
}

fn kind(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text }
}
