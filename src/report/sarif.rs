//! `sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
//!
//! One run; `tool.driver.rules` lists every enabled rule in registry order and each
//! result points into it with `ruleIndex`. Artifact URIs are relative to the repository
//! root (`uriBaseId: %SRCROOT%`, resolved by `run.originalUriBaseIds`), which is what
//! `upload-sarif` expects even when the configuration (and so the project root) sits in a
//! subfolder of a monorepo; files outside it get an absolute `file://` URI.
//! Columns are UTF-16 code units (`run.columnKind`). No timestamps: the output is
//! deterministic. See `/work/shared/CONVENTIONS.md` §2.5–2.7.
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf, Prefix};

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactChange, ArtifactContent, ArtifactLocation, Fix, Invocation, Location, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, Replacement, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use super::{Entry, ReportContext};
use crate::lint::CheckedFile;
use crate::registry::{self, Rule, RuleId, Severity};
use crate::source::SourceFile;

const SCHEMA_URL: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/sqlalint/sqlalint";
const SRCROOT: &str = "%SRCROOT%";
/// GitHub's limit for `shortDescription`/`fullDescription` text, in characters.
const MAX_DESCRIPTION: usize = 1024;
/// GitHub code scanning rejects a run with more results than this.
const MAX_RESULTS: usize = 25_000;

pub(crate) fn write(out: &mut dyn Write, entries: &[Entry<'_>], ctx: &ReportContext<'_>) -> io::Result<()> {
    let all = registry::all();
    // Every enabled rule, in registry order; a rule that fired without being in the
    // run-wide set (should not happen) is appended so `ruleIndex` always resolves.
    let mut rule_ids: Vec<RuleId> = ctx.enabled.ids().collect();
    let mut index: HashMap<RuleId, usize> = rule_ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for entry in entries {
        let id = entry.finding.rule;
        if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(id) {
            slot.insert(rule_ids.len());
            rule_ids.push(id);
        }
    }
    let rules: Vec<ReportingDescriptor> = rule_ids.iter().filter_map(|id| all.get(*id)).map(descriptor).collect();

    // Over GitHub's limit, keep the most severe findings (then report order) and say so,
    // rather than produce a file the upload rejects.
    let mut kept: Vec<usize> = (0..entries.len()).collect();
    if kept.len() > MAX_RESULTS {
        kept.sort_by_key(|&i| (severity_rank(entries[i].rule().severity), i));
        kept.truncate(MAX_RESULTS);
        kept.sort_unstable();
    }
    let mut notifications = Vec::new();
    if kept.len() < entries.len() {
        let text = format!(
            "{} findings exceed GitHub code scanning's limit of {MAX_RESULTS} results per run: \
             the {MAX_RESULTS} most severe are included; run another output format to see all",
            entries.len()
        );
        eprintln!("sqlalint: warning: {text}");
        notifications.push(
            Notification::builder().message(Message::builder().text(text).build()).level(json!("warning")).build(),
        );
    }

    let base = repository_root(ctx.root);
    let mut results = Vec::with_capacity(kept.len());
    let mut cached: Option<(*const CheckedFile, ArtifactLocation)> = None;
    for entry in kept.iter().map(|&i| &entries[i]) {
        let artifact = match &cached {
            Some((file, artifact)) if std::ptr::eq(*file, entry.file) => artifact.clone(),
            _ => {
                let artifact = artifact_location(&entry.file.path, &base, ctx);
                cached = Some((entry.file, artifact.clone()));
                artifact
            }
        };
        results.push(result(entry, index.get(&entry.finding.rule).copied(), artifact));
    }

    let driver = ToolComponent::builder()
        .name("sqlalint")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(rules)
        .build();
    let base_ids =
        BTreeMap::from([(SRCROOT.to_string(), ArtifactLocation::builder().uri(file_uri(&base, true)).build())]);
    let succeeded = ctx.files_failed == 0;
    let invocation = if notifications.is_empty() {
        Invocation::builder().execution_successful(succeeded).build()
    } else {
        Invocation::builder().execution_successful(succeeded).tool_execution_notifications(notifications).build()
    };
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .original_uri_base_ids(base_ids)
        .column_kind("utf16CodeUnits")
        .results(results)
        .build();
    let log = Sarif::builder().schema(SCHEMA_URL).version("2.1.0").runs(vec![run]).build();
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Most severe first.
fn severity_rank(severity: Severity) -> u8 {
    match severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    }
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let (level, problem_severity) = match rule.severity {
        Severity::Error => ("error", "error"),
        Severity::Warning => ("warning", "warning"),
        Severity::Info => ("note", "recommendation"),
    };
    let mut extra: BTreeMap<String, Value> = BTreeMap::new();
    extra.insert("precision".into(), json!(rule.precision));
    extra.insert("problem.severity".into(), json!(problem_severity));
    // GitHub reads `security-severity` only on rules tagged `security`.
    if rule.tags.iter().any(|tag| tag == "security") {
        if let Some(score) = &rule.security_severity {
            extra.insert("security-severity".into(), json!(score));
        }
    }
    let docs = if rule.docs.is_empty() { &rule.summary } else { &rule.docs };
    ReportingDescriptor::builder()
        .id(rule.code.clone())
        .name(rule.name.clone())
        .short_description(MultiformatMessageString::builder().text(truncate(&rule.summary, MAX_DESCRIPTION)).build())
        .full_description(MultiformatMessageString::builder().text(full_description(rule)).build())
        .help(MultiformatMessageString::builder().text(docs.clone()).markdown(docs.clone()).build())
        .help_uri(rule.url())
        .default_configuration(ReportingConfiguration::builder().level(level).build())
        .properties(PropertyBag::builder().tags(rule.tags.clone()).additional_properties(extra).build())
        .build()
}

fn result(entry: &Entry<'_>, rule_index: Option<usize>, artifact: ArtifactLocation) -> SarifResult {
    let f = entry.finding;
    let rule = entry.rule();
    let level = match rule.severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
        Severity::Info => ResultLevel::Note,
    };
    // The message is the alert's title; the help says what to change.
    let mut text = f.message.clone();
    if let Some(help) = f.help.as_deref().filter(|h| !h.is_empty()) {
        if !text.ends_with(['.', '!', '?']) {
            text.push('.');
        }
        text.push_str(" Help: ");
        text.push_str(help);
    }
    let region = Region::builder()
        .start_line(one_based(f.start.row))
        .start_column(one_based(f.start_utf16))
        .end_line(one_based(f.end.row))
        .end_column(one_based(f.end_utf16))
        .build();
    let fixes = entry.file.source.as_deref().and_then(|source| fix(entry, source, &artifact)).map(|fix| vec![fix]);
    let location = Location::builder()
        .physical_location(PhysicalLocation::builder().artifact_location(artifact).region(region).build())
        .build();
    let mut result = SarifResult::builder()
        .rule_id(rule.code.clone())
        .level(level)
        .message(Message::builder().text(text).build())
        .locations(vec![location])
        .build();
    result.rule_index = rule_index.map(int);
    result.fixes = fixes;
    result
}

