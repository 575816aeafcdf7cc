"""Shared helpers for the runtime proofs: import fixture packages, run sqlalint, count SELECTs."""
import ast
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "rules"
sys.path.insert(0, str(FIXTURES))


def sqlalint_findings(code: str, target: Path) -> list[dict]:
    """Runs the sqlalint binary under test and returns its JSON findings for one rule."""
    binary = os.environ.get("SQLALINT_BIN")
    if not binary:
        pytest.fail("SQLALINT_BIN is not set: run these tests through `cargo test --test runtime`")
    proc = subprocess.run(
        [binary, "check", str(target), "--isolated", "--select", code, "--output-format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


class FunctionMap:
    """Top-level functions of a module, with the lines each covers (helpers they call included)."""

    def __init__(self, path: Path):
        source = path.read_text()
        self.lines = source.splitlines()
        tree = ast.parse(source)
        self.functions = {
            node.name: node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }

    def _span(self, name: str) -> range:
        node = self.functions[name]
        return range(node.lineno, (node.end_lineno or node.lineno) + 1)

    def covering(self, name: str) -> set[int]:
        """Lines of `name` plus those of the private module functions it calls."""
        lines = set(self._span(name))
        for call in ast.walk(self.functions[name]):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                callee = call.func.id
                if callee.startswith("_") and callee in self.functions:
                    lines |= set(self._span(callee))
        return lines

    def runnable(self) -> list[str]:
        """Public functions that can run on SQLAlchemy 2.x (`static_*` are checked statically only)."""
        return [n for n in self.functions if not n.startswith(("_", "static_")) and n != "seed"]

    def labelled(self, name: str, code: str) -> bool:
        marker = f"# expect: {code}"
        return any(marker in self.lines[i - 1] for i in self.covering(name))


@contextlib.contextmanager
def quiet():
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class SelectCounter:
    """Counts SELECT statements sent through an engine (`before_cursor_execute`)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        self.active = False
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and statement.lstrip().upper().startswith("SELECT"):
            self.count += 1
