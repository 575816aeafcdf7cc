//! SA402 bool-op-in-filter: Python `and` / `or` / `not` on column expressions inside query criteria.
//!
//! Python calls `bool()` on the operands, and SQLAlchemy 2.1 answers that in three ways
//! (measured, see `tests/runtime/test_sa40x_filter_operators.py`): `==` / `!=` comparisons are an
//! identity test of the two sides (`User.a == 1` is falsy), a mapped attribute is always truthy,
//! and every other SQL expression (`User.a > 1`, `User.a == None`, Core columns, `func`, `in_()`)
//! raises `TypeError`. The check replays Python's short-circuit evaluation with those answers so
//! that the message says what the criteria really receive.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(call) = m.get("criteria") else { return };
    let src = checker.source();
    for found in python::criteria_operators(call, src) {
        // One finding per Python boolean expression: its outermost `and` / `or` / `not`.
        if found.in_bool_op || !matches!(found.node.kind_str(), "boolean_operator" | "not_operator") {
            continue;
        }
        let tree = BoolTree::of(found.node, src);
        // Python calls `bool()` on every operand but the last one (and on everything under `not`).
        let last = tree.leaves.len().saturating_sub(1);
        let tested =
            tree.leaves.iter().enumerate().find(|(i, leaf)| (leaf.negated || *i != last) && leaf.sql.is_some());
        let Some((tested, _)) = tested else { continue };
        report(checker, call, found.node, &tree, tested);
    }
}

/// What `bool()` does to an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truth {
    Known(bool),
    Raises,
    /// A Python value: decided at run time.
    Unknown,
}

/// What `bool()` does to a SQL operand, and how to say it after "which ".
#[derive(Debug, Clone)]
struct SqlTruth {
    truth: Truth,
    reason: String,
}

#[derive(Debug, Clone)]
struct Leaf<'t> {
    node: Node<'t>,
    /// Under a `not`: Python calls `bool()` on it even when it is the last operand.
    negated: bool,
    /// `Some` for a SQL expression, `None` for a Python value.
    sql: Option<SqlTruth>,
}

impl Leaf<'_> {
    fn truth(&self) -> Truth {
        match &self.sql {
            Some(sql) => sql.truth,
            None => match python::unparen(self.node).kind_str() {
                "true" => Truth::Known(true),
                "false" | "none" => Truth::Known(false),
                _ => Truth::Unknown,
            },
        }
    }
}

/// A Python boolean expression flattened: its operands in source order and its operators.
struct BoolTree<'t> {
    root: Node<'t>,
    leaves: Vec<Leaf<'t>>,
    ands: usize,
    ors: usize,
    nots: usize,
}

const ERROR: &str = "raises `TypeError: Boolean value of this clause is not defined`";

impl<'t> BoolTree<'t> {
    fn of(root: Node<'t>, src: &str) -> Self {
        let mut tree = BoolTree { root, leaves: Vec::new(), ands: 0, ors: 0, nots: 0 };
        let mut stack = vec![(root, false)];
        while let Some((node, negated)) = stack.pop() {
            let inner = python::unparen(node);
            match inner.kind_str() {
                "boolean_operator" => {
                    if bool_operator(inner, src) == Some("and") {
                        tree.ands += 1;
                    } else {
                        tree.ors += 1;
                    }
                    stack.extend(inner.field("right").map(|n| (n, negated)));
                    stack.extend(inner.field("left").map(|n| (n, negated)));
                }
                "not_operator" => {
                    tree.nots += 1;
                    stack.extend(inner.field("argument").map(|n| (n, true)));
                }
                _ => tree.leaves.push(Leaf { node, negated, sql: sql_truth(node, src) }),
            }
        }
        tree
    }

    fn leaf_index(&self, node: Node<'_>) -> Option<usize> {
        self.leaves.iter().position(|leaf| leaf.node.id() == node.id())
    }

    fn truth(&self, value: Value) -> Truth {
        match value {
            Value::Const(b) => Truth::Known(b),
            Value::Leaf(i) => self.leaves.get(i).map_or(Truth::Unknown, Leaf::truth),
        }
    }

