//! Scalar expressions over a row: what filters test, maps compute and keys extract.

use std::borrow::Cow;
use std::fmt;

use smol_str::SmolStr;
use ssp_core::{FieldPath, Number, Object, Value};

use crate::func::{Func, MemberOp};

/// A comparison operator. Comparisons use [`Value`]'s total order, which is
/// SurrealDB's: values of different kinds compare by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// Applies the comparison.
    pub fn test(self, a: &Value, b: &Value) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    /// The operator as SurrealQL writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// An arithmetic operator on numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`: an int divided by an int is an int (truncated); a division that
    /// fails (by zero, or of non-numbers) is NaN, as in SurrealDB.
    Div,
}

impl ArithOp {
    /// The operator as SurrealQL writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }
}

/// A scalar expression, evaluated against one row (a [`Value`], usually an
/// object).
///
/// Evaluation never fails: a missing field is `NONE`, arithmetic on
/// non-numbers or an overflowing integer operation is `NONE`, as in
/// SurrealDB where such an expression yields no value.
///
/// ```
/// use ssp_ops::Expr;
/// use ssp_core::Value;
/// let row: Value = "{ status: 'open', score: 7 }".parse()?;
/// let pred = Expr::field("status").eq(Expr::lit("open")).and(Expr::field("score").gt(Expr::lit(5)));
/// assert!(pred.test(&row));
/// assert_eq!(pred.to_string(), "(status = 'open' AND score > 5)");
/// # Ok::<(), ssp_core::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// The whole row.
    Row,
    /// A field of the row (`NONE` if absent).
    Field(FieldPath),
    /// A constant.
    Lit(Value),
    /// A comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// All of the conditions: as a value, the first falsy operand or else the
    /// last (`true` when empty), as SurrealDB's `AND` gives.
    And(Vec<Expr>),
    /// Any of the conditions: as a value, the first truthy operand or else
    /// the last (`false` when empty), as SurrealDB's `OR` gives.
    Or(Vec<Expr>),
    /// The negation of a condition's truth.
    Not(Box<Expr>),
    /// Arithmetic on numbers.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// An object built from named expressions (a projection).
    Object(Vec<(SmolStr, Expr)>),
    /// The `n`-th parameter of the circuit (`$name` in a query): plans of the
    /// same shape share one [`Plan`](crate::Plan), each circuit binding its
    /// own values. `NONE` where unbound.
    Param(u32),
    /// A membership test (`CONTAINS`, `INSIDE`, ...).
    Member(MemberOp, Box<Expr>, Box<Expr>),
    /// Negation of a number (`-x`); `NONE` for anything else.
    Neg(Box<Expr>),
    /// A call of a built-in function.
    Call(Func, Vec<Expr>),
    /// An array built from expressions.
    Array(Vec<Expr>),
    /// A value changed at paths (a projection of `*` with more fields, `OMIT`,
    /// or nested output fields `a.b`): `base`, with each `set` path set (see
    /// [`Value::put`]), then each `omit` path removed ([`Value::cut`]).
    Patch {
        /// The value changed.
        base: Box<Expr>,
        /// The paths set, in order.
        set: Vec<(FieldPath, Expr)>,
        /// The paths removed.
        omit: Vec<FieldPath>,
    },
}

impl Expr {
    /// A field by path, e.g. `Expr::field("author.name")`; a path that does
    /// not parse is read as one field of that exact name.
    pub fn field(path: &str) -> Expr {
        Expr::Field(path.parse().unwrap_or_else(|_| FieldPath::field(path)))
    }

    /// A constant.
    pub fn lit(v: impl Into<Value>) -> Expr {
        Expr::Lit(v.into())
    }

    fn cmp(self, op: CmpOp, other: Expr) -> Expr {
        Expr::Cmp(op, Box::new(self), Box::new(other))
    }

