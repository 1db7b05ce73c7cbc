//! The engine against the reference: random views of the planner's grammar,
//! held by clients (some of the same view), over random change streams.
//! After every step, every view equals the reference evaluation of its query
//! on the current tables, and every connected client's record, built only
//! from the diffs it was sent, holds exactly the view. Clients that were away
//! catch up with a diff no larger than what changed while they were away.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use ssp_core::{ChangeBatch, RecordId, Value, Version, ZSet};
use ssp_cvr::{Cvr, ViewId, content_version};
use ssp_ops::Tables;
use ssp_planner::ast::Select;
use ssp_planner::strategies::views::{query, schema, streams};
use ssp_planner::{Params, interpret_records, interpret_zset, plan};
use ssp_runtime::{Breaker, Engine, EngineBuilder, RuntimeError};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/engine.txt"))),
        ..ProptestConfig::default()
    }
}

fn params(p: i64) -> Params {
    BTreeMap::from([("p".into(), Value::from(p))])
}

/// What the view of `query` with `params` must show over `tables`: its
/// records, or the computed rows of a grouped view.
fn expected(query: &Select, params: &Params, tables: &Tables) -> ZSet<Value> {
    let planned = plan(query, &schema(), params).expect("a planned query");
    match planned.lowered.records {
        Some(_) => interpret_records(&planned.bound, tables, params),
        None => interpret_zset(&planned.bound, tables, params),
    }
}

/// A client: the view it follows, its record, and whether it is connected.
struct Client {
    view: ViewId,
    query: usize,
    cvr: Cvr,
    away_since: Option<usize>,
}

