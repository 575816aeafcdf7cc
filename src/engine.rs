//! The one-pass query engine. Every rule's `.scm` patterns are concatenated
//! into a single tree-sitter query, compiled once; one cursor walk per file
//! yields every match, and each match is dispatched to the rule that owns
//! its pattern (found from the pattern's byte offset in the combined source).
//! Measured by the benchmark: a separate query per rule would cost ~30% of a
//! parse each, one combined query costs about one.
//!
//! The cursor walk itself is the cost (bench/run.py): tree-sitter's query cursor
//! spends ~40% of a parse visiting every node, whatever the patterns. So when
//! every pattern's root node kind can be read from its source (see
//! [`root_kinds`]), a plain tree walk (~17% of a parse) finds the nodes of those
//! kinds and runs the cursor only there, with `max_start_depth(0)`: the same
//! matches for ~half the cost. Otherwise (wildcard or supertype roots, sibling
//! sequences, quantified roots) the cursor walks the whole tree as before.
//! `SQLALINT_QUERY_WALK=full` forces the whole-tree walk (A/B checks).
use std::cell::RefCell;

use tree_sitter::{Language, Node, Parser, Query, QueryCursor, QueryMatch, StreamingIterator, Tree};

use crate::checker::{Checker, Match};
use crate::diagnostic::Diagnostic;
use crate::registry::{self, RuleId};
use crate::source::SourceFile;

/// Internal pattern prepended to the rule queries: comments feed `# noqa`.
const COMMENT_PATTERN: &str = "(comment) @sqlalint.comment\n";

pub(crate) fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parse with this thread's parser (one per rayon worker, created lazily).
pub(crate) fn parse(text: &str) -> Option<Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&language()).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(text, None)
    })
}

#[derive(Debug)]
pub(crate) struct EngineError(pub(crate) String);

pub(crate) struct Engine {
    query: Query,
    /// Rules that own each pattern: usually one, several when rules share a pattern
    /// (it is compiled once and its matches go to each), none for internal patterns.
    pattern_rules: Vec<Vec<RuleId>>,
    comment_capture: Option<u32>,
    /// `root_kinds[kind_id]`: can a pattern start at a node of this kind? `None`
    /// when some pattern's root kinds are unknown: walk with the cursor alone.
    root_kinds: Option<Vec<bool>>,
}

/// Everything one cursor walk over a file produced.
pub(crate) struct FileMatches {
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Byte ranges of every comment, for suppression comments.
    pub(crate) comments: Vec<std::ops::Range<usize>>,
    /// Checks that need the project model index, resolved after every file is parsed.
    pub(crate) deferred: Vec<Box<dyn crate::checker::Deferred>>,
}

impl Engine {
    pub(crate) fn new() -> Result<Self, EngineError> {
        let rules = registry::all();
        let mut source = String::from(COMMENT_PATTERN);
        // (start byte in combined source, rule) for each rule's section.
        let mut sections: Vec<(usize, RuleId)> = Vec::with_capacity(rules.len());
        for (id, rule) in rules.iter().enumerate() {
            sections.push((source.len(), id));
            source.push_str(rule.query_source);
            source.push('\n');
        }
        let mut query = Query::new(&language(), &source).map_err(|err| {
            let file = sections
                .iter()
                .rev()
                .find(|(start, _)| *start <= err.offset)
                .map_or("<internal>", |(_, id)| rules[*id].file);
            EngineError(format!("query {file} does not compile: {err}"))
        })?;
        // A pattern written identically by several rules (SA401–SA403 share their criteria
        // patterns) runs once: every match of a pattern costs a structural match plus its
        // predicates, on nodes as common as method calls.
        let mut pattern_rules: Vec<Vec<RuleId>> = vec![Vec::new(); query.pattern_count()];
        let mut first_with_text: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for pattern in 0..query.pattern_count() {
            let start = query.start_byte_for_pattern(pattern);
            let Some(rule) = sections.iter().rev().find(|(offset, _)| *offset <= start).map(|(_, id)| *id) else {
                continue;
            };
            let text = source.get(start..query.end_byte_for_pattern(pattern)).unwrap_or("");
            let key = text.split_whitespace().collect::<Vec<_>>().join(" ");
            match first_with_text.get(&key) {
                Some(&first) if !key.is_empty() => {
                    pattern_rules[first].push(rule);
                    query.disable_pattern(pattern);
                }
                _ => {
                    first_with_text.insert(key, pattern);
                    pattern_rules[pattern].push(rule);
                }
            }
        }
        let comment_capture = query.capture_index_for_name("sqlalint.comment");
        let root_kinds = if std::env::var_os("SQLALINT_QUERY_WALK").is_some_and(|v| v == "full") {
            None
        } else {
            pattern_root_kinds(&query, &source)
        };
        Ok(Engine { query, pattern_rules, comment_capture, root_kinds })
    }

