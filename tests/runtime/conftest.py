"""Shared helpers for the runtime proofs: import fixture packages, run sqlalint, count SELECTs."""
import ast
import asyncio
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

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


# --- Query growth: a rule's positives issue more SELECTs at N=6 than at N=3, negatives the same.
# Each case is (loops module, models module, how to run it) inside the rule's fixture package;
# models modules provide `seed(session, n)`.


def metadata_of(models) -> MetaData:
    for value in vars(models).values():
        metadata = getattr(value, "metadata", None)
        if isinstance(metadata, MetaData) and metadata.tables:
            return metadata
    raise AssertionError(f"no metadata in {models.__name__}")


def selects(kind: str, models, function, n: int) -> int:
    """SELECTs issued by `function(session)` against a fresh database seeded with `models.seed(session, n)`."""
    if kind == "flask":
        from flask import Flask

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
        models.db.init_app(app)
        with app.app_context():
            models.db.create_all()
            models.seed(models.db.session, n)
            models.db.session.commit()
            models.db.session.remove()
            counter = SelectCounter(models.db.engine)
            counter.active = True
            with quiet():
                function(models.db.session)
            models.db.session.remove()
            return counter.count
    if kind == "async":
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        async def run() -> int:
            engine = create_async_engine("sqlite+aiosqlite://")
            async with engine.begin() as conn:
                await conn.run_sync(metadata_of(models).create_all)
            async with AsyncSession(engine) as session:
                models.seed(session, n)
                await session.commit()
            counter = SelectCounter(engine.sync_engine)
            async with AsyncSession(engine) as session:
                counter.active = True
                with quiet():
                    await function(session)
            await engine.dispose()
            return counter.count

        return asyncio.run(run())
    engine = create_engine("sqlite://")
    if kind == "sqlmodel":
        from sqlmodel import Session as SQLModelSession
        from sqlmodel import SQLModel

        SQLModel.metadata.create_all(engine)
        session_class = SQLModelSession
    else:
        metadata_of(models).create_all(engine)
        session_class = Session
    with session_class(engine) as session:
        models.seed(session, n)
        session.commit()
    counter = SelectCounter(engine)
    with session_class(engine) as session:
        counter.active = True
        with quiet():
            function(session)
    return counter.count


def flagged_functions(code: str, module_name: str) -> set[str]:
    """Functions of a fixture module that sqlalint reports `code` in."""
    path = FIXTURES / code / f"{module_name}.py"
    functions = FunctionMap(path)
    lines = {f["location"]["row"] for f in sqlalint_findings(code, path)}
    return {name for name in functions.functions if lines & functions.covering(name)}


def growth_params(code: str, cases) -> list:
    """One pytest param per runnable fixture function of every case."""
    return [
        pytest.param(loops, models_name, kind, name, id=f"{loops}.{name}")
        for loops, models_name, kind in cases
        for name in FunctionMap(FIXTURES / code / f"{loops}.py").runnable()
    ]


def assert_cases_have_both_labels(code: str, cases) -> None:
    for loops, _, _ in cases:
        functions = FunctionMap(FIXTURES / code / f"{loops}.py")
        labels = {functions.labelled(name, code) for name in functions.runnable()}
        assert labels == {True, False}, f"{loops} needs runnable positives and negatives"


def assert_verdict_matches_growth(code: str, what: str, loops: str, models_name: str, kind: str, name: str) -> None:
    """sqlalint's verdict on `name` equals its `# expect:` label, and real SQLAlchemy agrees:
    labelled functions issue more SELECTs for 6 rows than for 3, the others the same number."""
    functions = FunctionMap(FIXTURES / code / f"{loops}.py")
    labelled = functions.labelled(name, code)
    flagged = name in flagged_functions(code, loops)
    assert flagged == labelled, f"sqlalint {'flags' if flagged else 'misses'} {name}; label says {labelled}"
    module = importlib.import_module(f"{code}.{loops}")
    models = importlib.import_module(f"{code}.{models_name}")
    function = getattr(module, name)
    small, large = selects(kind, models, function, 3), selects(kind, models, function, 6)
    print(f"{loops}.{name}: {small} SELECTs for N=3, {large} for N=6")
    if labelled:
        assert large > small, f"{name} is labelled {what} but ran {small} SELECTs for N=3 and {large} for N=6"
    else:
        assert large == small, f"{name} is labelled clean but ran {small} SELECTs for N=3 and {large} for N=6"
