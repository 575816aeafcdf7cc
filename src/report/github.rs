//! `github`: GitHub Actions workflow commands, one annotation per finding.
//! <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>
//! `file=` is relative to the repository root, which is where GitHub resolves it, also when
//! sqlalint runs from a subfolder.
use std::io::{self, Write};

use super::sarif::{base_relative, repository_root};
use super::{display_path, Entry, ReportContext};
use crate::registry::Severity;

pub(crate) fn write(out: &mut dyn Write, entries: &[Entry<'_>], ctx: &ReportContext<'_>) -> io::Result<()> {
    let base = repository_root(ctx.root);
    for entry in entries {
        let f = entry.finding;
        let rule = entry.rule();
        let command = match rule.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut message = f.message.clone();
        if let Some(help) = &f.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        writeln!(
            out,
            "::{command} title={},file={},line={},col={},endLine={},endColumn={}::{}",
            escape_property(&format!("sqlalint ({}: {})", rule.code, rule.name)),
            escape_property(
                &base_relative(&entry.file.path, &base, ctx).unwrap_or_else(|| display_path(&entry.file.path))
            ),
            f.start.row,
            f.start.column,
            f.end.row,
            f.end.column,
            escape_data(&message),
        )?;
    }
    Ok(())
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(super::escape_data("50%: a\nb"), "50%25: a%0Ab");
    }
}
