//! SA703 blocking-index: an index built with a plain `CREATE INDEX` on a table that already
//! exists, which on PostgreSQL blocks writes to the table for the whole build. PostgreSQL-only:
//! reported once the model index knows the revision's environment migrates PostgreSQL.
use sqlparser::ast::Statement;

use crate::alembic::{self, OpCall, PostgresOnly};
use crate::checker::{Checker, Match};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let src = checker.source();
    let Some(migration) = alembic::migration(module, src) else { return };
    let ops = alembic::op_calls(migration.upgrade, src);
    let mut created = alembic::created_tables(&ops, src);
    created.extend(alembic::helper_created_tables(migration.upgrade, src));
    let mut findings = Vec::new();
    for op in &ops {
        let Some((table, what)) = blocking_index(op, src) else { continue };
        if created.contains(&alembic::table_key(&table)) || alembic::runs_only_elsewhere(op.call, src) {
            continue;
        }
        let message = format!(
            "{what} builds the index with a plain `CREATE INDEX`: on PostgreSQL that holds a SHARE lock on `{table}` \
             for the whole build, so every INSERT, UPDATE and DELETE on it waits (minutes on a large table)"
        );
        let help = if op.name == "execute" {
            "build it with `CREATE INDEX CONCURRENTLY`, inside `with op.get_context().autocommit_block():`".to_string()
        } else {
            format!(
                "pass `postgresql_concurrently=True` to `{}` and run it inside `with op.get_context().autocommit_block():` \
                 (a concurrent build cannot run in the migration's transaction)",
                op.callee(src)
            )
        };
        findings.push((op.call.byte_range(), message, help));
    }
    if !findings.is_empty() {
        let revision = alembic::revision_facts(module, src).and_then(|f| f.revision);
        checker.defer(Box::new(PostgresOnly { rule: checker.rule, revision, findings }));
    }
}

/// The table a non-concurrent index build is on, and how the message names the operation.
fn blocking_index(op: &OpCall<'_>, src: &str) -> Option<(String, String)> {
    match op.name {
        "create_index" if !op.flag("postgresql_concurrently", src) => {
            let table = op.table(1, src)?;
            Some((table, format!("`{}(...)`", op.callee(src))))
        }
        "execute" => {
            let statements = alembic::parse_sql(&alembic::literal_sql(op.call, src)?)?;
            statements.into_iter().find_map(|statement| match statement {
                Statement::CreateIndex(index) if !index.concurrently => {
                    let table = index.table_name.to_string();
                    Some((table, "`CREATE INDEX` in `op.execute()`".to_string()))
                }
                _ => None,
            })
        }
        _ => None,
    }
}
