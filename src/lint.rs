//! The per-file pipeline: read → decode → parse → one engine pass →
//! suppression → findings with positions. Trees are dropped as soon as the
//! file is done; the source is kept only when it has findings (the full
//! reporter shows snippets and fixes need it).
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checker::{Deferred, Project};
use crate::diagnostic::{Applicability, Diagnostic, Fix};
use crate::engine::{self, Engine};
use crate::index::{self, FileFacts};
use crate::noqa::Suppressions;
use crate::registry::{self, RuleId};
use crate::selection::RuleSet;
use crate::source::{Position, SourceFile};

#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) rule: RuleId,
    pub(crate) range: Range<usize>,
    pub(crate) start: Position,
    pub(crate) end: Position,
    /// 1-based UTF-16 columns of start and end, for SARIF.
    pub(crate) start_utf16: usize,
    pub(crate) end_utf16: usize,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    pub(crate) fix: Option<Fix>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Warning,
    Error,
}

/// A message about a file that is not a finding (syntax error, decoding, I/O).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FileMessage {
    pub(crate) path: PathBuf,
    pub(crate) level: Level,
    pub(crate) text: String,
}

pub(crate) struct CheckedFile {
    pub(crate) path: PathBuf,
    /// Kept only when there are findings or fixes.
    pub(crate) source: Option<Arc<SourceFile>>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) messages: Vec<FileMessage>,
    /// The fixed text, when fixing changed the file.
    pub(crate) fixed: Option<FixedFile>,
    /// What the file contributes to the project model index.
    pub(crate) facts: FileFacts,
    /// Checks waiting for the model index (see [`resolve_deferred`]).
    pub(crate) deferred: Vec<Box<dyn Deferred>>,
    pub(crate) suppressions: Suppressions,
}

impl CheckedFile {
    pub(crate) fn empty(path: &Path) -> Self {
        CheckedFile {
            path: path.to_path_buf(),
            source: None,
            findings: Vec::new(),
            messages: Vec::new(),
            fixed: None,
            facts: FileFacts::default(),
            deferred: Vec::new(),
            suppressions: Suppressions::default(),
        }
    }
}

/// Where a file sits in the project's module namespace.
#[derive(Debug, Clone)]
pub(crate) struct ModuleInfo {
    pub(crate) name: String,
    /// `__init__.py`: relative imports start from the module itself.
    pub(crate) is_package: bool,
}

impl ModuleInfo {
    /// The dotted module of `path`: relative to the project root when inside it, else its
    /// absolute components (imports are matched by suffix, so both resolve).
    pub(crate) fn for_path(path: &Path, root: &Path) -> Self {
        let absolute = crate::walk::absolute(path);
        let relative = absolute.strip_prefix(root).unwrap_or(&absolute);
        let is_package = path.file_stem().is_some_and(|s| s == "__init__");
        ModuleInfo { name: index::module_name(relative), is_package }
    }
}

/// What one lint of a text produced.
struct Linted {
    diagnostics: Vec<Diagnostic>,
    syntax_error: Option<usize>,
    facts: FileFacts,
    deferred: Vec<Box<dyn Deferred>>,
    suppressions: Suppressions,
}

pub(crate) struct FixedFile {
    pub(crate) original: String,
    pub(crate) fixed: String,
    /// Codes of the applied fixes, one per fix.
    pub(crate) applied: Vec<RuleId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FixMode {
    None,
    /// Apply fixes up to this applicability (Safe = safe only, Unsafe = both).
    Apply(Applicability),
}

/// Reads a file as text. Invalid UTF-8 is decoded lossily and NUL bytes become
/// spaces (both with a warning), so one odd file never stops the run.
pub(crate) fn read_source(path: &Path) -> Result<(String, Vec<String>), String> {
    let bytes = std::fs::read(path).map_err(|err| format!("cannot read file: {err}"))?;
    Ok(decode(bytes))
}

/// The text sqlalint lints for a file's bytes, with warnings (see [`read_source`]).
pub(crate) fn decode(bytes: Vec<u8>) -> (String, Vec<String>) {
    let mut warnings = Vec::new();
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            warnings.push(format!(
                "file is not valid UTF-8 (first invalid byte at offset {}); linted with invalid bytes replaced",
                err.utf8_error().valid_up_to()
            ));
            String::from_utf8_lossy(err.as_bytes()).into_owned()
        }
    };
    if text.contains('\0') {
        warnings.push("file contains NUL bytes, which Python rejects; linted with them read as spaces".into());
        text = text.replace('\0', " ");
    }
    if let Some(stripped) = text.strip_prefix('\u{feff}') {
        text = stripped.to_string();
    }
    (text, warnings)
}

