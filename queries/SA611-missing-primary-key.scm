; code: SA611
; name: missing-primary-key
; summary: A mapped class whose table has no primary key column, own or inherited: the class cannot be mapped
; severity: error
; family: schema
; default: on
; fix: none
; precision: very-high
;
; ## What it does
; Checks every mapped class the project model index knows — 2.0 `DeclarativeBase` models,
; legacy `declarative_base()` + `Column` models, Flask-SQLAlchemy `db.Model` subclasses and
; SQLModel `table=True` classes — and reports those with no primary-key column among their
; own columns and those they inherit from mixins, abstract bases and mapped parents.
;
; Abstract classes (`__abstract__ = True`), mixins and SQLModel classes without `table=True`
; are not mapped and never reported. The rule stays silent whenever a key could be declared
; where the index does not look: a `__table__ = Table(...)` or an imperative mapping, a
; `PrimaryKeyConstraint` in `__table_args__`, `primary_key` in `__mapper_args__`, a
; `primary_key=` whose value is not a literal, a `Mapped[...]` annotation using a type alias
; (which may be an `Annotated[int, mapped_column(primary_key=True)]`), a base class from
; outside the project or from `declarative_base(cls=...)`, and class bodies that define columns
; in `if` / `try` blocks.
;
; ## Why is this bad?
; The ORM identifies every object by its primary key; a class whose table has none cannot be
; mapped at all. Declarative raises `ArgumentError: Mapper ... could not assemble any primary key
; columns for mapped table ...` as soon as the class body runs — the import of the module fails.
; In a large application that import may happen lazily (a plugin, a CLI command), so the error
; surfaces far from the change that caused it.
;
; ## Example
; ```python
; class AuditEntry(Base):
;     __tablename__ = "audit_entry"
;     user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
;     action: Mapped[str]
; ```
;
; Use instead:
; ```python
; class AuditEntry(Base):
;     __tablename__ = "audit_entry"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
;     action: Mapped[str]
; ```
;
; For a table that really has no key (a log, a view), map the columns that identify a row with
; `__mapper_args__ = {"primary_key": [...]}`, or use a Core `Table` without the ORM.
;
; ## References
; - [SQLAlchemy ORM FAQ: How do I map a table that has no primary key?](https://docs.sqlalchemy.org/en/20/faq/ormconfiguration.html#how-do-i-map-a-table-that-has-no-primary-key)
; - [SQLAlchemy: Declarative Table configuration](https://docs.sqlalchemy.org/en/20/orm/declarative_tables.html)
; - [SQLModel: Create a Table with SQLModel — primary key](https://sqlmodel.tiangolo.com/tutorial/create-db-and-table/)

; every class definition: whether it is mapped is decided with the model index
(class_definition name: (identifier) @class) @definition
