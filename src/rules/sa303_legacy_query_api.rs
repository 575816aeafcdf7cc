//! SA303 legacy-query-api: `session.query(...)` and Flask-SQLAlchemy's `Model.query`,
//! the 1.x `Query` API, with the 2.0 `select()` statement spelled out for the common
//! shapes. An unsafe fix only for chains whose rewrite returns exactly the same
//! objects. Chains that SA304 (`.get()`) or SA305 (removed APIs) report are left to
//! them: their messages already give the 2.0 form, and one finding per call is enough.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix};
use crate::python::{self, unparen, Link};
use crate::query;
use crate::registry::RuleId;
use crate::sessions;

/// Links copied unchanged onto the `select()` (they exist on `Select` with the same meaning).
const SAME_ON_SELECT: &[&str] = &[
    "filter_by",
    "where",
    "order_by",
    "group_by",
    "having",
    "limit",
    "offset",
    "join",
    "outerjoin",
    "options",
    "select_from",
    "distinct",
    "with_for_update",
    "execution_options",
    "correlate",
];

/// Links whose rewrite is exact for a single-entity `scalars()` fix. Not `distinct` (the legacy
/// `Query` adds ORDER BY columns to the SELECT list), not `options` (a joined eager collection
/// needs `.unique()` on 2.0 results), not joins (`filter_by` then targets the joined entity).
const FIXABLE: &[&str] = &["filter", "filter_by", "where", "order_by", "limit", "offset"];

/// Packages whose `.query(...)` is not SQLAlchemy's.
const OTHER_QUERY_APIS: &[&str] = &["elasticsearch_dsl", "elasticsearch", "opensearchpy", "pandas", "graphene", "peewee"];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(attribute) = m.get("query") else { return };
    let called = attribute.up().filter(|p| {
        p.kind_str() == "call" && p.field("function").is_some_and(|f| f.id() == attribute.id())
    });
    let Some(object) = attribute.field("object").map(unparen) else { return };
    match called {
        Some(call) => session_form(checker, call, object),
        None => flask_form(checker, attribute, object),
    }
}

/// `session.query(User).filter(...).all()`.
fn session_form(checker: &mut Checker<'_>, call: Node<'_>, receiver: Node<'_>) {
    let src = checker.source();
    let args = python::arguments(call);
    let positional = python::positional_arguments(call);
    // `df.query("a > 1")`, `search.query("match", ...)`, `client.query(sql)`: not an ORM query.
    if positional.is_empty() || positional.len() != args.len() || !positional.iter().all(|a| is_entity_like(*a, src)) {
        return;
    }
    if !sessions::is_session_like(receiver, src) && !python::imports_sqlalchemy(call, src) {
        return;
    }
    if python::imports_package(call, OTHER_QUERY_APIS, src) {
        return;
    }
    let top = chain_top(call);
    let chain = python::chain(top, src);
    let Some(start) = chain.links.iter().position(|l| l.node.id() == call.id()) else { return };
    let Some(after) = chain.links.get(start + 1..) else { return };
    if left_to_other_rules(after) || counted_with_len(top, src) {
        return;
    }
    let entities: Vec<&str> = positional.iter().map(|a| src.get(a.byte_range()).unwrap_or("")).collect();
    let single = match positional.as_slice() {
        [only] => is_class(*only, src),
        _ => false,
    };
    let session = src.get(receiver.byte_range()).unwrap_or("session");
    let rewrite = Rewrite::new(&entities, single, after, src, "select");
    let range = receiver.start_byte()..call.end_byte();
    let what = format!("`{}`", python::one_line(src.get(range.clone()).unwrap_or(""), 60).replace(" .", "."));
    let message = format!(
        "{what} uses the legacy `Query` API: SQLAlchemy 2.0 keeps it only for compatibility, and new \
         features (and the async session) exist only for `select()` statements"
    );
    let help = rewrite.help(session);
    let fix = exact_fix(checker, &rewrite, session, top, single);
    let diagnostic = checker.report(range, message, help);
    if let Some(fix) = fix {
        diagnostic.set_fix(fix);
    }
}

