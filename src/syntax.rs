//! Node kinds by table lookup. `Node::kind()` re-measures and re-validates the grammar's C
//! string on every call (a few percent of a run, at the hundreds of thousands of kind tests
//! the rules make); the names are fixed, so they are read once.
use std::sync::OnceLock;

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

#[cfg(test)]
mod tests {
    use super::*;

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
