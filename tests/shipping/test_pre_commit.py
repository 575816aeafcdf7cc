"""The pre-commit hook (`.pre-commit-hooks.yaml`), run by the real pre-commit client on a
temporary git repository: it fails on a planted N+1, still finds it when pre-commit passes
only the changed loop module (sqlalint indexes the models from the project root), and passes
after the fix.

The hook repository is this checkout at its committed HEAD (`rev:` in the config; `try-repo`
also picks up uncommitted changes to tracked files). `language: rust` makes pre-commit run
`cargo install --path .` in its clone: `CARGO_TARGET_DIR` points at the test build's target
directory so the dependencies are compiled once. There is no pre-commit hooks schema among
check-jsonschema's vendored schemas, so the manifest is validated by pre-commit's own loader
(`pre-commit validate-manifest`, i.e. `pre_commit.clientlib`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
import project  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")


def test_manifest_is_valid_for_pre_commit():
    done = subprocess.run(
        [PRE_COMMIT, "validate-manifest", ".pre-commit-hooks.yaml"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The loader only warns about keys it does not know (a typo would be silently ignored).
    assert "Unexpected key" not in done.stdout + done.stderr, done.stdout + done.stderr
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "sqlalint"
    assert hook["language"] == "rust"
    assert hook["entry"] == "sqlalint check --force-exclude"
    assert hook["types_or"] == ["python", "pyi"]
    assert hook["require_serial"] is True
    assert hook["minimum_pre_commit_version"] == "2.21.0"


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    env = project.git_env(home)
    # One store for the `pre-commit run` calls: the hook is built once (try-repo uses its own).
    env["PRE_COMMIT_HOME"] = str(home / "pre-commit")
    env["CARGO_TARGET_DIR"] = os.environ["SQLALINT_TARGET_DIR"]
    env["NO_COLOR"] = "1"
    env.pop("SQLALINT_OUTPUT_FORMAT", None)
    return env


@pytest.fixture(scope="module")
def head(env) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"the hook test needs this checkout to be a git repository with a commit:\n{done.stderr}")
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, env, head) -> Path:
    root = tmp_path / "project"
    project.write_project(root)
    config = {"repos": [{"repo": str(REPO), "rev": head, "hooks": [{"id": "sqlalint"}]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    project.git_repo(root, env)
    return root


def pre_commit(root: Path, env, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([PRE_COMMIT, *args], cwd=root, env=env, capture_output=True, text=True)
    print(done.stdout, done.stderr)
    return done


def assert_n_plus_one(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sqlalint" in done.stdout and "Failed" in done.stdout, done.stdout
    assert "SA101" in done.stdout and "app/views.py" in done.stdout, done.stdout
    assert "user.posts" in done.stdout, done.stdout


def test_hook_fails_on_the_n_plus_one_and_passes_after_the_fix(repo: Path, env):
    assert_n_plus_one(pre_commit(repo, env, "run", "--all-files"))

    # pre-commit passes only the changed file: the models module is not among the arguments,
    # yet the relationship is known because sqlalint indexes the whole project.
    (repo / "app/views.py").write_text(project.VIEWS_N_PLUS_ONE + "\n")
    done = pre_commit(repo, env, "run", "--files", "app/views.py", "--verbose")
    assert_n_plus_one(done)
    assert "app/models.py" not in done.stdout, done.stdout

    (repo / "app/views.py").write_text(project.VIEWS_FIXED)
    project.git(repo, env, "add", "-A")
    done = pre_commit(repo, env, "run")  # the staged files, as in a commit
    assert done.returncode == 0 and "Passed" in done.stdout, done.stdout + done.stderr
    done = pre_commit(repo, env, "run", "--all-files")
    assert done.returncode == 0 and "Passed" in done.stdout, done.stdout + done.stderr


def test_try_repo_runs_the_hook_of_this_checkout(repo: Path, env):
    done = pre_commit(repo, env, "try-repo", str(REPO), "sqlalint", "--files", "app/views.py")
    assert_n_plus_one(done)
