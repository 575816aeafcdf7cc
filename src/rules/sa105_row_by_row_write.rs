//! SA105 row-by-row-write: a loop over a query's entities that only deletes
//! each one, or sets the same column values on each one, where one bulk
//! `DELETE` / `UPDATE` statement would do. The loop and query are read during
//! the pass; columns, relationships and cascades come from the model index.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::Model;
use crate::loops::{self, Loop, Root};
use crate::python::{self, unparen};
use crate::query::{Dialect, QueryExpr};
use crate::registry::RuleId;

/// Query links that add criteria the bulk statement keeps.
const CRITERIA: &[&str] = &["filter", "filter_by", "where"];
/// Links a bulk statement can drop without changing which rows it touches.
const DROPPABLE: &[&str] = &[
    "order_by",
    "all",
    "yield_per",
    "options",
    "execution_options",
    "populate_existing",
    "enable_eagerloads",
    "autoflush",
    "with_for_update",
];
/// Links after `session.scalars(...)` / `execute(...)` / `exec(...)`.
const RESULT_LINKS: &[&str] = &["scalars", "all", "yield_per", "fetchall", "unique"];
/// Calls whose value is the same for every row, as far as a bulk statement is concerned:
/// the current time, SQL functions, and pure conversions of values that do not vary per row.
const STABLE_CALLS: &[&str] = &[
    "now",
    "utcnow",
    "today",
    "current_timestamp",
    "str",
    "int",
    "float",
    "bool",
    "Decimal",
    "len",
    "min",
    "max",
    "abs",
    "round",
    "text",
    "literal",
    "null",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(node) = m.get("loop") else { return };
    let src = checker.source();
    let Some(l) = Loop::from_node(node, src) else { return };
    let Some(body) = node.field("body") else { return };
    let Some(left) = node.field("left") else { return };
    // Every name the loop binds varies per row (`for i, obj in enumerate(q)`).
    let mut bound: Vec<&str> = Vec::new();
    collect_identifiers(left, src, &mut bound);
    let Some(writes) = body_writes(body, l.var_name(src), &bound, src) else { return };
    let Some(origin) = loops::origin(l.iterable, src) else { return };
    let Root::Query { entity, line, .. } = origin.root else { return };
    if !origin.path.is_empty() {
        return;
    }
    let Some(iterated) = loops::iterated_query(l.iterable, src) else { return };
    let Some(statement) = bulk_statement(&iterated.query, src) else { return };
    // The loaded objects (or the query) are needed elsewhere.
    if iterated.variables.iter().any(|v| loops::has_other_uses(*v, src)) || loops::used_after(&l, src) {
        return;
    }
    checker.defer(Box::new(RowByRowWrite {
        rule: checker.rule,
        range: node.start_byte()..l.iterable.end_byte(),
        entity,
        line,
        writes,
        statement,
        hooks_here: has_orm_hooks(src),
    }));
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

fn collect_identifiers<'s>(node: Node<'_>, src: &'s str, out: &mut Vec<&'s str>) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind_str() == "identifier" {
            out.push(text(n, src));
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
}

/// What the loop body does to each row.
enum Writes {
    Delete,
    /// `(attribute, value source)` pairs, in order.
    Update(Vec<(String, String)>),
}

