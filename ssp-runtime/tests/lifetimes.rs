//! View lifetimes on a clock the test moves: each category lives its TTL
//! after its client lets go of it, the clock stops while the client is
//! disconnected, a view no connected client holds is evicted (its client's
//! record kept) and rebuilt when the client subscribes again, which then
//! catches up with the minimal diff.

use std::collections::BTreeMap;
use std::time::Duration;

use ssp_core::{ChangeBatch, Record, RecordId, Value, Version, ZSet};
use ssp_cvr::{ClientId, Cvr, Timestamp, ViewId};
use ssp_planner::{Params, Schema, interpret_records, parse, plan};
use ssp_runtime::{Engine, Expired, Lifetime, RuntimeError, Ttls};

const QUERY: &str = "SELECT * FROM issue WHERE open = true ORDER BY votes DESC LIMIT 3";
const SECOND: u64 = 1_000;

/// The holds that expired, as client and view.
fn dropped(expired: &Expired) -> Vec<(ClientId, ViewId)> {
    expired.dropped.iter().map(|d| (d.client.clone(), d.view.clone())).collect()
}

fn at(millis: u64) -> Timestamp {
    Timestamp(millis)
}

fn issue(key: i64, votes: i64, open: bool, version: u64) -> Record {
    let value: Value = format!("{{ id: issue:{key}, votes: {votes}, open: {open} }}").parse().expect("a row");
    Record::new(RecordId::new("issue", key), Version(version), value)
}

/// An engine over ten issues.
fn engine() -> Engine {
    let mut engine = Engine::default();
    let mut batch = ChangeBatch::new("issue", Version(1));
    for k in 0..10 {
        batch.insert(issue(k, k * 7 % 10, k % 3 != 0, 1)).expect("a batch");
    }
    engine.step(Version(1), &[batch]).expect("the table");
    engine
}

/// A client of `view` at its state now.
fn client(engine: &Engine, name: &str, view: &ViewId) -> Cvr {
    let mut cvr = Cvr::new(name, view.clone());
    cvr.apply(&engine.catch_up(view, None).expect("a view")).expect("a diff");
    cvr
}

#[test]
fn each_lifetime_keeps_its_view_for_its_ttl_after_release() {
    let ttls = Ttls::default();
    let cases = [
        (Lifetime::Ephemeral, Some(0)),
        (Lifetime::Navigational, Some(30 * SECOND)),
        (Lifetime::Preload, Some(300 * SECOND)),
        (Lifetime::Permanent, None),
    ];
    for (lifetime, ttl) in cases {
        assert_eq!(ttls.ttl(lifetime).map(|d| d.as_millis() as u64), ttl, "{lifetime:?}: the documented default");
        let mut engine = engine();
        let c = ClientId::new("c");
        let view = engine.subscribe(&c, QUERY, Params::new(), lifetime, at(0)).expect("a view");
        // Held open, nothing expires however long.
        assert_eq!(engine.expire(at(1_000 * SECOND)).evicted, Vec::<ViewId>::new(), "{lifetime:?}");
        engine.release(&c, &view, at(1_000 * SECOND)).expect("held");
        match ttl {
            Some(ttl) => {
                if ttl > 0 {
                    let early = engine.expire(at(1_000 * SECOND + ttl - 1));
                    assert!(early.evicted.is_empty() && early.dropped.is_empty(), "{lifetime:?}: before its TTL");
                    assert!(engine.view(&view).is_some());
                }
                let expired = engine.expire(at(1_000 * SECOND + ttl));
                assert_eq!(expired.evicted, std::slice::from_ref(&view), "{lifetime:?}: at its TTL");
                assert_eq!(dropped(&expired), [(c.clone(), view.clone())], "{lifetime:?}: the hold is dropped");
                assert!(engine.view(&view).is_none());
                // Nothing names it any more: it is unknown, not evicted.
                assert!(!engine.is_evicted(&view));
                assert!(matches!(engine.catch_up(&view, None), Err(RuntimeError::UnknownView { .. })));
            }
            None => {
                engine.disconnect(&c, at(1_000 * SECOND));
                let later = engine.expire(at(1_000_000 * SECOND));
                assert!(later.evicted.is_empty() && later.dropped.is_empty(), "permanent, even disconnected");
                assert!(engine.view(&view).is_some());
                // Until the client is forgotten.
                assert_eq!(engine.forget(&c), std::slice::from_ref(&view));
                assert_eq!(engine.expire(at(1_000_000 * SECOND)).evicted, std::slice::from_ref(&view));
            }
        }
    }
}

