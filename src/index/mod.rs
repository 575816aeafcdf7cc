//! The project model index: what sqlalint believes about the project's ORM
//! models — every mapped class, its table, columns and relationships with
//! their loading strategy — built from per-file facts (`extract`) gathered in
//! the same parallel pass as linting, then merged (`merge`) in one linear step.
//!
//! Resolution is by class name across the project; where two mapped classes
//! share a name, it goes through the importing module's imports, and where it
//! is still ambiguous the index answers "unknown" so rules stay silent.
pub(crate) mod deps;
pub(crate) mod extract;
pub(crate) mod merge;

use std::cell::Cell;

use serde::{Deserialize, Serialize};

thread_local! {
    static DISPLAY: Cell<bool> = const { Cell::new(false) };
}

/// JSON for people (`--show-models`): leaves out the fields marked `internal`, which only the
/// index's own logic reads. Every other serialization (the cache) keeps every field.
pub(crate) fn display_json<T: Serialize>(value: &T) -> serde_json::Result<String> {
    DISPLAY.with(|display| display.set(true));
    let json = serde_json::to_string_pretty(value);
    DISPLAY.with(|display| display.set(false));
    json
}

fn internal<T>(_: &T) -> bool {
    DISPLAY.with(Cell::get)
}

/// Shown when set; always kept in the cache (which needs every field, in order).
fn internal_or_none<T>(value: &Option<T>) -> bool {
    value.is_none() && internal(value)
}

/// How a relationship loads when accessed (`relationship(lazy=...)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LoadStrategy {
    /// `lazy="select"` (the default) or `lazy=True`: one SELECT per parent on first access.
    Select,
    /// `lazy="immediate"`: loaded with the parent, but by one SELECT per parent row.
    Immediate,
    Joined,
    Selectin,
    Subquery,
    Raise,
    RaiseOnSql,
    Noload,
    /// `lazy="dynamic"` / `DynamicMapped`: a query object, one SELECT per use.
    Dynamic,
    /// `lazy="write_only"` / `WriteOnlyMapped`: never loads implicitly.
    WriteOnly,
    /// A value the extractor could not read (a variable, an unknown string).
    Unknown,
}

impl LoadStrategy {
    pub(crate) fn from_lazy(value: &str) -> Self {
        match value {
            "select" | "True" => LoadStrategy::Select,
            "immediate" => LoadStrategy::Immediate,
            "joined" | "False" => LoadStrategy::Joined,
            "selectin" => LoadStrategy::Selectin,
            "subquery" => LoadStrategy::Subquery,
            "raise" => LoadStrategy::Raise,
            "raise_on_sql" => LoadStrategy::RaiseOnSql,
            "noload" | "None" => LoadStrategy::Noload,
            "dynamic" => LoadStrategy::Dynamic,
            "write_only" => LoadStrategy::WriteOnly,
            _ => LoadStrategy::Unknown,
        }
    }

