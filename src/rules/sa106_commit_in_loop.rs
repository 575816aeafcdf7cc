//! SA106 commit-in-loop: `session.commit()` on every iteration of a loop over
//! clearly bounded data. Precision first: conditional commits, batch loops, retry
//! loops, per-item transactions, `while` loops and unknown iterables are skipped.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::loops;
use crate::python::{self, unparen, DbHandle};
use crate::query;

/// How many variable hops we follow to find what a loop iterates.
const MAX_HOPS: usize = 4;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("call") else { return };
    let src = checker.source();
    // `repo.commit("message")`, `git.commit(all=True)`: not a database commit.
    if !python::arguments(call).is_empty() {
        return;
    }
    let Some(receiver) = python::receiver(call) else { return };
    let Some(handle) = python::db_handle(receiver, src) else { return };
    // The commit is a statement of its own: `session.commit()` / `await session.commit()`.
    let expr = match call.up() {
        Some(parent) if parent.kind_str() == "await" => parent,
        _ => call,
    };
    let Some(statement) = expr.up().filter(|p| p.kind_str() == "expression_statement") else { return };
    let Some(place) = loops::enclosing_for(statement) else { return };
    if place.handled || place.leaves_after || loops::within_while(place.node) {
        return;
    }
    let for_loop = place.node;
    let (Some(left), Some(right)) = (for_loop.field("left"), for_loop.field("right"))
    else {
        return;
    };
    let var = checker.text(left);
    if is_retry_name(var) || is_batch_name(var) {
        return;
    }
    if var.starts_with('_') || handles_failures_per_item(for_loop, src) || !is_bounded(right, src, 0) {
        return;
    }
    let body = loops::body_nodes(for_loop);
    let bound = loop_bound_names(left, &body, src);
    // A session or connection opened per iteration: the loop has one per item, not a commit to move.
    let receiver_root = root_name(receiver, src);
    if receiver_root.is_some_and(|root| bound.contains(&root)) {
        return;
    }
    // Per-group commits (an inner loop over a query's rows), or no per-item write to commit
    // (a progress or status object committed to publish it).
    if has_inner_query_loop(for_loop, &body, src) || !writes_per_item(&body, &bound, receiver, handle, src) {
        return;
    }
    // Under an `if`: only an item filter (`if user.stale:` around the item's own work), never a
    // batch condition (`if i % 100 == 0:`, `if len(pending) >= size:`) or an `elif` / `else`.
    if place.conditional && !is_filtered_item_commit(statement, for_loop, &bound, receiver, handle, src) {
        return;
    }
    let header = loop_header(var, checker.text(right));
    let commit = checker.text(expr);
    let line = checker.line_of(for_loop);
    let (message, help) = match handle {
        DbHandle::Session => (
            format!(
                "`{commit}` on every iteration of `{header}` (line {line}): a transaction, flush and disk sync per \
                 item, and every loaded object is expired (reloaded on next use)"
            ),
            "commit once after the loop (or `with session.begin():` around it); to bound memory on large loads, \
             flush in batches and commit at the end",
        ),
        DbHandle::Connection => (
            format!("`{commit}` on every iteration of `{header}` (line {line}): a transaction and disk sync per item"),
            "commit once after the loop (or run it in `with engine.begin() as conn:`); to bound the transaction on \
             large loads, execute in batches and commit at the end",
        ),
    };
    checker.report(expr.byte_range(), message, help);
}

/// `for user in users`, shortened when the iterable is long.
fn loop_header(var: &str, iterable: &str) -> String {
    let iterable = iterable.split_whitespace().collect::<Vec<_>>().join(" ");
    if iterable.chars().count() <= 50 {
        format!("for {var} in {iterable}")
    } else {
        format!("for {var} in ...")
    }
}

fn is_retry_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["attempt", "retry", "retries", "tries", "try_"].iter().any(|w| lower.contains(w))
}

/// Names of batches rather than items: `batch`, `chunk`, `page`, `partition`, `slice`, `bucket`.
fn is_batch_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["batch", "chunk", "page", "partition", "slice", "bucket", "grouper", "groupby", "window"]
        .iter()
        .any(|w| lower.contains(w))
}

/// Per-item transactions on purpose: the loop body rolls back or opens savepoints.
fn handles_failures_per_item(for_loop: Node<'_>, src: &str) -> bool {
    loops::body_nodes(for_loop).into_iter().any(|node| {
        node.kind_str() == "call"
            && python::receiver(node).is_some()
            && matches!(python::callee_name(node, src), Some("rollback" | "begin_nested"))
    })
}

