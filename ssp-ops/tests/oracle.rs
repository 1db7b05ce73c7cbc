//! The correctness spine of `ssp-ops`: for random plans (DAGs from a small
//! grammar over three tables), random data and random change streams
//! (inserts, updates, deletes, re-inserts of deleted ids, empty batches), the
//! integrated output of the circuit equals the reference evaluation of the
//! plan over the current tables, after every step. A second circuit hydrated
//! half-way through must agree too, from its first output on.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use smol_str::SmolStr;
use ssp_core::strategies::{change_stream_of, row};
use ssp_core::{ChangeBatch, Value, ZSet};
use ssp_ops::{AggFn, Circuit, CmpOp, Delta, Direction, Expr, NodeId, Plan, PlanBuilder, Tables, evaluate};

const TABLES: [&str; 3] = ["t1", "t2", "t3"];

/// `cases` cases, or as many as `PROPTEST_CASES` asks for (a long run).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/oracle.txt"))),
        ..ProptestConfig::default()
    }
}

/// Fields that the rows of the grammar's operators have: base rows (`k`, `s`,
/// `n`, `opt`, `id`), join rows (`l.*`, `r.*`), aggregate rows (`g`, `c`, `a`)
/// and reach rows (`from`, `to`).
fn field() -> impl Strategy<Value = Expr> {
    prop_oneof![
        6 => Just("k"),
        2 => Just("s"),
        2 => Just("n"),
        1 => Just("opt"),
        1 => Just("id"),
        1 => Just("l.k"),
        1 => Just("r.k"),
        1 => Just("g"),
        1 => Just("c"),
        1 => Just("to"),
    ]
    .prop_map(Expr::field)
}

fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0i64..4).prop_map(Value::from),
        // Equal numbers of other kinds, and fractions, meet the rows' ints.
        1 => prop_oneof![Just(Value::from(1.0)), Just(Value::from(1.5)), Just(Value::from(ssp_core::Decimal::new(25, 1)))],
        1 => prop_oneof![Just("a"), Just("b"), Just("")].prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(Value::None),
    ]
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![Just(CmpOp::Eq), Just(CmpOp::Ne), Just(CmpOp::Lt), Just(CmpOp::Le), Just(CmpOp::Gt), Just(CmpOp::Ge)]
}

fn predicate() -> impl Strategy<Value = Expr> {
    let atom = (cmp_op(), field(), literal()).prop_map(|(op, f, v)| Expr::Cmp(op, Box::new(f), Box::new(Expr::Lit(v))));
    atom.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 1..3).prop_map(Expr::Or),
            inner.prop_map(|e| e.not()),
        ]
    })
}

/// One operator of the grammar; inputs are chosen among earlier nodes.
#[derive(Clone, Debug)]
enum Spec {
    Filter(usize, Expr),
    Map(usize, Vec<(SmolStr, Expr)>),
    Union(usize, usize),
    Minus(usize, usize),
    Join(usize, usize, Expr, Expr),
    Semi(usize, usize, Expr, Expr, bool),
    Aggregate(usize, Option<Expr>, AggFn),
    Distinct(usize),
    TopK(usize, Vec<(Expr, Direction)>, usize, usize),
    Reach(usize, usize, u32, u32),
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Asc), Just(Direction::Desc)]
}

