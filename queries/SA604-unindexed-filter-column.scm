; code: SA604
; name: unindexed-filter-column
; summary: A column the project's queries filter or sort by has no index: each of those queries scans the whole table
; severity: info
; family: schema
; default: off
; fix: none
; precision: medium
;
; ## What it does
; Collects, across the project, the model columns named in `filter()`, `where()`, `filter_by()`
; and `order_by()` (`User.email == x`, `filter_by(email=x)`, `order_by(User.created_at.desc())`,
; in legacy `session.query(M)`, 2.0 `select(M)`, Flask-SQLAlchemy `M.query` and SQLModel
; `session.exec(select(M))` queries), and reports each such column whose definition is not
; indexed, on the definition, listing the places that filter or sort by it (the first three,
; "and N more").
;
; A column counts as indexed when it has `index=True`, `unique=True` or `primary_key=True`
; (also through SQLModel's `Field(...)` and `sa_column=`), or leads an `Index(...)`,
; `UniqueConstraint(...)` or `PrimaryKeyConstraint(...)` in the class's (or a base's)
; `__table_args__` or in a module-level `Index("ix", Model.column)`. A later column of a composite
; index in `__table_args__` is left alone too: an index on `(a, b)` does not serve a filter on `b`
; alone, but queries on `b` nearly always filter on `a` as well, and the rule does not follow which
; columns each query combines.
;
; Not counted as uses: pattern searches (`.like()`, `.ilike()`, `.contains()`, ...), which a B-tree
; index does not serve. Boolean columns are not reported: with two values, an index on one alone
; rarely beats reading the table.
;
; The rule is opt-in (`--select SA604`): whether a scan matters depends on the table's size and
; the query's frequency, which the code does not say. It stays silent when the indexes cannot be
; read (a computed `__table_args__`, `index=flag`, a column typed with an `Annotated` alias that
; may carry `index=True`), for imperative tables (`__table__ = Table(...)`), and for uses in tests
; and migrations. Uses are collected from the files being checked.
;
; ## Why is this bad?
; Without an index, PostgreSQL, MySQL and SQLite answer `WHERE email = :x` or
; `ORDER BY created_at LIMIT 20` by reading the whole table: fine with a hundred rows, a slow
; query and a loaded database with a million. The index is cheap to add before the table grows
; and expensive (a blocking build, see SA703) after.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     email: Mapped[str]
;
; session.scalars(select(User).where(User.email == email))
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     email: Mapped[str] = mapped_column(index=True)
; ```
;
; ## References
; - [SQLAlchemy: `mapped_column(index=...)`](https://docs.sqlalchemy.org/en/20/orm/mapping_api.html#sqlalchemy.orm.mapped_column.params.index)
; - [SQLAlchemy: Indexes](https://docs.sqlalchemy.org/en/20/core/constraints.html#indexes)
; - [Use The Index, Luke: the WHERE clause](https://use-the-index-luke.com/sql/where-clause)

(call
  function: (attribute attribute: (identifier) @method)
  (#any-of? @method "filter" "where" "filter_by" "order_by")) @call

(class_definition
  name: (identifier) @class
  body: (block) @body)
