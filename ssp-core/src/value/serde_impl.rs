//! The lossless serde encoding of [`Value`].
//!
//! Kinds that self-describing formats (JSON, CBOR, MessagePack) hold natively
//! are written natively: `NULL`, booleans, `int`s, finite `float`s, strings,
//! arrays and objects. Every other kind is a one-entry map whose key is a tag:
//!
//! | kind | encoding |
//! |---|---|
//! | `NONE` | `{"$none": null}` |
//! | non-finite float | `{"$float": "NaN"}` (`"Infinity"`, `"-Infinity"`) |
//! | decimal | `{"$decimal": "1.50"}` (scale kept) |
//! | duration | `{"$duration": "1h30m"}` |
//! | datetime | `{"$datetime": "2024-01-01T00:00:00Z"}` |
//! | uuid | `{"$uuid": "0190b3d4-…"}` |
//! | set | `{"$set": [1, 2]}` |
//! | bytes | `{"$bytes": "00FF"}` (hex) |
//! | geometry | `{"$geometry": <GeoJSON>}` |
//! | record id | `{"$record": ["person", "tobie"]}` (table, key) |
//! | object with a key starting with `$` | `{"$object": {…}}` |
//!
//! The encoding needs a self-describing format (it uses `deserialize_any`).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::json::{geometry_from_value, geometry_to_value};
use super::parse::decode_hex;
use super::sql::Hex;
use super::{Array, Datetime, Duration, Number, Object, Set, Value};
use crate::{RecordId, RecordKey};

const TAGS: &[&str] = &[
    "$none",
    "$float",
    "$decimal",
    "$duration",
    "$datetime",
    "$uuid",
    "$set",
    "$bytes",
    "$geometry",
    "$record",
    "$object",
];

fn tagged<S: Serializer, T: Serialize + ?Sized>(s: S, tag: &str, value: &T) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(tag, value)?;
    map.end()
}

/// Serializes an object's fields as a plain map.
struct Fields<'a>(&'a Object);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct Seq<'a>(&'a [Value]);

impl Serialize for Seq<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::None => tagged(s, "$none", &()),
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(Number::Int(i)) => s.serialize_i64(*i),
            Value::Number(Number::Float(f)) if f.is_finite() => s.serialize_f64(*f),
            Value::Number(n @ Number::Float(_)) => tagged(s, "$float", &n.to_string()),
            Value::Number(Number::Decimal(d)) => tagged(s, "$decimal", &d.to_string()),
            Value::String(v) => s.serialize_str(v),
            Value::Duration(d) => tagged(s, "$duration", &d.to_string()),
            Value::Datetime(d) => tagged(s, "$datetime", &d.to_string()),
            Value::Uuid(u) => tagged(s, "$uuid", &u.to_string()),
            Value::Array(a) => Seq(a).serialize(s),
            Value::Set(v) => tagged(s, "$set", &Seq(v)),
            Value::Object(o) if o.keys().any(|k| k.starts_with('$')) => tagged(s, "$object", &Fields(o)),
            Value::Object(o) => Fields(o).serialize(s),
            Value::Geometry(g) => tagged(s, "$geometry", &geometry_to_value(g)),
            Value::Bytes(b) => tagged(s, "$bytes", &Hex(b).to_string()),
            Value::RecordId(r) => tagged(s, "$record", &(r.table(), r.key().to_value())),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

fn parsed<T: FromStr, E: de::Error>(text: &str, what: &str) -> Result<T, E>
where
    T::Err: fmt::Display,
{
    text.parse().map_err(|e| E::custom(format_args!("invalid {what} {text:?}: {e}")))
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an SSP value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(Array::from(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<SmolStr>()? else {
            return Ok(Value::Object(Object::new()));
        };
        if !first.starts_with('$') {
            let mut fields = vec![(first, map.next_value::<Value>()?)];
            while let Some((k, v)) = map.next_entry::<SmolStr, Value>()? {
                fields.push((k, v));
            }
            return Ok(Value::Object(fields.into_iter().collect()));
        }
        let value = match first.as_str() {
            "$none" => {
                map.next_value::<IgnoredAny>()?;
                Value::None
            }
            "$float" => match map.next_value::<String>()?.as_str() {
                "NaN" => Value::from(f64::NAN),
                "Infinity" => Value::from(f64::INFINITY),
                "-Infinity" => Value::from(f64::NEG_INFINITY),
                other => return Err(de::Error::custom(format_args!("invalid $float {other:?}"))),
            },
            "$decimal" => Value::from(parsed::<Decimal, _>(&map.next_value::<String>()?, "$decimal")?),
            "$duration" => Value::Duration(parsed::<Duration, _>(&map.next_value::<String>()?, "$duration")?),
            "$datetime" => Value::Datetime(parsed::<Datetime, _>(&map.next_value::<String>()?, "$datetime")?),
            "$uuid" => Value::Uuid(parsed::<uuid::Uuid, _>(&map.next_value::<String>()?, "$uuid")?),
            "$set" => Value::Set(map.next_value::<Vec<Value>>()?.into_iter().collect::<Set>()),
            "$bytes" => {
                let hex = map.next_value::<String>()?;
                let bytes = decode_hex(&hex)
                    .map_err(|at| de::Error::custom(format_args!("invalid $bytes: no hex pair at offset {at}")))?;
                Value::Bytes(bytes.into())
            }
            "$geometry" => {
                let v = map.next_value::<Value>()?;
                let g = geometry_from_value(&v).ok_or_else(|| de::Error::custom("invalid $geometry: not GeoJSON"))?;
                Value::from(g)
            }
            "$record" => {
                let (table, key) = map.next_value::<(SmolStr, Value)>()?;
                let key = RecordKey::from_value(key)
                    .map_err(|v| de::Error::custom(format_args!("invalid $record key of kind {}", v.kind())))?;
                Value::from(RecordId::new(table, key))
            }
            "$object" => Value::Object(map.next_value_seed(PlainFields)?),
            other => return Err(de::Error::unknown_field(other, TAGS)),
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format_args!("a {first} tag must be the only key of its map")));
        }
        Ok(value)
    }
}

/// Reads a map as an object, taking every key literally (inside `$object`).
struct PlainFields;

impl<'de> DeserializeSeed<'de> for PlainFields {
    type Value = Object;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Object, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PlainFields {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        let mut fields = Vec::new();
        while let Some((k, v)) = map.next_entry::<SmolStr, Value>()? {
            fields.push((k, v));
        }
        Ok(fields.into_iter().collect())
    }
}
