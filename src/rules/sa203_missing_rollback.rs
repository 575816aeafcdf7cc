//! SA203 missing-rollback: an `except` that swallows a failed `commit()` / `flush()`
//! without `rollback()`. A failed flush leaves the session's transaction inactive;
//! until `rollback()`, every later use raises `PendingRollbackError`. Precision
//! first: handlers that re-raise, roll back or close, handlers that cannot catch a
//! database error, writes managed by `with session.begin():` or a `with` session,
//! and sessions local to the function that are not used after the `try` are clean.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python::{self, unparen, DbHandle};
use crate::sessions;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(try_statement), Some(handler)) = (m.get("try"), m.get("handler")) else { return };
    let src = checker.source();
    let Some(body) = try_statement.field("body") else { return };
    // Only a `commit()` or `flush()` in the body is reported: most `try` bodies spell neither.
    let body_text = src.get(body.byte_range()).unwrap_or_default();
    if !body_text.contains("commit") && !body_text.contains("flush") {
        return;
    }
    if !catches_database_errors(handler, src) || recovers(handler, src) {
        return;
    }
    // A `finally:` that rolls back or closes the session also recovers it.
    let mut cursor = try_statement.walk();
    let finally_recovers = try_statement
        .named_children(&mut cursor)
        .filter(|c| c.kind_str() == "finally_clause")
        .any(|f| recovers(f, src));
    if finally_recovers {
        return;
    }
    let Some(write) = unmanaged_writes(body, src).into_iter().find(|w| !is_local_and_done(*w, try_statement, src))
    else {
        return;
    };
    let Some(receiver) = python::receiver(write) else { return };
    let session = checker.text(receiver);
    let call = checker.text(write);
    let line = checker.line_of(write);
    let header = handler_header(handler, src);
    let range = handler.start_byte()..header.map_or(handler.end_byte(), |h| h.end_byte());
    let header_text = checker.source().get(range.clone()).unwrap_or("except:").to_string();
    let header_text = header_text.split_whitespace().collect::<Vec<_>>().join(" ");
    // `await session.commit()`: an `AsyncSession`, whose rollback is awaited too.
    let awaited = write.up().is_some_and(|p| p.kind_str() == "await");
    let (rollback, with) = if awaited {
        (format!("await {session}.rollback()"), format!("async with {session}.begin():"))
    } else {
        (format!("{session}.rollback()"), format!("with {session}.begin():"))
    };
    let message = format!(
        "`{header_text}` swallows a failed `{call}` (line {line}) without `{rollback}`: after a failed flush the \
         session's transaction is inactive, and its next use raises `PendingRollbackError`"
    );
    let help = format!(
        "call `{rollback}` first in this `except` block (or re-raise with `raise`), or run the work in `{with}`, \
         which rolls back on error"
    );
    checker.report(range, message, help);
}

/// Exception names a failed flush or commit can be caught as.
fn is_database_error_name(name: &str) -> bool {
    matches!(
        name,
        "Exception"
            | "BaseException"
            | "SQLAlchemyError"
            | "DBAPIError"
            | "DatabaseError"
            | "IntegrityError"
            | "OperationalError"
            | "ProgrammingError"
            | "DataError"
            | "InternalError"
            | "NotSupportedError"
            | "InterfaceError"
            | "StatementError"
            | "InvalidRequestError"
            | "FlushError"
            | "StaleDataError"
    )
}

/// Does the handler catch what a failed flush raises? Bare `except:`, `Exception`,
/// `SQLAlchemyError`, `IntegrityError`, ..., also in a tuple or qualified (`exc.IntegrityError`).
/// Handlers of other exceptions (`ValueError`, a project's own error) never see it.
fn catches_database_errors(handler: Node<'_>, src: &str) -> bool {
    let Some(types) = python::named_children(handler).into_iter().find(|c| c.kind_str() != "block") else {
        return true;
    };
    let types = if types.kind_str() == "as_pattern" { types.named_child(0).unwrap_or(types) } else { types };
    let types = unparen(types);
    let items = if types.kind_str() == "tuple" { python::named_children(types) } else { vec![types] };
    items.into_iter().any(|item| {
        python::dotted_name(item, src).is_some_and(|d| is_database_error_name(d.rsplit('.').next().unwrap_or(&d)))
    })
}

/// Does a handler (or `finally:`) propagate the error or restore the session: any `raise`, a call
/// of something named `*rollback*` / `raise*` / `abort` / `exit` / `fail`, or `<session>.close()` /
/// `.remove()` (closing discards the failed transaction)?
fn recovers(clause: Node<'_>, src: &str) -> bool {
    python::scope_nodes(clause).into_iter().any(|node| match node.kind_str() {
        "raise_statement" => true,
        "call" => {
            let name = python::callee_name(node, src).unwrap_or("").to_ascii_lowercase();
            name.contains("rollback")
                || name.starts_with("raise")
                || name.starts_with("reraise")
                || matches!(name.as_str(), "abort" | "exit" | "_exit" | "fail")
                || (matches!(name.as_str(), "close" | "remove")
                    && python::receiver(node).is_some_and(|r| python::db_handle(r, src) == Some(DbHandle::Session)))
        }
        _ => false,
    })
}

