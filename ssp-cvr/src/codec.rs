//! The byte encodings of a stored CVR, format version [`FORMAT_VERSION`].
//!
//! [`RedbStore`](crate::RedbStore) writes these; they are public so that
//! tools can read a store, other stores can share the format and fuzzers can
//! reach the decoders. Every decoder takes untrusted bytes: it returns a
//! [`DecodeError`] for anything it did not write, never panics, and never
//! reads a malformed entry as an empty or partial one.
//!
//! Notation as in the definition of [`StateHash`] (`text` is a LEB128 length and
//! UTF-8 bytes, `id` the canonical record id encoding):
//!
//! ```text
//! cvr key      = text(client) text(view)
//! header       = u64le(version) u128le(state hash) u64le(last seen) u64le(record count)   40 bytes
//! record key   = cvr key id
//! record value = u64le(version)                        integer, string and uuid keys
//!              | u64le(version) json(key)              array and object keys
//! ```
//!
//! The record key holds the *canonical* id, the one the state hash hashes, so
//! that equal ids (`t:[1]`, `t:[1.0f]`) are one entry. For integer, string
//! and uuid keys that encoding is also exact. Array and object keys keep their
//! exact form in the value, as ssp-core's lossless JSON encoding of the key
//! (a `float` stays a `float`, a decimal keeps its scale); the decoder checks
//! that it agrees with the canonical key.
//!
//! `text(client)` is a prefix of the cvr keys of exactly that client's views,
//! and a cvr key is a prefix of the record keys of exactly that CVR, since
//! LEB128 lengths make the encoding prefix-free.

use ssp_core::{RecordId, RecordKey, Uuid, Value, Version};

use crate::hash::{encode_id, key_tag, put_text};
use crate::{ClientId, CvrSummary, StateHash, Timestamp, ViewId};

/// The format version this release reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The length of an encoded header.
pub const HEADER_LEN: usize = 40;

/// Bytes that are not a valid encoding of what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end inside a field.
    #[error("the bytes end at byte {at}, inside the {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where the bytes end.
        at: usize,
    },
    /// Bytes follow a complete encoding.
    #[error("{extra} unexpected bytes after the {field}, from byte {at}")]
    TrailingBytes {
        /// The last field read.
        field: &'static str,
        /// Where the extra bytes start.
        at: usize,
        /// How many there are.
        extra: usize,
    },
    /// A length that is not a LEB128 number below 2⁶⁴ in shortest form.
    #[error("invalid length at byte {at}")]
    InvalidLength {
        /// Where the length starts.
        at: usize,
    },
    /// A text field that is not UTF-8.
    #[error("the {field} at byte {at} is not UTF-8")]
    InvalidUtf8 {
        /// The field.
        field: &'static str,
        /// Where its bytes start.
        at: usize,
    },
    /// A record key tag that this format version does not define.
    #[error("unknown record key tag {tag:#04x} at byte {at}")]
    UnknownKeyTag {
        /// Where the tag is.
        at: usize,
        /// The tag.
        tag: u8,
    },
    /// The exact form of an array or object key does not decode.
    #[error("the exact form of the record key does not decode: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },
    /// The exact form of an array or object key is not the key of the record
    /// key it is stored under.
    #[error("the record key and the exact form stored with it are different ids")]
    KeyMismatch,
    /// A fixed-length field of another length.
    #[error("the {field} is {found} bytes, expected {expected}")]
    WrongLength {
        /// The field.
        field: &'static str,
        /// Its length.
        found: usize,
        /// The length it must have.
        expected: usize,
    },
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(DecodeError::Truncated { field, at: self.bytes.len() })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn uvarint(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let start = self.at;
        let mut n: u64 = 0;
        for i in 0..10 {
            let b = self.byte(field)?;
            let bits = u64::from(b & 0x7F);
            // The tenth byte may only hold the top bit of a u64.
            if i == 9 && b > 1 {
                return Err(DecodeError::InvalidLength { at: start });
            }
            n |= bits << (7 * i);
            if b & 0x80 == 0 {
                // Shortest form: no trailing zero group (except the number 0).
                if b == 0 && i > 0 {
                    return Err(DecodeError::InvalidLength { at: start });
                }
                return Ok(n);
            }
        }
        Err(DecodeError::InvalidLength { at: start })
    }

    fn text(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let len = self.uvarint(field)?;
        let start = self.at;
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated { field, at: self.bytes.len() })?;
        let bytes = self.take(len, field)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { field, at: start })
    }

    fn rest(&mut self) -> &'a [u8] {
        let out = &self.bytes[self.at..];
        self.at = self.bytes.len();
        out
    }

    fn finish(&self, field: &'static str) -> Result<(), DecodeError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { field, at: self.at, extra: self.bytes.len() - self.at })
        }
    }
}

