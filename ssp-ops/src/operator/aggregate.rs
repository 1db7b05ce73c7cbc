//! `Γ` (aggregation): one row per group, with count, sum, min, max and mean.
//!
//! Each group keeps its own state: the total weight of its rows and, per
//! aggregate, the multiset of its argument values. A step touches only the
//! groups its change reaches, and for each emits `-old +new` when the group's
//! row changed. Min and max stay right when the current extreme is deleted
//! (the multiset knows the next one); sums of ints are kept exactly in O(1),
//! sums involving floats or decimals are recomputed over the group's
//! distinct values in ascending order, so that the result never depends on
//! the order rows arrived in.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;
use smallvec::SmallVec;
use smol_str::SmolStr;
use ssp_core::{Decimal, Element, FixedHasher, Number, Object, Value, ZSet, ZWeight};

use crate::expr::Expr;
use crate::plan::AggFn;
use crate::sort::{Exact, ExactOrd};

/// A value in an aggregate's multiset. Values equal across number kinds
/// (`1` and `1.0f`, `{ a: 1 }` and `{ a: 1dec }`) are kept apart, so that a
/// sum's kind and rounding, and which of them a min or max is, never depend
/// on which arrived first.
type Kinded = Exact<Value>;

/// Whether `v` is a float or a decimal: a number whose sum depends on the
/// order numbers are added in.
fn is_inexact_number(v: &Value) -> bool {
    matches!(v, Value::Number(Number::Float(_) | Number::Decimal(_)))
}

/// One aggregate's argument values within a group.
#[derive(Debug, Default, Clone)]
struct Values {
    /// Value -> total weight (entries with weight zero are removed): every
    /// value if `keep_all` (min and max need them all), else only the floats
    /// and decimals, whose sum depends on the order they are added in (sum
    /// and mean; `int_sum` and `number_weight` account for the ints).
    multiset: BTreeMap<Kinded, ZWeight>,
    /// Whether `multiset` keeps every value.
    keep_all: bool,
    /// Σ w·i over the int values, exactly.
    int_sum: i128,
    /// How many entries are floats or decimals.
    non_int_entries: usize,
    /// Σ w over all numbers.
    number_weight: ZWeight,
}

impl Values {
    /// The values of an aggregate whose argument is `agg`'s.
    fn for_aggregate(agg: &AggFn) -> Self {
        Values { keep_all: matches!(agg, AggFn::Min(_) | AggFn::Max(_) | AggFn::Collect(_)), ..Values::default() }
    }

    fn update(&mut self, v: Value, w: ZWeight) {
        if w == 0 {
            return;
        }
        match &v {
            Value::Number(n) => {
                self.number_weight = self.number_weight.wrapping_add(w);
                if let Number::Int(i) = n {
                    self.int_sum = self.int_sum.wrapping_add(i128::from(*i) * i128::from(w));
                    if !self.keep_all {
                        return;
                    }
                }
            }
            _ if !self.keep_all => return,
            _ => {}
        }
        let non_int = is_inexact_number(&v);
        let v = Exact(v);
        match self.multiset.entry(v) {
            Entry::Occupied(mut e) => {
                *e.get_mut() = e.get().wrapping_add(w);
                if *e.get() == 0 {
                    e.remove();
                    self.non_int_entries -= usize::from(non_int);
                }
            }
            Entry::Vacant(e) => {
                e.insert(w);
                self.non_int_entries += usize::from(non_int);
            }
        }
    }

    /// Whether the values are as if none had arrived (all their weights
    /// cancelled), so that the group may be dropped.
    fn is_empty(&self) -> bool {
        self.multiset.is_empty() && self.int_sum == 0 && self.number_weight == 0
    }

    fn min(&self) -> Value {
        self.multiset.iter().find(|(v, w)| **w > 0 && !v.0.is_none()).map_or(Value::None, |(v, _)| v.0.clone())
    }

    fn max(&self) -> Value {
        self.multiset.iter().rev().find(|(v, w)| **w > 0 && !v.0.is_none()).map_or(Value::None, |(v, _)| v.0.clone())
    }

    fn collect(&self) -> Value {
        collect(&self.multiset)
    }

    /// The sum: exact and O(1) over ints only, else the canonical sum.
    fn sum(&self) -> Option<Number> {
        if self.non_int_entries == 0 {
            return Some(int_number(self.int_sum));
        }
        canonical_sum(&self.multiset, if self.keep_all { 0 } else { self.int_sum })
    }

    fn mean(&self) -> Value {
        mean(self.sum(), self.number_weight)
    }
}

