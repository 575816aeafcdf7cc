//! SA602 backref: `relationship(backref=...)` creates the reverse attribute on
//! the target class implicitly; `back_populates` on both sides says it in both.
//! Also the one-sided pair: two relationships that are each other's reverse, one
//! or both without `back_populates` (resolved against the model index).
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::{Model, ModelIndex};
use crate::index::Relationship;
use crate::python::{self, unparen};
use crate::registry::RuleId;

const RELATIONSHIP_CALLS: &[&str] = &["relationship", "relation", "Relationship"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    if let (Some(class), Some(attr), Some(call)) = (m.get("class"), m.get("attr"), m.get("call")) {
        return defer_pair(checker, class, attr, call);
    }
    let Some(span) = m.get("span") else { return };
    let src = checker.source();
    let (call, value) = if span.kind_str() == "pair" {
        // `sa_relationship_kwargs={"backref": "x"}` of SQLModel's `Relationship()`.
        let Some(key) = m.get("key") else { return };
        if string_value(key, src).as_deref() != Some("backref") {
            return;
        }
        let Some(keyword) = span.up().and_then(|d| d.up()).filter(|k| k.kind_str() == "keyword_argument") else {
            return;
        };
        if keyword.field("name").map(|n| checker.text(n)) != Some("sa_relationship_kwargs") {
            return;
        }
        (keyword.up().and_then(|a| a.up()), span.field("value"))
    } else {
        (span.up().and_then(|a| a.up()), span.field("value"))
    };
    let (Some(call), Some(value)) = (call.filter(|c| c.kind_str() == "call"), value.map(unparen)) else { return };
    // Alembic migrations hold frozen copies of old models: not worth rewriting.
    if !python::callee_name(call, src).is_some_and(|c| RELATIONSHIP_CALLS.contains(&c))
        || python::imports_alembic(call, src)
    {
        return;
    }
    // `backref=None` / `backref=False` create nothing.
    let reverse = match value.kind_str() {
        "string" => string_value(value, src),
        "call" if python::callee_name(value, src) == Some("backref") => {
            python::positional_arguments(value).first().and_then(|n| string_value(*n, src))
        }
        _ => None,
    };
    let Some(reverse) = reverse else { return };
    let target = python::positional_arguments(call).first().map(|a| unparen(*a)).and_then(|a| match a.kind_str() {
        "string" => string_value(a, src).map(|s| s.rsplit('.').next().unwrap_or(&s).to_string()),
        "identifier" | "attribute" => python::dotted_name(a, src).map(|d| d.rsplit('.').next().unwrap_or(&d).to_string()),
        _ => None,
    });
    let assignment = call.up().filter(|p| p.kind_str() == "assignment");
    let owner_attr = assignment.and_then(|a| a.field("left")).map(|l| checker.text(l));
    // SQLModel: `heroes: list["Hero"] = Relationship(...)` names the target in the annotation.
    let target = target.or_else(|| {
        let annotation = assignment.and_then(|a| a.field("type")).map(|t| checker.text(t))?;
        crate::index::extract::parse_annotation(annotation).target
    });
    let owner_class = python::ancestors(call)
        .find(|n| n.kind_str() == "class_definition")
        .and_then(|c| c.field("name"))
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
    if node.kind_str() != "string" || !python::is_literal_string(node) {
        return None;
    }
    let mut cursor = node.walk();
    let content: String = node
        .named_children(&mut cursor)
        .filter(|c| c.kind_str() == "string_content")
        .filter_map(|c| src.get(c.byte_range()))
        .collect();
    Some(content)
}

