//! Live queries on embedded, in-memory SurrealDB: no server to install.
//!
//! ```text
//! cargo run --example live --features runtime,surreal
//! ```
//!
//! Defines issues, users and comments, registers views that SurrealDB's own
//! LIVE SELECT cannot maintain (ORDER BY + LIMIT, a join through a record
//! link, a GROUP BY count, a graph traversal), writes changes, and prints
//! each view's diff as it arrives. It ends on its own in a few seconds.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ssp::ssp_cvr::{ClientId, MemoryStore};
use ssp::ssp_planner::{Kind, Schema, TableDef};
use ssp::ssp_runtime::{Live, Subscription, Update};
use ssp::ssp_surreal::SourceOptions;
use surrealdb::Surreal;
use surrealdb::engine::local::Mem;

const SCHEMA: &str = "
    DEFINE TABLE user CHANGEFEED 1h;
    DEFINE TABLE issue CHANGEFEED 1h;
    DEFINE FIELD author ON issue TYPE record<user>;
    DEFINE TABLE comment CHANGEFEED 1h;
    DEFINE TABLE likes TYPE RELATION CHANGEFEED 1h;
    CREATE user:ann SET name = 'Ann';
    CREATE user:bob SET name = 'Bob';
    CREATE issue:1 SET title = 'Crash on start', status = 'open', votes = 7, author = user:ann;
    CREATE issue:2 SET title = 'Slow search', status = 'open', votes = 3, author = user:bob;
    CREATE issue:3 SET title = 'Typo in docs', status = 'closed', votes = 1, author = user:ann;
    CREATE comment:1 SET issue = issue:1, text = 'Same here';
    RELATE user:bob->likes->issue:1;
";

/// The views: each beyond what a LIVE SELECT can follow.
const VIEWS: [(&str, &str); 4] = [
    ("top open issues", "SELECT * FROM issue WHERE status = 'open' ORDER BY votes DESC LIMIT 2"),
    ("open issues with their author", "SELECT * FROM issue WHERE status = 'open' FETCH author"),
    ("issues by status", "SELECT status, count() AS n FROM issue GROUP BY status"),
    ("what each user likes", "SELECT name, ->likes->issue AS liked FROM user"),
];

const WRITES: [&str; 6] = [
    "UPDATE issue:2 SET votes = 9",
    "CREATE issue:4 SET title = 'Dark mode', status = 'open', votes = 5, author = user:bob",
    "UPDATE user:ann SET name = 'Ann Lee'",
    "RELATE user:ann->likes->issue:4",
    "UPDATE issue:1 SET status = 'closed'",
    "DELETE issue:3",
];

fn print(name: &str, update: &Update) {
    let diff = update.diff();
    let kind = if update.is_snapshot() { "snapshot" } else { "diff" };
    println!("  [{name}] {kind} to {}:", diff.to_version);
    for r in &diff.upserts {
        println!("    + {} {}", r.id, r.value);
    }
    for id in &diff.removed {
        println!("    - {id}");
    }
}

/// Prints what arrives on each subscription until all are quiet for a while.
async fn drain(subs: &mut [(&str, Subscription)]) {
    for (name, sub) in subs.iter_mut() {
        while let Ok(Some(diff)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {
            print(name, &diff);
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Surreal::new::<Mem>(()).await?;
    db.use_ns("demo").use_db("demo").await?;
    db.query(SCHEMA).await?.check()?;

    // The planner follows `issue.author` as a link to `user`.
    let mut schema = Schema::new();
    let link =
        TableDef { fields: [("author".into(), Kind::Record(Some("user".into())))].into(), ..TableDef::default() };
    schema.define("issue", link);
    for table in ["user", "comment", "likes"] {
        schema.define(table, TableDef::default());
    }
    let mut options = SourceOptions::default();
    options.poll_interval = Duration::from_millis(50);
    let live = Live::builder(db.clone())
        .tables(["user", "issue", "comment", "likes"])
        .schema(schema)
        .store(Arc::new(MemoryStore::new()))
        .source_options(options)
        .start()
        .await?;

    let alice = ClientId::new("alice");
    let mut subs = Vec::new();
    for (name, query) in VIEWS {
        println!("view {name}: {query}");
        subs.push((name, live.subscribe(alice.clone(), query).await?));
    }
    println!("\nwhat alice gets first:");
    drain(&mut subs).await;

    for write in WRITES {
        println!("\n> {write}");
        db.query(write).await?.check()?;
        drain(&mut subs).await;
    }
    println!("\n{} commits stepped", live.commits());
    Ok(())
}
