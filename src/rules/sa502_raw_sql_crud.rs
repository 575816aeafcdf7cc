//! SA502 raw-sql-crud: a literal `text("...")` holding one simple single-table SELECT, INSERT,
//! UPDATE or DELETE on a table the project maps to a model. The SQL is read with `sqlparser`
//! into a small owned form (columns by their database names), and the ORM statement is written
//! once the model index says which model maps the table and what its attributes are called.
use std::ops::Range;

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Expr, FromTable, GroupByExpr, InTarget, LimitClause, ObjectName, OrderByKind,
    OrderBySort, Query,
    SelectItem, SetExpr, Statement, TableFactor, TableObject, TableWithJoins, UnaryOperator, Value,
};

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::Model;
use crate::python;
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("call") else { return };
    let src = checker.source();
    let Some(argument) = python::positional_arguments(call).first().copied() else { return };
    let Some(sql) = crate::alembic::string_value(argument, src) else { return };
    // Migrations run raw SQL on purpose (the models may not match the schema of that revision);
    // tests check the database behind the ORM's back.
    if !python::calls_sqlalchemy(call, src) || python::imports_alembic(call, src) || python::in_test_code(call, src) {
        return;
    }
    let Some(statements) = crate::alembic::parse_sql(&sql) else { return };
    let [statement] = statements.as_slice() else { return };
    let Some(crud) = crud(statement) else { return };
    checker.defer(Box::new(RawCrud {
        rule: checker.rule,
        sql: python::one_line(&sql, 80),
        crud,
        range: call.byte_range(),
    }));
}

/// A simple single-table statement, columns by their SQL names.
#[derive(Debug, PartialEq)]
struct Crud {
    table: String,
    /// `FROM users u`: `u.name` names a column of the table.
    alias: Option<String>,
    kind: Kind,
    selection: Option<SqlExpr>,
    order_by: Vec<(String, bool)>,
    limit: Option<String>,
    offset: Option<String>,
}

#[derive(Debug, PartialEq)]
enum Kind {
    /// `SELECT *` (`None`) or `SELECT a, b`.
    Select(Option<Vec<String>>),
    Count,
    Insert(Vec<(String, SqlExpr)>),
    Update(Vec<(String, SqlExpr)>),
    Delete,
}

