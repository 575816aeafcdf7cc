//! SA610 ambiguous-foreign-keys: a relationship whose join SQLAlchemy cannot work out —
//! several foreign-key paths between the two tables and no `foreign_keys=` / `primaryjoin=`,
//! or a self-referential `back_populates` / `backref` pair with no `remote_side`.
use std::ops::Range;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::Model;
use crate::python;
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(class), Some(attr), Some(call)) = (m.get("class"), m.get("attr"), m.get("call")) else { return };
    if !python::is_relationship_call(call, checker.source()) {
        return;
    }
    checker.defer(Box::new(Ambiguous {
        rule: checker.rule,
        class: checker.text(class).to_string(),
        attr: checker.text(attr).to_string(),
        range: call.byte_range(),
    }));
}

struct Ambiguous {
    rule: RuleId,
    class: String,
    attr: String,
    range: Range<usize>,
}

/// Names of the columns of `from` holding a foreign key to `to`'s table.
fn keys(from: &Model, to: &Model) -> Vec<String> {
    from.foreign_keys_to(to).map(|c| format!("{}.{}", from.name, c.name)).collect()
}

impl Deferred for Ambiguous {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        let Some(owner) = index.lookup(&self.class, project.file).filter(|m| m.module == project.file.module) else {
            return;
        };
        let Some(rel) = owner.relationship(&self.attr).filter(|r| !r.from_backref) else { return };
        if rel.secondary || rel.join_configured {
            return;
        }
        let Some(target) = index.target(owner, rel) else { return };
        // Inheritance hierarchies share or link tables in ways the key count does not see.
        if !owner.complete || !target.complete || owner.root != owner.name || target.root != target.name {
            return;
        }
        let (class, attr) = (&self.class, &self.attr);
        let (message, help) = if target.name == owner.name {
            // Self-referential: over the table's single key to itself, a back-populated pair needs `remote_side`.
            if keys(owner, owner).len() != 1 || rel.remote_side {
                return;
            }
            let partner = match (&rel.back_populates, &rel.backref) {
                (Some(name), _) => owner.relationship(name).filter(|p| {
                    !p.from_backref
                        && !p.remote_side
                        && !p.join_configured
                        && p.target.as_deref() == Some(owner.name.as_str())
                }),
                (None, Some(name)) => owner.relationship(name).filter(|p| p.from_backref),
                (None, None) => None,
            };
            let Some(partner) = partner else { return };
            let key = keys(owner, owner).join("");
            let remote = owner
                .foreign_keys_to(owner)
                .find_map(|c| c.foreign_key.as_deref()?.rsplit_once('.').map(|(_, column)| column.to_string()))
                .unwrap_or_else(|| "id".to_string());
            (
                format!(
                    "`{class}.{attr}` and `{class}.{}` are a self-referential pair over `{key}` and neither sets \
                     `remote_side`: both read as one-to-many, so configuring the mappers fails with `ArgumentError` \
                     (\"both of the same direction\")",
                    partner.name
                ),
                format!(
                    "on the many-to-one side (the one that loads the parent), add `remote_side=[{remote}]` (in the \
                     class body) or `remote_side=\"{class}.{remote}\"`: the column the foreign key points at"
                ),
            )
        } else {
            let mut paths = keys(owner, target);
            paths.extend(keys(target, owner));
            if paths.len() < 2 {
                return;
            }
            let own = keys(owner, target);
            let help = match own.first() {
                Some(first) => format!(
                    "say which key this relationship uses: `foreign_keys=[{}]` (or a `primaryjoin=`)",
                    first.split_once('.').map_or(first.as_str(), |(_, c)| c)
                ),
                None => format!(
                    "say which key this relationship uses: `foreign_keys=\"[{}]\"` (or a `primaryjoin=`)",
                    paths[0]
                ),
            };
            (
                format!(
                    "`{class}.{attr}` joins `{class}` and `{}`, which are linked by {} foreign keys (`{}`), and names \
                     none of them: configuring the mappers fails with `AmbiguousForeignKeysError`",
                    target.name,
                    paths.len(),
                    paths.join("`, `")
                ),
                help,
            )
        };
        out.push(Diagnostic { rule: self.rule, range: self.range.clone(), message, help: Some(help), fix: None });
    }
}
