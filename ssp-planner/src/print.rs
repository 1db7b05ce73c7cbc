//! SurrealQL text of the syntax tree: canonical (keywords in upper case,
//! `LIMIT` before `START`, no `ASC`), with the fewest parentheses that keep the
//! tree, so that `parse(&select.to_string())` gives back an equal tree.

use std::fmt::{self, Display, Formatter, Write};

use ssp_core::{RecordId, Value, sql};

use crate::ast::{
    BinaryOp, Direction, Expr, ExprKind, Field, GraphDir, Group, Idiom, OrderTerm, Part, Projection, Select, Target,
    TargetKind, UnaryOp,
};
use crate::parse::{PREFIX, binding_power, expr_power, is_comparison, is_reserved};

/// A name after a `.` or an arrow: bare when plain, else in backticks.
fn write_name(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    sql::write_ident(f, name)
}

/// A name where an expression starts (a path's first field, a table): also
/// in backticks when it is a keyword there, such as `value` or `none`.
fn write_first_name(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    if sql::is_plain_ident(name) && !is_reserved(name) { f.write_str(name) } else { sql::write_backticked(f, name) }
}

/// A record id where an expression starts: `SELECT value:1` or `LIMIT by:1`
/// would read the table as a keyword, so a reserved table goes in backticks.
fn write_record_id(f: &mut Formatter<'_>, id: &RecordId) -> fmt::Result {
    write_first_name(f, id.table())?;
    write!(f, ":{}", id.key())
}

fn write_param(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    f.write_char('$')?;
    sql::write_ident(f, name)
}

fn write_list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT {}", self.projection)?;
        if !self.omit.is_empty() {
            f.write_str(" OMIT ")?;
            write_list(f, &self.omit)?;
        }
        f.write_str(" FROM ")?;
        write_list(f, &self.from)?;
        if let Some(cond) = &self.cond {
            write!(f, " WHERE {cond}")?;
        }
        if let Some(group) = &self.group {
            write!(f, " {group}")?;
        }
        if !self.order.is_empty() {
            f.write_str(" ORDER BY ")?;
            write_list(f, &self.order)?;
        }
        if let Some(limit) = &self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        if let Some(start) = &self.start {
            write!(f, " START {start}")?;
        }
        if !self.fetch.is_empty() {
            f.write_str(" FETCH ")?;
            write_list(f, &self.fetch)?;
        }
        Ok(())
    }
}

impl Display for Projection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Projection::Value(e) => write!(f, "VALUE {e}"),
            Projection::Fields(fields) => write_list(f, fields),
        }
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Field::All(_) => f.write_str("*"),
            Field::Expr { expr, alias: None, .. } => expr.fmt(f),
            Field::Expr { expr, alias: Some(alias), .. } => write!(f, "{expr} AS {alias}"),
        }
    }
}

impl Display for Target {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl Display for TargetKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TargetKind::Table(name) => write_first_name(f, name),
            TargetKind::Record(id) => write_record_id(f, id),
            TargetKind::Param(name) => write_param(f, name),
        }
    }
}

impl Display for Group {
    /// `GROUP ALL` or `GROUP BY a, b`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Group::All(_) => f.write_str("GROUP ALL"),
            Group::By(by) => {
                f.write_str("GROUP BY ")?;
                write_list(f, by)
            }
        }
    }
}

impl Display for OrderTerm {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.field.fmt(f)?;
        match self.direction {
            Direction::Asc => Ok(()),
            Direction::Desc => f.write_str(" DESC"),
        }
    }
}

impl Display for UnaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnaryOp::Not => "!",
            UnaryOp::Neg => "-",
        })
    }
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Display for GraphDir {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GraphDir::Out => "->",
            GraphDir::In => "<-",
            GraphDir::Both => "<->",
        })
    }
}

/// `e`, in parentheses if `parens`.
struct Operand<'a>(&'a Expr, bool);

