//! Per-file extraction of model facts. Only module-level statements (and the
//! bodies of module-level `if`/`try`/`with` blocks) and class bodies are
//! visited, so the cost is a small fraction of the parse; models defined
//! inside functions (test suites do this) are deliberately left out.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use super::{BaseKind, BaseName, ClassFacts, Column, CoreTable, FileFacts, Import, LoadStrategy, Relationship};
use crate::python::{self, unparen};

pub(crate) fn extract(root: Node<'_>, src: &str, module: &str, is_package: bool) -> FileFacts {
    let mut facts = FileFacts {
        module: module.to_string(),
        eager_mentions: super::eager_mentions(src),
        revision: crate::alembic::revision_facts(root, src),
        ..FileFacts::default()
    };
    facts.defined_names = super::defined_names(src);
    facts.table_mentions = super::table_mentions(src);
    facts.unnamed_tables = super::has_unnamed_tables(src);
    let mut statements = Vec::new();
    collect_module_statements(root, &mut statements);
    for statement in statements {
        match statement.kind_str() {
            "import_statement" | "import_from_statement" => {
                imports(statement, src, module, is_package, &mut facts.imports);
            }
            "class_definition" | "decorated_definition" => {
                if let Some(mut class) = class_facts(statement, src, &mut facts.bases) {
                    facts.tables.extend(class.table.take());
                    facts.classes.push(class);
                }
            }
            "expression_statement" => module_assignment(statement, src, &mut facts),
            _ => {}
        }
    }
    facts
}

/// Module-level statements, descending into `if`/`try`/`with` blocks (e.g. `if TYPE_CHECKING:`).
fn collect_module_statements<'t>(root: Node<'t>, out: &mut Vec<Node<'t>>) {
    let mut stack = vec![root];
    while let Some(block) = stack.pop() {
        let mut cursor = block.walk();
        for child in block.named_children(&mut cursor) {
            match child.kind_str() {
                "if_statement" | "try_statement" | "with_statement" | "elif_clause" | "else_clause"
                | "except_clause" | "finally_clause" | "block" => stack.push(child),
                _ => out.push(child),
            }
        }
    }
    out.sort_by_key(|n| n.start_byte());
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    let node = unparen(node);
    if node.kind_str() != "string" || !python::is_literal_string(node) {
        return None;
    }
    let mut cursor = node.walk();
    let content: String =
        node.named_children(&mut cursor).filter(|c| c.kind_str() == "string_content").map(|c| text(c, src)).collect();
    Some(content)
}

fn imports(statement: Node<'_>, src: &str, module: &str, is_package: bool, out: &mut Vec<Import>) {
    if statement.kind_str() == "import_statement" {
        let mut cursor = statement.walk();
        for name in statement.children_by_field_name("name", &mut cursor) {
            match name.kind_str() {
                "dotted_name" => {
                    let full = text(name, src).to_string();
                    let local = full.split('.').next().unwrap_or_default().to_string();
                    out.push(Import { local, target: full.split('.').next().unwrap_or_default().to_string() });
                }
                "aliased_import" => {
                    if let (Some(n), Some(alias)) = (name.field("name"), name.field("alias")) {
                        out.push(Import { local: text(alias, src).to_string(), target: text(n, src).to_string() });
                    }
                }
                _ => {}
            }
        }
        return;
    }
    let Some(from) = statement.field("module_name") else { return };
    let base = if from.kind_str() == "relative_import" {
        let raw = text(from, src);
        let dots = raw.chars().take_while(|c| *c == '.').count();
        let rest = raw[dots..].trim();
        let mut package: Vec<&str> = module.split('.').filter(|p| !p.is_empty()).collect();
        // `.` is the current package: the module itself for `__init__.py`, else its parent.
        let up = if is_package { dots - 1 } else { dots };
        for _ in 0..up {
            package.pop();
        }
        let mut parts: Vec<String> = package.iter().map(|s| s.to_string()).collect();
        if !rest.is_empty() {
            parts.push(rest.to_string());
        }
        parts.join(".")
    } else {
        text(from, src).to_string()
    };
    let mut cursor = statement.walk();
    for name in statement.children_by_field_name("name", &mut cursor) {
        let (imported, local) = match name.kind_str() {
            "dotted_name" => (text(name, src), text(name, src)),
            "aliased_import" => match (name.field("name"), name.field("alias")) {
                (Some(n), Some(a)) => (text(n, src), text(a, src)),
                _ => continue,
            },
            _ => continue,
        };
        let target = if base.is_empty() { imported.to_string() } else { format!("{base}.{imported}") };
        out.push(Import { local: local.to_string(), target });
    }
}

