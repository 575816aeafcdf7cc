//! Cheap node navigation for the rules, which ask hundreds of thousands of these per run:
//! - kinds by table lookup: `Node::kind()` re-measures and re-validates the grammar's C
//!   string on every call;
//! - fields by id: `Node::child_by_field_name` compares the name with every field name of
//!   the grammar (`strncmp`) on every call;
//! - parents from the engine walk's path: tree-sitter nodes do not store their parent, and
//!   `Node::parent` descends from the root on every call.
use std::cell::RefCell;
use std::sync::OnceLock;

use tree_sitter::ffi::TSNode;
use tree_sitter::Node;

pub(crate) trait KindStr {
    /// The node's kind, as `Node::kind()` gives it.
    fn kind_str(&self) -> &'static str;
}

impl KindStr for Node<'_> {
    #[inline]
    fn kind_str(&self) -> &'static str {
        static NAMES: OnceLock<Vec<String>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            let language = crate::engine::language();
            (0..language.node_kind_count())
                .map(|id| u16::try_from(id).ok().and_then(|id| language.node_kind_for_id(id)).unwrap_or("").to_string())
                .collect()
        });
        match names.get(usize::from(self.kind_id())) {
            Some(name) if !name.is_empty() => name.as_str(),
            // The ERROR node's id (u16::MAX) is outside the table.
            _ => "ERROR",
        }
    }
}

pub(crate) trait Fields<'t> {
    /// The child in field `name`, as `Node::child_by_field_name` gives it.
    fn field(&self, name: &str) -> Option<Node<'t>>;
}

impl<'t> Fields<'t> for Node<'t> {
    #[inline]
    fn field(&self, name: &str) -> Option<Node<'t>> {
        static IDS: OnceLock<crate::fast_hash::FastMap<String, u16>> = OnceLock::new();
        let ids = IDS.get_or_init(|| {
            let language = crate::engine::language();
            (1..=language.field_count())
                .filter_map(|id| u16::try_from(id).ok())
                .filter_map(|id| Some((language.field_name_for_id(id)?.to_string(), id)))
                .collect()
        });
        self.child_by_field_id(*ids.get(name)?)
    }
}

thread_local! {
    /// The engine walk's path while rules run at its current node: the root first, the
    /// current node last (empty outside the walk). Raw nodes, because the path outlives no
    /// tree: [`PublishedPath`] puts it here and takes it back before the walk moves on.
    static WALK_PATH: RefCell<Vec<TSNode>> = const { RefCell::new(Vec::new()) };
}

/// While alive, [`Up::up`] and [`chain_to`] read ancestors off `path` (root first, a node
/// last, each the parent of the next, all of one tree) instead of descending from the root.
pub(crate) struct PublishedPath<'a> {
    path: &'a mut Vec<TSNode>,
}

impl<'a> PublishedPath<'a> {
    pub(crate) fn new(path: &'a mut Vec<TSNode>) -> Self {
        WALK_PATH.with(|cell| {
            if let Ok(mut published) = cell.try_borrow_mut() {
                std::mem::swap(&mut *published, path);
            }
        });
        PublishedPath { path }
    }
}

impl Drop for PublishedPath<'_> {
    fn drop(&mut self) {
        WALK_PATH.with(|cell| {
            if let Ok(mut published) = cell.try_borrow_mut() {
                std::mem::swap(&mut *published, self.path);
                published.clear();
            }
        });
    }
}

/// Where `node` meets the published path: the index of the path node that is `node`
/// (`Ok`), or of the deepest path node whose range holds it (`Err`); `None` when no path is
/// published for `node`'s tree.
fn on_path(path: &[TSNode], node: Node<'_>) -> Option<Result<usize, usize>> {
    let raw = node.into_raw();
    if path.first().is_none_or(|root| root.tree != raw.tree) {
        return None;
    }
    // SAFETY: every path node is of `node`'s tree (checked above; the path holds one tree's
    // nodes), which `node`'s lifetime keeps alive.
    let at = |i: usize| unsafe { Node::from_raw(path[i]) };
    if let Some(i) = (0..path.len()).rev().find(|&i| path[i].id == raw.id) {
        return Some(Ok(i));
    }
    (0..path.len())
        .rev()
        .find(|&i| {
            let a = at(i);
            a.start_byte() <= node.start_byte() && node.end_byte() <= a.end_byte()
        })
        .map(Err)
}

