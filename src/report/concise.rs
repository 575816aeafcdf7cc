//! `concise`: one line per finding, `path:line:col: CODE [*] message`, then a summary.
use std::io::{self, Write};

use super::{display_path, Entry, ReportContext};
use crate::diagnostic::Applicability;

pub(crate) fn write(out: &mut dyn Write, entries: &[Entry<'_>], ctx: &ReportContext<'_>) -> io::Result<()> {
    for entry in entries {
        let f = entry.finding;
        let fixable = if f.fix.is_some() { " [*]" } else { "" };
        writeln!(
            out,
            "{}:{}:{}: {}{fixable} {}",
            display_path(&entry.file.path),
            f.start.row,
            f.start.column,
            entry.rule().code,
            one_line(&f.message)
        )?;
    }
    write_summary(out, entries, ctx)
}

/// One finding, one line: a message quoting multi-line source has its line breaks
/// (and the indentation after them) collapsed to a single space.
fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.contains(['\n', '\r']) {
        return message.into();
    }
    let mut lines = message.lines();
    let mut text = lines.next().unwrap_or_default().trim_end().to_string();
    for line in lines.map(str::trim).filter(|line| !line.is_empty()) {
        text.push(' ');
        text.push_str(line);
    }
    text.into()
}

/// "Found 3 findings in 2 files (1 fixable with `--fix`)." or "All checks passed!"
pub(crate) fn write_summary(out: &mut dyn Write, entries: &[Entry<'_>], ctx: &ReportContext<'_>) -> io::Result<()> {
    if entries.is_empty() && ctx.files_failed > 0 {
        let failed = ctx.files_failed;
        return writeln!(
            out,
            "No findings, but {failed} file{} could not be checked (see the errors above).",
            plural(failed)
        );
    }
    if entries.is_empty() {
        return writeln!(out, "All checks passed! ({} file{} checked)", ctx.files_checked, plural(ctx.files_checked));
    }
    let mut files: Vec<&std::path::Path> = entries.iter().map(|e| e.file.path.as_path()).collect();
    files.dedup();
    let count = |level: Applicability| {
        entries.iter().filter(|e| e.finding.fix.as_ref().is_some_and(|f| f.applicability == level)).count()
    };
    let (safe, unsafe_) = (count(Applicability::Safe), count(Applicability::Unsafe));
    write!(
        out,
        "Found {} finding{} in {} file{}",
        entries.len(),
        plural(entries.len()),
        files.len(),
        plural(files.len())
    )?;
    let fixable = if ctx.unsafe_fixes { safe + unsafe_ } else { safe };
    if fixable > 0 {
        write!(out, " ({fixable} fixable with `--fix`)")?;
    } else if unsafe_ > 0 {
        write!(out, " ({unsafe_} fixable with `--fix --unsafe-fixes`)")?;
    }
    if ctx.files_failed > 0 {
        write!(out, "; {} file{} could not be checked", ctx.files_failed, plural(ctx.files_failed))?;
    }
    writeln!(out, ".")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