/// `Base = declarative_base()`, `db = SQLAlchemy(app)`, `Model = db.Model`, `reg.map_imperatively(...)`.
fn module_assignment(statement: Node<'_>, src: &str, facts: &mut FileFacts) {
    let Some(expr) = statement.named_child(0) else { return };
    let call = match expr.kind_str() {
        "assignment" => expr.field("right").map(unparen).filter(|r| r.kind_str() == "call"),
        "call" => Some(expr),
        _ => None,
    };
    facts.module_indexes.extend(call.and_then(|c| module_index(c, src)));
    if expr.kind_str() == "call" {
        facts.tables.extend(core_table(expr, src));
        imperative_mapping(expr, src, facts);
        return;
    }
    if expr.kind_str() != "assignment" {
        return;
    }
    let (Some(left), Some(right)) = (expr.field("left"), expr.field("right")) else {
        return;
    };
    // `User.addresses = relationship(...)`: an attribute added after the class body.
    if left.kind_str() == "attribute" {
        let object = left.field("object").filter(|o| o.kind_str() == "identifier");
        if let (Some(object), Some(attr)) = (object, left.field("attribute")) {
            facts.late_attributes.push((text(object, src).to_string(), text(attr, src).to_string()));
        }
        return;
    }
    if left.kind_str() != "identifier" {
        return;
    }
    let name = text(left, src).to_string();
    let right = unparen(right);
    if right.kind_str() == "call" {
        let chain = python::chain(right, src);
        let names: Vec<&str> = chain.links.iter().map(|l| l.name).collect();
        let kind = match names.as_slice() {
            [.., "declarative_base"] | [.., "generate_base"] => Some(BaseKind::Declarative),
            [.., "SQLAlchemy"] => Some(BaseKind::FlaskSqlalchemy),
            _ => None,
        };
        if let Some(kind) = kind {
            // `declarative_base(cls=Model)`, `SQLAlchemy(model_class=Base)`: models inherit from a class we may not see.
            if ["cls", "model_class", "metaclass"].iter().any(|k| python::keyword_argument(right, k, src).is_some()) {
                facts.opaque_bases.push(name.clone());
            }
            facts.bases.push(BaseName { name, kind });
        } else if names.last() == Some(&"Table") {
            facts.tables.extend(core_table(right, src));
        } else if crate::sessions::is_factory_call(right, src) {
            if crate::sessions::is_registry_call(right, src) {
                facts.session_registries.push(name.clone());
            }
            facts.session_factories.push(name);
        } else if names.last() == Some(&"map_imperatively") || names.last() == Some(&"mapper") {
            imperative_mapping(right, src, facts);
        }
    } else if right.kind_str() == "attribute" {
        // `Model = db.Model`: an alias of a Flask-SQLAlchemy base.
        let dotted = python::dotted_name(right, src).unwrap_or_default();
        if dotted.ends_with(".Model") {
            facts.bases.push(BaseName { name, kind: BaseKind::Declarative });
        }
    }
}

/// `Table("name", metadata, Column("c", ...), ...)`: its name and column names; `None` when the
/// call is not a table or its name is not a literal.
pub(crate) fn core_table(call: Node<'_>, src: &str) -> Option<CoreTable> {
    if python::callee_name(call, src) != Some("Table") {
        return None;
    }
    let args = python::arguments(call);
    let name = string_value(*args.first()?, src)?;
    let mut table = CoreTable {
        name,
        columns: Vec::new(),
        complete: true,
        schema: python::keyword_argument(call, "schema", src).and_then(|v| string_value(v, src)),
        line: call.start_position().row + 1,
    };
    // The metadata comes second (Flask-SQLAlchemy's `db.Table("t", db.Column(...))` may omit it);
    // columns and constraints follow.
    for (position, arg) in args.iter().map(|a| unparen(*a)).enumerate().skip(1) {
        let column_call = arg.kind_str() == "call" && python::callee_name(arg, src) == Some("Column");
        if position == 1 && !column_call && arg.kind_str() != "keyword_argument" {
            continue;
        }
        match arg.kind_str() {
            "keyword_argument" => {
                let key = arg.field("name").map_or("", |k| text(k, src));
                if key.starts_with("autoload") || key == "extend_existing" || key == "keep_existing" {
                    table.complete = false;
                }
            }
            "call" if python::callee_name(arg, src) == Some("Column") => {
                let first = python::positional_arguments(arg).first().and_then(|n| string_value(*n, src));
                let name =
                    first.or_else(|| python::keyword_argument(arg, "name", src).and_then(|v| string_value(v, src)));
                match name {
                    // `ForeignKey("t.c")` and `t.c.<c>` go by the key, which defaults to the name.
                    Some(name) => table.columns.push(
                        python::keyword_argument(arg, "key", src).and_then(|v| string_value(v, src)).unwrap_or(name),
                    ),
                    None => table.complete = false,
                }
            }
            // Constraints and indexes add no column.
            "call" if python::callee_name(arg, src).is_some_and(|n| n.ends_with("Constraint") || n == "Index") => {}
            // A variable, a splat, a helper call: columns the index cannot read.
            _ => table.complete = false,
        }
    }
    Some(table)
}

