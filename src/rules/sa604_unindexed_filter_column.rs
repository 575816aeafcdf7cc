//! SA604 unindexed-filter-column: a model column that queries anywhere in the project filter or
//! sort by, with no index. Two halves: query calls record the columns they use (added to the
//! index facts, see [`Deferred::column_uses`]); class bodies defer a check of their columns,
//! resolved against every recorded use once the index is built.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use std::ops::Range;

use tree_sitter::Node;

use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::extract::has_plain_types;
use crate::index::ColumnUse;
use crate::python::{self, unparen};
use crate::registry::RuleId;

/// Places listed in a message before "and N more".
const SHOWN: usize = 3;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let src = checker.source();
    if let (Some(call), Some(method)) = (m.get("call"), m.get("method")) {
        if python::imports_alembic(call, src) || python::in_test_code(call, src) {
            return;
        }
        let uses = column_uses(call, method, src);
        if !uses.is_empty() {
            checker.defer(Box::new(Uses(uses)));
        }
    } else if let (Some(class), Some(body)) = (m.get("class"), m.get("body")) {
        if python::imports_alembic(body, src) {
            return;
        }
        let columns = column_definitions(body, src);
        if !columns.is_empty() {
            checker.defer(Box::new(Definitions { rule: checker.rule, class: checker.text(class).to_string(), columns }));
        }
    }
}

/// The columns a query method names: `Model.attr` anywhere in the arguments of `filter` /
/// `where` / `order_by`, the keywords of `filter_by` on the query's entity.
fn column_uses(call: Node<'_>, method: Node<'_>, src: &str) -> Vec<ColumnUse> {
    // The line of `.filter(`, not of the chain's start, which may be lines above.
    let line = method.start_position().row + 1;
    let method = src.get(method.byte_range()).unwrap_or("");
    let mut out = Vec::new();
    if method == "filter_by" {
        let Some(entity) = entity(call, src) else { return out };
        for argument in python::arguments(call).into_iter().filter(|a| a.kind_str() == "keyword_argument") {
            if let Some(name) = argument.field("name").and_then(|n| src.get(n.byte_range())) {
                out.push(ColumnUse { model: entity.to_string(), attribute: name.to_string(), line });
            }
        }
        return out;
    }
    // A bounded walk of the arguments (deeply nested criteria are rare and stay cheap).
    let mut stack: Vec<Node<'_>> = python::arguments(call);
    let mut visited = 0;
    while let Some(node) = stack.pop() {
        visited += 1;
        if visited > 2_000 || node.kind_str() == "lambda" || node.kind_str() == "call" && is_query_call(node, src) {
            continue;
        }
        if node.kind_str() == "attribute" {
            let is_callee = node.up().is_some_and(|p| p.kind_str() == "call" && p.field("function") == Some(node));
            let object = node.field("object").map(unparen);
            let attribute = node.field("attribute").and_then(|a| src.get(a.byte_range()));
            if let (false, Some(object), Some(attribute)) = (is_callee, object, attribute) {
                let model = src.get(object.byte_range()).unwrap_or("");
                if object.kind_str() == "identifier" && crate::query::is_class_name(model) && !pattern_match(node, src) {
                    out.push(ColumnUse { model: model.to_string(), attribute: attribute.to_string(), line });
                    continue;
                }
            }
        }
        stack.extend(python::named_children(node));
    }
    out
}

/// `Model.col.ilike("%x%")`, `.contains(x)`...: a substring or pattern search, which a B-tree
/// index does not serve, so it is no reason to add one.
fn pattern_match(column: Node<'_>, src: &str) -> bool {
    const PATTERNS: &[&str] =
        &["like", "ilike", "not_like", "not_ilike", "notlike", "notilike", "contains", "endswith", "regexp_match", "match"];
    column
        .up()
        .filter(|p| p.kind_str() == "attribute")
        .and_then(|p| p.field("attribute"))
        .and_then(|a| src.get(a.byte_range()))
        .is_some_and(|method| PATTERNS.contains(&method))
}

/// A nested query (`select(...)`, `.query(...)`): its criteria are its own calls' business.
fn is_query_call(node: Node<'_>, src: &str) -> bool {
    matches!(python::callee_name(node, src), Some("select" | "query" | "exists" | "filter" | "where"))
}

/// The entity `filter_by` filters: `session.query(M)`, `select(M)`, Flask-SQLAlchemy `M.query`.
fn entity<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let chain = python::chain(call, src);
    for (position, link) in chain.links.iter().enumerate() {
        let entity = match (link.name, link.call) {
            ("query", None) if position == 0 => Some(chain.root),
            ("query" | "select", Some(c)) => python::positional_arguments(c).first().copied().map(unparen),
            _ => None,
        };
        if let Some(entity) = entity {
            return src
                .get(entity.byte_range())
                .filter(|name| entity.kind_str() == "identifier" && crate::query::is_class_name(name));
        }
    }
    None
}

