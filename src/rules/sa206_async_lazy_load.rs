//! SA206 async-lazy-load: in an `async def`, a relationship read on an entity the
//! function loaded through an awaited session call (`await session.get(...)`,
//! `await session.scalars(select(...))`, ...) without loading that relationship
//! eagerly. Under asyncio a lazy load is implicit IO, which raises `MissingGreenlet`.
//! The syntax (loads, loader options, reads) is read during the pass; whether each
//! attribute is a lazy relationship is decided against the model index afterwards.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::Model;
use crate::index::LoadStrategy;
use crate::loops::{self, Access, Eager, Loop, Root};
use crate::python::{self, unparen};
use crate::query::{self, Dialect};
use crate::registry::RuleId;

/// Nodes of one function looked at: past this, stay silent.
const MAX_NODES: usize = 50_000;

/// Result methods that return one entity of the statement's class.
const SINGLE: &[&str] = &["first", "one", "one_or_none", "scalar_one", "scalar_one_or_none", "scalar"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(function) = m.get("function") else { return };
    let src = checker.source();
    if !is_async(function, src) {
        return;
    }
    let Some(body) = function.field("body") else { return };
    // Every load this rule follows is awaited in the function's own scope.
    if !src.get(body.byte_range()).is_some_and(|b| b.contains("await")) {
        return;
    }
    let nodes = python::scope_nodes(body);
    if nodes.len() > MAX_NODES {
        return;
    }
    let mut loads = Vec::new();
    for node in &nodes {
        if let Some(l) = Loop::from_node(*node, src) {
            loads.extend(loop_load(&l, src));
        } else if node.kind_str() == "assignment" {
            loads.extend(single_load(*node, body, src));
        }
    }
    if !loads.is_empty() {
        checker.defer(Box::new(AsyncLoads { rule: checker.rule, loads }));
    }
}

fn is_async(function: Node<'_>, src: &str) -> bool {
    // The `async` keyword is the definition's first token when present.
    src.get(function.start_byte()..).is_some_and(|t| t.starts_with("async"))
        && function.child(0).is_some_and(|c| c.kind_str() == "async")
}

/// Entities of one class loaded by an awaited statement, and the reads on them.
struct Load {
    entity: String,
    /// The variable the reads go through (`user`, or a loop's `u`).
    var: String,
    /// Line of the awaited call that loaded them.
    line: usize,
    eager: Eager,
    reads: Vec<Read>,
}

/// One read (or collection replacement) of `var.rel...`.
struct Read {
    access: Access,
    /// Relationship names given to `await session.refresh(var, [...])` before it (`*`: unknown).
    refreshed: Vec<String>,
    /// `var.rel = [...]`: replacing a collection loads the old one first; a scalar does not.
    write: bool,
}

/// `for u in (await session.scalars(select(User))).all():` — reads of `u` in the body.
fn loop_load(l: &Loop<'_>, src: &str) -> Option<Load> {
    let origin = loops::origin(l.iterable, src)?;
    let Root::Query { entity, line, eager, dialect: loops::QueryDialect::Statement, .. } = origin.root else {
        return None;
    };
    // `for p in user.posts`: the read of `user.posts` is the lazy load, reported on its own.
    if !origin.path.is_empty() || !awaited_source(l.iterable, src, 0) {
        return None;
    }
    let reads: Vec<Read> = loops::accesses(l, src)
        .into_iter()
        .filter(|a| !a.awaitable && !a.hops.is_empty())
        .map(|access| {
            let refreshed = refreshed_before(l.var, access.hops[0].range.start, src);
            Read { access, refreshed, write: false }
        })
        .collect();
    (!reads.is_empty()).then(|| Load { entity, var: l.var_name(src).to_string(), line, eager, reads })
}

/// Does the iterable come from an awaited execution (`await session.scalars(...)`, a variable
/// holding its result, `list(...)` of one)?
fn awaited_source(node: Node<'_>, src: &str, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    let node = unparen(node);
    if node.kind_str() == "await" {
        return true;
    }
    if let Some(found) = query::resolve_query(node, src) {
        return found.chain.links.get(found.start).is_some_and(|l| is_awaited(l.node));
    }
    match node.kind_str() {
        "identifier" => query::assigned_value(node, src).is_some_and(|v| awaited_source(v, src, depth + 1)),
        "call" if python::receiver(node).is_none() => {
            python::positional_arguments(node).first().is_some_and(|a| awaited_source(*a, src, depth + 1))
        }
        _ => false,
    }
}

/// Is the call the operand of an `await` (through parentheses)?
fn is_awaited(call: Node<'_>) -> bool {
    let mut current = call;
    while let Some(parent) = current.up() {
        match parent.kind_str() {
            "parenthesized_expression" => current = parent,
            "await" => return true,
            _ => return false,
        }
    }
    false
}

