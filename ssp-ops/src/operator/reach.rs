//! Reachability over edges (`->edge->` paths): a fixpoint over depths.
//!
//! `R₀ = {(s, s) | s ∈ S}` and `Rₖ = δ(Rₖ₋₁ ⋈ E)` (pairs `(s, n)` joined to the
//! edges `n → m`), where `S` and `E` are the start nodes and edges as sets.
//! The output is `δ(⋃ₖ Rₖ)` for `k` in `min ..= max`, as rows `{ from: s, to: m }`.
//!
//! Incrementally, each depth keeps the support of its pairs (how many
//! `(pair, edge)` derivations reach them) and updates it with the bilinear
//! join formula, `ΔRₖ₋₁ ⋈ E + Rₖ₋₁ ⋈ ΔE + ΔRₖ₋₁ ⋈ ΔE`; a pair enters or
//! leaves `Rₖ` when its support crosses zero. The iteration stops at the
//! first depth whose change is empty once the edges' change is empty too:
//! the fixpoint of the nested step.

use std::collections::BTreeSet;

use hashbrown::HashMap;
use smol_str::SmolStr;
use ssp_core::{FixedHasher, Number, Object, Value, ZSet, ZWeight};

use crate::expr::Expr;

type Pair = (Value, Value);

/// Pairs indexed by their end node: end -> starts.
type ByEnd = HashMap<Value, ZSet<Value>, FixedHasher>;

/// One depth's state.
#[derive(Debug, Default)]
struct Depth {
    /// Derivations per pair.
    support: ZSet<Pair>,
    /// The pairs with positive support, indexed by end node.
    by_end: ByEnd,
}

/// The state of incremental reachability.
#[derive(Debug)]
pub(crate) struct Reach {
    pub(crate) start_key: Expr,
    pub(crate) edge_from: Expr,
    pub(crate) edge_to: Expr,
    pub(crate) min_depth: u32,
    /// Start nodes, integrated (a node is a start while its weight is positive).
    starts: ZSet<Value>,
    /// Edges `from -> to`, integrated (an edge exists while positive).
    edges: ZSet<Pair>,
    /// Existing edges by their from node: from -> set of to.
    edges_by_from: HashMap<Value, ZSet<Value>, FixedHasher>,
    /// Depths 1 ..= max.
    depths: Vec<Depth>,
    /// For each output pair, in how many depths of `min ..= max` it is.
    output: ZSet<Pair>,
}

/// A node as the walk knows it: numbers in their canonical kind (an
/// integral number in range an int, else a float if one is exactly equal,
/// else a decimal), so that `1`, `1.0f` and `1dec` are one node, as record
/// ids equal across kinds are one record.
fn node(v: Value) -> Value {
    match v {
        Value::Number(n) => Value::Number(canonical(n)),
        Value::Array(a) if a.iter().any(has_number) => Value::Array(a.iter().cloned().map(node).collect()),
        Value::Set(s) if s.iter().any(has_number) => Value::Set(s.iter().cloned().map(node).collect()),
        Value::Object(o) if o.iter().any(|(_, v)| has_number(v)) => {
            Value::Object(o.iter().map(|(k, v)| (k, node(v.clone()))).collect())
        }
        other => other,
    }
}

fn has_number(v: &Value) -> bool {
    match v {
        Value::Number(_) => true,
        Value::Array(a) => a.iter().any(has_number),
        Value::Set(s) => s.iter().any(has_number),
        Value::Object(o) => o.iter().any(|(_, v)| has_number(v)),
        _ => false,
    }
}

fn canonical(n: Number) -> Number {
    match (n.to_i64(), n.exact_f64()) {
        (Some(i), _) => Number::Int(i),
        (None, Some(f)) => Number::Float(f),
        (None, None) => n,
    }
}

fn out_row(pair: &Pair) -> Value {
    Value::Object(Object::from_iter([
        (SmolStr::new_static("from"), pair.0.clone()),
        (SmolStr::new_static("to"), pair.1.clone()),
    ]))
}

/// Adds `w` to `z[k]` and reports whether `k`'s presence (weight > 0) flipped:
/// `+1` if it appeared, `-1` if it left, `0` otherwise.
fn flip<K: ssp_core::Element>(z: &mut ZSet<K>, k: K, w: ZWeight) -> ZWeight {
    let before = z.weight(&k) > 0;
    let after = z.update(k, w) > 0;
    ZWeight::from(after) - ZWeight::from(before)
}

