//! The rule registry: every rule's metadata, docs and query, read from the
//! header of its embedded `queries/<CODE>-<name>.scm` file, joined with its
//! optional Rust check (discovered by `build.rs`).
//!
//! Header format (a leading block of `;` comment lines):
//!
//! ```text
//! ; code: SA102
//! ; name: count-via-len
//! ; summary: one line, shown in `sqlalint rules` and SARIF shortDescription
//! ; severity: error | warning | info
//! ; family: performance | correctness | security | session | modernization | schema | migration
//! ; default: on | off            (off = opt-in, enabled only when selected)
//! ; fix: none | safe | unsafe
//! ; precision: very-high | high | medium | low
//! ; tags: comma, separated      (optional; SA5xx rules get `security`)
//! ; security-severity: 8.8      (optional, security rules only)
//! ;
//! ; ## What it does            <- Markdown docs, until the first non-comment line
//! ```
use std::sync::OnceLock;

use crate::checker::CheckFn;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/rules_generated.rs"));
}

/// Base of the per-rule documentation pages (SARIF `helpUri`, JSON `url`).
pub(crate) const DOCS_BASE_URL: &str = "https://github.com/sqlalint/sqlalint/blob/main/docs/rules/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FixAvailability {
    None,
    Safe,
    Unsafe,
}

/// Index of a rule in [`all`]; stable within one build (rules are sorted by code).
pub(crate) type RuleId = usize;

#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) summary: String,
    pub(crate) severity: Severity,
    pub(crate) family: String,
    pub(crate) default_enabled: bool,
    pub(crate) fix: FixAvailability,
    pub(crate) precision: String,
    pub(crate) tags: Vec<String>,
    pub(crate) security_severity: Option<String>,
    /// Ruff-style Markdown documentation (What it does / Why is this bad? / Example / ...).
    pub(crate) docs: String,
    /// The `.scm` file name the rule came from.
    pub(crate) file: &'static str,
    /// The whole `.scm` text (header comments included; they are query comments too).
    pub(crate) query_source: &'static str,
    /// Semantic check run on each match of the rule's patterns.
    pub(crate) check: Option<CheckFn>,
    /// Module stem of the Rust check (`sa102_count_via_len`), for consistency tests.
    pub(crate) check_module: Option<&'static str>,
}

impl Rule {
    pub(crate) fn url(&self) -> String {
        format!("{DOCS_BASE_URL}{}.md", self.code)
    }
}

/// A malformed header is a bug in the binary, caught by the registry tests;
/// at run time the offending rule is skipped.
#[derive(Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct RegistryError {
    pub(crate) file: &'static str,
    pub(crate) message: String,
}

struct Registry {
    rules: Vec<Rule>,
    #[cfg_attr(not(test), allow(dead_code))]
    errors: Vec<RegistryError>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (file, text) in generated::QUERY_FILES {
            match parse_rule(file, text) {
                Ok(rule) => rules.push(rule),
                Err(message) => errors.push(RegistryError { file, message }),
            }
        }
        for (module, check) in generated::CHECKS {
            let code = module.split('_').next().unwrap_or_default().to_ascii_uppercase();
            match rules.iter_mut().find(|rule| rule.code == code) {
                Some(rule) => {
                    rule.check = Some(*check);
                    rule.check_module = Some(module);
                }
                None => errors.push(RegistryError {
                    file: module,
                    message: format!("src/rules/{module}.rs has no queries/{code}-*.scm"),
                }),
            }
        }
        rules.sort_by(|a, b| a.code.cmp(&b.code));
        Registry { rules, errors }
    })
}

/// Every rule compiled into the binary, sorted by code.
pub(crate) fn all() -> &'static [Rule] {
    &registry().rules
}

#[cfg(test)]
pub(crate) fn errors() -> &'static [RegistryError] {
    &registry().errors
}

pub(crate) fn by_code(code: &str) -> Option<(RuleId, &'static Rule)> {
    all().iter().enumerate().find(|(_, rule)| rule.code.eq_ignore_ascii_case(code))
}

