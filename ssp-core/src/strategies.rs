//! [proptest](mod@proptest) strategies for SSP's types, for SSP's own tests and for yours.
//!
//! Enabled by the `proptest` feature.
//!
//! ```
//! use proptest::prelude::*;
//! use ssp_core::strategies;
//!
//! proptest! {
//!     // In a test file, put `#[test]` above the function.
//!     fn record_ids_print_and_parse_back(id in strategies::record_id()) {
//!         prop_assert_eq!(id.to_string().parse::<ssp_core::RecordId>(), Ok(id));
//!     }
//! }
//! # record_ids_print_and_parse_back();
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use rust_decimal::Decimal;
use smol_str::SmolStr;

use crate::{
    Array, ChangeBatch, Datetime, Duration, Geometry, Number, Object, Point, Polygon, Record, RecordId, RecordKey, Set,
    Value, Version, ZSet, ZWeight,
};

/// Numbers of every kind, biased towards small values so that an `int`, a
/// `float` and a `decimal` of the same value are often drawn, and towards the
/// edges (`NaN`, `±inf`, `-0.0`, `i64` limits).
pub fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        3 => (-3i64..=3).prop_map(Number::Int),
        2 => (-3i64..=3).prop_map(|i| Number::Float(i as f64)),
        2 => (-3i64..=3).prop_map(|i| Number::Decimal(Decimal::from(i))),
        2 => (-6i64..=6).prop_map(|i| Number::Float(i as f64 / 4.0)),
        2 => (-6i64..=6, 0u32..4).prop_map(|(i, s)| Number::Decimal(Decimal::new(i * 25, s))),
        1 => any::<i64>().prop_map(Number::Int),
        1 => any::<f64>().prop_map(Number::Float),
        1 => (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Number::Decimal(Decimal::new(m, s))),
        1 => prop_oneof![
            Just(Number::Float(f64::NAN)),
            Just(Number::Float(f64::INFINITY)),
            Just(Number::Float(f64::NEG_INFINITY)),
            Just(Number::Float(-0.0)),
            Just(Number::Int(i64::MIN)),
            Just(Number::Int(i64::MAX)),
            Just(Number::Float(9_223_372_036_854_775_808.0)),
            Just(Number::Decimal(Decimal::MAX)),
            Just(Number::Decimal(Decimal::MIN)),
        ],
    ]
}

/// Short strings, mostly from a small alphabet (so that they collide), with
/// some that need quoting or escaping.
pub fn string() -> impl Strategy<Value = SmolStr> {
    prop_oneof![
        4 => "[a-c]{0,3}",
        1 => "[a-zA-Z0-9_]{1,12}",
        1 => "[0-9]{1,4}",
        1 => "\\PC{0,8}",
        1 => prop_oneof![Just("with space"), Just("it's"), Just("`tick`"), Just("a\\b\n\t\"q\""), Just("⟩")]
            .prop_map(str::to_owned),
    ]
    .prop_map(SmolStr::from)
}

/// Durations, from nanoseconds to years.
pub fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..4, 0u32..3).prop_map(|(s, n)| Duration::new(s, n)),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s / 2, n)),
    ]
}

/// Datetimes over the whole range a datetime holds (about ±262,000 years),
/// mostly between the years 1 and 9999, with nanoseconds.
pub fn datetime() -> impl Strategy<Value = Datetime> {
    const MIN: i64 = -62_135_596_800; // 0001-01-01
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59
    let (lo, hi) =
        (chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp(), chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp());
    prop_oneof![
        2 => (0i64..3).prop_map(|s| Datetime::from_timestamp(s, 0)),
        4 => (MIN..=MAX, 0u32..1_000_000_000).prop_map(|(s, n)| Datetime::from_timestamp(s, n)),
        1 => (lo..=hi, 0u32..1_000_000_000).prop_map(|(s, n)| Datetime::from_timestamp(s, n)),
    ]
    .prop_map(|d| d.unwrap_or(Datetime::UNIX_EPOCH))
}

fn point() -> impl Strategy<Value = Point> {
    let coord = prop_oneof![4 => (-2i32..=2).prop_map(f64::from), 1 => any::<f64>()];
    (coord.clone(), coord).prop_map(|(x, y)| Point::new(x, y))
}

fn polygon() -> impl Strategy<Value = Polygon> {
    (vec(point(), 0..4), vec(vec(point(), 0..3), 0..2))
        .prop_map(|(exterior, interiors)| Polygon::new(exterior, interiors))
}

