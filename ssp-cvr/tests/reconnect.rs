//! The reconnection diff and the state hash against their oracles, with
//! proptest: random view histories, random disconnect points, random ids of
//! every key kind.
//!
//! The oracle of a reconnection is the view's state itself: applying the diff
//! to what the client held must give exactly that state, and the diff must
//! hold nothing the client already has.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssp_core::strategies;
use ssp_core::{Array, Number, Record, RecordId, RecordKey, Value, Version};
use ssp_cvr::{Cvr, StateHash, Timestamp, ViewDiff, ViewState};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        // Failing seeds are committed under `ssp-cvr/proptest-regressions/`.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/reconnect.txt"))),
        ..ProptestConfig::default()
    }
}

/// Ids that a view holds: mostly `issue:n` (so histories revisit them), and
/// ids of every key kind.
fn id_pool() -> impl Strategy<Value = Vec<RecordId>> {
    let id = prop_oneof![
        4 => (0i64..16).prop_map(|k| RecordId::new("issue", k)),
        1 => strategies::record_id(),
        1 => (strategies::table(), prop::collection::vec(strategies::number(), 0..3))
            .prop_map(|(t, n)| RecordId::new(t, RecordKey::Array(n.into_iter().map(Value::Number).collect()))),
    ];
    prop::collection::vec(id, 1..24).prop_map(|ids| {
        let mut seen = HashSet::new();
        ids.into_iter().filter(|id| seen.insert(id.clone())).collect()
    })
}

#[derive(Clone, Debug)]
enum Op {
    /// Insert or update a record (its version grows).
    Write(usize),
    /// Delete a record (if the view holds it).
    Delete(usize),
    /// Re-create a record at version 1 (a version that is not newer).
    Reset(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<usize>().prop_map(Op::Write),
        3 => any::<usize>().prop_map(Op::Delete),
        1 => any::<usize>().prop_map(Op::Reset),
    ]
}

/// A view's history: the diffs of consecutive versions, consistent with the
/// state each applies to.
fn history() -> impl Strategy<Value = Vec<ViewDiff>> {
    (id_pool(), prop::collection::vec((prop::collection::vec(op(), 0..8), 1u64..3), 0..14)).prop_map(|(pool, steps)| {
        let mut state = ViewState::new();
        let mut versions = vec![0u64; pool.len()];
        let mut version = 0;
        let mut out = Vec::new();
        for (ops, gap) in steps {
            version += gap;
            let mut diff = ViewDiff::new("v", Version(version));
            let mut touched = HashSet::new();
            for op in ops {
                let (Op::Write(i) | Op::Delete(i) | Op::Reset(i)) = op;
                let i = i % pool.len();
                if !touched.insert(i) {
                    continue;
                }
                let id = pool[i].clone();
                match op {
                    Op::Write(_) => {
                        versions[i] += 1;
                        diff.upsert(Record::new(id, Version(versions[i]), Value::from(versions[i] as i64)));
                    }
                    Op::Delete(_) if state.contains(&id) => {
                        diff.remove(id);
                    }
                    Op::Delete(_) => {}
                    Op::Reset(_) => {
                        versions[i] = 1;
                        diff.upsert(Record::new(id, Version(1), Value::Null));
                    }
                }
            }
            state.apply(&diff).expect("the history is consistent");
            out.push(diff);
        }
        out
    })
}

fn state_after(history: &[ViewDiff]) -> ViewState {
    let mut state = ViewState::new();
    for diff in history {
        state.apply(diff).expect("the history is consistent");
    }
    state
}

