; code: SA607
; name: fk-target-missing
; summary: `ForeignKey("t.c")` names a table the project does not define, or a column table `t` does not have: `create_all()` and the first flush fail
; severity: error
; family: schema
; default: on
; fix: none
; precision: very-high
;
; ## What it does
; Checks every literal `ForeignKey("table.column")` (also `db.ForeignKey`, `sa.ForeignKey` and
; SQLModel's `Field(foreign_key="table.column")`) in a mapped class or a Core `Table(...)`, and
; reports it when the project defines no table of that name, or the table has no column of that
; name. Tables are the models' `__tablename__`, the names Flask-SQLAlchemy (`UserAccount` →
; `user_account`) and SQLModel (`UserAccount` → `useraccount`) generate for models without one,
; and Core `Table("name", metadata, ...)` definitions. A column is named the way the table knows
; it: `mapped_column("db_name", ...)` / `Column("db_name", ...)` give the column the database
; name, so `ForeignKey("users.id")` does not find an attribute `id` stored as `user_id`; a Core
; `Column("id", key="uid")` is found as `uid`.
;
; The rule decides from the project model index (see the README) and stays silent whenever the
; table could exist where the index does not look:
; - a schema-qualified target (`"audit.users.id"`): schemas are often created outside the project;
; - the project reflects tables (`autoload_with=`, `MetaData.reflect()`, `automap_base`,
;   `DeferredReflection`) or computes table names (`@declared_attr def __tablename__`, an
;   f-string `__tablename__`);
; - the table name appears as a literal `Table("name"` or `__tablename__ = "name"` anywhere in the
;   project, function bodies and tests included;
; - a missing *table* is reported only for a foreign key in a model whose bases are all known to
;   the index, or in a `Table` on a `MetaData` the project defines: a model on another package's
;   base (a plugin of Airflow, Flask-AppBuilder...) may point at that package's tables;
; - a missing *column* is reported only when every definition of the table is fully known (no
;   base outside the project, no `Column` added after the class body, no `*columns` in a `Table`);
; - Alembic migrations (they name tables of the database, not of the models) and classes or
;   tables defined inside functions.
;
; ## Why is this bad?
; SQLAlchemy resolves the string only when it needs the target column: `metadata.create_all()`
; fails with `NoReferencedTableError` / `NoReferencedColumnError`, and so does the first flush
; or join that needs the foreign key, typically in production after a rename of the table or the
; column. The code imports fine, so nothing catches it earlier.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;
; class Post(Base):
;     __tablename__ = "posts"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # the table is `users`
; ```
;
; Use instead:
; ```python
; class Post(Base):
;     __tablename__ = "posts"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
; ```
;
; Or name the column itself, `ForeignKey(User.id)`, which follows renames.
;
; ## References
; - [SQLAlchemy: `ForeignKey`](https://docs.sqlalchemy.org/en/20/core/constraints.html#sqlalchemy.schema.ForeignKey)
; - [SQLAlchemy: `NoReferencedTableError`](https://docs.sqlalchemy.org/en/20/core/exceptions.html#sqlalchemy.exc.NoReferencedTableError)
; - [Flask-SQLAlchemy: table names](https://flask-sqlalchemy.readthedocs.io/en/stable/models/#defining-models)
; - [SQLModel: table names](https://sqlmodel.tiangolo.com/tutorial/create-db-and-table/)

(call
  function: [
    (identifier) @callee
    (attribute attribute: (identifier) @callee)
  ]
  (#any-of? @callee "ForeignKey" "Field")) @call
