//! SurrealQL value literals: parsing never panics (nor overflows the stack on
//! deep nesting), and a parsed value prints to text that parses back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssp_core::Value;

fuzz_target!(|text: &str| {
    if let Ok(value) = text.parse::<Value>() {
        let printed = value.to_string();
        match printed.parse::<Value>() {
            Ok(again) => {
                // Geometries other than points print as GeoJSON objects.
                if !printed.contains("type: '") {
                    assert_eq!(again, value, "{text:?} printed as {printed:?}");
                }
            }
            Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
        }
        let _ = value.to_json();
    }
});