    /// Runs every enabled rule over one parsed file in a single cursor walk.
    pub(crate) fn run(&self, file: &SourceFile, tree: &Tree, enabled: &dyn Fn(RuleId) -> bool) -> FileMatches {
        let rules = registry::all();
        let mut checker = Checker::new(file);
        let mut comments = Vec::new();
        let mut cursor = QueryCursor::new();
        let names = self.query.capture_names();
        let text = file.text.as_bytes();
        let _imports = crate::python::import_cache::scope();
        let mut on_match = |m: &QueryMatch<'_, '_>| {
            let owners = self.pattern_rules.get(m.pattern_index).map_or(&[][..], Vec::as_slice);
            if owners.is_empty() {
                if let Some(capture) = m.captures().iter().find(|c| Some(c.index) == self.comment_capture) {
                    comments.push(capture.node.byte_range());
                }
                return;
            }
            let mut found: Option<Match<'_, '_>> = None;
            for &rule_id in owners {
                let Some(check) = rules[rule_id].check.filter(|_| enabled(rule_id)) else {
                    continue;
                };
                let found = found.get_or_insert_with(|| Match {
                    captures: m.captures().iter().map(|c| (c.index, c.node)).collect(),
                    names,
                });
                checker.rule = rule_id;
                check(&mut checker, found);
            }
        };
        match &self.root_kinds {
            None => {
                let mut matches = cursor.matches(&self.query, tree.root_node(), text);
                while let Some(m) = matches.next() {
                    on_match(m);
                }
            }
            Some(root_kinds) => {
                // Pre-order walk; at a possible pattern root, only patterns rooted there match.
                cursor.set_max_start_depth(Some(0));
                let mut walk = tree.walk();
                'walk: loop {
                    let node = walk.node();
                    if root_kinds.get(usize::from(node.kind_id())).copied().unwrap_or(false) {
                        let mut matches = cursor.matches(&self.query, node, text);
                        while let Some(m) = matches.next() {
                            on_match(m);
                        }
                    }
                    if walk.goto_first_child() {
                        continue;
                    }
                    while !walk.goto_next_sibling() {
                        if !walk.goto_parent() {
                            break 'walk;
                        }
                    }
                }
            }
        }
        let deferred = std::mem::take(&mut checker.deferred);
        let mut diagnostics = checker.diagnostics;
        // Two patterns of one rule may reach the same node: report it once.
        diagnostics.sort_by_key(|a| (a.range.start, a.range.end, a.rule));
        diagnostics.dedup_by(|a, b| a.rule == b.rule && a.range == b.range);
        FileMatches { diagnostics, comments, deferred }
    }
}

/// Which node kinds some pattern of `query` (compiled from `source`) can start at;
/// `None` if that is not known for every pattern.
fn pattern_root_kinds(query: &Query, source: &str) -> Option<Vec<bool>> {
    let language = language();
    let mut kinds = vec![false; language.node_kind_count()];
    for pattern in 0..query.pattern_count() {
        if !query.is_pattern_rooted(pattern) {
            return None;
        }
        let text = source.get(query.start_byte_for_pattern(pattern)..query.end_byte_for_pattern(pattern))?;
        for kind in root_kinds(text, &language)? {
            *kinds.get_mut(usize::from(kind))? = true;
        }
    }
    Some(kinds)
}

