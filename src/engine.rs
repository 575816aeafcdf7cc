//! The one-pass query engine. Every rule's `.scm` patterns are concatenated
//! into a single tree-sitter query, compiled once; one cursor walk per file
//! yields every match, and each match is dispatched to the rule that owns
//! its pattern (found from the pattern's byte offset in the combined source).
//! Measured by the benchmark: a separate query per rule would cost ~30% of a
//! parse each, one combined query costs about one.
use std::cell::RefCell;

use tree_sitter::{Language, Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

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
    /// Owning rule of each pattern; `None` for internal patterns.
    pattern_rule: Vec<Option<RuleId>>,
    comment_capture: Option<u32>,
}

/// Everything one cursor walk over a file produced.
pub(crate) struct FileMatches {
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Byte ranges of every comment, for suppression comments.
    pub(crate) comments: Vec<std::ops::Range<usize>>,
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
        let query = Query::new(&language(), &source).map_err(|err| {
            let file = sections
                .iter()
                .rev()
                .find(|(start, _)| *start <= err.offset)
                .map_or("<internal>", |(_, id)| rules[*id].file);
            EngineError(format!("query {file} does not compile: {err}"))
        })?;
        let pattern_rule = (0..query.pattern_count())
            .map(|pattern| {
                let start = query.start_byte_for_pattern(pattern);
                sections.iter().rev().find(|(offset, _)| *offset <= start).map(|(_, id)| *id)
            })
            .collect();
        let comment_capture = query.capture_index_for_name("sqlalint.comment");
        Ok(Engine { query, pattern_rule, comment_capture })
    }

    /// Runs every enabled rule over one parsed file in a single cursor walk.
    pub(crate) fn run(&self, file: &SourceFile, tree: &Tree, enabled: &dyn Fn(RuleId) -> bool) -> FileMatches {
        let rules = registry::all();
        let mut checker = Checker::new(file);
        let mut comments = Vec::new();
        let mut cursor = QueryCursor::new();
        let names = self.query.capture_names();
        let mut matches = cursor.matches(&self.query, tree.root_node(), file.text.as_bytes());
        while let Some(m) = matches.next() {
            let Some(rule_id) = self.pattern_rule.get(m.pattern_index).copied().flatten() else {
                if let Some(capture) = m.captures().iter().find(|c| Some(c.index) == self.comment_capture) {
                    comments.push(capture.node.byte_range());
                }
                continue;
            };
            if !enabled(rule_id) {
                continue;
            }
            let Some(check) = rules[rule_id].check else {
                continue;
            };
            let found = Match {
                pattern: m.pattern_index,
                captures: m.captures().iter().map(|c| (c.index, c.node)).collect(),
                names,
            };
            checker.rule = rule_id;
            check(&mut checker, &found);
        }
        let mut diagnostics = checker.diagnostics;
        // Two patterns of one rule may reach the same node: report it once.
        diagnostics.sort_by(|a, b| (a.range.start, a.range.end, a.rule).cmp(&(b.range.start, b.range.end, b.rule)));
        diagnostics.dedup_by(|a, b| a.rule == b.rule && a.range == b.range);
        FileMatches { diagnostics, comments }
    }
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
        assert!(engine.pattern_rule.iter().filter(|r| r.is_some()).count() >= registry::all().len());
        // Every rule owns at least one pattern.
        for id in 0..registry::all().len() {
            assert!(engine.pattern_rule.contains(&Some(id)), "{} has no pattern", registry::all()[id].code);
        }
    }

    #[test]
    fn deep_nesting_parses_without_overflow() {
        let depth = 10_000;
        let text = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        let tree = parse(&text).expect("parses");
        let file = SourceFile::new("deep.py".into(), text);
        let engine = Engine::new().unwrap();
        let _ = engine.run(&file, &tree, &|_| true);
        let _ = first_syntax_error(&tree);
    }
}