/// A relationship declared in a class body, checked for a reverse side that is not linked to it.
fn defer_pair(checker: &mut Checker<'_>, class: Node<'_>, attr: Node<'_>, call: Node<'_>) {
    let src = checker.source();
    if !python::is_relationship_call(call, src) || python::imports_alembic(call, src) {
        return;
    }
    // It already names its reverse side, or creates it (the `backref=` finding above).
    if ["back_populates", "backref"].iter().any(|k| python::keyword_argument(call, k, src).is_some()) {
        return;
    }
    checker.defer(Box::new(Pair {
        rule: checker.rule,
        class: checker.text(class).to_string(),
        attr: checker.text(attr).to_string(),
        range: call.byte_range(),
    }));
}

struct Pair {
    rule: RuleId,
    class: String,
    attr: String,
    range: Range<usize>,
}

/// A relationship that may take part in a pair: declared (not made by a `backref=`), with
/// the default join (a custom `primaryjoin`/`foreign_keys` may be a different link), and not
/// deliberately left unsynchronised (`viewonly=`, `overlaps=`).
fn plain(rel: &Relationship) -> bool {
    !rel.from_backref && rel.backref.is_none() && !rel.join_configured && !rel.independent
}

/// Relationships of `from` whose target is in `to`'s hierarchy.
fn pointing_at<'m>(index: &'m ModelIndex, from: &'m Model, to: &'m Model) -> Vec<&'m Relationship> {
    from.relationships
        .iter()
        .filter(|r| !r.from_backref && index.target(from, r).is_some_and(|t| t.root == to.root))
        .collect()
}

impl Deferred for Pair {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        let Some(owner) = index.lookup(&self.class, project.file).filter(|m| m.module == project.file.module) else {
            return;
        };
        let Some(rel) = owner.relationship(&self.attr).filter(|r| plain(r) && r.back_populates.is_none()) else {
            return;
        };
        // Self-referential and inheritance pairs need `remote_side`, not this advice.
        let Some(target) = index.target(owner, rel).filter(|t| t.root != owner.root) else { return };
        let back = pointing_at(index, target, owner);
        let (class, attr, other) = (&self.class, &self.attr, &target.name);
        // The other side says `back_populates="<attr>"`: only its changes reach this side.
        if let Some(partner) = back.iter().find(|r| r.back_populates.as_deref() == Some(attr.as_str())) {
            let partner = &partner.name;
            out.push(Diagnostic {
                rule: self.rule,
                range: self.range.clone(),
                message: format!(
                    "`{class}.{attr}` is the reverse side of `{other}.{partner}` (which has \
                     `back_populates=\"{attr}\"`) but does not name it: changes made through `{other}.{partner}` \
                     show up here, while changes made through `{class}.{attr}` do not update `{other}.{partner}` \
                     until the next load"
                ),
                help: Some(format!("add `back_populates=\"{partner}\"` to `{class}.{attr}`")),
                fix: None,
            });
            return;
        }
        // Neither side links the other: exactly one relationship each way, over one link.
        let ([partner], [_]) = (back.as_slice(), pointing_at(index, owner, target).as_slice()) else { return };
        if !plain(partner) || partner.back_populates.is_some() || partner.secondary != rel.secondary {
            return;
        }
        if !rel.secondary && owner.foreign_keys_to(target).chain(target.foreign_keys_to(owner)).count() != 1 {
            return;
        }
        // Reported once per pair, on the side that sorts first.
        if (other.as_str(), partner.name.as_str()) < (class.as_str(), attr.as_str()) {
            return;
        }
        let partner = &partner.name;
        out.push(Diagnostic {
            rule: self.rule,
            range: self.range.clone(),
            message: format!(
                "`{class}.{attr}` and `{other}.{partner}` are two sides of the same link, but neither names the \
                 other with `back_populates`: SQLAlchemy treats them as two independent relationships writing \
                 the same foreign key (it warns that they conflict), and a change through one side is not seen \
                 on the other until the next load"
            ),
            help: Some(format!(
                "link them: `back_populates=\"{partner}\"` on `{class}.{attr}` and `back_populates=\"{attr}\"` on \
                 `{other}.{partner}`; if one side is read-only, give it `viewonly=True` instead"
            )),
            fix: None,
        });
    }
}
