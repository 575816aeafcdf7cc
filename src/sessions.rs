//! What holds a SQLAlchemy session (the SA2xx family): which calls make a session
//! factory or registry (`sessionmaker(...)`, `async_sessionmaker(...)`,
//! `scoped_session(...)`) and which make a session (`Session(engine)`,
//! `AsyncSession(engine)`, SQLModel's `Session`, a call of a factory bound in this
//! module, `sessionmaker(...)()`). Factories defined in another module of the
//! project are known only to the model index (`FileFacts::session_factories`), so
//! a call of an imported name is reported by [`SessionCall::Imported`] for a
//! deferred check. Every walk is bounded by the module's top-level statements.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::python::{self, unparen};

/// Sync or asyncio flavour of a session or factory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Sync,
    Async,
}

/// What a call makes, as far as this file shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionCall {
    /// `sessionmaker(...)` / `async_sessionmaker(...)`: a factory, not a session.
    Factory(Flavor),
    /// `scoped_session(...)` / `async_scoped_session(...)`: a registry of sessions per thread/task.
    Registry(Flavor),
    /// A session instance: `Session(engine)`, `SessionLocal()`, `sessionmaker(...)()`.
    /// `factory` names what was called (`SessionLocal`, `Session`).
    Session { flavor: Flavor, factory: String },
    /// A call of a name imported from a project module (`SessionLocal()` with
    /// `from app.db import SessionLocal`): a session if the index knows that name as a factory.
    Imported { name: String },
}

/// Modules a `Session` / `AsyncSession` class is imported from.
fn is_sqlalchemy_module(module: &str) -> bool {
    let root = module.split('.').next().unwrap_or(module);
    matches!(root, "sqlalchemy" | "sqlmodel")
}

/// Qualifiers of `Session` that are SQLAlchemy's: `orm.Session`, `sa.orm.Session`,
/// `sqlalchemy.orm.Session`, `sqlmodel.Session`, `asyncio.AsyncSession`. Not `requests.Session`,
/// `boto3.session.Session`, `tf.Session`.
fn is_sqlalchemy_qualifier(head: &str) -> bool {
    let first = head.split('.').next().unwrap_or(head);
    let last = head.rsplit('.').next().unwrap_or(head);
    matches!(first, "sqlalchemy" | "sa" | "sqla" | "sqlmodel")
        || matches!(last, "orm" | "sqlmodel")
        || (last == "asyncio" && first != "asyncio")
}

/// `sessionmaker(...)`, `async_sessionmaker(...)`, `scoped_session(...)`, `async_scoped_session(...)`
/// (also qualified, `orm.sessionmaker(...)`): the calls that make a factory or registry.
pub(crate) fn is_factory_call(call: Node<'_>, src: &str) -> bool {
    matches!(factory_kind(call, src), Some(SessionCall::Factory(_) | SessionCall::Registry(_)))
}

/// `scoped_session(...)` / `async_scoped_session(...)`: a registry, whose calls return the
/// current thread's (task's) session rather than a new one.
pub(crate) fn is_registry_call(call: Node<'_>, src: &str) -> bool {
    matches!(factory_kind(call, src), Some(SessionCall::Registry(_)))
}

/// Is the plain name `name`, called at `call`, a registry bound at module level in this file?
pub(crate) fn is_module_registry(call: Node<'_>, name: &str, src: &str) -> bool {
    matches!(module_factory(call, name, src), Some(SessionCall::Registry(_)))
}

fn factory_kind(call: Node<'_>, src: &str) -> Option<SessionCall> {
    let call = unparen(call);
    if call.kind_str() != "call" {
        return None;
    }
    let function = unparen(call.field("function")?);
    if !matches!(function.kind_str(), "identifier" | "attribute") {
        return None;
    }
    let name = python::callee_name(call, src)?;
    // `sessionmaker(class_=AsyncSession)` makes async sessions too.
    let class_async = || {
        python::keyword_argument(call, "class_", src)
            .and_then(|c| src.get(c.byte_range()))
            .is_some_and(|c| c.ends_with("AsyncSession"))
    };
    match name {
        "sessionmaker" if class_async() => Some(SessionCall::Factory(Flavor::Async)),
        "sessionmaker" => Some(SessionCall::Factory(Flavor::Sync)),
        "async_sessionmaker" => Some(SessionCall::Factory(Flavor::Async)),
        "scoped_session" => {
            // `scoped_session(async_maker)` is not valid, but the flavour follows the factory if known.
            Some(SessionCall::Registry(Flavor::Sync))
        }
        "async_scoped_session" => Some(SessionCall::Registry(Flavor::Async)),
        _ => None,
    }
}

