//! SA405 limit-without-order: `.limit(n)` / `.offset(n)` on a legacy query or an executed
//! `select()` that has no `order_by()` — which rows come back is up to the database.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::loops;
use crate::python::{self, unparen, Link};
use crate::query::{self, Dialect};

/// Calls that run a 2.0 statement.
const EXECUTORS: &[&str] = &["execute", "scalars", "scalar", "exec", "stream", "stream_scalars", "paginate"];
/// Links after which the order of the limited rows no longer matters (only whether any exist / how many).
const ORDER_FREE: &[&str] = &["exists", "count"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("limit") else { return };
    let src = checker.source();
    let outer = outermost_call(call);
    let chain = python::chain(outer, src);
    // Report once per chain, on its last `.limit()` / `.offset()`.
    let Some(last) = chain.links.iter().rposition(|l| matches!(l.name, "limit" | "offset")) else { return };
    if chain.links.get(last).and_then(|l| l.call).map(|c| c.id()) != Some(call.id()) {
        return;
    }
    if !python::positional_arguments(call).first().is_some_and(|a| limits(*a, src)) {
        return;
    }
    let Some((links, entity, legacy)) = sqlalchemy_links(outer, &chain, src) else { return };
    if links.iter().any(|l| l.name == "order_by") || chain.links.iter().skip(last + 1).any(|l| ORDER_FREE.contains(&l.name))
    {
        return;
    }
    let paged = links.iter().any(|l| l.name == "offset");
    // `.limit(1)` / `.limit(2)`: a probe (does one exist, is it unique) or "the row that matches": any rows do.
    let count = python::positional_arguments(call).first().map(|a| checker.text(*a).trim());
    if !paged && matches!(count, Some("1" | "2")) {
        return;
    }
    // A batch in a `while` loop with no offset is worked off until the criteria match nothing.
    if !paged && loops::within_while(call) {
        return;
    }
    // Tests read the SQL or tiny tables: deterministic enough, and noisy to report.
    if python::in_test_code(call, src) {
        return;
    }
    // A 2.0 statement can still be ordered by whoever runs it: only an executed one is complete.
    if !legacy && !executed_here(outer, src) {
        return;
    }
    let name = python::callee_name(call, src).unwrap_or("limit");
    // `limit(10)`: the link itself, from its name to the end of the call.
    let start = call
        .field("function")
        .and_then(|f| f.field("attribute"))
        .map_or(call.start_byte(), |a| a.start_byte());
    let range = start..call.end_byte();
    let written = python::one_line(src.get(range.clone()).unwrap_or(name), 40);
    let key = entity.map_or("<primary key column>".to_string(), |e| format!("{e}.<primary key>"));
    checker.report(
        range,
        format!(
            "`.{written}` on a query with no `order_by()`: SQL defines no row order, so which rows are {} can change \
             between runs, and pages can repeat or skip rows",
            if name == "limit" { "returned" } else { "skipped" }
        ),
        format!(
            "order the query by a unique key first, e.g. `.order_by({key}).{written}`; when sorting by another \
             column, end the ordering with the key"
        ),
    );
}

/// A row count or offset that limits anything: not `None` / `0` (no limit, no offset).
fn limits(arg: Node<'_>, src: &str) -> bool {
    let arg = unparen(arg);
    let text = src.get(arg.byte_range()).unwrap_or("");
    arg.kind_str() != "keyword_argument" && arg.kind_str() != "none" && text != "0"
}