fn check(
    queries: &[(Select, i64)],
    holders: &[usize],
    away: &[(usize, usize, usize)],
    steps: &[Vec<ChangeBatch>],
    engine: EngineBuilder,
) -> Result<(), TestCaseError> {
    let mut engine = engine.schema(schema()).build();
    let mut reference = Tables::new();
    let mut clients: Vec<Client> = Vec::new();
    // What changed in each away client's view while it was away.
    let mut missed: Vec<BTreeSet<RecordId>> = vec![BTreeSet::new(); holders.len()];
    for &h in holders {
        let (q, p) = &queries[h % queries.len()];
        let view = engine.register_select(q, params(*p)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut cvr = Cvr::new(format!("c{}", clients.len()), view.clone());
        cvr.apply(&engine.catch_up(&view, None).map_err(|e| TestCaseError::fail(e.to_string()))?)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        clients.push(Client { view, query: h % queries.len(), cvr, away_since: None });
    }
    // One view per query and parameters, one plan per query text and LIMIT.
    let distinct: BTreeSet<(String, i64)> = holders
        .iter()
        .map(|&h| {
            let (q, p) = &queries[h % queries.len()];
            (q.to_string(), *p)
        })
        .collect();
    prop_assert_eq!(engine.views().count(), distinct.len());
    prop_assert!(engine.plans() <= distinct.len());

    for (step, batches) in steps.iter().enumerate() {
        let version = Version(step as u64 + 1);
        for &(client, from, to) in away {
            let c = client % clients.len();
            if step == from % steps.len() && from % steps.len() < to % steps.len() {
                clients[c].away_since = Some(step);
            }
        }
        let diffs = engine.step(version, batches).map_err(|e| TestCaseError::fail(e.to_string()))?;
        reference.apply_batches(batches).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let by_view: BTreeMap<&ViewId, &ssp_cvr::ViewDiff> = diffs.iter().map(|d| (&d.view, d)).collect();
        prop_assert_eq!(by_view.len(), diffs.len(), "one diff per view");
        for (i, c) in clients.iter_mut().enumerate() {
            if c.away_since.is_some() {
                if let Some(d) = by_view.get(&c.view) {
                    missed[i].extend(d.upserts.iter().map(|r| r.id.clone()).chain(d.removed.iter().cloned()));
                }
                continue;
            }
            if let Some(d) = by_view.get(&c.view) {
                c.cvr.apply(d).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        for view in engine.views() {
            let i = clients.iter().position(|c| &c.view == view.id()).expect("a holder");
            let (q, p) = &queries[clients[i].query];
            let want = expected(q, &params(*p), &reference);
            let got: ZSet<Value> = view.records().map(|r| (r.value.clone(), 1)).collect();
            prop_assert_eq!(&got, &want, "view after step {}: {}", step, view.query());
            // Each record at the content version of what it shows.
            prop_assert_eq!(view.records().count(), view.state().len());
            for r in view.records() {
                prop_assert_eq!(view.state().get(&r.id), Some(content_version(&r.value)));
            }
        }
        for c in clients.iter().filter(|c| c.away_since.is_none()) {
            let view = engine.view(&c.view).expect("registered");
            let held: BTreeMap<&RecordId, Version> = c.cvr.iter().collect();
            let state = view.state();
            let shown: BTreeMap<&RecordId, Version> = state.iter().collect();
            prop_assert_eq!(held, shown, "client after step {}", step);
        }
        // Clients coming back catch up from their records.
        for &(client, _, to) in away {
            let c = client % clients.len();
            if step == to % steps.len() && clients[c].away_since.take().is_some() {
                let diff = engine
                    .catch_up(&clients[c].view, Some(&clients[c].cvr))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let missed = std::mem::take(&mut missed[c]);
                prop_assert!(
                    diff.upserts.len() + diff.removed.len() <= missed.len(),
                    "a catch-up of {} records for {} missed changes",
                    diff.upserts.len() + diff.removed.len(),
                    missed.len()
                );
                clients[c].cvr.apply(&diff).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let view = engine.view(&clients[c].view).expect("registered");
                prop_assert!(clients[c].cvr.summary().holds_same_records(&view.state()));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn views_and_their_clients_equal_the_reference_after_every_step(
        queries in prop::collection::vec((query().prop_map(|q| q.build()), 0i64..3), 1..4),
        holders in prop::collection::vec(0usize..8, 1..7),
        away in prop::collection::vec((0usize..8, 0usize..8, 0usize..8), 0..3),
        steps in streams(),
    ) {
        check(&queries, &holders, &away, &steps, Engine::builder().breaker(Breaker::NEVER))?;
    }

    /// The same with the breaker tripping on every change: every step is a
    /// rehydration, and clients get the difference from what they held.
    #[test]
    fn views_rehydrated_by_the_breaker_equal_the_reference_too(
        queries in prop::collection::vec((query().prop_map(|q| q.build()), 0i64..3), 1..4),
        holders in prop::collection::vec(0usize..8, 1..7),
        away in prop::collection::vec((0usize..8, 0usize..8, 0usize..8), 0..3),
        steps in streams(),
    ) {
        check(&queries, &holders, &away, &steps, Engine::builder().breaker(Breaker::ALWAYS))?;
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// The same stepped in parallel, every step out of time at once: each
    /// view gives up its step and is rehydrated on rayon's threads' watch.
    #[test]
    fn views_stepped_in_parallel_out_of_time_equal_the_reference_too(
        queries in prop::collection::vec((query().prop_map(|q| q.build()), 0i64..3), 1..4),
        holders in prop::collection::vec(0usize..8, 1..7),
        away in prop::collection::vec((0usize..8, 0usize..8, 0usize..8), 0..3),
        steps in streams(),
    ) {
        let breaker = Breaker::NEVER.budget(Some(Duration::ZERO));
        check(&queries, &holders, &away, &steps, Engine::builder().breaker(breaker).parallel_above(0).parallel_rows(0).restrict_above(0))?;
    }

    /// Stepped in parallel, never tripping, each view reached through the
    /// predicate index with only its own rows.
    #[test]
    fn views_stepped_in_parallel_equal_the_reference_too(
        queries in prop::collection::vec((query().prop_map(|q| q.build()), 0i64..3), 1..4),
        holders in prop::collection::vec(0usize..8, 1..7),
        away in prop::collection::vec((0usize..8, 0usize..8, 0usize..8), 0..3),
        steps in streams(),
    ) {
        let engine = Engine::builder().breaker(Breaker::NEVER).parallel_above(0).parallel_rows(0).restrict_above(0);
        check(&queries, &holders, &away, &steps, engine)?;
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let mut engine = Engine::new(schema());
    match engine.register("SELECT * FROM t1 WHERE", Params::new()) {
        Err(e @ RuntimeError::Parse { .. }) => assert!(e.to_string().contains("SELECT * FROM t1 WHERE"), "{e}"),
        other => panic!("expected a parse error, got {:?}", other.err()),
    }
    let unknown = engine.register("SELECT * FROM nope", Params::new());
    assert!(matches!(unknown, Err(RuntimeError::Plan { .. })), "{:?}", unknown.err());
    // A parameter of the wrong kind.
    let n = BTreeMap::from([("n".into(), Value::from("ten"))]);
    let wrong = engine.register("SELECT * FROM t2 ORDER BY k LIMIT $n", n);
    assert!(matches!(wrong, Err(RuntimeError::Plan { .. })), "{:?}", wrong.err());
    assert_eq!(engine.plans(), 0, "a query that fails to plan leaves nothing");
    let view = ViewId::new("view_0");
    assert!(matches!(engine.catch_up(&view, None), Err(RuntimeError::UnknownView { .. })));
    assert!(matches!(engine.unregister(&view), Err(RuntimeError::UnknownView { .. })));
    // A batch that removes what the tables do not hold changes nothing.
    let mut batch = ChangeBatch::new("t2", Version(1));
    batch.delete(ssp_core::Record::new(RecordId::new("t2", 1), Version(1), Value::from(1))).expect("a batch");
    assert!(matches!(engine.step(Version(1), &[batch]), Err(RuntimeError::Apply(_))));
    assert_eq!(engine.version(), Version::ZERO);
}

#[test]
fn one_view_per_query_and_parameters_one_plan_per_shape() {
    let mut engine = Engine::new(schema());
    let a = engine.register("SELECT * FROM t2 WHERE k = $p", params(1)).expect("a view");
    let b = engine.register("select * from t2 where k = $p", params(1)).expect("a view");
    let c = engine.register("SELECT * FROM t2 WHERE k = $p", params(2)).expect("a view");
    assert_eq!(a, b, "one query, one view");
    assert_ne!(a, c);
    assert_eq!(engine.views().count(), 2);
    assert_eq!(engine.plans(), 1, "one shape, one plan");
    assert_eq!(engine.view(&a).expect("registered").holders(), 2);
    assert!(engine.unregister(&a).expect("held"));
    assert!(!engine.unregister(&a).expect("held"));
    assert!(engine.view(&a).is_none());
}

fn rows(n: i64, version: u64, k: i64) -> ChangeBatch {
    let mut batch = ChangeBatch::new("t2", Version(version));
    for i in 0..n {
        let row: Value = format!("{{ id: t2:{i}, k: {k}, n: {i} }}").parse().expect("a row");
        batch.insert(ssp_core::Record::new(RecordId::new("t2", i), Version(version), row)).expect("a batch");
    }
    batch
}

/// A batch that rewrites most of a table trips the breaker: the view is
/// rebuilt and its client still ends equal; a small batch does not trip it.
#[test]
fn the_breaker_trips_on_a_big_batch_and_not_on_a_small_one() {
    let mut engine = Engine::new(schema());
    engine.step(Version(1), &[rows(200, 1, 0)]).expect("the table");
    let view = engine.register("SELECT * FROM t2 WHERE k = 1 ORDER BY n LIMIT 5", Params::new()).expect("a view");
    let mut client = Cvr::new("c", view.clone());
    client.apply(&engine.catch_up(&view, None).expect("a view")).expect("a diff");
    assert!(client.is_empty());

    // Rewrite 150 of the 200 rows to k = 1.
    let mut big = ChangeBatch::new("t2", Version(2));
    for (r, _) in rows(150, 1, 0).into_updates() {
        let new: Value = format!("{{ id: {}, k: 1, n: {} }}", r.id, r.value.pick(&"n".parse().expect("a path")))
            .parse()
            .expect("a row");
        big.update(r.clone(), ssp_core::Record::new(r.id.clone(), Version(2), new)).expect("a batch");
    }
    for d in engine.step(Version(2), &[big]).expect("a step") {
        client.apply(&d).expect("a diff");
    }
    assert_eq!(engine.trips(), 1, "150 of 200 rows rewritten: rehydrate");
    assert_eq!(engine.view(&view).expect("registered").trips(), 1);
    let state = engine.view(&view).expect("registered").state();
    let shown: BTreeMap<&RecordId, Version> = state.iter().collect();
    assert_eq!(client.iter().collect::<BTreeMap<_, _>>(), shown);
    assert_eq!(shown.keys().map(|id| id.to_string()).collect::<Vec<_>>(), ["t2:0", "t2:1", "t2:2", "t2:3", "t2:4"]);

    // Two rows: a step.
    let mut small = ChangeBatch::new("t2", Version(3));
    let old = engine
        .tables()
        .rows("t2")
        .expect("the table")
        .keys()
        .find(|r| r.pick(&"n".parse().expect("a path")) == Value::from(0))
        .expect("t2:0")
        .clone();
    small.delete(ssp_core::Record::new(RecordId::new("t2", 0), Version(2), old)).expect("a batch");
    for d in engine.step(Version(3), &[small]).expect("a step") {
        client.apply(&d).expect("a diff");
    }
    assert_eq!(engine.trips(), 1, "a small batch is stepped");
    let state = engine.view(&view).expect("registered").state();
    let shown: BTreeMap<&RecordId, Version> = state.iter().collect();
    assert_eq!(client.iter().collect::<BTreeMap<_, _>>(), shown);
    assert_eq!(shown.keys().map(|id| id.to_string()).collect::<Vec<_>>(), ["t2:1", "t2:2", "t2:3", "t2:4", "t2:5"]);
}

/// A step that runs out of its time budget gives up and the view is
/// rehydrated: its client still ends equal, and the trip is counted as one
/// on time.
#[test]
fn a_step_out_of_time_rehydrates_the_view() {
    let breaker = Breaker::NEVER.budget(Some(Duration::ZERO));
    let mut engine = Engine::builder().schema(schema()).breaker(breaker).build();
    engine.step(Version(1), &[rows(20, 1, 0)]).expect("the table");
    let view = engine.register("SELECT * FROM t2 WHERE k = 0 ORDER BY n DESC LIMIT 3", Params::new()).expect("a view");
    let mut client = Cvr::new("c", view.clone());
    client.apply(&engine.catch_up(&view, None).expect("a view")).expect("a diff");
    assert_eq!(client.len(), 3);
    let mut change = ChangeBatch::new("t2", Version(2));
    let row: Value = "{ id: t2:99, k: 0, n: 99 }".parse().expect("a row");
    change.insert(ssp_core::Record::new(RecordId::new("t2", 99), Version(2), row)).expect("a batch");
    for d in engine.step(Version(2), &[change]).expect("a step") {
        client.apply(&d).expect("a diff");
    }
    assert_eq!((engine.trips(), engine.budget_trips()), (1, 1), "out of time at once");
    let state = engine.view(&view).expect("registered").state();
    assert_eq!(client.iter().collect::<BTreeMap<_, _>>(), state.iter().collect::<BTreeMap<_, _>>());
    assert!(state.get(&RecordId::new("t2", 99)).is_some(), "the new top row is shown");
    // The circuit it replaced let go of its index: the view's is the last.
    assert!(!engine.unregister(&view).expect("registered"));
    assert_eq!(engine.tables().index_count(), 0, "no index left behind by the rebuild");
    // With time to spare, nothing trips.
    let mut engine =
        Engine::builder().schema(schema()).breaker(Breaker::NEVER.budget(Some(Duration::from_secs(60)))).build();
    engine.step(Version(1), &[rows(20, 1, 0)]).expect("the table");
    engine.register("SELECT * FROM t2 WHERE k = 0 ORDER BY n DESC LIMIT 3", Params::new()).expect("a view");
    let mut change = ChangeBatch::new("t2", Version(2));
    let row: Value = "{ id: t2:99, k: 0, n: 99 }".parse().expect("a row");
    change.insert(ssp_core::Record::new(RecordId::new("t2", 99), Version(2), row)).expect("a batch");
    assert_eq!(engine.step(Version(2), &[change]).expect("a step").len(), 1);
    assert_eq!(engine.trips(), 0);
}

/// The predicate index: of 100 views `WHERE k = $p`, a change of a row
/// steps only the views of its old and new `k`; a view without an equality
/// on the table is stepped on every change of it.
#[test]
fn a_change_steps_only_the_views_it_can_reach() {
    let mut engine = Engine::new(schema());
    engine.step(Version(1), &[rows(10, 1, 5)]).expect("the table");
    let mut views = Vec::new();
    for p in 0..100 {
        views.push(engine.register("SELECT * FROM t2 WHERE k = $p ORDER BY n LIMIT 5", params(p)).expect("a view"));
    }
    assert_eq!(engine.plans(), 1);
    let before = engine.view_steps();
    // t2:3 moves from k = 5 to k = 7.
    let old = engine
        .tables()
        .rows("t2")
        .expect("the table")
        .keys()
        .find(|r| r.pick(&"n".parse().expect("a path")) == Value::from(3))
        .expect("t2:3")
        .clone();
    let new: Value = "{ id: t2:3, k: 7, n: 3 }".parse().expect("a row");
    let mut batch = ChangeBatch::new("t2", Version(2));
    batch
        .update(
            ssp_core::Record::new(RecordId::new("t2", 3), Version(1), old),
            ssp_core::Record::new(RecordId::new("t2", 3), Version(2), new),
        )
        .expect("a batch");
    let diffs = engine.step(Version(2), &[batch]).expect("a step");
    assert_eq!(engine.view_steps() - before, 2, "the views of k = 5 and k = 7");
    assert_eq!(diffs.len(), 2);
    // A view that reads t2 without an equality is stepped on any change.
    engine.register("SELECT * FROM t2 WHERE n > 100", Params::new()).expect("a view");
    let before = engine.view_steps();
    let mut batch = ChangeBatch::new("t2", Version(3));
    let row: Value = "{ id: t2:50, k: 1000, n: 1 }".parse().expect("a row");
    batch.insert(ssp_core::Record::new(RecordId::new("t2", 50), Version(3), row)).expect("a batch");
    engine.step(Version(3), &[batch]).expect("a step");
    assert_eq!(engine.view_steps() - before, 1, "only the view without a key");

    // A batch of 40 rows over 20 values of k: each view of those values is
    // stepped with its own rows only, and each equals the reference.
    let mut batch = ChangeBatch::new("t2", Version(4));
    for i in 100..140 {
        let row: Value = format!("{{ id: t2:{i}, k: {}, n: {i} }}", i % 20).parse().expect("a row");
        batch.insert(ssp_core::Record::new(RecordId::new("t2", i), Version(4), row)).expect("a batch");
    }
    let before = engine.view_steps();
    engine.step(Version(4), &[batch]).expect("a step");
    assert_eq!(engine.view_steps() - before, 21, "the views of k in 0..20 and the one without a key");
    for (p, view) in views.iter().enumerate() {
        let select = ssp_planner::parse("SELECT * FROM t2 WHERE k = $p ORDER BY n LIMIT 5").expect("a query");
        let want = expected(&select, &params(p as i64), engine.tables());
        let got: ZSet<Value> = engine.view(view).expect("a view").records().map(|r| (r.value, 1)).collect();
        assert_eq!(got, want, "k = {p}");
    }
}

/// A view of more records than its small form holds (the engine keeps a
/// view's records in a sorted vector while small, a hash map beyond): it
/// grows across the boundary and shrinks back, and its client stays equal.
#[test]
fn views_cross_the_small_boundary_both_ways() {
    let mut engine = Engine::new(schema());
    let view = engine.register("SELECT * FROM t2 WHERE k = 1", Params::new()).expect("a view");
    let mut client = Cvr::new("c", view.clone());
    client.apply(&engine.catch_up(&view, None).expect("a view")).expect("a diff");
    let mut rows_now: BTreeMap<i64, Value> = BTreeMap::new();
    // Grow to 50 records, one batch of 10 at a time; then shrink to 5.
    for (version, round) in (1u64..).zip(0..10i64) {
        let mut batch = ChangeBatch::new("t2", Version(version));
        for i in 0..10i64 {
            let id = if round < 5 { round * 10 + i } else { (round - 5) * 10 + i };
            let new: Value = format!("{{ id: t2:{id}, k: {}, n: {round} }}", if round < 5 || i == 0 { 1 } else { 2 })
                .parse()
                .expect("a row");
            match rows_now.insert(id, new.clone()) {
                Some(old) => batch
                    .update(
                        ssp_core::Record::new(RecordId::new("t2", id), Version(version - 1), old),
                        ssp_core::Record::new(RecordId::new("t2", id), Version(version), new),
                    )
                    .expect("a batch"),
                None => batch
                    .insert(ssp_core::Record::new(RecordId::new("t2", id), Version(version), new))
                    .expect("a batch"),
            }
        }
        for d in engine.step(Version(version), &[batch]).expect("a step") {
            client.apply(&d).expect("a diff");
        }
        let v = engine.view(&view).expect("registered");
        let state = v.state();
        let shown: BTreeMap<&RecordId, Version> = state.iter().collect();
        assert_eq!(client.iter().collect::<BTreeMap<_, _>>(), shown, "round {round}");
        let want = rows_now.values().filter(|r| r.pick(&"k".parse().expect("a path")) == Value::from(1)).count();
        assert_eq!(v.records().count(), want, "round {round}");
        for r in v.records() {
            assert_eq!(state.get(&r.id), Some(content_version(&r.value)));
        }
    }
    assert_eq!(engine.view(&view).expect("registered").records().count(), 5);
}
