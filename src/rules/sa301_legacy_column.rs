//! SA301 legacy-column: `name = Column(Type, ...)` in a model class body, with the
//! 2.0 `name: Mapped[T] = mapped_column(Type, ...)` as help and, where the Python
//! type and the nullability are certain, a safe fix that keeps the table identical.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python::{self, unparen};

/// A Python type for a column type: (module it lives in, name in that module).
type PyType = (Option<&'static str>, &'static str);

/// The Python type SQLAlchemy uses for a column type (its `python_type`).
fn python_type(sql_type: &str) -> Option<PyType> {
    Some(match sql_type {
        "Integer" | "SmallInteger" | "BigInteger" | "INTEGER" | "BIGINT" | "SMALLINT" | "INT" => (None, "int"),
        "String" | "Text" | "Unicode" | "UnicodeText" | "VARCHAR" | "CHAR" | "TEXT" | "NVARCHAR" | "NCHAR"
        | "CLOB" => (None, "str"),
        "Boolean" | "BOOLEAN" => (None, "bool"),
        "Float" | "REAL" | "FLOAT" | "Double" | "DOUBLE" | "DOUBLE_PRECISION" => (None, "float"),
        "LargeBinary" | "BLOB" | "BINARY" | "VARBINARY" | "BYTEA" => (None, "bytes"),
        "DateTime" | "DATETIME" | "TIMESTAMP" => (Some("datetime"), "datetime"),
        "Date" | "DATE" => (Some("datetime"), "date"),
        "Time" | "TIME" => (Some("datetime"), "time"),
        "Interval" => (Some("datetime"), "timedelta"),
        "Numeric" | "NUMERIC" | "DECIMAL" => (Some("decimal"), "Decimal"),
        "JSON" | "JSONB" => (None, "dict"),
        "Uuid" | "UUID" => (Some("uuid"), "UUID"),
        _ => return None,
    })
}

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let (Some(class), Some(name), Some(call), Some(assignment)) =
        (m.get("class"), m.get("name"), m.get("call"), m.get("assignment"))
    else {
        return;
    };
    let src = checker.source();
    let attribute = checker.text(name);
    if attribute.starts_with("__")
        || !python::calls_sqlalchemy(call, src)
        || python::ancestors(class).any(|a| a.kind_str() == "function_definition")
        || python::imports_alembic(class, src)
    {
        return;
    }
    let annotation = assignment.field("type").map(|t| checker.text(t));
    if annotation.is_some_and(|a| a.contains("Mapped")) {
        return;
    }
    let class_name = class.field("name").map(|n| checker.text(n)).unwrap_or("the model");
    let args = python::positional_arguments(call);
    let type_arg = match args.first().map(|a| unparen(*a)) {
        Some(first) if first.kind_str() == "string" => args.get(1).copied(),
        first => first,
    };
    let sql_type = type_arg.and_then(|t| {
        let t = unparen(t);
        match t.kind_str() {
            "identifier" | "attribute" => python::dotted_name(t, src).and_then(|d| d.rsplit('.').next().map(String::from)),
            "call" if python::keyword_argument(t, "asdecimal", src).is_none() => {
                python::callee_name(t, src).map(String::from)
            }
            _ => None,
        }
    });
    let py_type = sql_type.as_deref().and_then(python_type);
    let literal = |key: &str| python::keyword_argument(call, key, src).map(|v| checker.text(v));
    let primary_key = match literal("primary_key") {
        None | Some("False") => Some(false),
        Some("True") => Some(true),
        Some(_) => None,
    };
    let optional = match (literal("nullable"), primary_key) {
        (Some("False"), _) => Some(false),
        (Some("True"), _) => Some(true),
        (None, Some(pk)) => Some(!pk),
        _ => None,
    };
    let spelled = py_type.map(|(module, name)| spell(call, src, module, name));
    let shown_type = spelled.as_ref().map_or_else(
        || py_type.map_or("<python type>".to_string(), |(m, n)| m.map_or(n.to_string(), |m| format!("{m}.{n}"))),
        |(text, _)| text.clone(),
    );
    let shown = match optional {
        Some(true) | None => format!("Optional[{shown_type}]"),
        Some(false) => shown_type.clone(),
    };
    let function = call.field("function").map(unparen);
    let arguments = call.field("arguments").map(|a| checker.text(a)).unwrap_or("(...)");
    let arguments = if arguments.contains('\n') { "(...)" } else { arguments };
    let message = format!(
        "`{class_name}.{attribute}` is a legacy `Column` attribute with no `Mapped[...]` annotation: type checkers see \
         neither its Python type nor whether it can be `None`"
    );
    let help = format!("declare it the 2.0 way: `{attribute}: Mapped[{shown}] = mapped_column{arguments}`");
    // The fix: certain type (spelled with what the module imports), certain nullability, no comment.
    let fixable = annotation.is_none()
        && optional.is_some()
        && sql_type.as_deref().is_some_and(|t| !matches!(t, "JSON" | "JSONB"))
        && spelled.as_ref().is_some_and(|(_, importable)| *importable)
        && !has_comment(call)
        && !call.has_error();
    let module = python::ancestors(class).find(|n| n.kind_str() == "module");
    let diagnostic = checker.report(assignment.byte_range(), message, help);
    let (true, Some(function), Some(module)) = (fixable, function, module) else { return };
    let mut edits = vec![
        Edit::replace(name.end_byte()..name.end_byte(), format!(": Mapped[{shown}]")),
        Edit::replace(function.byte_range(), "mapped_column"),
    ];
    edits.extend(crate::fix::ensure_import(module, src, "sqlalchemy.orm", "Mapped"));
    edits.extend(crate::fix::ensure_import(module, src, "sqlalchemy.orm", "mapped_column"));
    if optional == Some(true) {
        edits.extend(crate::fix::ensure_import(module, src, "typing", "Optional"));
    }
    diagnostic.set_fix(Fix {
        applicability: Applicability::Safe,
        title: format!("Declare `{attribute}: Mapped[{shown}] = mapped_column(...)`"),
        edits,
    });
}

/// How the module can spell a Python type, and whether it can without a new import:
/// builtins always; `datetime.date` if the module imports `datetime`, `date` if it imports
/// `from datetime import date`.
fn spell(node: Node<'_>, src: &str, module: Option<&str>, name: &str) -> (String, bool) {
    let Some(module) = module else { return (name.to_string(), true) };
    let imports = python::visible_imports(node, src);
    if imports.iter().any(|i| i.module == module && i.name == Some(name) && i.local == name) {
        return (name.to_string(), true);
    }
    let whole = imports.iter().any(|i| i.module == module && i.name.is_none() && i.local == module);
    // `from datetime import datetime` shadows the module name: `datetime.datetime` would break.
    let shadowed = imports.iter().any(|i| i.local == module && i.name.is_some());
    (format!("{module}.{name}"), whole && !shadowed)
}

fn has_comment(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.kind_str() == "comment" {
            return true;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    false
}
