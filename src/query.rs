//! Recognising SQLAlchemy query expressions across dialects, syntactically:
//! legacy `session.query(M)...`, Flask-SQLAlchemy `M.query...`, 2.0
//! `session.scalars(select(M))` / `session.execute(select(M))`, SQLModel
//! `session.exec(select(M))`, awaited async forms, and local variables
//! assigned from any of these earlier in the same scope.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::python::{self, Chain};

/// How a query expression is written, which decides the advice we give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `session.query(M)...` or Flask-SQLAlchemy `M.query...`.
    Legacy,
    /// `session.scalars(select(M))`, `session.execute(...)`, `session.exec(...)`.
    Statement,
}

/// A recognised query: its dialect and the chain it was read from.
#[derive(Debug)]
pub(crate) struct QueryExpr<'t> {
    pub(crate) dialect: Dialect,
    pub(crate) chain: Chain<'t>,
    /// Index in `chain.links` of the link that starts the query (`query`, `scalars`, ...).
    pub(crate) start: usize,
}

impl<'t> QueryExpr<'t> {
    /// The first model-like argument: `User` in `query(User)`, `select(User)`, or the Flask root `User.query`.
    pub(crate) fn entity(&self, src: &'t str) -> Option<&'t str> {
        let link = self.chain.links.get(self.start)?;
        if self.dialect == Dialect::Legacy && link.call.is_none() {
            return src.get(self.chain.root.byte_range()).filter(|name| is_class_name(name));
        }
        let call = link.call?;
        let first = python::positional_arguments(call).into_iter().next()?;
        let first = python::unparen(first);
        let entity = if self.dialect == Dialect::Statement {
            // scalars(select(User)...) → User, also through `stmt = select(User)`.
            let select = statement_root(first, src, 0)?;
            if python::callee_name(select, src) != Some("select") {
                return None;
            }
            python::unparen(*python::positional_arguments(select).first()?)
        } else {
            first
        };
        (entity.kind_str() == "identifier").then(|| src.get(entity.byte_range())).flatten().filter(|n| is_class_name(n))
    }
}

pub(crate) fn is_class_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// Statement-executing methods whose result holds ORM rows.
const EXECUTORS: &[&str] = &["scalars", "execute", "exec"];

/// Recognises `node` as a query expression, without following variables.
pub(crate) fn query_expr<'t>(node: Node<'t>, src: &'t str) -> Option<QueryExpr<'t>> {
    let chain = python::chain(node, src);
    let start = chain.links.iter().enumerate().find_map(|(index, link)| {
        let is_method = link.call.is_some_and(is_method_call);
        match (link.name, link.call) {
            // session.query(User, ...): a method call with at least one entity or column.
            ("query", Some(call)) if is_method && !python::positional_arguments(call).is_empty() => {
                Some((index, Dialect::Legacy))
            }
            // Flask-SQLAlchemy: User.query.filter(...): `query` read on a class.
            ("query", None) if index == 0 && is_class_name(root_text(&chain, src)) => Some((index, Dialect::Legacy)),
            // session.scalars(select(User)), session.execute(stmt), session.exec(select(User)).
            (name, Some(call)) if is_method && EXECUTORS.contains(&name) => {
                let first = python::positional_arguments(call).into_iter().next().map(python::unparen)?;
                is_statement(first, src).then_some((index, Dialect::Statement))
            }
            _ => None,
        }
    })?;
    Some(QueryExpr { dialect: start.1, chain, start: start.0 })
}

fn is_method_call(call: Node<'_>) -> bool {
    call.field("function").map(python::unparen).is_some_and(|f| f.kind_str() == "attribute")
}

fn root_text<'t>(chain: &Chain<'t>, src: &'t str) -> &'t str {
    src.get(chain.root.byte_range()).unwrap_or("")
}

/// `select(...)...` or `text(...)`, directly or through a variable holding one.
pub(crate) fn is_statement(node: Node<'_>, src: &str) -> bool {
    statement_root(node, src, 0).is_some()
}

/// The `select(...)`/`text(...)` call a statement expression starts from, following
/// variables and their rebinding (`stmt = select(User)`, `stmt = stmt.where(...)`), bounded.
pub(crate) fn statement_root<'t>(node: Node<'t>, src: &'t str, depth: usize) -> Option<Node<'t>> {
    if depth > 4 {
        return None;
    }
    let chain = python::chain(python::unparen(node), src);
    match chain.links.first() {
        Some(first)
            if first.call.is_some()
                && matches!(first.name, "select" | "text")
                && chain.root.kind_str() == "identifier" =>
        {
            first.call
        }
        // `sa.select(User)`, `sqlalchemy.select(...)`: the module-qualified forms.
        _ if chain.root.kind_str() == "identifier" && !chain.links.is_empty() => {
            let root = src.get(chain.root.byte_range()).unwrap_or("");
            if matches!(root, "sa" | "sqlalchemy" | "sql" | "expression") {
                return chain.links.first().filter(|l| matches!(l.name, "select" | "text")).and_then(|l| l.call);
            }
            let value = assigned_value(chain.root, src)?;
            statement_root(value, src, depth + 1)
        }
        _ if chain.root.kind_str() == "identifier" => {
            let value = assigned_value(chain.root, src)?;
            statement_root(value, src, depth + 1)
        }
        _ => None,
    }
}

/// Recognises `node` as a query, following a local variable to its assignment.
pub(crate) fn resolve_query<'t>(node: Node<'t>, src: &'t str) -> Option<QueryExpr<'t>> {
    let node = python::unparen(node);
    if let Some(found) = query_expr(node, src) {
        return Some(found);
    }
    // `q.all()` where `q = session.query(User)...` earlier.
    let chain = python::chain(node, src);
    if chain.root.kind_str() == "identifier" {
        let value = assigned_value(chain.root, src)?;
        let mut found = query_expr(value, src)?;
        found.chain.links.extend(chain.links);
        return Some(found);
    }
    None
}

/// The value most recently assigned to identifier `name` before it is used,
/// in the same function (or module) body — `None` when it is assigned more
/// than once in a way we cannot order, or never.
pub(crate) fn assigned_value<'t>(name: Node<'t>, src: &'t str) -> Option<Node<'t>> {
    let ident = src.get(name.byte_range())?;
    let scope = python::enclosing_function(name)
        .and_then(|f| f.field("body"))
        .or_else(|| python::ancestors(name).find(|n| n.kind_str() == "module"))?;
    if ident.is_empty() {
        return None;
    }
    // The last assignment completed before the use (`stmt = stmt.where(...)` reads the old value).
    let before = name.start_byte();
    assignments_to(scope, ident, before, src)
        .filter(|(assign, _)| assign.end_byte() <= before)
        .map(|(_, value)| value)
        .max_by_key(Node::start_byte)
}

/// The `ident = value` (or `ident: T = value`) assignments of `scope`'s own statements that start
/// before byte `before`, as (assignment, value). Only spellings of the name followed by `=` or `:`
/// can be a target, so those are all that is looked at: most names asked about (loop iterables,
/// receivers) have none. An assignment counts when every node between `scope` and it holds
/// statements (or is an assignment it is chained in), as in a walk of the scope's statements.
fn assignments_to<'t>(
    scope: Node<'t>,
    ident: &'t str,
    before: usize,
    src: &'t str,
) -> impl Iterator<Item = (Node<'t>, Node<'t>)> + 't {
    let start = scope.start_byte();
    let text = src.get(start..before).unwrap_or_default().as_bytes();
    let bytes = src.as_bytes();
    memchr::memmem::find_iter(text, ident.as_bytes())
        .map(move |at| start + at)
        .filter(move |&from| followed_by_assign(bytes.get(from + ident.len()..).unwrap_or_default()))
        .filter_map(move |from| {
            let to = from + ident.len();
            let target = scope
                .named_descendant_for_byte_range(from, to)
                .filter(|n| n.kind_str() == "identifier" && n.start_byte() == from && n.end_byte() == to)?;
            let mut chain = crate::syntax::chain_to(target);
            let at = chain.iter().position(|n| n.id() == scope.id())?;
            chain.drain(..=at);
            let assign = chain.pop().filter(|a| a.kind_str() == "assignment")?;
            let between_holds = chain.iter().all(|n| {
                let kind = n.kind_str();
                kind == "assignment"
                    || (crate::triggers::holds_statements(kind)
                        && !matches!(
                            kind,
                            "function_definition" | "class_definition" | "decorated_definition" | "ERROR"
                        ))
            });
            let is_target = assign.field("left").is_some_and(|l| l.id() == target.id());
            if !between_holds || !is_target {
                return None;
            }
            Some((assign, assign.field("right")?))
        })
}

