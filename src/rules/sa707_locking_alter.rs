//! SA707 locking-alter: schema changes that lock an existing table for writes (or reads) while
//! PostgreSQL rewrites or scans it. PostgreSQL-only: reported once the model index knows the
//! revision's environment migrates PostgreSQL (see [`alembic::PostgresOnly`]).
use crate::syntax::KindStr;
use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ColumnOption, Statement, TableConstraint};
use sqlparser::keywords::Keyword;
use tree_sitter::Node;

use crate::alembic::{self, OpCall, PostgresOnly};
use crate::checker::{Checker, Match};
use crate::python::{self, unparen};

/// Functions PostgreSQL marks VOLATILE: as a column default they force a rewrite of every row.
const VOLATILE: &[&str] =
    &["gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4", "random", "clock_timestamp", "timeofday", "nextval"];

/// One hazard: what the operation does, the lock and work it costs, and the safe form.
struct Hazard {
    what: String,
    cost: &'static str,
    help: String,
}

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let src = checker.source();
    let Some(migration) = alembic::migration(module, src) else { return };
    let ops = alembic::op_calls(migration.upgrade, src);
    let mut created = alembic::created_tables(&ops, src);
    created.extend(alembic::helper_created_tables(migration.upgrade, src));
    let mut findings = Vec::new();
    for op in &ops {
        // `if bind.dialect.name == "mysql":`: never runs on PostgreSQL.
        if alembic::runs_only_elsewhere(op.call, src) {
            continue;
        }
        let hazards = if op.name == "execute" { raw_sql(op, src) } else { operation(op, src).into_iter().collect() };
        for (table, hazard) in hazards {
            // A table created in this revision is empty and unused: nothing waits on it.
            if table.as_deref().is_some_and(|t| created.contains(&alembic::table_key(t))) {
                continue;
            }
            let on = table.map_or_else(|| "the table".to_string(), |t| format!("`{t}`"));
            let message = format!("{} {}", hazard.what, hazard.cost.replace("TABLE", &on));
            findings.push((op.call.byte_range(), message, hazard.help));
        }
    }
    if !findings.is_empty() {
        let revision = alembic::revision_facts(module, src).and_then(|f| f.revision);
        checker.defer(Box::new(PostgresOnly { rule: checker.rule, revision, findings }));
    }
}

// What each hazard costs on PostgreSQL; `TABLE` is replaced by the table's name.
const REWRITE: &str =
    "on PostgreSQL rewrites every row of TABLE under an ACCESS EXCLUSIVE lock: no query reads or writes it until done";
const SCAN: &str =
    "on PostgreSQL scans every row of TABLE under an ACCESS EXCLUSIVE lock: no query reads or writes it until done";
const VALIDATE: &str = "on PostgreSQL validates every existing row of TABLE while holding a lock that blocks its writes";
const BUILD: &str = "on PostgreSQL builds a unique index on TABLE under a lock that blocks its writes for the whole build";
const DROP: &str =
    "on PostgreSQL takes an ACCESS EXCLUSIVE lock on TABLE: it waits for running queries and blocks every new one";

