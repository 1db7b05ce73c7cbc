//! SurrealDB as the views' second oracle: random queries of the planner's
//! grammar ([`ssp_planner::strategies::views`]) over tables written by random
//! SurrealQL (`CREATE`, `UPDATE ... CONTENT/MERGE/SET`, `UPSERT`, `DELETE`,
//! `RELATE`, re-creating deleted ids, several writes in one transaction or one
//! commit each) on the embedded engine. After every step, the lowered circuit
//! stepped with the changes holds exactly the rows SurrealDB answers for the
//! same SurrealQL text, as a multiset (and, with `ORDER BY` + `LIMIT`, in
//! SSP's order). `PROPTEST_CASES` overrides the case count.
//!
//! The changes reach the circuit the way they reach SSP in production:
//! through [`ssp_surreal::Source`], hydrated before the first write and polled
//! after every step, i.e. from SurrealDB's change feed, one commit at a time.
//!
//! What it found: `SELECT * ... FETCH r` gave `r: NONE` to records without
//! `r` (fixed in the planner); `math::mean` of decimals was a decimal and a sum
//! of floats and decimals a float (SurrealDB: a float, a decimal; fixed in
//! `ssp-ops`). Rows are compared as values (`1` and `1dec` equal); with
//! `SSP_ORACLE_KINDS=1` by kind too, where differences remain in which of
//! equal keys of different kinds a group shows and in `math::min`/`math::max`
//! ties (SSP takes the first in exact order, ints before floats before
//! decimals; SurrealDB the first it reads).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssp_core::strategies::row;
use ssp_core::{ChangeBatch, Number, Value, ZSet};
use ssp_ops::{Circuit, Delta, Tables};
use ssp_planner::builder::Query;
use ssp_planner::strategies::views::{Forms, edge, linked, query_of, schema};
use ssp_planner::{Direction, Params, plan};
use ssp_surreal::{Source, SourceOptions, from_surreal, to_surreal};
use surrealdb::Surreal;
use surrealdb::engine::local::{Db, Mem};
use surrealdb::types as sdb;

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/oracle.txt"))),
        ..ProptestConfig::default()
    }
}

/// How a write to an existing record of `t1`/`t2` is said.
#[derive(Clone, Copy, Debug)]
enum How {
    Content,
    Merge,
    Set,
    Upsert,
}

