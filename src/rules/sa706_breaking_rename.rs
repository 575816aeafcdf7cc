//! SA706 breaking-rename: `upgrade()` renames a table or column that already existed.
use sqlparser::ast::{AlterTableOperation, RenameTableNameKind, Statement};

use crate::alembic;
use crate::checker::{Checker, Match};
use crate::python;

/// A rename found in `upgrade()`: table, old column (for column renames), new name.
struct Rename {
    table: String,
    column: Option<String>,
    new: String,
}

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let src = checker.source();
    let Some(migration) = alembic::migration(module, src) else { return };
    let ops = alembic::op_calls(migration.upgrade, src);
    let created = alembic::created_tables(&ops, src);
    for (index, op) in ops.iter().enumerate() {
        let literal = |node: Option<tree_sitter::Node<'_>>| node.and_then(|n| alembic::string_value(n, src));
        let renames: Vec<Rename> = match op.name {
            "rename_table" if op.batch.is_none() => {
                match (op.table(0, src), literal(op.argument(1, usize::MAX, "new_table_name", src))) {
                    (Some(table), Some(new)) => vec![Rename { table, column: None, new }],
                    _ => continue,
                }
            }
            "alter_column" => {
                let Some(new) = python::keyword_argument(op.call, "new_column_name", src) else { continue };
                if src.get(new.byte_range()) == Some("None") {
                    continue;
                }
                let (Some(table), Some(column)) = (op.table(0, src), literal(op.argument(1, 0, "column_name", src)))
                else {
                    continue;
                };
                let new = alembic::string_value(new, src).unwrap_or_else(|| src.get(new.byte_range()).unwrap_or("").into());
                vec![Rename { table, column: Some(column), new }]
            }
            "execute" => alembic::literal_sql(op.call, src)
                .and_then(|sql| alembic::parse_sql(&sql))
                .map(|statements| statements.iter().flat_map(raw_renames).collect())
                .unwrap_or_default(),
            _ => continue,
        };
        for Rename { table, column, new } in renames {
            // New tables and columns are not used by running code yet.
            if created.contains(&alembic::table_key(&table))
                || column.as_deref().is_some_and(|c| added_earlier(&ops[..index], &table, c, src))
            {
                continue;
            }
            let (what, model) = match &column {
                Some(column) => (
                    format!("column `{table}.{column}` to `{new}`"),
                    format!("add `{new}`, copy `{column}` into it and write both; switch the code to `{new}`; drop `{column}` in a later revision"),
                ),
                None => (
                    format!("table `{table}` to `{new}`"),
                    format!("create `{new}`, copy the rows of `{table}` and write both; switch the code to `{new}`; drop `{table}` in a later revision"),
                ),
            };
            let message = format!(
                "`{}` renames {what}: code of the previous release, still running during a rolling deploy, \
                 queries the old name and fails until every process is replaced",
                op.callee(src)
            );
            let help = format!("rename in steps across releases: {model}");
            checker.report(op.call.byte_range(), message, help);
        }
    }
}

fn raw_renames(statement: &Statement) -> Vec<Rename> {
    match statement {
        Statement::AlterTable(alter) => alter
            .operations
            .iter()
            .filter_map(|operation| match operation {
                AlterTableOperation::RenameColumn { old_column_name, new_column_name } => Some(Rename {
                    table: alter.name.to_string(),
                    column: Some(old_column_name.value.clone()),
                    new: new_column_name.value.clone(),
                }),
                AlterTableOperation::RenameTable { table_name } => {
                    let new = match table_name {
                        RenameTableNameKind::As(name) | RenameTableNameKind::To(name) => name.to_string(),
                    };
                    Some(Rename { table: alter.name.to_string(), column: None, new })
                }
                _ => None,
            })
            .collect(),
        Statement::RenameTable(renames) => renames
            .iter()
            .map(|r| Rename { table: r.old_name.to_string(), column: None, new: r.new_name.to_string() })
            .collect(),
        _ => Vec::new(),
    }
}

/// The column was added earlier in this `upgrade()` (`add_column` on the same table).
fn added_earlier(earlier: &[alembic::OpCall<'_>], table: &str, column: &str, src: &str) -> bool {
    earlier.iter().filter(|op| op.name == "add_column" && op.table(0, src).as_deref() == Some(table)).any(|op| {
        op.argument(1, 0, "column", src)
            .map(python::unparen)
            .and_then(|c| python::positional_arguments(c).first().and_then(|n| alembic::string_value(*n, src)))
            .is_some_and(|name| name == column)
    })
}
