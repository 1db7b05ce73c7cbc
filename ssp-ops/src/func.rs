//! Built-in functions and membership operators of expressions, with
//! SurrealDB's semantics.
//!
//! Where SurrealDB would fail the query (a function given a value of the
//! wrong kind), these give `NONE`: a view never fails on one row.

use ssp_core::{Number, Value};

/// A deterministic built-in function that expressions may call.
///
/// The set is small on purpose: every function here is a pure function of its
/// arguments, so that a view's result depends on the data only. Functions that
/// read the clock, randomness or the session (`time::now`, `rand`, ...) are
/// refused by the planner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Func {
    /// `string::lowercase(s)`.
    StringLowercase,
    /// `string::uppercase(s)`.
    StringUppercase,
    /// `string::len(s)`: the number of characters.
    StringLen,
    /// `string::trim(s)`.
    StringTrim,
    /// `string::starts_with(s, prefix)`.
    StringStartsWith,
    /// `string::ends_with(s, suffix)`.
    StringEndsWith,
    /// `string::contains(s, part)`.
    StringContains,
    /// `array::len(a)`.
    ArrayLen,
    /// `math::abs(n)`.
    MathAbs,
    /// `math::floor(n)`.
    MathFloor,
    /// `math::ceil(n)`.
    MathCeil,
    /// `math::round(n)`: a float's halves away from zero, a decimal's to
    /// the even neighbour (as SurrealDB rounds each).
    MathRound,
    /// `record::tb(id)`: the table of a record id.
    RecordTb,
}

impl Func {
    /// Every function, for documentation and tests.
    pub const ALL: [Func; 13] = [
        Func::StringLowercase,
        Func::StringUppercase,
        Func::StringLen,
        Func::StringTrim,
        Func::StringStartsWith,
        Func::StringEndsWith,
        Func::StringContains,
        Func::ArrayLen,
        Func::MathAbs,
        Func::MathFloor,
        Func::MathCeil,
        Func::MathRound,
        Func::RecordTb,
    ];

    /// The function's SurrealQL name.
    pub fn name(self) -> &'static str {
        match self {
            Func::StringLowercase => "string::lowercase",
            Func::StringUppercase => "string::uppercase",
            Func::StringLen => "string::len",
            Func::StringTrim => "string::trim",
            Func::StringStartsWith => "string::starts_with",
            Func::StringEndsWith => "string::ends_with",
            Func::StringContains => "string::contains",
            Func::ArrayLen => "array::len",
            Func::MathAbs => "math::abs",
            Func::MathFloor => "math::floor",
            Func::MathCeil => "math::ceil",
            Func::MathRound => "math::round",
            Func::RecordTb => "record::tb",
        }
    }

    /// The function of a SurrealQL name (case-insensitive), if it is one of these.
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// How many arguments the function takes.
    pub fn arity(self) -> usize {
        match self {
            Func::StringStartsWith | Func::StringEndsWith | Func::StringContains => 2,
            _ => 1,
        }
    }

    /// Applies the function; `NONE` for arguments of the wrong number or kind.
    pub fn apply(self, args: &[Value]) -> Value {
        if args.len() != self.arity() {
            return Value::None;
        }
        match (self, args) {
            (Func::StringLowercase, [Value::String(s)]) => Value::String(s.to_lowercase().into()),
            (Func::StringUppercase, [Value::String(s)]) => Value::String(s.to_uppercase().into()),
            (Func::StringLen, [Value::String(s)]) => Value::from(s.chars().count() as i64),
            (Func::StringTrim, [Value::String(s)]) => Value::String(s.trim().into()),
            (Func::StringStartsWith, [Value::String(s), Value::String(p)]) => Value::Bool(s.starts_with(p.as_str())),
            (Func::StringEndsWith, [Value::String(s), Value::String(p)]) => Value::Bool(s.ends_with(p.as_str())),
            (Func::StringContains, [Value::String(s), Value::String(p)]) => Value::Bool(s.contains(p.as_str())),
            (Func::ArrayLen, [Value::Array(a)]) => Value::from(a.len() as i64),
            (Func::RecordTb, [Value::RecordId(id)]) => Value::from(id.table()),
            (Func::MathAbs, [Value::Number(n)]) => match *n {
                Number::Int(i) => i.checked_abs().map_or(Value::None, Value::from),
                Number::Float(f) => Value::from(f.abs()),
                Number::Decimal(d) => Value::from(d.abs()),
            },
            (Func::MathFloor | Func::MathCeil | Func::MathRound, [Value::Number(n)]) => match *n {
                Number::Int(i) => Value::from(i),
                Number::Float(f) => Value::from(match self {
                    Func::MathFloor => f.floor(),
                    Func::MathCeil => f.ceil(),
                    _ => f.round(),
                }),
                Number::Decimal(d) => Value::from(match self {
                    Func::MathFloor => d.floor(),
                    Func::MathCeil => d.ceil(),
                    _ => d.round(),
                }),
            },
            _ => Value::None,
        }
    }
}

