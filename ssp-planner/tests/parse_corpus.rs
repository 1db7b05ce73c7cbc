//! The query corpus: realistic live views that parse and print back, and
//! queries that are refused with the right error at the right place.

use ssp_core::{RecordId, Value};
use ssp_planner::ast::{BinaryOp, ExprKind, Field, GraphDir, Group, Part, Projection, Select, TargetKind, UnaryOp};
use ssp_planner::{ParseError, ParseErrorKind, parse};

const ACCEPTED: &str = include_str!("corpus/accepted.surql");

fn accepted() -> impl Iterator<Item = &'static str> {
    ACCEPTED.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("--"))
}

/// Parses `query`, prints it, parses the text again and checks the trees are
/// equal and that printing again gives the same text.
fn round_trip(query: &str) -> Select {
    let select = parse(query).unwrap_or_else(|e| panic!("{query}\n{}", e.display_with(query)));
    let printed = select.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{query}\nprinted as\n{}", e.display_with(&printed)));
    assert_eq!(again, select, "{query}\nprinted as\n{printed}");
    assert_eq!(again.to_string(), printed, "printing is not idempotent for {query}");
    select
}

#[test]
fn the_accepted_corpus_parses_and_prints_back() {
    let mut count = 0;
    for query in accepted() {
        round_trip(query);
        count += 1;
    }
    assert!(count >= 150, "only {count} accepted queries");
}

#[test]
fn multi_line_queries_with_comments() {
    let query = "-- the adults\nSELECT\n    name, -- their name\n    age\nFROM person /* all of them */\nWHERE age > 18 # of age\n;\n";
    let select = round_trip(query);
    assert_eq!(select.to_string(), "SELECT name, age FROM person WHERE age > 18");
    let err = parse("SELECT *\nFROM person\nWHERE age >\n").unwrap_err();
    assert_eq!(err.display_with("SELECT *\nFROM person\nWHERE age >\n").lines().nth(1), Some(" --> line 4, column 1"));
}

/// The kind of an error, by name.
fn kind(e: &ParseError) -> &'static str {
    match e.kind {
        ParseErrorKind::Unexpected { .. } => "Unexpected",
        ParseErrorKind::UnexpectedEnd { .. } => "UnexpectedEnd",
        ParseErrorKind::Unsupported { .. } => "Unsupported",
        ParseErrorKind::InvalidLiteral { .. } => "InvalidLiteral",
        ParseErrorKind::Unterminated { .. } => "Unterminated",
        ParseErrorKind::TooDeep { .. } => "TooDeep",
        ParseErrorKind::ChainedComparison { .. } => "ChainedComparison",
        ParseErrorKind::AmbiguousNot { .. } => "AmbiguousNot",
        _ => "other",
    }
}

