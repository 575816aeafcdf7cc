//! Runs rule patterns written in a plain subset of the query language without tree-sitter's
//! query cursor. Started at a node, the cursor visits every node of its subtree that an
//! in-progress pattern step could still reach (a class pattern walks the whole class body)
//! and keeps a state per pattern; the patterns the rules write only ever look a few levels
//! down, by field or node kind. Matching them directly, child list by child list, costs a
//! fraction of that, and needs no compiled `Query` (whose analysis is most of a startup).
//!
//! The subset: `(kind ...)` and `(_)` nodes, `[...]` alternations, `field:` children,
//! unfielded children (in order, any later sibling), `.` anchors (first, last or adjacent
//! named child), captures, and the predicates `#eq?`, `#any-of?`, `#match?` (and their
//! `#not-` forms) against a string, plus [`crate::pattern::MENTIONS`]. The semantics are
//! tree-sitter's: anchors count named children only (comments too), `(_)` is any named node
//! but an `ERROR`, a predicate on a capture that did not capture holds, and every way the
//! children can match is a match. Anything else (quantifiers, negated fields, anonymous
//! nodes, supertypes, escapes in strings) is not compiled: the engine hands that pattern to
//! the cursor, so a pattern outside the subset costs speed, never a match.
use std::num::NonZeroU16;
use std::rc::Rc;

use tree_sitter::{Language, Node, TreeCursor};

use crate::pattern::{self, Sexp};

/// One node of a captured match: (capture index into [`Pattern::names`], node).
pub(crate) type Capture<'t> = (u32, Node<'t>);

/// A named child and its field.
type NamedChild<'t> = (Node<'t>, Option<NonZeroU16>);

/// What matching at one root keeps: the captures so far, and the named children of the nodes
/// read (a root's patterns read the same nodes: seven class patterns walk one class body).
#[derive(Default)]
pub(crate) struct State<'t> {
    captures: Vec<Capture<'t>>,
    children: crate::fast_hash::FastMap<usize, Rc<[NamedChild<'t>]>>,
    cursor: Option<TreeCursor<'t>>,
}

impl<'t> State<'t> {
    /// Forgets the children read (call before matching at another root).
    pub(crate) fn clear(&mut self) {
        self.children.clear();
    }

