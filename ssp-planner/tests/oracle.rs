//! The planner's correctness spine: random queries of the subset over random
//! tables and change streams. After every version,
//! - every rewrite pass preserves the interpreter's result, and
//! - the lowered circuit, stepped incrementally (and a second one hydrated
//!   late), equals the interpreter on the bound plan.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use smol_str::SmolStr;

use ssp_core::{ChangeBatch, Value, ZSet};
use ssp_ops::{Circuit, Delta, Tables};
use ssp_planner::builder::Query;
use ssp_planner::logical::Rel;
use ssp_planner::strategies::views::{query, schema, streams};
use ssp_planner::{Params, Schema, interpret_zset, parse, plan, rewrite};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/oracle.txt"))),
        ..ProptestConfig::default()
    }
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