/// The leading columns of the indexes and constraints in a literal `__table_args__`
/// (a tuple or list, possibly ending in a dict); `None` when it is computed.
pub(crate) fn table_args(value: Node<'_>, src: &str) -> Option<Vec<String>> {
    let value = unparen(value);
    match value.kind_str() {
        "dictionary" => Some(Vec::new()),
        "tuple" | "list" => {
            let mut found = Vec::new();
            for item in python::named_children(value).into_iter().map(unparen) {
                match item.kind_str() {
                    "call" => found.extend(leading_column(item, src)),
                    "dictionary" => {}
                    // `*Mixin.__table_args__`, a variable: unknown indexes.
                    _ => return None,
                }
            }
            Some(found)
        }
        _ => None,
    }
}

/// The leading column of `Index("ix", col, ...)`, `UniqueConstraint(col, ...)`,
/// `PrimaryKeyConstraint(col, ...)`; a column is named by a string, a bare name
/// (a column defined above in the class body) or `Model.col` / `table.c.col`.
pub(crate) fn leading_column(call: Node<'_>, src: &str) -> Option<String> {
    let args = python::positional_arguments(call);
    let first = match python::callee_name(call, src)? {
        "Index" => args.get(1)?,
        "UniqueConstraint" | "PrimaryKeyConstraint" => args.first()?,
        _ => return None,
    };
    let node = unparen(*first);
    match node.kind_str() {
        "string" => string_value(node, src),
        "identifier" | "attribute" => {
            python::dotted_name(node, src).and_then(|d| d.rsplit('.').next().map(String::from))
        }
        _ => None,
    }
}

/// Every column named by the `Index` / `UniqueConstraint` / `PrimaryKeyConstraint` calls of a
/// `__table_args__` value, leading or not.
fn index_members(value: Node<'_>, src: &str) -> Vec<String> {
    let mut found = Vec::new();
    for item in python::named_children(unparen(value)).into_iter().map(unparen).filter(|i| i.kind_str() == "call") {
        let skip = match python::callee_name(item, src) {
            Some("Index") => 1,
            Some("UniqueConstraint" | "PrimaryKeyConstraint") => 0,
            _ => continue,
        };
        for column in python::positional_arguments(item).into_iter().skip(skip).map(unparen) {
            let name = match column.kind_str() {
                "string" => string_value(column, src),
                _ => python::dotted_name(column, src).and_then(|d| d.rsplit('.').next().map(String::from)),
            };
            found.extend(name);
        }
    }
    found
}

/// `Index("ix", Owner.col, ...)` / `Index("ix", owner.c.col)` / `Index("ix", Owner.__table__.c.col)`
/// outside a class: the owner (a class or a `Table` variable) and its leading column.
pub(crate) fn module_index(call: Node<'_>, src: &str) -> Option<(String, String)> {
    if python::callee_name(call, src) != Some("Index") {
        return None;
    }
    let first = python::positional_arguments(call).get(1).copied()?;
    let dotted = python::dotted_name(first, src)?;
    let parts: Vec<&str> = dotted.split('.').collect();
    match parts.as_slice() {
        [owner, column] | [owner, "c", column] | [owner, "__table__", "c", column] => {
            Some((owner.to_string(), column.to_string()))
        }
        _ => None,
    }
}

