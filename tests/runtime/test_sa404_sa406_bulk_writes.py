"""SA404 and SA406 hold under real SQLAlchemy. Every fixture function runs against a seeded SQLite
database (2.0, legacy `Query`, Core tables, Flask-SQLAlchemy, SQLModel, asyncio):
- SA404: a function is reported exactly when it changes (deletes or updates) every row of a table;
- SA406: a reported function changes no row at all, and its `*_executed` twins do change rows.
sqlalint's verdict on each function must also equal its `# expect:` label."""
import asyncio
import importlib
import inspect

import pytest
from conftest import FIXTURES, FunctionMap, flagged_functions, quiet
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.orm import Session

CASES = {
    "SA404": [
        ("writes_legacy", "models", "sync"),
        ("writes_v2", "models", "sync"),
        ("writes_flask", "writes_flask", "flask"),
        ("writes_sqlmodel", "writes_sqlmodel", "sqlmodel"),
        ("writes_async", "models", "async"),
    ],
    "SA406": [
        ("statements_v2", "models", "sync"),
        ("statements_flask", "statements_flask", "flask"),
        ("statements_sqlmodel", "statements_sqlmodel", "sqlmodel"),
        ("statements_async", "models", "async"),
    ],
}


def _metadata(models) -> MetaData:
    if hasattr(models, "db"):
        return models.db.metadata
    if hasattr(models, "Base"):
        return models.Base.metadata
    from sqlmodel import SQLModel

    return SQLModel.metadata


def _snapshot(url: str, metadata: MetaData) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = {t.name: {r[0]: tuple(r) for r in conn.execute(select(t))} for t in metadata.sorted_tables}
    engine.dispose()
    return rows


def _run(kind: str, models, function, path) -> tuple[dict, dict]:
    """Rows of every table before and after `function` ran on a freshly seeded database."""
    url = f"sqlite:///{path}"
    metadata = _metadata(models)
    if kind == "flask":
        from flask import Flask

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = url
        models.db.init_app(app)
        with app.app_context():
            models.db.create_all()
            models.seed(models.db.session)
            models.db.session.commit()
            before = _snapshot(url, metadata)
            with quiet():
                function()
            models.db.session.remove()
            models.db.engine.dispose()
        return before, _snapshot(url, metadata)
    if kind == "async":
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        engine = create_engine(url)
        metadata.create_all(engine)
        with Session(engine) as session:
            models.seed(session)
            session.commit()
        engine.dispose()
        before = _snapshot(url, metadata)

        async def go():
            async_engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
            async with AsyncSession(async_engine) as session:
                await function(session)
            await async_engine.dispose()

        asyncio.run(go())
        return before, _snapshot(url, metadata)
    session_class = Session
    if kind == "sqlmodel":
        from sqlmodel import Session as SQLModelSession

        session_class = SQLModelSession
    engine = create_engine(url)
    metadata.create_all(engine)
    with session_class(engine) as session:
        models.seed(session)
        session.commit()
    before = _snapshot(url, metadata)
    with session_class(engine) as session, quiet():
        function(session)
    engine.dispose()
    return before, _snapshot(url, metadata)


def _every_row_changed(before: dict, after: dict) -> bool:
    return any(
        rows and all(after[table].get(key) != row for key, row in rows.items()) for table, rows in before.items()
    )


def _params():
    return [
        pytest.param(code, module, models, kind, name, id=f"{code}.{module}.{name}")
        for code, cases in CASES.items()
        for module, models, kind in cases
        for name in FunctionMap(FIXTURES / code / f"{module}.py").runnable()
    ]


@pytest.mark.parametrize(("code", "module_name", "models_name", "kind", "name"), _params())
def test_verdict_matches_what_the_database_sees(code, module_name, models_name, kind, name, tmp_path):
    labelled = FunctionMap(FIXTURES / code / f"{module_name}.py").labelled(name, code)
    flagged = name in flagged_functions(code, module_name)
    assert flagged == labelled, f"sqlalint {'flags' if flagged else 'misses'} {name}; label says {labelled}"
    module = importlib.import_module(f"{code}.{module_name}")
    models = importlib.import_module(f"{code}.{models_name}")
    function = getattr(module, name)
    assert inspect.iscoroutinefunction(function) == (kind == "async")
    before, after = _run(kind, models, function, tmp_path / "db.sqlite")
    if code == "SA404":
        assert _every_row_changed(before, after) == labelled, f"{name}: before {before}, after {after}"
    else:
        if labelled:
            assert before == after, f"{name} is reported as never executed but changed rows"
        if name.endswith("_executed"):
            assert before != after, f"{name} executes its statement but changed no row"


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_case_has_positives_and_negatives(code):
    for module, _, _ in CASES[code]:
        functions = FunctionMap(FIXTURES / code / f"{module}.py")
        labels = {functions.labelled(name, code) for name in functions.runnable()}
        assert labels == {True, False}, f"{code}.{module} needs runnable positives and negatives"
