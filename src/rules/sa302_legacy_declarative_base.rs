//! SA302 legacy-declarative-base: `Base = declarative_base()` at module level,
//! rewritten (unsafe) to `class Base(DeclarativeBase): ...` with the import merged.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use crate::checker::{Checker, Match};
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python;

/// `declarative_base()` keywords that become class attributes unchanged.
const CLASS_ATTRIBUTES: &[&str] = &["metadata", "type_annotation_map"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(span), Some(name), Some(call)) = (m.get("span"), m.get("name"), m.get("call")) else { return };
    let src = checker.source();
    // Module level only (a base made inside a function is a test helper or a factory).
    // Alembic migrations keep frozen copies of old models: rewriting them gains nothing.
    if span.up().is_none_or(|p| p.kind_str() != "module")
        || !python::calls_sqlalchemy(call, src)
        || python::imports_alembic(span, src)
    {
        return;
    }
    let base = checker.text(name);
    let mut attributes = Vec::new();
    let mut bases = Vec::new();
    let mut exact = !call.has_error();
    for arg in python::arguments(call) {
        let key = arg.field("name").map(|k| checker.text(k));
        let value = arg.field("value").map(|v| checker.text(v));
        match (arg.kind_str(), key, value) {
            ("keyword_argument", Some(key), Some(value)) if CLASS_ATTRIBUTES.contains(&key) => {
                attributes.push(format!("{key} = {value}"));
            }
            ("keyword_argument", Some("cls"), Some(value)) if value != "object" => bases.push(value.to_string()),
            _ => exact = false,
        }
    }
    bases.push("DeclarativeBase".to_string());
    let body = if attributes.is_empty() { vec!["pass".to_string()] } else { attributes };
    let class = format!("class {base}({}):\n    {}", bases.join(", "), body.join("\n    "));
    let first_line = class.lines().next().unwrap_or_default().to_string();
    let call_text = checker.text(call);
    let call_text = if call_text.contains('\n') { "declarative_base(...)" } else { call_text };
    let message = format!(
        "`{base} = {call_text}` is the legacy declarative base: type checkers see `{base}` as `Any`, so models and \
         queries built on it go unchecked; SQLAlchemy 2.0 replaces it with a `DeclarativeBase` subclass"
    );
    let help = format!(
        "declare `{first_line} ...` (`from sqlalchemy.orm import DeclarativeBase`){}",
        if exact { "" } else { ", moving the remaining `declarative_base()` arguments onto the class" }
    );
    let comment_inside = {
        let mut stack = vec![call];
        let mut found = false;
        while let Some(node) = stack.pop() {
            found |= node.kind_str() == "comment";
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        found
    };
    let import = span.up().and_then(|module| crate::fix::ensure_import(module, src, "sqlalchemy.orm", "DeclarativeBase"));
    // A trailing comment (`# noqa`, `# type: ignore`) moves to the `class` line.
    let trailing = span
        .next_sibling()
        .filter(|c| c.kind_str() == "comment" && c.start_position().row == span.end_position().row);
    let (range, class) = match trailing {
        Some(comment) => {
            let (head, rest) = class.split_once('\n').unwrap_or((class.as_str(), ""));
            (span.start_byte()..comment.end_byte(), format!("{head}  {}\n{rest}", checker.text(comment)))
        }
        None => (span.byte_range(), class),
    };
    let diagnostic = checker.report(span.byte_range(), message, help);
    if exact && !comment_inside {
        let mut edits = vec![Edit::replace(range, class)];
        edits.extend(import);
        diagnostic.set_fix(Fix {
            applicability: Applicability::Unsafe,
            title: format!("Replace with `{first_line} ...`"),
            edits,
        });
    }
}
