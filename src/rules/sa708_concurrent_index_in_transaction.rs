//! SA708 concurrent-index-in-transaction: a concurrent index build or drop inside the
//! migration's transaction, which PostgreSQL refuses.
use sqlparser::keywords::Keyword;

use crate::alembic::{self, OpCall};
use crate::checker::{Checker, Match};
use crate::python;

/// Does the function open a connection with `isolation_level="AUTOCOMMIT"`?
fn autocommit_connection_in(function: tree_sitter::Node<'_>, src: &str) -> bool {
    let spelt = src.get(function.byte_range()).is_some_and(|text| text.contains("isolation_level"));
    spelt
        && alembic::calls(function, src).iter().any(|call| {
            python::keyword_argument(*call, "isolation_level", src)
                .and_then(|v| alembic::string_value(v, src))
                .is_some_and(|level| level.eq_ignore_ascii_case("AUTOCOMMIT"))
        })
}

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let src = checker.source();
    let Some(migration) = alembic::migration(module, src) else { return };
    for function in std::iter::once(migration.upgrade).chain(migration.downgrade) {
        let ops = alembic::op_calls(function, src);
        // A connection in AUTOCOMMIT isolation runs the whole function outside the transaction;
        // looked for only once there is something to report.
        let mut autocommit_connection = None;
        for (index, op) in ops.iter().enumerate() {
            if op.autocommit {
                continue;
            }
            // Concurrency first: the scan of earlier operations for a COMMIT tokenizes their SQL.
            let Some(what) = concurrent(op, src) else { continue };
            if committed_before(&ops[..index], src) {
                continue;
            }
            if *autocommit_connection.get_or_insert_with(|| autocommit_connection_in(function, src)) {
                break;
            }
            let name = alembic::function_name(function, src).unwrap_or("upgrade");
            let message = format!(
                "{what} inside the migration's transaction: PostgreSQL refuses it (`{} cannot run inside a \
                 transaction block`), so `{name}()` fails on deploy",
                if what.contains("DROP") || op.name == "drop_index" {
                    "DROP INDEX CONCURRENTLY"
                } else {
                    "CREATE INDEX CONCURRENTLY"
                }
            );
            let help = format!(
                "run it outside the transaction: `with op.get_context().autocommit_block():` around `{}(...)`",
                op.callee(src)
            );
            checker.report(op.call.byte_range(), message, help);
        }
    }
}

/// What makes the operation concurrent, for the message; `None` if it is not.
fn concurrent(op: &OpCall<'_>, src: &str) -> Option<String> {
    match op.name {
        "create_index" | "drop_index" if op.flag("postgresql_concurrently", src) => {
            Some(format!("`{}(..., postgresql_concurrently=True)`", op.callee(src)))
        }
        "execute" => {
            let sql = alembic::literal_sql(op.call, src)?;
            let statements = alembic::statement_keywords(&sql, 4)?;
            statements.iter().find_map(|words| match words.as_slice() {
                [Keyword::CREATE, Keyword::INDEX, Keyword::CONCURRENTLY, ..]
                | [Keyword::CREATE, Keyword::UNIQUE, Keyword::INDEX, Keyword::CONCURRENTLY] => {
                    Some("`CREATE INDEX CONCURRENTLY`".to_string())
                }
                [Keyword::DROP, Keyword::INDEX, Keyword::CONCURRENTLY, ..] => Some("`DROP INDEX CONCURRENTLY`".to_string()),
                _ => None,
            })
        }
        _ => None,
    }
}

/// An earlier `op.execute("COMMIT")` (or `END`) ended the migration's transaction by hand.
fn committed_before(earlier: &[OpCall<'_>], src: &str) -> bool {
    earlier.iter().filter(|op| op.name == "execute").any(|op| {
        alembic::literal_sql(op.call, src)
            .and_then(|sql| alembic::statement_keywords(&sql, 1))
            .is_some_and(|s| s.iter().any(|w| matches!(w.as_slice(), [Keyword::COMMIT | Keyword::END])))
    })
}
