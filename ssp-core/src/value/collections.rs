//! Arrays, sets and objects: shared, copy-on-write collections of values.

use std::sync::Arc;

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
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Object(Arc<Vec<(SmolStr, Value)>>);

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object::default()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of field `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Sets field `key`, returning its previous value.
    pub fn insert(&mut self, key: impl Into<SmolStr>, value: Value) -> Option<Value> {
        let key = key.into();
        let fields = Arc::make_mut(&mut self.0);
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
        Some(Arc::make_mut(&mut self.0).remove(i).1)
    }

    /// The fields in ascending name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The field names in ascending order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.0.iter().map(|(k, _)| k.as_str())
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
        Object(Arc::new(out))
    }
}
