//! Planning any query that parses never panics: binding (with and without a
//! schema), the rewrite passes and lowering either give a plan, whose
//! circuits hydrate over empty tables to nothing, or a typed error with a
//! span inside the text.
//!
//! `cargo +nightly fuzz run query_plan -- -dict=query_parse.dict -max_len=512`.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use ssp_core::Value;
use ssp_ops::{Circuit, Tables};
use ssp_planner::{Kind, Params, Schema, plan};

fuzz_target!(|text: &str| {
    let Ok(select) = ssp_planner::parse(text) else { return };
    let schema = Schema::new()
        .table("person", [("name", Kind::String), ("age", Kind::Int), ("friend", Kind::Record(Some("person".into())))])
        .table("post", [("title", Kind::String), ("author", Kind::Record(Some("person".into())))]);
    let params: Params = BTreeMap::from([("n".into(), Value::from(3)), ("limit".into(), Value::from(2))]);
    for schema in [Schema::new(), schema] {
        match plan(&select, &schema, &params) {
            Ok(planned) => {
                let _ = planned.explain();
                let mut tables = Tables::new();
                let Ok(slots) = planned.lowered.bind(&params) else { panic!("{text:?}: the parameters it was planned with do not fit") };
                let (_, rows) = Circuit::with_params(planned.lowered.plan.clone(), slots.clone(), &mut tables);
                assert!(rows.is_empty(), "{text:?}: rows from empty tables");
                if let Some(records) = &planned.lowered.records {
                    let (_, shown) = Circuit::with_params(records.clone(), slots, &mut tables);
                    assert!(shown.is_empty(), "{text:?}: records from empty tables");
                }
            }
            Err(e) => {
                let _ = e.to_string();
                assert!(e.span.start <= e.span.end && e.span.end as usize <= text.len(), "{text:?}: {e}");
            }
        }
    }
});
