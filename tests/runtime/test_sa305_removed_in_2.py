"""SA305 removed-in-2: every call sqlalint reports fails on real SQLAlchemy 2.x, and every
unreported case in the same file runs. The case file labels its positives; sqlalint must
report exactly those, and SQLAlchemy must agree."""
import warnings
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from conftest import FunctionMap, sqlalint_findings

import sa305_cases

CASES = Path(__file__).with_name("sa305_cases.py")
FUNCTIONS = FunctionMap(CASES)
NAMES = [n for n in FUNCTIONS.functions if n != "setup"]


@pytest.fixture(scope="module")
def flagged() -> set[str]:
    lines = {f["location"]["row"] for f in sqlalint_findings("SA305", CASES)}
    return {name for name in NAMES if lines & FUNCTIONS.covering(name)}


def test_cases_cover_both_verdicts():
    labels = {FUNCTIONS.labelled(name, "SA305") for name in NAMES}
    assert labels == {True, False}


@pytest.mark.parametrize("name", NAMES)
def test_verdict_matches_sqlalchemy(name, flagged):
    labelled = FUNCTIONS.labelled(name, "SA305")
    assert (name in flagged) == labelled, f"sqlalint {'flags' if name in flagged else 'misses'} {name}"
    engine = sa305_cases.setup()
    with Session(engine) as session, warnings.catch_warnings():
        # Deprecation warnings are not failures here: only removal is.
        warnings.simplefilter("ignore")
        try:
            getattr(sa305_cases, name)(engine, session)
            failure = None
        except Exception as error:  # noqa: BLE001 - any exception is the removal showing
            failure = error
    if labelled:
        assert failure is not None, f"{name} is reported as removed in 2.0 but ran on SQLAlchemy 2.x"
    else:
        assert failure is None, f"{name} is not reported but failed on SQLAlchemy 2.x: {failure!r}"
