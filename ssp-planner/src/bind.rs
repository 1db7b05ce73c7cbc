//! Binding: a parsed (or built) `SELECT` becomes a logical plan, with every
//! name resolved and checked against the schema, in SurrealDB's clause
//! order: `FROM`, `WHERE`, `GROUP`, `ORDER BY`, `START`/`LIMIT`, the
//! projection, `FETCH`.

use smol_str::SmolStr;
use ssp_core::{FieldPath, PathPart, Value};
use ssp_ops::{ArithOp, CmpOp, Direction, Func};

use crate::ast::{self, BinaryOp, ExprKind, Field, Idiom, Part, Projection, Span, TargetKind, UnaryOp};
use crate::error::{PlanError, PlanErrorKind};
use crate::logical::{Agg, Proj, Rel, Scalar};
use crate::schema::{Kind, Schema, TableDef};

/// Functions whose result depends on more than their arguments: the clock,
/// randomness, the session, the network, or a random salt. A name is one of
/// them if it is one of these or starts with one followed by `::`.
const NON_DETERMINISTIC: [&str; 11] = [
    "time::now",
    "rand",
    "session",
    "sleep",
    "http",
    "sequence::nextval",
    "crypto::argon2::generate",
    "crypto::bcrypt::generate",
    "crypto::pbkdf2::generate",
    "crypto::scrypt::generate",
    "api::invoke",
];

fn is_non_deterministic(name: &str) -> bool {
    NON_DETERMINISTIC.iter().any(|p| name == *p || name.strip_prefix(p).is_some_and(|rest| rest.starts_with("::")))
}

/// Binds a query to a logical plan, checking names against `schema`.
pub fn bind(select: &ast::Select, schema: &Schema) -> Result<Rel, PlanError> {
    Binder { schema }.select(select, false)
}

struct Binder<'a> {
    schema: &'a Schema,
}

/// What names an expression may use where it is bound.
#[derive(Clone, Copy)]
struct Scope<'a> {
    /// The table of the rows (the only one, if `FROM` names one table).
    table: Option<&'a str>,
    /// Inside a subquery: `$parent` is allowed.
    nested: bool,
}

impl<'a> Binder<'a> {
    fn select(&self, select: &ast::Select, nested: bool) -> Result<Rel, PlanError> {
        // FROM
        let mut inputs = Vec::new();
        let mut tables: Vec<SmolStr> = Vec::new();
        for target in &select.from {
            match &target.kind {
                TargetKind::Table(t) => {
                    self.check_table(t, target.span)?;
                    tables.push(t.clone());
                    inputs.push(Rel::Scan { table: t.clone() });
                }
                TargetKind::Record(id) => {
                    self.check_table(id.table(), target.span)?;
                    tables.push(id.table_name().clone());
                    inputs.push(Rel::Filter {
                        input: Box::new(Rel::Scan { table: id.table_name().clone() }),
                        pred: Scalar::Cmp(
                            CmpOp::Eq,
                            Box::new(Scalar::field("id")),
                            Box::new(Scalar::Lit(Value::from(id.clone()))),
                        ),
                    });
                }
                TargetKind::Param(p) => {
                    return Err(PlanError::unsupported(
                        format!("FROM ${p}"),
                        "name the table or record in the query text",
                        target.span,
                    ));
                }
            }
        }
        let mut rel = match inputs.len() {
            0 => return Err(PlanError::unsupported("a SELECT without FROM", "", select.span)),
            1 => inputs.remove(0),
            _ => Rel::Union(inputs),
        };
        tables.dedup();
        let scope = Scope { table: if tables.len() == 1 { tables.first().map(SmolStr::as_str) } else { None }, nested };

        // WHERE
        if let Some(cond) = &select.cond {
            let pred = self.expr(cond, scope)?;
            rel = Rel::Filter { input: Box::new(rel), pred };
        }

        // GROUP BY: the aggregate makes the output rows, and ORDER BY reads them.
        if let Some(group) = &select.group {
            return self.grouped(select, group, rel, scope);
        }

        // ORDER BY, START, LIMIT, before the projection (ORDER BY may name an alias).
        let aliases = self.aliases(&select.projection, scope)?;
        let mut order = Vec::new();
        for term in &select.order {
            let path = self.path_of(&term.field)?;
            let key = match aliases.iter().find(|(name, _)| *name == path) {
                Some((_, e)) => e.clone(),
                None => self.idiom(&term.field, scope)?,
            };
            order.push((key, term.direction));
        }
        rel = self.top_k(select, rel, order, vec![(Scalar::field("id"), Direction::Asc)], scope)?;

        // The projection.
        let proj = self.projection(select, scope)?;
        if !matches!(&proj, Proj::Fields { all: true, omit, fields } if omit.is_empty() && fields.is_empty()) {
            rel = Rel::Project { input: Box::new(rel), proj };
        }
        for path in &select.fetch {
            rel = self.fetch(rel, path, scope)?;
        }
        Ok(rel)
    }

