//! SA307 dynamic-relationship: `lazy="dynamic"` / `DynamicMapped`, legacy in
//! 2.0, superseded by write-only relationships.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python;

/// Calls whose `lazy=` configures a relationship.
const RELATIONSHIP_CALLS: &[&str] = &["relationship", "relation", "backref", "Relationship"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let src = checker.source();
    if let (Some(annotated), Some(ty), Some(target)) = (m.get("annotated"), m.get("type"), m.get("target")) {
        return annotation(checker, annotated, ty, target);
    }
    let (Some(span), Some(value)) = (m.get("span"), m.get("value")) else { return };
    if string_value(value, src) != Some("dynamic") {
        return;
    }
    let call = if span.kind_str() == "pair" {
        // `{"lazy": "dynamic"}` given as `sa_relationship_kwargs=` of SQLModel's `Relationship()`.
        let Some(key) = m.get("key") else { return };
        if string_value(key, src) != Some("lazy") {
            return;
        }
        let Some(keyword) = span.up().and_then(|d| d.up()).filter(|k| k.kind_str() == "keyword_argument") else {
            return;
        };
        if keyword.field("name").map(|n| checker.text(n)) != Some("sa_relationship_kwargs") {
            return;
        }
        keyword.up().and_then(|a| a.up())
    } else {
        span.up().and_then(|a| a.up())
    };
    let Some(call) = call.filter(|c| c.kind_str() == "call") else { return };
    let Some(callee) = python::callee_name(call, src).filter(|c| RELATIONSHIP_CALLS.contains(c)) else { return };
    let owner = attribute_name(call, src);
    let what = if callee == "backref" {
        let name = python::positional_arguments(call).first().and_then(|n| string_value(*n, src)).unwrap_or("backref");
        format!("the backref `{name}`")
    } else {
        owner.map_or_else(|| "this relationship".to_string(), |o| format!("`{o}`"))
    };
    let message = format!(
        "{what} uses the legacy `lazy=\"dynamic\"` loader: every access runs a new SELECT through a legacy `Query`, \
         and it cannot be used with asyncio"
    );
    let help = match (callee, owner) {
        ("relationship" | "relation" | "Relationship", Some(owner)) => format!(
            "use a write-only relationship: `{owner}: WriteOnlyMapped[...] = relationship(...)` (or \
             `lazy=\"write_only\"`), and read it with `session.scalars(obj.{owner}.select())`"
        ),
        _ => "use `lazy=\"write_only\"` (a `WriteOnlyMapped` collection) and read it with \
              `session.scalars(obj.<attribute>.select())`"
            .to_string(),
    };
    checker.report(span.byte_range(), message, help);
}

fn annotation(checker: &mut Checker<'_>, assignment: Node<'_>, ty: Node<'_>, target: Node<'_>) {
    let text = checker.text(ty);
    let Some(at) = text.find("DynamicMapped") else { return };
    // `DynamicMapped[...]` or `orm.DynamicMapped[...]`, not `MyDynamicMapped`.
    if text[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return;
    }
    // Class attributes only: the annotation is read by the declarative mapping.
    if assignment.up().and_then(|s| s.up()).and_then(|b| b.up()).is_none_or(|c| c.kind_str() != "class_definition")
    {
        return;
    }
    let name = checker.text(target);
    let start = ty.start_byte() + at;
    let end = start + "DynamicMapped".len();
    let modern = text.replacen("DynamicMapped", "WriteOnlyMapped", 1);
    let message = format!(
        "`{name}: {text}` uses the legacy dynamic loader: every access runs a new SELECT through a legacy `Query`, \
         and it cannot be used with asyncio"
    );
    let help = format!(
        "annotate `{name}: {modern}` (a write-only relationship) and read it with `session.scalars(obj.{name}.select())`"
    );
    checker.report(start..end, message, help);
}

/// The attribute a relationship call is assigned to in a class body: `posts` in `posts = relationship(...)`.
fn attribute_name<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let assignment = call.up().filter(|p| p.kind_str() == "assignment")?;
    let left = assignment.field("left").filter(|l| l.kind_str() == "identifier")?;
    src.get(left.byte_range())
}

fn string_value<'s>(node: Node<'_>, src: &'s str) -> Option<&'s str> {
    let node = python::unparen(node);
    if node.kind_str() != "string" || !python::is_literal_string(node) {
        return None;
    }
    let mut cursor = node.walk();
    let content = node.named_children(&mut cursor).find(|c| c.kind_str() == "string_content")?;
    src.get(content.byte_range())
}
