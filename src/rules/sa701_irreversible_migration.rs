//! SA701 irreversible-migration: `downgrade()` does nothing while `upgrade()` changes the schema.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use sqlparser::ast::Statement;

use crate::alembic::{self, OpCall};
use crate::checker::{Checker, Match};
use crate::python;

/// Operations that change the schema (data operations such as `bulk_insert` are not listed).
const SCHEMA_OPS: &[&str] = &[
    "add_column",
    "alter_column",
    "create_check_constraint",
    "create_exclude_constraint",
    "create_foreign_key",
    "create_index",
    "create_primary_key",
    "create_table",
    "create_table_comment",
    "create_unique_constraint",
    "drop_column",
    "drop_constraint",
    "drop_index",
    "drop_table",
    "drop_table_comment",
    "rename_table",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let src = checker.source();
    let Some(migration) = alembic::migration(module, src) else { return };
    let Some(downgrade) = migration.downgrade else { return };
    if !does_nothing(downgrade) {
        return;
    }
    let ops = alembic::op_calls(migration.upgrade, src);
    let Some(change) = ops.iter().find(|op| changes_schema(op, src)) else { return };
    let line = checker.line_of(change.call);
    let message = format!(
        "`downgrade()` does nothing, but `upgrade()` changes the schema (`{}` on line {line}): `alembic downgrade` \
         would report success and leave the database out of step with its revision history",
        change.callee(src)
    );
    let help = match inverse(change, src) {
        Some(undo) => format!(
            "undo the upgrade here (starting with `{undo}`), or, if it cannot be undone, say so: \
             `raise NotImplementedError(\"...\")` with the reason"
        ),
        None => "undo the upgrade's changes here, or, if they cannot be undone, say so: \
                 `raise NotImplementedError(\"...\")` with the reason"
            .to_string(),
    };
    checker.report(alembic::def_range(downgrade), message, help);
}

/// The body is only `pass`, `...` and docstrings (comments are not statements).
fn does_nothing(function: tree_sitter::Node<'_>) -> bool {
    let Some(body) = function.field("body") else { return false };
    python::named_children(body).iter().all(|statement| match statement.kind_str() {
        "pass_statement" => true,
        "expression_statement" => {
            python::named_children(*statement).iter().all(|e| e.kind_str() == "ellipsis" || python::is_literal_string(*e))
        }
        _ => false,
    })
}

fn changes_schema(op: &OpCall<'_>, src: &str) -> bool {
    if op.name == "execute" {
        // Literal DDL only; data changes, unreadable SQL and scratch temporary tables do not count.
        let Some(statements) = alembic::literal_sql(op.call, src).and_then(|sql| alembic::parse_sql(&sql)) else {
            return false;
        };
        let mut temporary: Vec<String> = Vec::new();
        return statements.iter().any(|s| match s {
            Statement::CreateTable(create) if create.temporary => {
                temporary.push(create.name.to_string());
                false
            }
            Statement::CreateIndex(index) => !temporary.contains(&index.table_name.to_string()),
            Statement::Drop { names, .. } => !names.iter().all(|n| temporary.contains(&n.to_string())),
            Statement::CreateTable(_)
            | Statement::AlterTable(_)
            | Statement::AlterIndex { .. }
            | Statement::CreateView(_)
            | Statement::RenameTable(_) => true,
            _ => false,
        });
    }
    SCHEMA_OPS.contains(&op.name)
}

/// The first undo step for a few common operations, with the names from the code.
fn inverse(op: &OpCall<'_>, src: &str) -> Option<String> {
    let text = |node: Option<tree_sitter::Node<'_>>| node.and_then(|n| src.get(n.byte_range()));
    let prefix = if op.batch.is_some() { "batch_op" } else { "op" };
    let table = op.batch.is_none().then(|| text(op.argument(0, usize::MAX, "table_name", src))).flatten();
    let with_table = |rest: &str| match table {
        Some(table) => format!("{table}, {rest}"),
        None => rest.to_string(),
    };
    match op.name {
        "add_column" => {
            let column = python::unparen(op.argument(1, 0, "column", src)?);
            let name = text(python::positional_arguments(column).first().copied())?;
            Some(format!("{prefix}.drop_column({})", with_table(name)))
        }
        "create_table" => Some(format!("op.drop_table({})", table?)),
        "create_index" => {
            let name = text(op.argument(0, 1, "index_name", src))?;
            let table = if op.batch.is_none() { format!(", table_name={}", text(op.argument(1, 1, "table_name", src))?) } else { String::new() };
            Some(format!("{prefix}.drop_index({name}{table})"))
        }
        _ => None,
    }
}