/// `registry.map_imperatively(User, user_table, properties={"addresses": relationship(...)})`.
fn imperative_mapping(call: Node<'_>, src: &str, facts: &mut FileFacts) {
    let Some(name) = python::callee_name(call, src) else { return };
    if name != "map_imperatively" && name != "mapper" {
        return;
    }
    let args = python::positional_arguments(call);
    let Some(class) = args.first().filter(|a| a.kind_str() == "identifier") else { return };
    let mut mapped = ClassFacts {
        name: text(*class, src).to_string(),
        line: call.start_position().row + 1,
        bases: Vec::new(),
        table_keyword: false,
        tablename: None,
        is_abstract: false,
        has_table: true,
        columns: Vec::new(),
        relationships: Vec::new(),
        primary_key_elsewhere: false,
        dynamic_body: false,
        table: None,
        table_args_indexes: Some(Vec::new()),
        table_args_members: Vec::new(),
    };
    let properties = python::keyword_argument(call, "properties", src).or_else(|| args.get(2).copied());
    if let Some(dict) = properties.map(unparen).filter(|d| d.kind_str() == "dictionary") {
        let mut cursor = dict.walk();
        for pair in dict.named_children(&mut cursor).filter(|p| p.kind_str() == "pair") {
            let (Some(key), Some(value)) = (pair.field("key"), pair.field("value")) else {
                continue;
            };
            let (Some(key), value) = (string_value(key, src), unparen(value)) else { continue };
            if value.kind_str() == "call" && is_relationship_call(value, src) {
                mapped.relationships.push(relationship(&key, None, value, src));
            }
        }
    }
    facts.imperative.push(mapped);
}

fn is_relationship_call(call: Node<'_>, src: &str) -> bool {
    matches!(python::callee_name(call, src), Some("relationship" | "relation" | "Relationship"))
}

fn is_column_call(call: Node<'_>, src: &str) -> bool {
    matches!(python::callee_name(call, src), Some("Column" | "mapped_column" | "Field"))
}

fn class_facts(statement: Node<'_>, src: &str, bases_out: &mut Vec<BaseName>) -> Option<ClassFacts> {
    let (class, decorators) = if statement.kind_str() == "decorated_definition" {
        let definition = statement.field("definition").filter(|d| d.kind_str() == "class_definition")?;
        let mut cursor = statement.walk();
        let decorators: Vec<String> = statement
            .named_children(&mut cursor)
            .filter(|c| c.kind_str() == "decorator")
            .map(|d| text(d, src).trim_start_matches('@').trim().to_string())
            .collect();
        (definition, decorators)
    } else {
        (statement, Vec::new())
    };
    let name = text(class.field("name")?, src).to_string();
    let mut facts = ClassFacts {
        name: name.clone(),
        line: class.start_position().row + 1,
        bases: Vec::new(),
        table_keyword: false,
        tablename: None,
        is_abstract: false,
        has_table: false,
        columns: Vec::new(),
        relationships: Vec::new(),
        primary_key_elsewhere: false,
        dynamic_body: false,
        table: None,
        table_args_indexes: Some(Vec::new()),
        table_args_members: Vec::new(),
    };
    if decorators.iter().any(|d| d.starts_with("as_declarative") || d.ends_with(".as_declarative_base()")) {
        bases_out.push(BaseName { name: name.clone(), kind: BaseKind::Declarative });
    }
    if decorators
        .iter()
        .any(|d| d.ends_with(".mapped") || d.ends_with(".mapped_as_dataclass") || d.ends_with(".mapped_as_dataclass()"))
    {
        // `@reg.mapped`: mapped without a declarative base class.
        facts.bases.push("@mapped".to_string());
    }
    if let Some(superclasses) = class.field("superclasses") {
        let mut cursor = superclasses.walk();
        for arg in superclasses.named_children(&mut cursor) {
            match arg.kind_str() {
                "keyword_argument" => {
                    let key = arg.field("name").map(|k| text(k, src));
                    let value = arg.field("value").map(|v| text(v, src));
                    if key == Some("table") && value == Some("True") {
                        facts.table_keyword = true;
                    }
                }
                "identifier" | "attribute" => {
                    if let Some(dotted) = python::dotted_name(arg, src) {
                        facts.bases.push(dotted);
                    }
                }
                "subscript" => {
                    // `Generic[T]`, `Base[Model]`: the subscripted name.
                    if let Some(dotted) = arg.field("value").and_then(|v| python::dotted_name(v, src)) {
                        facts.bases.push(dotted);
                    }
                }
                _ => {}
            }
        }
    }
    let body = class.field("body")?;
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        match statement.kind_str() {
            "expression_statement" => class_attribute(statement, src, &mut facts),
            "decorated_definition" => declared_attr(statement, src, &mut facts),
            // `def __tablename__(cls)` (under `@declared_attr` or not): a name computed per class.
            "function_definition" if statement.field("name").is_some_and(|n| text(n, src) == "__tablename__") => {
                facts.tablename = Some(String::new());
            }
            "if_statement" | "for_statement" | "try_statement" | "with_statement" | "while_statement" => {
                facts.dynamic_body = true;
            }
            _ => {}
        }
    }
    Some(facts)
}

