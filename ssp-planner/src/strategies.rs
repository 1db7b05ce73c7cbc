//! [proptest](mod@proptest) strategies for syntax trees of the live-query
//! subset, for SSP's own tests and for yours.
//!
//! Every tree drawn is one that [`parse`](crate::parse()) can produce, with
//! [`Span::NONE`] spans: its text (`to_string()`) parses back to an equal tree.
//! Arrays and objects of literals are drawn as literals (which is how they
//! parse); names include keywords and names that need backticks.
//!
//! Enabled by the `proptest` feature. Drawing nested trees recurses deeply
//! through proptest: in debug builds, run these strategies on a thread with a
//! larger stack (SSP's own tests use 64 MiB) if the default 2 MiB overflows.
//!
//! ```
//! use proptest::prelude::*;
//! use ssp_planner::{parse, strategies};
//!
//! proptest! {
//!     // In a test file, put `#[test]` above the function.
//!     fn queries_print_and_parse_back(select in strategies::select()) {
//!         prop_assert_eq!(parse(&select.to_string()), Ok(select));
//!     }
//! }
//! # queries_print_and_parse_back();
//! ```

pub mod views;

use proptest::collection::vec;
use proptest::prelude::*;
use smol_str::SmolStr;
use ssp_core::strategies::prints_back;
use ssp_core::{RecordId, Value};

use crate::ast::{
    BinaryOp, Direction, Expr, ExprKind, Field, GraphDir, Group, Idiom, OrderTerm, Part, Projection, Select, Span,
    Target, TargetKind, UnaryOp,
};

/// Field names: mostly plain, some keywords (`in`, `value`, `none`, ...) and
/// some that need backticks.
pub fn field_name() -> impl Strategy<Value = SmolStr> {
    prop_oneof![
        8 => prop_oneof![Just("a"), Just("b"), Just("age"), Just("name"), Just("tags"), Just("author"), Just("id")]
            .prop_map(str::to_owned),
        2 => "[a-z_][a-z0-9_]{0,5}",
        2 => prop_oneof![
            Just("in"), Just("out"), Just("value"), Just("none"), Just("select"), Just("from"), Just("where"),
            Just("and"), Just("not"), Just("NaN"), Just("by"), Just("all"), Just("rand"), Just("limit"), Just("true"),
            Just("IF"), Just("count"), Just("as"), Just("only"), Just("at"), Just("split"),
        ]
        .prop_map(str::to_owned),
        1 => prop_oneof![Just("with space"), Just("1st"), Just("a-b"), Just("`tick`"), Just("é"), Just("⟩"), Just("")]
            .prop_map(str::to_owned),
    ]
    .prop_map(SmolStr::from)
}

/// Table names, as [`field_name`].
pub fn table_name() -> impl Strategy<Value = SmolStr> {
    prop_oneof![4 => prop_oneof![Just("person"), Just("post"), Just("wrote"), Just("likes")].prop_map(SmolStr::from), 1 => field_name()]
}

/// Parameter names.
pub fn param_name() -> impl Strategy<Value = SmolStr> {
    prop_oneof![
        6 => prop_oneof![Just("auth"), Just("parent"), Just("this"), Just("value"), Just("x")].prop_map(str::to_owned),
        1 => "[a-z_][a-z0-9_]{0,5}",
        1 => prop_oneof![Just("with space"), Just("9"), Just("")].prop_map(str::to_owned),
    ]
    .prop_map(SmolStr::from)
}

/// Function names, as the parser writes them (built-ins in lower case).
pub fn function_name() -> impl Strategy<Value = SmolStr> {
    prop_oneof![
        Just("count"),
        Just("math::sum"),
        Just("math::max"),
        Just("math::mean"),
        Just("string::lowercase"),
        Just("array::len"),
        Just("type::is::string"),
        Just("time::now"),
        Just("fn::myFunc"),
        Just("not"),
    ]
    .prop_map(SmolStr::from)
}

/// Literal values of every kind (nested ones too).
pub fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => ssp_core::strategies::scalar(),
        2 => ssp_core::strategies::value(),
        1 => (table_name(), ssp_core::strategies::simple_record_key())
            .prop_map(|(t, k)| Value::from(RecordId::new(t, k))),
    ]
    .prop_filter("prints and parses back", prints_back)
}

/// Record ids, some of tables named like keywords (`value:1`).
fn record_id() -> impl Strategy<Value = RecordId> {
    prop_oneof![
        2 => ssp_core::strategies::record_id(),
        1 => (table_name(), ssp_core::strategies::simple_record_key()).prop_map(|(t, k)| RecordId::new(t, k)),
    ]
}

