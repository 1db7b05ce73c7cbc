//! [`Value`]: the SurrealDB-compatible dynamic value.

mod collections;
mod datetime;
mod duration;
mod exact;
mod geometry;
mod json;
mod number;
mod parse;
pub(crate) mod path;
mod serde_impl;
pub(crate) mod sql;

use std::sync::Arc;

use rust_decimal::Decimal;
use smol_str::SmolStr;
use uuid::Uuid;

pub use self::collections::{Array, Object, Set};
pub use self::datetime::Datetime;
pub use self::duration::Duration;
pub use self::geometry::{Geometry, Point, Polygon};
pub use self::number::Number;
pub(crate) use self::parse::Parser;
pub use self::path::{FieldPath, PathPart};
use crate::RecordId;

/// A dynamic value, able to hold every kind that SurrealDB 3 stores in a record.
///
/// # Order
///
/// Values have one total order ([`Ord`]) which is SurrealDB's: first by kind, in
/// the order of the variants below (none < null < bool < number < string <
/// duration < datetime < uuid < array < set < object < geometry < bytes <
/// record id; this is the declaration order of `enum Value` in SurrealDB 3.3.5,
/// `surrealdb-expr/src/val/mod.rs`, whose derived `PartialOrd` compares the
/// variant first), then within the kind. Numbers compare by exact value across
/// `int`, `float` and `decimal` (see [`Number`]); strings by their UTF-8 bytes;
/// arrays, sets and objects lexicographically.
///
/// [`Eq`] and [`Hash`] agree with that order: `a == b` exactly when
/// `a.cmp(&b)` is `Equal`, and then `a` and `b` hash the same, so `1`, `1.0f`
/// and `1dec` are one key in a hash map, as they are one value in SurrealDB.
///
/// # Kinds left out
///
/// SurrealDB's `table`, `file`, `regex`, `range` and `closure` values cannot be
/// held. Closures cannot be stored in a record; the other four are rare in
/// records, and a source must refuse them with an error naming the record and
/// field rather than drop them (the SurrealDB source, still to come, will).
///
/// # Cost
///
/// A `Value` is 32 bytes. Cloning is O(1): strings up to 23 bytes are inline,
/// longer strings, bytes, arrays, sets, objects, geometries and record ids are
/// shared behind an [`Arc`] and copied only on write.
///
/// ```
/// use ssp_core::{Value, Number};
/// let v: Value = "{ name: 'Tobie', tags: ['a', 'b'], score: 1.5f }".parse()?;
/// assert_eq!(v.pick(&"tags[1]".parse()?), Value::from("b"));
/// assert_eq!(Value::from(1), Value::from(1.0)); // numbers compare by value
/// assert!(Value::Null < Value::from(false));     // kinds compare in SurrealDB's order
/// # Ok::<(), ssp_core::ParseError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// `NONE`: the absence of a value (a missing field).
    #[default]
    None,
    /// `NULL`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An `int`, `float` or `decimal`.
    Number(Number),
    /// A string.
    String(SmolStr),
    /// A duration.
    Duration(Duration),
    /// A datetime.
    Datetime(Datetime),
    /// A UUID.
    Uuid(Uuid),
    /// An array.
    Array(Array),
    /// A set.
    Set(Set),
    /// An object.
    Object(Object),
    /// A geometry.
    Geometry(Arc<Geometry>),
    /// Raw bytes.
    Bytes(Arc<[u8]>),
    /// A record id (a link to a record).
    RecordId(Arc<RecordId>),
}

/// The kind of a [`Value`], for error messages and type checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// [`Value::None`].
    None,
    /// [`Value::Null`].
    Null,
    /// [`Value::Bool`].
    Bool,
    /// [`Value::Number`].
    Number,
    /// [`Value::String`].
    String,
    /// [`Value::Duration`].
    Duration,
    /// [`Value::Datetime`].
    Datetime,
    /// [`Value::Uuid`].
    Uuid,
    /// [`Value::Array`].
    Array,
    /// [`Value::Set`].
    Set,
    /// [`Value::Object`].
    Object,
    /// [`Value::Geometry`].
    Geometry,
    /// [`Value::Bytes`].
    Bytes,
    /// [`Value::RecordId`].
    RecordId,
}

