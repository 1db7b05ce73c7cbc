//! Sort keys for ORDER BY: several keys, each ascending or descending.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

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

impl Part {
    fn new(direction: Direction, v: Value) -> Part {
        match direction {
            Direction::Asc => Part::Asc(v),
            Direction::Desc => Part::Desc(v),
        }
    }
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
/// A key is a 128-bit prefix of its first part, which orders most pairs
/// of keys by itself, and the parts for the pairs it does not. A key of one
/// part whose prefix is exact (a number, a short string, a bool, `NONE`,
/// `NULL`: the usual ORDER BY) is its prefix alone: 32 bytes, compared as two
/// integers, without an allocation.
#[derive(Clone, Debug, Default)]
pub struct SortKey {
    /// The first part's prefix in its direction (every bit inverted when
    /// descending), high and low halves; `0` for an empty key.
    hi: u64,
    lo: u64,
    /// The parts the prefix does not settle: every part, or, when the
    /// prefix is exact (it is the first part's value), the parts after the
    /// first; `None` if that leaves none. Shared, so that a key is copied
    /// (into an index, as a window's last) without an allocation.
    /// Invariant: for two keys of one ORDER BY, a smaller prefix is a smaller
    /// key, and equal prefixes are either both exact (then the first parts
    /// are equal, and the parts after them decide) or both carry every part.
    parts: Option<Arc<[Part]>>,
}

/// An ORDER BY: the keys and their directions.
pub type OrderBy = Vec<(Expr, Direction)>;

/// The rank of a value's kind in [`Value`]'s order (the order of its
/// variants).
fn kind_rank(v: &Value) -> u8 {
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

/// The float whose [`float_bits`] are `bits` (the bits of a float that is
/// not NaN).
fn from_float_bits(bits: u64) -> f64 {
    f64::from_bits(if bits >> 63 == 1 { bits & !(1 << 63) } else { !bits })
}

/// The greatest float below `n`, a number no float equals (an int past 2^53
/// or a decimal), found from a float `near` it.
fn floor_from(n: Number, near: f64) -> f64 {
    let at_most_n = |f: f64| Number::Float(f) <= n;
    // The conversions to float err by an ulp or so: a few steps settle it.
    let mut f = near;
    for _ in 0..4 {
        if f.is_nan() {
            break;
        }
        match (at_most_n(f), at_most_n(f.next_up())) {
            (true, false) => return f,
            (true, true) => f = f.next_up(),
            (false, _) => f = f.next_down(),
        }
    }
    // Otherwise bisect the floats by their ordered bits, between the least
    // finite float (below every int and decimal) and +inf (above them).
    let (mut lo, mut hi) = (float_bits(f64::MIN), float_bits(f64::INFINITY));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at_most_n(from_float_bits(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    from_float_bits(lo)
}

/// A summary of `v` that is monotone in [`Value`]'s order (`a < b` implies
/// `prefix(a) <= prefix(b)`, equal values have equal prefixes), and whether
/// it is exact (then no other value has this prefix).
///
/// The top byte is the kind (plus one). A number then has the bits of the
/// float equal to it (exact) or of the greatest float below it, and a flag
/// set: between that float and the next. A string has its first 14 bytes and
/// its length up to 15 (exact up to 14 bytes). A bool has its value; `NONE`
/// and `NULL` are their kind; other kinds are summarised by their kind alone.
fn prefix(v: &Value) -> (u128, bool) {
    let kind = u128::from(kind_rank(v) + 1) << 120;
    match v {
        Value::None | Value::Null => (kind, true),
        Value::Bool(b) => (kind | u128::from(*b), true),
        Value::Number(n) => {
            let (f, exact) = match n.exact_f64() {
                Some(f) => (f, true),
                None => (floor_from(*n, n.to_f64()), false),
            };
            (kind | u128::from(float_bits(f)) << 56 | u128::from(!exact) << 55, exact)
        }
        Value::String(s) => {
            let mut bytes = [0u8; 16];
            let n = s.len().min(14);
            bytes[1..=n].copy_from_slice(&s.as_bytes()[..n]);
            bytes[15] = s.len().min(15) as u8;
            (kind | u128::from_be_bytes(bytes), s.len() <= 14)
        }
        _ => (kind, false),
    }
}

impl SortKey {
    /// The sort key of `row` under `order`.
    pub fn of(order: &[(Expr, Direction)], row: &Value) -> SortKey {
        Self::of_in(order, row, &[])
    }

    /// The sort key of `row` under `order`, with `params` bound.
    pub fn of_in(order: &[(Expr, Direction)], row: &Value, params: &[Value]) -> SortKey {
        let Some(((first, direction), rest)) = order.split_first() else {
            return SortKey::default();
        };
        // The first value is read in place: the usual key is its prefix alone.
        let v = first.eval_ref(row, params);
        let (p, exact) = prefix(&v);
        // Inverting every bit reverses the order of prefixes.
        let p = if *direction == Direction::Desc { !p } else { p };
        // An exact prefix is its value: the parts are the keys after it.
        let first = (!exact).then(|| Part::new(*direction, v.into_owned()));
        let parts = (first.is_some() || !rest.is_empty()).then(|| {
            first.into_iter().chain(rest.iter().map(|(e, d)| Part::new(*d, e.eval_in(row, params)))).collect()
        });
        SortKey { hi: (p >> 64) as u64, lo: p as u64, parts }
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for SortKey {}

impl Hash for SortKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hi.hash(state);
        self.lo.hash(state);
        self.parts.hash(state);
    }
}

impl Ord for SortKey {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        (self.hi, self.lo).cmp(&(other.hi, other.lo)).then_with(|| self.parts.cmp(&other.parts))
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An order that tells apart values equal across number kinds (`1` and
/// `1.0f`, which a Z-set keeps as two rows): [`Value::cmp_exact`], and
/// tuples of such orders.
pub(crate) trait ExactOrd {
    fn cmp_exact(&self, other: &Self) -> Ordering;
}

impl ExactOrd for Value {
    fn cmp_exact(&self, other: &Self) -> Ordering {
        Value::cmp_exact(self, other)
    }
}

impl<A: ExactOrd, B: ExactOrd> ExactOrd for (A, B) {
    fn cmp_exact(&self, other: &Self) -> Ordering {
        self.0.cmp_exact(&other.0).then_with(|| self.1.cmp_exact(&other.1))
    }
}

impl<T: ExactOrd> ExactOrd for [T] {
    fn cmp_exact(&self, other: &Self) -> Ordering {
        self.iter()
            .zip(other)
            .map(|(a, b)| a.cmp_exact(b))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| self.len().cmp(&other.len()))
    }
}

/// `T` ordered (and equal) by its [`ExactOrd`]: the key of ordered state
/// that holds rows.
#[derive(Clone, Debug)]
pub(crate) struct Exact<T>(pub(crate) T);

impl<T: ExactOrd> Ord for Exact<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_exact(&other.0)
    }
}

impl<T: ExactOrd> PartialOrd for Exact<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: ExactOrd> PartialEq for Exact<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl<T: ExactOrd> Eq for Exact<T> {}

/// A row's place in an ORDER BY: its sort key, ties broken by the row itself
/// (kinds included) so that the order is total and deterministic.
#[derive(Clone, Debug)]
pub(crate) struct Ranked {
    pub(crate) key: SortKey,
    pub(crate) row: Value,
}

impl Ord for Ranked {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_ranked((&self.key, &self.row), (&other.key, &other.row))
    }
}

impl PartialOrd for Ranked {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Ranked {}

/// A row's place in an ORDER BY, owned ([`Ranked`]) or borrowed (a sort key
/// and a row): what an ordered set of [`Ranked`] is searched by, so that a
/// lookup needs no copy of the row or key.
pub(crate) trait RankedKey {
    fn ranked(&self) -> (&SortKey, &Value);
}

impl RankedKey for Ranked {
    fn ranked(&self) -> (&SortKey, &Value) {
        (&self.key, &self.row)
    }
}

impl RankedKey for (&SortKey, &Value) {
    fn ranked(&self) -> (&SortKey, &Value) {
        (self.0, self.1)
    }
}

impl<'a> std::borrow::Borrow<dyn RankedKey + 'a> for Ranked {
    fn borrow(&self) -> &(dyn RankedKey + 'a) {
        self
    }
}

impl Ord for dyn RankedKey + '_ {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_ranked(self.ranked(), other.ranked())
    }
}

impl PartialOrd for dyn RankedKey + '_ {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for dyn RankedKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for dyn RankedKey + '_ {}

/// The order of two rows' places in an ORDER BY ([`Ranked`]'s, borrowed):
/// the prefixes compared in line (they settle most pairs), then the rest.
#[inline]
pub(crate) fn cmp_ranked(a: (&SortKey, &Value), b: (&SortKey, &Value)) -> Ordering {
    match (a.0.hi, a.0.lo).cmp(&(b.0.hi, b.0.lo)) {
        Ordering::Equal => a.0.parts.cmp(&b.0.parts).then_with(|| a.1.cmp_exact(b.1)),
        unequal => unequal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ssp_core::Decimal;
    use ssp_core::strategies::{number, scalar, value};

    /// Values whose prefixes are hard: numbers of every kind and size near
    /// each other, strings with long common starts and NUL bytes, and
    /// values of every kind.
    fn hard_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            number().prop_map(Value::Number),
            any::<i64>().prop_map(Value::from),
            ((1i64 << 53) - 3..(1i64 << 53) + 9).prop_map(Value::from),
            ((1i64 << 53) - 3..(1i64 << 53) + 9).prop_map(|i| Value::from(i as f64)),
            (any::<i64>(), 0u32..28).prop_map(|(m, s)| Value::from(Decimal::new(m, s))),
            ((1i64 << 53) - 3..(1i64 << 53) + 9, 0u32..3).prop_map(|(m, s)| Value::from(Decimal::new(m, s))),
            any::<f64>().prop_map(Value::from),
            "[ab\u{0}]{0,18}".prop_map(Value::from),
            scalar(),
            value(),
        ]
    }