/// Lints one text: the diagnostics that survive selection and suppression, the file's
/// index facts and its deferred checks — all from one parse.
fn lint_text(
    engine: &Engine,
    file: &SourceFile,
    enabled: &RuleSet,
    module: Option<&ModuleInfo>,
) -> Result<Linted, String> {
    let tree = engine::parse(&file.text).ok_or_else(|| "the parser gave up on this file".to_string())?;
    let syntax_error = engine::first_syntax_error(&tree);
    // One cache scope for the engine pass and the index facts: both ask `migration()`.
    let caches = crate::python::import_cache::scope();
    let found = engine.run(file, &tree, &|id| enabled.contains(id));
    let mut facts = module
        .map(|m| index::extract::extract(tree.root_node(), &file.text, &m.name, m.is_package))
        .unwrap_or_default();
    facts.column_uses.extend(found.deferred.iter().flat_map(|d| d.column_uses().iter().cloned()));
    drop(caches);
    drop(tree);
    let suppressions = Suppressions::from_comments(file, &found.comments);
    let rules = registry::all();
    let diagnostics = found
        .diagnostics
        .into_iter()
        .filter(|d| !suppressions.is_suppressed(file.line_index(d.range.start), &rules[d.rule].code))
        .collect();
    Ok(Linted { diagnostics, syntax_error, facts, deferred: found.deferred, suppressions })
}

fn to_finding(file: &SourceFile, d: Diagnostic) -> Finding {
    Finding {
        rule: d.rule,
        start: file.position(d.range.start),
        end: file.position(d.range.end),
        start_utf16: file.utf16_column(d.range.start),
        end_utf16: file.utf16_column(d.range.end),
        range: d.range,
        message: d.message,
        help: d.help,
        fix: d.fix,
    }
}

/// Most fix passes per file; overlapping fixes need more than one.
const MAX_FIX_PASSES: usize = 10;