impl Display for Operand<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.1 { write!(f, "({})", self.0) } else { self.0.fmt(f) }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl Display for ExprKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ExprKind::Literal(Value::RecordId(id)) => write_record_id(f, id),
            ExprKind::Literal(v) => v.fmt(f),
            ExprKind::Idiom(idiom) => idiom.fmt(f),
            ExprKind::Unary(op, operand) => {
                let operand = Operand(operand, expr_power(operand) < PREFIX);
                if *op == UnaryOp::Neg {
                    // `-5` would read as one literal, `--x` as a comment and
                    // `-->x` as a comment too: keep a space there.
                    let text = operand.to_string();
                    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
                        || text.starts_with("NaN")
                        || text.starts_with("Infinity")
                    {
                        return write!(f, "- {text}");
                    }
                    return write!(f, "-{text}");
                }
                write!(f, "{op}{operand}")
            }
            ExprKind::Binary(op, lhs, rhs) => {
                let power = binding_power(*op);
                let lhs_power = expr_power(lhs);
                let left = Operand(lhs, lhs_power < power || (lhs_power == power && is_comparison(power)));
                let right = Operand(rhs, expr_power(rhs) <= power);
                write!(f, "{left} {op} {right}")
            }
            ExprKind::Call { name, args } => {
                // `not(x)` would read as `!x`: a reserved first name goes in backticks.
                for (i, segment) in name.split("::").enumerate() {
                    if i > 0 {
                        f.write_str("::")?;
                        write_name(f, segment)?;
                    } else {
                        write_first_name(f, segment)?;
                    }
                }
                f.write_char('(')?;
                write_list(f, args)?;
                f.write_char(')')
            }
            ExprKind::Subquery(select) => write!(f, "({select})"),
            ExprKind::Array(items) => {
                f.write_char('[')?;
                write_list(f, items)?;
                f.write_char(']')
            }
            ExprKind::Object(entries) => {
                if entries.is_empty() {
                    return f.write_str("{}");
                }
                f.write_str("{ ")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if sql::is_plain_ident(key) {
                        f.write_str(key)?;
                    } else {
                        Value::String(key.clone()).fmt(f)?;
                    }
                    write!(f, ": {value}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

impl Display for Idiom {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_parts(f, &self.parts, true)
    }
}

/// Writes a path; `bare_first`: a first field goes without its `.` (not in a
/// recursion's path, which starts with a `.`, `[` or an arrow).
fn write_parts(f: &mut Formatter<'_>, parts: &[Part], bare_first: bool) -> fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Field(name, _) if i == 0 && bare_first => write_first_name(f, name)?,
            part => part.fmt(f)?,
        }
    }
    Ok(())
}

impl Display for Part {
    /// The part as it continues a path: `.name`, `[0]`, `[*]`, `->edge`, ...
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Part::Field(name, _) => {
                f.write_char('.')?;
                write_name(f, name)
            }
            Part::Param(name, _) => write_param(f, name),
            Part::Index(i, _) => write!(f, "[{i}]"),
            Part::All(_) => f.write_str("[*]"),
            Part::Graph { dir, tables, .. } => {
                dir.fmt(f)?;
                match tables.as_slice() {
                    [] => f.write_char('?'),
                    // `->(select, a)` would start a `SELECT`: keywords go in backticks.
                    [table] => write_first_name(f, table),
                    tables => {
                        f.write_char('(')?;
                        for (i, table) in tables.iter().enumerate() {
                            if i > 0 {
                                f.write_str(", ")?;
                            }
                            write_first_name(f, table)?;
                        }
                        f.write_char(')')
                    }
                }
            }
            Part::Recurse { min, max, collect, path, .. } => {
                write!(f, ".{{{min}..")?;
                if let Some(max) = max {
                    write!(f, "{max}")?;
                }
                if *collect {
                    f.write_str("+collect")?;
                }
                f.write_str("}(")?;
                write_parts(f, &path.parts, false)?;
                f.write_char(')')
            }
        }
    }
}
