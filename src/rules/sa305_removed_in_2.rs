//! SA305 removed-in-2: calls that worked on SQLAlchemy 1.x and raise on 2.0+,
//! each reported with its replacement. Callees must be SQLAlchemy's (imported
//! from it, or through `sa.` / `orm.` / `db.`), receivers recognisably an
//! engine, session, SQLAlchemy connection or query, so that same-named APIs of
//! other libraries (`sqlite3` connections, `select.select`, Twisted's `defer`)
//! stay silent.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python::{self, DbHandle};
use crate::query;

/// Loader options that took attribute names as strings on 1.x.
const LOADER_OPTIONS: &[&str] = &[
    "joinedload",
    "selectinload",
    "subqueryload",
    "lazyload",
    "noload",
    "raiseload",
    "immediateload",
    "defaultload",
    "contains_eager",
    "defer",
    "undefer",
    "load_only",
];

/// Database clients whose `session.execute("...")` / `conn.execute("...")` take SQL strings.
const OTHER_DB_CLIENTS: &[&str] = &[
    "sqlite3",
    "psycopg2",
    "psycopg",
    "pymysql",
    "MySQLdb",
    "mysql",
    "cx_Oracle",
    "oracledb",
    "pyodbc",
    "duckdb",
    "aiosqlite",
    "asyncpg",
    "aiomysql",
    "aiopg",
    "apsw",
    "pg8000",
    "pymssql",
    "cassandra",
    "clickhouse_driver",
    "clickhouse_connect",
    "snowflake",
    "trino",
    "pyhive",
    "impala",
    "databricks",
    "jaydebeapi",
    "turbodbc",
    "teradatasql",
    "ibm_db",
    "google",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(span) = m.get("span") else { return };
    let src = checker.source();
    let Some(name) = python::callee_name(span, src) else { return };
    let receiver = python::receiver(span).map(python::unparen);
    match (name, receiver) {
        ("execute", Some(receiver)) => execute(checker, span, receiver),
        ("table_names" | "has_table", Some(receiver)) => inspection(checker, span, receiver, name),
        ("from_self", Some(receiver)) => from_self(checker, span, receiver),
        ("join" | "outerjoin", Some(receiver)) => string_join(checker, span, receiver, name),
        (name, Some(receiver)) if LOADER_OPTIONS.contains(&name) && receiver.kind_str() == "call" => {
            // `joinedload(User.posts).joinedload("comments")`, `Load(User).joinedload("posts")`.
            let chain = python::chain(receiver, src);
            let root_is_option = chain.links.first().is_some_and(|first| {
                (first.name == "Load" || LOADER_OPTIONS.contains(&first.name))
                    && first.call.is_some_and(|c| python::calls_sqlalchemy(c, src))
            });
            if root_is_option {
                // `Load(User).defer("bio")`: the attribute is on `User` itself.
                let load_entity = match chain.links.as_slice() {
                    [load] if load.name == "Load" => load
                        .call
                        .and_then(|c| python::positional_arguments(c).first().copied())
                        .and_then(|e| python::dotted_name(e, src)),
                    _ => None,
                };
                string_loader_option(checker, span, name, load_entity);
            }
        }
        _ if !python::calls_sqlalchemy(span, src) => {}
        ("select" | "case", _) => list_form(checker, span, name),
        ("sessionmaker" | "Session", _) => autocommit(checker, span, name),
        ("MetaData" | "declarative_base", _) => bound_metadata(checker, span, name),
        ("Table", _) => autoload(checker, span),
        ("relation", _) => relation(checker, span),
        (name, _) if LOADER_OPTIONS.contains(&name) => {
            let entity = options_entity(span, src).unwrap_or("Model").to_string();
            string_loader_option(checker, span, name, Some(entity));
        }
        _ => {}
    }
}

/// The value of a plain string literal (no interpolation, no concatenation).
fn literal_value<'s>(node: Node<'_>, src: &'s str) -> Option<&'s str> {
    let node = python::unparen(node);
    if node.kind_str() != "string" || !python::is_literal_string(node) {
        return None;
    }
    let mut cursor = node.walk();
    let contents: Vec<Node<'_>> = node.named_children(&mut cursor).filter(|c| c.kind_str() == "string_content").collect();
    match contents.as_slice() {
        [] => Some(""),
        [one] => src.get(one.byte_range()),
        _ => None,
    }
}

