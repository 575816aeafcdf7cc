//! The context a rule check runs in: the file, its tree, the match that
//! triggered the check, and the sink for diagnostics.
use std::ops::Range;

use tree_sitter::Node;

use crate::diagnostic::{Diagnostic, Fix};
use crate::index::merge::ModelIndex;
use crate::index::FileFacts;
use crate::registry::RuleId;
use crate::source::SourceFile;

/// A rule's semantic check, called once per match of its query patterns.
pub(crate) type CheckFn = fn(&mut Checker<'_>, &Match<'_, '_>);

/// One match of a rule pattern, with captures looked up by name.
pub(crate) struct Match<'q, 't> {
    pub(crate) captures: Vec<(u32, Node<'t>)>,
    pub(crate) names: &'q [&'q str],
}

impl<'t> Match<'_, 't> {
    /// The first node captured as `@name`.
    pub(crate) fn get(&self, name: &str) -> Option<Node<'t>> {
        self.all(name).next()
    }

    /// Every node captured as `@name` (quantified captures yield several).
    pub(crate) fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Node<'t>> + 's {
        self.captures
            .iter()
            .filter(move |(index, _)| self.names.get(*index as usize).is_some_and(|n| *n == name))
            .map(|(_, node)| *node)
    }
}

/// The project-wide knowledge a deferred check resolves against.
pub(crate) struct Project<'a> {
    pub(crate) index: &'a ModelIndex,
    /// The facts of the file the check came from (its module and imports).
    pub(crate) file: &'a FileFacts,
}

/// A check that needs the project model index, which exists only once every
/// file has been parsed. Rules record owned syntactic facts during the single
/// pass and resolve them here, so no file is parsed twice.
pub(crate) trait Deferred: Send + Sync {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>);

    /// Columns the check saw used in queries, added to the file's index facts before the index
    /// is built (so a rule can judge a column by how the whole project queries it).
    fn column_uses(&self) -> &[crate::index::ColumnUse] {
        &[]
    }
}

pub(crate) struct Checker<'a> {
    pub(crate) file: &'a SourceFile,
    pub(crate) rule: RuleId,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) deferred: Vec<Box<dyn Deferred>>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(file: &'a SourceFile) -> Self {
        Checker { file, rule: 0, diagnostics: Vec::new(), deferred: Vec::new() }
    }

    /// Records a check to resolve against the model index after the pass.
    pub(crate) fn defer(&mut self, check: Box<dyn Deferred>) {
        self.deferred.push(check);
    }

    pub(crate) fn source(&self) -> &'a str {
        &self.file.text
    }

    /// The source text of a node ("" if the range is not valid UTF-8 boundaries).
    pub(crate) fn text(&self, node: Node<'_>) -> &'a str {
        self.file.text.get(node.byte_range()).unwrap_or("")
    }

    /// 1-based line of a node's start, for messages such as "the query on line 12".
    pub(crate) fn line_of(&self, node: Node<'_>) -> usize {
        node.start_position().row + 1
    }

    pub(crate) fn report(
        &mut self,
        range: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> &mut Diagnostic {
        let help = help.into();
        self.diagnostics.push(Diagnostic {
            rule: self.rule,
            range,
            message: message.into(),
            help: (!help.is_empty()).then_some(help),
            fix: None,
        });
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }
}

impl Diagnostic {
    pub(crate) fn set_fix(&mut self, fix: Fix) -> &mut Self {
        self.fix = Some(fix);
        self
    }
}