    /// `self = other`.
    pub fn eq(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Eq, other)
    }

    /// `self != other`.
    pub fn ne(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Ne, other)
    }

    /// `self < other`.
    pub fn lt(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Lt, other)
    }

    /// `self <= other`.
    pub fn le(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Le, other)
    }

    /// `self > other`.
    pub fn gt(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Gt, other)
    }

    /// `self >= other`.
    pub fn ge(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Ge, other)
    }

    /// `self AND other`.
    pub fn and(self, other: Expr) -> Expr {
        match self {
            Expr::And(mut all) => {
                all.push(other);
                Expr::And(all)
            }
            first => Expr::And(vec![first, other]),
        }
    }

    /// `self OR other`.
    pub fn or(self, other: Expr) -> Expr {
        match self {
            Expr::Or(mut any) => {
                any.push(other);
                Expr::Or(any)
            }
            first => Expr::Or(vec![first, other]),
        }
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }

    /// Evaluates the expression against `row`, with no parameters bound.
    pub fn eval(&self, row: &Value) -> Value {
        self.eval_in(row, &[])
    }

    /// Evaluates the expression against `row`, with `params` bound.
    pub fn eval_in(&self, row: &Value, params: &[Value]) -> Value {
        match self {
            Expr::Param(i) => params.get(*i as usize).cloned().unwrap_or(Value::None),
            Expr::Row => row.clone(),
            Expr::Field(path) => row.pick(path),
            Expr::Lit(v) => v.clone(),
            Expr::Cmp(..) | Expr::Not(_) => Value::Bool(self.test_in(row, params)),
            // As in SurrealDB, `AND` and `OR` give an operand, not a bool:
            // `AND` its first falsy operand (else the last), `OR` its first
            // truthy one (else the last).
            Expr::And(all) => connective(all, true, |e| e.eval_in(row, params)),
            Expr::Or(any) => connective(any, false, |e| e.eval_in(row, params)),
            Expr::Arith(op, a, b) => arith(*op, &a.eval_in(row, params), &b.eval_in(row, params)),
            Expr::Object(fields) => {
                Value::Object(fields.iter().map(|(name, e)| (name.clone(), e.eval_in(row, params))).collect::<Object>())
            }
            Expr::Member(..) => Value::Bool(self.test_in(row, params)),
            Expr::Neg(e) => neg(&e.eval_in(row, params)),
            Expr::Call(func, args) => {
                let args: smallvec::SmallVec<[Value; 3]> = args.iter().map(|a| a.eval_in(row, params)).collect();
                func.apply(&args)
            }
            Expr::Array(items) => Value::Array(items.iter().map(|e| e.eval_in(row, params)).collect()),
            Expr::Patch { base, set, omit } => {
                let mut v = base.eval_in(row, params);
                for (path, e) in set {
                    v.put(path, e.eval_in(row, params));
                }
                for path in omit {
                    v.cut(path);
                }
                v
            }
        }
    }

    /// [`Expr::eval_in`], reading a field, the row, a constant or a
    /// parameter in place instead of copying it.
    pub(crate) fn eval_ref<'a>(&'a self, row: &'a Value, params: &'a [Value]) -> Cow<'a, Value> {
        static NONE: Value = Value::None;
        match self {
            Expr::Field(path) => Cow::Borrowed(row.get(path).unwrap_or(&NONE)),
            Expr::Row => Cow::Borrowed(row),
            Expr::Lit(v) => Cow::Borrowed(v),
            Expr::Param(i) => Cow::Borrowed(params.get(*i as usize).unwrap_or(&NONE)),
            _ => Cow::Owned(self.eval_in(row, params)),
        }
    }

    /// Evaluates the expression as a condition: whether its value is truthy
    /// (see [`truthy`]). Comparisons and connectives are evaluated without
    /// building intermediate values.
    pub fn test(&self, row: &Value) -> bool {
        self.test_in(row, &[])
    }

    /// [`Expr::test`] with `params` bound.
    pub fn test_in(&self, row: &Value, params: &[Value]) -> bool {
        match self {
            Expr::Cmp(op, a, b) => match (&**a, &**b) {
                // The common shapes `field <op> literal` and `field <op> $param`
                // compare in place.
                (Expr::Field(path), Expr::Lit(lit)) => op.test(row.get(path).unwrap_or(&Value::None), lit),
                (Expr::Field(path), Expr::Param(i)) => {
                    op.test(row.get(path).unwrap_or(&Value::None), params.get(*i as usize).unwrap_or(&Value::None))
                }
                _ => op.test(&a.eval_in(row, params), &b.eval_in(row, params)),
            },
            Expr::And(all) => all.iter().all(|e| e.test_in(row, params)),
            Expr::Or(any) => any.iter().any(|e| e.test_in(row, params)),
            Expr::Not(e) => !e.test_in(row, params),
            Expr::Member(op, a, b) => op.test(&a.eval_in(row, params), &b.eval_in(row, params)),
            other => truthy(&other.eval_in(row, params)),
        }
    }

    /// Whether the expression reads a parameter.
    pub fn has_params(&self) -> bool {
        match self {
            Expr::Param(_) => true,
            Expr::Row | Expr::Field(_) | Expr::Lit(_) => false,
            Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) | Expr::Member(_, a, b) => a.has_params() || b.has_params(),
            Expr::And(es) | Expr::Or(es) | Expr::Call(_, es) | Expr::Array(es) => es.iter().any(Expr::has_params),
            Expr::Not(e) | Expr::Neg(e) => e.has_params(),
            Expr::Patch { base, set, .. } => base.has_params() || set.iter().any(|(_, e)| e.has_params()),
            Expr::Object(fields) => fields.iter().any(|(_, e)| e.has_params()),
        }
    }

    /// The fields the expression reads (`None` if it reads the whole row).
    pub fn fields(&self) -> Option<Vec<&FieldPath>> {
        let mut out = Vec::new();
        self.collect_fields(&mut out).then_some(out)
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a FieldPath>) -> bool {
        match self {
            Expr::Row => false,
            Expr::Field(p) => {
                out.push(p);
                true
            }
            Expr::Lit(_) | Expr::Param(_) => true,
            Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) | Expr::Member(_, a, b) => {
                a.collect_fields(out) && b.collect_fields(out)
            }
            Expr::And(es) | Expr::Or(es) | Expr::Call(_, es) | Expr::Array(es) => {
                es.iter().all(|e| e.collect_fields(out))
            }
            Expr::Not(e) | Expr::Neg(e) => e.collect_fields(out),
            Expr::Patch { base, set, .. } => base.collect_fields(out) && set.iter().all(|(_, e)| e.collect_fields(out)),
            Expr::Object(fields) => fields.iter().all(|(_, e)| e.collect_fields(out)),
        }
    }

    /// The conjuncts of a condition (`a AND b AND c` gives `[a, b, c]`).
    pub fn conjuncts(&self) -> Vec<&Expr> {
        match self {
            Expr::And(all) => all.iter().flat_map(Expr::conjuncts).collect(),
            other => vec![other],
        }
    }
}

