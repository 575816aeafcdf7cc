//! Loop analysis shared by the N+1 / loop family: what a `for` loop or
//! comprehension binds, where those ORM entities come from (a query, a
//! variable holding one, an annotated parameter, or a relationship of an
//! outer loop's entity), which loader options the query applies, and which
//! attribute chains the body reads on the loop variable. All of it is owned
//! data, so rules can resolve it against the model index after the pass.
use crate::syntax::KindStr;
use crate::syntax::{Fields, Up};
use std::ops::Range;

use tree_sitter::Node;

use crate::python::import_cache::PerFile;
use crate::python::{self, unparen};
use crate::query::{self, Dialect};

/// A loop the analysis understands: `for var in iterable` / `[... for var in iterable]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loop<'t> {
    /// The `for_statement` or the comprehension node.
    pub(crate) node: Node<'t>,
    /// The `for_in_clause` for comprehensions (else the statement).
    pub(crate) clause: Node<'t>,
    pub(crate) var: Node<'t>,
    pub(crate) iterable: Node<'t>,
}

impl<'t> Loop<'t> {
    /// Reads a `for_statement` or a comprehension's first `for_in_clause`.
    pub(crate) fn from_node(node: Node<'t>, src: &str) -> Option<Self> {
        let clause = match node.kind_str() {
            "for_statement" => node,
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                let mut cursor = node.walk();
                let clause = node.named_children(&mut cursor).find(|c| c.kind_str() == "for_in_clause")?;
                clause
            }
            _ => return None,
        };
        let left = unparen(clause.field("left")?);
        let right = unparen(clause.field("right")?);
        match left.kind_str() {
            "identifier" => Some(Loop { node, clause, var: left, iterable: right }),
            // `for i, user in enumerate(users)`
            "pattern_list" | "tuple_pattern" => {
                let mut cursor = left.walk();
                let parts: Vec<Node<'t>> = left.named_children(&mut cursor).collect();
                let call = (right.kind_str() == "call"
                    && python::callee_name(right, src) == Some("enumerate")
                    && python::receiver(right).is_none())
                .then_some(right)?;
                let inner = *python::positional_arguments(call).first()?;
                match parts.as_slice() {
                    [_, var] if var.kind_str() == "identifier" => {
                        Some(Loop { node, clause, var: *var, iterable: unparen(inner) })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub(crate) fn var_name<'s>(&self, src: &'s str) -> &'s str {
        src.get(self.var.byte_range()).unwrap_or("")
    }

    /// Nodes evaluated once per iteration: the body block, or a comprehension's
    /// element and the clauses after the `for`.
    pub(crate) fn per_iteration(&self) -> Vec<Node<'t>> {
        if self.node.kind_str() == "for_statement" {
            return self.node.field("body").into_iter().collect();
        }
        let mut cursor = self.node.walk();
        let children: Vec<Node<'t>> = self.node.named_children(&mut cursor).collect();
        // The element and every later `for`/`if` clause run once per item of the first clause.
        children.into_iter().filter(|c| c.id() != self.clause.id()).collect()
    }

    /// A loop whose body always leaves after the first iteration (`return`, `break`, `raise`
    /// at the top level of the body) reads its variable once: no N+1.
    pub(crate) fn runs_once(&self) -> bool {
        if self.node.kind_str() != "for_statement" {
            return false;
        }
        let Some(body) = self.node.field("body") else { return false };
        let mut cursor = body.walk();
        let leaves = body
            .named_children(&mut cursor)
            .any(|s| matches!(s.kind_str(), "return_statement" | "break_statement" | "raise_statement"));
        leaves
    }

    pub(crate) fn is_async(&self) -> bool {
        python::enclosing_function(self.node).is_some_and(|f| {
            let mut cursor = f.walk();
            let is_async = f.children(&mut cursor).any(|c| c.kind_str() == "async");
            is_async
        })
    }
}

/// Loader options applied to a query, as relationship-name paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Eager {
    /// Paths loaded eagerly (joined/selectin/subquery/contains_eager) or made to raise/noload:
    /// either way, reading them in a loop issues no query per row.
    pub(crate) covered: Vec<Vec<String>>,
    /// Depths (path lengths) at which a `"*"` wildcard applies to every relationship.
    pub(crate) wildcard_depths: Vec<usize>,
    /// Options we could not read (a variable, `*opts`, an unknown call): assume covered.
    pub(crate) opaque: bool,
    /// Paths explicitly made lazy (`lazyload`, `immediateload`), overriding a wildcard.
    pub(crate) lazy: Vec<Vec<String>>,
    /// The `immediateload` paths among them: loaded with the query, by one SELECT per row.
    pub(crate) immediate: Vec<Vec<String>>,
}

impl Eager {
    pub(crate) fn covers(&self, path: &[String]) -> bool {
        if self.opaque || self.covered.iter().any(|p| p == path) {
            return true;
        }
        !self.lazy.iter().any(|p| p == path) && self.wildcard_depths.contains(&path.len())
    }