/// Flask-SQLAlchemy's `User.query.filter_by(...).first()`, reported when `User` is a model.
fn flask_form(checker: &mut Checker<'_>, attribute: Node<'_>, object: Node<'_>) {
    let src = checker.source();
    if object.kind_str() != "identifier" {
        return;
    }
    let entity = src.get(object.byte_range()).unwrap_or("");
    if !query::is_class_name(entity) {
        return;
    }
    let top = chain_top(attribute);
    let chain = python::chain(top, src);
    let Some(start) = chain.links.iter().position(|l| l.node.id() == attribute.id()) else { return };
    let Some(after) = chain.links.get(start + 1..) else { return };
    // `User.query` alone (passed somewhere, or a property read) has no rewrite to show.
    if after.is_empty() || left_to_other_rules(after) {
        return;
    }
    let rewrite = Rewrite::new(&[entity], true, after, src, "db.select");
    let message = format!(
        "`{entity}.query` is Flask-SQLAlchemy's legacy `Query` interface: Flask-SQLAlchemy 3 and SQLAlchemy 2.0 \
         keep it only for compatibility; `db.session.execute(db.select(...))` is the supported form"
    );
    checker.defer(Box::new(FlaskQuery {
        rule: checker.rule,
        range: attribute.byte_range(),
        entity: entity.to_string(),
        message,
        help: rewrite.help("db.session"),
    }));
}

struct FlaskQuery {
    rule: RuleId,
    range: Range<usize>,
    entity: String,
    message: String,
    help: String,
}

impl Deferred for FlaskQuery {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        if project.index.lookup(&self.entity, project.file).is_none() {
            return;
        }
        out.push(Diagnostic {
            rule: self.rule,
            range: self.range.clone(),
            message: self.message.clone(),
            help: Some(self.help.clone()),
            fix: None,
        });
    }
}