/// A membership operator, as SurrealDB defines it: `a CONTAINS b` holds when
/// the array (or set) `a` has an element equal to `b`, the string `a` has the
/// substring `b`, or the object `a` has the key `b`; `a INSIDE b` is `b
/// CONTAINS a`; the `ALL`/`ANY`/`NONE` forms take an array of values on the
/// other side (for strings, substrings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberOp {
    /// `CONTAINS`.
    Contains,
    /// `CONTAINSNOT`.
    ContainsNot,
    /// `CONTAINSALL`.
    ContainsAll,
    /// `CONTAINSANY`.
    ContainsAny,
    /// `CONTAINSNONE`.
    ContainsNone,
    /// `INSIDE` / `IN`.
    Inside,
    /// `NOTINSIDE` / `NOT IN`.
    NotInside,
    /// `ALLINSIDE`.
    AllInside,
    /// `ANYINSIDE`.
    AnyInside,
    /// `NONEINSIDE`.
    NoneInside,
}

impl MemberOp {
    /// The operator as SurrealQL writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            MemberOp::Contains => "CONTAINS",
            MemberOp::ContainsNot => "CONTAINSNOT",
            MemberOp::ContainsAll => "CONTAINSALL",
            MemberOp::ContainsAny => "CONTAINSANY",
            MemberOp::ContainsNone => "CONTAINSNONE",
            MemberOp::Inside => "INSIDE",
            MemberOp::NotInside => "NOTINSIDE",
            MemberOp::AllInside => "ALLINSIDE",
            MemberOp::AnyInside => "ANYINSIDE",
            MemberOp::NoneInside => "NONEINSIDE",
        }
    }

    /// Applies the test to `a <op> b`.
    pub fn test(self, a: &Value, b: &Value) -> bool {
        match self {
            MemberOp::Contains => contains(a, b),
            MemberOp::ContainsNot => !contains(a, b),
            MemberOp::ContainsAll => contains_all(a, b),
            MemberOp::ContainsAny => contains_any(a, b),
            MemberOp::ContainsNone => !contains_any(a, b),
            MemberOp::Inside => contains(b, a),
            MemberOp::NotInside => !contains(b, a),
            MemberOp::AllInside => contains_all(b, a),
            MemberOp::AnyInside => contains_any(b, a),
            MemberOp::NoneInside => !contains_any(b, a),
        }
    }
}

/// `a CONTAINS b`.
fn contains(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(items), _) => items.iter().any(|v| v == b),
        (Value::Set(items), _) => items.contains(b),
        (Value::String(s), Value::String(part)) => s.contains(part.as_str()),
        (Value::Uuid(u), Value::String(part)) => u.to_string().contains(part.as_str()),
        (Value::Object(o), Value::String(key)) => o.get(key).is_some(),
        _ => false,
    }
}

/// The elements of an array or set; `None` for other values.
fn elements(v: &Value) -> Option<Box<dyn Iterator<Item = &Value> + '_>> {
    match v {
        Value::Array(items) => Some(Box::new(items.iter())),
        Value::Set(items) => Some(Box::new(items.iter())),
        _ => None,
    }
}

/// Whether `part` is found in `whole` the way the `ALL`/`ANY` forms look:
/// a substring of a string, an element of an array or set.
fn has_part(whole: &Value, part: &Value) -> bool {
    match (whole, part) {
        (Value::String(s), Value::String(p)) => s.contains(p.as_str()),
        (Value::String(_), _) => false,
        (Value::Array(_) | Value::Set(_), _) => elements(whole).is_some_and(|mut it| it.any(|w| w == part)),
        _ => false,
    }
}