    fn named_children(&mut self, node: Node<'t>) -> Rc<[NamedChild<'t>]> {
        if let Some(children) = self.children.get(&node.id()) {
            return Rc::clone(children);
        }
        let cursor = self.cursor.get_or_insert_with(|| node.walk());
        cursor.reset(node);
        let mut named = Vec::new();
        if cursor.goto_first_child() {
            loop {
                let child = cursor.node();
                if child.is_named() {
                    named.push((child, cursor.field_id()));
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        let named: Rc<[NamedChild<'t>]> = named.into();
        self.children.insert(node.id(), Rc::clone(&named));
        named
    }
}

/// How deep below the root a required capture must be for its predicate's words to be looked
/// for in the root's text first (see [`Pattern::needs`]).
const NEEDS_DEPTH: usize = 3;

/// A pattern compiled for direct matching.
pub(crate) struct Pattern {
    root: Step,
    /// Capture names by index, in order of first appearance.
    pub(crate) names: Vec<&'static str>,
    predicates: Vec<Predicate>,
    /// Word lists one of which the root's text must hold: the words of each positive `#eq?` or
    /// `#any-of?` on a capture every match holds. A class pattern for `Column(...)` calls skips
    /// a class body that never spells `Column` without walking it.
    needs: Vec<Vec<&'static str>>,
}

struct Step {
    test: Test,
    captures: Vec<u32>,
}

enum Test {
    /// A named node of this kind (`None`: `(_)`, any named node but an error) and its children.
    Node {
        kind: Option<u16>,
        children: Vec<Child>,
        last_anchored: bool,
    },
    Alternatives(Vec<Step>),
}

struct Child {
    field: Option<NonZeroU16>,
    /// `.` before it: the first named child, or the named sibling right after the previous one.
    anchored: bool,
    step: Step,
}

enum Predicate {
    /// `#eq?` / `#not-eq?` (one string) and `#any-of?` / `#not-any-of?`.
    OneOf {
        capture: u32,
        words: Vec<&'static str>,
        positive: bool,
    },
    Match {
        capture: u32,
        regex: regex::Regex,
        positive: bool,
    },
    /// The capture's text contains one of the words.
    Mentions {
        capture: u32,
        words: Vec<&'static str>,
    },
}

impl Pattern {
    /// Compiles one top-level pattern; `None` if it uses anything outside the subset.
    pub(crate) fn compile(text: &'static str, language: &Language) -> Option<Pattern> {
        let items = pattern::read_sexps(text)?;
        let mut names = Vec::new();
        let mut predicates = Vec::new();
        let mut builder = Builder { language, names: &mut names, predicates: &mut predicates };
        // A top-level pattern is a node (or alternation) with its captures, optionally wrapped
        // in a group with predicates: `((kind ...) @c (#pred ...))`.
        let (node, trailing) = split_node(&items)?;
        let root = match node {
            Sexp::List('(', inner, _) if matches!(inner.first(), Some(Sexp::List(..))) => {
                if !trailing.is_empty() {
                    return None;
                }
                let (node, rest) = split_node(inner)?;
                let (captures, predicates) = split_captures(rest);
                for predicate in predicates {
                    let Sexp::List('(', predicate, _) = predicate else { return None };
                    builder.predicate(predicate)?;
                }
                builder.step(node, captures)?
            }
            _ => {
                let (captures, rest) = split_captures(trailing);
                if !rest.is_empty() {
                    return None;
                }
                builder.step(node, captures)?
            }
        };
        let mut required = Vec::new();
        root.required(0, &mut required);
        // A capture a step or two below the root is as cheap to reach as the root's text is to search.
        let deep = |capture: u32| required.iter().any(|&(c, depth)| c == capture && depth >= NEEDS_DEPTH);
        let needs = predicates
            .iter()
            .filter_map(|p| match p {
                Predicate::OneOf { capture, words, positive: true } if deep(*capture) => Some(words.clone()),
                _ => None,
            })
            .collect();
        Some(Pattern { root, names, predicates, needs })
    }

    /// Every match of the pattern rooted at `node`, in the order tree-sitter finds them.
    pub(crate) fn matches<'t>(
        &self,
        node: Node<'t>,
        text: &str,
        state: &mut State<'t>,
        each: &mut dyn FnMut(&[Capture<'t>]),
    ) {
        let own = || text.get(node.byte_range()).unwrap_or_default();
        if !self.needs.iter().all(|words| words.iter().any(|w| own().contains(w))) {
            return;
        }
        state.captures.clear();
        self.root.run(node, state, &mut |state| {
            if self.predicates.iter().all(|p| p.holds(&state.captures, text)) {
                each(&state.captures);
            }
        });
    }
}

impl Predicate {
    fn holds(&self, captures: &[Capture<'_>], text: &str) -> bool {
        let texts = |capture: u32| {
            captures.iter().filter(move |(c, _)| *c == capture).map(|(_, n)| text.get(n.byte_range()).unwrap_or(""))
        };
        match self {
            Predicate::OneOf { capture, words, positive } => texts(*capture).all(|t| words.contains(&t) == *positive),
            Predicate::Match { capture, regex, positive } => texts(*capture).all(|t| regex.is_match(t) == *positive),
            // Like the engine's check for cursor patterns: some node of the capture mentions a word.
            Predicate::Mentions { capture, words } => texts(*capture).any(|t| words.iter().any(|w| t.contains(w))),
        }
    }
}

impl Step {
    /// Appends the captures that every match of this step holds, each with the least depth
    /// below the root it is found at: its own (at `depth`), all of its children's (the subset
    /// has no quantifiers), and those that every alternative holds.
    fn required(&self, depth: usize, out: &mut Vec<(u32, usize)>) {
        out.extend(self.captures.iter().map(|&c| (c, depth)));
        match &self.test {
            Test::Node { children, .. } => children.iter().for_each(|c| c.step.required(depth + 1, out)),
            Test::Alternatives(alternatives) => {
                let each: Vec<Vec<(u32, usize)>> = alternatives
                    .iter()
                    .map(|a| {
                        let mut held = Vec::new();
                        a.required(depth, &mut held);
                        held
                    })
                    .collect();
                let Some(first) = each.first() else { return };
                for &(capture, _) in first {
                    // Held by every alternative (else `None`), at the least depth any holds it.
                    let least = each
                        .iter()
                        .map(|held| held.iter().filter(|(c, _)| *c == capture).map(|(_, d)| *d).min())
                        .collect::<Option<Vec<usize>>>()
                        .and_then(|depths| depths.into_iter().min());
                    if let Some(least) = least.filter(|&d| !out.contains(&(capture, d))) {
                        out.push((capture, least));
                    }
                }
            }
        }
    }

    fn run<'t>(&self, node: Node<'t>, state: &mut State<'t>, then: &mut dyn FnMut(&mut State<'t>)) {
        let mark = state.captures.len();
        match &self.test {
            Test::Alternatives(alternatives) => {
                for alternative in alternatives {
                    state.captures.extend(self.captures.iter().map(|c| (*c, node)));
                    alternative.run(node, state, then);
                    state.captures.truncate(mark);
                }
            }
            Test::Node { kind, children, last_anchored } => {
                let kind_holds = match kind {
                    Some(kind) => node.kind_id() == *kind,
                    None => node.is_named() && !node.is_error(),
                };
                if !kind_holds {
                    return;
                }
                state.captures.extend(self.captures.iter().map(|c| (*c, node)));
                if children.is_empty() {
                    then(state);
                } else {
                    // Anchors count named children only.
                    let named = state.named_children(node);
                    match_children(children, *last_anchored, &named, 0, state, then);
                }
                state.captures.truncate(mark);
            }
        }
    }
}

/// Matches `children` (in order) against the named children from `from` on.
fn match_children<'t>(
    children: &[Child],
    last_anchored: bool,
    named: &[NamedChild<'t>],
    from: usize,
    state: &mut State<'t>,
    then: &mut dyn FnMut(&mut State<'t>),
) {
    let Some((child, rest)) = children.split_first() else {
        if !last_anchored || from == named.len() {
            then(state);
        }
        return;
    };
    let end = if child.anchored { (from + 1).min(named.len()) } else { named.len() };
    for at in from..end {
        let (node, field) = named[at];
        if child.field.is_some() && field != child.field {
            continue;
        }
        child.step.run(node, state, &mut |state| match_children(rest, last_anchored, named, at + 1, state, then));
    }
}

struct Builder<'b> {
    language: &'b Language,
    names: &'b mut Vec<&'static str>,
    predicates: &'b mut Vec<Predicate>,
}

impl Builder<'_> {
    fn capture(&mut self, name: &'static str) -> u32 {
        let index = self.names.iter().position(|n| *n == name).unwrap_or_else(|| {
            self.names.push(name);
            self.names.len() - 1
        });
        u32::try_from(index).unwrap_or(u32::MAX)
    }

    fn captures(&mut self, captures: &[Sexp<'static>]) -> Option<Vec<u32>> {
        captures
            .iter()
            .map(|c| match c {
                Sexp::Atom(a, _) => a.strip_prefix('@').filter(|n| !n.is_empty()).map(|n| self.capture(n)),
                _ => None,
            })
            .collect()
    }

    fn step(&mut self, node: &Sexp<'static>, captures: &[Sexp<'static>]) -> Option<Step> {
        let captures = self.captures(captures)?;
        let test = match node {
            Sexp::List('[', inner, _) => {
                let mut alternatives = Vec::new();
                let mut rest = &inner[..];
                while !rest.is_empty() {
                    let (alternative, tail) = split_node(rest)?;
                    let (own, tail) = split_captures(tail);
                    alternatives.push(self.step(alternative, own)?);
                    rest = tail;
                }
                (!alternatives.is_empty()).then_some(Test::Alternatives(alternatives))?
            }
            Sexp::List('(', inner, _) => {
                let (Sexp::Atom(name, _), mut rest) = inner.split_first()? else { return None };
                let kind = match *name {
                    "_" => None,
                    name => {
                        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                        let id = self.language.id_for_node_kind(name, true);
                        if !plain
                            || matches!(name, "ERROR" | "MISSING")
                            || id == 0
                            || self.language.node_kind_is_supertype(id)
                        {
                            return None;
                        }
                        Some(id)
                    }
                };
                let mut children = Vec::new();
                let mut anchored = false;
                let mut last_anchored = false;
                while let Some((item, tail)) = rest.split_first() {
                    match item {
                        Sexp::Atom(".", _) => {
                            if anchored {
                                return None;
                            }
                            anchored = true;
                            last_anchored = true;
                            rest = tail;
                        }
                        Sexp::Atom(field, _) if field.ends_with(':') => {
                            let id = self.language.field_id_for_name(field.strip_suffix(':')?)?;
                            let (node, tail) = split_node(tail)?;
                            let (own, tail) = split_captures(tail);
                            children.push(Child { field: Some(id), anchored, step: self.step(node, own)? });
                            (anchored, last_anchored) = (false, false);
                            rest = tail;
                        }
                        Sexp::List('(', predicate, _) if matches!(predicate.first(), Some(Sexp::Atom(a, _)) if a.starts_with('#')) =>
                        {
                            self.predicate(predicate)?;
                            rest = tail;
                        }
                        Sexp::List(..) => {
                            let (node, tail) = split_node(rest)?;
                            let (own, tail) = split_captures(tail);
                            children.push(Child { field: None, anchored, step: self.step(node, own)? });
                            (anchored, last_anchored) = (false, false);
                            rest = tail;
                        }
                        _ => return None,
                    }
                }
                // A lone `.` with no child anchors nothing tree-sitter would accept: leave it to it.
                if last_anchored && children.is_empty() {
                    return None;
                }
                Test::Node { kind, children, last_anchored }
            }
            _ => return None,
        };
        Some(Step { test, captures })
    }

    fn predicate(&mut self, items: &[Sexp<'static>]) -> Option<()> {
        let [Sexp::Atom(name, _), Sexp::Atom(target, _), args @ ..] = items else { return None };
        let capture = self.capture(target.strip_prefix('@').filter(|n| !n.is_empty())?);
        let words: Vec<&'static str> = args
            .iter()
            .map(|a| match a {
                Sexp::Str(s) if !s.contains('\\') => Some(*s),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let predicate = match (name.strip_prefix('#')?, words.as_slice()) {
            ("eq?", [_]) | ("any-of?", [_, ..]) => Predicate::OneOf { capture, words, positive: true },
            ("not-eq?", [_]) | ("not-any-of?", [_, ..]) => Predicate::OneOf { capture, words, positive: false },
            ("match?", [regex]) => Predicate::Match { capture, regex: regex::Regex::new(regex).ok()?, positive: true },
            ("not-match?", [regex]) => {
                Predicate::Match { capture, regex: regex::Regex::new(regex).ok()?, positive: false }
            }
            (pattern::MENTIONS, [_, ..]) => Predicate::Mentions { capture, words },
            _ => return None,
        };
        self.predicates.push(predicate);
        Some(())
    }
}

/// The first item of `items` (a node list) and the items after it.
fn split_node<'s, 'a>(items: &'s [Sexp<'a>]) -> Option<(&'s Sexp<'a>, &'s [Sexp<'a>])> {
    match items.split_first()? {
        (node @ Sexp::List(..), tail) => Some((node, tail)),
        _ => None,
    }
}

/// The captures at the start of `items`, and what follows them.
fn split_captures<'s, 'a>(items: &'s [Sexp<'a>]) -> (&'s [Sexp<'a>], &'s [Sexp<'a>]) {
    let count = items.iter().take_while(|i| matches!(i, Sexp::Atom(a, _) if a.starts_with('@'))).count();
    items.split_at(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &'static str) -> Option<Pattern> {
        Pattern::compile(text, &crate::engine::language())
    }

    /// (capture name, node text) of every match at every node of the pattern's root kind.
    fn run(pattern: &'static str, source: &str) -> Vec<Vec<(String, String)>> {
        let compiled = compile(pattern).unwrap_or_else(|| panic!("not compiled: {pattern}"));
        let tree = crate::engine::parse(source).unwrap();
        let mut out = Vec::new();
        let mut stack = vec![tree.root_node()];
        let mut order = Vec::new();
        while let Some(node) = stack.pop() {
            order.push(node);
            let mut cursor = node.walk();
            let children: Vec<_> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
        let mut state = State::default();
        for node in order {
            state.clear();
            compiled.matches(node, source, &mut state, &mut |captures| {
                out.push(
                    captures
                        .iter()
                        .map(|(c, n)| (compiled.names[*c as usize].to_string(), source[n.byte_range()].to_string()))
                        .collect(),
                )
            });
        }
        out
    }

    #[test]
    fn plain_patterns_compile_and_others_are_left_to_the_cursor() {
        for plain in [
            "(for_statement) @loop",
            "(call function: (identifier) @f (#eq? @f \"len\") arguments: (argument_list . (call) @inner .)) @s",
            "[(call) (attribute) @a] @x",
            "((module) @m (#sqlalint-mentions? @m \"down_revision\"))",
            "(call function: (attribute attribute: (identifier) @w (#match? @w \"^(delete|update)$\"))) @c",
        ] {
            assert!(compile(plain).is_some(), "{plain}");
        }
        for other in [
            "(comment)+ @run",
            "(call (_)* @args)",
            "(call !arguments)",
            "(expression) @supertype",
            "(no_such_kind) @x",
            "(call nope: (identifier))",
            "(call \"(\")",
            "((identifier) @i (#eq? @i \"a\\\"b\"))",
            "((identifier) @i (#eq? @i @j))",
            "((identifier) @i (#any-match? @i \"a\"))",
            "((comment) (function_definition))",
            "(ERROR) @e",
        ] {
            assert!(compile(other).is_none(), "{other}");
        }
    }

    #[test]
    fn children_match_in_order_with_every_combination() {
        let pattern = "(class_definition body: (block (expression_statement (assignment left: (identifier) @n)))) @c";
        let found = run(pattern, "class A:\n    x = 1\n    def f(self): y = 2\n    z = 3\n");
        let names: Vec<_> = found.iter().map(|m| m[1].1.as_str()).collect();
        assert_eq!(names, ["x", "z"]);
        // Fields must match; children without a field pattern may hold any field.
        assert_eq!(run("(assignment right: (identifier) @r) @a", "a = b\n").len(), 1);
        assert_eq!(run("(assignment left: (integer)) @a", "a = 1\n").len(), 0);
        assert_eq!(run("(assignment (integer) @i) @a", "a = 1\n").len(), 1);
        // Order: `b` must come after `a`.
        assert_eq!(run("(binary_operator (integer) @x (identifier) @y)", "1 + a\n").len(), 1);
        assert_eq!(run("(binary_operator (identifier) @y (integer) @x)", "1 + a\n").len(), 0);
    }

    #[test]
    fn anchors_count_named_children_comments_included() {
        let p = "(call arguments: (argument_list . (call) @inner .)) @s";
        assert_eq!(run(p, "len(q.all())\n").len(), 1);
        assert_eq!(run(p, "len(q.all(), 1)\n").len(), 0);
        assert_eq!(run(p, "len(1, q.all())\n").len(), 0);
        assert_eq!(run(p, "len(  # c\n    q.all())\n").len(), 0);
        let adjacent = "(argument_list (integer) @a . (identifier) @b)";
        assert_eq!(run(adjacent, "f(1, x)\n").len(), 1);
        assert_eq!(run(adjacent, "f(1, 2, x)\n").len(), 1);
        assert_eq!(run(adjacent, "f(1, 'a', x)\n").len(), 0);
    }

    #[test]
    fn predicates_follow_tree_sitter() {
        let p =
            "(call function: [(identifier) @f (attribute attribute: (identifier) @f)] (#any-of? @f \"a\" \"b\")) @c";
        assert_eq!(run(p, "a()\nx.b()\nc()\nx.c()\n").len(), 2);
        let m = "(call function: (attribute object: (identifier) @o) (#match? @o \"^[A-Z]\")) @c";
        assert_eq!(run(m, "User.x()\nuser.x()\n").len(), 1);
        let not = "((identifier) @i (#not-eq? @i \"a\"))";
        assert_eq!(run(not, "a\nb\n").len(), 1);
        // A capture only one alternative makes may be missing, and its predicate then holds.
        let optional = "(call function: [(identifier) @f (attribute)] (#eq? @f \"a\")) @c";
        assert_eq!(run(optional, "x.b()\nc()\na()\n").len(), 2);
        let block = "if x:\n    x.b()\n    c()\n    a()\n    x.a()\n";
        let required =
            "(block (expression_statement (call function: [(identifier) @f (attribute attribute: (_) @f)])) \
                        (#eq? @f \"a\")) @b";
        assert_eq!(compile(required).map(|p| p.needs), Some(vec![vec!["a"]]));
        assert_eq!(run(required, block).len(), 2);
        let optional =
            "(block (expression_statement (call function: [(identifier) @f (attribute)])) (#eq? @f \"a\")) @b";
        assert_eq!(compile(optional).map(|p| p.needs), Some(vec![]));
        assert_eq!(run(optional, block).len(), 3);
        // Near the root, the walk is cheaper than a text search.
        assert_eq!(compile(p).map(|p| p.needs), Some(vec![]));
        let mentions = "((expression_statement) @s (#sqlalint-mentions? @s \"delete\"))";
        assert_eq!(run(mentions, "q.delete()\nq.all()\n").len(), 1);
        // `(_)` is any named node but an error.
        assert_eq!(run("(argument_list . (_) @a .)", "f(x)\nf(\"s\")\n").len(), 2);
    }
}
