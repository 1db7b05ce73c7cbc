//! The planner's correctness spine: random queries of the subset over random
//! tables and change streams. After every version,
//! - every rewrite pass preserves the interpreter's result, and
//! - the lowered circuit, stepped incrementally (and a second one hydrated
//!   late), equals the interpreter on the bound plan.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use smol_str::SmolStr;
use ssp_core::strategies::{change_stream_of, row};
use ssp_core::{ChangeBatch, RecordId, Value, ZSet};
use ssp_ops::{Circuit, Delta, Tables};
use ssp_planner::builder::{E, Query, call, count, field, graph, lit, param, reach, subquery};
use ssp_planner::logical::Rel;
use ssp_planner::{Direction, Kind, Params, Schema, TableDef, interpret_zset, parse, plan, rewrite};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/oracle.txt"))),
        ..ProptestConfig::default()
    }
}

/// Two schemaless tables; `t1.r` is declared a link to `t2`.
fn schema() -> Schema {
    let mut s = Schema::new();
    let link = Kind::Option(Box::new(Kind::Record(Some("t2".into()))));
    s.define("t1", TableDef { fields: [(SmolStr::from("r"), link)].into_iter().collect(), ..TableDef::default() });
    s.define("t2", TableDef::default());
    s.define("e", TableDef::default());
    s
}

/// Edges of `e`: from a record of `t1` to one of `t2` or `t1`.
fn edge() -> impl Strategy<Value = Value> {
    (0i64..6, any::<bool>(), 0i64..6).prop_map(|(from, to_t2, to)| {
        let mut v = Value::Object(ssp_core::Object::new());
        v.put(&"in".parse().expect("a path"), Value::from(RecordId::new("t1", from)));
        v.put(&"out".parse().expect("a path"), Value::from(RecordId::new(if to_t2 { "t2" } else { "t1" }, to)));
        v
    })
}

/// Rows of `row()`, with a link `r` to a record of `t2` in most.
fn linked_row() -> impl Strategy<Value = Value> {
    (row(), prop::option::of(0i64..6)).prop_map(|(mut v, link)| {
        if let Some(k) = link {
            v.put(&"r".parse().expect("a path"), Value::from(RecordId::new("t2", k)));
        }
        v
    })
}

fn small_lit() -> impl Strategy<Value = E> {
    prop_oneof![
        (0i64..4).prop_map(lit),
        "[a-c]{0,2}".prop_map(|s: String| lit(s.as_str())),
        Just(lit(1.5f64)),
        Just(lit(Value::None)),
    ]
}

fn plain_field() -> impl Strategy<Value = E> {
    prop_oneof![Just(field("k")), Just(field("s")), Just(field("n")), Just(field("opt"))]
}

fn compare(a: E, op: u8, b: E) -> E {
    match op % 6 {
        0 => a.eq(b),
        1 => a.ne(b),
        2 => a.lt(b),
        3 => a.le(b),
        4 => a.gt(b),
        _ => a.ge(b),
    }
}

/// A condition on rows of `t1` (`with_links`: it may read `r.k`).
fn condition(with_links: bool) -> BoxedStrategy<E> {
    let atom = prop_oneof![
        4 => (plain_field(), any::<u8>(), small_lit()).prop_map(|(f, op, l)| compare(f, op, l)),
        1 => (any::<u8>(), 0i64..4).prop_map(|(op, v)| compare(field("n") + lit(1), op, lit(v))),
        1 => (0i64..3).prop_map(|v| call("string::len", [field("s")]).gt(lit(v))),
        1 => Just(field("s").inside(lit(Value::Array(vec![Value::from("a"), Value::from("b")].into_iter().collect())))),
        1 => Just(field("k").eq(param("p"))),
        1 => Just(field("k").eq(lit(1) + lit(1))),
        1 => (0i64..4).prop_map(move |v| if with_links { field("r.k").ge(lit(v)) } else { field("k").ge(lit(v)) }),
        // Graph steps.
        1 => (any::<bool>(), 0i64..2).prop_map(|(out, v)| {
            let walk = if out { graph(true, "e", "t2") } else { graph(false, "e", "t1") };
            call("array::len", [walk]).gt(lit(v))
        }),
        1 => (0i64..3).prop_map(|v| {
            let counted = Query::from("t2").value(count()).filter(field("s").eq(param("parent.s"))).group_all();
            subquery(counted).contains(lit(v))
        }),
        // Correlated and uncorrelated subqueries as values.
        1 => (0i64..3).prop_map(|v| {
            let kids = subquery(Query::from("t2").value(field("id")).filter(field("k").eq(param("parent.k"))));
            call("array::len", [kids]).gt(lit(v))
        }),
        1 => (plain_field(), any::<u8>(), small_lit()).prop_map(|(f, op, l)| {
            let all = subquery(Query::from("t2").value(field("k")).filter(compare(f, op, l)));
            call("array::len", [all]).ge(field("k"))
        }),
        2 => (any::<bool>(), plain_field(), any::<u8>(), small_lit()).prop_map(|(anti, f, op, l)| {
            let sub = subquery(Query::from("t2").value(field("k")).filter(compare(f, op, l)));
            if anti { field("k").not_inside(sub) } else { field("k").inside(sub) }
        }),
    ]
    .boxed();
    prop_oneof![
        3 => atom.clone(),
        1 => (atom.clone(), atom.clone()).prop_map(|(a, b)| a.and(b)),
        1 => (atom.clone(), atom.clone()).prop_map(|(a, b)| a.or(b)),
        1 => atom.prop_map(|a| !a),
    ]
    .boxed()
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Asc), Just(Direction::Desc)]
}

