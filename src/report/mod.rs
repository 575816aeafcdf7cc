//! Reporters: turn the sorted findings of a run into human, JSON, SARIF or
//! GitHub output. They only read; nothing here changes what was found.
use std::io::{self, Write};
use std::path::Path;

use crate::lint::{CheckedFile, Finding};
use crate::registry::{self, Rule};
use crate::selection::RuleSet;

mod concise;
mod full;
mod github;
mod json;
mod sarif;

pub(crate) use concise::write_summary;

/// What a reporter needs besides the findings.
pub(crate) struct ReportContext<'a> {
    pub(crate) root: &'a Path,
    pub(crate) enabled: &'a RuleSet,
    /// Relative path from the project root (`/`-separated) per checked file, for SARIF.
    pub(crate) root_relative: &'a dyn Fn(&Path) -> Option<String>,
    pub(crate) color: bool,
    /// Whether unsafe fixes were enabled (for the summary's fix hint).
    pub(crate) unsafe_fixes: bool,
    pub(crate) files_checked: usize,
    /// Files that could not be read or parsed at all (reported on stderr; exit code 2).
    pub(crate) files_failed: usize,
}

/// One finding with the file it belongs to, in report order.
pub(crate) struct Entry<'a> {
    pub(crate) file: &'a CheckedFile,
    pub(crate) finding: &'a Finding,
}

impl Entry<'_> {
    pub(crate) fn rule(&self) -> &'static Rule {
        &registry::all()[self.finding.rule]
    }
}

/// Path shown to users: as walked, without a leading `./`.
pub(crate) fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").map(String::from).unwrap_or_else(|| text.into_owned())
}

pub(crate) fn entries(files: &[CheckedFile]) -> Vec<Entry<'_>> {
    files.iter().flat_map(|file| file.findings.iter().map(move |finding| Entry { file, finding })).collect()
}

pub(crate) fn write(
    format: crate::cli::OutputFormat,
    out: &mut dyn Write,
    files: &[CheckedFile],
    ctx: &ReportContext<'_>,
) -> io::Result<()> {
    use crate::cli::OutputFormat::*;
    let entries = entries(files);
    match format {
        Full => full::write(out, &entries, ctx),
        Concise => concise::write(out, &entries, ctx),
        Json => json::write(out, &entries),
        Sarif => sarif::write(out, &entries, ctx),
        Github => github::write(out, &entries, ctx),
    }
}

/// `--statistics`: one line per rule, most frequent first (ties by code).
pub(crate) fn write_statistics(out: &mut dyn Write, files: &[CheckedFile]) -> io::Result<()> {
    let mut counts: std::collections::BTreeMap<usize, usize> = Default::default();
    for entry in entries(files) {
        *counts.entry(entry.finding.rule).or_default() += 1;
    }
    let mut rows: Vec<(usize, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (rule, count) in rows {
        let rule = &registry::all()[rule];
        let fixable = if rule.fix == registry::FixAvailability::None { "[ ]" } else { "[*]" };
        writeln!(out, "{count}\t{}\t{fixable} {}", rule.code, rule.name)?;
    }
    Ok(())
}