/// The top-level statements of the module containing `node`, also those inside top-level
/// `if` / `try` / `with` blocks (`if TYPE_CHECKING:`, `try: ... except ImportError:`).
pub(crate) fn module_statements(node: Node<'_>) -> Vec<Node<'_>> {
    let Some(module) = python::ancestors(node).last().filter(|n| n.kind_str() == "module") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![(module, 0u8)];
    while let Some((block, depth)) = stack.pop() {
        let mut cursor = block.walk();
        for child in block.named_children(&mut cursor) {
            match child.kind_str() {
                "if_statement" | "try_statement" | "with_statement" | "elif_clause" | "else_clause"
                | "except_clause" | "finally_clause" | "block"
                    if depth < 6 =>
                {
                    stack.push((child, depth + 1))
                }
                _ => out.push(child),
            }
        }
    }
    out
}

/// What the module-level name `name` is bound to, when every module-level binding of it is
/// the same kind of factory / registry call. `None` for anything else.
fn module_factory(node: Node<'_>, name: &str, src: &str) -> Option<SessionCall> {
    thread_local! {
        /// The answer for each name, as rules ask it at every call of that name and each
        /// answer scans the module's statements.
        static KNOWN: python::import_cache::PerFile<String, Option<SessionCall>> = python::import_cache::PerFile::new();
    }
    if let Some(known) = KNOWN.with(|k| k.read(name, Option::clone)) {
        return known;
    }
    let found = scan_module_factory(node, name, src);
    KNOWN.with(|k| k.insert(name.to_string(), found.clone()));
    found
}

fn scan_module_factory(node: Node<'_>, name: &str, src: &str) -> Option<SessionCall> {
    let mut found: Option<SessionCall> = None;
    for statement in module_statements(node) {
        let Some(assignment) = statement.named_child(0).filter(|n| n.kind_str() == "assignment") else {
            continue;
        };
        let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right")) else {
            continue;
        };
        if src.get(left.byte_range()) != Some(name) {
            continue;
        }
        let kind = factory_kind(right, src)?;
        if found.as_ref().is_some_and(|f| *f != kind) {
            return None;
        }
        found = Some(kind);
    }
    found
}

/// What the import visible at `node` binds `local` to: `(module, original name)`.
fn imported<'s>(node: Node<'_>, local: &str, src: &'s str) -> Option<(&'s str, Option<&'s str>)> {
    python::visible_imports_named(node, src, local).into_iter().next().map(|i| (i.module, i.name))
}

/// Names that may hold a session class or factory, judged before any module scan.
fn could_make_sessions(name: &str) -> bool {
    spells_session_word(name)
}

/// A call's function spells one of these (in any case) if [`classify_call`] classifies it:
/// the factory and registry names hold `sess` or `maker`, session classes `Sess`, and the
/// names [`could_make_sessions`] accepts one of them all.
const SESSION_WORDS: [&[u8]; 5] = [b"sess", b"maker", b"factory", b"db", b"uow"];

/// `FIRST_LETTERS[b]`: 1 + the index of the [`SESSION_WORDS`] word starting with byte `b` in
/// either case (their first letters differ), 0 for none.
const FIRST_LETTERS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < SESSION_WORDS.len() {
        let first = SESSION_WORDS[i][0];
        table[first as usize] = i as u8 + 1;
        table[first.to_ascii_uppercase() as usize] = i as u8 + 1;
        i += 1;
    }
    table
};

/// Does `text` hold a [`SESSION_WORDS`] word, ignoring ASCII case?
fn spells_session_word(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        let Some(word) = usize::from(FIRST_LETTERS[usize::from(b)]).checked_sub(1).and_then(|w| SESSION_WORDS.get(w))
        else {
            return false;
        };
        bytes.get(i..i + word.len()).is_some_and(|at| at.eq_ignore_ascii_case(word))
    })
}

/// Can [`classify_call`] classify this call at all? Only if the text before its arguments
/// (its function) spells a [`SESSION_WORDS`] word: most calls (`x = f()` is everywhere) are
/// rejected without reading more of the tree.
pub(crate) fn may_classify(call: Node<'_>, src: &str) -> bool {
    let call = unparen(call);
    // The arguments are a call's last child; the function comes before them.
    let end = call.child(call.child_count().saturating_sub(1)).map_or(call.end_byte(), |last| last.start_byte());
    src.get(call.start_byte()..end).is_some_and(spells_session_word)
}