/// The expressions a simple statement is made of.
#[derive(Debug, PartialEq)]
enum SqlExpr {
    Column(String),
    /// A bind parameter `:name` (rendered as the Python name) or a literal, as Python.
    Value(String),
    Compare(Box<SqlExpr>, &'static str, Box<SqlExpr>),
    And(Vec<SqlExpr>),
    Or(Vec<SqlExpr>),
    Not(Box<SqlExpr>),
    IsNull(Box<SqlExpr>, bool),
    In(Box<SqlExpr>, Vec<SqlExpr>, bool),
    Between(Box<SqlExpr>, Box<SqlExpr>, Box<SqlExpr>, bool),
    Like(Box<SqlExpr>, Box<SqlExpr>, &'static str),
}

fn single_table(from: &[TableWithJoins]) -> Option<(String, Option<String>)> {
    let [only] = from else { return None };
    if !only.joins.is_empty() {
        return None;
    }
    match &only.relation {
        TableFactor::Table { name, args: None, alias, with_hints, partitions, .. }
            if with_hints.is_empty() && partitions.is_empty() =>
        {
            Some((table_name(name)?, alias.as_ref().map(|a| a.name.value.to_lowercase())))
        }
        _ => None,
    }
}

/// `public.users` → `users`; unquoted names fold to lower case as PostgreSQL does.
fn table_name(name: &ObjectName) -> Option<String> {
    let last = name.0.last()?.as_ident()?;
    Some(if last.quote_style.is_some() { last.value.clone() } else { last.value.to_lowercase() })
}

fn crud(statement: &Statement) -> Option<Crud> {
    match statement {
        Statement::Query(query) => select(query),
        Statement::Insert(insert) => {
            let TableObject::TableName(name) = &insert.table else { return None };
            let simple = insert.on.is_none()
                && insert.returning.is_none()
                && insert.or.is_none()
                && !insert.ignore
                && insert.assignments.is_empty()
                && insert.partitioned.is_none();
            let source = insert.source.as_deref().filter(|_| simple)?;
            let SetExpr::Values(values) = source.body.as_ref() else { return None };
            let [row] = values.rows.as_slice() else { return None };
            let row = &row.content;
            if source.with.is_some() || insert.columns.len() != row.len() || row.is_empty() {
                return None;
            }
            let mut pairs = Vec::new();
            for (column, value) in insert.columns.iter().zip(row) {
                pairs.push((column_name(column)?, value_expr(value)?));
            }
            Some(Crud {
                table: table_name(name)?,
                alias: None,
                kind: Kind::Insert(pairs),
                selection: None,
                order_by: Vec::new(),
                limit: None,
                offset: None,
            })
        }
        Statement::Update(update) => {
            if update.from.is_some() || update.returning.is_some() || update.or.is_some() || update.limit.is_some() {
                return None;
            }
            let (table, alias) = single_table(std::slice::from_ref(&update.table))?;
            let mut pairs = Vec::new();
            for assignment in &update.assignments {
                let AssignmentTarget::ColumnName(column) = &assignment.target else { return None };
                pairs.push((column_name(column)?, value_expr(&assignment.value)?));
            }
            let selection = update.selection.as_ref().map(expr).map_or(Some(None), |e| e.map(Some))?;
            Some(Crud {
                table,
                alias,
                kind: Kind::Update(pairs),
                selection,
                order_by: Vec::new(),
                limit: None,
                offset: None,
            })
        }
        Statement::Delete(delete) => {
            if delete.using.is_some() || delete.returning.is_some() || !delete.tables.is_empty() || delete.limit.is_some() {
                return None;
            }
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
            let (table, alias) = single_table(from)?;
            let selection = delete.selection.as_ref().map(expr).map_or(Some(None), |e| e.map(Some))?;
            Some(Crud { table, alias, kind: Kind::Delete, selection, order_by: Vec::new(), limit: None, offset: None })
        }
        _ => None,
    }
}

fn select(query: &Query) -> Option<Crud> {
    if query.with.is_some() || query.fetch.is_some() || !query.locks.is_empty() || query.for_clause.is_some() {
        return None;
    }
    if !query.pipe_operators.is_empty() || query.settings.is_some() || query.format_clause.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    let plain = select.distinct.is_none()
        && select.top.is_none()
        && select.into.is_none()
        && select.lateral_views.is_empty()
        && select.prewhere.is_none()
        && select.connect_by.is_empty()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        && select.cluster_by.is_empty()
        && select.distribute_by.is_empty()
        && select.sort_by.is_empty()
        && select.having.is_none()
        && select.named_window.is_empty()
        && select.qualify.is_none()
        && select.exclude.is_none();
    if !plain {
        return None;
    }
    let (table, alias) = single_table(&select.from)?;
    let kind = match select.projection.as_slice() {
        [SelectItem::Wildcard(_)] | [SelectItem::QualifiedWildcard(..)] => Kind::Select(None),
        [SelectItem::UnnamedExpr(Expr::Function(function))]
            if function.to_string().eq_ignore_ascii_case("count(*)") =>
        {
            Kind::Count
        }
        items => {
            let mut columns = Vec::new();
            for item in items {
                let SelectItem::UnnamedExpr(item) = item else { return None };
                let SqlExpr::Column(column) = expr(item)? else { return None };
                columns.push(column);
            }
            Kind::Select(Some(columns))
        }
    };
    let mut order_by = Vec::new();
    if let Some(order) = &query.order_by {
        let OrderByKind::Expressions(items) = &order.kind else { return None };
        for item in items {
            let SqlExpr::Column(column) = expr(&item.expr)? else { return None };
            if item.options.nulls_first.is_some() || item.with_fill.is_some() {
                return None;
            }
            let descending = match item.options.sort {
                None | Some(OrderBySort::Asc) => false,
                Some(OrderBySort::Desc) => true,
                Some(_) => return None,
            };
            order_by.push((column, descending));
        }
    }
    let (mut limit, mut offset) = (None, None);
    match &query.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset { limit: l, offset: o, limit_by }) if limit_by.is_empty() => {
            limit = l.as_ref().map(value_expr).map_or(Some(None), |v| v.map(Some))?.map(render_value);
            offset = o.as_ref().map(|o| value_expr(&o.value)).map_or(Some(None), |v| v.map(Some))?.map(render_value);
        }
        Some(_) => return None,
    }
    let selection = select.selection.as_ref().map(expr).map_or(Some(None), |e| e.map(Some))?;
    Some(Crud { table, alias, kind, selection, order_by, limit, offset })
}

