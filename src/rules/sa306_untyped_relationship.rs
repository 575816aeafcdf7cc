//! SA306 untyped-relationship: `name = relationship(...)` without `Mapped[...]`
//! in a class whose other attributes use `Mapped` annotations.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use crate::checker::{Checker, Match};
use crate::python::{self, unparen};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(class), Some(name), Some(call), Some(assignment)) =
        (m.get("class"), m.get("name"), m.get("call"), m.get("assignment"))
    else {
        return;
    };
    let src = checker.source();
    if assignment.field("type").is_some() || python::imports_alembic(class, src) {
        return;
    }
    // Only classes already written in the 2.0 style: some attribute annotated `Mapped[...]`.
    let Some(body) = class.field("body") else { return };
    let uses_mapped = python::named_children(body).into_iter().any(|statement| {
        statement
            .named_child(0)
            .filter(|a| a.kind_str() == "assignment")
            .and_then(|a| a.field("type"))
            .is_some_and(|t| {
                let text = checker.text(t);
                text.starts_with("Mapped[") || text.contains(".Mapped[")
            })
    });
    if !uses_mapped {
        return;
    }
    let attribute = checker.text(name);
    let class_name = class.field("name").map_or("the model", |n| checker.text(n));
    let target = python::positional_arguments(call).first().map(|a| unparen(*a)).and_then(|a| match a.kind_str() {
        "string" if python::is_literal_string(a) => {
            let text = checker.text(a);
            Some(text.trim_matches(|c| c == '"' || c == '\'').to_string())
        }
        // A class by name; a lowercase name is a variable whose class we cannot know.
        "identifier" | "attribute" => python::dotted_name(a, src)
            .and_then(|d| d.rsplit('.').next().map(String::from))
            .filter(|n| n.starts_with(|c: char| c.is_ascii_uppercase())),
        _ => None,
    });
    let uselist = python::keyword_argument(call, "uselist", src).map(|v| checker.text(v));
    let collection = match uselist {
        Some("True") => Some(true),
        Some("False") => Some(false),
        Some(_) => None,
        None => python::keyword_argument(call, "secondary", src).map(|_| true),
    };
    let target_text = target.map_or_else(|| "\"Target\"".to_string(), |t| format!("\"{t}\""));
    let help = match collection {
        Some(true) => format!("annotate it: `{attribute}: Mapped[list[{target_text}]]`"),
        Some(false) => format!("annotate it: `{attribute}: Mapped[Optional[{target_text}]]`"),
        None => format!(
            "annotate it: `{attribute}: Mapped[list[{target_text}]]` (one-to-many) or \
             `{attribute}: Mapped[{target_text}]` (many-to-one)"
        ),
    };
    let message = format!(
        "`{class_name}.{attribute}` is a relationship with no `Mapped[...]` annotation in a model that otherwise uses \
         them: type checkers see it as `Any`"
    );
    checker.report(assignment.byte_range(), message, help);
}
