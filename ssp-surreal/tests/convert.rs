//! Values cross between SurrealDB (the real embedded engine) and SSP without
//! loss, and what SSP cannot hold is refused with where it was.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssp_core::Value;
use ssp_surreal::{ConvertError, from_surreal, to_surreal};
use surrealdb::Surreal;
use surrealdb::engine::local::{Db, Mem};
use surrealdb::types as sdb;

async fn db() -> Surreal<Db> {
    let db = Surreal::new::<Mem>(()).await.expect("an in-memory engine");
    db.use_ns("ssp").use_db("test").await.expect("a namespace and database");
    db
}

/// The value SurrealDB makes of `expr`.
async fn eval(db: &Surreal<Db>, expr: &str) -> sdb::Value {
    let mut res = db.query(format!("RETURN {expr}")).await.expect("a query");
    res.take::<sdb::Value>(0).unwrap_or_else(|e| panic!("RETURN {expr}: {e}"))
}

/// `v`, stored in a record by SurrealDB and read back.
async fn stored(db: &Surreal<Db>, v: sdb::Value) -> sdb::Value {
    let mut res =
        db.query("DELETE rt; CREATE rt:1 SET v = $v; SELECT VALUE v FROM rt:1").bind(("v", v)).await.expect("a query");
    let mut rows: Vec<sdb::Value> = res.take(2).expect("the stored value");
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

/// Literals of every kind a record holds, in SurrealQL: SurrealDB's reading
/// of each, converted, equals SSP's reading of the same text, and storing
/// SSP's value through SurrealDB gives it back unchanged.
#[tokio::test]
async fn every_stored_kind_crosses_both_ways() {
    let db = db().await;
    for literal in [
        "NONE",
        "NULL",
        "true",
        "-17",
        "9223372036854775807",
        "1.5f",
        "-0.25f",
        "1.50dec",
        "12345678901234567890.123dec",
        "'héllo wörld'",
        "''",
        "1h30m15s",
        "1w2d",
        "d'2024-02-29T12:34:56.789Z'",
        "u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'",
        "(1.5, -2.25)",
        "person:tobie",
        "person:42",
        "person:u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'",
        "temp:[1, 'a', true]",
        "temp:{ a: 1, b: 'x' }",
        "[1, 'two', [3.0f, NULL], { four: 4 }]",
        "{ a: 1, nested: { b: [person:1, d'2020-01-01T00:00:00Z'] } }",
        "{ type: 'Polygon', coordinates: [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]] }",
        "{ type: 'MultiPoint', coordinates: [[0.0, 0.0], [2.0, 3.0]] }",
        "{ type: 'LineString', coordinates: [[0.0, 0.0], [2.0, 3.0]] }",
    ] {
        let theirs = eval(&db, literal).await;
        let ours: Value = literal.parse().unwrap_or_else(|e| panic!("{literal}: {e}"));
        let converted = from_surreal(theirs.clone()).unwrap_or_else(|e| panic!("{literal}: {e}"));
        assert_eq!(converted, ours, "{literal}: SurrealDB read {theirs:?}");
        // Kinds are kept exactly, not only equal values (1 == 1.0f in SSP).
        assert_eq!(converted.to_string(), ours.to_string(), "{literal}");
        if !matches!(ours, Value::None) {
            let back = from_surreal(stored(&db, to_surreal(&ours)).await).expect("a stored value converts");
            assert_eq!(back.to_string(), ours.to_string(), "{literal} stored and read back");
        }
    }
}

#[tokio::test]
async fn what_ssp_cannot_hold_is_refused_with_its_place() {
    let db = db().await;
    for (expr, kind, path) in [
        ("type::table('person')", "table", "$"),
        ("1..3", "range", "$"),
        ("{ a: [1, <regex> 'a.*'] }", "regex", "$.a[1]"),
        ("[person:1..3]", "record id range", "$[0]"),
    ] {
        let v = eval(&db, expr).await;
        assert_eq!(from_surreal(v), Err(ConvertError { kind, path: path.into() }), "{expr}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/convert.txt"))),
        ..ProptestConfig::default()
    })]

    /// SSP -> SurrealDB -> SSP is the identity, kinds included.
    #[test]
    fn ssp_values_round_trip(v in ssp_core::strategies::value()) {
        let back = from_surreal(to_surreal(&v)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.to_string(), v.to_string());
        prop_assert_eq!(back, v);
    }
}
