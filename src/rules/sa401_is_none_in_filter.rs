//! SA401 is-none-in-filter: `Model.col is None` inside query criteria. Python answers `is`
//! itself, so the criteria receive a constant; what that constant then does (no rows, no
//! condition, an `ArgumentError` from `.join()`) is spelled out by [`python::constant_effect`].
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("criteria") else { return };
    let src = checker.source();
    for found in python::criteria_operators(call, src) {
        // Only comparisons: `and` / `or` / `not` are SA402's.
        if found.node.kind_str() != "comparison_operator" {
            continue;
        }
        let pairs = python::comparison_pairs(found.node);
        let single = pairs.len() == 1;
        for (left, operator, right) in pairs {
            if !matches!(operator, "is" | "is not") {
                continue;
            }
            // One side must look like a column; `x is None` on a Python value is Python's business.
            let (column, other) = if python::is_criteria_column(left, src) {
                (left, right)
            } else if python::is_criteria_column(right, src) {
                (right, left)
            } else {
                continue;
            };
            report(checker, call, found.node, single, column, operator, other);
            break;
        }
    }
}

fn report(
    checker: &mut Checker<'_>,
    call: Node<'_>,
    comparison: Node<'_>,
    single: bool,
    column: Node<'_>,
    operator: &str,
    other: Node<'_>,
) {
    let src = checker.source();
    let column_text = checker.text(column);
    let other_text = checker.text(other);
    let negated = operator == "is not";
    let constant = python::unparen(other).kind_str();
    let literal = matches!(constant, "none" | "true" | "false");
    // A column object is never the `None` / `True` / `False` object (nor, in practice, any other one).
    let value = if negated { "True" } else { "False" };
    let what = match (constant, negated) {
        ("none", false) => "an `IS NULL` test",
        ("none", true) => "an `IS NOT NULL` test",
        _ => "a SQL comparison",
    };
    let message = if single {
        format!(
            "`{}` is evaluated by Python, not SQL: it is always `{value}`, never {what}; {}",
            checker.text(comparison),
            python::constant_effect(call, comparison, negated, src),
        )
    } else {
        // `a < User.x is None`: Python's chain, whose outcome depends on the other links.
        format!(
            "`{}` is evaluated by Python, not SQL: `{column_text} {operator} {other_text}` is always `{value}`, \
             never {what}; the condition is lost",
            checker.text(comparison),
        )
    };
    let method = if negated { "is_not" } else { "is_" };
    let relationship = python::mapped_attribute(column, src) == python::MappedAttribute::Relationship;
    let help = if relationship {
        // Relationship comparators implement `==` / `!=` (and `.has()` / `.any()`), not `.is_()`.
        let sql = if negated { "!=" } else { "==" };
        format!("compare the relationship in SQL: `{column_text} {sql} {other_text}`")
    } else if literal {
        format!("write `{column_text}.{method}({other_text})`")
    } else {
        let sql = if negated { "!=" } else { "==" };
        format!("compare in SQL: `{column_text} {sql} {other_text}`")
    };
    let fix = (literal && single && python::is_certain_column(column, src)).then(|| Fix {
        applicability: Applicability::Safe,
        title: format!("Replace with `{column_text}.{method}({other_text})`"),
        edits: vec![Edit::replace(comparison.byte_range(), format!("{column_text}.{method}({other_text})"))],
    });
    let diagnostic = checker.report(comparison.byte_range(), message, help);
    if let Some(fix) = fix {
        diagnostic.set_fix(fix);
    }
}