/// The finding's automatic fix as a SARIF `fix` (proposed, not applied).
fn fix(entry: &Entry<'_>, source: &SourceFile, artifact: &ArtifactLocation) -> Option<Fix> {
    let fix = entry.finding.fix.as_ref()?;
    if fix.edits.is_empty() {
        return None;
    }
    let replacements: Vec<Replacement> = fix
        .edits
        .iter()
        .map(|edit| {
            let start = source.position(edit.range.start);
            let end = source.position(edit.range.end);
            let region = Region::builder()
                .start_line(one_based(start.row))
                .start_column(one_based(source.utf16_column(edit.range.start)))
                .end_line(one_based(end.row))
                .end_column(one_based(source.utf16_column(edit.range.end)))
                .build();
            let mut replacement = Replacement::builder().deleted_region(region).build();
            if !edit.content.is_empty() {
                replacement.inserted_content = Some(ArtifactContent::builder().text(edit.content.clone()).build());
            }
            replacement
        })
        .collect();
    let applicability = BTreeMap::from([("applicability".to_string(), json!(fix.applicability))]);
    Some(
        Fix::builder()
            .description(Message::builder().text(fix.title.clone()).build())
            .artifact_changes(vec![ArtifactChange::builder()
                .artifact_location(artifact.clone())
                .replacements(replacements)
                .build()])
            .properties(PropertyBag::builder().additional_properties(applicability).build())
            .build(),
    )
}

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A 1-based line or column (SARIF's minimum is 1).
fn one_based(n: usize) -> i64 {
    int(n).max(1)
}

/// Plain-text `fullDescription`: the prose paragraphs of the first docs section
/// (“What it does”), unwrapped, as many as fit in 1024 characters.
fn full_description(rule: &Rule) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut seen_text = false;
    for line in rule.docs.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            if seen_text {
                break;
            }
            continue; // the section's own heading
        }
        if line.starts_with("```") {
            break; // code blocks do not read well as plain text
        }
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        seen_text = true;
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    let mut text = String::new();
    for paragraph in paragraphs {
        let separator = if text.is_empty() { "" } else { "\n\n" };
        if text.chars().count() + separator.len() + paragraph.chars().count() > MAX_DESCRIPTION {
            if text.is_empty() {
                text = truncate(&paragraph, MAX_DESCRIPTION);
            }
            break;
        }
        text.push_str(separator);
        text.push_str(&paragraph);
    }
    if text.is_empty() {
        truncate(&rule.summary, MAX_DESCRIPTION)
    } else {
        text
    }
}

