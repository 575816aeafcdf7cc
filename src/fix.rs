//! Applying fixes: each fix is a set of byte-range edits; fixes are applied
//! in source order, and a fix whose edits overlap an already accepted one
//! waits for the next pass (the caller re-lints and tries again).
use crate::diagnostic::{Diagnostic, Edit};
use crate::python::import_cache::PerFile;
use crate::registry::RuleId;
use crate::syntax::Fields;
use crate::syntax::KindStr;

/// Applies the non-overlapping subset of `fixes`; returns the new text and the rules whose fixes went in.
pub(crate) fn apply(text: &str, diagnostics: &[&Diagnostic]) -> (String, Vec<RuleId>) {
    let mut candidates: Vec<(&Diagnostic, Vec<&Edit>)> = diagnostics
        .iter()
        .filter_map(|d| {
            let fix = d.fix.as_ref()?;
            let mut edits: Vec<&Edit> = fix.edits.iter().collect();
            edits.sort_by_key(|e| (e.range.start, e.range.end));
            Some((*d, edits))
        })
        .collect();
    candidates.sort_by_key(|(d, edits)| (edits.first().map(|e| e.range.start), d.rule));

    let mut accepted: Vec<&Edit> = Vec::new();
    let mut rules = Vec::new();
    for (diagnostic, edits) in candidates {
        let valid = edits.iter().all(|e| {
            e.range.start <= e.range.end
                && e.range.end <= text.len()
                && text.is_char_boundary(e.range.start)
                && text.is_char_boundary(e.range.end)
        });
        let overlaps = edits.iter().any(|e| {
            accepted.iter().any(|a| {
                e.range.start < a.range.end && a.range.start < e.range.end
                    || (e.range.is_empty() && a.range.is_empty() && e.range.start == a.range.start)
            })
        });
        if valid && !overlaps {
            accepted.extend(edits);
            rules.push(diagnostic.rule);
        }
    }
    accepted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for edit in accepted {
        out.push_str(&text[cursor..edit.range.start]);
        out.push_str(&edit.content);
        cursor = edit.range.end;
    }
    out.push_str(&text[cursor..]);
    (out, rules)
}

