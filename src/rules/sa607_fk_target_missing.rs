//! SA607 fk-target-missing: a literal `ForeignKey("table.column")` whose table the project does
//! not define, or whose table has no such column. Decided against the model index after the pass;
//! silent whenever the table could exist where the index cannot see (see the rule docs).
use crate::syntax::Fields;
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::{ModelIndex, TableKnowledge};
use crate::python::{self, unparen};
use crate::registry::RuleId;

/// Where the foreign key is declared.
enum Owner {
    /// In the body of class `name`.
    Class(String),
    /// In a Core `Table(...)` whose metadata is named from `root`: defined in this file
    /// (`md = MetaData()`, `Base.metadata` of a local class) or imported.
    Table { local: bool, root: String },
}

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(call), Some(callee)) = (m.get("call"), m.get("callee")) else { return };
    let src = checker.source();
    let target = match checker.text(callee) {
        "ForeignKey" => python::positional_arguments(call)
            .first()
            .copied()
            .or_else(|| python::keyword_argument(call, "column", src)),
        _ => python::keyword_argument(call, "foreign_key", src),
    };
    let Some(target) = target.map(unparen).filter(|t| t.kind_str() == "string" && python::is_literal_string(*t)) else {
        return;
    };
    let written = checker.text(target).trim_matches(|c| c == '"' || c == '\'').to_string();
    let function = call.field("function").map_or("ForeignKey", |f| checker.text(f));
    let spelled = if checker.text(callee) == "Field" {
        format!("foreign_key=\"{written}\"")
    } else {
        format!("{function}(\"{written}\")")
    };
    // `table.column` only: a schema-qualified target may name a schema made outside the project.
    let Some((table, column)) = written.split_once('.') else { return };
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !valid(table) || !valid(column) || python::imports_alembic(call, src) {
        return;
    }
    let Some(owner) = owner(call, src) else { return };
    checker.defer(Box::new(ForeignKeyTarget {
        rule: checker.rule,
        spelled,
        table: table.to_string(),
        column: column.to_string(),
        owner,
        range: target.byte_range(),
    }));
}

/// The class or `Table(...)` the foreign key belongs to; `None` inside a function (the index
/// reads module-level definitions only) or anywhere else.
fn owner(call: Node<'_>, src: &str) -> Option<Owner> {
    if python::ancestors(call).any(|a| matches!(a.kind_str(), "function_definition" | "lambda")) {
        return None;
    }
    for ancestor in python::ancestors(call) {
        match ancestor.kind_str() {
            "class_definition" => {
                let name = src.get(ancestor.field("name")?.byte_range())?;
                return Some(Owner::Class(name.to_string()));
            }
            "call" if python::callee_name(ancestor, src) == Some("Table") => {
                let metadata = python::positional_arguments(ancestor).get(1).copied().map(unparen)?;
                // Flask-SQLAlchemy's `db.Table("t", db.Column(...))` uses `db`'s metadata.
                let root = match metadata.kind_str() {
                    "call" => python::receiver(ancestor).and_then(|r| python::dotted_name(r, src))?,
                    _ => python::dotted_name(metadata, src)?,
                };
                let root = root.split('.').next().unwrap_or_default().to_string();
                let local = defines(ancestor, &root, src);
                return Some(Owner::Table { local, root });
            }
            _ => {}
        }
    }
    None
}

/// Does the module of `node` bind `name` at top level (`name = MetaData()`, `class name(...)`)?
fn defines(node: Node<'_>, name: &str, src: &str) -> bool {
    crate::sessions::module_statements(node).into_iter().any(|statement| {
        let bound = match statement.kind_str() {
            "class_definition" => statement.field("name"),
            "expression_statement" => statement
                .named_child(0)
                .filter(|a| a.kind_str() == "assignment")
                .and_then(|a| a.field("left")),
            _ => None,
        };
        bound.is_some_and(|b| src.get(b.byte_range()) == Some(name))
    })
}

struct ForeignKeyTarget {
    rule: RuleId,
    /// The foreign key as written: `ForeignKey("t.c")`, `db.ForeignKey("t.c")`, `foreign_key="t.c"`.
    spelled: String,
    table: String,
    column: String,
    owner: Owner,
    range: Range<usize>,
}

impl ForeignKeyTarget {
    /// Is the foreign key on a metadata the project owns, so every table it can reach is the project's?
    fn on_project_metadata(&self, project: &Project<'_>) -> bool {
        let index = project.index;
        match &self.owner {
            Owner::Class(class) => index
                .lookup(class, project.file)
                .is_some_and(|model| model.module == project.file.module && model.complete),
            Owner::Table { local, root } => {
                *local
                    || project.file.imports.iter().any(|i| i.local == *root && index.defines_import(&i.target))
            }
        }
    }

