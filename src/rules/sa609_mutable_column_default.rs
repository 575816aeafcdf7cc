//! SA609 mutable-column-default: `Column(default=[])` / `mapped_column(default={})`, where
//! one object, built when the class body runs, becomes the value of every inserted row.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python::{self, unparen};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(value), Some(kwarg)) = (m.get("value"), m.get("kwarg")) else { return };
    // `Column(..., default=[])`: the keyword argument of a call.
    let Some(call) = kwarg.up().and_then(|args| args.up()).filter(|c| c.kind_str() == "call") else { return };
    let src = checker.source();
    let Some(function) = call.field("function") else { return };
    let Some(callee) = python::dotted_name(function, src) else { return };
    if !python::is_sqlalchemy_callee(function, &callee, &["Column", "mapped_column"], src) {
        return;
    }
    let Some(kind) = mutable_kind(value, src) else { return };
    // Migration scripts create tables; their Python-side defaults never reach an ORM object.
    if python::in_migration(call, src) || mutation_tracked(call, src) {
        return;
    }
    let key = kwarg.field("name").map_or("default", |k| checker.text(k));
    let column = column_name(call, src).map_or(String::new(), |name| format!(" of `{name}`"));
    let class = python::ancestors(call)
        .find(|a| a.kind_str() == "class_definition")
        .and_then(|c| c.field("name"))
        .map_or(String::new(), |n| format!(" in `{}`", checker.text(n)));
    let written = checker.text(kwarg);
    let message = format!(
        "`{written}`{column}{class}: this one {kind} object is built once and shared by every row inserted \
         without a value, so an in-place change to one row's {kind} changes them all"
    );
    let value = unparen(value);
    let empty = if value.kind_str() == "call" {
        python::arguments(value).is_empty()
    } else {
        python::named_children(value).is_empty()
    };
    let help = match (empty, kind) {
        (true, "list" | "dict" | "set") => format!("pass the type, called once per INSERT: `{key}={kind}`"),
        _ => format!("pass a callable that builds a new {kind} per INSERT: `{key}=lambda: {}`", checker.text(value)),
    };
    let help = if key == "default" {
        format!("{help} (with `MappedAsDataclass`, `default_factory={kind}`)")
    } else {
        help
    };
    checker.report(kwarg.byte_range(), message, help);
}

/// `list` / `dict` / `set` for a mutable value built by a literal, a comprehension or a constructor call.
fn mutable_kind(value: Node<'_>, src: &str) -> Option<&'static str> {
    let value = unparen(value);
    match value.kind_str() {
        "list" | "list_comprehension" => Some("list"),
        "dictionary" | "dictionary_comprehension" => Some("dict"),
        "set" | "set_comprehension" => Some("set"),
        "call" => match (python::callee_name(value, src), python::receiver(value)) {
            (Some("list"), None) => Some("list"),
            (Some("dict"), None) => Some("dict"),
            (Some("set"), None) => Some("set"),
            _ => None,
        },
        _ => None,
    }
}

/// The attribute a column is assigned to: `tags` in `tags = Column(...)` / `tags: Mapped[...] = ...`,
/// also through SQLModel's `powers: list[str] = Field(sa_column=Column(...))`.
fn column_name<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let assignment = python::ancestors(call).take(4).find(|a| a.kind_str() == "assignment")?;
    let right = assignment.field("right")?;
    if !(right.start_byte() <= call.start_byte() && call.end_byte() <= right.end_byte()) {
        return None;
    }
    let left = assignment.field("left").filter(|l| l.kind_str() == "identifier")?;
    src.get(left.byte_range())
}

/// `Column(MutableDict.as_mutable(JSON), default={})`: the mutation-tracking extension copies the
/// default into a new `MutableDict` / `MutableList` per object, so nothing is shared. A type
/// made mutable elsewhere in the file (`MutableDict.as_mutable(...)` in a variable,
/// `MutableDict.associate_with(JSON)`) silences the whole file.
fn mutation_tracked(call: Node<'_>, src: &str) -> bool {
    let typed_mutable = python::positional_arguments(call)
        .iter()
        .any(|a| src.get(a.byte_range()).is_some_and(|t| t.contains("Mutable")));
    typed_mutable || src.contains("as_mutable(") || src.contains("associate_with(")
}