fn operation(op: &OpCall<'_>, src: &str) -> Option<(Option<String>, Hazard)> {
    let callee = op.callee(src);
    let not_valid_help = |kind: &str| {
        format!(
            "add it with `postgresql_not_valid=True` (instant, checks new rows only), then validate it in a later \
             migration: `op.execute(\"ALTER TABLE ... VALIDATE CONSTRAINT ...\")`, which does not block writes ({kind})"
        )
    };
    let hazard = match op.name {
        "alter_column" => {
            let column = op.argument(1, 0, "column_name", src).and_then(|c| alembic::string_value(c, src));
            let column = column.map_or_else(String::new, |c| format!("`{c}` "));
            // A rename that restates the type (`new_column_name=..., type_=sa.Text`) with no
            // `existing_type=` to compare is most often no type change at all: SA706 has the rename.
            let restated = python::keyword_argument(op.call, "new_column_name", src).is_some()
                && python::keyword_argument(op.call, "existing_type", src).is_none();
            let new_type = python::keyword_argument(op.call, "type_", src).filter(|_| !restated);
            if let Some(new_type) = new_type {
                if widening(python::keyword_argument(op.call, "existing_type", src), new_type, src) {
                    return None;
                }
                Hazard {
                    what: format!("`{callee}(..., type_=...)` changes the type of column {column}and"),
                    cost: REWRITE,
                    help: "add a new column of the new type, backfill it in batches, switch the code over, then drop \
                           the old one (a widening such as a longer `VARCHAR` or `VARCHAR` → `TEXT` is instant)"
                        .to_string(),
                }
            } else if python::keyword_argument(op.call, "nullable", src).is_some_and(|v| node_text(v, src) == "False") {
                Hazard {
                    what: format!("`{callee}(..., nullable=False)` makes column {column}NOT NULL and"),
                    cost: SCAN,
                    help: "add a `CHECK (col IS NOT NULL) NOT VALID` constraint, `VALIDATE` it in a later migration \
                           (no write lock), then set NOT NULL, which PostgreSQL 12+ proves from the constraint \
                           without a scan"
                        .to_string(),
                }
            } else {
                return None;
            }
        }
        "create_foreign_key" if !op.flag("postgresql_not_valid", src) => Hazard {
            what: format!("`{callee}(...)` adds a foreign key and"),
            cost: VALIDATE,
            help: not_valid_help("ROW SHARE / SHARE UPDATE EXCLUSIVE locks only"),
        },
        "create_check_constraint" if !op.flag("postgresql_not_valid", src) => Hazard {
            what: format!("`{callee}(...)` adds a CHECK constraint and"),
            cost: VALIDATE,
            help: not_valid_help("SHARE UPDATE EXCLUSIVE lock only"),
        },
        "create_unique_constraint" | "create_primary_key" => Hazard {
            what: format!("`{callee}(...)`"),
            cost: BUILD,
            help: "build the unique index first with `op.create_index(..., unique=True, \
                   postgresql_concurrently=True)` inside `with op.get_context().autocommit_block():`, then attach \
                   it: `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX ...` (or `PRIMARY KEY USING INDEX`)"
                .to_string(),
        },
        "drop_index" if !op.flag("postgresql_concurrently", src) => Hazard {
            what: format!("`{callee}(...)`"),
            cost: DROP,
            help: format!(
                "pass `postgresql_concurrently=True` to `{callee}` and run it inside `with \
                 op.get_context().autocommit_block():`"
            ),
        },
        "add_column" => {
            let column = op.argument(1, 0, "column", src).map(unparen).filter(|c| c.kind_str() == "call")?;
            let default = python::keyword_argument(column, "server_default", src)?;
            let function = volatile(&node_text(default, src))?;
            Hazard {
                what: format!("`{callee}(...)` adds a column whose `server_default` calls `{function}()`, which is VOLATILE, and"),
                cost: REWRITE,
                help: "add the column without a default (or with a constant one), backfill it in batches, then set \
                       the default for new rows with `op.alter_column(..., server_default=...)`"
                    .to_string(),
            }
        }
        _ => return None,
    };
    // `alter_column(table, ...)`, `add_column(table, ...)`; the others name the constraint or index first.
    let table = match op.name {
        "alter_column" | "add_column" => op.table(0, src),
        "create_foreign_key" if op.batch.is_none() => python::keyword_argument(op.call, "source_table", src)
            .and_then(|t| alembic::string_value(t, src))
            .or_else(|| op.table(1, src)),
        _ => op.table(1, src),
    };
    Some((table, hazard))
}

/// Is a type change one PostgreSQL makes without a rewrite: `VARCHAR(n)` to a longer `VARCHAR`,
/// to unbounded `VARCHAR`, or to `TEXT` (both types must be written)?
fn widening(existing: Option<Node<'_>>, new: Node<'_>, src: &str) -> bool {
    let Some(existing) = existing else { return false };
    let read = |node: Node<'_>| -> Option<(String, Option<u64>)> {
        let node = unparen(node);
        let (name, length) = match node.kind_str() {
            "call" => {
                let length = python::positional_arguments(node)
                    .first()
                    .copied()
                    .or_else(|| python::keyword_argument(node, "length", src))
                    .and_then(|l| node_text(l, src).parse().ok());
                (python::callee_name(node, src)?.to_string(), length)
            }
            _ => (python::dotted_name(node, src)?.rsplit('.').next()?.to_string(), None),
        };
        Some((name.to_ascii_lowercase(), length))
    };
    let (Some((old, old_length)), Some((new, new_length))) = (read(existing), read(new)) else { return false };
    // `Text`, `UnicodeText`, and the MySQL-sized `MediumText` / `LongText` (plain `TEXT` on PostgreSQL).
    let text_like = |name: &str| name.contains("text");
    let varchar_like = |name: &str| matches!(name, "string" | "varchar" | "unicode" | "nvarchar");
    if !(varchar_like(&old) || text_like(&old)) {
        return false;
    }
    if text_like(&new) {
        return true;
    }
    varchar_like(&new)
        && !text_like(&old)
        && match (old_length, new_length) {
            (_, None) => true,
            (Some(old), Some(new)) => new >= old,
            (None, Some(_)) => false,
        }
}