/// One item of a pattern's S-expression: a `(...)` or `[...]` list, a string, or any other token.
#[derive(Debug)]
enum Sexp<'a> {
    List(char, Vec<Sexp<'a>>),
    Str,
    Atom(&'a str),
}

/// Reads the items of a pattern (comments and whitespace skipped); `None` if unbalanced.
fn read_sexps(text: &str) -> Option<Vec<Sexp<'_>>> {
    fn items<'a>(text: &'a str, pos: &mut usize, close: Option<char>) -> Option<Vec<Sexp<'a>>> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        while *pos < bytes.len() {
            let c = bytes[*pos] as char;
            match c {
                c if c.is_ascii_whitespace() => *pos += 1,
                ';' => *pos = text[*pos..].find('\n').map_or(bytes.len(), |i| *pos + i),
                '(' | '[' => {
                    *pos += 1;
                    let inner = items(text, pos, Some(if c == '(' { ')' } else { ']' }))?;
                    out.push(Sexp::List(c, inner));
                }
                ')' | ']' => {
                    *pos += 1;
                    return (close == Some(c)).then_some(out);
                }
                '"' => {
                    *pos += 1;
                    while *pos < bytes.len() && bytes[*pos] != b'"' {
                        *pos += if bytes[*pos] == b'\\' { 2 } else { 1 };
                    }
                    *pos += 1;
                    out.push(Sexp::Str);
                }
                _ => {
                    let start = *pos;
                    while *pos < bytes.len() && !b" \t\r\n()[]\";".contains(&bytes[*pos]) {
                        *pos += 1;
                    }
                    out.push(Sexp::Atom(&text[start..*pos]));
                }
            }
        }
        close.is_none().then_some(out)
    }
    items(text, &mut 0, None)
}

/// Root node kinds of one pattern's source: `(kind ...)`, `[(a ...) (b ...)]`, either
/// wrapped in a group with predicates (`((kind ...) (#eq? ...))`), with captures after
/// them. `None` for anything else: wildcards, supertypes, anonymous or unknown kinds,
/// sibling sequences, quantified or anchored roots.
fn root_kinds(pattern: &str, language: &Language) -> Option<Vec<u16>> {
    fn is_capture(item: &Sexp<'_>) -> bool {
        matches!(item, Sexp::Atom(a) if a.starts_with('@'))
    }
    fn is_predicate(item: &Sexp<'_>) -> bool {
        matches!(item, Sexp::List('(', inner) if matches!(inner.first(), Some(Sexp::Atom(a)) if a.starts_with('#')))
    }
    /// The single node of a sequence of items, ignoring captures (and predicates if allowed).
    fn single<'s, 'a>(items: &'s [Sexp<'a>], predicates: bool) -> Option<&'s Sexp<'a>> {
        let mut nodes = items.iter().filter(|i| !(is_capture(i) || predicates && is_predicate(i)));
        let node = nodes.next()?;
        nodes.next().is_none().then_some(node)
    }
    fn kinds(item: &Sexp<'_>, language: &Language, out: &mut Vec<u16>) -> Option<()> {
        match item {
            Sexp::List('(', inner) => match inner.first()? {
                Sexp::Atom(name) => {
                    let named = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && *name != "_";
                    let id = language.id_for_node_kind(name, true);
                    if !named || matches!(*name, "ERROR" | "MISSING") || id == 0 || language.node_kind_is_supertype(id)
                    {
                        return None;
                    }
                    out.push(id);
                    Some(())
                }
                Sexp::List(..) => kinds(single(inner, true)?, language, out),
                Sexp::Str => None,
            },
            Sexp::List('[', inner) => {
                for alternative in inner.iter().filter(|i| !is_capture(i)) {
                    kinds(alternative, language, out)?;
                }
                Some(())
            }
            _ => None,
        }
    }
    let items = read_sexps(pattern)?;
    let mut out = Vec::new();
    kinds(single(&items, false)?, language, &mut out)?;
    Some(out)
}

