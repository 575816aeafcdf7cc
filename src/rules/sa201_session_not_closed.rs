//! SA201 session-not-closed: a session opened into a local variable, outside `with`,
//! that is not closed on every path. "Every path" includes exceptions: only a
//! `close()` in a `finally` (or a context manager) closes it then, so a `close()` at
//! the end of the function is reported too, with its own message. Sessions handed
//! to a caller (returned, yielded, stored, given to a context manager or an exit
//! stack) are the caller's to close and are not reported.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::python::{self, unparen};
use crate::registry::RuleId;
use crate::sessions::{self, SessionCall};

/// How many nodes of a function are looked at: past this, stay silent.
const MAX_NODES: usize = 20_000;

/// Calls that take ownership of the session passed to them (a context manager, an exit stack,
/// a container the session is kept in, a finaliser).
const TAKES_OWNERSHIP: &[&str] = &[
    "closing",
    "aclosing",
    "enter_context",
    "enter_async_context",
    "push",
    "push_async_exit",
    "callback",
    "append",
    "add",
    "extend",
    "insert",
    "setdefault",
    "register",
    "addfinalizer",
    "put",
    "put_nowait",
    "set",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(assign), Some(target), Some(call)) = (m.get("assign"), m.get("target"), m.get("call")) else { return };
    if target.kind_str() != "identifier" || !sessions::may_classify(call, checker.source()) {
        return;
    }
    let src = checker.source();
    // Module-level sessions are SA202's; a function's local session is ours.
    let Some(function) = python::enclosing_function(assign) else { return };
    // Classify first: `x = f()` is everywhere, and the file-level checks below are not cheap.
    let kind = sessions::classify_call(call, src);
    let factory = match &kind {
        Some(SessionCall::Session { factory, .. }) => factory.clone(),
        Some(SessionCall::Imported { name }) => name.clone(),
        _ => return,
    };
    // A migration's session is bound to Alembic's connection, which Alembic checks in; test
    // suites end their sessions in fixtures and teardown hooks the rule does not follow.
    if python::in_migration(assign, src) || python::in_test_code(assign, src) {
        return;
    }
    // A `scoped_session` registry hands out the thread's session; `remove()` ends it elsewhere.
    let plain_name = unparen(call).field("function").map(unparen).filter(|f| f.kind_str() == "identifier");
    if plain_name.is_some() && sessions::is_module_registry(call, &factory, src) {
        return;
    }
    if bound_to_connection(call, src) {
        return;
    }
    let var = checker.text(target);
    let Some(verdict) = verdict(function, assign, var, src) else { return };
    let found = Found {
        rule: checker.rule,
        range: assign.byte_range(),
        var: var.to_string(),
        call: python::one_line(checker.text(call), 60),
        factory_line: checker.line_of(assign),
        verdict,
    };
    match kind {
        Some(SessionCall::Imported { name }) => checker.defer(Box::new(Imported { found, factory: name })),
        _ => {
            let (message, help) = found.text();
            checker.report(found.range.clone(), message, help);
        }
    }
}

/// `Session(conn)`, `Session(bind=connection)`, `Session(bind=op.get_bind())`: a session joined to
/// a connection its caller owns checks nothing out of the pool; closing the connection ends it.
fn bound_to_connection(call: Node<'_>, src: &str) -> bool {
    let call = unparen(call);
    let bind = python::keyword_argument(call, "bind", src).or_else(|| python::positional_arguments(call).first().copied());
    let Some(bind) = bind.and_then(|b| src.get(unparen(b).byte_range())) else { return false };
    let last = bind.rsplit('.').next().unwrap_or(bind).to_ascii_lowercase();
    last.contains("conn") || matches!(last.as_str(), "c" | "con" | "get_bind()" | "connect()")
}

/// Why the session is not closed on every path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// No `close()` at all.
    NeverClosed,
    /// `close()` on line N, but not in a `finally`: skipped by an exception (or an early return).
    ClosedOutsideFinally(usize),
}