/// Does the text after a name go on (past blanks and line continuations) with `=` (not `==`)
/// or `:`, as after an assignment's target? A non-ASCII byte counts as a yes: the grammar
/// skips Unicode blanks.
fn followed_by_assign(rest: &[u8]) -> bool {
    let mut next = rest.iter().skip_while(|b| matches!(b, b' ' | b'\t' | b'\x0c' | b'\\' | b'\r' | b'\n'));
    match next.next() {
        Some(b'=') => next.next() != Some(&b'='),
        Some(b':') => true,
        Some(b) => !b.is_ascii(),
        None => false,
    }
}

/// Every `name = value` assignment statement of a function (or module) body, in any order: a
/// walk of its statements, the oracle [`assignments_to`] is tested against.
#[cfg(test)]
fn scope_assignments(scope: Node<'_>) -> Vec<(Node<'_>, Node<'_>, Node<'_>)> {
    let mut out = Vec::new();
    let mut stack = vec![scope];
    while let Some(node) = stack.pop() {
        match node.kind_str() {
            "assignment" => {
                if let (Some(left), Some(right)) = (node.field("left"), node.field("right")) {
                    if left.kind_str() == "identifier" {
                        out.push((left, node, right));
                    }
                }
            }
            "function_definition" | "class_definition" | "decorated_definition" | "ERROR" => continue,
            kind if crate::triggers::holds_statements(kind) => {}
            _ => continue,
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out
}

/// Which DML statement a [`DmlStatement`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DmlKind {
    Delete,
    Update,
    Insert,
}

impl DmlKind {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            DmlKind::Delete => "DELETE",
            DmlKind::Update => "UPDATE",
            DmlKind::Insert => "INSERT",
        }
    }
}

