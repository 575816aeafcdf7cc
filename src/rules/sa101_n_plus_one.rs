//! SA101 n-plus-one: a lazy relationship read per row of a loop. The loop's
//! syntax is read during the pass (`loops`); whether each attribute is a lazy
//! relationship is decided afterwards against the project model index.
use std::ops::Range;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::Model;
use crate::index::LoadStrategy;
use crate::loops::{self, Access, Loop, Origin, Root};
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(node) = m.get("loop") else { return };
    let src = checker.source();
    let Some(l) = Loop::from_node(node, src) else { return };
    // A loop that leaves after one iteration loads once.
    if l.runs_once() {
        return;
    }
    // Most loops iterate no query or model: ask that first, it is cheaper than reading the body.
    let Some(origin) = loops::origin(l.iterable, src) else { return };
    let is_async = l.is_async();
    // In async code a plain lazy read raises MissingGreenlet (SA206); the awaited form is the N+1.
    let accesses: Vec<Access> =
        loops::accesses(&l, src).into_iter().filter(|a| !a.hops.is_empty() && (a.awaitable || !is_async)).collect();
    if accesses.is_empty() {
        return;
    }
    checker.defer(Box::new(NPlusOne {
        rule: checker.rule,
        origin,
        accesses,
        iterable: src.get(l.iterable.byte_range()).unwrap_or("").to_string(),
        iterable_line: l.iterable.start_position().row + 1,
    }));
}

struct NPlusOne {
    rule: RuleId,
    origin: Origin,
    accesses: Vec<Access>,
    iterable: String,
    iterable_line: usize,
}

/// One step of a relationship path, with the model it starts from.
struct Step<'a> {
    owner: &'a Model,
    collection: Option<bool>,
    name: String,
}

impl Deferred for NPlusOne {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let entity = match &self.origin.root {
            Root::Query { entity, .. } | Root::Param { entity, .. } | Root::Single { entity, .. } => entity,
        };
        let Some(root_model) = project.index.lookup(entity, project.file) else { return };
        // Walk from the root entity to the loop's entity along the origin path.
        let mut steps: Vec<Step<'_>> = Vec::new();
        let mut model = root_model;
        for name in &self.origin.path {
            let Some(rel) = model.relationship(name) else { return };
            // Iterating a scalar reference makes no sense; a dynamic relationship is a query.
            if rel.collection == Some(false) {
                return;
            }
            steps.push(Step { owner: model, collection: rel.collection, name: name.clone() });
            let Some(target) = project.index.target(model, rel) else { return };
            model = target;
        }
        let loop_model = model;
        let mut reported: Vec<Vec<String>> = Vec::new();
        for access in &self.accesses {
            let mut current = loop_model;
            let mut path: Vec<Step<'_>> = Vec::new();
            for (i, hop) in access.hops.iter().enumerate() {
                let Some(rel) = current.relationship(&hop.name) else { break };
                path.push(Step { owner: current, collection: rel.collection, name: hop.name.clone() });
                let names: Vec<String> =
                    self.origin.path.iter().cloned().chain(path.iter().map(|s| s.name.clone())).collect();
                // `obj.dynamic_rel.append(x)` adds without a query.
                let next = access.hops.get(i + 1).map(|h| h.name.as_str());
                let appends = rel.lazy == LoadStrategy::Dynamic && matches!(next, Some("append" | "remove" | "extend"));
                let covered = match &self.origin.root {
                    Root::Query { eager, .. } => eager.covers(&names) && rel.lazy != LoadStrategy::Dynamic,
                    // Loaded by a caller we cannot see: if any query in the project loads this
                    // relationship eagerly, it may well be the one feeding this code.
                    Root::Param { .. } | Root::Single { .. } => project.index.eager_somewhere(&current.name, &hop.name),
                };
                // Every row points at the same parent when the query pins the foreign key:
                // the many-to-one lazy load then comes from the identity map after the first.
                let same_parent = names.len() == 1
                    && rel.collection == Some(false)
                    && match &self.origin.root {
                        Root::Query { pinned, .. } => {
                            project.index.target(current, rel).is_some_and(|target| {
                                current.foreign_keys_to(target).any(|column| pinned.contains(&column.name))
                            })
                        }
                        _ => false,
                    };
                let covered = covered || same_parent;
                if rel.lazy.queries_per_row() && !covered && !appends && !reported.contains(&names) {
                    reported.push(names);
                    out.push(self.diagnostic(hop.range.clone(), &steps, &path, &rel.lazy));
                }
                // Only scalar references continue a chain (`post.author.profile`).
                if rel.collection != Some(false) {
                    break;
                }
                match project.index.target(current, rel) {
                    Some(target) => current = target,
                    None => break,
                }
            }
        }
    }
}

/// Columns of `from` holding a foreign key to `to`'s table.
impl NPlusOne {
    fn diagnostic(&self, range: Range<usize>, origin: &[Step<'_>], path: &[Step<'_>], lazy: &LoadStrategy) -> Diagnostic {
        let Some(last) = path.last() else {
            return Diagnostic { rule: self.rule, range, message: String::new(), help: None, fix: None };
        };
        let attribute = format!("{}.{}", last.owner.name, last.name);
        let per = match &self.origin.root {
            Root::Query { line, .. } if self.origin.path.is_empty() => format!("once per row of the query on line {line}"),
            Root::Query { .. } | Root::Single { .. } => {
                format!("once per item of `{}` (line {})", self.iterable, self.iterable_line)
            }
            Root::Param { name, entity } => format!("once per item of `{name}` (a collection of `{entity}` passed in)"),
        };
        let kind = match lazy {
            LoadStrategy::Immediate => "loaded by its own SELECT for every row (`lazy=\"immediate\"` is not eager)",
            LoadStrategy::Dynamic => "a dynamic relationship: each use runs a query",
            _ => "lazy-loaded",
        };
        let message = format!("`{attribute}` is {kind}, {per}: N+1 queries");
        // The loader option for the whole path from the query's entity.
        let option = origin
            .iter()
            .chain(path.iter())
            .enumerate()
            .map(|(i, step)| {
                let loader = if step.collection == Some(false) { "joinedload" } else { "selectinload" };
                let sep = if i == 0 { "" } else { "." };
                format!("{sep}{loader}({}.{})", step.owner.name, step.name)
            })
            .collect::<String>();
        let help = match (&self.origin.root, lazy) {
            (_, LoadStrategy::Dynamic) => format!(
                "load the related rows for all items in one query before the loop, or make `{attribute}` a regular relationship and add `.options({option})`"
            ),
            (Root::Query { line, .. }, _) => format!("add `.options({option})` to the query on line {line}"),
            (Root::Param { name, .. }, _) => {
                format!("load it where `{name}` is queried: add `.options({option})` to that query")
            }
            (Root::Single { var, .. }, _) => {
                format!("load it with `{var}`: add `.options({option})` to the query that loads `{var}`")
            }
        };
        Diagnostic { rule: self.rule, range, message, help: Some(help), fix: None }
    }
}