/// `session.commit()` / `session.flush()` calls run directly by the `try` body on a session,
/// leaving out those a nearer construct handles: inside `with session.begin():` /
/// `begin_nested()`, inside a `with` that opens the session, or in a nested `try` with handlers.
fn unmanaged_writes<'t>(body: Node<'t>, src: &str) -> Vec<Node<'t>> {
    python::scope_nodes(body)
        .into_iter()
        .filter(|node| node.kind_str() == "call")
        .filter(|call| match python::callee_name(*call, src) {
            Some("commit") => python::arguments(*call).is_empty(),
            Some("flush") => true,
            _ => false,
        })
        .filter(|call| {
            python::receiver(*call).is_some_and(|r| python::db_handle(r, src) == Some(DbHandle::Session))
        })
        .filter(|call| !is_managed(*call, body, src))
        .collect()
}

/// Is the write inside a construct (below the `try` body) that deals with its failure?
fn is_managed(call: Node<'_>, body: Node<'_>, src: &str) -> bool {
    let root = python::receiver(call).map(|r| python::chain(r, src).root);
    let root_name = root.and_then(|r| (r.kind_str() == "identifier").then(|| src.get(r.byte_range())).flatten());
    for ancestor in python::ancestors(call) {
        if ancestor == body {
            return false;
        }
        match ancestor.kind_str() {
            "with_statement" => {
                let items = with_items(ancestor);
                for item in items {
                    let (value, alias) = match item.named_child(0) {
                        Some(pattern) if pattern.kind_str() == "as_pattern" => {
                            let alias = pattern.field("alias").and_then(|a| a.named_child(0).or(Some(a)));
                            (pattern.named_child(0), alias)
                        }
                        other => (other, None),
                    };
                    let value = value.map(unparen);
                    // `with session.begin():`, `with Session.begin() as s:`, `with s.begin_nested():`
                    let begins = value.is_some_and(|v| {
                        let v = if v.kind_str() == "await" { v.named_child(0).map(unparen).unwrap_or(v) } else { v };
                        v.kind_str() == "call" && matches!(python::callee_name(v, src), Some("begin" | "begin_nested"))
                    });
                    // `with Session(engine) as s:`: closed (and rolled back) before any handler runs.
                    let opens = alias.is_some_and(|a| root_name.is_some() && src.get(a.byte_range()) == root_name);
                    if begins || opens {
                        return true;
                    }
                }
            }
            "try_statement" => {
                let mut cursor = ancestor.walk();
                if ancestor.named_children(&mut cursor).any(|c| c.kind_str() == "except_clause") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn with_items(with_statement: Node<'_>) -> Vec<Node<'_>> {
    python::named_children(with_statement)
        .into_iter()
        .filter(|c| c.kind_str() == "with_clause")
        .flat_map(python::named_children)
        .filter(|c| c.kind_str() == "with_item")
        .collect()
}

/// A session opened in this function (assigned from a call, or by `with ... as s:` around the
/// `try`) and not used after the `try`: its failed state reaches nobody.
fn is_local_and_done(call: Node<'_>, try_statement: Node<'_>, src: &str) -> bool {
    let Some(receiver) = python::receiver(call).map(unparen) else { return false };
    if receiver.kind_str() != "identifier" {
        return false;
    }
    let Some(name) = src.get(receiver.byte_range()) else { return false };
    let Some(function) = python::enclosing_function(try_statement) else { return false };
    let Some(value) = python::bound_value(receiver, src) else { return false };
    // `with get_db() as db:` around the `try` (even rebinding a parameter): the context manager
    // that opened it ends it; `db = SessionLocal()`: opened here.
    let with_bound = value.up().is_some_and(|p| p.kind_str() == "as_pattern");
    let is_param = python::parameter_annotation(receiver, src).is_some() || sessions::is_parameter(function, name, src);
    if is_param && !with_bound {
        return false;
    }
    let value = unparen(value);
    let value = if value.kind_str() == "await" { value.named_child(0).map(unparen).unwrap_or(value) } else { value };
    if value.kind_str() != "call" {
        return false;
    }
    // In a loop, the next iteration uses the failed session again.
    let in_loop = python::ancestors(try_statement)
        .take_while(|a| *a != function)
        .any(|a| matches!(a.kind_str(), "for_statement" | "while_statement"));
    if in_loop {
        return false;
    }
    // Any read of the name after the `try` statement, in the same function.
    let Some(body) = function.field("body") else { return false };
    // Closing it afterwards (`session.close()`) discards the failed transaction: not a use.
    let used_after = python::scope_nodes(body).into_iter().any(|n| {
        n.kind_str() == "identifier"
            && n.start_byte() >= try_statement.end_byte()
            && src.get(n.byte_range()) == Some(name)
            && !is_closed_by(n, src)
    });
    // A `return session` / `yield session` inside the try also hands it on.
    let handed_on = python::scope_nodes(try_statement).into_iter().any(|n| {
        matches!(n.kind_str(), "return_statement" | "yield")
            && python::named_children(n).into_iter().any(|v| src.get(v.byte_range()) == Some(name))
    });
    !used_after && !handed_on
}

/// `name.close()` / `name.remove()`, with `name` the identifier node.
fn is_closed_by(name: Node<'_>, src: &str) -> bool {
    let Some(attribute) = name.up().filter(|p| p.kind_str() == "attribute") else { return false };
    let Some(call) = attribute.up().filter(|p| p.kind_str() == "call") else { return false };
    attribute.field("object") == Some(name)
        && matches!(python::callee_name(call, src), Some("close" | "remove"))
}

/// The `except ... :` header of a handler: the `:` token that ends it.
fn handler_header<'t>(handler: Node<'t>, _src: &str) -> Option<Node<'t>> {
    let mut cursor = handler.walk();
    let colon = handler.children(&mut cursor).find(|c| c.kind_str() == ":");
    colon
}
