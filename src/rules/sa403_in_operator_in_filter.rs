//! SA403 in-operator-in-filter: Python `in` / `not in` with a column inside query criteria.
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("criteria") else { return };
    let src = checker.source();
    for found in python::criteria_operators(call, src) {
        if found.node.kind() != "comparison_operator" {
            continue;
        }
        let pairs = python::comparison_pairs(found.node);
        let single = pairs.len() == 1;
        for (left, operator, right) in pairs {
            if !matches!(operator, "in" | "not in") {
                continue;
            }
            if python::is_column_expression(left, src) {
                column_in_values(checker, call, found.node, single, left, operator, right);
                break;
            }
            if python::is_column_expression(right, src) {
                value_in_column(checker, call, found.node, left, operator, right);
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
    let message = format!(
        "`{}` is evaluated by Python, not SQL: Python looks for the column object itself among `{}`, so {} \
         receives the constant `{value}` (or Python raises) instead of a SQL `{sql}`",
        short(checker.text(comparison)),
        short(values_text),
        python::criteria_call_label(call, src),
    );
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

/// `tag in Post.tags`: Python calls `bool()` on `Post.tags.contains(tag)`.
fn value_in_column(
    checker: &mut Checker<'_>,
    call: Node<'_>,
    comparison: Node<'_>,
    value: Node<'_>,
    operator: &str,
    column: Node<'_>,
) {
    let src = checker.source();
    let column_text = checker.text(column);
    let value_text = checker.text(value);
    let negation = if operator == "not in" { "~" } else { "" };
    let message = format!(
        "`{}` is evaluated by Python, not SQL: Python calls `bool()` on the SQL expression \
         `{column_text}.contains(...)`, which raises `TypeError` (or, for a relationship, yields `False`), so {} \
         never receives the condition",
        short(checker.text(comparison)),
        python::criteria_call_label(call, src),
    );
    let help = format!(
        "write `{negation}{column_text}.contains({value_text})` for a relationship collection or a substring, or \
         `{negation}{column_text}.any({value_text})` for an ARRAY column"
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
