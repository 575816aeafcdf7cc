//! SA602 backref: `relationship(backref=...)` creates the reverse attribute on
//! the target class implicitly; `back_populates` on both sides says it in both.
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python::{self, unparen};

const RELATIONSHIP_CALLS: &[&str] = &["relationship", "relation", "Relationship"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(span) = m.get("span") else { return };
    let src = checker.source();
    let (call, value) = if span.kind() == "pair" {
        // `sa_relationship_kwargs={"backref": "x"}` of SQLModel's `Relationship()`.
        let Some(key) = m.get("key") else { return };
        if string_value(key, src).as_deref() != Some("backref") {
            return;
        }
        let Some(keyword) = span.parent().and_then(|d| d.parent()).filter(|k| k.kind() == "keyword_argument") else {
            return;
        };
        if keyword.child_by_field_name("name").map(|n| checker.text(n)) != Some("sa_relationship_kwargs") {
            return;
        }
        (keyword.parent().and_then(|a| a.parent()), span.child_by_field_name("value"))
    } else {
        (span.parent().and_then(|a| a.parent()), span.child_by_field_name("value"))
    };
    let (Some(call), Some(value)) = (call.filter(|c| c.kind() == "call"), value.map(unparen)) else { return };
    // Alembic migrations hold frozen copies of old models: not worth rewriting.
    if !python::callee_name(call, src).is_some_and(|c| RELATIONSHIP_CALLS.contains(&c))
        || python::imports_alembic(call, src)
    {
        return;
    }
    // `backref=None` / `backref=False` create nothing.
    let reverse = match value.kind() {
        "string" => string_value(value, src),
        "call" if python::callee_name(value, src) == Some("backref") => {
            python::positional_arguments(value).first().and_then(|n| string_value(*n, src))
        }
        _ => None,
    };
    let Some(reverse) = reverse else { return };
    let target = python::positional_arguments(call).first().map(|a| unparen(*a)).and_then(|a| match a.kind() {
        "string" => string_value(a, src).map(|s| s.rsplit('.').next().unwrap_or(&s).to_string()),
        "identifier" | "attribute" => python::dotted_name(a, src).map(|d| d.rsplit('.').next().unwrap_or(&d).to_string()),
        _ => None,
    });
    let assignment = call.parent().filter(|p| p.kind() == "assignment");
    let owner_attr = assignment.and_then(|a| a.child_by_field_name("left")).map(|l| checker.text(l));
    // SQLModel: `heroes: list["Hero"] = Relationship(...)` names the target in the annotation.
    let target = target.or_else(|| {
        let annotation = assignment.and_then(|a| a.child_by_field_name("type")).map(|t| checker.text(t))?;
        crate::index::extract::parse_annotation(annotation).target
    });
    let owner_class = python::ancestors(call)
        .find(|n| n.kind() == "class_definition")
        .and_then(|c| c.child_by_field_name("name"))
        .map(|n| checker.text(n));
    let target_name = target.as_deref().unwrap_or("the related class");
    let created = target.as_deref().map_or(format!("`{reverse}` on the related class"), |t| format!("`{t}.{reverse}`"));
    let here = match (owner_class, owner_attr) {
        (Some(class), Some(attr)) => format!("`{class}.{attr}`"),
        _ => "this relationship".to_string(),
    };
    let message = format!(
        "{here} creates {created} implicitly with `backref=`: the attribute appears nowhere in that class, so \
         readers and type checkers cannot see it (legacy in SQLAlchemy 2.0)"
    );
    // Many-to-many: the reverse side goes through the same association table.
    let secondary = python::keyword_argument(call, "secondary", src)
        .map(|s| format!(", secondary={}", checker.text(s)))
        .unwrap_or_default();
    let help = match (owner_class, owner_attr) {
        (Some(class), Some(attr)) => format!(
            "declare both sides: `back_populates=\"{reverse}\"` here, and on `{target_name}`: \
             `{reverse} = relationship(\"{class}\"{secondary}, back_populates=\"{attr}\")` (with any `backref(...)` \
             options moved there)"
        ),
        _ => format!("replace `backref=` with `back_populates=\"{reverse}\"` and declare `{reverse}` on `{target_name}`"),
    };
    checker.report(span.byte_range(), message, help);
}

fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    let node = unparen(node);
    if node.kind() != "string" || !python::is_literal_string(node) {
        return None;
    }
    let mut cursor = node.walk();
    let content: String = node
        .named_children(&mut cursor)
        .filter(|c| c.kind() == "string_content")
        .filter_map(|c| src.get(c.byte_range()))
        .collect();
    Some(content)
}