fn render_value(value: SqlExpr) -> String {
    match value {
        SqlExpr::Value(v) => v,
        _ => String::new(),
    }
}

fn column_name(name: &ObjectName) -> Option<String> {
    let [ident] = name.0.as_slice() else { return None };
    let ident = ident.as_ident()?;
    Some(if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() })
}

/// A bind parameter or literal, as Python.
fn value_expr(value: &Expr) -> Option<SqlExpr> {
    let Expr::Value(value) = value else { return None };
    let python = match &value.value {
        Value::Placeholder(name) => {
            let name = name.strip_prefix(':')?;
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            name.to_string()
        }
        Value::Number(number, _) => number.to_string(),
        Value::SingleQuotedString(text) => format!("{text:?}"),
        Value::Boolean(true) => "True".to_string(),
        Value::Boolean(false) => "False".to_string(),
        Value::Null => "None".to_string(),
        _ => return None,
    };
    Some(SqlExpr::Value(python))
}

/// The simple expressions a WHERE clause may hold; anything else (functions, casts, subqueries,
/// vendor operators) is not simple.
fn expr(node: &Expr) -> Option<SqlExpr> {
    let boxed = |e: &Expr| expr(e).map(Box::new);
    Some(match node {
        Expr::Identifier(ident) => SqlExpr::Column(ident.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [qualifier, column] => SqlExpr::Column(format!("{}.{}", qualifier.value.to_lowercase(), column.value.to_lowercase())),
            _ => return None,
        },
        Expr::Value(_) => value_expr(node)?,
        Expr::Nested(inner) => expr(inner)?,
        Expr::BinaryOp { left, op, right } => {
            let compare = match op {
                BinaryOperator::And => {
                    let mut parts = Vec::new();
                    for side in [left, right] {
                        match expr(side)? {
                            SqlExpr::And(inner) => parts.extend(inner),
                            other => parts.push(other),
                        }
                    }
                    return Some(SqlExpr::And(parts));
                }
                BinaryOperator::Or => return Some(SqlExpr::Or(vec![expr(left)?, expr(right)?])),
                BinaryOperator::Eq => "==",
                BinaryOperator::NotEq => "!=",
                BinaryOperator::Lt => "<",
                BinaryOperator::LtEq => "<=",
                BinaryOperator::Gt => ">",
                BinaryOperator::GtEq => ">=",
                _ => return None,
            };
            SqlExpr::Compare(boxed(left)?, compare, boxed(right)?)
        }
        Expr::UnaryOp { op: UnaryOperator::Not, expr: inner } => SqlExpr::Not(boxed(inner)?),
        Expr::IsNull(inner) => SqlExpr::IsNull(boxed(inner)?, true),
        Expr::IsNotNull(inner) => SqlExpr::IsNull(boxed(inner)?, false),
        Expr::In { expr: inner, target: InTarget::List(list), negated, global: false } => {
            SqlExpr::In(boxed(inner)?, list.iter().map(value_expr).collect::<Option<_>>()?, *negated)
        }
        Expr::Between { expr: inner, negated, low, high } => {
            SqlExpr::Between(boxed(inner)?, Box::new(value_expr(low)?), Box::new(value_expr(high)?), *negated)
        }
        Expr::Like { negated, any: false, expr: inner, pattern, escape_char: None } => {
            SqlExpr::Like(boxed(inner)?, Box::new(value_expr(pattern)?), if *negated { "not_like" } else { "like" })
        }
        Expr::ILike { negated, any: false, expr: inner, pattern, escape_char: None } => {
            SqlExpr::Like(boxed(inner)?, Box::new(value_expr(pattern)?), if *negated { "not_ilike" } else { "ilike" })
        }
        _ => return None,
    })
}

