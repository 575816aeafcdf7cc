//! SA601 fk-without-index: a foreign-key column that no index covers (no
//! `index=True` / `unique=True`, not the leading primary-key column, not the
//! leading column of an `Index` / `UniqueConstraint` / `PrimaryKeyConstraint`).
//! Checked per class body (with its `__table_args__` and module-level
//! `Index(...)` on its columns) and per `Table(...)` call; anything computed
//! (a `@declared_attr` `__table_args__`, `index=flag`) makes the rule stay silent.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::collections::HashSet;

use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::index::extract::{leading_column, module_index, table_args};
use crate::python::{self, unparen};

/// One column definition with a foreign key.
struct FkColumn<'t> {
    /// Attribute name (class body) or column name (`Table`).
    name: String,
    /// `Column("db_name", ...)`: the database name when it differs.
    db_name: Option<String>,
    target: String,
    /// `index=True` / `unique=True`; `None` when a value is not a literal.
    indexed: Option<bool>,
    primary_key: Option<bool>,
    /// Where to report.
    node: Node<'t>,
}

impl FkColumn<'_> {
    fn known_as(&self, name: &str) -> bool {
        self.name == name || self.db_name.as_deref() == Some(name)
    }
}

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    // Alembic migrations copy models as they were at the time: the schema is read from the models.
    let Some(node) = m.get("class").or_else(|| m.get("table")) else { return };
    // A foreign key is spelt `ForeignKey(...)` or `foreign_key=`: most classes have none, and
    // the import scan below costs more than this search.
    let text = checker.text(m.get("body").unwrap_or(node));
    if !text.contains("ForeignKey") && !text.contains("foreign_key") {
        return;
    }
    if python::imports_alembic(node, checker.source()) {
        return;
    }
    if let (Some(class), Some(name), Some(body)) = (m.get("class"), m.get("name"), m.get("body")) {
        class_body(checker, class, checker.text(name), body);
    } else if let Some(table) = m.get("table") {
        table_call(checker, table);
    }
}

fn class_body(checker: &mut Checker<'_>, class: Node<'_>, class_name: &str, body: Node<'_>) {
    let src = checker.source();
    let mut columns = Vec::new();
    // Names of columns that lead some index of the table.
    let mut leading: HashSet<String> = HashSet::new();
    // Primary-key columns in declaration order (first one leads the primary key's index).
    let mut first_pk: Option<String> = None;
    for statement in python::named_children(body) {
        match statement.kind_str() {
            "expression_statement" => {
                let Some(assignment) = statement.named_child(0).filter(|a| a.kind_str() == "assignment") else { continue };
                let Some(left) = assignment.field("left").filter(|l| l.kind_str() == "identifier") else {
                    continue;
                };
                let name = checker.text(left);
                let Some(value) = assignment.field("right").map(unparen) else { continue };
                match name {
                    "__table_args__" => match table_args(value, src) {
                        Some(found) => leading.extend(found),
                        None => return,
                    },
                    // An imperative table: the `Table(...)` pattern checks it.
                    "__table__" => return,
                    _ if value.kind_str() == "call" => {
                        if is_primary_key(value, src) && first_pk.is_none() {
                            first_pk = Some(name.to_string());
                        }
                        if let Some(column) = fk_column(name, value, left, src) {
                            columns.push(column);
                        }
                    }
                    _ => {}
                }
            }
            // `@declared_attr def __table_args__(cls)`: computed, unknown.
            "decorated_definition" => {
                let defined = statement.field("definition").and_then(|d| d.field("name"));
                if defined.is_some_and(|n| checker.text(n) == "__table_args__") {
                    return;
                }
            }
            _ => {}
        }
    }
    if columns.is_empty() {
        return;
    }
    leading.extend(module_level_indexes(class, &[class_name], src));
    for column in columns {
        if column.indexed != Some(false) || column.primary_key.is_none() {
            continue;
        }
        if first_pk.as_deref() == Some(column.name.as_str()) || leading.iter().any(|l| column.known_as(l)) {
            continue;
        }
        report(checker, &column, &format!("{class_name}.{}", column.name));
    }
}

fn table_call(checker: &mut Checker<'_>, table: Node<'_>) {
    let src = checker.source();
    if !python::calls_sqlalchemy(table, src) {
        return;
    }
    let args = python::positional_arguments(table);
    let Some(table_name) = args.first().and_then(|a| string_value(*a, src)) else { return };
    let mut columns = Vec::new();
    let mut leading: HashSet<String> = HashSet::new();
    let mut first_pk: Option<String> = None;
    for arg in args.iter().skip(1).map(|a| unparen(*a)) {
        if arg.kind_str() != "call" {
            continue;
        }
        match python::callee_name(arg, src) {
            Some("Column") => {
                let Some(name) = python::positional_arguments(arg).first().and_then(|n| string_value(*n, src)) else {
                    continue;
                };
                if is_primary_key(arg, src) && first_pk.is_none() {
                    first_pk = Some(name.clone());
                }
                if let Some(column) = fk_column(&name, arg, arg, src) {
                    columns.push(column);
                }
            }
            Some(_) => leading.extend(leading_column(arg, src)),
            None => {}
        }
    }
    if columns.is_empty() {
        return;
    }
    // `users_groups = Table(...)` then `Index("ix", users_groups.c.group_id)` at module level.
    let variable = table
        .up()
        .filter(|p| p.kind_str() == "assignment")
        .and_then(|a| a.field("left"))
        .filter(|l| l.kind_str() == "identifier")
        .map(|l| checker.text(l));
    if let Some(variable) = variable {
        leading.extend(module_level_indexes(table, &[variable], src));
    }
    for column in columns {
        if column.indexed != Some(false) || column.primary_key.is_none() {
            continue;
        }
        if first_pk.as_deref() == Some(column.name.as_str()) || leading.contains(&column.name) {
            continue;
        }
        report(checker, &column, &format!("{table_name}.{}", column.name));
    }
}