fn index_update(index: &mut HashMap<Value, ZSet<Value>, FixedHasher>, key: &Value, v: &Value, w: ZWeight) {
    let z = index.entry(key.clone()).or_default();
    z.update(v.clone(), w);
    if z.is_empty() {
        index.remove(key);
    }
}

impl Reach {
    pub(crate) fn new(start_key: Expr, edge_from: Expr, edge_to: Expr, min_depth: u32, max_depth: u32) -> Self {
        Reach {
            start_key,
            edge_from,
            edge_to,
            min_depth,
            starts: ZSet::new(),
            edges: ZSet::new(),
            edges_by_from: HashMap::default(),
            depths: (0..max_depth).map(|_| Depth::default()).collect(),
            output: ZSet::new(),
        }
    }

    /// The entries the operator holds: start nodes, edges, pairs per depth.
    pub(crate) fn owned_rows(&self) -> usize {
        self.starts.len() + self.edges.len() + self.depths.iter().map(|d| d.support.len()).sum::<usize>()
    }

    pub(crate) fn step(&mut self, d_starts: &ZSet<Value>, d_edges: &ZSet<Value>, params: &[Value]) -> ZSet<Value> {
        // The changes of S and E as sets.
        let mut ds: ZSet<Pair> = ZSet::new();
        for (row, w) in d_starts.iter() {
            let s = node(self.start_key.eval_in(row, params));
            let f = flip(&mut self.starts, s.clone(), w);
            if f != 0 {
                ds.update((s.clone(), s), f);
            }
        }
        let mut de: Vec<(Pair, ZWeight)> = Vec::new();
        for (row, w) in d_edges.iter() {
            let e = (node(self.edge_from.eval_in(row, params)), node(self.edge_to.eval_in(row, params)));
            let f = flip(&mut self.edges, e.clone(), w);
            if f != 0 {
                de.push((e, f));
            }
        }
        let mut de_by_from: HashMap<&Value, Vec<(&Value, ZWeight)>, FixedHasher> = HashMap::default();
        for ((from, to), w) in &de {
            de_by_from.entry(from).or_default().push((to, *w));
        }

        // `prev_*`: depth k-1 before the step (R₀ is derived from the starts).
        let mut prev_delta = ds;
        let mut out = ZSet::new();
        for k in 0..self.depths.len() {
            // The fixpoint: nothing changed at depth k-1 and either the edges
            // did not change or depth k-1 is empty, so no deeper depth changes.
            let prev_empty = if k == 0 { self.starts.is_empty() } else { self.depths[k - 1].support.is_empty() };
            if prev_delta.is_empty() && (de.is_empty() || prev_empty) {
                break;
            }
            // Δsupportₖ = ΔRₖ₋₁ ⋈ E_old + Rₖ₋₁,old ⋈ ΔE + ΔRₖ₋₁ ⋈ ΔE.
            let mut d_support: ZSet<Pair> = ZSet::new();
            for ((s, n), w) in prev_delta.iter() {
                for (m, we) in self.edges_by_from.get(n).into_iter().flat_map(ZSet::iter) {
                    d_support.update((s.clone(), m.clone()), w.wrapping_mul(we.signum()));
                }
                for &(m, we) in de_by_from.get(n).into_iter().flatten() {
                    d_support.update((s.clone(), m.clone()), w.wrapping_mul(we));
                }
            }
            for ((from, to), we) in &de {
                let mut visit = |s: &Value, w: ZWeight| {
                    d_support.update((s.clone(), to.clone()), w.wrapping_mul(*we));
                };
                if k == 0 {
                    // R₀ before the step: the old starts, each paired with itself.
                    let now = ZWeight::from(self.starts.weight(from) > 0);
                    if now - prev_delta.weight(&(from.clone(), from.clone())) > 0 {
                        visit(from, 1);
                    }
                } else {
                    for (s, w) in self.depths[k - 1].by_end.get(from).into_iter().flat_map(ZSet::iter) {
                        // by_end of depth k-1 already holds the new pairs; take the old ones.
                        let old = w - prev_delta.weight(&(s.clone(), from.clone()));
                        if old > 0 {
                            visit(s, 1);
                        }
                    }
                    for ((s, n), w) in prev_delta.iter() {
                        // Pairs that left depth k-1 were there before.
                        if n == from && w < 0 && self.depths[k - 1].by_end.get(from).is_none_or(|z| z.weight(s) == 0) {
                            visit(s, 1);
                        }
                    }
                }
            }
            // Presence changes of depth k.
            let depth = &mut self.depths[k];
            let mut delta_k: ZSet<Pair> = ZSet::new();
            for (pair, w) in d_support.iter() {
                let f = flip(&mut depth.support, pair.clone(), w);
                if f != 0 {
                    delta_k.update(pair.clone(), f);
                    index_update(&mut depth.by_end, &pair.1, &pair.0, f);
                }
            }
            let d = k as u32 + 1;
            if d >= self.min_depth {
                for (pair, w) in delta_k.iter() {
                    let f = flip(&mut self.output, pair.clone(), w);
                    if f != 0 {
                        out.update(out_row(pair), f);
                    }
                }
            }
            prev_delta = delta_k;
        }
        // E takes its change after every depth has used E before the step.
        for ((from, to), w) in &de {
            index_update(&mut self.edges_by_from, from, to, *w);
        }
        out
    }
}