/// The outermost expression of the method chain `node` starts: `a.b(...).c(...)` from `a.b(...)`.
fn chain_top(node: Node<'_>) -> Node<'_> {
    let mut top = node;
    for _ in 0..64 {
        let Some(parent) = top.up() else { break };
        let is_object = parent.kind_str() == "attribute" && parent.field("object").is_some_and(|o| o.id() == top.id());
        if !is_object {
            break;
        }
        top = parent;
        if let Some(call) = parent.up().filter(|c| {
            c.kind_str() == "call" && c.field("function").is_some_and(|f| f.id() == parent.id())
        }) {
            top = call;
        }
    }
    top
}

/// Chains SA304 (`Query.get()`) and SA305 (`from_self()`, string joins and loader options)
/// report: their advice is the 2.0 form already.
fn left_to_other_rules(after: &[Link<'_>]) -> bool {
    after.iter().any(|link| match link.name {
        "get" | "get_or_404" | "from_self" => true,
        "join" | "outerjoin" | "options" => link.call.is_some_and(|call| {
            python::arguments(call).into_iter().any(|a| {
                let a = unparen(a);
                (a.kind_str() == "string")
                    || (a.kind_str() == "call"
                        && python::positional_arguments(a).first().is_some_and(|s| unparen(*s).kind_str() == "string"))
            })
        }),
        _ => false,
    })
}

/// `len(session.query(User).all())`: SA102's finding, whose fix (a `count()` in the database)
/// replaces the whole expression.
fn counted_with_len(top: Node<'_>, src: &str) -> bool {
    top.up()
        .filter(|a| a.kind_str() == "argument_list")
        .and_then(|a| a.up())
        .is_some_and(|c| c.kind_str() == "call" && python::callee_name(c, src) == Some("len") && python::receiver(c).is_none())
}

/// `User`, `models.User`, `User.name`, `func.count(User.id)`, `aliased(User)`, `literal_column(...)`:
/// what `query()` takes. Not strings, numbers, dicts, lists.
fn is_entity_like(node: Node<'_>, src: &str) -> bool {
    let node = unparen(node);
    match node.kind_str() {
        "identifier" | "attribute" => python::dotted_name(node, src).is_some_and(|d| d.split('.').any(query::is_class_name)),
        "call" => python::callee_name(node, src).is_some_and(|name| {
            matches!(
                name,
                "count" | "sum" | "max" | "min" | "avg" | "distinct" | "label" | "aliased" | "literal_column" | "coalesce"
            ) || python::dotted_name(node.field("function").unwrap_or(node), src)
                .is_some_and(|d| d.starts_with("func.") || d.starts_with("sa.func.") || d.starts_with("sqlalchemy.func."))
        }),
        _ => false,
    }
}

/// A mapped class by name: `User`, `models.User` (capitalised last part).
fn is_class(node: Node<'_>, src: &str) -> bool {
    let node = unparen(node);
    matches!(node.kind_str(), "identifier" | "attribute")
        && python::dotted_name(node, src).is_some_and(|d| d.rsplit('.').next().is_some_and(query::is_class_name))
}

/// The 2.0 statement for a legacy chain, and how its terminal method runs it.
struct Rewrite {
    /// `select(User).where(User.active).order_by(User.id)`, when every link has a 2.0 spelling.
    statement: Option<String>,
    /// `select(User)` with the links we could not carry, for a partial hint.
    head: String,
    terminal: Option<String>,
    single: bool,
    /// Every link between `query()` and the terminal is in [`FIXABLE`].
    fixable_links: bool,
}

/// Terminal methods, and what runs the statement in 2.0 (`{s}` = session, `{q}` = statement).
fn terminal_form(name: &str, single: bool) -> Option<&'static str> {
    Some(match (name, single) {
        ("all", true) => "{s}.scalars({q}).all()",
        ("all", false) => "{s}.execute({q}).all()",
        ("first", true) => "{s}.scalars({q}.limit(1)).first()",
        ("first", false) => "{s}.execute({q}.limit(1)).first()",
        ("one", true) => "{s}.scalars({q}).one()",
        ("one", false) => "{s}.execute({q}).one()",
        ("one_or_none", true) => "{s}.scalars({q}).one_or_none()",
        ("one_or_none", false) => "{s}.execute({q}).one_or_none()",
        ("scalar", _) => "{s}.execute({q}).scalar_one_or_none()",
        ("count", _) => "{s}.scalar(select(func.count()).select_from({q}.subquery()))",
        ("exists", _) => "exists({q})",
        ("delete", _) => "{s}.execute(delete(...).where(...))  # the criteria move to `delete()`",
        ("update", _) => "{s}.execute(update(...).where(...).values(...))  # the criteria move to `update()`",
        ("first_or_404", true) => "db.first_or_404({q})",
        ("one_or_404", true) => "db.one_or_404({q})",
        ("paginate", true) => "db.paginate({q})",
        _ => return None,
    })
}

impl Rewrite {
    fn new(entities: &[&str], single: bool, after: &[Link<'_>], src: &str, select: &str) -> Rewrite {
        let head = format!("{select}({})", entities.join(", "));
        let mut statement = Some(head.clone());
        let mut fixable_links = true;
        let (links, terminal) = match after.split_last() {
            Some((last, rest)) if last.call.is_some() && terminal_form(last.name, single).is_some() => {
                (rest, Some(last.name.to_string()))
            }
            _ => (after, None),
        };
        for link in links {
            let Some(call) = link.call else {
                statement = None;
                break;
            };
            let args = src.get(call.field("arguments").map_or(0..0, |a| a.byte_range())).unwrap_or("()");
            let name = match link.name {
                "filter" => "where",
                name if SAME_ON_SELECT.contains(&name) => name,
                _ => {
                    statement = None;
                    break;
                }
            };
            fixable_links &= FIXABLE.contains(&link.name);
            if let Some(s) = statement.as_mut() {
                s.push_str(&format!(".{name}{args}"));
            }
        }
        Rewrite { statement, head, terminal, single, fixable_links }
    }

    fn help(&self, session: &str) -> String {
        let Some(statement) = &self.statement else {
            return format!(
                "build the query as a statement, `stmt = {}...`, and run it with `{session}.scalars(stmt)` \
                 (whole objects) or `{session}.execute(stmt)` (rows)",
                self.head
            );
        };
        let statement = python::one_line(statement, 120);
        match self.terminal.as_deref().and_then(|t| terminal_form(t, self.single)) {
            Some(form) => {
                let mut form = form.replace("{s}", session).replace("{q}", &statement);
                // A joined eager collection makes 2.0 results ask for `.unique()`.
                if self.single && statement.contains("joinedload(") {
                    form = form.replacen(&format!("{session}.scalars({statement})"), &format!("{session}.scalars({statement}).unique()"), 1);
                }
                format!("use `{form}`")
            }
            None => {
                let run = if self.single { "scalars" } else { "execute" };
                format!("use `{session}.{run}({statement})`")
            }
        }
    }
}

/// The unsafe fix: a one-entity chain of [`FIXABLE`] links ending in `all()` / `first()` /
/// `one()` / `one_or_none()`, when `select` can be imported from SQLAlchemy unambiguously.
fn exact_fix(checker: &Checker<'_>, rewrite: &Rewrite, session: &str, top: Node<'_>, single: bool) -> Option<Fix> {
    let src = checker.source();
    let terminal = rewrite.terminal.as_deref()?;
    if !single || !rewrite.fixable_links || !matches!(terminal, "all" | "first" | "one" | "one_or_none") {
        return None;
    }
    let statement = rewrite.statement.as_ref()?;
    let form = terminal_form(terminal, true)?;
    let replacement = form.replace("{s}", session).replace("{q}", statement);
    let module = python::ancestors(top).last().filter(|n| n.kind_str() == "module")?;
    // A comment between the links would be lost with them.
    if has_comment(top) {
        return None;
    }
    // 2.0 results refuse `.all()` / `.one()` without `.unique()` when a collection is loaded with
    // `lazy="joined"`; the legacy `Query` uniqued silently. Checked for a model of this module.
    let entity = rewrite.head.split(['(', ')']).nth(1).unwrap_or_default();
    if terminal != "first" && joined_collection_in(module, entity.rsplit('.').next().unwrap_or(entity), src) {
        return None;
    }
    let mut edits = vec![Edit::replace(top.byte_range(), replacement.clone())];
    match select_binding(top, src) {
        Binding::Sql => {}
        Binding::Free => edits.extend(crate::fix::ensure_import(module, src, "sqlalchemy", "select")),
        Binding::Other => return None,
    }
    Some(Fix {
        applicability: Applicability::Unsafe,
        title: format!("Replace with `{}`", python::one_line(&replacement, 80)),
        edits,
    })
}

enum Binding {
    /// Imported from SQLAlchemy, SQLModel or Flask-SQLAlchemy already.
    Sql,
    /// Unbound: the fix imports SQLAlchemy's.
    Free,
    /// Imported from elsewhere, or defined in the module: no fix.
    Other,
}

/// What the name `select` means at `at`.
fn select_binding(at: Node<'_>, src: &str) -> Binding {
    let imports = python::visible_imports_named(at, src, "select");
    let mut bound = imports.iter().peekable();
    if bound.peek().is_some() {
        return if bound.all(|i| python::is_sql_module(i.module)) { Binding::Sql } else { Binding::Other };
    }
    let defined = src.lines().any(|line| {
        let line = line.trim_start();
        ["def select(", "select =", "select=", "class select", "import select", "for select "]
            .iter()
            .any(|p| line.starts_with(p))
    });
    if defined {
        Binding::Other
    } else {
        Binding::Free
    }
}

/// Does the class `name`, defined at the top of this module, declare a relationship with
/// `lazy="joined"` (or the legacy `lazy=False`)?
fn joined_collection_in(module: Node<'_>, name: &str, src: &str) -> bool {
    python::named_children(module).into_iter().any(|statement| {
        let class = if statement.kind_str() == "decorated_definition" {
            statement.field("definition").unwrap_or(statement)
        } else {
            statement
        };
        class.kind_str() == "class_definition"
            && class.field("name").and_then(|n| src.get(n.byte_range())) == Some(name)
            && src.get(class.byte_range()).is_some_and(|body| {
                ["lazy=\"joined\"", "lazy='joined'", "lazy=False"].iter().any(|l| body.contains(l))
            })
    })
}

/// Does a comment sit anywhere inside `node`?
fn has_comment(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind_str() == "comment" {
            return true;
        }
        stack.extend(n.children(&mut cursor));
    }
    false
}