/// Geometries of every kind.
pub fn geometry() -> impl Strategy<Value = Geometry> {
    let leaf = prop_oneof![
        3 => point().prop_map(Geometry::Point),
        1 => vec(point(), 0..4).prop_map(Geometry::Line),
        1 => polygon().prop_map(Geometry::Polygon),
        1 => vec(point(), 0..4).prop_map(Geometry::MultiPoint),
        1 => vec(vec(point(), 0..3), 0..3).prop_map(Geometry::MultiLine),
        1 => vec(polygon(), 0..2).prop_map(Geometry::MultiPolygon),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| vec(inner, 0..3).prop_map(Geometry::Collection))
}

/// Values of the scalar kinds (everything but arrays, sets, objects and
/// record ids with nested values).
pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::None),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        6 => number().prop_map(Value::Number),
        4 => string().prop_map(Value::String),
        1 => duration().prop_map(Value::Duration),
        1 => datetime().prop_map(Value::Datetime),
        1 => any::<u128>().prop_map(|u| Value::Uuid(uuid::Uuid::from_u128(u))),
        1 => vec(any::<u8>(), 0..6).prop_map(|b| Value::Bytes(Arc::from(b))),
        1 => geometry().prop_map(Value::from),
        1 => simple_record_id().prop_map(Value::from),
    ]
}

/// Values of every kind, nested up to three levels.
pub fn value() -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(3, 32, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(|v| Value::Array(Array::from(v))),
                vec(inner.clone(), 0..4).prop_map(|v| Value::Set(v.into_iter().collect::<Set>())),
                object_of(inner.clone()).prop_map(Value::Object),
                (table(), array_or_object_key(inner)).prop_map(|(t, k)| Value::from(RecordId::new(t, k))),
            ]
        })
        .boxed()
}