#[test]
fn the_ttl_clock_stops_while_the_client_is_disconnected() {
    let mut engine = engine();
    let c = ClientId::new("c");
    let view = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Navigational, at(0)).expect("a view");
    engine.release(&c, &view, at(0)).expect("held");
    // 10 s of its 30 s pass, and it disconnects.
    engine.disconnect(&c, at(10 * SECOND));
    // A disconnected client's holds keep nothing in memory: the view is
    // evicted, but still the client's.
    let expired = engine.expire(at(10 * SECOND + 1));
    assert_eq!(expired.evicted, std::slice::from_ref(&view));
    assert!(expired.dropped.is_empty(), "its clock stopped with 20 s left");
    assert!(engine.is_evicted(&view));
    assert!(matches!(engine.catch_up(&view, None), Err(RuntimeError::Evicted { .. })));
    assert!(matches!(engine.catch_up_full(&view, None), Err(RuntimeError::Evicted { .. })));
    let by_id = engine.hold(&c, &view, Lifetime::Navigational, at(20 * SECOND));
    assert!(matches!(by_id, Err(RuntimeError::Evicted { .. })), "{by_id:?}");
    // An hour later it is still the client's.
    assert!(engine.expire(at(3_600 * SECOND)).dropped.is_empty());
    // It comes back: 20 s of connected time later the hold expires.
    engine.connect(&c, at(3_600 * SECOND));
    assert!(engine.expire(at(3_620 * SECOND - 1)).dropped.is_empty());
    assert_eq!(dropped(&engine.expire(at(3_620 * SECOND))), [(c.clone(), view.clone())]);
    assert!(!engine.is_evicted(&view), "no one holds it: forgotten");
}

#[test]
fn an_evicted_view_is_rebuilt_on_demand_and_its_client_catches_up_minimally() {
    let mut engine = engine();
    let (a, b) = (ClientId::new("a"), ClientId::new("b"));
    let view = engine.subscribe(&a, QUERY, Params::new(), Lifetime::Preload, at(0)).expect("a view");
    let mut cvr = client(&engine, "a", &view);
    let shown_before: BTreeMap<RecordId, Version> = cvr.iter().map(|(id, v)| (id.clone(), v)).collect();
    // Another client holds a view of another query; both disconnect.
    let other = engine.subscribe(&b, "SELECT * FROM issue WHERE votes > 5", Params::new(), Lifetime::Ephemeral, at(0));
    let other = other.expect("a view");
    engine.disconnect(&a, at(SECOND));
    engine.disconnect(&b, at(SECOND));
    assert_eq!(engine.plans(), 2);
    assert_eq!(engine.tables().index_count(), 1, "the top-3 view's order index");
    let expired = engine.expire(at(2 * SECOND));
    assert_eq!(expired.evicted.len(), 2, "both evicted while their clients are away");
    assert_eq!(engine.plans(), 0, "their shapes' plans go with them");
    assert_eq!(engine.tables().index_count(), 0, "and the shared index only they read");
    assert_eq!(dropped(&expired), [(b.clone(), other.clone())], "an ephemeral hold expires at once");
    assert!(engine.views().next().is_none(), "their state is freed");

    // Writes go on while the view is evicted: one issue enters the top 3,
    // one leaves, one changes outside the view.
    let mut batch = ChangeBatch::new("issue", Version(2));
    let old = |k: i64| issue(k, k * 7 % 10, k % 3 != 0, 1);
    batch.update(old(0), issue(0, 50, true, 2)).expect("a batch");
    let top = shown_before.keys().next().expect("a shown issue").clone();
    let top_key: i64 = top.to_string().trim_start_matches("issue:").parse().expect("a key");
    batch.update(old(top_key), issue(top_key, 0, false, 2)).expect("a batch");
    engine.step(Version(2), &[batch]).expect("a step");

    // The client comes back and subscribes with its query: the view is
    // rebuilt from the tables, and its record gets only what changed.
    let again = engine.subscribe(&a, QUERY, Params::new(), Lifetime::Preload, at(3 * SECOND)).expect("rebuilt");
    assert_eq!(again, view, "the same view");
    assert_eq!(engine.tables().index_count(), 1, "its index built again");
    let diff = engine.catch_up(&view, Some(&cvr)).expect("a catch-up");
    assert!(diff.upserts.len() <= 2 && diff.removed.len() <= 2, "only what changed: {diff:?}");
    assert!(diff.removed.contains(&top), "the closed issue leaves: {diff:?}");
    assert!(diff.upserts.iter().any(|r| r.id == RecordId::new("issue", 0)), "the voted one enters: {diff:?}");
    cvr.apply(&diff).expect("a diff");
    assert!(cvr.summary().holds_same_records(&engine.view(&view).expect("rebuilt").state()));
    // The rebuilt view is the reference.
    let select = parse(QUERY).expect("a query");
    let planned = plan(&select, &Schema::default(), &Params::new()).expect("a plan");
    let want = interpret_records(&planned.bound, engine.tables(), &Params::new());
    let got: ZSet<Value> = engine.view(&view).expect("rebuilt").records().map(|r| (r.value.clone(), 1)).collect();
    assert_eq!(got, want);
}

