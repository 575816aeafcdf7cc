"""SA607 holds under real SQLAlchemy: each `bad_*` / `ok_*` module (or package) of the rule's fixture
is imported in a fresh interpreter and every `MetaData` it defines is created on SQLite
(`metadata.create_all()`). Every `bad_*` case — sqlalint reports it — must fail with the error its
message names; every `ok_*` case must create cleanly. sqlalint's findings are checked per case too."""
import subprocess
import sys

import pytest
from conftest import FIXTURES, sqlalint_findings

CODE = "SA607"
ERRORS = ("NoReferencedTableError", "NoReferencedColumnError")

PROBE = """
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
from sqlalchemy import MetaData, create_engine
module = importlib.import_module(sys.argv[2])
if hasattr(module, "__path__"):
    for info in pkgutil.iter_modules(module.__path__):
        importlib.import_module(f"{module.__name__}.{info.name}")
found = []
def collect(value):
    if isinstance(value, MetaData):
        found.append(value)
    elif isinstance(getattr(value, "metadata", None), MetaData):
        found.append(value.metadata)
for name in list(sys.modules):
    if name == sys.argv[2] or name.startswith(sys.argv[2] + "."):
        for value in vars(sys.modules[name]).values():
            collect(value)
if "sqlmodel" in sys.modules:
    found.append(sys.modules["sqlmodel"].SQLModel.metadata)
assert found, "no MetaData found"
try:
    for metadata in {id(m): m for m in found}.values():
        metadata.create_all(create_engine("sqlite://"))
except Exception as error:
    print(type(error).__name__ + ": " + str(error).splitlines()[0])
    sys.exit(3)
"""


def _cases():
    for path in sorted((FIXTURES / CODE).iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        if name.startswith(("bad_", "ok_")) and (path.suffix == ".py" or path.is_dir()):
            yield pytest.param(name, path, id=name)


@pytest.mark.parametrize(("name", "path"), list(_cases()))
def test_case_creates_exactly_when_sqlalint_is_silent(name, path):
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    labelled = any(f"# expect: {CODE}" in f.read_text() for f in files)
    assert labelled == name.startswith("bad_"), f"{name}: `bad_` cases carry `# expect: {CODE}`, `ok_` ones none"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(FIXTURES), f"{CODE}.{name}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode in (0, 3), proc.stderr
    if labelled:
        assert proc.returncode == 3, f"{name} is reported but creates cleanly"
        assert proc.stdout.startswith(ERRORS), f"{name}: unexpected error {proc.stdout}"
    else:
        assert proc.returncode == 0, f"{name} is not reported but fails: {proc.stdout}"


def test_sqlalint_reports_exactly_the_bad_cases():
    findings = sqlalint_findings(CODE, FIXTURES / CODE)
    flagged = {f["filename"].split(f"/{CODE}/")[1].split("/")[0].removesuffix(".py") for f in findings}
    bad = {p.stem if p.suffix == ".py" else p.name for p in (FIXTURES / CODE).iterdir() if p.name.startswith("bad_")}
    assert flagged == bad