pub(crate) fn check_file(
    engine: &Engine,
    path: &Path,
    enabled: &RuleSet,
    fix_mode: FixMode,
    module: Option<&ModuleInfo>,
) -> CheckedFile {
    let mut checked = CheckedFile::empty(path);
    let message = |level, text: String| FileMessage { path: path.to_path_buf(), level, text };
    let (text, warnings) = match read_source(path) {
        Ok(read) => read,
        Err(err) => {
            checked.messages.push(message(Level::Error, err));
            return checked;
        }
    };
    checked.messages.extend(warnings.into_iter().map(|w| message(Level::Warning, w)));
    // The unfixed text, kept only when fixing (a copy of every file would cost a large
    // allocation per file).
    let original = matches!(fix_mode, FixMode::Apply(_)).then(|| text.clone());
    let mut file = SourceFile::new(text);
    let mut linted = match lint_text(engine, &file, enabled, module) {
        Ok(result) => result,
        Err(err) => {
            checked.messages.push(message(Level::Error, err));
            return checked;
        }
    };
    let syntax_error = linted.syntax_error;
    if let Some(offset) = syntax_error {
        let at = file.position(offset);
        checked.messages.push(message(
            Level::Warning,
            format!("syntax error at {}:{}; the rest of the file was linted as far as it parses", at.row, at.column),
        ));
    }

    if let FixMode::Apply(level) = fix_mode {
        let mut applied = Vec::new();
        // Fixes dropped because they would break the syntax, reported once each.
        let mut dropped = std::collections::BTreeSet::new();
        for _ in 0..MAX_FIX_PASSES {
            let mut fixes: Vec<&Diagnostic> = linted
                .diagnostics
                .iter()
                .filter(|d| d.fix.as_ref().is_some_and(|f| f.applicability <= level))
                .collect();
            if fixes.is_empty() {
                break;
            }
            let (mut new_text, mut rules) = crate::fix::apply(&file.text, &fixes);
            if syntax_error.is_none() && has_syntax_error(&new_text) {
                // Find the fixes that break the file on their own, drop them, apply the rest.
                fixes.retain(|d| {
                    let (alone, _) = crate::fix::apply(&file.text, &[*d]);
                    let breaks = has_syntax_error(&alone);
                    if breaks {
                        let at = file.position(d.range.start);
                        let title = d.fix.as_ref().map(|f| f.title.as_str()).unwrap_or_default();
                        let code = &registry::all()[d.rule].code;
                        dropped.insert(format!(
                            "the {code} fix at {}:{} ({title}) would have introduced a syntax error and was not \
                             applied; please report this",
                            at.row, at.column
                        ));
                    }
                    !breaks
                });
                (new_text, rules) = crate::fix::apply(&file.text, &fixes);
            }
            if rules.is_empty() || new_text == file.text {
                break;
            }
            let candidate = SourceFile::new(new_text);
            let Ok(relinted) = lint_text(engine, &candidate, enabled, module) else { break };
            if relinted.syntax_error.is_some() && syntax_error.is_none() {
                checked.messages.push(message(
                    Level::Warning,
                    "fixes combined would have introduced a syntax error and were not applied; please report this"
                        .into(),
                ));
                break;
            }
            applied.extend(rules);
            file = candidate;
            linted = relinted;
        }
        checked.messages.extend(dropped.into_iter().map(|text| message(Level::Warning, text)));
        if let Some(original) = original.filter(|original| file.text != *original) {
            checked.fixed = Some(FixedFile { original, fixed: file.text.clone(), applied });
        }
    }

    checked.findings = linted.diagnostics.into_iter().map(|d| to_finding(&file, d)).collect();
    checked.findings.sort_by(|a, b| {
        (a.start, a.end, &registry::all()[a.rule].code).cmp(&(b.start, b.end, &registry::all()[b.rule].code))
    });
    checked.facts = linted.facts;
    checked.deferred = linted.deferred;
    checked.suppressions = linted.suppressions;
    if !checked.findings.is_empty() || checked.fixed.is_some() || !checked.deferred.is_empty() {
        checked.source = Some(Arc::new(file));
    }
    checked
}

/// Does `text` fail to parse as Python (used to vet fixes before they are applied)?
fn has_syntax_error(text: &str) -> bool {
    engine::parse(text).is_none_or(|tree| engine::first_syntax_error(&tree).is_some())
}

/// Index facts of a file that is not being checked (pre-commit passes only changed
/// files, but models live elsewhere in the project). `None` if it cannot be read.
pub(crate) fn facts_only(path: &Path, module: &ModuleInfo) -> Option<FileFacts> {
    let (text, _) = read_source(path).ok()?;
    let tree = engine::parse(&text)?;
    Some(index::extract::extract(tree.root_node(), &text, &module.name, module.is_package))
}

/// Resolves a file's deferred checks against the model index into findings.
pub(crate) fn resolve_deferred(checked: &mut CheckedFile, index: &index::merge::ModelIndex) {
    let deferred = std::mem::take(&mut checked.deferred);
    let Some(file) = checked.source.clone() else { return };
    let project = Project { index, file: &checked.facts };
    let mut diagnostics = Vec::new();
    for check in &deferred {
        check.resolve(&project, &mut diagnostics);
    }
    let rules = registry::all();
    let before = checked.findings.len();
    checked.findings.extend(
        diagnostics
            .into_iter()
            .filter(|d| !checked.suppressions.is_suppressed(file.line_index(d.range.start), &rules[d.rule].code))
            .map(|d| to_finding(&file, d)),
    );
    if checked.findings.len() != before {
        checked
            .findings
            .sort_by(|a, b| (a.start, a.end, &rules[a.rule].code).cmp(&(b.start, b.end, &rules[b.rule].code)));
        checked.findings.dedup_by(|a, b| a.rule == b.rule && a.range == b.range);
    } else if checked.fixed.is_none() && checked.findings.is_empty() {
        checked.source = None;
    }
}

/// Parse only (benchmark baseline): read, decode and parse, nothing else.
pub(crate) fn parse_only(path: &Path) -> Result<usize, String> {
    let (text, _) = read_source(path)?;
    let tree = engine::parse(&text).ok_or("the parser gave up on this file")?;
    Ok(tree.root_node().end_byte())
}
