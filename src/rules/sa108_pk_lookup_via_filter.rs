//! SA108 pk-lookup-via-filter: a query whose only criterion is `Model.<pk> == value`
//! and that returns one object, where `Session.get()` does the same lookup through
//! the identity map. The shape is read during the pass; whether the compared
//! attribute is the model's single-column primary key comes from the model index.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::loops;
use crate::python::{self, unparen, Link};
use crate::query;
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(span) = m.get("span") else { return };
    let src = checker.source();
    let Some(lookup) = read_lookup(span, src) else { return };
    checker.defer(Box::new(PkLookup { rule: checker.rule, lookup }));
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// What the suggested `get()` call looks like.
enum Advice {
    /// `session.get(M, pk)` on this session expression (`await ` included when awaited).
    Session(String),
    /// Flask-SQLAlchemy's implicit session: `db.session.get(M, pk)` / `db.get_or_404(M, pk)`.
    Flask { or_404: bool },
}

struct Lookup {
    range: Range<usize>,
    /// The entity as written (`User`, `models.User`).
    entity: String,
    /// The attribute compared with the value (`id`).
    key: String,
    value: String,
    /// The method that returns the object (`first`, `one`, `scalar_one_or_none`, ...).
    method: String,
    advice: Advice,
}

/// Recognises a single-criterion lookup ending at the call `span`.
fn read_lookup(span: Node<'_>, src: &str) -> Option<Lookup> {
    let method = python::callee_name(span, src)?;
    let args = python::arguments(span);
    let or_404 = matches!(method, "first_or_404" | "one_or_404");
    // `session.scalar(select(M).where(...))`: the executor itself.
    if method == "scalar" && !args.is_empty() {
        let [statement] = args.as_slice() else { return None };
        return statement_lookup(span, *statement, method, span.byte_range(), src);
    }
    let args_ok = args.is_empty()
        || (or_404
            && args.len() == 1
            && args.first().is_some_and(|a| {
                a.kind_str() == "keyword_argument"
                    && a.field("name").is_some_and(|n| text(n, src) == "description")
            }));
    if !args_ok {
        return None;
    }
    let chain = python::chain(span, src);
    let links = &chain.links;
    // Legacy: `<session>.query(M).<criterion>.<method>()` or Flask `M.query.<criterion>.<method>()`.
    if let Some(at) = links.iter().rposition(|l| l.name == "query") {
        if links.len() != at + 3 || matches!(method, "scalar_one" | "scalar_one_or_none") {
            return None;
        }
        let query_link = links.get(at)?;
        let criterion = links.get(at + 1)?;
        let (entity, advice) = match query_link.call {
            Some(call) => {
                let query_args = python::arguments(call);
                let [entity] = query_args.as_slice() else { return None };
                let session = python::receiver(call)?;
                let advice = if or_404 { Advice::Flask { or_404 } } else { Advice::Session(text(session, src).into()) };
                (*entity, advice)
            }
            None if at == 0 && query::is_class_name(text(chain.root, src)) => (chain.root, Advice::Flask { or_404 }),
            None => return None,
        };
        if or_404 && !matches!(advice, Advice::Flask { .. }) {
            return None;
        }
        let entity = entity_text(entity, src)?;
        let (key, value) = read_criterion(criterion, &entity, src)?;
        return Some(Lookup { range: span.byte_range(), entity, key, value, method: method.into(), advice });
    }
    if or_404 {
        return None;
    }
    // 2.0: `session.scalars(stmt).first()`, `session.execute(stmt).scalar_one()`, `.scalars().one()`,
    // or the same on a result variable: `result = await session.execute(stmt)` ... `result.scalar_one()`.
    let (executor, range) = if links.len() == 1 && chain.root.kind_str() == "identifier" {
        let value = query::assigned_value(chain.root, src)?;
        let inner = unparen(value);
        let inner = if inner.kind_str() == "await" { unparen(inner.named_child(0)?) } else { inner };
        let result_links = python::chain(inner, src).links;
        let executor = executor_of(&result_links, method)?;
        // The result is read once, here: the lookup is the whole use of it.
        if loops::has_other_uses(chain.root, src) {
            return None;
        }
        (executor, value.byte_range())
    } else {
        let before = links.get(..links.len().checked_sub(1)?)?;
        (executor_of(before, method)?, span.byte_range())
    };
    let executor_args = python::arguments(executor);
    let [statement] = executor_args.as_slice() else { return None };
    statement_lookup(executor, *statement, method, range, src)
}