    fn check_table(&self, table: &str, span: Span) -> Result<(), PlanError> {
        if self.schema.is_closed() && self.schema.get(table).is_none() {
            return Err(PlanError::new(PlanErrorKind::UnknownTable { table: table.into() }, span));
        }
        Ok(())
    }

    fn table_def(&self, scope: Scope<'_>) -> Option<&'a TableDef> {
        scope.table.and_then(|t| self.schema.get(t))
    }

    /// `ORDER BY … START … LIMIT …` (with `tie` keys last, so that the order
    /// is total), if the query has any of them.
    fn top_k(
        &self,
        select: &ast::Select,
        rel: Rel,
        mut order: Vec<(Scalar, Direction)>,
        tie: Vec<(Scalar, Direction)>,
        scope: Scope<'_>,
    ) -> Result<Rel, PlanError> {
        if order.is_empty() && select.limit.is_none() && select.start.is_none() {
            return Ok(rel);
        }
        for t in tie {
            if !order.iter().any(|(e, _)| *e == t.0) {
                order.push(t);
            }
        }
        let bound = |e: &Option<ast::Expr>, clause: &'static str| -> Result<Option<Scalar>, PlanError> {
            let Some(e) = e else { return Ok(None) };
            let s = self.expr(e, Scope { table: scope.table, nested: scope.nested })?;
            match &s {
                Scalar::Lit(Value::Number(n)) if n.to_i64().is_some_and(|i| i >= 0) => Ok(Some(s)),
                Scalar::Param { .. } => Ok(Some(s)),
                other => Err(PlanError::new(PlanErrorKind::BadBound { clause, found: other.to_string() }, e.span)),
            }
        };
        let limit = bound(&select.limit, "LIMIT")?;
        let start = bound(&select.start, "START")?;
        Ok(Rel::TopK { input: Box::new(rel), order, limit, start })
    }

    /// The fields a projection names, by output path (for `ORDER BY alias`).
    fn aliases(&self, proj: &Projection, scope: Scope<'_>) -> Result<Vec<(FieldPath, Scalar)>, PlanError> {
        let mut out = Vec::new();
        if let Projection::Fields(fields) = proj {
            for field in fields {
                if let Field::Expr { expr, alias: Some(alias), .. } = field {
                    out.push((self.alias_of(alias)?, self.expr(expr, scope)?));
                }
            }
        }
        Ok(out)
    }

    fn projection(&self, select: &ast::Select, scope: Scope<'_>) -> Result<Proj, PlanError> {
        let omit = select.omit.iter().map(|i| self.path_of(i)).collect::<Result<Vec<_>, _>>()?;
        match &select.projection {
            Projection::Value(e) => {
                if let Some(first) = select.omit.first() {
                    return Err(PlanError::unsupported("OMIT with SELECT VALUE", "", first.span));
                }
                Ok(Proj::Value(self.expr(e, scope)?))
            }
            Projection::Fields(fields) => {
                let mut all = false;
                let mut out = Vec::new();
                for field in fields {
                    match field {
                        Field::All(_) => all = true,
                        Field::Expr { expr, alias, span } => {
                            let path = match alias {
                                Some(a) => self.alias_of(a)?,
                                None => self.implicit_name(expr, *span)?,
                            };
                            out.push((path, self.expr(expr, scope)?));
                        }
                    }
                }
                if !omit.is_empty() && !all {
                    return Err(PlanError::unsupported("OMIT without `*`", "", select.span));
                }
                Ok(Proj::Fields { all, omit, fields: out })
            }
        }
    }

