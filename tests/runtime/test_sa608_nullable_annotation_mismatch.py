"""SA608 holds under real SQLAlchemy / SQLModel: for every reported column, the table follows the
explicit `nullable=` rather than the annotation, and a NULL does what the message says — rejected
at flush with `IntegrityError` where the annotation allows `None`, stored and loaded back as
`None` where the annotation promises a value."""
import ast
import datetime
import importlib

import pytest
from conftest import FIXTURES, REPO, sqlalint_findings
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

CODE = "SA608"


def _reported() -> list[tuple[str, str, str]]:
    found = []
    for finding in sqlalint_findings(CODE, FIXTURES / CODE):
        path = REPO / finding["filename"]
        row = finding["location"]["row"]
        for cls in (n for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)):
            for stmt in cls.body:
                if isinstance(stmt, ast.AnnAssign) and stmt.lineno <= row <= stmt.end_lineno:
                    found.append((path.stem, cls.name, stmt.target.id))
    return found


def _value(column):
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return {}
    return {str: "x", int: 1, datetime.datetime: datetime.datetime(2024, 1, 1)}.get(kind, "x")


REPORTED = _reported()


def test_something_is_reported():
    assert len(REPORTED) >= 5


@pytest.mark.parametrize(("module_name", "class_name", "attr"), REPORTED)
def test_null_does_what_the_message_says(module_name, class_name, attr):
    module = importlib.import_module(f"{CODE}.{module_name}")
    cls = getattr(module, class_name)
    table = cls.__table__
    column = table.c[attr]
    line = next(
        line for line in (FIXTURES / CODE / f"{module_name}.py").read_text().splitlines() if line.strip().startswith(f"{attr}:")
    )
    assert column.nullable == ("nullable=True" in line), "the table follows the explicit nullable="
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine, tables=[table])
    mapped = inspect(cls).column_attrs
    values = {p.key: _value(p.columns[0]) for p in mapped if not p.columns[0].primary_key and p.key != attr}
    with Session(engine) as session:
        session.add(cls(**values, **{attr: None}))
        if column.nullable:
            session.commit()
            assert session.scalars(select(getattr(cls, attr))).one() is None
        else:
            with pytest.raises(IntegrityError):
                session.commit()