/// A random query over `t1` (sometimes `t1, t2`) from the subset's grammar.
fn query() -> BoxedStrategy<Query> {
    let from = prop_oneof![4 => Just(false), 1 => Just(true)];
    let shape = prop_oneof![
        // Projections.
        Just(0u8),
        Just(1),
        Just(2),
        Just(3),
        Just(4),
        // Grouped.
        Just(5),
        Just(6),
        // Ordered with LIMIT/START.
        Just(7),
        Just(8),
        // Correlated subqueries in the projection.
        Just(9),
        Just(10),
        // Graph steps and FETCH.
        Just(11),
        Just(12),
        // Recursive graph walks.
        Just(13),
        // Aggregating subqueries.
        Just(14),
    ];
    (from, prop::option::of(condition(true)), prop::option::of(condition(false)), shape, direction(), 0i64..4, 0i64..3)
        .prop_map(|(union, cond_t1, cond_any, shape, dir, limit, start)| {
            let mut q = Query::from("t1");
            if union {
                q = q.and_from("t2");
            }
            // Links are declared on t1 only: a union reads plain fields.
            if let Some(c) = if union { cond_any } else { cond_t1.or(cond_any) } {
                q = q.filter(c);
            }
            match shape {
                0 => q,
                1 => q.fields(["s", "k"]),
                2 => q.value(field("k")),
                3 => q.all().field_as(field("n") * lit(2), "d").omit("opt"),
                4 if !union => q.fields(["s"]).field_as(field("r.s"), "rs"),
                4 => q.fields(["s"]),
                5 => q
                    .group_by("k")
                    .fields(["k"])
                    .field_as(count(), "c")
                    .field_as(call("math::sum", [field("n")]), "total")
                    .field_as(call("math::max", [field("s")]), "top"),
                6 => q
                    .group_all()
                    .field_as(count(), "c")
                    .field_as(call("math::min", [field("n")]), "low")
                    .field_as(call("math::mean", [field("n")]), "avg"),
                7 => q.order_by("n", dir).limit(limit).start(start),
                9 => q.fields(["s"]).field_as(
                    subquery(Query::from("t2").value(field("s")).filter(field("k").eq(param("parent.k")))),
                    "kids",
                ),
                11 => {
                    q.fields(["s"]).field_as(graph(true, "e", "t2"), "next").field_as(graph(false, "e", "t1"), "prev")
                }
                12 if !union => q.fetch("r"),
                14 => q
                    .fields(["k"])
                    .field_as(
                        subquery(Query::from("t2").value(count()).filter(field("k").eq(param("parent.k"))).group_all()),
                        "n",
                    )
                    .field_as(
                        subquery(Query::from("t2").field_as(call("math::sum", [field("n")]), "total").group_all()),
                        "all",
                    ),
                13 => q
                    .fields(["k"])
                    .field_as(reach("id", (limit as u32) + 1, true, "e", "t1"), "walk")
                    .field_as(reach("id", 2, false, "e", "t1"), "back"),
                12 => q.fields(["k"]),
                10 => q.fields(["k"]).field_as(
                    subquery(
                        Query::from("t2")
                            .fields(["n", "s"])
                            .filter(param("parent.opt").eq(field("opt")).and(field("s").ne(lit(""))))
                            .order_by("s", Direction::Asc),
                    ),
                    "kids",
                ),
                _ => q.fields(["s", "n"]).order_by("s", dir).order_by("n", Direction::Desc).limit(limit.max(1)),
            }
        })
        .boxed()
}

