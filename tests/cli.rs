//! Black-box tests of the `sqlalint` binary: exit codes, output formats,
//! configuration discovery, suppression comments, the file walker,
//! determinism and hostile input. Each test builds a throwaway project in a
//! temporary directory and runs the real binary in it.
use std::path::{Path, PathBuf};
use std::process::Command;

/// One line that SA102 (count-via-len) reports, at column 5.
const FINDING: &str = "n = len(session.query(User).all())\n";
const CLEAN: &str = "import os\n\nx = os.getcwd()\n";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The `(filename, line)` of each SA102 finding in `--output-format json` output
    /// (other rules, present or future, may fire on these snippets too: they are not counted).
    fn json_rows(&self) -> Vec<(String, u64)> {
        let findings: Vec<serde_json::Value> = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not a JSON array ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr));
        findings
            .iter()
            .filter(|f| f["code"] == "SA102")
            .map(|f| (f["filename"].as_str().unwrap().to_string(), f["location"]["row"].as_u64().unwrap()))
            .collect()
    }

    /// Files with findings, from json output, sorted.
    fn json_files(&self) -> Vec<String> {
        let mut files: Vec<String> = self.json_rows().into_iter().map(|(file, _)| file).collect();
        files.sort();
        files.dedup();
        files
    }

    /// Lines of the concise report that are findings (not the summary).
    fn concise_findings(&self) -> Vec<&str> {
        self.stdout.lines().filter(|l| l.contains(": SA")).collect()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

fn run_with(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sqlalint"));
    command.args(args).current_dir(cwd).env("NO_COLOR", "1").env_remove("SQLALINT_OUTPUT_FORMAT");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run sqlalint");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    // Whatever the input, the binary must never panic (or be killed by a signal).
    assert!(!run.stderr.contains("panicked"), "sqlalint {args:?} panicked:\n{run:?}");
    assert!(run.code.is_some(), "sqlalint {args:?} was killed by a signal:\n{run:?}");
    run
}

fn run(cwd: &Path, args: &[&str]) -> Run {
    run_with(cwd, args, &[])
}

/// A temporary project directory (not hidden, so the walker does not skip it).
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        Project { dir: tempfile::Builder::new().prefix("sqlalint-cli-").tempdir().expect("create temp dir") }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn mkdir(&self, relative: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.path(), args)
    }

    fn run_in(&self, subdir: &str, args: &[&str]) -> Run {
        run(&self.path().join(subdir), args)
    }
}

// ---------------------------------------------------------------- exit codes

