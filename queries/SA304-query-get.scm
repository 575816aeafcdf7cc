; code: SA304
; name: query-get
; summary: Legacy `Query.get()` / `Model.query.get_or_404()` instead of `Session.get()` / `db.get_or_404()`
; severity: warning
; family: modernization
; default: on
; fix: safe
; precision: high
;
; ## What it does
; Checks for primary-key lookups through the legacy `Query.get()` method:
; `session.query(User).get(pk)`, `db.session.query(User).get(pk)`, Flask-SQLAlchemy's
; `User.query.get(pk)` and `User.query.get_or_404(pk)`, including queries that only add
; loader options (`session.query(User).options(joinedload(User.roles)).get(pk)`) and
; queries held in a local variable (`q = session.query(User)` ... `q.get(pk)`).
;
; ## Why is this bad?
; `Query.get()` has been legacy since SQLAlchemy 1.4; on 2.x every call emits a
; `LegacyAPIWarning` ("The method is now available as `Session.get()`"), and the legacy
; `Query` API is not where new features land. `Session.get(entity, pk)` does exactly the
; same identity-map lookup (no SQL when the object is already loaded) and takes the loader
; options, `populate_existing` and `with_for_update` as keyword arguments.
;
; `Query.get()` only ever looks up a primary key: on a query that carries criteria
; (`.filter()`, `.join()`, `.limit()`...) it raises `InvalidRequestError`, so such calls are
; reported as bugs as well.
;
; Flask-SQLAlchemy's `Model.query.get_or_404(pk)` calls `Query.get()` too; Flask-SQLAlchemy
; 3.0 added `db.get_or_404(Model, pk)`, built on `Session.get()`.
;
; ## Example
; ```python
; user = session.query(User).get(user_id)
; user = session.query(User).options(selectinload(User.roles)).get(user_id)
; user = User.query.get(user_id)            # Flask-SQLAlchemy
; user = User.query.get_or_404(user_id)
; ```
;
; Use instead:
; ```python
; user = session.get(User, user_id)
; user = session.get(User, user_id, options=[selectinload(User.roles)])
; user = db.session.get(User, user_id)
; user = db.get_or_404(User, user_id)       # Flask-SQLAlchemy >= 3.0
; ```
;
; Composite keys are passed the same way: `session.get(Order, (1, 2))` or
; `session.get(Order, {"id": 1, "version": 2})`.
;
; ## Fix safety
; The fix is safe when the rewrite is exact: the session expression is reused verbatim
; (`db.session.query(User).get(1)` becomes `db.session.get(User, 1)`), `query()` has exactly
; one entity, and the only links between `query()` and `get()` are `.options(...)`,
; `.populate_existing()` and `.with_for_update(...)`, which become the `options=`,
; `populate_existing=True` and `with_for_update=` arguments of `Session.get()`. The fix is
; offered only when the receiver of `query()` is recognisably a session (`session`,
; `db.session`, `self.session`, `db`, `Session()`...) and the call contains no comment.
;
; For Flask-SQLAlchemy's `User.query.get(pk)` the session is implicit; the fix writes
; `db.session.get(User, pk)` only when the module imports a name `db` (`from app import db`)
; or defines it as `db = SQLAlchemy(...)`, and no enclosing function rebinds `db`.
; Otherwise the finding has help text only.
;
; Rewriting `User.query.get_or_404(pk)` to `db.get_or_404(User, pk)` is an **unsafe** fix: the
; method exists only on Flask-SQLAlchemy 3.0+, so it breaks projects still on 2.x.
;
; Not offered: `.filter(...).get()` and other criteria (the call raises today; the intended
; query cannot be inferred), unknown chain links, and queries held in a variable. A custom
; `Query` subclass that overrides `get()` (e.g. a soft-delete filter set as `query_cls` or
; Flask-SQLAlchemy `query_class`) is bypassed by `Session.get()`; exclude such files or
; suppress with `# noqa: SA304`.
;
; ## References
; - [SQLAlchemy: Session.get()](https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.get)
; - [SQLAlchemy: Query.get() (legacy)](https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html#sqlalchemy.orm.Query.get)
; - [SQLAlchemy 2.0 migration: ORM Query - get() method moves to Session](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html#migration-20-get-to-session)
; - [Flask-SQLAlchemy: Queries for Views (`db.get_or_404`)](https://flask-sqlalchemy.readthedocs.io/en/stable/queries/#queries-for-views)

; <query chain>.get(pk) / .get_or_404(pk): session.query(M)[.options(...)].get(pk), M.query.options(...).get(pk)
(call
  function: (attribute
    object: (call function: (attribute)) @receiver
    attribute: (identifier) @_get)
  (#any-of? @_get "get" "get_or_404")) @span

; Flask-SQLAlchemy: M.query.get(pk) / M.query.get_or_404(pk)
(call
  function: (attribute
    object: (attribute attribute: (identifier) @_query) @receiver
    attribute: (identifier) @_get)
  (#eq? @_query "query")
  (#any-of? @_get "get" "get_or_404")) @span

; q.get(pk) where `q = session.query(M)` earlier in the same function
(call
  function: (attribute
    object: (identifier) @receiver
    attribute: (identifier) @_get)
  (#any-of? @_get "get" "get_or_404")) @span
