//! SA103 entity-for-columns: a loop over whole-entity query results that only
//! reads plain columns of each entity. The loop's syntax (which attributes it
//! reads, whether the entity escapes) is read during the pass; whether those
//! attributes are columns is decided against the model index afterwards.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::loops::{self, Loop, Root};
use crate::python::{self, unparen};
use crate::query::Dialect;
use crate::registry::RuleId;

/// Links of a legacy query that keep it a plain "rows of this entity" query.
const LEGACY_LINKS: &[&str] = &[
    "filter",
    "filter_by",
    "where",
    "order_by",
    "limit",
    "offset",
    "slice",
    "all",
    "yield_per",
    "execution_options",
    "params",
];
/// Links after `session.scalars(...)` / `execute(...)` / `exec(...)`.
const RESULT_LINKS: &[&str] = &["scalars", "all", "yield_per", "fetchall"];
/// Links of the executed `select(M)`.
const STATEMENT_LINKS: &[&str] =
    &["where", "filter", "filter_by", "order_by", "limit", "offset", "execution_options", "params"];
/// Methods that change a column value in place (a mutable JSON / array column).
const MUTATORS: &[&str] = &[
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "update",
    "add",
    "discard",
    "setdefault",
    "popitem",
    "sort",
    "reverse",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(node) = m.get("loop") else { return };
    let src = checker.source();
    let Some(l) = Loop::from_node(node, src) else { return };
    if l.runs_once() {
        return;
    }
    // Most loops iterate no query: ask that first, it is cheaper than reading the body.
    let Some(origin) = loops::origin(l.iterable, src) else { return };
    let Root::Query { entity, line, .. } = origin.root else { return };
    if !origin.path.is_empty() {
        return;
    }
    let Some(reads) = column_reads(&l, src) else { return };
    if reads.is_empty() {
        return;
    }
    let Some(iterated) = loops::iterated_query(l.iterable, src) else { return };
    let Some(form) = query_form(&iterated.query, src) else { return };
    // The loaded entities (or the query) are needed elsewhere: keep them.
    if iterated.variables.iter().any(|v| loops::has_other_uses(*v, src)) || loops::used_after(&l, src) {
        return;
    }
    let end = if node.kind_str() == "for_statement" { l.iterable.end_byte() } else { node.end_byte() };
    checker.defer(Box::new(EntityForColumns {
        rule: checker.rule,
        range: node.start_byte()..end,
        entity,
        line,
        reads,
        form,
    }));
}

