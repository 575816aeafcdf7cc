//! The rule fixture harness. Every `tests/fixtures/rules/<CODE>.py` is linted
//! with only its rule selected, and the findings must be exactly the lines
//! annotated `# expect: <CODE>` (a finding is annotated on the line where it
//! starts; `# expect: SA401, SA402` names several rules). Lines after the
//! `# OK` marker are negatives: no finding may land there. Then the `full`
//! rendering of each fixture, and the `concise` rendering of all of them,
//! are compared with the snapshots in `tests/snapshots/`
//! (`INSTA_UPDATE=always cargo test --test fixtures` rewrites them; review
//! them with `cargo insta review` or `git diff`).
//!
//! Fixtures are discovered at run time, so a new rule is covered by adding
//! its fixture; no change here.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `sqlalint <args>` from the repository root, uncoloured and with no
/// environment that changes the output.
fn sqlalint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sqlalint"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("SQLALINT_OUTPUT_FORMAT")
        // Run from the repository: no cache there (tests/cache.rs covers it).
        .env("SQLALINT_NO_CACHE", "1")
        .output()
        .expect("run sqlalint")
}

/// One rule's fixture: `tests/fixtures/rules/<CODE>.py`, or a directory
/// `tests/fixtures/rules/<CODE>/` (a small project, for rules that look across
/// modules) whose every `*.py` file is annotated the same way.
struct Fixture {
    code: String,
    /// The path given to `sqlalint check`, relative to the repo root.
    path: String,
    /// Every Python file of the fixture, relative to the repo root, sorted.
    files: Vec<String>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = repo_root().join("tests/fixtures/rules");
    let mut found: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("read fixture dir entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            let relative = format!("tests/fixtures/rules/{name}");
            if path.is_dir() {
                let mut files = Vec::new();
                python_files(&path, &relative, &mut files);
                files.sort();
                Some(Fixture { code: name, path: relative, files })
            } else {
                let code = name.strip_suffix(".py")?.to_string();
                Some(Fixture { code, path: relative.clone(), files: vec![relative] })
            }
        })
        .collect();
    found.sort_by(|a, b| a.code.cmp(&b.code));
    assert!(!found.is_empty(), "no fixtures in {}", dir.display());
    found
}

fn python_files(dir: &Path, relative: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read fixture dir") {
        let path = entry.expect("read fixture dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            python_files(&path, &format!("{relative}/{name}"), out);
        } else if name.ends_with(".py") {
            out.push(format!("{relative}/{name}"));
        }
    }
}

/// What a fixture file's comments promise.
struct Annotations {
    /// `(line, code)` → how many findings, 1-based lines; `# expect: SA403, SA403` is two.
    expected: BTreeMap<(usize, String), usize>,
    /// 1-based line of the `# OK` marker.
    ok_line: Option<usize>,
}