fn class_attribute(statement: Node<'_>, src: &str, facts: &mut ClassFacts) {
    let Some(assignment) = statement.named_child(0).filter(|n| n.kind_str() == "assignment") else { return };
    let Some(left) = assignment.field("left").filter(|l| l.kind_str() == "identifier") else { return };
    let name = text(left, src);
    let annotation = assignment.field("type").map(|t| text(t, src).to_string());
    let value = assignment.field("right").map(unparen);
    let line = assignment.start_position().row + 1;
    match name {
        "__tablename__" => {
            facts.tablename = value.and_then(|v| string_value(v, src)).or_else(|| Some(String::new()));
            return;
        }
        "__abstract__" => {
            facts.is_abstract = value.is_some_and(|v| text(v, src) == "True");
            return;
        }
        "__table__" => {
            facts.has_table = true;
            facts.table = value.filter(|v| v.kind_str() == "call").and_then(|v| core_table(v, src));
            return;
        }
        "__table_args__" | "__mapper_args__" => {
            let written = value.map_or("", |v| text(v, src));
            facts.primary_key_elsewhere |= written.contains("PrimaryKeyConstraint") || written.contains("primary_key");
            if name == "__table_args__" {
                facts.table_args_indexes = value.and_then(|v| table_args(v, src));
                facts.table_args_members = value.map(|v| index_members(v, src)).unwrap_or_default();
            }
            return;
        }
        _ if name.starts_with("__") => return,
        _ => {}
    }
    match value {
        Some(call) if call.kind_str() == "call" && is_relationship_call(call, src) => {
            facts.relationships.push(relationship(name, annotation.as_deref(), call, src));
        }
        Some(call) if call.kind_str() == "call" && is_column_call(call, src) => {
            facts.primary_key_elsewhere |= primary_key_unknown(call, src);
            facts.columns.push(column(name, call, src, line));
        }
        // `name: Mapped[int]` (2.0) or `name: str` (SQLModel), with no value or a plain default.
        _ => {
            let Some(annotation) = annotation else { return };
            if annotation.starts_with("ClassVar") || annotation.contains(".ClassVar") {
                return;
            }
            let plain_default = value.is_some();
            // `id: Mapped[intpk]` with `intpk = Annotated[int, mapped_column(primary_key=True)]`:
            // a type alias may carry the column's arguments, a primary key among them.
            facts.primary_key_elsewhere |= annotation.starts_with("Mapped") && !has_plain_types(&annotation);
            facts.columns.push(Column {
                name: name.to_string(),
                primary_key: false,
                foreign_key: None,
                index: false,
                unique: false,
                nullable: None,
                line,
                db_name: None,
                plain_default,
            });
        }
    }
}

/// Is an annotation made only of builtin and standard types (no alias that could be an `Annotated[...]`)?
pub(crate) fn has_plain_types(annotation: &str) -> bool {
    const PLAIN: &[&str] = &[
        "Mapped",
        "Optional",
        "Union",
        "None",
        "int",
        "str",
        "bool",
        "float",
        "bytes",
        "bytearray",
        "datetime",
        "date",
        "time",
        "timedelta",
        "Decimal",
        "decimal",
        "UUID",
        "uuid",
        "dict",
        "list",
        "set",
        "tuple",
        "Dict",
        "List",
        "Set",
        "Tuple",
        "Any",
        "typing",
        "dt",
    ];
    annotation
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|token| !token.is_empty())
        .all(|token| PLAIN.contains(&token))
}