    /// Replays Python's evaluation of `node` (depth-bounded: deeper is undecided).
    fn eval(&self, node: Node<'_>, src: &str, depth: usize) -> Outcome {
        if depth > 64 {
            return Outcome::Unknown;
        }
        let inner = python::unparen(node);
        match inner.kind_str() {
            "boolean_operator" => {
                let (Some(left), Some(right)) = (inner.field("left"), inner.field("right"))
                else {
                    return Outcome::Unknown;
                };
                let value = match self.eval(left, src, depth + 1) {
                    Outcome::Value(value) => value,
                    other => return other,
                };
                let and = bool_operator(inner, src) == Some("and");
                match self.truth(value) {
                    Truth::Raises => Outcome::Raises(value),
                    Truth::Unknown => Outcome::Unknown,
                    // `x and y` is `x` when `x` is falsy; `x or y` is `x` when `x` is truthy.
                    Truth::Known(b) if b != and => Outcome::Value(value),
                    Truth::Known(_) => self.eval(right, src, depth + 1),
                }
            }
            "not_operator" => {
                let Some(argument) = inner.field("argument") else { return Outcome::Unknown };
                match self.eval(argument, src, depth + 1) {
                    Outcome::Value(value) => match self.truth(value) {
                        Truth::Known(b) => Outcome::Value(Value::Const(!b)),
                        Truth::Raises => Outcome::Raises(value),
                        Truth::Unknown => Outcome::Unknown,
                    },
                    other => other,
                }
            }
            _ => self.leaf_index(node).map_or(Outcome::Unknown, |i| Outcome::Value(Value::Leaf(i))),
        }
    }
}

/// The value of (part of) a Python boolean expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// One of the operands, returned as it is.
    Leaf(usize),
    /// `True` / `False` made by `not`.
    Const(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Value(Value),
    /// `bool()` of this operand raises.
    Raises(Value),
    /// Depends on Python values only known at run time.
    Unknown,
}

fn bool_operator<'s>(node: Node<'_>, src: &'s str) -> Option<&'s str> {
    node.field("operator").and_then(|o| src.get(o.byte_range()))
}

/// Does `node` build SQL: a column expression, or a comparison, arithmetic or `~` involving one?
/// Bounded to a few dozen nodes.
fn is_sql(node: Node<'_>, src: &str) -> bool {
    let mut stack = vec![node];
    let mut budget = 64;
    while let Some(next) = stack.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let next = python::unparen(next);
        if python::is_criteria_column(next, src) {
            return true;
        }
        match next.kind_str() {
            "comparison_operator" if !python::is_python_comparison(next) => {
                for (left, _, right) in python::comparison_pairs(next) {
                    stack.push(left);
                    stack.push(right);
                }
            }
            "binary_operator" => {
                stack.extend(next.field("left"));
                stack.extend(next.field("right"));
            }
            "unary_operator" => stack.extend(next.field("argument")),
            _ => {}
        }
    }
    false
}

/// `bool()` of `a == b` / `a != b` with a SQL side: `Some((truth, reason))`.
fn equality_truth(left: Node<'_>, operator: &str, right: Node<'_>, src: &str) -> Option<SqlTruth> {
    let (sql_left, sql_right) = (is_sql(left, src), is_sql(right, src));
    if !sql_left && !sql_right {
        return None;
    }
    let is_none = |n: Node<'_>| python::unparen(n).kind_str() == "none";
    if is_none(left) || is_none(right) {
        // `== None` builds `IS NULL`, whose truth SQLAlchemy does not define.
        return Some(SqlTruth { truth: Truth::Raises, reason: ERROR.to_string() });
    }
    let text = |n: Node<'_>| src.get(python::unparen(n).byte_range()).unwrap_or("");
    // SQLAlchemy compares the two sides' hashes: `==` is falsy unless both are the same object.
    let value = (operator == "==") == (text(left) == text(right));
    let mut reason = format!("for `{operator}` is a Python identity test of the two sides (`{}`", capital(value));
    // A Python value on the other side may be `None` at run time, making it `IS NULL`.
    let python_side = if sql_left { right } else { left };
    let python_side = python::unparen(python_side);
    if (!sql_left || !sql_right) && matches!(python_side.kind_str(), "identifier" | "attribute" | "call" | "subscript") {
        reason.push_str(&format!("; `TypeError` if `{}` is `None`", short(text(python_side))));
    }
    reason.push(')');
    Some(SqlTruth { truth: Truth::Known(value), reason })
}