/// A Core / ORM DML statement under construction: `delete(User).where(...)`,
/// `update(User).values(...)`, `insert(User).values(...)` (functions imported from
/// SQLAlchemy or SQLModel, or `sa.delete(...)`), or the `Table` method forms
/// `users.delete().where(...)` / `users.update().values(...)`, which are only taken as
/// statements when a builder method follows them (`obj.delete()` alone is anybody's method).
pub(crate) struct DmlStatement<'t> {
    pub(crate) kind: DmlKind,
    /// `User` in `delete(User)`; `users` in `users.delete()`.
    pub(crate) target: Option<Node<'t>>,
    /// A `.where()` / `.filter()` / `.filter_by()` link, or a `whereclause=` argument.
    pub(crate) has_where: bool,
}

/// Builder methods of `Delete` / `Update` / `Insert`: each returns a new statement, executing nothing.
const DML_BUILDERS: &[&str] = &[
    "where",
    "filter",
    "filter_by",
    "values",
    "ordered_values",
    "returning",
    "return_defaults",
    "execution_options",
    "prefix_with",
    "suffix_with",
    "with_dialect_options",
    "with_hint",
    "inline",
    "from_select",
    "on_conflict_do_nothing",
    "on_conflict_do_update",
    "on_duplicate_key_update",
    "correlate",
    "correlate_except",
    "params",
];

