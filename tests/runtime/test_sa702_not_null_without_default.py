"""SA702 under real Alembic: every fixture revision's `upgrade()` runs through Alembic's own
`Operations` against a SQLite table that already holds a row (with a NULL `email`). Revisions
sqlalint flags must fail, at the flagged line; the others must succeed."""
import ast
import importlib.util
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from conftest import FIXTURES, sqlalint_findings

VERSIONS = FIXTURES / "SA702" / "migrations" / "versions"
REVISIONS = sorted(VERSIONS.glob("*.py"))


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"sa702_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_upgrade(path: Path) -> int | None:
    """Runs the revision's upgrade(); returns the failing line of the revision file, or None."""
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(120))"))
        conn.execute(sa.text("INSERT INTO account (id, name, email) VALUES (1, 'ada', NULL)"))
        module = load(path)
        context = MigrationContext.configure(conn)
        try:
            with Operations.context(context):
                module.upgrade()
        except Exception as error:  # the database's or Alembic's refusal
            frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
            assert frames, f"{path.name} failed outside the revision: {error!r}"
            return frames[-1].lineno
    return None


def test_fixture_has_revisions():
    assert len(REVISIONS) >= 10


@pytest.mark.parametrize("path", REVISIONS, ids=lambda p: p.stem)
def test_flagged_revisions_fail_and_the_others_apply(path: Path):
    text = path.read_text()
    if "# runtime: skip" in text:
        pytest.skip(text.split("# runtime: skip", 1)[1].splitlines()[0].strip())
    findings = sqlalint_findings("SA702", path)
    failed_at = run_upgrade(path)
    if findings:
        flagged = {f["location"]["row"] for f in findings}
        assert failed_at is not None, f"sqlalint flags lines {flagged} but Alembic applied {path.name}"
        # A multi-line call fails on one of its lines: accept the call's span. Batch operations
        # run when their `with op.batch_alter_table(...)` block exits: accept that line too.
        spans = {row for f in findings for row in range(f["location"]["row"], f["end_location"]["row"] + 1)}
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.With) and any(node.lineno <= row <= node.end_lineno for row in flagged):
                spans.add(node.lineno)
        assert failed_at in spans, f"failed at line {failed_at}, flagged {flagged}"
    else:
        assert failed_at is None, f"sqlalint is silent but {path.name} failed at line {failed_at}"


def test_the_sqlite_refusal_is_the_not_null_one():
    """The failure is the NOT NULL one, not some unrelated error in the fixture."""
    with pytest.raises(sa.exc.OperationalError, match="NOT NULL"):
        engine = sa.create_engine("sqlite://")
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(120))"))
            conn.execute(sa.text("INSERT INTO account (id, name) VALUES (1, 'ada')"))
            with Operations.context(MigrationContext.configure(conn)):
                load(VERSIONS / "a001_add_status.py").upgrade()
    with pytest.raises(sa.exc.IntegrityError, match="NOT NULL constraint failed: _alembic_tmp_account.email"):
        engine = sa.create_engine("sqlite://")
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(120))"))
            conn.execute(sa.text("INSERT INTO account (id, name) VALUES (1, 'ada')"))
            with Operations.context(MigrationContext.configure(conn)):
                load(VERSIONS / "a004_batch_not_null.py").upgrade()
