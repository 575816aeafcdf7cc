"""SA206 is true at run time: every `bad_*` coroutine of the SA206 fixture (each holds a line sqlalint
reports) raises `MissingGreenlet` when run on an `AsyncSession` over SQLite (aiosqlite), and every
`ok_*` coroutine (no finding) runs cleanly."""
import asyncio
import importlib
import inspect

import pytest
from conftest import FIXTURES, FunctionMap, sqlalint_findings
from sqlalchemy.exc import MissingGreenlet, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

CODE = "SA206"
PATH = FIXTURES / CODE / "cases.py"
cases = importlib.import_module(f"{CODE}.cases")
COROUTINES = sorted(
    name
    for name, fn in vars(cases).items()
    if name.startswith(("bad_", "ok_")) and inspect.iscoroutinefunction(fn)
)


async def _run(name: str, tmp_path) -> BaseException | None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(cases.Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            author = cases.Writer(id=1, name="a")
            session.add_all([author, cases.Novel(id=1, title="t1", author=author), cases.Novel(id=2, title="t2", author=author)])
            await session.commit()
        # A fresh session: nothing is in its identity map.
        async with AsyncSession(engine) as session:
            try:
                await getattr(cases, name)(session)
            except (MissingGreenlet, StatementError) as error:
                return error
        return None
    finally:
        await engine.dispose()


def _is_missing_greenlet(error: BaseException | None) -> bool:
    if isinstance(error, MissingGreenlet):
        return True
    return isinstance(error, StatementError) and isinstance(error.orig, MissingGreenlet)


def test_every_case_is_labelled():
    assert COROUTINES, "no cases found"
    assert any(n.startswith("bad_") for n in COROUTINES) and any(n.startswith("ok_") for n in COROUTINES)


@pytest.mark.parametrize("name", COROUTINES)
def test_verdict_matches_runtime(name, tmp_path):
    lines = FunctionMap(PATH).covering(name)
    flagged = {f["location"]["row"] for f in sqlalint_findings(CODE, PATH)} & lines
    assert bool(flagged) == name.startswith("bad_"), f"sqlalint's verdict on `{name}` disagrees with its name"
    error = asyncio.run(_run(name, tmp_path))
    if name.startswith("bad_"):
        assert _is_missing_greenlet(error), f"`{name}` is reported but raised {error!r}, not MissingGreenlet"
    else:
        assert error is None, f"`{name}` is clean but raised {error!r}"
