//! SA611 missing-primary-key: a mapped class with no primary-key column, own or inherited.
//! Decided against the model index; silent wherever a key may hide from it.
use crate::syntax::KindStr;
use std::ops::Range;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(class), Some(definition)) = (m.get("class"), m.get("definition")) else { return };
    // Only module-level classes are indexed (and those in top-level `if` / `try` blocks).
    if crate::python::ancestors(definition).any(|a| matches!(a.kind_str(), "function_definition" | "class_definition")) {
        return;
    }
    checker.defer(Box::new(MissingKey {
        rule: checker.rule,
        class: checker.text(class).to_string(),
        line: checker.line_of(definition),
        range: class.byte_range(),
    }));
}

struct MissingKey {
    rule: RuleId,
    class: String,
    line: usize,
    range: Range<usize>,
}

impl Deferred for MissingKey {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        let Some(model) = index
            .named(&self.class)
            .find(|m| m.module == project.file.module && m.line == self.line)
        else {
            return;
        };
        if model.has_table || model.primary_key_elsewhere || !model.complete {
            return;
        }
        if model.columns.iter().any(|c| c.primary_key) {
            return;
        }
        let class = &self.class;
        let table = model.tablename.as_deref().filter(|t| !t.is_empty()).map_or(String::new(), |t| format!(" (`{t}`)"));
        out.push(Diagnostic {
            rule: self.rule,
            range: self.range.clone(),
            message: format!(
                "`{class}` is mapped but its table{table} has no primary-key column, own or inherited: the class body \
                 raises `ArgumentError` (\"could not assemble any primary key columns\") when the module is imported"
            ),
            help: Some(format!(
                "add a key column, e.g. `id: Mapped[int] = mapped_column(primary_key=True)` (legacy: `id = \
                 Column(Integer, primary_key=True)`), or mark `{class}` `__abstract__ = True` if it is a base class"
            )),
            fix: None,
        });
    }
}
