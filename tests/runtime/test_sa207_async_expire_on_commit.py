"""SA207 is true at run time: the session factories sqlalint flags in the SA207 fixture expire
objects on commit, so reading an attribute after `await session.commit()` raises
`MissingGreenlet`; the factories made with `expire_on_commit=False` (also through `**options`)
do not, and sqlalint leaves them alone."""
import asyncio
import importlib

import pytest
from conftest import FIXTURES, sqlalint_findings
from sqlalchemy import String
from sqlalchemy.exc import MissingGreenlet, StatementError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CODE = "SA207"
PATH = FIXTURES / f"{CODE}.py"
# Module-level factories of the fixture: those it labels SA207, and the safe ones.
FLAGGED = ["async_session", "AsyncSessionLocal", "legacy_async", "qualified"]
SAFE = ["configured", "from_options"]


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "sa207_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


def assignment_line(name: str) -> int:
    for number, line in enumerate(PATH.read_text().splitlines(), start=1):
        if line.startswith(f"{name} = "):
            return number
    raise AssertionError(f"no `{name} = ...` in {PATH}")


def read_after_commit(factory, tmp_path) -> bool:
    """Adds a row, commits, reads an attribute: did the read raise `MissingGreenlet`?"""

    async def run() -> bool:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        factory.configure(bind=engine)
        try:
            async with factory() as session:
                note = Note(text="hello")
                session.add(note)
                await session.commit()
                try:
                    assert note.text == "hello"
                except StatementError as err:
                    # The implicit refresh's `MissingGreenlet`, wrapped with the statement.
                    return isinstance(err.orig, MissingGreenlet)
                except MissingGreenlet:
                    return True
                return False
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.mark.parametrize("name", FLAGGED + SAFE)
def test_verdict_matches_runtime(name, tmp_path):
    flagged_lines = {f["location"]["row"] for f in sqlalint_findings(CODE, PATH)}
    labelled = name in FLAGGED
    assert (assignment_line(name) in flagged_lines) == labelled, f"sqlalint disagrees on `{name}`"
    assert f"# expect: {CODE}" in PATH.read_text().splitlines()[assignment_line(name) - 1] or not labelled
    module = importlib.import_module(CODE)
    raised = read_after_commit(getattr(module, name), tmp_path)
    if labelled:
        assert raised, f"`{name}` is flagged but reading after commit did not raise MissingGreenlet"
    else:
        assert not raised, f"`{name}` is clean but reading after commit raised MissingGreenlet"
