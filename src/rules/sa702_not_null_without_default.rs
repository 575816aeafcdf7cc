//! SA702 not-null-without-default: a NOT NULL column added without a server default, or a
//! column made NOT NULL with no backfill earlier in the same `upgrade()`.
use crate::syntax::KindStr;
use sqlparser::ast::Statement;
use tree_sitter::Node;

use crate::alembic::{self, OpCall};
use crate::checker::{Checker, Match};
use crate::python;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let src = checker.source();
    let Some(migration) = alembic::migration(module, src) else { return };
    let ops = alembic::op_calls(migration.upgrade, src);
    let created = alembic::created_tables(&ops, src);
    // What a backfill is looked for in, listed only once an alter_column needs it.
    let mut backfills = None;
    for (index, op) in ops.iter().enumerate() {
        let Some(table) = op.table(0, src) else { continue };
        let key = alembic::table_key(&table);
        // New or emptied tables have no rows for the constraint to fail on.
        if created.contains(&key) || alembic::emptied_tables(&ops[..index], src).contains(&key) {
            continue;
        }
        match op.name {
            "add_column" => add_column(checker, op, &table),
            "alter_column" => {
                let Some(column) = op.argument(1, 0, "column_name", src).and_then(|c| alembic::string_value(c, src))
                else {
                    continue;
                };
                if !is_false(python::keyword_argument(op.call, "nullable", src), src)
                    || is_false(python::keyword_argument(op.call, "existing_nullable", src), src)
                    || added_with_default(&ops[..index], &table, &column, src)
                    || {
                        let (calls, helpers) = backfills.get_or_insert_with(|| {
                            (alembic::calls(migration.upgrade, src), alembic::helper_functions(module, src))
                        });
                        backfilled_before(calls, op.call.start_byte(), helpers, src)
                    }
                {
                    continue;
                }
                let line = checker.line_of(op.call);
                let message = format!(
                    "`{}(..., nullable=False)` makes `{table}.{column}` NOT NULL with no backfill earlier in \
                     `upgrade()`: if any existing row holds NULL there, the migration fails",
                    op.callee(src)
                );
                let help = format!(
                    "fill the NULLs first, before line {line}: `op.execute(\"UPDATE {table} SET {column} = ... \
                     WHERE {column} IS NULL\")` (a `server_default` does not change existing rows)"
                );
                checker.report(op.call.byte_range(), message, help);
            }
            _ => {}
        }
    }
}

fn add_column(checker: &mut Checker<'_>, op: &OpCall<'_>, table: &str) {
    let src = checker.source();
    let Some(column) = op.argument(1, 0, "column", src).map(python::unparen) else { return };
    if column.kind_str() != "call" || python::callee_name(column, src) != Some("Column") {
        return;
    }
    if !is_false(python::keyword_argument(column, "nullable", src), src) || has_server_default(column, src) {
        return;
    }
    // Computed and identity columns get their values from the database.
    let generated = python::positional_arguments(column)
        .into_iter()
        .any(|a| a.kind_str() == "call" && matches!(python::callee_name(a, src), Some("Computed" | "Identity")));
    if generated {
        return;
    }
    let name = python::positional_arguments(column)
        .first()
        .and_then(|n| alembic::string_value(*n, src))
        .unwrap_or_else(|| "the column".into());
    let python_default = python::keyword_argument(column, "default", src).is_some();
    let message = format!(
        "`{}` adds NOT NULL column `{name}` to `{table}` without a `server_default`: on a table that has rows \
         the ALTER fails (PostgreSQL: column contains null values; SQLite refuses it always){}",
        op.callee(src),
        if python_default { "; `default=` is applied by SQLAlchemy on INSERT only" } else { "" }
    );
    let help = format!(
        "give the column a server default (`sa.Column(\"{name}\", ..., nullable=False, server_default=...)`), or \
         add it nullable, backfill it with `op.execute(\"UPDATE {table} SET {name} = ...\")`, then \
         `op.alter_column(\"{table}\", \"{name}\", nullable=False)`"
    );
    checker.report(op.call.byte_range(), message, help);
}

/// A literal `False`.
fn is_false(value: Option<Node<'_>>, src: &str) -> bool {
    value.is_some_and(|v| src.get(v.byte_range()) == Some("False"))
}

fn has_server_default(column: Node<'_>, src: &str) -> bool {
    python::keyword_argument(column, "server_default", src).is_some_and(|v| src.get(v.byte_range()) != Some("None"))
}

/// The column was added earlier in this `upgrade()` with a server default, which filled its rows.
fn added_with_default(earlier: &[OpCall<'_>], table: &str, column: &str, src: &str) -> bool {
    earlier.iter().filter(|op| op.name == "add_column" && op.table(0, src).as_deref() == Some(table)).any(|op| {
        op.argument(1, 0, "column", src).map(python::unparen).is_some_and(|c| {
            python::positional_arguments(c).first().and_then(|n| alembic::string_value(*n, src)).as_deref()
                == Some(column)
                && has_server_default(c, src)
        })
    })
}

/// Something before `offset` may have filled the column: SQL that is (or may be) an UPDATE, an
/// ORM or Core update, a write through a session, or a call to a helper of the module.
fn backfilled_before(calls: &[Node<'_>], offset: usize, helpers: &[&str], src: &str) -> bool {
    calls.iter().take_while(|c| c.start_byte() < offset).any(|call| match python::callee_name(*call, src) {
        Some("execute" | "exec_driver_sql" | "executemany") => {
            let Some(sql) = alembic::literal_sql(*call, src) else { return true };
            alembic::parse_sql(&sql).is_none_or(|statements| {
                statements.iter().any(|s| matches!(s, Statement::Update(_) | Statement::Insert(_) | Statement::Merge(_)))
            })
        }
        // ORM data migrations: rows changed, deleted or written through a session.
        Some(
            "update" | "bulk_update_mappings" | "bulk_save_objects" | "merge" | "add" | "add_all" | "flush" | "commit"
            | "delete",
        ) => true,
        Some(name) => python::receiver(*call).is_none() && helpers.contains(&name),
        None => false,
    })
}