fn annotations(source: &str) -> Annotations {
    let mut expected = BTreeMap::new();
    let mut ok_line = None;
    for (index, line) in source.lines().enumerate() {
        if let Some((_, codes)) = line.split_once("# expect:") {
            // Codes until the first word that is not a code (a trailing remark is allowed).
            for code in codes.split([',', ' ']).map(str::trim).filter(|c| !c.is_empty()) {
                if !(code.starts_with("SA") && code.len() > 2 && code[2..].chars().all(|c| c.is_ascii_digit())) {
                    break;
                }
                *expected.entry((index + 1, code.to_string())).or_insert(0) += 1;
            }
        }
        if ok_line.is_none() && line.trim() == "# OK" {
            ok_line = Some(index + 1);
        }
    }
    Annotations { expected, ok_line }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

type Counts = BTreeMap<(String, usize, String), usize>;

/// Checks one fixture's findings against its annotations; returns the problems found.
fn check_fixture(fixture: &Fixture) -> Vec<String> {
    let code = fixture.code.as_str();
    let mut problems = Vec::new();
    let mut sources = BTreeMap::new();
    // (file, line, code) → count; only this fixture's rule runs, so other codes
    // named by `# expect:` document other rules firing there too and are not compared.
    let mut expected = Counts::new();
    let mut ok_lines = BTreeMap::new();
    for file in &fixture.files {
        let source = std::fs::read_to_string(repo_root().join(file)).expect("read fixture");
        let annotations = annotations(&source);
        for ((line, c), count) in annotations.expected {
            if c == code {
                expected.insert((file.clone(), line, c), count);
            }
        }
        if let Some(ok) = annotations.ok_line {
            ok_lines.insert(file.clone(), ok);
        }
        sources.insert(file.clone(), source);
    }
    let show = |(file, line, c): &(String, usize, String), count: usize| {
        let text = sources.get(file).and_then(|s| s.lines().nth(line - 1)).unwrap_or("").trim();
        let times = if count > 1 { format!(" ×{count}") } else { String::new() };
        format!("  {c}{times} {file}:{line}: {text}")
    };
    if expected.is_empty() {
        problems.push(format!("no `# expect: {code}` annotation: the fixture tests nothing"));
    }
    if ok_lines.is_empty() {
        problems.push("no `# OK` line starting the negative cases".into());
    }

    let output = sqlalint(&["check", &fixture.path, "--isolated", "--select", code, "--output-format", "json"]);
    let err = stderr(&output);
    if !err.is_empty() {
        problems.push(format!("stderr is not empty (fixtures must be clean Python):\n{err}"));
    }
    let findings: Vec<serde_json::Value> = match serde_json::from_str(&stdout(&output)) {
        Ok(serde_json::Value::Array(items)) => items,
        other => {
            problems.push(format!("stdout is not a JSON array: {other:?}\n{}", stdout(&output)));
            return problems;
        }
    };
    let mut actual = Counts::new();
    for finding in &findings {
        let file = finding["filename"].as_str().expect("filename").to_string();
        let line = finding["location"]["row"].as_u64().expect("location.row") as usize;
        let found = finding["code"].as_str().expect("code").to_string();
        *actual.entry((file, line, found)).or_insert(0) += 1;
    }

    let (mut missing, mut unexpected) = (Vec::new(), Vec::new());
    let keys: std::collections::BTreeSet<_> = expected.keys().chain(actual.keys()).collect();
    for key in keys {
        let want = expected.get(key).copied().unwrap_or(0);
        let got = actual.get(key).copied().unwrap_or(0);
        // Same line, different count: say so, or the annotated line looks fine.
        let note = if want > 0 && got > 0 { format!("    (annotated {want}, reported {got})") } else { String::new() };
        if want > got {
            missing.push(format!("{}{note}", show(key, want - got)));
        } else if got > want {
            unexpected.push(format!("{}{note}", show(key, got - want)));
        }
    }
    if !missing.is_empty() {
        problems.push(format!("missing findings (annotated, not reported):\n{}", missing.join("\n")));
    }
    if !unexpected.is_empty() {
        problems.push(format!("unexpected findings (reported, not annotated):\n{}", unexpected.join("\n")));
    }
    for (what, counts) in [("findings", &actual), ("`# expect:` annotations", &expected)] {
        let after: Vec<String> = counts
            .iter()
            .filter(|((file, line, _), _)| ok_lines.get(file).is_some_and(|ok| line > ok))
            .map(|(key, n)| show(key, *n))
            .collect();
        if !after.is_empty() {
            problems.push(format!("{what} after the `# OK` line:\n{}", after.join("\n")));
        }
    }

    let status = output.status.code();
    let want = if actual.is_empty() { Some(0) } else { Some(1) };
    if status != want {
        problems.push(format!("exit status {status:?}, expected {want:?}"));
    }
    problems
}

#[test]
fn findings_match_expect_annotations() {
    let mut report = String::new();
    for fixture in fixtures() {
        let problems = check_fixture(&fixture);
        if !problems.is_empty() {
            writeln!(report, "\n=== {} (--select {})", fixture.path, fixture.code).unwrap();
            for problem in problems {
                writeln!(report, "{problem}").unwrap();
            }
        }
    }
    assert!(report.is_empty(), "fixture mismatches:{report}");
}

#[test]
fn annotation_parser() {
    let a = annotations(
        "x  # expect: SA401, SA402\ny  # expect: SA102 via the alias\nz  # expect: SA403, SA403\n# OK\n# OK\n",
    );
    let expected: Vec<((usize, String), usize)> =
        vec![((1, "SA401".into()), 1), ((1, "SA402".into()), 1), ((2, "SA102".into()), 1), ((3, "SA403".into()), 2)];
    assert_eq!(a.expected.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(a.ok_line, Some(4));
    assert_eq!(annotations("x = 1  # OK-ish\n").ok_line, None);
}

/// Runs `snapshot` for every fixture and reports every mismatch, not only the first.
fn for_each_fixture(snapshot: impl Fn(&str, &str)) {
    let mut failed = Vec::new();
    for Fixture { code, path, .. } in fixtures() {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| snapshot(&code, &path))).is_err() {
            failed.push(code);
        }
    }
    assert!(failed.is_empty(), "snapshot mismatches for: {failed:?}");
}

