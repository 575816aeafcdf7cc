//! SA104 add-in-loop: `session.add(obj)` once per iteration of a loop that builds
//! `obj`, with no other per-item session work (flush, commit, queries) in the loop.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::loops;
use crate::python::{self, unparen, DbHandle};
use crate::query;

/// Calls that do database work per item, whatever their receiver.
const PER_ITEM_WORK: &[&str] = &[
    "flush",
    "commit",
    "rollback",
    "begin_nested",
    "execute",
    "exec",
    "query",
    "scalars",
    "scalar",
    "scalar_one",
    "scalar_one_or_none",
    "get_or_create",
    "get_or_404",
    "first_or_404",
    "one_or_404",
    "bulk_save_objects",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(call), Some(obj)) = (m.get("call"), m.get("obj")) else { return };
    let src = checker.source();
    if matches!(obj.kind_str(), "keyword_argument" | "list_splat" | "dictionary_splat" | "comment") {
        return;
    }
    let Some(receiver) = python::receiver(call) else { return };
    if python::db_handle(receiver, src) != Some(DbHandle::Session) {
        return;
    }
    let Some(statement) = call.up().filter(|p| p.kind_str() == "expression_statement") else { return };
    let Some(place) = loops::enclosing_for(statement) else { return };
    if place.leaves_after || place.handled {
        return;
    }
    let for_loop = place.node;
    if for_loop.field("right").is_some_and(|r| is_tiny_literal(r, src)) {
        return;
    }
    let body = loops::body_nodes(for_loop);
    let Some(model) = built_in_loop(obj, call, &body, src) else { return };
    let session = checker.text(receiver);
    if does_per_item_work(&body, session, src) {
        return;
    }
    let var = for_loop.field("left").map_or("", |l| checker.text(l));
    let iterable = for_loop.field("right").map_or("", |r| checker.text(r));
    let iterable = iterable.split_whitespace().collect::<Vec<_>>().join(" ");
    let header =
        if iterable.chars().count() <= 50 { format!("for {var} in {iterable}") } else { format!("for {var} in ...") };
    let message = format!(
        "`{session}.add()` adds one new `{model}` per iteration of `{header}` (line {})",
        checker.line_of(for_loop)
    );
    let help = format!(
        "collect the objects and call `{session}.add_all(objs)` once after the loop; for bulk loads, \
         `{session}.execute(insert({model}), rows)` with a list of dicts skips per-object bookkeeping"
    );
    checker.report(call.byte_range(), message, help);
}

/// The model class of `obj` when it is built in this iteration: `add(User(...))`, or
/// `add(user)` after `user = User(...)` in the loop body. `None` for anything else.
fn built_in_loop<'s>(obj: Node<'_>, add: Node<'_>, body: &[Node<'_>], src: &'s str) -> Option<&'s str> {
    let obj = unparen(obj);
    match obj.kind_str() {
        "call" => constructed_class(obj, src),
        "identifier" => {
            let name = src.get(obj.byte_range())?;
            // The last assignment to `name` in the loop body before the `add`.
            let value = body
                .iter()
                .filter(|n| n.kind_str() == "assignment" && n.end_byte() <= add.start_byte())
                .filter(|n| n.field("left").is_some_and(|l| src.get(l.byte_range()) == Some(name)))
                .filter_map(|n| n.field("right"))
                .next_back()?;
            let value = unparen(value);
            (value.kind_str() == "call").then(|| constructed_class(value, src)).flatten()
        }
        _ => None,
    }
}

/// `User(...)`, `models.User(...)`, `User.from_dict(...)`: the class name.
fn constructed_class<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let function = unparen(call.field("function")?);
    let name = match function.kind_str() {
        "identifier" => src.get(function.byte_range())?,
        "attribute" => {
            let attr = src.get(function.field("attribute")?.byte_range())?;
            if is_class_name(attr) {
                attr
            } else {
                // `User.from_dict(row)`: an alternate constructor on a class.
                let object = unparen(function.field("object")?);
                let class = src.get(object.byte_range())?;
                let alternate = attr.starts_with("from_") || attr == "create";
                if object.kind_str() == "identifier" && is_class_name(class) && alternate {
                    class
                } else {
                    return None;
                }
            }
        }
        _ => return None,
    };
    is_class_name(name).then_some(name)
}

/// `User`, `OrderItem`; not `JSON` or `MAX_ROWS`.
fn is_class_name(name: &str) -> bool {
    query::is_class_name(name) && name.chars().any(|c| c.is_ascii_lowercase())
}

/// Does the loop body flush, commit, query or otherwise use the session per item?
fn does_per_item_work(body: &[Node<'_>], session: &str, src: &str) -> bool {
    body.iter().any(|node| match node.kind_str() {
        "call" => {
            let name = python::callee_name(*node, src).unwrap_or("");
            if PER_ITEM_WORK.contains(&name) || query::resolve_query(*node, src).is_some() {
                return true;
            }
            // `ti.set_state(state, session=session)`: the session handed to per-item work.
            let passes_session = python::arguments(*node).into_iter().any(|arg| {
                let value = if arg.kind_str() == "keyword_argument" { arg.field("value") } else { Some(arg) };
                value.is_some_and(|v| src.get(unparen(v).byte_range()) == Some(session))
            });
            if passes_session {
                return true;
            }
            // Any other method of the same session (or of another session) than `add`.
            python::receiver(*node).map(unparen).is_some_and(|r| {
                let text = src.get(r.byte_range()).unwrap_or("");
                let last = text.rsplit('.').next().unwrap_or(text);
                name != "add" && (text == session || python::db_handle_by_name(last) == Some(DbHandle::Session))
            })
        }
        // Flask-SQLAlchemy `User.query...`.
        "attribute" => {
            node.field("attribute").and_then(|a| src.get(a.byte_range())) == Some("query")
                && node
                    .field("object")
                    .and_then(|o| src.get(o.byte_range()))
                    .is_some_and(query::is_class_name)
        }
        _ => false,
    })
}

/// `(1, 2, 3)`, `["a", "b"]`, `range(3)`: three items or fewer, nothing to batch.
fn is_tiny_literal(iterable: Node<'_>, src: &str) -> bool {
    let iterable = unparen(iterable);
    match iterable.kind_str() {
        "list" | "tuple" | "set" => {
            let mut cursor = iterable.walk();
            let items: Vec<Node<'_>> = iterable.named_children(&mut cursor).filter(|c| c.kind_str() != "comment").collect();
            items.len() <= 3 && !items.iter().any(|i| matches!(i.kind_str(), "list_splat" | "parenthesized_list_splat"))
        }
        "call" if python::callee_name(iterable, src) == Some("range") && python::receiver(iterable).is_none() => {
            match python::positional_arguments(iterable).as_slice() {
                [stop] => {
                    let stop = unparen(*stop);
                    stop.kind_str() == "integer"
                        && src.get(stop.byte_range()).and_then(|t| t.parse::<u64>().ok()).is_some_and(|n| n <= 3)
                }
                _ => false,
            }
        }
        _ => false,
    }
}
