//! Pinned Python virtualenvs for the integration tests that run real Python tools.
//! A venv is built under `target/<name>` from a requirements file and rebuilt only when
//! that file changes; it needs `python3` (or `SQLALINT_TEST_PYTHON`) and PyPI the first time.
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds (or reuses) `target/<name>` from `requirements` (relative to the repository).
/// Callers keep the result in a `OnceLock`: parallel tests must not race to `--clear` it.
pub fn build(name: &str, requirements: &str) -> PathBuf {
    let root = repo();
    let venv = root.join("target").join(name);
    let requirements = root.join(requirements);
    let wanted = std::fs::read_to_string(&requirements).expect("read the requirements file");
    let stamp = venv.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return venv;
    }
    let python = std::env::var("SQLALINT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).args(["-m", "venv", "--clear"]).arg(&venv), "create the test virtualenv");
    run(
        Command::new(venv.join("bin/pip"))
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

/// Runs one pytest file in `venv` from the repository root with `envs` set; asserts it passed.
pub fn pytest(venv: &Path, suite: &Path, envs: &[(&str, &std::ffi::OsStr)]) {
    let output = Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(suite)
        .env("SQLALINT_BIN", env!("CARGO_BIN_EXE_sqlalint"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // sqlalint runs from the repository: no cache there (tests/cache.rs covers it).
        .env("SQLALINT_NO_CACHE", "1")
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .current_dir(repo())
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python test failed:\n{stdout}\n{stderr}");
    // pytest exits 5 when it collected nothing: make sure something ran.
    assert!(stdout.contains(" passed"), "no python test ran:\n{stdout}");
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
}
