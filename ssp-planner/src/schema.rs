//! What the planner may know of the tables: their fields' kinds (for checks
//! and to follow record links) and their sizes (for join ordering).
//!
//! Everything here is optional. Without a table in the [`Schema`], the
//! planner is as permissive as a SCHEMALESS SurrealDB table: any field may
//! exist, with any value.

use std::collections::BTreeMap;
use std::fmt;

use smol_str::SmolStr;
use ssp_core::{Number, Value};

/// The kind of a field, as SurrealDB's `DEFINE FIELD … TYPE` writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `any`.
    Any,
    /// `bool`.
    Bool,
    /// `number`: any number.
    Number,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `decimal`.
    Decimal,
    /// `string`.
    String,
    /// `datetime`.
    Datetime,
    /// `duration`.
    Duration,
    /// `uuid`.
    Uuid,
    /// `bytes`.
    Bytes,
    /// `object`.
    Object,
    /// `array` or `array<kind>`.
    Array(Box<Kind>),
    /// `record<table>`: a link to a record of the table (`record` alone:
    /// of any table).
    Record(Option<SmolStr>),
    /// `option<kind>`: the kind or `NONE`.
    Option(Box<Kind>),
}

impl Kind {
    /// Parses SurrealDB's kind syntax (`int`, `option<string>`, `record<user>`, `array<int>`).
    pub fn parse(text: &str) -> Option<Kind> {
        let text = text.trim();
        let (head, arg) = match text.split_once('<') {
            Some((head, rest)) => (head.trim(), Some(rest.strip_suffix('>')?.trim())),
            None => (text, None),
        };
        Some(match (head.to_ascii_lowercase().as_str(), arg) {
            ("any", None) => Kind::Any,
            ("bool", None) => Kind::Bool,
            ("number", None) => Kind::Number,
            ("int", None) => Kind::Int,
            ("float", None) => Kind::Float,
            ("decimal", None) => Kind::Decimal,
            ("string", None) => Kind::String,
            ("datetime", None) => Kind::Datetime,
            ("duration", None) => Kind::Duration,
            ("uuid", None) => Kind::Uuid,
            ("bytes", None) => Kind::Bytes,
            ("object", None) => Kind::Object,
            ("array", None) => Kind::Array(Box::new(Kind::Any)),
            ("array", Some(k)) => Kind::Array(Box::new(Kind::parse(k)?)),
            ("record", None) => Kind::Record(None),
            ("record", Some(t)) if is_ident(t) => Kind::Record(Some(t.into())),
            ("option", Some(k)) => Kind::Option(Box::new(Kind::parse(k)?)),
            _ => return None,
        })
    }

    /// Whether a value of this kind may be `v`.
    pub fn admits(&self, v: &Value) -> bool {
        match (self, v) {
            (Kind::Any, _) => true,
            (Kind::Option(_), Value::None) => true,
            (Kind::Option(k), v) => k.admits(v),
            (Kind::Bool, Value::Bool(_)) => true,
            (Kind::Number, Value::Number(_)) => true,
            (Kind::Int, Value::Number(Number::Int(_))) => true,
            (Kind::Float, Value::Number(Number::Float(_))) => true,
            (Kind::Decimal, Value::Number(Number::Decimal(_))) => true,
            (Kind::String, Value::String(_)) => true,
            (Kind::Datetime, Value::Datetime(_)) => true,
            (Kind::Duration, Value::Duration(_)) => true,
            (Kind::Uuid, Value::Uuid(_)) => true,
            (Kind::Bytes, Value::Bytes(_)) => true,
            (Kind::Object, Value::Object(_)) => true,
            (Kind::Array(k), Value::Array(items)) => items.iter().all(|v| k.admits(v)),
            (Kind::Record(None), Value::RecordId(_)) => true,
            (Kind::Record(Some(t)), Value::RecordId(id)) => id.table() == t,
            _ => false,
        }
    }

