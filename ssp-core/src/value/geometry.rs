//! Geometries, as SurrealDB stores them (GeoJSON shapes over `f64` coordinates).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use super::number::cmp_float;

/// A point; `x` is the longitude and `y` the latitude in geographic use.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    /// The first coordinate (longitude).
    pub x: f64,
    /// The second coordinate (latitude).
    pub y: f64,
}

impl Point {
    /// A point at `(x, y)`.
    pub const fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
}

impl Ord for Point {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_float(self.x, other.x).then_with(|| cmp_float(self.y, other.y))
    }
}

impl PartialOrd for Point {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Point {}

/// Hashes a coordinate so that values equal under [`cmp_float`] hash equal.
fn hash_coord<H: Hasher>(v: f64, state: &mut H) {
    let canonical = if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == 0.0 {
        0
    } else {
        v.to_bits()
    };
    canonical.hash(state);
}

impl Hash for Point {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_coord(self.x, state);
        hash_coord(self.y, state);
    }
}

/// A polygon: an exterior ring and zero or more holes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Polygon {
    /// The outer ring.
    pub exterior: Vec<Point>,
    /// The holes.
    pub interiors: Vec<Vec<Point>>,
}

impl Polygon {
    /// A polygon of these rings, each closed (its first point repeated at its
    /// end, if it is not there already), as SurrealDB stores polygons.
    pub fn new(exterior: Vec<Point>, interiors: Vec<Vec<Point>>) -> Polygon {
        let close = |mut ring: Vec<Point>| {
            if let (Some(first), Some(last)) = (ring.first(), ring.last())
                && first != last
            {
                ring.push(*first);
            }
            ring
        };
        Polygon { exterior: close(exterior), interiors: interiors.into_iter().map(close).collect() }
    }

    /// The coordinates in the order SurrealDB compares them: holes first, then
    /// the exterior ring.
    fn coords(&self) -> impl Iterator<Item = &Point> + '_ {
        self.interiors.iter().flatten().chain(&self.exterior)
    }

    fn shape(&self, out: &mut Vec<usize>) {
        out.push(self.exterior.len());
        out.push(self.interiors.len());
        out.extend(self.interiors.iter().map(Vec::len));
    }
}

/// A GeoJSON geometry.
///
/// Geometries order first by kind (point < line < polygon < multipoint <
/// multiline < multipolygon < collection, SurrealDB's order), then by their
/// coordinates in sequence as SurrealDB compares them (for a polygon, its holes
/// before its exterior), then, so that the order stays total and agrees with
/// equality, by the lengths of their rings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Geometry {
    /// A single point.
    Point(Point),
    /// A line string.
    Line(Vec<Point>),
    /// A polygon.
    Polygon(Polygon),
    /// Several points.
    MultiPoint(Vec<Point>),
    /// Several line strings.
    MultiLine(Vec<Vec<Point>>),
    /// Several polygons.
    MultiPolygon(Vec<Polygon>),
    /// A collection of geometries.
    Collection(Vec<Geometry>),
}

impl Geometry {
    fn rank(&self) -> u8 {
        match self {
            Geometry::Point(_) => 0,
            Geometry::Line(_) => 1,
            Geometry::Polygon(_) => 2,
            Geometry::MultiPoint(_) => 3,
            Geometry::MultiLine(_) => 4,
            Geometry::MultiPolygon(_) => 5,
            Geometry::Collection(_) => 6,
        }
    }

    /// The GeoJSON `type` name of this geometry.
    pub fn type_name(&self) -> &'static str {
        match self {
            Geometry::Point(_) => "Point",
            Geometry::Line(_) => "LineString",
            Geometry::Polygon(_) => "Polygon",
            Geometry::MultiPoint(_) => "MultiPoint",
            Geometry::MultiLine(_) => "MultiLineString",
            Geometry::MultiPolygon(_) => "MultiPolygon",
            Geometry::Collection(_) => "GeometryCollection",
        }
    }

    /// All coordinates in SurrealDB's comparison order (not for collections).
    fn coords(&self) -> Box<dyn Iterator<Item = &Point> + '_> {
        match self {
            Geometry::Point(p) => Box::new(std::iter::once(p)),
            Geometry::Line(l) | Geometry::MultiPoint(l) => Box::new(l.iter()),
            Geometry::Polygon(p) => Box::new(p.coords()),
            Geometry::MultiLine(ls) => Box::new(ls.iter().flatten()),
            Geometry::MultiPolygon(ps) => Box::new(ps.iter().flat_map(Polygon::coords)),
            Geometry::Collection(_) => Box::new(std::iter::empty()),
        }
    }

    fn shape(&self) -> Vec<usize> {
        let mut out = Vec::new();
        match self {
            Geometry::Point(_) | Geometry::Collection(_) => {}
            Geometry::Line(l) | Geometry::MultiPoint(l) => out.push(l.len()),
            Geometry::Polygon(p) => p.shape(&mut out),
            Geometry::MultiLine(ls) => out.extend(ls.iter().map(Vec::len)),
            Geometry::MultiPolygon(ps) => ps.iter().for_each(|p| p.shape(&mut out)),
        }
        out
    }
}

impl Geometry {
    /// SurrealDB's order of geometries: by kind, then by coordinates in
    /// order (a collection by its members in turn, then by length). It
    /// holds some different geometries equal (`MultiLine([])` and
    /// `MultiLine([[]])` have the same coordinates: none).
    fn cmp_coords(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Geometry::Collection(a), Geometry::Collection(b)) => a
                .iter()
                .zip(b)
                .map(|(x, y)| x.cmp_coords(y))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            (Geometry::Point(a), Geometry::Point(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()).then_with(|| self.coords().cmp(other.coords())),
        }
    }
}

impl Ord for Geometry {
    /// SurrealDB's order (by kind, then by coordinates in order; a
    /// collection by its members in turn, then by length), with the
    /// geometries it holds equal ordered by their shapes (how the
    /// coordinates split into lines and rings), so that the order is total.
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_coords(other).then_with(|| match (self, other) {
            (Geometry::Collection(a), Geometry::Collection(b)) => a.cmp(b),
            _ => self.shape().cmp(&other.shape()),
        })
    }
}

impl PartialOrd for Geometry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
