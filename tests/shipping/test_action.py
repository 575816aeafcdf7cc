"""The GitHub Action (`action.yml`): its metadata validates against the GitHub Actions schema
(check-jsonschema's vendored copy, no network), and its steps, run under a simulated runner
(`gha.py`) with the cache step "restoring" the sqlalint binary under test, produce a SARIF
report that validates against the vendored SARIF 2.1.0 schema, with paths relative to the
repository root even when sqlalint runs from a subfolder that holds its own configuration.
Inputs are data, never shell code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
import gha  # noqa: E402
import project  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SARIF_SCHEMA = REPO / "tests/fixtures/sarif-schema-2.1.0.json"


def check_jsonschema(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "check-jsonschema"), *args], capture_output=True, text=True)


def test_action_metadata_validates_against_the_github_actions_schema():
    done = check_jsonschema("--builtin-schema", "vendor.github-actions", str(REPO / "action.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_inputs_reach_scripts_only_through_env():
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert inputs["sarif"]["default"] == "true"
    assert inputs["category"]["default"] == "sqlalint"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], f"{step['name']}: expression inside the script"
    upload = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert "always()" in upload["if"], "the upload must run even when the sqlalint step fails"


@pytest.fixture
def monorepo(tmp_path: Path):
    """A repository whose Python project lives in `backend/` with its own sqlalint config."""
    workspace = tmp_path / "workspace"
    backend = workspace / "backend"
    project.write_project(backend)
    (backend / "pyproject.toml").write_text('[tool.sqlalint]\nextend-select = ["SA603"]\n')
    (workspace / "README.md").write_text("monorepo\n")
    env = project.git_env(tmp_path)
    project.git_repo(workspace, env)
    return workspace


def restore_binary(step: gha.Step) -> None:
    """Acts as a cache hit for `actions/cache`: the binary under test is in the cached dir."""
    if step.uses.startswith("actions/cache"):
        bin_dir = Path(step.with_["path"]) / "bin"
        bin_dir.mkdir(parents=True)
        shutil.copy2(os.environ["SQLALINT_BIN"], bin_dir / "sqlalint")


def run_action(workspace: Path, tmp_path: Path, **inputs: str) -> gha.Run:
    runner = gha.Runner(REPO, workspace, tmp_path / "runner-temp")
    return runner.run(inputs, on_uses=restore_binary)


def test_sarif_from_a_subfolder_is_valid_and_repository_relative(monorepo: Path, tmp_path: Path):
    run = run_action(monorepo, tmp_path, **{"working-directory": "backend", "paths": "app"})
    for step in run.steps:
        assert step.returncode == 0, f"{step.name} failed:\n{step.stdout}\n{step.stderr}"
    install = run.step("Install sqlalint")
    assert "restored from the cache" in install.stdout and "sqlalint " in install.stdout, install.stdout

    report = Path(run.outputs["sarif-file"])
    assert report == tmp_path / "runner-temp" / "sqlalint.sarif"
    done = check_jsonschema("--schemafile", str(SARIF_SCHEMA), str(report))
    assert done.returncode == 0, done.stdout + done.stderr

    upload = run.step("Upload SARIF to code scanning")
    assert upload.ran and upload.uses.startswith("github/codeql-action/upload-sarif@")
    assert upload.with_ == {"sarif_file": str(report), "category": "sqlalint"}

    log = json.loads(report.read_text())
    results = log["runs"][0]["results"]
    found = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results}
    # SA101 needs the models of another module; SA603 comes from backend/pyproject.toml.
    assert ("SA101", "backend/app/views.py") in found, found
    assert ("SA603", "backend/app/models.py") in found, found
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert (monorepo / location["artifactLocation"]["uri"]).is_file(), location
    base = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.rstrip("/").endswith(f"/{monorepo.name}"), base


def test_category_and_args_pass_through(monorepo: Path, tmp_path: Path):
    run = run_action(
        monorepo,
        tmp_path,
        **{"working-directory": "backend", "paths": "app/views.py", "args": "--select SA101", "category": "api"},
    )
    assert not run.failed, [(s.name, s.stderr) for s in run.steps]
    log = json.loads(Path(run.outputs["sarif-file"]).read_text())
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"SA101"}
    assert run.step("Upload SARIF to code scanning").with_["category"] == "api"


def test_annotation_mode_fails_on_findings_with_repository_paths(monorepo: Path, tmp_path: Path):
    run = run_action(monorepo, tmp_path, **{"working-directory": "backend", "paths": "app", "sarif": "false"})
    annotate = run.step("Run sqlalint (annotations)")
    assert annotate.ran and annotate.returncode == 1, annotate.stderr
    line = project.N_PLUS_ONE_LINE
    assert f"file=backend/app/views.py,line={line}," in annotate.stdout, annotate.stdout
    assert not run.step("Run sqlalint (SARIF)").ran
    assert not run.step("Upload SARIF to code scanning").ran


def test_fixed_code_passes_in_annotation_mode(monorepo: Path, tmp_path: Path):
    (monorepo / "backend/app/views.py").write_text(project.VIEWS_FIXED)
    (monorepo / "backend/pyproject.toml").write_text("[tool.sqlalint]\n")  # default rules only
    run = run_action(monorepo, tmp_path, **{"working-directory": "backend", "sarif": "false"})
    annotate = run.step("Run sqlalint (annotations)")
    assert annotate.ran and annotate.returncode == 0, annotate.stdout + annotate.stderr
    assert "::error" not in annotate.stdout


def test_inputs_are_not_shell_code(monorepo: Path, tmp_path: Path):
    marker = tmp_path / "pwned"
    hostile = f'app $(touch {marker}) `touch {marker}` ";touch {marker}" *'
    run = run_action(monorepo, tmp_path, **{"working-directory": "backend", "paths": hostile, "sarif": "false"})
    annotate = run.step("Run sqlalint (annotations)")
    assert annotate.ran
    assert not marker.exists(), "an input was executed as shell code"
    # The words are taken literally: `$(touch` is a path that does not exist (exit 2).
    assert annotate.returncode == 2, annotate.stdout + annotate.stderr
    assert "$(touch" in annotate.stderr, annotate.stderr


def test_version_must_be_a_tag_or_a_commit(monorepo: Path, tmp_path: Path):
    run = run_action(monorepo, tmp_path, version="main; rm -rf /")
    resolve = run.step("Resolve the sqlalint version")
    assert resolve.returncode == 1 and "version must be a release tag" in resolve.stdout
    assert not run.step("Install sqlalint").ran

    run = run_action(monorepo, tmp_path / "tagged", version="v0.1.0")
    outputs = run.step("Resolve the sqlalint version").outputs
    assert outputs["kind"] == "tag" and outputs["key"] == "sqlalint-Linux-X64-v0.1.0", outputs
