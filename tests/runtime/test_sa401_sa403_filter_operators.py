"""SA401–SA403 messages are true at run time. sqlalint runs over each rule's fixture, and every
finding's span is evaluated with real SQLAlchemy: the value, the exception, the operand Python
calls `bool()` on, what the criteria end up receiving and the suggested fix must all be what the
message says. The effects a message names (`WHERE false`, a dropped `and_()` member, the
`ArgumentError` of `.join()`) are each checked once against SQLAlchemy as well."""
import re
import types

import pytest
from conftest import FIXTURES, sqlalint_findings
from sqlalchemy import ForeignKey, Integer, String, and_, create_engine, func, or_, select
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, aliased, mapped_column, relationship
from sqlalchemy.sql import ClauseElement

CODES = ["SA401", "SA402", "SA403"]
MODELS = ["User", "Address", "Post", "Hero", "Account"]


class Base(DeclarativeBase):
    pass


def _attributes() -> dict[str, set[str]]:
    """Every `Model.attr` the fixtures mention, so the models below can define them all."""
    found: dict[str, set[str]] = {name: set() for name in MODELS}
    for code in CODES:
        source = (FIXTURES / f"{code}.py").read_text()
        for model, attr in re.findall(r"\b(" + "|".join(MODELS) + r")\.([a-z_][a-z0-9_]*)\b", source):
            if attr not in {"query", "get", "c", "id"}:
                found[model].add(attr)
    return found


def _model(name: str, attrs: set[str], **extra):
    body = {"__tablename__": name.lower(), "id": mapped_column(Integer, primary_key=True)}
    body.update({attr: mapped_column(String) for attr in sorted(attrs)})
    body.update(extra)
    return type(name, (Base,), body)


_ATTRS = _attributes()
User = _model("User", _ATTRS["User"])
Address = _model("Address", _ATTRS["Address"])
Post = _model("Post", _ATTRS["Post"])
Hero = _model("Hero", _ATTRS["Hero"])
# As in the fixtures: `Account.owner` is a many-to-one relationship.
Account = _model(
    "Account",
    _ATTRS["Account"] - {"owner"},
    owner_id=mapped_column(ForeignKey("user.id")),
    owner=relationship(User),
)


class _Namespace(dict):
    """Names in fixture spans: the models, SQLAlchemy helpers and the fixtures' local variables."""

    def __missing__(self, name):
        # Python-level values (`ids`, `roles`, `hidden`, ...) are lists unless listed here.
        return [1, 2]


NAMESPACE = _Namespace(
    {m: globals()[m] for m in MODELS}
    | {
        "models": types.SimpleNamespace(User=User),
        "cls": User,
        "manager": aliased(User),
        "users": User.__table__,
        "users_table": User.__table__,
        "func": func,
        "and_": and_,
        "or_": or_,
        "Kind": types.SimpleNamespace(beta="beta"),
        "x": 1,
        "tag": "t",
        "kind": "k",
        "flag": True,
        "strict": True,
        "include_deleted": False,
    }
)


def run(expression: str):
    """Evaluates `expression`: ("value", v) or ("raises", exception type)."""
    try:
        return "value", eval(expression, {"__builtins__": __builtins__}, NAMESPACE)  # noqa: S307
    except Exception as error:  # noqa: BLE001 - the exception type is the result
        return "raises", type(error)


def span(lines: list[str], finding: dict) -> str:
    start, end = finding["location"], finding["end_location"]
    if start["row"] == end["row"]:
        return lines[start["row"] - 1][start["column"] - 1 : end["column"] - 1]
    parts = [lines[start["row"] - 1][start["column"] - 1 :]]
    parts += lines[start["row"] : end["row"] - 1]
    parts.append(lines[end["row"] - 1][: end["column"] - 1])
    return " ".join(part.strip() for part in parts)


def sql(value) -> str:
    return str(value.compile()) if isinstance(value, ClauseElement) else str(value)


