//! Lossless conversion between SurrealDB's values and SSP's.
//!
//! Every kind SurrealDB stores in a record has an SSP twin: none, null, bool,
//! int, float, decimal, string, bytes, duration, datetime, uuid, geometry,
//! record id, array, set, object. SurrealDB values that are not data a record
//! holds (a table name, a file, a range, a regex, a record id with a range
//! key) are refused with a [`ConvertError`] that names the path where they
//! were found, never dropped.

use std::sync::Arc;

use geo_types::{Coord, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use ssp_core::{Datetime, Duration, Geometry, Number, Object, RecordId, RecordKey, Value};
use surrealdb::types as sdb;

/// A SurrealDB value SSP cannot hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} at `{path}` cannot be held by SSP")]
pub struct ConvertError {
    /// The kind found (`table`, `file`, `range`, `regex`, ...).
    pub kind: &'static str,
    /// Where in the value: `$` for the value itself, then `.field` and `[i]`.
    pub path: String,
}

/// Converts a SurrealDB value to SSP's, exactly.
pub fn from_surreal(v: sdb::Value) -> Result<Value, ConvertError> {
    convert_in(v, &mut String::from("$"))
}

fn refuse(kind: &'static str, path: &str) -> ConvertError {
    ConvertError { kind, path: path.to_owned() }
}

/// Runs `f` with `step` appended to `path`, then removes it again.
fn at<T>(path: &mut String, step: std::fmt::Arguments<'_>, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    std::fmt::Write::write_fmt(path, step).ok();
    let out = f(path);
    path.truncate(len);
    out
}

fn convert_in(v: sdb::Value, path: &mut String) -> Result<Value, ConvertError> {
    Ok(match v {
        sdb::Value::None => Value::None,
        sdb::Value::Null => Value::Null,
        sdb::Value::Bool(b) => Value::Bool(b),
        sdb::Value::Number(n) => Value::Number(match n {
            sdb::Number::Int(i) => Number::Int(i),
            sdb::Number::Float(f) => Number::Float(f),
            sdb::Number::Decimal(d) => Number::Decimal(d),
        }),
        sdb::Value::String(s) => Value::String(s.into()),
        sdb::Value::Bytes(b) => Value::Bytes(Arc::from(b.into_inner().as_ref())),
        sdb::Value::Duration(d) => Value::Duration(Duration::from_std(d.into_inner())),
        sdb::Value::Datetime(d) => Value::Datetime(Datetime::from(d.into_inner())),
        sdb::Value::Uuid(u) => Value::Uuid(u.into_inner()),
        sdb::Value::Geometry(g) => Value::Geometry(Arc::new(geometry_from(g))),
        sdb::Value::RecordId(id) => Value::RecordId(Arc::new(record_id_from(id, path)?)),
        sdb::Value::Array(a) => Value::Array(
            a.into_inner()
                .into_iter()
                .enumerate()
                .map(|(i, v)| at(path, format_args!("[{i}]"), |p| convert_in(v, p)))
                .collect::<Result<_, _>>()?,
        ),
        sdb::Value::Set(s) => Value::Set(
            s.into_inner()
                .into_iter()
                .enumerate()
                .map(|(i, v)| at(path, format_args!("[{i}]"), |p| convert_in(v, p)))
                .collect::<Result<_, _>>()?,
        ),
        sdb::Value::Object(o) => Value::Object(object_from(o, path)?),
        sdb::Value::Table(_) => return Err(refuse("table", path)),
        sdb::Value::File(_) => return Err(refuse("file", path)),
        sdb::Value::Range(_) => return Err(refuse("range", path)),
        sdb::Value::Regex(_) => return Err(refuse("regex", path)),
    })
}

fn object_from(o: sdb::Object, path: &mut String) -> Result<Object, ConvertError> {
    o.into_inner()
        .into_iter()
        .map(|(k, v)| {
            let v = at(path, format_args!(".{k}"), |p| convert_in(v, p))?;
            Ok((k, v))
        })
        .collect()
}

fn record_id_from(id: sdb::RecordId, path: &mut String) -> Result<RecordId, ConvertError> {
    let key = match id.key {
        sdb::RecordIdKey::Number(i) => RecordKey::Int(i),
        sdb::RecordIdKey::String(s) => RecordKey::String(s.into()),
        sdb::RecordIdKey::Uuid(u) => RecordKey::Uuid(u.into_inner()),
        sdb::RecordIdKey::Array(a) => {
            let Value::Array(a) = convert_in(sdb::Value::Array(a), path)? else {
                return Err(refuse("record key", path));
            };
            RecordKey::Array(a)
        }
        sdb::RecordIdKey::Object(o) => RecordKey::Object(object_from(o, path)?),
        sdb::RecordIdKey::Range(_) => return Err(refuse("record id range", path)),
    };
    Ok(RecordId::new(id.table.into_inner(), key))
}

fn point_from(p: Point<f64>) -> ssp_core::Point {
    ssp_core::Point::new(p.x(), p.y())
}

fn line_from(l: LineString<f64>) -> Vec<ssp_core::Point> {
    l.0.into_iter().map(|c| ssp_core::Point::new(c.x, c.y)).collect()
}

fn polygon_from(p: Polygon<f64>) -> ssp_core::Polygon {
    let (exterior, interiors) = p.into_inner();
    ssp_core::Polygon { exterior: line_from(exterior), interiors: interiors.into_iter().map(line_from).collect() }
}

fn geometry_from(g: sdb::Geometry) -> Geometry {
    match g {
        sdb::Geometry::Point(p) => Geometry::Point(point_from(p)),
        sdb::Geometry::Line(l) => Geometry::Line(line_from(l)),
        sdb::Geometry::Polygon(p) => Geometry::Polygon(polygon_from(p)),
        sdb::Geometry::MultiPoint(m) => Geometry::MultiPoint(m.0.into_iter().map(point_from).collect()),
        sdb::Geometry::MultiLine(m) => Geometry::MultiLine(m.0.into_iter().map(line_from).collect()),
        sdb::Geometry::MultiPolygon(m) => Geometry::MultiPolygon(m.0.into_iter().map(polygon_from).collect()),
        sdb::Geometry::Collection(c) => Geometry::Collection(c.into_iter().map(geometry_from).collect()),
    }
}

/// Converts an SSP value to SurrealDB's, exactly (every SSP value has a
/// SurrealDB twin).
pub fn to_surreal(v: &Value) -> sdb::Value {
    match v {
        Value::None => sdb::Value::None,
        Value::Null => sdb::Value::Null,
        Value::Bool(b) => sdb::Value::Bool(*b),
        Value::Number(n) => sdb::Value::Number(match n {
            Number::Int(i) => sdb::Number::Int(*i),
            Number::Float(f) => sdb::Number::Float(*f),
            Number::Decimal(d) => sdb::Number::Decimal(*d),
        }),
        Value::String(s) => sdb::Value::String(s.to_string()),
        Value::Bytes(b) => sdb::Value::Bytes(sdb::Bytes::from(b.to_vec())),
        Value::Duration(d) => sdb::Value::Duration(sdb::Duration::from_std(d.as_std())),
        Value::Datetime(d) => sdb::Value::Datetime(sdb::Datetime::from(d.as_chrono())),
        Value::Uuid(u) => sdb::Value::Uuid(sdb::Uuid::from(*u)),
        Value::Geometry(g) => sdb::Value::Geometry(geometry_to(g)),
        Value::RecordId(id) => sdb::Value::RecordId(record_id_to(id)),
        Value::Array(a) => sdb::Value::Array(sdb::Array::from(a.as_slice().iter().map(to_surreal).collect::<Vec<_>>())),
        Value::Set(s) => sdb::Value::Set(sdb::Set::from(s.as_slice().iter().map(to_surreal).collect::<Vec<_>>())),
        Value::Object(o) => sdb::Value::Object(object_to(o)),
    }
}

fn object_to(o: &Object) -> sdb::Object {
    let mut out = sdb::Object::new();
    for (k, v) in o.iter() {
        out.insert(k.to_owned(), to_surreal(v));
    }
    out
}

fn record_id_to(id: &RecordId) -> sdb::RecordId {
    let key = match id.key() {
        RecordKey::Int(i) => sdb::RecordIdKey::Number(*i),
        RecordKey::String(s) => sdb::RecordIdKey::String(s.to_string()),
        RecordKey::Uuid(u) => sdb::RecordIdKey::Uuid(sdb::Uuid::from(*u)),
        RecordKey::Array(a) => {
            sdb::RecordIdKey::Array(sdb::Array::from(a.as_slice().iter().map(to_surreal).collect::<Vec<_>>()))
        }
        RecordKey::Object(o) => sdb::RecordIdKey::Object(object_to(o)),
    };
    sdb::RecordId::new(id.table(), key)
}

fn coord(p: &ssp_core::Point) -> Coord<f64> {
    Coord { x: p.x, y: p.y }
}

fn line_to(l: &[ssp_core::Point]) -> LineString<f64> {
    LineString(l.iter().map(coord).collect())
}

fn polygon_to(p: &ssp_core::Polygon) -> Polygon<f64> {
    Polygon::new(line_to(&p.exterior), p.interiors.iter().map(|l| line_to(l)).collect())
}

fn geometry_to(g: &Geometry) -> sdb::Geometry {
    match g {
        Geometry::Point(p) => sdb::Geometry::Point(Point(coord(p))),
        Geometry::Line(l) => sdb::Geometry::Line(line_to(l)),
        Geometry::Polygon(p) => sdb::Geometry::Polygon(polygon_to(p)),
        Geometry::MultiPoint(m) => sdb::Geometry::MultiPoint(MultiPoint(m.iter().map(|p| Point(coord(p))).collect())),
        Geometry::MultiLine(m) => sdb::Geometry::MultiLine(MultiLineString(m.iter().map(|l| line_to(l)).collect())),
        Geometry::MultiPolygon(m) => sdb::Geometry::MultiPolygon(MultiPolygon(m.iter().map(polygon_to).collect())),
        Geometry::Collection(c) => sdb::Geometry::Collection(c.iter().map(geometry_to).collect()),
    }
}
