"""SA602's one-sided pairs hold under real SQLAlchemy. In `SA602/pair_v2.py`, a change made through each
reported relationship does not reach its reverse side in memory, and where neither side names the other,
configuring the mappers warns that both write the same columns; the pairs linked with `back_populates`
stay in sync and configure without warnings, and so do the deliberately independent ones."""
import ast
import importlib
import warnings

import pytest
from conftest import FIXTURES, sqlalint_findings
from sqlalchemy.orm import configure_mappers

CODE = "SA602"
PATH = FIXTURES / CODE / "pair_v2.py"
# Reported relationship -> its reverse side.
REPORTED = {"Purchase.shop": "Market.orders", "Animal.owner": "Keeper.pets", "Course.students": "Student.courses"}
LINKED = {"Volume.shelf": "Rack.volumes", "Rack.volumes": "Volume.shelf"}


def _attribute_lines() -> dict[int, str]:
    """Line of each `attr = ...` in a class body -> `Class.attr`."""
    lines = {}
    for node in ast.parse(PATH.read_text()).body:
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                target = getattr(statement, "target", None) or next(iter(getattr(statement, "targets", [])), None)
                if isinstance(target, ast.Name):
                    lines[statement.lineno] = f"{node.name}.{target.id}"
    return lines


@pytest.fixture(scope="module")
def module_and_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(f"{CODE}.pair_v2")
        configure_mappers()
    return module, [str(w.message) for w in caught]


def test_reported_relationships_are_exactly_the_unlinked_pairs():
    by_line = _attribute_lines()
    reported = {by_line.get(f["location"]["row"]) for f in sqlalint_findings(CODE, PATH)}
    assert reported == set(REPORTED)


def _link_through(module, side: str):
    """Sets `side` to a new object of its target; returns (owner, target)."""
    class_name, attr = side.split(".")
    cls = getattr(module, class_name)
    prop = getattr(cls, attr).property
    owner, target = cls(), prop.mapper.class_()
    if prop.uselist:
        getattr(owner, attr).append(target)
    else:
        setattr(owner, attr, target)
    return owner, target


def _reverse_sees(owner, target, reverse: str) -> bool:
    value = getattr(target, reverse.split(".")[1])
    return owner in value if isinstance(value, list) else value is owner


@pytest.mark.parametrize("side", sorted(REPORTED))
def test_reported_side_does_not_reach_its_reverse(side, module_and_warnings):
    module, _ = module_and_warnings
    owner, target = _link_through(module, side)
    assert not _reverse_sees(owner, target, REPORTED[side]), f"{side} is reported but stays in sync"


@pytest.mark.parametrize("side", sorted(LINKED))
def test_linked_pairs_stay_in_sync(side, module_and_warnings):
    module, _ = module_and_warnings
    owner, target = _link_through(module, side)
    assert _reverse_sees(owner, target, LINKED[side])


def test_unlinked_pairs_warn_and_clean_ones_do_not(module_and_warnings):
    _, messages = module_and_warnings
    conflicts = [m for m in messages if "conflicts with relationship(s)" in m]
    for side, reverse in [("Animal.owner", "Keeper.pets"), ("Student.courses", "Course.students")]:
        assert any(f"'{side}'" in m and f"'{reverse}'" in m for m in conflicts), f"no conflict warning for {side}"
    for clean in ["Store.region", "Territory.stores", "Receipt", "Citizen", "City", "Volume", "Rack", "Market", "Purchase"]:
        assert not any(clean in m for m in conflicts), f"{clean} warned: {conflicts}"