/// The canonical sum of a multiset and `ints` (a sum of ints kept apart):
/// ints exactly, decimals exactly (`None` on overflow), floats in ascending
/// order; then a decimal if a decimal is among them (the float total
/// converted to a decimal), else a float if a float is, else an int.
fn canonical_sum(multiset: &BTreeMap<Kinded, ZWeight>, ints: i128) -> Option<Number> {
    let mut ints = ints;
    let mut decimals: Option<Decimal> = None;
    let mut floats: Option<f64> = None;
    for (v, &w) in multiset {
        match &v.0 {
            Value::Number(Number::Int(i)) => ints = ints.wrapping_add(i128::from(*i) * i128::from(w)),
            Value::Number(Number::Decimal(d)) => {
                decimals = Some(decimals.unwrap_or_default().checked_add(d.checked_mul(Decimal::from(w))?)?);
            }
            Value::Number(Number::Float(f)) => floats = Some(floats.unwrap_or(0.0) + f * w as f64),
            _ => {}
        }
    }
    Some(match (floats, decimals) {
        // A decimal makes the sum a decimal, as in SurrealDB (whose `float +
        // decimal` is a decimal, a non-finite float counting as 0).
        (f, Some(d)) => {
            let f = f.map_or(Decimal::ZERO, |f| Decimal::try_from(f).unwrap_or_default());
            Number::Decimal(d.checked_add(f)?.checked_add(Decimal::try_from_i128_with_scale(ints, 0).ok()?)?)
        }
        (Some(f), None) => Number::Float(f + ints as f64),
        (None, None) => int_number(ints),
    })
}

/// The collected values of a multiset, in ascending order, each as many
/// times as its weight: of a pair `[order, value]`, the value.
fn collect(multiset: &BTreeMap<Kinded, ZWeight>) -> Value {
    let mut out = Vec::new();
    for (v, &w) in multiset {
        let item = match &v.0 {
            Value::Array(pair) if pair.as_slice().len() == 2 => &pair.as_slice()[1],
            other => other,
        };
        for _ in 0..w.max(0) {
            out.push(item.clone());
        }
    }
    Value::Array(out.into_iter().collect())
}

/// `sum / n` as a float whatever the kinds summed, as SurrealDB's
/// `math::mean`; `NaN` for no numbers (`n <= 0`), as SurrealDB's.
fn mean(sum: Option<Number>, n: ZWeight) -> Value {
    if n <= 0 {
        return Value::from(f64::NAN);
    }
    match sum {
        Some(s) => Value::from(s.to_f64() / n as f64),
        None => Value::None,
    }
}

/// An i128 sum as an int if it fits, else a decimal, else a float.
fn int_number(sum: i128) -> Number {
    if let Ok(i) = i64::try_from(sum) {
        Number::Int(i)
    } else if sum.unsigned_abs() < (1u128 << 96) {
        Number::Decimal(Decimal::from_i128_with_scale(sum, 0))
    } else {
        Number::Float(sum as f64)
    }
}

/// One group's state.
#[derive(Debug, Default, Clone)]
struct Group {
    /// Σ w over the group's rows.
    count: ZWeight,
    /// Per aggregate with an argument, its values.
    values: Vec<Values>,
    /// The group's output row as last emitted (`None` while absent).
    row: Option<Value>,
    /// The keys of the group's rows that are equal to the key it is filed
    /// under but not identical (numbers of other kinds: `1.0f` in the group
    /// of `1`), with their total weights; `None` while there are none.
    others: Option<Box<ZSet<Vec<Value>>>>,
    /// Whether the step in progress touched the group.
    touched: bool,
    /// Whether the group's rows had keys of several forms since its row was
    /// last rendered (so that the key it shows may have changed, even if
    /// `others` is now `None`).
    rekeyed: bool,
}

/// The group key of a row: the values of the GROUP BY expressions.
type Key = SmallVec<[Value; 2]>;

/// The state of an incremental aggregation: its groups.
#[derive(Debug)]
pub(crate) struct Aggregate {
    pub(crate) group: Vec<(SmolStr, Expr)>,
    pub(crate) aggregates: Vec<(SmolStr, AggFn)>,
    /// The state of a new group's values, per aggregate with an argument.
    fresh: Vec<Values>,
    groups: HashMap<Vec<Value>, Group, FixedHasher>,
}