fn agg() -> impl Strategy<Value = AggFn> {
    prop_oneof![
        Just(AggFn::Count),
        field().prop_map(AggFn::Sum),
        field().prop_map(AggFn::Min),
        field().prop_map(AggFn::Max),
        field().prop_map(AggFn::Mean),
        field().prop_map(AggFn::Collect),
        (field(), field()).prop_map(|(o, v)| AggFn::Collect(Expr::Array(vec![o, v]))),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let i = || any::<usize>();
    prop_oneof![
        4 => (i(), predicate()).prop_map(|(a, p)| Spec::Filter(a, p)),
        1 => (i(), prop::collection::vec(("[kst]", field()), 1..3))
            .prop_map(|(a, fs)| Spec::Map(a, fs.into_iter().map(|(n, e)| (SmolStr::from(n), e)).collect())),
        1 => (i(), i()).prop_map(|(a, b)| Spec::Union(a, b)),
        1 => (i(), i()).prop_map(|(a, b)| Spec::Minus(a, b)),
        2 => (i(), i(), field(), field()).prop_map(|(a, b, x, y)| Spec::Join(a, b, x, y)),
        2 => (i(), i(), field(), field(), any::<bool>()).prop_map(|(a, b, x, y, anti)| Spec::Semi(a, b, x, y, anti)),
        2 => (i(), prop::option::of(field()), agg()).prop_map(|(a, g, f)| Spec::Aggregate(a, g, f)),
        1 => i().prop_map(Spec::Distinct),
        3 => (i(), prop::collection::vec((field(), direction()), 1..3), 0usize..4, 0usize..3)
            .prop_map(|(a, o, l, s)| Spec::TopK(a, o, l, s)),
        1 => (i(), i(), 1u32..3, 0u32..3).prop_map(|(a, b, min, extra)| Spec::Reach(a, b, min, min + extra)),
    ]
}

/// Builds a plan: the three sources, then the specs, each reading earlier nodes.
fn build(specs: &[Spec]) -> Plan {
    let mut b = PlanBuilder::new();
    let mut nodes: Vec<NodeId> = TABLES.iter().map(|t| b.source(t)).collect();
    for s in specs {
        let pick = |i: &usize| nodes[i % nodes.len()];
        let id = match s {
            Spec::Filter(a, p) => b.filter(pick(a), p.clone()),
            Spec::Map(a, fs) => b.map(pick(a), Expr::Object(fs.clone())),
            Spec::Union(a, c) => b.union(pick(a), pick(c)),
            Spec::Minus(a, c) => b.minus(pick(a), pick(c)),
            Spec::Join(a, c, x, y) => b.join(pick(a), pick(c), x.clone(), y.clone()),
            Spec::Semi(a, c, x, y, anti) => {
                if *anti {
                    b.anti_join(pick(a), pick(c), x.clone(), y.clone())
                } else {
                    b.semi_join(pick(a), pick(c), x.clone(), y.clone())
                }
            }
            Spec::Aggregate(a, g, f) => {
                let group = g.iter().map(|e| (SmolStr::from("g"), e.clone())).collect();
                b.aggregate(pick(a), group, vec![("c".into(), AggFn::Count), ("a".into(), f.clone())])
            }
            Spec::Distinct(a) => b.distinct(pick(a)),
            Spec::TopK(a, o, l, s) => b.top_k(pick(a), o.clone(), *l, *s),
            Spec::Reach(a, c, min, max) => b
                .reach(pick(a), pick(c), Expr::field("k"), Expr::field("k"), Expr::field("opt"), *min, *max)
                .expect("depths are in range"),
        };
        nodes.push(id);
    }
    let output = *nodes.last().expect("three sources at least");
    b.build(output).expect("every input is defined before use")
}

/// Three tables' change streams, zipped into one stream of versions.
fn streams() -> impl Strategy<Value = Vec<Vec<ChangeBatch>>> {
    let one = |t: &'static str| change_stream_of(t, row(), 6, 7, 5);
    (one("t1"), one("t2"), one("t3")).prop_map(|(a, b, c)| {
        let n = a.len().max(b.len()).max(c.len());
        (0..n).map(|i| [&a, &b, &c].iter().filter_map(|s| s.get(i).cloned()).collect()).collect()
    })
}

/// Steps `plan` through `versions`, checking the circuit (and a second one
/// hydrated at version `late`) against the reference after every version.
fn check(plan: &Plan, versions: &[Vec<ChangeBatch>], late: usize) -> Result<(), TestCaseError> {
    let mut tables = Tables::new();
    let (mut circuit, initial) = Circuit::new(plan.clone(), &mut tables);
    prop_assert!(initial.is_empty());
    let mut view: ZSet<Value> = ZSet::new();
    let mut late_view: Option<(Circuit, ZSet<Value>)> = None;
    for (step, batches) in versions.iter().enumerate() {
        if step == late {
            let (c, initial) = Circuit::new(plan.clone(), &mut tables);
            prop_assert_eq!(&initial, &evaluate(plan, &tables), "hydration at version {}", step);
            late_view = Some((c, initial));
        }
        let delta = Delta::from_batches(batches);
        tables.check(&delta).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let change = circuit.step(&tables, &delta);
        let late_change = late_view.as_mut().map(|(c, _)| c.step(&tables, &delta));
        tables.apply(&delta).map_err(|e| TestCaseError::fail(e.to_string()))?;
        view += &change;
        let expected = evaluate(plan, &tables);
        prop_assert_eq!(&view, &expected, "after version {} of plan\n{}", step, plan);
        if let (Some((_, lv)), Some(lc)) = (late_view.as_mut(), late_change) {
            *lv += &lc;
            prop_assert_eq!(&*lv, &expected, "late circuit after version {}", step);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn random_plans_equal_the_reference_after_every_step(
        specs in prop::collection::vec(spec(), 1..5),
        versions in streams(),
        late in 0usize..6,
    ) {
        check(&build(&specs), &versions, late)?;
    }
}

/// Rows whose numbers are equal values of different kinds (`1`, `1.0f`,
/// `1dec`, ...) and whose other fields rarely differ, so that a write often
/// changes nothing but the kind of a number.
fn kind_row() -> impl Strategy<Value = Value> {
    let n = prop_oneof![
        Just(Value::from(1)),
        Just(Value::from(1.0)),
        Just(Value::from(ssp_core::Decimal::from(1))),
        Just(Value::from(-3)),
        Just(Value::from(-3.0)),
        Just(Value::from(ssp_core::Decimal::new(-30, 1))),
        Just(Value::from(0.5)),
        Just(Value::from(ssp_core::Decimal::new(5, 1))),
    ];
    (0i64..2, n).prop_map(|(k, n)| {
        let mut o = ssp_core::Object::new();
        o.insert("k", Value::from(k));
        o.insert("s", Value::from(""));
        o.insert("n", n);
        Value::Object(o)
    })
}

/// [`streams`] of [`kind_row`]s.
fn kind_streams() -> impl Strategy<Value = Vec<Vec<ChangeBatch>>> {
    let one = |t: &'static str| change_stream_of(t, kind_row(), 4, 8, 4);
    (one("t1"), one("t2"), one("t3")).prop_map(|(a, b, c)| {
        let n = a.len().max(b.len()).max(c.len());
        (0..n).map(|i| [&a, &b, &c].iter().filter_map(|s| s.get(i).cloned()).collect()).collect()
    })
}

proptest! {
    #![proptest_config(config(1000))]

    // A change of a number's kind alone nets out of a version's change (the
    // rows are equal), so the tables keep the row in its old kind while later
    // removals name the new one: circuits must see those removals as the
    // tables hold the row (an aggregation keeps kinds apart, and was left
    // with a stale min/max or a sum of the wrong kind).
    #[test]
    fn kind_only_changes_leave_no_stale_state(
        specs in prop::collection::vec(spec(), 0..3),
        group in prop::option::of(Just(Expr::field("k"))),
        f in prop_oneof![
            Just(AggFn::Sum(Expr::field("n"))),
            Just(AggFn::Min(Expr::field("n"))),
            Just(AggFn::Max(Expr::field("n"))),
            Just(AggFn::Mean(Expr::field("n"))),
            Just(AggFn::Collect(Expr::field("n"))),
        ],
        versions in kind_streams(),
        late in 0usize..6,
    ) {
        // Random operators, then an aggregation of `n` over the last of them.
        let mut specs = specs;
        specs.push(Spec::Aggregate(specs.len() + TABLES.len() - 1, group, f));
        check(&build(&specs), &versions, late)?;
    }
}

/// One operator over one or two base tables, so that every operator meets
/// many streams on its own (and its shared-state path is exercised).
fn single(op: Spec) -> Plan {
    build(&[op])
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn filter_over_a_table(p in predicate(), v in streams(), late in 0usize..6) {
        check(&single(Spec::Filter(0, p)), &v, late)?;
    }

    #[test]
    fn join_of_two_tables(x in field(), y in field(), v in streams(), late in 0usize..6) {
        check(&single(Spec::Join(0, 1, x, y)), &v, late)?;
    }

    #[test]
    fn semi_and_anti_join_of_two_tables(anti in any::<bool>(), v in streams(), late in 0usize..6) {
        check(&single(Spec::Semi(0, 1, Expr::field("k"), Expr::field("k"), anti)), &v, late)?;
    }

    #[test]
    fn aggregate_of_a_table(g in prop::option::of(field()), f in agg(), v in streams(), late in 0usize..6) {
        check(&single(Spec::Aggregate(0, g, f)), &v, late)?;
    }

    #[test]
    fn top_k_of_a_filtered_table(
        k in 0i64..4,
        order in prop::collection::vec((field(), direction()), 1..3),
        limit in 0usize..5,
        offset in 0usize..3,
        v in streams(),
        late in 0usize..6,
    ) {
        // `k = <k>` partitions the shared order index.
        let plan = build(&[
            Spec::Filter(0, Expr::field("k").eq(Expr::lit(k))),
            Spec::TopK(3, order, limit, offset),
        ]);
        check(&plan, &v, late)?;
    }

    #[test]
    fn top_k_of_a_projection(order in prop::collection::vec((field(), direction()), 1..3), limit in 0usize..5, offset in 0usize..3, v in streams()) {
        // Projections make rows of weight > 1: the window counts them.
        let plan = build(&[
            Spec::Map(0, vec![("k".into(), Expr::field("k"))]),
            Spec::TopK(3, order, limit, offset),
        ]);
        check(&plan, &v, 2)?;
    }

    #[test]
    fn reach_over_an_edge_table(min in 1u32..3, extra in 0u32..4, v in streams(), late in 0usize..6) {
        check(&single(Spec::Reach(0, 1, min, min + extra)), &v, late)?;
    }
}

proptest! {
    #![proptest_config(config(300))]

    // Circuits of one parameterized plan share the plan and the shared
    // indexes; each must still equal the reference with its own parameters.
    #[test]
    fn parameterized_circuits_share_a_plan(
        order in prop::collection::vec((field(), direction()), 1..3),
        limit in 0usize..5,
        agg_fn in agg(),
        v in streams(),
    ) {
        let mut b = PlanBuilder::new();
        let t = b.source("t1");
        let f = b.filter(t, Expr::field("k").eq(Expr::Param(0)).and(Expr::field("s").ne(Expr::Param(1))));
        let top = b.top_k(f, order, limit, 0);
        let u = b.source("t2");
        let g = b.filter(u, Expr::field("k").ge(Expr::Param(0)));
        let agg = b.aggregate(g, vec![("g".into(), Expr::field("s"))], vec![("a".into(), agg_fn)]);
        let both = b.union(top, agg);
        let plan = std::sync::Arc::new(b.build(both).expect("valid plan"));
        let mut tables = Tables::new();
        let params: Vec<Vec<Value>> = (0..3).map(|k| vec![Value::from(k), Value::from("a")]).collect();
        let mut circuits: Vec<(Circuit, ZSet<Value>)> =
            params.iter().map(|p| Circuit::with_params(plan.clone(), p.clone(), &mut tables)).collect();
        for batches in &v {
            let delta = Delta::from_batches(batches);
            let changes: Vec<ZSet<Value>> = circuits.iter_mut().map(|(c, _)| c.step(&tables, &delta)).collect();
            tables.apply(&delta).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for ((circuit, view), change) in circuits.iter_mut().zip(changes) {
                *view += &change;
                prop_assert_eq!(&*view, &ssp_ops::evaluate_with(&plan, circuit.params(), &tables));
            }
        }
    }
}

/// Circuits of several plans made and released as the tables change: every
/// live circuit equals the reference after every version (a released index's
/// slot is taken by the next index registered, perhaps another one), and the
/// tables hold no shared index once every circuit is released.
fn check_comings_and_goings(plans: &[Plan], versions: &[Vec<ChangeBatch>]) -> Result<(), TestCaseError> {
    let mut tables = Tables::new();
    let mut live: Vec<(usize, Circuit, ZSet<Value>)> = Vec::new();
    for (step, batches) in versions.iter().enumerate() {
        // The change is checked (and prepared for the tables) before the
        // circuits come and go, so that what was prepared goes stale.
        let delta = Delta::from_batches(batches);
        tables.check(&delta).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Every other version the oldest circuit is released, then one is
        // made (of the plans in turn), perhaps in the slots just freed.
        if step % 2 == 1 {
            let (_, oldest, _) = live.remove(0);
            oldest.release(&mut tables);
        }
        let which = step % plans.len();
        let (circuit, initial) = Circuit::new(plans[which].clone(), &mut tables);
        prop_assert_eq!(&initial, &evaluate(&plans[which], &tables), "hydration at version {}", step);
        live.push((which, circuit, initial));
        let changes: Vec<ZSet<Value>> = live.iter_mut().map(|(_, c, _)| c.step(&tables, &delta)).collect();
        tables.apply(&delta).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for ((which, _, view), change) in live.iter_mut().zip(changes) {
            *view += &change;
            prop_assert_eq!(&*view, &evaluate(&plans[*which], &tables), "plan {} after version {}", which, step);
        }
    }
    for (_, circuit, _) in live {
        circuit.release(&mut tables);
    }
    prop_assert_eq!(tables.index_count(), 0, "every shared index released");
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn circuits_made_and_released_as_tables_change_equal_the_reference(
        a in prop::collection::vec(spec(), 1..4),
        b in prop::collection::vec(spec(), 1..4),
        versions in streams(),
    ) {
        check_comings_and_goings(&[build(&a), build(&b)], &versions)?;
    }
}
