; code: SA303
; name: legacy-query-api
; summary: Legacy `session.query(...)` / `Model.query` instead of a 2.0 `select()` run by the session
; severity: info
; family: modernization
; default: off
; fix: unsafe
; precision: high
; tags: sqlalchemy-2.0
;
; ## What it does
; Checks for queries written with the 1.x `Query` API: `session.query(User).filter(...).all()`,
; `db.session.query(User.id, User.name)`, and Flask-SQLAlchemy's `User.query.filter_by(...)`
; (when `User` is a model of the project). The help spells out the 2.0 statement for the common
; shapes:
;
; | legacy | 2.0 |
; | --- | --- |
; | `session.query(M).filter(c).all()` | `session.scalars(select(M).where(c)).all()` |
; | `session.query(M).filter_by(k=v).first()` | `session.scalars(select(M).filter_by(k=v).limit(1)).first()` |
; | `session.query(M).one()` / `.one_or_none()` | `session.scalars(select(M)).one()` / `.one_or_none()` |
; | `session.query(M.a, M.b).all()` | `session.execute(select(M.a, M.b)).all()` |
; | `session.query(M).filter(c).count()` | `session.scalar(select(func.count()).select_from(select(M).where(c).subquery()))` |
; | `M.query.filter_by(k=v).first_or_404()` | `db.first_or_404(db.select(M).filter_by(k=v))` |
;
; The receiver must look like a session (`session`, `db.session`, `self.sess`, `s`) or the module
; must import SQLAlchemy, and every argument of `query()` must look like an entity or a column
; expression: `df.query("a > 1")`, `search.query("match", ...)` and the like are not reported.
;
; Not reported here, to give one finding per call: chains that SA304 reports (`.get()`,
; `.get_or_404()`, which it rewrites to `Session.get()`), chains that SA305 reports
; (`.from_self()`, joins and loader options given strings), and `len(session.query(M).all())`,
; which SA102 reports (its fix replaces the whole expression with a count in the database):
; their messages already give the replacement, and they come first.
;
; ## Why is this bad?
; The `Query` object is legacy in SQLAlchemy 2.0: it is kept for compatibility, receives no new
; features, and does not exist on `AsyncSession` at all. A `select()` statement is the one query
; language of 2.0, shared by the ORM and Core, sync and async code, and it can be built, passed
; around and typed independently of the session that runs it. Migrating is also a step towards
; typed results (`Mapped[...]` columns give `select(User)` a `Select[tuple[User]]` type).
;
; ## Example
; ```python
; users = session.query(User).filter(User.active).order_by(User.name).all()
; count = session.query(User).filter(User.active).count()
; ```
;
; Use instead:
; ```python
; users = session.scalars(select(User).where(User.active).order_by(User.name)).all()
; count = session.scalar(select(func.count()).select_from(select(User).where(User.active).subquery()))
; ```
;
; ## Fix safety
; An unsafe fix (`--fix --unsafe-fixes`) rewrites a single-entity query whose chain holds only
; `filter` / `filter_by` / `where` / `order_by` / `limit` / `offset` and ends in `.all()`,
; `.first()` (with `.limit(1)`, which `Query.first()` applies too), `.one()` or `.one_or_none()`,
; and adds `from sqlalchemy import select` when `select` is not imported yet. These return the
; same objects, with two exceptions that make the fix unsafe: a model with a collection loaded
; with `lazy="joined"` (2.0 results then refuse `.all()`, `.one()` and `.one_or_none()` without
; `.unique()`, which the legacy `Query` applied silently — the fix is withheld when the model is
; defined in the same module, but a model imported from elsewhere is not seen), and a subclassed
; `Query` (a `query_cls=` with custom behaviour, Flask-SQLAlchemy's `query_class`), which no
; longer applies. Chains
; with `options()` (a joined eager collection needs `.unique()` on 2.0 results), `distinct()` (the
; legacy query adds ORDER BY columns to the SELECT list), joins, several entities, or comments
; between the links get no fix, nor does a module where `select` names something else.
;
; Opt-in (enable with `--extend-select SA303`): it reports every legacy query call, thousands in a
; large 1.x code base, which is a migration worklist rather than something to block a commit on.
;
; ## Known limitations
; A query built in steps (`q = session.query(User)`, then `q = q.filter(...)`) is reported on
; `session.query(User)`, with help for that part only. Flask-SQLAlchemy's `Model.query` is
; reported only when the model is in the linted files.
;
; ## References
; - [SQLAlchemy 2.0 Migration: ORM Querying Unified with Core Select](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html#orm-query-unified-with-core-select)
; - [SQLAlchemy 2.0: Legacy Query API](https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html)
; - [Flask-SQLAlchemy 3: Legacy Query Interface](https://flask-sqlalchemy.readthedocs.io/en/stable/legacy-query/)

; <receiver>.query(...) and Model.query
(attribute
  attribute: (identifier) @_query
  (#eq? @_query "query")) @query