/// SQL written as a Python string: a literal, an f-string, `"..." % x`, `"..." + x`,
/// `"...".format(x)`, or a local variable assigned one of these.
fn is_string_sql(node: Node<'_>, src: &str, follow: bool) -> bool {
    let node = python::unparen(node);
    match node.kind_str() {
        "string" | "concatenated_string" => true,
        "binary_operator" => node.field("left").is_some_and(|l| is_string_sql(l, src, false)),
        "call" => {
            python::callee_name(node, src) == Some("format")
                && python::receiver(node).is_some_and(|r| matches!(python::unparen(r).kind_str(), "string" | "concatenated_string"))
        }
        "identifier" if follow => query::assigned_value(node, src).is_some_and(|v| is_string_sql(v, src, false)),
        _ => false,
    }
}

/// `engine`, `db.engine`, `self._engine`, `sql_engine`, `create_engine(...)`, `db.get_engine()`.
fn is_engine(node: Node<'_>, src: &str) -> bool {
    let node = python::unparen(node);
    let last = match node.kind_str() {
        "identifier" | "attribute" => python::dotted_name(node, src).and_then(|d| d.rsplit('.').next().map(String::from)),
        "call" => python::callee_name(node, src).map(String::from),
        _ => None,
    };
    let Some(last) = last else { return false };
    let lower = last.trim_start_matches('_').to_ascii_lowercase();
    if node.kind_str() == "call" {
        return matches!(lower.as_str(), "create_engine" | "get_engine" | "engine_from_config");
    }
    lower == "engine" || lower.ends_with("_engine")
}

/// Does the module import a database client other than SQLAlchemy?
fn imports_other_db_client(node: Node<'_>, src: &str) -> bool {
    python::visible_imports(node, src).iter().any(|i| {
        let root = i.module.split('.').next().unwrap_or_default();
        OTHER_DB_CLIENTS.contains(&root)
    })
}

/// Is `receiver` a SQLAlchemy `Connection`: `engine.connect()` / `op.get_bind()` itself, a
/// variable bound from one of those (assignment or `with ... as conn`), or a parameter annotated
/// `Connection`?
fn is_sqlalchemy_connection(receiver: Node<'_>, src: &str) -> bool {
    let from_factory = |call: Node<'_>| {
        let Some(name) = python::callee_name(call, src) else { return false };
        match name {
            "get_bind" => true,
            "connect" | "begin" | "connection" => python::receiver(call).is_some_and(|r| {
                let root = python::chain(r, src).root;
                let root_name = src.get(root.byte_range()).unwrap_or_default();
                !OTHER_DB_CLIENTS.contains(&root_name)
                    && (is_engine(r, src) || python::db_handle(r, src) == Some(DbHandle::Session))
            }),
            _ => false,
        }
    };
    match receiver.kind_str() {
        "call" => from_factory(receiver),
        "identifier" => {
            if let Some(annotation) = python::parameter_annotation(receiver, src) {
                let text = src.get(annotation.byte_range()).unwrap_or_default();
                return text.split(|c: char| !c.is_alphanumeric() && c != '_').any(|t| t == "Connection");
            }
            let value = python::bound_value(receiver, src).map(python::unparen);
            let value = value.map(|v| if v.kind_str() == "await" { v.named_child(0).map(python::unparen).unwrap_or(v) } else { v });
            value.is_some_and(|v| v.kind_str() == "call" && from_factory(v))
        }
        _ => false,
    }
}

