//! Errors of `ssp-core`.

use std::borrow::Cow;

/// Text that could not be parsed: a record id, a field path, a value literal, a
/// duration, a datetime or a uuid.
///
/// It says where (`position`, a byte offset into the input, and the
/// 1-based `column` in characters), what the parser expected there and what it
/// found instead.
///
/// ```
/// use ssp_core::RecordId;
/// let err = "person:".parse::<RecordId>().unwrap_err();
/// assert_eq!(err.position, 7);
/// assert_eq!(err.found, None); // the input ended
/// assert!(err.to_string().contains("record key"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} at column {column} (byte {position}), found {}", found_text(*.found))]
#[non_exhaustive]
pub struct ParseError {
    /// Byte offset of the offending character in the input.
    pub position: usize,
    /// 1-based character column of the offending character.
    pub column: usize,
    /// What the parser expected at `position`.
    pub expected: Cow<'static, str>,
    /// The character found at `position`; `None` at the end of the input.
    pub found: Option<char>,
}

fn found_text(found: Option<char>) -> String {
    match found {
        Some(c) => format!("{c:?}"),
        None => "the end of the input".to_owned(),
    }
}

impl ParseError {
    /// An error at byte `position` of `input`.
    pub(crate) fn new(input: &str, position: usize, expected: impl Into<Cow<'static, str>>) -> Self {
        let position = position.min(input.len());
        // `position` always comes from the parser, on a char boundary; stay safe if not.
        let head = input.get(..position).unwrap_or(input);
        ParseError {
            position,
            column: head.chars().count() + 1,
            expected: expected.into(),
            found: input.get(position..).and_then(|rest| rest.chars().next()),
        }
    }

    /// The same error moved `offset` bytes (and `columns` characters) to the right,
    /// for an error found in a slice of a larger input.
    pub(crate) fn shifted(mut self, offset: usize, columns: usize) -> Self {
        self.position += offset;
        self.column += columns;
        self
    }
}

/// A record that does not fit the [`ChangeBatch`](crate::ChangeBatch) it was added to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The record belongs to another table.
    #[error("record {id} does not belong to table `{table}` of this batch")]
    WrongTable {
        /// The batch's table.
        table: smol_str::SmolStr,
        /// The record's id.
        id: crate::RecordId,
    },
    /// An update whose old and new records have different ids.
    #[error("an update must keep its record id: {old} became {new}")]
    IdChanged {
        /// The id of the old record.
        old: crate::RecordId,
        /// The id of the new record.
        new: crate::RecordId,
    },
}
