//! [`IndexedZSet`]: a Z-set grouped by key, the state of joins and aggregates.

use std::fmt;
use std::hash::Hash;

use hashbrown::HashMap;
use hashbrown::hash_map::Entry;

use crate::algebra::{Abelian, Monoid, ZWeight};
use crate::zset::{Element, FixedHasher, ZSet};

/// A Z-set of `(key, value)` pairs, indexed by key: for each key, the Z-set of
/// its values. Keys whose Z-set becomes empty are removed.
///
/// It is the state a join keeps per side (indexed by the join key) and an
/// aggregate keeps per group.
///
/// ```
/// use ssp_core::IndexedZSet;
/// let mut by_author: IndexedZSet<&str, u32> = IndexedZSet::new();
/// by_author.update("tobie", 1, 1);
/// by_author.update("tobie", 2, 1);
/// by_author.update("jaime", 3, 1);
/// assert_eq!(by_author.get(&"tobie").map(|z| z.len()), Some(2));
/// by_author.update("jaime", 3, -1);
/// assert!(by_author.get(&"jaime").is_none()); // the group emptied
/// ```
#[derive(Clone)]
pub struct IndexedZSet<K, V> {
    map: HashMap<K, ZSet<V>, FixedHasher>,
}

impl<K, V> Default for IndexedZSet<K, V> {
    fn default() -> Self {
        IndexedZSet { map: HashMap::with_hasher(FixedHasher::default()) }
    }
}

impl<K, V> IndexedZSet<K, V> {
    /// The empty indexed Z-set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of keys with a non-empty Z-set.
    pub fn key_count(&self) -> usize {
        self.map.len()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The keys and their Z-sets, in hash order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &ZSet<V>)> + '_ {
        self.map.iter()
    }

    /// Every `(key, value, weight)`, in hash order.
    pub fn updates(&self) -> impl Iterator<Item = (&K, &V, ZWeight)> + '_ {
        self.map.iter().flat_map(|(k, z)| z.iter().map(move |(v, w)| (k, v, w)))
    }

    /// Negates every weight in place.
    pub fn negate(&mut self) {
        self.map.values_mut().for_each(ZSet::negate);
    }
}

impl<K: Hash + Eq, V: Element> IndexedZSet<K, V> {
    /// The Z-set of `key`'s values, if it has any.
    pub fn get<Q>(&self, key: &Q) -> Option<&ZSet<V>>
    where
        Q: Hash + hashbrown::Equivalent<K> + ?Sized,
    {
        self.map.get(key)
    }

    /// Adds `weight` to the pair `(key, value)`.
    pub fn update(&mut self, key: K, value: V, weight: ZWeight) {
        if weight == 0 {
            return;
        }
        match self.map.entry(key) {
            Entry::Occupied(mut e) => {
                e.get_mut().update(value, weight);
                if e.get().is_empty() {
                    e.remove();
                }
            }
            Entry::Vacant(e) => {
                e.insert(ZSet::new()).update(value, weight);
            }
        }
    }
}

impl<K: Hash + Eq + Clone, V: Element + Clone> IndexedZSet<K, V> {
    /// `self = self + other`.
    pub fn plus(&mut self, other: &Self) {
        for (k, v, w) in other.updates() {
            self.update(k.clone(), v.clone(), w);
        }
    }
}

impl<K: Hash + Eq, V: Element> FromIterator<(K, V, ZWeight)> for IndexedZSet<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V, ZWeight)>>(iter: I) -> Self {
        let mut out = IndexedZSet::new();
        for (k, v, w) in iter {
            out.update(k, v, w);
        }
        out
    }
}

impl<K: Hash + Eq, V: Element> PartialEq for IndexedZSet<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<K: Hash + Eq, V: Element> Eq for IndexedZSet<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for IndexedZSet<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.map.iter()).finish()
    }
}

impl<K: Hash + Eq + Clone, V: Element + Clone> Monoid for IndexedZSet<K, V> {
    fn zero() -> Self {
        IndexedZSet::new()
    }

    fn is_zero(&self) -> bool {
        self.is_empty()
    }

    fn plus_assign(&mut self, rhs: &Self) {
        self.plus(rhs);
    }
}

impl<K: Hash + Eq + Clone, V: Element + Clone> Abelian for IndexedZSet<K, V> {
    fn negate(&mut self) {
        IndexedZSet::negate(self);
    }
}