/// Classifies a call as making a session factory, registry or session (see [`SessionCall`]).
pub(crate) fn classify_call(call: Node<'_>, src: &str) -> Option<SessionCall> {
    let call = unparen(call);
    if call.kind_str() != "call" || !may_classify(call, src) {
        return None;
    }
    classify_any_call(call, src)
}

/// [`classify_call`] of a call, without its [`may_classify`] shortcut.
fn classify_any_call(call: Node<'_>, src: &str) -> Option<SessionCall> {
    if let Some(kind) = factory_kind(call, src) {
        return Some(kind);
    }
    let function = unparen(call.field("function")?);
    let text = src.get(function.byte_range())?;
    let session_of = |kind: SessionCall, factory: &str| match kind {
        SessionCall::Factory(flavor) | SessionCall::Registry(flavor) => {
            Some(SessionCall::Session { flavor, factory: factory.to_string() })
        }
        _ => None,
    };
    match function.kind_str() {
        // `sessionmaker(bind=engine)()`
        "call" => session_of(factory_kind(function, src)?, text),
        "attribute" => {
            let (head, last) = text.rsplit_once('.')?;
            let flavor = match last {
                "Session" => Flavor::Sync,
                "AsyncSession" => Flavor::Async,
                _ => return None,
            };
            is_qualifier_at(call, head, src).then(|| SessionCall::Session { flavor, factory: text.to_string() })
        }
        "identifier" => {
            // Scanning the module for bindings and imports costs its size: only for names that
            // can be a session class or factory (`Session`, `SessionLocal`, `db_session`,
            // `session_factory`, `maker`), never for `len(...)` at every module-level line.
            if !could_make_sessions(text) {
                return None;
            }
            // A factory bound in this module wins: `Session = sessionmaker()` then `Session()`.
            if let Some(kind) = module_factory(call, text, src) {
                return session_of(kind, text);
            }
            match imported(call, text, src) {
                Some((module, name)) if is_sqlalchemy_module(module) => {
                    let flavor = match name.unwrap_or(text) {
                        "Session" => Flavor::Sync,
                        "AsyncSession" => Flavor::Async,
                        _ => return None,
                    };
                    Some(SessionCall::Session { flavor, factory: text.to_string() })
                }
                Some(_) => Some(SessionCall::Imported { name: text.to_string() }),
                None => None,
            }
        }
        _ => None,
    }
}

/// Does this call construct an `AsyncSession` or an async session factory directly —
/// `async_sessionmaker(...)`, `sessionmaker(..., class_=AsyncSession)`, `AsyncSession(...)` with
/// the class imported from SQLAlchemy (or qualified) — so that it takes `expire_on_commit=`?
/// A call of a factory (`AsyncSessionLocal()`) is not one.
pub(crate) fn makes_async_sessions(call: Node<'_>, src: &str) -> bool {
    if factory_kind(call, src) == Some(SessionCall::Factory(Flavor::Async)) {
        return true;
    }
    let Some(function) = call.field("function").map(unparen) else { return false };
    let Some(text) = src.get(function.byte_range()) else { return false };
    match function.kind_str() {
        "attribute" => {
            text.rsplit_once('.').is_some_and(|(head, last)| last == "AsyncSession" && is_qualifier_at(call, head, src))
        }
        "identifier" => {
            module_factory(call, text, src).is_none()
                && imported(call, text, src).is_some_and(|(module, name)| {
                    is_sqlalchemy_module(module) && name.unwrap_or(text) == "AsyncSession"
                })
        }
        _ => false,
    }
}

/// `session`, `db.session`, `self._session`, `sess`, `db`, `get_session()`: an expression whose name
/// says it is a session (a guess from the name alone, for receivers of `query()` / `get()`).
pub(crate) fn is_session_like(node: Node<'_>, src: &str) -> bool {
    let node = unparen(node);
    let name = match node.kind_str() {
        "identifier" => src.get(node.byte_range()),
        "attribute" => node.field("attribute").and_then(|a| src.get(a.byte_range())),
        "call" => python::callee_name(node, src),
        _ => None,
    };
    let Some(name) = name else { return false };
    let lower = name.to_ascii_lowercase();
    lower.contains("sess") || matches!(lower.trim_start_matches('_'), "db" | "s" | "dbs") || lower.ends_with("_db")
}

/// Why a variable is taken to hold a session of some flavour, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) flavor: Flavor,
    /// `a parameter annotated \`Session\``, `opened by \`SessionLocal()\``.
    pub(crate) how: String,
}

