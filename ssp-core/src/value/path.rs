//! Field paths: `a.b[0].c`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::atomic::{self, AtomicU32};

use smallvec::SmallVec;
use smol_str::SmolStr;

use super::Value;
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
///
/// # Cost
///
/// A path remembers where it last found each of its first four field names
/// in an object (their positions among the object's fields): rows of one
/// table have the same fields, so the next row's field is usually found at
/// the first place looked, touching one field instead of scanning the ones
/// before it. The memory is a guess, never trusted: a field is only taken
/// where its name matches. It takes no part in a path's equality, order or
/// hash.
#[derive(Clone)]
pub struct FieldPath {
    parts: SmallVec<[PathPart; 2]>,
    hints: Hints,
}

/// Where a path last found its first four field names: a byte each (one
/// more than the position; `0` for none), updated without ordering, as a
/// guess only.
#[derive(Default)]
struct Hints(AtomicU32);

impl Clone for Hints {
    fn clone(&self) -> Self {
        Hints(AtomicU32::new(self.0.load(atomic::Ordering::Relaxed)))
    }
}

impl Hints {
    /// The position part `at` was last found at, if remembered.
    #[inline]
    fn get(&self, at: usize) -> Option<usize> {
        if at >= 4 {
            return None;
        }
        let byte = (self.0.load(atomic::Ordering::Relaxed) >> (8 * at)) & 0xff;
        (byte != 0).then(|| byte as usize - 1)
    }

    /// Remembers that part `at` was found at `position` (if both fit).
    #[cold]
    fn set(&self, at: usize, position: usize) {
        if at >= 4 || position >= 255 {
            return;
        }
        let shift = 8 * at;
        let old = self.0.load(atomic::Ordering::Relaxed);
        let new = (old & !(0xff << shift)) | ((position as u32 + 1) << shift);
        // A lost race leaves another thread's guess: as good.
        self.0.store(new, atomic::Ordering::Relaxed);
    }
}

impl fmt::Debug for FieldPath {
    /// The parts only: what the path remembers of the rows it read is not
    /// part of its value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FieldPath").field(&self.parts).finish()
    }
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Eq for FieldPath {}

impl PartialOrd for FieldPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldPath {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl Hash for FieldPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts.hash(state);
    }
}

impl FieldPath {
    fn new(parts: SmallVec<[PathPart; 2]>) -> Self {
        FieldPath { parts, hints: Hints::default() }
    }

    /// A path of one field.
    pub fn field(name: impl Into<SmolStr>) -> Self {
        FieldPath::new(smallvec::smallvec![PathPart::Field(name.into())])
    }

    /// A path from its parts.
    pub fn from_parts(parts: impl IntoIterator<Item = PathPart>) -> Self {
        FieldPath::new(parts.into_iter().collect())
    }

    /// The steps of the path.
    pub fn parts(&self) -> &[PathPart] {
        &self.parts
    }

    /// This path extended by one step.
    pub fn child(&self, part: PathPart) -> Self {
        let mut parts = self.parts.clone();
        parts.push(part);
        FieldPath::new(parts)
    }

    /// The value this path leads to in `root`, looking for each field first
    /// where the path last found it.
    #[inline]
    pub(crate) fn find<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        let mut v = root;
        for (at, part) in self.parts.iter().enumerate() {
            v = match (part, v) {
                (PathPart::Field(name), Value::Object(o)) => {
                    let hint = self.hints.get(at);
                    let (position, found) = o.get_near(name, hint)?;
                    if hint != Some(position) {
                        self.hints.set(at, position);
                    }
                    found
                }
                (PathPart::Index(i), Value::Array(a)) => a.get(*i)?,
                (PathPart::Index(i), Value::Set(s)) => s.get(*i)?,
                _ => return None,
            };
        }
        Some(v)
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
        for (i, part) in self.parts.iter().enumerate() {
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
        Ok(FieldPath::new(parts))
    }
}
