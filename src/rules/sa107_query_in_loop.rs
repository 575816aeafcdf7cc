//! SA107 query-in-loop: a query run inside a `for` loop or comprehension whose
//! criteria use the loop variable (directly, through attributes, or through a
//! variable computed from it in the loop body): one round trip per item where a
//! single `in_()` query before the loop would do. Purely syntactic; each query
//! is analysed once, from the link that starts it (`query`, `scalars`, `get`,
//! Flask's `Model.query`, or the method that runs a query held in a variable).
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::loops::Loop;
use crate::python::{self, unparen};
use crate::query::{self, Dialect};

/// Methods that run a legacy `Query` (or a Flask-SQLAlchemy one).
const TERMINALS: &[&str] = &[
    "all",
    "first",
    "one",
    "one_or_none",
    "scalar",
    "count",
    "get",
    "get_or_404",
    "first_or_404",
    "one_or_404",
    "paginate",
];

/// Links after which a legacy query is not run as a SELECT here (DML, or a building block).
const NOT_RUN: &[&str] = &[
    "update",
    "delete",
    "subquery",
    "cte",
    "exists",
    "statement",
    "scalar_subquery",
    "as_scalar",
    "label",
    "union",
    "union_all",
    "selectable",
    "insert",
];

/// Links whose arguments are the query's criteria (or its bound parameters).
const CRITERIA: &[&str] =
    &["filter", "filter_by", "where", "having", "with_parent", "params", "bindparams", "get", "get_or_404"];

/// Links whose arguments choose what is queried (tables, columns, joins), not which rows.
const SHAPE: &[&str] = &["select_from", "join", "outerjoin", "join_from", "with_entities", "add_columns"];

/// Operators that already batch: a loop variable used inside them is a chunk of keys.
const BATCHING: &[&str] = &["in_", "not_in", "notin_", "any_", "all_"];

/// Methods of a session (or Flask-SQLAlchemy's `db`) that run a statement.
const STATEMENT_EXECUTORS: &[&str] = &["scalar", "first_or_404", "one_or_404"];

/// Attributes of an INSERT's result that hold keys the database generated just now: they do not
/// exist before the loop, so a lookup by them cannot be batched ahead of it.
const GENERATED_KEYS: &[&str] = &["inserted_primary_key", "inserted_primary_key_rows", "lastrowid", "returned_defaults"];

/// Column operators that match a range or a pattern: `in_()` batches equality only.
const NOT_EQUALITY: &[&str] = &[
    "between",
    "like",
    "ilike",
    "not_like",
    "not_ilike",
    "notlike",
    "notilike",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "regexp_match",
];

/// Comparison operators of a range: `Event.at <= item.deadline` is not an `IN` key.
const RANGE_OPERATORS: &[&str] = &["<", "<=", ">", ">="];

/// Assertion helpers called bare in test suites (`eq_(a, b)` in SQLAlchemy's and nose's).
const ASSERTION_HELPERS: &[&str] = &["eq_", "ne_", "is_", "is_not", "is_not_", "is_true", "is_false", "assert_that"];

/// How many nodes one dependency walk may visit.
const WALK_BUDGET: usize = 4096;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(anchor) = m.get("call") else { return };
    if !in_loop(anchor) {
        return;
    }
    let src = checker.source();
    let outer = outermost(anchor);
    // `assert session.get(M, x)`, `eq_([... for x in xs], ...)`: a test checking a result, not a hot path.
    if in_assertion(outer, src) {
        return;
    }
    let Some(found) = find(outer, src) else { return };
    // Several links of one chain match the patterns: analyse the query from its own anchor only.
    if found.anchor.id() != anchor.id() {
        return;
    }
    let Some(hit) = batch_loop(outer, &found, src) else { return };
    let hint = column_hint(&found, &hit.names, src);
    // `select(func.count()).where(Ticket.member_id == x)`: the compared column names the model.
    let from_hint = hint.as_deref().and_then(|h| h.split('.').next()).filter(|c| query::is_class_name(c));
    let model = found.entity.as_deref().or(from_hint);
    let column = hint.clone().unwrap_or_else(|| match (found.form, model) {
        (Form::Get, Some(m)) => format!("{m}.id"),
        (_, Some(m)) => format!("{m}.<column>"),
        (_, None) => "Model.<column>".to_string(),
    });
    let what = match model {
        Some(m) => format!("A query on `{m}`"),
        None => "A query".to_string(),
    };
    let uses = if hit.derived {
        format!("`{}`, computed from the loop variable `{}`", hit.name, hit.var)
    } else {
        format!("the loop variable `{}`", hit.name)
    };
    let message = format!(
        "{what} runs once per item of `{}` (line {}): its criteria use {uses}",
        shorten(checker.text(hit.iterable)),
        checker.line_of(hit.iterable)
    );
    let help = advice(&found, model, &column, outer, src);
    checker.report(outer.byte_range(), message, help);
}

