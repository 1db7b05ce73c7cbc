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
                let (_, rows) = ssp_ops::Circuit::with_params(
                    p.lowered.plan.clone(),
                    p.lowered.bind(&params).expect("the parameters fit"),
                    &mut tables,
                );
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

/// Plans `text`, steps its circuits through `versions` of `tables`, and
/// checks rows and records against the interpreter after every version.
fn agrees_with_the_interpreter(text: &str, schema: &Schema, versions: &[Vec<ssp_core::ChangeBatch>]) {
    let params = Params::new();
    let select = ssp_planner::parse(text).unwrap_or_else(|e| panic!("{}", e.display_with(text)));
    let planned = plan(&select, schema, &params).unwrap_or_else(|e| panic!("{text}: {e}"));
    let slots = planned.lowered.bind(&params).expect("no parameters");
    let mut tables = ssp_ops::Tables::new();
    let (mut rows, mut held) = ssp_ops::Circuit::with_params(planned.lowered.plan.clone(), slots.clone(), &mut tables);
    let mut records =
        planned.lowered.records.as_ref().map(|p| ssp_ops::Circuit::with_params(p.clone(), slots.clone(), &mut tables));
    for (i, batches) in versions.iter().enumerate() {
        let delta = ssp_ops::Delta::from_batches(batches);
        tables.check(&delta).expect("a consistent change");
        held += &rows.step(&tables, &delta);
        if let Some((c, r)) = records.as_mut() {
            *r += &c.step(&tables, &delta);
        }
        tables.apply(&delta).expect("a consistent change");
        assert_eq!(held, ssp_planner::interpret_zset(&planned.bound, &tables, &params), "{text}, version {i}");
        let shown = ssp_planner::interpret_records(&planned.bound, &tables, &params);
        match &records {
            Some((_, r)) => assert_eq!(*r, shown, "records of {text}, version {i}"),
            None => assert!(shown.is_empty(), "{text}"),
        }
    }
}

/// Two versions of `t` and `t2`: inserts, then an update and a delete.
fn two_versions() -> Vec<Vec<ssp_core::ChangeBatch>> {
    use ssp_core::{ChangeBatch, Record, RecordId, Value, Version};
    let row = |s: &str| s.parse::<Value>().expect("a row");
    let mut t = ChangeBatch::new("t", Version(1));
    for (k, v) in [
        (1, "{ k: 1, n: 2, s: 'a', a: { b: 1 }, r: t2:1 }"),
        (2, "{ k: 2, n: 3.5f, s: '', a: { b: 1 }, r: t2:9 }"),
        (3, "{ k: 1, n: 5, s: 'b', a: { b: 2 } }"),
    ] {
        t.insert(Record::new(RecordId::new("t", k), Version(1), row(v))).expect("a record of t");
    }
    let mut t2 = ChangeBatch::new("t2", Version(1));
    for (k, v) in [(1, "{ k: 1, n: 1 }"), (2, "{ k: 2, n: 7 }")] {
        t2.insert(Record::new(RecordId::new("t2", k), Version(1), row(v))).expect("a record of t2");
    }
    let mut change = ChangeBatch::new("t", Version(2));
    change
        .delete(Record::new(RecordId::new("t", 3), Version(1), row("{ k: 1, n: 5, s: 'b', a: { b: 2 } }")))
        .expect("a delete");
    change
        .delete(Record::new(RecordId::new("t", 1), Version(1), row("{ k: 1, n: 2, s: 'a', a: { b: 1 }, r: t2:1 }")))
        .expect("a delete");
    change
        .insert(Record::new(RecordId::new("t", 1), Version(2), row("{ k: 2, n: 4, s: 'c', a: { b: 1 }, r: t2:2 }")))
        .expect("an insert");
    vec![vec![t, t2], vec![change]]
}

/// Regressions found in review: each query once disagreed with the
/// interpreter, in its rows or in its records.
#[test]
fn review_regressions_agree_with_the_interpreter() {
    let link = Kind::Option(Box::new(Kind::Record(Some("t2".into()))));
    let mut linked = Schema::new();
    linked.define("t", ssp_planner::TableDef { fields: [("r".into(), link)].into(), ..Default::default() });
    linked.define("t2", ssp_planner::TableDef::default());
    for text in [
        // Unaliased aggregates are named after their function, not quoted.
        "SELECT math::sum(n), count() FROM t GROUP ALL",
        // A group key that is not selected (and not a plain name) stays hidden.
        "SELECT count() AS c FROM t GROUP BY a.b",
        "SELECT count() AS c FROM t GROUP BY a.b ORDER BY c LIMIT 1",
        // Two branches of a union that read the same records show them once.
        "SELECT * FROM t, t:1",
        "SELECT k FROM t, t",
        // A grouped subquery shows no records.
        "SELECT k, (SELECT k, count() AS n FROM t2 GROUP BY k ORDER BY n) AS s FROM t",
        // AND and OR give an operand.
        "SELECT (s OR k) AS v, (s AND n) AS w, (s OR '') AS x FROM t",
        "SELECT * FROM t WHERE (s AND 1) OR (k AND NONE)",
    ] {
        agrees_with_the_interpreter(text, &Schema::new(), &two_versions());
    }
    // A link in a semi-join's key stays a lookup of the filter.
    agrees_with_the_interpreter("SELECT * FROM t WHERE r.k IN (SELECT VALUE k FROM t2)", &linked, &two_versions());
    agrees_with_the_interpreter("SELECT k, r FROM t FETCH r", &linked, &two_versions());
    agrees_with_the_interpreter("SELECT *, r.n AS rn FROM t FETCH r", &linked, &two_versions());
}