    /// The output name SurrealDB gives a field without `AS`: its path.
    fn implicit_name(&self, expr: &ast::Expr, span: Span) -> Result<FieldPath, PlanError> {
        match &expr.kind {
            ExprKind::Idiom(i) if i.as_fields().is_some() => self.path_of(i),
            ExprKind::Call { name, .. } => Ok(FieldPath::field(name.clone())),
            _ => Err(PlanError::unsupported(
                "a computed field without a name",
                "name it with `AS`, e.g. `score * 2 AS double`",
                span,
            )),
        }
    }

    /// The output path an alias names; names starting with `__` are the
    /// planner's own.
    fn alias_of(&self, idiom: &ast::Idiom) -> Result<FieldPath, PlanError> {
        let path = self.path_of(idiom)?;
        if let Some(PathPart::Field(first)) = path.parts().first()
            && first.starts_with("__")
        {
            return Err(PlanError::unsupported(
                format!("the name `{first}`"),
                "names starting with `__` are reserved for the planner",
                idiom.span,
            ));
        }
        Ok(path)
    }

    /// A path of plain fields (aliases, GROUP BY, ORDER BY, OMIT).
    fn path_of(&self, idiom: &ast::Idiom) -> Result<FieldPath, PlanError> {
        let mut parts = Vec::new();
        for part in &idiom.parts {
            match part {
                Part::Field(name, _) => parts.push(PathPart::Field(name.clone())),
                Part::Index(i, span) => match usize::try_from(*i) {
                    Ok(i) => parts.push(PathPart::Index(i)),
                    Err(_) => return Err(PlanError::unsupported("a negative index", "", *span)),
                },
                other => return Err(PlanError::unsupported("this path here", "use plain field names", other.span())),
            }
        }
        if parts.is_empty() {
            return Err(PlanError::unsupported("an empty path", "", idiom.span));
        }
        Ok(FieldPath::from_parts(parts))
    }

    fn grouped(&self, select: &ast::Select, group: &ast::Group, rel: Rel, scope: Scope<'_>) -> Result<Rel, PlanError> {
        let keys = match group {
            ast::Group::All(_) => Vec::new(),
            ast::Group::By(idioms) => {
                idioms.iter().map(|i| Ok((self.path_of(i)?, self.idiom(i, scope)?))).collect::<Result<Vec<_>, _>>()?
            }
        };
        if let Some(first) = select.omit.first() {
            return Err(PlanError::unsupported("OMIT with GROUP", "select only the fields to keep", first.span));
        }
        // `SELECT VALUE x … GROUP`: the rows of the field `x` would be, as values.
        let value_field;
        let (fields, value) = match &select.projection {
            Projection::Fields(fields) => (fields.as_slice(), false),
            Projection::Value(e) => {
                if let Some(term) = select.order.first() {
                    return Err(PlanError::unsupported("ORDER BY with SELECT VALUE … GROUP", "", term.span));
                }
                value_field =
                    [Field::Expr { expr: e.clone(), alias: Some(Idiom::fields([VALUE_FIELD])), span: e.span }];
                (value_field.as_slice(), true)
            }
        };
        let mut group_out = Vec::new();
        let mut aggs = Vec::new();
        for field in fields {
            let Field::Expr { expr, alias, span } = field else {
                return Err(PlanError::unsupported("`*` with GROUP", "select the group fields", field_span(field)));
            };
            let name = match alias {
                Some(a) if value => self.path_of(a)?,
                Some(a) => self.alias_of(a)?,
                None => self.implicit_name(expr, *span)?,
            };
            if let Some(agg) = self.aggregate(expr, scope)? {
                aggs.push((name, agg));
                continue;
            }
            let value = self.expr(expr, scope)?;
            if !keys.iter().any(|(_, k)| *k == value) {
                return Err(PlanError::unsupported(
                    "a field that is neither grouped nor aggregated",
                    "add it to GROUP BY or aggregate it",
                    expr.span,
                ));
            }
            group_out.push((name, value));
        }
        // Group keys not selected still split the groups.
        let mut group = group_out;
        for (path, key) in keys {
            if !group.iter().any(|(_, v)| *v == key) {
                group.push((hidden(&path), key));
            }
        }
        let hidden_keys: Vec<FieldPath> = group.iter().filter(|(p, _)| is_hidden(p)).map(|(p, _)| p.clone()).collect();
        let mut rel = Rel::Aggregate { input: Box::new(rel), group: group.clone(), aggs: aggs.clone() };
        let out_scope = Scope { table: None, nested: scope.nested };
        let mut order = Vec::new();
        for term in &select.order {
            let path = self.path_of(&term.field)?;
            if !group.iter().map(|(p, _)| p).chain(aggs.iter().map(|(p, _)| p)).any(|p| *p == path) {
                return Err(PlanError::unsupported(
                    "ORDER BY a field that the grouped query does not output",
                    "order by a group field or an aggregate's name",
                    term.span,
                ));
            }
            order.push((Scalar::Field(path), term.direction));
        }
        let tie = group.iter().map(|(p, _)| (Scalar::Field(p.clone()), Direction::Asc)).collect();
        rel = self.top_k(select, rel, order, tie, out_scope)?;
        if value {
            rel = Rel::Project { input: Box::new(rel), proj: Proj::Value(Scalar::field(VALUE_FIELD)) };
        } else if !hidden_keys.is_empty() {
            rel = Rel::Project {
                input: Box::new(rel),
                proj: Proj::Fields { all: true, omit: hidden_keys, fields: vec![] },
            };
        }
        if let Some(first) = select.fetch.first() {
            return Err(PlanError::unsupported("FETCH with GROUP", "", first.span));
        }
        Ok(rel)
    }

