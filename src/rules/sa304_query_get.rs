//! SA304 query-get: the legacy `Query.get()` (and Flask-SQLAlchemy's
//! `Query.get_or_404()`) where `Session.get()` / `db.get_or_404()` do the same
//! primary-key lookup. Safe fix when the rewrite is exact.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python::{self, Link};
use crate::query;

/// Deepest `.get()` call analysed (levels below the module).
const MAX_DEPTH: usize = 256;

/// Query methods that add criteria: `Query.get()` raises `InvalidRequestError` after them.
const CRITERIA: &[&str] = &[
    "filter",
    "filter_by",
    "where",
    "join",
    "outerjoin",
    "select_from",
    "from_statement",
    "limit",
    "offset",
    "slice",
    "group_by",
    "having",
    "with_parent",
    "union",
    "union_all",
    "intersect",
    "intersect_all",
    "except_",
    "except_all",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(span) = m.get("span") else { return };
    let src = checker.source();
    let Some(get) = get_call(span, src) else { return };
    // Each `parent()` walks down from the root: calls nested deeper than this (generated
    // code) would make the ancestor walks below quadratic.
    if python::ancestors(span).take(MAX_DEPTH).last().is_none_or(|n| n.kind_str() != "module") {
        return;
    }
    let chain = python::chain(span, src);
    let Some(before_get) = chain.links.len().checked_sub(1).and_then(|n| chain.links.get(..n)) else { return };
    match before_get.iter().rposition(|l| l.name == "query") {
        Some(index) => {
            let Some(query_link) = before_get.get(index) else { return };
            let Some(between) = before_get.get(index + 1..) else { return };
            match query_link.call {
                Some(query_call) => session_form(checker, span, &get, query_call, between),
                None => flask_form(checker, span, &get, query_link, between),
            }
        }
        // `q.get(pk)` / `q.options(x).get(pk)` with `q = session.query(M)` earlier.
        None if chain.root.kind_str() == "identifier" => variable_form(checker, span, &get, chain.root, before_get),
        None => {}
    }
}

/// The arguments of `.get(pk)` / `.get_or_404(pk[, description])`.
struct GetCall<'t> {
    or_404: bool,
    pk: Node<'t>,
    description: Option<Node<'t>>,
}

fn get_call<'t>(call: Node<'t>, src: &str) -> Option<GetCall<'t>> {
    let or_404 = match python::callee_name(call, src)? {
        "get" => false,
        "get_or_404" => true,
        _ => return None,
    };
    let args = python::arguments(call);
    let positional = python::positional_arguments(call);
    let get = match positional.as_slice() {
        // `Query.get(ident)` takes exactly one argument; `d.get(key, default)` is something else.
        [pk] if args.len() == 1 => GetCall { or_404, pk: *pk, description: None },
        [pk] if or_404 && args.len() == 2 => {
            let description = python::keyword_argument(call, "description", src)?;
            GetCall { or_404, pk: *pk, description: Some(description) }
        }
        [pk, description] if or_404 && args.len() == 2 => GetCall { or_404, pk: *pk, description: Some(*description) },
        _ => return None,
    };
    // `get(x for x in y)` is no primary key, and could not be moved into another call.
    (get.pk.kind_str() != "generator_expression").then_some(get)
}

/// What the links between `query(...)`/`.query` and `.get()` add.
#[derive(Default)]
struct Modifiers<'t> {
    options: Vec<&'t str>,
    populate_existing: bool,
    with_for_update: Option<String>,
    /// Links that add criteria: `Query.get()` raises after them.
    criteria: Vec<&'t str>,
    /// Any other link: no exact `Session.get()` equivalent known.
    other: Vec<&'t str>,
}