/// Refused queries: the query, the kind of error, and the text its span covers.
const REJECTED: &[(&str, &str, &str)] = &[
    // clauses outside the subset
    ("SELECT * FROM t SPLIT tags", "Unsupported", "SPLIT"),
    ("SELECT * FROM t SPLIT ON tags", "Unsupported", "SPLIT"),
    ("SELECT * FROM t WHERE a = 1 TIMEOUT 5s", "Unsupported", "TIMEOUT"),
    ("SELECT * FROM t PARALLEL", "Unsupported", "PARALLEL"),
    ("SELECT * FROM t TEMPFILES", "Unsupported", "TEMPFILES"),
    ("SELECT * FROM t WITH INDEX idx WHERE a = 1", "Unsupported", "WITH INDEX"),
    ("SELECT * FROM t WITH NOINDEX WHERE a = 1", "Unsupported", "WITH NOINDEX"),
    ("SELECT * FROM t EXPLAIN", "Unsupported", "EXPLAIN"),
    ("SELECT * FROM t WHERE a = 1 EXPLAIN FULL", "Unsupported", "EXPLAIN"),
    ("SELECT * FROM ONLY person:1", "Unsupported", "ONLY"),
    ("SELECT * FROM t VERSION d'2024-01-01T00:00:00Z'", "Unsupported", "VERSION"),
    ("SELECT * FROM t FOR UPDATE", "Unsupported", "FOR UPDATE"),
    ("SELECT * FROM t ORDER BY RAND()", "Unsupported", "RAND()"),
    ("SELECT * FROM t ORDER BY name COLLATE", "Unsupported", "COLLATE"),
    ("SELECT * FROM t ORDER BY name NUMERIC DESC", "Unsupported", "NUMERIC"),
    // other statements
    ("LIVE SELECT * FROM person", "Unsupported", "LIVE SELECT"),
    ("CREATE person SET name = 'x'", "Unsupported", "CREATE"),
    ("update person SET a = 1", "Unsupported", "update"),
    ("DELETE person", "Unsupported", "DELETE"),
    ("SELECT * FROM a; SELECT * FROM b", "Unsupported", "SELECT * FROM b"),
    ("SELECT * FROM t WHERE (LET $a = 1)", "Unsupported", "LET"),
    ("SELECT * FROM t WHERE IF a THEN b END", "Unsupported", "IF"),
    // operators outside the subset
    ("SELECT * FROM t WHERE a % 2 = 0", "Unsupported", "%"),
    ("SELECT * FROM t WHERE a ** 2 > 4", "Unsupported", "**"),
    ("SELECT * FROM t WHERE a ?? b", "Unsupported", "??"),
    ("SELECT * FROM t WHERE a ?: b", "Unsupported", "?:"),
    ("SELECT * FROM t WHERE tags *= 'a'", "Unsupported", "*="),
    ("SELECT * FROM t WHERE tags ?= 'a'", "Unsupported", "?="),
    ("SELECT * FROM t WHERE name @@ 'search'", "Unsupported", "@"),
    ("SELECT * FROM t WHERE name ~ 'a'", "Unsupported", "~"),
    ("SELECT * FROM t WHERE loc OUTSIDE $area", "Unsupported", "OUTSIDE"),
    ("SELECT * FROM t WHERE loc INTERSECTS $area", "Unsupported", "INTERSECTS"),
    ("SELECT * FROM t WHERE x IN 1..5", "Unsupported", ".."),
    ("SELECT * FROM person:1..5", "Unsupported", "person:1.."),
    ("SELECT * FROM t WHERE <int> x = 1", "Unsupported", "<"),
    ("SELECT * FROM t WHERE +x > 0", "Unsupported", "+"),
    ("SELECT * FROM t WHERE x = /a.*/", "Unsupported", "/"),
    ("SELECT * FROM t WHERE $f(1)", "Unsupported", "("),
    ("SELECT * FROM t WHERE x = |a:1..3|", "Unsupported", "|"),
    // paths outside the subset
    ("SELECT * FROM t WHERE (SELECT VALUE a FROM b)[0] = 1", "Unsupported", "["),
    ("SELECT * FROM t WHERE 'abc'.len = 1", "Unsupported", "."),
    ("SELECT * FROM t WHERE person:1.name = 'x'", "Unsupported", "."),
    ("SELECT * FROM t WHERE person:1->knows->person CONTAINS x", "Unsupported", "->"),
    ("SELECT name.len() FROM t", "Unsupported", ".len("),
    ("SELECT tags... FROM t", "Unsupported", "..."),
    ("SELECT tags[$] FROM t", "Unsupported", "[$"),
    ("SELECT tags[WHERE x > 1] FROM t", "Unsupported", "[WHERE"),
    ("SELECT tags[? x > 1] FROM t", "Unsupported", "[?"),
    ("SELECT tags[$i] FROM t", "Unsupported", "$i"),
    ("SELECT tags['a'] FROM t", "Unsupported", "'a'"),
    ("SELECT person.{name, age} FROM t", "Unsupported", ".{"),
    ("SELECT a.?.b FROM t", "Unsupported", ".?"),
    ("SELECT ->(SELECT * FROM likes) FROM user", "Unsupported", "SELECT"),
    ("SELECT ->(likes WHERE x > 1) FROM user", "Unsupported", "WHERE"),
    ("SELECT ->(likes AS l) FROM user", "Unsupported", "AS"),
    ("SELECT ->likes:1..3 FROM user", "Unsupported", "likes:1..3"),
    ("SELECT ->wrote->post[WHERE published] FROM user:1", "Unsupported", "[WHERE"),
    ("SELECT id.{1..3+path}(->knows->person) FROM person", "Unsupported", "+path"),
    ("SELECT id.{1..3+collect+inclusive}(->knows) FROM person", "Unsupported", "+inclusive"),
    ("SELECT id.{1..3} FROM person", "Unsupported", ".{1..3}"),
    ("SELECT <~post FROM user", "Unsupported", "<~"),
    ("SELECT @ FROM t", "Unsupported", "@"),
    ("SELECT * FROM t FETCH type::field('a')", "Unsupported", "type"),
    ("SELECT * FROM t WHERE x = math::pi", "Unsupported", "math::pi"),
    ("SELECT * FROM t WHERE x = fn::a::b", "Unsupported", "fn::a::b"),
    // targets and entries outside the subset
    ("SELECT * FROM (SELECT * FROM t)", "Unsupported", "(SELECT * FROM t)"),
    ("SELECT * FROM [1, 2]", "Unsupported", "[1, 2]"),
    ("SELECT * FROM person.name", "Unsupported", "person.name"),
    ("SELECT * FROM 'person'", "Unsupported", "'person'"),
    ("SELECT * OMIT a + 1 FROM t", "Unsupported", "a + 1"),
    ("SELECT * FROM t WHERE x = {a, b}", "Unsupported", "{a, b}"),
    ("SELECT * FROM t WHERE x = { a }", "Unsupported", "{ a"),
    // malformed queries
    ("SELECT FROM person", "Unexpected", "person"),
    ("SELECT * FROM", "UnexpectedEnd", ""),
    ("SELECT * FROM person WHERE", "UnexpectedEnd", ""),
    ("SELECT * FROM person WHERE (a = )", "Unexpected", ")"),
    ("SELECT * FROM person WHERE a = 1 b", "Unexpected", "b"),
    ("SELECT * FROM t WHERE a NOT b", "Unexpected", "b"),
    ("SELECT a b FROM t", "Unexpected", "b"),
    ("SELECT * person", "Unexpected", "person"),
    ("SELEC * FROM t", "Unexpected", "SELEC"),
    ("", "UnexpectedEnd", ""),
    ("SELECT * FROM t GROUP BY", "UnexpectedEnd", ""),
    ("SELECT * FROM t ORDER BY tags[-1]", "Unexpected", "-"),
    ("SELECT * FROM t ORDER BY ->x", "Unexpected", "->"),
    ("SELECT * FROM t WHERE x IN [1, 2", "UnexpectedEnd", ""),
    ("SELECT * FROM t WHERE f(1, 2", "UnexpectedEnd", ""),
    ("SELECT * FROM t WHERE a = 1 ^ 2", "Unexpected", "^"),
    ("SELECT * FROM t WHERE a & b", "Unexpected", "&"),
    ("SELECT * FROM t WHERE ->5", "Unexpected", "5"),
    ("SELECT * FROM t LIMIT", "UnexpectedEnd", ""),
    ("SELECT * FROM t WHERE x = { a: 1, 2 }", "Unexpected", "}"),
    ("SELECT * FROM t WHERE a.5 = 1", "Unexpected", "5"),
    ("SELECT * FROM t WHERE x = (1, 2, 3)", "Unexpected", ","),
    // malformed literals
    ("SELECT * FROM t WHERE x = 99999999999999999999", "InvalidLiteral", "9"),
    ("SELECT * FROM t WHERE x = 5abc", "InvalidLiteral", "5abc"),
    ("SELECT * FROM t WHERE x = 1e", "InvalidLiteral", "1e"),
    ("SELECT * FROM t WHERE id = u'not-a-uuid'", "InvalidLiteral", "n"),
    ("SELECT * FROM t WHERE x = b\"0G\"", "InvalidLiteral", "0"),
    ("SELECT * FROM user: 1", "InvalidLiteral", " "),
    ("SELECT `a\\qb` FROM t", "InvalidLiteral", "\\"),
    ("SELECT id.{99999999999..}(->a) FROM t", "InvalidLiteral", "99999999999"),
    // unterminated text
    ("SELECT * FROM t WHERE name = 'abc", "Unterminated", "'abc"),
    ("SELECT `abc FROM t", "Unterminated", "`abc FROM t"),
    ("SELECT * FROM t /* comment", "Unterminated", "/* comment"),
    ("SELECT * FROM t WHERE x = d'2024", "Unterminated", "d'2024"),
    // no associativity
    ("SELECT * FROM t WHERE a = b = c", "ChainedComparison", "= c"),
    ("SELECT * FROM t WHERE a < b < c", "ChainedComparison", "< c"),
    ("SELECT * FROM t WHERE a IN b CONTAINS c", "ChainedComparison", "CONTAINS c"),
    ("SELECT * FROM t WHERE NOT a = b", "AmbiguousNot", "NOT a ="),
    ("SELECT * FROM t WHERE NOT a.b IN [1]", "AmbiguousNot", "NOT a.b IN"),
];