/// `@declared_attr def posts(cls): return relationship("Post")` in mixins.
fn declared_attr(statement: Node<'_>, src: &str, facts: &mut ClassFacts) {
    let mut cursor = statement.walk();
    let is_declared_attr = statement
        .named_children(&mut cursor)
        .any(|c| c.kind_str() == "decorator" && text(c, src).contains("declared_attr"));
    let Some(function) = statement.field("definition").filter(|d| d.kind_str() == "function_definition") else {
        return;
    };
    match function.field("name").map(|n| text(n, src)) {
        Some("__table_args__") => facts.table_args_indexes = None,
        Some("__tablename__") => facts.tablename = Some(String::new()),
        _ => {}
    }
    if !is_declared_attr {
        return;
    }
    let Some(name) = function.field("name").map(|n| text(n, src)) else { return };
    let annotation = function.field("return_type").map(|t| text(t, src).to_string());
    let Some(body) = function.field("body") else { return };
    let mut cursor = body.walk();
    let returned = body
        .named_children(&mut cursor)
        .filter(|s| s.kind_str() == "return_statement")
        .find_map(|s| s.named_child(0).map(unparen));
    match returned {
        Some(call) if call.kind_str() == "call" && is_relationship_call(call, src) => {
            facts.relationships.push(relationship(name, annotation.as_deref(), call, src));
        }
        Some(call) if call.kind_str() == "call" && is_column_call(call, src) => {
            let line = function.start_position().row + 1;
            facts.columns.push(column(name, call, src, line));
        }
        _ => {}
    }
}

fn bool_kwarg(call: Node<'_>, name: &str, src: &str) -> Option<bool> {
    match python::keyword_argument(call, name, src).map(|v| text(v, src)) {
        Some("True") => Some(true),
        Some("False") => Some(false),
        _ => None,
    }
}

/// `primary_key=` given a value that is not a literal (`primary_key=is_pk`), here or in SQLModel's `sa_column=`.
fn primary_key_unknown(call: Node<'_>, src: &str) -> bool {
    let unknown = |c: Node<'_>| {
        python::keyword_argument(c, "primary_key", src).is_some() && bool_kwarg(c, "primary_key", src).is_none()
    };
    let sa_column = python::keyword_argument(call, "sa_column", src).map(unparen).filter(|c| c.kind_str() == "call");
    unknown(call) || sa_column.is_some_and(unknown)
}

fn column(name: &str, call: Node<'_>, src: &str, line: usize) -> Column {
    // SQLModel: `Field(sa_column=Column(..., primary_key=True))` — the column says it all.
    if let Some(inner) = python::keyword_argument(call, "sa_column", src).map(unparen) {
        // One level only: `sa_column=` never nests in real code.
        if inner.kind_str() == "call"
            && is_column_call(inner, src)
            && python::keyword_argument(inner, "sa_column", src).is_none()
        {
            return column(name, inner, src, line);
        }
    }
    let mut foreign_key = None;
    for arg in python::positional_arguments(call) {
        let arg = unparen(arg);
        if arg.kind_str() == "call" && python::callee_name(arg, src) == Some("ForeignKey") {
            // `ForeignKey("users.id")`, or `ForeignKey(User.id)` (kept as written, `User.id`).
            foreign_key = python::positional_arguments(arg)
                .first()
                .and_then(|t| string_value(*t, src).or_else(|| python::dotted_name(unparen(*t), src)));
        }
    }
    if foreign_key.is_none() {
        // SQLModel: Field(foreign_key="users.id")
        foreign_key = python::keyword_argument(call, "foreign_key", src).and_then(|v| string_value(v, src));
    }
    // `Column("db_name", Integer)`, `mapped_column("db_name")`, `Column(Integer, name="db_name")`.
    // (SQLModel's `Field("x")` is a default value, not a name.)
    let db_name = Some(call)
        .filter(|c| matches!(python::callee_name(*c, src), Some("Column" | "mapped_column")))
        .and_then(|c| {
            python::positional_arguments(c)
                .first()
                .and_then(|n| string_value(*n, src))
                .or_else(|| python::keyword_argument(c, "name", src).and_then(|v| string_value(v, src)))
        })
        .filter(|n| n != name);
    Column {
        name: name.to_string(),
        db_name,
        primary_key: bool_kwarg(call, "primary_key", src).unwrap_or(false),
        foreign_key,
        index: bool_kwarg(call, "index", src).unwrap_or(false),
        unique: bool_kwarg(call, "unique", src).unwrap_or(false),
        nullable: bool_kwarg(call, "nullable", src),
        line,
        plain_default: false,
    }
}

