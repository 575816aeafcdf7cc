"""SA203 is true at run time: every function sqlalint flags leaves the session it was given (or
uses itself) in the failed state, so a statement after the swallowed failure raises
`PendingRollbackError`; every runnable function it leaves alone keeps the session usable.
Each function tries to insert a duplicate of the seeded unique name "taken"."""
import asyncio
import importlib

import pytest
from conftest import FIXTURES, FunctionMap, assert_cases_have_both_labels, flagged_functions, quiet
from sqlalchemy import create_engine, event, literal, select
from sqlalchemy.exc import PendingRollbackError
from sqlalchemy.orm import Session

CODE = "SA203"
# (flows module, models module, how to run it)
CASES = [
    ("flows_v2", "models_v2", "plain"),
    ("flows_legacy", "models_v2", "plain"),
    ("flows_flask", "flask_models", "flask"),
    ("flows_sqlmodel", "sqlmodel_models", "sqlmodel"),
    ("flows_async", "models_v2", "async"),
]


def sqlite_with_savepoints(engine):
    """pysqlite's own transaction handling breaks SAVEPOINT; the documented fix."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")


def probe_fails(session) -> bool:
    try:
        session.execute(select(literal(1))).scalar_one()
    except PendingRollbackError:
        return True
    return False


def run_and_probe(function, session) -> bool:
    """Runs `function(session)`, then one statement: did either meet `PendingRollbackError`?"""
    try:
        with quiet():
            function(session)
    except PendingRollbackError:
        return True
    return probe_fails(session)


def left_failed(kind: str, models, function, tmp_path) -> bool:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    if kind == "flask":
        from flask import Flask

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = url
        models.db.init_app(app)
        with app.app_context():
            models.db.create_all()
            models.seed(models.db.session)
            models.db.session.commit()
            models.db.session.remove()
            try:
                return run_and_probe(function, models.db.session)
            finally:
                models.db.session.remove()
    if kind == "async":
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        async def run() -> bool:
            engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
            sqlite_with_savepoints(engine.sync_engine)
            async with engine.begin() as conn:
                await conn.run_sync(models.Base.metadata.create_all)
            async with AsyncSession(engine) as session:
                models.seed(session)
                await session.commit()
            async with AsyncSession(engine) as session:
                try:
                    with quiet():
                        await function(session)
                    await session.execute(select(literal(1)))
                    failed = False
                except PendingRollbackError:
                    failed = True
            await engine.dispose()
            return failed

        return asyncio.run(run())
    engine = create_engine(url)
    sqlite_with_savepoints(engine)
    if kind == "sqlmodel":
        from sqlmodel import Session as SQLModelSession
        from sqlmodel import SQLModel

        SQLModel.metadata.create_all(engine)
        session_class = SQLModelSession
    else:
        models.Base.metadata.create_all(engine)
        session_class = Session
    with session_class(engine) as session:
        models.seed(session)
        session.commit()
    with session_class(engine) as session:
        failed = run_and_probe(function, session)
    engine.dispose()
    return failed


def params() -> list:
    return [
        pytest.param(flows, models, kind, name, id=f"{flows}.{name}")
        for flows, models, kind in CASES
        for name in FunctionMap(FIXTURES / CODE / f"{flows}.py").runnable()
    ]


def test_every_case_module_has_positives_and_negatives():
    assert_cases_have_both_labels(CODE, CASES)


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.LegacyAPIWarning")
@pytest.mark.parametrize(("flows", "models_name", "kind", "name"), params())
def test_verdict_matches_runtime(flows, models_name, kind, name, tmp_path):
    functions = FunctionMap(FIXTURES / CODE / f"{flows}.py")
    labelled = functions.labelled(name, CODE)
    flagged = name in flagged_functions(CODE, flows)
    assert flagged == labelled, f"sqlalint {'flags' if flagged else 'misses'} {name}; label says {labelled}"
    module = importlib.import_module(f"{CODE}.{flows}")
    models = importlib.import_module(f"{CODE}.{models_name}")
    failed = left_failed(kind, models, getattr(module, name), tmp_path)
    if labelled:
        assert failed, f"{name} is labelled SA203 but the session was still usable after the failure"
    else:
        assert not failed, f"{name} is labelled clean but the session raised PendingRollbackError"