    /// The aggregate a field is, if it is one.
    fn aggregate(&self, expr: &ast::Expr, scope: Scope<'_>) -> Result<Option<Agg>, PlanError> {
        let ExprKind::Call { name, args } = &expr.kind else { return Ok(None) };
        let lower = name.to_ascii_lowercase();
        let make: fn(Scalar) -> Agg = match lower.as_str() {
            "count" => {
                if !args.is_empty() {
                    return Err(PlanError::unsupported(
                        "count(expr)",
                        "count rows with count(), or filter them with WHERE",
                        expr.span,
                    ));
                }
                return Ok(Some(Agg::Count));
            }
            "math::sum" => Agg::Sum,
            "math::min" => Agg::Min,
            "math::max" => Agg::Max,
            "math::mean" => Agg::Mean,
            _ => return Ok(None),
        };
        if args.len() != 1 {
            return Err(PlanError::new(
                PlanErrorKind::Arity { name: name.clone(), expected: 1, found: args.len() },
                expr.span,
            ));
        }
        Ok(Some(make(self.expr(&args[0], scope)?)))
    }

    /// A path in an expression.
    fn idiom(&self, idiom: &ast::Idiom, scope: Scope<'_>) -> Result<Scalar, PlanError> {
        let mut parts = idiom.parts.iter();
        let Some(first) = parts.next() else {
            return Err(PlanError::unsupported("an empty path", "", idiom.span));
        };
        let rest: Vec<&Part> = parts.collect();
        let rest_path = |from: &[&Part]| -> Result<Option<FieldPath>, PlanError> {
            if from.is_empty() {
                return Ok(None);
            }
            let sub = ast::Idiom { parts: from.iter().map(|p| (*p).clone()).collect(), span: idiom.span };
            self.path_of(&sub).map(Some)
        };
        match first {
            Part::Param(name, span) => {
                let path = rest_path(&rest)?;
                match name.as_str() {
                    "parent" => match (scope.nested, path) {
                        (true, Some(p)) => Ok(Scalar::Parent(p)),
                        (true, None) => Err(PlanError::unsupported("$parent as a whole", "read a field of it", *span)),
                        (false, _) => Err(PlanError::unsupported("$parent outside a subquery", "", *span)),
                    },
                    "this" => match path {
                        None => Ok(Scalar::Row),
                        Some(p) => Ok(Scalar::Field(p)),
                    },
                    _ => Ok(Scalar::Param { name: name.clone(), path }),
                }
            }
            Part::Field(name, span) if matches!(rest.as_slice(), [Part::Recurse { .. }]) => {
                self.check_field(name, scope, *span)?;
                let [Part::Recurse { min, max, collect, path, span }] = rest.as_slice() else {
                    return Err(PlanError::unsupported("this path", "", idiom.span));
                };
                self.recursion(FieldPath::field(name.clone()), *min, *max, *collect, path, *span)
            }
            Part::Field(name, span) => {
                self.check_field(name, scope, *span)?;
                let link = self.table_def(scope).and_then(|d| d.fields.get(name)).and_then(Kind::link_table);
                match (link, rest_path(&rest)?) {
                    (Some(table), Some(path)) => {
                        // A link read through another declared link would need
                        // a second join: refused rather than read as `NONE`.
                        if let Some(PathPart::Field(next)) = path.parts().first()
                            && path.parts().len() > 1
                            && self.schema.field(table, next).and_then(Kind::link_table).is_some()
                        {
                            return Err(PlanError::unsupported(
                                "a path through two record links",
                                "follow one link per path, or select the second with a subquery",
                                idiom.span,
                            ));
                        }
                        Ok(Scalar::Link { field: FieldPath::field(name.clone()), table: table.clone(), path })
                    }
                    (_, rest) => {
                        let mut parts = vec![PathPart::Field(name.clone())];
                        parts.extend(rest.iter().flat_map(|p| p.parts().iter().cloned()));
                        Ok(Scalar::Field(FieldPath::from_parts(parts)))
                    }
                }
            }
            Part::Graph { .. } => self.graph(idiom),
            other => Err(PlanError::unsupported(
                match other {
                    Part::Recurse { .. } => "a recursive path",
                    _ => "this path",
                },
                "not yet maintained incrementally; join with a subquery on the edge table instead",
                other.span(),
            )),
        }
    }