/// First syntax error in a tree, as a byte offset (the tree may still be linted).
pub(crate) fn first_syntax_error(tree: &Tree) -> Option<usize> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    // Iterative descent (files may nest thousands deep): follow the first child with an error.
    let mut node: Node = root;
    loop {
        if node.is_error() || node.is_missing() {
            return Some(node.start_byte());
        }
        let mut cursor = node.walk();
        let next = node.children(&mut cursor).find(|child| child.has_error());
        match next {
            Some(child) => node = child,
            None => return Some(node.start_byte()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_query_compiles_alone_and_combined() {
        for rule in registry::all() {
            if let Err(err) = Query::new(&language(), rule.query_source) {
                panic!("{} does not compile: {err}", rule.file);
            }
        }
        let engine = Engine::new().expect("combined query compiles");
        // Every rule owns at least one pattern.
        for id in 0..registry::all().len() {
            assert!(
                engine.pattern_rules.iter().any(|r| r.contains(&id)),
                "{} has no pattern",
                registry::all()[id].code
            );
        }
    }

    #[test]
    fn identical_patterns_of_several_rules_run_once_for_each_rule() {
        let engine = Engine::new().unwrap();
        let code = |name: &str| registry::all().iter().position(|r| r.code == name).unwrap();
        let (sa401, sa403) = (code("SA401"), code("SA403"));
        // SA401 and SA403 write the same criteria patterns: one compiled pattern owned by both.
        assert!(engine.pattern_rules.iter().any(|r| r.contains(&sa401) && r.contains(&sa403)));
        let text = "session.query(User).filter(User.name is None, User.id in ids).all()\n";
        let tree = parse(text).unwrap();
        let file = SourceFile::new(text.into());
        let found = engine.run(&file, &tree, &|_| true);
        let rules: Vec<_> = found.diagnostics.iter().map(|d| registry::all()[d.rule].code.as_str()).collect();
        assert!(rules.contains(&"SA401") && rules.contains(&"SA403"), "{rules:?}");
        // Only the selected rule of a shared pattern runs.
        let only_sa403 = engine.run(&file, &tree, &|id| id == sa403);
        assert!(only_sa403.diagnostics.iter().all(|d| d.rule == sa403) && !only_sa403.diagnostics.is_empty());
    }

    #[test]
    fn root_kinds_are_read_from_simple_patterns_only() {
        let lang = language();
        let id = |kind: &str| lang.id_for_node_kind(kind, true);
        let roots = |pattern: &str| root_kinds(pattern, &lang);
        assert_eq!(roots("(call function: (identifier) @f (#eq? @f \"len\")) @span"), Some(vec![id("call")]));
        assert_eq!(roots("; c (x)\n((call) @c (#match? @c \"[(]\\\"\"))"), Some(vec![id("call")]));
        assert_eq!(roots("[(call) (attribute) @a] @x"), Some(vec![id("call"), id("attribute")]));
        assert_eq!(roots("(comment) @sqlalint.comment"), Some(vec![id("comment")]));
        for fallback in [
            "(_) @any",
            "(expression) @supertype",
            "(expression/identifier) @x",
            "((comment) (function_definition))",
            "(comment)+ @run",
            "\"len\" @kw",
            "[(call) \"if\"]",
            "(ERROR) @e",
            "(no_such_kind) @x",
            "(call",
        ] {
            assert_eq!(roots(fallback), None, "{fallback}");
        }
    }

    /// The root-kind walk must find exactly what the whole-tree cursor walk finds.
    #[test]
    fn root_kind_walk_matches_the_full_walk() {
        let fast = Engine::new().unwrap();
        assert!(fast.root_kinds.is_some(), "some rule pattern's root kind is not recognised: the engine is slower");
        let full = Engine { root_kinds: None, ..Engine::new().unwrap() };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
        let mut texts: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
            .unwrap_or_default();
        texts.push("len(len(q.all()))  # noqa\nf(len(a.all()), [len(b.all()) for _ in x]  # c\n".into());
        texts.push("def f(:\n    len(session.query(U).all())  # broken\nclass\n".into());
        for text in texts {
            let tree = parse(&text).unwrap();
            let file = SourceFile::new(text.clone());
            let key = |m: FileMatches| {
                let found: Vec<_> = m.diagnostics.into_iter().map(|d| (d.rule, d.range, d.message)).collect();
                (found, m.comments)
            };
            assert_eq!(key(fast.run(&file, &tree, &|_| true)), key(full.run(&file, &tree, &|_| true)), "{text}");
        }
    }

    #[test]
    fn deep_nesting_parses_without_overflow() {
        let depth = 10_000;
        let text = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        let tree = parse(&text).expect("parses");
        let file = SourceFile::new(text);
        let engine = Engine::new().unwrap();
        let _ = engine.run(&file, &tree, &|_| true);
        let _ = first_syntax_error(&tree);
    }
}
