//! [`ZSet`]: a collection whose elements carry integer weights.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::algebra::{Abelian, Monoid, ZWeight};

/// The hash function of SSP's maps: fast, and fixed, so that iteration order is
/// the same on every run.
pub type FixedHasher = FixedState;

/// A Z-set: a map from elements to non-zero [`ZWeight`]s.
///
/// A Z-set is both a change and a state. As a change, weight `+1` inserts an
/// element and `-1` deletes it (an update is `-old +new`); as a state, a table
/// is the Z-set of its rows, each with weight `1`. Z-sets add element-wise
/// and form an abelian group, which is what makes incremental computation
/// exact: the state after a change is `state + change`.
///
/// A `ZSet` is always *consolidated*: every update adds into the element's
/// weight, and an element whose weight reaches zero is removed.
///
/// # Iteration order
///
/// [`iter`](ZSet::iter) visits elements in hash order under a fixed hash
/// function: the same sequence of updates gives the same order on every run
/// of the same build on the same target (the hash function and the table's
/// layout may differ between versions and targets), and two equal Z-sets
/// built differently may iterate differently. Where order is visible, use
/// [`iter_sorted`](ZSet::iter_sorted), which visits elements in ascending
/// order (it sorts, so it allocates).
///
/// The fixed hash function makes runs reproducible; it is not keyed per
/// process, so a Z-set keyed by data an adversary chooses freely could be
/// made to collide. SSP's Z-sets hold rows of the application's own tables.
///
/// ```
/// use ssp_core::ZSet;
/// let mut table: ZSet<&str> = [("alice", 1), ("bob", 1)].into_iter().collect();
/// let change: ZSet<&str> = [("bob", -1), ("carol", 1)].into_iter().collect();
/// table += &change;
/// assert_eq!(table.iter_sorted().collect::<Vec<_>>(), [(&"alice", 1), (&"carol", 1)]);
/// assert_eq!(&table - &table, ZSet::new()); // zero weights vanish
/// ```
pub struct ZSet<K> {
    map: HashTable<(K, ZWeight)>,
}

/// What a [`ZSet`] tells its elements apart by.
///
/// Two elements are one element of a Z-set when they are
/// [`same`](Element::same), which must imply `==` (and so equal hashes). For
/// most types that is `==` itself: implement the trait with an empty body.
/// [`Value`](crate::Value) is the exception: its `==` holds numbers equal
/// across kinds (`1 == 1.0f`), but expressions tell the kinds apart, so
/// a Z-set keeps `{ n: 1 }` and `{ n: 1.0f }` as two rows.
///
/// ```
/// use ssp_core::{Value, ZSet};
/// let int: Value = "{ n: 1 }".parse().unwrap();
/// let float: Value = "{ n: 1.0f }".parse().unwrap();
/// let rows: ZSet<Value> = [(int.clone(), 1), (float.clone(), 1)].into_iter().collect();
/// assert_eq!(rows.len(), 2);
/// assert_eq!(rows.weight(&int), 1);
/// ```
pub trait Element: Hash + Eq {
    /// Whether `self` and `other` are one element. Defaults to `==`.
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

macro_rules! element_by_eq {
    ($($t:ty),* $(,)?) => { $(impl Element for $t {})* };
}

element_by_eq!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    str,
    String,
    smol_str::SmolStr,
    uuid::Uuid,
);

impl<T: Element + ?Sized> Element for &T {
    fn same(&self, other: &Self) -> bool {
        (**self).same(*other)
    }
}

impl<T: Element + ?Sized> Element for Box<T> {
    fn same(&self, other: &Self) -> bool {
        (**self).same(other)
    }
}

impl<T: Element + ?Sized> Element for std::sync::Arc<T> {
    fn same(&self, other: &Self) -> bool {
        (**self).same(other)
    }
}

impl<T: Element> Element for Option<T> {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<T: Element> Element for [T] {
    fn same(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.same(b))
    }
}

impl<T: Element> Element for Vec<T> {
    fn same(&self, other: &Self) -> bool {
        self.as_slice().same(other.as_slice())
    }
}

macro_rules! element_tuple {
    ($(($($t:ident $i:tt),+)),* $(,)?) => {
        $(impl<$($t: Element),+> Element for ($($t,)+) {
            fn same(&self, other: &Self) -> bool {
                $(self.$i.same(&other.$i))&&+
            }
        })*
    };
}

element_tuple!((A 0, B 1), (A 0, B 1, C 2), (A 0, B 1, C 2, D 3));