/// Writes the key of `client`'s CVR of `view`.
pub fn encode_cvr_key(client: &ClientId, view: &ViewId, out: &mut Vec<u8>) {
    put_text(client.as_str(), out);
    put_text(view.as_str(), out);
}

/// Writes the prefix shared by the keys of `client`'s CVRs (and by nothing else).
pub fn encode_client_prefix(client: &ClientId, out: &mut Vec<u8>) {
    put_text(client.as_str(), out);
}

/// Reads a cvr key from the start of `bytes`; returns it and the bytes after it.
pub fn split_cvr_key(bytes: &[u8]) -> Result<(ClientId, ViewId, &[u8]), DecodeError> {
    let mut r = Reader::new(bytes);
    let client = ClientId::new(r.text("client id")?);
    let view = ViewId::new(r.text("view id")?);
    Ok((client, view, r.rest()))
}

/// Reads a cvr key that is all of `bytes`.
pub fn decode_cvr_key(bytes: &[u8]) -> Result<(ClientId, ViewId), DecodeError> {
    let (client, view, rest) = split_cvr_key(bytes)?;
    if !rest.is_empty() {
        let at = bytes.len() - rest.len();
        return Err(DecodeError::TrailingBytes { field: "view id", at, extra: rest.len() });
    }
    Ok((client, view))
}

/// Encodes the header of a CVR (its client and view are in its key).
pub fn encode_header(summary: &CvrSummary) -> [u8; HEADER_LEN] {
    let mut out = [0; HEADER_LEN];
    out[0..8].copy_from_slice(&summary.version.0.to_le_bytes());
    out[8..24].copy_from_slice(&summary.state_hash.to_u128().to_le_bytes());
    out[24..32].copy_from_slice(&summary.last_seen.0.to_le_bytes());
    out[32..40].copy_from_slice(&summary.len.to_le_bytes());
    out
}

/// Decodes the header of `client`'s CVR of `view`.
pub fn decode_header(client: ClientId, view: ViewId, bytes: &[u8]) -> Result<CvrSummary, DecodeError> {
    if bytes.len() != HEADER_LEN {
        return Err(DecodeError::WrongLength { field: "CVR header", found: bytes.len(), expected: HEADER_LEN });
    }
    let mut r = Reader::new(bytes);
    let version = Version(u64::from_le_bytes(r.array("version")?));
    let state_hash = StateHash::from_u128(u128::from_le_bytes(r.array("state hash")?));
    let last_seen = Timestamp(u64::from_le_bytes(r.array("last seen")?));
    let len = u64::from_le_bytes(r.array("record count")?);
    Ok(CvrSummary::new(client, view, version, state_hash, len, last_seen))
}

/// Writes the record key suffix (after the cvr key) and the value of record
/// `id` at `version`.
pub fn encode_record(id: &RecordId, version: Version, key: &mut Vec<u8>, value: &mut Vec<u8>) {
    encode_id(id, key);
    value.extend_from_slice(&version.0.to_le_bytes());
    let exact = match id.key() {
        RecordKey::Array(a) => Value::Array(a.clone()),
        RecordKey::Object(o) => Value::Object(o.clone()),
        RecordKey::Int(_) | RecordKey::String(_) | RecordKey::Uuid(_) => return,
    };
    // Writing into a Vec fails only if serializing fails, and ssp-core's
    // encoding of a value never does.
    if serde_json::to_writer(&mut *value, &exact).is_err() {
        debug_assert!(false, "a value failed to encode");
    }
}

