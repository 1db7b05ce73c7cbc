//! The checks every [`CvrStore`] must pass, for the stores of this crate and
//! of others (a store in SurrealDB runs the same suite).
//!
//! Each check takes a factory that makes a new, empty store, and panics on
//! the first failure with a message that names what broke. Run them all with
//! [`run_all`], or one test per check with [`cvr_store_suite!`](crate::cvr_store_suite):
//!
//! ```
//! ssp_cvr::testing::run_all(ssp_cvr::MemoryStore::new);
//! ```
//!
//! Enabled by the `testing` feature.

use std::collections::BTreeMap;

use ssp_core::{Record, RecordId, RecordKey, Value, Version};

use crate::{ClientId, Cvr, CvrStore, DiffError, StoreError, Timestamp, ViewDiff, ViewId};

/// Runs every check of this module, each on a new store from `new_store`.
pub fn run_all<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    unknown_cvr_is_absent(&mut new_store);
    apply_then_load_gives_what_cvr_apply_gives(&mut new_store);
    diff_going_back_in_version_is_refused_and_changes_nothing(&mut new_store);
    diff_with_a_repeated_id_is_refused_and_changes_nothing(&mut new_store);
    apply_all_is_all_or_nothing(&mut new_store);
    apply_all_applies_diffs_of_one_cvr_in_order(&mut new_store);
    views_lists_only_the_clients_views_by_view_id(&mut new_store);
    remove_deletes_only_that_cvr(&mut new_store);
    expire_removes_exactly_the_cvrs_last_seen_before(&mut new_store);
    last_seen_never_goes_back(&mut new_store);
    empty_diff_moves_version_and_last_seen(&mut new_store);
    ids_of_every_key_kind_are_kept_exactly(&mut new_store);
    random_operations_match_the_model(&mut new_store);
}

/// Generates one `#[test]` per check of [`testing`](crate::testing)
/// for a store: `cvr_store_suite!(memory, ssp_cvr::MemoryStore::new);` makes
/// a module `memory` of tests, each calling the factory for its stores.
#[macro_export]
macro_rules! cvr_store_suite {
    ($module:ident, $factory:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            $crate::cvr_store_suite!(@tests $factory;
                unknown_cvr_is_absent,
                apply_then_load_gives_what_cvr_apply_gives,
                diff_going_back_in_version_is_refused_and_changes_nothing,
                diff_with_a_repeated_id_is_refused_and_changes_nothing,
                apply_all_is_all_or_nothing,
                apply_all_applies_diffs_of_one_cvr_in_order,
                views_lists_only_the_clients_views_by_view_id,
                remove_deletes_only_that_cvr,
                expire_removes_exactly_the_cvrs_last_seen_before,
                last_seen_never_goes_back,
                empty_diff_moves_version_and_last_seen,
                ids_of_every_key_kind_are_kept_exactly,
                random_operations_match_the_model,
            );
        }
    };
    (@tests $factory:expr; $($check:ident),+ $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::testing::$check($factory);
            }
        )+
    };
}

fn client(name: &str) -> ClientId {
    ClientId::new(name)
}

fn view(name: &str) -> ViewId {
    ViewId::new(name)
}

fn rec(id: &RecordId, version: u64) -> Record {
    Record::new(id.clone(), Version(version), Value::Null)
}

fn issue(key: i64) -> RecordId {
    RecordId::new("issue", key)
}

fn diff(view_name: &str, to: u64, upserts: &[(RecordId, u64)], removed: &[RecordId]) -> ViewDiff {
    ViewDiff {
        view: view(view_name),
        to_version: Version(to),
        upserts: upserts.iter().map(|(id, v)| rec(id, *v)).collect(),
        removed: removed.to_vec(),
    }
}

fn ok<T>(result: Result<T, StoreError>, what: &str) -> T {
    match result {
        Ok(t) => t,
        Err(e) => panic!("{what}: {e} ({e:?})"),
    }
}

/// What the store must hold: CVRs applied with [`Cvr::apply`].
#[derive(Default)]
struct Model {
    cvrs: BTreeMap<(ClientId, ViewId), Cvr>,
}

