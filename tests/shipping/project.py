"""A small SQLAlchemy project shared by the shipping tests: models with a relationship in one
module, a view looping over users and reading the lazy relationship in another (an N+1 that
only the project-wide model index can see), and the fixed view."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

MODELS = '''\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    posts: Mapped[list["Post"]] = relationship(back_populates="author")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    author: Mapped[User] = relationship(back_populates="posts")
'''

VIEWS_N_PLUS_ONE = '''\
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User


def post_counts(session: Session) -> dict[str, int]:
    return {user.name: len(user.posts) for user in session.scalars(select(User))}
'''

VIEWS_FIXED = VIEWS_N_PLUS_ONE.replace(
    "from sqlalchemy.orm import Session", "from sqlalchemy.orm import Session, selectinload"
).replace("select(User)", "select(User).options(selectinload(User.posts))")

# The line of the N+1 in VIEWS_N_PLUS_ONE (1-based).
N_PLUS_ONE_LINE = VIEWS_N_PLUS_ONE.splitlines().index(
    "    return {user.name: len(user.posts) for user in session.scalars(select(User))}"
) + 1


def git_env(home: Path) -> dict[str, str]:
    """The environment for git and tools that call it: no variables inherited from an outer git
    hook (GIT_DIR, GIT_INDEX_FILE, ...), a throw-away global config with an identity (CI
    machines have none) that trusts any directory owner (a CI checkout may belong to another
    user)."""
    config = home / "gitconfig"
    config.write_text(
        "[user]\n\tname = sqlalint tests\n\temail = tests@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[safe]\n\tdirectory = *\n"
        "[commit]\n\tgpgsign = false\n[core]\n\thooksPath = /dev/null\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1"})
    return env


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


def write_project(root: Path, package: str = "app") -> None:
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "models.py").write_text(MODELS)
    (root / package / "views.py").write_text(VIEWS_N_PLUS_ONE)


def git_repo(root: Path, env: dict[str, str]) -> None:
    """`git init` + commit everything under `root`."""
    git(root, env, "init", "-q")
    git(root, env, "add", "-A")
    git(root, env, "commit", "-q", "-m", "project")