/// Is `node` clearly bounded data (not a consumer, queue or stream, not batches)?
fn is_bounded(node: Node<'_>, src: &str, depth: usize) -> bool {
    if depth > MAX_HOPS {
        return false;
    }
    let node = unparen(node);
    match node.kind_str() {
        "list" | "tuple" | "set" => {
            let mut cursor = node.walk();
            let items = node.named_children(&mut cursor).filter(|c| c.kind_str() != "comment").count();
            items > 3
        }
        "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
            !is_batched_comprehension(node, src)
        }
        "call" => is_bounded_call(node, src, depth),
        "await" => node.named_child(0).is_some_and(|inner| is_query(inner, src)),
        "identifier" => {
            let name = src.get(node.byte_range()).unwrap_or("");
            if is_batch_name(name) {
                return false;
            }
            if let Some(value) = python::bound_value(node, src) {
                return is_bounded(value, src, depth + 1);
            }
            if let Some(annotation) = python::parameter_annotation(node, src) {
                return is_collection_annotation(src.get(annotation.byte_range()).unwrap_or(""));
            }
            false
        }
        // `user.posts`: a relationship collection of an entity.
        "attribute" => {
            let name = node.field("attribute").and_then(|a| src.get(a.byte_range())).unwrap_or("");
            !is_batch_name(name) && loops::origin(node, src).is_some()
        }
        // `rows[1:]`, `data["items"]` of bounded data.
        "subscript" => node.field("value").is_some_and(|value| is_bounded(value, src, depth + 1)),
        _ => false,
    }
}

fn is_bounded_call(call: Node<'_>, src: &str, depth: usize) -> bool {
    let Some(name) = python::callee_name(call, src) else { return false };
    if is_batch_name(name) || matches!(name, "batched" | "chunked" | "ichunked" | "grouper" | "paginate") {
        return false;
    }
    let receiver = python::receiver(call).map(unparen);
    let receiver_text = receiver.and_then(|r| src.get(r.byte_range()));
    let positional = python::positional_arguments(call);
    match (name, receiver_text) {
        // `range(n)`, `range(a, b)`; a step means batches, a tiny literal bound means retries.
        ("range", None) => match positional.as_slice() {
            [stop] => !is_small_literal(*stop, src),
            [_, _] => true,
            _ => false,
        },
        ("enumerate" | "sorted" | "reversed" | "list" | "tuple" | "set" | "frozenset" | "zip" | "iter", None) => {
            positional.first().is_some_and(|first| is_bounded(*first, src, depth + 1))
        }
        ("open", None) => true,
        ("reader" | "DictReader", None | Some("csv")) => true,
        ("load" | "loads", Some("json")) => true,
        ("readlines", Some(_)) => true,
        ("items" | "values" | "keys", Some(_)) if python::arguments(call).is_empty() => true,
        _ => is_query(call, src),
    }
}

fn is_small_literal(node: Node<'_>, src: &str) -> bool {
    let node = unparen(node);
    node.kind_str() == "integer" && src.get(node.byte_range()).and_then(|t| t.parse::<u64>().ok()).is_some_and(|n| n <= 3)
}

/// A query's results, in any dialect; `.partitions()` yields batches.
fn is_query(node: Node<'_>, src: &str) -> bool {
    let node = unparen(node);
    let node = if node.kind_str() == "await" { node.named_child(0).map(unparen).unwrap_or(node) } else { node };
    if let Some(found) = query::resolve_query(node, src) {
        return !found.chain.names().any(|n| matches!(n, "partitions" | "fetchmany" | "first" | "one" | "scalar"));
    }
    loops::origin(node, src).is_some()
}

/// `[rows[i:i + n] for i in range(0, len(rows), n)]`: a comprehension of batches.
fn is_batched_comprehension(node: Node<'_>, src: &str) -> bool {
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
    let body = node.field("body").map(unparen);
    if body.is_some_and(|b| b.kind_str() == "subscript" && has_slice(b)) {
        return true;
    }
    children.iter().filter(|c| c.kind_str() == "for_in_clause").any(|clause| {
        let right = clause.field("right").map(unparen);
        let left = clause.field("left").and_then(|l| src.get(l.byte_range())).unwrap_or("");
        is_batch_name(left)
            || right.is_some_and(|r| {
                r.kind_str() == "call"
                    && (python::callee_name(r, src) == Some("range") && python::positional_arguments(r).len() == 3
                        || python::callee_name(r, src).is_some_and(is_batch_name))
            })
    })
}

fn has_slice(subscript: Node<'_>) -> bool {
    let mut cursor = subscript.walk();
    let found = subscript.named_children(&mut cursor).any(|c| c.kind_str() == "slice");
    found
}

