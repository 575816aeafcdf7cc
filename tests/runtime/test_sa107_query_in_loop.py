"""SA107 is true at run time: every function sqlalint flags issues more SELECTs as the number of
items grows (N=3 → N=6), and every runnable function it leaves alone issues a constant number.
The fixtures' `# expect:` labels must agree with both sqlalint and SQLAlchemy."""
import asyncio
import importlib

import pytest
from conftest import FIXTURES, FunctionMap, SelectCounter, quiet, sqlalint_findings
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

CODE = "SA107"
PACKAGE = FIXTURES / CODE
# (loops module, models module, how to run it)
CASES = [
    ("loops_v2", "models_v2", "plain"),
    ("loops_legacy", "models_legacy", "plain"),
    ("loops_flask", "flask_models", "flask"),
    ("loops_sqlmodel", "sqlmodel_models", "sqlmodel"),
    ("loops_async", "async_models", "async"),
]


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


def flagged_functions(module_name: str) -> set[str]:
    path = PACKAGE / f"{module_name}.py"
    functions = FunctionMap(path)
    lines = {f["location"]["row"] for f in sqlalint_findings(CODE, path)}
    return {name for name in functions.functions if lines & functions.covering(name)}


PARAMS = []
for loops, models_name, kind in CASES:
    for name in FunctionMap(PACKAGE / f"{loops}.py").runnable():
        PARAMS.append(pytest.param(loops, models_name, kind, name, id=f"{loops}.{name}"))


def test_every_case_module_has_positives_and_negatives():
    for loops, _, _ in CASES:
        functions = FunctionMap(PACKAGE / f"{loops}.py")
        labels = {functions.labelled(name, CODE) for name in functions.runnable()}
        assert labels == {True, False}, f"{loops} needs runnable positives and negatives"


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.LegacyAPIWarning")
@pytest.mark.parametrize(("loops", "models_name", "kind", "name"), PARAMS)
def test_verdict_matches_runtime(loops, models_name, kind, name):
    functions = FunctionMap(PACKAGE / f"{loops}.py")
    labelled = functions.labelled(name, CODE)
    flagged = name in flagged_functions(loops)
    assert flagged == labelled, f"sqlalint {'flags' if flagged else 'misses'} {name}; label says {labelled}"
    module = importlib.import_module(f"{CODE}.{loops}")
    models = importlib.import_module(f"{CODE}.{models_name}")
    function = getattr(module, name)
    small, large = selects(kind, models, function, 3), selects(kind, models, function, 6)
    print(f"{loops}.{name}: {small} SELECTs for N=3, {large} for N=6")
    if labelled:
        assert large > small, f"{name} is labelled query-in-loop but ran {small} SELECTs for N=3 and {large} for N=6"
    else:
        assert large == small, f"{name} is labelled clean but ran {small} SELECTs for N=3 and {large} for N=6"