impl Model {
    fn apply(&mut self, c: &ClientId, d: &ViewDiff, now: Timestamp) -> Result<(), DiffError> {
        let key = (c.clone(), d.view.clone());
        let mut cvr = self.cvrs.get(&key).cloned().unwrap_or_else(|| Cvr::new(c.clone(), d.view.clone()));
        cvr.apply(d)?;
        cvr.touch(now);
        self.cvrs.insert(key, cvr);
        Ok(())
    }

    fn check<S: CvrStore + ?Sized>(&self, store: &S, clients: &[ClientId], views: &[ViewId], context: &str) {
        for c in clients {
            for v in views {
                let expected = self.cvrs.get(&(c.clone(), v.clone()));
                let loaded = ok(store.load(c, v), "load");
                assert_eq!(loaded.as_ref(), expected, "{context}: load({c}, {v})");
                let summary = ok(store.summary(c, v), "summary");
                assert_eq!(summary, expected.map(Cvr::summary), "{context}: summary({c}, {v})");
            }
            let expected: Vec<&Cvr> =
                self.cvrs.range((c.clone(), view(""))..).take_while(|((k, _), _)| k == c).map(|(_, cvr)| cvr).collect();
            let listed = ok(store.views(c), "views");
            assert_eq!(listed, expected.iter().map(|cvr| cvr.summary()).collect::<Vec<_>>(), "{context}: views({c})");
            let all = ok(store.load_all(c), "load_all");
            assert_eq!(all.iter().collect::<Vec<_>>(), expected, "{context}: load_all({c})");
        }
    }
}

/// A store starts empty: nothing to load, list, remove or expire.
pub fn unknown_cvr_is_absent<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let (c, v) = (client("alice"), view("v"));
    assert!(ok(store.load(&c, &v), "load").is_none(), "load of an unknown CVR");
    assert!(ok(store.summary(&c, &v), "summary").is_none(), "summary of an unknown CVR");
    assert!(ok(store.views(&c), "views").is_empty(), "views of an unknown client");
    assert!(ok(store.load_all(&c), "load_all").is_empty(), "load_all of an unknown client");
    assert!(!ok(store.remove(&c, &v), "remove"), "remove of an unknown CVR");
    assert_eq!(ok(store.expire(Timestamp(u64::MAX)), "expire"), 0, "expire of an empty store");
}

/// A store holds exactly what [`Cvr::apply`] computes, for several clients
/// and views, through inserts, updates and removals.
pub fn apply_then_load_gives_what_cvr_apply_gives<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let mut model = Model::default();
    let clients = [client("alice"), client("bob")];
    let views = [view("a"), view("b")];
    let steps = [
        (0, diff("a", 1, &[(issue(1), 1), (issue(2), 1), (issue(3), 1)], &[])),
        (1, diff("a", 1, &[(issue(1), 1)], &[])),
        (0, diff("b", 5, &[(issue(1), 1)], &[])),
        (0, diff("a", 2, &[(issue(2), 2), (issue(4), 1)], &[issue(3)])),
        (0, diff("a", 3, &[], &[issue(1), issue(99)])),
        (1, diff("a", 3, &[(issue(2), 2)], &[issue(1)])),
    ];
    for (i, (who, d)) in steps.iter().enumerate() {
        let now = Timestamp(100 + i as u64);
        let summary = ok(store.apply(&clients[*who], d, now), "apply");
        model.apply(&clients[*who], d, now).expect("the model takes every step");
        let expected = &model.cvrs[&(clients[*who].clone(), d.view.clone())];
        assert_eq!(summary, expected.summary(), "the summary that apply returns, step {i}");
        model.check(&store, &clients, &views, &format!("after step {i}"));
    }
}