fn execute(checker: &mut Checker<'_>, span: Node<'_>, receiver: Node<'_>) {
    let src = checker.source();
    let receiver_text = checker.text(receiver);
    if is_engine(receiver, src) && (receiver_text == "db.engine" || python::imports_sqlalchemy(span, src)) {
        let message = format!(
            "`{receiver_text}.execute()` was removed in SQLAlchemy 2.0 (`AttributeError`): engines no longer \
             run statements themselves (\"connectionless execution\")"
        );
        let help = format!(
            "run it on a connection: `with {receiver_text}.begin() as conn: conn.execute(...)` (or \
             `{receiver_text}.connect()` and an explicit `conn.commit()`), with string SQL wrapped in `text()`"
        );
        checker.report(span.byte_range(), message, help);
        return;
    }
    let args = python::arguments(span);
    let Some(first) = args.first().copied().filter(|a| a.kind_str() != "keyword_argument") else { return };
    if !is_string_sql(first, src, true) || imports_other_db_client(span, src) {
        return;
    }
    let is_session = python::db_handle(receiver, src) == Some(DbHandle::Session)
        && (receiver_text == "db.session" || python::imports_sqlalchemy(span, src));
    if is_session {
        let message = format!(
            "`{receiver_text}.execute()` of a plain SQL string raises `ArgumentError` on SQLAlchemy 2.0: textual SQL \
             must be declared with `text()`"
        );
        let help = format!(
            "wrap the SQL in `text()`: `{receiver_text}.execute(text(...))` (`from sqlalchemy import text`), passing \
             values as bound parameters (`:name` placeholders and a dict)"
        );
        checker.report(span.byte_range(), message, help);
        return;
    }
    if !(is_sqlalchemy_connection(receiver, src) && python::imports_sqlalchemy(span, src)) {
        return;
    }
    let message = format!(
        "`{receiver_text}.execute()` of a plain SQL string raises `ObjectNotExecutableError` on SQLAlchemy 2.0: a \
         `Connection` executes only `text()` and other statement objects"
    );
    let help = format!(
        "use `{receiver_text}.execute(text(...))` (`from sqlalchemy import text`, `:name` placeholders), or \
         `{receiver_text}.exec_driver_sql(...)` to pass the string to the driver unchanged"
    );
    // No parameters: `exec_driver_sql(sql)` is exactly what 1.x did with a string.
    let exact = args.len() == 1 && python::is_literal_string(first);
    let method = span.field("function").and_then(|f| f.field("attribute"));
    let diagnostic = checker.report(span.byte_range(), message, help);
    if let (true, Some(method)) = (exact, method) {
        diagnostic.set_fix(Fix {
            applicability: Applicability::Safe,
            title: format!("Replace with `{receiver_text}.exec_driver_sql(...)`"),
            edits: vec![Edit::replace(method.byte_range(), "exec_driver_sql")],
        });
    }
}

fn inspection(checker: &mut Checker<'_>, span: Node<'_>, receiver: Node<'_>, name: &str) {
    let src = checker.source();
    let receiver_text = checker.text(receiver);
    if !is_engine(receiver, src) || !(receiver_text == "db.engine" || python::imports_sqlalchemy(span, src)) {
        return;
    }
    let args = span.field("arguments").map(|a| checker.text(a)).unwrap_or("()");
    let replacement = match name {
        "table_names" => format!("inspect({receiver_text}).get_table_names()"),
        _ => format!("inspect({receiver_text}).has_table{args}"),
    };
    let message =
        format!("`Engine.{name}()` was removed in SQLAlchemy 2.0 (`AttributeError`); schema questions go through the inspector");
    checker.report(span.byte_range(), message, format!("use `{replacement}` (`from sqlalchemy import inspect`)"));
}

fn from_self(checker: &mut Checker<'_>, span: Node<'_>, receiver: Node<'_>) {
    let src = checker.source();
    let Some(found) = query::resolve_query(receiver, src) else { return };
    let entity = found.entity(src).unwrap_or("Model");
    let message = "`Query.from_self()` was removed in SQLAlchemy 2.0 (`AttributeError`)".to_string();
    let help = format!(
        "make the inner query a subquery and select from it: `subq = {}.subquery()`, then \
         `select(aliased({entity}, subq))` (or `session.query(aliased({entity}, subq))`)",
        checker.text(receiver)
    );
    checker.report(span.byte_range(), message, help);
}

fn string_join(checker: &mut Checker<'_>, span: Node<'_>, receiver: Node<'_>, name: &str) {
    let src = checker.source();
    let Some(first) = python::positional_arguments(span).first().copied() else { return };
    let Some(value) = literal_value(first, src) else { return };
    let is_query = query::resolve_query(receiver, src).is_some() || {
        let chain = python::chain(receiver, src);
        chain.links.first().is_some_and(|l| {
            l.name == "select" && l.call.is_some_and(|c| python::calls_sqlalchemy(c, src))
        })
    };
    if !is_query || value.is_empty() || value.contains(' ') {
        return;
    }
    let entity = query::resolve_query(receiver, src).and_then(|q| q.entity(src)).unwrap_or("Model");
    let attribute = attribute_path(entity, value);
    let message = format!(
        "`.{name}(\"{value}\")` names the relationship by a string: SQLAlchemy 2.0 raises `ArgumentError` (joins take \
         relationship attributes)"
    );
    checker.report(span.byte_range(), message, format!("join on the attribute: `.{name}({attribute})`"));
}

