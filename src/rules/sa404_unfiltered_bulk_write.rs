//! SA404 unfiltered-bulk-write: a bulk DELETE / UPDATE with no criteria — legacy
//! `session.query(M).delete()`, or an executed `delete(M)` / `update(M).values(...)`
//! (inline or through a local variable) that no `.where()` ever narrows.
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::loops;
use crate::python::{self, unparen};
use crate::query::{self, Dialect, DmlKind};

/// Links a legacy query may carry between `query()` and the write without adding criteria.
const NEUTRAL_LINKS: &[&str] = &["execution_options", "options", "enable_eagerloads", "populate_existing"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    // Backfills in migrations and table resets in tests change every row on purpose.
    let Some(node) = m.get("write").or_else(|| m.get("execute")) else { return };
    if python::in_migration(node, checker.source()) || python::in_test_code(node, checker.source()) {
        return;
    }
    if let Some(write) = m.get("write") {
        legacy_write(checker, write);
    } else if let Some(execute) = m.get("execute") {
        executed_statement(checker, execute);
    }
}

/// `session.query(User).delete()`, `User.query.update({...})`, `q.delete()` after `q = session.query(User)`.
fn legacy_write(checker: &mut Checker<'_>, write: Node<'_>) {
    let src = checker.source();
    let Some(name) = python::callee_name(write, src) else { return };
    // `Query.update(values)` always takes the values; `x.update()` with none is something else.
    if name == "update" && python::positional_arguments(write).is_empty() {
        return;
    }
    let Some(receiver) = python::receiver(write) else { return };
    let Some(found) = query::resolve_query(receiver, src) else { return };
    if found.dialect != Dialect::Legacy {
        return;
    }
    if found.chain.links.iter().skip(found.start + 1).any(|l| !NEUTRAL_LINKS.contains(&l.name)) {
        return;
    }
    let what = found.entity(src).map_or("the queried table".to_string(), |e| format!("`{e}`"));
    let verb = if name == "delete" { "deletes" } else { "updates" };
    let written = python::one_line(checker.text(write), 80);
    let receiver_text = checker.text(receiver);
    checker.report(
        write.byte_range(),
        format!("`{written}` {verb} every row of {what}: the query has no filter"),
        format!(
            "add the criteria: `{receiver_text}.filter(...).{name}(...)`; if changing every row is intended, say so \
             with `# noqa: SA404`"
        ),
    );
}

/// `session.execute(delete(User))`, `conn.execute(users.delete())`, `session.execute(stmt)`.
fn executed_statement(checker: &mut Checker<'_>, execute: Node<'_>) {
    let src = checker.source();
    let positional = python::positional_arguments(execute);
    // Parameters (`execute(update(User), [{...}])`) make it an executemany or a bulk UPDATE by primary key.
    let [statement] = positional.as_slice() else { return };
    if python::arguments(execute).iter().any(|a| matches!(a.kind_str(), "list_splat" | "dictionary_splat"))
        || python::keyword_argument(execute, "params", src).is_some()
        || python::keyword_argument(execute, "parameters", src).is_some()
    {
        return;
    }
    let statement = unparen(*statement);
    let built = match statement.kind_str() {
        "call" => Some(statement),
        // Every assignment before the use must build an unfiltered write: `stmt = stmt.where(...)`
        // anywhere (an `if` included) means criteria may apply.
        "identifier" => {
            let values = loops::assignments_before(statement, src);
            if values.is_empty() || values.iter().any(|v| unfiltered_write(*v, src).is_none()) {
                return;
            }
            values.last().copied()
        }
        _ => None,
    };
    let Some(built) = built else { return };
    let Some((kind, target)) = unfiltered_write(built, src) else { return };
    let sql = kind.sql();
    let what = target.map_or("the table".to_string(), |t| format!("`{}`", checker.text(t)));
    let verb = if kind == DmlKind::Delete { "deletes" } else { "updates" };
    let written = python::one_line(checker.text(built), 80);
    let via = if statement.kind_str() == "identifier" {
        format!(" (`{}` is `{written}`)", checker.text(statement))
    } else {
        String::new()
    };
    // `users.delete()` on a Core table: its columns are `users.c.<name>`.
    let fix = match target.map(|t| checker.text(t)) {
        Some(t) if checker.text(built).starts_with(&format!("{t}.")) => {
            format!("`.where(...)` on the statement, e.g. `{t}.{}().where({t}.c.id == ...)`", sql.to_lowercase())
        }
        Some(t) => {
            // A lowercase target is a `Table` (`update(users)`), whose columns are `users.c.<name>`.
            let columns = if t.starts_with(|c: char| c.is_lowercase()) { format!("{t}.c") } else { t.to_string() };
            format!("`.where(...)` on the statement, e.g. `{}({t}).where({columns}.id == ...)`", sql.to_lowercase())
        }
        None => "`.where(...)` on the statement".to_string(),
    };
    let executed = python::one_line(checker.text(execute), 80);
    checker.report(
        execute.byte_range(),
        format!("`{executed}` {verb} every row of {what}: the {sql}{via} has no WHERE clause"),
        format!("add the criteria with {fix}; if changing every row is intended, say so with `# noqa: SA404`"),
    );
}

/// A DELETE / UPDATE statement with no criteria: `delete(User)`, `update(User).values(...)`,
/// `users.update().values(...)`, or a bare Core `users.delete()`; its kind and target.
fn unfiltered_write<'t>(node: Node<'t>, src: &'t str) -> Option<(DmlKind, Option<Node<'t>>)> {
    let node = unparen(node);
    if let Some(dml) = query::dml_statement(node, src) {
        return (!dml.has_where && dml.kind != DmlKind::Insert).then_some((dml.kind, dml.target));
    }
    // `users.delete()` / `Model.__table__.delete()` on its own: a Core DELETE of the whole table.
    if node.kind_str() == "call" && python::callee_name(node, src) == Some("delete") && python::arguments(node).is_empty() {
        let receiver = python::receiver(node)?;
        python::dotted_name(receiver, src)?;
        return Some((DmlKind::Delete, Some(receiver)));
    }
    None
}