/// A diff older than what the client holds is refused with
/// [`DiffError::Regressed`] and changes nothing; a diff at the same version
/// is taken.
pub fn diff_going_back_in_version_is_refused_and_changes_nothing<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let c = client("alice");
    ok(store.apply(&c, &diff("v", 5, &[(issue(1), 1)], &[]), Timestamp(10)), "apply");
    let before = ok(store.load(&c, &view("v")), "load");
    let err = store.apply(&c, &diff("v", 4, &[(issue(2), 1)], &[issue(1)]), Timestamp(20));
    match err {
        Err(StoreError::Diff { source: DiffError::Regressed { held, diff }, client, view: v }) => {
            assert_eq!((held, diff), (Version(5), Version(4)));
            assert_eq!((client, v), (c.clone(), view("v")));
        }
        other => panic!("a diff from version 5 back to 4 must be refused with Regressed, got {other:?}"),
    }
    assert_eq!(ok(store.load(&c, &view("v")), "load"), before, "a refused diff changed the CVR");
    ok(store.apply(&c, &diff("v", 5, &[(issue(2), 1)], &[]), Timestamp(30)), "a diff at the held version");
    assert_eq!(ok(store.load(&c, &view("v")), "load").map(|cvr| cvr.len()), Some(2));
}

/// A diff that names an id twice is refused with [`DiffError::DuplicateId`]
/// and changes nothing.
pub fn diff_with_a_repeated_id_is_refused_and_changes_nothing<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let c = client("alice");
    ok(store.apply(&c, &diff("v", 1, &[(issue(1), 1)], &[]), Timestamp(10)), "apply");
    let before = ok(store.load(&c, &view("v")), "load");
    for bad in [
        diff("v", 2, &[(issue(2), 1), (issue(2), 2)], &[]),
        diff("v", 2, &[(issue(1), 2)], &[issue(1)]),
        diff("v", 2, &[], &[issue(1), issue(1)]),
    ] {
        match store.apply(&c, &bad, Timestamp(20)) {
            Err(StoreError::Diff { source: DiffError::DuplicateId { .. }, .. }) => {}
            other => panic!("a diff with a repeated id must be refused with DuplicateId, got {other:?}"),
        }
        assert_eq!(ok(store.load(&c, &view("v")), "load"), before, "a refused diff changed the CVR");
    }
}

/// If one diff of [`CvrStore::apply_all`] is refused, none is applied.
pub fn apply_all_is_all_or_nothing<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let (alice, bob) = (client("alice"), client("bob"));
    ok(store.apply(&bob, &diff("v", 3, &[(issue(1), 1)], &[]), Timestamp(10)), "apply");
    let good = diff("v", 1, &[(issue(7), 1)], &[]);
    let stale = diff("v", 2, &[(issue(8), 1)], &[]);
    let result = store.apply_all(&[(&alice, &good), (&bob, &stale)], Timestamp(20));
    assert!(
        matches!(&result, Err(StoreError::Diff { client, .. }) if *client == bob),
        "the stale diff of bob must be refused, got {result:?}"
    );
    assert!(ok(store.load(&alice, &view("v")), "load").is_none(), "alice's diff was applied from a refused batch");
    let bob_cvr = ok(store.load(&bob, &view("v")), "load");
    assert_eq!(bob_cvr.map(|c| (c.version(), c.len(), c.last_seen())), Some((Version(3), 1, Timestamp(10))));
}

/// Diffs of one CVR in one batch apply in order, each seeing the one before.
pub fn apply_all_applies_diffs_of_one_cvr_in_order<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let c = client("alice");
    let d1 = diff("v", 1, &[(issue(1), 1), (issue(2), 1)], &[]);
    let d2 = diff("v", 2, &[(issue(1), 2)], &[issue(2)]);
    let summaries = ok(store.apply_all(&[(&c, &d1), (&c, &d2)], Timestamp(5)), "apply_all");
    let mut model = Model::default();
    model.apply(&c, &d1, Timestamp(5)).expect("valid");
    let first = model.cvrs[&(c.clone(), view("v"))].summary();
    model.apply(&c, &d2, Timestamp(5)).expect("valid");
    let second = model.cvrs[&(c.clone(), view("v"))].summary();
    assert_eq!(summaries, [first, second], "one summary per diff, each after its diff");
    model.check(&store, std::slice::from_ref(&c), &[view("v")], "after a batch of two diffs of one CVR");
    let backwards = diff("v", 1, &[], &[]);
    let d3 = diff("v", 3, &[], &[]);
    let result = store.apply_all(&[(&c, &d3), (&c, &backwards)], Timestamp(6));
    assert!(
        matches!(result, Err(StoreError::Diff { source: DiffError::Regressed { .. }, .. })),
        "a later diff of a batch that goes back before an earlier one must be refused"
    );
    model.check(&store, &[c], &[view("v")], "after a refused batch");
}