/// SurrealDB's `AND` (`and`) or `OR` over operands: the first operand whose
/// truth ends the evaluation (a falsy one for `AND`, a truthy one for `OR`),
/// else the last; `true` / `false` for none.
pub fn connective<T>(operands: &[T], and: bool, mut eval: impl FnMut(&T) -> Value) -> Value {
    let mut last = Value::Bool(and);
    for e in operands {
        last = eval(e);
        if truthy(&last) != and {
            break;
        }
    }
    last
}

/// SurrealDB's truthiness: `true`, a non-zero number, a non-empty string,
/// array, set, object or bytes, and every datetime, duration, uuid, geometry
/// and record id are true; `false`, `NONE`, `NULL`, zero (and NaN) and empty
/// collections are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::None | Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != Number::Int(0) && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Set(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::Duration(_) | Value::Datetime(_) | Value::Uuid(_) | Value::Geometry(_) | Value::RecordId(_) => true,
    }
}

/// Arithmetic with SurrealDB's kind rules: int op int is an int (`NONE` on
/// overflow), a decimal operand makes a decimal, otherwise a float. `+` also
/// joins two strings or two arrays. A division that fails is NaN (SurrealDB's
/// `/` never fails); other operations that fail are `NONE`.
pub fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    let failed = || if op == ArithOp::Div { Value::from(f64::NAN) } else { Value::None };
    let (Value::Number(x), Value::Number(y)) = (a, b) else {
        return match (op, a, b) {
            (ArithOp::Add, Value::String(x), Value::String(y)) => Value::String(format!("{x}{y}").into()),
            (ArithOp::Add, Value::Array(x), Value::Array(y)) => {
                Value::Array(x.iter().chain(y.iter()).cloned().collect())
            }
            _ => failed(),
        };
    };
    match (*x, *y) {
        (Number::Int(x), Number::Int(y)) => {
            let r = match op {
                ArithOp::Add => x.checked_add(y),
                ArithOp::Sub => x.checked_sub(y),
                ArithOp::Mul => x.checked_mul(y),
                ArithOp::Div => x.checked_div(y),
            };
            r.map_or_else(failed, Value::from)
        }
        (Number::Decimal(_), _) | (_, Number::Decimal(_)) => {
            let (Some(x), Some(y)) = (to_decimal(*x), to_decimal(*y)) else {
                return failed();
            };
            let r = match op {
                ArithOp::Add => x.checked_add(y),
                ArithOp::Sub => x.checked_sub(y),
                ArithOp::Mul => x.checked_mul(y),
                ArithOp::Div => x.checked_div(y),
            };
            r.map_or_else(failed, Value::from)
        }
        (x, y) => {
            let (x, y) = (x.to_f64(), y.to_f64());
            Value::from(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
            })
        }
    }
}

