//! SA202 global-session: a session instance bound at module level. Factories and
//! registries are the documented module-level pattern and are never reported; a call
//! of a factory imported from another project module is resolved against the index.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::python;
use crate::registry::RuleId;
use crate::sessions::{self, Flavor, SessionCall};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(assign), Some(name), Some(call)) = (m.get("assign"), m.get("name"), m.get("call")) else { return };
    if !sessions::may_classify(call, checker.source()) || !at_module_level(assign, checker.source()) {
        return;
    }
    let name = checker.text(name).to_string();
    let factory_text = checker.text(call.field("function").unwrap_or(call)).to_string();
    let found = Found { rule: checker.rule, range: assign.byte_range(), name, call: factory_text };
    match sessions::classify_call(call, checker.source()) {
        Some(SessionCall::Session { flavor, factory }) => {
            let (message, help) = found.text(&factory, flavor);
            checker.report(found.range, message, help);
        }
        Some(SessionCall::Imported { name }) => checker.defer(Box::new(Imported { found, factory: name })),
        _ => {}
    }
}

/// Is the assignment a statement of the module itself (possibly inside top-level `if` / `try` /
/// `with` blocks), not of a function, class or `if __name__ == "__main__":` block?
fn at_module_level(assign: Node<'_>, src: &str) -> bool {
    if assign.up().is_none_or(|p| p.kind_str() != "expression_statement") {
        return false;
    }
    for ancestor in python::ancestors(assign).skip(1) {
        match ancestor.kind_str() {
            "module" => return true,
            "block" | "else_clause" | "elif_clause" | "try_statement" | "except_clause" | "finally_clause"
            | "with_statement" => {}
            "if_statement" => {
                let condition = ancestor.field("condition").and_then(|c| src.get(c.byte_range()));
                if condition.is_some_and(|c| c.contains("__name__") && c.contains("__main__")) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    false
}

struct Found {
    rule: RuleId,
    range: Range<usize>,
    name: String,
    call: String,
}

impl Found {
    fn text(&self, factory: &str, flavor: Flavor) -> (String, String) {
        let (name, call) = (&self.name, &self.call);
        let kind = match flavor {
            Flavor::Sync => "session",
            Flavor::Async => "`AsyncSession`",
        };
        let message = format!(
            "`{name} = {call}(...)` creates one {kind} at import time, shared by every request, thread and task \
             that uses `{name}`: it is not safe to share, keeps every loaded object and its transaction open for the \
             life of the process, and one failed flush breaks it for all later callers"
        );
        let help = if matches!(factory, "Session" | "AsyncSession") || factory.contains('.') || factory.contains('(') {
            format!(
                "keep a factory at module level (`SessionLocal = sessionmaker(bind=engine)`) and open a session per \
                 unit of work inside the function: `with SessionLocal() as {name}:`"
            )
        } else {
            let with = if flavor == Flavor::Async { "async with" } else { "with" };
            format!(
                "keep the factory `{factory}` at module level and open a session per unit of work inside the \
                 function: `{with} {factory}() as {name}:` (or use `scoped_session({factory})` as a per-thread registry)"
            )
        };
        (message, help)
    }
}

/// `session = SessionLocal()` with `SessionLocal` imported from a project module.
struct Imported {
    found: Found,
    factory: String,
}

impl Deferred for Imported {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        if !project.index.is_session_factory(&self.factory, project.file) {
            return;
        }
        // The flavour of a factory in another module is not known here; the advice holds for both.
        let (message, help) = self.found.text(&self.factory, Flavor::Sync);
        out.push(Diagnostic {
            rule: self.found.rule,
            range: self.found.range.clone(),
            message,
            help: Some(help),
            fix: None,
        });
    }
}
