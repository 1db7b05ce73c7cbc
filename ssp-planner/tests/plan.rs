//! Planning: EXPLAIN output pinned for representative views, schema checks
//! and rejections with their error kinds.

use std::collections::BTreeMap;

use ssp_planner::builder::{Query, call, count, field, lit, param, subquery};
use ssp_planner::{Direction, Kind, Params, PlanErrorKind, Schema, bind, plan};

fn schema() -> Schema {
    Schema::new().table("user", [("name", Kind::String), ("age", Kind::Int)]).table(
        "issue",
        [
            ("title", Kind::String),
            ("status", Kind::String),
            ("score", Kind::Int),
            ("author", Kind::Record(Some("user".into()))),
        ],
    )
}

fn explain(q: Query) -> String {
    plan(&q.build(), &schema(), &Params::new()).expect("a plan").explain()
}

#[test]
fn explain_top_k() {
    let q =
        Query::from("issue").filter(field("status").eq(param("status"))).order_by("score", Direction::Desc).limit(10);
    assert_eq!(
        explain(q),
        "logical plan:
TopK ORDER BY score DESC, id ASC LIMIT 10
  Filter status = $status
    Scan issue
circuit:
#0 source issue
#1 filter status = $0 <- #0
#2 top-k order by score Desc, id Asc limit 10 start 0 <- #1
output #2
records: the rows themselves
parameters:
  $0 = $status
"
    );
}

#[test]
fn explain_group_by() {
    let q = Query::from("issue")
        .group_by("status")
        .fields(["status"])
        .field_as(count(), "n")
        .field_as(call("math::sum", [field("score")]), "total");
    assert_eq!(
        explain(q),
        "logical plan:
Aggregate BY status: count() AS n, math::sum(score) AS total
  Scan issue
circuit:
#0 source issue
#1 aggregate by [status] computing [n, total] <- #0
output #1
records: none (computed rows)
"
    );
}

#[test]
fn explain_subquery_becomes_a_semi_join() {
    let adults = subquery(Query::from("user").value(field("id")).filter(field("age").ge(lit(18))));
    let q = Query::from("issue")
        .fields(["title"])
        .filter(field("author").inside(adults).and(field("score").gt(lit(1 + 2))));
    assert_eq!(
        explain(q),
        "logical plan:
Project title
  SemiJoin author IN right
    Filter score > 3
      Scan issue
    Project VALUE id
      Filter age >= 18
        Scan user
circuit:
#0 source issue
#1 filter score > 3 <- #0
#2 source user
#3 filter age >= 18 <- #2
#4 map id <- #3
#5 semi-join on author = $this <- #1, #4
#6 map { title: title } <- #5
output #6
records circuit:
#0 source issue
#1 filter score > 3 <- #0
#2 source user
#3 filter age >= 18 <- #2
#4 map id <- #3
#5 semi-join on author = $this <- #1, #4
output #5
"
    );
}

#[test]
fn explain_record_link() {
    let q = Query::from("issue").fields(["title"]).field_as(field("author.name"), "by");
    assert_eq!(
        explain(q),
        "logical plan:
Project title, author->user.name AS by
  Scan issue
circuit:
#0 source issue
#1 source user
#2 join on author = id <- #0, #1
#3 anti-join on author = id <- #0, #1
#4 map { title: l.title, by: r.name } <- #2
#5 map { title: title, by: NONE } <- #3
#6 union <- #4, #5
output #6
records circuit:
#0 source issue
#1 source user
#2 semi-join on id = author <- #1, #0
#3 union <- #0, #2
#4 distinct <- #3
output #4
"
    );
}

#[test]
fn explain_union_of_tables_pushes_filters_down() {
    let q = Query::from("issue").and_from("user").value(field("id")).filter(field("id").ne(lit(ssp_core::Value::None)));
    assert_eq!(
        explain(q),
        "logical plan:
Union
  Project VALUE id
    Filter id != NONE
      Scan issue
  Project VALUE id
    Filter id != NONE
      Scan user
circuit:
#0 source issue
#1 filter id != NONE <- #0
#2 map id <- #1
#3 source user
#4 filter id != NONE <- #3
#5 map id <- #4
#6 union <- #2, #5
output #6
records circuit:
#0 source issue
#1 filter id != NONE <- #0
#2 source user
#3 filter id != NONE <- #2
#4 union <- #1, #3
output #4
"
    );
}

