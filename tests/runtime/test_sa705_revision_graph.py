"""SA705 under real Alembic: for each fixture environment, Alembic's own script directory
loader (`ScriptDirectory`, what `alembic heads` uses) must reach the verdict sqlalint reaches —
forked or not, dangling or not, duplicate or not, cyclic or not."""
import configparser
import warnings
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from alembic.script.revision import CycleDetected

from conftest import FIXTURES, sqlalint_findings

ROOT = FIXTURES / "SA705"
ENVIRONMENTS = sorted(p.parent for p in ROOT.glob("*/alembic.ini"))


def script_directory(env: Path) -> ScriptDirectory:
    """The environment's ScriptDirectory, with the version folders its alembic.ini names."""
    ini = configparser.ConfigParser()
    ini.read(env / "alembic.ini")
    section = ini["alembic"]
    here = str(env)
    locations = section.get("version_locations", raw=True)
    return ScriptDirectory(
        str(env / "migrations"),
        version_locations=[p.replace("%(here)s", here) for p in locations.split()] if locations else None,
        recursive_version_locations=section.getboolean("recursive_version_locations", fallback=False),
    )


def alembic_verdict(env: Path) -> set[str]:
    """What Alembic's loader says is wrong with the environment's revision graph."""
    verdict = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            script = script_directory(env)
            heads = script.get_heads()
            revisions = {r.revision: r for r in script.walk_revisions()}
        except CycleDetected:
            verdict.add("cycle")
            heads, revisions = [], {}
        except KeyError:
            verdict.add("dangling")
            heads, revisions = [], {}
    for warning in caught:
        text = str(warning.message)
        if "is present more than once" in text:
            verdict.add("duplicate")
        if "is not present" in text:
            verdict.add("dangling")
    if "duplicate" in verdict:
        return verdict  # Alembic keeps one of the twins: its heads say nothing more
    # A fork is two heads with a common ancestor whose lines carry no branch label of their own.
    unlabelled = [h for h in heads if not revisions[h].branch_labels]
    if len(heads) > 1 and len(unlabelled) > 1:
        lines = [set(script.revision_map._get_ancestor_nodes([revisions[h]], check=False)) for h in unlabelled]
        if any(a & b for i, a in enumerate(lines) for b in lines[i + 1 :]):
            verdict.add("forked")
    return verdict


def sqlalint_verdict(env: Path) -> set[str]:
    verdict = set()
    for finding in sqlalint_findings("SA705", env):
        message = finding["message"]
        if "forks here" in message:
            verdict.add("forked")
        elif "names" in message and ("no revision file declares" in message or "neither a revision" in message):
            verdict.add("dangling")
        elif "is also declared by" in message:
            verdict.add("duplicate")
        elif "cycle" in message:
            verdict.add("cycle")
        elif "file name" in message:
            verdict.add("file-name")  # Alembic does not look at file names
    return verdict


def test_every_kind_of_environment_is_present():
    names = {env.name for env in ENVIRONMENTS}
    assert {"forked", "merged", "labelled", "dangling", "duplicate", "cycle", "filename"} <= names


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda p: p.name)
def test_sqlalint_agrees_with_alembic(env: Path):
    assert sqlalint_verdict(env) - {"file-name"} == alembic_verdict(env)


def test_clean_environments_load_with_one_head_per_branch():
    script = script_directory(ROOT / "merged")
    assert script.get_heads() == ["6f7a8b9c0d1e"]
    labelled = script_directory(ROOT / "labelled")
    assert sorted(labelled.get_heads()) == ["aa02", "aa03", "bb02"]
    assert labelled.get_revision("plugin@head").revision == "bb02"