/// Every attribute read on the loop variable, or `None` when the variable escapes (used bare,
/// written, a method called on it, captured by a nested function or rebound).
fn column_reads(l: &Loop<'_>, src: &str) -> Option<Vec<String>> {
    let var = l.var_name(src);
    let mut reads: Vec<(usize, String)> = Vec::new();
    let mut stack: Vec<Node<'_>> = l.per_iteration();
    while let Some(node) = stack.pop() {
        match node.kind_str() {
            "function_definition" | "class_definition" | "lambda" => {
                if mentions(node, var, src) {
                    return None;
                }
                continue;
            }
            "identifier" => {
                if text(node, src) == var && !is_name_field(node) {
                    reads.push((node.start_byte(), column_read(node, src)?));
                }
                continue;
            }
            _ => {}
        }
        if node.id() != l.node.id() {
            if let Some(inner) = Loop::from_node(node, src) {
                if inner.var_name(src) == var {
                    return None;
                }
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    reads.sort();
    Some(reads.into_iter().map(|(_, name)| name).collect())
}

/// The attribute read by `var.attr` at the identifier `var`, if it is a plain read.
fn column_read(var: Node<'_>, src: &str) -> Option<String> {
    let attribute = var.up().filter(|p| p.kind_str() == "attribute" && field_is(*p, "object", var))?;
    let name = text(attribute.field("attribute")?, src).to_string();
    let parent = attribute.up()?;
    let written = |target: Node<'_>| -> bool {
        target.up().is_some_and(|p| match p.kind_str() {
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => field_is(p, "left", target),
            "delete_statement" | "pattern_list" | "tuple_pattern" | "list_pattern" => true,
            _ => false,
        })
    };
    if written(attribute) {
        return None;
    }
    match parent.kind_str() {
        // `var.method()`
        "call" if field_is(parent, "function", attribute) => return None,
        // `var.tags[0] = x`, `del var.data["k"]`
        "subscript" if written(parent) => return None,
        // `var.tags.append(x)`
        "attribute" => {
            let method = parent.field("attribute").map(|a| text(a, src)).unwrap_or("");
            let called = parent.up().is_some_and(|c| c.kind_str() == "call" && field_is(c, "function", parent));
            if (called && MUTATORS.contains(&method)) || written(parent) {
                return None;
            }
        }
        _ => {}
    }
    Some(name)
}

fn mentions(node: Node<'_>, var: &str, src: &str) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind_str() == "identifier" && text(n, src) == var && !is_name_field(n) {
            return true;
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    false
}

/// An attribute name (`x.var`) or keyword name (`f(var=1)`), not a variable.
fn is_name_field(node: Node<'_>) -> bool {
    node.up().is_some_and(|p| match p.kind_str() {
        "attribute" => field_is(p, "attribute", node),
        "keyword_argument" => field_is(p, "name", node),
        _ => false,
    })
}

fn field_is(parent: Node<'_>, field: &str, child: Node<'_>) -> bool {
    parent.field(field).is_some_and(|c| c.id() == child.id())
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// How the query is written, for the advice.
enum Form {
    /// `session.query(User)...`: the session expression.
    Session(String),
    /// Flask-SQLAlchemy `User.query...`.
    Flask,
    /// `session.scalars(select(User)...)`: the session expression, the executor, awaited or not.
    Statement { session: String, executor: String, original: String, awaited: bool },
}

/// Checks the query loads whole entities of one class and nothing that depends on them being
/// entities (options, joins, DISTINCT), and reads how it is written.
fn query_form(found: &crate::query::QueryExpr<'_>, src: &str) -> Option<Form> {
    let start = found.chain.links.get(found.start)?;
    let after: Vec<&str> = found.chain.links.iter().skip(found.start + 1).map(|l| l.name).collect();
    match found.dialect {
        Dialect::Legacy => {
            if !after.iter().all(|name| LEGACY_LINKS.contains(name)) {
                return None;
            }
            match start.call {
                None if loops::names_module_class(found.chain.root, text(found.chain.root, src), src) => {
                    Some(Form::Flask)
                }
                None => None,
                Some(call) => {
                    let args = python::arguments(call);
                    let [entity] = args.as_slice() else { return None };
                    let entity = unparen(*entity);
                    if entity.kind_str() != "identifier" || !loops::names_module_class(entity, text(entity, src), src) {
                        return None;
                    }
                    Some(Form::Session(text(python::receiver(call)?, src).to_string()))
                }
            }
        }
        Dialect::Statement => {
            if !after.iter().all(|name| RESULT_LINKS.contains(name)) {
                return None;
            }
            let call = start.call?;
            let statement = *python::positional_arguments(call).first()?;
            let parsed = loops::executed_statement(statement, src)?;
            let entity = unparen(parsed.entity);
            if entity.kind_str() != "identifier"
                || !loops::names_module_class(entity, text(entity, src), src)
                || !parsed.links.iter().all(|l| STATEMENT_LINKS.contains(&l.name))
            {
                return None;
            }
            let awaited = call.up().is_some_and(|p| p.kind_str() == "await");
            let executor = if start.name == "exec" { "exec" } else { "execute" };
            Some(Form::Statement {
                session: text(python::receiver(call)?, src).to_string(),
                executor: executor.to_string(),
                original: start.name.to_string(),
                awaited,
            })
        }
    }
}

struct EntityForColumns {
    rule: RuleId,
    range: Range<usize>,
    entity: String,
    line: usize,
    /// Attribute names read on the loop variable, in source order (with repeats).
    reads: Vec<String>,
    form: Form,
}

impl Deferred for EntityForColumns {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let Some(model) = project.index.lookup(&self.entity, project.file) else { return };
        let mut columns: Vec<&str> = Vec::new();
        for name in &self.reads {
            if model.relationship(name).is_some() || model.column(name).is_none() {
                return;
            }
            if !columns.contains(&name.as_str()) {
                columns.push(name);
            }
        }
        // Reading every column saves no I/O: leave that call to the author.
        if columns.is_empty() || columns.len() >= model.columns.len() {
            return;
        }
        let entity = &self.entity;
        let list = columns.iter().map(|c| format!("{entity}.{c}")).collect::<Vec<_>>().join(", ");
        let names = columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        let plural = if columns.len() == 1 { "column" } else { "columns" };
        let message = format!(
            "the loop reads only the {plural} {names} of each `{entity}`, but the query on line {} loads whole `{entity}` objects",
            self.line
        );
        let rows = columns.iter().map(|c| format!("`row.{c}`")).collect::<Vec<_>>().join(", ");
        let select = match &self.form {
            Form::Session(session) => format!("`{session}.query({list})` in place of `{session}.query({entity})`"),
            Form::Flask => format!("add `.with_entities({list})` to the query"),
            Form::Statement { session, executor, original, awaited } => {
                let wait = if *awaited { "await " } else { "" };
                format!("`{wait}{session}.{executor}(select({list})...)` in place of `{session}.{original}(select({entity})...)`")
            }
        };
        let which = if columns.len() == 1 { "the column" } else { "the columns" };
        let help = format!("select only {which} it reads: {select}; each row still has {rows}");
        out.push(Diagnostic { rule: self.rule, range: self.range.clone(), message, help: Some(help), fix: None });
    }
}
