//! `full` (default): each finding rendered by miette with its source snippet,
//! a label naming the rule, the help line with the concrete fix, and the docs URL.
use std::fmt;
use std::io::{self, Write};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use super::{display_path, Entry, ReportContext};
use crate::registry::Severity;

struct Rendered<'a> {
    entry: &'a Entry<'a>,
    source: &'a NamedSource<String>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.entry.finding.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.entry.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let rule = self.entry.rule();
        let fixable = if self.entry.finding.fix.is_some() { " [*]" } else { "" };
        Some(Box::new(format!("{} {}{fixable}", rule.code, rule.name)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.entry.rule().severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.entry.finding.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.entry.rule().url()))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let range = &self.entry.finding.range;
        let label = LabeledSpan::new_primary_with_span(None, (range.start, range.end.saturating_sub(range.start)));
        Some(Box::new(std::iter::once(label)))
    }
}

pub(crate) fn write(out: &mut dyn Write, entries: &[Entry<'_>], ctx: &ReportContext<'_>) -> io::Result<()> {
    let theme = if ctx.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false).with_urls(false);
    let mut current: Option<(&std::path::Path, NamedSource<String>)> = None;
    for entry in entries {
        let path = entry.file.path.as_path();
        if current.as_ref().is_none_or(|(p, _)| *p != path) {
            let text = entry.file.source.as_ref().map(|s| s.text.clone()).unwrap_or_default();
            current = Some((path, NamedSource::new(display_path(path), text)));
        }
        let Some((_, source)) = &current else { continue };
        let mut rendered = String::new();
        handler
            .render_report(&mut rendered, &Rendered { entry, source })
            .map_err(|_| io::Error::other("failed to render a finding"))?;
        out.write_all(rendered.as_bytes())?;
        writeln!(out, "  docs: {}", entry.rule().url())?;
        writeln!(out)?;
    }
    super::write_summary(out, entries, ctx)
}