    fn in_direction(o: Ordering, d: Direction) -> Ordering {
        if d == Direction::Desc { o.reverse() } else { o }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        // The prefix never contradicts the values' order, and an exact
        // prefix is the value's alone.
        #[test]
        fn prefixes_keep_the_order_of_values(a in hard_value(), b in hard_value()) {
            let ((pa, exact_a), (pb, exact_b)) = (prefix(&a), prefix(&b));
            match a.cmp(&b) {
                Ordering::Less => prop_assert!(pa <= pb),
                Ordering::Equal => prop_assert_eq!((pa, exact_a), (pb, exact_b)),
                Ordering::Greater => prop_assert!(pa >= pb),
            }
            if pa == pb {
                prop_assert_eq!(exact_a, exact_b);
                prop_assert!(!exact_a || a == b, "{:?} and {:?} share an exact prefix", a, b);
            }
        }

        // Keys compare as their parts do, whether the prefix settles the
        // comparison, the key is its prefix alone, or the parts decide.
        #[test]
        fn keys_compare_as_their_parts(a in hard_value(), b in hard_value()) {
            for d in [Direction::Asc, Direction::Desc] {
                let orders = [
                    vec![(Expr::Row, d)],
                    vec![(Expr::Row, d), (Expr::Row, Direction::Asc)],
                    vec![(Expr::lit(1), Direction::Asc), (Expr::Row, d)],
                ];
                for order in orders {
                    let (ka, kb) = (SortKey::of(&order, &a), SortKey::of(&order, &b));
                    prop_assert_eq!(ka.cmp(&kb), in_direction(a.cmp(&b), d), "{:?} vs {:?} by {:?}", a, b, order);
                    prop_assert_eq!(ka == kb, a == b);
                }
            }
        }

        // Whatever float it starts from (a NaN, an infinity, one far off),
        // the search finds the greatest float below the number.
        #[test]
        fn the_float_below_a_number_is_found_from_any_start(
            n in prop_oneof![
                any::<i64>().prop_map(Number::Int),
                (any::<i64>(), 0u32..28).prop_map(|(m, s)| Number::Decimal(Decimal::new(m, s))),
            ],
            near in prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(0.0)],
        ) {
            prop_assume!(n.exact_f64().is_none());
            for f in [floor_from(n, n.to_f64()), floor_from(n, near)] {
                prop_assert!(Number::Float(f) < n, "{} < {:?}", f, n);
                prop_assert!(Number::Float(f.next_up()) > n, "{} is the greatest float below {:?}", f, n);
            }
        }
    }

    #[test]
    fn keys_order_values_at_the_edges() {
        let two_pow_53 = 1i64 << 53;
        let values: Vec<Value> = [
            Value::None,
            Value::Null,
            Value::from(false),
            Value::from(true),
            Value::from(f64::NEG_INFINITY),
            Value::from(Decimal::MIN),
            Value::from(i64::MIN),
            Value::from(-1.5),
            Value::from(0),
            Value::from(Decimal::new(1, 28)),
            Value::from(1),
            Value::from(Decimal::new(15, 1)),
            Value::from(two_pow_53),
            Value::from(two_pow_53 + 1),
            Value::from(Decimal::from(two_pow_53 + 1) + Decimal::new(5, 1)),
            Value::from(two_pow_53 + 2),
            Value::from(i64::MAX - 1),
            Value::from(i64::MAX),
            Value::from(Decimal::MAX),
            Value::from(f64::INFINITY),
            Value::from(f64::NAN),
            Value::from(""),
            Value::from("\u{0}"),
            Value::from("a"),
            Value::from("a\u{0}"),
            Value::from("abcdefghijklmn"),
            Value::from("abcdefghijklmn\u{0}"),
            Value::from("abcdefghijklmno"),
            Value::from("b"),
        ]
        .into();
        for (i, a) in values.iter().enumerate() {
            for (j, b) in values.iter().enumerate() {
                assert_eq!(a.cmp(b), i.cmp(&j), "{a:?} vs {b:?}");
                for d in [Direction::Asc, Direction::Desc] {
                    let order = [(Expr::Row, d)];
                    let (ka, kb) = (SortKey::of(&order, a), SortKey::of(&order, b));
                    assert_eq!(ka.cmp(&kb), in_direction(i.cmp(&j), d), "{a:?} vs {b:?} {d:?}");
                }
            }
        }
        assert_eq!(
            SortKey::of(&[(Expr::Row, Direction::Asc)], &Value::from(-0.0)),
            SortKey::of(&[(Expr::Row, Direction::Asc)], &Value::from(0))
        );
        // The usual key is its prefix alone.
        assert!(SortKey::of(&[(Expr::Row, Direction::Desc)], &Value::from(7)).parts.is_none());
        // After an exact first part, the parts are the keys after it.
        let order = [(Expr::field("a"), Direction::Desc), (Expr::field("b"), Direction::Asc)];
        let key = SortKey::of(&order, &"{ a: 7, b: 'x' }".parse().expect("a row"));
        assert_eq!(key.parts.as_deref().map(<[Part]>::len), Some(1));
    }
}