/// Reads `node` as a DML statement expression (no variables followed); `None` for anything
/// else, including chains that go on to execute it (`stmt.execute()` of SQLAlchemy 1.x).
pub(crate) fn dml_statement<'t>(node: Node<'t>, src: &'t str) -> Option<DmlStatement<'t>> {
    let chain = python::chain(python::unparen(node), src);
    let kind = |name: &str| match name {
        "delete" => Some(DmlKind::Delete),
        "update" => Some(DmlKind::Update),
        "insert" => Some(DmlKind::Insert),
        _ => None,
    };
    // The constructor: the first link, or (method form) the link right after a plain name chain.
    let position = chain.links.iter().position(|l| l.call.is_some())?;
    let link = chain.links.get(position)?;
    let constructor = link.call?;
    let dml = kind(link.name)?;
    let rest = &chain.links[position + 1..];
    if rest.iter().any(|l| l.call.is_none() || !DML_BUILDERS.contains(&l.name)) {
        return None;
    }
    let function = constructor.field("function").map(python::unparen)?;
    let dotted = python::dotted_name(function, src)?;
    let module = dotted.split('.').next().unwrap_or_default();
    let function_form = function.kind_str() == "identifier" || matches!(module, "sa" | "sqlalchemy" | "sqlmodel");
    let (target, keyword_where) = if function_form {
        if !python::is_sqlalchemy_callee(function, &dotted, &["delete", "update", "insert"], src) {
            return None;
        }
        let first = python::positional_arguments(constructor).first().map(|n| python::unparen(*n));
        (first, python::keyword_argument(constructor, "whereclause", src).is_some())
    } else {
        // `users.delete()` on a `Table`: no arguments, and a builder must follow.
        if !python::arguments(constructor).is_empty() || rest.is_empty() {
            return None;
        }
        (python::receiver(constructor), false)
    };
    let has_where = keyword_where || rest.iter().any(|l| matches!(l.name, "where" | "filter" | "filter_by"));
    Some(DmlStatement { kind: dml, target, has_where })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::test_support::{fixture_texts, named_nodes, parse};

    /// `assigned_value`, which looks only where the name is spelt before `=` or `:`, answers
    /// what a walk of the scope's statements answers, for every identifier of every fixture.
    #[test]
    fn assigned_value_matches_a_walk_of_the_scope() {
        let mut texts = fixture_texts();
        texts.push("x: int = 1\nx\ny \\\n  = 2\ny\na = b = c = f()\nc\nz\t=1;z\nw\u{a0}= 1\nw\nxs = 1\nx\n".into());
        texts.push("def f(q):\n    q == 1\n    q: list\n    q\n    r := 2\n    s = [t for t in q]\n    s\n".into());
        texts.push("if a:\n    v = g()\nelse:\n    v = h()\nv\ndef k():\n    v = 1\nclass C:\n    u = 2\nu\nv = v.where(x)\nv\n".into());
        let (mut found, mut none) = (0, 0);
        for text in texts {
            let tree = parse(&text);
            for name in named_nodes(&tree).into_iter().filter(|n| n.kind_str() == "identifier") {
                let Some(scope) = python::enclosing_function(name)
                    .and_then(|f| f.field("body"))
                    .or_else(|| python::ancestors(name).find(|n| n.kind_str() == "module"))
                else {
                    continue;
                };
                let ident = &text[name.byte_range()];
                let walked = scope_assignments(scope)
                    .into_iter()
                    .filter(|(left, assign, _)| {
                        assign.end_byte() <= name.start_byte() && &text[left.byte_range()] == ident
                    })
                    .map(|(_, _, value)| value)
                    .max_by_key(Node::start_byte)
                    .filter(|_| !ident.is_empty());
                let fast = assigned_value(name, &text);
                assert_eq!(fast, walked, "`{ident}` at byte {} in\n{text}", name.start_byte());
                found += usize::from(fast.is_some());
                none += usize::from(fast.is_none());
            }
        }
        assert!(found > 500 && none > 10_000, "found {found}, none {none}");
    }
}