impl Aggregate {
    pub(crate) fn new(group: Vec<(SmolStr, Expr)>, aggregates: Vec<(SmolStr, AggFn)>) -> Self {
        let fresh =
            aggregates.iter().filter(|(_, a)| a.arg().is_some()).map(|(_, a)| Values::for_aggregate(a)).collect();
        Aggregate { group, aggregates, fresh, groups: HashMap::default() }
    }

    /// For each group `g` the change touches: `-row(g before) +row(g after)`.
    pub(crate) fn step(&mut self, delta: &ZSet<Value>, params: &[Value]) -> ZSet<Value> {
        let mut touched: SmallVec<[Key; 2]> = SmallVec::new();
        for (row, w) in delta.iter() {
            let key: Key = self.group.iter().map(|(_, e)| e.eval_in(row, params)).collect();
            // Looked up by the borrowed key: a key is copied to the heap only
            // for a new group.
            let (group, filed_as_is) = match self.groups.entry_ref(key.as_slice()) {
                EntryRef::Occupied(e) => {
                    let as_is = e.key().as_slice().same(key.as_slice());
                    (e.into_mut(), as_is)
                }
                EntryRef::Vacant(e) => (e.insert(Group { values: self.fresh.clone(), ..Group::default() }), true),
            };
            group.count = group.count.wrapping_add(w);
            if !filed_as_is {
                group.rekeyed = true;
                let others = group.others.get_or_insert_default();
                others.update(key.to_vec(), w);
                if others.is_empty() {
                    group.others = None;
                }
            }
            for (slot, arg) in self.aggregates.iter().filter_map(|(_, a)| a.arg()).enumerate() {
                group.values[slot].update(arg.eval_in(row, params), w);
            }
            if !group.touched {
                group.touched = true;
                touched.push(key);
            }
        }
        let mut out = ZSet::with_capacity(2 * touched.len());
        for key in touched {
            let Some((filed, group)) = self.groups.get_key_value_mut(key.as_slice()) else { continue };
            group.touched = false;
            let new = render(&self.group, &self.aggregates, shown_key(filed, group), group);
            group.rekeyed = false;
            let changed = match (&new, &group.row) {
                (Some(new), Some(old)) => !new.identical(old),
                (new, old) => new.is_some() != old.is_some(),
            };
            if changed {
                if let Some(old) = group.row.take() {
                    out.update(old, -1);
                }
                if let Some(new) = &new {
                    out.update(new.clone(), 1);
                }
                group.row = new;
            }
            if group.count == 0 && group.others.is_none() && group.values.iter().all(Values::is_empty) {
                self.groups.remove(key.as_slice());
            }
        }
        out
    }

    /// The number of groups held.
    pub(crate) fn group_count(&self) -> usize {
        self.groups.len()
    }
}

/// The key a group shows: of its rows' keys (equal, perhaps of different
/// number kinds) with a positive total weight, the first in exact order,
/// so that it depends on the rows alone.
fn shown_key<'a>(filed: &'a [Value], group: &'a Group) -> &'a [Value] {
    let Some(others) = &group.others else { return filed };
    let filed_weight = others.iter().fold(group.count, |n, (_, w)| n.wrapping_sub(w));
    let present = others.iter().filter(|(_, w)| *w > 0).map(|(k, _)| k.as_slice());
    let filed = (filed_weight > 0).then_some(filed);
    filed.into_iter().chain(present).min_by(|a, b| a.cmp_exact(b)).unwrap_or(filed.unwrap_or_default())
}

/// The output row of a group, or `None` if the group is absent (count ≤ 0).
fn render(group: &[(SmolStr, Expr)], aggregates: &[(SmolStr, AggFn)], key: &[Value], g: &Group) -> Option<Value> {
    if g.count <= 0 {
        return None;
    }
    let mut slot = 0;
    let values = aggregates.iter().map(|(name, agg)| {
        let value = match agg {
            AggFn::Count => Value::from(g.count),
            AggFn::Sum(_) => g.values[slot].sum().map_or(Value::None, Value::Number),
            AggFn::Min(_) => g.values[slot].min(),
            AggFn::Max(_) => g.values[slot].max(),
            AggFn::Mean(_) => g.values[slot].mean(),
            AggFn::Collect(_) => g.values[slot].collect(),
        };
        if agg.arg().is_some() {
            slot += 1;
        }
        (name.clone(), value)
    });
    // The group's last row has the same key fields and every aggregate's
    // field: a copy of it takes the new values in place (a repeated name
    // keeps the last aggregate's value, as when the row is built anew). Where
    // the group's rows have keys of several kinds, the key shown may change.
    if let Some(Value::Object(last)) = &g.row
        && !g.rekeyed
        && g.others.is_none()
    {
        let mut row = last.clone();
        for (name, value) in values {
            row.insert(name, value);
        }
        return Some(Value::Object(row));
    }
    let mut fields: Vec<(SmolStr, Value)> = Vec::with_capacity(group.len() + aggregates.len());
    fields.extend(group.iter().zip(key).map(|((name, _), v)| (name.clone(), v.clone())));
    fields.extend(values);
    Some(Value::Object(fields.into_iter().collect::<Object>()))
}

