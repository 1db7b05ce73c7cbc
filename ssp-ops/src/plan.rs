//! The operator DAG: what a circuit computes, built with [`PlanBuilder`].

use std::fmt;
use std::sync::Arc;

use smol_str::SmolStr;

use crate::error::BuildError;
use crate::expr::Expr;
use crate::sort::Direction;

/// A node of a [`Plan`], by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An aggregate function of [`Op::Aggregate`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AggFn {
    /// The number of rows of the group (`count()`).
    Count,
    /// The sum of the numbers among the values (`math::sum`); other values
    /// are skipped. Ints sum to an int (a decimal past `i64`); a decimal
    /// among them makes the sum a decimal (the floats' total converted, a
    /// non-finite one as 0, as SurrealDB converts), else a float makes it a
    /// float (floats summed in ascending order, so that the result does not
    /// depend on the order rows arrived in).
    Sum(Expr),
    /// The least value (`math::min`), `NONE` for a group with none.
    Min(Expr),
    /// The greatest value (`math::max`).
    Max(Expr),
    /// The mean of the numbers (`math::mean`): their sum over their count, as
    /// a float whatever their kinds; `NaN` if none (both as SurrealDB).
    Mean(Expr),
    /// The group's values as an array, in ascending order, a value of weight
    /// `n` appearing `n` times (the rows of a correlated subquery). Of a value
    /// that is a pair `[order, item]`, the array holds the item: pairs collect
    /// items in the order of their first element (`[id, row]` collects rows
    /// in id order, as SurrealDB scans them). The array is rebuilt when the
    /// group changes: a step costs O(group size) for each group it touches.
    Collect(Expr),
}

impl AggFn {
    pub(crate) fn arg(&self) -> Option<&Expr> {
        match self {
            AggFn::Count => None,
            AggFn::Sum(e) | AggFn::Min(e) | AggFn::Max(e) | AggFn::Mean(e) | AggFn::Collect(e) => Some(e),
        }
    }
}

/// One operator of a circuit. Every operator maps Z-sets of rows to a Z-set
/// of rows; its incremental form maps the *changes* of its inputs to the
/// change of its output (`Q^Δ = D ∘ Q ∘ I`).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// The rows of a base table (`record_row` of each record).
    Source {
        /// The table.
        table: SmolStr,
    },
    /// `σ`: the rows for which `pred` is truthy. Linear.
    Filter {
        /// The input.
        input: NodeId,
        /// The condition.
        pred: Expr,
    },
    /// `π`: each row mapped through `expr`. Linear (weights of rows mapped
    /// to the same value add).
    Map {
        /// The input.
        input: NodeId,
        /// The new row.
        expr: Expr,
    },
    /// `a + b` (UNION ALL). Linear.
    Union {
        /// The first input.
        left: NodeId,
        /// The second input.
        right: NodeId,
    },
    /// `a - b` on weights. Linear; follow it with [`Op::Distinct`] for SQL's
    /// EXCEPT, or use [`Op::AntiJoin`].
    Minus {
        /// The input taken from.
        left: NodeId,
        /// The input subtracted.
        right: NodeId,
    },
    /// `⋈`: pairs of rows with equal keys, as `{ <left_name>: l, <right_name>: r }`
    /// with weight `w(l)·w(r)`. Bilinear: `Δ(a⋈b) = Δa⋈b + a⋈Δb + Δa⋈Δb`.
    Join {
        /// The left input.
        left: NodeId,
        /// The right input.
        right: NodeId,
        /// The key of a left row.
        left_key: Expr,
        /// The key of a right row.
        right_key: Expr,
        /// The field holding the left row in the output.
        left_name: SmolStr,
        /// The field holding the right row in the output.
        right_name: SmolStr,
    },
    /// `⋉` (EXISTS): the left rows whose key some right row (of positive
    /// total weight) has.
    SemiJoin {
        /// The rows kept or dropped.
        left: NodeId,
        /// The rows that must exist.
        right: NodeId,
        /// The key of a left row.
        left_key: Expr,
        /// The key of a right row.
        right_key: Expr,
    },
    /// `▷` (NOT EXISTS): the left rows whose key no right row has.
    AntiJoin {
        /// The rows kept or dropped.
        left: NodeId,
        /// The rows that must not exist.
        right: NodeId,
        /// The key of a left row.
        left_key: Expr,
        /// The key of a right row.
        right_key: Expr,
    },
    /// `Γ`: one row per group of the input (rows with positive total weight
    /// per group), `{ <group names>: keys, <aggregate names>: values }`. With
    /// no group keys, one group over everything (GROUP ALL), present while the
    /// input is not empty.
    Aggregate {
        /// The input.
        input: NodeId,
        /// The group keys, by output field name.
        group: Vec<(SmolStr, Expr)>,
        /// The aggregates, by output field name.
        aggregates: Vec<(SmolStr, AggFn)>,
    },
    /// `δ`: each row with positive weight, once.
    Distinct {
        /// The input.
        input: NodeId,
    },
    /// ORDER BY … LIMIT … START …: the rows at positions `offset ..
    /// offset + limit` of the input in the order's sort (ties broken by the
    /// row), a row of weight `n` counting as `n` rows.
    TopK {
        /// The input.
        input: NodeId,
        /// The sort keys.
        order: Vec<(Expr, Direction)>,
        /// How many rows (LIMIT).
        limit: usize,
        /// How many rows to skip first (START).
        offset: usize,
    },
    /// Graph reachability (`->edge->` paths): the pairs `{ from, to }` such
    /// that a walk of `min_depth ..= max_depth` edges leads from a start node
    /// to `to`. Start nodes are `start_key` of each start row; an edge row
    /// leads from `edge_from` to `edge_to`. Computed as a fixpoint that stops
    /// as soon as a depth adds nothing.
    Reach {
        /// The rows whose nodes walks start from.
        starts: NodeId,
        /// The edge rows.
        edges: NodeId,
        /// The node of a start row.
        start_key: Expr,
        /// The node an edge leaves.
        edge_from: Expr,
        /// The node an edge enters.
        edge_to: Expr,
        /// The fewest edges of a walk (at least 1).
        min_depth: u32,
        /// The most edges of a walk.
        max_depth: u32,
    },
}