/// The first volatile function a default expression calls.
fn volatile(default: &str) -> Option<&'static str> {
    let lower = default.to_ascii_lowercase();
    VOLATILE.iter().copied().find(|name| {
        lower.match_indices(name).any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + name.len()..].trim_start().chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after == Some('(')
        })
    })
}

fn node_text(node: Node<'_>, src: &str) -> String {
    src.get(node.byte_range()).unwrap_or("").to_string()
}

/// The hazards of literal SQL in `op.execute()`, each with its table.
fn raw_sql(op: &OpCall<'_>, src: &str) -> Vec<(Option<String>, Hazard)> {
    let mut out = Vec::new();
    let Some(sql) = alembic::literal_sql(op.call, src) else { return out };
    let execute = |cost, what: &str, help: &str| Hazard {
        what: format!("`{what}` in `op.execute()`"),
        cost,
        help: help.to_string(),
    };
    for statement in alembic::parse_sql(&sql).unwrap_or_default() {
        let Statement::AlterTable(alter) = statement else { continue };
        let table = alter.name.to_string();
        for operation in &alter.operations {
            let hazard = match operation {
                AlterTableOperation::AlterColumn { op: AlterColumnOperation::SetDataType { .. }, .. } => execute(
                    REWRITE,
                    "ALTER COLUMN ... TYPE",
                    "add a new column of the new type, backfill it in batches, switch the code over, then drop the old one",
                ),
                AlterTableOperation::AlterColumn { op: AlterColumnOperation::SetNotNull, .. } => execute(
                    SCAN,
                    "SET NOT NULL",
                    "add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it in a later migration, then `SET NOT NULL`",
                ),
                AlterTableOperation::AddConstraint { constraint, not_valid: false } => match constraint {
                    TableConstraint::ForeignKey(_) | TableConstraint::Check(_) => execute(
                        VALIDATE,
                        "ADD CONSTRAINT",
                        "add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration",
                    ),
                    TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) => execute(
                        BUILD,
                        "ADD CONSTRAINT",
                        "`CREATE UNIQUE INDEX CONCURRENTLY` first (in an autocommit block), then `ADD CONSTRAINT ... USING INDEX`",
                    ),
                    _ => continue,
                },
                AlterTableOperation::AddColumn { column_def, .. } => {
                    let volatile_default = column_def.options.iter().find_map(|option| match &option.option {
                        ColumnOption::Default(expr) => volatile(&expr.to_string()),
                        _ => None,
                    });
                    let Some(function) = volatile_default else { continue };
                    Hazard {
                        what: format!("`ADD COLUMN ... DEFAULT {function}()` (a VOLATILE function) in `op.execute()`"),
                        cost: REWRITE,
                        help: "add the column without a default, backfill it in batches, then `SET DEFAULT`".to_string(),
                    }
                }
                _ => continue,
            };
            out.push((Some(table.clone()), hazard));
        }
    }
    // `DROP INDEX` without `CONCURRENTLY` (the parser does not model every form: read the keywords).
    for words in alembic::statement_keywords(&sql, 3).unwrap_or_default() {
        if let [Keyword::DROP, Keyword::INDEX, next] = words.as_slice() {
            if *next != Keyword::CONCURRENTLY {
                out.push((
                    None,
                    execute(DROP, "DROP INDEX", "use `DROP INDEX CONCURRENTLY`, inside `with op.get_context().autocommit_block():`"),
                ));
            }
        }
    }
    out
}