/// `t1` and `t2` change streams, zipped into versions.
fn streams() -> impl Strategy<Value = Vec<Vec<ChangeBatch>>> {
    (
        change_stream_of("t1", linked_row(), 6, 7, 5),
        change_stream_of("t2", row(), 6, 7, 5),
        change_stream_of("e", edge(), 8, 7, 4),
    )
        .prop_map(|(a, b, c)| {
            let n = a.len().max(b.len()).max(c.len());
            (0..n).map(|i| [&a, &b, &c].iter().filter_map(|s| s.get(i).cloned()).collect()).collect()
        })
}

/// A rewrite pass, by name.
type Pass = (&'static str, fn(Rel, &Schema) -> Rel);

fn passes() -> Vec<Pass> {
    vec![
        ("fold_constants", |r, _| rewrite::fold_constants(r)),
        ("unnest_subqueries", |r, _| rewrite::unnest_subqueries(r)),
        ("push_predicates", |r, _| rewrite::push_predicates(r)),
        ("push_projections", |r, _| rewrite::push_projections(r)),
        ("order_joins", rewrite::order_joins),
    ]
}

fn check(query: Query, versions: &[Vec<ChangeBatch>], late: usize, p: i64) -> Result<(), TestCaseError> {
    let schema = schema();
    let params: Params = BTreeMap::from([(SmolStr::from("p"), Value::from(p))]);
    let select = query.build();
    let planned = plan(&select, &schema, &params).map_err(|e| TestCaseError::fail(format!("{e}\n{select}")))?;
    // The same query as SurrealQL text plans identically.
    let text = select.to_string();
    let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{}\n{text}", e.display_with(&text))))?;
    let from_text = plan(&parsed, &schema, &params).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(&from_text.bound, &planned.bound, "the text {} plans differently", text);
    prop_assert_eq!(&*from_text.lowered.plan, &*planned.lowered.plan);
    let slots = planned.lowered.bind(&params).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut tables = Tables::new();
    let (mut circuit, initial) = Circuit::with_params(planned.lowered.plan.clone(), slots.clone(), &mut tables);
    prop_assert!(initial.is_empty());
    let mut view: ZSet<Value> = ZSet::new();
    let mut records = planned.lowered.records.as_ref().map(|plan| {
        let (circuit, initial) = Circuit::with_params(plan.clone(), slots.clone(), &mut tables);
        (circuit, initial)
    });
    let mut late_view: Option<(Circuit, ZSet<Value>)> = None;
    for (step, batches) in versions.iter().enumerate() {
        if step == late {
            late_view = Some(Circuit::with_params(planned.lowered.plan.clone(), slots.clone(), &mut tables));
        }
        let delta = Delta::from_batches(batches);
        tables.check(&delta).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let change = circuit.step(&tables, &delta);
        let late_change = late_view.as_mut().map(|(c, _)| c.step(&tables, &delta));
        let records_change = records.as_mut().map(|(c, _)| c.step(&tables, &delta));
        tables.apply(&delta).map_err(|e| TestCaseError::fail(e.to_string()))?;
        view += &change;
        let expected = interpret_zset(&planned.bound, &tables, &params);
        for (name, pass) in passes() {
            let rewritten = pass(planned.bound.clone(), &schema);
            prop_assert_eq!(
                &interpret_zset(&rewritten, &tables, &params),
                &expected,
                "pass {} changed the result of\n{}into\n{}",
                name,
                planned.bound,
                rewritten
            );
        }
        prop_assert_eq!(&interpret_zset(&planned.optimized, &tables, &params), &expected, "optimized plan");
        prop_assert_eq!(&view, &expected, "after version {}:\n{}", step, planned.explain());
        let expected_records = ssp_planner::interpret_records(&planned.bound, &tables, &params);
        match (records.as_mut(), records_change) {
            (Some((_, held)), Some(change)) => {
                *held += &change;
                prop_assert_eq!(&*held, &expected_records, "records after version {}:\n{}", step, planned.explain());
            }
            _ => prop_assert!(expected_records.is_empty(), "a grouped view shows no records"),
        }
        if let (Some((_, lv)), Some(lc)) = (late_view.as_mut(), late_change) {
            *lv += &lc;
            prop_assert_eq!(&*lv, &expected, "late circuit after version {}", step);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn lowered_circuits_equal_the_interpreter_after_every_step(
        q in query(),
        v in streams(),
        late in 0usize..6,
        p in 0i64..4,
    ) {
        check(q, &v, late, p)?;
    }
}