    /// Does reading the attribute on each row of a loop issue a query per row?
    pub(crate) fn queries_per_row(&self) -> bool {
        matches!(self, LoadStrategy::Select | LoadStrategy::Immediate | LoadStrategy::Dynamic)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Column {
    /// Attribute name on the class.
    pub(crate) name: String,
    pub(crate) primary_key: bool,
    /// `ForeignKey("table.column")` target, as written.
    pub(crate) foreign_key: Option<String>,
    pub(crate) index: bool,
    pub(crate) unique: bool,
    /// `nullable=` when written.
    pub(crate) nullable: Option<bool>,
    pub(crate) line: usize,
    /// `Column("db_name", ...)` / `mapped_column("db_name", ...)` / `name="db_name"`: the name in
    /// the table, which `ForeignKey("table.db_name")` must use, when it differs from the attribute.
    #[serde(skip_serializing_if = "internal_or_none")]
    pub(crate) db_name: Option<String>,
    /// Declared only by an annotation with a plain default (`active: bool = True`): a column
    /// in SQLModel, a plain class attribute anywhere else (the merge decides).
    #[serde(skip_serializing_if = "internal")]
    pub(crate) plain_default: bool,
}

impl Column {
    /// The table (or, for `ForeignKey(User.id)`, the class) a foreign key points at:
    /// `"schema.users.id"` → `users`.
    pub(crate) fn referenced_table(&self) -> Option<&str> {
        let (table, _) = self.foreign_key.as_deref()?.rsplit_once('.')?;
        // `ForeignKey(users.c.id)`: a Table variable's column collection.
        let table = table.strip_suffix(".c").unwrap_or(table);
        table.rsplit('.').next()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Relationship {
    pub(crate) name: String,
    /// Target class name as written (last component of a dotted string).
    pub(crate) target: Option<String>,
    /// `Some(true)` for collections, `Some(false)` for scalars, `None` when unknown.
    pub(crate) collection: Option<bool>,
    pub(crate) lazy: LoadStrategy,
    pub(crate) back_populates: Option<String>,
    /// `backref="x"` (creates `x` on the target).
    pub(crate) backref: Option<String>,
    /// Created on this class by another class's `backref=`.
    pub(crate) from_backref: bool,
    pub(crate) line: usize,
    /// `secondary=` given: many-to-many.
    pub(crate) secondary: bool,
    /// The strategy `backref=backref("x", lazy=...)` gives the reverse side.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) backref_lazy: Option<LoadStrategy>,
    /// `cascade=` as written: the literal string's value (`"all, delete-orphan"`), or the source
    /// text of any other expression; `None` when not given (the default `"save-update, merge"`).
    pub(crate) cascade: Option<String>,
    /// The join is spelled out (`foreign_keys=`, `primaryjoin=`, `secondaryjoin=`, SQLModel's
    /// `sa_relationship_kwargs`, or `**kwargs` that may carry them).
    #[serde(skip_serializing_if = "internal")]
    pub(crate) join_configured: bool,
    /// `remote_side=` given (here or in `backref(..., remote_side=...)`).
    #[serde(skip_serializing_if = "internal")]
    pub(crate) remote_side: bool,
    /// `viewonly=` or `overlaps=` given: deliberately not synchronised with a reverse side.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) independent: bool,
}

/// A class as seen in one file, before we know whether it is mapped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ClassFacts {
    pub(crate) name: String,
    pub(crate) line: usize,
    /// Base classes as dotted text (`Base`, `db.Model`, `SQLModel`, `TimestampMixin`).
    pub(crate) bases: Vec<String>,
    /// `class X(SQLModel, table=True)`.
    pub(crate) table_keyword: bool,
    pub(crate) tablename: Option<String>,
    pub(crate) is_abstract: bool,
    /// Has a `__table__ = Table(...)` (imperative table) assignment.
    pub(crate) has_table: bool,
    pub(crate) columns: Vec<Column>,
    pub(crate) relationships: Vec<Relationship>,
    /// A primary key may be declared outside the columns read: `__table_args__` /
    /// `__mapper_args__` naming one, or a column whose `primary_key=` is not a literal.
    pub(crate) primary_key_elsewhere: bool,
    /// The body defines attributes in `if` / `for` / `try` / `with` blocks, which the index does not read.
    pub(crate) dynamic_body: bool,
    /// `__table__ = Table(...)`: moved to [`FileFacts::tables`] by the extractor.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) table: Option<CoreTable>,
    /// Leading columns of the indexes and constraints a literal `__table_args__` declares;
    /// `None` when `__table_args__` is computed (a `@declared_attr`, a variable, `*splat`).
    #[serde(skip_serializing_if = "internal")]
    pub(crate) table_args_indexes: Option<Vec<String>>,
    /// Every column of those indexes and constraints, leading or not.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) table_args_members: Vec<String>,
}

/// A column named in `filter()` / `where()` / `filter_by()` / `order_by()` (SA604).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ColumnUse {
    /// The class as written (`User` in `User.email == x`).
    pub(crate) model: String,
    pub(crate) attribute: String,
    pub(crate) line: usize,
}

/// A Core `Table("name", metadata, Column("c", ...), ...)` (module level, or a class's `__table__`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CoreTable {
    /// The table name as written (`"schema.name"` stays qualified only through `schema=`).
    pub(crate) name: String,
    /// Column names (keys) given by literal `Column("c", ...)` arguments.
    pub(crate) columns: Vec<String>,
    /// Every column is known: no reflection (`autoload_with=`), `extend_existing`, `*splat` or
    /// column whose name is not a literal.
    pub(crate) complete: bool,
    /// `schema="..."` given: the table lives in that schema.
    pub(crate) schema: Option<String>,
    pub(crate) line: usize,
}

/// `from a.b import C as D` → local `D` means `a.b.C`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Import {
    pub(crate) local: String,
    /// Fully qualified target (`a.b.C`, or `a.b` for `import a.b`).
    pub(crate) target: String,
}