#[test]
fn schema_errors_name_the_problem() {
    let s = schema();
    let err = |q: Query| bind(&q.build(), &s).expect_err("an error").kind;
    assert!(matches!(err(Query::from("nope")), PlanErrorKind::UnknownTable { table } if table == "nope"));
    assert!(matches!(
        err(Query::from("issue").filter(field("colour").eq(lit("red")))),
        PlanErrorKind::UnknownField { table, field } if table == "issue" && field == "colour"
    ));
    assert!(matches!(
        err(Query::from("issue").filter(field("score").eq(lit("high")))),
        PlanErrorKind::TypeMismatch { .. }
    ));
    assert!(matches!(
        err(Query::from("issue").filter(call("string::len", [field("score")]).gt(lit(1)))),
        PlanErrorKind::TypeMismatch { .. }
    ));
    // Without a schema, the same queries are fine.
    let open = Schema::new();
    assert!(bind(&Query::from("nope").filter(field("colour").eq(lit("red"))).build(), &open).is_ok());
}

#[test]
fn what_cannot_be_maintained_is_rejected() {
    let s = schema();
    let err = |q: Query| bind(&q.build(), &s).expect_err("an error").kind;
    assert!(matches!(
        err(Query::from("issue").filter(call("time::now", []).gt(lit(1)))),
        PlanErrorKind::NonDeterministic { name, .. } if name == "time::now"
    ));
    assert!(matches!(
        err(Query::from("issue").filter(call("rand::uuid", []).gt(lit(1)))),
        PlanErrorKind::NonDeterministic { .. }
    ));
    assert!(matches!(
        err(Query::from("issue").filter(call("string::nope", [field("title")]))),
        PlanErrorKind::UnknownFunction { .. }
    ));
    // Deterministic functions SSP lacks are unknown, not non-deterministic.
    assert!(matches!(
        err(Query::from("issue").filter(call("time::floor", [field("title")]))),
        PlanErrorKind::UnknownFunction { .. }
    ));
    assert!(matches!(err(Query::from("issue").filter(call("rand", []))), PlanErrorKind::NonDeterministic { .. }));
    assert!(matches!(
        err(Query::from("issue").filter(call("string::lowercase", [field("title"), field("title")]))),
        PlanErrorKind::Arity { expected: 1, found: 2, .. }
    ));
    assert!(matches!(err(Query::from("issue").field_as(count(), "n")), PlanErrorKind::Unsupported { .. }));
    assert!(matches!(
        err(Query::from("issue").group_by("status").fields(["title"])),
        PlanErrorKind::Unsupported { .. }
    ));
    // LIMIT $n fixes the plan's shape: planning without its value is an error.
    let q = Query::from("issue").order_by("score", Direction::Asc).build();
    let mut with_param = q.clone();
    with_param.limit = Some(param("n").0);
    let e = plan(&with_param, &s, &Params::new()).expect_err("a missing parameter");
    assert!(matches!(e.kind, PlanErrorKind::MissingParam { .. }));
    let params: Params = BTreeMap::from([("n".into(), ssp_core::Value::from(3))]);
    assert!(plan(&with_param, &s, &params).is_ok());
    // A correlated subquery with LIMIT would need a top-k per parent row: a
    // clear error, not a wrong view.
    let correlated =
        subquery(Query::from("user").value(field("id")).filter(field("id").eq(param("parent.author"))).limit(2));
    let e =
        plan(&Query::from("issue").field_as(correlated, "who").build(), &s, &Params::new()).expect_err("unsupported");
    assert!(matches!(e.kind, PlanErrorKind::Unsupported { .. }), "{e}");
    // Without LIMIT, it is maintained.
    let correlated = subquery(Query::from("user").value(field("id")).filter(field("id").eq(param("parent.author"))));
    assert!(plan(&Query::from("issue").field_as(correlated, "who").build(), &s, &Params::new()).is_ok());
}

