//! Arrays, sets and objects: shared, copy-on-write collections of values.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use foldhash::fast::FixedState;

use smol_str::SmolStr;

use super::Value;

/// An ordered list of values. Cloning is O(1): the elements are shared and
/// copied only when a shared array is modified.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Array(Arc<Vec<Value>>);

impl Array {
    /// An empty array.
    pub fn new() -> Self {
        Array::default()
    }

    /// The elements.
    pub fn as_slice(&self) -> &[Value] {
        &self.0
    }

    /// Mutable access to the elements (copies them first if they are shared).
    pub fn make_mut(&mut self) -> &mut Vec<Value> {
        Arc::make_mut(&mut self.0)
    }

    /// Appends a value.
    pub fn push(&mut self, value: Value) {
        self.make_mut().push(value);
    }
}

impl std::ops::Deref for Array {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

impl From<Vec<Value>> for Array {
    fn from(v: Vec<Value>) -> Self {
        Array(Arc::new(v))
    }
}

impl FromIterator<Value> for Array {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Array(Arc::new(iter.into_iter().collect()))
    }
}

/// A set of values, kept sorted by [`Value`]'s order and free of duplicates
/// (SurrealDB 3's `set`). Cloning is O(1).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Set(Arc<Vec<Value>>);

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Set::default()
    }

    /// The elements in ascending order.
    pub fn as_slice(&self) -> &[Value] {
        &self.0
    }

    /// Whether the set holds a value equal to `value`.
    pub fn contains(&self, value: &Value) -> bool {
        self.0.binary_search(value).is_ok()
    }

    /// Adds a value; returns whether it was new.
    pub fn insert(&mut self, value: Value) -> bool {
        match self.0.binary_search(&value) {
            Ok(_) => false,
            Err(at) => {
                Arc::make_mut(&mut self.0).insert(at, value);
                true
            }
        }
    }
}

impl std::ops::Deref for Set {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

impl FromIterator<Value> for Set {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        let mut v: Vec<Value> = iter.into_iter().collect();
        v.sort();
        v.dedup();
        Set(Arc::new(v))
    }
}

/// A map from field names to values, kept sorted by name. Cloning is O(1).
///
/// Objects compare as their sorted `(name, value)` sequences, as SurrealDB's do.
/// An object's hash is computed once and kept with its fields (rows pass
/// through many hash maps unchanged), and two handles on the same fields
/// compare equal without reading them.
#[derive(Clone, Default)]
pub struct Object(Arc<Fields>);

/// The fields of an object and their hash, once computed.
#[derive(Default)]
struct Fields {
    fields: Vec<(SmolStr, Value)>,
    hash: OnceLock<u64>,
}

impl Clone for Fields {
    /// A copy about to be changed: its hash is computed again when asked for.
    fn clone(&self) -> Self {
        Fields { fields: self.fields.clone(), hash: OnceLock::new() }
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object::default()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.fields.is_empty()
    }

    /// Whether `a` and `b` are handles on the same fields (then they are
    /// equal without reading them, and their values are the same in kind too).
    pub fn ptr_eq(a: &Object, b: &Object) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.fields.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The fields for changing: copied first if shared, and the hash forgotten.
    fn fields_mut(&mut self) -> &mut Vec<(SmolStr, Value)> {
        let inner = Arc::make_mut(&mut self.0);
        inner.hash = OnceLock::new();
        &mut inner.fields
    }

    /// The value of field `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|i| &self.0.fields[i].1)
    }

    /// The position of field `key` among the fields.
    #[inline]
    fn position(&self, key: &str) -> Option<usize> {
        let fields = &self.0.fields;
        if fields.len() <= 8 {
            // Rows are small objects: a scan that rejects on length first beats
            // a binary search of string comparisons.
            return fields.iter().position(|(k, _)| k.as_str() == key);
        }
        self.find(key).ok()
    }

    /// The position and value of field `key`, looked for first at position
    /// `hint` (where it was in an object like this one).
    #[inline]
    pub(crate) fn get_near(&self, key: &str, hint: Option<usize>) -> Option<(usize, &Value)> {
        let fields = &self.0.fields;
        if let Some(at) = hint
            && let Some((k, v)) = fields.get(at)
            && k.as_str() == key
        {
            return Some((at, v));
        }
        self.position(key).map(|i| (i, &fields[i].1))
    }

    /// The value of field `key`, for changing (the object is copied first if shared).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.find(key).ok()?;
        Some(&mut self.fields_mut()[i].1)
    }

    /// Sets field `key`, returning its previous value.
    pub fn insert(&mut self, key: impl Into<SmolStr>, value: Value) -> Option<Value> {
        let key = key.into();
        let fields = self.fields_mut();
        match fields.binary_search_by(|(k, _)| k.as_str().cmp(key.as_str())) {
            Ok(i) => Some(std::mem::replace(&mut fields[i].1, value)),
            Err(i) => {
                fields.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes field `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key).ok()?;
        Some(self.fields_mut().remove(i).1)
    }

    /// The fields in ascending name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + '_ {
        self.0.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The field names in ascending order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.0.fields.iter().map(|(k, _)| k.as_str())
    }

    /// The hash of the fields, computed on first use with a fixed hasher, so
    /// that it agrees with equality (equal values hash equal) in every process.
    /// A map keyed by objects therefore sees this fixed hash whatever hasher it
    /// uses (see [`ZSet`](crate::ZSet) on fixed hashing).
    ///
    /// The hash reads the number of fields and their values, not their
    /// names: equal objects still hash equal, and the objects that meet in
    /// one map are mostly rows of one table, whose names are the same, so
    /// hashing the names would tell none of them apart.
    #[inline]
    fn fields_hash(&self) -> u64 {
        match self.0.hash.get() {
            Some(hash) => *hash,
            None => self.hash_fields(),
        }
    }

    /// Computes (once) and keeps the hash of the fields.
    #[inline(never)]
    fn hash_fields(&self) -> u64 {
        *self.0.hash.get_or_init(|| {
            let mut h = FixedState::default().build_hasher();
            h.write_usize(self.0.fields.len());
            for (_, v) in &self.0.fields {
                v.hash(&mut h);
            }
            h.finish()
        })
    }
}

impl Object {
    /// Whether both hashes are known and differ: then the objects differ
    /// (equal objects hash equal), found without reading the fields.
    pub(crate) fn known_to_differ(&self, other: &Object) -> bool {
        matches!((self.0.hash.get(), other.0.hash.get()), (Some(a), Some(b)) if a != b)
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        if Arc::ptr_eq(&self.0, &other.0) {
            return true;
        }
        if self.known_to_differ(other) {
            return false;
        }
        self.0.fields == other.0.fields
    }
}

impl Eq for Object {}

impl PartialOrd for Object {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Object {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return Ordering::Equal;
        }
        self.0.fields.cmp(&other.0.fields)
    }
}

impl Hash for Object {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.fields_hash());
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<SmolStr>> FromIterator<(K, Value)> for Object {
    /// Builds an object; when a name repeats, the last value wins.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut fields: Vec<(SmolStr, Value)> = iter.into_iter().map(|(k, v)| (k.into(), v)).collect();
        // A stable sort keeps repeated names in input order; keep the last of each.
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(SmolStr, Value)> = Vec::with_capacity(fields.len());
        for field in fields {
            match out.last_mut() {
                Some(last) if last.0 == field.0 => *last = field,
                _ => out.push(field),
            }
        }
        Object(Arc::new(Fields { fields: out, hash: OnceLock::new() }))
    }
}
