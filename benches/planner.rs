//! Planner benches, each beside its floor.
//!
//! - `plan_typical_view`: parse, bind, rewrite and lower a typical view,
//!   `SELECT title, score FROM issue WHERE status = $status AND score > 10
//!   ORDER BY score DESC LIMIT 10` (`ssp`), and the same from the query
//!   builder (`ssp_builder`). Floor: building the same `ssp-ops` plan by hand
//!   with a `PlanBuilder`, the final work with no query to understand.
//! - `plan_subquery_view`: the same for a view with a semi-join and a record
//!   link (`author.name`), over a schema.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ssp::ssp_ops::{Direction as OpsDirection, Expr, PlanBuilder};
use ssp::ssp_planner::builder::{Query, field, lit, param, subquery};
use ssp::ssp_planner::{Direction, Kind, Params, Schema, parse, plan};

fn typical() -> Query {
    Query::from("issue")
        .fields(["title", "score"])
        .filter(field("status").eq(param("status")).and(field("score").gt(lit(10))))
        .order_by("score", Direction::Desc)
        .limit(10)
}

fn plan_typical(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_typical_view");
    group.bench_function("floor", |b| {
        b.iter(|| {
            let mut p = PlanBuilder::new();
            let src = p.source("issue");
            let kept =
                p.filter(src, Expr::field("status").eq(Expr::Param(0)).and(Expr::field("score").gt(Expr::lit(10))));
            let top = p.top_k(
                kept,
                vec![(Expr::field("score"), OpsDirection::Desc), (Expr::field("id"), OpsDirection::Asc)],
                10,
                0,
            );
            let out = p.map(
                top,
                Expr::Object(vec![("title".into(), Expr::field("title")), ("score".into(), Expr::field("score"))]),
            );
            black_box(p.build(out))
        })
    });
    let schema = Schema::new();
    let params = Params::new();
    let text = "SELECT title, score FROM issue WHERE status = $status AND score > 10 ORDER BY score DESC LIMIT 10";
    group.bench_function("ssp", |b| {
        b.iter(|| {
            let select = parse(black_box(text)).expect("the query parses");
            black_box(plan(&select, &schema, &params).map(|p| p.lowered))
        })
    });
    group.bench_function("ssp_builder", |b| {
        b.iter(|| black_box(plan(&typical().build(), &schema, &params).map(|p| p.lowered)))
    });
    group.finish();
}

fn plan_subquery(c: &mut Criterion) {
    let schema = Schema::new()
        .table("user", [("name", Kind::String), ("age", Kind::Int)])
        .table("issue", [("title", Kind::String), ("score", Kind::Int), ("author", Kind::Record(Some("user".into())))]);
    let query = || {
        Query::from("issue").fields(["title"]).field_as(field("author.name"), "by").filter(
            field("author").inside(subquery(Query::from("user").value(field("id")).filter(field("age").ge(lit(18))))),
        )
    };
    let params = Params::new();
    let mut group = c.benchmark_group("plan_subquery_view");
    group.bench_function("floor", |b| {
        b.iter(|| {
            let mut p = PlanBuilder::new();
            let issues = p.source("issue");
            let users = p.source("user");
            let adults = p.filter(users, Expr::field("age").ge(Expr::lit(18)));
            let ids = p.map(adults, Expr::field("id"));
            let kept = p.semi_join(issues, ids, Expr::field("author"), Expr::Row);
            let joined = p.join(kept, users, Expr::field("author"), Expr::field("id"));
            let out = p.map(
                joined,
                Expr::Object(vec![("title".into(), Expr::field("l.title")), ("by".into(), Expr::field("r.name"))]),
            );
            black_box(p.build(out))
        })
    });
    group.bench_function("ssp", |b| b.iter(|| black_box(plan(&query().build(), &schema, &params).map(|p| p.lowered))));
    group.finish();
}

criterion_group!(benches, plan_typical, plan_subquery);
criterion_main!(benches);