/// The deepest walk [`Op::Reach`] follows; an unbounded traversal is bounded
/// here (SurrealDB bounds recursive paths likewise).
pub const MAX_REACH_DEPTH: u32 = 256;

impl Op {
    /// The inputs of this operator.
    pub fn inputs(&self) -> Vec<NodeId> {
        match self {
            Op::Source { .. } => vec![],
            Op::Filter { input, .. }
            | Op::Map { input, .. }
            | Op::Aggregate { input, .. }
            | Op::Distinct { input }
            | Op::TopK { input, .. } => vec![*input],
            Op::Union { left, right }
            | Op::Minus { left, right }
            | Op::Join { left, right, .. }
            | Op::SemiJoin { left, right, .. }
            | Op::AntiJoin { left, right, .. } => vec![*left, *right],
            Op::Reach { starts, edges, .. } => vec![*starts, *edges],
        }
    }

    /// The operator's name, for EXPLAIN and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Source { .. } => "source",
            Op::Filter { .. } => "filter",
            Op::Map { .. } => "map",
            Op::Union { .. } => "union",
            Op::Minus { .. } => "minus",
            Op::Join { .. } => "join",
            Op::SemiJoin { .. } => "semi-join",
            Op::AntiJoin { .. } => "anti-join",
            Op::Aggregate { .. } => "aggregate",
            Op::Distinct { .. } => "distinct",
            Op::TopK { .. } => "top-k",
            Op::Reach { .. } => "reach",
        }
    }
}

/// A DAG of operators with one output: the plan of a circuit. Nodes are in
/// topological order (every input comes before its users).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub(crate) nodes: Vec<Op>,
    pub(crate) output: NodeId,
    /// The base tables the plan reads, sorted, each once: shared by every
    /// circuit of the plan.
    pub(crate) sources: Arc<[SmolStr]>,
}

impl Plan {
    /// The operators, in topological order.
    pub fn nodes(&self) -> &[Op] {
        &self.nodes
    }

    /// The output node.
    pub fn output(&self) -> NodeId {
        self.output
    }

    /// The operator at `id`.
    pub fn node(&self, id: NodeId) -> &Op {
        &self.nodes[id.index()]
    }

