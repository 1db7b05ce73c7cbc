//! Sort keys for ORDER BY: several keys, each ascending or descending.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use smallvec::SmallVec;
use ssp_core::{Number, Value};

use crate::expr::Expr;

/// The direction of one ORDER BY key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One component of a [`SortKey`]: a value with its direction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Part {
    Asc(Value),
    Desc(Value),
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Asc(a), Part::Asc(b)) => a.cmp(b),
            (Part::Desc(a), Part::Desc(b)) => b.cmp(a),
            // Keys of one ORDER BY never mix directions at one position.
            (Part::Asc(_), Part::Desc(_)) => Ordering::Less,
            (Part::Desc(_), Part::Asc(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The sort key of a row under an ORDER BY: rows compare by their keys in
/// turn, each ascending or descending by [`Value`]'s order.
///
/// A key also holds a summary of its first part, so that most comparisons
/// (in a B-tree of thousands of rows, or a sort of a step's change) compare
/// two integers instead of two dynamic values.
#[derive(Clone, Debug, Default)]
pub struct SortKey {
    /// The first part's [`prefix`], in the part's direction (inverted when
    /// descending); `0` when there is none. Invariant: for two keys of one
    /// ORDER BY with non-zero prefixes, `a.prefix < b.prefix` implies `a < b`.
    prefix: u64,
    parts: SmallVec<[Part; 1]>,
}

/// An ORDER BY: the keys and their directions.
pub type OrderBy = Vec<(Expr, Direction)>;

/// The rank of a value's kind in [`Value`]'s order (the order of its
/// variants).
fn kind_rank(v: &Value) -> u64 {
    match v {
        Value::None => 0,
        Value::Null => 1,
        Value::Bool(_) => 2,
        Value::Number(_) => 3,
        Value::String(_) => 4,
        Value::Duration(_) => 5,
        Value::Datetime(_) => 6,
        Value::Uuid(_) => 7,
        Value::Array(_) => 8,
        Value::Set(_) => 9,
        Value::Object(_) => 10,
        Value::Geometry(_) => 11,
        Value::Bytes(_) => 12,
        Value::RecordId(_) => 13,
    }
}

/// A float's bits, as an integer in the float's order: `-0.0` and `0.0` are
/// one, and NaN, above every number in [`Number`]'s order, is the greatest.
fn float_bits(f: f64) -> u64 {
    if f.is_nan() {
        return u64::MAX;
    }
    let bits = (f + 0.0).to_bits(); // -0.0 + 0.0 is 0.0
    if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
}

/// A non-zero summary of `v`, monotone in [`Value`]'s order: `a < b` implies
/// `prefix(a) <= prefix(b)` (equal values have equal prefixes). The top four
/// bits are the kind (plus one), the other sixty the value's leading bits:
/// ints and floats by their nearest float (rounding to nearest is monotone,
/// and every float is its own nearest), strings by their first bytes. `0`
/// (no summary) for decimals, whose conversion to a float is not exactly
/// rounded.
fn prefix(v: &Value) -> u64 {
    let payload = match v {
        Value::Number(Number::Int(i)) => float_bits(*i as f64),
        Value::Number(Number::Float(f)) => float_bits(*f),
        Value::Number(Number::Decimal(_)) => return 0,
        Value::Bool(b) => u64::from(*b) << 63,
        Value::String(s) => {
            let mut bytes = [0u8; 8];
            let n = s.len().min(8);
            bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
            u64::from_be_bytes(bytes)
        }
        // Other kinds are summarised by their kind alone.
        _ => 0,
    };
    ((kind_rank(v) + 1) << 60) | (payload >> 4)
}

impl SortKey {
    /// The sort key of `row` under `order`.
    pub fn of(order: &[(Expr, Direction)], row: &Value) -> SortKey {
        Self::of_in(order, row, &[])
    }

    /// The sort key of `row` under `order`, with `params` bound.
    pub fn of_in(order: &[(Expr, Direction)], row: &Value, params: &[Value]) -> SortKey {
        let mut parts = SmallVec::with_capacity(order.len());
        for (e, d) in order {
            let v = e.eval_in(row, params);
            parts.push(match d {
                Direction::Asc => Part::Asc(v),
                Direction::Desc => Part::Desc(v),
            });
        }
        let prefix = match parts.first() {
            Some(Part::Asc(v)) => prefix(v),
            // `!p` reverses the order of non-zero prefixes and keeps them
            // non-zero (the top four bits of `p` are never all ones).
            Some(Part::Desc(v)) => match prefix(v) {
                0 => 0,
                p => !p,
            },
            None => 0,
        };
        SortKey { prefix, parts }
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Eq for SortKey {}

impl Hash for SortKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts.hash(state);
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Different prefixes order the keys as their first parts would.
        if self.prefix != other.prefix && self.prefix != 0 && other.prefix != 0 {
            return self.prefix.cmp(&other.prefix);
        }
        self.parts.cmp(&other.parts)
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A row's place in an ORDER BY: its sort key, ties broken by the row itself
/// so that the order is total and deterministic.
pub(crate) type Ranked = (SortKey, Value);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ssp_core::strategies::{number, scalar, value};

    fn key(v: &Value, d: Direction) -> SortKey {
        SortKey::of(&[(Expr::Row, d)], v)
    }

    /// The keys' order without prefixes.
    fn plain(a: &SortKey, b: &SortKey) -> Ordering {
        a.parts.cmp(&b.parts)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        // The prefix never contradicts the values' order, so keys compare
        // exactly as their parts do.
        #[test]
        fn prefixes_keep_the_order_of_values(
            a in prop_oneof![number().prop_map(Value::Number), scalar(), value()],
            b in prop_oneof![number().prop_map(Value::Number), scalar(), value()],
        ) {
            let (pa, pb) = (prefix(&a), prefix(&b));
            if pa != 0 && pb != 0 {
                match a.cmp(&b) {
                    Ordering::Less => prop_assert!(pa <= pb),
                    Ordering::Equal => prop_assert_eq!(pa, pb),
                    Ordering::Greater => prop_assert!(pa >= pb),
                }
            }
            for d in [Direction::Asc, Direction::Desc] {
                let (ka, kb) = (key(&a, d), key(&b, d));
                prop_assert_eq!(ka.cmp(&kb), plain(&ka, &kb));
                prop_assert_eq!(ka == kb, plain(&ka, &kb).is_eq());
            }
        }
    }

    #[test]
    fn prefixes_order_numbers_at_the_edges() {
        let values: Vec<Value> = [
            Value::None,
            Value::Null,
            Value::from(false),
            Value::from(true),
            Value::from(f64::NEG_INFINITY),
            Value::from(i64::MIN),
            Value::from(-1.5),
            Value::from(-0.0),
            Value::from(0),
            Value::from(1),
            Value::from(i64::MAX - 1),
            Value::from(i64::MAX),
            Value::from(f64::INFINITY),
            Value::from(f64::NAN),
            Value::from(""),
            Value::from("a"),
            Value::from("abcdefgh"),
            Value::from("abcdefghi"),
            Value::from("b"),
        ]
        .into();
        for (i, a) in values.iter().enumerate() {
            for b in &values[i..] {
                assert!(a <= b, "{a:?} <= {b:?}");
                assert!(prefix(a) <= prefix(b), "prefix({a:?}) <= prefix({b:?})");
                assert_ne!(prefix(a), 0);
                for d in [Direction::Asc, Direction::Desc] {
                    let (ka, kb) = (key(a, d), key(b, d));
                    assert_eq!(ka.cmp(&kb), plain(&ka, &kb), "{a:?} vs {b:?} {d:?}");
                }
            }
        }
    }
}
