//! `json`: a stable array of finding objects (documented in README).
use std::io::{self, Write};

use serde::Serialize;

use super::{display_path, Entry};
use crate::diagnostic::Applicability;
use crate::registry::Severity;
use crate::source::Position;

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'a str,
    name: &'a str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    filename: String,
    location: Position,
    end_location: Position,
    fix: Option<JsonFix<'a>>,
    url: String,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    applicability: Applicability,
    message: &'a str,
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    content: &'a str,
    location: Position,
    end_location: Position,
}

pub(crate) fn write(out: &mut dyn Write, entries: &[Entry<'_>]) -> io::Result<()> {
    let items: Vec<JsonFinding<'_>> = entries
        .iter()
        .map(|entry| {
            let f = entry.finding;
            let rule = entry.rule();
            let source = entry.file.source.as_deref();
            JsonFinding {
                code: &rule.code,
                name: &rule.name,
                severity: rule.severity,
                message: &f.message,
                help: f.help.as_deref(),
                filename: display_path(&entry.file.path),
                location: f.start,
                end_location: f.end,
                fix: f.fix.as_ref().map(|fix| JsonFix {
                    applicability: fix.applicability,
                    message: &fix.title,
                    edits: fix
                        .edits
                        .iter()
                        .map(|edit| JsonEdit {
                            content: &edit.content,
                            location: source.map_or(f.start, |s| s.position(edit.range.start)),
                            end_location: source.map_or(f.end, |s| s.position(edit.range.end)),
                        })
                        .collect(),
                }),
                url: rule.url(),
            }
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &items)?;
    writeln!(out)
}