    fn where_declared(&self) -> String {
        match &self.owner {
            Owner::Class(class) => format!("in `{class}`"),
            Owner::Table { .. } => "in this `Table`".to_string(),
        }
    }
}

impl Deferred for ForeignKeyTarget {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        let (spelled, table, column) = (&self.spelled, &self.table, &self.column);
        let (message, help) = match index.table(table) {
            TableKnowledge::Unknown => return,
            TableKnowledge::Missing => {
                if !self.on_project_metadata(project) {
                    return;
                }
                let names = table_names(index);
                let close: Vec<&String> =
                    names.iter().filter(|n| python::edit_distance(n, table, 2).is_some()).take(3).collect();
                let help = match close.as_slice() {
                    [] => "name a table the project defines (`__tablename__` or `Table(...)`), or the column itself: \
                           `ForeignKey(Model.id)`"
                        .to_string(),
                    found => format!(
                        "did you mean {}? Or name the column itself (`ForeignKey(Model.id)`), which follows renames",
                        found.iter().map(|n| format!("`{n}.{column}`")).collect::<Vec<_>>().join(" or ")
                    ),
                };
                (
                    format!(
                        "`{spelled}` {} names table `{table}`, which no model or `Table` of the project \
                         defines: `metadata.create_all()` and the first flush that needs the key fail with \
                         `NoReferencedTableError`",
                        self.where_declared()
                    ),
                    help,
                )
            }
            TableKnowledge::Columns { keys, models } => {
                if keys.contains(&column.as_str()) {
                    return;
                }
                let owner = match models.as_slice() {
                    [model] => format!("table `{table}` (model `{}`)", model.name),
                    _ => format!("table `{table}`"),
                };
                // An attribute stored under another column name: `id = mapped_column("user_id", ...)`.
                let renamed = models.iter().find_map(|m| {
                    m.column(column).and_then(|c| c.db_name.as_deref()).map(|db| (m.name.as_str(), db))
                });
                let help = if let Some((model, db)) = renamed {
                    format!(
                        "`{model}.{column}` is stored as column `{db}`: use `ForeignKey(\"{table}.{db}\")` or \
                         `ForeignKey({model}.{column})`"
                    )
                } else {
                    let mut close: Vec<&str> =
                        keys.iter().copied().filter(|k| python::edit_distance(k, column, 2).is_some()).collect();
                    close.sort_unstable();
                    close.dedup();
                    match close.as_slice() {
                        [] => {
                            let mut all: Vec<&str> = keys.clone();
                            all.sort_unstable();
                            all.dedup();
                            let shown: Vec<String> = all.iter().take(8).map(|k| format!("`{k}`")).collect();
                            let more = all.len().saturating_sub(8);
                            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                            format!("name one of the columns of `{table}`: {}{more}", shown.join(", "))
                        }
                        found => format!(
                            "did you mean {}?",
                            found.iter().map(|k| format!("`{table}.{k}`")).collect::<Vec<_>>().join(" or ")
                        ),
                    }
                };
                (
                    format!(
                        "`{spelled}` {} names column `{column}` of {owner}, which has no such \
                         column: `metadata.create_all()` and the first flush that needs the key fail with \
                         `NoReferencedColumnError`",
                        self.where_declared()
                    ),
                    help,
                )
            }
        };
        out.push(Diagnostic { rule: self.rule, range: self.range.clone(), message, help: Some(help), fix: None });
    }
}

/// Every table name the project defines, for suggestions (generated names in Flask-SQLAlchemy's style).
fn table_names(index: &ModelIndex) -> Vec<String> {
    let mut names: Vec<String> = index
        .models()
        .iter()
        .map(|m| match m.tablename.as_deref().filter(|t| !t.is_empty()) {
            Some(name) => name.to_string(),
            None => snake_case(&m.name),
        })
        .chain(index.tables().iter().map(|(_, t)| t.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Flask-SQLAlchemy's generated table name: `UserAccount` → `user_account`, `HTTPLog` → `http_log`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase() || previous.is_ascii_digit() || (next_lower && previous != '_') {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn generated_table_names() {
        assert_eq!(snake_case("UserAccount"), "user_account");
        assert_eq!(snake_case("HTTPLog"), "http_log");
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("Item2Tag"), "item2_tag");
    }
}