/// `User.posts` for `"posts"`; for a path `"posts.comments"`, the first hop and a placeholder.
fn attribute_path(entity: &str, value: &str) -> String {
    let mut parts = value.split('.');
    let first = parts.next().unwrap_or(value);
    let mut out = format!("{entity}.{first}");
    for part in parts {
        out.push_str(&format!(", <RelatedModel>.{part}"));
    }
    out
}

fn list_form(checker: &mut Checker<'_>, span: Node<'_>, name: &str) {
    let src = checker.source();
    let positional = python::positional_arguments(span);
    let Some(list) = positional.first().copied() else { return };
    if !matches!(list.kind_str(), "list" | "list_comprehension") {
        return;
    }
    let items = python::named_children(list);
    let items_text: Vec<&str> = items.iter().map(|i| checker.text(*i)).collect();
    let modern = match list.kind_str() {
        "list" => format!("{name}({})", items_text.join(", ")),
        _ => format!("{name}(*{})", checker.text(list)),
    };
    let (message, help) = if name == "select" {
        (
            "`select([...])` with a list of columns raises `ArgumentError` on SQLAlchemy 2.0: `select()` takes the \
             columns and entities as positional arguments"
                .to_string(),
            format!("pass them directly: `{modern}`; criteria go in `.where(...)`, FROM objects in `.select_from(...)`"),
        )
    } else {
        (
            "`case([...])` with a list of `(condition, value)` pairs raises `ArgumentError` on SQLAlchemy 2.0: `case()` \
             takes the pairs as positional arguments"
                .to_string(),
            format!("pass them directly: `{modern}` (keep `else_=` / `value=` as they are)"),
        )
    };
    // Exact only when the list is the one positional argument (`select([a], whereclause)` used the
    // 1.x second argument) and the rewrite keeps every byte of the items.
    let keywords_ok = name == "case" || python::arguments(span).len() == 1;
    let has_comment = {
        let mut cursor = list.walk();
        let found = list.named_children(&mut cursor).any(|c| c.kind_str() == "comment");
        found
    };
    let fixable = list.kind_str() == "list"
        && !items.is_empty()
        && positional.len() == 1
        && keywords_ok
        && !has_comment
        && !list.has_error();
    // A trailing comma inside the list goes: `select([a, b,],)` must not become `select(a, b,,)`.
    let inner = src
        .get(list.start_byte() + 1..list.end_byte().saturating_sub(1))
        .map(|t| t.trim().trim_end_matches(',').trim_end().to_string());
    let diagnostic = checker.report(span.byte_range(), message, help);
    if let (true, Some(inner)) = (fixable, inner) {
        diagnostic.set_fix(Fix {
            applicability: Applicability::Safe,
            title: format!("Pass the list items to `{name}()` directly"),
            edits: vec![Edit::replace(list.byte_range(), inner)],
        });
    }
}

fn autocommit(checker: &mut Checker<'_>, span: Node<'_>, name: &str) {
    let src = checker.source();
    let Some(value) = python::keyword_argument(span, "autocommit", src) else { return };
    if checker.text(value) != "True" {
        return;
    }
    let message = format!(
        "`{name}(autocommit=True)`: the ORM's \"autocommit\" mode was removed in SQLAlchemy 2.0 (`ArgumentError` when \
         a session is created)"
    );
    let help = "drop `autocommit=True` and make transactions explicit: `with Session(engine) as session, \
                session.begin(): ...`, or call `session.commit()` where the work is done"
        .to_string();
    checker.report(span.byte_range(), message, help);
}

fn bound_metadata(checker: &mut Checker<'_>, span: Node<'_>, name: &str) {
    let src = checker.source();
    let bind = python::keyword_argument(span, "bind", src).or_else(|| {
        // 1.x `MetaData(engine)`: the first positional parameter was `bind`.
        (name == "MetaData")
            .then(|| python::positional_arguments(span).first().copied())
            .flatten()
            .filter(|a| is_engine(*a, src))
    });
    let Some(bind) = bind else { return };
    let engine = checker.text(bind);
    let message = format!(
        "`{name}()` bound to `{engine}`: \"bound metadata\" was removed in SQLAlchemy 2.0 (`TypeError`), along with \
         implicit execution through it"
    );
    let help = format!(
        "drop the binding and pass `{engine}` where SQL runs: `metadata.create_all({engine})`, \
         `Table(..., autoload_with={engine})`, `Session({engine})`"
    );
    checker.report(span.byte_range(), message, help);
}

