//! The algebraic laws of `ssp-core`, checked with proptest on the public
//! strategies (so the strategies are exercised as users will use them).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssp_core::strategies::{self, change_stream, record_id, value, zset};
use ssp_core::{
    ChangeBatch, Delay, Number, Record, RecordId, Value, ZSet, ZWeight, consolidate, differentiate, integrate,
};

fn hash<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

fn small_zset() -> impl Strategy<Value = ZSet<Value>> {
    zset(strategies::scalar(), 8)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        // Failing seeds are committed under `ssp-core/proptest-regressions/`.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/laws.txt"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    // Z-sets form an abelian group under +.
    #[test]
    fn zset_addition_is_associative(a in small_zset(), b in small_zset(), c in small_zset()) {
        prop_assert_eq!(&(&a + &b) + &c, &a + &(&b + &c));
    }

    #[test]
    fn zset_addition_is_commutative(a in small_zset(), b in small_zset()) {
        prop_assert_eq!(&a + &b, &b + &a);
    }

    #[test]
    fn zset_zero_is_neutral_and_negation_is_inverse(a in small_zset()) {
        prop_assert_eq!(&a + &ZSet::new(), a.clone());
        prop_assert_eq!(&a + &(-a.clone()), ZSet::new());
        prop_assert_eq!(&a - &a, ZSet::new());
        prop_assert_eq!(-(-a.clone()), a);
    }

    #[test]
    fn zset_scaling_distributes_over_addition(a in small_zset(), b in small_zset(), k in -3i64..=3) {
        let mut lhs = &a + &b;
        lhs.scale(k);
        let (mut ka, mut kb) = (a, b);
        ka.scale(k);
        kb.scale(k);
        prop_assert_eq!(lhs, &ka + &kb);
    }

    // Consolidation: zero weights vanish, consolidating twice changes nothing,
    // and consolidation is a homomorphism from update lists to Z-sets.
    #[test]
    fn consolidation_is_idempotent(updates in prop::collection::vec((strategies::scalar(), -2i64..=2), 0..16)) {
        let z: ZSet<Value> = updates.iter().cloned().collect();
        prop_assert!(z.iter().all(|(_, w)| w != 0));
        let again: ZSet<Value> = z.iter().map(|(k, w)| (k.clone(), w)).collect();
        prop_assert_eq!(&again, &z);

        let mut list = updates.clone();
        consolidate(&mut list);
        let mut twice = list.clone();
        consolidate(&mut twice);
        prop_assert_eq!(&twice, &list);
        prop_assert!(list.windows(2).all(|w| w[0].0 <= w[1].0), "sorted");
        prop_assert!(
            list.iter().enumerate().all(|(i, (a, _))| list[i + 1..].iter().all(|(b, _)| !a.identical(b))),
            "merged"
        );
        prop_assert_eq!(list.into_iter().collect::<ZSet<Value>>(), z);
    }

    #[test]
    fn consolidation_is_a_homomorphism(
        u in prop::collection::vec((strategies::scalar(), -2i64..=2), 0..12),
        v in prop::collection::vec((strategies::scalar(), -2i64..=2), 0..12),
    ) {
        let zu: ZSet<Value> = u.iter().cloned().collect();
        let zv: ZSet<Value> = v.iter().cloned().collect();
        let zuv: ZSet<Value> = u.into_iter().chain(v).collect();
        prop_assert_eq!(zuv, &zu + &zv);
    }

    // Value's Ord, Eq and Hash agree: Ord is a total order, Eq is Ord's
    // equality, and equal values hash equal.
    #[test]
    fn value_ord_eq_and_hash_agree(a in value(), b in value(), c in value()) {
        prop_assert_eq!(a == b, a.cmp(&b).is_eq());
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.partial_cmp(&b), Some(a.cmp(&b)));
        if a == b {
            prop_assert_eq!(hash(&a), hash(&b));
        }
        if a <= b && b <= c {
            prop_assert!(a <= c, "transitivity: {a} <= {b} <= {c}");
        }
        prop_assert_eq!(a.clone(), a);
    }

    // Numbers are where equal values of different kinds meet; draw many.
    #[test]
    fn number_ord_eq_and_hash_agree(a in strategies::number(), b in strategies::number(), c in strategies::number()) {
        prop_assert_eq!(a == b, a.cmp(&b).is_eq());
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        if a == b {
            prop_assert_eq!(hash(&a), hash(&b));
        }
        if a <= b && b <= c {
            prop_assert!(a <= c, "transitivity: {a} <= {b} <= {c}");
        }
        if a == b && b == c {
            prop_assert!(a == c);
        }
    }

    // Serde (the tagged encoding, through JSON) round-trips every kind exactly,
    // and keeps the kind: an int stays an int, a decimal keeps its scale.
    #[test]
    fn value_serde_round_trips(a in value()) {
        let json = serde_json::to_string(&a).expect("every value serializes");
        let back: Value = serde_json::from_str(&json).expect("and deserializes");
        prop_assert_eq!(&back, &a);
        prop_assert_eq!(back.to_string(), a.to_string(), "same kind and text, via {}", json);
    }

    // Record ids print as SurrealDB writes them and parse back.
    #[test]
    fn record_id_text_round_trips(id in record_id()) {
        let text = id.to_string();
        let back: RecordId = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&back, &id);
        prop_assert_eq!(back.to_string(), text.clone());
        let as_value: Value = id.to_string().parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(as_value, Value::from(id));
    }

    #[test]
    fn record_id_serde_round_trips(id in record_id()) {
        let json = serde_json::to_string(&id).expect("serializes");
        prop_assert_eq!(serde_json::from_str::<RecordId>(&json).expect("deserializes"), id);
    }

    // D∘I = I∘D = id over streams of Z-sets.
    #[test]
    fn differentiate_inverts_integrate(stream in prop::collection::vec(small_zset(), 0..8)) {
        let di: Vec<_> = differentiate(integrate(stream.clone())).collect();
        prop_assert_eq!(&di, &stream);
        let id: Vec<_> = integrate(differentiate(stream.clone())).collect();
        prop_assert_eq!(&id, &stream);
    }

    #[test]
    fn delay_shifts_by_one(stream in prop::collection::vec(-5i64..5, 0..8)) {
        let mut z = Delay::new();
        let out: Vec<i64> = stream.iter().map(|&x| z.step(x)).collect();
        let mut expected = vec![0];
        expected.extend(stream.iter().copied());
        expected.truncate(stream.len());
        prop_assert_eq!(out, expected);
    }

    // Change streams are well formed: every batch integrates to a table in
    // which each id has exactly one state, with weight 1.
    #[test]
    fn change_streams_integrate_to_tables(stream in change_stream("t")) {
        let mut table: ZSet<Record> = ZSet::new();
        for batch in &stream {
            prop_assert_eq!(batch.table(), "t");
            table += &batch.to_zset();
            prop_assert!(table.is_set(), "weights stay 1: {:?}", table);
            let mut ids: Vec<&RecordId> = table.keys().map(|r| &r.id).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), n, "one state per id");
        }
    }
}

