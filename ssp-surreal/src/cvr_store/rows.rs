//! The rows of [`SurrealCvrStore`](super::SurrealCvrStore): their ids, how
//! headers and records are encoded in them, and the checks that turn a row
//! that does not decode into a [`StoreError::Corrupt`].

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::{Mutex, OnceLock};

use rust_decimal::Decimal;
use ssp_core::{RecordId, Version};
use ssp_cvr::codec::{self, DecodeError};
use ssp_cvr::{ClientId, Corruption, Cvr, CvrSummary, StateHash, StoreError, Timestamp, ViewId, ViewState};
use surrealdb::types::{Array, Number, Object, RecordIdKey, RecordIdKeyRange, Value};

/// The table names of one store. They are `&'static` because
/// [`StoreError::Corrupt`] names its table so; each distinct name is leaked
/// once per process.
#[derive(Clone, Copy)]
pub(super) struct Tables {
    pub(super) header: &'static str,
    pub(super) record: &'static str,
    pub(super) meta: &'static str,
}

pub(super) fn intern(name: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    // A poisoned set still holds valid names.
    let mut names = names.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(name) = names.get(name.as_str()) {
        return name;
    }
    let name: &'static str = Box::leak(name.into_boxed_str());
    names.insert(name);
    name
}

pub(super) fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

pub(super) fn u64_value(n: u64) -> Value {
    match i64::try_from(n) {
        Ok(i) => Value::Number(Number::Int(i)),
        Err(_) => Value::Number(Number::Decimal(Decimal::from(n))),
    }
}

pub(super) fn kind_name(v: &Value) -> String {
    match v {
        Value::None => "missing".into(),
        other => format!("{:?}", other.kind()),
    }
}

/// `"0a1b"` for `[0x0a, 0x1b]`.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
}

/// The bytes of lowercase hex (as [`hex`] writes it), or `None`.
pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes.chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

/// Where a corrupt entry is: its table, client and view when known, and a
/// key in the codec's encoding (the cvr key, then the record key for a
/// record), so that tools decode it as they decode a redb store's keys.
pub(super) struct Entry {
    table: &'static str,
    client: Option<ClientId>,
    view: Option<ViewId>,
    pub(super) key: Vec<u8>,
}

impl Entry {
    pub(super) fn cvr(table: &'static str, client: &ClientId, view: &ViewId) -> Entry {
        let mut key = Vec::new();
        codec::encode_cvr_key(client, view, &mut key);
        Entry { table, client: Some(client.clone()), view: Some(view.clone()), key }
    }

    pub(super) fn corrupt(self, problem: impl Into<Corruption>) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            client: self.client,
            view: self.view,
            key: self.key,
            problem: Box::new(problem.into()),
        }
    }

    pub(super) fn field(self, field: &'static str, problem: impl Into<String>) -> StoreError {
        self.corrupt(Corruption::InvalidField { field, problem: problem.into() })
    }
}

impl Tables {
    pub(super) fn header_id(&self, client: &ClientId, view: &ViewId) -> Value {
        let key: Array = vec![text(client.as_str()), text(view.as_str())].into();
        Value::RecordId(surrealdb::types::RecordId::new(self.header, key))
    }

    pub(super) fn record_id(&self, client: &ClientId, view: &ViewId, key: &[u8]) -> Value {
        let key: Array = vec![text(client.as_str()), text(view.as_str()), Value::String(hex(key))].into();
        Value::RecordId(surrealdb::types::RecordId::new(self.record, key))
    }

    /// The ids of `table` whose array key starts with `prefix`: from
    /// `[prefix..]` up to `[prefix.., last + "\0"]`, the least array after
    /// all of them.
    pub(super) fn range(table: &'static str, prefix: &[&str]) -> Value {
        let start: Array = prefix.iter().map(|s| text(s)).collect::<Vec<_>>().into();
        let mut end: Vec<Value> = prefix.iter().map(|s| text(s)).collect();
        if let Some(Value::String(last)) = end.last_mut() {
            last.push('\0');
        }
        let range = RecordIdKeyRange {
            start: Bound::Included(RecordIdKey::Array(start)),
            end: Bound::Excluded(RecordIdKey::Array(end.into())),
        };
        Value::RecordId(surrealdb::types::RecordId::new(table, RecordIdKey::Range(Box::new(range))))
    }

    pub(super) fn client_headers(&self, client: &ClientId) -> Value {
        Tables::range(self.header, &[client.as_str()])
    }

    pub(super) fn client_records(&self, client: &ClientId) -> Value {
        Tables::range(self.record, &[client.as_str()])
    }

    pub(super) fn cvr_records(&self, client: &ClientId, view: &ViewId) -> Value {
        Tables::range(self.record, &[client.as_str(), view.as_str()])
    }