proptest! {
    #![proptest_config(config())]

    // The acceptance property of the reconnection diff: for any history and
    // any disconnect point, the diff brings the client exactly to the view's
    // current state, and holds nothing the client already has.
    #[test]
    fn reconnection_diff_brings_the_client_exactly_to_the_view_and_is_minimal(
        history in history(),
        disconnect in any::<prop::sample::Index>(),
    ) {
        let d = disconnect.index(history.len() + 1);
        let mut cvr = Cvr::from_state("alice", "v", state_after(&history[..d]), Timestamp(0));
        let current = state_after(&history);

        let diff = cvr.reconnect(&current).unwrap();
        prop_assert_eq!(diff.from_version, cvr.version());
        prop_assert_eq!(diff.to_version, current.version());

        // Minimal: each upsert is a record the view holds at a version the
        // client does not hold; each removal an id the client holds and the
        // view does not; no id twice.
        let mut ids = HashSet::new();
        for (id, version) in &diff.upserts {
            prop_assert_eq!(current.get(id), Some(*version), "upsert of {} not at the view's version", id);
            prop_assert_ne!(cvr.get(id), Some(*version), "upsert of {} that the client has", id);
            prop_assert!(ids.insert(id.clone()));
        }
        for id in &diff.removed {
            prop_assert!(cvr.get(id).is_some() && !current.contains(id), "needless removal of {}", id);
            prop_assert!(ids.insert(id.clone()));
        }
        // The fast path is taken exactly when the states agree.
        prop_assert_eq!(diff.fast_path, cvr.state_hash() == current.state_hash() && cvr.len() == current.len());
        if d == history.len() {
            prop_assert!(diff.fast_path && diff.is_empty());
        }

        // Exact: applying it gives the view's state, hash and version included.
        let view_diff = diff.into_view_diff(|_, v| Some(Value::from(v.0 as i64))).unwrap();
        cvr.apply(&view_diff).unwrap();
        prop_assert_eq!(cvr.state(), &current);
        prop_assert_eq!(cvr.state_hash(), StateHash::from_pairs(current.iter()));
    }

    // The hash that a state keeps up to date incrementally is, after every
    // step, the hash of its pairs computed from scratch (in any order).
    #[test]
    fn incremental_state_hash_equals_the_hash_from_scratch(history in history()) {
        let mut state = ViewState::new();
        for diff in &history {
            state.apply(diff).unwrap();
            let mut pairs: Vec<(&RecordId, Version)> = state.iter().collect();
            prop_assert_eq!(state.state_hash(), StateHash::from_pairs(pairs.iter().copied()));
            pairs.reverse();
            prop_assert_eq!(state.state_hash(), StateHash::from_pairs(pairs));
        }
        if state.is_empty() {
            prop_assert_eq!(state.state_hash(), StateHash::EMPTY);
        }
    }

    // Equal ids are one record wherever they are compared, so they must hash
    // the same: numbers of every kind collide often in these keys.
    #[test]
    fn equal_ids_hash_the_same(
        a in prop::collection::vec(strategies::value(), 0..3),
        b in prop::collection::vec(strategies::value(), 0..3),
        numbers in prop::collection::vec((strategies::number(), strategies::number()), 0..3),
    ) {
        let id = |values: Vec<Value>| RecordId::new("t", RecordKey::Array(Array::from(values)));
        let (x, y) = (id(a.clone()), id(b.clone()));
        if x == y {
            prop_assert_eq!(StateHash::of(&x, Version(1)), StateHash::of(&y, Version(1)));
        }
        prop_assert_eq!(StateHash::of(&x, Version(1)), StateHash::of(&x.clone(), Version(1)));
        let (left, right): (Vec<Number>, Vec<Number>) = numbers.into_iter().unzip();
        let (l, r) = (id(left.into_iter().map(Value::Number).collect()), id(right.into_iter().map(Value::Number).collect()));
        if l == r {
            prop_assert_eq!(StateHash::of(&l, Version(2)), StateHash::of(&r, Version(2)));
        }
    }

    // The stored form of a record id is exact, for every key kind and any
    // value inside array and object keys.
    #[test]
    fn stored_record_ids_round_trip_exactly(
        id in prop_oneof![
            strategies::record_id(),
            prop::collection::vec(strategies::value(), 0..4).prop_map(|v| RecordId::new("t", RecordKey::Array(v.into()))),
        ],
        version in any::<u64>(),
    ) {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        ssp_cvr::codec::encode_record(&id, Version(version), &mut key, &mut value);
        let (back, v) = ssp_cvr::codec::decode_record(&key, &value).unwrap();
        prop_assert_eq!(v, Version(version));
        prop_assert_eq!(format!("{back:?}"), format!("{id:?}"));
    }

    // A diff survives the JSON the runtime sends it as.
    #[test]
    fn view_diffs_round_trip_through_json(history in history()) {
        for diff in &history {
            let json = serde_json::to_string(diff).unwrap();
            prop_assert_eq!(&serde_json::from_str::<ViewDiff>(&json).unwrap(), diff);
        }
    }
}

// A worker whose view lags behind what the client got from another worker
// must not send its older state.
#[test]
fn reconnecting_to_a_view_behind_the_client_is_an_error() {
    let cvr = Cvr::from_state("alice", "v", ViewState::from_records(Version(7), []), Timestamp(0));
    let lagging = ViewState::from_records(Version(6), []);
    assert!(matches!(cvr.reconnect(&lagging), Err(ssp_cvr::ReconnectError::ViewBehind { .. })));
}

// A diff must name the content of every record it sends.
#[test]
fn a_reconnection_diff_without_a_record_content_is_an_error() {
    let current = ViewState::from_records(Version(1), [(RecordId::new("issue", 1), Version(1))]);
    let diff = Cvr::new("alice", "v").reconnect(&current).unwrap();
    let err = diff.into_view_diff(|_, _| None).unwrap_err();
    assert_eq!(err.id, RecordId::new("issue", 1));
}