#[test]
fn a_view_stays_while_anyone_holds_it() {
    let mut engine = engine();
    let (a, b) = (ClientId::new("a"), ClientId::new("b"));
    let view = engine.subscribe(&a, QUERY, Params::new(), Lifetime::Ephemeral, at(0)).expect("a view");
    engine.subscribe(&b, QUERY, Params::new(), Lifetime::Ephemeral, at(0)).expect("the same view");
    engine.release(&a, &view, at(0)).expect("held");
    let expired = engine.expire(at(SECOND));
    assert!(expired.evicted.is_empty(), "b still has it open");
    assert_eq!(dropped(&expired), [(a.clone(), view.clone())], "a's ephemeral hold expired");
    engine.release(&b, &view, at(SECOND)).expect("held");
    // A registration holds it whatever the TTLs.
    engine.register(QUERY, Params::new()).expect("a registration");
    let expired = engine.expire(at(2 * SECOND));
    assert!(expired.evicted.is_empty());
    assert_eq!(dropped(&expired), [(b.clone(), view.clone())], "b's too");
    assert_eq!(engine.tables().index_count(), 1);
    assert!(!engine.unregister(&view).expect("registered"), "dropped with its last hold");
    assert_eq!(engine.tables().index_count(), 0, "its index goes with it");
    assert!(matches!(engine.unregister(&view), Err(RuntimeError::UnknownView { .. })));
    // Releasing what one does not hold is an error.
    assert!(matches!(engine.release(&a, &view, at(3 * SECOND)), Err(RuntimeError::NotHeld { .. })));
}

#[test]
fn a_client_gone_too_long_is_forgotten_but_for_its_permanent_holds() {
    let ttls = Ttls::default().forget_after(Duration::from_secs(3_600));
    let mut engine = Engine::builder().ttls(ttls).build();
    let c = ClientId::new("c");
    let kept = engine.subscribe(&c, "SELECT * FROM issue", Params::new(), Lifetime::Permanent, at(0)).expect("a view");
    let lost = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Preload, at(0)).expect("a view");
    engine.disconnect(&c, at(0));
    let expired = engine.expire(at(60 * SECOND));
    assert_eq!(expired.evicted, std::slice::from_ref(&lost), "evicted, the permanent view stays");
    assert!(expired.dropped.is_empty(), "both still the client's");
    let expired = engine.expire(at(3_600 * SECOND));
    assert_eq!(dropped(&expired), [(c.clone(), lost.clone())], "an hour away: forgotten");
    assert!(engine.view(&kept).is_some());
    assert!(!engine.is_evicted(&lost));
}

