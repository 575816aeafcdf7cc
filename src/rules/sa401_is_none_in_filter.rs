//! SA401 is-none-in-filter: `Model.col is None` inside query criteria.
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
            if !matches!(operator, "is" | "is not") {
                continue;
            }
            let (column, other) = if python::is_column_expression(left, src) {
                (left, right)
            } else if python::is_column_expression(right, src) {
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
    let constant = python::unparen(other).kind();
    let literal = matches!(constant, "none" | "true" | "false");
    // A column object is never the `None` / `True` / `False` object (nor, in practice, any other one).
    let value = if negated { "True" } else { "False" };
    // Directly in `.filter(...)` / `.where(...)` the whole query is affected; nested, the condition is lost.
    let direct = python::ancestors(comparison).find(|n| n.kind() != "parenthesized_expression")
        == call.child_by_field_name("arguments")
        && matches!(python::callee_name(call, src), Some("filter" | "where" | "having"));
    let effect = match (direct, negated) {
        (true, true) => "the condition silently disappears and every row matches",
        (true, false) => "the query matches no rows",
        (false, _) => "the condition is lost",
    };
    let what = match (constant, negated) {
        ("none", false) => "an `IS NULL` test",
        ("none", true) => "an `IS NOT NULL` test",
        _ => "a SQL comparison",
    };
    let message = format!(
        "`{}` is evaluated by Python, not SQL: it is always `{value}`, so {} receives the constant `{value}` \
         instead of {what}; {effect}",
        checker.text(comparison),
        python::criteria_call_label(call, src),
    );
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
