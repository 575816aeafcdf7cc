; code: SA609
; name: mutable-column-default
; summary: `default=[]` / `{}` / `set()` on a column: one mutable object shared by every row the ORM inserts
; severity: warning
; family: schema
; default: on
; fix: none
; precision: very-high
;
; ## What it does
; Checks for a mutable literal given as the Python-side default of a column: `default=[]`,
; `default={}`, `default=set()`, `default=list()`, `default=dict(...)`, `default=[1, 2]` (and the
; same values for `insert_default=`) in `Column(...)`, `mapped_column(...)`, Flask-SQLAlchemy
; `db.Column(...)` and `sa.Column(...)` / `sqlalchemy.Column(...)`. A bare `Column` or
; `mapped_column` counts only when the file imports it from `sqlalchemy` (or SQLModel),
; so other libraries' `Column` classes are never reported.
;
; ## Why is this bad?
; The expression is evaluated once, when the class body runs. SQLAlchemy keeps that single
; object as the column's `ColumnDefault` and, for every INSERT that does not set the column,
; sends it as the parameter and then stores **the very same object** on the new instance.
; Every object created from then on shares one list (or dict): an in-place change on one row
; (`post.tags.append("x")`) changes the default and every other new row that still holds it,
; and because in-place changes are not tracked, the change may never be written at all.
; With dataclass mapping (`MappedAsDataclass`), `mapped_column(default=[])` fails at class
; creation instead ("mutable default ... is not allowed: use default_factory").
;
; ## Example
; ```python
; class Post(Base):
;     __tablename__ = "post"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     tags: Mapped[list] = mapped_column(JSON, default=[])
;     meta = Column(JSON, default={})
; ```
;
; Use instead:
; ```python
; class Post(Base):
;     __tablename__ = "post"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     tags: Mapped[list] = mapped_column(JSON, default=list)
;     meta = Column(JSON, default=dict)
; ```
;
; A callable default runs once per INSERT, so each row gets a new object; for a non-empty
; value, `default=lambda: ["draft"]`. With `MappedAsDataclass`, use `default_factory=list`.
; A database-side default (`server_default=text("'[]'")`) also avoids the shared object.
;
; ## Known limitations
; Not reported, because nothing is shared there: SQLModel's `Field(default=[])` (a Pydantic
; default, copied for each instance); columns of a mutation-tracked type
; (`MutableDict.as_mutable(JSON)`, which copies the default into a new `MutableDict` per object —
; any `as_mutable(` / `associate_with(` in the file silences it, since the type may be held in a
; variable); and Alembic migration scripts (files importing `alembic`), whose `Column(...)`
; definitions only create tables. Defaults held in a variable (`default=EMPTY`) are not followed.
;
; ## References
; - [SQLAlchemy: Column INSERT/UPDATE Defaults — Scalar Defaults](https://docs.sqlalchemy.org/en/20/core/defaults.html#scalar-defaults)
; - [SQLAlchemy: Python-Executed Functions](https://docs.sqlalchemy.org/en/20/core/defaults.html#python-executed-functions)
; - [SQLAlchemy: Declarative Dataclass Mapping — column defaults](https://docs.sqlalchemy.org/en/20/orm/dataclasses.html#column-defaults)

; Column(..., default=[]) / mapped_column(..., insert_default={}); the check finds the call.
(keyword_argument
  name: (identifier) @_key (#any-of? @_key "default" "insert_default")
  value: [(list) (dictionary) (set) (list_comprehension) (dictionary_comprehension) (set_comprehension) (call)] @value) @kwarg
