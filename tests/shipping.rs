//! Shipping: the pre-commit hook, the GitHub Action and the pip wheel, each exercised with
//! its real client (pre-commit, check-jsonschema, maturin, pip) from the pinned venv
//! `target/shipenv` (`tests/shipping/requirements.txt`). The Python suites under
//! `tests/shipping/` do the work; see their docstrings.
//!
//! The hook and the wheel compile sqlalint in release mode, with this build's target directory
//! as `CARGO_TARGET_DIR`: maturin builds exactly the unit `cargo build --release` builds (and
//! reuses it), while pre-commit's `cargo install` in its own clone recompiles the crate and,
//! being unlocked, any dependency with a newer compatible release. The two run one after the
//! other (cargo would block on the directory lock anyway).
mod pyenv;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

fn ship_env() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| pyenv::build("shipenv", "tests/shipping/requirements.txt"))
}

/// The target directory of this test build (`<target>/debug/sqlalint` → `<target>`).
fn target_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_sqlalint"));
    bin.ancestors().nth(2).map(Path::to_path_buf).unwrap_or_else(|| pyenv::repo().join("target"))
}

fn suite(name: &str) {
    let venv = ship_env();
    let target = target_dir();
    let file = pyenv::repo().join("tests/shipping").join(name);
    pyenv::pytest(venv, &file, &[("SQLALINT_TARGET_DIR", target.as_os_str()), ("SHIP_VENV", venv.as_os_str())]);
}

/// Serialises the two suites that run a release build.
fn release_build_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn action_metadata_is_valid_and_its_script_uploads_root_relative_sarif() {
    suite("test_action.py");
}

#[test]
fn pre_commit_hook_fails_on_an_n_plus_one_and_passes_after_the_fix() {
    let _serial = release_build_lock();
    suite("test_pre_commit.py");
}

#[test]
fn wheel_builds_with_maturin_and_runs_from_a_fresh_venv() {
    let _serial = release_build_lock();
    suite("test_wheel.py");
}
