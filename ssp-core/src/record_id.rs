//! Record ids: `table:key`.

use std::fmt::{self, Display, Formatter};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smol_str::SmolStr;
use uuid::Uuid;

use crate::error::ParseError;
use crate::value::{Array, Object, Parser, Value};

/// The key part of a [`RecordId`].
///
/// Keys order by kind first (integer < string < uuid < array < object, as in
/// SurrealDB's `RecordIdKey`), then by value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKey {
    /// `person:1`.
    Int(i64),
    /// `person:tobie`, ``person:`with space` ``.
    String(SmolStr),
    /// `person:u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'`.
    Uuid(Uuid),
    /// `temp:[1, 2]`.
    Array(Array),
    /// `temp:{ a: 1 }`.
    Object(Object),
}

impl RecordKey {
    /// The key as a value (an integer key is an `int`, and so on).
    pub fn to_value(&self) -> Value {
        match self {
            RecordKey::Int(i) => Value::from(*i),
            RecordKey::String(s) => Value::String(s.clone()),
            RecordKey::Uuid(u) => Value::Uuid(*u),
            RecordKey::Array(a) => Value::Array(a.clone()),
            RecordKey::Object(o) => Value::Object(o.clone()),
        }
    }

    /// The key for a value, or the value back if no key can hold it (only
    /// integers, strings, uuids, arrays and objects can be keys; an integral
    /// `float` or `decimal` in `i64` range becomes an integer key).
    pub fn from_value(value: Value) -> Result<RecordKey, Value> {
        match value {
            Value::Number(n) => n.to_i64().map(RecordKey::Int).ok_or(Value::Number(n)),
            Value::String(s) => Ok(RecordKey::String(s)),
            Value::Uuid(u) => Ok(RecordKey::Uuid(u)),
            Value::Array(a) => Ok(RecordKey::Array(a)),
            Value::Object(o) => Ok(RecordKey::Object(o)),
            other => Err(other),
        }
    }
}

impl Display for RecordKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        use crate::value::sql;
        match self {
            RecordKey::Int(i) => write!(f, "{i}"),
            RecordKey::String(s) => sql::write_record_key_string(f, s),
            RecordKey::Uuid(u) => write!(f, "u'{u}'"),
            RecordKey::Array(a) => sql::write_array(f, a),
            RecordKey::Object(o) => sql::write_object(f, o),
        }
    }
}

macro_rules! key_from {
    ($($t:ty => |$v:ident| $e:expr;)+) => {
        $(impl From<$t> for RecordKey {
            fn from($v: $t) -> Self {
                $e
            }
        })+
    };
}

key_from! {
    i64 => |v| RecordKey::Int(v);
    &str => |v| RecordKey::String(v.into());
    String => |v| RecordKey::String(v.into());
    SmolStr => |v| RecordKey::String(v);
    Uuid => |v| RecordKey::Uuid(v);
    Array => |v| RecordKey::Array(v);
    Object => |v| RecordKey::Object(v);
}

/// The id of a record: its table and its key, written `table:key`.
///
/// Parsed and displayed as SurrealDB 3 writes them: `person:tobie`,
/// `person:100` (an integer key), ``person:`with space` `` (SurrealDB 2's
/// `person:⟨with space⟩` is read too), `temp:[1, 2]`, `temp:{ a: 1 }`,
/// `person:u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'`. Record ids order by table,
/// then by key.
///
/// ```
/// use ssp_core::{RecordId, RecordKey};
/// let id: RecordId = "person:⟨with space⟩".parse()?;
/// assert_eq!(id.key(), &RecordKey::from("with space"));
/// assert_eq!(id.to_string(), "person:`with space`");
/// assert_eq!("temp:[1, 2]".parse::<RecordId>()?.to_string(), "temp:[1, 2]");
/// assert_eq!(RecordId::new("person", 7).to_string(), "person:7");
/// # Ok::<(), ssp_core::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId {
    table: SmolStr,
    key: RecordKey,
}

impl RecordId {
    /// The record `key` of `table`.
    pub fn new(table: impl Into<SmolStr>, key: impl Into<RecordKey>) -> Self {
        RecordId { table: table.into(), key: key.into() }
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table, shared.
    pub fn table_name(&self) -> &SmolStr {
        &self.table
    }

    /// The key.
    pub fn key(&self) -> &RecordKey {
        &self.key
    }
}

impl Display for RecordId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        crate::value::sql::write_ident(f, &self.table)?;
        f.write_str(":")?;
        self.key.fmt(f)
    }
}

impl FromStr for RecordId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut p = Parser::new(s);
        let id = p.record_id()?;
        p.finish()?;
        Ok(id)
    }
}

impl Serialize for RecordId {
    /// Serialized as `[table, key]`, the key in [`Value`]'s encoding.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.table.as_str(), self.key.to_value()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (table, key) = <(SmolStr, Value)>::deserialize(d)?;
        let key = RecordKey::from_value(key)
            .map_err(|v| serde::de::Error::custom(format_args!("a record key cannot be of kind {}", v.kind())))?;
        Ok(RecordId { table, key })
    }
}
