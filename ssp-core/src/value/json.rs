//! Plain JSON: what SurrealDB sends its clients, and what an application sends SSP.

use serde_json::{Number as JsonNumber, Value as Json};

use super::{Array, Geometry, Number, Object, Point, Polygon, Value};

impl Value {
    /// The plain JSON that SurrealDB gives clients for this value (its
    /// `into_json_value`): `NONE` and `NULL` become `null`; decimals,
    /// durations, datetimes, uuids and record ids become strings; sets become
    /// arrays; bytes an array of numbers; geometries GeoJSON; a float that is
    /// not finite becomes `null`. This loses kinds; use the serde encoding
    /// ([`Value`]'s `Serialize`) to round-trip.
    ///
    /// ```
    /// use ssp_core::Value;
    /// let v: Value = "{ id: person:tobie, at: d'2024-01-01T00:00:00Z', n: 1.5dec }".parse()?;
    /// assert_eq!(
    ///     v.to_json().to_string(),
    ///     r#"{"at":"2024-01-01T00:00:00Z","id":"person:tobie","n":"1.5"}"#
    /// );
    /// # Ok::<(), ssp_core::ParseError>(())
    /// ```
    pub fn to_json(&self) -> Json {
        match self {
            Value::None | Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(Number::Int(i)) => Json::Number((*i).into()),
            Value::Number(Number::Float(f)) => JsonNumber::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Number(Number::Decimal(d)) => Json::String(d.to_string()),
            Value::String(s) => Json::String(s.to_string()),
            Value::Duration(d) => Json::String(d.to_string()),
            Value::Datetime(d) => Json::String(d.to_string()),
            Value::Uuid(u) => Json::String(u.to_string()),
            Value::Array(a) => Json::Array(a.iter().map(Value::to_json).collect()),
            Value::Set(s) => Json::Array(s.iter().map(Value::to_json).collect()),
            Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.to_owned(), v.to_json())).collect()),
            Value::Geometry(g) => geometry_to_value(g).to_json(),
            Value::Bytes(b) => Json::Array(b.iter().map(|&x| Json::Number(x.into())).collect()),
            Value::RecordId(r) => Json::String(r.to_string()),
        }
    }

    /// A value from plain JSON, kind for kind: `null` is `NULL`, an integer
    /// that fits `i64` is an `int`, a larger one a `decimal` (exact), other
    /// numbers `float`s; strings stay strings (no datetime or record id is
    /// guessed from text).
    pub fn from_json(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::from(i)
                } else if let Some(u) = n.as_u64() {
                    Value::from(u)
                } else {
                    Value::from(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Json::String(s) => Value::from(s.as_str()),
            Json::Array(a) => Value::Array(a.iter().map(Value::from_json).collect::<Array>()),
            Json::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.as_str(), Value::from_json(v))).collect()),
        }
    }
}

impl From<&Json> for Value {
    fn from(json: &Json) -> Self {
        Value::from_json(json)
    }
}

fn point_value(p: &Point) -> Value {
    Value::from(vec![Value::from(p.x), Value::from(p.y)])
}

fn line_value(l: &[Point]) -> Value {
    Value::from(l.iter().map(point_value).collect::<Vec<_>>())
}

fn polygon_value(p: &Polygon) -> Value {
    let rings = std::iter::once(&p.exterior).chain(&p.interiors);
    Value::from(rings.map(|r| line_value(r)).collect::<Vec<_>>())
}

/// The GeoJSON object of a geometry, as a [`Value`].
pub(crate) fn geometry_to_value(g: &Geometry) -> Value {
    let mut o = Object::new();
    o.insert("type", Value::from(g.type_name()));
    let coordinates = match g {
        Geometry::Point(p) => point_value(p),
        Geometry::Line(l) | Geometry::MultiPoint(l) => line_value(l),
        Geometry::Polygon(p) => polygon_value(p),
        Geometry::MultiLine(ls) => Value::from(ls.iter().map(|l| line_value(l)).collect::<Vec<_>>()),
        Geometry::MultiPolygon(ps) => Value::from(ps.iter().map(polygon_value).collect::<Vec<_>>()),
        Geometry::Collection(gs) => {
            o.insert("geometries", Value::from(gs.iter().map(geometry_to_value).collect::<Vec<_>>()));
            return Value::Object(o);
        }
    };
    o.insert("coordinates", coordinates);
    Value::Object(o)
}

fn point_from(v: &Value) -> Option<Point> {
    match v.as_array()?.as_slice() {
        [Value::Number(x), Value::Number(y)] => Some(Point::new(x.to_f64(), y.to_f64())),
        _ => None,
    }
}

fn line_from(v: &Value) -> Option<Vec<Point>> {
    v.as_array()?.iter().map(point_from).collect()
}

fn polygon_from(v: &Value) -> Option<Polygon> {
    let rings = v.as_array()?;
    let (exterior, interiors) = rings.split_first()?;
    Some(Polygon::new(line_from(exterior)?, interiors.iter().map(line_from).collect::<Option<_>>()?))
}

/// The geometry of a GeoJSON object, if it is one.
pub(crate) fn geometry_from_value(v: &Value) -> Option<Geometry> {
    let o = v.as_object()?;
    let kind = o.get("type")?.as_str()?;
    if kind == "GeometryCollection" {
        let items = o.get("geometries")?.as_array()?;
        return items.iter().map(geometry_from_value).collect::<Option<_>>().map(Geometry::Collection);
    }
    let c = o.get("coordinates")?;
    Some(match kind {
        "Point" => Geometry::Point(point_from(c)?),
        "LineString" => Geometry::Line(line_from(c)?),
        "Polygon" => Geometry::Polygon(polygon_from(c)?),
        "MultiPoint" => Geometry::MultiPoint(line_from(c)?),
        "MultiLineString" => Geometry::MultiLine(c.as_array()?.iter().map(line_from).collect::<Option<_>>()?),
        "MultiPolygon" => Geometry::MultiPolygon(c.as_array()?.iter().map(polygon_from).collect::<Option<_>>()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_json_matches_what_surrealdb_sends_clients() {
        let v: Value = "{ a: NONE, b: NULL, c: [1, 2.5f, 3dec], d: 1h30m, e: u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21', \
             f: {1, 2}, g: b\"00FF\", h: (1.5, 2), i: temp:[1, 'a'] }"
            .parse()
            .expect("valid literal");
        let expected = r#"{"a":null,"b":null,"c":[1,2.5,"3"],"d":"1h30m","e":"0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21","f":[1,2],"g":[0,255],"h":{"coordinates":[1.5,2.0],"type":"Point"},"i":"temp:[1, 'a']"}"#;
        assert_eq!(v.to_json().to_string(), expected);
    }

    #[test]
    fn geometry_round_trips_through_geojson() {
        let g = Geometry::Collection(vec![
            Geometry::Polygon(Polygon {
                exterior: vec![Point::new(0.0, 0.0), Point::new(1.0, 0.0), Point::new(0.0, 0.0)],
                interiors: vec![vec![Point::new(0.1, 0.1)]],
            }),
            Geometry::MultiLine(vec![vec![Point::new(1.0, 2.0)], vec![]]),
        ]);
        assert_eq!(geometry_from_value(&geometry_to_value(&g)), Some(g));
    }
}