fn capital(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

/// What `bool()` does to `node` if it is a SQL expression; `None` for a Python value (including
/// `is` / `in` comparisons, which Python answers itself and SA401 / SA403 report).
fn sql_truth(node: Node<'_>, src: &str) -> Option<SqlTruth> {
    let inner = python::unparen(node);
    let raises = || Some(SqlTruth { truth: Truth::Raises, reason: ERROR.to_string() });
    match inner.kind_str() {
        "comparison_operator" => {
            if python::is_python_comparison(inner) || !is_sql(inner, src) {
                return None;
            }
            match python::comparison_pairs(inner).as_slice() {
                [(left, operator @ ("==" | "!="), right)] => equality_truth(*left, operator, *right, src),
                // `User.a > 1`; a chain `0 < User.a < 9` starts with `bool(0 < User.a)`.
                [(left, operator, right), ..] if !matches!(*operator, "==" | "!=") => {
                    if is_sql(*left, src) || is_sql(*right, src) {
                        raises()
                    } else {
                        None
                    }
                }
                _ => None,
            }
        }
        "unary_operator" => {
            let operator = inner.field("operator").and_then(|o| src.get(o.byte_range()));
            let argument = inner.field("argument")?;
            if !is_sql(argument, src) {
                return None;
            }
            // `~(a == b)` is `a != b`, and `~(a != b)` is `a == b`.
            if operator == Some("~") {
                if let [(left, op @ ("==" | "!="), right)] =
                    python::comparison_pairs(python::unparen(argument)).as_slice()
                {
                    let flipped = if *op == "==" { "!=" } else { "==" };
                    return equality_truth(*left, flipped, *right, src);
                }
            }
            raises()
        }
        "binary_operator" if is_sql(inner, src) => raises(),
        "binary_operator" => None,
        _ if python::is_criteria_column(inner, src) => {
            // `User.active`, `manager.active`: a mapped attribute has no `__bool__`, so it is truthy.
            if let Some(python::ColumnShape::Attribute { .. }) = python::column_shape(inner, src) {
                if inner.kind_str() == "attribute" {
                    return Some(SqlTruth {
                        truth: Truth::Known(true),
                        reason: "is always `True` for a mapped attribute (a Core column raises `TypeError`)"
                            .to_string(),
                    });
                }
            }
            raises()
        }
        _ => None,
    }
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
    if matches!(inner.kind_str(), "identifier" | "attribute" | "call" | "subscript") {
        format!("~{text}")
    } else {
        format!("~({text})")
    }
}

/// What the criteria end up with, as a clause appended to the message ("" when undecided).
fn result_clause(checker: &Checker<'_>, call: Node<'_>, tree: &BoolTree<'_>, tested: usize) -> String {
    let src = checker.source();
    let leaf_text =
        |i: usize| tree.leaves.get(i).map_or(String::new(), |l| short(checker.text(python::unparen(l.node))));
    match tree.eval(tree.root, src, 0) {
        Outcome::Value(Value::Leaf(i)) if tree.leaves.get(i).is_some_and(|l| l.sql.is_some()) => {
            format!(", so SQLAlchemy only ever sees `{}`", leaf_text(i))
        }
        Outcome::Value(Value::Leaf(i)) => {
            format!(", so SQLAlchemy receives the Python value `{}` instead of the condition", leaf_text(i))
        }
        Outcome::Value(Value::Const(b)) => format!(": {}", python::constant_effect(call, tree.root, b, src)),
        Outcome::Raises(Value::Leaf(i)) if i != tested => {
            format!(", and `bool()` on `{}` then raises `TypeError`", leaf_text(i))
        }
        _ => String::new(),
    }
}

fn report(checker: &mut Checker<'_>, call: Node<'_>, node: Node<'_>, tree: &BoolTree<'_>, tested: usize) {
    let src = checker.source();
    let Some(leaf) = tree.leaves.get(tested) else { return };
    let Some(sql) = &leaf.sql else { return };
    let expression = short(checker.text(node));
    let operand = short(checker.text(python::unparen(leaf.node)));
    let all_sql = tree.leaves.iter().all(|leaf| leaf.sql.is_some());
    let leaves: Vec<&str> = tree.leaves.iter().map(|leaf| checker.text(python::unparen(leaf.node))).collect();
    let direct_argument = python::ancestors(node).find(|n| n.kind_str() != "parenthesized_expression")
        == call.field("arguments")
        && matches!(python::callee_name(call, src), Some("filter" | "where" | "having"));
    let result = result_clause(checker, call, tree, tested);
    let reason = &sql.reason;

    let (message, help) = match (tree.ands, tree.ors, tree.nots) {
        // `not X`
        (0, 0, 1) => (
            format!(
                "`{expression}` is evaluated by Python, not SQL: `not` calls `bool()` on `{operand}`, which \
                 {reason}{result}"
            ),
            format!("negate in SQL: `{}`", invert(leaf.node, src)),
        ),
        // `A and B and C` / `A or B or C`
        (ands, ors, 0) if ands == 0 || ors == 0 => {
            let (word, function) = if ors == 0 { ("and", "and_") } else { ("or", "or_") };
            let message = format!(
                "`{expression}` is evaluated by Python, not SQL: `{word}` calls `bool()` on `{operand}`, which \
                 {reason}{result}"
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
        _ => (
            format!(
                "`{expression}` is evaluated by Python, not SQL: Python's `and` / `or` / `not` call `bool()` on \
                 `{operand}`, which {reason}{result}"
            ),
            "build the condition in SQL: `and_(...)` / `or_(...)` (or `&` / `|`) and `~` for `not`".to_string(),
        ),
    };
    checker.report(node.byte_range(), message, help);
}