impl AggFn {
    /// The aggregate of one group, from scratch: `values` are the argument's
    /// value in each row of the group with the row's weight (any value for
    /// [`AggFn::Count`]). `NONE` for a group of no rows. This is the
    /// definition the incremental state keeps up to date.
    pub fn over(&self, values: impl IntoIterator<Item = (Value, ZWeight)>) -> Value {
        let mut multiset: BTreeMap<Kinded, ZWeight> = BTreeMap::new();
        let mut count: ZWeight = 0;
        for (v, w) in values {
            count = count.wrapping_add(w);
            if self.arg().is_some() {
                let e = multiset.entry(Exact(v)).or_insert(0);
                *e = e.wrapping_add(w);
            }
        }
        if count <= 0 {
            return Value::None;
        }
        multiset.retain(|_, w| *w != 0);
        let present = || multiset.iter().filter(|(v, w)| **w > 0 && !v.0.is_none()).map(|(v, _)| v.0.clone());
        match self {
            AggFn::Count => Value::from(count),
            AggFn::Sum(_) => canonical_sum(&multiset, 0).map_or(Value::None, Value::Number),
            AggFn::Min(_) => present().next().unwrap_or(Value::None),
            AggFn::Max(_) => present().next_back().unwrap_or(Value::None),
            AggFn::Collect(_) => collect(&multiset),
            AggFn::Mean(_) => {
                let n = multiset
                    .iter()
                    .filter(|(v, _)| matches!(v.0, Value::Number(_)))
                    .map(|(_, w)| *w)
                    .fold(0, ZWeight::wrapping_add);
                mean(canonical_sum(&multiset, 0), n)
            }
        }
    }
}