#[test]
fn builder_and_text_plan_identically() {
    let s = schema();
    let text = "SELECT title, score FROM issue WHERE status = $status AND score > 10 ORDER BY score DESC LIMIT 10";
    let built = Query::from("issue")
        .fields(["title", "score"])
        .filter(field("status").eq(param("status")).and(field("score").gt(lit(10))))
        .order_by("score", Direction::Desc)
        .limit(10);
    let parsed = ssp_planner::parse(text).expect("a query");
    assert_eq!(parsed, built.clone().build());
    let params = Params::new();
    let (a, b) = (plan(&parsed, &s, &params).expect("a plan"), plan(&built.build(), &s, &params).expect("a plan"));
    assert_eq!(a.bound, b.bound);
    assert_eq!(a.optimized, b.optimized);
    assert_eq!(a.lowered.plan, b.lowered.plan);
}

#[test]
fn planning_errors_point_into_the_text() {
    let s = schema();
    let cases = [
        ("SELECT * FROM issue WHERE colour = 'red'", "colour"),
        ("SELECT * FROM nope", "nope"),
        ("SELECT * FROM issue WHERE score = 'high'", "score = 'high'"),
        ("SELECT * FROM issue WHERE time::now() > 1", "time::now()"),
        ("SELECT title, score * 2 FROM issue", "score * 2"),
        ("SELECT * FROM issue WHERE ->a->b->c->d", "->c"),
    ];
    for (text, at) in cases {
        let parsed = ssp_planner::parse(text).expect("a query");
        let err = bind(&parsed, &s).expect_err(text);
        assert_eq!(err.span.text(text), at, "{text}: {err}");
    }
}

#[test]
fn recursive_walks_plan_from_text() {
    let s = Schema::new();
    let params = Params::new();
    let ok = "SELECT id, id.{1..3+collect}(->knows->person) AS circle FROM person";
    let planned = plan(&ssp_planner::parse(ok).expect("a query"), &s, &params).expect("a plan");
    assert!(planned.lowered.plan.to_string().contains("reach"), "{}", planned.explain());
    for (text, at) in [
        ("SELECT id.{2..3+collect}(->knows->person) AS c FROM person", ".{2..3+collect}(->knows->person)"),
        ("SELECT id.{1..3}(->knows->person) AS c FROM person", ".{1..3}(->knows->person)"),
        ("SELECT id.{1..3+collect}(->knows->person->likes->post) AS c FROM person", "->knows->person->likes->post"),
    ] {
        let err = bind(&ssp_planner::parse(text).expect("a query"), &s).expect_err(text);
        assert!(matches!(err.kind, PlanErrorKind::Unsupported { .. }), "{text}: {err}");
        assert_eq!(err.span.text(text), at, "{text}: {err}");
    }
}

/// Every query of the parser's corpus either plans (and its circuit hydrates
/// over empty tables) or is refused with a typed error: never a panic. Most
/// of the corpus is meant as live views and must plan.
#[test]
fn the_parser_corpus_plans_or_is_refused_with_a_reason() {
    let corpus = include_str!("corpus/accepted.surql");
    let params: Params =
        BTreeMap::from([("n".into(), ssp_core::Value::from(5)), ("limit".into(), ssp_core::Value::from(5))]);
    let (mut planned, mut refused) = (0, Vec::new());
    for query in corpus.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("--")) {
        let select = ssp_planner::parse(query).expect("the corpus parses");
        match plan(&select, &Schema::new(), &params) {
            Ok(p) => {
                let mut tables = ssp_ops::Tables::new();
                let (_, rows) =
                    ssp_ops::Circuit::with_params(p.lowered.plan.clone(), p.lowered.bind(&params), &mut tables);
                assert!(rows.is_empty(), "{query}");
                planned += 1;
            }
            Err(e) => refused.push(format!("{query}\n    {e}")),
        }
    }
    let total = planned + refused.len();
    assert!(
        planned * 4 >= total * 3,
        "only {planned} of {total} corpus queries plan; refused:\n{}",
        refused.join("\n")
    );
}