/// What makes a module-level name a declarative base or a Flask-SQLAlchemy handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BaseKind {
    /// `Base = declarative_base()` / `registry().generate_base()` / `@as_declarative` / `DeclarativeBase` subclass.
    Declarative,
    /// `db = SQLAlchemy()`: `db.Model` is a base.
    FlaskSqlalchemy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BaseName {
    pub(crate) name: String,
    pub(crate) kind: BaseKind,
}

/// Everything one file contributes to the index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct FileFacts {
    /// Dotted module name derived from the path (`app.models.user`).
    pub(crate) module: String,
    pub(crate) imports: Vec<Import>,
    pub(crate) bases: Vec<BaseName>,
    pub(crate) classes: Vec<ClassFacts>,
    /// `registry.map_imperatively(Class, table, properties={...})` with literal properties.
    pub(crate) imperative: Vec<ClassFacts>,
    /// `(Model, relationship)` pairs named in a loader option anywhere in the file
    /// (`selectinload(User.posts)`): somewhere the project loads them eagerly.
    pub(crate) eager_mentions: Vec<(String, String)>,
    /// Every class name defined anywhere in the file (nested and function-local classes too,
    /// and `type("Name", ...)`), found by a text scan: names a string reference may resolve to.
    pub(crate) defined_names: Vec<String>,
    /// `(Class, attribute)` for module-level `Class.attribute = ...` (attributes added after the class body).
    pub(crate) late_attributes: Vec<(String, String)>,
    /// Declarative bases built with a custom class (`declarative_base(cls=Model)`,
    /// `SQLAlchemy(model_class=Base)`): their models inherit attributes the index does not see.
    pub(crate) opaque_bases: Vec<String>,
    /// An Alembic revision module's place in the revision graph (SA705).
    pub(crate) revision: Option<crate::alembic::RevisionFacts>,
    /// Core tables defined at module level or as a class's `__table__`.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) tables: Vec<CoreTable>,
    /// Table names a text scan finds anywhere (`Table("x"`, `__tablename__ = "x"`, `name="x"` of
    /// `op.create_table`...), function-local definitions included: names that may exist.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) table_mentions: Vec<String>,
    /// The file reflects a whole database (`MetaData.reflect()`, `automap_base`): tables the
    /// index cannot name.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) unnamed_tables: bool,
    /// `(owner, column)` of module-level `Index("ix", Owner.column, ...)` / `Index("ix", table.c.column)`:
    /// the leading column of an index declared outside the class.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) module_indexes: Vec<(String, String)>,
    /// Columns the file's queries filter or sort by, recorded by rule checks during the pass.
    #[serde(skip_serializing_if = "internal")]
    pub(crate) column_uses: Vec<ColumnUse>,
    /// Module-level names bound to a session factory or registry (`SessionLocal = sessionmaker(...)`,
    /// `Session = scoped_session(...)`), so a call of the name elsewhere is known to make a session.
    pub(crate) session_factories: Vec<String>,
    /// Those of `session_factories` that are `scoped_session(...)` registries (a call returns the
    /// thread's session, which the registry's `remove()` closes).
    #[serde(skip_serializing_if = "internal")]
    pub(crate) session_registries: Vec<String>,
}

/// Class names a file defines anywhere, by a text scan (`class Name` at the start of a line,
/// `type("Name", ...)`): a false match only makes rules more cautious.
pub(crate) fn defined_names(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut names: Vec<String> = Vec::new();
    // `class ` where only whitespace precedes it on its line (one substring search, not a
    // trim of every line). Only the indentation before each match is read back, so a huge
    // file without line breaks stays linear.
    for at in memchr::memmem::find_iter(text.as_bytes(), b"class ") {
        let indented = text[..at].trim_end_matches(|c: char| c.is_whitespace() && c != '\n' && c != '\r');
        if indented.is_empty() || indented.ends_with(['\n', '\r']) {
            names.push(ident(text[at + 6..].trim_start()));
        }
    }
    for at in memchr::memmem::find_iter(text.as_bytes(), b"type(") {
        let rest = text.get(at + 5..).unwrap_or("");
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"').or_else(|| trimmed.strip_prefix('\'')) {
            names.push(ident(quoted));
        }
    }
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    names
}