    /// Reads one option expression (an argument of `.options(...)`).
    pub(crate) fn add_option(&mut self, option: Node<'_>, src: &str, prefix: &[String]) {
        let option = unparen(option);
        if option.kind_str() != "call" {
            self.opaque = true;
            return;
        }
        let chain = python::chain(option, src);
        let mut path: Vec<String> = prefix.to_vec();
        for link in &chain.links {
            let Some(call) = link.call else {
                self.opaque = true;
                return;
            };
            let kind = match link.name {
                "joinedload" | "selectinload" | "subqueryload" | "contains_eager" | "raiseload" | "noload"
                | "joinedload_all" | "subqueryload_all" | "selectinload_all" => LinkKind::Covers,
                "defaultload" => LinkKind::Step,
                "lazyload" | "immediateload" => LinkKind::Lazy,
                "Load" => continue,
                "load_only"
                | "defer"
                | "undefer"
                | "undefer_group"
                | "with_expression"
                | "selectin_polymorphic"
                | "of_type" => continue,
                "options" => {
                    for sub in python::positional_arguments(call) {
                        self.add_option(sub, src, &path);
                    }
                    continue;
                }
                _ => {
                    self.opaque = true;
                    return;
                }
            };
            let Some(target) = python::positional_arguments(call).into_iter().next().map(unparen) else {
                // `raiseload()` without arguments in 2.0 is not valid; be conservative.
                self.opaque = true;
                return;
            };
            let steps: Vec<String> = match target.kind_str() {
                "attribute" => {
                    let Some(attr) = target.field("attribute") else { return };
                    vec![src.get(attr.byte_range()).unwrap_or("").to_string()]
                }
                // `User.posts.of_type(Post)`
                "call" if python::callee_name(target, src) == Some("of_type") => {
                    match python::receiver(target).map(unparen).and_then(|r| r.field("attribute")) {
                        Some(attr) => vec![src.get(attr.byte_range()).unwrap_or("").to_string()],
                        None => {
                            self.opaque = true;
                            return;
                        }
                    }
                }
                "string" if python::is_literal_string(target) => {
                    let text = string_text(target, src);
                    if text == "*" {
                        match kind {
                            LinkKind::Covers => self.wildcard_depths.push(path.len() + 1),
                            LinkKind::Lazy | LinkKind::Step => {}
                        }
                        return;
                    }
                    text.split('.').map(str::to_string).collect()
                }
                _ => {
                    self.opaque = true;
                    return;
                }
            };
            for (i, step) in steps.iter().enumerate() {
                path.push(step.clone());
                match kind {
                    // A dotted string path covers every step (legacy `joinedload("a.b")` loads both).
                    LinkKind::Covers => self.covered.push(path.clone()),
                    LinkKind::Lazy if i + 1 == steps.len() => {
                        self.lazy.push(path.clone());
                        if link.name == "immediateload" {
                            self.immediate.push(path.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum LinkKind {
    Covers,
    Step,
    Lazy,
}

fn string_text(node: Node<'_>, src: &str) -> String {
    let mut cursor = node.walk();
    let text: String = node
        .named_children(&mut cursor)
        .filter(|c| c.kind_str() == "string_content")
        .map(|c| src.get(c.byte_range()).unwrap_or(""))
        .collect();
    text
}

/// Where a loop's entities come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Root {
    /// A query in this file: its entity class name, the line of the query, its options.
    Query {
        entity: String,
        line: usize,
        eager: Eager,
        dialect: QueryDialect,
        /// Columns the criteria pin to one value (`M.col == x`, `filter_by(col=x)`): a
        /// many-to-one through such a key is the same parent on every row.
        pinned: Vec<String>,
    },
    /// A parameter annotated `list[User]` and the like: loaded by a caller.
    Param { entity: String, name: String },
    /// A single entity in a variable (`user = session.get(User, 1)`, a parameter `user: User`).
    Single { entity: String, var: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryDialect {
    Legacy,
    Statement,
}

/// A root plus the relationship path walked from it: `for c in post.comments` inside
/// `for post in session.query(Post)` is `Query(Post) / ["comments"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) root: Root,
    pub(crate) path: Vec<String>,
}

/// Methods that end a query without yielding entities to iterate.
const NOT_ITERABLE: &[&str] = &[
    "count",
    "first",
    "one",
    "one_or_none",
    "scalar",
    "scalar_one",
    "scalar_one_or_none",
    "delete",
    "update",
    "get",
    "exists",
    "subquery",
    "cte",
    "statement",
    "mappings",
    "tuples",
    "keys",
    "partitions",
    "fetchone",
    "fetchmany",
    "columns",
    "label",
    "as_scalar",
    "scalar_subquery",
    "values",
    "with_entities",
    "add_columns",
    "group_by",
];

/// How many variable hops we follow (`a = q; b = a; for x in b`).
const MAX_HOPS: usize = 4;

thread_local! {
    /// `origin` answers of this file pass, by (text, node): five loop rules ask it of each loop.
    static ORIGINS: PerFile<(usize, usize, usize), Option<Origin>> = PerFile::new();
}

/// Finds where the entities produced by `iterable` come from.
pub(crate) fn origin(iterable: Node<'_>, src: &str) -> Option<Origin> {
    let key = (src.as_ptr() as usize, src.len(), iterable.id());
    if let Some(known) = ORIGINS.with(|origins| origins.read(&key, Option::clone)) {
        return known;
    }
    let found = origin_at(unparen(iterable), src, 0);
    ORIGINS.with(|origins| origins.insert(key, found.clone()));
    found
}

fn origin_at(node: Node<'_>, src: &str, depth: usize) -> Option<Origin> {
    if depth > MAX_HOPS {
        return None;
    }
    let node = unparen(node);
    // `await session.scalars(...)` as the iterable itself.
    let node = if node.kind_str() == "await" { node.named_child(0).map(unparen)? } else { node };
    if let Some(found) = query::resolve_query(node, src) {
        return query_root(&found, src);
    }
    match node.kind_str() {
        "identifier" => {
            if let Some(value) = query::assigned_value(node, src) {
                return origin_at(value, src, depth + 1);
            }
            if let Some(entity) = annotated_parameter(node, src, true) {
                return Some(Origin { root: Root::Param { entity, name: text(node, src).to_string() }, path: vec![] });
            }
            None
        }
        "attribute" => {
            // `user.posts`, `post.author.addresses`: a relationship path from an entity variable.
            let mut path = Vec::new();
            let mut current = node;
            while current.kind_str() == "attribute" {
                path.push(text(current.field("attribute")?, src).to_string());
                current = unparen(current.field("object")?);
            }
            if current.kind_str() != "identifier" {
                return None;
            }
            path.reverse();
            if path.first().is_some_and(|p| p == "query" || p == "awaitable_attrs") {
                return None;
            }
            let base = entity_of_variable(current, src, depth)?;
            let mut full = base.path;
            full.extend(path);
            Some(Origin { root: base.root, path: full })
        }
        // `list(query)`, `sorted(query, key=...)`, `reversed(...)`: same entities.
        "call"
            if matches!(python::callee_name(node, src), Some("list" | "sorted" | "reversed" | "tuple" | "set"))
                && python::receiver(node).is_none() =>
        {
            origin_at(*python::positional_arguments(node).first()?, src, depth + 1)
        }
        _ => None,
    }
}

fn query_root(found: &query::QueryExpr<'_>, src: &str) -> Option<Origin> {
    // Only queries that yield whole entities of one class.
    let start_link = found.chain.links.get(found.start)?;
    if let Some(call) = start_link.call {
        if found.dialect == Dialect::Legacy && python::positional_arguments(call).len() != 1 {
            return None;
        }
    }
    let after: Vec<&str> = found.chain.links.iter().skip(found.start + 1).map(|l| l.name).collect();
    if after.iter().any(|name| NOT_ITERABLE.contains(name)) {
        return None;
    }
    if found.dialect == Dialect::Statement {
        let executor = start_link.name;
        // `execute(select(User))` yields Row tuples unless `.scalars()` follows.
        if executor == "execute" && !after.contains(&"scalars") {
            return None;
        }
    }
    let entity = found.entity(src)?.to_string();
    let mut eager = Eager::default();
    collect_options(found, src, &mut eager);
    let dialect = match found.dialect {
        Dialect::Legacy => QueryDialect::Legacy,
        Dialect::Statement => QueryDialect::Statement,
    };
    let pinned = pinned_columns(found, src);
    // The line of the query itself (the iterable may be a variable assigned it earlier).
    let line = start_link.node.start_position().row + 1;
    Some(Origin { root: Root::Query { entity, line, eager, dialect, pinned }, path: vec![] })
}

/// Column names compared for equality in the query's criteria: `filter(M.col == x)`,
/// `where(M.col == x)`, `filter_by(col=x)`, in its chain and in the statement it executes.
fn pinned_columns(found: &query::QueryExpr<'_>, src: &str) -> Vec<String> {
    let mut chains = vec![&found.chain];
    let inner;
    if found.dialect == Dialect::Statement {
        if let Some(stmt) = found
            .chain
            .links
            .get(found.start)
            .and_then(|l| l.call)
            .and_then(|c| python::positional_arguments(c).into_iter().next())
        {
            inner = python::chain(unparen(stmt), src);
            chains.push(&inner);
        }
    }
    let mut pinned = Vec::new();
    for chain in chains {
        for link in &chain.links {
            let Some(call) = link.call else { continue };
            match link.name {
                "filter_by" => {
                    for arg in python::arguments(call) {
                        if let Some(name) = arg.field("name").filter(|_| arg.kind_str() == "keyword_argument") {
                            pinned.push(text(name, src).to_string());
                        }
                    }
                }
                "filter" | "where" => {
                    for arg in python::arguments(call) {
                        pinned_by(arg, src, 0, &mut pinned);
                    }
                }
                _ => {}
            }
        }
    }
    pinned
}

/// Columns one criterion pins to values whose rows are already loaded: `M.col == x`, and
/// `M.col.in_(o.id for o in objs)` (the ids of objects in hand: their rows sit in the identity
/// map). Looks into `and_(...)` and into a `*criteria` list assigned as a literal earlier on.
fn pinned_by(criterion: Node<'_>, src: &str, depth: usize, pinned: &mut Vec<String>) {
    let criterion = unparen(criterion);
    let column_name = |node: Node<'_>| {
        let node = unparen(node);
        (node.kind_str() == "attribute").then(|| node.field("attribute")).flatten().map(|a| text(a, src))
    };
    match criterion.kind_str() {
        "comparison_operator" => {
            let mut cursor = criterion.walk();
            let is_eq = criterion.children(&mut cursor).any(|c| c.kind_str() == "==");
            if let (true, Some(column)) = (is_eq, criterion.named_child(0).and_then(column_name)) {
                pinned.push(column.to_string());
            }
        }
        "call" => match python::callee_name(criterion, src) {
            Some("and_") => {
                for arg in python::arguments(criterion) {
                    pinned_by(arg, src, depth, pinned);
                }
            }
            Some("in_") => {
                let ids_in_hand =
                    python::positional_arguments(criterion).first().map(|a| unparen(*a)).is_some_and(|a| {
                        matches!(a.kind_str(), "generator_expression" | "list_comprehension" | "set_comprehension")
                            && a.field("body").is_some_and(|b| unparen(b).kind_str() == "attribute")
                    });
                let column = criterion.field("function").and_then(|f| f.field("object"));
                if let (true, Some(column)) = (ids_in_hand, column.and_then(column_name)) {
                    pinned.push(column.to_string());
                }
            }
            _ => {}
        },
        "list_splat" if depth < 2 => {
            let list = criterion
                .named_child(0)
                .filter(|n| n.kind_str() == "identifier")
                .and_then(|n| query::assigned_value(n, src))
                .map(unparen)
                .filter(|v| matches!(v.kind_str(), "list" | "tuple"));
            for item in list.into_iter().flat_map(python::named_children) {
                pinned_by(item, src, depth + 1, pinned);
            }
        }
        _ => {}
    }
}

/// Loader options of a query: `.options(...)` links in its chain, in the statement it
/// executes, and on the variables holding either (`stmt = stmt.options(...)` before the loop).
pub(crate) fn collect_options(found: &query::QueryExpr<'_>, src: &str, eager: &mut Eager) {
    let mut chains = vec![python::chain(found.chain.links.last().map_or(found.chain.root, |l| l.node), src)];
    if found.dialect == Dialect::Statement {
        if let Some(statement) = found
            .chain
            .links
            .get(found.start)
            .and_then(|l| l.call)
            .and_then(|c| python::positional_arguments(c).into_iter().next())
        {
            chains.push(python::chain(unparen(statement), src));
        }
    }
    let mut seen_vars: Vec<usize> = Vec::new();
    while let Some(chain) = chains.pop() {
        for link in &chain.links {
            if link.name == "options" {
                if let Some(call) = link.call {
                    for arg in python::arguments(call) {
                        match arg.kind_str() {
                            "keyword_argument" => {}
                            "list_splat" | "dictionary_splat" => eager.opaque = true,
                            _ => eager.add_option(arg, src, &[]),
                        }
                    }
                }
            }
            // `session.get(User, 1, options=[...])` style keyword on the executor.
            if let Some(call) = link.call {
                if let Some(list) = python::keyword_argument(call, "options", src) {
                    eager.opaque = true;
                    let _ = list;
                }
            }
        }
        // Follow a variable at the root of the chain to every assignment to it before use.
        if chain.root.kind_str() == "identifier" && !seen_vars.contains(&chain.root.start_byte()) {
            seen_vars.push(chain.root.start_byte());
            for value in assignments_before(chain.root, src) {
                chains.push(python::chain(unparen(value), src));
            }
        }
    }
}

/// Every value assigned to the identifier `name` in its scope before `name` is used: each
/// `name = value` that ends before the use, outside nested functions, classes and lambdas.
/// Found from the places the text spells the name, not by walking everything before the use
/// (SA108, SA404 and SA405 ask this of module-level names, whose scope is the whole file).
pub(crate) fn assignments_before<'t>(name: Node<'t>, src: &str) -> Vec<Node<'t>> {
    let ident = text(name, src);
    let Some(scope) = python::enclosing_function(name)
        .and_then(|f| f.field("body"))
        .or_else(|| python::ancestors(name).find(|n| n.kind_str() == "module"))
    else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for (target, path) in python::own_spellings(scope, ident, src) {
        if target.end_byte() > name.start_byte() {
            break;
        }
        let Some(&assignment) = path.last() else { continue };
        if assignment.kind_str() != "assignment"
            || assignment.end_byte() > name.start_byte()
            || assignment.field("left").is_none_or(|left| left.id() != target.id())
        {
            continue;
        }
        values.extend(assignment.field("right"));
    }
    values.sort_by_key(|v| v.start_byte());
    values
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// The entities an identifier holds: a loop variable of an enclosing loop, or a single entity.
fn entity_of_variable(var: Node<'_>, src: &str, depth: usize) -> Option<Origin> {
    let name = text(var, src);
    // An enclosing loop binding this name.
    for ancestor in python::ancestors(var) {
        if matches!(ancestor.kind_str(), "function_definition" | "class_definition" | "lambda") {
            break;
        }
        if let Some(outer) = Loop::from_node(ancestor, src) {
            let inside_iterable =
                outer.iterable.start_byte() <= var.start_byte() && var.end_byte() <= outer.iterable.end_byte();
            if outer.var_name(src) == name && !inside_iterable {
                return origin_at(outer.iterable, src, depth + 1);
            }
        }
    }
    // A single entity: a parameter annotated with a class, or `session.get(User, ...)` etc.
    if let Some(entity) = annotated_parameter(var, src, false) {
        return Some(Origin { root: Root::Single { entity, var: name.to_string() }, path: vec![] });
    }
    let value = unparen(query::assigned_value(var, src)?);
    let value = if value.kind_str() == "await" { unparen(value.named_child(0)?) } else { value };
    let entity = single_entity(value, src)?;
    Some(Origin { root: Root::Single { entity, var: name.to_string() }, path: vec![] })
}

/// `session.get(User, 1)`, `session.query(User)...first()`, `session.scalars(select(User)).first()`,
/// `session.scalar(select(User)...)`, `User.query.get(1)` / `.first()` / `.get_or_404(1)`.
fn single_entity(value: Node<'_>, src: &str) -> Option<String> {
    let chain = python::chain(value, src);
    let last = chain.last()?;
    if matches!(last.name, "get" | "get_or_404") && !chain.links.is_empty() {
        if let Some(call) = last.call {
            let args = python::positional_arguments(call);
            // session.get(User, pk)
            if args.len() == 2 && python::receiver(call).is_some() {
                let entity = unparen(args[0]);
                if entity.kind_str() == "identifier" && query::is_class_name(text(entity, src)) {
                    return Some(text(entity, src).to_string());
                }
            }
        }
    }
    if matches!(
        last.name,
        "first"
            | "one"
            | "one_or_none"
            | "get"
            | "get_or_404"
            | "first_or_404"
            | "one_or_404"
            | "scalar_one"
            | "scalar_one_or_none"
            | "scalar"
    ) {
        let receiver = python::receiver(last.call?)?;
        let found = query::resolve_query(receiver, src)?;
        return found.entity(src).map(str::to_string);
    }
    None
}

/// The class in a parameter's annotation: `users: list[User]` (collection) or `user: User` (single).
fn annotated_parameter(var: Node<'_>, src: &str, collection: bool) -> Option<String> {
    let name = text(var, src);
    let function = python::enclosing_function(var)?;
    let parameters = function.field("parameters")?;
    let mut cursor = parameters.walk();
    let annotation = parameters.named_children(&mut cursor).find_map(|p| {
        if !matches!(p.kind_str(), "typed_parameter" | "typed_default_parameter") {
            return None;
        }
        let param_name = p.field("name").or_else(|| p.named_child(0))?;
        (text(param_name, src) == name).then(|| p.field("type")).flatten()
    })?;
    let parsed = crate::index::extract::parse_annotation(text(annotation, src));
    let target = parsed.target?;
    (parsed.collection == Some(collection) && query::is_class_name(&target)).then_some(target)
}

/// One attribute chain read on the loop variable: `post.author.name` → hops `author`, `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) hops: Vec<Hop>,
    /// Read through `AsyncAttrs`: `await user.awaitable_attrs.posts`.
    pub(crate) awaitable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) name: String,
    /// Byte range of `var.hop1...hopN` up to this hop.
    pub(crate) range: Range<usize>,
}

/// Attribute chains rooted at the loop variable in the per-iteration part of the loop.
/// Writes (`var.attr = x`) and shadowing nested scopes are skipped.
pub(crate) fn accesses(l: &Loop<'_>, src: &str) -> Vec<Access> {
    let var = l.var_name(src);
    let mut out = Vec::new();
    let mut stack: Vec<Node<'_>> = l.per_iteration();
    while let Some(node) = stack.pop() {
        match node.kind_str() {
            "function_definition" | "class_definition" | "lambda" => continue,
            "attribute" => {
                if let Some(access) = access_chain(node, var, src) {
                    out.push(access);
                    continue;
                }
            }
            _ => {}
        }
        // A nested loop or comprehension rebinding the name hides our variable.
        if node.id() != l.node.id() {
            if let Some(inner) = Loop::from_node(node, src) {
                if inner.var_name(src) == var {
                    stack.push(inner.iterable);
                    continue;
                }
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out.sort_by_key(|a| a.hops.first().map(|h| h.range.start));
    out
}

/// If `node` is the outermost attribute of a chain `var.a.b`, returns its hops.
pub(crate) fn access_chain(node: Node<'_>, var: &str, src: &str) -> Option<Access> {
    // Only the outermost attribute of a chain: its parent is not an attribute reading further.
    let mut hops = Vec::new();
    let mut current = node;
    while current.kind_str() == "attribute" {
        let attr = current.field("attribute")?;
        hops.push((text(attr, src).to_string(), current.start_byte()..current.end_byte()));
        current = unparen(current.field("object")?);
    }
    if current.kind_str() != "identifier" || text(current, src) != var {
        return None;
    }
    // Writes do not load (`var.attr = value`, `del var.attr`, augmented assignment loads, keep it).
    if let Some(parent) = node.up() {
        let is_target = match parent.kind_str() {
            "assignment" => parent.field("left").is_some_and(|l| l.id() == node.id()),
            "delete_statement" => true,
            _ => false,
        };
        if is_target {
            return None;
        }
    }
    hops.reverse();
    let awaitable = hops.first().is_some_and(|(name, _)| name == "awaitable_attrs");
    if awaitable {
        hops.remove(0);
    }
    let hops = hops.into_iter().map(|(name, range)| Hop { name, range }).collect();
    Some(Access { hops, awaitable })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::test_support::{first, named_nodes, parse};

    fn origin_of(src: &str) -> Option<Origin> {
        let tree = parse(src);
        let node = first(&tree, "for_statement");
        let l = Loop::from_node(node, src)?;
        origin(l.iterable, src)
    }

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn query_roots_and_options() {
        let o = origin_of("def f(s):\n    for u in s.query(User).options(selectinload(User.posts).joinedload(Post.tags)).all():\n        pass\n").unwrap();
        let Root::Query { entity, eager, .. } = o.root else { panic!() };
        assert_eq!(entity, "User");
        assert!(eager.covers(&path(&["posts"])) && eager.covers(&path(&["posts", "tags"])));
        assert!(!eager.covers(&path(&["groups"])));
        let o = origin_of("def f(s):\n    stmt = select(User)\n    stmt = stmt.options(defaultload(User.posts).selectinload(Post.tags))\n    for u in s.scalars(stmt):\n        pass\n").unwrap();
        let Root::Query { eager, .. } = o.root else { panic!() };
        assert!(!eager.covers(&path(&["posts"])) && eager.covers(&path(&["posts", "tags"])));
        let o = origin_of(
            "def f(s):\n    for u in s.execute(select(User).options(raiseload('*'))).scalars():\n        pass\n",
        )
        .unwrap();
        let Root::Query { eager, .. } = o.root else { panic!() };
        assert!(eager.covers(&path(&["anything"])) && !eager.covers(&path(&["a", "b"])));
        assert!(origin_of("def f(s):\n    for row in s.execute(select(User)):\n        pass\n").is_none());
        assert!(origin_of("def f(s):\n    for u in s.query(User, Post):\n        pass\n").is_none());
        let o = origin_of("def f(s, opts):\n    for u in s.query(User).options(*opts):\n        pass\n").unwrap();
        let Root::Query { eager, .. } = o.root else { panic!() };
        assert!(eager.opaque);
    }

    #[test]
    fn variables_params_and_nested_loops() {
        let o =
            origin_of("def f(s):\n    users = User.query.filter_by(a=1).all()\n    for u in users:\n        pass\n")
                .unwrap();
        assert!(matches!(o.root, Root::Query { ref entity, .. } if entity == "User"));
        let o = origin_of("def f(users: list[User]):\n    for u in users:\n        pass\n").unwrap();
        assert!(matches!(o.root, Root::Param { ref entity, .. } if entity == "User"));
        let o = origin_of("def f(user: User):\n    for p in user.posts:\n        pass\n").unwrap();
        assert_eq!(o.path, path(&["posts"]));
        assert!(matches!(o.root, Root::Single { ref entity, .. } if entity == "User"));
        let src = "async def f(s):\n    for u in (await s.scalars(select(User))).all():\n        for p in u.posts:\n            pass\n";
        let tree = parse(src);
        let outer = first(&tree, "for_statement");
        let inner = outer.field("body").unwrap().named_child(0).unwrap();
        let l = Loop::from_node(inner, src).unwrap();
        let o = origin(l.iterable, src).unwrap();
        assert_eq!(o.path, path(&["posts"]));
        assert!(matches!(o.root, Root::Query { ref entity, .. } if entity == "User"));
    }

    /// What `assignments_before` finds: every assignment to the name under `scope`, walked.
    fn assignments_walked<'t>(scope: Node<'t>, name: Node<'t>, src: &str) -> Vec<Node<'t>> {
        let ident = text(name, src);
        let mut values = Vec::new();
        let mut stack = vec![scope];
        while let Some(node) = stack.pop() {
            if node.start_byte() >= name.start_byte()
                || (node.id() != scope.id()
                    && matches!(node.kind_str(), "function_definition" | "class_definition" | "lambda"))
            {
                continue;
            }
            if node.kind_str() == "assignment" {
                if let (Some(left), Some(right)) = (node.field("left"), node.field("right")) {
                    if node.end_byte() <= name.start_byte()
                        && left.kind_str() == "identifier"
                        && text(left, src) == ident
                    {
                        values.push(right);
                    }
                }
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        values.sort_by_key(|v| v.start_byte());
        values
    }

    /// `assignments_before` finds exactly the assignments a walk of the scope finds, for
    /// every identifier of every fixture.
    #[test]
    fn assignments_before_matches_a_walk() {
        let mut texts = crate::python::test_support::fixture_texts();
        texts.push(
            "a = 1\nb = a = f()\ndef g(a=a):\n    a = 2\n    h = lambda: (a := 3)\n    class C:\n        a = 4\n    \
             a += 1\n    a: int = 5\n    (a) = 6\n    a, b = 7, 8\n    a = a\n    return a\nx = [a for a in b]\nprint(a)\n\
             def k(:\n    a = 9\n    a\n"
                .into(),
        );
        let mut checked = 0;
        for text in texts {
            let tree = parse(&text);
            for node in named_nodes(&tree).into_iter().filter(|n| n.kind_str() == "identifier") {
                let scope = python::enclosing_function(node)
                    .and_then(|f| f.field("body"))
                    .or_else(|| python::ancestors(node).find(|n| n.kind_str() == "module"));
                let walked = scope.map(|scope| assignments_walked(scope, node, &text)).unwrap_or_default();
                let found = assignments_before(node, &text);
                let ids = |v: &[Node<'_>]| v.iter().map(|n| n.id()).collect::<Vec<_>>();
                assert_eq!(ids(&found), ids(&walked), "{} at {}", &text[node.byte_range()], node.start_byte());
                checked += usize::from(!walked.is_empty());
            }
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn accesses_on_the_loop_variable() {
        let src = "for p in q:\n    print(p.author.name, p.id)\n    p.title = 'x'\n    await p.awaitable_attrs.tags\n    for p in p.comments:\n        p.body\n    f = lambda: p.lazy\n";
        let tree = parse(src);
        let l = Loop::from_node(first(&tree, "for_statement"), src).unwrap();
        let found: Vec<(Vec<String>, bool)> = accesses(&l, src)
            .into_iter()
            .map(|a| (a.hops.into_iter().map(|h| h.name).collect(), a.awaitable))
            .collect();
        assert_eq!(
            found,
            vec![
                (path(&["author", "name"]), false),
                (path(&["id"]), false),
                (path(&["tags"]), true),
                (path(&["comments"]), false),
            ]
        );
        let src = "for u in users:\n    return u.posts\n";
        let tree = parse(src);
        assert!(Loop::from_node(first(&tree, "for_statement"), src).unwrap().runs_once());
        let src = "[i for i, u in enumerate(s.query(User)) if u.posts]";
        let tree = parse(src);
        let l = Loop::from_node(first(&tree, "list_comprehension"), src).unwrap();
        assert_eq!(accesses(&l, src).len(), 1);
    }
}

// ---------------------------------------------------------------------------
// Per-iteration statements (added for SA104 / SA106): the innermost `for` loop
// that runs a statement once per iteration, and what stands between them.
// ---------------------------------------------------------------------------

/// A statement's place in the innermost `for` loop whose body runs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InLoop<'t> {
    /// The `for_statement`.
    pub(crate) node: Node<'t>,
    /// Under an `if` / `elif` / `else` / `case`, so not run on every iteration.
    pub(crate) conditional: bool,
    /// In the body or `else:` of a `try` with a handler that does not end in `raise`:
    /// a failure is handled and the loop goes on.
    pub(crate) handled: bool,
    /// An unconditional `break` / `return` / `raise` follows it in the loop: it runs once.
    pub(crate) leaves_after: bool,
}

/// The innermost `for` loop whose body contains the statement `stmt`; `None` when a
/// function, lambda, class, comprehension, `while` loop, `except` or `finally` clause
/// encloses it first. A `for ... else:` clause is not part of its loop. Walks ancestors only.
pub(crate) fn enclosing_for(stmt: Node<'_>) -> Option<InLoop<'_>> {
    let mut conditional = false;
    let mut handled = false;
    let mut leaves_after = false;
    let mut child = stmt;
    for ancestor in python::ancestors(stmt) {
        match ancestor.kind_str() {
            "for_statement" if ancestor.field("body").is_some_and(|b| b.id() == child.id()) => {
                return Some(InLoop { node: ancestor, conditional, handled, leaves_after });
            }
            "block" => {
                let mut next = child.next_named_sibling();
                while let Some(sibling) = next {
                    if matches!(sibling.kind_str(), "break_statement" | "return_statement" | "raise_statement") {
                        leaves_after = true;
                    }
                    next = sibling.next_named_sibling();
                }
            }
            "if_statement" | "elif_clause" | "case_clause" | "match_statement" => conditional = true,
            "try_statement" => match child.kind_str() {
                "except_clause" | "except_group_clause" | "finally_clause" => return None,
                _ => {
                    let mut cursor = ancestor.walk();
                    let handlers: Vec<Node<'_>> = ancestor
                        .named_children(&mut cursor)
                        .filter(|c| matches!(c.kind_str(), "except_clause" | "except_group_clause"))
                        .collect();
                    if handlers.iter().any(|h| !ends_in_raise(*h)) {
                        handled = true;
                    }
                }
            },
            "while_statement"
            | "function_definition"
            | "class_definition"
            | "lambda"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression"
            | "module" => return None,
            _ => {}
        }
        child = ancestor;
    }
    None
}

/// Does an `except` clause's block end with a `raise`?
fn ends_in_raise(handler: Node<'_>) -> bool {
    let mut cursor = handler.walk();
    let block = handler.named_children(&mut cursor).filter(|c| c.kind_str() == "block").last();
    let Some(block) = block else { return false };
    let mut cursor = block.walk();
    let last = block.named_children(&mut cursor).filter(|c| c.kind_str() != "comment").last();
    last.is_some_and(|s| s.kind_str() == "raise_statement")
}

/// Is `node` inside a `while` loop of the same function (a worker or poller)?
pub(crate) fn within_while(node: Node<'_>) -> bool {
    for ancestor in python::ancestors(node) {
        match ancestor.kind_str() {
            "while_statement" => return true,
            "function_definition" | "class_definition" | "lambda" => return false,
            _ => {}
        }
    }
    false
}

/// The nodes run on each iteration of a `for` statement (its body, not `else:`), with nested
/// functions, lambdas and classes left out, in document order. Iterative.
pub(crate) fn body_nodes<'t>(for_statement: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut stack: Vec<Node<'t>> = for_statement.field("body").into_iter().collect();
    while let Some(node) = stack.pop() {
        if matches!(node.kind_str(), "function_definition" | "class_definition" | "lambda") {
            continue;
        }
        out.push(node);
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

// ---------------------------------------------------------------------------
// The query a loop iterates and the other uses of its names (added for SA103 /
// SA105, which advise rewriting that query and must know nothing else needs
// the entities it loads).
// ---------------------------------------------------------------------------

/// The query a loop iterates, found as [`origin`] finds it, with the variable reads followed
/// to reach it: `users` in `for u in users:` after `users = q.all()`, then `q` in `q.all()`.
pub(crate) struct IteratedQuery<'t> {
    pub(crate) query: query::QueryExpr<'t>,
    pub(crate) variables: Vec<Node<'t>>,
}

/// The query behind a loop's iterable, through variables and `list()` / `sorted()` wrappers.
pub(crate) fn iterated_query<'t>(iterable: Node<'t>, src: &'t str) -> Option<IteratedQuery<'t>> {
    let mut variables = Vec::new();
    let mut node = iterable;
    for _ in 0..=MAX_HOPS {
        node = unparen(node);
        if node.kind_str() == "await" {
            node = unparen(node.named_child(0)?);
        }
        if let Some(query) = query::query_expr(node, src) {
            return Some(IteratedQuery { query, variables });
        }
        // `q.all()` where `q = session.query(User)` earlier.
        let chain = python::chain(node, src);
        if chain.root.kind_str() == "identifier" && !chain.links.is_empty() {
            if let Some(mut query) = query::assigned_value(chain.root, src).and_then(|v| query::query_expr(v, src)) {
                variables.push(chain.root);
                query.chain.links.extend(chain.links);
                return Some(IteratedQuery { query, variables });
            }
        }
        node = match node.kind_str() {
            "identifier" => {
                variables.push(node);
                query::assigned_value(node, src)?
            }
            // Only the one-argument form: `sorted(q, key=lambda u: u.rank)` reads the entities too.
            "call"
                if matches!(python::callee_name(node, src), Some("list" | "sorted" | "reversed" | "tuple" | "set"))
                    && python::receiver(node).is_none()
                    && python::arguments(node).len() == 1 =>
            {
                *python::positional_arguments(node).first()?
            }
            _ => return None,
        };
    }
    None
}

/// The statement a 2.0 query executes: the single entity of its `select(M)`, every link after
/// `select(...)` — also those added through its variable (`stmt = stmt.where(...)`, in any
/// branch) — and whether those links are exactly the statement's (an inline expression or
/// one assignment), so their text can be reused.
pub(crate) struct ExecutedStatement<'t> {
    pub(crate) entity: Node<'t>,
    pub(crate) links: Vec<python::Link<'t>>,
    pub(crate) exact: bool,
}

/// Reads the statement passed to `session.scalars(...)` / `execute(...)` / `exec(...)`.
pub(crate) fn executed_statement<'t>(statement: Node<'t>, src: &'t str) -> Option<ExecutedStatement<'t>> {
    let mut entity: Option<Node<'t>> = None;
    let mut links = Vec::new();
    let mut exact = true;
    let mut pending = vec![(unparen(statement), 0usize)];
    let mut seen: Vec<usize> = Vec::new();
    while let Some((node, depth)) = pending.pop() {
        let node = unparen(node);
        let chain = python::chain(node, src);
        let root = text(chain.root, src);
        let select = chain.links.first().filter(|first| {
            first.name == "select"
                && first.call.is_some()
                && matches!(root, "select" | "sa" | "sqlalchemy" | "sql" | "expression" | "db" | "sqlmodel")
        });
        match select.and_then(|l| l.call) {
            Some(call) => {
                let args = python::arguments(call);
                let [only] = args.as_slice() else { return None };
                if only.kind_str() == "keyword_argument" || entity.is_some() {
                    return None;
                }
                entity = Some(unparen(*only));
                links.extend(chain.links.iter().skip(1).copied());
            }
            None if chain.root.kind_str() == "identifier" && depth < MAX_HOPS => {
                links.extend(chain.links.iter().copied());
                let values = assignments_before(chain.root, src);
                if values.is_empty() {
                    return None;
                }
                // Exact when every assignment runs unconditionally before the use.
                let block = statement_block(chain.root);
                exact &=
                    values.iter().all(|v| v.up().and_then(statement_block).map(|b| b.id()) == block.map(|b| b.id()));
                for value in values {
                    if !seen.contains(&value.start_byte()) {
                        seen.push(value.start_byte());
                        pending.push((value, depth + 1));
                    }
                }
            }
            None => return None,
        }
    }
    Some(ExecutedStatement { entity: entity?, links, exact })
}

/// The block (or module) whose direct statement contains `node`.
fn statement_block(node: Node<'_>) -> Option<Node<'_>> {
    std::iter::once(node)
        .chain(python::ancestors(node))
        .find_map(|n| n.up().filter(|p| matches!(p.kind_str(), "block" | "module")))
}

/// Is the variable read at `name` used elsewhere in its function (or module): any of the
/// identifiers of the same name other than `name` itself, binding targets (`x = ...`,
/// `for x in ...`, parameters), reads inside a value assigned back to the same name
/// (`q = q.filter(...)`), attribute names and keyword-argument names.
pub(crate) fn has_other_uses(name: Node<'_>, src: &str) -> bool {
    let ident = text(name, src);
    let scope = python::enclosing_function(name).or_else(|| python::ancestors(name).last());
    let Some(scope) = scope else { return false };
    python::identifiers_named(scope, ident, src)
        .into_iter()
        .any(|node| node.id() != name.id() && !is_binding_or_name(node, src))
}

/// Is this identifier a binding (assignment or loop target, parameter), a rebinding read
/// (`q` in `q = q.filter(...)`), an attribute name (`x.name`) or a keyword name (`f(name=1)`)?
fn is_binding_or_name(node: Node<'_>, src: &str) -> bool {
    let Some(parent) = node.up() else { return false };
    let is_field = |field: &str| parent.field(field).is_some_and(|c| c.id() == node.id());
    match parent.kind_str() {
        "attribute" => return is_field("attribute"),
        "keyword_argument" => return is_field("name"),
        "assignment" | "for_statement" | "for_in_clause" if is_field("left") => return true,
        "pattern_list" | "tuple_pattern" | "list_pattern" => return true,
        "parameters" | "lambda_parameters" => return true,
        "default_parameter" | "typed_default_parameter" | "typed_parameter" => {
            return !is_field("value") && !is_field("type")
        }
        _ => {}
    }
    // `q = q.filter(...)`: the read builds the new value of the same name.
    let ident = text(node, src);
    python::ancestors(node)
        .take_while(|a| !matches!(a.kind_str(), "expression_statement" | "block" | "module" | "function_definition"))
        .find(|a| a.kind_str() == "assignment")
        .is_some_and(|assignment| {
            let left = assignment.field("left");
            let right = assignment.field("right");
            left.is_some_and(|l| l.kind_str() == "identifier" && text(l, src) == ident)
                && right.is_some_and(|r| r.start_byte() <= node.start_byte() && node.end_byte() <= r.end_byte())
        })
}

/// Is a `for` statement's variable read after the loop (Python leaks it: `for u in q: ...`
/// then `return u`)? Reads inside a later loop or comprehension binding the same name are not.
pub(crate) fn used_after(l: &Loop<'_>, src: &str) -> bool {
    if l.node.kind_str() != "for_statement" {
        return false;
    }
    let var = l.var_name(src);
    let scope = python::enclosing_function(l.node).or_else(|| python::ancestors(l.node).last());
    let Some(scope) = scope else { return false };
    let mut stack = vec![scope];
    while let Some(node) = stack.pop() {
        if node.end_byte() <= l.node.end_byte() {
            continue;
        }
        if node.kind_str() == "identifier" {
            if node.start_byte() >= l.node.end_byte() && text(node, src) == var && !is_binding_or_name(node, src) {
                let rebound = python::ancestors(node)
                    .filter_map(|a| Loop::from_node(a, src))
                    .any(|inner| inner.node.id() != l.node.id() && inner.var_name(src) == var);
                if !rebound {
                    return true;
                }
            }
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// Does the class name `name`, read at `node`, mean the module-level class the model index
/// knows by that name? It must be imported (also inside an enclosing function, or through a
/// `*` import) or defined at the top level of this file, and not rebound in an enclosing
/// function (`Test = self.classes.Test` in a test suite names a class the index never saw).
pub(crate) fn names_module_class(node: Node<'_>, name: &str, src: &str) -> bool {
    let head = name.split('.').next().unwrap_or(name);
    for function in python::ancestors(node).filter(|a| a.kind_str() == "function_definition") {
        for n in python::identifiers_named(function, head, src) {
            let plain = n.up().is_some_and(|p| !matches!(p.kind_str(), "attribute" | "keyword_argument"));
            if plain && is_binding_or_name(n, src) {
                return false;
            }
        }
    }
    if python::visible_imports(node, src).iter().any(|i| i.local == head || i.local == "*") {
        return true;
    }
    let Some(module) = python::ancestors(node).last() else { return false };
    let mut cursor = module.walk();
    let defined = module.named_children(&mut cursor).any(|statement| {
        let class = match statement.kind_str() {
            "decorated_definition" => statement.field("definition"),
            "class_definition" => Some(statement),
            _ => None,
        };
        class.and_then(|c| c.field("name")).is_some_and(|n| text(n, src) == head)
    });
    defined
}