/// Reads a body made only of `session.delete(var)`, or only of `var.attr = <value the same for
/// every row>` plus an optional `session.add(var)`; anything else gives `None`.
fn body_writes(body: Node<'_>, var: &str, bound: &[&str], src: &str) -> Option<Writes> {
    let mut deletes = 0;
    let mut adds = 0;
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).filter(|s| s.kind_str() != "comment").collect();
    for statement in statements {
        if statement.kind_str() != "expression_statement" || statement.named_child_count() != 1 {
            return None;
        }
        let mut expr = unparen(statement.named_child(0)?);
        if expr.kind_str() == "await" {
            expr = unparen(expr.named_child(0)?);
        }
        match expr.kind_str() {
            "call" => match session_call(expr, var, src)? {
                "delete" => deletes += 1,
                _ => adds += 1,
            },
            "assignment" => {
                let target = expr.field("left")?;
                let value = expr.field("right")?;
                if target.kind_str() != "attribute" || expr.field("type").is_some() {
                    return None;
                }
                let object = target.field("object")?;
                if object.kind_str() != "identifier" || text(object, src) != var {
                    return None;
                }
                let name = text(target.field("attribute")?, src).to_string();
                if sets.iter().any(|(n, _)| *n == name) || !same_every_row(value, bound, src) {
                    return None;
                }
                sets.push((name, text(value, src).to_string()));
            }
            _ => return None,
        }
    }
    match (deletes, adds, sets.is_empty()) {
        (1, 0, true) => Some(Writes::Delete),
        (0, 0 | 1, false) => Some(Writes::Update(sets)),
        _ => None,
    }
}

/// `session.delete(var)` / `session.add(var)` (also `db.session`, `self.session`, `db`): the method.
fn session_call<'s>(call: Node<'_>, var: &str, src: &'s str) -> Option<&'s str> {
    let method = python::callee_name(call, src).filter(|m| matches!(*m, "delete" | "add"))?;
    let args = python::arguments(call);
    let [only] = args.as_slice() else { return None };
    if only.kind_str() != "identifier" || text(*only, src) != var {
        return None;
    }
    let receiver = python::dotted_name(python::receiver(call)?, src)?;
    let last = receiver.rsplit('.').next().unwrap_or(&receiver).to_ascii_lowercase();
    (last.contains("session") || matches!(last.as_str(), "db" | "s" | "sess")).then_some(method)
}