impl<K: Clone> Clone for ZSet<K> {
    fn clone(&self) -> Self {
        ZSet { map: self.map.clone() }
    }
}

impl<K> Default for ZSet<K> {
    fn default() -> Self {
        ZSet { map: HashTable::new() }
    }
}

/// The hash of an element, under the fixed hash function.
fn hash_of<K: Hash + ?Sized>(key: &K) -> u64 {
    FixedHasher::default().hash_one(key)
}

impl<K> ZSet<K> {
    /// The empty Z-set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty Z-set with room for `n` elements.
    pub fn with_capacity(n: usize) -> Self {
        ZSet { map: HashTable::with_capacity(n) }
    }

    /// The number of elements with a non-zero weight.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether this is the empty Z-set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The elements and their weights, in hash order (see the type's docs).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, ZWeight)> + '_ {
        self.map.iter().map(|(k, w)| (k, *w))
    }

    /// The elements, in hash order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + '_ {
        self.map.iter().map(|(k, _)| k)
    }

    /// The elements and their weights in ascending element order (elements
    /// equal by `Ord` but not the same, such as `1` and `1.0f`, in hash
    /// order).
    pub fn iter_sorted(&self) -> impl ExactSizeIterator<Item = (&K, ZWeight)> + '_
    where
        K: Ord,
    {
        let mut v: Vec<(&K, ZWeight)> = self.iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v.into_iter()
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Whether every weight is `1`: the Z-set is a plain set.
    pub fn is_set(&self) -> bool {
        self.map.iter().all(|(_, w)| *w == 1)
    }

    /// Whether every weight is positive: the Z-set is a multiset.
    pub fn is_positive(&self) -> bool {
        self.map.iter().all(|(_, w)| *w > 0)
    }

    /// Multiplies every weight by `factor` (scaling by zero empties the set).
    pub fn scale(&mut self, factor: ZWeight) {
        if factor == 0 {
            self.map.clear();
            return;
        }
        // Wrapping multiplication by a non-zero factor can still reach zero
        // (e.g. 2^32 * 2^32), so drop what does.
        self.map.retain(|(_, w)| {
            *w = w.wrapping_mul(factor);
            *w != 0
        });
    }

    /// Negates every weight in place.
    pub fn negate(&mut self) {
        // Wrapping negation of a non-zero weight is non-zero.
        self.map.iter_mut().for_each(|(_, w)| *w = w.wrapping_neg());
    }

    /// Removes the elements for which `keep` is false.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, ZWeight) -> bool) {
        self.map.retain(|(k, w)| keep(k, *w));
    }
}

impl<K: Element> ZSet<K> {
    /// The weight of `key` (zero if absent).
    pub fn weight<Q>(&self, key: &Q) -> ZWeight
    where
        K: Borrow<Q>,
        Q: Element + ?Sized,
    {
        self.get_key_value(key).map_or(0, |(_, w)| w)
    }

    /// The element that is `key` ([`Element::same`]), with its weight.
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, ZWeight)>
    where
        K: Borrow<Q>,
        Q: Element + ?Sized,
    {
        self.map.find(hash_of(key), |(k, _)| k.borrow().same(key)).map(|(k, w)| (k, *w))
    }

    /// An element equal to `key` by `==` (not necessarily the same: for a
    /// [`Value`](crate::Value), perhaps a number of another kind), with its
    /// weight; `key` itself if this Z-set holds it.
    pub fn get_equal<Q>(&self, key: &Q) -> Option<(&K, ZWeight)>
    where
        K: Borrow<Q>,
        Q: Element + ?Sized,
    {
        let mut equal = self.equal_to(key);
        let first = equal.next()?;
        let same = |k: &K| <K as Borrow<Q>>::borrow(k).same(key);
        if same(first.0) {
            return Some(first);
        }
        // Equal but not the same (rare): the same one, if held, comes first.
        Some(equal.find(|(k, _)| same(k)).unwrap_or(first))
    }

    /// Every element equal to `key` by `==` (in every form: for a
    /// [`Value`](crate::Value), numbers of any kind), with its weight.
    pub fn equal_to<'a, 'q, Q>(&'a self, key: &'q Q) -> impl Iterator<Item = (&'a K, ZWeight)> + use<'a, 'q, K, Q>
    where
        K: Borrow<Q>,
        Q: Element + ?Sized,
    {
        self.map.iter_hash(hash_of(key)).filter(move |(k, _)| k.borrow() == key).map(|(k, w)| (k, *w))
    }

    /// Whether `key` has a non-zero weight.
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Element + ?Sized,
    {
        self.get_key_value(key).is_some()
    }

    /// Adds `weight` to the weight of `key`, removing it if the sum is zero.
    /// Returns the new weight.
    pub fn update(&mut self, key: K, weight: ZWeight) -> ZWeight {
        if weight == 0 {
            return self.weight(&key);
        }
        let hash = hash_of(&key);
        match self.map.entry(hash, |(k, _)| k.same(&key), |(k, _)| hash_of(k)) {
            Entry::Occupied(mut e) => {
                let w = e.get().1.wrapping_add(weight);
                if w == 0 {
                    e.remove();
                } else {
                    e.get_mut().1 = w;
                }
                w
            }
            Entry::Vacant(e) => {
                e.insert((key, weight));
                weight
            }
        }
    }

    /// Removes `key`, returning its weight (zero if absent).
    pub fn remove<Q>(&mut self, key: &Q) -> ZWeight
    where
        K: Borrow<Q>,
        Q: Element + ?Sized,
    {
        match self.map.find_entry(hash_of(key), |(k, _)| k.borrow().same(key)) {
            Ok(e) => e.remove().0.1,
            Err(_) => 0,
        }
    }

    fn reserve(&mut self, n: usize) {
        self.map.reserve(n, |(k, _)| hash_of(k));
    }
}