/// At most `max` characters, cut at a word boundary with an ellipsis when shortened.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max - 1).collect();
    let cut = match head.rfind(char::is_whitespace) {
        Some(at) if at > 0 => &head[..at],
        _ => head.as_str(),
    };
    format!("{}…", cut.trim_end_matches([' ', ',', ';', ':', '(', '-']))
}

/// The repository root: the nearest directory at or above the project root holding `.git`
/// (GitHub resolves SARIF and annotation paths against it), else the project root.
pub(super) fn repository_root(project_root: &Path) -> PathBuf {
    let root = normalize(&crate::walk::absolute(project_root));
    root.ancestors().find(|dir| dir.join(".git").exists()).map(Path::to_path_buf).unwrap_or(root)
}

/// `/`-separated path of a checked file relative to `base` (from [`repository_root`]);
/// `None` when the file is outside it.
pub(super) fn base_relative(path: &Path, base: &Path, ctx: &ReportContext<'_>) -> Option<String> {
    let clean = |rel: &str| !rel.is_empty() && rel.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
    let same_root = base == normalize(&crate::walk::absolute(ctx.root));
    let from_settings = if same_root { (ctx.root_relative)(path) } else { None };
    match from_settings {
        Some(rel) if clean(&rel) => Some(rel),
        // `..` in the walked path or the root (e.g. `--config ../sqlalint.toml`), or a repository
        // root above the project root: resolve lexically.
        _ => {
            let absolute = normalize(&crate::walk::absolute(path));
            let rel = absolute.strip_prefix(base).ok()?;
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>();
            let rel = rel.join("/");
            clean(&rel).then_some(rel)
        }
    }
}

/// `artifactLocation` of a checked file: repository-relative with `%SRCROOT%`, or an
/// absolute `file://` URI when the file is outside the repository (or project) root.
fn artifact_location(path: &Path, base: &Path, ctx: &ReportContext<'_>) -> ArtifactLocation {
    match base_relative(path, base, ctx) {
        Some(relative) => {
            let uri = relative.split('/').map(encode_segment).collect::<Vec<_>>().join("/");
            ArtifactLocation::builder().uri(uri).uri_base_id(SRCROOT).build()
        }
        None => {
            let absolute = normalize(&crate::walk::absolute(path));
            ArtifactLocation::builder().uri(file_uri(&absolute, false)).build()
        }
    }
}