impl Modifiers<'_> {
    fn exact(&self) -> bool {
        self.criteria.is_empty() && self.other.is_empty()
    }
    fn is_empty(&self) -> bool {
        self.exact() && self.options.is_empty() && !self.populate_existing && self.with_for_update.is_none()
    }
    /// `, options=[...], populate_existing=True, with_for_update=...` for `Session.get()`.
    fn keywords(&self) -> String {
        let mut out = String::new();
        if !self.options.is_empty() {
            out.push_str(&format!(", options=[{}]", self.options.join(", ")));
        }
        if self.populate_existing {
            out.push_str(", populate_existing=True");
        }
        if let Some(lock) = &self.with_for_update {
            out.push_str(&format!(", with_for_update={lock}"));
        }
        out
    }
}

fn modifiers<'t>(links: &[Link<'t>], src: &'t str) -> Modifiers<'t> {
    let text = |n: Node<'_>| src.get(n.byte_range()).unwrap_or("");
    let mut mods = Modifiers::default();
    for link in links {
        let Some(call) = link.call else {
            mods.other.push(link.name);
            continue;
        };
        let args = python::arguments(call);
        let keywords_only = args.iter().all(|a| a.kind_str() == "keyword_argument");
        match link.name {
            // `.options(a, *more)` → `options=[a, *more]`.
            "options" if args.iter().all(|a| !matches!(a.kind_str(), "keyword_argument" | "dictionary_splat")) => {
                mods.options.extend(args.iter().map(|a| text(*a)));
            }
            "populate_existing" if args.is_empty() => mods.populate_existing = true,
            // `.with_for_update(nowait=True)` → `with_for_update={"nowait": True}` (same `ForUpdateArg`).
            "with_for_update" if mods.with_for_update.is_none() && keywords_only => {
                let entries: Vec<String> = args
                    .iter()
                    .filter_map(|a| {
                        let name = text(a.field("name")?);
                        let value = text(a.field("value")?);
                        Some(format!("\"{name}\": {value}"))
                    })
                    .collect();
                if entries.len() != args.len() {
                    mods.other.push(link.name);
                    continue;
                }
                mods.with_for_update =
                    Some(if entries.is_empty() { "True".to_string() } else { format!("{{{}}}", entries.join(", ")) });
            }
            // `Query.get()` accepts and ignores ordering and DISTINCT: dropping them is exact.
            "order_by" | "distinct" => {}
            name if CRITERIA.contains(&name) => mods.criteria.push(name),
            name => mods.other.push(name),
        }
    }
    mods
}