/// The visible nodes from the root down to `node`'s parent, root first (what one descent
/// from the root collects); read off the engine walk's path when `node` is on it or under it.
pub(crate) fn chain_to<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let fast = WALK_PATH.with(|cell| {
        let path = cell.try_borrow().ok()?;
        let start = on_path(&path, node)?;
        // SAFETY: as in `on_path`: the path's nodes belong to `node`'s tree.
        let at = |i: usize| unsafe { Node::from_raw(path[i]) };
        let (top, mut from) = match start {
            Ok(i) => return Some((0..i).map(at).collect()),
            Err(i) => (i, at(i)),
        };
        let mut chain: Vec<Node<'t>> = Vec::with_capacity(top + 8);
        chain.extend((0..top).map(at));
        while from.id() != node.id() {
            chain.push(from);
            // Not found under the path node (zero-width nodes): descend from the root.
            from = from.child_with_descendant(node)?;
        }
        Some(chain)
    });
    fast.unwrap_or_else(|| {
        let mut chain = Vec::with_capacity(32);
        let mut at = root_of(node);
        while at.id() != node.id() {
            chain.push(at);
            match at.child_with_descendant(node) {
                Some(child) => at = child,
                None => break,
            }
        }
        chain
    })
}

/// The root node of the tree `node` belongs to.
pub(crate) fn root_of(node: Node<'_>) -> Node<'_> {
    let raw = node.into_raw();
    // SAFETY: `raw.tree` is the tree `node` was read from, kept alive by `node`'s lifetime, so
    // its root node is valid for that same lifetime (and never null: every tree has a root).
    unsafe { Node::from_raw(tree_sitter::ffi::ts_tree_root_node(raw.tree)) }
}

pub(crate) trait Up<'t> {
    /// The parent, as `Node::parent` gives it.
    fn up(&self) -> Option<Node<'t>>;
}

impl<'t> Up<'t> for Node<'t> {
    fn up(&self) -> Option<Node<'t>> {
        let node = *self;
        let fast = WALK_PATH.with(|cell| {
            let path = cell.try_borrow().ok()?;
            // SAFETY: as in `on_path`: the path's nodes belong to `node`'s tree.
            let at = |i: usize| unsafe { Node::from_raw(path[i]) };
            match on_path(&path, node)? {
                Ok(0) => Some(None),
                Ok(i) => Some(Some(at(i - 1))),
                Err(i) => {
                    let mut parent = at(i);
                    loop {
                        let child = parent.child_with_descendant(node)?;
                        if child.id() == node.id() {
                            return Some(Some(parent));
                        }
                        parent = child;
                    }
                }
            }
        });
        fast.unwrap_or_else(|| node.parent())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parents and chains read off a published walk path are tree-sitter's, for nodes on the
    /// path, under it and elsewhere in the tree; without a path they fall back to a descent.
    #[test]
    fn parents_from_the_walk_path_are_tree_sitters() {
        let mut texts = crate::python::test_support::fixture_texts();
        texts.push("def f(:\n    x = (\nclass\n".into());
        let descent = |node: Node<'_>| {
            let mut chain = Vec::new();
            let mut at = node.parent();
            while let Some(a) = at {
                chain.push(a.id());
                at = a.parent();
            }
            chain.reverse();
            chain
        };
        let mut checked = 0;
        for text in texts {
            let tree = crate::engine::parse(&text).expect("parses");
            let mut all = Vec::new();
            let mut cursor = tree.walk();
            let mut path = vec![tree.root_node().into_raw()];
            'walk: loop {
                let node = cursor.node();
                if let Some(last) = path.last_mut() {
                    *last = node.into_raw();
                }
                all.push(node);
                {
                    let _published = PublishedPath::new(&mut path);
                    let mut others = vec![node, all[all.len() / 2]];
                    let mut children = node.walk();
                    others.extend(node.children(&mut children));
                    for other in others {
                        assert_eq!(other.up(), other.parent(), "{text}");
                        let chain: Vec<_> = chain_to(other).iter().map(|n| n.id()).collect();
                        assert_eq!(chain, descent(other), "{text}");
                        checked += 1;
                    }
                }
                if cursor.goto_first_child() {
                    path.push(node.into_raw());
                    continue;
                }
                while !cursor.goto_next_sibling() {
                    if !cursor.goto_parent() {
                        break 'walk;
                    }
                    path.pop();
                }
            }
            // Nothing published: a descent from the root.
            for node in all.iter().step_by(7) {
                assert_eq!(node.up(), node.parent());
                assert_eq!(chain_to(*node).iter().map(|n| n.id()).collect::<Vec<_>>(), descent(*node));
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn kind_str_is_kind_for_every_node() {
        let text = "import os\nclass A(B, metaclass=M):\n    x: int = f'{a!r}' 'b'\n    def f(self, *a, **k):\n        return [i async for i in g() if i] or (lambda: None)\nx = (\n";
        let tree = crate::engine::parse(text).expect("parses");
        let mut cursor = tree.walk();
        let mut seen = 0;
        'walk: loop {
            let node = cursor.node();
            assert_eq!(node.kind_str(), node.kind());
            seen += 1;
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        assert!(seen > 50);
    }
}
