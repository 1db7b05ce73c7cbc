//! The decoders of a stored CVR (`ssp_cvr::codec`): arbitrary bytes as a cvr
//! key, a header, a record (key and value) and a format version never panic,
//! and whatever decodes encodes back to what decodes to the same thing (for
//! keys and headers, to the very same bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssp_core::Version;
use ssp_cvr::codec;

fuzz_target!(|bytes: &[u8]| {
    let Some((&selector, rest)) = bytes.split_first() else { return };
    match selector % 4 {
        0 => {
            if let Ok((client, view)) = codec::decode_cvr_key(rest) {
                let mut again = Vec::new();
                codec::encode_cvr_key(&client, &view, &mut again);
                assert_eq!(again, rest, "a cvr key re-encodes to its bytes");
            }
            if let Ok((client, view, tail)) = codec::split_cvr_key(rest) {
                let mut again = Vec::new();
                codec::encode_cvr_key(&client, &view, &mut again);
                again.extend_from_slice(tail);
                assert_eq!(again, rest);
            }
        }
        1 => {
            let (client, view) = ("c".into(), "v".into());
            if let Ok(summary) = codec::decode_header(client, view, rest) {
                assert_eq!(codec::encode_header(&summary).as_slice(), rest, "a header re-encodes to its bytes");
            }
        }
        2 => {
            // The first byte splits the rest into the record key and value.
            let Some((&split, rest)) = rest.split_first() else { return };
            let at = usize::from(split).min(rest.len());
            let (key, value) = rest.split_at(at);
            if let Ok((id, version)) = codec::decode_record(key, value) {
                let (mut key2, mut value2) = (Vec::new(), Vec::new());
                codec::encode_record(&id, version, &mut key2, &mut value2);
                assert_eq!(key2, key, "the canonical key of {id} re-encodes to its bytes");
                let (again, version2) = codec::decode_record(&key2, &value2).expect("a re-encoded record decodes");
                assert_eq!((&again, version2), (&id, version));
                assert_eq!(format!("{again:?}"), format!("{id:?}"));
                assert_eq!(version, Version(u64::from_le_bytes(value[..8].try_into().expect("8 bytes"))));
            }
        }
        _ => {
            if let Ok(v) = codec::decode_format_version(rest) {
                assert_eq!(codec::encode_format_version(v).as_slice(), rest);
            }
        }
    }
});