    /// For each base table the plan reads (sorted): the equality its rows
    /// must meet to reach the output at all, if there is one, as a field and
    /// the [`Expr::Lit`] or [`Expr::Param`] it must equal.
    ///
    /// A table has a route key when the plan reads it once and the chain of
    /// filters right above its source holds a conjunct `field = constant` or
    /// `field = $param`: then a change of a row whose field is something
    /// else cannot change the output, and a router may leave the circuit out
    /// of a version whose changes of the table all miss the key (a circuit
    /// stepped with them would drop them at that filter).
    ///
    /// ```
    /// use ssp_ops::{Expr, PlanBuilder};
    /// let mut b = PlanBuilder::new();
    /// let issues = b.source("issue");
    /// let mine = b.filter(issues, Expr::field("owner").eq(Expr::Param(0)).and(Expr::field("open").eq(Expr::lit(true))));
    /// let plan = b.build(mine)?;
    /// let keys = plan.route_keys();
    /// assert_eq!(keys[0].0, "issue");
    /// assert_eq!(keys[0].1.as_ref().map(|(f, k)| (f.to_string(), k.clone())), Some(("owner".into(), Expr::Param(0))));
    /// # Ok::<(), ssp_ops::BuildError>(())
    /// ```
    pub fn route_keys(&self) -> Vec<(SmolStr, Option<(ssp_core::FieldPath, Expr)>)> {
        let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for (i, op) in self.nodes.iter().enumerate() {
            for input in op.inputs() {
                consumers[input.index()].push(i);
            }
        }
        let mut sources: std::collections::BTreeMap<&SmolStr, Vec<usize>> = std::collections::BTreeMap::new();
        for (i, op) in self.nodes.iter().enumerate() {
            if let Op::Source { table } = op {
                sources.entry(table).or_default().push(i);
            }
        }
        sources
            .into_iter()
            .map(|(table, at)| {
                let key = match at.as_slice() {
                    [source] => {
                        let mut node = *source;
                        let mut key = None;
                        while let ([next], None) = (consumers[node].as_slice(), &key) {
                            match &self.nodes[*next] {
                                Op::Filter { pred, .. } => {
                                    key = eq_key(pred);
                                    node = *next;
                                }
                                _ => break,
                            }
                        }
                        key
                    }
                    _ => None,
                };
                (table.clone(), key)
            })
            .collect()
    }

    /// The base tables the plan reads, sorted, without repeats.
    pub fn tables(&self) -> Vec<&str> {
        self.sources.iter().map(SmolStr::as_str).collect()
    }

    /// [`tables`](Self::tables), as the plan keeps them.
    pub fn source_tables(&self) -> &[SmolStr] {
        &self.sources
    }
}

impl fmt::Display for Plan {
    /// One line per operator, inputs first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.nodes.iter().enumerate() {
            let inputs: Vec<String> = op.inputs().iter().map(NodeId::to_string).collect();
            write!(f, "#{i} {}", op.name())?;
            match op {
                Op::Source { table } => write!(f, " {table}")?,
                Op::Filter { pred, .. } => write!(f, " {pred}")?,
                Op::Map { expr, .. } => write!(f, " {expr}")?,
                Op::Join { left_key, right_key, .. }
                | Op::SemiJoin { left_key, right_key, .. }
                | Op::AntiJoin { left_key, right_key, .. } => write!(f, " on {left_key} = {right_key}")?,
                Op::Aggregate { group, aggregates, .. } => {
                    write!(
                        f,
                        " by [{}] computing [",
                        group.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                    )?;
                    write!(f, "{}]", aggregates.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "))?;
                }
                Op::TopK { order, limit, offset, .. } => {
                    let keys: Vec<String> = order.iter().map(|(e, d)| format!("{e} {d:?}")).collect();
                    write!(f, " order by {} limit {limit} start {offset}", keys.join(", "))?;
                }
                Op::Reach { min_depth, max_depth, .. } => write!(f, " depth {min_depth}..={max_depth}")?,
                Op::Union { .. } | Op::Minus { .. } | Op::Distinct { .. } => {}
            }
            if !inputs.is_empty() {
                write!(f, " <- {}", inputs.join(", "))?;
            }
            writeln!(f)?;
        }
        write!(f, "output #{}", self.output.0)
    }
}

/// Builds a [`Plan`] node by node; each method returns the new node's id.
///
/// ```
/// use ssp_ops::{Direction, Expr, PlanBuilder};
/// let mut b = PlanBuilder::new();
/// let issues = b.source("issue");
/// let open = b.filter(issues, Expr::field("status").eq(Expr::lit("open")));
/// let top = b.top_k(open, vec![(Expr::field("score"), Direction::Desc)], 10, 0);
/// let plan = b.build(top)?;
/// assert_eq!(plan.tables(), ["issue"]);
/// # Ok::<(), ssp_ops::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PlanBuilder {
    nodes: Vec<Op>,
}

