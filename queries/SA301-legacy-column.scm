; code: SA301
; name: legacy-column
; summary: `name = Column(...)` in a declarative model instead of the 2.0 `name: Mapped[T] = mapped_column(...)`
; severity: info
; family: modernization
; default: on
; fix: safe
; precision: very-high
; tags: sqlalchemy-2.0
;
; ## What it does
; Checks declarative model classes and mixins for columns declared the 1.x way, with
; `Column(...)` (or Flask-SQLAlchemy's `db.Column(...)`) and no `Mapped[...]` annotation:
; `name = Column(String(50), nullable=False)`. The help gives the 2.0 form with the Python
; type read from the column type (`Integer` → `int`, `String` → `str`, `Boolean` → `bool`,
; `Float` → `float`, `LargeBinary` → `bytes`, `DateTime` → `datetime.datetime`, `Date` →
; `datetime.date`, `Numeric` → `decimal.Decimal`, `JSON` → `dict`, ...) and `Optional[...]`
; when the column is nullable — SQLAlchemy's default: nullable unless it is a primary key or
; says `nullable=False`.
;
; Not reported: `Column` inside `Table(...)` or `__table__` (Core), columns that already have
; a `Mapped[...]` annotation, classes inside functions, and Alembic migration scripts.
;
; ## Why is this bad?
; An unannotated `Column` attribute is typed as `Column[...]` (or `Any`) on instances, so type
; checkers cannot see that `user.name` is a `str` or that `user.email` may be `None`.
; SQLAlchemy 2.0's `Mapped[T]` annotations make every attribute's Python type and nullability
; explicit and checked (mypy and pyright understand them without plugins), and
; `mapped_column()` is the 2.0 construct the ORM documentation builds on
; (dataclass mapping, `type_annotation_map`, ...).
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id = Column(Integer, primary_key=True)
;     name = Column(String(50), nullable=False)
;     email = Column(String(120))
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(Integer, primary_key=True)
;     name: Mapped[str] = mapped_column(String(50), nullable=False)
;     email: Mapped[Optional[str]] = mapped_column(String(120))
; ```
;
; ## Fix safety
; The fix keeps every argument and the explicit column type, renames `Column` (or
; `db.Column`) to `mapped_column`, adds the annotation, and merges `Mapped`, `mapped_column`
; (and `Optional`) into the module's `from sqlalchemy.orm import ...` / `from typing import ...`.
; It is safe: with an explicit type and an annotation that states the same nullability the
; column already had, the table is identical (the runtime proof compares the schemas created on
; SQLite before and after). It is offered only for types that map to a builtin (`int`, `str`,
; `bool`, `float`, `bytes`) or to `datetime` / `decimal` types when the module already imports
; those modules (`import datetime`, or `from datetime import date` for `date`), for literal
; `nullable=` / `primary_key=` values, and when the assignment has no annotation and no comment
; inside the call. Other columns (`JSON`, `Enum`, custom types, a type given only by the foreign
; key) get the help text only.
;
; ## References
; - [SQLAlchemy 2.0: ORM Declarative Models (`Mapped` / `mapped_column`)](https://docs.sqlalchemy.org/en/20/orm/declarative_tables.html#declarative-table-with-mapped-column)
; - [SQLAlchemy 2.0: Migrating an existing mapping](https://docs.sqlalchemy.org/en/20/changelog/whatsnew_20.html#migrating-an-existing-mapping)
; - [SQLAlchemy 2.0: `mapped_column()` derives nullability from `Optional[]`](https://docs.sqlalchemy.org/en/20/orm/declarative_tables.html#mapped-column-derives-the-datatype-and-nullability-from-the-mapped-annotation)

; class X(...): name = Column(...)
(class_definition
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @name
        right: (call
          function: [
            (identifier) @callee
            (attribute attribute: (identifier) @callee)
          ]) @call) @assignment))
  (#eq? @callee "Column")) @class