/// [`CvrStore::views`] lists a client's views by ascending view id, and no
/// view of another client, even one whose name extends the client's.
pub fn views_lists_only_the_clients_views_by_view_id<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let clients = [client("a"), client("ab"), client(""), client("a\u{0}")];
    let names = [
        "b",
        "a",
        "aa",
        "",
        "B",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    ];
    let mut model = Model::default();
    for (i, c) in clients.iter().enumerate() {
        for name in names.iter().skip(i) {
            let d = diff(name, 1, &[(issue(i as i64), 1)], &[]);
            ok(store.apply(c, &d, Timestamp(1)), "apply");
            model.apply(c, &d, Timestamp(1)).expect("valid");
        }
    }
    let views: Vec<ViewId> = names.iter().map(|n| view(n)).collect();
    model.check(&store, &clients, &views, "clients whose names prefix each other");
    let listed: Vec<String> = ok(store.views(&clients[0]), "views").iter().map(|s| s.view.to_string()).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "views must be listed by ascending view id");
}

/// [`CvrStore::remove`] removes one CVR, records and all, and no other.
pub fn remove_deletes_only_that_cvr<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let (alice, bob) = (client("alice"), client("bob"));
    let mut model = Model::default();
    for (c, name) in [(&alice, "a"), (&alice, "ab"), (&bob, "a")] {
        let d = diff(name, 1, &[(issue(1), 1), (issue(2), 1)], &[]);
        ok(store.apply(c, &d, Timestamp(1)), "apply");
        model.apply(c, &d, Timestamp(1)).expect("valid");
    }
    assert!(ok(store.remove(&alice, &view("a")), "remove"), "remove must say the CVR existed");
    model.cvrs.remove(&(alice.clone(), view("a")));
    model.check(&store, &[alice.clone(), bob.clone()], &[view("a"), view("ab")], "after remove");
    assert!(!ok(store.remove(&alice, &view("a")), "remove"), "a second remove finds nothing");
    // A client that comes back after its record was removed starts afresh.
    let d = diff("a", 1, &[(issue(3), 1)], &[]);
    ok(store.apply(&alice, &d, Timestamp(2)), "apply after remove");
    model.apply(&alice, &d, Timestamp(2)).expect("valid");
    model.check(&store, &[alice, bob], &[view("a"), view("ab")], "after re-creating a removed CVR");
}

/// [`CvrStore::expire`] removes exactly the CVRs last seen strictly before
/// the cutoff, and says how many.
pub fn expire_removes_exactly_the_cvrs_last_seen_before<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let mut model = Model::default();
    let clients = [client("a"), client("b"), client("c")];
    let views = [view("x"), view("y")];
    for (i, c) in clients.iter().enumerate() {
        for (j, v) in views.iter().enumerate() {
            let now = Timestamp(10 * i as u64 + j as u64);
            let d = diff(v.as_str(), 1, &[(issue(1), 1)], &[]);
            ok(store.apply(c, &d, now), "apply");
            model.apply(c, &d, now).expect("valid");
        }
    }
    // Seen at 0, 1, 10, 11, 20, 21. Touch a:y at 30 with an empty diff.
    let touch = diff("y", 1, &[], &[]);
    ok(store.apply(&clients[0], &touch, Timestamp(30)), "touch");
    model.apply(&clients[0], &touch, Timestamp(30)).expect("valid");
    for (before, removed) in [(0, 0), (1, 1), (11, 1), (11, 0), (22, 3), (31, 1)] {
        assert_eq!(ok(store.expire(Timestamp(before)), "expire"), removed, "expire({before})");
        model.cvrs.retain(|_, cvr| cvr.last_seen() >= Timestamp(before));
        model.check(&store, &clients, &views, &format!("after expire({before})"));
    }
    assert!(model.cvrs.is_empty());
}

