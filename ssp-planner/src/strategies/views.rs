//! Views that plan: random queries of the live-view subset over a small
//! fixed schema, for oracle tests that compare a lowered circuit with another
//! evaluation of the same query (the planner's interpreter, or SurrealDB).
//!
//! The schema has two schemaless tables `t1` and `t2` of [`row`]s (`t1.r`
//! declared `option<record<t2>>`) and an edge table `e` from `t1` to `t1` or
//! `t2`. Queries read `t1` (sometimes `t1, t2`), filter with comparisons,
//! functions, `IN` subqueries, correlated subqueries and graph steps, and
//! project, group, order with `LIMIT`/`START`, walk graphs and `FETCH`. They
//! may use one parameter, `$p`.
//!
//! ```
//! use proptest::prelude::*;
//! use ssp_planner::strategies::views;
//! use ssp_planner::{Params, plan};
//!
//! proptest! {
//!     // In a test file, put `#[test]` above the function.
//!     fn every_view_plans(q in views::query()) {
//!         let params = Params::from([("p".into(), 1.into())]);
//!         prop_assert!(plan(&q.build(), &views::schema(), &params).is_ok());
//!     }
//! }
//! # every_view_plans();
//! ```

use proptest::prelude::*;
use smol_str::SmolStr;
use ssp_core::strategies::row;
use ssp_core::{Object, RecordId, Value};

use crate::builder::{E, Query, call, count, field, graph, lit, param, reach, subquery};
use crate::{Direction, Kind, Schema, TableDef};

/// The schema: two schemaless tables `t1` and `t2`, `t1.r` declared a link
/// to `t2` (`option<record<t2>>`), and a schemaless edge table `e`.
pub fn schema() -> Schema {
    let mut s = Schema::new();
    let link = Kind::Option(Box::new(Kind::Record(Some("t2".into()))));
    s.define("t1", TableDef { fields: [(SmolStr::from("r"), link)].into_iter().collect(), ..TableDef::default() });
    s.define("t2", TableDef::default());
    s.define("e", TableDef::default());
    s
}

/// Edges of `e` (`{ in, out }`): from a record of `t1` to one of `t2` or
/// `t1`, keys in `0..6`.
pub fn edge() -> impl Strategy<Value = Value> {
    (0i64..6, any::<bool>(), 0i64..6).prop_map(|(from, to_t2, to)| {
        let mut o = Object::new();
        o.insert("in", Value::from(RecordId::new("t1", from)));
        o.insert("out", Value::from(RecordId::new(if to_t2 { "t2" } else { "t1" }, to)));
        Value::Object(o)
    })
}

/// Rows of `t1`: [`row`]s, with a link `r` to a record of `t2` (keys in
/// `0..6`) in most.
pub fn linked_row() -> impl Strategy<Value = Value> {
    linked(row())
}

