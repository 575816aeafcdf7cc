//! SA204 session-on-instance: a session created and kept on `self` / `cls` or as a
//! class attribute, which then lives as long as the object (or the class). Clean:
//! injected sessions (no call), factories and registries, classes that close the
//! session themselves (`__exit__`, `close()`, `tearDown()`), and context managers.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::python::{self, unparen};
use crate::registry::RuleId;
use crate::sessions::{self, SessionCall};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(assign), Some(target), Some(call)) = (m.get("assign"), m.get("target"), m.get("call")) else { return };
    let src = checker.source();
    if !sessions::may_classify(call, src) {
        return;
    }
    let Some((class, attribute)) = stored_on(assign, target, src) else { return };
    // Classify first: `self.x = f()` is everywhere, and scanning the class for a close is not cheap.
    let kind = sessions::classify_call(call, src);
    if !matches!(kind, Some(SessionCall::Session { .. } | SessionCall::Imported { .. })) {
        return;
    }
    if class_closes(class, &attribute, src) {
        return;
    }
    let class_name = class.field("name").map_or("", |n| checker.text(n)).to_string();
    let found = Found {
        rule: checker.rule,
        range: assign.byte_range(),
        target: checker.text(target).to_string(),
        class: class_name,
        factory: checker.text(call.field("function").unwrap_or(call)).to_string(),
    };
    match kind {
        Some(SessionCall::Session { .. }) => {
            let (message, help) = found.text();
            checker.report(found.range.clone(), message, help);
        }
        Some(SessionCall::Imported { name }) => checker.defer(Box::new(Imported { found, factory: name })),
        _ => {}
    }
}

/// The class the session is stored on and the attribute name: `self.x = ...` / `cls.x = ...` in a
/// method, or `x = ...` directly in a class body.
fn stored_on<'t>(assign: Node<'t>, target: Node<'t>, src: &str) -> Option<(Node<'t>, String)> {
    let target = unparen(target);
    match target.kind_str() {
        "attribute" => {
            let object = target.field("object")?;
            let owner = src.get(object.byte_range())?;
            if !matches!(owner, "self" | "cls") {
                return None;
            }
            let method = python::enclosing_function(assign)?;
            let class = python::ancestors(method).find(|n| n.kind_str() != "decorated_definition" && n.kind_str() != "block")?;
            let class = (class.kind_str() == "class_definition").then_some(class)?;
            let name = src.get(target.field("attribute")?.byte_range())?;
            Some((class, name.to_string()))
        }
        "identifier" => {
            // A class body statement: expression_statement → block → class_definition.
            let block = assign.up()?.up()?;
            let class = block.up().filter(|c| block.kind_str() == "block" && c.kind_str() == "class_definition")?;
            Some((class, src.get(target.byte_range())?.to_string()))
        }
        _ => None,
    }
}

/// Does the class manage the session's end: a context-manager protocol (`__exit__` /
/// `__aexit__`), or any `self.<attr>.close()` / `.remove()` / `cls.<attr>.close()` in it
/// (`close()`, `tearDown()`, `__del__`)?
fn class_closes(class: Node<'_>, attribute: &str, src: &str) -> bool {
    let Some(body) = class.field("body") else { return false };
    let mut cursor = body.walk();
    let methods: Vec<Node<'_>> = body
        .named_children(&mut cursor)
        .map(|n| if n.kind_str() == "decorated_definition" { n.field("definition").unwrap_or(n) } else { n })
        .filter(|n| n.kind_str() == "function_definition")
        .collect();
    methods.into_iter().any(|method| {
        let name = method.field("name").and_then(|n| src.get(n.byte_range())).unwrap_or("");
        if matches!(name, "__exit__" | "__aexit__") {
            return true;
        }
        // The call below names `close`, `aclose` or `remove`: skip the walk of methods that cannot.
        let text = src.get(method.byte_range()).unwrap_or("");
        if !text.contains("close") && !text.contains("remove") {
            return false;
        }
        python::scope_nodes(method).into_iter().any(|n| {
            n.kind_str() == "call"
                && matches!(python::callee_name(n, src), Some("close" | "remove" | "aclose"))
                && python::receiver(n).is_some_and(|r| {
                    let r = unparen(r);
                    r.kind_str() == "attribute"
                        && r.field("attribute").and_then(|a| src.get(a.byte_range())) == Some(attribute)
                })
        })
    })
}

struct Found {
    rule: RuleId,
    range: std::ops::Range<usize>,
    target: String,
    class: String,
    factory: String,
}

impl Found {
    fn text(&self) -> (String, String) {
        let (target, class, factory) = (&self.target, &self.class, &self.factory);
        let message = format!(
            "`{target} = {factory}(...)` keeps a session on `{class}` for as long as the object (or class) lives, \
             and `{class}` never closes it: it spans requests and threads, holds its connection and every loaded \
             object, and serves stale data from earlier transactions"
        );
        let help = format!(
            "open a session per unit of work inside the method (`with {factory}() as session:`), or pass the \
             session into `{class}.__init__` from the caller that owns it; if `{class}` must own it, close it in \
             `__exit__` / `close()`"
        );
        (message, help)
    }
}

/// A factory imported from another project module.
struct Imported {
    found: Found,
    factory: String,
}

impl Deferred for Imported {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        if !project.index.is_session_factory(&self.factory, project.file) {
            return;
        }
        let (message, help) = self.found.text();
        out.push(Diagnostic { rule: self.found.rule, range: self.found.range.clone(), message, help: Some(help), fix: None });
    }
}
