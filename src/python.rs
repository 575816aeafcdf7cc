//! Syntax helpers over tree-sitter-python nodes shared by rule checks:
//! callee names, method chains (`session.query(M).filter(x).all()`),
//! arguments, and ancestry. All walks are iterative or bounded by the
//! expression's own depth; nothing here recurses over whole files.
use crate::syntax::KindStr;
use crate::syntax::{Fields, Up};
use tree_sitter::Node;

/// Skips any number of enclosing parentheses: `((x))` → `x`.
pub(crate) fn unparen(mut node: Node<'_>) -> Node<'_> {
    while node.kind_str() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) if inner.kind_str() != "comment" => node = inner,
            _ => break,
        }
    }
    node
}

/// The name a call is made by: `len` for `len(x)`, `all` for `q.filter(x).all()`.
pub(crate) fn callee_name<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let function = unparen(call.field("function")?);
    match function.kind_str() {
        "identifier" => src.get(function.byte_range()),
        "attribute" => src.get(function.field("attribute")?.byte_range()),
        _ => None,
    }
}

/// The object a method is called on: `q.filter(x)` → `q`.
pub(crate) fn receiver(call: Node<'_>) -> Option<Node<'_>> {
    let function = unparen(call.field("function")?);
    (function.kind_str() == "attribute").then(|| function.field("object")).flatten()
}

/// Named children of a node, comments skipped.
pub(crate) fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").collect()
}

/// Argument nodes of a call (positional, keyword, `*args`, `**kw`), comments skipped.
pub(crate) fn arguments(call: Node<'_>) -> Vec<Node<'_>> {
    let Some(list) = call.field("arguments") else {
        return Vec::new();
    };
    // `f(x for x in xs)`: the generator is the whole argument list.
    if list.kind_str() == "generator_expression" {
        return vec![list];
    }
    let mut cursor = list.walk();
    list.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").collect()
}

/// Positional arguments only.
pub(crate) fn positional_arguments(call: Node<'_>) -> Vec<Node<'_>> {
    arguments(call)
        .into_iter()
        .filter(|n| !matches!(n.kind_str(), "keyword_argument" | "list_splat" | "dictionary_splat"))
        .collect()
}

/// The value of keyword argument `name=` in a call.
pub(crate) fn keyword_argument<'t>(call: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    // The keyword is spelt in the argument list: most calls asked about pass no such argument.
    let list = call.field("arguments")?;
    if !src.get(list.byte_range()).is_some_and(|text| text.contains(name)) {
        return None;
    }
    arguments(call).into_iter().find_map(|arg| {
        if arg.kind_str() != "keyword_argument" {
            return None;
        }
        let key = arg.field("name")?;
        (src.get(key.byte_range()) == Some(name)).then(|| arg.field("value")).flatten()
    })
}

/// `a.b.c` as a string when made only of identifiers and attributes.
pub(crate) fn dotted_name(node: Node<'_>, src: &str) -> Option<String> {
    let node = unparen(node);
    match node.kind_str() {
        "identifier" => src.get(node.byte_range()).map(String::from),
        "attribute" => {
            let object = dotted_name(node.field("object")?, src)?;
            let attribute = src.get(node.field("attribute")?.byte_range())?;
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
    pub(crate) fn last(&self) -> Option<&Link<'t>> {
        self.links.last()
    }
}

/// Flattens a call/attribute chain ending at `node`. Iterative: chains can be long.
pub(crate) fn chain<'t>(node: Node<'t>, src: &'t str) -> Chain<'t> {
    let mut links = Vec::new();
    let mut current = unparen(node);
    loop {
        match current.kind_str() {
            "call" => {
                let Some(function) = current.field("function").map(unparen) else {
                    break;
                };
                if function.kind_str() == "attribute" {
                    let (Some(object), Some(attr)) = (function.field("object"), function.field("attribute")) else {
                        break;
                    };
                    links.push(Link {
                        name: src.get(attr.byte_range()).unwrap_or(""),
                        call: Some(current),
                        node: current,
                    });
                    current = unparen(object);
                } else if function.kind_str() == "identifier" {
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
                let (Some(object), Some(attr)) = (current.field("object"), current.field("attribute")) else {
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

/// How far up [`ancestors`] looks. Real code nests far less; past this, rules stay silent
/// (and generated or adversarial 10,000-deep files stay cheap to lint).
pub(crate) const MAX_ANCESTORS: usize = 256;

/// Ancestors of a node, nearest first (the node itself excluded), at most [`MAX_ANCESTORS`].
///
/// tree-sitter nodes do not store their parent (`Node::parent` descends from the root on
/// every call), so the chain is read off the engine walk's path, or collected in one descent.
pub(crate) fn ancestors(node: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    crate::syntax::chain_to(node).into_iter().rev().take(MAX_ANCESTORS)
}

/// The innermost function definition containing a node.
pub(crate) fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    ancestors(node).find(|n| n.kind_str() == "function_definition")
}

/// Every `identifier` node under `root` (itself included, nested scopes too) whose text is
/// `name`, in document order. Found from the places the text spells `name` (one substring
/// search), not by walking the subtree: a walk costs the scope's size, and rules ask this of
/// whole functions and modules.
pub(crate) fn identifiers_named<'t>(root: Node<'t>, name: &str, src: &str) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    let start = root.start_byte();
    let Some(text) = src.get(root.byte_range()) else { return found };
    if name.is_empty() {
        return found;
    }
    let bytes = src.as_bytes();
    let name_byte = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    for at in memchr::memmem::find_iter(text.as_bytes(), name.as_bytes()) {
        let (from, to) = (start + at, start + at + name.len());
        // Inside a longer word (a one-letter name is spelt all over a file): an identifier is a
        // longest run of name bytes, so none ends before a name byte, and none starts after a run
        // that a letter or `_` begins. After a digit-led run one may (`0xfq`: a number, then `q`).
        if bytes.get(to).is_some_and(name_byte) {
            continue;
        }
        let before = bytes.get(..from).unwrap_or_default();
        let run = before.iter().rev().take_while(|b| name_byte(b)).count();
        if before.get(from - run).is_some_and(|b| run > 0 && !b.is_ascii_digit()) {
            continue;
        }
        // The smallest named node holding those bytes: the identifier itself when one is spelt there.
        let node = root.named_descendant_for_byte_range(from, to);
        if let Some(node) =
            node.filter(|n| n.kind_str() == "identifier" && n.start_byte() == from && n.end_byte() == to)
        {
            found.push(node);
        }
    }
    found
}

/// The named nodes of `scope` (itself included) that start before byte `before`, leaving out
/// nested functions, classes and lambdas: where an earlier binding or guard in the same scope
/// can be. Depth-first, later children first; stops walking when the caller stops asking.
pub(crate) fn own_nodes_before<'t>(scope: Node<'t>, before: usize) -> impl Iterator<Item = Node<'t>> {
    let mut stack = vec![scope];
    std::iter::from_fn(move || {
        while let Some(node) = stack.pop() {
            if node.start_byte() >= before
                || matches!(node.kind_str(), "function_definition" | "class_definition" | "lambda")
            {
                continue;
            }
            stack.extend(named_children(node));
            return Some(node);
        }
        None
    })
}

/// Where `scope`'s own code spells the identifier `name`, in document order: each identifier
/// with the nodes between `scope` and it (its parent last), leaving out those inside nested
/// functions, classes and lambdas. Helpers that looked for bindings of a name by walking every
/// node before its use start here instead.
pub(crate) fn own_spellings<'t>(
    scope: Node<'t>,
    name: &str,
    src: &str,
) -> impl Iterator<Item = (Node<'t>, Vec<Node<'t>>)> + 't {
    identifiers_named(scope, name, src).into_iter().filter_map(move |target| {
        // Root first, the target's parent last: one descent.
        let mut chain = crate::syntax::chain_to(target);
        let at = chain.iter().position(|n| n.id() == scope.id())?;
        chain.drain(..=at);
        let nested =
            chain.iter().any(|n| matches!(n.kind_str(), "function_definition" | "class_definition" | "lambda"));
        (!nested).then_some((target, chain))
    })
}

/// Every node under `root` (itself included) that runs in its scope: nested functions, lambdas
/// and classes are left out. Pre-order, document order. Iterative.
pub(crate) fn scope_nodes<'t>(root: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if matches!(node.kind_str(), "function_definition" | "class_definition" | "lambda") && node != root {
            continue;
        }
        out.push(node);
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

