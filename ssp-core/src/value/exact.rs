//! Exact identity: values equal *and* written alike.
//!
//! [`Value`]'s `==` and `Ord` hold numbers equal across kinds (`1 == 1.0f ==
//! 1dec`), as SurrealDB's comparisons do. Expressions still tell the kinds
//! apart (`1 / 3` and `1dec / 3` differ, `type::is::float` answers), so a
//! collection of rows must not merge two rows that differ only in a
//! number's kind: [`ZSet`](crate::ZSet) tells its elements apart by
//! [`Value::identical`], and ordered state breaks ties by
//! [`Value::cmp_exact`].

use std::cmp::Ordering;

use super::{Number, Object, Value};
use crate::{Element, Record, RecordId};

impl Number {
    /// The rank of this number's kind: int, float, decimal.
    fn kind_rank(&self) -> u8 {
        match self {
            Number::Int(_) => 0,
            Number::Float(_) => 1,
            Number::Decimal(_) => 2,
        }
    }

    /// The order of two equal numbers' forms: by kind (int, float,
    /// decimal), then a negative zero before a positive one. A decimal's
    /// scale is not part of its form (`1.00dec` is written `1dec`).
    fn cmp_form(&self, other: &Number) -> Ordering {
        match (self, other) {
            (Number::Float(a), Number::Float(b)) if !(a.is_nan() && b.is_nan()) => {
                a.is_sign_positive().cmp(&b.is_sign_positive())
            }
            _ => self.kind_rank().cmp(&other.kind_rank()),
        }
    }

    /// Whether two numbers are equal and written alike: of one kind, and
    /// zeros of one sign (`-0.0f` is not `0.0f`).
    #[inline]
    pub fn identical(&self, other: &Number) -> bool {
        self == other && self.cmp_form(other).is_eq()
    }
}

impl Value {
    /// Whether `self` and `other` are equal (`==`) and written alike
    /// throughout: every number of one is of the kind (and, for a zero, the
    /// sign) of the matching number of the other. Record ids are compared
    /// as ids: `t:[1]` and `t:[1.0f]` are one record, as in SurrealDB.
    ///
    /// `identical` implies `==`, so equal hashes too: it refines equality,
    /// as [`Value::cmp_exact`] refines the order.
    ///
    /// ```
    /// use ssp_core::Value;
    /// let int: Value = "{ n: 1 }".parse().unwrap();
    /// let float: Value = "{ n: 1.0f }".parse().unwrap();
    /// assert_eq!(int, float);
    /// assert!(!int.identical(&float));
    /// assert!(int.identical(&int.clone()));
    /// ```
    #[inline]
    pub fn identical(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => a.identical(b),
            (Value::Object(a), Value::Object(b)) => a.identical(b),
            (Value::Array(a), Value::Array(b)) => all_identical(a, b),
            (Value::Set(a), Value::Set(b)) => all_identical(a.as_slice(), b.as_slice()),
            _ => self == other,
        }
    }

    /// [`Value`]'s order, with equal values written differently ordered by
    /// the first number whose form differs: by kind (int, then float, then
    /// decimal), then `-0.0f` before `0.0f`. A total order whose equality is
    /// [`Value::identical`].
    ///
    /// ```
    /// use std::cmp::Ordering;
    /// use ssp_core::Value;
    /// let (int, float): (Value, Value) = ("1".parse().unwrap(), "1.0f".parse().unwrap());
    /// assert_eq!(int.cmp(&float), Ordering::Equal);
    /// assert_eq!(int.cmp_exact(&float), Ordering::Less);
    /// ```
    pub fn cmp_exact(&self, other: &Value) -> Ordering {
        self.cmp(other).then_with(|| cmp_kinds(self, other))
    }
}

impl Element for Value {
    fn same(&self, other: &Self) -> bool {
        self.identical(other)
    }
}

impl Element for Number {
    fn same(&self, other: &Self) -> bool {
        self.identical(other)
    }
}

/// Record ids equal across number kinds (`t:[1]`, `t:[1.0f]`) are one id, as
/// in SurrealDB: a record id is identical to the ids it equals.
impl Element for RecordId {}

impl Element for Record {
    fn same(&self, other: &Self) -> bool {
        self.version == other.version && self.id.same(&other.id) && self.value.identical(&other.value)
    }
}

impl Object {
    /// Whether two objects have the same fields with identical values.
    #[inline]
    fn identical(&self, other: &Object) -> bool {
        Object::ptr_eq(self, other)
            || (self.len() == other.len()
                && !self.known_to_differ(other)
                && self.iter().zip(other.iter()).all(|((a, u), (b, v))| a == b && u.identical(v)))
    }
}

fn all_identical(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(u, v)| u.identical(v))
}

/// The order of the forms of two equal values' numbers: at the first number
/// whose form differs.
fn cmp_kinds(a: &Value, b: &Value) -> Ordering {
    let all = |x: &[Value], y: &[Value]| {
        x.iter().zip(y).map(|(u, v)| cmp_kinds(u, v)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.cmp_form(y),
        (Value::Object(x), Value::Object(y)) if !Object::ptr_eq(x, y) => x
            .iter()
            .zip(y.iter())
            .map(|((_, u), (_, v))| cmp_kinds(u, v))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => all(x, y),
        (Value::Set(x), Value::Set(y)) => all(x.as_slice(), y.as_slice()),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        text.parse().expect("a literal")
    }

    #[test]
    fn kinds_are_told_apart_at_any_depth() {
        let pairs = [
            ("1", "1.0f"),
            ("1", "1dec"),
            ("1.5f", "1.5dec"),
            ("[1, 2]", "[1, 2.0f]"),
            ("{ a: { b: [1] } }", "{ a: { b: [1dec] } }"),
        ];
        for (a, b) in pairs {
            let (a, b) = (v(a), v(b));
            assert_eq!(a, b, "{a} == {b} as values");
            assert!(!a.identical(&b), "{a} and {b} are written differently");
            assert_eq!(a.cmp_exact(&b), Ordering::Less, "{a} before {b}");
            assert_eq!(b.cmp_exact(&a), Ordering::Greater);
        }
        for (a, b) in [("-0.0f", "0.0f"), ("{ a: [-0.0f] }", "{ a: [0.0f] }")] {
            let (a, b) = (v(a), v(b));
            assert_eq!(a, b);
            assert!(!a.identical(&b), "{a} and {b} print differently");
            assert_eq!(a.cmp_exact(&b), Ordering::Less);
        }
        assert!(v("NaN").identical(&v("NaN")));
        assert!(v("1dec").identical(&v("1.00dec")), "a decimal is written without its scale");
        assert!(v("t:[1]").identical(&v("t:[1.0f]")), "one record id, as in SurrealDB");
    }
}