    /// A graph step of one edge table to one kind of node, `->edge->table`
    /// (or `<-edge<-table`, or `->edge` for the edges), as SurrealDB walks it:
    /// the subquery `(SELECT VALUE out FROM edge WHERE in = $parent.id AND
    /// record::tb(out) = 'table')`, in the order of the edges' ids.
    fn graph(&self, idiom: &ast::Idiom) -> Result<Scalar, PlanError> {
        let step = |p: &Part| match p {
            Part::Graph { dir, tables, span } => Some((*dir, tables.clone(), *span)),
            _ => None,
        };
        let mut parts = idiom.parts.iter();
        let Some((dir, edges, span)) = parts.next().and_then(step) else {
            return Err(PlanError::unsupported("this path", "", idiom.span));
        };
        let target = match parts.next() {
            None => None,
            Some(p) => Some(step(p).ok_or_else(|| {
                PlanError::unsupported("a path after a graph step", "select the linked records' ids", p.span())
            })?),
        };
        if let Some(p) = parts.next() {
            return Err(PlanError::unsupported(
                "a graph path of more than one edge",
                "walk one edge table per path (`->edge->table`)",
                p.span(),
            ));
        }
        let (from, to) = match dir {
            ast::GraphDir::Out => ("in", "out"),
            ast::GraphDir::In => ("out", "in"),
            ast::GraphDir::Both => {
                return Err(PlanError::unsupported("`<->`", "walk `->` and `<-` separately", span));
            }
        };
        let [edge] = edges.as_slice() else {
            return Err(PlanError::unsupported("a graph step into several or any tables", "name one edge table", span));
        };
        self.check_table(edge, span)?;
        let mut conds = vec![Scalar::Cmp(
            CmpOp::Eq,
            Box::new(Scalar::field(from)),
            Box::new(Scalar::Parent(FieldPath::field("id"))),
        )];
        let value = match target {
            None => Scalar::field("id"),
            Some((d, tables, span)) => {
                if d != dir {
                    return Err(PlanError::unsupported("a graph step that turns back", "", span));
                }
                let [table] = tables.as_slice() else {
                    return Err(PlanError::unsupported(
                        "a graph step into several or any tables",
                        "name one table",
                        span,
                    ));
                };
                conds.push(Scalar::Cmp(
                    CmpOp::Eq,
                    Box::new(Scalar::Call(Func::RecordTb, vec![Scalar::field(to)])),
                    Box::new(Scalar::Lit(Value::from(table.as_str()))),
                ));
                Scalar::field(to)
            }
        };
        let edges = Rel::Filter { input: Box::new(Rel::Scan { table: edge.clone() }), pred: Scalar::And(conds) };
        let ordered = Rel::TopK {
            input: Box::new(edges),
            order: vec![(Scalar::field("id"), Direction::Asc)],
            limit: None,
            start: None,
        };
        Ok(Scalar::Subquery(Box::new(Rel::Project { input: Box::new(ordered), proj: Proj::Value(value) })))
    }