fn autoload(checker: &mut Checker<'_>, span: Node<'_>) {
    let src = checker.source();
    let Some(value) = python::keyword_argument(span, "autoload", src) else { return };
    if checker.text(value) == "False" {
        return;
    }
    let help = match python::keyword_argument(span, "autoload_with", src) {
        Some(_) => "remove `autoload=True`: `autoload_with=` alone reflects the table".to_string(),
        None => "reflect with `autoload_with=engine` (or a connection) instead of `autoload=True`".to_string(),
    };
    checker.report(
        span.byte_range(),
        "`Table(..., autoload=True)`: the `autoload` flag was removed in SQLAlchemy 2.0 (`TypeError`)",
        help,
    );
}

fn relation(checker: &mut Checker<'_>, span: Node<'_>) {
    let function = span.field("function").map(python::unparen);
    let callee = function.map(|f| checker.text(f)).unwrap_or("relation");
    let modern = callee.strip_suffix("relation").map(|p| format!("{p}relationship")).unwrap_or_default();
    let message =
        format!("`{callee}()` was removed in SQLAlchemy 2.0 (`ImportError` / `AttributeError`); it was a synonym for `relationship()`");
    let attribute = function.filter(|f| f.kind_str() == "attribute").and_then(|f| f.field("attribute"));
    let import = if attribute.is_none() { " (and import `relationship` instead of `relation`)" } else { "" };
    let help = format!("call `{modern}(...)` with the same arguments{import}");
    let diagnostic = checker.report(span.byte_range(), message, help);
    if let Some(attribute) = attribute {
        diagnostic.set_fix(Fix {
            applicability: Applicability::Safe,
            title: format!("Replace with `{modern}()`"),
            edits: vec![Edit::replace(attribute.byte_range(), "relationship")],
        });
    }
}

/// `entity`: the class the attributes belong to when known; `None` for an option chained on
/// another (`joinedload(User.posts).joinedload("comments")`: the related class).
fn string_loader_option(checker: &mut Checker<'_>, span: Node<'_>, name: &str, entity: Option<String>) {
    let method = python::receiver(span).is_some_and(|r| python::unparen(r).kind_str() == "call");
    let src = checker.source();
    let strings: Vec<&str> = python::positional_arguments(span)
        .into_iter()
        .filter_map(|a| literal_value(a, src))
        // `"*"` (and `"posts.*"`) wildcards are still valid.
        .filter(|v| !v.is_empty() && !v.ends_with('*'))
        .collect();
    let Some(first) = strings.first() else { return };
    let entity = entity.unwrap_or_else(|| "<RelatedModel>".to_string());
    let call = if method { format!(".{name}") } else { name.to_string() };
    let message = format!(
        "`{call}(\"{first}\")` names the attribute by a string: SQLAlchemy 2.0 raises `ArgumentError` (loader options \
         take class-bound attributes; only the `\"*\"` wildcard stays a string)"
    );
    let help = match strings.as_slice() {
        // `joinedload("posts.comments")`: one option per hop of the path.
        [path] if path.contains('.') => {
            let mut hops = path.split('.');
            let mut chain = format!("{call}({entity}.{})", hops.next().unwrap_or(path));
            for hop in hops {
                chain.push_str(&format!(".{name}(<RelatedModel>.{hop})"));
            }
            format!("pass class-bound attributes, one option per hop: `{chain}`")
        }
        _ => {
            let attributes: Vec<String> = strings.iter().map(|s| format!("{entity}.{s}")).collect();
            format!("pass the class-bound attribute: `{call}({})`", attributes.join(", "))
        }
    };
    checker.report(span.byte_range(), message, help);
}

/// The entity of the query whose `.options(...)` holds `option`: `User` in
/// `session.query(User).options(joinedload("posts"))` or `select(User).options(...)`.
fn options_entity<'s>(option: Node<'s>, src: &'s str) -> Option<&'s str> {
    let options_call = python::ancestors(option).take(4).find(|n| {
        n.kind_str() == "call" && python::callee_name(*n, src) == Some("options")
    })?;
    let receiver = python::receiver(options_call)?;
    if let Some(found) = query::resolve_query(receiver, src) {
        return found.entity(src);
    }
    let chain = python::chain(receiver, src);
    let select = chain.links.first().filter(|l| l.name == "select")?.call?;
    let entity = python::unparen(*python::positional_arguments(select).first()?);
    (entity.kind_str() == "identifier").then(|| src.get(entity.byte_range())).flatten().filter(|n| query::is_class_name(n))
}
