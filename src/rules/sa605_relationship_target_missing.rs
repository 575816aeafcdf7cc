//! SA605 relationship-target-missing: a string target (`relationship("Adress")`,
//! `Mapped[list["Adress"]]`) that names no model of the project. Decided against the model
//! index after the pass; silent whenever the class could exist where the index cannot see.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use std::ops::Range;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::extract::parse_annotation;
use crate::python::{self, unparen};
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(class), Some(attr), Some(call), Some(assignment)) =
        (m.get("class"), m.get("attr"), m.get("call"), m.get("assignment"))
    else {
        return;
    };
    let src = checker.source();
    if !python::is_relationship_call(call, src) {
        return;
    }
    let argument = python::positional_arguments(call)
        .first()
        .copied()
        .or_else(|| python::keyword_argument(call, "argument", src))
        .map(unparen);
    // A string argument, or none and a string-bearing annotation; class objects and lambdas resolve in Python.
    let (written, range) = match argument {
        Some(arg) if arg.kind_str() == "string" && python::is_literal_string(arg) => {
            (checker.text(arg).trim_matches(|c| c == '"' || c == '\'').to_string(), arg.byte_range())
        }
        Some(_) => return,
        None => {
            let Some(annotation) = assignment.field("type") else { return };
            let text = checker.text(annotation);
            // Only forward references: an unquoted undefined name fails at import time already.
            if !text.contains(['"', '\'']) {
                return;
            }
            let Some(target) = parse_annotation(text).target else { return };
            (target, annotation.byte_range())
        }
    };
    // `"app.models.Address"` → `Address`; anything but a dotted name is an expression we do not judge.
    if written.is_empty() || !written.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
        return;
    }
    let target = written.rsplit('.').next().unwrap_or(&written).to_string();
    checker.defer(Box::new(MissingTarget {
        rule: checker.rule,
        class: checker.text(class).to_string(),
        attr: checker.text(attr).to_string(),
        written,
        target,
        range,
    }));
}

struct MissingTarget {
    rule: RuleId,
    class: String,
    attr: String,
    written: String,
    target: String,
    range: Range<usize>,
}

impl Deferred for MissingTarget {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        // The class holding the relationship must be a model of this very module.
        let Some(owner) = index.lookup(&self.class, project.file) else { return };
        if owner.module != project.file.module || index.named(&self.target).next().is_some() {
            return;
        }
        if index.is_known_name(&self.target) {
            return;
        }
        let (class, attr, written, target) = (&self.class, &self.attr, &self.written, &self.target);
        let mut close: Vec<&str> = index
            .models()
            .iter()
            .filter(|m| python::edit_distance(&m.name, target, 2).is_some())
            .map(|m| m.name.as_str())
            .collect();
        close.sort_unstable();
        close.dedup();
        let help = match close.as_slice() {
            [one] => format!("did you mean `{one}`? Name a mapped class of the project (or its module path)"),
            _ => "name a mapped class of the project (or its module path), or import the model that defines it"
                .to_string(),
        };
        let shown = if written == target { format!("`{target}`") } else { format!("`{written}` (class `{target}`)") };
        out.push(Diagnostic {
            rule: self.rule,
            range: self.range.clone(),
            message: format!(
                "`{class}.{attr}` is a relationship to {shown}, but no model of that name exists in the project: \
                 configuring the mappers (the first query) fails with `InvalidRequestError`"
            ),
            help: Some(help),
            fix: None,
        });
    }
}