/// One write, drawn without knowing the tables: a write of an existing
/// record updates it, a delete of a missing one creates it empty.
#[derive(Clone, Debug)]
enum Write {
    Put { table: &'static str, id: i64, row: Value, how: How },
    Delete { table: &'static str, id: i64, row: Value },
    Relate { id: i64, edge: Value, touch: bool },
    Unrelate { id: i64 },
}

/// Rows of the views' tables whose numbers stay small.
///
/// Excluded, each a known difference listed in `ssp_planner`'s crate docs:
/// - numbers near the `i64` and decimal limits, whose arithmetic (`n * 2`,
///   `math::sum`) overflows: "an arithmetic or function error is `NONE` for
///   that row instead of failing the whole query";
/// - floats a decimal cannot hold (beyond its range, or not finite): "`math::sum`
///   of floats and decimals converts the floats' total to a decimal once ...
///   the two round differently only for floats a decimal cannot hold exactly
///   or non-finite ones" (found: `0dec`, `1.0f`, `1.5e234f` sum to `0dec` in
///   SSP, `1dec` in SurrealDB).
fn small_row() -> impl Strategy<Value = Value> {
    row().prop_filter("no arithmetic overflow", |v| match v.get(&"n".parse().expect("a path")) {
        Some(Value::Number(Number::Float(f))) => f.is_finite() && f.abs() < 1e12,
        Some(Value::Number(n)) => n.to_f64().abs() < 1e12,
        _ => true,
    })
}

/// The queries: every form of the planner's grammar but three, each a known
/// difference listed in `ssp_planner`'s crate docs:
/// - "`GROUP ALL` over no rows gives no row (SurrealDB gives one row of
///   identities, `{ count: 0 }`)": no `GROUP ALL`, top-level or in a
///   subquery (`GROUP BY` instead);
/// - "`math::min`/`math::max` take any values ..., and of equal extremes of
///   different kinds give the last by kind": they read `k`, an int;
/// - "a recursion's records come in id order (SurrealDB lists them
///   breadth-first)": single graph steps instead of recursive walks.
fn query() -> BoxedStrategy<Query> {
    query_of(Forms { group_all: false, aggregates_of_any_value: false, recursion: false })
}

fn write() -> impl Strategy<Value = Write> {
    let how = prop_oneof![Just(How::Content), Just(How::Merge), Just(How::Set), Just(How::Upsert)];
    prop_oneof![
        3 => (0i64..6, linked(small_row()), how.clone()).prop_map(|(id, row, how)| Write::Put { table: "t1", id, row, how }),
        3 => (0i64..6, small_row(), how).prop_map(|(id, row, how)| Write::Put { table: "t2", id, row, how }),
        1 => (prop_oneof![Just("t1"), Just("t2")], 0i64..6, small_row()).prop_map(|(table, id, row)| Write::Delete { table, id, row }),
        2 => (0i64..8, edge(), any::<bool>()).prop_map(|(id, edge, touch)| Write::Relate { id, edge, touch }),
        1 => (0i64..8).prop_map(|id| Write::Unrelate { id }),
    ]
}

/// Steps of writes; each step is one transaction or one commit per write.
fn steps() -> impl Strategy<Value = Vec<(Vec<Write>, bool)>> {
    prop::collection::vec((prop::collection::vec(write(), 0..5), any::<bool>()), 1..7)
}

async fn engine() -> Surreal<Db> {
    let db = Surreal::new::<Mem>(()).await.expect("an in-memory engine");
    db.use_ns("ssp").use_db("oracle").await.expect("a namespace and database");
    db.query(
        "DEFINE TABLE t1 CHANGEFEED 1h INCLUDE ORIGINAL; \
         DEFINE FIELD r ON t1 TYPE option<record<t2>>; \
         DEFINE TABLE t2 CHANGEFEED 1h INCLUDE ORIGINAL; \
         DEFINE TABLE e CHANGEFEED 1h INCLUDE ORIGINAL;",
    )
    .await
    .and_then(|r| r.check())
    .expect("the tables");
    db
}

/// SurrealQL statements of one step, with their parameters.
struct Statements {
    text: Vec<String>,
    params: Vec<(String, sdb::Value)>,
}

/// Which records exist, to say each write in a form that succeeds.
#[derive(Default)]
struct Existing(BTreeMap<&'static str, BTreeSet<i64>>);

impl Existing {
    fn say(&mut self, writes: &[Write]) -> Statements {
        let mut out = Statements { text: vec![], params: vec![] };
        for (i, w) in writes.iter().enumerate() {
            let p = format!("w{i}");
            match w {
                Write::Put { table, id, row, how } => {
                    let exists = !self.0.entry(table).or_default().insert(*id);
                    out.params.push((p.clone(), to_surreal(row)));
                    let stmt = match (exists, how) {
                        (_, How::Upsert) => format!("UPSERT {table}:{id} CONTENT ${p}"),
                        (false, _) => format!("CREATE {table}:{id} CONTENT ${p}"),
                        (true, How::Content) => format!("UPDATE {table}:{id} CONTENT ${p}"),
                        (true, How::Merge) => format!("UPDATE {table}:{id} MERGE ${p}"),
                        (true, How::Set) => {
                            let link = if *table == "t1" { format!(", r = ${p}.r") } else { String::new() };
                            format!("UPDATE {table}:{id} SET k = ${p}.k, s = ${p}.s, n = ${p}.n, opt = ${p}.opt{link}")
                        }
                    };
                    out.text.push(stmt);
                }
                Write::Delete { table, id, row } => {
                    let ids = self.0.entry(table).or_default();
                    if ids.remove(id) {
                        out.text.push(format!("DELETE {table}:{id}"));
                    } else {
                        ids.insert(*id);
                        out.params.push((p.clone(), to_surreal(row)));
                        out.text.push(format!("CREATE {table}:{id} CONTENT ${p}"));
                    }
                }
                Write::Relate { id, edge, touch } => {
                    let ids = self.0.entry("e").or_default();
                    let exists = !ids.insert(*id);
                    let path = |f: &str| edge.pick(&f.parse().expect("a path"));
                    let relate = format!("RELATE {}->e:{id}->{}", path("in"), path("out"));
                    match (exists, touch) {
                        (true, true) => out.text.push(format!("UPDATE e:{id} SET w = {}", path("out"))),
                        (true, false) => {
                            out.text.push(format!("DELETE e:{id}"));
                            out.text.push(relate);
                        }
                        (false, _) => out.text.push(relate),
                    }
                }
                Write::Unrelate { id } => {
                    let ids = self.0.entry("e").or_default();
                    if ids.remove(id) {
                        out.text.push(format!("DELETE e:{id}"));
                    } else {
                        ids.insert(*id);
                        out.text.push(format!("RELATE t1:{id}->e:{id}->t2:{id}"));
                    }
                }
            }
        }
        out
    }
}

/// Runs one query text; every statement must succeed.
async fn run(db: &Surreal<Db>, text: &str, params: &[(String, sdb::Value)]) -> Result<Vec<sdb::Value>, String> {
    let mut q = db.query(text);
    for (name, v) in params {
        q = q.bind((name.clone(), v.clone()));
    }
    let mut res = q.await.map_err(|e| format!("{text}: {e}"))?;
    let n = res.num_statements();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(res.take::<sdb::Value>(i).map_err(|e| format!("{text} (statement {i}): {e}"))?);
    }
    Ok(out)
}

/// Steps the circuit with one version's batches and integrates its output.
fn feed(
    circuit: &mut Circuit,
    tables: &mut Tables,
    view: &mut ZSet<Value>,
    batches: &[ChangeBatch],
) -> Result<(), String> {
    let delta = Delta::from_batches(batches);
    tables.check(&delta).map_err(|e| e.to_string())?;
    *view += &circuit.step(tables, &delta);
    tables.apply(&delta).map_err(|e| e.to_string())
}

fn rows_of(v: sdb::Value) -> Result<Vec<Value>, String> {
    match from_surreal(v).map_err(|e| e.to_string())? {
        Value::Array(a) => Ok(a.iter().cloned().collect()),
        other => Err(format!("not an array of rows: {other}")),
    }
}

/// A Z-set's rows as values: rows equal across number kinds merged.
fn as_values(z: &ZSet<Value>) -> BTreeMap<&Value, i64> {
    let mut out = BTreeMap::new();
    for (row, w) in z.iter() {
        *out.entry(row).or_insert(0) += w;
    }
    out.retain(|_, w| *w != 0);
    out
}

fn show(z: &ZSet<Value>) -> String {
    let mut rows: Vec<String> =
        z.iter().map(|(v, w)| if w == 1 { v.to_string() } else { format!("{w} x {v}") }).collect();
    rows.sort();
    rows.join("\n  ")
}

async fn check(query: Query, steps: &[(Vec<Write>, bool)], p: i64) -> Result<(), String> {
    let schema = schema();
    let params: Params = BTreeMap::from([("p".into(), Value::from(p))]);
    let select = query.build();
    let text = select.to_string();
    let planned = plan(&select, &schema, &params).map_err(|e| format!("{e}\n{text}"))?;
    let slots = planned.lowered.bind(&params).map_err(|e| e.to_string())?;
    let mut tables = Tables::new();
    let (mut circuit, _) = Circuit::with_params(planned.lowered.plan.clone(), slots, &mut tables);
    let mut view: ZSet<Value> = ZSet::new();
    let db = engine().await;
    let mut existing = Existing::default();
    let mut options = SourceOptions::default();
    options.live_wakeup = false;
    let (mut source, snapshot) =
        Source::hydrate(db.clone(), &["t1", "t2", "e"], options).await.map_err(|e| e.to_string())?;
    feed(&mut circuit, &mut tables, &mut view, &snapshot)?;
    let bound = vec![("p".to_owned(), to_surreal(&Value::from(p)))];
    for (step, (writes, txn)) in steps.iter().enumerate() {
        let statements = existing.say(writes);
        if *txn {
            let text = format!("BEGIN TRANSACTION; {}; COMMIT TRANSACTION;", statements.text.join("; "));
            run(&db, &text, &statements.params).await?;
        } else {
            for stmt in &statements.text {
                run(&db, stmt, &statements.params).await?;
            }
        }
        let commits = source.poll().await.map_err(|e| e.to_string())?;
        if *txn && commits.len() > 1 {
            return Err(format!("one transaction came as {} commits", commits.len()));
        }
        for commit in &commits {
            feed(&mut circuit, &mut tables, &mut view, &commit.batches)?;
        }
        let theirs = run(&db, &text, &bound).await?;
        let theirs = rows_of(theirs.into_iter().next().unwrap_or(sdb::Value::None))?;
        let expected: ZSet<Value> = theirs.iter().map(|r| (r.clone(), 1)).collect();
        // As values (`1` and `1.0f` equal); kinds too on request, below.
        if as_values(&view) != as_values(&expected) {
            return Err(format!(
                "after step {step} ({}):\n{text}\nSSP:\n  {}\nSurrealDB:\n  {}\n{}",
                statements.text.join("; "),
                show(&view),
                show(&expected),
                planned.explain()
            ));
        }
        // Kinds too (`1` vs `1dec`, equal as values), on request: see the
        // module docs for the kind differences left.
        if std::env::var_os("SSP_ORACLE_KINDS").is_none() {
            continue_order_check(&select, &theirs, step, &text)?;
            continue;
        }
        let mut ours_text: Vec<String> =
            view.iter().flat_map(|(v, w)| std::iter::repeat_n(v.to_string(), w.max(0) as usize)).collect();
        let mut theirs_text: Vec<String> = theirs.iter().map(Value::to_string).collect();
        ours_text.sort();
        theirs_text.sort();
        if ours_text != theirs_text {
            return Err(format!(
                "kinds after step {step}:\n{text}\nSSP:\n  {}\nSurrealDB:\n  {}",
                ours_text.join("\n  "),
                theirs_text.join("\n  ")
            ));
        }
        continue_order_check(&select, &theirs, step, &text)?;
    }
    Ok(())
}

/// Where the query orders with `LIMIT`, SurrealDB's rows (equal to the
/// view's as a multiset) come in the order SSP's `Value` order gives.
fn continue_order_check(
    select: &ssp_planner::ast::Select,
    theirs: &[Value],
    step: usize,
    text: &str,
) -> Result<(), String> {
    if select.limit.is_none() || select.order.is_empty() {
        return Ok(());
    }
    for pair in theirs.windows(2) {
        let mut ord = std::cmp::Ordering::Equal;
        for term in &select.order {
            let path = term.field.to_string().parse().map_err(|e| format!("{e:?}"))?;
            let o = pair[0].pick(&path).cmp(&pair[1].pick(&path));
            ord = ord.then(if term.direction == Direction::Desc { o.reverse() } else { o });
        }
        if ord == std::cmp::Ordering::Greater {
            return Err(format!("out of order after step {step}: {text}: {} before {}", pair[0], pair[1]));
        }
    }
    Ok(())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(f)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn views_equal_what_surrealdb_answers_after_every_step(q in query(), steps in steps(), p in 0i64..4) {
        block_on(check(q, &steps, p)).map_err(TestCaseError::fail)?;
    }
}
