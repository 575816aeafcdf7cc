//! Syntax helpers over tree-sitter-python nodes shared by rule checks:
//! callee names, method chains (`session.query(M).filter(x).all()`),
//! arguments, and ancestry. All walks are iterative or bounded by the
//! expression's own depth; nothing here recurses over whole files.
use tree_sitter::Node;

/// Skips any number of enclosing parentheses: `((x))` → `x`.
pub(crate) fn unparen(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) if inner.kind() != "comment" => node = inner,
            _ => break,
        }
    }
    node
}

/// The name a call is made by: `len` for `len(x)`, `all` for `q.filter(x).all()`.
pub(crate) fn callee_name<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let function = unparen(call.child_by_field_name("function")?);
    match function.kind() {
        "identifier" => src.get(function.byte_range()),
        "attribute" => src.get(function.child_by_field_name("attribute")?.byte_range()),
        _ => None,
    }
}

/// The object a method is called on: `q.filter(x)` → `q`.
pub(crate) fn receiver(call: Node<'_>) -> Option<Node<'_>> {
    let function = unparen(call.child_by_field_name("function")?);
    (function.kind() == "attribute").then(|| function.child_by_field_name("object")).flatten()
}

/// Argument nodes of a call (positional, keyword, `*args`, `**kw`), comments skipped.
pub(crate) fn arguments(call: Node<'_>) -> Vec<Node<'_>> {
    let Some(list) = call.child_by_field_name("arguments") else {
        return Vec::new();
    };
    let mut cursor = list.walk();
    list.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect()
}

/// Positional arguments only.
pub(crate) fn positional_arguments(call: Node<'_>) -> Vec<Node<'_>> {
    arguments(call)
        .into_iter()
        .filter(|n| !matches!(n.kind(), "keyword_argument" | "list_splat" | "dictionary_splat"))
        .collect()
}

/// The value of keyword argument `name=` in a call.
pub(crate) fn keyword_argument<'t>(call: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    arguments(call).into_iter().find_map(|arg| {
        if arg.kind() != "keyword_argument" {
            return None;
        }
        let key = arg.child_by_field_name("name")?;
        (src.get(key.byte_range()) == Some(name)).then(|| arg.child_by_field_name("value")).flatten()
    })
}

/// `a.b.c` as a string when made only of identifiers and attributes.
pub(crate) fn dotted_name(node: Node<'_>, src: &str) -> Option<String> {
    let node = unparen(node);
    match node.kind() {
        "identifier" => src.get(node.byte_range()).map(String::from),
        "attribute" => {
            let object = dotted_name(node.child_by_field_name("object")?, src)?;
            let attribute = src.get(node.child_by_field_name("attribute")?.byte_range())?;
            Some(format!("{object}.{attribute}"))
        }
        _ => None,
    }
}

/// One link of a method chain: `.name(args)` or `.name`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link<'t> {
    pub(crate) name: &'t str,
    /// The `call` node when the link is a call, else `None` (plain attribute).
    pub(crate) call: Option<Node<'t>>,
    /// The node for the chain up to and including this link.
    pub(crate) node: Node<'t>,
}

/// A chain such as `session.query(User).filter(x).all()`, flattened:
/// `root` = `session`, links = `query(..)`, `filter(..)`, `all()`.
#[derive(Debug)]
pub(crate) struct Chain<'t> {
    pub(crate) root: Node<'t>,
    pub(crate) links: Vec<Link<'t>>,
}

impl<'t> Chain<'t> {
    pub(crate) fn names(&self) -> impl Iterator<Item = &'t str> + '_ {
        self.links.iter().map(|l| l.name)
    }
    pub(crate) fn has(&self, name: &str) -> bool {
        self.links.iter().any(|l| l.name == name)
    }
    pub(crate) fn find(&self, name: &str) -> Option<&Link<'t>> {
        self.links.iter().find(|l| l.name == name)
    }
    pub(crate) fn last(&self) -> Option<&Link<'t>> {
        self.links.last()
    }
}