#[test]
fn full_output_snapshots() {
    for_each_fixture(|code, path| {
        let output = sqlalint(&["check", path, "--isolated", "--select", code, "--output-format", "full"]);
        assert!(output.stderr.is_empty(), "{code}: {}", stderr(&output));
        let text = stdout(&output);
        assert!(!text.contains('\u{1b}'), "{code}: colour escapes in non-TTY output");
        insta::with_settings!({
            description => format!("sqlalint check {path} --isolated --select {code} --output-format full"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("full__{code}"), text);
        });
    });
}

#[test]
fn concise_output_snapshot_of_all_fixtures() {
    let args = ["check", "tests/fixtures/rules", "--isolated", "--select", "ALL", "--output-format", "concise"];
    let output = sqlalint(&args);
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
    assert_eq!(output.status.code(), Some(1), "the fixtures have findings");
    insta::with_settings!({
        description => format!("sqlalint {}", args.join(" ")),
        omit_expression => true,
    }, {
        insta::assert_snapshot!("concise__all", stdout(&output));
    });
}

/// `--fix` on a copy of every single-file fixture: the fixed text is snapshotted
/// (`fix__<CODE>`, only for fixtures that have fixes), and a second `--fix` run
/// changes nothing (fixes are idempotent). Unsafe fixes are included, so every
/// fix a rule offers is covered.
#[test]
fn fix_output_snapshots_and_idempotence() {
    let mut failed = Vec::new();
    for Fixture { code, path, files } in fixtures() {
        if files.len() != 1 || !path.ends_with(".py") {
            continue;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join(format!("{code}.py"));
        let original = std::fs::read_to_string(repo_root().join(&path)).expect("read fixture");
        std::fs::write(&target, &original).expect("copy fixture");
        let target_arg = target.to_string_lossy().into_owned();
        let fix = ["check", target_arg.as_str(), "--isolated", "--select", code.as_str(), "--fix", "--unsafe-fixes"];
        let first = sqlalint(&fix);
        let fixed = std::fs::read_to_string(&target).expect("read fixed copy");
        if fixed == original {
            continue;
        }
        let second = sqlalint(&fix);
        let again = std::fs::read_to_string(&target).expect("read fixed copy");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert!(!stderr(&first).contains("syntax error"), "{code}: {}", stderr(&first));
            assert_eq!(again, fixed, "{code}: a second `--fix` changed the file again:\n{}", stderr(&second));
            assert!(engine_parses(&fixed), "{code}: the fixed file does not parse");
            insta::with_settings!({
                description => format!("sqlalint check {path} --isolated --select {code} --fix --unsafe-fixes (fixed file)"),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("fix__{code}"), fixed);
            });
        }));
        if result.is_err() {
            failed.push(code);
        }
    }
    assert!(failed.is_empty(), "fix snapshot or idempotence failures for: {failed:?}");
}

/// Whether Python text parses, as judged by `sqlalint` itself (no syntax-error warning).
fn engine_parses(text: &str) -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("parse_check.py");
    std::fs::write(&file, text).expect("write");
    let output = sqlalint(&["check", &file.to_string_lossy(), "--isolated", "--select", "SA102"]);
    !stderr(&output).contains("syntax error")
}