/// Decodes a record from its key suffix (after the cvr key) and its value.
pub fn decode_record(key: &[u8], value: &[u8]) -> Result<(RecordId, Version), DecodeError> {
    let mut v = Reader::new(value);
    let version = Version(u64::from_le_bytes(v.array("record version")?));
    let mut r = Reader::new(key);
    let table = r.text("table name")?;
    let tag_at = r.at;
    let key_value = match r.byte("record key tag")? {
        key_tag::INT => RecordKey::Int(i64::from_le_bytes(r.array("integer key")?)),
        key_tag::STRING => RecordKey::String(r.text("string key")?.into()),
        key_tag::UUID => RecordKey::Uuid(Uuid::from_bytes(r.array("uuid key")?)),
        tag @ (key_tag::ARRAY | key_tag::OBJECT) => {
            let exact: Value =
                serde_json::from_slice(v.rest()).map_err(|e| DecodeError::InvalidKey { reason: e.to_string() })?;
            let key_value = match (tag, exact) {
                (key_tag::ARRAY, Value::Array(a)) => RecordKey::Array(a),
                (key_tag::OBJECT, Value::Object(o)) => RecordKey::Object(o),
                (_, other) => {
                    return Err(DecodeError::InvalidKey { reason: format!("a key of kind {}", other.kind()) });
                }
            };
            let id = RecordId::new(table, key_value);
            let mut canonical = Vec::with_capacity(key.len());
            encode_id(&id, &mut canonical);
            if canonical != key {
                return Err(DecodeError::KeyMismatch);
            }
            return Ok((id, version));
        }
        tag => return Err(DecodeError::UnknownKeyTag { at: tag_at, tag }),
    };
    r.finish("record key")?;
    v.finish("record version")?;
    Ok((RecordId::new(table, key_value), version))
}

/// Encodes the format version, as the store's metadata holds it.
pub fn encode_format_version(version: u32) -> [u8; 4] {
    version.to_le_bytes()
}

/// Decodes the format version from the store's metadata.
pub fn decode_format_version(bytes: &[u8]) -> Result<u32, DecodeError> {
    let bytes: [u8; 4] = bytes.try_into().map_err(|_| DecodeError::WrongLength {
        field: "format version",
        found: bytes.len(),
        expected: 4,
    })?;
    Ok(u32::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(id: &RecordId) {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        encode_record(id, Version(7), &mut key, &mut value);
        let (back, version) = decode_record(&key, &value).unwrap();
        assert_eq!(version, Version(7));
        // Debug shows the kinds: the exact form survives, not only an equal id.
        assert_eq!(format!("{back:?}"), format!("{id:?}"));
    }

    #[test]
    fn record_ids_of_every_key_kind_round_trip_exactly() {
        for text in [
            "issue:1",
            "issue:-9223372036854775808",
            "person:tobie",
            "person:`with space`",
            "person:u'0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21'",
            "t:[1, 1.0f, 1.50dec, -0.0f, NONE, NULL, 'a', [true]]",
            "t:{ a: 1.0f, `$b`: { c: d'2024-01-01T00:00:00Z' }, e: 1h }",
            "t:[]",
            "t:{}",
            "``:``",
        ] {
            round_trip(&text.parse().unwrap());
        }
    }

    #[test]
    fn header_round_trips() {
        let s = CvrSummary::new(
            ClientId::new("c"),
            ViewId::new("v"),
            Version(3),
            StateHash::from_u128(u128::MAX - 5),
            12,
            Timestamp(99),
        );
        let bytes = encode_header(&s);
        assert_eq!(decode_header(s.client.clone(), s.view.clone(), &bytes), Ok(s));
    }

    #[test]
    fn truncated_and_padded_encodings_are_errors() {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        encode_record(&"person:tobie".parse().unwrap(), Version(1), &mut key, &mut value);
        for cut in 0..key.len() {
            assert!(decode_record(&key[..cut], &value).is_err(), "key cut at {cut}");
        }
        for cut in 0..value.len() {
            assert!(decode_record(&key, &value[..cut]).is_err(), "value cut at {cut}");
        }
        let mut long = key.clone();
        long.push(0);
        assert!(matches!(decode_record(&long, &value), Err(DecodeError::TrailingBytes { .. })));
        let mut cvr_key = Vec::new();
        encode_cvr_key(&ClientId::new("c"), &ViewId::new("v"), &mut cvr_key);
        cvr_key.push(1);
        assert!(decode_cvr_key(&cvr_key).is_err());
    }

    #[test]
    fn non_shortest_and_overlong_lengths_are_errors() {
        for bad in [&[0x80, 0x00][..], &[0xFF; 10], &[0xFF; 11], &[0x80]] {
            assert!(Reader::new(bad).uvarint("length").is_err(), "{bad:?}");
        }
        let mut max = Vec::new();
        crate::hash::put_uvarint(u64::MAX, &mut max);
        assert_eq!(Reader::new(&max).uvarint("length"), Ok(u64::MAX));
    }

    #[test]
    fn an_exact_key_that_disagrees_with_its_canonical_key_is_an_error() {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        encode_record(&"t:[1]".parse().unwrap(), Version(1), &mut key, &mut value);
        let (mut other_key, mut other_value) = (Vec::new(), Vec::new());
        encode_record(&"t:[2]".parse().unwrap(), Version(1), &mut other_key, &mut other_value);
        assert_eq!(decode_record(&key, &other_value), Err(DecodeError::KeyMismatch));
    }
}