/// `a CONTAINSALL b`.
fn contains_all(a: &Value, b: &Value) -> bool {
    match (elements(b), b) {
        (Some(mut parts), _) => parts.all(|p| has_part(a, p)),
        (None, Value::String(p)) => matches!(a, Value::String(s) if s.contains(p.as_str())),
        _ => false,
    }
}

/// `a CONTAINSANY b`.
fn contains_any(a: &Value, b: &Value) -> bool {
    match (elements(b), b) {
        (Some(mut parts), _) => parts.any(|p| has_part(a, p)),
        (None, Value::String(p)) => matches!(a, Value::String(s) if s.contains(p.as_str())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        s.parse().expect("a value literal")
    }

    #[test]
    fn functions_follow_surrealdb() {
        assert_eq!(Func::StringLowercase.apply(&[v("'AbC'")]), v("'abc'"));
        assert_eq!(Func::StringLen.apply(&[v("'héllo'")]), v("5"));
        assert_eq!(Func::ArrayLen.apply(&[v("[1, 2, 3]")]), v("3"));
        assert_eq!(Func::RecordTb.apply(&[v("post:7")]), v("'post'"));
        assert_eq!(Func::RecordTb.apply(&[v("'post:7'")]), Value::None);
        assert_eq!(Func::MathAbs.apply(&[v("-3")]), v("3"));
        assert_eq!(Func::MathAbs.apply(&[Value::from(i64::MIN)]), Value::None);
        assert_eq!(Func::MathRound.apply(&[v("2.5f")]), v("3f"));
        assert_eq!(Func::MathRound.apply(&[v("-2.5dec")]), v("-2dec"));
        assert_eq!(Func::MathRound.apply(&[v("-3.5dec")]), v("-4dec"));
        assert_eq!(Func::MathFloor.apply(&[v("7")]), v("7"));
        assert_eq!(Func::StringStartsWith.apply(&[v("'abc'"), v("'ab'")]), Value::Bool(true));
        // The wrong kind or number of arguments is NONE, never a panic.
        assert_eq!(Func::StringLen.apply(&[v("3")]), Value::None);
        assert_eq!(Func::StringLen.apply(&[]), Value::None);
        for f in Func::ALL {
            assert_eq!(Func::from_name(&f.name().to_uppercase()), Some(f));
        }
        assert_eq!(Func::from_name("time::now"), None);
    }

    #[test]
    fn membership_follows_surrealdb() {
        assert!(MemberOp::Contains.test(&v("[1, 2]"), &v("2")));
        assert!(MemberOp::Contains.test(&v("[1, 2]"), &v("2f")), "numbers compare across kinds");
        assert!(MemberOp::Contains.test(&v("'hello'"), &v("'ell'")));
        assert!(MemberOp::Contains.test(&v("{ a: 1 }"), &v("'a'")));
        assert!(!MemberOp::Contains.test(&v("3"), &v("3")));
        assert!(MemberOp::Inside.test(&v("'b'"), &v("['a', 'b']")));
        assert!(MemberOp::NotInside.test(&v("'c'"), &v("['a', 'b']")));
        assert!(MemberOp::ContainsAll.test(&v("[1, 2, 3]"), &v("[1, 3]")));
        assert!(!MemberOp::ContainsAll.test(&v("[1, 2, 3]"), &v("[1, 4]")));
        assert!(MemberOp::ContainsAny.test(&v("[1, 2, 3]"), &v("[4, 3]")));
        assert!(MemberOp::ContainsNone.test(&v("[1, 2, 3]"), &v("[4, 5]")));
        assert!(MemberOp::ContainsAll.test(&v("'hello world'"), &v("['hello', 'world']")));
        assert!(MemberOp::AllInside.test(&v("[1, 3]"), &v("[1, 2, 3]")));
        assert!(MemberOp::AnyInside.test(&v("[9, 3]"), &v("[1, 2, 3]")));
        assert!(MemberOp::NoneInside.test(&v("[9]"), &v("[1, 2, 3]")));
    }
}