fn graph() -> impl Strategy<Value = Part> {
    let dir = prop_oneof![Just(GraphDir::Out), Just(GraphDir::In), Just(GraphDir::Both)];
    (dir, vec(table_name(), 0..3)).prop_map(|(dir, tables)| Part::Graph { dir, tables, span: Span::NONE })
}

/// A part after the first one of a path (no recursion).
fn step() -> impl Strategy<Value = Part> {
    prop_oneof![
        4 => field_name().prop_map(|n| Part::Field(n, Span::NONE)),
        1 => prop_oneof![0i64..4, any::<i64>()].prop_map(|i| Part::Index(i, Span::NONE)),
        1 => Just(Part::All(Span::NONE)),
        3 => graph(),
    ]
}

fn recurse() -> impl Strategy<Value = Part> {
    (0u32..4, proptest::option::of(0u32..6), any::<bool>(), vec(step(), 1..4)).prop_map(|(min, max, collect, parts)| {
        Part::Recurse { min, max, collect, path: Box::new(Idiom { parts, span: Span::NONE }), span: Span::NONE }
    })
}

/// The parts after the first: steps and, rarely, a recursion.
fn rest() -> impl Strategy<Value = Vec<Part>> {
    vec(prop_oneof![12 => step(), 1 => recurse()], 0..4)
}

/// Paths as expressions write them: from a field, a parameter or a graph step.
pub fn idiom() -> impl Strategy<Value = Idiom> {
    let first = prop_oneof![
        4 => field_name().prop_map(|n| Part::Field(n, Span::NONE)),
        1 => param_name().prop_map(|n| Part::Param(n, Span::NONE)),
        2 => graph(),
    ];
    (first, rest()).prop_map(|(first, rest)| {
        let mut parts = vec![first];
        parts.extend(rest);
        Idiom { parts, span: Span::NONE }
    })
}

/// Paths from a field or a graph step: aliases and `FETCH`.
pub fn plain_idiom() -> impl Strategy<Value = Idiom> {
    let first = prop_oneof![3 => field_name().prop_map(|n| Part::Field(n, Span::NONE)), 1 => graph()];
    (first, rest()).prop_map(|(first, rest)| {
        let mut parts = vec![first];
        parts.extend(rest);
        Idiom { parts, span: Span::NONE }
    })
}

/// Paths of fields, `[n]` and `[*]`: `GROUP BY` and `ORDER BY`.
pub fn basic_idiom() -> impl Strategy<Value = Idiom> {
    let part = prop_oneof![
        4 => field_name().prop_map(|n| Part::Field(n, Span::NONE)),
        1 => (0i64..100).prop_map(|i| Part::Index(i, Span::NONE)),
        1 => Just(Part::All(Span::NONE)),
    ];
    (field_name(), vec(part, 0..3)).prop_map(|(first, rest)| {
        let mut parts = vec![Part::Field(first, Span::NONE)];
        parts.extend(rest);
        Idiom { parts, span: Span::NONE }
    })
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    proptest::sample::select(vec![
        And,
        Or,
        Eq,
        ExactEq,
        Ne,
        Lt,
        Le,
        Gt,
        Ge,
        Add,
        Sub,
        Mul,
        Div,
        Contains,
        ContainsNot,
        ContainsAll,
        ContainsAny,
        ContainsNone,
        Inside,
        NotInside,
        AllInside,
        AnyInside,
        NoneInside,
    ])
}

fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: Span::NONE }
}

fn is_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal(_))
}

/// Expressions of every kind, with subqueries (`nested`: how many levels of them).
fn expr_with(nested: u32) -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        3 => literal().prop_map(|v| e(ExprKind::Literal(v))),
        4 => idiom().prop_map(|i| e(ExprKind::Idiom(i))),
    ];
    leaf.prop_recursive(4, 24, 3, move |inner| {
        let mut branches = vec![
            (
                2,
                (prop_oneof![Just(UnaryOp::Not), Just(UnaryOp::Neg)], inner.clone())
                    .prop_map(|(op, x)| e(ExprKind::Unary(op, Box::new(x))))
                    .boxed(),
            ),
            (
                6,
                (binary_op(), inner.clone(), inner.clone())
                    .prop_map(|(op, l, r)| e(ExprKind::Binary(op, Box::new(l), Box::new(r))))
                    .boxed(),
            ),
            (
                2,
                (function_name(), vec(inner.clone(), 0..3))
                    .prop_map(|(name, args)| e(ExprKind::Call { name, args }))
                    .boxed(),
            ),
            // Arrays and objects of literals parse as literals: keep one non-literal.
            (
                1,
                vec(inner.clone(), 1..4)
                    .prop_filter("not all literals", |items| !items.iter().all(is_literal))
                    .prop_map(|items| e(ExprKind::Array(items)))
                    .boxed(),
            ),
            (
                1,
                vec((field_name(), inner.clone()), 1..4)
                    .prop_filter("not all literals", |entries| !entries.iter().all(|(_, v)| is_literal(v)))
                    .prop_map(|entries| e(ExprKind::Object(entries)))
                    .boxed(),
            ),
        ];
        if nested > 0 {
            branches.push((1, select_with(nested - 1).prop_map(|s| e(ExprKind::Subquery(Box::new(s)))).boxed()));
        }
        proptest::strategy::Union::new_weighted(branches)
    })
    .boxed()
}

