//! `Value`'s order and equality pinned against SurrealDB's.
//!
//! Sources of the expected results:
//! - the kind order is the one SurrealDB documents under "Comparing and ordering
//!   values" (surrealdb.com/docs/surrealql/datamodel/values: none < null < bool <
//!   number < string < duration < datetime < uuid < array < set < object <
//!   geometry < bytes < table < record < file < regex < range), which is the
//!   declaration order of `enum Value` in SurrealDB 3.3.5
//!   (`surrealdb-expr/src/val/mod.rs`); the docs' own example list
//!   (`null > none, true > null, 1 > true, 'a' > 999999999, 1m > 'a', …`) is
//!   checked below pair by pair;
//! - number comparison and equality across kinds follow `impl Ord for Number`
//!   and `impl PartialEq for Number` in SurrealDB 3.3.5
//!   (`surrealdb-expr/src/val/number.rs`): `1 = 1.0 = 1dec`, `-0.0 = 0`, ints and
//!   floats compared exactly through `i128`, NaN above `+inf` (`total_cmp`);
//! - record ids order by table then key, keys by kind (number < string < uuid <
//!   array < object), from the derived `Ord` of `RecordId` and `RecordIdKey`.
//!
//! One documented difference: SurrealDB compares a float with a decimal to
//! about sixteen digits (so `0.1f = 0.1dec` there); SSP compares exactly, so
//! `0.1f > 0.1dec`. See `Number`'s docs for why.

use std::cmp::Ordering::{self, Equal, Greater, Less};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use ssp_core::Value;

fn v(text: &str) -> Value {
    text.parse().unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn hash(value: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn check(a: &str, b: &str, expected: Ordering) {
    let (x, y) = (v(a), v(b));
    assert_eq!(x.cmp(&y), expected, "{a} vs {b}");
    assert_eq!(y.cmp(&x), expected.reverse(), "{b} vs {a}");
    assert_eq!(x == y, expected == Equal, "{a} == {b}");
    if expected == Equal {
        assert_eq!(hash(&x), hash(&y), "{a} and {b} are equal, so must hash equal");
    }
}

/// The example list of SurrealDB's docs, restricted to the kinds SSP holds.
#[test]
fn kinds_order_as_surrealdb_documents() {
    let ascending = [
        "NONE",
        "NULL",
        "true",
        "1",
        "'a'",
        "1m",
        "d'2024-07-23T06:36:56Z'",
        "u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'",
        "[9, 10]",
        "{9, 10}",
        "{}",
        "(9.9, 9.9)",
        "b\"41656F6E\"",
        "person:one",
    ];
    for (i, a) in ascending.iter().enumerate() {
        for (j, b) in ascending.iter().enumerate() {
            check(a, b, i.cmp(&j));
        }
    }
    // 'a' > 999999999: any string is above any number.
    check("'a'", "999999999", Greater);
    check("''", "1e300", Greater);
    // false < true, and the least value of a kind is above the greatest of the kind before.
    check("false", "true", Less);
    check("NaN", "''", Less);
    check("[]", "u'ffffffff-ffff-ffff-ffff-ffffffffffff'", Greater);
}

#[test]
fn numbers_compare_by_value_across_kinds() {
    let cases = [
        ("1", "1.0", Equal),
        ("1", "1f", Equal),
        ("1", "1dec", Equal),
        ("1.0", "1.00dec", Equal),
        ("-0.0", "0", Equal),
        ("-0.0", "0dec", Equal),
        ("0.5", "0.5dec", Equal),
        ("1", "1.5", Less),
        ("2", "1.5dec", Greater),
        ("-1", "-0.5", Less),
        ("9007199254740993", "9007199254740992f", Greater), // 2^53 + 1 is exact as an int
        ("9223372036854775807", "9223372036854775808f", Less),
        ("-9223372036854775808", "-9223372036854775808f", Equal),
        ("Infinity", "9223372036854775807", Greater),
        ("-Infinity", "-9223372036854775808", Less),
        ("NaN", "Infinity", Greater),
        ("NaN", "NaN", Equal),
        ("NaN", "79228162514264337593543950335dec", Greater),
        ("1e30", "79228162514264337593543950335dec", Greater),
        // The documented difference: exact, where SurrealDB says equal.
        ("0.1f", "0.1dec", Greater),
        ("0.1f", "0.1000000000000000055511151231257827dec", Greater),
        ("0.1f", "0.1000000000000000055511151232dec", Less),
    ];
    for (a, b, expected) in cases {
        check(a, b, expected);
    }
}

#[test]
fn strings_arrays_and_objects_order_as_surrealdb() {
    let cases = [
        ("'a'", "'b'", Less),
        ("'B'", "'a'", Less), // byte order, not collation
        ("'a'", "'aa'", Less),
        ("'z'", "'á'", Less), // 'á' comes after 'z' by default (SurrealDB's ORDER BY docs)
        ("[1, 2]", "[1, 3]", Less),
        ("[1, 2]", "[1, 2, 0]", Less),
        ("[2]", "[1, 9]", Greater),
        ("[1]", "[1.0]", Equal),
        ("{ a: 1 }", "{ a: 2 }", Less),
        ("{ a: 1 }", "{ b: 0 }", Less),
        ("{ a: 1, b: 1 }", "{ a: 1.0f, b: 1dec }", Equal),
        ("{1, 2}", "{2, 1}", Equal),
        ("{1, 1.0, 1dec}", "{1,}", Equal),
        ("1s", "1000ms", Equal),
        ("1s", "59s", Less),
        ("d'2024-01-01T00:00:00Z'", "d'2024-01-01T01:00:00+02:00'", Greater),
    ];
    for (a, b, expected) in cases {
        check(a, b, expected);
    }
}

#[test]
fn record_ids_order_by_table_then_key_kind_then_key() {
    let ascending =
        ["a:1", "a:9", "a:`1`", "a:x", "a:u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'", "a:[1]", "a:{ x: 1 }", "b:0"];
    for (i, a) in ascending.iter().enumerate() {
        for (j, b) in ascending.iter().enumerate() {
            check(a, b, i.cmp(&j));
        }
    }
}

#[test]
fn geometries_order_by_kind_then_coordinates() {
    let cases = [("(1, 2)", "(1, 3)", Less), ("(2, 0)", "(1, 3)", Greater), ("(0, 0)", "(-0.0, 0)", Equal)];
    for (a, b, expected) in cases {
        check(a, b, expected);
    }
}