/// The last-seen time is the latest `now` a diff was applied at: an earlier
/// `now` does not move it back (nor make the CVR expire early).
pub fn last_seen_never_goes_back<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let c = client("alice");
    ok(store.apply(&c, &diff("v", 1, &[(issue(1), 1)], &[]), Timestamp(50)), "apply");
    let summary = ok(store.apply(&c, &diff("v", 2, &[], &[]), Timestamp(40)), "apply");
    assert_eq!(summary.last_seen, Timestamp(50));
    assert_eq!(ok(store.expire(Timestamp(45)), "expire"), 0, "a CVR seen at 50 expired at 45");
    assert_eq!(ok(store.summary(&c, &view("v")), "summary").map(|s| s.last_seen), Some(Timestamp(50)));
}

/// An empty diff at a newer version moves the version and marks the client
/// seen, keeping the records.
pub fn empty_diff_moves_version_and_last_seen<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let c = client("alice");
    let first = ok(store.apply(&c, &diff("v", 1, &[(issue(1), 1)], &[]), Timestamp(1)), "apply");
    let after = ok(store.apply(&c, &diff("v", 9, &[], &[]), Timestamp(2)), "apply");
    assert_eq!((after.version, after.last_seen), (Version(9), Timestamp(2)));
    assert_eq!((after.state_hash, after.len), (first.state_hash, first.len));
    let cvr = ok(store.load(&c, &view("v")), "load").expect("present");
    assert_eq!(cvr.get(&issue(1)), Some(Version(1)));
}

fn key_kinds() -> Vec<RecordId> {
    let parse = |text: &str| -> RecordId {
        match text.parse() {
            Ok(id) => id,
            Err(e) => panic!("{text}: {e}"),
        }
    };
    vec![
        parse("person:tobie"),
        parse("person:`with space`"),
        RecordId::new("person", ""),
        RecordId::new("", -1),
        RecordId::new("t", i64::MIN),
        parse("person:u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'"),
        parse("temp:[1.0f, 1.50dec, 'x', NONE, NULL, d'2024-01-01T00:00:00Z', 1h]"),
        parse("temp:{ a: [1, 2], `$b`: 1.5f, c: { d: u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21' } }"),
    ]
    .into_iter()
    .chain([
        RecordId::new("temp", RecordKey::Array(vec![Value::from(f64::NAN), Value::from(-0.0)].into())),
        RecordId::new(
            "temp",
            RecordKey::Array(
                vec![
                    Value::from(RecordId::new("person", "tobie")),
                    Value::from(vec![0u8, 255]),
                    Value::Set([Value::from(2), Value::from("a")].into_iter().collect()),
                    Value::from(ssp_core::Geometry::Point(ssp_core::Point::new(1.5, -2.0))),
                ]
                .into(),
            ),
        ),
    ])
    .collect()
}

/// Record ids of every key kind come back exactly as written (a `float` in an
/// array key stays a `float`), and an id equal to a held one (`t:[1]` and
/// `t:[1.0f]`) updates or removes that record rather than adding another.
pub fn ids_of_every_key_kind_are_kept_exactly<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let store = new_store();
    let c = client("alice");
    let ids = key_kinds();
    let upserts: Vec<(RecordId, u64)> = ids.iter().map(|id| (id.clone(), 1)).collect();
    ok(store.apply(&c, &diff("v", 1, &upserts, &[]), Timestamp(1)), "apply");
    let cvr = ok(store.load(&c, &view("v")), "load").expect("present");
    assert_eq!(cvr.len(), ids.len());
    for id in &ids {
        let (held, _) = cvr.iter().find(|(held, _)| *held == id).unwrap_or_else(|| panic!("{id} is missing"));
        assert_eq!(format!("{held:?}"), format!("{id:?}"), "the id must come back exactly");
    }
    let int_key: RecordId = "t:[1, 2.5f]".parse().unwrap_or_else(|e| panic!("{e}"));
    let float_key: RecordId = "t:[1.0f, 2.50dec]".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(int_key, float_key);
    ok(store.apply(&c, &diff("w", 1, &[(int_key.clone(), 1)], &[]), Timestamp(1)), "apply");
    ok(store.apply(&c, &diff("w", 2, &[(float_key.clone(), 2)], &[]), Timestamp(1)), "apply an equal id");
    let cvr = ok(store.load(&c, &view("w")), "load").expect("present");
    assert_eq!((cvr.len(), cvr.get(&int_key)), (1, Some(Version(2))), "an equal id must update the held record");
    ok(store.apply(&c, &diff("w", 3, &[], &[float_key]), Timestamp(1)), "remove an equal id");
    let cvr = ok(store.load(&c, &view("w")), "load").expect("present");
    assert!(cvr.is_empty(), "an equal id must remove the held record");
}