impl ValueKind {
    /// The kind's SurrealQL name (`"none"`, `"number"`, `"record"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::None => "none",
            ValueKind::Null => "null",
            ValueKind::Bool => "bool",
            ValueKind::Number => "number",
            ValueKind::String => "string",
            ValueKind::Duration => "duration",
            ValueKind::Datetime => "datetime",
            ValueKind::Uuid => "uuid",
            ValueKind::Array => "array",
            ValueKind::Set => "set",
            ValueKind::Object => "object",
            ValueKind::Geometry => "geometry",
            ValueKind::Bytes => "bytes",
            ValueKind::RecordId => "record",
        }
    }
}

impl std::fmt::Display for ValueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Value {
    /// The kind of this value.
    pub fn kind(&self) -> ValueKind {
        match self {
            Value::None => ValueKind::None,
            Value::Null => ValueKind::Null,
            Value::Bool(_) => ValueKind::Bool,
            Value::Number(_) => ValueKind::Number,
            Value::String(_) => ValueKind::String,
            Value::Duration(_) => ValueKind::Duration,
            Value::Datetime(_) => ValueKind::Datetime,
            Value::Uuid(_) => ValueKind::Uuid,
            Value::Array(_) => ValueKind::Array,
            Value::Set(_) => ValueKind::Set,
            Value::Object(_) => ValueKind::Object,
            Value::Geometry(_) => ValueKind::Geometry,
            Value::Bytes(_) => ValueKind::Bytes,
            Value::RecordId(_) => ValueKind::RecordId,
        }
    }

    /// Whether this is `NONE`.
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }

    /// Whether this is `NONE` or `NULL`.
    pub fn is_nullish(&self) -> bool {
        matches!(self, Value::None | Value::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The number as an `i64`, if this is an integral number in range
    /// (`1`, `1.0f` and `1dec` all give `Some(1)`).
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::to_i64)
    }

    /// The number as an `f64`, if this is a number (rounded where its kind is
    /// wider; see [`Number::exact_f64`] for the exact conversion).
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::to_f64)
    }

    /// The set, if this is one.
    pub fn as_set(&self) -> Option<&Set> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The duration, if this is one.
    pub fn as_duration(&self) -> Option<Duration> {
        match self {
            Value::Duration(d) => Some(*d),
            _ => None,
        }
    }

    /// The datetime, if this is one.
    pub fn as_datetime(&self) -> Option<Datetime> {
        match self {
            Value::Datetime(d) => Some(*d),
            _ => None,
        }
    }

    /// The UUID, if this is one.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Value::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The geometry, if this is one.
    pub fn as_geometry(&self) -> Option<&Geometry> {
        match self {
            Value::Geometry(g) => Some(g),
            _ => None,
        }
    }

    /// The record id, if this is one.
    pub fn as_record_id(&self) -> Option<&RecordId> {
        match self {
            Value::RecordId(r) => Some(r),
            _ => None,
        }
    }

    /// The value at `path`, or `None` where the path leads nowhere.
    #[inline]
    pub fn get(&self, path: &FieldPath) -> Option<&Value> {
        path.find(self)
    }

    /// The value at `path`, or `NONE` where the path leads nowhere, as
    /// SurrealDB evaluates a missing field.
    #[inline]
    pub fn pick(&self, path: &FieldPath) -> Value {
        self.get(path).cloned().unwrap_or(Value::None)
    }

    /// Sets the value at a path of fields, as SurrealDB builds a projected
    /// field `a.b`: objects are made where the path leads through anything
    /// else. Array indexes in the path are set where the element exists, and
    /// otherwise ignored.
    ///
    /// ```
    /// use ssp_core::Value;
    /// let mut v: Value = "{ a: 1 }".parse()?;
    /// v.put(&"b.c".parse()?, Value::from(2));
    /// assert_eq!(v, "{ a: 1, b: { c: 2 } }".parse()?);
    /// # Ok::<(), ssp_core::ParseError>(())
    /// ```
    pub fn put(&mut self, path: &FieldPath, value: Value) {
        let Some((first, rest)) = path.parts().split_first() else {
            *self = value;
            return;
        };
        let rest = FieldPath::from_parts(rest.iter().cloned());
        match first {
            PathPart::Field(name) => {
                if !matches!(self, Value::Object(_)) {
                    *self = Value::Object(Object::new());
                }
                if let Value::Object(o) = self {
                    let mut child = o.remove(name).unwrap_or(Value::None);
                    child.put(&rest, value);
                    o.insert(name.clone(), child);
                }
            }
            PathPart::Index(i) => {
                if let Value::Array(a) = self
                    && let Some(child) = a.make_mut().get_mut(*i)
                {
                    child.put(&rest, value);
                }
            }
        }
    }

    /// Removes the value at a path (SurrealDB's `OMIT`); nothing happens if
    /// the path leads nowhere.
    pub fn cut(&mut self, path: &FieldPath) {
        let Some((last, init)) = path.parts().split_last() else {
            *self = Value::None;
            return;
        };
        let mut at = self;
        for part in init {
            let next = match (part, at) {
                (PathPart::Field(name), Value::Object(o)) => o.get_mut(name),
                (PathPart::Index(i), Value::Array(a)) => a.make_mut().get_mut(*i),
                _ => None,
            };
            match next {
                Some(n) => at = n,
                None => return,
            }
        }
        match (last, at) {
            (PathPart::Field(name), Value::Object(o)) => {
                o.remove(name);
            }
            (PathPart::Index(i), Value::Array(a)) if *i < a.as_slice().len() => {
                a.make_mut().remove(*i);
            }
            _ => {}
        }
    }
}

