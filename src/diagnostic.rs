//! What a rule reports: a byte range, a message, the concrete fix as help
//! text, and optionally an automatic fix made of byte-range edits.
use std::ops::Range;

use crate::registry::RuleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Applicability {
    /// Meaning is preserved; applied by `--fix`.
    Safe,
    /// May change behaviour in corner cases; applied only with `--unsafe-fixes`.
    Unsafe,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Edit {
    #[serde(skip)]
    pub(crate) range: Range<usize>,
    pub(crate) content: String,
}

impl Edit {
    pub(crate) fn replace(range: Range<usize>, content: impl Into<String>) -> Self {
        Edit { range, content: content.into() }
    }
    #[cfg(test)]
    pub(crate) fn insert(at: usize, content: impl Into<String>) -> Self {
        Edit { range: at..at, content: content.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fix {
    pub(crate) applicability: Applicability,
    /// Short description of what the fix does, e.g. "Replace with `session.get(User, 5)`".
    pub(crate) title: String,
    pub(crate) edits: Vec<Edit>,
}

#[derive(Debug, Clone)]
pub(crate) struct Diagnostic {
    pub(crate) rule: RuleId,
    pub(crate) range: Range<usize>,
    /// What is wrong and why it matters.
    pub(crate) message: String,
    /// The concrete change to make.
    pub(crate) help: Option<String>,
    pub(crate) fix: Option<Fix>,
}