/// Is `value` the same for every row: literals, names not bound by the loop, attributes,
/// operators and containers of those, and a few stable calls (`datetime.now()`, `func.now()`)?
fn same_every_row(value: Node<'_>, bound: &[&str], src: &str) -> bool {
    let mut stack = vec![value];
    let mut budget = 200;
    while let Some(node) = stack.pop() {
        budget -= 1;
        if budget == 0 {
            return false;
        }
        match node.kind_str() {
            "identifier" => {
                if bound.contains(&text(node, src)) {
                    return false;
                }
                continue;
            }
            "integer" | "float" | "true" | "false" | "none" | "string_start" | "string_content" | "string_end"
            | "escape_sequence" | "comment" => continue,
            "attribute" => {
                // `Status.DONE`, `other.id`: only the object can vary.
                stack.extend(node.field("object"));
                continue;
            }
            "call" => {
                let stable = python::callee_name(node, src).is_some_and(|n| STABLE_CALLS.contains(&n))
                    || python::dotted_name(node.field("function").unwrap_or(node), src)
                        .is_some_and(|d| d.starts_with("func.") || d.contains(".func."));
                if !stable {
                    return false;
                }
            }
            "string"
            | "concatenated_string"
            | "interpolation"
            | "format_specifier"
            | "parenthesized_expression"
            | "unary_operator"
            | "binary_operator"
            | "boolean_operator"
            | "not_operator"
            | "comparison_operator"
            | "conditional_expression"
            | "tuple"
            | "list"
            | "set"
            | "dictionary"
            | "pair"
            | "subscript"
            | "slice"
            | "argument_list"
            | "keyword_argument" => {}
            _ => return false,
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    true
}

/// Where the bulk statement goes and the criteria it keeps.
struct Statement {
    /// `session.query(User)` / `User.query` for the legacy API, else `None`.
    legacy_head: Option<String>,
    /// The session expression for 2.0 statements, with `await ` when the query was awaited.
    session: String,
    /// `.filter(...)` / `.where(...)` texts; `None` when the criteria are spread over
    /// conditional assignments and cannot be restated exactly.
    criteria: Option<String>,
}

/// Checks the query selects rows a bulk statement can target (criteria only: no join, limit,
/// distinct...) and reads how to restate it.
fn bulk_statement(found: &QueryExpr<'_>, src: &str) -> Option<Statement> {
    let start = found.chain.links.get(found.start)?;
    let after = found.chain.links.get(found.start + 1..).unwrap_or_default();
    let mut criteria = String::new();
    let mut add = |link: &python::Link<'_>| -> Option<()> {
        if CRITERIA.contains(&link.name) {
            let args = link.call?.field("arguments")?;
            criteria.push_str(&format!(".{}{}", link.name, text(args, src)));
            Some(())
        } else {
            DROPPABLE.contains(&link.name).then_some(())
        }
    };
    match found.dialect {
        Dialect::Legacy => {
            for link in after {
                add(link)?;
            }
            let head = match start.call {
                None if loops::names_module_class(found.chain.root, text(found.chain.root, src), src) => {
                    format!("{}.query", text(found.chain.root, src))
                }
                None => return None,
                Some(call) => {
                    let args = python::arguments(call);
                    let [entity] = args.as_slice() else { return None };
                    let node = unparen(*entity);
                    if node.kind_str() != "identifier" || !loops::names_module_class(node, text(node, src), src) {
                        return None;
                    }
                    format!("{}.query({})", text(python::receiver(call)?, src), text(*entity, src))
                }
            };
            Some(Statement { legacy_head: Some(head), session: String::new(), criteria: Some(criteria) })
        }
        Dialect::Statement => {
            if !after.iter().all(|l| RESULT_LINKS.contains(&l.name)) {
                return None;
            }
            let call = start.call?;
            let args = python::arguments(call);
            let [statement] = args.as_slice() else { return None };
            let parsed = loops::executed_statement(*statement, src)?;
            let entity = unparen(parsed.entity);
            if entity.kind_str() != "identifier" || !loops::names_module_class(entity, text(entity, src), src) {
                return None;
            }
            for link in &parsed.links {
                add(link)?;
            }
            let awaited = call.up().is_some_and(|p| p.kind_str() == "await");
            let session = format!("{}{}", if awaited { "await " } else { "" }, text(python::receiver(call)?, src));
            Some(Statement { legacy_head: None, session, criteria: parsed.exact.then_some(criteria) })
        }
    }
}

/// Does the source register ORM event listeners or attribute validators?
fn has_orm_hooks(text: &str) -> bool {
    ["listens_for(", "event.listen(", "@validates"].iter().any(|hook| text.contains(hook))
}

struct RowByRowWrite {
    rule: RuleId,
    range: Range<usize>,
    entity: String,
    line: usize,
    writes: Writes,
    statement: Statement,
    /// This file registers event listeners or validators.
    hooks_here: bool,
}

impl Deferred for RowByRowWrite {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let Some(model) = project.index.lookup(&self.entity, project.file) else { return };
        if self.hooks_here || model_has_hooks(model) {
            return;
        }
        match &self.writes {
            Writes::Delete => {
                if !plain_delete(project, model) {
                    return;
                }
            }
            Writes::Update(sets) => {
                if sets.iter().any(|(name, _)| model.column(name).is_none() || model.relationship(name).is_some()) {
                    return;
                }
            }
        }
        out.push(self.diagnostic());
    }
}

/// Hooks the ORM runs per object in the model's module: reading it is cheap and only ever
/// silences the rule (an unreadable file counts as hooked).
fn model_has_hooks(model: &Model) -> bool {
    std::fs::read_to_string(&model.path).map_or(true, |text| has_orm_hooks(&text))
}