#[test]
fn change_batch_rejects_records_of_other_tables() {
    let mut batch = ChangeBatch::new("issue", ssp_core::Version(1));
    let record = Record::new(RecordId::new("user", 1), ssp_core::Version(1), Value::Null);
    let err = batch.insert(record).unwrap_err();
    assert_eq!(err.to_string(), "record user:1 does not belong to table `issue` of this batch");
    assert!(batch.is_empty());
}

#[test]
fn weights_wrap_instead_of_panicking() {
    let mut z = ZSet::new();
    z.update("a", ZWeight::MAX);
    z.update("a", 1);
    assert_eq!(z.weight("a"), ZWeight::MIN);
    z.update("a", ZWeight::MIN);
    assert!(z.is_empty(), "MIN + MIN wraps to zero and vanishes");
}

/// `v` with some of its numbers in another kind where that kind holds
/// them exactly (`bits` picks which, and which kind).
fn rekind(v: &Value, bits: &mut u64) -> Value {
    let mut next = || {
        *bits = bits.rotate_left(3) ^ 0x9e37_79b9_7f4a_7c15;
        *bits % 3
    };
    match v {
        Value::Number(n) => {
            let as_decimal = match *n {
                Number::Int(i) => Some(ssp_core::Decimal::from(i)),
                Number::Float(f) => ssp_core::Decimal::try_from(f).ok().filter(|d| Number::Decimal(*d) == *n),
                Number::Decimal(d) => Some(d),
            };
            let turned = match next() {
                0 => n.exact_f64().map(Number::Float),
                1 => as_decimal.map(Number::Decimal),
                _ => n.to_i64().map(Number::Int),
            };
            Value::Number(turned.unwrap_or(*n))
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| rekind(x, bits)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k, rekind(x, bits))).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn a_value_in_other_kinds_is_equal_and_identical_only_in_its_own(a in value(), mut bits in any::<u64>()) {
        let b = rekind(&a, &mut bits);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.identical(&b), a.to_string() == b.to_string(), "{} vs {}", a, b);
        prop_assert_eq!(a.cmp_exact(&b).is_eq(), a.identical(&b));
        prop_assert_eq!(b.cmp_exact(&a), a.cmp_exact(&b).reverse());
        // A Z-set keeps them apart unless they are identical.
        let z: ZSet<Value> = [(a.clone(), 1), (b.clone(), -1)].into_iter().collect();
        prop_assert_eq!(z.is_empty(), a.identical(&b));
        prop_assert_eq!(z.get_equal(&b).map(|(_, w)| w), Some(if a.identical(&b) { 0 } else { -1 }).filter(|w| *w != 0));
    }

    #[test]
    fn exact_order_refines_the_order_and_agrees_with_identical(a in value(), b in value()) {
        let exact = a.cmp_exact(&b);
        if a.cmp(&b).is_ne() {
            prop_assert_eq!(exact, a.cmp(&b));
        }
        prop_assert_eq!(exact.is_eq(), a.identical(&b));
        prop_assert_eq!(b.cmp_exact(&a), exact.reverse());
        prop_assert!(a.identical(&a.clone()));
        if a.identical(&b) {
            prop_assert_eq!(&a, &b);
        }
    }
}