/// Removes `.` and resolves `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `file:///abs/path` (`file:///C:/abs/path` on Windows), percent-encoded; with a
/// trailing slash for a directory.
fn file_uri(path: &Path, directory: bool) -> String {
    let mut authority = String::new();
    let mut segments: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Prefix(prefix) => match prefix.kind() {
                Prefix::Disk(letter) | Prefix::VerbatimDisk(letter) => segments.push(format!("{}:", letter as char)),
                Prefix::UNC(server, share) | Prefix::VerbatimUNC(server, share) => {
                    authority = encode_segment(&server.to_string_lossy());
                    segments.push(encode_segment(&share.to_string_lossy()));
                }
                _ => segments.push(encode_segment(&prefix.as_os_str().to_string_lossy())),
            },
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => segments.push("..".into()),
            Component::Normal(name) => segments.push(encode_segment(&name.to_string_lossy())),
        }
    }
    let mut uri = format!("file://{authority}/{}", segments.join("/"));
    if directory && !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Percent-encodes everything but RFC 3986 unreserved characters (UTF-8 bytes for
/// non-ASCII), so spaces, `%`, `#`, `?`, `:` and accents are safe in any URI position.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_uri_segments() {
        assert_eq!(encode_segment("modèle file#1?.py"), "mod%C3%A8le%20file%231%3F.py");
        assert_eq!(encode_segment("a:b%c~d-e_f.py"), "a%3Ab%25c~d-e_f.py");
    }

    #[test]
    fn file_uris() {
        assert_eq!(file_uri(Path::new("/work/my dir"), true), "file:///work/my%20dir/");
        assert_eq!(file_uri(Path::new("/work/a.py"), false), "file:///work/a.py");
        assert_eq!(file_uri(Path::new("/"), true), "file:///");
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d.py")), PathBuf::from("/a/c/d.py"));
        assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn truncates_at_word_boundary() {
        assert_eq!(truncate("short", 10), "short");
        let long = "word ".repeat(300);
        let cut = truncate(&long, MAX_DESCRIPTION);
        assert!(cut.chars().count() <= MAX_DESCRIPTION);
        assert!(cut.ends_with("word…"), "{cut}");
    }

    /// A finding with a fix (no current rule has one) through the whole reporter:
    /// schema-valid, with UTF-16 replacement regions and the same artifact as the result.
    #[test]
    fn fixes_are_schema_valid() {
        use std::sync::Arc;

        use crate::diagnostic::{Applicability, Edit, Fix as LintFix};
        use crate::lint::Finding;
        use crate::selection::{RuleSet, Selector};

        let text = "x = \"😀\"; y = len(q.all())\n".to_string();
        let start = text.find("len").unwrap_or_default();
        let end = text.find('\n').unwrap_or_default();
        let root = crate::walk::absolute(Path::new("."));
        let source = SourceFile::new(text.clone());
        let finding = Finding {
            rule: 0,
            range: start..end,
            start: source.position(start),
            end: source.position(end),
            start_utf16: source.utf16_column(start),
            end_utf16: source.utf16_column(end),
            message: "counted in Python".into(),
            help: Some("count in the database".into()),
            fix: Some(LintFix {
                applicability: Applicability::Unsafe,
                title: "Use `.count()`".into(),
                edits: vec![
                    Edit { range: start..start + 4, content: String::new() },
                    Edit { range: end - 7..end, content: ".count()".into() },
                    Edit { range: 0..0, content: "# fixed\n".into() },
                ],
            }),
        };
        let mut file = CheckedFile::empty(&root.join("pkg/a b.py"));
        file.source = Some(Arc::new(source));
        file.findings = vec![finding];
        let enabled = RuleSet::resolve(Some(&[Selector::All]), &[], &[]);
        let root_relative = |path: &Path| path.strip_prefix(&root).ok().map(|p| p.to_string_lossy().replace('\\', "/"));
        let ctx = ReportContext {
            root: &root,
            enabled: &enabled,
            root_relative: &root_relative,
            color: false,
            unsafe_fixes: false,
            files_checked: 1,
            files_failed: 0,
        };
        let files = [file];
        let mut out = Vec::new();
        write(&mut out, &super::super::entries(&files), &ctx).expect("write");
        let log: Value = serde_json::from_slice(&out).expect("JSON");

        let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-schema-2.1.0.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema")).expect("JSON");
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("schema compiles");
        let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");

        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["message"]["text"], "counted in Python. Help: count in the database");
        assert_eq!(result["ruleIndex"], 0);
        let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(artifact["uri"], "pkg/a%20b.py");
        let fix = &result["fixes"][0];
        assert_eq!(fix["description"]["text"], "Use `.count()`");
        assert_eq!(fix["properties"]["applicability"], "unsafe");
        assert_eq!(&fix["artifactChanges"][0]["artifactLocation"], artifact);
        let replacements = &fix["artifactChanges"][0]["replacements"];
        // `x = "😀"; y = ` is 13 characters, 14 UTF-16 code units.
        assert_eq!(
            replacements[0],
            json!({"deletedRegion": {"startLine": 1, "startColumn": 15, "endLine": 1, "endColumn": 19}})
        );
        assert_eq!(replacements[1]["insertedContent"]["text"], ".count()");
        assert_eq!(
            replacements[2]["deletedRegion"],
            json!({"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1})
        );
    }

    #[test]
    fn full_descriptions_fit() {
        for rule in registry::all() {
            let text = full_description(rule);
            assert!(!text.is_empty() && text.chars().count() <= MAX_DESCRIPTION, "{}", rule.code);
            assert!(!text.starts_with('#'), "{}", rule.code);
        }
    }
}
