//! Field paths: `a.b[0].c`.

use std::fmt;
use std::str::FromStr;

use smallvec::SmallVec;
use smol_str::SmolStr;

use crate::error::ParseError;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathPart {
    /// A field of an object: `.name`.
    Field(SmolStr),
    /// An element of an array: `[3]`.
    Index(usize),
}

/// A path into a value: field names and array indexes, as in `author.tags[0]`.
///
/// Names that are not plain identifiers are written in backticks:
/// ``a.`first name` ``.
///
/// ```
/// use ssp_core::{FieldPath, PathPart};
/// let p: FieldPath = "a.b[0].c".parse()?;
/// assert_eq!(p.parts()[2], PathPart::Index(0));
/// assert_eq!(p.to_string(), "a.b[0].c");
///
/// let err = "a.b[x]".parse::<FieldPath>().unwrap_err();
/// assert_eq!(err.position, 4); // points at the `x`
/// # Ok::<(), ssp_core::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(SmallVec<[PathPart; 2]>);

impl FieldPath {
    /// A path of one field.
    pub fn field(name: impl Into<SmolStr>) -> Self {
        FieldPath(smallvec::smallvec![PathPart::Field(name.into())])
    }

    /// A path from its parts.
    pub fn from_parts(parts: impl IntoIterator<Item = PathPart>) -> Self {
        FieldPath(parts.into_iter().collect())
    }

    /// The steps of the path.
    pub fn parts(&self) -> &[PathPart] {
        &self.0
    }

    /// This path extended by one step.
    pub fn child(&self, part: PathPart) -> Self {
        let mut parts = self.0.clone();
        parts.push(part);
        FieldPath(parts)
    }
}

/// Whether `name` can be written without backticks: a letter or `_`, then
/// letters, digits and `_`.
pub fn is_plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            match part {
                PathPart::Field(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    super::sql::write_ident(f, name)?;
                }
                PathPart::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl FromStr for FieldPath {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut p = super::Parser::new(s);
        let mut parts = SmallVec::new();
        parts.push(PathPart::Field(p.ident("a field name")?));
        while !p.at_end() {
            if p.eat('.') {
                parts.push(PathPart::Field(p.ident("a field name")?));
            } else if p.eat('[') {
                let at = p.pos();
                let digits = p.take_while(|c| c.is_ascii_digit());
                if digits.is_empty() {
                    return Err(p.error_at(at, "an array index"));
                }
                let n = digits.parse().map_err(|_| p.error_at(at, "an array index that fits"))?;
                p.expect(']')?;
                parts.push(PathPart::Index(n));
            } else {
                return Err(p.error("`.`, `[` or the end of the path"));
            }
        }
        Ok(FieldPath(parts))
    }
}
