//! SA205 sync-session-in-async: a blocking call on a synchronous `Session` inside
//! `async def`. Only sessions this file proves synchronous are considered (a
//! `Session` parameter annotation, a variable opened from `Session(...)` or a sync
//! factory); one finding per session per function, naming how many calls block.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python::{self, unparen};
use crate::sessions::{self, Flavor};

/// Session methods that talk to the database (or may, through autoflush).
const BLOCKING: &[&str] =
    &["query", "execute", "scalars", "scalar", "commit", "flush", "get", "get_one", "refresh", "exec", "merge", "rollback"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(call), Some(receiver)) = (m.get("call"), m.get("receiver")) else { return };
    let src = checker.source();
    if !is_blocking_call(call, src) {
        return;
    }
    let Some(function) = async_function(call) else { return };
    let Some(held) = sessions::held_session(receiver, src) else { return };
    if held.flavor != Flavor::Sync {
        return;
    }
    // One finding per session and function: on its first blocking call.
    let name = checker.text(receiver);
    let calls: Vec<Node<'_>> = python::scope_nodes(function)
        .into_iter()
        .filter(|n| n.kind_str() == "call" && is_blocking_call(*n, src) && async_function(*n) == Some(function))
        .filter(|n| python::receiver(*n).map(unparen).is_some_and(|r| src.get(r.byte_range()) == Some(name)))
        .collect();
    if calls.first().is_some_and(|first| *first != call) {
        return;
    }
    let function_name = function.field("name").map_or("", |n| checker.text(n));
    let shown = short(checker.text(call));
    let more = match calls.len() {
        0 | 1 => String::new(),
        2 => " (and 1 more call)".to_string(),
        n => format!(" (and {} more calls)", n - 1),
    };
    let message = format!(
        "`{shown}`{more} runs on the synchronous session `{name}` ({}) inside `async def {function_name}`: each call \
         blocks the event loop until the database answers, stalling every other request and task",
        held.how
    );
    let help = format!(
        "use an `AsyncSession` (from `async_sessionmaker(...)`) and await it: `await {name}.execute(select(...))`; \
         or make `{function_name}` a plain `def` so the framework runs it in a thread pool"
    );
    checker.report(call.byte_range(), message, help);
}

/// `receiver.method(...)` with a blocking method, not awaited (an awaited call is an async session's).
fn is_blocking_call(call: Node<'_>, src: &str) -> bool {
    let receiver_ok = python::receiver(call).is_some_and(|r| unparen(r).kind_str() == "identifier");
    receiver_ok
        && python::callee_name(call, src).is_some_and(|name| BLOCKING.contains(&name))
        && call.up().is_none_or(|p| p.kind_str() != "await")
}

/// The `async def` the call runs in directly (not through a nested `def` or `lambda`, which run
/// elsewhere: `run_sync`, `run_in_executor`, a thread pool).
fn async_function(call: Node<'_>) -> Option<Node<'_>> {
    let scope = python::ancestors(call).find(|n| matches!(n.kind_str(), "function_definition" | "lambda"))?;
    if scope.kind_str() != "function_definition" {
        return None;
    }
    let mut cursor = scope.walk();
    let is_async = scope.children(&mut cursor).any(|c| c.kind_str() == "async");
    is_async.then_some(scope)
}

/// A call's text on one line, shortened.
fn short(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 60 {
        line
    } else {
        format!("{}...", line.chars().take(57).collect::<String>())
    }
}