    /// The client and view of a header or record row's id (the first two
    /// parts of its key), and the rest of the key.
    pub(super) fn split_id<'a>(
        &self,
        table: &'static str,
        row: &'a Object,
    ) -> Result<(ClientId, ViewId, &'a [Value]), StoreError> {
        let bad = |problem: String| Entry { table, client: None, view: None, key: Vec::new() }.field("id", problem);
        let Some(Value::RecordId(id)) = row.get("id") else {
            return Err(bad(format!("is {}, not a record id", row.get("id").map_or("missing".into(), kind_name))));
        };
        let RecordIdKey::Array(parts) = &id.key else { return Err(bad(format!("has key {:?}", id.key))) };
        match &parts[..] {
            [Value::String(client), Value::String(view), rest @ ..] => {
                Ok((ClientId::new(client.as_str()), ViewId::new(view.as_str()), rest))
            }
            _ => Err(bad(format!("has key {:?}, not [client, view, ..]", id.key))),
        }
    }

    /// Decodes a header row of `client`'s CVR of `view`.
    pub(super) fn decode_header(
        &self,
        client: &ClientId,
        view: &ViewId,
        row: &Object,
    ) -> Result<CvrSummary, StoreError> {
        let entry = || Entry::cvr(self.header, client, view);
        let number = |field: &'static str| -> Result<u64, StoreError> {
            let value = row.get(field).unwrap_or(&Value::None);
            let n = match value {
                Value::Number(Number::Int(i)) => u64::try_from(*i).ok(),
                Value::Number(Number::Decimal(d)) if d.fract().is_zero() => d.trunc().to_string().parse().ok(),
                _ => return Err(entry().field(field, format!("is {}, not a number", kind_name(value)))),
            };
            n.ok_or_else(|| entry().field(field, format!("is {value:?}, not a whole number from 0 to 2^64 - 1")))
        };
        let state_hash = match row.get("state_hash") {
            Some(Value::String(s)) => s.parse::<StateHash>().map_err(|e| entry().field("state_hash", e.to_string()))?,
            other => {
                let kind = other.map_or("missing".into(), kind_name);
                return Err(entry().field("state_hash", format!("is {kind}, not a string")));
            }
        };
        Ok(CvrSummary::new(
            client.clone(),
            view.clone(),
            Version(number("version")?),
            state_hash,
            number("len")?,
            Timestamp(number("last_seen")?),
        ))
    }

    /// The header row of `summary`.
    pub(super) fn header_row(summary: &CvrSummary) -> Value {
        let mut row = Object::new();
        row.insert("version", u64_value(summary.version.0));
        row.insert("state_hash", Value::String(summary.state_hash.to_string()));
        row.insert("len", u64_value(summary.len));
        row.insert("last_seen", u64_value(summary.last_seen.0));
        Value::Object(row)
    }

    /// Decodes a record row of `client`'s CVR of `view` whose key after the
    /// client and view is `rest`: the canonical key, the id and its version.
    pub(super) fn decode_record(
        &self,
        client: &ClientId,
        view: &ViewId,
        rest: &[Value],
        row: &Object,
    ) -> Result<(Vec<u8>, RecordId, Version), StoreError> {
        let mut entry = Entry::cvr(self.record, client, view);
        let key = match rest {
            [Value::String(key)] => unhex(key),
            _ => None,
        };
        let Some(key) = key else {
            return Err(entry.field("id", format!("has key part {rest:?}, not the lowercase hex of a record key")));
        };
        entry.key.extend_from_slice(&key);
        let Some(Value::Bytes(value)) = row.get("value") else {
            let kind = row.get("value").map_or("missing".into(), kind_name);
            return Err(entry.field("value", format!("is {kind}, not bytes")));
        };
        match codec::decode_record(&key, value) {
            Ok((id, version)) => Ok((key, id, version)),
            Err(e) => Err(entry.corrupt(e)),
        }
    }

    /// The CVR of `header` from its record rows, checked against the header.
    pub(super) fn assemble(&self, header: CvrSummary, records: &[Object]) -> Result<Cvr, StoreError> {
        let (client, view) = (&header.client, &header.view);
        // A corrupt count must not allocate without bound; the map grows if needed.
        let mut state = ViewState::with_capacity(header.len.min(1 << 16) as usize);
        for row in records {
            let (_, _, rest) = self.split_id(self.record, row)?;
            let (key, id, version) = self.decode_record(client, view, rest, row)?;
            if state.insert(id, version).is_some() {
                // Two rows for one id: the canonical key was bypassed.
                let mut entry = Entry::cvr(self.record, client, view);
                entry.key.extend_from_slice(&key);
                return Err(entry.corrupt(DecodeError::KeyMismatch));
            }
        }
        let entry = || Entry::cvr(self.header, client, view);
        if state.len() as u64 != header.len {
            return Err(entry().corrupt(Corruption::CountMismatch { header: header.len, found: state.len() as u64 }));
        }
        if state.state_hash() != header.state_hash {
            let problem = Corruption::HashMismatch { header: header.state_hash, computed: state.state_hash() };
            return Err(entry().corrupt(problem));
        }
        state.advance_to(header.version);
        Ok(Cvr::from_state(header.client, header.view, state, header.last_seen))
    }
}