/// `-x` for a number (`NONE` for anything else, or on int overflow).
pub fn neg(v: &Value) -> Value {
    match v {
        Value::Number(Number::Int(i)) => i.checked_neg().map_or(Value::None, Value::from),
        Value::Number(Number::Float(f)) => Value::from(-f),
        Value::Number(Number::Decimal(d)) => Value::from(-d),
        _ => Value::None,
    }
}

fn to_decimal(n: Number) -> Option<ssp_core::Decimal> {
    match n {
        Number::Int(i) => Some(i.into()),
        Number::Decimal(d) => Some(d),
        Number::Float(f) => ssp_core::Decimal::try_from(f).ok(),
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, es: &[Expr], sep: &str, empty: &str| {
            if es.is_empty() {
                return f.write_str(empty);
            }
            f.write_str("(")?;
            for (i, e) in es.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{e}")?;
            }
            f.write_str(")")
        };
        match self {
            Expr::Row => f.write_str("$this"),
            Expr::Field(p) => write!(f, "{p}"),
            Expr::Lit(v) => write!(f, "{v}"),
            Expr::Param(i) => write!(f, "${i}"),
            Expr::Cmp(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            Expr::And(es) => join(f, es, " AND ", "true"),
            Expr::Or(es) => join(f, es, " OR ", "false"),
            Expr::Not(e) => write!(f, "!({e})"),
            Expr::Arith(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Expr::Member(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Patch { base, set, omit } => {
                if !matches!(&**base, Expr::Lit(Value::Object(o)) if o.is_empty()) {
                    write!(f, "{base} + ")?;
                }
                f.write_str("{ ")?;
                for (i, (path, e)) in set.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{path}: {e}")?;
                }
                f.write_str(" }")?;
                for path in omit {
                    write!(f, " OMIT {path}")?;
                }
                Ok(())
            }
            Expr::Array(items) => {
                f.write_str("[")?;
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("]")
            }
            Expr::Object(fields) => {
                f.write_str("{ ")?;
                for (i, (name, e)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {e}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

/// Strategies for the unit tests of this crate.
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::CmpOp;

    /// Every comparison operator.
    pub(crate) fn cmp_op() -> impl Strategy<Value = CmpOp> {
        prop_oneof![
            Just(CmpOp::Eq),
            Just(CmpOp::Ne),
            Just(CmpOp::Lt),
            Just(CmpOp::Le),
            Just(CmpOp::Gt),
            Just(CmpOp::Ge)
        ]
    }
}
