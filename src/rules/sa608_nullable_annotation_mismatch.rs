//! SA608 nullable-annotation-mismatch: an explicit `nullable=` that contradicts the
//! `Mapped[...]` (or SQLModel) annotation of the same column.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use crate::checker::{Checker, Match};
use crate::python;

/// Types whose annotation cannot hide an `Optional` (unlike a project's own alias).
const PLAIN: &[&str] = &[
    "Mapped", "int", "str", "bool", "float", "bytes", "bytearray", "datetime", "date", "time", "timedelta", "Decimal",
    "decimal", "UUID", "uuid", "dict", "list", "set", "tuple", "Dict", "List", "Set", "Tuple", "typing", "dt",
];

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(attr), Some(annotation), Some(call), Some(function)) =
        (m.get("attr"), m.get("annotation"), m.get("call"), m.get("function"))
    else {
        return;
    };
    let src = checker.source();
    let Some(callee) = python::dotted_name(function, src) else { return };
    let written = checker.text(annotation);
    let compact: String = written.chars().filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\'')).collect();
    // The column's Python type: inside `Mapped[...]` for `mapped_column`, the annotation itself for SQLModel.
    let inner = if python::is_sqlalchemy_callee(function, &callee, &["mapped_column"], src) {
        match compact.strip_prefix("Mapped[").and_then(|rest| rest.strip_suffix(']')) {
            Some(inner) => inner.to_string(),
            None => return,
        }
    } else if callee == "Field" && sqlmodel_field(function, src) {
        compact.clone()
    } else {
        return;
    };
    let nullable = match python::keyword_argument(call, "nullable", src).map(|v| checker.text(v)) {
        Some("True") => true,
        Some("False") => false,
        _ => return,
    };
    let any = inner == "Any" || inner.ends_with(".Any");
    if python::keyword_argument(call, "primary_key", src).is_some() || inner.is_empty() || any {
        return;
    }
    let optional = allows_none(&inner);
    let (name, shown) = (checker.text(attr), python::one_line(written, 60));
    let (message, help) = match (optional, nullable) {
        (true, false) => (
            format!(
                "`{name}: {shown}` allows `None`, but `nullable=False` makes the column NOT NULL: assigning `None` \
                 type-checks and then fails at flush with `IntegrityError`"
            ),
            "drop `| None` / `Optional` from the annotation (then `nullable=False` is implied), or make the column \
             nullable"
                .to_string(),
        ),
        (false, true) => {
            // `Mapped[MyAlias]` may itself be `Optional[...]`: only plain types are certain.
            let plain = inner.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|t| !t.is_empty()).all(|t| PLAIN.contains(&t));
            if !plain || single_table_subclass(call, src) {
                return;
            }
            (
                format!(
                    "`{name}: {shown}` promises a value, but `nullable=True` lets the column hold NULL: rows with NULL \
                     load as `None` where the type says `{inner}`"
                ),
                format!("annotate `{inner} | None` (`Optional[{inner}]`), then `nullable=True` is implied; or make the column NOT NULL"),
            )
        }
        _ => return,
    };
    let Some(keyword) = python::arguments(call).into_iter().find(|a| {
        a.kind_str() == "keyword_argument" && a.field("name").is_some_and(|n| checker.text(n) == "nullable")
    }) else {
        return;
    };
    checker.report(keyword.byte_range(), message, help);
}

/// `Field` imported from SQLModel (or `sqlmodel.Field`).
fn sqlmodel_field(function: tree_sitter::Node<'_>, src: &str) -> bool {
    python::visible_imports(function, src).iter().any(|i| {
        i.module.split('.').next() == Some("sqlmodel") && (i.name == Some("Field") || i.name == Some("*"))
    })
}

/// Does a compact annotation (no spaces or quotes) admit `None`: `Optional[X]`, `Union[X, None]`,
/// `X | None` at the top level?
fn allows_none(annotation: &str) -> bool {
    let top = split_top(annotation, '|');
    if top.len() > 1 {
        return top.contains(&"None");
    }
    let name = annotation.split('[').next().unwrap_or(annotation);
    let last = name.rsplit('.').next().unwrap_or(name);
    match last {
        "Optional" => true,
        "Union" => {
            let args = annotation.get(name.len() + 1..annotation.len().saturating_sub(1)).unwrap_or("");
            split_top(args, ',').contains(&"None")
        }
        _ => false,
    }
}

/// Splits on `sep` outside brackets.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
    for (at, c) in text.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A class body with no `__tablename__` / `__table__` of its own: a single-table inheritance
/// subclass (or a Flask-SQLAlchemy model, which names its table implicitly), whose columns live
/// in the parent's table and must be nullable there even when every row of this class has a value
/// (`manager_data: Mapped[str] = mapped_column(nullable=True)`, as SQLAlchemy's docs write it).
fn single_table_subclass(call: tree_sitter::Node<'_>, src: &str) -> bool {
    let Some(body) = python::ancestors(call).find(|a| a.kind_str() == "class_definition").and_then(|c| c.field("body"))
    else {
        return false;
    };
    !python::named_children(body).iter().any(|statement| {
        let left = statement.named_child(0).filter(|a| a.kind_str() == "assignment").and_then(|a| a.field("left"));
        left.and_then(|l| src.get(l.byte_range())).is_some_and(|name| matches!(name, "__tablename__" | "__table__"))
    })
}