/// The outermost call of the method chain `call` is part of: `q.limit(5).all()` for `q.limit(5)`.
fn outermost_call(call: Node<'_>) -> Node<'_> {
    let mut current = call;
    while let Some(attribute) = current.up().filter(|p| p.kind_str() == "attribute") {
        match attribute.up().filter(|p| p.kind_str() == "call") {
            Some(outer) => current = outer,
            None => break,
        }
    }
    current
}

/// The links of the whole query — across the variables it was built in — when `outer` is a
/// legacy query or a `select()`; with the queried entity and whether it is legacy.
fn sqlalchemy_links<'t>(
    outer: Node<'t>,
    chain: &python::Chain<'t>,
    src: &'t str,
) -> Option<(Vec<Link<'t>>, Option<&'t str>, bool)> {
    if let Some(found) = query::resolve_query(outer, src) {
        if found.dialect != Dialect::Legacy {
            return None;
        }
        // Any earlier value of the query variable that is ordered (`if sort: q = q.order_by(...)`) counts.
        if chain.root.kind_str() == "identifier" {
            for value in loops::assignments_before(chain.root, src) {
                if python::chain(unparen(value), src).names().any(|n| n == "order_by") {
                    return None;
                }
            }
        }
        let entity = found.entity(src);
        return Some((found.chain.links, entity, true));
    }
    // 2.0: `select(User)...`, `sa.select(...)`, `db.select(...)`, or a variable holding one.
    let mut links = chain.links.clone();
    let mut root = chain.root;
    for _ in 0..5 {
        let root_text = src.get(root.byte_range()).unwrap_or("");
        let first = links.first()?;
        let module = matches!(root_text, "select" | "sa" | "sqlalchemy" | "sql" | "expression" | "db" | "sqlmodel");
        if first.name == "select" && module {
            let select = first.call?;
            let entity = python::positional_arguments(select).first().and_then(|e| {
                let e = unparen(*e);
                (e.kind_str() == "identifier").then(|| src.get(e.byte_range())).flatten().filter(|n| query::is_class_name(n))
            });
            return Some((links, entity, false));
        }
        if root.kind_str() != "identifier" || root_text == "select" {
            return None;
        }
        let values = loops::assignments_before(root, src);
        let value = *values.last()?;
        if values.iter().any(|v| python::chain(unparen(*v), src).names().any(|n| n == "order_by")) {
            return None;
        }
        let earlier = python::chain(unparen(value), src);
        root = earlier.root;
        links = earlier.links.into_iter().chain(links).collect();
    }
    None
}

/// `session.execute(<outer>)`, or `stmt = <outer>` later executed as is with no `stmt.<method>` in between.
fn executed_here(outer: Node<'_>, src: &str) -> bool {
    let parent = outer.up();
    if parent.is_some_and(|p| p.kind_str() == "argument_list") {
        return parent.and_then(|p| p.up()).is_some_and(|call| is_executor_of(call, outer, src));
    }
    let Some(assignment) = parent.filter(|p| p.kind_str() == "assignment") else { return false };
    let Some(var) = assignment.field("left").filter(|l| l.kind_str() == "identifier") else { return false };
    let name = src.get(var.byte_range()).unwrap_or("");
    let Some(scope) = python::enclosing_function(assignment).or_else(|| python::ancestors(assignment).last()) else {
        return false;
    };
    let mut executed = false;
    let mut stack = vec![scope];
    while let Some(node) = stack.pop() {
        if node.kind_str() == "identifier" && node.start_byte() > assignment.end_byte() && src.get(node.byte_range()) == Some(name)
        {
            let Some(parent) = node.up() else { return false };
            match parent.kind_str() {
                "argument_list" if parent.up().is_some_and(|c| is_executor_of(c, node, src)) => executed = true,
                // `stmt.order_by(...)`, `stmt = ...`, returned, passed on: someone else may order it.
                _ => return false,
            }
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    executed
}

/// `call` is `<x>.execute(statement)` (or another executor) with `statement` as its first argument.
fn is_executor_of(call: Node<'_>, statement: Node<'_>, src: &str) -> bool {
    call.kind_str() == "call"
        && python::receiver(call).is_some()
        && python::callee_name(call, src).is_some_and(|n| EXECUTORS.contains(&n))
        && python::positional_arguments(call).first().is_some_and(|a| unparen(*a).id() == statement.id())
}