/// Change streams of the views' tables (`t1` rows with links, `t2` rows,
/// `e` edges), zipped into versions: each version holds the batches of the
/// tables it changes.
pub fn streams() -> impl Strategy<Value = Vec<Vec<ssp_core::ChangeBatch>>> {
    use ssp_core::strategies::change_stream_of;
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

/// `rows`, with a link `r` to a record of `t2` (keys in `0..6`) in most.
pub fn linked(rows: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    (rows, prop::option::of(0i64..6)).prop_map(|(mut v, link)| {
        if let (Some(k), Value::Object(o)) = (link, &mut v) {
            o.insert("r", Value::from(RecordId::new("t2", k)));
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

/// The forms [`query_of`] draws. Each flag leaves out a form whose answer
/// differs from SurrealDB's by a known difference of the planner (see the
/// crate docs), for oracles that compare with SurrealDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forms {
    /// `GROUP ALL` (top-level and in subqueries): SurrealDB answers one row
    /// of identities (`{ count: 0 }`) over no rows, SSP none.
    pub group_all: bool,
    /// `math::min`/`math::max` of strings, or of numbers that may tie across
    /// kinds (`0` and `0dec`): SurrealDB's aggregates read numbers only, and
    /// keep the first of tied extremes in row order. Without this form they
    /// read `k`, an int.
    pub aggregates_of_any_value: bool,
    /// Recursive walks (`id.{1..n+collect}(->e->t1)`): SSP lists the records
    /// reached in id order, SurrealDB breadth-first. Without this form,
    /// single graph steps.
    pub recursion: bool,
}

impl Forms {
    /// Every form.
    pub const ALL: Forms = Forms { group_all: true, aggregates_of_any_value: true, recursion: true };
}

/// A condition on rows of `t1` (`with_links`: it may read `r.k`).
pub fn condition(with_links: bool) -> BoxedStrategy<E> {
    condition_of(with_links, Forms::ALL)
}

/// [`condition`], of the forms `forms` allows.
pub fn condition_of(with_links: bool, forms: Forms) -> BoxedStrategy<E> {
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
        1 => (0i64..3).prop_map(move |v| {
            if forms.group_all {
                let counted = Query::from("t2").value(count()).filter(field("s").eq(param("parent.s"))).group_all();
                subquery(counted).contains(lit(v))
            } else {
                let rows = Query::from("t2").value(field("id")).filter(field("s").eq(param("parent.s")));
                call("array::len", [subquery(rows)]).ge(lit(v))
            }
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

/// A random query over `t1` (sometimes `t1, t2`) of every form of the
/// subset: projections, grouping, ordering with `LIMIT`/`START`, correlated
/// and aggregating subqueries, graph steps, recursive walks and `FETCH`.
pub fn query() -> BoxedStrategy<Query> {
    query_of(Forms::ALL)
}

/// [`query`], of the forms `forms` allows (a form left out is replaced by a
/// near one).
pub fn query_of(forms: Forms) -> BoxedStrategy<Query> {
    let from = prop_oneof![4 => Just(false), 1 => Just(true)];
    // One `Just` per form (not a range), so that the seeds committed under
    // `proptest-regressions/` keep drawing the queries they were found with.
    let shape = prop_oneof![
        Just(0u8),
        Just(1),
        Just(2),
        Just(3),
        Just(4),
        Just(5),
        Just(6),
        Just(7),
        Just(8),
        Just(9),
        Just(10),
        Just(11),
        Just(12),
        Just(13),
        Just(14),
    ];
    let (with_links, without) = (condition_of(true, forms), condition_of(false, forms));
    (from, prop::option::of(with_links), prop::option::of(without), shape, direction(), 0i64..4, 0i64..3)
        .prop_map(move |(union, cond_t1, cond_any, shape, dir, limit, start)| {
            let mut q = Query::from("t1");
            if union {
                q = q.and_from("t2");
            }
            // Links are declared on t1 only: a union reads plain fields.
            if let Some(c) = if union { cond_any } else { cond_t1.or(cond_any) } {
                q = q.filter(c);
            }
            match shape {
                // Projections.
                0 => q,
                1 => q.fields(["s", "k"]),
                2 => q.value(field("k")),
                3 => q.all().field_as(field("n") * lit(2), "d").omit("opt"),
                4 if !union => q.fields(["s"]).field_as(field("r.s"), "rs"),
                4 => q.fields(["s"]),
                // Grouped.
                5 => q
                    .group_by("k")
                    .fields(["k"])
                    .field_as(count(), "c")
                    .field_as(call("math::sum", [field("n")]), "total")
                    .field_as(call("math::max", [field(if forms.aggregates_of_any_value { "s" } else { "k" })]), "top"),
                6 if !forms.group_all => q
                    .group_by("s")
                    .fields(["s"])
                    .field_as(call("math::min", [field(if forms.aggregates_of_any_value { "n" } else { "k" })]), "low")
                    .field_as(call("math::mean", [field("n")]), "avg"),
                6 => q
                    .group_all()
                    .field_as(count(), "c")
                    .field_as(call("math::min", [field("n")]), "low")
                    .field_as(call("math::mean", [field("n")]), "avg"),
                // Ordered with LIMIT/START.
                7 => q.order_by("n", dir).limit(limit).start(start),
                8 => q.fields(["s", "n"]).order_by("s", dir).order_by("n", Direction::Desc).limit(limit.max(1)),
                // Correlated subqueries in the projection.
                9 => q.fields(["s"]).field_as(
                    subquery(Query::from("t2").value(field("s")).filter(field("k").eq(param("parent.k")))),
                    "kids",
                ),
                10 => q.fields(["k"]).field_as(
                    subquery(
                        Query::from("t2")
                            .fields(["n", "s"])
                            .filter(param("parent.opt").eq(field("opt")).and(field("s").ne(lit(""))))
                            .order_by("s", Direction::Asc),
                    ),
                    "kids",
                ),
                // Graph steps and FETCH.
                11 => {
                    q.fields(["s"]).field_as(graph(true, "e", "t2"), "next").field_as(graph(false, "e", "t1"), "prev")
                }
                12 if !union => q.fetch("r"),
                12 => q.fields(["k"]),
                // Recursive graph walks.
                13 if !forms.recursion => {
                    q.fields(["k"]).field_as(graph(true, "e", "t1"), "walk").field_as(graph(false, "e", "t1"), "back")
                }
                13 => q
                    .fields(["k"])
                    .field_as(reach("id", (limit as u32) + 1, true, "e", "t1"), "walk")
                    .field_as(reach("id", 2, false, "e", "t1"), "back"),
                // Aggregating subqueries.
                _ if !forms.group_all => q.fields(["k"]).field_as(
                    subquery(Query::from("t2").value(field("n")).filter(field("k").eq(param("parent.k")))),
                    "n",
                ),
                _ => q
                    .fields(["k"])
                    .field_as(
                        subquery(Query::from("t2").value(count()).filter(field("k").eq(param("parent.k"))).group_all()),
                        "n",
                    )
                    .field_as(
                        subquery(Query::from("t2").field_as(call("math::sum", [field("n")]), "total").group_all()),
                        "all",
                    ),
            }
        })
        .boxed()
}