    /// A bounded recursion of one graph step from the record at `start`,
    /// `start.{1..max+collect}(->edge->table)`: the distinct records it
    /// reaches, maintained by the fixpoint operator.
    fn recursion(
        &self,
        start: FieldPath,
        min: u32,
        max: Option<u32>,
        collect: bool,
        path: &ast::Idiom,
        span: Span,
    ) -> Result<Scalar, PlanError> {
        if !collect {
            return Err(PlanError::unsupported(
                "a recursion without `+collect`",
                "collect the records reached with `{1..n+collect}`",
                span,
            ));
        }
        if min != 1 {
            return Err(PlanError::unsupported(
                "a recursion from a depth other than 1",
                "SurrealDB's `+collect` from a later depth depends on its walk order; start at 1",
                span,
            ));
        }
        let max = max.unwrap_or(ssp_ops::MAX_REACH_DEPTH);
        if max == 0 || max > ssp_ops::MAX_REACH_DEPTH {
            return Err(PlanError::unsupported(format!("a recursion depth of {max}"), "use 1 to 256", span));
        }
        let step = |p: &Part| match p {
            Part::Graph { dir, tables, .. } => match tables.as_slice() {
                [t] => Some((*dir, t.clone())),
                _ => None,
            },
            _ => None,
        };
        let (Some((dir, edge)), Some((dir2, table)), 2) =
            (path.parts.first().and_then(step), path.parts.get(1).and_then(step), path.parts.len())
        else {
            return Err(PlanError::unsupported(
                "this recursive path",
                "repeat one graph step, `(->edge->table)`",
                path.span,
            ));
        };
        let (from, to) = match (dir, dir2) {
            (ast::GraphDir::Out, ast::GraphDir::Out) => ("in", "out"),
            (ast::GraphDir::In, ast::GraphDir::In) => ("out", "in"),
            _ => return Err(PlanError::unsupported("this recursive path", "step one way, `->` or `<-`", path.span)),
        };
        self.check_table(&edge, path.span)?;
        Ok(Scalar::Reach { start, edge, from: from.into(), to: to.into(), table, max })
    }

    /// `FETCH field`: the output's link `field` replaced by the record it
    /// points to (`NONE` if there is none), where the schema declares the
    /// field `record<table>` and the output holds it as selected.
    ///
    /// A field the query selects by name is in every output row (`NONE` where
    /// the record has none); a field that only `*` brings is replaced where
    /// the record holds it and stays absent where it does not, as SurrealDB
    /// does. The rows holding it and the rows without it are then two
    /// branches of a union.
    fn fetch(&self, rel: Rel, path: &ast::Idiom, scope: Scope<'_>) -> Result<Rel, PlanError> {
        let field = self.path_of(path)?;
        let [PathPart::Field(name)] = field.parts() else {
            return Err(PlanError::unsupported("FETCH of a nested path", "fetch a top-level field", path.span));
        };
        let Some(table) = self.table_def(scope).and_then(|d| d.fields.get(name)).and_then(Kind::link_table) else {
            return Err(PlanError::unsupported(
                "FETCH of a field not declared as a record link",
                "declare it `record<table>` in the schema",
                path.span,
            ));
        };
        let link = Scalar::Link { field: field.clone(), table: table.clone(), path: FieldPath::from_parts([]) };
        match rel {
            Rel::Project { input, proj: Proj::Fields { all, omit, mut fields } } => {
                let selected = fields.iter().position(|(p, e)| *p == field && *e == Scalar::Field(field.clone()));
                match selected {
                    Some(i) => fields[i].1 = link,
                    None if all && !omit.contains(&field) => {
                        let without = Rel::Project {
                            input: Box::new(Rel::Filter { input: input.clone(), pred: absent(&field) }),
                            proj: Proj::Fields { all, omit: omit.clone(), fields: fields.clone() },
                        };
                        fields.push((field.clone(), link));
                        let with = Rel::Project {
                            input: Box::new(Rel::Filter { input, pred: Scalar::Not(Box::new(absent(&field))) }),
                            proj: Proj::Fields { all, omit, fields },
                        };
                        return Ok(Rel::Union(vec![with, without]));
                    }
                    None => {
                        return Err(PlanError::unsupported(
                            "FETCH of a field the query does not select",
                            "",
                            path.span,
                        ));
                    }
                }
                Ok(Rel::Project { input, proj: Proj::Fields { all, omit, fields } })
            }
            Rel::Project { .. } => Err(PlanError::unsupported("FETCH with SELECT VALUE", "", path.span)),
            input => {
                let with = Rel::Project {
                    input: Box::new(Rel::Filter {
                        input: Box::new(input.clone()),
                        pred: Scalar::Not(Box::new(absent(&field))),
                    }),
                    proj: Proj::Fields { all: true, omit: vec![], fields: vec![(field.clone(), link)] },
                };
                let without = Rel::Filter { input: Box::new(input), pred: absent(&field) };
                Ok(Rel::Union(vec![with, without]))
            }
        }
    }

