//! SA406 unexecuted-statement: a DML statement built and thrown away — on its own line,
//! or in a local variable the function never reads again.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::loops;
use crate::python;
use crate::query::{self, DmlKind};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("call") else { return };
    let var = m.get("var");
    let src = checker.source();
    let call = python::unparen(call);
    if call.kind_str() != "call" {
        return;
    }
    let Some(dml) = query::dml_statement(call, src) else { return };
    // `with pytest.raises(...)`: built only to see the constructor raise.
    if within_raises_block(call, src) {
        return;
    }
    let verb = match dml.kind {
        DmlKind::Delete => "nothing is deleted",
        DmlKind::Update => "nothing is updated",
        DmlKind::Insert => "nothing is inserted",
    };
    let handle = session_in_scope(call, src);
    let built = python::one_line(checker.text(call), 80);
    let (message, help) = match var {
        None => (
            format!("`{built}` builds {} statement and throws it away: it is never executed, so {verb}", article(dml.kind)),
            format!("execute it: `{handle}.execute({built})`"),
        ),
        Some(var) => {
            // Only local variables of a function: module-level names may be imported and run elsewhere.
            let Some(function) = python::enclosing_function(var) else { return };
            if loops::has_other_uses(var, src) || reads_its_locals(function, src) {
                return;
            }
            let name = checker.text(var);
            (
                format!(
                    "`{name}` holds {} statement (`{built}`) that is never executed or read again, so {verb}",
                    article(dml.kind)
                ),
                format!("execute it: `{handle}.execute({name})`"),
            )
        }
    };
    checker.report(call.byte_range(), message, help);
}

/// The session or connection the function has at hand (a parameter named or annotated like
/// one), for the help text; `session` when none is found.
fn session_in_scope(node: Node<'_>, src: &str) -> String {
    let parameters = python::enclosing_function(node).and_then(|f| f.field("parameters"));
    let Some(parameters) = parameters else { return "session".into() };
    for parameter in python::named_children(parameters) {
        let name = match parameter.kind_str() {
            "identifier" => Some(parameter),
            _ => parameter.field("name").or_else(|| parameter.named_child(0)),
        };
        let Some(name) = name.filter(|n| n.kind_str() == "identifier") else { continue };
        let text = src.get(name.byte_range()).unwrap_or("");
        let annotation = parameter.field("type").and_then(|t| src.get(t.byte_range())).unwrap_or("");
        if python::db_handle_by_name(text).is_some() || annotation.contains("Session") || annotation.contains("Connection") {
            return text.to_string();
        }
    }
    // Flask-SQLAlchemy: the module's `db` handle carries the session.
    let flask = python::visible_imports(node, src).iter().any(|i| i.local == "db")
        || src.contains("db = SQLAlchemy(");
    if flask { "db.session".into() } else { "session".into() }
}

fn article(kind: DmlKind) -> &'static str {
    match kind {
        DmlKind::Delete => "a DELETE",
        DmlKind::Update => "an UPDATE",
        DmlKind::Insert => "an INSERT",
    }
}

/// Inside `with pytest.raises(...)`, `self.assertRaises(...)`, `expect_raises(...)` and the like.
fn within_raises_block(node: Node<'_>, src: &str) -> bool {
    python::ancestors(node).filter(|a| a.kind_str() == "with_statement").any(|with| {
        let header = with.field("body").map_or(with.end_byte(), |b| b.start_byte());
        src.get(with.start_byte()..header).is_some_and(|h| h.to_ascii_lowercase().contains("raises"))
    })
}

/// `return SimpleNamespace(**locals())`: every local is read through `locals()` / `vars()`.
fn reads_its_locals(function: Node<'_>, src: &str) -> bool {
    src.get(function.byte_range()).is_some_and(|body| body.contains("locals()") || body.contains("vars()"))
}