/// `None` when the session is closed on every path or handed to someone else.
fn verdict(function: Node<'_>, assign: Node<'_>, var: &str, src: &str) -> Option<Verdict> {
    let body = function.field("body")?;
    let mut closes: Vec<(usize, Place)> = Vec::new();
    let mut stack = vec![body];
    let mut seen = 0usize;
    while let Some(node) = stack.pop() {
        seen += 1;
        if seen > MAX_NODES {
            return None;
        }
        // Uses after the assignment: an earlier session under the same name is another one.
        if node.end_byte() <= assign.end_byte() {
            continue;
        }
        if node.kind_str() == "identifier" && node.start_byte() >= assign.end_byte() && src.get(node.byte_range()) == Some(var)
        {
            match use_of(node, body, src) {
                Use::Escapes => return None,
                Use::Close(place) => closes.push((node.start_position().row + 1, place)),
                Use::Other => {}
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    if closes.iter().any(|(_, place)| *place == Place::Finally) {
        return None;
    }
    // `except: s.close(); raise` plus a `close()` after the `try`: closed on both paths.
    if closes.iter().any(|(_, place)| *place == Place::Except) && closes.len() > 1 {
        return None;
    }
    match closes.iter().map(|(line, _)| *line).max() {
        Some(line) => Some(Verdict::ClosedOutsideFinally(line)),
        None => Some(Verdict::NeverClosed),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Finally,
    Except,
    Elsewhere,
}

enum Use {
    /// Returned, yielded, stored, aliased, given to a context manager or an owner.
    Escapes,
    /// `var.close()` / `await var.close()`.
    Close(Place),
    Other,
}

/// What one occurrence of the session's name does with it.
fn use_of(ident: Node<'_>, body: Node<'_>, src: &str) -> Use {
    let Some(parent) = ident.up() else { return Use::Other };
    // `var.close()`, `var.close` (registered as a callback), `var.begin()` in a `with`.
    if parent.kind_str() == "attribute" && parent.field("object").is_some_and(|o| o.id() == ident.id()) {
        let attribute = parent.field("attribute").and_then(|a| src.get(a.byte_range())).unwrap_or("");
        let call = parent.up().filter(|c| {
            c.kind_str() == "call" && c.field("function").is_some_and(|f| f.id() == parent.id())
        });
        return match (attribute, call) {
            ("close", Some(_)) => Use::Close(place_of(parent, body)),
            // `stack.callback(s.close)`, `atexit.register(s.close)`: closed when that runs.
            ("close", None) => Use::Escapes,
            ("begin" | "begin_nested", Some(call)) if in_with_item(call) => Use::Escapes,
            _ => Use::Other,
        };
    }
    let mut child = ident;
    for ancestor in python::ancestors(ident) {
        match ancestor.kind_str() {
            // `with s:`, `async with s:`, `with closing(s):`.
            "with_item" => return Use::Escapes,
            "return_statement" | "yield" | "global_statement" | "nonlocal_statement" | "lambda" => return Use::Escapes,
            // `self.session = s`, `other = s`, `registry[key] = s`, `ctx = {"session": s}`, `repo = Repo(s)`.
            "assignment" | "augmented_assignment" => {
                let right = ancestor.field("right");
                return if right.is_some_and(|r| r.id() == child.id()) { Use::Escapes } else { Use::Other };
            }
            "argument_list" => {
                let Some(name) = ancestor.up().and_then(|c| python::callee_name(c, src)) else { return Use::Other };
                if TAKES_OWNERSHIP.contains(&name) {
                    return Use::Escapes;
                }
                // `Repo(s)`: the object holds the session; where it goes decides. `work(s)` borrows it.
                if !crate::query::is_class_name(name) {
                    return Use::Other;
                }
            }
            "list" | "tuple" | "dictionary" | "pair" | "set" | "parenthesized_expression" | "expression_list"
            | "as_pattern" | "call" | "keyword_argument" => {}
            _ => return Use::Other,
        }
        if ancestor.id() == body.id() {
            break;
        }
        child = ancestor;
    }
    Use::Other
}

/// `with s.begin():` / `async with s.begin() as tx:`.
fn in_with_item(call: Node<'_>) -> bool {
    call.up().is_some_and(|p| {
        p.kind_str() == "with_item" || (p.kind_str() == "as_pattern" && p.up().is_some_and(|g| g.kind_str() == "with_item"))
    })
}

/// Where a `close()` runs: in a `finally` clause, an `except` clause, or elsewhere.
fn place_of(node: Node<'_>, body: Node<'_>) -> Place {
    for ancestor in python::ancestors(node) {
        match ancestor.kind_str() {
            "finally_clause" => return Place::Finally,
            "except_clause" | "except_group_clause" => return Place::Except,
            _ if ancestor.id() == body.id() => break,
            _ => {}
        }
    }
    Place::Elsewhere
}

struct Found {
    rule: RuleId,
    range: Range<usize>,
    var: String,
    call: String,
    factory_line: usize,
    verdict: Verdict,
}

impl Found {
    fn text(&self) -> (String, String) {
        let (var, call) = (&self.var, &self.call);
        let message = match self.verdict {
            Verdict::NeverClosed => format!(
                "the session `{var} = {call}` is never closed: it ends only when garbage collection reaches it, \
                 and until then a transaction it has open keeps its connection checked out of the pool (with its \
                 locks) — the state an exception leaves it in"
            ),
            Verdict::ClosedOutsideFinally(line) => format!(
                "the session `{var} = {call}` is closed on line {line} only if nothing before it raises or returns: \
                 on an exception it is left open, its transaction holding a pooled connection until garbage collection"
            ),
        };
        let help = format!(
            "open it with `with {call} as {var}:` (line {}), which closes it on every path, exceptions included; \
             or close it in `try: ... finally: {var}.close()`",
            self.factory_line
        );
        (message, help)
    }
}

/// A session made by a factory imported from another project module.
struct Imported {
    found: Found,
    factory: String,
}

impl Deferred for Imported {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        if !index.is_session_factory(&self.factory, project.file) || index.is_session_registry(&self.factory, project.file)
        {
            return;
        }
        let (message, help) = self.found.text();
        out.push(Diagnostic { rule: self.found.rule, range: self.found.range.clone(), message, help: Some(help), fix: None });
    }
}
