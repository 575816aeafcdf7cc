//! The project model index: what sqlalint believes about the project's ORM
//! models — every mapped class, its table, columns and relationships with
//! their loading strategy — built from per-file facts (`extract`) gathered in
//! the same parallel pass as linting, then merged (`merge`) in one linear step.
//!
//! Resolution is by class name across the project; where two mapped classes
//! share a name, it goes through the importing module's imports, and where it
//! is still ambiguous the index answers "unknown" so rules stay silent.
pub(crate) mod extract;
pub(crate) mod merge;

use serde::Serialize;

/// How a relationship loads when accessed (`relationship(lazy=...)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
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
    /// Declared only by an annotation with a plain default (`active: bool = True`): a column
    /// in SQLModel, a plain class attribute anywhere else (the merge decides).
    #[serde(skip)]
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

#[derive(Debug, Clone, Serialize)]
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
    #[serde(skip)]
    pub(crate) backref_lazy: Option<LoadStrategy>,
    /// `cascade=` as written: the literal string's value (`"all, delete-orphan"`), or the source
    /// text of any other expression; `None` when not given (the default `"save-update, merge"`).
    pub(crate) cascade: Option<String>,
}

/// A class as seen in one file, before we know whether it is mapped.
#[derive(Debug, Clone, Serialize)]
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
}

/// `from a.b import C as D` → local `D` means `a.b.C`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Import {
    pub(crate) local: String,
    /// Fully qualified target (`a.b.C`, or `a.b` for `import a.b`).
    pub(crate) target: String,
}

/// What makes a module-level name a declarative base or a Flask-SQLAlchemy handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BaseKind {
    /// `Base = declarative_base()` / `registry().generate_base()` / `@as_declarative` / `DeclarativeBase` subclass.
    Declarative,
    /// `db = SQLAlchemy()`: `db.Model` is a base.
    FlaskSqlalchemy,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct BaseName {
    pub(crate) name: String,
    pub(crate) kind: BaseKind,
}

/// Everything one file contributes to the index.
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Module-level names bound to a session factory or registry (`SessionLocal = sessionmaker(...)`,
    /// `Session = scoped_session(...)`), so a call of the name elsewhere is known to make a session.
    pub(crate) session_factories: Vec<String>,
}

/// Loader options that load (or block) a relationship so that per-row access costs no query.
const EAGER_OPTIONS: &[&str] =
    &["joinedload(", "selectinload(", "subqueryload(", "contains_eager(", "raiseload(", "noload("];

/// Scans source text for `<option>(Model.rel` — a text scan rather than a tree walk, as it
/// only ever makes rules more cautious: a false match can silence a finding, never add one.
pub(crate) fn eager_mentions(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for option in EAGER_OPTIONS {
        let mut rest = text;
        while let Some(at) = rest.find(option) {
            rest = &rest[at + option.len()..];
            let arg: String =
                rest.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
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