/// Table names mentioned anywhere in a text (`Table("x"`, `Table(\n "x"`, `__tablename__ = "x"`),
/// once per mention, by a text scan: a false match only makes rules more cautious.
pub(crate) fn table_mentions(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for marker in ["Table(", "__tablename__"] {
        for at in memchr::memmem::find_iter(text.as_bytes(), marker.as_bytes()) {
            let rest = text.get(at + marker.len()..).unwrap_or("");
            let value = rest.trim_start();
            let value = value.strip_prefix(['=', ':']).map_or(value, str::trim_start);
            let value = value.strip_prefix("str").map_or(value, |v| v.trim_start().strip_prefix('=').unwrap_or(v));
            let value = value.trim_start();
            let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
            let name: String = value[1..].chars().take_while(|c| *c != quote && *c != '\n').collect();
            if !name.is_empty() && name.len() < 200 {
                names.push(name.rsplit('.').next().unwrap_or(&name).to_string());
            }
        }
    }
    names.sort();
    names
}

/// Does the text reflect whole databases, so that tables exist that nothing in the project names?
pub(crate) fn has_unnamed_tables(text: &str) -> bool {
    // `Table("t", metadata, autoload_with=...)` and `DeferredReflection` models name their tables.
    [".reflect(", "automap_base"].iter().any(|m| memchr::memmem::find(text.as_bytes(), m.as_bytes()).is_some())
}

/// Loader options that load (or block) a relationship so that per-row access costs no query.
const EAGER_OPTIONS: &[&str] = &["joinedload", "selectinload", "subqueryload", "contains_eager", "raiseload", "noload"];

/// Scans source text for `<option>(Model.rel` — a text scan rather than a tree walk, as it
/// only ever makes rules more cautious: a false match can silence a finding, never add one.
/// Two passes over the text (every option but one ends in `load(`), not one per option.
pub(crate) fn eager_mentions(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for marker in ["load(", "contains_eager("] {
        for at in memchr::memmem::find_iter(text.as_bytes(), marker.as_bytes()) {
            let open = at + marker.len() - 1;
            let from = open + 1;
            let head = &text[..open];
            let word_start = head
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            // `ends_with`, as a plain search for `joinedload(` also finds `my_joinedload(`.
            if !EAGER_OPTIONS.iter().any(|option| head[word_start..].ends_with(option)) {
                continue;
            }
            let arg: String = text[from..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            let mut parts = arg.rsplit('.');
            if let (Some(rel), Some(model)) = (parts.next(), parts.next()) {
                if !rel.is_empty() && !model.is_empty() {
                    found.push((model.to_string(), rel.to_string()));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Derives a dotted module name from a path relative to the project root.
pub(crate) fn module_name(relative: &std::path::Path) -> String {
    // Only normal components: a file outside the root keeps its absolute path, whose leading
    // `/` must not become a module segment (imports are matched by suffix anyway).
    let mut parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if let Some(last) = parts.last_mut() {
        if let Some(stem) = last.strip_suffix(".pyi").or_else(|| last.strip_suffix(".py")) {
            *last = stem.to_string();
        }
        if last == "__init__" {
            parts.pop();
        }
    }
    parts.retain(|p| p != "." && !p.is_empty());
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::eager_mentions;

    #[test]
    fn defined_names_are_classes_at_line_starts_and_type_calls() {
        let text = "class A:\n    class B(x):\r\n\x0cclass  Ç: pass\nx = 'class D'  # class E\n# class F\ntype( 'G', (), {})\n";
        assert_eq!(super::defined_names(text), ["A", "B", "G", "Ç"]);
        // One line of many `class ` mentions: linear, and none starts a line but the first.
        let long = format!("class Z: pass;{}", "x = 'class Y'; ".repeat(200_000));
        assert_eq!(super::defined_names(&long), ["Z"]);
    }

    #[test]
    fn eager_mentions_reads_every_option_and_qualified_spellings() {
        let text = "q.options(joinedload(User.posts), orm.selectinload( Post.tags ))\n\
                    contains_eager(A.b); my_subqueryload(C.d) raiseload('*') noload(E.f)\n\
                    download(G.h) load(I.j) « joinedload(K.l) joinedload(m)";
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(
            eager_mentions(text),
            pairs(&[("A", "b"), ("C", "d"), ("E", "f"), ("K", "l"), ("Post", "tags"), ("User", "posts")])
        );
    }
}