/// `(attribute, range)` of the class body's column definitions whose index flags are literal.
fn column_definitions(body: Node<'_>, src: &str) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    for statement in python::named_children(body) {
        let Some(assignment) = statement.named_child(0).filter(|a| statement.kind_str() == "expression_statement" && a.kind_str() == "assignment") else {
            continue;
        };
        let Some(left) = assignment.field("left").filter(|l| l.kind_str() == "identifier") else { continue };
        let Some(name) = src.get(left.byte_range()).filter(|n| !n.starts_with("__")) else { continue };
        let value = assignment.field("right").map(unparen);
        let known = match value {
            Some(call) if call.kind_str() == "call" => {
                let column = python::keyword_argument(call, "sa_column", src).map(unparen).unwrap_or(call);
                matches!(python::callee_name(call, src), Some("Column" | "mapped_column" | "Field"))
                    && ["index", "unique", "primary_key"].iter().all(|k| {
                        [call, column].iter().all(|c| {
                            python::keyword_argument(*c, k, src)
                                .is_none_or(|v| matches!(src.get(v.byte_range()), Some("True" | "False")))
                        })
                    })
            }
            // `email: Mapped[str]`: plain types only (an alias may be `Annotated[str, mapped_column(index=True)]`).
            None => assignment
                .field("type")
                .and_then(|t| src.get(t.byte_range()))
                .is_some_and(|t| has_plain_types(t) && !t.starts_with("ClassVar")),
            Some(_) => false,
        };
        // A boolean has two values: an index on it alone rarely beats reading the table.
        let boolean = assignment.field("type").and_then(|t| src.get(t.byte_range())).is_some_and(|t| {
            t.trim_start_matches("Mapped[").trim_end_matches(']').trim_start_matches("Optional[") == "bool"
                || t == "bool"
                || t.starts_with("Mapped[bool")
        }) || value.is_some_and(|call| {
            call.kind_str() == "call"
                && python::positional_arguments(call).into_iter().map(unparen).any(|arg| {
                    let name = python::dotted_name(arg, src)
                        .or_else(|| (arg.kind_str() == "call").then(|| python::callee_name(arg, src).map(String::from)).flatten());
                    name.is_some_and(|n| matches!(n.rsplit('.').next(), Some("Boolean" | "BOOLEAN")))
                })
        });
        if known && !boolean {
            out.push((name.to_string(), left.byte_range()));
        }
    }
    out
}

/// Column uses of one query call; nothing to report by itself.
struct Uses(Vec<ColumnUse>);

impl Deferred for Uses {
    fn resolve(&self, _: &Project<'_>, _: &mut Vec<Diagnostic>) {}

    fn column_uses(&self) -> &[ColumnUse] {
        &self.0
    }
}

struct Definitions {
    rule: RuleId,
    class: String,
    columns: Vec<(String, Range<usize>)>,
}

impl Deferred for Definitions {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let index = project.index;
        // Uses are recorded by class name: a name two models share is ambiguous.
        let Some(model) = index.unique(&self.class).and_then(|id| index.get(id)) else { return };
        if model.module != project.file.module || model.has_table {
            return;
        }
        let Some(leading) = model.table_args_indexes.as_ref() else { return };
        let tablename = model.tablename.as_deref().filter(|t| !t.is_empty());
        let table = tablename.unwrap_or(&model.name);
        let whole = tablename.map_or_else(|| format!("the whole table of `{}`", model.name), |t| format!("the whole `{t}` table"));
        for (attribute, range) in &self.columns {
            let Some(column) = model.column(attribute) else { continue };
            let db_name = column.db_name.as_deref().unwrap_or(attribute);
            let indexed = column.index
                || column.unique
                || column.primary_key
                || leading.iter().any(|l| l == attribute || l == db_name)
                // Inside a composite index: queries usually filter it with the leading columns.
                || model.table_args_members.iter().any(|l| l == attribute || l == db_name)
                || index.has_module_index(&model.name, attribute)
                || index.has_module_index(table, db_name);
            if indexed {
                continue;
            }
            let places = index.column_uses(&model.name, attribute);
            if places.is_empty() {
                continue;
            }
            let shown: Vec<String> =
                places.iter().take(SHOWN).map(|(path, line)| format!("{}:{line}", path.display())).collect();
            let more = places.len().saturating_sub(SHOWN);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            let count = if places.len() == 1 { "1 place".to_string() } else { format!("{} places", places.len()) };
            out.push(Diagnostic {
                rule: self.rule,
                range: range.clone(),
                message: format!(
                    "`{}.{attribute}` has no index, but queries filter or sort by it in {count} ({}{more}): each of \
                     them reads {whole}",
                    model.name,
                    shown.join(", ")
                ),
                help: Some(format!(
                    "add `index=True` to `{attribute}` (or `unique=True` if its values are unique), or lead an \
                     `Index(...)` in `__table_args__` with it; then create the index in a migration"
                )),
                fix: None,
            });
        }
    }
}
