; code: SA601
; name: fk-without-index
; summary: A foreign-key column with no index: joins and cascades on it scan the table (PostgreSQL and SQLite do not index foreign keys)
; severity: warning
; family: schema
; default: on
; fix: none
; precision: high
; tags: performance
;
; ## What it does
; Checks model columns that reference another table — `Column(ForeignKey("users.id"))`,
; `mapped_column(ForeignKey(...))`, `db.Column(db.Integer, db.ForeignKey(...))`, SQLModel
; `Field(foreign_key="users.id")` — and that no index covers: no `index=True`, no
; `unique=True`, not the leading primary-key column, and not the leading column of an
; `Index(...)`, `UniqueConstraint(...)` or `PrimaryKeyConstraint(...)` in `__table_args__` or of
; an `Index(...)` on the model's column at module level (`Index("ix_post_user", Post.user_id)`).
; Association tables declared with `Table(...)` are checked the same way: in
; `Table("user_groups", meta, Column("user_id", ForeignKey(...), primary_key=True), Column("group_id", ForeignKey(...), primary_key=True))`
; the primary key's index serves `user_id`, not `group_id`.
;
; ## Why is this bad?
; A foreign key constraint does not create an index on the referencing column in PostgreSQL,
; SQLite, SQL Server or Oracle (only MySQL/InnoDB adds one). Every query that follows the
; relationship from the parent side — loading `User.posts` (`WHERE posts.user_id = ?`), a join
; from `users` to `posts`, a `selectinload` — and every delete or key update on the parent
; (the database checks or cascades the referencing rows) then scans the child table. That is
; invisible with test data and a sequential scan per parent row in production.
;
; ## Example
; ```python
; class Post(Base):
;     __tablename__ = "posts"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
; ```
;
; Use instead:
; ```python
; class Post(Base):
;     __tablename__ = "posts"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
; ```
;
; or a composite index that starts with the column:
; `__table_args__ = (Index("ix_posts_user_created", "user_id", "created_at"),)`.
;
; ## Known limitations
; Alembic migration scripts (modules that import `alembic`) are skipped: the models and tables
; they declare are frozen copies, not the schema. Indexes created only in migrations (Alembic `op.create_index`) or in another module are not
; seen; declare them on the model, where the schema is read from. A class whose
; `__table_args__` is computed (a `@declared_attr`, a variable) is skipped. Columns whose
; foreign key is declared with a table-level `ForeignKeyConstraint` are not checked. On
; MySQL/InnoDB the finding is moot (InnoDB indexes foreign keys itself): disable the rule there.
; Adding an index is a schema change, so no automatic fix is offered: it needs a migration.
;
; ## References
; - [PostgreSQL: Foreign Keys ("an index on the referencing columns is often a good idea")](https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK)
; - [SQLite: Foreign Key Indexes](https://www.sqlite.org/foreignkeys.html#fk_indexes)
; - [SQLAlchemy: Column.index](https://docs.sqlalchemy.org/en/20/core/metadata.html#sqlalchemy.schema.Column.params.index)
; - [SQLAlchemy: Indexes](https://docs.sqlalchemy.org/en/20/core/constraints.html#indexes)

; Every class body: its columns are checked together with its `__table_args__`.
(class_definition
  name: (identifier) @name
  body: (block) @body) @class

; `Table("name", metadata, Column(...), ...)`
(call
  function: [
    (identifier) @callee
    (attribute attribute: (identifier) @callee)
  ]
  (#eq? @callee "Table")) @table