/// The value at `path` in `root`, walked without the path's memory of where
/// it found its fields.
fn walk<'v>(root: &'v Value, path: &ssp_core::FieldPath) -> Option<&'v Value> {
    use ssp_core::PathPart;
    path.parts().iter().try_fold(root, |v, part| match (part, v) {
        (PathPart::Field(name), Value::Object(o)) => o.get(name),
        (PathPart::Index(i), Value::Array(a)) => a.get(*i),
        (PathPart::Index(i), Value::Set(s)) => s.get(*i),
        _ => None,
    })
}

proptest! {
    #![proptest_config(config())]
    // A path remembers where it found its fields; read through values of
    // other shapes (fields before or after, missing, other kinds) it still
    // finds exactly what a plain walk finds, whatever it remembers.
    #[test]
    fn a_path_read_through_values_of_many_shapes_finds_what_a_walk_finds(
        values in prop::collection::vec(value(), 1..12),
        path in "[a-d](\\.[a-d]|\\[[0-2]\\]){0,6}",
        rounds in 1..3usize,
    ) {
        let path: ssp_core::FieldPath = path.parse().expect("a path");
        for _ in 0..rounds {
            for v in &values {
                prop_assert_eq!(v.get(&path), walk(v, &path), "{} in {}", path, v);
                // Its clone remembers the same, and reads the same.
                prop_assert_eq!(v.get(&path.clone()), walk(v, &path));
            }
        }
    }
}

// A path of more parts than it remembers positions for (four) reads the
// later parts by name.
#[test]
fn a_deep_path_reads_its_later_parts_by_name() {
    let v: Value = "{ a: { b: [{ c: { d: { e: 1, f: 2 } } }] } }".parse().expect("a literal");
    for (path, expected) in [("a.b[0].c.d.e", Some(1)), ("a.b[0].c.d.f", Some(2)), ("a.b[0].c.d.g", None)] {
        let path: ssp_core::FieldPath = path.parse().expect("a path");
        for _ in 0..2 {
            assert_eq!(v.get(&path), expected.map(Value::from).as_ref(), "{path}");
        }
    }
}