macro_rules! impl_from {
    ($($t:ty => |$v:ident| $e:expr;)+) => {
        $(impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $e
            }
        })+
    };
}

impl_from! {
    bool => |v| Value::Bool(v);
    i64 => |v| Value::Number(Number::Int(v));
    i32 => |v| Value::Number(Number::Int(v.into()));
    u32 => |v| Value::Number(Number::Int(v.into()));
    f32 => |v| Value::Number(Number::Float(v.into()));
    u64 => |v| i64::try_from(v).map_or_else(|_| Value::from(Decimal::from(v)), Value::from);
    f64 => |v| Value::Number(Number::Float(v));
    Decimal => |v| Value::Number(Number::Decimal(v));
    Number => |v| Value::Number(v);
    &str => |v| Value::String(v.into());
    String => |v| Value::String(v.into());
    SmolStr => |v| Value::String(v);
    Duration => |v| Value::Duration(v);
    Datetime => |v| Value::Datetime(v);
    Uuid => |v| Value::Uuid(v);
    Array => |v| Value::Array(v);
    Vec<Value> => |v| Value::Array(v.into());
    Set => |v| Value::Set(v);
    Object => |v| Value::Object(v);
    Geometry => |v| Value::Geometry(Arc::new(v));
    Vec<u8> => |v| Value::Bytes(v.into());
    RecordId => |v| Value::RecordId(Arc::new(v));
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is `NONE` (an absent value), as SurrealDB stores a missing field.
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::None, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_keep_the_number_exact() {
        assert_eq!(Value::from(u64::MAX).as_number(), Some(&Number::Decimal(Decimal::from(u64::MAX))));
        assert_eq!(Value::from(7u32).as_i64(), Some(7));
        assert_eq!(Value::from(1.5f32).as_f64(), Some(1.5));
        assert_eq!(Value::from(None::<i64>), Value::None);
        assert_eq!(Value::from(Some("a")), Value::from("a"));
    }

    #[test]
    fn value_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }
}
