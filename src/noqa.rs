//! Suppression comments, with Ruff's semantics:
//! - `# noqa` (all rules) or `# noqa: SA101, SA102` on the line where a finding starts;
//!   `# sqlalint: ignore[SA101]` is an equivalent spelling;
//! - `# sqlalint: noqa` (all rules) or `# sqlalint: noqa: SA101` anywhere in the file, usually at the top.
//!
//! Codes are matched exactly and case-insensitively; unknown codes are ignored.
//! Comments come from the tree (the engine's comment pattern), so `noqa` inside
//! a string literal suppresses nothing.
use std::collections::HashMap;
use std::ops::Range;

use crate::source::SourceFile;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Scope {
    #[default]
    None,
    All,
    Codes(Vec<String>),
}

impl Scope {
    fn covers(&self, code: &str) -> bool {
        match self {
            Scope::None => false,
            Scope::All => true,
            Scope::Codes(codes) => codes.iter().any(|c| c.eq_ignore_ascii_case(code)),
        }
    }

    fn merge(&mut self, other: Scope) {
        *self = match (std::mem::take(self), other) {
            (Scope::All, _) | (_, Scope::All) => Scope::All,
            (Scope::None, other) | (other, Scope::None) => other,
            (Scope::Codes(mut a), Scope::Codes(b)) => {
                a.extend(b);
                Scope::Codes(a)
            }
        };
    }
}

#[derive(Debug, Default)]
pub(crate) struct Suppressions {
    file: Scope,
    /// 0-based line → scope.
    lines: HashMap<usize, Scope>,
}

impl Suppressions {
    pub(crate) fn from_comments(file: &SourceFile, comments: &[Range<usize>]) -> Self {
        let mut suppressions = Suppressions::default();
        for range in comments {
            let Some(text) = file.text.get(range.clone()) else { continue };
            let line = file.line_index(range.start);
            for directive in text.split('#').skip(1).map(str::trim) {
                let lower = directive.to_ascii_lowercase();
                if let Some(rest) = strip_prefix_ci(&lower, directive, "sqlalint:") {
                    let rest = rest.trim_start();
                    if let Some(codes) = strip_prefix_ci(&rest.to_ascii_lowercase(), rest, "noqa") {
                        if let Some(scope) = parse_codes(codes) {
                            suppressions.file.merge(scope);
                        }
                    } else if let Some(inner) = strip_prefix_ci(&rest.to_ascii_lowercase(), rest, "ignore[") {
                        let codes = inner.split(']').next().unwrap_or("");
                        suppressions.lines.entry(line).or_default().merge(Scope::Codes(split_codes(codes)));
                    }
                } else if let Some(codes) = strip_prefix_ci(&lower, directive, "noqa") {
                    if let Some(scope) = parse_codes(codes) {
                        suppressions.lines.entry(line).or_default().merge(scope);
                    }
                }
            }
        }
        suppressions
    }

    pub(crate) fn is_suppressed(&self, line_index: usize, code: &str) -> bool {
        self.file.covers(code) || self.lines.get(&line_index).is_some_and(|scope| scope.covers(code))
    }
}

fn strip_prefix_ci<'a>(lower: &str, original: &'a str, prefix: &str) -> Option<&'a str> {
    lower.starts_with(prefix).then(|| &original[prefix.len()..])
}

/// What follows `noqa`: nothing (all rules), `: CODES`, or something else (`noqa123`, not a directive).
fn parse_codes(rest: &str) -> Option<Scope> {
    let trimmed = rest.trim_start();
    match trimmed.strip_prefix(':') {
        Some(codes) => {
            let codes = split_codes(codes);
            Some(if codes.is_empty() { Scope::All } else { Scope::Codes(codes) })
        }
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => Some(Scope::All),
        None => None,
    }
}

/// Codes are letters followed by digits, separated by commas or spaces; stops at other text.
fn split_codes(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .take_while(|t| {
            let digits = t.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            digits.len() < t.len() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        })
        .map(str::to_ascii_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::KindStr;

    fn suppressions(src: &str) -> Suppressions {
        let file = SourceFile::new(src.to_string());
        let tree = crate::engine::parse(src).unwrap();
        let mut comments = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind_str() == "comment" {
                comments.push(node.byte_range());
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        Suppressions::from_comments(&file, &comments)
    }

    #[test]
    fn line_directives() {
        let s = suppressions("a = 1  # noqa\nb = 2  # NOQA: SA101,sa102 trailing words\nc = 3  # noqa:E501\nd = '# noqa'\ne = 4 # type: ignore # noqa: SA304\nf = 5 # noqa123\n");
        assert!(s.is_suppressed(0, "SA101"));
        assert!(s.is_suppressed(1, "SA101") && s.is_suppressed(1, "SA102") && !s.is_suppressed(1, "SA304"));
        assert!(!s.is_suppressed(2, "SA101"));
        assert!(!s.is_suppressed(3, "SA101"), "noqa inside a string is not a comment");
        assert!(s.is_suppressed(4, "SA304"));
        assert!(!s.is_suppressed(5, "SA101"));
    }

    #[test]
    fn file_directives() {
        let s = suppressions("# sqlalint: noqa: SA101\nx = 1\n");
        assert!(s.is_suppressed(1, "SA101") && !s.is_suppressed(1, "SA102"));
        let s = suppressions("# sqlalint: noqa\n");
        assert!(s.is_suppressed(40, "SA999"));
        let s = suppressions("x = 1  # sqlalint: ignore[SA102]\n");
        assert!(s.is_suppressed(0, "SA102") && !s.is_suppressed(0, "SA101"));
    }
}
