//! A short tour of SSP's foundation: values, Z-sets, and the stream
//! primitives `D` and `I` on a stream of changes to a table.
//!
//! Run it with `cargo run --example quickstart`.

use ssp::{ChangeBatch, Differentiate, Integrate, Record, RecordId, Value, Version, ZSet};

fn issue(key: i64, version: u64, text: &str) -> Result<Record, Box<dyn std::error::Error>> {
    Ok(Record::new(RecordId::new("issue", key), Version(version), text.parse::<Value>()?))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== Values: SurrealDB's kinds, order and text");
    let row: Value =
        "{ title: 'Crash on start', votes: 3, author: user:tobie, opened: d'2026-11-24T09:00:00Z' }".parse()?;
    println!("a row:        {row}");
    println!("as JSON:      {}", row.to_json());
    println!("author:       {}", row.pick(&"author".parse()?));
    println!("1 == 1.0f == 1dec: {}", Value::from(1) == Value::from(1.0) && Value::from(1) == "1dec".parse()?);
    let mut mixed: Vec<Value> = ["'a'", "NULL", "3", "true", "[1]", "user:tobie", "NONE", "1.5f"]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    mixed.sort();
    let sorted: Vec<String> = mixed.iter().map(Value::to_string).collect();
    println!("sorted as SurrealDB sorts: {}", sorted.join(" < "));

    println!("\n== A change stream: three versions of the `issue` table");
    let mut v1 = ChangeBatch::new("issue", Version(1));
    v1.insert(issue(1, 1, "{ title: 'Crash', votes: 1 }")?)?;
    v1.insert(issue(2, 1, "{ title: 'Typo', votes: 0 }")?)?;
    let mut v2 = ChangeBatch::new("issue", Version(2));
    v2.update(issue(1, 1, "{ title: 'Crash', votes: 1 }")?, issue(1, 2, "{ title: 'Crash', votes: 2 }")?)?;
    let mut v3 = ChangeBatch::new("issue", Version(3));
    v3.delete(issue(2, 1, "{ title: 'Typo', votes: 0 }")?)?;
    v3.insert(issue(3, 1, "{ title: 'Slow sync', votes: 5 }")?)?;

    // I (integrate) turns changes into states; D (differentiate) turns the
    // states back into the changes: D∘I = id.
    let mut integrate = Integrate::<ZSet<Record>>::new();
    let mut differentiate = Differentiate::<ZSet<Record>>::new();
    for batch in [&v1, &v2, &v3] {
        let change = batch.to_zset();
        println!("\n{} changes:", batch.version());
        for (record, weight) in change.iter_sorted() {
            println!("  {weight:+} {} {} {}", record.id, record.version, record.value);
        }
        let state = integrate.step(&change).clone();
        println!("table after {}:", batch.version());
        for (record, weight) in state.iter_sorted() {
            println!("  {weight:+} {} {} {}", record.id, record.version, record.value);
        }
        let recovered = differentiate.step(&state);
        assert_eq!(recovered, change, "D(I(s)) = s");
    }
    println!("\nD(I(changes)) gave back every change: D∘I = id.");
    Ok(())
}