/// `session.query(M)...get(pk)`.
fn session_form(
    checker: &mut Checker<'_>,
    span: Node<'_>,
    get: &GetCall<'_>,
    query_call: Node<'_>,
    between: &[Link<'_>],
) {
    let src = checker.source();
    let Some(receiver) = python::receiver(query_call) else { return };
    // Exactly one entity, nothing else: `query(User, Address)` or `query(User.id)` is no `get()` target.
    let args = python::arguments(query_call);
    let [entity] = args.as_slice() else { return };
    let entity = *entity;
    // `session.get()` needs the mapped class itself: `User`, `models.User`, `self.model`;
    // `query(User.id)` selects a column (and `get()` raises on it).
    if is_column_like(entity, src) {
        return;
    }
    let fixable_entity = python::dotted_name(entity, src).is_some();
    if !fixable_entity && !matches!(python::unparen(entity).kind_str(), "call" | "subscript") {
        return; // `df.query("a > 1").get("col")`: a string, number, ... is no ORM entity.
    }
    // `Session.get()` wants a mapped class, not an alias (`Query.get()` on one raises on 2.x too).
    if python::unparen(entity).kind_str() == "call"
        && matches!(python::callee_name(python::unparen(entity), src), Some("aliased" | "with_polymorphic"))
    {
        return;
    }
    let session_like = crate::sessions::is_session_like(receiver, src);
    if !session_like && !is_class_like(entity, src) {
        return;
    }
    let mods = modifiers(between, src);
    let receiver_text = checker.text(receiver);
    let entity_text = checker.text(entity);
    let pk = checker.text(get.pk);
    let mut target = Target::Session(receiver_text);
    if get.or_404 {
        // Flask-SQLAlchemy's session hands out its own Query class with `get_or_404()`.
        target = Target::Db404 { known_db: receiver_text == "db.session" };
    }
    let replacement = target.replacement(entity_text, pk, &mods, get.description.map(|d| checker.text(d)));
    let fix = (fixable_entity && session_like && mods.exact() && fixable_span(span))
        .then(|| target.applicability(&mods))
        .flatten();
    report(checker, span, get, &mods, &replacement, fix, target.note());
}

/// Flask-SQLAlchemy `M.query...get(pk)`.
fn flask_form(
    checker: &mut Checker<'_>,
    span: Node<'_>,
    get: &GetCall<'_>,
    query_link: &Link<'_>,
    between: &[Link<'_>],
) {
    let src = checker.source();
    let Some(model) = query_link.node.field("object") else { return };
    let model = python::unparen(model);
    // `User.query`, `models.User.query`, `cls.query` in a classmethod; not `request.query.get("x")`.
    let is_cls = checker.text(model) == "cls" && first_parameter_is_cls(model, src);
    if !(is_cls || (python::dotted_name(model, src).is_some() && is_class_like(model, src))) {
        return;
    }
    let mods = modifiers(between, src);
    let known_db = flask_db_in_scope(span, src);
    let target = if get.or_404 { Target::Db404 { known_db } } else { Target::DbSession { known_db } };
    let replacement =
        target.replacement(checker.text(model), checker.text(get.pk), &mods, get.description.map(|d| checker.text(d)));
    let fix = (known_db && mods.exact() && fixable_span(span)).then(|| target.applicability(&mods)).flatten();
    report(checker, span, get, &mods, &replacement, fix, target.note());
}

/// `q.get(pk)` where `q` holds `session.query(M)...` (or `M.query...`) assigned earlier in the function.
fn variable_form(checker: &mut Checker<'_>, span: Node<'_>, get: &GetCall<'_>, root: Node<'_>, links: &[Link<'_>]) {
    let src = checker.source();
    let name = checker.text(root);
    // Cheap filters first: `d.get(k)` is everywhere; only functions that build a query can hold one.
    let Some(function) = python::enclosing_function(span) else { return };
    let body = checker.text(function);
    if !body.contains(".query") || !body.contains(&format!("{name} =")) {
        return;
    }
    let Some(value) = query::assigned_value(root, src) else { return };
    let value_chain = python::chain(value, src);
    let Some(index) = value_chain.links.iter().rposition(|l| l.name == "query") else { return };
    let (Some(query_link), Some(after)) = (value_chain.links.get(index), value_chain.links.get(index + 1..)) else {
        return;
    };
    let (entity, target) = match query_link.call {
        Some(call) => {
            let Some(receiver) = python::receiver(call) else { return };
            let args = python::arguments(call);
            let [entity] = args.as_slice() else { return };
            if python::dotted_name(*entity, src).is_none()
                || is_column_like(*entity, src)
                || !(crate::sessions::is_session_like(receiver, src) || is_class_like(*entity, src))
            {
                return;
            }
            let target =
                if get.or_404 { Target::Db404 { known_db: false } } else { Target::Session(checker.text(receiver)) };
            (*entity, target)
        }
        None => {
            let Some(model) = query_link.node.field("object") else { return };
            if index != 0 || python::dotted_name(model, src).is_none() || !is_class_like(model, src) {
                return;
            }
            let known_db = flask_db_in_scope(span, src);
            (model, if get.or_404 { Target::Db404 { known_db } } else { Target::DbSession { known_db } })
        }
    };
    let mut all_links: Vec<Link<'_>> = after.to_vec();
    all_links.extend_from_slice(links);
    let mods = modifiers(&all_links, src);
    let replacement =
        target.replacement(checker.text(entity), checker.text(get.pk), &mods, get.description.map(|d| checker.text(d)));
    let line = checker.line_of(value);
    let note = format!("{} (`{name}` holds the query built on line {line})", target.note().unwrap_or_default());
    report(checker, span, get, &mods, &replacement, None, Some(note));
}

/// Where the lookup goes.
enum Target<'a> {
    /// `<session>.get(M, pk)`, the session text reused verbatim.
    Session(&'a str),
    /// Flask-SQLAlchemy: `db.session.get(M, pk)`.
    DbSession { known_db: bool },
    /// Flask-SQLAlchemy 3.0+: `db.get_or_404(M, pk)`.
    Db404 { known_db: bool },
}

impl Target<'_> {
    fn replacement(&self, entity: &str, pk: &str, mods: &Modifiers<'_>, description: Option<&str>) -> String {
        match self {
            Target::Session(session) => format!("{session}.get({entity}, {pk}{})", mods.keywords()),
            Target::DbSession { .. } => format!("db.session.get({entity}, {pk}{})", mods.keywords()),
            Target::Db404 { .. } => {
                let description = description.map(|d| format!(", description={d}")).unwrap_or_default();
                format!("db.get_or_404({entity}, {pk}{description})")
            }
        }
    }

    /// The applicability of an exact rewrite to this target, if one can be offered.
    fn applicability(&self, mods: &Modifiers<'_>) -> Option<Applicability> {
        match self {
            Target::Session(_) | Target::DbSession { known_db: true } => Some(Applicability::Safe),
            // `db.get_or_404()` takes no loader options, and only exists on Flask-SQLAlchemy 3.0+.
            Target::Db404 { known_db: true } if mods.is_empty() => Some(Applicability::Unsafe),
            _ => None,
        }
    }

    fn note(&self) -> Option<String> {
        match self {
            Target::Session(_) => None,
            Target::DbSession { known_db: false } => {
                Some(", where `db` is your Flask-SQLAlchemy extension".to_string())
            }
            Target::DbSession { known_db: true } => None,
            Target::Db404 { .. } => Some(" (Flask-SQLAlchemy 3.0+)".to_string()),
        }
    }
}

fn report(
    checker: &mut Checker<'_>,
    span: Node<'_>,
    get: &GetCall<'_>,
    mods: &Modifiers<'_>,
    replacement: &str,
    fix: Option<Applicability>,
    note: Option<String>,
) {
    let note = note.unwrap_or_default();
    let method = if get.or_404 { "get_or_404" } else { "get" };
    let (message, help) = if let Some(first) = mods.criteria.first() {
        (
            format!(
                "`Query.{method}()` on a query with `.{first}()` raises `InvalidRequestError`: \
                 `get()` looks up a primary key and refuses criteria (and is legacy since SQLAlchemy 1.4)"
            ),
            format!(
                "for a primary-key lookup use `{replacement}`{note}; to keep the criteria, filter on the primary key \
                 and call `.one_or_none()` instead"
            ),
        )
    } else {
        let what =
            if get.or_404 { "`Query.get_or_404()` calls the legacy `Query.get()`" } else { "`Query.get()` is legacy" };
        let modern = if get.or_404 { "`db.get_or_404()`" } else { "`Session.get()`" };
        let message = format!(
            "{what} (deprecated since SQLAlchemy 1.4, `LegacyAPIWarning` on 2.x); {modern} does the same lookup"
        );
        let help = if mods.other.is_empty() {
            format!("replace with `{replacement}`{note}")
        } else {
            let links: Vec<String> = mods.other.iter().map(|l| format!("`.{l}()`")).collect();
            format!(
                "use `{replacement}`{note}, passing what {} does as a keyword argument of `Session.get()` \
                 (`options=`, `execution_options=`, ...)",
                links.join(", ")
            )
        };
        (message, help)
    };
    let diagnostic = checker.report(span.byte_range(), message, help);
    if let Some(applicability) = fix {
        diagnostic.set_fix(Fix {
            applicability,
            title: format!("Replace with `{replacement}`"),
            edits: vec![Edit::replace(span.byte_range(), replacement)],
        });
    }
}

/// `User`, `models.User`, `User.__class__`-free dotted names whose last part is capitalised.
fn is_class_like(node: Node<'_>, src: &str) -> bool {
    let node = python::unparen(node);
    let last = match node.kind_str() {
        "identifier" => src.get(node.byte_range()),
        "attribute" => node.field("attribute").and_then(|a| src.get(a.byte_range())),
        _ => None,
    };
    last.is_some_and(query::is_class_name)
}

/// `User.id`, `models.User.name`: a lowercase attribute read on a capitalised name is a column.
fn is_column_like(node: Node<'_>, src: &str) -> bool {
    let node = python::unparen(node);
    if node.kind_str() != "attribute" {
        return false;
    }
    let Some(name) = python::dotted_name(node, src) else { return false };
    let mut parts = name.rsplit('.');
    let last = parts.next().unwrap_or_default();
    !query::is_class_name(last) && !last.starts_with("__") && parts.any(query::is_class_name)
}

/// `cls.query.get(pk)` inside `def m(cls, ...)`.
fn first_parameter_is_cls(node: Node<'_>, src: &str) -> bool {
    let Some(function) = python::enclosing_function(node) else { return false };
    let Some(parameters) = function.field("parameters") else { return false };
    let mut cursor = parameters.walk();
    let first = parameters.named_children(&mut cursor).find(|p| p.kind_str() != "comment");
    first.is_some_and(|p| p.kind_str() == "identifier" && src.get(p.byte_range()) == Some("cls"))
}

/// Is `db` the Flask-SQLAlchemy extension here? The module imports it (`from app import db`,
/// `from .ext import sqla as db`) or defines it as `db = SQLAlchemy(...)`, and no
/// enclosing function rebinds the name.
fn flask_db_in_scope(node: Node<'_>, src: &str) -> bool {
    let imported =
        python::visible_imports(node, src).iter().any(|i| i.local == "db" && i.name.is_some_and(|n| n != "*"));
    let defined = || {
        let Some(module) = python::ancestors(node).find(|n| n.kind_str() == "module") else { return false };
        let mut cursor = module.walk();
        let found = module.named_children(&mut cursor).any(|statement| {
            let Some(assignment) = statement.named_child(0).filter(|a| a.kind_str() == "assignment") else { return false };
            let (Some(left), Some(right)) =
                (assignment.field("left"), assignment.field("right"))
            else {
                return false;
            };
            src.get(left.byte_range()) == Some("db")
                && right.kind_str() == "call"
                && python::callee_name(right, src) == Some("SQLAlchemy")
        });
        found
    };
    (imported || defined())
        && !python::ancestors(node).any(|f| f.kind_str() == "function_definition" && binds(f, "db", src))
}

/// Does function `function` bind `name` itself (parameter, assignment, loop or `with` target)?
/// Nested functions and classes are not entered.
fn binds(function: Node<'_>, name: &str, src: &str) -> bool {
    let is_name = |n: Node<'_>| n.kind_str() == "identifier" && src.get(n.byte_range()) == Some(name);
    if let Some(parameters) = function.field("parameters") {
        let mut cursor = parameters.walk();
        for parameter in parameters.named_children(&mut cursor) {
            let bound = match parameter.kind_str() {
                "identifier" => Some(parameter),
                "default_parameter" | "typed_default_parameter" => parameter.field("name"),
                "typed_parameter" => parameter.named_child(0),
                _ => None,
            };
            if bound.is_some_and(is_name) {
                return true;
            }
        }
    }
    let Some(body) = function.field("body") else { return false };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        let target = match node.kind_str() {
            "function_definition" | "class_definition" | "lambda" => continue,
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                node.field("left")
            }
            "as_pattern" => {
                node.field("alias").and_then(|a| a.named_child(0)).or(node.field("alias"))
            }
            "named_expression" => node.field("name"),
            _ => None,
        };
        if let Some(target) = target {
            if is_name(target) {
                return true;
            }
            // `a, db = ...`
            let mut cursor = target.walk();
            if target.named_children(&mut cursor).any(is_name) {
                return true;
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// A fix replaces the whole call: not when that would drop a comment or touch broken syntax.
fn fixable_span(span: Node<'_>) -> bool {
    if span.has_error() {
        return false;
    }
    let mut stack = vec![span];
    while let Some(node) = stack.pop() {
        if node.kind_str() == "comment" {
            return false;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    true
}