/// What a walk follows: the parameters of [`Op::Reach`](crate::Op::Reach).
pub(crate) struct Walk<'a> {
    pub(crate) start_key: &'a Expr,
    pub(crate) edge_from: &'a Expr,
    pub(crate) edge_to: &'a Expr,
    pub(crate) min_depth: u32,
    pub(crate) max_depth: u32,
}

/// Reachability over whole inputs, depth by depth.
pub(crate) fn reference(starts: &ZSet<Value>, edges: &ZSet<Value>, walk: Walk<'_>, params: &[Value]) -> ZSet<Value> {
    let Walk { start_key, edge_from, edge_to, min_depth, max_depth } = walk;
    let mut start_nodes: ZSet<Value> = ZSet::new();
    for (row, w) in starts.iter() {
        start_nodes.update(node(start_key.eval_in(row, params)), w);
    }
    let mut edge_set: ZSet<Pair> = ZSet::new();
    for (row, w) in edges.iter() {
        edge_set.update((node(edge_from.eval_in(row, params)), node(edge_to.eval_in(row, params))), w);
    }
    let mut next: HashMap<&Value, Vec<&Value>, FixedHasher> = HashMap::default();
    for ((from, to), w) in edge_set.iter() {
        if w > 0 {
            next.entry(from).or_default().push(to);
        }
    }
    let mut level: BTreeSet<Pair> =
        start_nodes.iter().filter(|(_, w)| *w > 0).map(|(s, _)| (s.clone(), s.clone())).collect();
    let mut found: BTreeSet<Pair> = BTreeSet::new();
    for depth in 1..=max_depth {
        level = level
            .iter()
            .flat_map(|(s, n)| next.get(n).into_iter().flatten().map(move |m| (s.clone(), (*m).clone())))
            .collect();
        if depth >= min_depth {
            found.extend(level.iter().cloned());
        }
        if level.is_empty() {
            break;
        }
    }
    found.iter().map(|p| (out_row(p), 1)).collect()
}

#[cfg(test)]
mod node_tests {
    use ssp_core::{Set, Value};

    use super::node;

    // Nodes equal across number kinds are one node, wherever the numbers
    // sit (the reference's ordered sets merge them; the Z-sets must too).
    #[test]
    fn nodes_equal_across_kinds_are_identical() {
        let pairs: [(Value, Value); 3] = [
            ("1".parse().expect("a literal"), "1.0f".parse().expect("a literal")),
            ("{ a: [1dec, 2] }".parse().expect("a literal"), "{ a: [1, 2.0f] }".parse().expect("a literal")),
            (
                Value::Set([Value::from(1), Value::from(2.0)].into_iter().collect::<Set>()),
                Value::Set([Value::from(1.0), Value::from(2)].into_iter().collect::<Set>()),
            ),
        ];
        for (a, b) in pairs {
            assert_eq!(a, b);
            assert!(node(a.clone()).identical(&node(b.clone())), "{a} and {b} are one node");
        }
    }
}