#[test]
fn a_hold_counts_its_subscriptions_and_takes_the_lifetime_of_the_open_ones() {
    let mut engine = engine();
    let c = ClientId::new("c");
    // Two subscriptions of one view: released once, it is still open.
    let view = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Ephemeral, at(0)).expect("a view");
    engine.subscribe(&c, QUERY, Params::new(), Lifetime::Ephemeral, at(0)).expect("the same view");
    engine.release(&c, &view, at(0)).expect("held");
    let expired = engine.expire(at(SECOND));
    assert!(expired.dropped.is_empty() && expired.evicted.is_empty(), "one subscription still open");
    engine.release(&c, &view, at(SECOND)).expect("held");
    assert!(matches!(engine.release(&c, &view, at(SECOND)), Err(RuntimeError::NotHeld { .. })), "released twice");
    assert_eq!(dropped(&engine.expire(at(SECOND))), [(c.clone(), view.clone())]);

    // Held permanently, released, then taken again as ephemeral: the new
    // subscription's lifetime, not the longest ever.
    let view = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Permanent, at(2 * SECOND)).expect("a view");
    engine.release(&c, &view, at(2 * SECOND)).expect("held");
    engine.subscribe(&c, QUERY, Params::new(), Lifetime::Ephemeral, at(3 * SECOND)).expect("the same view");
    engine.release(&c, &view, at(3 * SECOND)).expect("held");
    let expired = engine.expire(at(3 * SECOND));
    assert_eq!(expired.evicted, std::slice::from_ref(&view), "ephemeral now");
    assert_eq!(expired.dropped[0].released, at(3 * SECOND), "released at the last release");
    // While open, a longer lifetime wins.
    let view = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Ephemeral, at(4 * SECOND)).expect("a view");
    engine.subscribe(&c, QUERY, Params::new(), Lifetime::Preload, at(4 * SECOND)).expect("the same view");
    engine.release(&c, &view, at(4 * SECOND)).expect("held");
    engine.release(&c, &view, at(4 * SECOND)).expect("held");
    assert!(engine.expire(at(4 * SECOND + 299 * SECOND)).evicted.is_empty(), "preload: 5 min");
    assert_eq!(engine.expire(at(4 * SECOND + 300 * SECOND)).evicted, std::slice::from_ref(&view));
}

#[test]
fn a_disconnect_shorter_than_the_grace_keeps_the_open_views() {
    let ttls = Ttls::default().disconnect_grace(Duration::from_secs(10));
    let mut engine = Engine::builder().ttls(ttls).build();
    let mut batch = ChangeBatch::new("issue", Version(1));
    for k in 0..10 {
        batch.insert(issue(k, k * 7 % 10, k % 3 != 0, 1)).expect("a batch");
    }
    engine.step(Version(1), &[batch]).expect("the table");
    let c = ClientId::new("c");
    // Two ephemeral subscriptions, open when the connection drops.
    let view = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Ephemeral, at(0)).expect("a view");
    let second_query = "SELECT * FROM issue WHERE open = false";
    let second = engine.subscribe(&c, second_query, Params::new(), Lifetime::Ephemeral, at(0)).expect("a view");
    // A view the client had already let go of is not kept by the grace.
    let other = "SELECT * FROM issue WHERE votes > 5";
    let released = engine.subscribe(&c, other, Params::new(), Lifetime::Ephemeral, at(0)).expect("a view");
    engine.release(&c, &released, at(SECOND)).expect("held");
    engine.disconnect(&c, at(2 * SECOND));
    engine.disconnect(&c, at(5 * SECOND)); // still away since 2 s
    let expired = engine.expire(at(11 * SECOND));
    assert_eq!(expired.evicted, std::slice::from_ref(&released), "only the view let go of before");
    assert_eq!(dropped(&expired), [(c.clone(), released.clone())]);
    assert!(engine.view(&view).is_some(), "within the grace: kept, as if open");
    // Back within the grace, subscribing to one view first: the other is
    // kept for the rest of the grace too.
    let again = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Ephemeral, at(11 * SECOND)).expect("held");
    assert_eq!(again, view);
    assert!(engine.expire(at(11 * SECOND)).evicted.is_empty(), "the second view still in its grace");
    let expired = engine.expire(at(12 * SECOND));
    assert_eq!(expired.evicted, std::slice::from_ref(&second), "not subscribed to again within the grace");
    // A second drop outlasts the grace: released as at the disconnect.
    engine.disconnect(&c, at(20 * SECOND));
    assert!(engine.expire(at(30 * SECOND - 1)).evicted.is_empty(), "just within the grace");
    let expired = engine.expire(at(30 * SECOND));
    assert_eq!(expired.evicted, std::slice::from_ref(&view), "the grace ran out");
    assert_eq!(dropped(&expired), [(c.clone(), view.clone())], "an ephemeral hold, released at the disconnect");
    // With no grace (the default), the same drop evicts at once.
    let mut engine = Engine::default();
    let view = engine.subscribe(&c, QUERY, Params::new(), Lifetime::Ephemeral, at(0)).expect("a view");
    engine.disconnect(&c, at(SECOND));
    assert_eq!(engine.expire(at(SECOND)).evicted, [view]);
}
