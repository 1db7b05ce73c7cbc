//! The change-feed and notification decoders on arbitrary input: never a
//! panic, and on feed-shaped input exactly the changes that were encoded.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssp_core::strategies::{record_id, row, value};
use ssp_core::{Object, RecordId, Value};
use ssp_surreal::feed::{RowChange, decode_changes, decode_notification};
use surrealdb::types::Action;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1024,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/feed.txt"))),
        ..ProptestConfig::default()
    }
}

fn obj(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut o = Object::new();
    for (k, v) in fields {
        o.insert(k, v);
    }
    Value::Object(o)
}

/// A change as SurrealDB writes it, with the change it must decode to.
fn change() -> impl Strategy<Value = (Value, RowChange)> {
    (record_id(), row(), 0u8..4).prop_map(|(id, mut content, form)| {
        if let Value::Object(o) = &mut content {
            o.insert("id", Value::from(id.clone()));
        }
        let set = RowChange::Set { id: id.clone(), value: content.clone() };
        match form {
            0 => (obj([("update", content)]), set),
            1 => (obj([("current", content), ("update", Value::Array(Default::default()))]), set),
            2 => (obj([("delete", obj([("id", Value::from(id.clone()))]))]), RowChange::Delete { id }),
            _ => (
                obj([("delete", obj([("id", Value::from(id.clone())), ("original", content)]))]),
                RowChange::Delete { id },
            ),
        }
    })
}

fn page() -> impl Strategy<Value = (Value, Vec<(u64, Vec<RowChange>)>)> {
    prop::collection::vec((1u64..1_000, prop::collection::vec(change(), 0..4)), 0..5).prop_map(|sets| {
        let mut stamp = 0;
        let mut value = Vec::new();
        let mut expected = Vec::new();
        for (step, changes) in sets {
            stamp += step;
            let (encoded, decoded): (Vec<Value>, Vec<RowChange>) = changes.into_iter().unzip();
            value.push(obj([
                ("versionstamp", Value::from(stamp as i64)),
                ("changes", Value::Array(encoded.into_iter().collect())),
            ]));
            expected.push((stamp, decoded));
        }
        (Value::Array(value.into_iter().collect()), expected)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decoders_never_panic_on_any_value(v in value(), action in 0u8..4) {
        let _ = decode_changes(&v);
        let _ = decode_changes(&Value::Array([v.clone()].into_iter().collect()));
        let action = [Action::Create, Action::Update, Action::Delete, Action::Killed][action as usize];
        let _ = decode_notification(action, &v);
    }

    #[test]
    fn feed_pages_decode_to_what_was_encoded((page, expected) in page()) {
        let sets = decode_changes(&page).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<(u64, Vec<RowChange>)> = sets.into_iter().map(|s| (s.versionstamp, s.changes)).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn a_damaged_page_is_an_error_naming_the_place(
        (page, expected) in page(),
        pick in any::<prop::sample::Index>(),
        id in record_id(),
    ) {
        // Strip the id from one change: the error names that change.
        let Value::Array(sets) = &page else { unreachable!("pages are arrays") };
        let places: Vec<(usize, usize)> = expected
            .iter()
            .enumerate()
            .flat_map(|(i, (_, cs))| (0..cs.len()).map(move |j| (i, j)))
            .collect();
        prop_assume!(!places.is_empty());
        let (i, j) = places[pick.index(places.len())];
        let mut sets: Vec<Value> = sets.iter().cloned().collect();
        let Value::Object(set) = &mut sets[i] else { unreachable!("sets are objects") };
        let Some(Value::Array(changes)) = set.get("changes").cloned() else { unreachable!("changes") };
        let mut changes: Vec<Value> = changes.iter().cloned().collect();
        changes[j] = obj([("update", obj([("name", Value::from(id.to_string()))]))]);
        set.insert("changes", Value::Array(changes.into_iter().collect()));
        let err = decode_changes(&Value::Array(sets.into_iter().collect())).expect_err("a change without id");
        prop_assert!(err.path.starts_with(&format!("$[{i}].changes[{j}]")), "{}", err);
        let _: RecordId = id;
    }
}