struct RawCrud {
    rule: RuleId,
    sql: String,
    crud: Crud,
    range: Range<usize>,
}

/// Renders the statement against one model: columns become `Model.attribute`.
struct Render<'a> {
    model: &'a Model,
    crud: &'a Crud,
}

impl Render<'_> {
    /// The attribute mapping a SQL column (by database name or attribute name); `None` if unknown.
    fn attribute(&self, column: &str) -> Option<String> {
        let column = match column.split_once('.') {
            Some((qualifier, column)) => {
                let own = qualifier == self.crud.table || self.crud.alias.as_deref() == Some(qualifier);
                if !own {
                    return None;
                }
                column
            }
            None => column,
        };
        let known = self.model.columns.iter().find(|c| c.db_name.as_deref().unwrap_or(&c.name).eq_ignore_ascii_case(column));
        match known {
            Some(c) => Some(c.name.clone()),
            // A column the index does not see: only when the model may have more than it reads.
            None if !self.model.complete => Some(column.to_string()),
            None => None,
        }
    }

    fn expr(&self, node: &SqlExpr) -> Option<String> {
        let m = &self.model.name;
        Some(match node {
            SqlExpr::Column(column) => format!("{m}.{}", self.attribute(column)?),
            SqlExpr::Value(value) => value.clone(),
            // `== False` reads as a mistake to linters: SQLAlchemy spells it `.is_(False)`.
            SqlExpr::Compare(left, op, right) => match (right.as_ref(), *op) {
                (SqlExpr::Value(v), "==") if v == "True" || v == "False" => format!("{}.is_({v})", self.expr(left)?),
                (SqlExpr::Value(v), "!=") if v == "True" || v == "False" => {
                    format!("{}.is_not({v})", self.expr(left)?)
                }
                _ => format!("{} {op} {}", self.expr(left)?, self.expr(right)?),
            },
            SqlExpr::And(parts) => parts.iter().map(|p| self.expr(p)).collect::<Option<Vec<_>>>()?.join(", "),
            SqlExpr::Or(parts) => {
                format!("or_({})", parts.iter().map(|p| self.expr(p)).collect::<Option<Vec<_>>>()?.join(", "))
            }
            SqlExpr::Not(inner) => format!("not_({})", self.expr(inner)?),
            SqlExpr::IsNull(inner, true) => format!("{}.is_(None)", self.expr(inner)?),
            SqlExpr::IsNull(inner, false) => format!("{}.is_not(None)", self.expr(inner)?),
            SqlExpr::In(inner, list, negated) => {
                let values: Vec<String> = list.iter().map(|v| self.expr(v)).collect::<Option<_>>()?;
                let method = if *negated { "not_in" } else { "in_" };
                format!("{}.{method}([{}])", self.expr(inner)?, values.join(", "))
            }
            SqlExpr::Between(inner, low, high, negated) => {
                let between = format!("{}.between({}, {})", self.expr(inner)?, self.expr(low)?, self.expr(high)?);
                if *negated {
                    format!("not_({between})")
                } else {
                    between
                }
            }
            SqlExpr::Like(inner, pattern, method) => format!("{}.{method}({})", self.expr(inner)?, self.expr(pattern)?),
        })
    }

    fn values(&self, pairs: &[(String, SqlExpr)]) -> Option<String> {
        let rendered: Vec<String> = pairs
            .iter()
            .map(|(column, value)| Some(format!("{}={}", self.attribute(column)?, self.expr(value)?)))
            .collect::<Option<_>>()?;
        Some(rendered.join(", "))
    }

    /// The ORM statement and how to run it.
    fn statement(&self) -> Option<(String, &'static str)> {
        let m = &self.model.name;
        let crud = self.crud;
        let mut tail = String::new();
        if let Some(selection) = &crud.selection {
            tail.push_str(&format!(".where({})", self.expr(selection)?));
        }
        let (head, run) = match &crud.kind {
            Kind::Select(None) => (format!("select({m})"), "session.scalars(...)"),
            Kind::Select(Some(columns)) => {
                let columns: Vec<String> =
                    columns.iter().map(|c| self.expr(&SqlExpr::Column(c.clone()))).collect::<Option<_>>()?;
                (format!("select({})", columns.join(", ")), "session.execute(...)")
            }
            Kind::Count => (format!("select(func.count()).select_from({m})"), "session.scalar(...)"),
            Kind::Insert(pairs) => (format!("insert({m}).values({})", self.values(pairs)?), "session.execute(...)"),
            Kind::Update(pairs) => {
                tail.push_str(&format!(".values({})", self.values(pairs)?));
                (format!("update({m})"), "session.execute(...)")
            }
            Kind::Delete => (format!("delete({m})"), "session.execute(...)"),
        };
        for (column, descending) in &crud.order_by {
            let column = self.expr(&SqlExpr::Column(column.clone()))?;
            tail.push_str(&if *descending { format!(".order_by({column}.desc())") } else { format!(".order_by({column})") });
        }
        if let Some(limit) = &crud.limit {
            tail.push_str(&format!(".limit({limit})"));
        }
        if let Some(offset) = &crud.offset {
            tail.push_str(&format!(".offset({offset})"));
        }
        Some((format!("{head}{tail}"), run))
    }
}