impl PlanBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an operator whose inputs are already in the builder.
    pub fn add(&mut self, op: Op) -> Result<NodeId, BuildError> {
        let id = NodeId(u32::try_from(self.nodes.len()).map_err(|_| BuildError::TooLarge)?);
        for input in op.inputs() {
            if input >= id {
                return Err(BuildError::UnknownNode { node: input, user: op.name() });
            }
        }
        if let Op::Reach { min_depth, max_depth, .. } = &op
            && (*min_depth == 0 || min_depth > max_depth || *max_depth > MAX_REACH_DEPTH)
        {
            return Err(BuildError::BadDepth { min: *min_depth, max: *max_depth });
        }
        self.nodes.push(op);
        Ok(id)
    }

    fn push(&mut self, op: Op) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(op);
        id
    }

    /// A base table.
    pub fn source(&mut self, table: &str) -> NodeId {
        self.push(Op::Source { table: table.into() })
    }

    /// `σ`.
    pub fn filter(&mut self, input: NodeId, pred: Expr) -> NodeId {
        self.push(Op::Filter { input, pred })
    }

    /// `π`.
    pub fn map(&mut self, input: NodeId, expr: Expr) -> NodeId {
        self.push(Op::Map { input, expr })
    }

    /// `a + b`.
    pub fn union(&mut self, left: NodeId, right: NodeId) -> NodeId {
        self.push(Op::Union { left, right })
    }

    /// `a - b`.
    pub fn minus(&mut self, left: NodeId, right: NodeId) -> NodeId {
        self.push(Op::Minus { left, right })
    }

    /// `⋈`, with output fields `l` and `r`.
    pub fn join(&mut self, left: NodeId, right: NodeId, left_key: Expr, right_key: Expr) -> NodeId {
        self.push(Op::Join { left, right, left_key, right_key, left_name: "l".into(), right_name: "r".into() })
    }

    /// `⋉` (EXISTS).
    pub fn semi_join(&mut self, left: NodeId, right: NodeId, left_key: Expr, right_key: Expr) -> NodeId {
        self.push(Op::SemiJoin { left, right, left_key, right_key })
    }

    /// `▷` (NOT EXISTS).
    pub fn anti_join(&mut self, left: NodeId, right: NodeId, left_key: Expr, right_key: Expr) -> NodeId {
        self.push(Op::AntiJoin { left, right, left_key, right_key })
    }

    /// `Γ`.
    pub fn aggregate(
        &mut self,
        input: NodeId,
        group: Vec<(SmolStr, Expr)>,
        aggregates: Vec<(SmolStr, AggFn)>,
    ) -> NodeId {
        self.push(Op::Aggregate { input, group, aggregates })
    }

    /// `δ`.
    pub fn distinct(&mut self, input: NodeId) -> NodeId {
        self.push(Op::Distinct { input })
    }

    /// ORDER BY … LIMIT … START ….
    pub fn top_k(&mut self, input: NodeId, order: Vec<(Expr, Direction)>, limit: usize, offset: usize) -> NodeId {
        self.push(Op::TopK { input, order, limit, offset })
    }

    /// Reachability over `edges` from the nodes of `starts`.
    #[allow(clippy::too_many_arguments)]
    pub fn reach(
        &mut self,
        starts: NodeId,
        edges: NodeId,
        start_key: Expr,
        edge_from: Expr,
        edge_to: Expr,
        min_depth: u32,
        max_depth: u32,
    ) -> Result<NodeId, BuildError> {
        self.add(Op::Reach { starts, edges, start_key, edge_from, edge_to, min_depth, max_depth })
    }

    /// The plan with `output` as its result.
    pub fn build(self, output: NodeId) -> Result<Plan, BuildError> {
        if output.index() >= self.nodes.len() {
            return Err(BuildError::UnknownNode { node: output, user: "output" });
        }
        for (i, op) in self.nodes.iter().enumerate() {
            if let Some(bad) = op.inputs().into_iter().find(|n| n.index() >= i) {
                return Err(BuildError::UnknownNode { node: bad, user: op.name() });
            }
        }
        let mut sources: Vec<SmolStr> = self
            .nodes
            .iter()
            .filter_map(|op| match op {
                Op::Source { table } => Some(table.clone()),
                _ => None,
            })
            .collect();
        sources.sort_unstable();
        sources.dedup();
        Ok(Plan { nodes: self.nodes, output, sources: sources.into() })
    }
}

/// A conjunct `field = constant` or `field = $param` of a filter's predicate.
fn eq_key(pred: &Expr) -> Option<(ssp_core::FieldPath, Expr)> {
    match pred {
        Expr::Cmp(crate::CmpOp::Eq, a, b) => match (&**a, &**b) {
            (Expr::Field(f), k @ (Expr::Lit(_) | Expr::Param(_)))
            | (k @ (Expr::Lit(_) | Expr::Param(_)), Expr::Field(f)) => Some((f.clone(), k.clone())),
            _ => None,
        },
        Expr::And(conjuncts) => conjuncts.iter().find_map(eq_key),
        _ => None,
    }
}