/// The executor call that the result links `links` end with, for a result method `method`:
/// `scalars(stmt)` / `exec(stmt)` before `first()` / `one()` / `one_or_none()`,
/// `execute(stmt).scalars()` before those, `execute(stmt)` before `scalar_one()` and friends.
fn executor_of<'t>(links: &[Link<'t>], method: &str) -> Option<Node<'t>> {
    let last = links.last()?;
    let n = links.len();
    match method {
        "first" | "one" | "one_or_none" => match last.name {
            "scalars" | "exec" if last.call.is_some_and(|c| !python::arguments(c).is_empty()) => last.call,
            "scalars" => {
                let before = links.get(n.checked_sub(2)?)?;
                (before.name == "execute").then_some(before.call).flatten()
            }
            _ => None,
        },
        "scalar_one" | "scalar_one_or_none" | "scalar" => (last.name == "execute").then_some(last.call).flatten(),
        _ => None,
    }
}

/// A 2.0 lookup: `executor` (a method call on a session) runs `statement`, a
/// `select(M).where(M.pk == x)` inline or assigned once to a variable.
fn statement_lookup(
    executor: Node<'_>,
    statement: Node<'_>,
    method: &str,
    range: Range<usize>,
    src: &str,
) -> Option<Lookup> {
    let session = python::receiver(executor)?;
    let mut statement = unparen(statement);
    if statement.kind_str() == "identifier" {
        let values = loops::assignments_before(statement, src);
        let [only] = values.as_slice() else { return None };
        statement = unparen(*only);
    }
    let chain = python::chain(statement, src);
    let root = text(chain.root, src);
    let [select, criterion] = chain.links.as_slice() else { return None };
    let module_ok = matches!(root, "select" | "sa" | "sqlalchemy" | "sql" | "expression" | "db" | "sqlmodel");
    if select.name != "select" || !module_ok {
        return None;
    }
    let select_args = python::arguments(select.call?);
    let [entity] = select_args.as_slice() else { return None };
    let entity = entity_text(*entity, src)?;
    let (key, value) = read_criterion(criterion, &entity, src)?;
    let awaited = executor.up().is_some_and(|p| p.kind_str() == "await");
    let session = format!("{}{}", if awaited { "await " } else { "" }, text(session, src));
    Some(Lookup { range, entity, key, value, method: method.into(), advice: Advice::Session(session) })
}

/// `User` or `models.User`: a class-like name naming a module-level class.
fn entity_text(node: Node<'_>, src: &str) -> Option<String> {
    let node = unparen(node);
    let dotted = python::dotted_name(node, src)?;
    let last = dotted.rsplit('.').next().unwrap_or(&dotted);
    // A class the index can know: imported or defined here, not a local variable.
    (query::is_class_name(last) && loops::names_module_class(node, &dotted, src)).then_some(dotted)
}

/// The `(attribute, value)` of a single criterion on the entity: `.filter(M.key == value)`,
/// `.where(value == M.key)`, `.filter_by(key=value)`.
fn read_criterion(link: &Link<'_>, entity: &str, src: &str) -> Option<(String, String)> {
    let args = python::arguments(link.call?);
    let [arg] = args.as_slice() else { return None };
    let (key, value) = match link.name {
        "filter_by" if arg.kind_str() == "keyword_argument" => {
            (text(arg.field("name")?, src).to_string(), arg.field("value")?)
        }
        "filter" | "where" if arg.kind_str() != "keyword_argument" => {
            let comparison = unparen(*arg);
            if comparison.kind_str() != "comparison_operator" {
                return None;
            }
            let pairs = python::comparison_pairs(comparison);
            let [(left, "==", right)] = pairs.as_slice() else { return None };
            let key_of = |side: Node<'_>| -> Option<String> {
                let side = unparen(side);
                if side.kind_str() != "attribute" {
                    return None;
                }
                let object = python::dotted_name(side.field("object")?, src)?;
                let attribute = side.field("attribute")?;
                (object == entity).then(|| text(attribute, src).to_string())
            };
            match (key_of(*left), key_of(*right)) {
                (Some(key), None) => (key, *right),
                (None, Some(key)) => (key, *left),
                _ => return None,
            }
        }
        _ => return None,
    };
    let value = unparen(value);
    // `M.id == None` is `IS NULL`; a column, subquery or bound parameter is no primary-key value.
    let value_text = text(value, src);
    let entity_root = entity.split('.').next().unwrap_or(entity);
    if matches!(value.kind_str(), "none" | "list" | "tuple" | "set" | "dictionary" | "list_splat" | "dictionary_splat")
        || python::is_sql_expression(value, src)
        || mentions(value, entity_root, src)
        || ["select(", "subquery", "bindparam(", "literal(", "func."].iter().any(|s| value_text.contains(s))
    {
        return None;
    }
    Some((key, value_text.to_string()))
}