# --- What a Python constant does to criteria (the clause after ";" / ":" in the messages) ---------

ENGINE = create_engine("sqlite://")
Base.metadata.create_all(ENGINE)
with Session(ENGINE) as _session:
    _session.add_all([User(name="a"), User(name="b")])
    _session.commit()


def _rows(criterion) -> int:
    with Session(ENGINE) as session:
        legacy = session.query(User).filter(criterion).count()
        modern = len(session.scalars(select(User).where(criterion)).all())
        assert legacy == modern
        return modern


def _join_raises(value: bool) -> bool:
    for build in (
        lambda: select(User).join(Address, value),
        lambda: select(User).outerjoin(Address, onclause=value),
        lambda: Session(ENGINE).query(User).join(Address, value),
    ):
        with pytest.raises(ArgumentError):
            build()
    return True


CONDITION = User.name == "a"
EFFECTS = {
    "receives `False`, so the query matches no rows": lambda: _rows(False) == 0
    and "HAVING false" in sql(select(User.name).group_by(User.name).having(False)),
    "receives `True`, so the condition silently disappears": lambda: _rows(True) == 2
    and sql(select(User.id).where(CONDITION, True)) == sql(select(User.id).where(CONDITION)),
    "the join raises `ArgumentError`": lambda: _join_raises(False) and _join_raises(True),
    "`and_()` receives `False`, which makes the whole `and_()` false": lambda: sql(and_(CONDITION, False)) == "false",
    "`and_()` receives `True` and drops it": lambda: sql(and_(CONDITION, True)) == sql(CONDITION),
    "`or_()` receives `True`, which makes the whole `or_()` true": lambda: sql(or_(True, CONDITION)) == "true",
    "`or_()` receives `False` and drops it": lambda: sql(or_(False, CONDITION)) == sql(CONDITION),
    "`& False` makes the whole conjunction false": lambda: sql(CONDITION & False) == "false",
    "`| True` makes the whole disjunction true": lambda: sql(CONDITION | True) == "true",
    "`&` drops the `True`": lambda: sql(CONDITION & True) == sql(CONDITION),
    "`|` drops the `False`": lambda: sql(CONDITION | False) == sql(CONDITION),
    "the condition is lost": lambda: True,
}


@pytest.mark.parametrize("effect", list(EFFECTS))
def test_effect_holds(effect):
    assert EFFECTS[effect](), effect


def check_effect(message: str) -> None:
    """Every message that names an effect names one that is checked above."""
    named = [effect for effect in EFFECTS if effect in message]
    assert named, f"no known effect in: {message}"
    # A branch of `a if test else b` only matters when taken; the effect itself is the same.
    for effect in named:
        assert EFFECTS[effect](), effect


def check_fix(finding: dict) -> None:
    if not finding["fix"]:
        return
    (edit,) = finding["fix"]["edits"]
    kind, value = run(edit["content"])
    assert kind == "value" and isinstance(value, ClauseElement), f"fix `{edit['content']}` gives {value}"
    rendered = sql(value)
    assert re.search(r"\bIS (NOT )?NULL\b|\bIS (NOT )?(true|false|1|0)\b|\b(NOT )?IN\b", rendered), rendered


# --- Each finding of each fixture ---------------------------------------------------------------


def check_sa401(expression: str, message: str) -> None:
    value = re.search(r"is always `(True|False)`", message).group(1) == "True"
    assert run(expression) == ("value", value), f"`{expression}` is not the constant {value}"
    check_effect(message)


