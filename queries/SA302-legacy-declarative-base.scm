; code: SA302
; name: legacy-declarative-base
; summary: `Base = declarative_base()` instead of the 2.0 `class Base(DeclarativeBase)`
; severity: info
; family: modernization
; default: on
; fix: unsafe
; precision: very-high
; tags: sqlalchemy-2.0
;
; ## What it does
; Checks for module-level declarative bases made by the legacy function
; `declarative_base()` (from `sqlalchemy.orm`, or `sqlalchemy.ext.declarative` where it was
; deprecated in 1.4): `Base = declarative_base()`, `Base = orm.declarative_base(metadata=meta)`.
; Alembic migration scripts (modules that import `alembic`) are skipped: the models they
; declare are frozen copies of the schema at that revision.
;
; ## Why is this bad?
; SQLAlchemy 2.0 replaced the function with a base class, `DeclarativeBase`. The function
; returns a class that type checkers cannot see through: `Base` is `Any`, so every model,
; `Mapped[...]` annotation and query result is untyped. A `DeclarativeBase` subclass is an
; ordinary class: mypy and pyright check models and queries, `type_annotation_map` and
; `metadata` are plain class attributes, and it is the base the 2.0 documentation builds on
; (`Mapped[]` / `mapped_column()` annotations).
;
; ## Example
; ```python
; from sqlalchemy import MetaData
; from sqlalchemy.orm import declarative_base
;
; Base = declarative_base(metadata=MetaData(schema="app"))
; ```
;
; Use instead:
; ```python
; from sqlalchemy import MetaData
; from sqlalchemy.orm import DeclarativeBase
;
; class Base(DeclarativeBase):
;     metadata = MetaData(schema="app")
; ```
;
; ## Fix safety
; The fix replaces the assignment with the class, carrying `metadata=` and
; `type_annotation_map=` over as class attributes and `cls=Mixin` as a base class
; (`class Base(Mixin, DeclarativeBase)`), and adds `DeclarativeBase` to an existing
; `from sqlalchemy.orm import ...` (or a new import line). The tables it maps are identical
; (the runtime proof compares the schemas created on SQLite before and after the fix). The
; fix is **unsafe** because models can depend on the legacy behaviour elsewhere in the project:
; a `DeclarativeBase` subclass rejects plain annotations on legacy columns
; (`name: str = Column(String)` raises `ArgumentError` unless `__allow_unmapped__ = True`), and
; code that tests `isinstance(cls, DeclarativeMeta)` no longer matches. It is not offered for
; `name=`, `constructor=`, `class_registry=`, `mapper=`, `metaclass=` or `bind=` (removed in
; 2.0, see SA305), nor when the call holds a comment.
;
; ## References
; - [SQLAlchemy 2.0: Using a Declarative Base Class](https://docs.sqlalchemy.org/en/20/orm/declarative_styles.html#using-a-declarative-base-class)
; - [SQLAlchemy 2.0 migration: Migrating an existing mapping (`DeclarativeBase`)](https://docs.sqlalchemy.org/en/20/changelog/whatsnew_20.html#step-one-orm-declarative-base-is-superseded-by-orm-declarativebase)
; - [SQLAlchemy: declarative_base() (legacy)](https://docs.sqlalchemy.org/en/20/orm/mapping_api.html#sqlalchemy.orm.declarative_base)

; Base = declarative_base(...)
((expression_statement
  (assignment
    left: (identifier) @name
    right: (call
      function: [
        (identifier) @callee
        (attribute attribute: (identifier) @callee)
      ]) @call)
  (#eq? @callee "declarative_base")) @span
  (#sqlalint-mentions? @span "declarative_base"))