impl<K: Element + Clone> ZSet<K> {
    /// `self = self + other`.
    pub fn plus(&mut self, other: &ZSet<K>) {
        self.reserve(other.len());
        for (k, w) in other.iter() {
            self.update(k.clone(), w);
        }
    }

    /// `self = self - other`.
    pub fn minus(&mut self, other: &ZSet<K>) {
        self.reserve(other.len());
        for (k, w) in other.iter() {
            self.update(k.clone(), w.wrapping_neg());
        }
    }
}

impl<K: Element> Extend<(K, ZWeight)> for ZSet<K> {
    /// Adds each update, consolidating as it goes.
    fn extend<I: IntoIterator<Item = (K, ZWeight)>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        for (k, w) in iter {
            self.update(k, w);
        }
    }
}

impl<K: Element> FromIterator<(K, ZWeight)> for ZSet<K> {
    /// Consolidates a list of updates: weights of equal elements add, zeros vanish.
    fn from_iter<I: IntoIterator<Item = (K, ZWeight)>>(iter: I) -> Self {
        let mut z = ZSet::new();
        z.extend(iter);
        z
    }
}

impl<K> IntoIterator for ZSet<K> {
    type Item = (K, ZWeight);
    type IntoIter = hashbrown::hash_table::IntoIter<(K, ZWeight)>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.into_iter()
    }
}

impl<K: Element> PartialEq for ZSet<K> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, w)| other.weight(k) == w)
    }
}

impl<K: Element> Eq for ZSet<K> {}

impl<K: fmt::Debug> fmt::Debug for ZSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Element + Clone> Monoid for ZSet<K> {
    fn zero() -> Self {
        ZSet::new()
    }

    fn is_zero(&self) -> bool {
        self.is_empty()
    }

    fn plus_assign(&mut self, rhs: &Self) {
        self.plus(rhs);
    }
}

impl<K: Element + Clone> Abelian for ZSet<K> {
    fn negate(&mut self) {
        ZSet::negate(self);
    }

    fn minus_assign(&mut self, rhs: &Self) {
        self.minus(rhs);
    }
}

impl<K: Element + Clone> AddAssign<&ZSet<K>> for ZSet<K> {
    fn add_assign(&mut self, rhs: &ZSet<K>) {
        self.plus(rhs);
    }
}

impl<K: Element + Clone> SubAssign<&ZSet<K>> for ZSet<K> {
    fn sub_assign(&mut self, rhs: &ZSet<K>) {
        self.minus(rhs);
    }
}

impl<K: Element + Clone> Add for &ZSet<K> {
    type Output = ZSet<K>;

    fn add(self, rhs: &ZSet<K>) -> ZSet<K> {
        let mut out = self.clone();
        out.plus(rhs);
        out
    }
}

impl<K: Element + Clone> Sub for &ZSet<K> {
    type Output = ZSet<K>;

    fn sub(self, rhs: &ZSet<K>) -> ZSet<K> {
        let mut out = self.clone();
        out.minus(rhs);
        out
    }
}

impl<K> Neg for ZSet<K> {
    type Output = ZSet<K>;

    fn neg(mut self) -> ZSet<K> {
        self.negate();
        self
    }
}
