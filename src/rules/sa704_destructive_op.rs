//! SA704 destructive-op: `upgrade()` drops a column or a table that existed before it.
use sqlparser::ast::{AlterTableOperation, ObjectType, Statement};

use crate::alembic;
use crate::checker::{Checker, Match};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let src = checker.source();
    let Some(migration) = alembic::migration(module, src) else { return };
    let ops = alembic::op_calls(migration.upgrade, src);
    let created = alembic::created_tables(&ops, src);
    for op in &ops {
        let drops: Vec<(String, Option<String>)> = match op.name {
            "drop_column" => match (op.table(0, src), op.argument(1, 0, "column_name", src)) {
                (Some(table), Some(column)) => vec![(table, alembic::string_value(column, src))],
                _ => continue,
            },
            "drop_table" if op.batch.is_none() => match op.table(0, src) {
                Some(table) => vec![(table, None)],
                None => continue,
            },
            "execute" => alembic::literal_sql(op.call, src)
                .and_then(|sql| alembic::parse_sql(&sql))
                .map(|statements| statements.iter().flat_map(raw_drops).collect())
                .unwrap_or_default(),
            _ => continue,
        };
        for (table, column) in drops {
            if created.contains(&alembic::table_key(&table)) {
                continue;
            }
            let (what, uses) = match &column {
                Some(column) => (format!("column `{table}.{column}`"), format!("the `{column}` attribute of the model mapped to `{table}`")),
                None => (format!("table `{table}`"), format!("the model mapped to `{table}`")),
            };
            let message = format!(
                "`{}` drops {what} and its data in `upgrade()`: the previous release, still running during a \
                 rolling deploy, fails on it, and `downgrade()` cannot bring the data back",
                op.callee(src)
            );
            let help = format!(
                "expand/contract: first deploy code that no longer uses {uses}, then drop it in a later revision \
                 (after a backup); mark the reviewed drop with `# noqa: SA704`"
            );
            checker.report(op.call.byte_range(), message, help);
        }
    }
}

/// `(table, column)` for each `DROP TABLE` / `ALTER TABLE ... DROP COLUMN` of a statement.
fn raw_drops(statement: &Statement) -> Vec<(String, Option<String>)> {
    match statement {
        Statement::Drop { object_type: ObjectType::Table, names, .. } => {
            names.iter().map(|n| (n.to_string(), None)).collect()
        }
        Statement::AlterTable(alter) => alter
            .operations
            .iter()
            .flat_map(|operation| match operation {
                AlterTableOperation::DropColumn { column_names, .. } => {
                    column_names.iter().map(|c| (alter.name.to_string(), Some(c.value.clone()))).collect()
                }
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}