fn parse_rule(file: &'static str, text: &'static str) -> Result<Rule, String> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    let mut docs = String::new();
    let mut in_docs = false;
    for line in text.lines() {
        let Some(comment) = line.strip_prefix(';') else {
            break;
        };
        let comment = comment.strip_prefix(' ').unwrap_or(comment);
        if in_docs {
            docs.push_str(comment);
            docs.push('\n');
        } else if comment.trim().is_empty() {
            in_docs = true;
        } else {
            let (key, value) =
                comment.split_once(':').ok_or_else(|| format!("header line `{comment}` is not `key: value`"))?;
            fields.push((key.trim(), value.trim()));
        }
    }
    let field = |key: &str| -> Result<&str, String> {
        fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).ok_or_else(|| format!("header has no `{key}:`"))
    };
    let severity = match field("severity")? {
        "error" => Severity::Error,
        "warning" => Severity::Warning,
        "info" => Severity::Info,
        other => return Err(format!("unknown severity `{other}`")),
    };
    let default_enabled = match field("default")? {
        "on" => true,
        "off" => false,
        other => return Err(format!("`default:` must be on or off, not `{other}`")),
    };
    let fix = match field("fix")? {
        "none" => FixAvailability::None,
        "safe" => FixAvailability::Safe,
        "unsafe" => FixAvailability::Unsafe,
        other => return Err(format!("unknown fix availability `{other}`")),
    };
    let split_list = |value: &str| -> Vec<String> {
        value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
    };
    let family = field("family")?.to_string();
    let mut tags = fields.iter().find(|(k, _)| *k == "tags").map(|(_, v)| split_list(v)).unwrap_or_default();
    if !tags.contains(&family) {
        tags.insert(0, family.clone());
    }
    Ok(Rule {
        code: field("code")?.to_string(),
        name: field("name")?.to_string(),
        summary: field("summary")?.to_string(),
        severity,
        family,
        default_enabled,
        fix,
        precision: field("precision")?.to_string(),
        tags,
        security_severity: fields.iter().find(|(k, _)| *k == "security-severity").map(|(_, v)| v.to_string()),
        docs: docs.trim().to_string(),
        file,
        query_source: text,
        check: None,
        check_module: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_has_no_errors() {
        let errors: Vec<String> = errors().iter().map(|e| format!("{}: {}", e.file, e.message)).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(!all().is_empty());
    }

    #[test]
    fn file_names_match_code_and_name() {
        for rule in all() {
            assert_eq!(rule.file, format!("{}-{}.scm", rule.code, rule.name), "file name of {}", rule.code);
            assert!(rule.code.starts_with("SA") && rule.code[2..].chars().all(|c| c.is_ascii_digit()));
            assert!(
                rule.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.name
            );
            if let Some(module) = rule.check_module {
                assert_eq!(module, format!("{}_{}", rule.code.to_lowercase(), rule.name.replace('-', "_")));
            }
        }
    }

    #[test]
    fn codes_and_names_are_unique() {
        let mut codes: Vec<&str> = all().iter().map(|r| r.code.as_str()).collect();
        let mut names: Vec<&str> = all().iter().map(|r| r.name.as_str()).collect();
        codes.dedup();
        names.sort();
        names.dedup();
        assert_eq!(codes.len(), all().len());
        assert_eq!(names.len(), all().len());
    }

    #[test]
    fn every_rule_has_ruff_style_docs() {
        for rule in all() {
            for section in ["## What it does", "## Why is this bad?", "## Example", "Use instead:", "## References"] {
                assert!(rule.docs.contains(section), "{} docs lack `{section}`", rule.code);
            }
            if rule.fix != FixAvailability::None {
                assert!(rule.docs.contains("## Fix safety"), "{} is fixable but has no `## Fix safety`", rule.code);
            }
            assert!(rule.summary.len() <= 200, "{} summary too long", rule.code);
            assert!(rule.check.is_some(), "{} has no Rust check in src/rules/", rule.code);
            assert!(["very-high", "high", "medium", "low"].contains(&rule.precision.as_str()));
        }
    }

    /// A fixture is `tests/fixtures/rules/<CODE>.py`, or a directory `<CODE>/` of files (a small
    /// project, for cross-file rules): positives marked `# expect: <CODE>`, negatives after `# OK`.
    #[test]
    fn every_rule_has_a_fixture() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
        for rule in all() {
            let file = dir.join(format!("{}.py", rule.code));
            let folder = dir.join(&rule.code);
            let texts: Vec<String> = if file.is_file() {
                vec![std::fs::read_to_string(&file).unwrap_or_default()]
            } else {
                assert!(folder.is_dir(), "missing fixture {} or {}/", file.display(), folder.display());
                // Nested folders too: migration fixtures keep revisions in `<env>/versions/`.
                let mut texts = Vec::new();
                let mut dirs = vec![folder];
                while let Some(dir) = dirs.pop() {
                    for path in std::fs::read_dir(&dir).into_iter().flatten().filter_map(|e| e.ok()).map(|e| e.path()) {
                        if path.is_dir() {
                            dirs.push(path);
                        } else if path.extension().is_some_and(|x| x == "py") {
                            texts.push(std::fs::read_to_string(&path).unwrap_or_default());
                        }
                    }
                }
                texts
            };
            let marker = format!("# expect: {}", rule.code);
            assert!(texts.iter().any(|t| t.contains(&marker)), "{} fixture has no positive", rule.code);
            assert!(texts.iter().any(|t| t.contains("# OK")), "{} fixture has no `# OK` negatives section", rule.code);
        }
    }
}
