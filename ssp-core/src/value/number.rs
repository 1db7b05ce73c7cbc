//! Numbers: `int`, `float` and `decimal`, compared by their exact value.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// A SurrealDB number: a 64-bit integer, a 64-bit float or a 128-bit decimal.
///
/// # Equality and order
///
/// Numbers of different kinds compare by their **exact mathematical value**, so
/// `Int(1) == Float(1.0) == Decimal(1)` and `Int(1) < Float(1.5)`. This matches
/// SurrealDB (`surrealdb-expr` 3.3.5, `val/number.rs`, `impl Ord for Number`) for
/// every pair of kinds where SurrealDB itself is exact: int/int, int/float,
/// int/decimal, float/float and decimal/decimal, including `-0.0 == 0.0`.
///
/// Between a float and a decimal SurrealDB compares approximately (to about
/// sixteen significant digits; its own docs say the relation is not transitive
/// and its `Hash` disagrees with its `Eq`). SSP compares them exactly instead:
/// `Float(0.1)` is `0.1000000000000000055511151231257827…`, which is greater than
/// `Decimal(0.1)`. This is what makes [`Ord`] a total order and [`Hash`] agree
/// with [`Eq`], which every hash map and every incremental operator relies on.
///
/// Every NaN equals every other NaN and is greater than every other number.
/// SurrealDB orders NaN by `f64::total_cmp` and compares floats by their
/// bits: a positive NaN (`NaN`, `math::sqrt(-1)`) is above `+inf` there too,
/// but `0f/0f` makes a negative NaN, which SurrealDB puts below `-inf` and
/// holds unequal to `NaN` (checked against SurrealDB 3.3.5 in
/// `ssp-surreal/tests/order.rs`).
#[derive(Clone, Copy, Debug)]
pub enum Number {
    /// A 64-bit signed integer (`1`, `-7`).
    Int(i64),
    /// A 64-bit IEEE float (`1.5f`, `1e3`).
    Float(f64),
    /// A 128-bit decimal with up to 28 fractional digits (`1.5dec`).
    Decimal(Decimal),
}

/// `2^96`: every decimal is smaller in magnitude.
const TWO_POW_96: f64 = 79_228_162_514_264_337_593_543_950_336.0;
/// `2^63` as a float: the first float above the `i64` range.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

impl Number {
    /// Whether this is a NaN float.
    pub fn is_nan(&self) -> bool {
        matches!(self, Number::Float(f) if f.is_nan())
    }

    /// The value as an `f64`, rounding where the kind is wider.
    pub fn to_f64(&self) -> f64 {
        match *self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
            Number::Decimal(d) => d.to_f64().unwrap_or(f64::NAN),
        }
    }

    /// The value as an `i64` if it is integral and in range.
    pub fn to_i64(&self) -> Option<i64> {
        match *self {
            Number::Int(i) => Some(i),
            Number::Float(f) => float_as_i64(f),
            Number::Decimal(d) => {
                if d.fract().is_zero() {
                    i64::try_from(d).ok()
                } else {
                    None
                }
            }
        }
    }

    /// The float exactly equal to this number, if there is one (`NaN` and the
    /// infinities for floats included). Equal numbers give equal answers, so
    /// this, with [`Number::to_i64`], is a canonical form: an integral value
    /// in `i64` range is an int, else a float if one is exactly equal, else
    /// (only decimals) the normalised decimal.
    #[inline]
    pub fn exact_f64(&self) -> Option<f64> {
        match *self {
            Number::Int(i) => {
                let f = i as f64;
                // `f` is exact when it converts back (2^63 does not fit, but
                // i64::MIN = -2^63 does).
                (f != TWO_POW_63 && f as i64 == i).then_some(f)
            }
            Number::Float(f) => Some(f),
            Number::Decimal(d) => decimal_exact_f64(d),
        }
    }

    /// The canonical form that [`Hash`] uses: equal numbers have equal keys.
    fn hash_key(&self) -> HashKey {
        match *self {
            Number::Int(i) => HashKey::Int(i),
            Number::Float(f) => float_hash_key(f),
            Number::Decimal(d) => {
                if let Some(i) = Number::Decimal(d).to_i64() {
                    return HashKey::Int(i);
                }
                // A decimal that equals a float exactly must hash as that float.
                if let Some(f) = decimal_exact_f64(d) {
                    return float_hash_key(f);
                }
                let d = d.normalize();
                HashKey::Decimal(d.mantissa(), d.scale())
            }
        }
    }
}

