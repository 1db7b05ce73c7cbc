//! SurrealQL queries: parsing never panics (nor overflows the stack, nor takes
//! more than linear time), every error renders, and a parsed query prints to
//! text that parses back to an equal tree, which prints the same.
//!
//! `query_parse.dict` holds the subset's keywords and operators:
//! `cargo +nightly fuzz run query_parse -- -dict=query_parse.dict -max_len=512`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match ssp_planner::parse(text) {
        Ok(select) => {
            let printed = select.to_string();
            match ssp_planner::parse(&printed) {
                Ok(again) => {
                    assert_eq!(again, select, "{text:?} printed as {printed:?}");
                    assert_eq!(again.to_string(), printed, "{text:?}: printing is not idempotent");
                }
                Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {}", e.display_with(&printed)),
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.display_with(text);
            assert!(e.span.start <= e.span.end && e.span.end as usize <= text.len(), "{text:?}: {e}");
        }
    }
});
