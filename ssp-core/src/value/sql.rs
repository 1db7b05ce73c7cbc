//! SurrealQL text: values print as the literals SurrealDB 3 writes.

use std::fmt::{self, Display, Formatter, Write};

use super::path::is_plain_ident;
use super::{Geometry, Point, Polygon, Value};

/// Bytes as upper-case hex digits, as SurrealDB writes them.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl Display for Hex<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// Writes `s` with SurrealDB's escapes, escaping `quote` too.
fn write_escaped(f: &mut Formatter<'_>, s: &str, quote: char) -> fmt::Result {
    for c in s.chars() {
        match c {
            '\0' => f.write_str("\\0")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\n' => f.write_str("\\n")?,
            '\x08' => f.write_str("\\u{8}")?,
            '\x0C' => f.write_str("\\f")?,
            '\\' => f.write_str("\\\\")?,
            c if c == quote => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// Writes `s` in quotes: `'..'`, or `".."` when `s` holds a `'`.
pub(crate) fn write_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    let quote = if s.contains('\'') { '"' } else { '\'' };
    f.write_char(quote)?;
    write_escaped(f, s, quote)?;
    f.write_char(quote)
}

/// Writes an identifier (a table or field name), in backticks unless plain.
pub fn write_ident(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    if is_plain_ident(s) { f.write_str(s) } else { write_backticked(f, s) }
}

/// Writes a name in backticks, with SurrealDB's escapes.
pub fn write_backticked(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('`')?;
    write_escaped(f, s, '`')?;
    f.write_char('`')
}

/// Writes a string record key: bare when it is made of letters, digits and `_`
/// and is not all digits (which would read back as a number), else in backticks.
pub(crate) fn write_record_key_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.chars().any(|c| !c.is_ascii_digit() && c != '_');
    if plain { f.write_str(s) } else { write_backticked(f, s) }
}

/// Writes an object key: bare when plain, else in double quotes.
fn write_object_key(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    if is_plain_ident(s) {
        f.write_str(s)
    } else {
        f.write_char('"')?;
        write_escaped(f, s, '"')?;
        f.write_char('"')
    }
}

fn write_list<'a, T: Display + 'a>(f: &mut Formatter<'_>, items: impl IntoIterator<Item = &'a T>) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

/// Writes an object's fields as `{ a: 1, b: 2 }` (`{  }` when empty).
pub(crate) fn write_object(f: &mut Formatter<'_>, o: &super::Object) -> fmt::Result {
    if o.is_empty() {
        return f.write_str("{  }");
    }
    f.write_str("{ ")?;
    for (i, (k, v)) in o.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_object_key(f, k)?;
        f.write_str(": ")?;
        v.fmt(f)?;
    }
    f.write_str(" }")
}

/// Writes an array as `[1, 2]`.
pub(crate) fn write_array(f: &mut Formatter<'_>, a: &[Value]) -> fmt::Result {
    f.write_char('[')?;
    write_list(f, a)?;
    f.write_char(']')
}

/// A coordinate, written as a float literal (`1.5f`, `1e300` in full with `f`,
/// `Infinity`, `NaN`) so that it reads back as the same float.
struct Coord(f64);

impl Display for Coord {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        super::Number::Float(self.0).fmt(f)
    }
}

struct Coords<'a>(&'a [Point]);

impl Display for Coords<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "[{}, {}]", Coord(p.x), Coord(p.y))?;
        }
        f.write_char(']')
    }
}

struct Rings<'a>(&'a Polygon);

impl Display for Rings<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        Coords(&self.0.exterior).fmt(f)?;
        for ring in &self.0.interiors {
            f.write_str(", ")?;
            Coords(ring).fmt(f)?;
        }
        f.write_char(']')
    }
}

struct Joined<'a, T>(&'a [T], fn(&T, &mut Formatter<'_>) -> fmt::Result);

impl<T> Display for Joined<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            (self.1)(item, f)?;
        }
        f.write_char(']')
    }
}

impl Display for Geometry {
    /// A point prints as `(x, y)`; other geometries as a GeoJSON object literal.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kind = self.type_name();
        match self {
            Geometry::Point(p) => write!(f, "({}, {})", Coord(p.x), Coord(p.y)),
            Geometry::Line(l) | Geometry::MultiPoint(l) => {
                write!(f, "{{ type: '{kind}', coordinates: {} }}", Coords(l))
            }
            Geometry::Polygon(p) => write!(f, "{{ type: '{kind}', coordinates: {} }}", Rings(p)),
            Geometry::MultiLine(ls) => {
                let lines = Joined(ls, |l, f| Coords(l).fmt(f));
                write!(f, "{{ type: '{kind}', coordinates: {lines} }}")
            }
            Geometry::MultiPolygon(ps) => {
                let polygons = Joined(ps, |p, f| Rings(p).fmt(f));
                write!(f, "{{ type: '{kind}', coordinates: {polygons} }}")
            }
            Geometry::Collection(gs) => {
                let items = Joined(gs, |g, f| g.fmt(f));
                write!(f, "{{ type: '{kind}', geometries: {items} }}")
            }
        }
    }
}

impl Display for Value {
    /// The SurrealQL literal of the value, as SurrealDB 3 writes it; it parses
    /// back with [`str::parse`] to an equal value (except geometries other than
    /// points, which read back as objects).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("NONE"),
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => n.fmt(f),
            Value::String(s) => write_string(f, s),
            Value::Duration(d) => d.fmt(f),
            Value::Datetime(d) => write!(f, "d'{d}'"),
            Value::Uuid(u) => write!(f, "u'{u}'"),
            Value::Array(a) => write_array(f, a),
            Value::Set(s) => {
                if s.is_empty() {
                    return f.write_str("{,}");
                }
                f.write_char('{')?;
                // `{a:1, …}` reads as an object: a leading record id is written
                // as a record string, `{r'a:1', …}`.
                if let Some(Value::RecordId(first)) = s.first() {
                    f.write_char('r')?;
                    write_string(f, &first.to_string())?;
                    if s.len() > 1 {
                        f.write_str(", ")?;
                    }
                    write_list(f, &s.as_slice()[1..])?;
                } else {
                    write_list(f, s.as_slice())?;
                }
                if s.len() == 1 {
                    f.write_char(',')?;
                }
                f.write_char('}')
            }
            Value::Object(o) => write_object(f, o),
            Value::Geometry(g) => g.fmt(f),
            Value::Bytes(b) => write!(f, "b\"{}\"", Hex(b)),
            Value::RecordId(r) => r.fmt(f),
        }
    }
}