    fn check_field(&self, name: &str, scope: Scope<'_>, span: Span) -> Result<(), PlanError> {
        if let (Some(table), Some(def)) = (scope.table, self.table_def(scope))
            && def.schemafull
            && name != "id"
            && !def.fields.contains_key(name)
        {
            return Err(PlanError::new(PlanErrorKind::UnknownField { table: table.into(), field: name.into() }, span));
        }
        Ok(())
    }

    /// The kind of a field expression, where the schema says.
    fn kind_of(&self, s: &Scalar, scope: Scope<'_>) -> Option<Kind> {
        match s {
            Scalar::Lit(v) => Some(Kind::of(v)),
            Scalar::Field(p) => {
                let [PathPart::Field(name)] = p.parts() else { return None };
                if name == "id" {
                    // Only a table the schema knows has ids of a known kind.
                    return scope
                        .table
                        .filter(|_| self.table_def(scope).is_some())
                        .map(|t| Kind::Record(Some(t.into())));
                }
                self.table_def(scope)?.fields.get(name).cloned()
            }
            Scalar::Link { table, path, .. } => {
                let [PathPart::Field(name)] = path.parts() else { return None };
                self.schema.field(table, name).cloned()
            }
            _ => None,
        }
    }

    fn expr(&self, e: &ast::Expr, scope: Scope<'_>) -> Result<Scalar, PlanError> {
        Ok(match &e.kind {
            ExprKind::Literal(v) => Scalar::Lit(v.clone()),
            ExprKind::Idiom(i) => self.idiom(i, scope)?,
            ExprKind::Unary(UnaryOp::Not, x) => Scalar::Not(Box::new(self.expr(x, scope)?)),
            ExprKind::Unary(UnaryOp::Neg, x) => Scalar::Neg(Box::new(self.expr(x, scope)?)),
            ExprKind::Binary(op, a, b) => {
                let (x, y) = (self.expr(a, scope)?, self.expr(b, scope)?);
                let cmp = |op| {
                    self.check_comparable(&x, &y, scope, e)?;
                    Ok::<_, PlanError>(Scalar::Cmp(op, Box::new(x.clone()), Box::new(y.clone())))
                };
                let member = |op| Scalar::Member(op, Box::new(x.clone()), Box::new(y.clone()));
                let arith = |op| Scalar::Arith(op, Box::new(x.clone()), Box::new(y.clone()));
                match op {
                    BinaryOp::And => {
                        Scalar::And([x.clone(), y.clone()].into_iter().flat_map(Scalar::conjuncts).collect())
                    }
                    BinaryOp::Or => Scalar::Or(
                        [x.clone(), y.clone()]
                            .into_iter()
                            .flat_map(|s| match s {
                                Scalar::Or(es) => es,
                                s => vec![s],
                            })
                            .collect(),
                    ),
                    BinaryOp::Eq | BinaryOp::ExactEq => cmp(CmpOp::Eq)?,
                    BinaryOp::Ne => cmp(CmpOp::Ne)?,
                    BinaryOp::Lt => cmp(CmpOp::Lt)?,
                    BinaryOp::Le => cmp(CmpOp::Le)?,
                    BinaryOp::Gt => cmp(CmpOp::Gt)?,
                    BinaryOp::Ge => cmp(CmpOp::Ge)?,
                    BinaryOp::Add => arith(ArithOp::Add),
                    BinaryOp::Sub => arith(ArithOp::Sub),
                    BinaryOp::Mul => arith(ArithOp::Mul),
                    BinaryOp::Div => arith(ArithOp::Div),
                    op => match op.member() {
                        Some(m) => member(m),
                        None => return Err(PlanError::unsupported(format!("operator {}", op.symbol()), "", e.span)),
                    },
                }
            }
            ExprKind::Call { name, args } => self.call(name, args, scope, e.span)?,
            ExprKind::Subquery(select) => Scalar::Subquery(Box::new(self.select(select, true)?)),
            ExprKind::Array(items) => {
                Scalar::Array(items.iter().map(|i| self.expr(i, scope)).collect::<Result<_, _>>()?)
            }
            ExprKind::Object(fields) => Scalar::Object(
                fields.iter().map(|(k, v)| Ok((k.clone(), self.expr(v, scope)?))).collect::<Result<_, PlanError>>()?,
            ),
        })
    }

