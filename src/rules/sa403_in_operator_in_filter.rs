//! SA403 in-operator-in-filter: Python `in` / `not in` with a column inside query criteria.
//! `x in y` calls `y.__contains__(x)`: with a column on the right SQLAlchemy raises
//! `NotImplementedError`; with a column on the left, a list / tuple / set answers `False`
//! (each `element == column` is a falsy identity test) and a string raises `TypeError`.
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("criteria") else { return };
    let src = checker.source();
    for found in python::criteria_operators(call, src) {
        if found.node.kind_str() != "comparison_operator" {
            continue;
        }
        let pairs = python::comparison_pairs(found.node);
        let single = pairs.len() == 1;
        for (left, operator, right) in pairs {
            if !matches!(operator, "in" | "not in") {
                continue;
            }
            // Python asks the right side: a column there raises whatever the left side is.
            if python::is_criteria_column(right, src) {
                value_in_column(checker, found.node, left, operator, right);
                break;
            }
            if python::is_criteria_column(left, src) {
                column_in_values(checker, call, found.node, single, left, operator, right);
                break;
            }
        }
    }
}

/// `User.role in roles`: Python searches `roles` for the column object.
fn column_in_values(
    checker: &mut Checker<'_>,
    call: Node<'_>,
    comparison: Node<'_>,
    single: bool,
    column: Node<'_>,
    operator: &str,
    values: Node<'_>,
) {
    let src = checker.source();
    let negated = operator == "not in";
    let (value, sql, method) = if negated { ("True", "NOT IN", "not_in") } else { ("False", "IN", "in_") };
    let column_text = checker.text(column);
    let values_text = checker.text(values);
    let comparison_text = short(checker.text(comparison));
    let container = python::unparen(values);
    let mut cursor = container.walk();
    let literal_values = matches!(container.kind_str(), "list" | "tuple" | "set")
        && !container.named_children(&mut cursor).any(|n| python::is_criteria_column(n, src));
    let relationship = python::mapped_attribute(column, src) == python::MappedAttribute::Relationship;
    let message = if relationship {
        // `Account.owner in [1, 2]` compares the relationship with each element.
        format!(
            "`{comparison_text}` is evaluated by Python, not SQL: Python compares the relationship `{}` with each \
             element of `{}`, which raises `ArgumentError` unless they are mapped objects (then it is `{value}`); \
             never a SQL `{sql}`",
            short(column_text),
            short(values_text),
        )
    } else if python::is_literal_string(values) {
        format!(
            "`{comparison_text}` is evaluated by Python, not SQL: Python's `in` on a string needs a string on \
             the left, so it raises `TypeError` before any SQL `{sql}` is built"
        )
    } else {
        let always = if literal_values {
            format!("it is always `{value}`")
        } else {
            format!("it is `{value}` for any list, tuple, set or dict")
        };
        let effect = if single {
            python::constant_effect(call, comparison, negated, src)
        } else {
            "the condition is lost".to_string()
        };
        format!(
            "`{comparison_text}` is evaluated by Python, not SQL: Python looks for the column object itself among \
             `{}`, so {always}, never a SQL `{sql}`; {effect}",
            short(values_text),
        )
    };
    let replacement = format!("{column_text}.{method}({values_text})");
    let help = if python::mapped_attribute(column, src) == python::MappedAttribute::Relationship {
        // Relationship comparators raise `NotImplementedError` for `.in_()`.
        format!(
            "a relationship has no `.in_()`: compare its foreign-key column with `.{method}(...)`, or use \
             `{column_text}.has(...)`"
        )
    } else if python::is_literal_string(values) {
        format!("write `{column_text}.{method}([...])` with the values in a list (a string is not a list of values)")
    } else {
        format!("write `{}`", short(&replacement))
    };
    let fixable = single && !python::is_literal_string(values) && python::is_certain_column(column, src);
    let diagnostic = checker.report(comparison.byte_range(), message, help);
    if fixable {
        diagnostic.set_fix(Fix {
            applicability: Applicability::Safe,
            title: format!("Replace with `{}`", short(&replacement)),
            edits: vec![Edit::replace(comparison.byte_range(), replacement)],
        });
    }
}

/// `tag in Post.tags`: Python calls `Post.tags.__contains__(tag)`, which SQLAlchemy refuses.
fn value_in_column(checker: &mut Checker<'_>, comparison: Node<'_>, value: Node<'_>, operator: &str, column: Node<'_>) {
    let column_text = checker.text(column);
    let value_text = checker.text(value);
    let negated = operator == "not in";
    let negation = if negated { "~" } else { "" };
    let message = format!(
        "`{}` is evaluated by Python, not SQL: `{operator}` calls `{}.__contains__()`, which SQLAlchemy does not \
         support: it raises `NotImplementedError` (\"Operator 'contains' is not supported on this expression\")",
        short(checker.text(comparison)),
        short(column_text),
    );
    let any = if negated {
        format!("~({value_text} == any_({column_text}))")
    } else {
        format!("{value_text} == any_({column_text})")
    };
    let help = format!(
        "write `{negation}{column_text}.contains({value_text})` for a relationship collection or a substring, or \
         `{any}` for an ARRAY column"
    );
    checker.report(comparison.byte_range(), message, help);
}

/// Source text on one line, shortened for a message.
fn short(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 60 {
        flat
    } else {
        let cut: String = flat.chars().take(57).collect();
        format!("{cut}...")
    }
}