/// Is `node` inside a `for` loop or comprehension of its own function? (A cheap first filter.)
fn in_loop(node: Node<'_>) -> bool {
    for ancestor in python::ancestors(node) {
        match ancestor.kind_str() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "for_statement"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => return true,
            _ => {}
        }
    }
    false
}

/// Is the query part of an assertion (`assert ...`, `self.assertEqual(...)`, `eq_(...)`) in its function?
fn in_assertion(node: Node<'_>, src: &str) -> bool {
    for ancestor in python::ancestors(node) {
        match ancestor.kind_str() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "assert_statement" => return true,
            "call" => {
                let Some(name) = python::callee_name(ancestor, src) else { continue };
                if name.to_ascii_lowercase().starts_with("assert")
                    || (ASSERTION_HELPERS.contains(&name) && python::receiver(ancestor).is_none())
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// How the query is written, which decides the batched form we suggest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `session.query(M)...`.
    Legacy,
    /// Flask-SQLAlchemy `M.query...`.
    Flask,
    /// `session.scalars(select(M)...)`, `execute`, `exec`, `scalar`, `db.first_or_404(...)`.
    Statement,
    /// `session.get(M, pk)`, `db.get_or_404(M, pk)`.
    Get,
}

/// A query the rule understands, with the nodes its criteria are read from.
struct Found<'t> {
    form: Form,
    /// The pattern capture this query is analysed from.
    anchor: Node<'t>,
    entity: Option<String>,
    /// The session the query runs on, as written (`session`, `db.session`), for the advice.
    session: Option<String>,
    /// `scalars`, `exec`, ... for statements.
    executor: String,
    /// A count rather than rows: the advice groups instead.
    aggregate: bool,
    /// A `text("SELECT ...")` statement: the advice uses an expanding parameter.
    textual: bool,
    /// Argument subtrees that decide which rows are read.
    sources: Vec<Node<'t>>,
    /// Argument subtrees that decide what is read (`query(model)`, `select(table.c.x)`,
    /// `select_from(t)`, joins): when they change per item, the loop walks tables or
    /// columns, which one `in_()` query cannot replace.
    shape: Vec<Node<'t>>,
    /// `filter_by(key=value)` arguments and primary keys of `get()`: (column, value).
    keywords: Vec<(String, Node<'t>)>,
}

impl<'t> Found<'t> {
    fn new(form: Form, anchor: Node<'t>) -> Self {
        Found {
            form,
            anchor,
            entity: None,
            session: None,
            executor: String::new(),
            aggregate: false,
            textual: false,
            sources: Vec::new(),
            shape: Vec::new(),
            keywords: Vec::new(),
        }
    }

    /// Adds the arguments of a chain link that holds criteria or picks tables.
    fn add_link(&mut self, name: &str, call: Node<'t>, src: &str) {
        if SHAPE.contains(&name) {
            self.shape.extend(python::arguments(call));
        } else if CRITERIA.contains(&name) {
            self.add_criteria(name, call, src);
        }
    }

    /// Adds the arguments of a chain link that holds criteria.
    fn add_criteria(&mut self, name: &str, call: Node<'t>, src: &str) {
        // `Query.with_parent(instance, prop)`: the instance picks rows, the relationship picks the shape.
        if name == "with_parent" {
            let mut args = python::arguments(call).into_iter();
            self.sources.extend(args.next());
            self.shape.extend(args);
            return;
        }
        for arg in python::arguments(call) {
            if name == "filter_by" && arg.kind_str() == "keyword_argument" {
                if let (Some(key), Some(value)) = (arg.field("name"), arg.field("value")) {
                    self.keywords.push((text(key, src).to_string(), value));
                }
            }
            if matches!(name, "get" | "get_or_404") && arg.kind_str() != "keyword_argument" {
                self.keywords.push(("id".to_string(), arg));
            }
            self.sources.push(arg);
        }
    }
}

/// The whole expression a matched link belongs to: `session.query(M).filter(x).first()` for
/// the `query(M)` call, through parentheses and `await`.
fn outermost(node: Node<'_>) -> Node<'_> {
    let mut current = node;
    while let Some(parent) = current.up() {
        let continues = match parent.kind_str() {
            "attribute" => parent.field("object").is_some_and(|o| o.id() == current.id()),
            "call" => parent.field("function").is_some_and(|f| f.id() == current.id()),
            "parenthesized_expression" | "await" => true,
            _ => false,
        };
        if !continues {
            break;
        }
        current = parent;
    }
    current
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

fn shorten(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 50 {
        let cut: String = one_line.chars().take(47).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

/// Recognises the query an expression runs.
fn find<'t>(outer: Node<'t>, src: &'t str) -> Option<Found<'t>> {
    if let Some(q) = query::query_expr(outer, src) {
        return match q.dialect {
            Dialect::Legacy => legacy(&q, outer, src),
            Dialect::Statement => {
                let link = q.chain.links.get(q.start)?;
                statement(link.call?, link.name, src)
            }
        };
    }
    let chain = python::chain(outer, src);
    for link in &chain.links {
        let Some(call) = link.call else { continue };
        let found = match link.name {
            name if STATEMENT_EXECUTORS.contains(&name) && python::receiver(call).is_some() => {
                statement(call, name, src)
            }
            "get" | "get_one" | "get_or_404" => session_get(call, src),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    variable_query(&chain, src)
}

/// `session.query(M)...` / `M.query...`: run by a terminal method or by iterating it.
fn legacy<'t>(q: &query::QueryExpr<'t>, outer: Node<'t>, src: &'t str) -> Option<Found<'t>> {
    let start = q.chain.links.get(q.start)?;
    let after = q.chain.links.get(q.start + 1..).unwrap_or_default();
    let mut run = false;
    for link in after {
        if NOT_RUN.contains(&link.name) {
            return None;
        }
        if link.call.is_some() && TERMINALS.contains(&link.name) {
            run = true;
            break;
        }
    }
    if !run && !is_iterated(outer, src) {
        return None;
    }
    let form = if start.call.is_some() { Form::Legacy } else { Form::Flask };
    let mut found = Found::new(form, start.node);
    found.entity = q.entity(src).map(str::to_string);
    if let Some(call) = start.call {
        found.session = python::receiver(call).map(|r| text(r, src).to_string());
        found.aggregate = python::arguments(call).iter().any(|a| text(*a, src).contains("count("));
        found.shape.extend(python::arguments(call));
    }
    for link in after {
        if let Some(call) = link.call {
            found.add_link(link.name, call, src);
            if link.name == "count" {
                found.aggregate = true;
            }
            if TERMINALS.contains(&link.name) {
                break;
            }
        }
    }
    Some(found)
}

/// Is a legacy query iterated where it stands (`for x in q`, `list(q)`)?
fn is_iterated(node: Node<'_>, src: &str) -> bool {
    let Some(parent) = node.up() else { return false };
    match parent.kind_str() {
        "for_statement" | "for_in_clause" => parent.field("right").is_some_and(|r| r.id() == node.id()),
        "argument_list" => parent.up().is_some_and(|call| {
            call.kind_str() == "call"
                && python::receiver(call).is_none()
                && matches!(python::callee_name(call, src), Some("list" | "tuple" | "set" | "sorted" | "enumerate"))
        }),
        _ => false,
    }
}

/// `session.scalars(stmt)`, `session.execute(select(...))`, `db.first_or_404(select(...))`:
/// a SELECT statement, followed through the variables that build it.
fn statement<'t>(executor: Node<'t>, name: &str, src: &'t str) -> Option<Found<'t>> {
    let args = python::arguments(executor);
    let first = python::positional_arguments(executor).into_iter().next()?;
    let mut found = Found::new(Form::Statement, executor);
    found.executor = name.to_string();
    found.session = python::receiver(executor).map(|r| text(r, src).to_string());
    statement_parts(first, src, &mut found, 0)?;
    // Bound parameters passed to the executor: `session.execute(stmt, {"id": x})`.
    found.sources.extend(args.into_iter().filter(|a| a.id() != first.id()));
    Some(found)
}

/// Reads a statement expression into `found`; `None` unless it is certainly a SELECT.
fn statement_parts<'t>(node: Node<'t>, src: &'t str, found: &mut Found<'t>, depth: usize) -> Option<()> {
    if depth > 4 {
        return None;
    }
    let chain = python::chain(unparen(node), src);
    for link in &chain.links {
        if let Some(call) = link.call {
            found.add_link(link.name, call, src);
            // `select(func.count()).select_from(Ticket)`.
            if link.name == "select_from" && found.entity.is_none() {
                found.entity = python::positional_arguments(call).first().and_then(|a| model_of(*a, src));
            }
        }
    }
    match chain.links.first() {
        Some(first) if first.name == "select" && first.call.is_some() => {
            let call = first.call?;
            let args = python::arguments(call);
            found.aggregate = args.iter().any(|a| text(*a, src).contains("count("));
            if let Some(entity) = args.first().and_then(|a| model_of(*a, src)) {
                found.entity = Some(entity);
            }
            found.shape.extend(args);
            if chain.links.iter().any(|l| NOT_RUN.contains(&l.name)) {
                return None;
            }
            Some(())
        }
        Some(first) if first.name == "text" && first.call.is_some() => {
            let call = first.call?;
            let sql = python::positional_arguments(call).into_iter().next()?;
            let sql = unparen(sql);
            if !matches!(sql.kind_str(), "string" | "concatenated_string") {
                return None;
            }
            // Skip the string prefix (`r`, `f`, ...) and the quotes.
            let literal = text(sql, src);
            let body = literal.find(['"', '\'']).and_then(|at| literal.get(at..)).unwrap_or("");
            let words = body.trim_start_matches(['"', '\'']).trim_start().to_ascii_lowercase();
            if !(words.starts_with("select") || words.starts_with("with")) {
                return None;
            }
            // `SELECT lo_unlink(:oid)`: without a WHERE the parameters feed a function, not a row filter.
            if !words.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w == "where") {
                return None;
            }
            found.textual = true;
            found.shape.extend(python::arguments(call));
            Some(())
        }
        _ if chain.root.kind_str() == "identifier" => {
            let value = query::assigned_value(chain.root, src)?;
            statement_parts(value, src, found, depth + 1)
        }
        _ => None,
    }
}

/// `User` in `select(User)`, `User` in `select(User.id)` or `select(models.User)`.
fn model_of(node: Node<'_>, src: &str) -> Option<String> {
    let node = unparen(node);
    match node.kind_str() {
        "identifier" => Some(text(node, src)).filter(|n| query::is_class_name(n)).map(str::to_string),
        "attribute" => {
            let attr = text(node.field("attribute")?, src);
            if query::is_class_name(attr) {
                return Some(attr.to_string());
            }
            let object = unparen(node.field("object")?);
            let name = match object.kind_str() {
                "identifier" => text(object, src),
                "attribute" => text(object.field("attribute")?, src),
                _ => return None,
            };
            query::is_class_name(name).then(|| name.to_string())
        }
        _ => None,
    }
}

/// `session.get(User, pk)`, `db.session.get(...)`, `await session.get(...)`, `db.get_or_404(User, pk)`.
fn session_get<'t>(call: Node<'t>, src: &'t str) -> Option<Found<'t>> {
    let receiver = python::receiver(call)?;
    if !crate::sessions::is_session_like(receiver, src) {
        return None;
    }
    let positional = python::positional_arguments(call);
    let (model, keys) = positional.split_first()?;
    let entity = model_of(*model, src)?;
    let mut found = Found::new(Form::Get, call);
    found.shape.push(*model);
    found.entity = Some(entity);
    let receiver_text = text(receiver, src);
    found.session = Some(if receiver_text == "db" { "db.session".to_string() } else { receiver_text.to_string() });
    found.executor = "scalars".to_string();
    for key in keys.iter().copied().chain(python::keyword_argument(call, "ident", src)) {
        found.keywords.push(("id".to_string(), key));
        found.sources.push(key);
    }
    (!found.sources.is_empty()).then_some(found)
}

/// `q.filter(...).first()` where `q = session.query(M)...` is built earlier (possibly in steps).
fn variable_query<'t>(chain: &python::Chain<'t>, src: &'t str) -> Option<Found<'t>> {
    if chain.root.kind_str() != "identifier" {
        return None;
    }
    let terminal_at = chain.links.iter().position(|l| l.call.is_some() && TERMINALS.contains(&l.name))?;
    let local = chain.links.get(..=terminal_at)?;
    if local.iter().any(|l| NOT_RUN.contains(&l.name)) {
        return None;
    }
    let terminal = local.last()?;
    // `Query.get(pk)` takes one argument; `mapping.get(key, default)` is a dict.
    if terminal.name == "get" && terminal.call.is_some_and(|c| python::arguments(c).len() != 1) {
        return None;
    }
    let mut found = Found::new(Form::Legacy, terminal.node);
    for link in local {
        if let Some(call) = link.call {
            found.add_link(link.name, call, src);
            if link.name == "count" {
                found.aggregate = true;
            }
        }
    }
    let mut root = chain.root;
    for _ in 0..4 {
        let value = unparen(query::assigned_value(root, src)?);
        if let Some(q) = query::query_expr(value, src) {
            if q.dialect != Dialect::Legacy {
                return None;
            }
            let start = q.chain.links.get(q.start)?;
            let after = q.chain.links.get(q.start + 1..).unwrap_or_default();
            // A query already run (`rows = q.all()`) is a result, not a query.
            if after.iter().any(|l| TERMINALS.contains(&l.name) || NOT_RUN.contains(&l.name)) {
                return None;
            }
            found.form = if start.call.is_some() { Form::Legacy } else { Form::Flask };
            found.entity = q.entity(src).map(str::to_string);
            if let Some(call) = start.call {
                found.session = python::receiver(call).map(|r| text(r, src).to_string());
                found.shape.extend(python::arguments(call));
            }
            for link in after {
                if let Some(call) = link.call {
                    found.add_link(link.name, call, src);
                }
            }
            return Some(found);
        }
        let steps = python::chain(value, src);
        if steps.root.kind_str() != "identifier"
            || steps.links.is_empty()
            || steps.links.iter().any(|l| TERMINALS.contains(&l.name) || NOT_RUN.contains(&l.name) || l.call.is_none())
        {
            return None;
        }
        for link in &steps.links {
            if let Some(call) = link.call {
                found.add_link(link.name, call, src);
            }
        }
        root = steps.root;
    }
    None
}

/// The loop a query is repeated by, and the name that makes it differ per item.
struct Hit<'t, 's> {
    iterable: Node<'t>,
    /// The name found in the criteria.
    name: &'s str,
    /// The loop variable (the first one bound).
    var: &'s str,
    /// `name` is computed from the loop variable in the body, not bound by the loop.
    derived: bool,
    /// Every name that changes per item.
    names: Vec<&'s str>,
}

/// The innermost loop that runs the query once per item with criteria depending on its variable.
fn batch_loop<'t, 's>(outer: Node<'t>, found: &Found<'t>, src: &'s str) -> Option<Hit<'t, 's>> {
    for ancestor in python::ancestors(outer) {
        match ancestor.kind_str() {
            "function_definition" | "lambda" | "class_definition" => return None,
            "for_statement"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => {}
            _ => continue,
        }
        let Some(l) = loop_of(ancestor) else { continue };
        let inside =
            l.per_iteration().iter().any(|p| p.start_byte() <= outer.start_byte() && outer.end_byte() <= p.end_byte());
        if !inside
            || l.runs_once()
            || is_small_literal(l.iterable, src, 0)
            || is_retry(&l, src)
            || is_chunked(&l, src)
            || leaves_after(outer, &l)
        {
            continue;
        }
        let bound = bound_names(&l, src);
        if bound.iter().any(|n| is_chunk_name(n)) {
            continue;
        }
        let names = dependent_names(&l, bound.clone(), src);
        // `for model in MODELS: session.query(model)...`: a different table each time.
        if found.shape.iter().any(|s| depends_on(*s, &names, src).is_some()) {
            continue;
        }
        // `with Session() as s:` in the body: each item is its own unit of work, on a session
        // that does not exist before the loop.
        if session_per_item(&l, found, src) {
            continue;
        }
        // `Event.at <= item.deadline`, `Name.like(item.prefix)`: one `in_()` query cannot replace these.
        if found.sources.iter().any(|s| range_criteria(*s, &names, src)) {
            continue;
        }
        let used = found.sources.iter().find_map(|s| depends_on(*s, &names, src));
        if let Some(used) = used {
            let name = text(used, src);
            return Some(Hit {
                iterable: l.iterable,
                name,
                var: bound.first().copied().unwrap_or(name),
                derived: !bound.contains(&name),
                names,
            });
        }
    }
    None
}

/// Does the query run on a session or connection the loop body opens for each item
/// (`with Session(engine) as s:`, `conn = engine.connect()`)?
fn session_per_item(l: &Loop<'_>, found: &Found<'_>, src: &str) -> bool {
    let Some(session) = found.session.as_deref() else { return false };
    let root = session.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
    if root.is_empty() {
        return false;
    }
    let mut stack = l.per_iteration();
    let mut budget = WALK_BUDGET * 4;
    while let Some(node) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            return false;
        }
        let binding = match node.kind_str() {
            "function_definition" | "class_definition" | "lambda" => continue,
            "as_pattern" if node.up().is_some_and(|p| p.kind_str() == "with_item") => {
                let mut cursor = node.walk();
                let target = node.children_by_field_name("alias", &mut cursor).next();
                target.zip(node.named_child(0))
            }
            "assignment" => node.field("left").zip(node.field("right")),
            _ => None,
        };
        if let Some((target, value)) = binding {
            if text(target, src).trim() == root && opens_session(value, src) {
                return true;
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// `Session(engine)`, `create_session()`, `SessionLocal()`, `engine.connect()`, `engine.begin()`:
/// a new session or connection, not a scope nested in an existing one.
fn opens_session(value: Node<'_>, src: &str) -> bool {
    let mut value = unparen(value);
    if value.kind_str() == "await" {
        let Some(inner) = value.named_child(0) else { return false };
        value = unparen(inner);
    }
    if value.kind_str() != "call" {
        return false;
    }
    let Some(name) = python::callee_name(value, src) else { return false };
    name.to_ascii_lowercase().contains("session")
        || (matches!(name, "connect" | "begin") && python::receiver(value).is_some_and(|r| !crate::sessions::is_session_like(r, src)))
}

/// Does a per-item value bound a range or a pattern in the criteria (`Event.at <= item.deadline`,
/// `Event.at.between(a, item.end)`, `Name.like(item.prefix)`)? Only equality batches into `in_()`.
fn range_criteria(source: Node<'_>, names: &[&str], src: &str) -> bool {
    let mut stack = vec![source];
    let mut budget = WALK_BUDGET;
    while let Some(node) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            return false;
        }
        match node.kind_str() {
            "comparison_operator" => {
                let ranged = python::comparison_pairs(node).into_iter().any(|(left, op, right)| {
                    RANGE_OPERATORS.contains(&op)
                        && (depends_on(left, names, src).is_some() || depends_on(right, names, src).is_some())
                });
                if ranged {
                    return true;
                }
            }
            "call"
                if python::callee_name(node, src).is_some_and(|n| NOT_EQUALITY.contains(&n))
                    && python::arguments(node).into_iter().any(|a| depends_on(a, names, src).is_some()) =>
            {
                return true;
            }
            "lambda" => continue,
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// A `for` statement or comprehension (its first clause), whatever its target pattern.
fn loop_of(node: Node<'_>) -> Option<Loop<'_>> {
    let clause = if node.kind_str() == "for_statement" {
        node
    } else {
        let mut cursor = node.walk();
        let clause = node.named_children(&mut cursor).find(|c| c.kind_str() == "for_in_clause")?;
        clause
    };
    let var = clause.field("left")?;
    let iterable = unparen(clause.field("right")?);
    Some(Loop { node, clause, var, iterable })
}

/// Names bound by the loop: its target (`x`, `i, x`, `(k, v)`) and, for a comprehension, every clause's.
fn bound_names<'s>(l: &Loop<'_>, src: &'s str) -> Vec<&'s str> {
    let mut names = Vec::new();
    if l.node.kind_str() == "for_statement" {
        target_names(l.var, src, &mut names);
    } else {
        let mut cursor = l.node.walk();
        for clause in l.node.named_children(&mut cursor).filter(|c| c.kind_str() == "for_in_clause") {
            if let Some(left) = clause.field("left") {
                target_names(left, src, &mut names);
            }
        }
    }
    names
}

/// Identifiers assigned by a target pattern (`a`, `a, (b, c)`, `*rest`); attributes and subscripts bind nothing.
fn target_names<'s>(target: Node<'_>, src: &'s str, out: &mut Vec<&'s str>) {
    let mut stack = vec![target];
    while let Some(node) = stack.pop() {
        match node.kind_str() {
            "identifier" => {
                let name = text(node, src);
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "list_splat_pattern"
            | "parenthesized_expression"
            | "tuple"
            | "list"
            | "expression_list" => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
            _ => {}
        }
    }
}

/// The loop's names plus the variables assigned in its body from them (`key = user.id`),
/// including inner loops' targets over them (`for post in user.posts`).
fn dependent_names<'s>(l: &Loop<'_>, mut names: Vec<&'s str>, src: &'s str) -> Vec<&'s str> {
    let mut bindings: Vec<(Node<'_>, Node<'_>)> = Vec::new();
    let mut stack = l.per_iteration();
    let mut budget = WALK_BUDGET * 4;
    while let Some(node) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        let pair = match node.kind_str() {
            "function_definition" | "class_definition" | "lambda" => continue,
            "assignment" | "augmented_assignment" => {
                node.field("left").zip(node.field("right"))
            }
            "named_expression" => node.field("name").zip(node.field("value")),
            "for_statement" => node.field("left").zip(node.field("right")),
            "with_item" => {
                let value = node.field("value");
                value.filter(|v| v.kind_str() == "as_pattern").and_then(|v| {
                    let mut cursor = v.walk();
                    let target = v.children_by_field_name("alias", &mut cursor).next();
                    target.zip(v.named_child(0))
                })
            }
            _ => None,
        };
        if let Some(pair) = pair {
            bindings.push(pair);
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    for _ in 0..4 {
        let mut changed = false;
        for (target, value) in &bindings {
            if depends_on(*value, &names, src).is_some() {
                let before = names.len();
                target_names(*target, src, &mut names);
                changed |= names.len() != before;
            }
        }
        if !changed {
            break;
        }
    }
    names
}

/// The first identifier in `node` that reads one of `names` (attribute names and keyword
/// names are not reads; arguments of `in_()` already batch, so they do not count).
fn depends_on<'t>(node: Node<'t>, names: &[&str], src: &str) -> Option<Node<'t>> {
    let mut stack = vec![node];
    let mut budget = WALK_BUDGET;
    while let Some(current) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            return None;
        }
        match current.kind_str() {
            "identifier" => {
                if names.contains(&text(current, src)) {
                    return Some(current);
                }
                continue;
            }
            "attribute" => {
                // `result.inserted_primary_key`: a key the database made in this iteration, not the item's.
                let generated = current
                    .field("attribute")
                    .is_some_and(|a| GENERATED_KEYS.contains(&text(a, src)));
                if !generated {
                    stack.extend(current.field("object"));
                }
                continue;
            }
            "keyword_argument" => {
                stack.extend(current.field("value"));
                continue;
            }
            // `with_parent(instance, User.orders)`: the relationship is the query's shape, the instance its key.
            "call" if python::callee_name(current, src) == Some("with_parent") => {
                stack.extend(python::arguments(current).into_iter().next());
                continue;
            }
            // `{name: value}`: the key names a parameter or a column, the value varies.
            "pair" => {
                stack.extend(current.field("value"));
                continue;
            }
            // `in_(chunk)` / `in_([x.id for x in chunk])`: the loop hands out collections of keys,
            // already batched. `in_(item.ids)` or `in_(select(...).where(... item ...))` still run per item.
            "call" if python::callee_name(current, src).is_some_and(|n| BATCHING.contains(&n)) => {
                let args = python::positional_arguments(current);
                stack.extend(args.into_iter().filter(|a| !is_key_collection(*a, src)));
                continue;
            }
            "lambda" => continue,
            _ => {}
        }
        let mut cursor = current.walk();
        let children: Vec<Node<'t>> = current.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}

/// `chunk` or `[x.id for x in chunk]`: a collection handed out by the loop, passed whole to `in_()`.
fn is_key_collection(node: Node<'_>, src: &str) -> bool {
    let node = unparen(node);
    match node.kind_str() {
        // Not a statement variable (`ids = select(...)`): that is a subquery.
        "identifier" => !query::is_statement(node, src),
        "list_comprehension" | "set_comprehension" | "generator_expression" => {
            let mut cursor = node.walk();
            let clause = node.named_children(&mut cursor).find(|c| c.kind_str() == "for_in_clause");
            clause.and_then(|c| c.field("right")).is_some_and(|r| unparen(r).kind_str() == "identifier")
        }
        _ => false,
    }
}

/// `("a", "b")`, `[x, y, z]`, `range(3)`, or a name bound to one of those: a handful of items.
fn is_small_literal(node: Node<'_>, src: &str, depth: usize) -> bool {
    let node = unparen(node);
    match node.kind_str() {
        "list" | "tuple" | "set" => {
            let mut cursor = node.walk();
            let items: Vec<Node<'_>> = node.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").collect();
            items.len() <= 3 && !items.iter().any(|i| matches!(i.kind_str(), "list_splat" | "parenthesized_list_splat"))
        }
        "call" if python::callee_name(node, src) == Some("range") && python::receiver(node).is_none() => {
            let ints: Option<Vec<i64>> = python::arguments(node)
                .into_iter()
                .map(|a| (a.kind_str() == "integer").then(|| text(a, src).replace('_', "").parse::<i64>().ok()).flatten())
                .collect();
            match ints.as_deref() {
                Some([stop]) => *stop <= 3,
                Some([start, stop]) => stop - start <= 3,
                _ => false,
            }
        }
        // A name bound to a non-empty literal it is never grown from (`ids = []` then `ids.append(x)` is not small).
        "identifier" if depth == 0 => {
            let value = query::assigned_value(node, src).or_else(|| module_constant(node, src));
            value.is_some_and(|v| {
                let mut cursor = v.walk();
                let empty = unparen(v).named_children(&mut cursor).next().is_none();
                !empty && is_small_literal(v, src, depth + 1) && !is_grown(node, src)
            })
        }
        _ => false,
    }
}

/// Is the collection named by `name` added to in its scope (`name.append(x)`, `name += [...]`)?
fn is_grown(name: Node<'_>, src: &str) -> bool {
    let ident = text(name, src);
    let Some(scope) = python::enclosing_function(name).or_else(|| python::ancestors(name).last()) else {
        return true;
    };
    let mut stack = vec![scope];
    let mut budget = WALK_BUDGET * 4;
    while let Some(node) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            return true;
        }
        match node.kind_str() {
            "call" => {
                let grows = matches!(
                    python::callee_name(node, src),
                    Some("append" | "extend" | "add" | "insert" | "update" | "setdefault")
                );
                if grows && python::receiver(node).is_some_and(|r| r.kind_str() == "identifier" && text(r, src) == ident) {
                    return true;
                }
            }
            "augmented_assignment" if node.field("left").is_some_and(|l| text(l, src) == ident) => {
                return true;
            }
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// `NAME = value` at the top level of the module, when assigned exactly once there.
fn module_constant<'t>(name: Node<'t>, src: &str) -> Option<Node<'t>> {
    let ident = text(name, src);
    let module = python::ancestors(name).last()?;
    let mut cursor = module.walk();
    let values: Vec<Node<'t>> = module
        .named_children(&mut cursor)
        .filter(|s| s.kind_str() == "expression_statement")
        .filter_map(|s| s.named_child(0))
        .filter(|a| a.kind_str() == "assignment")
        .filter(|a| a.field("left").is_some_and(|l| l.kind_str() == "identifier" && text(l, src) == ident))
        .filter_map(|a| a.field("right"))
        .collect();
    match values.as_slice() {
        [value] => Some(*value),
        _ => None,
    }
}

/// A chunked loop: `for start in range(0, n, size)`, `for part in chunks(ids, 500)`.
fn is_chunked(l: &Loop<'_>, src: &str) -> bool {
    let iterable = unparen(l.iterable);
    if iterable.kind_str() != "call" {
        return false;
    }
    let Some(name) = python::callee_name(iterable, src) else { return false };
    if name == "range" {
        return python::positional_arguments(iterable).len() == 3;
    }
    is_chunk_name(name) || matches!(name, "grouper" | "partition" | "partitions" | "islice")
}

/// `chunk`, `id_batch`, `batched`, `chunk_list`: names of slices of a larger collection.
fn is_chunk_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("chunk") || lower.contains("batch")
}

/// `for attempt in range(n):` whose body `break`s out: tries until one succeeds.
fn is_retry(l: &Loop<'_>, src: &str) -> bool {
    if l.node.kind_str() != "for_statement" {
        return false;
    }
    let iterable = unparen(l.iterable);
    let ranged = iterable.kind_str() == "call"
        && python::callee_name(iterable, src) == Some("range")
        && python::receiver(iterable).is_none();
    if !ranged {
        return false;
    }
    let Some(body) = l.node.field("body") else { return false };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind_str() {
            "break_statement" => return true,
            "for_statement" | "while_statement" | "function_definition" | "class_definition" | "lambda" => continue,
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// Does every path that runs the query leave the loop right after it? True when a block
/// between the query and the loop body (included) ends the loop at its top level: `return`,
/// `raise`, or a `break` of this loop (not of an inner one).
fn leaves_after(outer: Node<'_>, l: &Loop<'_>) -> bool {
    let path: Vec<Node<'_>> = python::ancestors(outer).take_while(|a| a.id() != l.node.id()).collect();
    let mut inner_loops = path.iter().filter(|a| matches!(a.kind_str(), "for_statement" | "while_statement")).count();
    for node in path {
        match node.kind_str() {
            "for_statement" | "while_statement" => inner_loops = inner_loops.saturating_sub(1),
            "block" => {
                let mut cursor = node.walk();
                let leaves = node.named_children(&mut cursor).any(|s| match s.kind_str() {
                    "return_statement" | "raise_statement" => true,
                    "break_statement" => inner_loops == 0,
                    _ => false,
                });
                if leaves {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The column compared with the per-item value: `Post.author_id` in `Post.author_id == user.id`.
fn column_hint(found: &Found<'_>, names: &[&str], src: &str) -> Option<String> {
    let entity = found.entity.as_deref();
    for (key, value) in &found.keywords {
        if depends_on(*value, names, src).is_some() {
            if let Some(entity) = entity {
                return Some(format!("{entity}.{key}"));
            }
        }
    }
    for source in &found.sources {
        let mut stack = vec![*source];
        let mut budget = WALK_BUDGET;
        while let Some(node) = stack.pop() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            if node.kind_str() == "comparison_operator" {
                for (left, op, right) in python::comparison_pairs(node) {
                    if op != "==" {
                        continue;
                    }
                    for (column, value) in [(left, right), (right, left)] {
                        let column_text = text(column, src);
                        if python::is_column_expression(column, src)
                            && depends_on(value, names, src).is_some()
                            && depends_on(column, names, src).is_none()
                            && column_text.len() <= 60
                            && !column_text.contains('\n')
                        {
                            return Some(column_text.to_string());
                        }
                    }
                }
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
    }
    None
}

/// The batched form of the query, written in the same dialect.
fn advice(found: &Found<'_>, model: Option<&str>, column: &str, outer: Node<'_>, src: &str) -> String {
    let m = model.unwrap_or("Model");
    if found.textual {
        return "run one query before the loop with an expanding parameter, `text(\"... WHERE key IN :keys\")\
                .bindparams(bindparam(\"keys\", expanding=True))`, then look the rows up in a dict"
            .to_string();
    }
    let session = found
        .session
        .as_deref()
        .filter(|s| s.len() <= 40 && !s.contains('\n') && !s.is_empty())
        .unwrap_or(if found.form == Form::Flask { "db.session" } else { "session" });
    let awaited = if outer.kind_str() == "await" || text(outer, src).starts_with("(await") { "await " } else { "" };
    if found.aggregate {
        let form = match found.form {
            Form::Legacy | Form::Flask => {
                format!("{session}.query({column}, func.count()).filter({column}.in_(...)).group_by({column}).all()")
            }
            Form::Statement | Form::Get => format!(
                "{awaited}{session}.execute(select({column}, func.count()).where({column}.in_(...)).group_by({column}))"
            ),
        };
        return format!("count them in one grouped query before the loop: `{form}`, then look the counts up in a dict");
    }
    let form = match found.form {
        Form::Legacy => format!("{session}.query({m}).filter({column}.in_(...)).all()"),
        Form::Flask => format!("{m}.query.filter({column}.in_(...)).all()"),
        Form::Statement if found.executor == "exec" => {
            format!("{awaited}{session}.exec(select({m}).where({column}.in_(...)))")
        }
        Form::Statement | Form::Get => format!("{awaited}{session}.scalars(select({m}).where({column}.in_(...)))"),
    };
    let rows = match model {
        Some(m) => format!("all `{m}` rows"),
        None => "all the rows".to_string(),
    };
    format!("query {rows} once before the loop: `{form}`, then look them up in a dict")
}