    /// Whether values of this kind and of `other` can ever compare equal
    /// (numbers of every kind compare with each other).
    pub fn overlaps(&self, other: &Kind) -> bool {
        use Kind::*;
        match (self, other) {
            (Any, _) | (_, Any) => true,
            (Option(a), b) | (b, Option(a)) => a.overlaps(b),
            (Number | Int | Float | Decimal, Number | Int | Float | Decimal) => true,
            (Array(_), Array(_)) => true,
            (Record(a), Record(b)) => a.is_none() || b.is_none() || a == b,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }

    /// The kind a literal has.
    pub fn of(v: &Value) -> Kind {
        match v {
            Value::None | Value::Null | Value::Set(_) | Value::Geometry(_) => Kind::Any,
            Value::Bool(_) => Kind::Bool,
            Value::Number(Number::Int(_)) => Kind::Int,
            Value::Number(Number::Float(_)) => Kind::Float,
            Value::Number(Number::Decimal(_)) => Kind::Decimal,
            Value::String(_) => Kind::String,
            Value::Duration(_) => Kind::Duration,
            Value::Datetime(_) => Kind::Datetime,
            Value::Uuid(_) => Kind::Uuid,
            Value::Array(_) => Kind::Array(Box::new(Kind::Any)),
            Value::Object(_) => Kind::Object,
            Value::Bytes(_) => Kind::Bytes,
            Value::RecordId(id) => Kind::Record(Some(id.table_name().clone())),
        }
    }

    /// The table a record link of this kind points to, if known.
    pub fn link_table(&self) -> Option<&SmolStr> {
        match self {
            Kind::Record(Some(t)) => Some(t),
            Kind::Option(k) => k.link_table(),
            _ => None,
        }
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Any => f.write_str("any"),
            Kind::Bool => f.write_str("bool"),
            Kind::Number => f.write_str("number"),
            Kind::Int => f.write_str("int"),
            Kind::Float => f.write_str("float"),
            Kind::Decimal => f.write_str("decimal"),
            Kind::String => f.write_str("string"),
            Kind::Datetime => f.write_str("datetime"),
            Kind::Duration => f.write_str("duration"),
            Kind::Uuid => f.write_str("uuid"),
            Kind::Bytes => f.write_str("bytes"),
            Kind::Object => f.write_str("object"),
            Kind::Array(k) if **k == Kind::Any => f.write_str("array"),
            Kind::Array(k) => write!(f, "array<{k}>"),
            Kind::Record(None) => f.write_str("record"),
            Kind::Record(Some(t)) => write!(f, "record<{t}>"),
            Kind::Option(k) => write!(f, "option<{k}>"),
        }
    }
}

/// One table: its declared fields and, optionally, statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableDef {
    /// Declared fields by name (top-level).
    pub fields: BTreeMap<SmolStr, Kind>,
    /// `SCHEMAFULL`: a field not declared is an error (not merely unknown).
    pub schemafull: bool,
    /// Row counts and distinct counts, for join ordering.
    pub stats: Option<Stats>,
}

/// Table statistics the caller provides (estimates are fine).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// The number of rows.
    pub rows: u64,
    /// The number of distinct values of some top-level fields, by field name.
    pub distinct: BTreeMap<SmolStr, u64>,
}

/// The tables a planner knows. An empty schema knows nothing, and forbids
/// nothing.
///
/// ```
/// use ssp_planner::{Kind, Schema};
/// let schema = Schema::new()
///     .table("user", [("name", Kind::String), ("age", Kind::Int)])
///     .table("post", [("title", Kind::String), ("author", Kind::parse("record<user>").unwrap())]);
/// assert_eq!(schema.field("post", "author"), Some(&Kind::Record(Some("user".into()))));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    tables: BTreeMap<SmolStr, TableDef>,
    /// Whether a table not in the schema is an error.
    closed: bool,
}

impl Schema {
    /// An empty, permissive schema.
    pub fn new() -> Schema {
        Schema::default()
    }

    /// Adds a SCHEMAFULL table with its fields, and makes tables not in the
    /// schema errors. (Kinds written in SurrealDB's syntax parse with
    /// [`Kind::parse`].)
    pub fn table<'a>(mut self, name: &str, fields: impl IntoIterator<Item = (&'a str, Kind)>) -> Schema {
        let def = TableDef {
            schemafull: true,
            fields: fields.into_iter().map(|(f, k)| (SmolStr::from(f), k)).collect(),
            stats: None,
        };
        self.define(name, def);
        self
    }

    /// Adds or replaces a table's definition; tables not in the schema
    /// become errors.
    pub fn define(&mut self, name: &str, def: TableDef) {
        self.closed = true;
        self.tables.insert(name.into(), def);
    }

    /// Sets a table's statistics (defining the table, schemaless, if new).
    pub fn set_stats(&mut self, name: &str, stats: Stats) {
        self.tables.entry(name.into()).or_default().stats = Some(stats);
    }

    /// Whether the planner must refuse tables not in the schema.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// A table's definition.
    pub fn get(&self, table: &str) -> Option<&TableDef> {
        self.tables.get(table)
    }

    /// A declared field's kind.
    pub fn field(&self, table: &str, field: &str) -> Option<&Kind> {
        self.tables.get(table)?.fields.get(field)
    }

    /// A table's statistics.
    pub fn stats(&self, table: &str) -> Option<&Stats> {
        self.tables.get(table)?.stats.as_ref()
    }
}