/// Reads a `lazy=` value: a string, `True`/`False`/`None`, or unknown.
fn lazy_value(node: Node<'_>, src: &str) -> LoadStrategy {
    match string_value(node, src) {
        Some(value) => LoadStrategy::from_lazy(&value),
        None => LoadStrategy::from_lazy(text(node, src)),
    }
}

fn relationship(name: &str, annotation: Option<&str>, call: Node<'_>, src: &str) -> Relationship {
    let parsed = annotation.map(parse_annotation).unwrap_or_default();
    let target_arg = python::positional_arguments(call)
        .into_iter()
        .next()
        .map(unparen)
        .or_else(|| python::keyword_argument(call, "argument", src).map(unparen));
    let target = target_arg.and_then(|arg| match arg.kind_str() {
        "string" => string_value(arg, src).map(|s| last_component(&s)),
        // A class by name (`User`, `models.User`); a lowercase name is a variable or an attribute
        // such as `cls.target_name` whose value we cannot know, so the target stays unknown.
        "identifier" | "attribute" => python::dotted_name(arg, src)
            .map(|s| last_component(&s))
            .filter(|s| s.starts_with(|c: char| c.is_uppercase())),
        "lambda" => arg.field("body").and_then(|b| python::dotted_name(b, src)).map(|s| last_component(&s)),
        _ => None,
    });
    let cascade_value = |v: Node<'_>| string_value(v, src).unwrap_or_else(|| text(v, src).to_string());
    let mut cascade = python::keyword_argument(call, "cascade", src).map(cascade_value);
    let mut lazy = match python::keyword_argument(call, "lazy", src) {
        Some(value) => lazy_value(value, src),
        None => LoadStrategy::Select,
    };
    // SQLModel: Relationship(sa_relationship_kwargs={"lazy": "selectin"})
    if let Some(kwargs) = python::keyword_argument(call, "sa_relationship_kwargs", src).map(unparen) {
        if kwargs.kind_str() == "dictionary" {
            let mut cursor = kwargs.walk();
            for pair in kwargs.named_children(&mut cursor).filter(|p| p.kind_str() == "pair") {
                let key = pair.field("key").and_then(|k| string_value(k, src));
                if key.as_deref() == Some("lazy") {
                    if let Some(value) = pair.field("value") {
                        lazy = lazy_value(value, src);
                    }
                }
                if key.as_deref() == Some("cascade") {
                    cascade = pair.field("value").map(cascade_value);
                }
            }
        }
    }
    if let Some(wrapper_lazy) = parsed.wrapper_lazy.clone() {
        lazy = wrapper_lazy;
    }
    let uselist = bool_kwarg(call, "uselist", src);
    let collection = match (uselist, parsed.collection) {
        (Some(uselist), _) => Some(uselist),
        (None, known) => known,
    };
    let backref = python::keyword_argument(call, "backref", src).and_then(|v| {
        let v = unparen(v);
        match v.kind_str() {
            "string" => string_value(v, src),
            "call" => python::positional_arguments(v).first().and_then(|n| string_value(*n, src)),
            _ => None,
        }
    });
    Relationship {
        name: name.to_string(),
        target: target.or(parsed.target),
        collection,
        lazy,
        back_populates: python::keyword_argument(call, "back_populates", src).and_then(|v| string_value(v, src)),
        backref_lazy: backref.as_ref().map(|_| backref_lazy(call, src)),
        backref,
        from_backref: false,
        line: call.start_position().row + 1,
        secondary: python::keyword_argument(call, "secondary", src).is_some(),
        cascade,
        join_configured: ["foreign_keys", "primaryjoin", "secondaryjoin", "sa_relationship_kwargs"]
            .iter()
            .any(|k| python::keyword_argument(call, k, src).is_some())
            || python::arguments(call).iter().any(|a| a.kind_str() == "dictionary_splat"),
        remote_side: python::keyword_argument(call, "remote_side", src).is_some()
            || python::keyword_argument(call, "backref", src)
                .map(unparen)
                .is_some_and(|b| b.kind_str() == "call" && python::keyword_argument(b, "remote_side", src).is_some()),
        independent: ["viewonly", "overlaps"].iter().any(|k| python::keyword_argument(call, k, src).is_some()),
    }
}