fn mentions(node: Node<'_>, name: &str, src: &str) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind_str() == "identifier" && text(n, src) == name {
            return true;
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    false
}

struct PkLookup {
    rule: RuleId,
    lookup: Lookup,
}

impl Deferred for PkLookup {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let l = &self.lookup;
        let class = l.entity.rsplit('.').next().unwrap_or(&l.entity);
        let Some(model) = project.index.lookup(class, project.file) else { return };
        let keys: Vec<&str> = model.columns.iter().filter(|c| c.primary_key).map(|c| c.name.as_str()).collect();
        // Only a single-column primary key, and only when it is the attribute compared.
        if keys.as_slice() != [l.key.as_str()] || model.relationship(&l.key).is_some() {
            return;
        }
        let (entity, value, key) = (&l.entity, &l.value, &l.key);
        let message = format!(
            "`{entity}` is looked up by its primary key `{key}` with a query; `Session.get()` does it through the identity map, with no SQL when the object is already loaded"
        );
        let raises = matches!(l.method.as_str(), "one" | "scalar_one");
        let help = match &l.advice {
            Advice::Flask { or_404: true } => format!("use `db.get_or_404({entity}, {value})` (Flask-SQLAlchemy 3.0+)"),
            Advice::Flask { or_404: false } => format!("use `db.session.get({entity}, {value})`"),
            Advice::Session(session) if raises => format!(
                "use `{session}.get_one({entity}, {value})` (raises `NoResultFound` like `.{}()`), or `{session}.get({entity}, {value})`, which returns `None` instead of raising",
                l.method
            ),
            Advice::Session(session) => format!("use `{session}.get({entity}, {value})`"),
        };
        out.push(Diagnostic { rule: self.rule, range: l.range.clone(), message, help: Some(help), fix: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::test_support::parse;

    /// `(entity, key, value)` of the lookup ending at the outermost call of the last line.
    fn lookup(src: &str) -> Option<(String, String, String)> {
        let tree = parse(src);
        // The call of the last expression or `return` statement, in document order.
        let mut statements = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            if matches!(n.kind_str(), "expression_statement" | "return_statement") {
                statements.push(n);
            }
            let mut cursor = n.walk();
            stack.extend(n.named_children(&mut cursor));
        }
        let statement = statements.into_iter().max_by_key(|n| n.start_byte())?;
        let node = statement.named_child(0).filter(|n| n.kind_str() == "call")?;
        read_lookup(node, src).map(|l| (l.entity, l.key, l.value))
    }

    #[test]
    fn shapes() {
        let found = |e: &str, k: &str, v: &str| Some((e.to_string(), k.to_string(), v.to_string()));
        let head = "from m import User, models\n";
        assert_eq!(lookup(&format!("{head}s.query(User).filter(User.id == x).first()\n")), found("User", "id", "x"));
        assert_eq!(
            lookup(&format!("{head}s.query(models.User).filter_by(id=x).one()\n")),
            found("models.User", "id", "x")
        );
        assert_eq!(lookup(&format!("{head}s.scalar(select(User).where(1 == User.id))\n")), found("User", "id", "1"));
        assert_eq!(
            lookup(&format!("{head}s.execute(select(User).where(User.id == x)).scalars().one()\n")),
            found("User", "id", "x")
        );
        for silent in [
            "s.query(User).filter(User.id == x).filter(User.a == 1).first()\n",
            "s.query(User).filter(User.id == Other.id).first()\n",
            "s.query(User).filter(User.id == None).first()\n",
            "s.query(User).filter(User.id >= x).first()\n",
            "s.query(User).filter_by(id=x, a=1).first()\n",
            "s.query(User).order_by(User.id).filter_by(id=x).first()\n",
            "s.execute(select(User).where(User.id == x)).first()\n",
            "s.scalars(select(User.id).where(User.id == x)).first()\n",
            "s.scalars(select(User).where(User.id == x), params).first()\n",
            "s.scalar(select(User).where(User.id == select(Other.id).scalar_subquery()))\n",
            "df.filter(User.id == x).first()\n",
        ] {
            assert_eq!(lookup(&format!("{head}{silent}")), None, "{silent}");
        }
        // A class the index cannot mean: bound locally, or neither imported nor defined here.
        assert_eq!(lookup("def f(s, User):\n    return s.query(User).filter_by(id=1).first()\n"), None);
        assert_eq!(lookup("User = registry.User\ns.query(User).filter_by(id=1).first()\n"), None);
        assert_eq!(
            lookup("from m import User\ndef f(s):\n    return s.query(User).filter_by(id=1).first()\n"),
            found("User", "id", "1")
        );
    }
}