/// Flattens a call/attribute chain ending at `node`. Iterative: chains can be long.
pub(crate) fn chain<'t>(node: Node<'t>, src: &'t str) -> Chain<'t> {
    let mut links = Vec::new();
    let mut current = unparen(node);
    loop {
        match current.kind() {
            "call" => {
                let Some(function) = current.child_by_field_name("function").map(unparen) else {
                    break;
                };
                if function.kind() == "attribute" {
                    let (Some(object), Some(attr)) =
                        (function.child_by_field_name("object"), function.child_by_field_name("attribute"))
                    else {
                        break;
                    };
                    links.push(Link {
                        name: src.get(attr.byte_range()).unwrap_or(""),
                        call: Some(current),
                        node: current,
                    });
                    current = unparen(object);
                } else if function.kind() == "identifier" {
                    // `select(User)` root call: the link is the call itself, root is its name.
                    links.push(Link {
                        name: src.get(function.byte_range()).unwrap_or(""),
                        call: Some(current),
                        node: current,
                    });
                    current = function;
                    break;
                } else {
                    break;
                }
            }
            "attribute" => {
                let (Some(object), Some(attr)) =
                    (current.child_by_field_name("object"), current.child_by_field_name("attribute"))
                else {
                    break;
                };
                links.push(Link { name: src.get(attr.byte_range()).unwrap_or(""), call: None, node: current });
                current = unparen(object);
            }
            "await" => match current.named_child(0) {
                Some(inner) => current = unparen(inner),
                None => break,
            },
            _ => break,
        }
    }
    links.reverse();
    Chain { root: current, links }
}

/// Ancestors of a node, nearest first (the node itself excluded).
pub(crate) fn ancestors(node: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    std::iter::successors(node.parent(), |n| n.parent())
}

/// The innermost function definition containing a node.
pub(crate) fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    ancestors(node).find(|n| n.kind() == "function_definition")
}

/// True for string literals without interpolation (plain or concatenated).
pub(crate) fn is_literal_string(node: Node<'_>) -> bool {
    let node = unparen(node);
    match node.kind() {
        "string" => {
            let mut cursor = node.walk();
            let literal = !node.named_children(&mut cursor).any(|c| c.kind() == "interpolation");
            literal
        }
        "concatenated_string" => {
            let mut cursor = node.walk();
            let literal = node.named_children(&mut cursor).all(is_literal_string);
            literal
        }
        _ => false,
    }
}

/// Names of SQLAlchemy methods whose arguments are SQL criteria.
pub(crate) const CRITERIA_METHODS: &[&str] = &["filter", "where", "having", "filter_by", "join", "outerjoin"];

/// Is `call` a criteria method of a query or statement (`q.filter(...)`, `select(M).where(...)`),
/// or a SQLAlchemy conjunction (`and_(...)`, `or_(...)`, `not_(...)`)?
pub(crate) fn is_criteria_call(call: Node<'_>, src: &str) -> bool {
    let Some(name) = callee_name(call, src) else {
        return false;
    };
    let function = call.child_by_field_name("function").map(unparen);
    match function.map(|f| f.kind()) {
        Some("attribute") => CRITERIA_METHODS.contains(&name) || matches!(name, "and_" | "or_" | "not_"),
        Some("identifier") => matches!(name, "and_" | "or_" | "not_"),
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use tree_sitter::{Node, Tree};

    pub(crate) fn parse(src: &str) -> Tree {
        crate::engine::parse(src).expect("parses")
    }

    /// The first node of `kind` in document order.
    pub(crate) fn first<'t>(tree: &'t Tree, kind: &str) -> Node<'t> {
        let mut cursor = tree.walk();
        loop {
            if cursor.node().kind() == kind {
                return cursor.node();
            }
            if cursor.goto_first_child() || cursor.goto_next_sibling() {
                continue;
            }
            loop {
                assert!(cursor.goto_parent(), "no {kind} node");
                if cursor.goto_next_sibling() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn chain_flattens_method_calls() {
        let src = "x = session.query(User).filter(User.id == 1).all()\n";
        let tree = parse(src);
        let call = first(&tree, "call");
        let chain = chain(call, src);
        assert_eq!(&src[chain.root.byte_range()], "session");
        assert_eq!(chain.names().collect::<Vec<_>>(), ["query", "filter", "all"]);
        let src = "await (session.scalars(select(User))).all()";
        let tree = parse(src);
        let chain = chain(first(&tree, "call"), src);
        assert_eq!(chain.names().collect::<Vec<_>>(), ["scalars", "all"]);
    }

    #[test]
    fn literal_strings() {
        let src = "a = 'x' 'y'\nb = f'{x}'\nc = f'plain'\n";
        let tree = parse(src);
        let mut cursor = tree.walk();
        let root = tree.root_node();
        let values: Vec<bool> = root
            .named_children(&mut cursor)
            .map(|stmt| is_literal_string(stmt.named_child(0).unwrap().child_by_field_name("right").unwrap()))
            .collect();
        assert_eq!(values, [true, false, true]);
    }
}
