; code: SA708
; name: concurrent-index-in-transaction
; summary: `CREATE/DROP INDEX CONCURRENTLY` in a migration outside `autocommit_block()`: PostgreSQL refuses it inside the migration's transaction
; severity: error
; family: migration
; default: on
; fix: none
; precision: high
; tags: alembic, postgresql
;
; ## What it does
; Checks `upgrade()` and `downgrade()` of Alembic revision files for concurrent index
; operations that run inside the migration's transaction:
;
; - `op.create_index(..., postgresql_concurrently=True)` and
;   `op.drop_index(..., postgresql_concurrently=True)` (also through `batch_op`);
; - raw `CREATE [UNIQUE] INDEX CONCURRENTLY` / `DROP INDEX CONCURRENTLY` in `op.execute()`
;   (read with a SQL tokenizer, so comments and string literals do not confuse it);
;
; unless they sit inside `with op.get_context().autocommit_block():`. The older idioms that end
; the transaction by hand are accepted too: an earlier `op.execute("COMMIT")` in the same
; function, or a connection switched to `isolation_level="AUTOCOMMIT"` there.
;
; ## Why is this bad?
; Alembic runs each migration inside a transaction (on PostgreSQL, whose DDL is
; transactional), and PostgreSQL refuses concurrent index builds there:
; `CREATE INDEX CONCURRENTLY cannot run inside a transaction block`. The migration fails on
; deploy, however well it was meant: building the index concurrently is exactly what avoids
; locking writes to a large table for the whole build.
;
; ## Example
; ```python
; def upgrade():
;     op.create_index(
;         "ix_event_created_at", "event", ["created_at"], postgresql_concurrently=True
;     )
; ```
;
; Use instead:
; ```python
; def upgrade():
;     with op.get_context().autocommit_block():
;         op.create_index(
;             "ix_event_created_at", "event", ["created_at"], postgresql_concurrently=True
;         )
; ```
;
; The autocommit block commits what the migration did so far, runs its body outside a
; transaction, then opens a new one; keep the concurrent index operation alone in it. On
; other databases `postgresql_concurrently` is ignored and the block does no harm.
;
; ## Known limitations
; An environment whose `env.py` configures `transactional_ddl=False` runs migrations outside
; a transaction and needs no autocommit block; suppress the rule for its revisions with
; `per-file-ignores`.
;
; ## References
; - [Alembic: `autocommit_block()`](https://alembic.sqlalchemy.org/en/latest/api/runtime.html#alembic.runtime.migration.MigrationContext.autocommit_block)
; - [Alembic: `create_index`](https://alembic.sqlalchemy.org/en/latest/ops.html#alembic.operations.Operations.create_index)
; - [SQLAlchemy: PostgreSQL index options (`postgresql_concurrently`)](https://docs.sqlalchemy.org/en/20/dialects/postgresql.html#indexes-with-concurrently)
; - [PostgreSQL: CREATE INDEX ... CONCURRENTLY](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)

; Only migration scripts (they assign `down_revision`) can be reported: one text search per file.
((module) @module (#sqlalint-mentions? @module "down_revision"))
