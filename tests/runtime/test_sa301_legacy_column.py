"""SA301's fix keeps the schema: a copy of sa301_models.py is fixed with
`sqlalint --fix --unsafe-fixes --select SA301`, both modules are imported (the fixed one with
warnings as errors), `metadata.create_all()` runs on SQLite for each base, and the reflected
schemas (tables, columns, types, nullability, defaults, keys, indexes, unique constraints)
must be identical."""
import importlib.util
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from conftest import REPO

CASE = Path(__file__).with_name("sa301_models.py")


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def schema(metadata) -> dict:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    inspector = inspect(engine)
    result = {}
    for table in sorted(inspector.get_table_names()):
        result[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("primary_key"))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table),
            "fks": inspector.get_foreign_keys(table),
            "indexes": sorted(inspector.get_indexes(table), key=lambda i: i["name"] or ""),
            "unique": sorted(inspector.get_unique_constraints(table), key=lambda u: u["name"] or ""),
        }
    engine.dispose()
    return result


@pytest.fixture(scope="module")
def fixed(tmp_path_factory) -> Path:
    binary = os.environ.get("SQLALINT_BIN")
    if not binary:
        pytest.fail("SQLALINT_BIN is not set: run these tests through `cargo test --test runtime`")
    path = tmp_path_factory.mktemp("sa301") / "sa301_fixed_models.py"
    shutil.copy(CASE, path)
    args = [binary, "check", str(path), "--isolated", "--select", "SA301", "--fix", "--unsafe-fixes"]
    for _ in range(2):  # the second run must find nothing left to fix
        proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return path


def test_fix_rewrites_every_column(fixed):
    text = fixed.read_text()
    assert "= Column(" not in text
    assert "email: Mapped[Optional[str]] = mapped_column(\"email_address\", sa.String(120), unique=True)" in text
    assert "id: Mapped[int] = mapped_column(Integer, primary_key=True)" in text
    assert "updated: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime)" in text


def test_fixed_models_load_without_warnings_and_keep_the_schema(fixed):
    legacy = load(CASE, "sa301_legacy_models")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        modern = load(fixed, "sa301_fixed_models")
    before, after = schema(legacy.Base.metadata), schema(modern.Base.metadata)
    assert set(before) == {"users", "posts", "tags"}
    assert after == before, "the schema changed after the fix"
    # The mapped classes behave the same: relationships and constructors work.
    assert modern.Post(title="x", author=modern.User(name="a")).author.name == "a"