/// Expressions of every kind, subqueries one level deep.
pub fn expr() -> BoxedStrategy<Expr> {
    expr_with(1)
}

fn field(exprs: BoxedStrategy<Expr>) -> impl Strategy<Value = Field> {
    prop_oneof![
        1 => Just(Field::All(Span::NONE)),
        5 => (exprs, proptest::option::of(plain_idiom()))
            .prop_map(|(expr, alias)| Field::Expr { expr, alias, span: Span::NONE }),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    let kind = prop_oneof![
        4 => table_name().prop_map(TargetKind::Table),
        2 => record_id().prop_map(TargetKind::Record),
        1 => param_name().prop_map(TargetKind::Param),
    ];
    kind.prop_map(|kind| Target { kind, span: Span::NONE })
}

fn select_with(nested: u32) -> BoxedStrategy<Select> {
    let exprs = expr_with(nested);
    let projection = prop_oneof![
        1 => exprs.clone().prop_map(Projection::Value),
        4 => vec(field(exprs.clone()), 1..4).prop_map(Projection::Fields),
    ];
    let group = proptest::option::of(prop_oneof![
        1 => Just(Group::All(Span::NONE)),
        2 => vec(basic_idiom(), 1..3).prop_map(Group::By),
    ]);
    let order = vec(
        (basic_idiom(), prop_oneof![Just(Direction::Asc), Just(Direction::Desc)])
            .prop_map(|(field, direction)| OrderTerm { field, direction, span: Span::NONE }),
        0..3,
    );
    let fetch = vec(prop_oneof![3 => plain_idiom(), 1 => idiom()], 0..2);
    (
        projection,
        vec(idiom(), 0..2),
        vec(target(), 1..3),
        proptest::option::of(exprs.clone()),
        group,
        order,
        proptest::option::of(exprs.clone()),
        proptest::option::of(exprs),
        fetch,
    )
        .prop_map(|(projection, omit, from, cond, group, order, limit, start, fetch)| Select {
            projection,
            omit,
            from,
            cond,
            group,
            order,
            limit,
            start,
            fetch,
            span: Span::NONE,
        })
        .boxed()
}

/// `SELECT` statements of every clause of the subset, with subqueries one level deep.
pub fn select() -> BoxedStrategy<Select> {
    select_with(1)
}

#[cfg(test)]
mod tests {
    use proptest::test_runner::FileFailurePersistence;

    use super::*;
    use crate::parse;

    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig {
            cases,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/roundtrip.txt"))),
            ..ProptestConfig::default()
        }
    }

    /// Runs `test` on a thread with a large stack: drawing deeply nested
    /// trees recurses through many large proptest frames in debug builds.
    fn with_large_stack(test: fn()) {
        let thread = std::thread::Builder::new().stack_size(64 << 20).spawn(test);
        thread.expect("spawn a test thread").join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    }

    proptest! {
        #![proptest_config(config(512))]

        fn selects_round_trip(select in select()) {
            let text = select.to_string();
            let parsed = parse(&text);
            prop_assert_eq!(parsed.as_ref().map_err(|e| e.display_with(&text)), Ok(&select), "{}", text);
            if let Ok(parsed) = parsed {
                prop_assert_eq!(parsed.to_string(), text);
            }
        }

        fn expressions_round_trip(expr in expr_with(2)) {
            let text = format!("SELECT VALUE {expr} FROM t");
            let parsed = parse(&text).map(|s| s.projection);
            prop_assert_eq!(parsed.map_err(|e| e.display_with(&text)), Ok(Projection::Value(expr)), "{}", text);
        }
    }

    /// Every tree of the subset prints as text that parses back to it, and
    /// printing is idempotent.
    #[test]
    fn selects_print_and_parse_back() {
        with_large_stack(selects_round_trip);
    }

    /// Expressions alone, with subqueries two levels deep.
    #[test]
    fn expressions_print_and_parse_back() {
        with_large_stack(expressions_round_trip);
    }
}
