"""SA609 holds under real SQLAlchemy: for every column default in the fixture models, two
objects inserted without a value end up holding the very same mutable object exactly when
sqlalint reports that column (SQLModel's Pydantic defaults, copied per instance, included)."""
import ast
import importlib

import pytest
from conftest import FIXTURES, REPO, sqlalint_findings
from sqlalchemy import create_engine, inspect
from sqlalchemy.orm import Session

CODE = "SA609"
MODULES = ["models_v2", "models_legacy", "models_flask", "models_sqlmodel", "models_mutable"]


def _flagged() -> set[tuple[str, str, str]]:
    """(module, class, attribute) of every finding: the class-body assignment spanning its line."""
    found = set()
    for finding in sqlalint_findings(CODE, FIXTURES / CODE):
        path = REPO / finding["filename"]
        tree = ast.parse(path.read_text())
        row = finding["location"]["row"]
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for stmt in cls.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.lineno <= row <= stmt.end_lineno:
                    target = stmt.target if isinstance(stmt, ast.AnnAssign) else stmt.targets[0]
                    found.add((path.stem, cls.name, target.id))
    return found


def _new_pair(module, cls):
    """Two objects of `cls` inserted with no values, flushed, as the ORM leaves them."""
    if module.__name__.endswith("models_flask"):
        from flask import Flask

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
        module.db.init_app(app)
        with app.app_context():
            module.db.create_all()
            a, b = cls(), cls()
            module.db.session.add_all([a, b])
            module.db.session.flush()
            return a, b
    engine = create_engine("sqlite://")
    cls.metadata.create_all(engine)
    session = Session(engine)
    a, b = cls(), cls()
    session.add_all([a, b])
    session.flush()
    return a, b


def _shared_mutable_defaults() -> set[tuple[str, str, str]]:
    shared = set()
    for name in MODULES:
        module = importlib.import_module(f"{CODE}.{name}")
        for cls in vars(module).values():
            if not isinstance(cls, type) or cls.__module__ != module.__name__ or not hasattr(cls, "__table__"):
                continue
            a, b = _new_pair(module, cls)
            for attr in inspect(cls).column_attrs.keys():
                value = getattr(a, attr)
                if isinstance(value, (list, dict, set)) and value is getattr(b, attr):
                    shared.add((name, cls.__name__, attr))
    return shared


def test_reported_columns_are_exactly_those_sharing_one_mutable_default():
    flagged = _flagged()
    shared = _shared_mutable_defaults()
    assert flagged, "sqlalint reported nothing"
    assert flagged == shared, f"only flagged: {flagged - shared}; only shared: {shared - flagged}"


def test_sharing_leaks_changes_between_rows():
    module = importlib.import_module(f"{CODE}.models_v2")
    a, b = _new_pair(module, module.Article)
    a.tags.append("leaked")
    assert b.tags == ["leaked"]
    assert module.Article.__table__.c.tags.default.arg == ["leaked"]


@pytest.mark.parametrize("module_name", MODULES)
def test_fixture_modules_import(module_name):
    importlib.import_module(f"{CODE}.{module_name}")
