//! SARIF and GitHub-annotation output of the built binary: schema validity against
//! the vendored SARIF 2.1.0 schema (see tests/fixtures/SARIF-SCHEMA-PROVENANCE.md),
//! rule metadata, root-relative percent-encoded URIs and UTF-16 columns.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const FIXTURES: &str = "tests/fixtures/rules";
const SA102_CALL: &str = "len(session.query(User).all())";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sqlalint(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sqlalint"))
        .current_dir(cwd)
        .args(args)
        .env_remove("SQLALINT_OUTPUT_FORMAT")
        .env("NO_COLOR", "1")
        // Run from the repository: no cache there (tests/cache.rs covers it).
        .env("SQLALINT_NO_CACHE", "1")
        .output()
        .expect("run sqlalint")
}

/// Runs `check --output-format sarif` and parses stdout; asserts exit code 1 (findings).
fn sarif(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["check", "--output-format", "sarif"];
    all.extend_from_slice(args);
    let output = sqlalint(cwd, &all);
    let stdout = String::from_utf8(output.stdout).expect("SARIF is UTF-8");
    assert_eq!(output.status.code(), Some(1), "expected findings; stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.ends_with("}\n"), "pretty JSON plus a newline");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{stdout}"))
}

fn fixtures_sarif() -> Value {
    sarif(repo(), &["--isolated", "--select", "ALL", FIXTURES])
}

fn schema() -> Value {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/sarif-schema-2.1.0.json")).expect("vendored schema");
    serde_json::from_str(&text).expect("schema is JSON")
}

/// Schema errors as `path: message`, with `format` checks (uri, uri-reference) on or off.
fn schema_errors(instance: &Value, formats: bool) -> Vec<String> {
    let schema = schema();
    let validator = if formats {
        jsonschema::options().should_validate_formats(true).build(&schema)
    } else {
        jsonschema::validator_for(&schema)
    }
    .expect("the vendored schema compiles");
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn assert_valid(log: &Value) {
    for formats in [false, true] {
        let errors = schema_errors(log, formats);
        assert!(errors.is_empty(), "SARIF not schema-valid (formats: {formats}):\n{}", errors.join("\n"));
    }
}

fn run(log: &Value) -> &Value {
    let runs = log["runs"].as_array().expect("runs[]");
    assert_eq!(runs.len(), 1, "exactly one run");
    &runs[0]
}

fn results(log: &Value) -> &Vec<Value> {
    run(log)["results"].as_array().expect("results[]")
}

fn physical(result: &Value) -> &Value {
    &result["locations"][0]["physicalLocation"]
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no string at {pointer} in {value:#}"))
}

fn int_at(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or_else(|| panic!("no integer at {pointer} in {value:#}"))
}

/// `file:///abs/dir/` for a directory, the way the reporter writes `%SRCROOT%`.
fn dir_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for part in path.components().skip(1) {
        uri.push('/');
        for byte in part.as_os_str().to_string_lossy().bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                uri.push(byte as char);
            } else {
                uri.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    uri.push('/');
    uri
}

/// `(code, name)` of every rule compiled in, from the `queries/<CODE>-<name>.scm` files.
fn all_rules() -> Vec<(String, String)> {
    let mut rules: Vec<(String, String)> = std::fs::read_dir(repo().join("queries"))
        .expect("queries/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let stem = name.strip_suffix(".scm")?;
            let (code, kebab) = stem.split_once('-')?;
            Some((code.to_string(), kebab.to_string()))
        })
        .collect();
    rules.sort();
    rules
}

/// A throw-away project: `sqlalint.toml` (select ALL) at the root plus the given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("sqlalint.toml"), "select = [\"ALL\"]\n").expect("write config");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write file");
    }
    dir
}

const MODELS: &str = "from sqlalchemy.orm import Session\n\nfrom app.models import User\n\n\n\
def count(session: Session):\n    return len(session.query(User).all())\n";