#[test]
fn clean_project_exits_0() {
    let p = Project::new();
    p.write("app.py", CLEAN);
    let r = p.run(&["check", "--isolated"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("All checks passed! (1 file checked)"), "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
}

#[test]
fn findings_exit_1_and_exit_zero_exits_0() {
    let p = Project::new();
    p.write("app.py", FINDING);
    let r = p.run(&["check", "--isolated"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.contains("Found 1 finding in 1 file."), "{r:?}");

    let r = p.run(&["check", "--isolated", "--exit-zero", "--output-format", "concise"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.concise_findings().len(), 1, "--exit-zero still reports: {r:?}");
}

#[test]
fn unknown_selected_code_exits_2_naming_it() {
    let p = Project::new();
    p.write("app.py", FINDING);
    for args in [&["--select", "SA999"][..], &["--extend-select", "SA999"], &["--ignore", "SA999"]] {
        let r = p.run(&[&["check", "--isolated"][..], args].concat());
        assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
        assert!(r.stderr.contains("SA999") && r.stderr.contains(args[0]), "{args:?}: {r:?}");
        assert!(r.stdout.is_empty(), "nothing is linted on a usage error: {r:?}");
    }
}

#[test]
fn missing_path_exits_2_and_other_paths_are_still_reported() {
    let p = Project::new();
    p.write("app.py", FINDING);
    let r = p.run(&["check", "--isolated", "--output-format", "concise", "app.py", "does_not_exist.py"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("does_not_exist.py") && r.stderr.contains("no such file"), "{r:?}");
    assert_eq!(r.concise_findings().len(), 1, "{r:?}");
    assert!(r.concise_findings()[0].starts_with("app.py:1:5: SA102 "), "{r:?}");

    // --exit-zero hides findings, never errors.
    let r = p.run(&["check", "--isolated", "--exit-zero", "app.py", "does_not_exist.py"]);
    assert_eq!(r.code, Some(2), "{r:?}");
}

#[test]
fn bad_config_exits_2_naming_file_and_key() {
    let cases = [
        ("unknown key", "[tool.sqlalint]\nselekt = [\"SA1\"]\n", "selekt"),
        ("wrong type", "[tool.sqlalint]\nselect = \"SA1\"\n", "select"),
        ("unknown code", "[tool.sqlalint]\nignore = [\"SA999\"]\n", "ignore"),
        ("unknown code in per-file-ignores", "[tool.sqlalint.per-file-ignores]\n\"a.py\" = [\"XY1\"]\n", "XY1"),
        ("not TOML", "[tool.sqlalint\nselect = [\"SA1\"]\n", "tool.sqlalint"),
    ];
    for (what, config, key) in cases {
        let p = Project::new();
        p.write("app.py", FINDING);
        p.write("pyproject.toml", config);
        let r = p.run(&["check"]);
        assert_eq!(r.code, Some(2), "{what}: {r:?}");
        assert!(r.stderr.contains("pyproject.toml"), "{what}: file name missing: {r:?}");
        assert!(r.stderr.contains(key), "{what}: `{key}` missing: {r:?}");
        assert!(r.stdout.is_empty(), "{what}: {r:?}");
    }
    let p = Project::new();
    p.write("app.py", FINDING);
    p.write("sqlalint.toml", "ignore = [\"SA999\"]\n");
    let r = p.run(&["check"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("sqlalint.toml") && r.stderr.contains("SA999"), "{r:?}");
}

// ------------------------------------------------------------ output formats

#[test]
fn every_output_format_reports_the_finding() {
    let p = Project::new();
    p.write("app.py", format!("import x\n{FINDING}"));
    let check = |format: &str| {
        let r = p.run(&["check", "--isolated", "--output-format", format]);
        assert_eq!(r.code, Some(1), "{format}: {r:?}");
        r
    };

    let full = check("full");
    assert!(full.stdout.contains("SA102 count-via-len"), "{full:?}");
    assert!(full.stdout.contains("[app.py:2:5]"), "{full:?}");
    assert!(full.stdout.contains("2 │ n = len(session.query(User).all())"), "snippet: {full:?}");
    assert!(full.stdout.contains("Found 1 finding in 1 file."), "{full:?}");
    assert!(!full.stdout.contains('\u{1b}'), "no colour when stdout is not a terminal: {full:?}");

    let concise = check("concise");
    assert_eq!(concise.concise_findings().len(), 1, "{concise:?}");
    assert!(concise.concise_findings()[0].starts_with("app.py:2:5: SA102 `len(session.query(User).all())`"));

    let json = check("json");
    assert_eq!(json.json_rows(), vec![("app.py".to_string(), 2)]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value[0]["location"]["column"], 5);
    assert_eq!(value[0]["end_location"], serde_json::json!({"row": 2, "column": 35}));
    assert!(value[0]["url"].as_str().unwrap().ends_with("SA102.md"));

    let github = check("github");
    let line = github.stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with(
            "::warning title=sqlalint (SA102%3A count-via-len),file=app.py,line=2,col=5,endLine=2,endColumn=35::"
        ),
        "{github:?}"
    );
    assert_eq!(github.stdout.lines().count(), 1, "one annotation per finding: {github:?}");

    // The env variable works like the flag.
    let r = run_with(p.path(), &["check", "--isolated"], &[("SQLALINT_OUTPUT_FORMAT", "concise")]);
    assert_eq!(r.concise_findings().len(), 1, "{r:?}");
}

#[test]
fn sarif_output_reports_the_finding() {
    let p = Project::new();
    p.write("app.py", format!("import x\n{FINDING}"));
    let r = p.run(&["check", "--isolated", "--output-format", "sarif"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let sarif: serde_json::Value = serde_json::from_str(&r.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("runs[0].results");
    assert_eq!(results.len(), 1, "{r:?}");
    assert_eq!(results[0]["ruleId"], "SA102");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "app.py", "relative to the project root: {location}");
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(location["region"]["startColumn"], 5);
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let p = Project::new();
    p.write("app.py", FINDING);
    let r = p.run(&["check", "--isolated", "--output-format", "json", "--output-file", "report.json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    let written = std::fs::read_to_string(p.path().join("report.json")).expect("report written");
    let report = Run { code: None, stdout: written, stderr: String::new() };
    assert_eq!(report.json_rows(), vec![("app.py".to_string(), 1)]);

    let r = p.run(&["check", "--isolated", "-o", "report.txt"]);
    assert!(r.stdout.is_empty(), "{r:?}");
    let written = std::fs::read_to_string(p.path().join("report.txt")).unwrap();
    assert!(written.contains("SA102 count-via-len") && written.contains("Found 1 finding"), "{written}");

    let r = p.run(&["check", "--isolated", "-o", "missing_dir/report.txt"]);
    assert_eq!(r.code, Some(2), "an unwritable report is an error: {r:?}");
    assert!(r.stderr.contains("missing_dir/report.txt"), "{r:?}");
}

// ---------------------------------------------------------------- configuration

/// Does `check` report the finding in `app.py` (json output), run from `subdir`?
fn reports(p: &Project, subdir: &str, extra: &[&str]) -> bool {
    let r = p.run_in(subdir, &[&["check", "--output-format", "json"][..], extra].concat());
    assert!(r.code == Some(0) || r.code == Some(1), "{r:?}");
    !r.json_rows().is_empty()
}

#[test]
fn pyproject_in_a_parent_directory_is_found_from_a_subdirectory() {
    let p = Project::new();
    p.write("pkg/app.py", FINDING);
    p.write("pyproject.toml", "[project]\nname = \"x\"\n\n[tool.sqlalint]\nignore = [\"SA102\"]\n");
    assert!(!reports(&p, "pkg", &[]), "the parent's config applies");
    assert!(!reports(&p, "", &[]));
    assert!(reports(&p, "pkg", &["--isolated"]), "control: the rule fires without the config");
}

#[test]
fn closest_config_file_wins_without_merging() {
    let p = Project::new();
    p.write("pkg/app.py", FINDING);
    p.write("sqlalint.toml", "ignore = [\"SA102\"]\n");
    // The closer file selects SA1 and says nothing of ignore: the parent's ignore is not merged in.
    p.write("pkg/pyproject.toml", "[tool.sqlalint]\nselect = [\"SA1\"]\n");
    assert!(reports(&p, "pkg", &[]));
    assert!(!reports(&p, "", &[]));

    // A pyproject.toml without [tool.sqlalint] does not count.
    p.write("pkg/pyproject.toml", "[project]\nname = \"pkg\"\n");
    assert!(!reports(&p, "pkg", &[]));
}

#[test]
fn sqlalint_toml_precedes_pyproject_in_the_same_directory() {
    let p = Project::new();
    p.write("app.py", FINDING);
    p.write("pyproject.toml", "[tool.sqlalint]\nselect = [\"SA102\"]\n");
    assert!(reports(&p, "", &[]));
    p.write("sqlalint.toml", "ignore = [\"SA102\"]\n");
    assert!(!reports(&p, "", &[]), "sqlalint.toml wins over pyproject.toml");
    p.write(".sqlalint.toml", "select = [\"SA102\"]\n");
    assert!(reports(&p, "", &[]), ".sqlalint.toml wins over sqlalint.toml");
}

#[test]
fn config_flag_and_isolated() {
    let p = Project::new();
    p.write("app.py", FINDING);
    p.write("pyproject.toml", "[tool.sqlalint]\nselect = [\"SA102\"]\n");
    p.write("configs/strict.toml", "ignore = [\"SA1\"]\n");
    assert!(reports(&p, "", &[]));
    assert!(!reports(&p, "", &["--config", "configs/strict.toml"]), "--config replaces the discovered file");

    p.write("pyproject.toml", "[tool.sqlalint]\nignore = [\"SA102\"]\n");
    assert!(!reports(&p, "", &[]));
    assert!(reports(&p, "", &["--isolated"]), "--isolated ignores every config file");

    let r = p.run(&["check", "--config", "nowhere.toml"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("nowhere.toml"), "{r:?}");
    p.write("other/pyproject.toml", "[project]\nname = \"x\"\n");
    let r = p.run(&["check", "--config", "other/pyproject.toml"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("no [tool.sqlalint] section"), "{r:?}");
}

#[test]
fn select_ignore_and_extend_select_by_prefix() {
    // (configuration, is SA102 enabled?)
    let cases = [
        ("select = [\"SA1\"]", true),
        ("select = [\"SA10\"]", true),
        ("select = [\"sa102\"]", true),
        ("select = [\"ALL\"]", true),
        ("select = []", false),
        ("select = []\nextend-select = [\"SA1\"]", true),
        ("ignore = [\"SA1\"]", false),
        ("ignore = [\"SA\"]", false),
        ("select = [\"SA1\"]\nignore = [\"SA10\"]", false),
        ("select = [\"SA102\"]\nignore = [\"SA1\"]", true),
        ("select = [\"SA1\"]\nignore = [\"SA1\"]", false),
        ("ignore = [\"SA1\"]\nextend-select = [\"SA102\"]", true),
    ];
    for (config, enabled) in cases {
        let p = Project::new();
        p.write("app.py", FINDING);
        p.write("sqlalint.toml", format!("{config}\n"));
        assert_eq!(reports(&p, "", &[]), enabled, "config:\n{config}");
    }
}

#[test]
fn cli_selection_overrides_the_file() {
    let p = Project::new();
    p.write("app.py", FINDING);
    p.write("sqlalint.toml", "select = []\n");
    assert!(!reports(&p, "", &[]));
    assert!(reports(&p, "", &["--select", "SA102"]));
    assert!(reports(&p, "", &["--extend-select", "SA1"]));
    p.write("sqlalint.toml", "select = [\"SA1\"]\n");
    assert!(!reports(&p, "", &["--ignore", "SA102"]));
    assert!(!reports(&p, "", &["--select", "SA1", "--ignore", "SA10"]));
    // As in Ruff, the most specific selector wins, whichever list it is in.
    assert!(reports(&p, "", &["--select", "SA102", "--ignore", "SA10"]));
}

#[test]
fn per_file_ignores() {
    let p = Project::new();
    for file in ["app.py", "tests/test_app.py", "tests/unit/test_deep.py", "scripts/seed.py", "migrations/0001.py"] {
        p.write(file, FINDING);
    }
    p.write(
        "pyproject.toml",
        "[tool.sqlalint.per-file-ignores]\n\"tests/*\" = [\"SA1\"]\n\"./scripts/seed.py\" = [\"SA102\"]\n\"0001.py\" = [\"SA102\"]\n",
    );
    let r = p.run(&["check", "--output-format", "json"]);
    assert_eq!(r.json_files(), vec!["app.py"], "{r:?}");
}

#[test]
fn per_file_ignores_and_excludes_apply_when_run_from_a_subdirectory() {
    // Regression: `sub/../pkg/...` did not match root-relative globs.
    let p = Project::new();
    for file in ["pkg/app.py", "pkg/tests/test_app.py", "pkg/legacy/old.py"] {
        p.write(file, FINDING);
    }
    p.mkdir("sub");
    p.write(
        "pyproject.toml",
        "[tool.sqlalint]\nextend-exclude = [\"pkg/legacy\"]\n\n[tool.sqlalint.per-file-ignores]\n\"pkg/tests/*\" = [\"SA102\"]\n",
    );
    let from_root = p.run(&["check", "--output-format", "json"]);
    assert_eq!(from_root.json_files(), vec!["pkg/app.py"], "{from_root:?}");
    let from_sub = p.run_in("sub", &["check", "..", "--output-format", "json"]);
    assert_eq!(from_sub.json_files(), vec!["../pkg/app.py"], "{from_sub:?}");
    let explicit = p.run_in("sub", &["check", "../pkg/tests/test_app.py", "--output-format", "json"]);
    assert!(explicit.json_rows().is_empty(), "{explicit:?}");
}

#[test]
fn exclude_and_extend_exclude() {
    let files = ["app.py", "generated/models.py", "build/lib.py", "pkg/legacy/old.py", "pkg/new.py"];
    let lint = |config: &str| {
        let p = Project::new();
        for file in files {
            p.write(file, FINDING);
        }
        p.write("sqlalint.toml", config);
        p.run(&["check", "--output-format", "json"]).json_files()
    };
    // extend-exclude keeps the defaults (build/); patterns with a `/` are relative to the root.
    assert_eq!(lint("extend-exclude = [\"generated\", \"pkg/legacy\"]\n"), vec!["app.py", "pkg/new.py"]);
    // exclude replaces the defaults: build/ is linted again.
    assert_eq!(lint("exclude = [\"generated\"]\n"), vec!["app.py", "build/lib.py", "pkg/legacy/old.py", "pkg/new.py"]);
    assert_eq!(lint("extend-exclude = [\"*.py\"]\n"), Vec::<String>::new());

    let p = Project::new();
    for file in files {
        p.write(file, FINDING);
    }
    let r = p.run(&["check", "--isolated", "--extend-exclude", "generated,pkg", "--output-format", "json"]);
    assert_eq!(r.json_files(), vec!["app.py"], "{r:?}");
}

// ------------------------------------------------------------------- noqa

#[test]
fn noqa_comments() {
    let p = Project::new();
    let source = [
        "a = len(session.query(User).all())  # noqa",
        "b = len(session.query(User).all())  # noqa: SA102",
        "c = len(session.query(User).all())  # noqa: SA101",
        "d = len(session.query(User).all())  # NOQA:sa102,SA304",
        "e = len(session.query(User).all()); s = '# noqa'",
        "f = len(session.query(User).all())  # sqlalint: ignore[SA102]",
        "g = len(session.query(User).all())  # type: ignore  # noqa: SA102",
        "h = len(session.query(User).all())  # noqa123",
        "i = len(session.query(User).all())",
        "",
    ]
    .join("\n");
    p.write("app.py", source);
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    let rows: Vec<u64> = r.json_rows().into_iter().map(|(_, row)| row).collect();
    assert_eq!(rows, vec![3, 5, 8, 9], "{r:?}");
}

#[test]
fn file_level_noqa() {
    let lint = |source: &str| {
        let p = Project::new();
        p.write("app.py", source);
        let r = p.run(&["check", "--isolated", "--output-format", "json"]);
        r.json_rows().len()
    };
    assert_eq!(lint(&format!("{FINDING}{FINDING}")), 2, "control");
    assert_eq!(lint(&format!("# sqlalint: noqa\n{FINDING}{FINDING}")), 0);
    assert_eq!(lint(&format!("{FINDING}{FINDING}# sqlalint: noqa: SA102\n")), 0, "anywhere in the file");
    assert_eq!(lint(&format!("# sqlalint: noqa: SA101\n{FINDING}")), 1, "other codes only");
    assert_eq!(lint(&format!("\"\"\"\n# sqlalint: noqa\n\"\"\"\n{FINDING}")), 1, "a docstring is not a comment");
    assert_eq!(lint(&format!("s = '# sqlalint: noqa'\n{FINDING}")), 1, "a string is not a comment");
}

// ----------------------------------------------------------------- walker

#[test]
fn gitignored_files_are_skipped_unless_named() {
    let p = Project::new();
    p.write("app.py", FINDING);
    p.write("generated.py", FINDING);
    p.write("out/gen.py", FINDING);
    p.write(".gitignore", "generated.py\nout/\n");
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    assert_eq!(r.json_files(), vec!["app.py"], "{r:?}");
    let r = p.run(&["check", "--isolated", "--output-format", "json", "generated.py", "out/gen.py"]);
    assert_eq!(r.json_files(), vec!["generated.py", "out/gen.py"], "named files are linted: {r:?}");
    let r = p.run(&["check", "--isolated", "--output-format", "json", "--no-respect-gitignore"]);
    assert_eq!(r.json_files(), vec!["app.py", "generated.py", "out/gen.py"], "{r:?}");
}

#[test]
fn excluded_files_are_linted_when_named_unless_force_exclude() {
    let p = Project::new();
    p.write("app.py", FINDING);
    p.write("legacy.py", FINDING);
    p.write("build/out.py", FINDING);
    p.write("sqlalint.toml", "extend-exclude = [\"legacy.py\"]\n");
    let r = p.run(&["check", "--output-format", "json"]);
    assert_eq!(r.json_files(), vec!["app.py"], "{r:?}");
    let r = p.run(&["check", "--output-format", "json", "legacy.py", "build/out.py"]);
    assert_eq!(r.json_files(), vec!["build/out.py", "legacy.py"], "{r:?}");

    for named in [&["legacy.py", "build/out.py"][..], &["build"]] {
        let r = p.run(&[&["check", "--output-format", "json", "--force-exclude"][..], named].concat());
        assert_eq!(r.code, Some(0), "{named:?}: {r:?}");
        assert!(r.json_rows().is_empty(), "{named:?} is excluded with --force-exclude: {r:?}");
    }
    let r = p.run(&["check", "--output-format", "json", "--force-exclude", "app.py", "legacy.py"]);
    assert_eq!(r.json_files(), vec!["app.py"], "{r:?}");
}

#[test]
fn hidden_and_default_excluded_directories_are_skipped() {
    let p = Project::new();
    p.write("app.py", FINDING);
    for dir in [".hidden", ".venv", "venv", "build", "dist", "node_modules", ".tox", "lib/site-packages"] {
        p.write(&format!("{dir}/mod.py"), FINDING);
    }
    p.write(".hidden.py", FINDING);
    p.write("stubs/mod.pyi", FINDING);
    p.write("notes.txt", FINDING);
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    assert_eq!(r.json_files(), vec!["app.py", "stubs/mod.pyi"], "{r:?}");
    let r = p.run(&["check", "--isolated", "--output-format", "json", ".hidden/mod.py"]);
    assert_eq!(r.json_files(), vec![".hidden/mod.py"], "named hidden files are linted: {r:?}");
}

// ------------------------------------------------------------ determinism

#[test]
fn output_is_identical_for_any_thread_count() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args = ["check", "tests/fixtures/rules", "--isolated", "--select", "ALL", "--output-format", "json"];
    let p = Project::new();
    for i in 0..40 {
        p.write(&format!("pkg{}/mod_{i}.py", i % 5), format!("{CLEAN}{}", FINDING.repeat(i % 3 + 1)));
    }
    let project_args = ["check", "--isolated", "--output-format", "json"];
    for (cwd, args) in [(repo, &args[..]), (p.path(), &project_args[..])] {
        // No cache: every run lints (and none writes into the repository).
        let reference = run_with(cwd, args, &[("RAYON_NUM_THREADS", "1"), ("SQLALINT_NO_CACHE", "1")]);
        assert_eq!(reference.code, Some(1), "{reference:?}");
        assert!(reference.stdout.len() > 100, "{reference:?}");
        for threads in ["4", "1", "4", "3"] {
            let other = run_with(cwd, args, &[("RAYON_NUM_THREADS", threads), ("SQLALINT_NO_CACHE", "1")]);
            assert_eq!(other.stdout, reference.stdout, "output differs with RAYON_NUM_THREADS={threads}");
            assert_eq!(other.code, reference.code);
        }
    }
}

// -------------------------------------------------------------- bad input

#[test]
fn syntax_error_reports_the_parsable_part_with_a_warning() {
    let p = Project::new();
    p.write("broken.py", format!("{FINDING}def broken(:\n    pass\n{FINDING}"));
    let r = p.run(&["check", "--isolated", "--output-format", "json", "broken.py"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.json_rows(), vec![("broken.py".to_string(), 1), ("broken.py".to_string(), 4)]);
    assert!(r.stderr.contains("warning: broken.py: syntax error at 2:"), "{r:?}");

    p.write("only_broken.py", "def broken(:\n    pass\n");
    let r = p.run(&["check", "--isolated", "only_broken.py"]);
    assert_eq!(r.code, Some(0), "a syntax error alone is a warning, not a finding: {r:?}");
    assert!(r.stderr.contains("only_broken.py: syntax error"), "{r:?}");
}

#[test]
fn invalid_utf8_is_linted_with_a_warning() {
    let p = Project::new();
    p.write("latin1.py", [&b"s = '\xe9t\xe9'\n"[..], FINDING.as_bytes()].concat());
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.json_rows(), vec![("latin1.py".to_string(), 2)]);
    assert!(r.stderr.contains("latin1.py: file is not valid UTF-8"), "{r:?}");
}

#[test]
fn nul_bytes_are_linted_with_a_warning() {
    let p = Project::new();
    p.write("nul.py", [&b"x = 1\0\0\n"[..], FINDING.as_bytes()].concat());
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.json_rows(), vec![("nul.py".to_string(), 2)]);
    assert!(r.stderr.contains("nul.py: file contains NUL bytes"), "{r:?}");
}

#[test]
fn twenty_megabyte_file() {
    // Lines padded with a comment to keep the node count (and the debug binary's time) modest.
    let line = format!("{}  # {}\n", FINDING.trim_end(), "padding ".repeat(120));
    let count = 20 * 1024 * 1024 / line.len();
    let p = Project::new();
    p.write("huge.py", line.repeat(count));
    let r = p.run(&["check", "--isolated", "--statistics", "huge.py"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stdout, format!("{count}\tSA102\t[ ] count-via-len\n"), "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
}

#[test]
fn deeply_nested_expressions() {
    let depth = 10_000;
    let source = format!(
        "x = {}1{}\ny = {}{}\n{FINDING}z = len({}session.query(User).all(){})\n",
        "(".repeat(depth),
        ")".repeat(depth),
        "[".repeat(depth),
        "]".repeat(depth),
        "[".repeat(depth),
        "]".repeat(depth),
    );
    let p = Project::new();
    p.write("deep.py", source);
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.json_rows(), vec![("deep.py".to_string(), 3)]);
}

#[cfg(unix)]
#[test]
fn symlink_loop_and_dangling_symlink_in_a_directory_are_warnings() {
    use std::os::unix::fs::symlink;
    let p = Project::new();
    p.write("src/app.py", FINDING);
    symlink("b.py", p.path().join("src/a.py")).unwrap();
    symlink("a.py", p.path().join("src/b.py")).unwrap();
    symlink("missing.py", p.path().join("src/dangling.py")).unwrap();
    symlink("app.py", p.path().join("src/alias.py")).unwrap();
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    assert_eq!(r.code, Some(1), "warnings do not make the run fail: {r:?}");
    assert_eq!(r.json_files(), vec!["src/alias.py", "src/app.py"], "a link to a file is linted: {r:?}");
    for name in ["src/a.py", "src/b.py", "src/dangling.py"] {
        assert!(r.stderr.contains(&format!("warning: {name}: skipped")), "{name}: {r:?}");
    }

    // Named explicitly, they are errors.
    for name in ["src/a.py", "src/dangling.py"] {
        let r = p.run(&["check", "--isolated", name, "src/app.py"]);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(r.stderr.contains(&format!("error: {name}: ")), "{r:?}");
        assert!(r.stdout.contains("app.py:1:5"), "other files are still reported: {r:?}");
    }
}

/// Paths that cannot be linted even by root (the tests may run as root, so
/// `chmod 000` would not stop a read): a socket, which is neither a file nor
/// a directory, and, on Linux, `/proc/self/mem`, a regular file whose first
/// read fails with EIO (offset 0 is never mapped).
#[cfg(unix)]
#[test]
fn unreadable_paths_are_errors() {
    let p = Project::new();
    p.write("app.py", FINDING);
    let _socket = std::os::unix::net::UnixListener::bind(p.path().join("socket.py")).unwrap();
    let r = p.run(&["check", "--isolated", "socket.py", "app.py"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("socket.py: not a regular file or directory"), "{r:?}");
    assert!(r.stdout.contains("app.py:1:5"), "{r:?}");
    // In a directory walk it is silently not a Python file.
    let r = p.run(&["check", "--isolated"]);
    assert_eq!(r.code, Some(1), "{r:?}");

    if cfg!(target_os = "linux") {
        let r = p.run(&["check", "--isolated", "/proc/self/mem"]);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(r.stderr.contains("/proc/self/mem: cannot read file"), "{r:?}");
    }
}

#[test]
fn empty_file() {
    let p = Project::new();
    p.write("empty.py", "");
    p.write("__init__.py", "");
    let r = p.run(&["check", "--isolated"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("All checks passed! (2 files checked)"), "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
}

#[test]
fn bom_and_crlf() {
    let p = Project::new();
    let source = format!("\u{feff}import os\r\n{}\r\n", FINDING.trim_end());
    p.write("windows.py", source);
    let r = p.run(&["check", "--isolated", "--output-format", "json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
    let value: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(value[0]["location"], serde_json::json!({"row": 2, "column": 5}));
    assert_eq!(value[0]["end_location"], serde_json::json!({"row": 2, "column": 35}));

    let full = p.run(&["check", "--isolated"]);
    assert!(full.stdout.contains("[windows.py:2:5]"), "{full:?}");
    assert!(!full.stdout.contains('\r') && !full.stdout.contains('\u{feff}'), "{full:?}");
}

#[test]
fn a_finding_spanning_lines_is_one_concise_line() {
    let p = Project::new();
    p.write("app.py", "n = len(session.query(User).all(\n    ))\n");
    let r = p.run(&["check", "--isolated", "--output-format", "concise"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one finding line and the summary: {r:?}");
    assert!(lines[0].starts_with("app.py:1:5: SA102 "), "{r:?}");
}

// ----------------------------------------------------------- other flags

#[test]
fn statistics() {
    let p = Project::new();
    p.write("a.py", FINDING.repeat(2));
    p.write("b.py", FINDING);
    p.write("c.py", CLEAN);
    let r = p.run(&["check", "--isolated", "--statistics"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stdout, "3\tSA102\t[ ] count-via-len\n");
    let r = p.run(&["check", "--isolated", "--statistics", "c.py"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), ""), "{r:?}");
}

#[test]
fn quiet_prints_only_findings() {
    let p = Project::new();
    p.write("app.py", format!("{FINDING}def broken(:\n"));
    let r = p.run(&["check", "--isolated", "--quiet"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    assert!(r.stdout.starts_with("app.py:1:5: SA102 "), "{r:?}");
    assert!(r.stderr.is_empty(), "no warnings with --quiet: {r:?}");

    p.write("app.py", CLEAN);
    let r = p.run(&["check", "--isolated", "-q"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "", ""), "{r:?}");
}

#[test]
fn diff_without_fixes_changes_nothing() {
    let p = Project::new();
    let path = p.write("app.py", FINDING);
    let r = p.run(&["check", "--isolated", "--diff"]);
    assert_eq!(r.code, Some(1), "exit per findings: {r:?}");
    assert!(r.stdout.is_empty(), "no diff to print: {r:?}");
    assert!(r.stderr.contains("No fixes available."), "{r:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FINDING);

    p.write("app.py", CLEAN);
    let r = p.run(&["check", "--isolated", "--diff"]);
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn rule_docs() {
    let cwd = std::env::temp_dir();
    let r = run(&cwd, &["rule", "SA102"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with("# SA102 (count-via-len)"), "{r:?}");
    assert!(r.stdout.contains("## What it does") && r.stdout.contains("## Why is this bad?"), "{r:?}");
    let r = run(&cwd, &["rule", "sa102", "--output-format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["code"], "SA102");

    let r = run(&cwd, &["rule", "SA999"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("SA999"), "{r:?}");

    let r = run(&cwd, &["rules"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.lines().any(|l| l.starts_with("SA102") && l.contains("count-via-len")), "{r:?}");
}

#[test]
fn version_and_help() {
    let cwd = std::env::temp_dir();
    let r = run(&cwd, &["--version"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout.trim(), format!("sqlalint {}", env!("CARGO_PKG_VERSION")));

    let r = run(&cwd, &["--help"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    for word in ["Usage: sqlalint", "check", "rules", "Examples:"] {
        assert!(r.stdout.contains(word), "{word}: {r:?}");
    }
    let r = run(&cwd, &["check", "--help"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    for flag in ["--output-format", "--select", "--exit-zero", "--force-exclude", "--statistics"] {
        assert!(r.stdout.contains(flag), "{flag}: {r:?}");
    }

    let r = run(&cwd, &[]);
    assert_eq!(r.code, Some(2), "no subcommand is a usage error: {r:?}");
    let r = run(&cwd, &["check", "--output-format", "xml"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("xml"), "{r:?}");
}

#[test]
fn fix_applies_safe_fixes_and_diff_shows_them() {
    let p = Project::new();
    let before = "from app.models import User\n\n\ndef f(session, pk):\n    return session.query(User).get(pk)\n";
    let after = "from app.models import User\n\n\ndef f(session, pk):\n    return session.get(User, pk)\n";
    let path = p.write("app.py", before);

    // `--diff` prints the change, writes nothing and exits 1 (there are fixable findings).
    let r = p.run(&["check", "--isolated", "--diff"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.contains("-    return session.query(User).get(pk)"), "{r:?}");
    assert!(r.stdout.contains("+    return session.get(User, pk)"), "{r:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // `--fix` rewrites the file; nothing is left to report.
    let r = p.run(&["check", "--isolated", "--fix", "--output-format", "concise"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
    let r = p.run(&["check", "--isolated", "--output-format", "concise"]);
    assert_eq!(r.code, Some(0), "{r:?}");

    // An unsafe fix (Flask's `get_or_404` → `db.get_or_404` changes the error path) needs opting in.
    let flask = "def view(pk):\n    return User.query.get_or_404(pk)\n";
    let path = p.write("app.py", flask);
    let r = p.run(&["check", "--isolated", "--fix", "--output-format", "concise"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), flask);
}

// ------------------------------------------------------- migration dialect

#[test]
fn migration_dialect_setting_decides_the_postgresql_migration_rules() {
    let revision = "from alembic import op\n\nrevision = \"a1\"\ndown_revision = None\n\n\ndef upgrade():\n    \
                    op.create_index(\"ix_event_kind\", \"event\", [\"kind\"])\n\n\ndef downgrade():\n    pass\n";
    let p = Project::new();
    p.write(
        "alembic.ini",
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = driver://user:pass@localhost/db\n",
    );
    p.write("migrations/versions/a1_index.py", revision);
    // The environment does not name its database: the PostgreSQL-only rule stays silent.
    let r = p.run(&["check", "--isolated", "--select", "SA703", "--output-format", "concise"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let config = |dialect: &str| format!("[tool.sqlalint]\nselect = [\"SA703\"]\nmigration-dialect = \"{dialect}\"\n");
    p.write("pyproject.toml", config("postgresql"));
    let r = p.run(&["check", "--output-format", "concise"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.concise_findings().len(), 1, "{r:?}");
    p.write("pyproject.toml", config("sqlite"));
    assert_eq!(p.run(&["check"]).code, Some(0));
    p.write("pyproject.toml", config("dbase"));
    let r = p.run(&["check"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("migration-dialect") && r.stderr.contains("pyproject.toml"), "{r:?}");
}