    /// A comparison of a field with a literal of a kind the field can never
    /// hold is a type error (where the schema declares the field).
    fn check_comparable(&self, x: &Scalar, y: &Scalar, scope: Scope<'_>, e: &ast::Expr) -> Result<(), PlanError> {
        let (Some(kx), Some(ky)) = (self.kind_of(x, scope), self.kind_of(y, scope)) else { return Ok(()) };
        let literal_none =
            matches!(x, Scalar::Lit(Value::None | Value::Null)) || matches!(y, Scalar::Lit(Value::None | Value::Null));
        if literal_none || kx.overlaps(&ky) {
            return Ok(());
        }
        let (what, found, expected) = match (x, y) {
            (Scalar::Lit(_), _) => (y.to_string(), kx.to_string(), ky.to_string()),
            _ => (y.to_string(), ky.to_string(), kx.to_string()),
        };
        Err(PlanError::new(PlanErrorKind::TypeMismatch { what, found, expected }, e.span))
    }

    fn call(&self, name: &SmolStr, args: &[ast::Expr], scope: Scope<'_>, span: Span) -> Result<Scalar, PlanError> {
        let lower = name.to_ascii_lowercase();
        if is_non_deterministic(&lower) {
            return Err(PlanError::new(
                PlanErrorKind::NonDeterministic {
                    name: name.clone(),
                    hint: "; compute the value in the application and pass it as a parameter ($now)",
                },
                span,
            ));
        }
        if matches!(lower.as_str(), "count" | "math::sum" | "math::min" | "math::max" | "math::mean") {
            return Err(PlanError::unsupported(
                format!("{name}() outside a grouped field"),
                "use it as a field of a query with GROUP BY or GROUP ALL",
                span,
            ));
        }
        let Some(func) = Func::from_name(&lower) else {
            let supported = Func::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
            return Err(PlanError::new(PlanErrorKind::UnknownFunction { name: name.clone(), supported }, span));
        };
        if args.len() != func.arity() {
            return Err(PlanError::new(
                PlanErrorKind::Arity { name: name.clone(), expected: func.arity(), found: args.len() },
                span,
            ));
        }
        let args: Vec<Scalar> = args.iter().map(|a| self.expr(a, scope)).collect::<Result<_, _>>()?;
        let wants_string = func.name().starts_with("string::");
        let wants_number = func.name().starts_with("math::");
        if let Some(kind) = args.first().and_then(|a| self.kind_of(a, scope)) {
            let ok = (!wants_string || kind.overlaps(&Kind::String)) && (!wants_number || kind.overlaps(&Kind::Number));
            if !ok {
                return Err(PlanError::new(
                    PlanErrorKind::TypeMismatch {
                        what: args[0].to_string(),
                        found: kind.to_string(),
                        expected: if wants_string { "string".into() } else { "number".into() },
                    },
                    span,
                ));
            }
        }
        Ok(Scalar::Call(func, args))
    }
}

fn field_span(f: &Field) -> Span {
    match f {
        Field::All(s) => *s,
        Field::Expr { span, .. } => *span,
    }
}

/// The output name of a group key that is not selected: kept apart from
/// the user's names, and omitted from the rows.
fn hidden(path: &FieldPath) -> FieldPath {
    FieldPath::field(format!("__group_{path}"))
}

/// The field that holds the value of `SELECT VALUE … GROUP` before it is
/// taken out of its row.
const VALUE_FIELD: &str = "__value";

fn is_hidden(path: &FieldPath) -> bool {
    matches!(path.parts(), [PathPart::Field(n)] if n.starts_with("__group_"))
}

/// `field = NONE`: the row holds no value at `field`.
fn absent(field: &FieldPath) -> Scalar {
    Scalar::Cmp(CmpOp::Eq, Box::new(Scalar::Field(field.clone())), Box::new(Scalar::Lit(Value::None)))
}