/// The flavour of the session held by the plain variable `var`, when this file proves it: a
/// parameter annotated with SQLAlchemy's or SQLModel's `Session` / `AsyncSession` (also inside
/// `Annotated[...]`, or through a module-level alias such as `SessionDep = Annotated[Session, ...]`),
/// or a variable bound (by assignment or `with ... as`) from a session-making call.
pub(crate) fn held_session(var: Node<'_>, src: &str) -> Option<Held> {
    let var = unparen(var);
    if var.kind_str() != "identifier" {
        return None;
    }
    if let Some(annotation) = python::parameter_annotation(var, src) {
        return annotation_flavor(annotation, src)
            .map(|(flavor, name)| Held { flavor, how: format!("a parameter annotated `{name}`") });
    }
    if python::enclosing_function(var).is_some_and(|f| is_parameter(f, src.get(var.byte_range()).unwrap_or(""), src)) {
        return None;
    }
    let value = unparen(python::bound_value(var, src)?);
    let value = if value.kind_str() == "await" { unparen(value.named_child(0)?) } else { value };
    match classify_call(value, src)? {
        SessionCall::Session { flavor, factory } => Some(Held { flavor, how: format!("opened by `{factory}(...)`") }),
        _ => None,
    }
}

/// Is `name` one of the parameters of `function`?
pub(crate) fn is_parameter(function: Node<'_>, name: &str, src: &str) -> bool {
    let Some(parameters) = function.field("parameters") else { return false };
    python::named_children(parameters).into_iter().any(|p| {
        let p = match p.kind_str() {
            "identifier" => Some(p),
            "typed_parameter" => p.named_child(0),
            "default_parameter" | "typed_default_parameter" => p.field("name"),
            _ => None,
        };
        p.is_some_and(|p| src.get(p.byte_range()) == Some(name))
    })
}

/// The session flavour an annotation names, with the class name as written.
fn annotation_flavor(annotation: Node<'_>, src: &str) -> Option<(Flavor, String)> {
    let text = src.get(annotation.byte_range())?;
    // The `type` node wraps the expression.
    let inner =
        if annotation.kind_str() == "type" { annotation.named_child(0).unwrap_or(annotation) } else { annotation };
    let resolved = match unparen(inner).kind_str() {
        // `session: SessionDep` with `SessionDep = Annotated[Session, Depends(get_session)]`.
        "identifier" if could_make_sessions(text) || text.contains("Dep") => {
            module_alias(annotation, text, src).unwrap_or(text)
        }
        _ => text,
    };
    let tokens: Vec<&str> = resolved.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).collect();
    if tokens.iter().any(|t| t.ends_with("sessionmaker")) {
        return None;
    }
    for token in tokens {
        let (flavor, known) = match token.rsplit_once('.') {
            Some((head, last)) => (name_flavor(last), is_qualifier_at(annotation, head, src)),
            None => match imported(annotation, token, src) {
                // `from sqlmodel import Session as SQLModelSession`: the original name decides.
                Some((module, name)) => (name_flavor(name.unwrap_or(token)), is_sqlalchemy_module(module)),
                None => (name_flavor(token), token.ends_with("scoped_session")),
            },
        };
        if let (Some(flavor), true) = (flavor, known) {
            return Some((flavor, token.to_string()));
        }
    }
    None
}

fn name_flavor(name: &str) -> Option<Flavor> {
    match name {
        "AsyncSession" | "async_scoped_session" => Some(Flavor::Async),
        "Session" | "scoped_session" => Some(Flavor::Sync),
        _ => None,
    }
}

/// [`is_sqlalchemy_qualifier`], or a head whose first name is an import from SQLAlchemy
/// (`from sqlalchemy.ext import asyncio as sa_asyncio`, `import sqlalchemy.orm as so`).
fn is_qualifier_at(node: Node<'_>, head: &str, src: &str) -> bool {
    let first = head.split('.').next().unwrap_or(head);
    is_sqlalchemy_qualifier(head) || imported(node, first, src).is_some_and(|(module, _)| is_sqlalchemy_module(module))
}