/// `list[...]`, `List[...]`, `Sequence[...]`, `Iterable[...]`, `set[...]`, `tuple[...]`,
/// `Collection[...]` (possibly `typing.`-qualified).
fn is_collection_annotation(annotation: &str) -> bool {
    let head = annotation.split('[').next().unwrap_or("").trim();
    let head = head.rsplit('.').next().unwrap_or(head);
    matches!(
        head,
        "list"
            | "List"
            | "Sequence"
            | "MutableSequence"
            | "Iterable"
            | "Collection"
            | "set"
            | "Set"
            | "frozenset"
            | "FrozenSet"
            | "tuple"
            | "Tuple"
    )
}

/// The identifier at the root of `a.b[c].d()`.
fn root_name<'s>(node: Node<'_>, src: &'s str) -> Option<&'s str> {
    let mut current = unparen(node);
    loop {
        current = match current.kind_str() {
            "attribute" => unparen(current.field("object")?),
            "subscript" => unparen(current.field("value")?),
            "call" => unparen(current.field("function")?),
            "identifier" => return src.get(current.byte_range()),
            _ => return None,
        };
    }
}

/// Names bound per iteration: the loop targets, and names assigned or bound by `with ... as`
/// or an inner `for` in the body.
fn loop_bound_names<'s>(left: Node<'_>, body: &[Node<'_>], src: &'s str) -> Vec<&'s str> {
    let mut names = Vec::new();
    let mut targets = vec![left];
    for node in body {
        match node.kind_str() {
            "assignment" => targets.extend(node.field("left")),
            "for_statement" => targets.extend(node.field("left")),
            "as_pattern_target" => targets.push(*node),
            _ => {}
        }
    }
    while let Some(target) = targets.pop() {
        match target.kind_str() {
            "identifier" => names.extend(src.get(target.byte_range())),
            "pattern_list" | "tuple_pattern" | "list_pattern" | "as_pattern_target" | "parenthesized_expression" => {
                let mut cursor = target.walk();
                targets.extend(target.named_children(&mut cursor));
            }
            _ => {}
        }
    }
    names
}

/// Session / connection / cursor methods that write.
const WRITE_METHODS: &[&str] = &[
    "add",
    "add_all",
    "merge",
    "delete",
    "execute",
    "executemany",
    "exec",
    "flush",
    "bulk_save_objects",
    "bulk_insert_mappings",
    "bulk_update_mappings",
];

/// Methods that mutate the object (or collection) they are called on.
fn is_mutator(name: &str) -> bool {
    matches!(
        name,
        "append" | "extend" | "remove" | "insert" | "add" | "update" | "discard" | "clear" | "pop" | "setdefault"
    ) || name.starts_with("set_")
        || name.starts_with("update_")
}

/// Does the body change data per item: a write through a session, connection or cursor, or an
/// assignment / mutation of an object bound in the iteration (`user.name = ...`,
/// `obj.tags.append(t)`, `setattr(row, ...)`)?
fn writes_per_item(body: &[Node<'_>], bound: &[&str], receiver: Node<'_>, handle: DbHandle, src: &str) -> bool {
    let receiver_text = src.get(receiver.byte_range()).unwrap_or("");
    let is_bound = |node: Node<'_>| root_name(node, src).is_some_and(|root| bound.contains(&root));
    // `user.name`, `obj.data["k"]`: an attribute of a per-iteration object (not `row["k"]` of a dict).
    let is_bound_attribute = |node: Node<'_>| has_attribute_hop(node) && is_bound(node);
    body.iter().any(|node| match node.kind_str() {
        "assignment" | "augmented_assignment" => node.field("left").is_some_and(is_bound_attribute),
        "delete_statement" => {
            let mut cursor = node.walk();
            let targets: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
            targets.into_iter().any(is_bound_attribute)
        }
        "call" => {
            let name = python::callee_name(*node, src).unwrap_or("");
            let Some(object) = python::receiver(*node).map(unparen) else {
                // `setattr(obj, "x", v)`
                return name == "setattr"
                    && python::positional_arguments(*node).first().is_some_and(|first| is_bound(*first));
            };
            let text = src.get(object.byte_range()).unwrap_or("");
            let last = text.rsplit('.').next().unwrap_or(text).to_ascii_lowercase();
            // A DB-API cursor writes for `conn.commit()`, not for a session's commit.
            let cursor = handle == DbHandle::Connection && (last.ends_with("cursor") || last == "cur");
            let db = text == receiver_text || python::db_handle_by_name(&last).is_some() || cursor;
            // `obj.tags.append(t)`, `obj.set_owner(u)`; not `payload.update(...)` of a plain dict.
            let mutates = is_mutator(name)
                && is_bound(object)
                && (has_attribute_hop(object) || name.starts_with("set_") || name.starts_with("update_"));
            (db && WRITE_METHODS.contains(&name)) || mutates
        }
        _ => false,
    })
}

/// An inner `for` loop over a query's rows: the commit closes a group of rows, not one item.
fn has_inner_query_loop(for_loop: Node<'_>, body: &[Node<'_>], src: &str) -> bool {
    body.iter().any(|node| {
        node.kind_str() == "for_statement"
            && node.id() != for_loop.id()
            && node.field("right").is_some_and(|r| query::resolve_query(unparen(r), src).is_some())
    })
}

