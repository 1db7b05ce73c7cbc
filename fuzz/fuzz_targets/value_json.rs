//! Value JSON: decoding arbitrary bytes (the tagged encoding and plain JSON)
//! never panics, and a decoded value encodes and decodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssp_core::Value;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        let encoded = serde_json::to_vec(&value).expect("every value encodes");
        let again: Value = serde_json::from_slice(&encoded).expect("and decodes");
        assert_eq!(again, value);
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let value = Value::from_json(&json);
        let _ = value.to_json();
    }
});