/// The value text of a module-level `name = ...` assignment (one of them), for type aliases.
fn module_alias<'s>(node: Node<'_>, name: &str, src: &'s str) -> Option<&'s str> {
    module_statements(node).into_iter().find_map(|statement| {
        let assignment = statement.named_child(0).filter(|n| n.kind_str() == "assignment")?;
        let left = assignment.field("left")?;
        if src.get(left.byte_range()) != Some(name) {
            return None;
        }
        src.get(assignment.field("right")?.byte_range())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::test_support::parse;

    /// Classifies the value of the last assignment of `src`.
    fn last_value(src: &str) -> Option<SessionCall> {
        let tree = parse(src);
        let root = tree.root_node();
        let last = root.named_child(root.named_child_count().checked_sub(1)? as u32)?;
        let value = last.named_child(0)?.field("right")?;
        classify_call(value, src)
    }

    /// `may_classify` only rejects calls that `classify_call` would not classify: checked on
    /// every call of the rule fixtures, and on calls spelling the words in other cases.
    #[test]
    fn may_classify_rejects_only_unclassified_calls() {
        let mut texts = crate::python::test_support::fixture_texts();
        texts.push(
            "from sqlalchemy import orm\nfrom app import SESSIONLOCAL, get_DB, UoW\nS = orm.sessionMaker()\n\
             a = S()\nb = SESSIONLOCAL()\nc = get_DB()\nd = UoW()\ne = orm.Session()\nf = orm.SESSION()\n"
                .into(),
        );
        let (mut classified, mut rejected) = (0, 0);
        for text in &texts {
            let tree = parse(text);
            for call in crate::python::test_support::named_nodes(&tree).into_iter().filter(|n| n.kind_str() == "call") {
                let kind = classify_any_call(call, text);
                if !may_classify(call, text) {
                    assert_eq!(kind, None, "{}", &text[call.byte_range()]);
                    rejected += 1;
                } else if kind.is_some() {
                    classified += 1;
                }
            }
        }
        assert!(classified > 100 && rejected > 1000, "{classified} classified, {rejected} rejected");
        for (text, spells) in
            [("SeSsIoN", true), ("x.MAKER", true), ("db", true), ("Uow", true), ("d_b", false), ("ses", false)]
        {
            assert_eq!(spells_session_word(text), spells, "{text}");
        }
    }

    fn session(flavor: Flavor, factory: &str) -> Option<SessionCall> {
        Some(SessionCall::Session { flavor, factory: factory.into() })
    }

    #[test]
    fn sessions_factories_and_lookalikes() {
        let sync = Flavor::Sync;
        assert_eq!(last_value("from sqlalchemy.orm import Session\ns = Session(engine)\n"), session(sync, "Session"));
        assert_eq!(
            last_value("from sqlmodel import Session as SqlSession\ns = SqlSession(engine)\n"),
            session(sync, "SqlSession"),
            "SQLModel alias"
        );
        assert_eq!(
            last_value("from sqlalchemy.ext.asyncio import AsyncSession\ns = AsyncSession(engine)\n"),
            session(Flavor::Async, "AsyncSession")
        );
        assert_eq!(last_value("import sqlalchemy as sa\ns = sa.orm.Session(e)\n"), session(sync, "sa.orm.Session"));
        assert_eq!(last_value("MySession = sessionmaker(bind=e)\ns = MySession()\n"), session(sync, "MySession"));
        assert_eq!(
            last_value("DBSession = scoped_session(sessionmaker())\ns = DBSession()\n"),
            session(sync, "DBSession")
        );
        assert_eq!(last_value("maker = async_sessionmaker(e)\ns = maker()\n"), session(Flavor::Async, "maker"));
        assert_eq!(
            last_value("AsyncSessionLocal = sessionmaker(e, class_=AsyncSession)\ns = AsyncSessionLocal()\n"),
            session(Flavor::Async, "AsyncSessionLocal")
        );
        // Names that cannot be a factory are not looked up at all.
        assert_eq!(last_value("S = sessionmaker()\ns = S()\n"), None);
        assert_eq!(last_value("s = sessionmaker(bind=e)()\n"), session(sync, "sessionmaker(bind=e)"));
        assert_eq!(last_value("S = sessionmaker()\n"), Some(SessionCall::Factory(sync)));
        assert_eq!(last_value("S = scoped_session(sessionmaker())\n"), Some(SessionCall::Registry(sync)));
        assert_eq!(
            last_value("from app.db import SessionLocal\ns = SessionLocal()\n"),
            Some(SessionCall::Imported { name: "SessionLocal".into() })
        );
        // An imported `Session` may be a project's `Session = sessionmaker()`: the index decides.
        assert_eq!(
            last_value("from requests import Session\ns = Session()\n"),
            Some(SessionCall::Imported { name: "Session".into() })
        );
        for lookalike in [
            "import requests\ns = requests.Session()\n",
            "import boto3\ns = boto3.session.Session()\n",
            "from aiohttp import ClientSession\ns = ClientSession()\n",
            "s = Session()\n",
            "Factory = make_factory()\ns = Factory()\n",
            "if x:\n    Session = sessionmaker()\nelse:\n    Session = make()\ns = Session()\n",
        ] {
            // Not known as a session here; an imported name is left to the index.
            let found = last_value(lookalike);
            assert!(matches!(found, None | Some(SessionCall::Imported { .. })), "{lookalike}: {found:?}");
        }
    }
}