/// Is there an attribute step in `a.b`, `a.b[0]`, `a.b.c`?
fn has_attribute_hop(node: Node<'_>) -> bool {
    let mut current = unparen(node);
    loop {
        match current.kind_str() {
            "attribute" => return true,
            "subscript" => match current.field("value") {
                Some(value) => current = unparen(value),
                None => return false,
            },
            _ => return false,
        }
    }
}

/// A commit under `if` blocks that filter items: every `if` between the commit and the loop
/// body is a plain `if` (no `elif` / `else` / `case`) whose condition reads a per-iteration name
/// and has no counter arithmetic, and the innermost one writes the item before committing.
fn is_filtered_item_commit(
    statement: Node<'_>,
    for_loop: Node<'_>,
    bound: &[&str],
    receiver: Node<'_>,
    handle: DbHandle,
    src: &str,
) -> bool {
    let mut innermost: Option<Node<'_>> = None;
    let mut child = statement;
    for ancestor in python::ancestors(statement) {
        if ancestor.id() == for_loop.id() {
            break;
        }
        match ancestor.kind_str() {
            "elif_clause" | "else_clause" | "case_clause" | "match_statement" => return false,
            "if_statement" => {
                let Some(condition) = ancestor.field("condition") else { return false };
                // The commit must be in the `if` block itself, not in its `elif` / `else`.
                if ancestor.field("consequence").is_none_or(|c| c.id() != child.id()) {
                    return false;
                }
                if !is_item_filter(condition, bound, src) {
                    return false;
                }
                innermost.get_or_insert(ancestor);
            }
            _ => {}
        }
        child = ancestor;
    }
    let Some(block) = innermost.and_then(|i| i.field("consequence")) else { return false };
    let nodes: Vec<Node<'_>> =
        block_nodes(block).into_iter().filter(|n| n.end_byte() <= statement.start_byte()).collect();
    writes_per_item(&nodes, bound, receiver, handle, src)
}

/// Names that count rather than describe an item: `i`, `n`, `count`, `batch_size`, `pending`.
fn is_counter_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "i" | "j" | "k" | "n" | "idx" | "index" | "counter")
        || [
            "count",
            "size",
            "batch",
            "chunk",
            "every",
            "threshold",
            "limit",
            "pending",
            "buffer",
            "total",
            "interval",
            "flush",
            "commit",
            "step",
            "num_",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// `user.stale`, `not existing`, `"?" in url.url`: reads a per-iteration name, and has no `%`,
/// no `len()`, no number and no counter-like name.
fn is_item_filter(condition: Node<'_>, bound: &[&str], src: &str) -> bool {
    let mut reads_item = false;
    let mut stack = vec![condition];
    let mut budget = 256;
    while let Some(node) = stack.pop() {
        budget -= 1;
        if budget == 0 {
            return false;
        }
        match node.kind_str() {
            "integer" | "float" | "lambda" => return false,
            "binary_operator" => {
                let operator = node.field("operator").and_then(|o| src.get(o.byte_range()));
                if operator == Some("%") {
                    return false;
                }
            }
            "call" if python::callee_name(node, src) == Some("len") => return false,
            // `item.count` names an attribute, not a variable: look at `item` only.
            "attribute" => {
                stack.extend(node.field("object"));
                continue;
            }
            "identifier" => {
                let name = src.get(node.byte_range()).unwrap_or("");
                if is_counter_name(name) {
                    return false;
                }
                reads_item |= bound.contains(&name);
            }
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    reads_item
}

/// Every node of a block, nested functions and classes left out. Iterative.
fn block_nodes(block: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![block];
    while let Some(node) = stack.pop() {
        if matches!(node.kind_str(), "function_definition" | "class_definition" | "lambda") {
            continue;
        }
        out.push(node);
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out
}