/// The float exactly equal to `d`, if any. With `d = m / 10^s` in lowest
/// terms, `d` is a float exactly when `5^s` divides `m` and the odd part of
/// `q = m / 5^s` has at most 53 bits: then `d = q / 2^s`, which a float holds.
fn decimal_exact_f64(d: Decimal) -> Option<f64> {
    let d = d.normalize();
    let (m, s) = (d.mantissa(), d.scale());
    let five = 5i128.checked_pow(s)?;
    if m % five != 0 {
        return None;
    }
    let q = m / five;
    let odd = q.unsigned_abs() >> q.unsigned_abs().trailing_zeros().min(127);
    if odd >= 1u128 << 53 {
        return None;
    }
    // `q` has at most 53 significant bits, so the conversion is exact, and
    // dividing by a power of two is exact for these magnitudes.
    Some(q as f64 / 2f64.powi(s as i32))
}

#[derive(Hash)]
enum HashKey {
    Int(i64),
    Float(u64),
    Decimal(i128, u32),
    NaN,
}

fn float_as_i64(f: f64) -> Option<i64> {
    if f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f) { Some(f as i64) } else { None }
}

fn float_hash_key(f: f64) -> HashKey {
    if f.is_nan() {
        HashKey::NaN
    } else if let Some(i) = float_as_i64(f) {
        HashKey::Int(i)
    } else {
        HashKey::Float(f.to_bits())
    }
}

/// Compares two floats, with `-0.0 == 0.0` and NaN equal to NaN and above all.
pub(crate) fn cmp_float(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // Neither is NaN, so `partial_cmp` is total here.
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Compares an integer with a float exactly.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    let t = f.trunc();
    if t >= TWO_POW_63 {
        return Ordering::Less;
    }
    if t < -TWO_POW_63 {
        return Ordering::Greater;
    }
    // `t` is integral and in range, so the cast is exact.
    match i.cmp(&(t as i64)) {
        Ordering::Equal => cmp_float(0.0, f.fract()),
        other => other,
    }
}

/// Compares a float with a decimal exactly (see [`Number`]).
fn cmp_float_decimal(f: f64, d: Decimal) -> Ordering {
    if f.is_nan() {
        return Ordering::Greater;
    }
    let sign_f = if f > 0.0 {
        1
    } else if f < 0.0 {
        -1
    } else {
        0
    };
    let sign_d = if d.is_zero() {
        0
    } else if d.is_sign_negative() {
        -1
    } else {
        1
    };
    match (sign_f, sign_d) {
        (0, 0) => Ordering::Equal,
        (1, 1) => cmp_positive_float_decimal(f, d),
        (-1, -1) => cmp_positive_float_decimal(-f, -d).reverse(),
        (a, b) => a.cmp(&b),
    }
}

/// Both arguments are strictly positive; `f` may be `+inf`.
fn cmp_positive_float_decimal(f: f64, d: Decimal) -> Ordering {
    if f >= TWO_POW_96 {
        return Ordering::Greater;
    }
    // Integer parts: both fit in a u128 (f < 2^96, |d| < 2^96).
    let int_f = f.trunc() as u128;
    let int_d = d.trunc().to_u128().unwrap_or(0);
    if int_f != int_d {
        return int_f.cmp(&int_d);
    }
    // Fractional parts: `frac_f` is exact (taking the fraction of a float is),
    // `frac_d = n / 10^s` with `n < 10^s` and `s <= 28`.
    let frac_f = f.fract();
    let frac_d = d.fract();
    let n = frac_d.mantissa().unsigned_abs();
    if frac_f == 0.0 {
        return if n == 0 { Ordering::Equal } else { Ordering::Less };
    }
    // frac_f = a / 2^k with `a` odd, `a < 2^53`.
    let bits = frac_f.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i64;
    let frac_bits = bits & ((1u64 << 52) - 1);
    let (mut a, mut k) = if exp_bits == 0 { (frac_bits, 1074i64) } else { (frac_bits | (1u64 << 52), 1075 - exp_bits) };
    let tz = a.trailing_zeros() as i64;
    a >>= tz;
    k -= tz;
    // frac_f * 10^s = a * 5^s / 2^(k - s); compare its floor `q` with `n`.
    let s = frac_d.scale() as i64;
    let num = u128::from(a) * 5u128.pow(s as u32);
    let (q, has_rest) = if s >= k {
        (num << (s - k), false)
    } else {
        let shift = k - s;
        if shift >= 128 { (0, num != 0) } else { (num >> shift, num & ((1u128 << shift) - 1) != 0) }
    };
    match q.cmp(&n) {
        Ordering::Equal if has_rest => Ordering::Greater,
        other => other,
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        match (*self, *other) {
            (Number::Int(a), Number::Int(b)) => a.cmp(&b),
            (Number::Float(a), Number::Float(b)) => cmp_float(a, b),
            (Number::Decimal(a), Number::Decimal(b)) => a.cmp(&b),
            (Number::Int(a), Number::Float(b)) => cmp_int_float(a, b),
            (Number::Float(a), Number::Int(b)) => cmp_int_float(b, a).reverse(),
            (Number::Int(a), Number::Decimal(b)) => Decimal::from(a).cmp(&b),
            (Number::Decimal(a), Number::Int(b)) => a.cmp(&Decimal::from(b)),
            (Number::Float(a), Number::Decimal(b)) => cmp_float_decimal(a, b),
            (Number::Decimal(a), Number::Float(b)) => cmp_float_decimal(b, a).reverse(),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Number {}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hash_key().hash(state);
    }
}

impl fmt::Display for Number {
    /// SurrealQL literal form: `1`, `1.5f`, `1.5dec`, `NaN`, `Infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) if x.is_nan() => f.write_str("NaN"),
            Number::Float(x) if x == f64::INFINITY => f.write_str("Infinity"),
            Number::Float(x) if x == f64::NEG_INFINITY => f.write_str("-Infinity"),
            Number::Float(x) => write!(f, "{x}f"),
            Number::Decimal(d) => write!(f, "{}dec", d.normalize()),
        }
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Number::Int(v)
    }
}