fn report(checker: &mut Checker<'_>, column: &FkColumn<'_>, qualified: &str) {
    let referenced = column.target.rsplit_once('.').map_or(column.target.as_str(), |(table, _)| table);
    let message = format!(
        "`{qualified}` is a foreign key to `{}` with no index: PostgreSQL and SQLite do not index foreign-key \
         columns, so loading or joining from `{referenced}` and deleting its rows scan this whole table",
        column.target
    );
    let help = format!(
        "add `index=True` to the `{}` column (or `unique=True` if it is one-to-one), or an `Index(...)` that starts \
         with it in `__table_args__`; then create the index in a migration",
        column.name
    );
    checker.report(column.node.byte_range(), message, help);
}

/// A column definition with a foreign key: `Column(..., ForeignKey("t.c"), ...)`,
/// `mapped_column(ForeignKey(...))`, `Field(foreign_key="t.c")`, `Field(sa_column=Column(...))`.
fn fk_column<'t>(name: &str, call: Node<'t>, node: Node<'t>, src: &str) -> Option<FkColumn<'t>> {
    let callee = python::callee_name(call, src)?;
    let call = match callee {
        "Column" | "mapped_column" => call,
        "Field" => match python::keyword_argument(call, "sa_column", src).map(unparen) {
            Some(column) if column.kind_str() == "call" && python::callee_name(column, src) == Some("Column") => column,
            Some(_) => return None,
            None => call,
        },
        _ => return None,
    };
    let mut target = None;
    let mut db_name = None;
    for (i, arg) in python::positional_arguments(call).into_iter().map(unparen).enumerate() {
        if i == 0 && arg.kind_str() == "string" {
            db_name = string_value(arg, src);
        }
        if arg.kind_str() == "call" && python::callee_name(arg, src) == Some("ForeignKey") {
            let first = python::positional_arguments(arg).first().copied()?;
            target = string_value(first, src).or_else(|| python::dotted_name(first, src));
        }
    }
    if python::callee_name(call, src) == Some("Field") {
        target = python::keyword_argument(call, "foreign_key", src).and_then(|v| string_value(v, src));
    }
    let target = target?;
    let flag = |key: &str| match python::keyword_argument(call, key, src).map(|v| src.get(v.byte_range()).unwrap_or("")) {
        None | Some("False") => Some(false),
        Some("True") => Some(true),
        Some(_) => None,
    };
    let indexed = match (flag("index"), flag("unique")) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    };
    Some(FkColumn {
        name: name.to_string(),
        db_name: db_name.filter(|d| d != name),
        target,
        indexed,
        primary_key: flag("primary_key"),
        node,
    })
}

fn is_primary_key(call: Node<'_>, src: &str) -> bool {
    let call = match python::keyword_argument(call, "sa_column", src).map(unparen) {
        Some(column) if column.kind_str() == "call" => column,
        _ => call,
    };
    python::keyword_argument(call, "primary_key", src).is_some_and(|v| src.get(v.byte_range()) == Some("True"))
}

/// Leading columns of module-level `Index("ix", Owner.col, ...)` / `Index("ix", owner.c.col)`
/// statements where `Owner` is one of `owners` (a class or a `Table` variable).
fn module_level_indexes(node: Node<'_>, owners: &[&str], src: &str) -> Vec<String> {
    let mut found = Vec::new();
    if !src.contains("Index(") {
        return found;
    }
    let Some(module) = python::ancestors(node).find(|n| n.kind_str() == "module") else { return found };
    for statement in python::named_children(module) {
        if statement.kind_str() != "expression_statement" {
            continue;
        }
        let Some(expr) = statement.named_child(0) else { continue };
        let call = match expr.kind_str() {
            "call" => expr,
            "assignment" => match expr.field("right").map(unparen) {
                Some(right) if right.kind_str() == "call" => right,
                _ => continue,
            },
            _ => continue,
        };
        if python::callee_name(call, src) != Some("Index") {
            continue;
        }
        if let Some((owner, column)) = module_index(call, src) {
            if owners.contains(&owner.as_str()) {
                found.push(column);
            }
        }
    }
    found
}

fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    let node = unparen(node);
    if node.kind_str() != "string" || !python::is_literal_string(node) {
        return None;
    }
    let mut cursor = node.walk();
    let content: String = node
        .named_children(&mut cursor)
        .filter(|c| c.kind_str() == "string_content")
        .filter_map(|c| src.get(c.byte_range()))
        .collect();
    Some(content)
}