#[test]
fn the_rejected_corpus_fails_with_the_right_error_and_span() {
    for &(query, expected_kind, expected_text) in REJECTED {
        let err = match parse(query) {
            Ok(select) => panic!("{query:?} parsed as {select}"),
            Err(e) => e,
        };
        let text = err.span.text(query);
        assert_eq!((kind(&err), text), (expected_kind, expected_text), "{query:?}: {err}\n{}", err.display_with(query));
        // The message names what went wrong and where, on one line.
        let message = err.to_string();
        assert!(message.ends_with(&format!(" at {}", err.span)) && !message.contains('\n'), "{message}");
    }
    assert!(REJECTED.len() >= 60, "only {} rejected queries", REJECTED.len());
}

#[test]
fn unsupported_errors_name_the_construct() {
    let err = parse("SELECT * FROM t SPLIT tags").unwrap_err();
    assert_eq!(err.to_string(), "unsupported in a live query: the `SPLIT` clause at 16..21");
    let err = parse("SELECT * FROM t WHERE a % 2").unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::Unsupported { what: "the `%` operator".into() });
    let err = parse("SELECT * FROM person WHERE (age = )").unwrap_err();
    assert_eq!(err.to_string(), "expected an expression, found `)` at 34..35");
}

#[test]
fn errors_render_with_a_caret() {
    let query = "SELECT *\nFROM person\nWHERE\tage >= 18 AND name = 'abc";
    let err = parse(query).unwrap_err();
    assert_eq!(
        err.display_with(query),
        "error: unterminated string\n --> line 3, column 28\n  |\n3 | WHERE\tage >= 18 AND name = 'abc\n  |      \t                     ^^^^"
    );
    // Out-of-range spans are clamped rather than panicking.
    assert!(err.display_with("").contains("line 1, column 1"));
    assert!(err.display_with("é").contains('^'));
}

