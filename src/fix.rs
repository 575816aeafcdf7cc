//! Applying fixes: each fix is a set of byte-range edits; fixes are applied
//! in source order, and a fix whose edits overlap an already accepted one
//! waits for the next pass (the caller re-lints and tries again).
use crate::diagnostic::{Diagnostic, Edit};
use crate::registry::RuleId;

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
}