def check_sa402(expression: str, message: str) -> None:
    found = re.search(r"call(?:s)? `bool\(\)` on `(.+?)`, which (.*)", message)
    assert found, message
    operand, reason = found.groups()
    if not operand.endswith("..."):
        kind, value = run(operand)
        assert kind == "value", f"`{operand}` raised {value}"
        try:
            truth = ("value", bool(value))
        except Exception as error:  # noqa: BLE001
            truth = ("raises", type(error))
        if reason.startswith("raises `TypeError"):
            assert truth == ("raises", TypeError), f"bool({operand}) is {truth}"
        elif reason.startswith("for `"):
            expected = re.match(r"for `[!=]=` is a Python identity test of the two sides \(`(True|False)`", reason)
            assert truth == ("value", expected.group(1) == "True"), f"bool({operand}) is {truth}"
        else:
            assert reason.startswith("is always `True` for a mapped attribute"), reason
            assert truth == ("value", True), f"bool({operand}) is {truth}"
    kind, value = run(expression)
    if sees := re.search(r"so SQLAlchemy only ever sees `(.+)`$", message):
        assert kind == "value", f"`{expression}` raised {value}"
        if not sees.group(1).endswith("..."):
            assert sql(value) == sql(run(sees.group(1))[1]), f"`{expression}` is `{sql(value)}`"
    elif python_value := re.search(r"receives the Python value `(.+)` instead", message):
        assert (kind, value) == run(python_value.group(1)), f"`{expression}` is {value!r}"
    elif re.search(r"and `bool\(\)` on `(.+)` then raises `TypeError`$", message):
        assert (kind, value) == ("raises", TypeError), f"`{expression}` gives {value!r}"
    elif any(effect in message for effect in EFFECTS):
        # `not X` made a Python constant, and the message says what the criteria do with it.
        constant = bool(re.search(r"receives `True`|`\| True`|drops the `True`", message))
        assert (kind, value) == ("value", constant), f"`{expression}` gives {value!r}"
        check_effect(message)
    elif reason.startswith("raises `TypeError"):
        # Nothing else is claimed; when the raising operand comes first, the whole expression raises.
        first = expression.lstrip("( ").removeprefix("not ").lstrip("( ")
        if first.startswith(operand):
            assert (kind, value) == ("raises", TypeError), f"`{expression}` gives {value!r}"


def check_sa403(expression: str, message: str) -> None:
    kind, value = run(expression)
    if "raises `NotImplementedError`" in message:
        assert (kind, value) == ("raises", NotImplementedError), f"`{expression}` gives {value!r}"
    elif "raises `TypeError` before any SQL" in message:
        assert (kind, value) == ("raises", TypeError), f"`{expression}` gives {value!r}"
    elif "compares the relationship" in message:
        assert (kind, value) == ("raises", ArgumentError), f"`{expression}` gives {value!r}"
        # With mapped objects the relationship's `==` is falsy, so `in` is `False`.
        constant = re.search(r"then it is `(True|False)`", message).group(1) == "True"
        members = [User(id=1)]
        actual = (Account.owner not in members) if " not in " in expression else (Account.owner in members)
        assert actual is constant
    else:
        constant = re.search(r"it is (?:always )?`(True|False)`", message).group(1) == "True"
        assert (kind, value) == ("value", constant), f"`{expression}` gives {value!r}"
        check_effect(message)


CHECKS = {"SA401": check_sa401, "SA402": check_sa402, "SA403": check_sa403}


def _findings():
    params = []
    for code in CODES:
        path = FIXTURES / f"{code}.py"
        lines = path.read_text().splitlines()
        for finding in sqlalint_findings(code, path):
            expression = span(lines, finding)
            params.append(pytest.param(code, expression, finding, id=f"{code}:{finding['location']['row']}"))
    return params


@pytest.mark.parametrize(("code", "expression", "finding"), _findings())
def test_message_holds_at_run_time(code, expression, finding):
    CHECKS[code](expression, finding["message"])
    check_fix(finding)


def test_every_fixture_finding_is_checked():
    assert len(_findings()) >= 60
    # Sanity: the namespace resolves what the fixtures use.
    assert run("User.deleted_at")[0] == "value" and run("users_table.c.deleted_at")[0] == "value"