fn object_of(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Object> {
    btree_map(prop_oneof![4 => "[a-d]", 1 => string().prop_map(String::from)], inner, 0..4)
        .prop_map(|m: BTreeMap<String, Value>| m.into_iter().collect())
}

fn array_or_object_key(inner: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = RecordKey> {
    prop_oneof![
        vec(inner.clone(), 0..3).prop_map(|v| RecordKey::Array(Array::from(v))),
        object_of(inner).prop_map(RecordKey::Object),
    ]
}

/// Table names: mostly plain, some that need backticks.
pub fn table() -> impl Strategy<Value = SmolStr> {
    prop_oneof![
        6 => prop_oneof![Just("person"), Just("issue"), Just("t")].prop_map(SmolStr::from),
        1 => "[a-z_][a-z0-9_]{0,6}".prop_map(SmolStr::from),
        1 => prop_oneof![Just("with space"), Just("1st"), Just("a-b")].prop_map(SmolStr::from),
    ]
}

/// Record keys of the scalar kinds: integers, strings and uuids.
pub fn simple_record_key() -> impl Strategy<Value = RecordKey> {
    prop_oneof![
        3 => prop_oneof![0i64..5, any::<i64>()].prop_map(RecordKey::Int),
        3 => string().prop_map(RecordKey::String),
        1 => any::<u128>().prop_map(|u| RecordKey::Uuid(uuid::Uuid::from_u128(u))),
    ]
}

fn simple_record_id() -> impl Strategy<Value = RecordId> {
    (table(), simple_record_key()).prop_map(|(t, k)| RecordId::new(t, k))
}

/// Keys that a record id's text holds: every key kind, with array and object
/// keys whose elements print and parse back exactly (every kind but
/// geometries other than points, which print as objects).
pub fn record_key() -> impl Strategy<Value = RecordKey> {
    let printable = value().prop_filter("prints and parses back", prints_back).boxed();
    prop_oneof![
        4 => simple_record_key(),
        1 => array_or_object_key(printable),
    ]
}

/// Whether `v` is kept by strategies of text round trips: every value but
/// geometries other than points (and values holding them).
pub fn prints_back(v: &Value) -> bool {
    match v {
        Value::Geometry(g) => matches!(**g, Geometry::Point(_)),
        Value::Array(a) => a.iter().all(prints_back),
        Value::Set(s) => s.iter().all(prints_back),
        Value::Object(o) => o.iter().all(|(_, v)| prints_back(v)),
        Value::RecordId(r) => match r.key() {
            RecordKey::Array(a) => a.iter().all(prints_back),
            RecordKey::Object(o) => o.iter().all(|(_, v)| prints_back(v)),
            _ => true,
        },
        _ => true,
    }
}

/// Record ids of any table and key.
pub fn record_id() -> impl Strategy<Value = RecordId> {
    (table(), record_key()).prop_map(|(t, k)| RecordId::new(t, k))
}

/// Z-sets over `elements` with small weights (never zero after consolidation).
pub fn zset<K, S>(elements: S, max_len: usize) -> impl Strategy<Value = ZSet<K>>
where
    K: crate::Element + Clone + std::fmt::Debug,
    S: Strategy<Value = K>,
{
    vec((elements, prop_oneof![4 => Just(1), 2 => Just(-1), 1 => -3i64..=3]), 0..=max_len)
        .prop_map(|updates| updates.into_iter().collect())
}

/// Rows for a table: objects with a small integer `k` (a join or group key), a
/// short string `s`, a number `n` (any kind) and sometimes a missing or
/// `NULL` field `opt`.
pub fn row() -> BoxedStrategy<Value> {
    (
        0i64..4,
        "[a-c]{0,2}",
        number(),
        prop_oneof![Just(None), Just(Some(Value::Null)), (0i64..3).prop_map(|i| Some(Value::from(i)))],
    )
        .prop_map(|(k, s, n, opt)| {
            let mut o = Object::new();
            o.insert("k", Value::from(k));
            o.insert("s", Value::from(s));
            o.insert("n", Value::Number(n));
            if let Some(opt) = opt {
                o.insert("opt", opt);
            }
            Value::Object(o)
        })
        .boxed()
}

/// One change that [`change_stream`] draws: applied to the current table, an
/// insert of an existing id becomes an update and an update or delete of a
/// missing id becomes an insert.
#[derive(Clone, Debug)]
enum Op {
    Write(i64, Value),
    Delete(i64),
}

/// A stream of change batches over `table`, one per version: inserts, updates
/// and deletes of existing ids, and re-inserts of deleted ids (ids are drawn
/// from `0..ids`, so they recur). Rows are drawn from `rows`.
///
/// Every batch is consistent with the table it applies to: it deletes only
/// the current state of a record, and record versions grow by one per write.
/// Some batches are empty, and some touch the same record twice.
pub fn change_stream_of(
    table: &str,
    rows: impl Strategy<Value = Value>,
    ids: i64,
    max_batches: usize,
    max_batch_len: usize,
) -> impl Strategy<Value = Vec<ChangeBatch>> {
    let table = SmolStr::from(table);
    let op = prop_oneof![
        3 => (0..ids.max(1), rows).prop_map(|(id, v)| Op::Write(id, v)),
        1 => (0..ids.max(1)).prop_map(Op::Delete),
    ];
    vec(vec(op, 0..=max_batch_len), 0..=max_batches).prop_map(move |batches| build_stream(&table, batches))
}

/// [`change_stream_of`] with [`row`]s over 8 ids, up to 8 batches of up to 6 changes.
pub fn change_stream(table: &str) -> impl Strategy<Value = Vec<ChangeBatch>> {
    change_stream_of(table, row(), 8, 8, 6)
}

fn build_stream(table: &SmolStr, batches: Vec<Vec<Op>>) -> Vec<ChangeBatch> {
    let mut current: BTreeMap<i64, Record> = BTreeMap::new();
    let mut versions: BTreeMap<i64, Version> = BTreeMap::new();
    let mut out = Vec::with_capacity(batches.len());
    for (step, ops) in batches.into_iter().enumerate() {
        let mut batch = ChangeBatch::new(table.clone(), Version(step as u64 + 1));
        for op in ops {
            let id = match &op {
                Op::Write(id, _) | Op::Delete(id) => *id,
            };
            let record_id = RecordId::new(table.clone(), id);
            let old = current.remove(&id);
            let new = match op {
                Op::Write(_, value) => Some(value),
                // Deleting a missing record re-inserts it instead, so that
                // streams are rich in re-inserts of deleted ids.
                Op::Delete(_) if old.is_none() => Some(Value::Object(Object::new())),
                Op::Delete(_) => None,
            };
            if let Some(old) = old {
                push(&mut batch, old, -1);
            }
            if let Some(value) = new {
                let version = versions.entry(id).or_default();
                *version = version.next();
                let record = Record::new(record_id, *version, value);
                push(&mut batch, record.clone(), 1);
                current.insert(id, record);
            }
        }
        out.push(batch);
    }
    out
}

fn push(batch: &mut ChangeBatch, record: Record, weight: ZWeight) {
    // Every record is built with the batch's table, so this cannot fail.
    let pushed = batch.push(record, weight);
    debug_assert!(pushed.is_ok());
}
