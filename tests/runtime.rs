//! Runtime proofs: the Python suites under `tests/runtime/` execute fixture code
//! with real, pinned SQLAlchemy (plus Flask-SQLAlchemy, SQLModel, aiosqlite) and
//! check that sqlalint's verdicts hold at run time. The virtualenv is built
//! once under `target/pyenv` from `tests/runtime/requirements.txt` (rebuilt when
//! that file changes); it needs `python3` and access to PyPI the first time.
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The virtualenv, built at most once per test run: the suites run on parallel threads
/// and must not race to create (and `--clear`) the same directory.
fn python_env() -> &'static Path {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(build_python_env)
}

fn build_python_env() -> PathBuf {
    let root = repo();
    let venv = root.join("target").join("pyenv");
    let requirements = root.join("tests/runtime/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("read requirements.txt");
    let stamp = venv.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return venv;
    }
    let python = std::env::var("SQLALINT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).args(["-m", "venv", "--clear"]).arg(&venv), "create the test virtualenv");
    let pip = venv.join("bin/pip");
    run(
        Command::new(&pip)
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-deps", "-r"])
            .arg(&requirements),
        "install the pinned test packages",
    );
    std::fs::write(&stamp, wanted).expect("write venv stamp");
    venv
}

fn run(command: &mut Command, what: &str) {
    let status = command.status().unwrap_or_else(|e| panic!("cannot {what}: {e}"));
    assert!(status.success(), "failed to {what} ({status})");
}

fn pytest(suite: &Path) {
    let venv = python_env();
    let output = Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(suite)
        .env("SQLALINT_BIN", env!("CARGO_BIN_EXE_sqlalint"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // sqlalint runs from the repository: no cache there (tests/cache.rs covers it).
        .env("SQLALINT_NO_CACHE", "1")
        .current_dir(repo())
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "runtime proof failed:\n{stdout}\n{stderr}");
    // pytest exits 5 when it collected nothing: make sure something ran.
    assert!(stdout.contains(" passed"), "no runtime test ran:\n{stdout}");
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
}

#[test]
fn sa101_n_plus_one_fixtures_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa101_n_plus_one.py"));
}

#[test]
fn sa107_query_in_loop_fixtures_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa107_query_in_loop.py"));
}

#[test]
fn sa401_sa403_filter_operator_messages_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa401_sa403_filter_operators.py"));
}

#[test]
fn sa609_mutable_column_defaults_are_shared_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa609_mutable_column_default.py"));
}

#[test]
fn sa404_sa406_bulk_write_verdicts_hold_against_sqlite() {
    pytest(&repo().join("tests/runtime/test_sa404_sa406_bulk_writes.py"));
}

#[test]
fn sa605_sa606_sa610_sa611_model_wiring_fails_to_configure_exactly_when_reported() {
    pytest(&repo().join("tests/runtime/test_model_wiring.py"));
}

#[test]
fn sa608_nullable_mismatches_behave_as_reported_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa608_nullable_annotation_mismatch.py"));
}

#[test]
fn sa702_flagged_revisions_fail_under_real_alembic() {
    pytest(&repo().join("tests/runtime/test_sa702_not_null_without_default.py"));
}

#[test]
fn sa705_revision_graph_verdicts_match_alembics_loader() {
    pytest(&repo().join("tests/runtime/test_sa705_revision_graph.py"));
}

#[test]
fn sa203_missing_rollback_fixtures_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa203_missing_rollback.py"));
}

#[test]
fn sa207_async_expire_on_commit_holds_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa207_async_expire_on_commit.py"));
}

#[test]
fn sa305_removed_in_2_findings_fail_on_real_sqlalchemy_2() {
    pytest(&repo().join("tests/runtime/test_sa305_removed_in_2.py"));
}

#[test]
fn sa302_fix_keeps_the_schema_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa302_legacy_declarative_base.py"));
}

#[test]
fn sa301_fix_keeps_the_schema_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa301_legacy_column.py"));
}

#[test]
fn sqlalint_new_scaffolds_run_on_fastapi_flask_alembic_and_sqlite() {
    pytest(&repo().join("tests/runtime/test_scaffold.py"));
}
