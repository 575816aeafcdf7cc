"""The pip package (`pyproject.toml`, maturin `bindings = "bin"`): maturin builds the wheel from
this checkout (release mode, into the test build's target directory so the dependencies are
shared with `cargo build --release`), pip installs it into a fresh venv with no index, and
the `sqlalint` command it puts on the venv's PATH reports the crate version and checks a
project."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import project  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    print(done.stdout, done.stderr)
    return done


def test_wheel_installs_a_working_sqlalint(tmp_path: Path):
    version = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["version"]
    env = {k: v for k, v in os.environ.items() if k != "SQLALINT_OUTPUT_FORMAT"}
    env["CARGO_TARGET_DIR"] = os.environ["SQLALINT_TARGET_DIR"]
    dist = tmp_path / "dist"
    done = run(VENV_BIN / "maturin", "build", "--release", "--locked", "--out", dist, cwd=REPO, env=env)
    assert done.returncode == 0, done.stdout + done.stderr

    (wheel,) = dist.glob("*.whl")
    # One wheel per platform serves every Python: no Python ABI in the tag.
    assert wheel.name.startswith(f"sqlalint-{version}-py3-none-"), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"sqlalint-{version}.dist-info/METADATA").decode()
    assert f"sqlalint-{version}.data/scripts/sqlalint" in names, names
    assert not [n for n in names if n.endswith(".py")], "a binary-only wheel has no Python modules"
    assert f"Version: {version}" in metadata and "Name: sqlalint" in metadata, metadata

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    done = run(venv / "bin/pip", "install", "--no-index", "--disable-pip-version-check", wheel)
    assert done.returncode == 0, done.stdout + done.stderr
    sqlalint = venv / "bin/sqlalint"

    done = run(sqlalint, "--version", env=env)
    assert done.returncode == 0 and done.stdout.strip() == f"sqlalint {version}", done.stdout + done.stderr

    root = tmp_path / "project"
    project.write_project(root)
    done = run(sqlalint, "check", "--output-format", "concise", ".", cwd=root, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"app/views.py:{project.N_PLUS_ONE_LINE}:" in done.stdout and "SA101" in done.stdout, done.stdout

    (root / "app/views.py").write_text(project.VIEWS_FIXED)
    done = run(sqlalint, "check", ".", cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
