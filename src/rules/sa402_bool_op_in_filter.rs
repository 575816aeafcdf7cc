//! SA402 bool-op-in-filter: Python `and` / `or` / `not` on column expressions inside query criteria.
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("criteria") else { return };
    let src = checker.source();
    for found in python::criteria_operators(call, src) {
        // One finding per Python boolean expression: its outermost `and` / `or` / `not`.
        if found.in_bool_op || !matches!(found.node.kind(), "boolean_operator" | "not_operator") {
            continue;
        }
        let tree = BoolTree::of(found.node, src);
        // Python calls `bool()` on every operand but the last one (and on everything under `not`).
        let last = tree.leaves.len().saturating_sub(1);
        let tested = tree
            .leaves
            .iter()
            .enumerate()
            .find(|(i, leaf)| (leaf.negated || *i != last) && python::is_sql_expression(leaf.node, src))
            .map(|(_, leaf)| *leaf);
        let Some(tested) = tested else { continue };
        report(checker, call, found.node, &tree, tested);
    }
}

#[derive(Debug, Clone, Copy)]
struct Leaf<'t> {
    node: Node<'t>,
    /// Under a `not`: Python calls `bool()` on it even when it is the last operand.
    negated: bool,
}

/// A Python boolean expression flattened: its operands in source order and its operators.
struct BoolTree<'t> {
    leaves: Vec<Leaf<'t>>,
    ands: usize,
    ors: usize,
    nots: usize,
}

impl<'t> BoolTree<'t> {
    fn of(root: Node<'t>, src: &str) -> Self {
        let mut tree = BoolTree { leaves: Vec::new(), ands: 0, ors: 0, nots: 0 };
        let mut stack = vec![(root, false)];
        while let Some((node, negated)) = stack.pop() {
            let inner = python::unparen(node);
            match inner.kind() {
                "boolean_operator" => {
                    let operator = inner.child_by_field_name("operator").and_then(|o| src.get(o.byte_range()));
                    if operator == Some("and") {
                        tree.ands += 1;
                    } else {
                        tree.ors += 1;
                    }
                    stack.extend(inner.child_by_field_name("right").map(|n| (n, negated)));
                    stack.extend(inner.child_by_field_name("left").map(|n| (n, negated)));
                }
                "not_operator" => {
                    tree.nots += 1;
                    stack.extend(inner.child_by_field_name("argument").map(|n| (n, true)));
                }
                _ => tree.leaves.push(Leaf { node, negated }),
            }
        }
        tree
    }
}

/// What `bool()` does to a SQL expression, and whether Python then goes on silently (rather than raising).
fn bool_outcome(node: Node<'_>, src: &str) -> (String, bool) {
    let inner = python::unparen(node);
    if inner.kind() == "comparison_operator" {
        if let [(_, operator @ ("==" | "!="), _)] = python::comparison_pairs(inner).as_slice() {
            let value = if *operator == "==" { "False" } else { "True" };
            return (format!("for `{operator}` is a Python identity test of the two sides (`{value}`)"), true);
        }
    }
    if let Some(python::ColumnShape::Attribute { .. }) = python::column_shape(inner, src) {
        if matches!(inner.kind(), "attribute") {
            return ("is always `True` for a mapped attribute (a Core column raises `TypeError`)".to_string(), true);
        }
    }
    ("raises `TypeError: Boolean value of this clause is not defined`".to_string(), false)
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

/// `~X`, parenthesising `X` unless it is a name, attribute, call or subscript.
fn invert(node: Node<'_>, src: &str) -> String {
    let inner = python::unparen(node);
    let text = src.get(inner.byte_range()).unwrap_or("");
    if matches!(inner.kind(), "identifier" | "attribute" | "call" | "subscript") {
        format!("~{text}")
    } else {
        format!("~({text})")
    }
}

fn report(checker: &mut Checker<'_>, call: Node<'_>, node: Node<'_>, tree: &BoolTree<'_>, tested: Leaf<'_>) {
    let src = checker.source();
    let label = python::criteria_call_label(call, src);
    let expression = short(checker.text(node));
    let operand = short(checker.text(python::unparen(tested.node)));
    let all_sql = tree.leaves.iter().all(|leaf| python::is_sql_expression(leaf.node, src));
    let leaves: Vec<&str> = tree.leaves.iter().map(|leaf| checker.text(python::unparen(leaf.node))).collect();
    let direct_argument = python::ancestors(node).find(|n| n.kind() != "parenthesized_expression")
        == call.child_by_field_name("arguments")
        && matches!(python::callee_name(call, src), Some("filter" | "where" | "having"));

    let (outcome, dropped) = bool_outcome(tested.node, src);
    let (message, help) = match (tree.ands, tree.ors, tree.nots) {
        // `not X`
        (0, 0, 1) => {
            let result = if dropped { format!(", so {label} receives a Python constant instead of a SQL `NOT`") } else { String::new() };
            (
                format!(
                    "`{expression}` is evaluated by Python, not SQL: `not` calls `bool()` on `{operand}`, which \
                     {outcome}{result}"
                ),
                format!("negate in SQL: `{}`", invert(tested.node, src)),
            )
        }
        // `A and B and C` / `A or B or C`
        (ands, ors, 0) if ands == 0 || ors == 0 => {
            let (word, function) = if ors == 0 { ("and", "and_") } else { ("or", "or_") };
            let result = if dropped { format!(", so {label} silently receives only one of the conditions") } else { String::new() };
            let message = format!(
                "`{expression}` is evaluated by Python, not SQL: `{word}` calls `bool()` on `{operand}`, which \
                 {outcome}{result}"
            );
            let help = if all_sql && word == "and" && direct_argument {
                format!(
                    "pass the conditions as separate arguments, which SQLAlchemy joins with `AND`: `{}`",
                    short(&format!("{}({})", python::callee_name(call, src).unwrap_or("filter"), leaves.join(", ")))
                )
            } else if all_sql {
                format!("combine them in SQL: `{}`", short(&format!("{function}({})", leaves.join(", "))))
            } else {
                format!(
                    "combine the SQL conditions with `{function}(...)` and keep Python-level tests outside the \
                     criteria, e.g. `{function}(a, b) if flag else a`"
                )
            };
            (message, help)
        }
        _ => {
            let result = if dropped {
                format!(", so {label} silently receives a different condition than written")
            } else {
                String::new()
            };
            (
                format!(
                    "`{expression}` is evaluated by Python, not SQL: Python's `and` / `or` / `not` call `bool()` on \
                     `{operand}`, which {outcome}{result}"
                ),
                "build the condition in SQL: `and_(...)` / `or_(...)` (or `&` / `|`) and `~` for `not`".to_string(),
            )
        }
    };
    checker.report(node.byte_range(), message, help);
}
