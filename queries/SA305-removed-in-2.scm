; code: SA305
; name: removed-in-2
; summary: An API that SQLAlchemy 2.0 removed: the call fails on 2.x (`engine.execute()`, string SQL, `select([...])`, string loader options, ...)
; severity: error
; family: modernization
; default: on
; fix: safe
; precision: high
; tags: sqlalchemy-2.0
;
; ## What it does
; Checks for calls that worked on SQLAlchemy 1.x and fail on 2.0 and later, each with its
; replacement:
;
; | 1.x call | on 2.x | use instead |
; |---|---|---|
; | `engine.execute(...)`, `engine.table_names()`, `engine.has_table(t)` | `AttributeError` | `with engine.begin() as conn: conn.execute(...)`, `inspect(engine).get_table_names()` / `.has_table(t)` |
; | `session.execute("SELECT ...")`, `conn.execute("SELECT ...")` (a plain string) | `ArgumentError` / `ObjectNotExecutableError` | `session.execute(text("SELECT ..."))`, or `conn.exec_driver_sql(...)` |
; | `select([a, b])`, `case([(cond, value)], else_=x)` (list form) | `ArgumentError` | `select(a, b)`, `case((cond, value), else_=x)` |
; | `query.from_self()` | `AttributeError` | a subquery: `select(...).subquery()` then `select(aliased(Model, subq))` |
; | `joinedload("posts")`, `selectinload("a.b")`, `defer("name")`, `load_only("a", "b")`, `Load(User).joinedload("posts")` | `ArgumentError` | class-bound attributes: `joinedload(User.posts)`; the `"*"` wildcard stays valid |
; | `query.join("posts")` | `ArgumentError` | `query.join(User.posts)` |
; | `sessionmaker(autocommit=True)`, `Session(autocommit=True)` | `ArgumentError` when a session is made | explicit transactions: `with Session(engine) as s, s.begin(): ...` |
; | `MetaData(bind=engine)`, `declarative_base(bind=engine)` | `TypeError` | pass the engine where SQL runs: `metadata.create_all(engine)`, `Session(engine)` |
; | `Table(..., autoload=True)` | `TypeError` | `Table(..., autoload_with=engine)` |
; | `relation(...)` | `ImportError` | `relationship(...)` |
;
; `create_engine(..., future=True)` is accepted (and ignored) by 2.x and is not reported.
;
; A callee counts as SQLAlchemy's only when the module imports it from `sqlalchemy` (or
; SQLModel, Flask-SQLAlchemy), calls it through such an import (`sa.select`, `orm.joinedload`),
; or calls it on Flask-SQLAlchemy's `db` (`db.select`, `db.relation`). The receiver of
; `.execute()` must be named like an engine (`engine`, `db.engine`, `self.engine`,
; `create_engine(...)`), a session (`session`, `db.session`, a parameter annotated `Session`,
; a variable bound from `Session(...)` / `SessionLocal()`), or a SQLAlchemy connection (bound
; from `engine.connect()` / `engine.begin()` / Alembic's `op.get_bind()`, or annotated
; `Connection`), in a module that imports SQLAlchemy and no DB-API driver (`sqlite3`,
; `psycopg2`, ... whose `conn.execute("...")` is fine). `.join("posts")` is reported on a
; recognised query (`session.query(...)`, `Model.query`, `select(...)`, or a variable holding one).
;
; ## Why is this bad?
; Each of these raises on SQLAlchemy 2.0 and later: the code breaks on upgrade, often only on
; the code path that runs it (a migration, an admin command). SQLAlchemy 1.4 warns about all
; of them with `SQLALCHEMY_WARN_20=1`; this rule finds them without running the code.
;
; ## Example
; ```python
; from sqlalchemy import case, select
; from sqlalchemy.orm import joinedload
;
; rows = engine.execute("SELECT id FROM users").fetchall()
; stmt = select([User.id, User.name])
; users = session.query(User).options(joinedload("posts")).join("groups").all()
; ```
;
; Use instead:
; ```python
; from sqlalchemy import case, select, text
; from sqlalchemy.orm import joinedload
;
; with engine.connect() as conn:
;     rows = conn.execute(text("SELECT id FROM users")).fetchall()
; stmt = select(User.id, User.name)
; users = session.query(User).options(joinedload(User.posts)).join(User.groups).all()
; ```
;
; ## Fix safety
; `select([a, b])` → `select(a, b)` and `case([...], else_=x)` → `case(..., else_=x)` are
; safe fixes: the list's items become the positional arguments, which is what 2.0's signature
; takes and what 1.4 accepts too. They are offered only when the list is the one positional
; argument (`select([a], whereclause)` used the 1.x second argument) and holds no comment.
; `db.relation(...)` → `db.relationship(...)` is safe (the same function). The other findings
; have help text only: the replacement depends on the code around them.
;
; ## Known limitations
; Strings hidden in variables (`opts = "posts"; joinedload(opts)`) and engines or sessions with
; unusual names are not recognised; `.execute()` of a string held in a variable is reported
; only when the variable is assigned a string literal earlier in the same function.
;
; ## References
; - [SQLAlchemy 2.0: Migrating to SQLAlchemy 2.0](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html)
; - [SQLAlchemy 2.0: library-level (but not driver level) "Autocommit" removed](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html#library-level-but-not-driver-level-autocommit-removed-from-both-core-and-orm)
; - [SQLAlchemy 2.0: "Implicit" and "Connectionless" execution, "bound metadata" removed](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html#implicit-and-connectionless-execution-bound-metadata-removed)
; - [SQLAlchemy 2.0: select() no longer accepts varied constructor arguments](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html#migration-core-select-list)
; - [SQLAlchemy 2.0: ORM Query - Joining / loading on relationships uses attributes, not strings](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html#orm-query-joining-loading-on-relationships-uses-attributes-not-strings)
; - [SQLAlchemy 2.0: Selecting from the query itself as a subquery, e.g. "from_self()"](https://docs.sqlalchemy.org/en/20/changelog/migration_20.html#selecting-from-the-query-itself-as-a-subquery-e-g-from-self)

; Calls by a name that some removed API uses: `x.execute(...)`, `select([...])`, `joinedload("a")`, ...
(call
  function: [
    (identifier) @name
    (attribute attribute: (identifier) @name)
  ]
  (#any-of? @name
    "execute" "table_names" "has_table" "from_self" "join" "outerjoin"
    "select" "case" "sessionmaker" "Session" "MetaData" "declarative_base" "Table" "relation"
    "joinedload" "selectinload" "subqueryload" "lazyload" "noload" "raiseload" "immediateload"
    "defaultload" "contains_eager" "defer" "undefer" "load_only")) @span