/// True for string literals without interpolation (plain or concatenated).
pub(crate) fn is_literal_string(node: Node<'_>) -> bool {
    let node = unparen(node);
    match node.kind_str() {
        "string" => {
            let mut cursor = node.walk();
            let literal = !node.named_children(&mut cursor).any(|c| c.kind_str() == "interpolation");
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

#[cfg(test)]
pub(crate) mod test_support {
    use tree_sitter::{Node, Tree};

    use crate::syntax::KindStr;

    pub(crate) fn parse(src: &str) -> Tree {
        crate::engine::parse(src).expect("parses")
    }

    /// The text of every `.py` file under `tests/fixtures/rules` (the rule fixtures, with the
    /// folders of the cross-file ones), sorted by path: real code in every dialect, for tests
    /// that compare a fast path with a plain one.
    pub(crate) fn fixture_texts() -> Vec<String> {
        let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")];
        let mut files = Vec::new();
        while let Some(dir) = stack.pop() {
            for path in std::fs::read_dir(&dir).into_iter().flatten().filter_map(|e| Some(e.ok()?.path())) {
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "py") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let texts: Vec<String> = files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect();
        assert!(texts.len() > 40, "rule fixtures not found: {}", texts.len());
        texts
    }

    /// Every named node of `tree`, in document order (what a walk of `named_children` visits).
    pub(crate) fn named_nodes(tree: &Tree) -> Vec<Node<'_>> {
        let mut all = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            all.push(node);
            let mut cursor = node.walk();
            let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
        all
    }

    /// The first node of `kind` in document order.
    pub(crate) fn first<'t>(tree: &'t Tree, kind: &str) -> Node<'t> {
        let mut cursor = tree.walk();
        loop {
            if cursor.node().kind_str() == kind {
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

    /// The `with ... as name` value `bound_value` took, found by walking everything before the use.
    fn with_value_walked<'t>(name: Node<'t>, src: &'t str) -> Option<Node<'t>> {
        let ident = src.get(name.byte_range())?;
        let scope = enclosing_function(name)
            .and_then(|f| f.field("body"))
            .or_else(|| ancestors(name).find(|n| n.kind_str() == "module"))?;
        let mut with_value: Option<Node<'t>> = None;
        for node in own_nodes_before(scope, name.start_byte()) {
            match node.kind_str() {
                "as_pattern" if node.parent().is_some_and(|p| p.kind_str() == "with_item") => {
                    let alias = node.field("alias").and_then(|a| a.named_child(0).or(Some(a)));
                    if alias.and_then(|a| src.get(a.byte_range())) == Some(ident) {
                        if let Some(value) = node.named_child(0) {
                            if with_value.is_none_or(|w| w.start_byte() < value.start_byte()) {
                                with_value = Some(value);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        with_value
    }

    /// `visible_imports_named` is `visible_imports` kept to one local name, for every identifier.
    #[test]
    fn named_imports_are_the_visible_ones_of_that_name() {
        let mut texts = fixture_texts();
        texts.push("from a import *\nimport b.c, d as e\ndef f():\n    from g import b\n    b(e, c, f, x)\n".into());
        let mut compared = 0;
        for text in texts {
            let tree = parse(&text);
            // Outside a file pass, and inside one (where every node after the first reads the cache).
            for cached in [false, true] {
                let _pass = cached.then(import_cache::scope);
                for node in named_nodes(&tree).into_iter().filter(|n| n.kind_str() == "identifier") {
                    let name = &text[node.byte_range()];
                    let all = visible_imports(node, &text);
                    let named = visible_imports_named(node, &text, name);
                    let expected: Vec<Import<'_>> = all.iter().copied().filter(|i| i.local == name).collect();
                    assert_eq!(named, expected, "{name} at byte {}", node.start_byte());
                    compared += named.len();
                }
            }
        }
        assert!(compared > 1000, "{compared}");
    }

    /// `bound_value` finds what the walk finds, for every identifier of every fixture.
    #[test]
    fn bound_value_matches_a_walk() {
        let mut texts = fixture_texts();
        texts.push(
            "with open(s) as s, g(s) as (s):\n    s\nwith h(s) as s:\n    pass\ndef f(s):\n    with a() as s:\n        \
             def g():\n            with b() as s:\n                pass\n        s = c()\n        with d(s) as s, e(s) as t:\n            \
             s.x\n    lambda: [s for s in s]\n    s\nclass C:\n    with k() as s:\n        s\n"
                .into(),
        );
        let mut checked = 0;
        for text in texts {
            let tree = parse(&text);
            for node in named_nodes(&tree).into_iter().filter(|n| n.kind_str() == "identifier") {
                let walked = with_value_walked(node, &text);
                let assigned = crate::query::assigned_value(node, &text);
                let expected = match (assigned, walked) {
                    (Some(a), Some(w)) => Some(if a.start_byte() > w.start_byte() { a } else { w }),
                    (a, w) => a.or(w),
                };
                let found = bound_value(node, &text);
                assert_eq!(
                    found.map(|n| n.id()),
                    expected.map(|n| n.id()),
                    "{} at {}",
                    &text[node.byte_range()],
                    node.start_byte()
                );
                checked += usize::from(walked.is_some());
            }
        }
        assert!(checked > 20, "{checked}");
    }

    /// `identifiers_named` finds exactly the identifiers a walk of the subtree finds.
    #[test]
    fn identifiers_named_matches_a_walk() {
        let mut texts = fixture_texts();
        texts.push("aa = a + aaa\nf'{a}' 'a' # a\nx.a = a(a=a)\ndef g(:\n    a\né = aé + a\n".into());
        // Names right after numbers whose digits end in letters, or inside longer names.
        texts.push("q = 0xfq + 1jq + x1q + q1 + _q + 1_q + 1e5q + éq + qé + q\n".into());
        let mut checked = 0;
        for text in texts {
            let tree = parse(&text);
            let all = named_nodes(&tree);
            let scopes: Vec<Node<'_>> = all.iter().copied().filter(|n| n.kind_str() == "function_definition").collect();
            for scope in scopes.into_iter().chain([tree.root_node()]) {
                let inside = |n: &Node<'_>| scope.start_byte() <= n.start_byte() && n.end_byte() <= scope.end_byte();
                let idents: Vec<Node<'_>> =
                    all.iter().copied().filter(|n| n.kind_str() == "identifier" && inside(n)).collect();
                let mut names: Vec<&str> = idents.iter().map(|n| &text[n.byte_range()]).collect();
                names.sort_unstable();
                names.dedup();
                for name in names.into_iter().filter(|n| !n.is_empty()) {
                    let walked: Vec<usize> =
                        idents.iter().filter(|n| &text[n.byte_range()] == name).map(|n| n.id()).collect();
                    let found: Vec<usize> = identifiers_named(scope, name, &text).iter().map(|n| n.id()).collect();
                    assert_eq!(found, walked, "{name} in {}", &text[scope.byte_range()]);
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

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
        let chain = super::chain(first(&tree, "call"), src);
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
            .map(|stmt| is_literal_string(stmt.named_child(0).unwrap().field("right").unwrap()))
            .collect();
        assert_eq!(values, [true, false, true]);
    }
}

/// A name bound by an import statement:
/// `from a.b import c as d` → `{ local: "d", module: "a.b", name: Some("c") }`,
/// `import a.b as m` → `{ local: "m", module: "a.b", name: None }`,
/// `import a.b` → `{ local: "a", module: "a.b", name: None }`,
/// `from a import *` → `{ local: "*", module: "a", name: Some("*") }`.
/// Relative modules keep their dots: `from . import db` → module `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Import<'s> {
    pub(crate) local: &'s str,
    pub(crate) module: &'s str,
    pub(crate) name: Option<&'s str>,
}

/// Imports visible from `node`: the module's statements (also those one or two blocks
/// deep in top-level `if`/`try`/`with` statements, e.g. `if TYPE_CHECKING:`) and the
/// direct statements of each enclosing function body. Cost is bounded by the number
/// of those statements, not by the size of the file.
pub(crate) fn visible_imports<'s>(node: Node<'_>, src: &'s str) -> Vec<Import<'s>> {
    imports_visible(node, src, None)
}

/// The [`visible_imports`] that bind the local name `local`: most callers ask about one name,
/// and a module's whole import list is not copied for it.
pub(crate) fn visible_imports_named<'s>(node: Node<'_>, src: &'s str, local: &str) -> Vec<Import<'s>> {
    imports_visible(node, src, Some(local))
}

fn imports_visible<'s>(node: Node<'_>, src: &'s str, only: Option<&str>) -> Vec<Import<'s>> {
    let mut functions = Vec::new();
    let mut module = None;
    for ancestor in ancestors(node) {
        match ancestor.kind_str() {
            "module" => module = Some(ancestor),
            "function_definition" => functions.extend(ancestor.field("body")),
            _ => {}
        }
    }
    let mut imports = Vec::new();
    if let Some(module) = module {
        import_cache::imports_of(module, 2, src, only, &mut imports);
    }
    // Outermost function first, as before: module imports, then each enclosing body's.
    for body in functions.into_iter().rev() {
        import_cache::imports_of(body, 0, src, only, &mut imports);
    }
    imports
}

/// Imports of the statements of `container`, `depth` blocks into `if`/`try`/`with` statements.
fn collect_visible<'s>(container: Node<'_>, depth: u8, src: &'s str, imports: &mut Vec<Import<'s>>) {
    // Every import statement spells `import`: most function bodies hold none, and their walk is saved.
    if memchr::memmem::find(src.get(container.byte_range()).unwrap_or_default().as_bytes(), b"import").is_none() {
        return;
    }
    let mut stack: Vec<(Node<'_>, u8)> = vec![(container, depth)];
    while let Some((container, depth)) = stack.pop() {
        let mut cursor = container.walk();
        match container.kind_str() {
            "module" | "block" => {
                for statement in container.named_children(&mut cursor) {
                    match statement.kind_str() {
                        "import_statement" | "import_from_statement" => collect_imports(statement, src, imports),
                        "if_statement" | "try_statement" | "with_statement" if depth > 0 => {
                            let mut inner = statement.walk();
                            for child in statement.named_children(&mut inner) {
                                if matches!(
                                    child.kind_str(),
                                    "block" | "else_clause" | "elif_clause" | "except_clause" | "finally_clause"
                                ) {
                                    stack.push((child, depth - 1));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            "else_clause" | "elif_clause" | "except_clause" | "finally_clause" => {
                for child in container.named_children(&mut cursor) {
                    if child.kind_str() == "block" {
                        stack.push((child, depth));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The module-level imports of the file being linted, computed once per file: rules ask for
/// the imports visible at thousands of nodes, and each scan costs the module's statement count.
/// Active only inside [`import_cache::scope`] (one file's engine pass, one tree and one text).
pub(crate) mod import_cache {
    use std::cell::RefCell;

    use tree_sitter::Node;

    use super::Import;

    /// A string of an [`Import`]: a range of the source, or the `*` of a wildcard import.
    #[derive(Clone, Copy)]
    enum Text {
        Span(usize, usize),
        Star,
    }

    /// (source address, source length, container node id) → that container's imports.
    type Cached = crate::fast_hash::FastMap<(usize, usize, usize), Vec<(Text, Text, Option<Text>)>>;

    thread_local! {
        static ACTIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// Counts the scopes opened on this thread: caches elsewhere keyed by node ids tag
        /// their entries with it, and drop them when it moved on (see [`generation`]).
        static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
        static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
    }

    /// Enables the caches until the guard drops (and empties them on both ends): they are
    /// keyed by node ids, which are addresses that a later tree may reuse. Inside an open
    /// scope (of the same tree) a new one changes nothing: the outer one keeps the caches.
    pub(crate) fn scope() -> Guard {
        if ACTIVE.with(std::cell::Cell::get) {
            return Guard { outer: false };
        }
        CACHE.with(|c| c.borrow_mut().take());
        GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
        ACTIVE.with(|a| a.set(true));
        Guard { outer: true }
    }

    /// The current scope's number while one is open on this thread (one file's engine pass).
    fn generation() -> Option<u64> {
        ACTIVE.with(std::cell::Cell::get).then(|| GENERATION.with(std::cell::Cell::get))
    }

    /// A thread-local cache for one file pass, for answers that other modules' helpers compute
    /// per file (keyed by node ids or names of that file's tree): it answers only inside a
    /// scope, and drops the entries of an earlier scope when it is next used.
    pub(crate) struct PerFile<K, V>(RefCell<(u64, crate::fast_hash::FastMap<K, V>)>);

    impl<K: std::hash::Hash + Eq, V> PerFile<K, V> {
        pub(crate) fn new() -> Self {
            PerFile(RefCell::new((0, crate::fast_hash::FastMap::default())))
        }

        /// `read` of the entry for `key` in the current pass; `None` outside a pass or if absent.
        pub(crate) fn read<Q, R>(&self, key: &Q, read: impl FnOnce(&V) -> R) -> Option<R>
        where
            K: std::borrow::Borrow<Q>,
            Q: std::hash::Hash + Eq + ?Sized,
        {
            let generation = generation()?;
            let cache = self.0.borrow();
            cache.1.get(key).filter(|_| cache.0 == generation).map(read)
        }

        /// Keeps `value` for `key` for the rest of the current pass (nothing outside a pass).
        pub(crate) fn insert(&self, key: K, value: V) {
            let Some(generation) = generation() else { return };
            let mut cache = self.0.borrow_mut();
            if cache.0 != generation {
                *cache = (generation, crate::fast_hash::FastMap::default());
            }
            cache.1.insert(key, value);
        }
    }

    pub(crate) struct Guard {
        /// Did this guard open the scope (rather than find one open)?
        outer: bool,
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            if self.outer {
                ACTIVE.with(|a| a.set(false));
                CACHE.with(|c| c.borrow_mut().take());
            }
        }
    }

    /// The imports of a module (`depth` 2: into `if`/`try`/`with` blocks) or a function body
    /// (`depth` 0), scanned once per container while the cache is on.
    /// Appends the imports of `container`'s statements (`depth` blocks deep) to `out`, only
    /// those binding the local name `only` if given.
    pub(crate) fn imports_of<'s>(
        container: Node<'_>,
        depth: u8,
        src: &'s str,
        only: Option<&str>,
        out: &mut Vec<Import<'s>>,
    ) {
        let wanted = |local: &str| only.is_none_or(|name| name == local);
        if !ACTIVE.with(std::cell::Cell::get) {
            let mut found = Vec::new();
            super::collect_visible(container, depth, src, &mut found);
            out.extend(found.into_iter().filter(|i| wanted(i.local)));
            return;
        }
        let text = |t: Text| match t {
            Text::Span(start, end) => src.get(start..end).unwrap_or(""),
            Text::Star => "*",
        };
        let key = (src.as_ptr() as usize, src.len(), container.id());
        let hit =
            CACHE.with(|c| {
                let cache = c.borrow();
                let spans = cache.as_ref()?.get(&key)?;
                out.extend(spans.iter().filter(|(local, ..)| wanted(text(*local))).map(|&(local, module, name)| {
                    Import { local: text(local), module: text(module), name: name.map(text) }
                }));
                Some(())
            });
        if hit.is_some() {
            return;
        }
        let mut imports = Vec::new();
        super::collect_visible(container, depth, src, &mut imports);
        let span = |text: &str| {
            let offset = (text.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
            if offset <= src.len() && offset + text.len() <= src.len() {
                Text::Span(offset, offset + text.len())
            } else {
                Text::Star
            }
        };
        let spans: Vec<_> = imports.iter().map(|i| (span(i.local), span(i.module), i.name.map(span))).collect();
        CACHE.with(|c| c.borrow_mut().get_or_insert_with(Default::default).insert(key, spans));
        out.extend(imports.into_iter().filter(|i| wanted(i.local)));
    }
}

fn collect_imports<'s>(statement: Node<'_>, src: &'s str, out: &mut Vec<Import<'s>>) {
    let text = |n: Node<'_>| src.get(n.byte_range()).unwrap_or("");
    let mut cursor = statement.walk();
    if statement.kind_str() == "import_from_statement" {
        let Some(module) = statement.field("module_name") else { return };
        let module = text(module);
        for child in statement.named_children(&mut cursor) {
            if child.kind_str() == "wildcard_import" {
                out.push(Import { local: "*", module, name: Some("*") });
            }
        }
        let mut cursor = statement.walk();
        for child in statement.children_by_field_name("name", &mut cursor) {
            match child.kind_str() {
                "dotted_name" => out.push(Import { local: text(child), module, name: Some(text(child)) }),
                "aliased_import" => {
                    if let (Some(name), Some(alias)) = (child.field("name"), child.field("alias")) {
                        out.push(Import { local: text(alias), module, name: Some(text(name)) });
                    }
                }
                _ => {}
            }
        }
    } else {
        for child in statement.children_by_field_name("name", &mut cursor) {
            match child.kind_str() {
                "dotted_name" => {
                    let module = text(child);
                    let local = module.split('.').next().unwrap_or(module);
                    out.push(Import { local, module, name: None });
                }
                "aliased_import" => {
                    if let (Some(name), Some(alias)) = (child.field("name"), child.field("alias")) {
                        out.push(Import { local: text(alias), module: text(name), name: None });
                    }
                }
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------
// SQL criteria (added for the SA4xx correctness rules): which expressions a
// criteria call hands to SQLAlchemy as WHERE / HAVING / ON conditions, and
// whether an operand looks like a SQL column expression. Every walk here is
// iterative and bounded by the size of the expression it starts from.
// ---------------------------------------------------------------------------

/// Receivers whose `.where()` / `.filter()` / `.join()` / `.and_()` are not SQLAlchemy's.
const NON_SQL_RECEIVERS: &[&str] =
    &["np", "numpy", "pd", "pandas", "torch", "tf", "jnp", "xr", "operator", "os", "posixpath", "ntpath", "shlex"];

/// Modules under which `join(left, right, onclause)` is the function form (onclause third).
const SQL_MODULES: &[&str] = &["sa", "sqlalchemy", "sql", "expression", "orm", "db"];

/// SQLAlchemy constructors whose result is always a SQL column expression.
const SQL_CONSTRUCTORS: &[&str] =
    &["cast", "type_coerce", "column", "literal_column", "case", "extract", "tuple_", "collate", "and_", "or_", "not_"];

/// The arguments of a criteria call that SQLAlchemy reads as SQL conditions: the
/// positional arguments (and `*splat`s) of `.filter()`, `.where()`, `.having()`, `and_()`,
/// `or_()`, `not_()`; the onclause of `join`/`outerjoin` (second positional argument of the
/// method, third of the function `join(left, right, onclause)`, or `onclause=`).
/// Keyword values (`filter_by(name=...)`) are plain Python values and never returned.
pub(crate) fn criteria_arguments<'t>(call: Node<'t>, src: &str) -> Vec<Node<'t>> {
    let Some(name) = callee_name(call, src) else {
        return Vec::new();
    };
    let Some(function) = call.field("function").map(unparen) else {
        return Vec::new();
    };
    let method = function.kind_str() == "attribute";
    if !method && !is_sql_function_name(call, name, src) {
        return Vec::new();
    }
    let mut module_receiver = false;
    if let Some(object) = receiver(call).map(unparen) {
        // `", ".join(...)`, `os.path.join(...)`, `np.where(...)`, `operator.and_(...)`.
        if matches!(object.kind_str(), "string" | "concatenated_string") {
            return Vec::new();
        }
        if let Some(dotted) = dotted_name(object, src) {
            let first = dotted.split('.').next().unwrap_or("");
            if NON_SQL_RECEIVERS.contains(&first) || dotted.ends_with("path") {
                return Vec::new();
            }
            module_receiver = SQL_MODULES.contains(&first) && !dotted.chars().any(|c| c.is_ascii_uppercase());
        }
    }
    match name {
        "filter" | "where" | "having" if method => arguments(call)
            .into_iter()
            .filter(|n| !matches!(n.kind_str(), "keyword_argument" | "dictionary_splat"))
            .collect(),
        "and_" | "or_" | "not_" => arguments(call)
            .into_iter()
            .filter(|n| !matches!(n.kind_str(), "keyword_argument" | "dictionary_splat"))
            .collect(),
        "join" | "outerjoin" => {
            let index = if method && !module_receiver { 1 } else { 2 };
            let mut found: Vec<Node<'t>> = positional_arguments(call).get(index).copied().into_iter().collect();
            found.extend(keyword_argument(call, "onclause", src));
            found
        }
        _ => Vec::new(),
    }
}

/// Modules whose `and_` / `or_` / `not_` / `join` / `outerjoin` are SQLAlchemy's (or re-export them).
pub(crate) fn is_sql_module(module: &str) -> bool {
    ["sqlalchemy", "sqlmodel", "flask_sqlalchemy"]
        .iter()
        .any(|root| module == *root || module.strip_prefix(root).is_some_and(|rest| rest.starts_with('.')))
}

/// Is a bare-name call `and_(...)` / `join(...)` SQLAlchemy's? Not when the name is imported from
/// another module (`from operator import and_`, `from os.path import join`); `join` / `outerjoin`,
/// common names outside SQL, also need an import from SQLAlchemy (by name or `*`).
fn is_sql_function_name(call: Node<'_>, name: &str, src: &str) -> bool {
    let imports = visible_imports_named(call, src, name);
    let mut by_name = imports.iter();
    if let Some(import) = by_name.next() {
        return is_sql_module(import.module) && by_name.all(|i| is_sql_module(i.module));
    }
    !matches!(name, "join" | "outerjoin")
        || visible_imports_named(call, src, "*").iter().any(|i| is_sql_module(i.module))
}

/// Is `node` a comparison that Python answers with a plain `bool` (`is`, `is not`, `in`, `not in`)?
pub(crate) fn is_python_comparison(node: Node<'_>) -> bool {
    let node = unparen(node);
    node.kind_str() == "comparison_operator"
        && comparison_pairs(node).iter().all(|(_, op, _)| matches!(*op, "is" | "is not" | "in" | "not in"))
}

/// What SQLAlchemy makes of the Python constant `value` that `node` (one of the
/// [`criteria_operators`] of `call`) evaluates to, as a clause for a message. As measured with
/// SQLAlchemy 2.1: `.where(False)` renders `WHERE false` and `.where(True)` `WHERE true`;
/// `.join(T, False)` raises `ArgumentError`; `and_()` / `&` drop `True` and collapse to `false`
/// on `False`, `or_()` / `|` drop `False` and collapse to `true` on `True`.
pub(crate) fn constant_effect(call: Node<'_>, node: Node<'_>, value: bool, src: &str) -> String {
    let mut branch = false;
    let effect = constant_effect_in(call, node, value, src, &mut branch);
    if branch {
        format!("when that branch is taken, {effect}")
    } else {
        effect
    }
}

fn constant_effect_in(call: Node<'_>, node: Node<'_>, value: bool, src: &str, branch: &mut bool) -> String {
    let lost = "the condition is lost".to_string();
    // Climb through parentheses and the branches (never the test) of `a if test else b`.
    let mut child = node;
    let mut parent = node.up();
    while let Some(p) = parent {
        let transparent = match p.kind_str() {
            "parenthesized_expression" => true,
            "conditional_expression" => {
                let mut cursor = p.walk();
                let test = p.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").nth(1);
                let in_branch = test.is_none_or(|test| test.id() != child.id());
                *branch |= in_branch;
                in_branch
            }
            _ => false,
        };
        if !transparent {
            break;
        }
        child = p;
        parent = p.up();
    }
    let Some(parent) = parent else { return lost };
    let arguments = call.field("arguments");
    let direct = match parent.kind_str() {
        "argument_list" => Some(parent) == arguments,
        "keyword_argument" => {
            parent.up() == arguments && parent.field("name").and_then(|n| src.get(n.byte_range())) == Some("onclause")
        }
        _ => false,
    };
    let constant = if value { "True" } else { "False" };
    if direct {
        return match (callee_name(call, src), value) {
            (Some(name @ ("filter" | "where" | "having")), false) => {
                format!("`.{name}()` receives `False`, so the query matches no rows")
            }
            (Some(name @ ("filter" | "where" | "having")), true) => {
                format!("`.{name}()` receives `True`, so the condition silently disappears")
            }
            (Some("join" | "outerjoin"), _) => {
                "the join raises `ArgumentError` (a Python bool is not an ON clause)".to_string()
            }
            (Some("and_"), false) => "`and_()` receives `False`, which makes the whole `and_()` false".to_string(),
            (Some("or_"), true) => "`or_()` receives `True`, which makes the whole `or_()` true".to_string(),
            (Some(name @ ("and_" | "or_")), _) => {
                format!("`{name}()` receives `{constant}` and drops it, so the condition is lost")
            }
            _ => lost,
        };
    }
    if parent.kind_str() == "binary_operator" {
        let operator = parent.field("operator").and_then(|o| src.get(o.byte_range()));
        let sibling =
            ["left", "right"].into_iter().filter_map(|field| parent.field(field)).find(|n| n.id() != child.id());
        // `(a is None) & (b is None)` is Python's own `bool & bool`.
        if sibling.is_some_and(is_python_comparison) {
            return lost;
        }
        return match (operator, value) {
            (Some("&"), false) => "`& False` makes the whole conjunction false".to_string(),
            (Some("|"), true) => "`| True` makes the whole disjunction true".to_string(),
            (Some(op @ ("&" | "|")), _) => format!("`{op}` drops the `{constant}`, so the condition is lost"),
            _ => lost,
        };
    }
    lost
}

/// A comparison or a Python `and` / `or` / `not` whose value SQLAlchemy receives as criteria.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CriteriaOperator<'t> {
    pub(crate) node: Node<'t>,
    /// The node sits inside a Python `and` / `or` / `not` that is itself in criteria position.
    pub(crate) in_bool_op: bool,
}

/// Every `comparison_operator`, `boolean_operator` and `not_operator` in criteria position in
/// the arguments of `call`: the argument itself, or reached from it only through parentheses,
/// SQL `&` / `|` / `~`, Python `and` / `or` / `not`, the two branches of `a if cond else b`
/// (never `cond`), and the elements or comprehension body of a `*[...]` splat (never its `for`
/// / `if` clauses). Operands of comparisons, arguments of other calls and lambdas are Python
/// values, and nested `and_()` / `or_()` / `not_()` calls are criteria calls of their own.
pub(crate) fn criteria_operators<'t>(call: Node<'t>, src: &str) -> Vec<CriteriaOperator<'t>> {
    let mut found = Vec::new();
    // (node, directly under a `*` splat, inside a Python boolean operator)
    let mut stack: Vec<(Node<'t>, bool, bool)> =
        criteria_arguments(call, src).into_iter().rev().map(|n| (n, false, false)).collect();
    while let Some((node, splat, in_bool_op)) = stack.pop() {
        let field = |name: &str| node.field(name);
        match node.kind_str() {
            "parenthesized_expression" => {
                let mut cursor = node.walk();
                let inner: Vec<Node<'t>> =
                    node.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").collect();
                stack.extend(inner.into_iter().rev().map(|n| (n, splat, in_bool_op)));
            }
            "list_splat" => {
                let mut cursor = node.walk();
                let inner: Vec<Node<'t>> =
                    node.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").collect();
                stack.extend(inner.into_iter().rev().map(|n| (n, true, in_bool_op)));
            }
            "list" | "tuple" | "set" if splat => {
                let mut cursor = node.walk();
                let inner: Vec<Node<'t>> =
                    node.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").collect();
                stack.extend(inner.into_iter().rev().map(|n| (n, false, in_bool_op)));
            }
            "list_comprehension" | "generator_expression" | "set_comprehension" if splat => {
                stack.extend(field("body").map(|n| (n, false, in_bool_op)));
            }
            "boolean_operator" => {
                found.push(CriteriaOperator { node, in_bool_op });
                stack.extend(field("right").map(|n| (n, false, true)));
                stack.extend(field("left").map(|n| (n, false, true)));
            }
            "not_operator" => {
                found.push(CriteriaOperator { node, in_bool_op });
                stack.extend(field("argument").map(|n| (n, false, true)));
            }
            "binary_operator" => {
                let operator = field("operator").and_then(|o| src.get(o.byte_range()));
                if matches!(operator, Some("&" | "|")) {
                    stack.extend(field("right").map(|n| (n, false, in_bool_op)));
                    stack.extend(field("left").map(|n| (n, false, in_bool_op)));
                }
            }
            "unary_operator" => {
                let operator = field("operator").and_then(|o| src.get(o.byte_range()));
                if operator == Some("~") {
                    stack.extend(field("argument").map(|n| (n, false, in_bool_op)));
                }
            }
            "conditional_expression" => {
                // `then if cond else otherwise`: both branches are criteria, `cond` is Python.
                let mut cursor = node.walk();
                let parts: Vec<Node<'t>> =
                    node.named_children(&mut cursor).filter(|n| n.kind_str() != "comment").collect();
                stack.extend(parts.get(2).map(|n| (*n, false, in_bool_op)));
                stack.extend(parts.first().map(|n| (*n, false, in_bool_op)));
            }
            "comparison_operator" => found.push(CriteriaOperator { node, in_bool_op }),
            _ => {}
        }
    }
    found
}

/// The `(left, operator, right)` pairs of a comparison: `a < b <= c` → `(a, "<", b)`, `(b, "<=", c)`.
/// Operators are `"is"`, `"is not"`, `"in"`, `"not in"`, `"=="`, ...
pub(crate) fn comparison_pairs<'t>(node: Node<'t>) -> Vec<(Node<'t>, &'t str, Node<'t>)> {
    let mut operands = Vec::new();
    let mut operators = Vec::new();
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            let child = cursor.node();
            if cursor.field_name() == Some("operators") {
                operators.push(child.kind_str());
            } else if child.is_named() && child.kind_str() != "comment" {
                operands.push(child);
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    operators.iter().enumerate().filter_map(|(i, op)| Some((*operands.get(i)?, *op, *operands.get(i + 1)?))).collect()
}

/// What a column-looking expression is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnShape<'s> {
    /// Certainly a SQL column element: `table.c.x`, `alias.c.x`, `func.lower(...)`, `cast(...)`.
    Sql,
    /// `Class.attr` (possibly `Class.attr.op(...)`, `models.Class.attr`): a mapped column or a
    /// relationship; `class` and `attr` are set for the plain two-part form only.
    Attribute { class: Option<&'s str>, attr: Option<&'s str> },
}

/// One step of an expression such as `models.User.name.lower()`, root first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'s> {
    Attr(&'s str),
    Call,
    Index,
}

fn is_constant_name(name: &str) -> bool {
    !name.chars().any(|c| c.is_ascii_lowercase())
}

fn starts_uppercase(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// A plausible column attribute after a class or alias: `User.name`, not `Status.ACTIVE`,
/// `User.__table__`, `User.query` or a class method call `User.get(1)`.
fn column_attribute<'s>(steps: &[Step<'s>], at: usize) -> Option<&'s str> {
    let Some(Step::Attr(attr)) = steps.get(at) else {
        return None;
    };
    let plausible = !is_constant_name(attr) && !attr.starts_with("__") && *attr != "query";
    (plausible && steps.get(at + 1) != Some(&Step::Call)).then_some(*attr)
}

/// Does `node` look like a SQL column expression, and how sure are we? Recognised, syntactically:
/// `User.name` (a capitalised class, possibly module-qualified `models.User.name`, or `cls.name`),
/// `User.name.lower()` / `User.data["k"]`, `table.c.name` / `alias.c.name`, `user_alias.name` where
/// the variable is named `*alias` or assigned `aliased(...)` / `.alias()` / `.subquery()` / `.cte()`
/// / `Table(...)` in the same scope, `func.lower(...)`, and SQL constructors such as `cast(...)`.
/// Plain variables, instance attributes (`user.name`, `self.x`) and enum-like constants
/// (`Status.ACTIVE`) are not column expressions.
pub(crate) fn column_shape<'s>(node: Node<'_>, src: &'s str) -> Option<ColumnShape<'s>> {
    let mut steps: Vec<Step<'s>> = Vec::new();
    let mut current = unparen(node);
    let root = loop {
        match current.kind_str() {
            "attribute" => {
                let attr = current.field("attribute")?;
                steps.push(Step::Attr(src.get(attr.byte_range())?));
                current = unparen(current.field("object")?);
            }
            "call" => {
                steps.push(Step::Call);
                current = unparen(current.field("function")?);
            }
            "subscript" => {
                steps.push(Step::Index);
                current = unparen(current.field("value")?);
            }
            "identifier" => break current,
            _ => return None,
        }
    };
    steps.reverse();
    let root_name = src.get(root.byte_range())?;
    let names: Vec<&'s str> = std::iter::once(root_name)
        .chain(steps.iter().map_while(|s| if let Step::Attr(a) = s { Some(*a) } else { None }))
        .collect();
    // `table.c.name`, `table.columns["name"]`.
    let core = steps.windows(2).any(|w| matches!(w, [Step::Attr("c" | "columns"), Step::Attr(_) | Step::Index]));
    // `func.lower(...)`, `sa.func.now()`.
    let func = names.iter().position(|n| *n == "func").is_some_and(|i| {
        let rest = steps.get(i..).unwrap_or_default();
        matches!(rest.first(), Some(Step::Attr(_))) && rest.contains(&Step::Call)
    });
    // `cast(x, Integer)`, `sa.cast(...)`.
    let constructor = match names.as_slice() {
        [name] => SQL_CONSTRUCTORS.contains(name) && steps.first() == Some(&Step::Call),
        [module, name] => {
            SQL_MODULES.contains(module) && SQL_CONSTRUCTORS.contains(name) && steps.get(1) == Some(&Step::Call)
        }
        _ => false,
    };
    if core || func || constructor {
        return Some(ColumnShape::Sql);
    }
    // `User.name`, `models.User.name`: the first capitalised name, then a column attribute.
    if let Some(class_at) = names.iter().position(|n| starts_uppercase(n)) {
        let attr = column_attribute(&steps, class_at)?;
        let plain = class_at == 0 && steps.len() == 1;
        return Some(ColumnShape::Attribute { class: plain.then_some(root_name), attr: plain.then_some(attr) });
    }
    // `cls.name` in a classmethod / hybrid expression; `user_alias.name`.
    if root_name == "cls" || is_alias_variable(root, root_name, src) {
        column_attribute(&steps, 0)?;
        return Some(ColumnShape::Attribute { class: None, attr: None });
    }
    None
}

fn is_alias_variable(root: Node<'_>, name: &str, src: &str) -> bool {
    if name.ends_with("alias") || name.ends_with("Alias") {
        return true;
    }
    let Some(value) = crate::query::assigned_value(root, src) else {
        return false;
    };
    let value = unparen(value);
    value.kind_str() == "call"
        && callee_name(value, src).is_some_and(|n| {
            matches!(n, "aliased" | "alias" | "subquery" | "cte" | "with_polymorphic" | "Table" | "table" | "lateral")
        })
}

/// [`column_shape`] as a yes/no.
pub(crate) fn is_column_expression(node: Node<'_>, src: &str) -> bool {
    column_shape(node, src).is_some()
}

/// What a `Class.attr` expression is, when `Class` is defined in the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MappedAttribute {
    /// `attr = Column(...)` / `mapped_column(...)` / `column_property(...)`, or `attr: Mapped[...]`
    /// without a value.
    Column,
    /// `attr = relationship(...)` (or `Relationship(...)`, SQLModel's).
    Relationship,
    /// Certainly not mapped: a member of an `Enum` class, or a class attribute assigned a literal
    /// without annotation (`include_deleted = False`, `roles = ["a", "b"]`), which declarative
    /// mapping leaves alone.
    Plain,
    /// Not known from this file.
    Unknown,
}

/// `Enum`, `enum.IntEnum`, `StrEnum`, `Flag`, ...: their members are not columns.
fn is_enum_base(base: &str) -> bool {
    let last = base.rsplit('.').next().unwrap_or(base);
    matches!(last, "Enum" | "IntEnum" | "StrEnum" | "Flag" | "IntFlag" | "ReprEnum")
}

/// Literal values whose assignment in a class body is a plain class attribute.
fn is_literal_value(node: Node<'_>) -> bool {
    matches!(
        unparen(node).kind_str(),
        "string"
            | "concatenated_string"
            | "integer"
            | "float"
            | "true"
            | "false"
            | "none"
            | "list"
            | "tuple"
            | "set"
            | "dictionary"
            | "unary_operator"
    )
}

/// Is `node` certainly a SQL column (so `.is_()` / `.in_()` exist on it), not possibly a
/// relationship? True for [`ColumnShape::Sql`], and for `Class.attr` when `Class` is defined in
/// this file with `attr = Column(...)` / `mapped_column(...)` / `column_property(...)` or an
/// annotation `attr: Mapped[...]` without a value.
pub(crate) fn is_certain_column(node: Node<'_>, src: &str) -> bool {
    match column_shape(node, src) {
        Some(ColumnShape::Sql) => true,
        Some(ColumnShape::Attribute { .. }) => mapped_attribute(node, src) == MappedAttribute::Column,
        None => false,
    }
}

/// For a plain `Class.attr` whose class is defined at the top level of this file: how `attr` is
/// declared in the class body (the last assignment wins).
pub(crate) fn mapped_attribute(node: Node<'_>, src: &str) -> MappedAttribute {
    let Some(ColumnShape::Attribute { class: Some(class), attr: Some(attr) }) = column_shape(node, src) else {
        return MappedAttribute::Unknown;
    };
    let Some(module) = ancestors(node).last() else {
        return MappedAttribute::Unknown;
    };
    let mut cursor = module.walk();
    let classes: Vec<Node<'_>> = module
        .named_children(&mut cursor)
        .map(|n| if n.kind_str() == "decorated_definition" { n.field("definition").unwrap_or(n) } else { n })
        .filter(|n| n.kind_str() == "class_definition")
        .filter(|n| n.field("name").and_then(|name| src.get(name.byte_range())) == Some(class))
        .collect();
    let [definition] = classes.as_slice() else {
        return MappedAttribute::Unknown;
    };
    if let Some(superclasses) = definition.field("superclasses") {
        let mut cursor = superclasses.walk();
        let enum_class =
            superclasses.named_children(&mut cursor).any(|base| src.get(base.byte_range()).is_some_and(is_enum_base));
        if enum_class {
            return MappedAttribute::Plain;
        }
    }
    let Some(body) = definition.field("body") else {
        return MappedAttribute::Unknown;
    };
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
    let mut kind = MappedAttribute::Unknown;
    for statement in statements {
        let Some(assignment) = statement.named_child(0).filter(|n| n.kind_str() == "assignment") else {
            continue;
        };
        let Some(left) = assignment.field("left") else {
            continue;
        };
        if src.get(left.byte_range()) != Some(attr) {
            continue;
        }
        let annotation = assignment.field("type").and_then(|t| src.get(t.byte_range()));
        kind = match assignment.field("right").map(unparen) {
            None if annotation.is_some_and(|a| a.starts_with("Mapped[")) => MappedAttribute::Column,
            Some(value) if value.kind_str() == "call" => match callee_name(value, src) {
                Some("Column" | "mapped_column" | "column_property") => MappedAttribute::Column,
                Some("relationship" | "Relationship") => MappedAttribute::Relationship,
                _ => MappedAttribute::Unknown,
            },
            // `include_deleted = False`: SQLModel and dataclass-style models annotate their
            // columns with plain defaults (`age: int | None = None`), so only unannotated ones.
            Some(value) if annotation.is_none() && is_literal_value(value) => MappedAttribute::Plain,
            _ => MappedAttribute::Unknown,
        };
    }
    kind
}

/// A column expression in query criteria: [`column_shape`] recognises it, and this file does not
/// show `Class.attr` to be a plain class attribute or enum member ([`MappedAttribute::Plain`]).
pub(crate) fn is_criteria_column(node: Node<'_>, src: &str) -> bool {
    column_shape(node, src).is_some() && mapped_attribute(node, src) != MappedAttribute::Plain
}

/// Does `node` build SQL rather than a Python value: a column expression, or a comparison,
/// arithmetic, `~` or `and_()` / `or_()` / `not_()` involving one? Bounded to a few dozen nodes.
pub(crate) fn is_sql_expression(node: Node<'_>, src: &str) -> bool {
    let mut stack = vec![node];
    let mut budget = 64;
    while let Some(next) = stack.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let next = unparen(next);
        if is_column_expression(next, src) {
            return true;
        }
        match next.kind_str() {
            "comparison_operator" => {
                for (left, _, right) in comparison_pairs(next) {
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

#[cfg(test)]
mod criteria_tests {
    use super::test_support::*;
    use super::*;

    fn operators(src: &str) -> Vec<String> {
        let tree = parse(src);
        let call = first(&tree, "call");
        criteria_operators(call, src).iter().map(|c| src[c.node.byte_range()].to_string()).collect()
    }

    #[test]
    fn criteria_positions() {
        let found = operators("q.filter(User.a is None, x if y is None else (User.b in z) & ~(c and d))\n");
        assert_eq!(found, ["User.a is None", "User.b in z", "c and d"]);
        assert!(operators("q.filter(User.id == (a or b), f(x is None), lambda: x is None)\n").len() == 1);
        assert_eq!(operators("q.where(*[User.n == n for n in names if n is not None])\n"), ["User.n == n"]);
        assert!(operators("', '.join(a, b is None)\n").is_empty());
        assert_eq!(operators("q.join(Address, User.id == Address.user_id)\n"), ["User.id == Address.user_id"]);
        assert!(operators("q.filter_by(active=a and b)\n").is_empty());
        // Bare names: SQLAlchemy's unless imported from elsewhere; `join` needs SQLAlchemy's import.
        assert_eq!(operators("and_(User.a is None)\n"), ["User.a is None"]);
        assert!(operators("from operator import and_\nand_(User.a is None)\n").is_empty());
        assert!(operators("join(a, b, User.a is None)\n").is_empty());
        assert_eq!(operators("from sqlalchemy.orm import join\njoin(a, b, User.a is None)\n"), ["User.a is None"]);
    }

    #[test]
    fn column_shapes() {
        let src = "x = [User.id, models.User.id, user.id, Status.ACTIVE, t.c.id, func.lower(User.name), \
                   User.get(1), cls.id, u_alias.id, User.data['k'], self.id, TI.state]\n";
        let tree = parse(src);
        let list = first(&tree, "list");
        let mut cursor = list.walk();
        let shapes: Vec<bool> = list.named_children(&mut cursor).map(|n| is_column_expression(n, src)).collect();
        assert_eq!(shapes, [true, true, false, false, true, true, false, true, true, true, false, true]);
    }
}

// ---------------------------------------------------------------------------
// Database handles (added for SA104 / SA106): which receivers of `.commit()` /
// `.add()` are taken to be a SQLAlchemy `Session` or `Connection`. Judged
// conservatively from the name, a parameter annotation, or the call the
// variable was bound from. Walks are bounded by the enclosing scope.
// ---------------------------------------------------------------------------

/// What a receiver is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbHandle {
    /// `Session` / `AsyncSession` / `scoped_session` (also Flask-SQLAlchemy `db.session`).
    Session,
    /// A 2.0 `Connection` / `AsyncConnection` (or a DB-API connection).
    Connection,
}

/// By name alone: `session`, `db.session`, `self._session`, `db_session`, `DBSession`, `sess`
/// are sessions; `conn`, `connection`, `db_conn`, `self.connection` are connections.
pub(crate) fn db_handle_by_name(name: &str) -> Option<DbHandle> {
    let lower = name.trim_start_matches('_').to_ascii_lowercase();
    if lower.ends_with("session") || lower == "sess" || lower.ends_with("_sess") {
        return Some(DbHandle::Session);
    }
    if matches!(lower.as_str(), "conn" | "connection" | "dbconn" | "dbconnection")
        || lower.ends_with("_conn")
        || lower.ends_with("_connection")
    {
        return Some(DbHandle::Connection);
    }
    None
}

/// Is `node` (a method receiver) a session or connection? By its last name
/// ([`db_handle_by_name`]); for a plain variable also by its parameter annotation (`Session`,
/// `AsyncSession`, `scoped_session`, `Connection`, `AsyncConnection`) or the call it was bound
/// from, by assignment or `with ... as name` (`Session(engine)`, `SessionLocal()`,
/// `sessionmaker(...)()`, `engine.connect()`).
pub(crate) fn db_handle(node: Node<'_>, src: &str) -> Option<DbHandle> {
    let node = unparen(node);
    let dotted = dotted_name(node, src)?;
    let last = dotted.rsplit('.').next().unwrap_or(&dotted);
    if let Some(kind) = db_handle_by_name(last) {
        return Some(kind);
    }
    if node.kind_str() != "identifier" {
        return None;
    }
    if let Some(annotation) = parameter_annotation(node, src) {
        return db_handle_by_annotation(src.get(annotation.byte_range()).unwrap_or(""));
    }
    let value = unparen(bound_value(node, src)?);
    let value = if value.kind_str() == "await" { unparen(value.named_child(0)?) } else { value };
    if value.kind_str() != "call" {
        return None;
    }
    let callee = src.get(value.field("function")?.byte_range())?.to_ascii_lowercase();
    if callee.contains("session") && !callee.ends_with("sessionmaker") {
        Some(DbHandle::Session)
    } else if callee.ends_with("connect") || callee.ends_with("connection") {
        Some(DbHandle::Connection)
    } else {
        None
    }
}

fn db_handle_by_annotation(annotation: &str) -> Option<DbHandle> {
    let tokens: Vec<&str> = annotation.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
    if tokens.iter().any(|t| t.ends_with("sessionmaker")) {
        return None;
    }
    if tokens.iter().any(|t| matches!(*t, "Session" | "AsyncSession" | "scoped_session" | "async_scoped_session")) {
        Some(DbHandle::Session)
    } else if tokens.iter().any(|t| matches!(*t, "Connection" | "AsyncConnection")) {
        Some(DbHandle::Connection)
    } else {
        None
    }
}

/// The annotation of the parameter named like the identifier `var` in its enclosing function.
pub(crate) fn parameter_annotation<'t>(var: Node<'t>, src: &str) -> Option<Node<'t>> {
    let name = src.get(var.byte_range())?;
    let parameters = enclosing_function(var)?.field("parameters")?;
    let mut cursor = parameters.walk();
    let found = parameters.named_children(&mut cursor).find_map(|p| {
        if !matches!(p.kind_str(), "typed_parameter" | "typed_default_parameter") {
            return None;
        }
        let param = p.field("name").or_else(|| p.named_child(0))?;
        (src.get(param.byte_range()) == Some(name)).then(|| p.field("type")).flatten()
    });
    found
}

/// The value the identifier `name` was last bound to before its use, in its function (or
/// module): an assignment `name = value` or a `with value as name` item, whichever is later.
pub(crate) fn bound_value<'t>(name: Node<'t>, src: &'t str) -> Option<Node<'t>> {
    let assigned = crate::query::assigned_value(name, src);
    let ident = src.get(name.byte_range())?;
    let scope = enclosing_function(name)
        .and_then(|f| f.field("body"))
        .or_else(|| ancestors(name).find(|n| n.kind_str() == "module"))?;
    // `with value as name` items started before the use, from where the text spells the name
    // (walking everything before the use cost the size of the scope).
    let mut with_value: Option<Node<'t>> = None;
    for (target, path) in own_spellings(scope, ident, src) {
        // The `as` pattern is the target's parent (the alias) or grandparent (through it).
        let Some(i) = path.iter().rposition(|n| n.kind_str() == "as_pattern") else { continue };
        let pattern = path[i];
        let in_with = i.checked_sub(1).is_some_and(|p| path[p].kind_str() == "with_item");
        let alias = pattern.field("alias").and_then(|a| a.named_child(0).or(Some(a)));
        if i + 2 < path.len()
            || !in_with
            || pattern.start_byte() >= name.start_byte()
            || alias.is_none_or(|a| a.id() != target.id())
        {
            continue;
        }
        if let Some(value) = pattern.named_child(0) {
            if with_value.is_none_or(|w| w.start_byte() < value.start_byte()) {
                with_value = Some(value);
            }
        }
    }
    match (assigned, with_value) {
        (Some(a), Some(w)) => Some(if a.start_byte() > w.start_byte() { a } else { w }),
        (a, w) => a.or(w),
    }
}

// ---------------------------------------------------------------------------
// SQLAlchemy names (added for SA404 / SA406 / SA609): is a bare or dotted callee
// (`delete`, `sa.update`, `db.Column`) SQLAlchemy's own, judged from the imports
// visible where it is used, so same-named functions of other libraries are skipped.
// ---------------------------------------------------------------------------

/// Top-level packages that export SQLAlchemy's constructors (SQLModel re-exports them;
/// Flask-SQLAlchemy's `db` handle carries them as attributes).
const SQLALCHEMY_PACKAGES: &[&str] = &["sqlalchemy", "sqlmodel", "flask_sqlalchemy"];

/// Is the callee `dotted` (written at `node`) SQLAlchemy's `name`? A bare name must be imported
/// from SQLAlchemy or SQLModel (by name or `*`); a dotted one must be read from `sa`,
/// `sqlalchemy`, a Flask-SQLAlchemy `db`, or a name imported from those packages.
pub(crate) fn is_sqlalchemy_callee(node: Node<'_>, dotted: &str, names: &[&str], src: &str) -> bool {
    let (head, name) = match dotted.rsplit_once('.') {
        Some((head, name)) => (Some(head), name),
        None => (None, dotted),
    };
    let from_sqlalchemy = |module: &str| SQLALCHEMY_PACKAGES.contains(&module.split('.').next().unwrap_or(module));
    let imports = visible_imports(node, src);
    match head {
        // `from sqlalchemy import delete` / `... import delete as sa_delete` / `... import *`.
        None => imports.iter().any(|i| match i.name {
            Some("*") => names.contains(&name) && from_sqlalchemy(i.module),
            Some(imported) => i.local == name && names.contains(&imported) && from_sqlalchemy(i.module),
            None => false,
        }),
        Some(head) => {
            let root = head.split('.').next().unwrap_or(head);
            names.contains(&name) && matches!(root, "db" | "sa" | "sqlalchemy")
                || names.contains(&name)
                    && imports.iter().any(|i| i.local == root && (from_sqlalchemy(i.module) || i.name == Some("db")))
        }
    }
}

/// Source text on one line for a message, cut to `max` characters with `...` when longer.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    // Comments inside a multi-line expression are not part of it.
    let code: Vec<&str> = text.lines().map(strip_comment).collect();
    let mut flat = code.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    // Chains broken over lines (`users.update()\n    .where(...)`) read as one expression.
    for (from, to) in [("( ", "("), (" )", ")"), (") .", ").")] {
        flat = flat.replace(from, to);
    }
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}...", flat.chars().take(max.saturating_sub(3)).collect::<String>())
    }
}

/// Is `call` a `relationship(...)` (also `db.relationship`, `orm.relationship`, the legacy
/// `relation`, SQLModel's `Relationship`)?
pub(crate) fn is_relationship_call(call: Node<'_>, src: &str) -> bool {
    matches!(callee_name(call, src), Some("relationship" | "relation" | "Relationship"))
}

/// Levenshtein distance, for "did you mean" suggestions between short names; `None` past `max`.
pub(crate) fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > max || a.len() > 64 || b.len() > 64 {
        return None;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(!ca.eq_ignore_ascii_case(cb));
            current[j + 1] = (previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous.last().copied().filter(|d| *d <= max)
}

/// A line without its `# comment` (a `#` inside a string literal is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..at],
            _ => {}
        }
        escaped = false;
    }
    line
}

/// Does the code at `node` see an import of one of `packages` (`import alembic`,
/// `from alembic import op`, `from sqlalchemy.testing import fixtures`)? Top-level package match.
pub(crate) fn imports_package(node: Node<'_>, packages: &[&str], src: &str) -> bool {
    // An import's module is spelt in the text: most files spell none of these packages.
    if !packages.iter().any(|p| spells(src, p)) {
        return false;
    }
    visible_imports(node, src).iter().any(|i| {
        let module = i.module.trim_start_matches('.');
        packages.iter().any(|p| module.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
    })
}

/// Is `node` in an Alembic migration script (the module imports `alembic`)?
pub(crate) fn in_migration(node: Node<'_>, src: &str) -> bool {
    imports_package(node, &["alembic"], src)
}

/// Is `node` in test code: a module importing a test framework (`pytest`, `unittest`,
/// `sqlalchemy.testing`), or a function or class named like a test or a fixture hook
/// (`test_*`, `Test*`, `setUp`, `tearDown`, `setup_*`, `teardown_*`)?
pub(crate) fn in_test_code(node: Node<'_>, src: &str) -> bool {
    let named_like_test =
        ancestors(node).filter(|a| matches!(a.kind_str(), "function_definition" | "class_definition")).any(|a| {
            let name = a.field("name").and_then(|n| src.get(n.byte_range())).unwrap_or("");
            let lower = name.to_ascii_lowercase();
            lower.starts_with("test") || lower.starts_with("setup") || lower.starts_with("teardown")
        });
    named_like_test || imports_package(node, &["pytest", "unittest", "sqlalchemy.testing"], src)
}

// ---------------------------------------------------------------------------
// SQLAlchemy names (added for the SA3xx modernization rules): is a callee such
// as `select`, `sa.select`, `orm.joinedload` or `db.relation` SQLAlchemy's?
// ---------------------------------------------------------------------------

/// Is the function of `call` SQLAlchemy's (or a re-export: SQLModel, Flask-SQLAlchemy's `db`)?
/// A bare name must be imported from such a module (`from sqlalchemy.orm import joinedload`);
/// a dotted one must start with a name imported from one (`import sqlalchemy as sa`,
/// `from sqlalchemy import orm`) or with `db` (Flask-SQLAlchemy proxies SQLAlchemy's names).
pub(crate) fn calls_sqlalchemy(call: Node<'_>, src: &str) -> bool {
    let Some(function) = call.field("function").map(unparen) else { return false };
    let Some(dotted) = dotted_name(function, src) else { return false };
    let first = dotted.split('.').next().unwrap_or_default();
    if function.kind_str() == "attribute" && first == "db" {
        return true;
    }
    // The import's module is spelt in the text (`flask_sqlalchemy` spells `sqlalchemy`).
    if !spells(src, "sqlalchemy") && !spells(src, "sqlmodel") {
        return false;
    }
    let imports = visible_imports_named(call, src, first);
    let mut by_name = imports.iter().peekable();
    if by_name.peek().is_none() {
        return false;
    }
    by_name.all(|i| is_sql_module(i.module))
}

/// Does `src` contain `word`? Kept per file pass: rules ask it of the same few words at every
/// call they check, before reading the imports (whose modules are spelt in the text).
fn spells(src: &str, word: &str) -> bool {
    thread_local! {
        static SPELT: import_cache::PerFile<(usize, usize, String), bool> = import_cache::PerFile::new();
    }
    let key = (src.as_ptr() as usize, src.len(), word.to_string());
    if let Some(known) = SPELT.with(|spelt| spelt.read(&key, |known| *known)) {
        return known;
    }
    let found = memchr::memmem::find(src.as_bytes(), word.as_bytes()).is_some();
    SPELT.with(|spelt| spelt.insert(key, found));
    found
}

/// Does the module of `node` import anything from SQLAlchemy, SQLModel, Flask-SQLAlchemy or Alembic?
pub(crate) fn imports_sqlalchemy(node: Node<'_>, src: &str) -> bool {
    visible_imports(node, src)
        .iter()
        .any(|i| is_sql_module(i.module) || i.module == "alembic" || i.module.starts_with("alembic."))
}

/// Does the module of `node` import Alembic (a migration script, whose models are frozen copies)?
pub(crate) fn imports_alembic(node: Node<'_>, src: &str) -> bool {
    spells(src, "alembic")
        && visible_imports(node, src).iter().any(|i| i.module == "alembic" || i.module.starts_with("alembic."))
}
