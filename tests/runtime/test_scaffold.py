"""`sqlalint new` under the real stack: the generated model creates its tables, keys and
indexes on SQLite; the FastAPI and Flask session modules commit a request that succeeds and
roll back one that fails; the generated Alembic environment autogenerates the first revision,
upgrades to it and downgrades back to an empty database; and every generated file is left as
`ruff format` would leave it (and clean under `ruff check` for pyflakes, pycodestyle, isort)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent


def sqlalint(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    binary = os.environ.get("SQLALINT_BIN")
    if not binary:
        pytest.fail("SQLALINT_BIN is not set: run these tests through `cargo test --test runtime`")
    proc = subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    assert proc.returncode == 0, f"sqlalint {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def python(cwd: Path, script: str, env: dict | None = None) -> str:
    """Runs `script` in a fresh interpreter (the generated modules get clean imports)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, f"script failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def assert_gate_and_format(project: Path, generated: list[str]) -> None:
    """Zero sqlalint findings with every rule on, and `ruff format --check` clean."""
    check = subprocess.run(
        [os.environ["SQLALINT_BIN"], "check", ".", "--isolated", "--select", "ALL", "--output-format", "concise"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, f"generated code has findings:\n{check.stdout}\n{check.stderr}"
    fmt = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--isolated", "--check", "--diff", *generated],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, f"ruff format would change the generated code:\n{fmt.stdout}\n{fmt.stderr}"
    # Pyflakes, pycodestyle and isort too: no undefined names in the string annotations, imports sorted.
    lint = subprocess.run(
        [str(VENV_BIN / "ruff"), "check", "--isolated", "--select", "F,E,W,I", *generated],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, f"ruff check finds problems in the generated code:\n{lint.stdout}\n{lint.stderr}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    sqlalint(tmp_path, "new", "model", "Team", "--columns", "id:int:pk,name:str:80:unique")
    sqlalint(
        tmp_path,
        "new",
        "model",
        "User",
        "--columns",
        "id:int:pk,name:str:unique,email:str:index,bio:text?,team_id:fk=teams.id,"
        "joined:datetime,balance:decimal,born:date?,active:bool,score:float,token:uuid,prefs:json?",
        "--relationship",
        "team:Team:many-to-one",
    )
    sqlalint(tmp_path, "new", "model", "Node", "--columns", "label:str", "--relationship", "parent:Node:many-to-one:selectin")
    return tmp_path


def test_generated_models_create_their_tables_keys_and_indexes(project: Path):
    assert_gate_and_format(project, ["team.py", "user.py", "node.py"])
    out = python(
        project,
        """
        import datetime, decimal, uuid
        import pytest
        from sqlalchemy import create_engine, inspect, select
        from sqlalchemy.orm import Session, selectinload
        from sqlalchemy.exc import InvalidRequestError
        import team, user, node

        assert user.Base is team.Base and node.Base is team.Base
        engine = create_engine("sqlite://")
        team.Base.metadata.create_all(engine)
        insp = inspect(engine)
        assert set(insp.get_table_names()) == {"teams", "users", "nodes"}
        columns = {c["name"]: c for c in insp.get_columns("users")}
        assert list(columns) == ["id", "name", "email", "bio", "team_id", "joined", "balance",
                                 "born", "active", "score", "token", "prefs"]
        assert {n for n, c in columns.items() if c["nullable"]} == {"bio", "born", "prefs"}
        assert str(columns["name"]["type"]) == "VARCHAR(255)"
        assert insp.get_pk_constraint("users")["constrained_columns"] == ["id"]
        fks = insp.get_foreign_keys("users")
        assert [(f["constrained_columns"], f["referred_table"], f["referred_columns"]) for f in fks] == [
            (["team_id"], "teams", ["id"])]
        indexes = {tuple(i["column_names"]): bool(i["unique"]) for i in insp.get_indexes("users")}
        uniques = [tuple(u["column_names"]) for u in insp.get_unique_constraints("users")]
        assert indexes[("email",)] is False and indexes[("team_id",)] is False
        assert ("name",) in uniques or indexes.get(("name",)) is True
        assert [tuple(i["column_names"]) for i in insp.get_indexes("nodes")] == [("parent_id",)]
        assert [f["referred_table"] for f in insp.get_foreign_keys("nodes")] == ["nodes"]

        with Session(engine) as s:
            acme = team.Team(name="acme")
            s.add(user.User(name="ann", email="a@x", team=acme, joined=datetime.datetime.now(datetime.UTC),
                            balance=decimal.Decimal("1.50"), active=True, score=0.5, token=uuid.uuid4()))
            root = node.Node(label="root")
            s.add(node.Node(label="leaf", parent=root))
            s.commit()
        with Session(engine) as s:
            ann = s.scalars(select(user.User)).one()
            with pytest.raises(InvalidRequestError):
                ann.team  # lazy="raise": an unplanned lazy load is an error
            eager = selectinload(user.User.team).selectinload(team.Team.users)
            ann = s.scalars(select(user.User).options(eager)).one()
            assert ann.team.name == "acme" and [u.name for u in ann.team.users] == ["ann"]
            assert "User(id=1" in repr(ann)
        with Session(engine) as s:
            leaf = s.scalars(select(node.Node).where(node.Node.label == "leaf")).one()
            # lazy="selectin" on both sides of the tree: loaded with the row, no lazy load.
            assert leaf.parent.label == "root" and [c.label for c in leaf.parent.children] == ["leaf"]
        print("ok")
        """,
    )
    assert "ok" in out


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_fastapi_dependency_commits_and_rolls_back(project: Path, is_async: bool):
    args = ["new", "session", "--framework", "fastapi", "--out", "database.py"] + (["--async"] if is_async else [])
    sqlalint(project, *args)
    assert_gate_and_format(project, ["database.py"])
    db = project / "app.db"
    url = f"sqlite+aiosqlite:///{db}" if is_async else f"sqlite:///{db}"
    aw = "await " if is_async else ""
    define = "async def" if is_async else "def"
    python(
        project,
        f"""
        from fastapi import FastAPI
        from fastapi.testclient import TestClient
        from sqlalchemy import create_engine, func, select
        import database, team, user, node  # every model, so the mappers configure

        sync_engine = create_engine("sqlite:///{db}")
        team.Base.metadata.create_all(sync_engine)
        app = FastAPI()

        @app.post("/teams/{{name}}")
        {define} create(name: str, session: database.SessionDep) -> dict:
            session.add(team.Team(name=name))
            {aw}session.flush()
            if name == "boom":
                raise RuntimeError("the endpoint failed after writing")
            return {{"ok": True}}

        client = TestClient(app, raise_server_exceptions=False)
        assert client.post("/teams/acme").status_code == 200
        assert client.post("/teams/boom").status_code == 500
        with sync_engine.connect() as conn:
            names = conn.scalars(select(team.Team.name)).all()
        assert names == ["acme"], names
        print("ok")
        """,
        env={"DATABASE_URL": url},
    )


def test_flask_session_commits_and_rolls_back(project: Path):
    sqlalint(project, "new", "session", "--framework", "flask", "--out", "database.py")
    assert_gate_and_format(project, ["database.py"])
    db = project / "app.db"
    python(
        project,
        f"""
        from flask import Flask, abort
        from sqlalchemy import create_engine, select
        import database, team, user, node  # every model, so the mappers configure

        engine = create_engine("sqlite:///{db}")
        team.Base.metadata.create_all(engine)
        app = Flask(__name__)
        database.init_app(app)

        @app.post("/teams/<name>")
        def create(name):
            session = database.get_session()
            session.add(team.Team(name=name))
            session.flush()
            if name == "boom":
                raise RuntimeError("the view failed after writing")
            if name == "bad":
                abort(400)
            return {{"ok": True}}

        client = app.test_client()
        assert client.post("/teams/acme").status_code == 200
        assert client.post("/teams/boom").status_code == 500
        assert client.post("/teams/bad").status_code == 400
        with engine.connect() as conn:
            names = conn.scalars(select(team.Team.name)).all()
        assert names == ["acme"], names
        print("ok")
        """,
        env={"DATABASE_URL": f"sqlite:///{db}"},
    )


def test_alembic_environment_upgrades_and_downgrades(project: Path):
    db = project / "migrations.db"
    env = {"DATABASE_URL": f"sqlite:///{db}", "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    made = sqlalint(project, "new", "alembic", "--message", "Initial schema", env=env)
    revisions = sorted((project / "migrations" / "versions").glob("*.py"))
    assert len(revisions) == 1, made.stdout + made.stderr
    assert revisions[0].name.endswith("_initial_schema.py")
    assert str(revisions[0].relative_to(project)) in made.stdout.splitlines(), made.stdout
    assert_gate_and_format(project, ["migrations/env.py"])
    alembic = str(VENV_BIN / "alembic")
    subprocess.run([alembic, "upgrade", "head"], cwd=project, env={**os.environ, **env}, check=True, capture_output=True)
    tables = python(
        project,
        f"""
        from sqlalchemy import create_engine, inspect
        insp = inspect(create_engine("sqlite:///{db}"))
        print(sorted(insp.get_table_names()))
        print(sorted(i["name"] for i in insp.get_indexes("users")))
        """,
    )
    assert "['alembic_version', 'nodes', 'teams', 'users']" in tables, tables
    assert "ix_users_email" in tables and "ix_users_team_id" in tables, tables
    subprocess.run([alembic, "downgrade", "base"], cwd=project, env={**os.environ, **env}, check=True, capture_output=True)
    tables = python(
        project,
        f"""
        from sqlalchemy import create_engine, inspect
        print(sorted(inspect(create_engine("sqlite:///{db}")).get_table_names()))
        """,
    )
    assert tables.strip() == "['alembic_version']", tables


def test_models_on_a_flask_sqlalchemy_base_map_and_relate(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "ext.py").write_text("from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n")
    sqlalint(tmp_path, "new", "model", "Author", "--columns", "name:str:120")
    sqlalint(tmp_path, "new", "model", "Book", "--columns", "title:str", "--relationship", "author:Author:many-to-one")
    assert_gate_and_format(tmp_path, ["app/author.py", "app/book.py"])
    python(
        tmp_path,
        """
        from flask import Flask
        from sqlalchemy import inspect, select
        from sqlalchemy.orm import selectinload
        from app.ext import db
        from app.author import Author
        from app.book import Book

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
        db.init_app(app)
        with app.app_context():
            db.create_all()
            insp = inspect(db.engine)
            assert [i["column_names"] for i in insp.get_indexes("books")] == [["author_id"]]
            db.session.add(Book(title="Dune", author=Author(name="Herbert")))
            db.session.commit()
            book = db.session.scalars(select(Book).options(selectinload(Book.author))).one()
            assert book.author.name == "Herbert"
        print("ok")
        """,
    )