impl From<i32> for Number {
    fn from(v: i32) -> Self {
        Number::Int(v.into())
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Self {
        Number::Float(v)
    }
}

impl From<Decimal> for Number {
    fn from(v: Decimal) -> Self {
        Number::Decimal(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Number {
        Number::Decimal(Decimal::from_str(s).expect("valid decimal"))
    }

    #[test]
    fn float_and_decimal_compare_exactly() {
        // 0.1f is 0.1000000000000000055511151231257827..., just above 0.1dec.
        assert_eq!(Number::Float(0.1).cmp(&dec("0.1")), Ordering::Greater);
        assert_eq!(Number::Float(0.1).cmp(&dec("0.1000000000000000055511151232")), Ordering::Less);
        assert_eq!(Number::Float(0.1).cmp(&dec("0.1000000000000000055511151231")), Ordering::Greater);
        assert_eq!(Number::Float(0.5), dec("0.5"));
        assert_eq!(Number::Float(-2.25), dec("-2.2500"));
        assert_eq!(Number::Float(1e30).cmp(&dec("79228162514264337593543950335")), Ordering::Greater);
        assert_eq!(Number::Float(f64::NEG_INFINITY).cmp(&dec("-1")), Ordering::Less);
        assert_eq!(Number::Float(f64::NAN).cmp(&dec("1")), Ordering::Greater);
    }

    #[test]
    fn int_and_float_compare_exactly_beyond_f64_precision() {
        // 2^53 + 1 is not a float; the nearest float is 2^53.
        let big = (1i64 << 53) + 1;
        assert_eq!(Number::Int(big).cmp(&Number::Float((1u64 << 53) as f64)), Ordering::Greater);
        assert_eq!(Number::Int(i64::MAX).cmp(&Number::Float(TWO_POW_63)), Ordering::Less);
        assert_eq!(Number::Int(i64::MIN), Number::Float(-TWO_POW_63));
    }

    #[test]
    fn equal_numbers_hash_equal_across_kinds() {
        use std::collections::hash_map::DefaultHasher;
        fn h(n: Number) -> u64 {
            let mut s = DefaultHasher::new();
            n.hash(&mut s);
            s.finish()
        }
        assert_eq!(h(Number::Int(3)), h(Number::Float(3.0)));
        assert_eq!(h(Number::Int(3)), h(dec("3.000")));
        assert_eq!(h(Number::Float(0.5)), h(dec("0.5")));
        assert_eq!(h(Number::Float(-0.0)), h(Number::Int(0)));
        assert_eq!(h(Number::Float(f64::NAN)), h(Number::Float(-f64::NAN)));
        // 2^70 is integral but outside i64: the float and the decimal agree.
        assert_eq!(h(Number::Float(2f64.powi(70))), h(dec("1180591620717411303424")));
        // Found in review: rust_decimal's `to_f64` is two ulps off for this
        // value, which equals the float 1015569 / 2^25 exactly.
        let x = 1015569.0 / 2f64.powi(25);
        assert_eq!(Number::Float(x), dec("0.0302663147449493408203125"));
        assert_eq!(h(Number::Float(x)), h(dec("0.0302663147449493408203125")));
        assert_eq!(dec("0.0302663147449493408203125").exact_f64(), Some(x));
        assert_eq!(dec("0.1").exact_f64(), None);
        assert_eq!(Number::Int(i64::MAX).exact_f64(), None);
        assert_eq!(Number::Int(i64::MIN).exact_f64(), Some(-TWO_POW_63));
    }
}