/// Writes `content` to `path` atomically: a temporary file in the same
/// directory, then a rename, so an interrupted run never leaves half a file.
pub(crate) fn write_atomically(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    // Only a regular file is replaced by rename. A device, FIFO or symlink (`-o /dev/null`,
    // `-o /dev/stdout`, a linked report) is written in place: renaming over it would replace
    // the device or the link itself with a plain file (as root, `/dev/null` for the machine).
    let replaceable = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type().is_file(),
        Err(_) => true,
    };
    if !replaceable {
        return std::fs::write(path, content);
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.sqlalint-{}.tmp", std::process::id()));
    let permissions = std::fs::metadata(path).map(|m| m.permissions()).ok();
    std::fs::write(&temp, content)?;
    if let Some(permissions) = permissions {
        let _ = std::fs::set_permissions(&temp, permissions);
    }
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// The edit that makes `name` importable from `module` in the file rooted at `root`, or `None`
/// when a module-level `from <module> import ... name ...` already exists. It merges into an
/// existing module-level `from <module> import ...` (after its last name, parenthesised or
/// not), else inserts `from <module> import name` before the module's first import (or at the
/// top). Two fixes adding the same name touch the same bytes, so the second waits for the next
/// pass, by which time the import is there.
pub(crate) fn ensure_import(root: tree_sitter::Node<'_>, src: &str, module: &str, name: &str) -> Option<Edit> {
    thread_local! {
        /// The edit for each (module, name) of a file, as every fix of a rule asks for the same.
        static EDITS: PerFile<(usize, usize, usize, String, String), Option<Edit>> = PerFile::new();
    }
    let key = (src.as_ptr() as usize, src.len(), root.id(), module.to_string(), name.to_string());
    if let Some(known) = EDITS.with(|edits| edits.read(&key, Clone::clone)) {
        return known;
    }
    let edit = import_edit(root, src, module, name);
    EDITS.with(|edits| edits.insert(key, edit.clone()));
    edit
}

fn import_edit(root: tree_sitter::Node<'_>, src: &str, module: &str, name: &str) -> Option<Edit> {
    let text = |n: tree_sitter::Node<'_>| src.get(n.byte_range()).unwrap_or("");
    let mut merge_into: Option<tree_sitter::Node<'_>> = None;
    let mut first_import: Option<tree_sitter::Node<'_>> = None;
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        match statement.kind_str() {
            "import_statement" | "future_import_statement" => {
                first_import.get_or_insert(statement);
            }
            "import_from_statement" => {
                first_import.get_or_insert(statement);
                let from = statement.field("module_name").map(text);
                if from != Some(module) {
                    continue;
                }
                let mut names = statement.walk();
                let imported: Vec<tree_sitter::Node<'_>> =
                    statement.children_by_field_name("name", &mut names).collect();
                let bound = |n: &tree_sitter::Node<'_>| match n.kind_str() {
                    "aliased_import" => n.field("alias").map(text) == Some(name),
                    _ => text(*n) == name,
                };
                if imported.iter().any(bound) {
                    return None;
                }
                if merge_into.is_none() && !imported.is_empty() && !statement.has_error() {
                    merge_into = imported.last().copied();
                }
            }
            _ => {}
        }
    }
    if let Some(last) = merge_into {
        return Some(Edit { range: last.end_byte()..last.end_byte(), content: format!(", {name}") });
    }
    // A `from __future__` import must stay first: insert after it instead.
    let at = match first_import {
        Some(first) if first.kind_str() == "future_import_statement" => {
            let end = first.end_byte();
            let line_end = src[end..].find('\n').map_or(src.len(), |i| end + i + 1);
            return Some(Edit { range: line_end..line_end, content: format!("from {module} import {name}\n") });
        }
        Some(first) => first.start_byte(),
        None => {
            // After a module docstring and leading comments (shebang, encoding), never before.
            let mut at = 0;
            let mut seen_docstring = false;
            let mut cursor = root.walk();
            for child in root.children(&mut cursor) {
                let docstring = child.kind_str() == "expression_statement"
                    && child.named_child(0).is_some_and(|s| s.kind_str() == "string");
                if child.kind_str() == "comment" || (docstring && !seen_docstring) {
                    seen_docstring |= docstring;
                    let end = child.end_byte();
                    at = src[end..].find('\n').map_or(src.len(), |i| end + i + 1);
                } else {
                    break;
                }
            }
            at
        }
    };
    Some(Edit { range: at..at, content: format!("from {module} import {name}\n") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Fix};

    fn diag(rule: RuleId, edits: Vec<Edit>) -> Diagnostic {
        Diagnostic {
            rule,
            range: 0..0,
            message: String::new(),
            help: None,
            fix: Some(Fix { applicability: Applicability::Safe, title: String::new(), edits }),
        }
    }

    #[test]
    fn overlapping_fixes_wait_for_next_pass() {
        let a = diag(0, vec![Edit::replace(0..5, "HELLO")]);
        let b = diag(1, vec![Edit::replace(3..8, "x")]);
        let c = diag(2, vec![Edit::replace(9..11, "!!"), Edit::insert(0, ">")]);
        let (text, rules) = apply("hello world", &[&a, &b, &c]);
        // `a` and `c` touch disjoint bytes (an insertion at 0 does not overlap 0..5); `b` overlaps `a`.
        assert_eq!(rules, vec![0, 2]);
        assert_eq!(text, ">HELLO wor!!");
        let (text, rules) = apply("hello world", &[&a, &b]);
        assert_eq!((text.as_str(), rules), ("HELLO world", vec![0]));
    }

    fn with_import(src: &str) -> String {
        let tree = crate::engine::parse(src).expect("parses");
        match ensure_import(tree.root_node(), src, "sqlalchemy.orm", "DeclarativeBase") {
            Some(edit) => {
                let d = diag(0, vec![edit]);
                apply(src, &[&d]).0
            }
            None => src.to_string(),
        }
    }

    #[test]
    fn imports_are_merged_added_once_and_kept_below_docstrings() {
        assert_eq!(
            with_import("from sqlalchemy.orm import relationship\nx = 1\n"),
            "from sqlalchemy.orm import relationship, DeclarativeBase\nx = 1\n"
        );
        assert_eq!(
            with_import("from sqlalchemy.orm import (\n    relationship,\n)\n"),
            "from sqlalchemy.orm import (\n    relationship, DeclarativeBase,\n)\n"
        );
        let present = "from sqlalchemy.orm import DeclarativeBase, Mapped\n";
        assert_eq!(with_import(present), present);
        assert_eq!(
            with_import("import os\nfrom sqlalchemy import Column\n"),
            "from sqlalchemy.orm import DeclarativeBase\nimport os\nfrom sqlalchemy import Column\n"
        );
        assert_eq!(
            with_import("from __future__ import annotations\nimport os\n"),
            "from __future__ import annotations\nfrom sqlalchemy.orm import DeclarativeBase\nimport os\n"
        );
        assert_eq!(
            with_import("#!/usr/bin/env python\n\"\"\"Doc.\"\"\"\nx = 1\n"),
            "#!/usr/bin/env python\n\"\"\"Doc.\"\"\"\nfrom sqlalchemy.orm import DeclarativeBase\nx = 1\n"
        );
    }
}

#[cfg(test)]
mod write_tests {
    use super::write_atomically;

    #[test]
    fn devices_and_links_are_written_in_place_not_replaced() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let null = std::path::Path::new("/dev/null");
            if std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device()) {
                let _ = write_atomically(null, "report\n");
                assert!(std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device()), "/dev/null replaced");
            }
            let dir = tempfile::tempdir().expect("temp dir");
            let target = dir.path().join("report.txt");
            let link = dir.path().join("latest.txt");
            std::fs::write(&target, "old").expect("write");
            std::os::unix::fs::symlink(&target, &link).expect("symlink");
            write_atomically(&link, "new").expect("write through the link");
            assert!(std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));
            assert_eq!(std::fs::read_to_string(&target).ok().as_deref(), Some("new"));
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let plain = dir.path().join("plain.py");
        write_atomically(&plain, "x = 1\n").expect("write a new file");
        assert_eq!(std::fs::read_to_string(&plain).ok().as_deref(), Some("x = 1\n"));
    }
}