/// `user = await session.get(User, pk)`, `user = (await session.scalars(stmt)).first()`,
/// `user = await session.scalar(select(User)...)`, `user = result.scalar_one()` with
/// `result = await session.execute(...)` — and every read of `user` after it.
fn single_load(assign: Node<'_>, body: Node<'_>, src: &str) -> Option<Load> {
    let var = assign.field("left").map(unparen).filter(|l| l.kind_str() == "identifier")?;
    let value = unparen(assign.field("right")?);
    let (entity, eager, line) = loaded_entity(value, src)?;
    let name = src.get(var.byte_range())?;
    let reads = reads_after(assign, name, body, src);
    (!reads.is_empty()).then(|| Load { entity, var: name.to_string(), line, eager, reads })
}

/// The class, loader options and line of a single entity loaded by an awaited call.
fn loaded_entity(value: Node<'_>, src: &str) -> Option<(String, Eager, usize)> {
    let (call, awaited) = match value.kind_str() {
        "await" => (unparen(value.named_child(0)?), true),
        "call" => (value, false),
        _ => return None,
    };
    if call.kind_str() != "call" {
        return None;
    }
    let chain = python::chain(call, src);
    let last = chain.last()?;
    let line = call.start_position().row + 1;
    let mut eager = Eager::default();
    match last.name {
        // `await session.get(User, pk, options=[selectinload(User.posts)])`
        "get" if awaited => {
            let args = python::positional_arguments(call);
            let entity = args.first().map(|a| unparen(*a)).filter(|a| a.kind_str() == "identifier")?;
            let entity = src.get(entity.byte_range()).filter(|n| query::is_class_name(n))?;
            if args.len() != 2 || python::receiver(call).is_none() {
                return None;
            }
            if let Some(options) = python::keyword_argument(call, "options", src).map(unparen) {
                match options.kind_str() {
                    "list" | "tuple" => python::named_children(options).into_iter().for_each(|o| eager.add_option(o, src, &[])),
                    _ => eager.opaque = true,
                }
            }
            Some((entity.to_string(), eager, line))
        }
        // `await session.scalar(select(User).where(...))`: read as a statement query.
        "scalar" if awaited && python::receiver(call).is_some() => {
            let statement = python::positional_arguments(call).first().copied()?;
            if !query::is_statement(unparen(statement), src) {
                return None;
            }
            let start = chain.links.len() - 1;
            let found = query::QueryExpr { dialect: Dialect::Statement, chain: python::chain(call, src), start };
            let entity = found.entity(src)?.to_string();
            loops::collect_options(&found, src, &mut eager);
            Some((entity, eager, line))
        }
        name if SINGLE.contains(&name) && !awaited => {
            let receiver = python::receiver(last.call?)?;
            let found = query::resolve_query(receiver, src)?;
            if found.dialect != Dialect::Statement || !found.chain.links.get(found.start).is_some_and(|l| is_awaited(l.node))
            {
                return None;
            }
            let entity = found.entity(src)?.to_string();
            loops::collect_options(&found, src, &mut eager);
            let line = found.chain.links.get(found.start).map_or(line, |l| l.node.start_position().row + 1);
            Some((entity, eager, line))
        }
        _ => None,
    }
}

