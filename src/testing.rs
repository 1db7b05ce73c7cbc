//! Property tests of your own views (feature `proptest`): does the view of a
//! query, stepped incrementally with random changes, equal the plain
//! evaluation of the query after every step?
//!
//! [`check_view`] plans a SurrealQL query against your schema, builds its
//! circuit over empty tables, then for each version of a change stream steps
//! the circuit with the version's batches, applies them to the tables, and
//! compares the circuit's integrated output with the planner's reference
//! evaluation of the query on the tables as they now are. A second circuit
//! built halfway (hydrated from the tables at that point) is checked too.
//! The first difference is a [`Mismatch`]; [`CheckError`] is an error, so
//! `?` turns it into a proptest failure inside `proptest!`.
//!
//! ```
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//! use ssp::strategies::{change_stream_of, row};
//! use ssp::testing::check_view;
//!
//! // Inside `proptest! { #[test] fn ... }` in a test file; here, by hand.
//! let mut runner = TestRunner::new(Config { cases: 32, ..Config::default() });
//! runner
//!     .run(&change_stream_of("issue", row(), 8, 6, 4), |stream| {
//!         let versions: Vec<_> = stream.into_iter().map(|batch| vec![batch]).collect();
//!         check_view(
//!             "SELECT * FROM issue WHERE k > 0 ORDER BY n DESC LIMIT 3",
//!             &Default::default(),
//!             &Default::default(),
//!             &versions,
//!         )?;
//!         Ok(())
//!     })
//!     .expect("the view is incremental");
//! ```

use std::fmt;

use ssp_core::{ChangeBatch, Value, ZSet};
use ssp_ops::{Circuit, Delta, Tables};
use ssp_planner::{Params, Schema, interpret_zset, parse, plan};

/// Why [`check_view`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckError {
    /// The query does not parse or plan (a message drawn under its text).
    Query(String),
    /// A version's batches do not fit the tables (they remove a row the
    /// tables do not hold): the change stream itself is inconsistent.
    Stream {
        /// The version's index in the stream.
        step: usize,
        /// What was wrong.
        problem: String,
    },
    /// The incremental view differs from the reference.
    Mismatch(Box<Mismatch>),
}

/// A difference between the incremental view and the reference.
#[derive(Debug)]
pub struct Mismatch {
    /// The version's index in the stream.
    pub step: usize,
    /// Which circuit: `stepped from the start` or `hydrated at step n`.
    pub circuit: String,
    /// The query, as canonical SurrealQL.
    pub query: String,
    /// The circuit's integrated output.
    pub incremental: ZSet<Value>,
    /// The reference evaluation on the tables.
    pub reference: ZSet<Value>,
    /// The query's plan, as `EXPLAIN` prints it.
    pub explain: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Query(message) => f.write_str(message),
            CheckError::Stream { step, problem } => {
                write!(f, "the change stream's version {step} does not fit: {problem}")
            }
            CheckError::Mismatch(m) => {
                writeln!(f, "after version {}, the view ({}) differs from the reference", m.step, m.circuit)?;
                writeln!(f, "query: {}", m.query)?;
                writeln!(f, "incremental: {}", show(&m.incremental))?;
                writeln!(f, "reference:   {}", show(&m.reference))?;
                write!(f, "{}", m.explain)
            }
        }
    }
}

impl std::error::Error for CheckError {}

fn show(z: &ZSet<Value>) -> String {
    let rows: Vec<String> =
        z.iter_sorted().map(|(v, w)| if w == 1 { v.to_string() } else { format!("{w} x {v}") }).collect();
    format!("[{}]", rows.join(", "))
}

/// Checks that the view of `query` (with `params`, planned against
/// `schema`; an empty schema accepts any table and field), stepped with each
/// version of `versions` in turn, equals the reference evaluation after every
/// version. See the [module docs](self).
pub fn check_view(
    query: &str,
    schema: &Schema,
    params: &Params,
    versions: &[Vec<ChangeBatch>],
) -> Result<(), CheckError> {
    let select = parse(query).map_err(|e| CheckError::Query(e.display_with(query)))?;
    let text = select.to_string();
    let planned = plan(&select, schema, params).map_err(|e| CheckError::Query(e.display_with(&text)))?;
    let slots = planned.lowered.bind(params).map_err(|e| CheckError::Query(e.display_with(&text)))?;
    let mut tables = Tables::new();
    let (circuit, initial) = Circuit::with_params(planned.lowered.plan.clone(), slots.clone(), &mut tables);
    let mut circuits = vec![("stepped from the start".to_owned(), circuit, initial)];
    let late = versions.len() / 2;
    for (step, batches) in versions.iter().enumerate() {
        if step == late && step > 0 {
            let (circuit, initial) = Circuit::with_params(planned.lowered.plan.clone(), slots.clone(), &mut tables);
            circuits.push((format!("hydrated at version {step}"), circuit, initial));
        }
        let delta = Delta::from_batches(batches);
        tables.check(&delta).map_err(|e| CheckError::Stream { step, problem: e.to_string() })?;
        for (_, circuit, view) in circuits.iter_mut() {
            *view += &circuit.step(&tables, &delta);
        }
        tables.apply(&delta).map_err(|e| CheckError::Stream { step, problem: e.to_string() })?;
        let reference = interpret_zset(&planned.bound, &tables, params);
        for (name, _, view) in &circuits {
            if *view != reference {
                return Err(CheckError::Mismatch(Box::new(Mismatch {
                    step,
                    circuit: name.clone(),
                    query: text.clone(),
                    incremental: view.clone(),
                    reference,
                    explain: planned.explain(),
                })));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ssp_core::{Record, RecordId, Version};

    use super::*;

    #[test]
    fn a_bad_query_or_an_inconsistent_stream_is_an_error() {
        let none = Params::new();
        let schema = Schema::default();
        assert!(matches!(check_view("SELECT * FROM", &schema, &none, &[]), Err(CheckError::Query(_))));
        let mut batch = ChangeBatch::new("t", Version(1));
        batch.delete(Record::new(RecordId::new("t", 1), Version(1), Value::from(1))).expect("a batch");
        let err = check_view("SELECT * FROM t", &schema, &none, &[vec![batch]]).expect_err("a delete of nothing");
        assert!(matches!(err, CheckError::Stream { step: 0, .. }), "{err}");
    }

    #[test]
    fn a_consistent_stream_passes() {
        let mut versions = Vec::new();
        for i in 1..=3u64 {
            let mut batch = ChangeBatch::new("t", Version(i));
            let row: Value = format!("{{ id: t:{i}, n: {i} }}").parse().expect("a row");
            batch.insert(Record::new(RecordId::new("t", i as i64), Version(i), row)).expect("a batch");
            versions.push(vec![batch]);
        }
        check_view("SELECT n FROM t WHERE n >= 2", &Schema::default(), &Params::new(), &versions).expect("incremental");
    }
}
