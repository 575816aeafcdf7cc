; code: SA608
; name: nullable-annotation-mismatch
; summary: `Mapped[Optional[X]]` with `nullable=False`, or `Mapped[X]` with `nullable=True`: the annotation and the schema disagree
; severity: warning
; family: schema
; default: on
; fix: none
; precision: high
;
; ## What it does
; Checks annotated columns in class bodies — 2.0 `name: Mapped[...] = mapped_column(...)` and
; SQLModel `name: ... = Field(...)` — whose explicit `nullable=` contradicts the annotation:
; - `Mapped[Optional[str]]`, `Mapped[str | None]`, `Mapped[Union[str, None]]` with `nullable=False`;
; - `Mapped[str]` (a plain builtin or standard-library type) with `nullable=True`.
;
; Primary-key columns, `Mapped[Any]`, and annotations using a type alias (which may itself be
; `Optional[...]`) are not reported, nor `Mapped[X]` with `nullable=True` in a class without its own
; `__tablename__` / `__table__`: a single-table inheritance subclass keeps its columns in the
; parent's table, where they must be nullable even though every row of the subclass has a value
; (SQLAlchemy's own documentation writes `manager_data: Mapped[str] = mapped_column(nullable=True)`); columns without an explicit `nullable=` take it from the
; annotation and cannot disagree. `mapped_column` counts only when imported from SQLAlchemy
; (or read as `orm.mapped_column`, `sa.orm.mapped_column`, `db.mapped_column`), `Field` only
; when imported from SQLModel.
;
; ## Why is this bad?
; With `mapped_column()`, an explicit `nullable=` wins over the annotation, so the two can
; silently disagree. `Mapped[str | None]` with `nullable=False` tells type checkers and readers
; that `None` is fine, but the column is `NOT NULL`: assigning `None` type-checks and then fails
; at flush with `IntegrityError`. `Mapped[str]` with `nullable=True` promises a `str`, but rows
; with `NULL` load as `None`, and code that trusts the annotation breaks at run time
; (`None.lower()`), where the type checker cannot warn.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "user"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     nickname: Mapped[str | None] = mapped_column(String(30), nullable=False)
;     bio: Mapped[str] = mapped_column(Text, nullable=True)
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "user"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     nickname: Mapped[str] = mapped_column(String(30))
;     bio: Mapped[str | None] = mapped_column(Text)
; ```
;
; With the annotation right, `nullable=` is redundant: `mapped_column()` derives it.
;
; ## References
; - [SQLAlchemy: `mapped_column()` derives the datatype and nullability from the `Mapped` annotation](https://docs.sqlalchemy.org/en/20/orm/declarative_tables.html#mapped-column-derives-the-datatype-and-nullability-from-the-mapped-annotation)
; - [SQLModel: Nullable fields](https://sqlmodel.tiangolo.com/tutorial/create-db-and-table/)

; name: Mapped[...] = mapped_column(..., nullable=...) / name: ... = Field(..., nullable=...)
(class_definition
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @attr
        type: (type) @annotation
        right: (call
          function: [(identifier) (attribute)] @function) @call))))