#[test]
fn fixtures_sarif_is_schema_valid_and_complete() {
    let log = fixtures_sarif();
    assert_valid(&log);

    assert_eq!(log["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
    assert_eq!(log["version"], "2.1.0");
    let run = run(&log);
    assert_eq!(run["columnKind"], "utf16CodeUnits");
    assert_eq!(run["invocations"], serde_json::json!([{"executionSuccessful": true}]));
    assert_eq!(str_at(run, "/originalUriBaseIds/%SRCROOT%/uri"), dir_uri(repo()));

    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "sqlalint");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(driver["informationUri"], "https://github.com/sqlalint/sqlalint");

    // `--select ALL`: every rule, in registry (code) order, each fully described.
    let rules = driver["rules"].as_array().expect("rules[]");
    let emitted: Vec<(String, String)> =
        rules.iter().map(|r| (str_at(r, "/id").to_string(), str_at(r, "/name").to_string())).collect();
    assert_eq!(emitted, all_rules(), "rules[] = every enabled rule in order");
    for rule in rules {
        let id = str_at(rule, "/id");
        assert!(!str_at(rule, "/shortDescription/text").is_empty(), "{id}");
        let full = str_at(rule, "/fullDescription/text");
        assert!(!full.is_empty() && full.chars().count() <= 1024, "{id} fullDescription: {full}");
        assert!(!full.starts_with('#'), "{id} fullDescription starts with a heading");
        assert!(str_at(rule, "/help/markdown").contains("## What it does"), "{id} help.markdown");
        assert!(!str_at(rule, "/help/text").is_empty(), "{id} help.text");
        assert_eq!(
            str_at(rule, "/helpUri"),
            format!("https://github.com/sqlalint/sqlalint/blob/main/docs/rules/{id}.md")
        );
        let level = str_at(rule, "/defaultConfiguration/level");
        let problem = str_at(rule, "/properties/problem.severity");
        let expected = match level {
            "error" => "error",
            "warning" => "warning",
            "note" => "recommendation",
            other => panic!("{id}: level {other}"),
        };
        assert_eq!(problem, expected, "{id}");
        assert!(["very-high", "high", "medium", "low"].contains(&str_at(rule, "/properties/precision")), "{id}");
        let tags: Vec<&str> =
            rule["properties"]["tags"].as_array().expect("tags").iter().filter_map(Value::as_str).collect();
        assert!(!tags.is_empty() && tags.len() <= 20, "{id} tags {tags:?}");
        let security = rule.pointer("/properties/security-severity");
        if id.starts_with("SA5") {
            assert!(tags.contains(&"security"), "{id} lacks tag `security`");
            let score: f64 =
                security.and_then(Value::as_str).expect("security-severity string").parse().expect("number");
            assert!((0.1..=10.0).contains(&score), "{id} security-severity {score}");
        }
        if !tags.contains(&"security") {
            assert!(security.is_none(), "{id} has security-severity without tag `security`");
        }
    }

    // Results: rule references resolve, URIs are root-relative, regions are 1-based.
    let results = results(&log);
    assert!(!results.is_empty(), "the fixtures have findings");
    let mut codes = BTreeSet::new();
    for result in results {
        let id = str_at(result, "/ruleId");
        codes.insert(id.to_string());
        let index = int_at(result, "/ruleIndex") as usize;
        let rule = rules.get(index).unwrap_or_else(|| panic!("ruleIndex {index} out of range"));
        assert_eq!(rule["id"], id, "ruleIndex points at the same rule");
        assert_eq!(result["level"], rule["defaultConfiguration"]["level"], "{id}");
        assert!(str_at(result, "/message/text").contains(" Help: "), "{id} message carries the help");
        let location = physical(result);
        // Root-relative and `/`-separated: one of the fixture files, as `tests/fixtures/rules/SA102.py`.
        let uri = str_at(location, "/artifactLocation/uri");
        let name = uri.strip_prefix(&format!("{FIXTURES}/")).unwrap_or_else(|| panic!("{uri} is not root-relative"));
        assert!(repo().join(FIXTURES).join(name).is_file(), "{uri}");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let region = &location["region"];
        let (start, end) = (int_at(region, "/startLine"), int_at(region, "/endLine"));
        assert!(start >= 1 && end >= start, "{id} {region}");
        assert!(int_at(region, "/startColumn") >= 1 && int_at(region, "/endColumn") >= 1, "{id} {region}");
        if start == end {
            assert!(int_at(region, "/endColumn") > int_at(region, "/startColumn"), "{id} {region}");
        }
    }
    // The SA102 fixture's first finding, `    n = len(session.query(User).all())` on line 8.
    let first = results.iter().find(|r| r["ruleId"] == "SA102").expect("an SA102 result");
    assert_eq!(str_at(physical(first), "/artifactLocation/uri"), "tests/fixtures/rules/SA102.py");
    assert_eq!(
        physical(first)["region"],
        serde_json::json!({"startLine": 8, "startColumn": 9, "endLine": 8, "endColumn": 39})
    );
    assert!(codes.contains("SA102"));
}

#[test]
fn sarif_is_deterministic() {
    let args = ["check", "--isolated", "--select", "ALL", "--output-format", "sarif", FIXTURES];
    let first = sqlalint(repo(), &args).stdout;
    let second = sqlalint(repo(), &args).stdout;
    assert!(!first.is_empty());
    assert_eq!(first, second);
}

#[test]
fn broken_sarif_fails_validation() {
    // Negative control: the validator must reject what GitHub would reject.
    let mut log = fixtures_sarif();
    let result = &mut log["runs"][0]["results"][0];
    result["level"] = "fatal".into();
    result["locations"][0]["physicalLocation"]["region"]["startLine"] = 0.into();
    let errors = schema_errors(&log, false);
    assert!(errors.len() >= 2, "level `fatal` and startLine 0 must both fail: {errors:#?}");
    assert!(errors.iter().any(|e| e.contains("/level")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("/startLine")), "{errors:#?}");

    let mut log = fixtures_sarif();
    log["runs"][0]["columnKind"] = "bytes".into();
    assert!(!schema_errors(&log, false).is_empty(), "unknown columnKind must fail");

    let mut log = fixtures_sarif();
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "my dir/a b.py".into();
    assert!(!schema_errors(&log, true).is_empty(), "an unencoded space in a URI must fail the format check");
}

#[test]
fn uris_are_relative_to_the_project_root_from_a_subdirectory() {
    let dir = project(&[("pkg/sub/models.py", MODELS)]);
    // Run from `pkg/`: the config (and so the root) is one level up.
    let log = sarif(&dir.path().join("pkg"), &["sub/models.py"]);
    assert_valid(&log);
    let results = results(&log);
    assert_eq!(results.len(), 1, "{results:#?}");
    let location = physical(&results[0]);
    assert_eq!(str_at(location, "/artifactLocation/uri"), "pkg/sub/models.py");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    let base = str_at(run(&log), "/originalUriBaseIds/%SRCROOT%/uri");
    let roots = [dir_uri(dir.path()), dir_uri(&dir.path().canonicalize().expect("canonical"))];
    assert!(roots.contains(&base.to_string()), "{base} not in {roots:?}");

    // `..` in the walked path still yields a clean root-relative URI.
    let log = sarif(&dir.path().join("pkg/sub"), &["../sub/models.py"]);
    assert_valid(&log);
    assert_eq!(str_at(physical(&log["runs"][0]["results"][0]), "/artifactLocation/uri"), "pkg/sub/models.py");
}

#[test]
fn sarif_and_annotation_paths_are_relative_to_the_repository_root_in_a_monorepo() {
    // The config (and so the project root) is `backend/`; the repository root is above it,
    // and that is what code scanning and annotations resolve paths against.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    let backend = dir.path().join("backend");
    std::fs::create_dir_all(backend.join("pkg")).expect("mkdir");
    std::fs::write(backend.join("sqlalint.toml"), "select = [\"ALL\"]\n").expect("write config");
    std::fs::write(backend.join("pkg/models.py"), MODELS).expect("write");

    let log = sarif(&backend, &["pkg"]);
    assert_valid(&log);
    assert_eq!(str_at(physical(&results(&log)[0]), "/artifactLocation/uri"), "backend/pkg/models.py");
    let base = str_at(run(&log), "/originalUriBaseIds/%SRCROOT%/uri");
    let roots = [dir_uri(dir.path()), dir_uri(&dir.path().canonicalize().expect("canonical"))];
    assert!(roots.contains(&base.to_string()), "{base} not in {roots:?}");

    let output = sqlalint(&backend, &["check", "--output-format", "github", "pkg"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(",file=backend/pkg/models.py,line=7,"), "{stdout}");
}

#[test]
fn files_outside_the_root_get_absolute_uris() {
    let inside = project(&[]);
    let outside = project(&[("elsewhere/models.py", MODELS)]);
    let target: PathBuf = outside.path().join("elsewhere/models.py");
    let config = inside.path().join("sqlalint.toml");
    let log =
        sarif(inside.path(), &["--config", config.to_str().expect("UTF-8 path"), target.to_str().expect("UTF-8")]);
    assert_valid(&log);
    let artifact = &physical(&results(&log)[0])["artifactLocation"];
    let uri = str_at(artifact, "/uri");
    assert!(uri.starts_with("file:///") && uri.ends_with("/elsewhere/models.py"), "{uri}");
    assert!(artifact.get("uriBaseId").is_none(), "absolute URIs have no uriBaseId: {artifact}");
}

#[test]
fn space_and_non_ascii_paths_and_utf16_columns() {
    // The emoji is 1 character but 2 UTF-16 code units; `è` is 1 of each.
    let line = format!("    label = \"😀 modèle\"; n = {SA102_CALL}");
    let text = format!(
        "from sqlalchemy.orm import Session\n\nfrom app.models import User\n\n\n\
         def count(session: Session):\n{line}\n    return n, label\n"
    );
    let dir = project(&[("my dir/modèle.py", &text)]);
    let log = sarif(dir.path(), &["."]);
    assert_valid(&log);
    let results = results(&log);
    assert_eq!(results.len(), 1, "{results:#?}");
    let location = physical(&results[0]);
    assert_eq!(str_at(location, "/artifactLocation/uri"), "my%20dir/mod%C3%A8le.py");

    let start_byte = line.find(SA102_CALL).expect("call in line");
    let end_byte = start_byte + SA102_CALL.len();
    let utf16 = |byte: usize| line[..byte].encode_utf16().count() as u64 + 1;
    let chars = |byte: usize| line[..byte].chars().count() as u64 + 1;
    assert_eq!(utf16(start_byte), chars(start_byte) + 1, "the emoji makes the two differ");
    assert_eq!(
        location["region"],
        serde_json::json!({"startLine": 7, "startColumn": utf16(start_byte), "endLine": 7, "endColumn": utf16(end_byte)})
    );

    // The JSON reporter keeps character columns: the same finding, one column less.
    let output = sqlalint(dir.path(), &["check", "--output-format", "json", "."]);
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(json[0]["location"]["column"], chars(start_byte));
    assert_eq!(json[0]["end_location"]["column"], chars(end_byte));
}

/// One parsed `::level key=value,...::message` workflow command.
struct Annotation {
    level: String,
    props: std::collections::BTreeMap<String, String>,
    message: String,
}

fn parse_annotation(line: &str) -> Annotation {
    let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("not a workflow command: {line}"));
    let (level, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("no properties: {line}"));
    // Properties escape `:` and `,`, so the first `::` ends them.
    let (props, message) = rest.split_once("::").unwrap_or_else(|| panic!("no message: {line}"));
    let props = props
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("bad property `{kv}` in {line}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    Annotation { level: level.to_string(), props, message: message.to_string() }
}

#[test]
fn github_format_has_one_annotation_per_finding() {
    let output = sqlalint(repo(), &["check", "--isolated", "--select", "ALL", "--output-format", "github", FIXTURES]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let annotations: Vec<Annotation> = stdout.lines().map(parse_annotation).collect();

    // Same findings, in the same order, as the SARIF report of the same run.
    let log = fixtures_sarif();
    let results = results(&log);
    assert_eq!(annotations.len(), results.len(), "one line per finding:\n{stdout}");
    for (annotation, result) in annotations.iter().zip(results) {
        let code = str_at(result, "/ruleId");
        let expected_level = match str_at(result, "/level") {
            "error" => "error",
            "warning" => "warning",
            "note" => "notice",
            other => panic!("level {other}"),
        };
        assert_eq!(annotation.level, expected_level);
        let keys: Vec<&str> = annotation.props.keys().map(String::as_str).collect();
        assert_eq!(keys, ["col", "endColumn", "endLine", "file", "line", "title"]);
        assert_eq!(annotation.props["file"], str_at(physical(result), "/artifactLocation/uri"));
        assert!(annotation.props["title"].contains(code), "{}", annotation.props["title"]);
        assert!(!annotation.props["title"].contains([':', ',']), "title escapes `:` and `,`");
        // Fixture files are ASCII, so character and UTF-16 columns agree.
        let region = &physical(result)["region"];
        for (key, pointer) in
            [("line", "/startLine"), ("col", "/startColumn"), ("endLine", "/endLine"), ("endColumn", "/endColumn")]
        {
            assert_eq!(annotation.props[key].parse::<u64>().expect("number"), int_at(region, pointer), "{key}");
        }
        assert!(!annotation.message.is_empty() && !annotation.message.contains('\n'));
    }
}

#[test]
fn results_are_capped_at_githubs_limit_keeping_the_most_severe() {
    // 25,003 warnings (SA102) and, last in report order, 2 errors (SA501).
    let mut text = String::from("from sqlalchemy import text\n\n\ndef f(session, name):\n");
    for _ in 0..25_003 {
        text.push_str("    len(session.query(User).all())\n");
    }
    text.push_str("    session.execute(text(f\"SELECT * FROM t WHERE name = '{name}'\"))\n".repeat(2).as_str());
    let dir = project(&[("big.py", &text)]);
    let output = sqlalint(dir.path(), &["check", "--output-format", "sarif", "--select", "SA102,SA501"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("25005 findings exceed GitHub code scanning's limit of 25000"), "{stderr}");
    let log: Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    assert_valid(&log);
    let results = results(&log);
    assert_eq!(results.len(), 25_000);
    assert_eq!(results.iter().filter(|r| r["ruleId"] == "SA501").count(), 2, "errors are kept");
    let note = str_at(run(&log), "/invocations/0/toolExecutionNotifications/0/message/text");
    assert!(note.contains("the 25000 most severe are included"), "{note}");
}