/// Does `session.delete(obj)` issue nothing but the object's own `DELETE`? Only when every
/// relationship is a plain many-to-one (this side holds the foreign key) without a delete
/// cascade: a collection, one-to-one or many-to-many makes the ORM touch other rows.
fn plain_delete(project: &Project<'_>, model: &Model) -> bool {
    model.relationships.iter().all(|rel| {
        // An unreadable cascade (a variable) counts as deleting.
        let cascades = rel.cascade.as_deref().is_some_and(|c| {
            let tokens: Vec<&str> = c.split(',').map(str::trim).collect();
            let readable = tokens.iter().all(|t| t.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'));
            !readable || tokens.iter().any(|t| *t == "all" || t.starts_with("delete"))
        });
        if cascades || rel.secondary || rel.collection != Some(false) {
            return false;
        }
        project.index.target(model, rel).is_some_and(|target| model.foreign_keys_to(target).next().is_some())
    })
}

impl RowByRowWrite {
    fn diagnostic(&self) -> Diagnostic {
        let entity = &self.entity;
        let st = &self.statement;
        let criteria = st.criteria.clone().unwrap_or_else(|| ".where(<the query's criteria>)".to_string());
        let (message, help) = match &self.writes {
            Writes::Delete => {
                let statement = match &st.legacy_head {
                    Some(head) => format!("{head}{criteria}.delete()"),
                    None => format!("{}.execute(delete({entity}){criteria})", st.session),
                };
                (
                    format!(
                        "every `{entity}` loaded by the query on line {} is deleted one by one: one `DELETE` per row, after loading them all",
                        self.line
                    ),
                    format!("delete them with one statement: `{statement}` (it skips ORM cascades and events)"),
                )
            }
            Writes::Update(sets) => {
                let assigned = sets.iter().map(|(n, v)| format!("{n} = {v}")).collect::<Vec<_>>().join(", ");
                let statement = match &st.legacy_head {
                    Some(head) => {
                        let values = sets.iter().map(|(n, v)| format!("{entity}.{n}: {v}")).collect::<Vec<_>>();
                        format!("{head}{criteria}.update({{{}}})", values.join(", "))
                    }
                    None => {
                        let values = sets.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>();
                        format!("{}.execute(update({entity}){criteria}.values({}))", st.session, values.join(", "))
                    }
                };
                (
                    format!(
                        "every `{entity}` loaded by the query on line {} gets the same `{assigned}`: one `UPDATE` per row, after loading them all",
                        self.line
                    ),
                    format!("update them with one statement: `{statement}` (it skips ORM events and validators)"),
                )
            }
        };
        Diagnostic { rule: self.rule, range: self.range.clone(), message, help: Some(help), fix: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::test_support::{first, parse};

    fn writes(src: &str) -> Option<Writes> {
        let tree = parse(src);
        let node = first(&tree, "for_statement");
        let l = Loop::from_node(node, src)?;
        let mut bound = Vec::new();
        collect_identifiers(node.field("left")?, src, &mut bound);
        body_writes(node.field("body")?, l.var_name(src), &bound, src)
    }

    #[test]
    fn bodies() {
        assert!(matches!(writes("for u in q:\n    session.delete(u)\n"), Some(Writes::Delete)));
        assert!(matches!(writes("for u in q:\n    await self.session.delete(u)\n"), Some(Writes::Delete)));
        let Some(Writes::Update(sets)) =
            writes("for u in q:\n    u.a = None\n    u.b = now()\n    db.session.add(u)\n")
        else {
            panic!("not an update")
        };
        assert_eq!(sets, [("a".to_string(), "None".to_string()), ("b".to_string(), "now()".to_string())]);
        for silent in [
            "for u in q:\n    u.a = u.b\n",
            "for u in q:\n    u.a += 1\n",
            "for i, u in enumerate(q):\n    u.a = i\n",
            "for u in q:\n    u.a = uuid4()\n",
            "for u in q:\n    u.a = [x for x in y]\n",
            "for u in q:\n    u.a = 1\n    u.a = 2\n",
            "for u in q:\n    session.delete(u)\n    session.delete(u)\n",
            "for u in q:\n    session.add(u)\n",
            "for u in q:\n    cache.delete(u)\n",
            "for u in q:\n    session.delete(u)\n    u.a = 1\n",
            "for u in q:\n    u.a: int = 1\n",
            "for u in q:\n    u.a.b = 1\n",
        ] {
            assert!(writes(silent).is_none(), "{silent}");
        }
    }
}