#[test]
fn a_parameter_that_shapes_the_plan_must_keep_its_value() {
    let s = Schema::new();
    let select = ssp_planner::parse("SELECT * FROM issue ORDER BY score DESC LIMIT $n").expect("a query");
    let three: Params = BTreeMap::from([("n".into(), ssp_core::Value::from(3))]);
    let planned = plan(&select, &s, &three).expect("a plan");
    assert!(planned.lowered.bind(&three).is_ok());
    let four: Params = BTreeMap::from([("n".into(), ssp_core::Value::from(4))]);
    let e = planned.lowered.bind(&four).expect_err("another shape");
    assert!(matches!(e.kind, PlanErrorKind::ShapeParam { .. }), "{e}");
}

#[test]
fn paths_through_two_links_and_reserved_names_are_refused() {
    let s = Schema::new()
        .table("team", [("name", Kind::String)])
        .table("user", [("team", Kind::Record(Some("team".into())))])
        .table("post", [("author", Kind::Record(Some("user".into())))]);
    for (text, at) in [
        ("SELECT author.team.name AS t FROM post", "author.team.name"),
        ("SELECT author AS __k FROM post", "__k"),
        ("SELECT count() AS n OMIT n FROM post GROUP ALL", "n"),
    ] {
        let err = bind(&ssp_planner::parse(text).expect("a query"), &s).expect_err(text);
        assert!(matches!(err.kind, PlanErrorKind::Unsupported { .. }), "{text}: {err}");
        assert_eq!(err.span.text(text), at, "{text}: {err}");
    }
}

#[test]
fn each_lookup_is_built_once_however_many_branches_read_it() {
    let text = "SELECT (SELECT VALUE n FROM t2 WHERE k = $parent.k) AS a, \
                (SELECT VALUE n FROM t2 WHERE n = $parent.n) AS b, \
                (SELECT VALUE k FROM t2 WHERE s = $parent.s) AS c FROM t";
    let planned = plan(&ssp_planner::parse(text).expect("a query"), &Schema::new(), &Params::new()).expect("a plan");
    let circuit = planned.lowered.plan.to_string();
    assert_eq!(circuit.matches(" aggregate ").count(), 3, "{circuit}");
    // Eight branches (found or not, three times) over three shared lookups.
    assert_eq!(circuit.matches(" anti-join ").count(), 7, "{circuit}");
    agrees_with_the_interpreter(text, &Schema::new(), &two_versions());
}

/// Found by the SurrealDB oracle (`ssp-surreal/tests/oracle.rs`): `SELECT *
/// ... FETCH r` gave `r: NONE` to records without `r`. SurrealDB replaces
/// only the links a record holds (a dangling one becomes `NONE`); a field
/// selected by name is `NONE` where absent.
#[test]
fn fetch_of_a_link_only_star_selects_leaves_it_absent_where_the_record_has_none() {
    let link = Kind::Option(Box::new(Kind::Record(Some("t2".into()))));
    let mut linked = Schema::new();
    linked.define("t", ssp_planner::TableDef { fields: [("r".into(), link)].into(), ..Default::default() });
    linked.define("t2", ssp_planner::TableDef::default());
    let versions = two_versions();
    let rows = |text: &str| {
        let params = Params::new();
        let planned = plan(&ssp_planner::parse(text).expect("a query"), &linked, &params).expect("a plan");
        let mut tables = ssp_ops::Tables::new();
        tables.apply_batches(&versions[0]).expect("a consistent change");
        let (_, rows) = ssp_ops::Circuit::with_params(
            planned.lowered.plan.clone(),
            planned.lowered.bind(&params).expect("no parameters"),
            &mut tables,
        );
        let mut rows: Vec<String> = rows.iter().map(|(v, _)| v.to_string()).collect();
        rows.sort();
        rows
    };
    assert_eq!(
        rows("SELECT * FROM t FETCH r"),
        [
            "{ a: { b: 1 }, id: t:1, k: 1, n: 2, r: { id: t2:1, k: 1, n: 1 }, s: 'a' }",
            "{ a: { b: 1 }, id: t:2, k: 2, n: 3.5f, r: NONE, s: '' }",
            "{ a: { b: 2 }, id: t:3, k: 1, n: 5, s: 'b' }",
        ]
    );
    assert_eq!(
        rows("SELECT k, r FROM t FETCH r"),
        ["{ k: 1, r: NONE }", "{ k: 1, r: { id: t2:1, k: 1, n: 1 } }", "{ k: 2, r: NONE }"]
    );
    for text in ["SELECT * FROM t FETCH r", "SELECT *, n * 2 AS d FROM t WHERE k = 1 FETCH r"] {
        agrees_with_the_interpreter(text, &linked, &versions);
    }
}
