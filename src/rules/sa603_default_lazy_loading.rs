//! SA603 default-lazy-loading (opt-in): a relationship with no explicit loading
//! strategy, which lazy-loads one query per object.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use crate::checker::{Checker, Match};
use crate::python::{self, unparen};

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("span") else { return };
    let src = checker.source();
    if python::keyword_argument(call, "lazy", src).is_some() || python::imports_alembic(call, src) {
        return;
    }
    // SQLModel: `sa_relationship_kwargs={"lazy": ...}` (anything but a literal dict counts as set).
    if let Some(kwargs) = python::keyword_argument(call, "sa_relationship_kwargs", src).map(unparen) {
        if kwargs.kind_str() != "dictionary" || checker.text(kwargs).contains("lazy") {
            return;
        }
    }
    // `**options` may carry `lazy=`.
    if python::arguments(call).iter().any(|a| a.kind_str() == "dictionary_splat") {
        return;
    }
    // Model attributes only: `name = relationship(...)` / `name: Mapped[...] = relationship(...)` in a class body.
    let Some(assignment) = call.up().filter(|p| p.kind_str() == "assignment") else { return };
    let in_class = assignment
        .up()
        .and_then(|s| s.up())
        .and_then(|b| b.up())
        .is_some_and(|c| c.kind_str() == "class_definition");
    if !in_class {
        return;
    }
    let annotation = assignment.field("type").map(|t| checker.text(t)).unwrap_or("");
    if annotation.contains("WriteOnlyMapped") || annotation.contains("DynamicMapped") {
        return;
    }
    let Some(attribute) = assignment.field("left").map(|l| checker.text(l)) else { return };
    let class = python::ancestors(call)
        .find(|n| n.kind_str() == "class_definition")
        .and_then(|c| c.field("name"))
        .map_or("the model", |n| checker.text(n));
    let message = format!(
        "`{class}.{attribute}` has no loading strategy, so it lazy-loads: the first read on each object runs a \
         query, one per row when read in a loop (N+1)"
    );
    let help = format!(
        "say how it loads: `lazy=\"raise\"` (unplanned loads fail in tests; queries then use \
         `selectinload({class}.{attribute})`), or `lazy=\"selectin\"` / `lazy=\"joined\"` if it is almost always needed"
    );
    checker.report(call.byte_range(), message, help);
}