/// The lazy strategy a `backref=backref("x", lazy=...)` gives the reverse side.
fn backref_lazy(call: Node<'_>, src: &str) -> LoadStrategy {
    python::keyword_argument(call, "backref", src)
        .map(unparen)
        .filter(|v| v.kind_str() == "call")
        .and_then(|v| python::keyword_argument(v, "lazy", src))
        .map_or(LoadStrategy::Select, |v| lazy_value(v, src))
}

fn last_component(dotted: &str) -> String {
    dotted.rsplit('.').next().unwrap_or(dotted).trim().to_string()
}

#[derive(Debug, Default, PartialEq)]
pub(crate) struct Annotation {
    pub(crate) target: Option<String>,
    pub(crate) collection: Option<bool>,
    /// `DynamicMapped` / `WriteOnlyMapped` fix the strategy.
    pub(crate) wrapper_lazy: Option<LoadStrategy>,
}

/// Reads `Mapped[list["Post"]]`, `Mapped[Optional["User"]]`, `DynamicMapped["Post"]`,
/// SQLModel `list["Post"]` / `"Team | None"`, textually (quotes anywhere are forward references).
pub(crate) fn parse_annotation(annotation: &str) -> Annotation {
    let cleaned: String = annotation.chars().filter(|c| !matches!(c, '"' | '\'' | ' ')).collect();
    let mut rest = cleaned.as_str();
    let mut result = Annotation::default();
    if let Some((wrapper, inner)) = split_generic(rest) {
        match last_component(wrapper).as_str() {
            "Mapped" => rest = inner,
            "DynamicMapped" => {
                result.wrapper_lazy = Some(LoadStrategy::Dynamic);
                result.collection = Some(true);
                rest = inner;
            }
            "WriteOnlyMapped" => {
                result.wrapper_lazy = Some(LoadStrategy::WriteOnly);
                result.collection = Some(true);
                rest = inner;
            }
            _ => {}
        }
    }
    if let Some((outer, inner)) = split_generic(rest) {
        match last_component(outer).as_str() {
            "list" | "List" | "set" | "Set" | "Sequence" | "MutableSequence" | "Collection" | "Iterable"
            | "AbstractSet" | "MutableSet" | "tuple" | "Tuple" | "FrozenSet" | "frozenset" => {
                result.collection = Some(true);
                rest = inner.split(',').next().unwrap_or(inner);
            }
            "Optional" => {
                result.collection.get_or_insert(false);
                rest = inner;
            }
            "dict" | "Dict" | "Mapping" | "MutableMapping" => {
                result.collection = Some(true);
                rest = inner.rsplit(',').next().unwrap_or(inner);
            }
            _ => return result,
        }
    }
    let parts: Vec<&str> = rest.split('|').filter(|p| *p != "None").collect();
    if let [single] = parts.as_slice() {
        if !single.is_empty() && single.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            result.target = Some(last_component(single));
            result.collection.get_or_insert(false);
        }
    }
    result
}

/// `Name[inner]` → (`Name`, `inner`).
fn split_generic(text: &str) -> Option<(&str, &str)> {
    let open = text.find('[')?;
    let inner = text.get(open + 1..)?.strip_suffix(']')?;
    Some((&text[..open], inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations() {
        let a = parse_annotation("Mapped[list[\"Post\"]]");
        assert_eq!((a.target.as_deref(), a.collection), (Some("Post"), Some(true)));
        let a = parse_annotation("Mapped[Optional['User']]");
        assert_eq!((a.target.as_deref(), a.collection), (Some("User"), Some(false)));
        let a = parse_annotation("Mapped[\"User | None\"]");
        assert_eq!((a.target.as_deref(), a.collection), (Some("User"), Some(false)));
        let a = parse_annotation("DynamicMapped[\"Post\"]");
        assert_eq!((a.target.as_deref(), a.wrapper_lazy), (Some("Post"), Some(LoadStrategy::Dynamic)));
        let a = parse_annotation("list[\"Hero\"]");
        assert_eq!((a.target.as_deref(), a.collection), (Some("Hero"), Some(true)));
        let a = parse_annotation("Optional[\"Team\"]");
        assert_eq!(a.target.as_deref(), Some("Team"));
        let a = parse_annotation("Mapped[typing.List[models.Post]]");
        assert_eq!(a.target.as_deref(), Some("Post"));
        assert_eq!(parse_annotation("Mapped[dict[str, Note]]").target.as_deref(), Some("Note"));
    }
}
