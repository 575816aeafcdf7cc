//! SA606 back-populates-mismatch: `back_populates="y"` where the target model has no `y`,
//! `y` is a column, or `y` is a relationship to a model outside this one's hierarchy — the
//! three cases where SQLAlchemy refuses to configure the mappers.
use crate::syntax::KindStr;
use std::ops::Range;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::python::{self, unparen};
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(class), Some(attr), Some(call)) = (m.get("class"), m.get("attr"), m.get("call")) else { return };
    let src = checker.source();
    if !python::is_relationship_call(call, src) {
        return;
    }
    // SQLModel passes it the same way: `Relationship(back_populates="team")`.
    let Some(value) = python::keyword_argument(call, "back_populates", src).map(unparen) else { return };
    if value.kind_str() != "string" || !python::is_literal_string(value) {
        return;
    }
    let partner = checker.text(value).trim_matches(|c| c == '"' || c == '\'').to_string();
    if partner.is_empty() || !partner.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return;
    }
    checker.defer(Box::new(BackPopulates {
        rule: checker.rule,
        class: checker.text(class).to_string(),
        attr: checker.text(attr).to_string(),
        partner,
        range: value.byte_range(),
    }));
}

struct BackPopulates {
    rule: RuleId,
    class: String,
    attr: String,
    partner: String,
    range: Range<usize>,
}

impl Deferred for BackPopulates {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        let Some(owner) = index.lookup(&self.class, project.file).filter(|m| m.module == project.file.module) else {
            return;
        };
        let Some(rel) = owner.relationship(&self.attr).filter(|r| !r.from_backref) else { return };
        let Some(target) = index.target(owner, rel) else { return };
        let (class, attr, partner, name) = (&self.class, &self.attr, &self.partner, &target.name);
        let pointing_back = || {
            let mut back: Vec<&str> = target
                .relationships
                .iter()
                .filter(|r| index.target(target, r).is_some_and(|t| t.root == owner.root))
                .map(|r| r.name.as_str())
                .collect();
            back.sort_unstable();
            back.dedup();
            match back.as_slice() {
                [one] => format!("use `back_populates=\"{one}\"`, the relationship of `{name}` that points back to `{class}`"),
                [] => format!(
                    "add a relationship `{partner}` to `{name}` that points back to `{class}` with \
                     `back_populates=\"{attr}\"`, or drop `back_populates`"
                ),
                several => format!(
                    "name the relationship of `{name}` that points back to `{class}`: one of `{}`",
                    several.join("`, `")
                ),
            }
        };
        let problem = if let Some(other) = target.relationship(partner) {
            // `backref=` sides and unresolvable targets: leave them to SQLAlchemy.
            if other.from_backref {
                return;
            }
            let Some(other_target) = index.target(target, other) else { return };
            if other_target.root == owner.root {
                return;
            }
            format!(
                "`{name}.{partner}` is a relationship to `{}`, not to `{class}`: configuring the mappers fails with \
                 `ArgumentError` (\"does not reference mapper\")",
                other_target.name
            )
        } else if target.column(partner).is_some() {
            format!(
                "`{name}.{partner}` is a column, not a relationship: configuring the mappers fails with \
                 `InvalidRequestError` (\"not a relationship\")"
            )
        } else {
            // Missing: only when the index knows every attribute the target can have.
            if !target.complete || index.has_late_attribute(name, partner) {
                return;
            }
            format!(
                "`{name}` has no attribute `{partner}`: configuring the mappers (the first query) fails with \
                 `InvalidRequestError` (\"has no property '{partner}'\")"
            )
        };
        out.push(Diagnostic {
            rule: self.rule,
            range: self.range.clone(),
            message: format!("`back_populates=\"{partner}\"` on `{class}.{attr}`: {problem}"),
            help: Some(pointing_back()),
            fix: None,
        });
    }
}