/// Every query ends cleanly: parse errors, never a panic or a stack overflow,
/// however deep the nesting.
#[test]
fn deep_nesting_is_an_error_not_an_overflow() {
    let deep =
        |open: &str, close: &str, n: usize| format!("SELECT * FROM t WHERE {}1{}", open.repeat(n), close.repeat(n));
    for query in [
        deep("(", ")", 10_000),
        deep("[", "]", 10_000),
        deep("{a:", "}", 10_000),
        deep("!", "", 10_000),
        deep("-(", ")", 10_000),
        deep("- ", "", 10_000),
        deep("NOT ", "", 10_000),
        deep("f(", ")", 10_000),
        deep("(SELECT * FROM t WHERE ", ")", 10_000),
        deep("x IN (SELECT VALUE y FROM t WHERE ", ")", 10_000),
        format!("SELECT * FROM t WHERE {}", vec!["a"; 10_000].join(" + ")),
        format!("SELECT * FROM t WHERE a{} = 1", ".{1}(->a".repeat(10_000)),
        format!("SELECT * FROM t WHERE a{} = 1", ".{1}".repeat(10_000)),
        format!("SELECT * FROM t:{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("SELECT * FROM t WHERE x = {}1{}", "[".repeat(130), "]".repeat(130)),
    ] {
        let err = parse(&query).unwrap_err();
        assert!(matches!(err.kind, ParseErrorKind::TooDeep { limit: 128 }), "{}: {err}", &query[..60]);
    }
    // Up to the limit, nesting is fine.
    round_trip(&deep("(", ")", 120));
    round_trip(&deep("[", "]", 120));
    round_trip(&format!("SELECT * FROM t WHERE {}", vec!["a"; 120].join(" + ")));
}

#[test]
fn long_flat_queries_parse_in_linear_time() {
    let n = 200_000;
    let many = format!("SELECT * FROM t WHERE x IN [{}]", vec!["1"; n].join(", "));
    let start = std::time::Instant::now();
    let select = round_trip(&many);
    let Some(ExprKind::Binary(_, _, rhs)) = select.cond.map(|c| c.kind) else { panic!() };
    assert!(matches!(rhs.kind, ExprKind::Literal(Value::Array(ref a)) if a.len() == n));
    let fields = format!("SELECT {} FROM t", vec!["a.b.c"; 50_000].join(", "));
    round_trip(&fields);
    let long_string = format!("SELECT * FROM t WHERE s = '{}'", "x".repeat(1_000_000));
    round_trip(&long_string);
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn spans_cover_what_was_written() {
    let q = "SELECT name AS n, * FROM person, user:1 WHERE age > 18 AND tags[0] = 'a' ORDER BY name DESC LIMIT 5";
    let s = parse(q).unwrap();
    assert_eq!(s.span.text(q), q);
    let Projection::Fields(fields) = &s.projection else { panic!() };
    let Field::Expr { expr, alias: Some(alias), span } = &fields[0] else { panic!() };
    assert_eq!((expr.span.text(q), alias.span.text(q), span.text(q)), ("name", "n", "name AS n"));
    assert!(matches!(fields[1], Field::All(span) if span.text(q) == "*"));
    assert_eq!(s.from[0].span.text(q), "person");
    assert_eq!(s.from[1].span.text(q), "user:1");
    assert_eq!(s.from[1].kind, TargetKind::Record(RecordId::new("user", 1)));
    let cond = s.cond.as_ref().unwrap();
    assert_eq!(cond.span.text(q), "age > 18 AND tags[0] = 'a'");
    let ExprKind::Binary(BinaryOp::And, lhs, rhs) = &cond.kind else { panic!() };
    assert_eq!(lhs.span.text(q), "age > 18");
    assert_eq!(rhs.span.text(q), "tags[0] = 'a'");
    let ExprKind::Binary(BinaryOp::Eq, tags, lit) = &rhs.kind else { panic!() };
    let ExprKind::Idiom(idiom) = &tags.kind else { panic!() };
    assert_eq!(idiom.span.text(q), "tags[0]");
    assert_eq!(idiom.parts[0].span().text(q), "tags");
    assert_eq!(idiom.parts[1].span().text(q), "[0]");
    assert_eq!(lit.span.text(q), "'a'");
    assert_eq!(s.order[0].span.text(q), "name DESC");
    assert_eq!(s.order[0].field.span.text(q), "name");
    assert_eq!(s.limit.as_ref().unwrap().span.text(q), "5");
}

#[test]
fn spans_of_nested_nodes() {
    let q = "SELECT (SELECT VALUE id FROM post WHERE author = $parent.id) AS posts, -x, !(a OR b), math::sum(n), ->wrote->(post, note).{1..2+collect}(->cites->post) FROM user GROUP ALL";
    let s = parse(q).unwrap();
    let Projection::Fields(fields) = &s.projection else { panic!() };
    let exprs: Vec<_> = fields
        .iter()
        .map(|f| match f {
            Field::Expr { expr, .. } => expr,
            Field::All(_) => panic!(),
        })
        .collect();
    assert_eq!(exprs[0].span.text(q), "(SELECT VALUE id FROM post WHERE author = $parent.id)");
    let ExprKind::Subquery(sub) = &exprs[0].kind else { panic!() };
    assert_eq!(sub.span.text(q), "SELECT VALUE id FROM post WHERE author = $parent.id");
    let ExprKind::Binary(_, _, parent) = &sub.cond.as_ref().unwrap().kind else { panic!() };
    let ExprKind::Idiom(parent) = &parent.kind else { panic!() };
    assert_eq!(parent.parts[0], Part::Param("parent".into(), parent.span));
    assert_eq!(parent.parts[0].span().text(q), "$parent");
    assert_eq!(parent.parts[1].span().text(q), "id");
    assert_eq!(exprs[1].span.text(q), "-x");
    assert!(matches!(exprs[1].kind, ExprKind::Unary(UnaryOp::Neg, _)));
    assert_eq!(exprs[2].span.text(q), "!(a OR b)");
    let ExprKind::Unary(UnaryOp::Not, inner) = &exprs[2].kind else { panic!() };
    assert_eq!(inner.span.text(q), "(a OR b)");
    assert_eq!(exprs[3].span.text(q), "math::sum(n)");
    let ExprKind::Idiom(graph) = &exprs[4].kind else { panic!() };
    assert_eq!(graph.parts[0].span().text(q), "->wrote");
    assert_eq!(graph.parts[1].span().text(q), "->(post, note)");
    assert!(matches!(&graph.parts[1], Part::Graph { dir: GraphDir::Out, tables, .. } if tables == &["post", "note"]));
    let Part::Recurse { min: 1, max: Some(2), collect: true, path, span } = &graph.parts[2] else { panic!() };
    assert_eq!(span.text(q), ".{1..2+collect}(->cites->post)");
    assert_eq!(path.span.text(q), "->cites->post");
    assert!(matches!(s.group, Some(Group::All(span)) if span.text(q) == "GROUP ALL"));
}

#[test]
fn what_the_parser_reads() {
    // Keywords are case-insensitive; function names are lower-cased (not `fn::` ones).
    let s = round_trip("select count() as n, fn::MyFunc(1) from person group all");
    assert_eq!(s.to_string(), "SELECT count() AS n, fn::MyFunc(1) FROM person GROUP ALL");
    // `IS`, `IS NOT`, `IN`, `NOT IN` and the symbol forms are the same operators.
    assert_eq!(
        parse("SELECT * FROM t WHERE a IS b AND c IS NOT d AND e IN f AND g NOT IN h AND i && j || k").unwrap(),
        parse("SELECT * FROM t WHERE a = b AND c != d AND e INSIDE f AND g NOTINSIDE h AND i AND j OR k").unwrap(),
    );
    // `NOT x` is `!x`.
    assert_eq!(parse("SELECT * FROM t WHERE NOT (a = b)"), parse("SELECT * FROM t WHERE !(a = b)"));
    // Precedence is SurrealDB's: AND binds tighter than OR, comparisons than AND.
    let s = parse("SELECT * FROM t WHERE a OR b AND c = 1 + 2 * 3").unwrap();
    assert_eq!(s.to_string(), "SELECT * FROM t WHERE a OR b AND c = 1 + 2 * 3");
    let ExprKind::Binary(BinaryOp::Or, _, rhs) = s.cond.unwrap().kind else { panic!() };
    let ExprKind::Binary(BinaryOp::And, _, rhs) = rhs.kind else { panic!() };
    let ExprKind::Binary(BinaryOp::Eq, _, rhs) = rhs.kind else { panic!() };
    assert!(matches!(rhs.kind, ExprKind::Binary(BinaryOp::Add, _, _)));
    // Parentheses are kept only where needed.
    assert_eq!(
        parse("SELECT * FROM t WHERE ((a - (b - c)) - d) = (1)").unwrap().to_string(),
        "SELECT * FROM t WHERE a - (b - c) - d = 1"
    );
    // `-5` is one literal, `- 5` and `-(5)` negate a literal, `-5s` negates a duration.
    let value = |q: &str| match parse(&format!("SELECT VALUE {q} FROM t")).unwrap().projection {
        Projection::Value(e) => e.kind,
        Projection::Fields(_) => panic!(),
    };
    assert_eq!(value("-5"), ExprKind::Literal(Value::from(-5)));
    assert!(matches!(value("- 5"), ExprKind::Unary(UnaryOp::Neg, _)));
    assert_eq!(value("- 5"), value("-(5)"));
    assert!(matches!(value("-5s"), ExprKind::Unary(UnaryOp::Neg, _)));
    // Arrays and objects of literals are literals.
    assert_eq!(value("[1, 'a', { b: NONE }]"), ExprKind::Literal("[1, 'a', { b: NONE }]".parse().unwrap()));
    assert!(matches!(value("[1, a]"), ExprKind::Array(_)));
    assert!(matches!(value("{ a: 1, b: c }"), ExprKind::Object(_)));
    // Record ids in every spelling.
    for id in ["person:⟨a b⟩", "person:`a b`", "r'person:`a b`'", "r\"person:⟨a b⟩\""] {
        assert_eq!(value(id), ExprKind::Literal(Value::from(RecordId::new("person", "a b"))), "{id}");
    }
    // Names that are keywords print in backticks where they would not read as names.
    let s = round_trip("SELECT `value`, `none`, in, `select`.x AS `from` FROM `only`, `value` GROUP BY `all`");
    assert_eq!(s.to_string(), "SELECT `value`, `none`, in, `select`.x AS from FROM `only`, `value` GROUP BY `all`");
    let s = round_trip("SELECT `value`:1 FROM `only`:1 LIMIT `by`:1 START `at`:2");
    assert_eq!(s.to_string(), "SELECT `value`:1 FROM `only`:1 LIMIT `by`:1 START `at`:2");
}

/// Trees whose names would read as something else print them in backticks
/// (found by the round-trip property test).
#[test]
fn printing_quotes_names_that_would_read_otherwise() {
    use ssp_planner::ast::{Expr, Idiom, Span};
    let call = |name: &str| Expr::new(ExprKind::Call { name: name.into(), args: vec![] });
    let graph = |tables: &[&str]| {
        let step =
            Part::Graph { dir: GraphDir::Out, tables: tables.iter().map(|t| (*t).into()).collect(), span: Span::NONE };
        Expr::new(ExprKind::Idiom(Idiom { parts: vec![Part::Field("a".into(), Span::NONE), step], span: Span::NONE }))
    };
    for (expr, text) in [
        // `not(x)` reads as `!x`
        (call("not"), "`not`()"),
        (call("count"), "count()"),
        // `->(select, …)` starts a `SELECT`
        (graph(&["select", "post"]), "a->(`select`, post)"),
        (graph(&["none"]), "a->`none`"),
        (Expr::new(ExprKind::Idiom(Idiom::fields(["value", "none"]))), "`value`.none"),
        // `SELECT VALUE value:1` would read `VALUE` twice
        (Expr::new(ExprKind::Literal(Value::from(RecordId::new("value", 1)))), "`value`:1"),
    ] {
        assert_eq!(expr.to_string(), text);
        let query = format!("SELECT VALUE {text} FROM t");
        assert_eq!(parse(&query).map(|s| s.projection), Ok(Projection::Value(expr)), "{query}");
    }
}
