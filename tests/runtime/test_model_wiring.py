"""SA605, SA606, SA610 and SA611 hold under real SQLAlchemy. Each `bad_*` / `ok_*` module (or package)
of the rules' fixtures is a project of its own: it is imported in a fresh interpreter and its
mappers are configured (`configure_mappers()`). Every `bad_*` case — the ones sqlalint reports —
must fail with the error the message names; every `ok_*` case must import and configure cleanly."""
import subprocess
import sys

import pytest
from conftest import FIXTURES

# Rule → the SQLAlchemy errors its messages name.
ERRORS = {
    "SA605": ("InvalidRequestError",),
    "SA606": ("InvalidRequestError", "ArgumentError"),
    "SA610": ("AmbiguousForeignKeysError", "ArgumentError"),
    "SA611": ("ArgumentError",),
}

PROBE = """
import importlib, sys
sys.path.insert(0, sys.argv[1])
from sqlalchemy.orm import configure_mappers
try:
    importlib.import_module(sys.argv[2])
    configure_mappers()
except Exception as error:
    print(type(error).__name__ + ": " + str(error).splitlines()[0])
    sys.exit(3)
"""


def _cases():
    for code in sorted(ERRORS):
        for path in sorted((FIXTURES / code).iterdir()):
            name = path.stem if path.suffix == ".py" else path.name
            if name.startswith(("bad_", "ok_")) and (path.suffix == ".py" or path.is_dir()):
                yield pytest.param(code, name, path, id=f"{code}.{name}")


def _labelled(code: str, path) -> bool:
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    return any(f"# expect: {code}" in f.read_text() for f in files)


@pytest.mark.parametrize(("code", "name", "path"), list(_cases()))
def test_case_configures_exactly_when_sqlalint_is_silent(code, name, path):
    labelled = _labelled(code, path)
    assert labelled == name.startswith("bad_"), f"{name}: `bad_` cases carry `# expect: {code}`, `ok_` ones none"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(FIXTURES), f"{code}.{name}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode in (0, 3), proc.stderr
    if labelled:
        assert proc.returncode == 3, f"{name} is reported but configures cleanly"
        assert proc.stdout.startswith(ERRORS[code]), f"{name}: unexpected error {proc.stdout}"
    else:
        assert proc.returncode == 0, f"{name} is not reported but fails: {proc.stdout}"