/// The aggregation of a whole input, computed from scratch per group, by
/// code independent of the incremental state above (it shares only the
/// definition of the canonical sum).
pub(crate) fn reference(
    input: &ZSet<Value>,
    group: &[(SmolStr, Expr)],
    aggregates: &[(SmolStr, AggFn)],
    params: &[Value],
) -> ZSet<Value> {
    // Per group (rows equal by value), each row with its own key.
    type Rows<'a> = Vec<(Vec<Value>, &'a Value, ZWeight)>;
    let mut groups: BTreeMap<Vec<Value>, Rows<'_>> = BTreeMap::new();
    for (row, w) in input.iter() {
        let key: Vec<Value> = group.iter().map(|(_, e)| e.eval_in(row, params)).collect();
        groups.entry(key.clone()).or_default().push((key, row, w));
    }
    let mut out = ZSet::new();
    for rows in groups.into_values() {
        let count = rows.iter().map(|(_, _, w)| *w).fold(0, ZWeight::wrapping_add);
        if count <= 0 {
            continue;
        }
        // The key shown: of the rows' keys (equal, perhaps of different
        // number kinds) with a positive total weight, the first in exact order.
        let keys: ZSet<Vec<Value>> = rows.iter().map(|(k, _, w)| (k.clone(), *w)).collect();
        let key = keys.iter().filter(|(_, w)| *w > 0).map(|(k, _)| k).min_by(|a, b| a.as_slice().cmp_exact(b));
        let Some(key) = key else { continue };
        let mut fields: Vec<(SmolStr, Value)> =
            group.iter().zip(key).map(|((n, _), v)| (n.clone(), v.clone())).collect();
        for (name, agg) in aggregates {
            let value = agg
                .over(rows.iter().map(|(_, row, w)| (agg.arg().map_or(Value::None, |e| e.eval_in(row, params)), *w)));
            fields.push((name.clone(), value));
        }
        out.update(Value::Object(fields.into_iter().collect::<Object>()), 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sums and means keep ints only as their total: a group whose rows all
    // cancel in count and total (but not row by row) may be dropped, and the
    // steps after it still agree with the reference.
    #[test]
    fn groups_whose_weights_cancel_agree_with_the_reference() {
        let row = |x: &str| -> Value { format!("{{ g: 1, x: {x} }}").parse().expect("a literal") };
        let group = vec![(SmolStr::from("g"), Expr::field("g"))];
        let sums: Vec<(SmolStr, AggFn)> = vec![
            ("n".into(), AggFn::Count),
            ("s".into(), AggFn::Sum(Expr::field("x"))),
            ("m".into(), AggFn::Mean(Expr::field("x"))),
        ];
        let mut with_min = sums.clone();
        with_min.push(("lo".into(), AggFn::Min(Expr::field("x"))));
        let steps: [&[(&str, ZWeight)]; 4] = [
            &[("2", 1), ("4", 1), ("3", -2)],
            &[("3", 2)],
            &[("1.5f", 1), ("'a'", 1), ("2", -1)],
            &[("1.5f", -1), ("'a'", -1), ("4", -1)],
        ];
        for aggregates in [sums, with_min] {
            let mut agg = Aggregate::new(group.clone(), aggregates.clone());
            let mut input: ZSet<Value> = ZSet::new();
            let mut output: ZSet<Value> = ZSet::new();
            for (i, step) in steps.iter().enumerate() {
                let delta: ZSet<Value> = step.iter().map(|(x, w)| (row(x), *w)).collect();
                output += &agg.step(&delta, &[]);
                input += &delta;
                assert_eq!(output, reference(&input, &group, &aggregates, &[]), "after {step:?}");
                if i == 0 && aggregates.len() == 3 {
                    assert_eq!(agg.group_count(), 0, "count and totals cancel: the group is dropped");
                }
            }
            assert!(input.is_empty());
            assert_eq!(agg.group_count(), 0);
        }
    }

    // A group's row is rebuilt from its last one: a name shared by a group
    // key and aggregates keeps the last aggregate's value, as the reference
    // (which builds the row anew) does.
    #[test]
    fn repeated_output_names_keep_the_last_value_across_steps() {
        let row = |g: i64, x: i64| -> Value { format!("{{ g: {g}, x: {x} }}").parse().expect("a literal") };
        let group = vec![(SmolStr::from("n"), Expr::field("g"))];
        let aggregates: Vec<(SmolStr, AggFn)> = vec![
            ("n".into(), AggFn::Count),
            ("s".into(), AggFn::Sum(Expr::field("x"))),
            ("s".into(), AggFn::Max(Expr::field("x"))),
        ];
        let mut agg = Aggregate::new(group.clone(), aggregates.clone());
        let mut input: ZSet<Value> = ZSet::new();
        let mut output: ZSet<Value> = ZSet::new();
        for step in [vec![(row(1, 5), 1)], vec![(row(1, 7), 1)], vec![(row(1, 5), -1), (row(2, 3), 1)]] {
            let delta: ZSet<Value> = step.into_iter().collect();
            output += &agg.step(&delta, &[]);
            input += &delta;
            assert_eq!(output, reference(&input, &group, &aggregates, &[]));
        }
    }

    // Found in review: an int part past 2^96 beside a decimal panicked in
    // `Decimal::from_i128_with_scale`; the sum is NONE instead.
    #[test]
    fn a_sum_past_the_decimal_range_is_none_not_a_panic() {
        let mut multiset = BTreeMap::new();
        multiset.insert(Exact(Value::from(i64::MAX)), 1 << 40);
        multiset.insert(Exact(Value::from(Decimal::ONE)), 1);
        assert_eq!(canonical_sum(&multiset, 0), None);
    }

    // Found by the SurrealDB oracle (`ssp-surreal/tests/oracle.rs`): SurrealDB's
    // `math::mean` is a float whatever the kinds (`NaN` for no numbers), and
    // its `math::sum` is a decimal as soon as a decimal is summed (a float
    // plus a decimal is a decimal there).
    #[test]
    fn means_are_floats_and_a_decimal_makes_a_sum_a_decimal() {
        let agg = |f: AggFn, values: &[&str]| -> String {
            f.over(values.iter().map(|v| (v.parse::<Value>().expect("a literal"), 1))).to_string()
        };
        let x = || Expr::field("x");
        assert_eq!(agg(AggFn::Mean(x()), &["2dec", "3dec"]), "2.5f");
        assert_eq!(agg(AggFn::Mean(x()), &["1", "2"]), "1.5f");
        assert_eq!(agg(AggFn::Mean(x()), &["'a'"]), "NaN");
        assert_eq!(agg(AggFn::Sum(x()), &["1.5f", "1", "0.25dec"]), "2.75dec");
        assert_eq!(agg(AggFn::Sum(x()), &["1.5f", "1"]), "2.5f");
        assert_eq!(agg(AggFn::Sum(x()), &["1", "2"]), "3");
    }
}