impl Deferred for RawCrud {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let table = &self.crud.table;
        let mut models = project.index.models().iter().filter(|m| {
            !m.has_table
                && match m.tablename.as_deref() {
                    Some(name) => name.eq_ignore_ascii_case(table),
                    None => m.is_table(table),
                }
        });
        // Exactly one model maps the table (a second one, or single-table inheritance, is ambiguous).
        let (Some(model), None) = (models.next(), models.next()) else { return };
        let Some((statement, run)) = (Render { model, crud: &self.crud }).statement() else { return };
        let verb = match self.crud.kind {
            Kind::Select(_) | Kind::Count => "reads",
            Kind::Insert(_) => "inserts into",
            Kind::Update(_) => "updates",
            Kind::Delete => "deletes from",
        };
        out.push(Diagnostic {
            rule: self.rule,
            range: self.range.clone(),
            message: format!(
                "raw SQL `{}` {verb} table `{table}`, which model `{}` maps: the ORM statement says the same, \
                 checked against the model, and follows renames of the table and its columns",
                self.sql, model.name
            ),
            help: Some(format!("use `{statement}` (run with `{run}`)")),
            fix: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> Option<Crud> {
        let statements = crate::alembic::parse_sql(sql)?;
        crud(statements.first()?)
    }

    #[test]
    fn simple_statements_only() {
        let select = parsed("SELECT * FROM users WHERE id = :id AND name IS NOT NULL ORDER BY name DESC LIMIT 5");
        let select = select.expect("simple");
        assert_eq!(select.table, "users");
        assert_eq!(select.order_by, vec![("name".to_string(), true)]);
        assert_eq!(select.limit.as_deref(), Some("5"));
        assert!(parsed("UPDATE users SET name = :name WHERE id = :id").is_some());
        assert!(parsed("DELETE FROM public.users WHERE id IN (1, 2)").is_some());
        assert!(parsed("INSERT INTO users (id, name) VALUES (:id, :name)").is_some());
        assert!(parsed("SELECT count(*) FROM users").is_some());
        for complex in [
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "SELECT id, row_number() OVER (ORDER BY id) FROM users",
            "SELECT * FROM users u JOIN posts p ON p.user_id = u.id",
            "SELECT * FROM users WHERE id IN (SELECT user_id FROM posts)",
            "SELECT name FROM users GROUP BY name",
            "INSERT INTO users (id) VALUES (1) ON CONFLICT DO NOTHING",
            "UPDATE users SET n = n + 1 WHERE id = 1",
            "DELETE FROM users WHERE id = 1 RETURNING id",
            "SELECT * FROM users FOR UPDATE",
            "SELECT * FROM users WHERE lower(name) = :n",
            "SELECT * FROM users WHERE data::text = :x",
            "CREATE TABLE users (id int)",
            "SELECT DISTINCT name FROM users",
            "SELECT * FROM users; SELECT * FROM posts",
        ] {
            let statements = crate::alembic::parse_sql(complex).unwrap_or_default();
            assert!(statements.len() != 1 || crud(&statements[0]).is_none(), "{complex}");
        }
    }
}