/// Reads `var.rel...` after `assign` in the function body, until `var` is assigned again.
fn reads_after(assign: Node<'_>, var: &str, body: Node<'_>, src: &str) -> Vec<Read> {
    let start = assign.end_byte();
    let mut end = body.end_byte();
    for node in python::scope_nodes(body) {
        if node.kind_str() == "assignment" && node.start_byte() >= start {
            let rebinds = node.field("left").is_some_and(|l| src.get(l.byte_range()) == Some(var));
            if rebinds {
                end = end.min(node.start_byte());
            }
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.end_byte() <= start || node.start_byte() >= end {
            continue;
        }
        match node.kind_str() {
            "function_definition" | "class_definition" | "lambda" => continue,
            "attribute" if node.start_byte() >= start => {
                if let Some(access) = loops::access_chain(node, var, src) {
                    if !access.awaitable && !access.hops.is_empty() {
                        let refreshed = refreshed_before_in(body, var, node.start_byte(), src);
                        out.push(Read { access, refreshed, write: false });
                    }
                    continue;
                }
                if let Some(access) = replaced(node, var, src) {
                    let refreshed = refreshed_before_in(body, var, node.start_byte(), src);
                    out.push(Read { access, refreshed, write: true });
                    continue;
                }
            }
            _ => {}
        }
        // A loop rebinding the name hides it.
        if Loop::from_node(node, src).is_some_and(|l| l.var_name(src) == var) {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out.sort_by_key(|r| r.access.hops.first().map(|h| h.range.start));
    out
}

/// `var.rel = value`: the assignment target, as a one-hop access.
fn replaced(node: Node<'_>, var: &str, src: &str) -> Option<Access> {
    let object = node.field("object").map(unparen)?;
    if object.kind_str() != "identifier" || src.get(object.byte_range()) != Some(var) {
        return None;
    }
    let parent = node.up().filter(|p| p.kind_str() == "assignment")?;
    parent.field("left").filter(|l| l.id() == node.id())?;
    let name = src.get(node.field("attribute")?.byte_range())?.to_string();
    Some(Access { hops: vec![loops::Hop { name, range: node.byte_range() }], awaitable: false })
}

/// Relationship names refreshed on `var` before byte `at`, in the loop's function.
fn refreshed_before(var: Node<'_>, at: usize, src: &str) -> Vec<String> {
    let name = src.get(var.byte_range()).unwrap_or("");
    python::enclosing_function(var)
        .and_then(|f| f.field("body"))
        .map_or_else(Vec::new, |body| refreshed_before_in(body, name, at, src))
}

/// `await session.refresh(var, ["posts", "tags"])` (or `attribute_names=[...]`) before `at`.
/// A refresh naming attributes we cannot read (a variable) refreshes every relationship: `*`.
fn refreshed_before_in(body: Node<'_>, var: &str, at: usize, src: &str) -> Vec<String> {
    let mut names = Vec::new();
    for node in python::scope_nodes(body) {
        if node.start_byte() >= at || node.kind_str() != "call" || python::callee_name(node, src) != Some("refresh") {
            continue;
        }
        let args = python::positional_arguments(node);
        if args.first().and_then(|a| src.get(unparen(*a).byte_range())) != Some(var) {
            continue;
        }
        let Some(list) = args.get(1).copied().or_else(|| python::keyword_argument(node, "attribute_names", src)) else {
            continue;
        };
        let list = unparen(list);
        if !matches!(list.kind_str(), "list" | "tuple") {
            names.push("*".to_string());
            continue;
        }
        for item in python::named_children(list) {
            match src.get(item.byte_range()) {
                Some(text) if python::is_literal_string(item) => {
                    names.push(text.trim_matches(|c| c == '"' || c == '\'').to_string())
                }
                _ => names.push("*".to_string()),
            }
        }
    }
    names
}

struct AsyncLoads {
    rule: RuleId,
    loads: Vec<Load>,
}

impl Deferred for AsyncLoads {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let mut reported: Vec<(String, Vec<String>)> = Vec::new();
        for load in &self.loads {
            let Some(model) = project.index.lookup(&load.entity, project.file) else { continue };
            for read in &load.reads {
                let (access, refreshed) = (&read.access, &read.refreshed);
                let mut current: &Model = model;
                let mut path: Vec<String> = Vec::new();
                let mut owners: Vec<(&Model, Option<bool>)> = Vec::new();
                for (i, hop) in access.hops.iter().enumerate() {
                    let Some(rel) = current.relationship(&hop.name) else { break };
                    path.push(hop.name.clone());
                    owners.push((current, rel.collection));
                    let refreshed_here =
                        i == 0 && refreshed.iter().any(|r| r == "*" || r == &hop.name);
                    // `immediateload` loads with the query: no IO is left for the attribute read.
                    let covered = load.eager.covers(&path) || load.eager.immediate.contains(&path) || refreshed_here;
                    if read.write && rel.collection != Some(true) {
                        break;
                    }
                    if rel.lazy == LoadStrategy::Select && !covered {
                        let key = (load.var.clone(), path.clone());
                        if !reported.contains(&key) {
                            reported.push(key);
                            out.push(self.diagnostic(load, hop.range.clone(), &owners, &path, read.write));
                        }
                        break;
                    }
                    // Only loaded scalar references continue a chain (`post.author.profile`).
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
}

impl AsyncLoads {
    fn diagnostic(
        &self,
        load: &Load,
        range: Range<usize>,
        owners: &[(&Model, Option<bool>)],
        path: &[String],
        write: bool,
    ) -> Diagnostic {
        let Some(((owner, _), name)) = owners.last().zip(path.last()) else {
            return Diagnostic { rule: self.rule, range, message: String::new(), help: None, fix: None };
        };
        let attribute = format!("{}.{}", owner.name, name);
        let var = &load.var;
        let line = load.line;
        let read = format!("{var}.{}", path.join("."));
        let what = if write {
            format!("assigning `{read}` loads the old `{attribute}` collection first (to replace it), on an object")
        } else {
            format!("`{read}` lazy-loads `{attribute}` on an object")
        };
        let message = format!(
            "{what} loaded through an `AsyncSession` (line {line}) without loading that relationship: under \
             asyncio the implicit query raises `MissingGreenlet`"
        );
        let option = owners
            .iter()
            .zip(path)
            .enumerate()
            .map(|(i, ((model, collection), step))| {
                let loader = if *collection == Some(false) { "joinedload" } else { "selectinload" };
                let sep = if i == 0 { "" } else { "." };
                format!("{sep}{loader}({}.{step})", model.name)
            })
            .collect::<String>();
        let help = if path.len() == 1 {
            format!(
                "load it with the query on line {line}: `.options({option})`; or read it with \
                 `await {var}.awaitable_attrs.{name}` (`AsyncAttrs`), or `await session.refresh({var}, [\"{name}\"])` \
                 first; or give `{attribute}` an eager `lazy=` (`\"selectin\"`)"
            )
        } else {
            format!("load it with the query on line {line}: `.options({option})`")
        };
        Diagnostic { rule: self.rule, range, message, help: Some(help), fix: None }
    }
}