/// A small, fixed pseudo-random generator (SplitMix64), so that every run
/// and every store sees the same operations: `Rng(seed)`.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` must not be zero).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random sequences of every operation, checked after each one against a
/// model built with [`Cvr::apply`]: applies (valid, stale, malformed, in
/// batches), removals and expiries over 3 clients, 3 views and 12 records.
pub fn random_operations_match_the_model<S: CvrStore>(mut new_store: impl FnMut() -> S) {
    let clients = [client("a"), client("b"), client("ab")];
    let views = [view("x"), view("y"), view("xy")];
    for seed in 0..4 {
        let store = new_store();
        let mut model = Model::default();
        let mut rng = Rng(seed);
        let mut now = 0;
        for step in 0..120 {
            now += rng.below(3);
            let context = format!("seed {seed}, step {step}");
            match rng.below(10) {
                0 => {
                    let (c, v) = (&clients[rng.below(3) as usize], &views[rng.below(3) as usize]);
                    let removed = ok(store.remove(c, v), "remove");
                    assert_eq!(removed, model.cvrs.remove(&(c.clone(), v.clone())).is_some(), "{context}: remove");
                }
                1 => {
                    let before = Timestamp(now.saturating_sub(rng.below(8)));
                    let n = ok(store.expire(before), "expire");
                    let held = model.cvrs.len();
                    model.cvrs.retain(|_, cvr| cvr.last_seen() >= before);
                    assert_eq!(n, held - model.cvrs.len(), "{context}: expire count");
                }
                _ => {
                    let batch: Vec<(ClientId, ViewDiff)> = (0..1 + rng.below(3))
                        .map(|_| {
                            let c = clients[rng.below(3) as usize].clone();
                            let v = &views[rng.below(3) as usize];
                            let held = model.cvrs.get(&(c.clone(), v.clone())).map_or(0, |cvr| cvr.version().0);
                            // Mostly forward, sometimes the same version, rarely back.
                            let to = match rng.below(10) {
                                0 => held.saturating_sub(1),
                                1 => held,
                                _ => held + 1 + rng.below(2),
                            };
                            let mut d = ViewDiff::new(v.clone(), Version(to));
                            for _ in 0..rng.below(5) {
                                let id = issue(rng.below(12) as i64);
                                if rng.below(3) == 0 {
                                    d.remove(id);
                                } else {
                                    d.upsert(rec(&id, 1 + rng.below(4)));
                                }
                            }
                            (c, d)
                        })
                        .collect();
                    let refs: Vec<(&ClientId, &ViewDiff)> = batch.iter().map(|(c, d)| (c, d)).collect();
                    let result = store.apply_all(&refs, Timestamp(now));
                    let mut next = Model { cvrs: model.cvrs.clone() };
                    let expected = batch.iter().try_for_each(|(c, d)| next.apply(c, d, Timestamp(now)));
                    match (result, expected) {
                        (Ok(_), Ok(())) => model = next,
                        (Err(StoreError::Diff { .. }), Err(_)) => {}
                        (got, want) => panic!("{context}: store gave {got:?}, the model {want:?}"),
                    }
                }
            }
            model.check(&store, &clients, &views, &context);
        }
    }
}
