; code: SA703
; name: blocking-index
; summary: `op.create_index()` without `postgresql_concurrently=True` on an existing PostgreSQL table blocks its writes for the whole build
; severity: warning
; family: migration
; default: off
; fix: none
; precision: high
; tags: alembic, postgresql
;
; ## What it does
; Checks `upgrade()` of Alembic revision files for indexes built on a table that already exists
; without `CONCURRENTLY`:
;
; - `op.create_index(...)` / `batch_op.create_index(...)` without `postgresql_concurrently=True`;
; - raw `CREATE [UNIQUE] INDEX` without `CONCURRENTLY` in `op.execute()` (read with `sqlparser`'s
;   PostgreSQL dialect; SQL it cannot read is skipped).
;
; Tables created in the same revision (`op.create_table`, raw `CREATE TABLE`) are exempt: they
; are empty and no running code uses them yet. `downgrade()` is not checked.
; Steps under a dialect test that rules PostgreSQL out (`if bind.dialect.name == "mysql":`,
; `if isinstance(bind.dialect, SQLiteDialect):`, the `else` of `if ... == "postgresql":`) are
; skipped: they never run there.
;
; The rule is opt-in and PostgreSQL-only. It reports only when the revision's environment is
; known to migrate PostgreSQL:
;
; 1. `migration-dialect = "postgresql"` in the sqlalint configuration (`[tool.sqlalint]`), which
;    wins over everything else; any other dialect silences the rule;
; 2. else `sqlalchemy.url` in the nearest `alembic.ini` (the revision's folder or up to four
;    folders above it), when it names a database (`postgresql+psycopg://...`; the template's
;    `driver://...`, `%(...)s` interpolations and empty values name none);
; 3. else the nearest `env.py`: literal URLs, `dialect_name="postgresql"`, or an import of a
;    PostgreSQL driver (`asyncpg`, `psycopg`).
;
; When none of these names a dialect, or they disagree (an environment for several databases),
; the rule stays silent: set `migration-dialect` if your migrations run on PostgreSQL.
;
; ## Why is this bad?
; A plain `CREATE INDEX` takes a SHARE lock on the table: reads go on, but every INSERT, UPDATE
; and DELETE waits until the index is built — minutes to hours on a large table, which is an
; outage for the application. `CREATE INDEX CONCURRENTLY` builds the index without blocking
; writes (it takes longer and cannot run inside a transaction).
;
; ## Example
; ```python
; def upgrade():
;     op.create_index("ix_order_customer_id", "order", ["customer_id"])
; ```
;
; Use instead:
; ```python
; def upgrade():
;     with op.get_context().autocommit_block():
;         op.create_index(
;             "ix_order_customer_id", "order", ["customer_id"], postgresql_concurrently=True
;         )
; ```
;
; A concurrent build that fails leaves an INVALID index behind: drop it and run the migration
; again. Concurrent operations outside an autocommit block are SA708's concern.
;
; ## References
; - [PostgreSQL: Building indexes concurrently](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)
; - [PostgreSQL: Explicit locking](https://www.postgresql.org/docs/current/explicit-locking.html)
; - [SQLAlchemy: PostgreSQL index options (`postgresql_concurrently`)](https://docs.sqlalchemy.org/en/20/dialects/postgresql.html#indexes-with-concurrently)
; - [Alembic: `autocommit_block()`](https://alembic.sqlalchemy.org/en/latest/api/runtime.html#alembic.runtime.migration.MigrationContext.autocommit_block)

; Only migration scripts (they assign `down_revision`) can be reported: one text search per file.
((module) @module (#sqlalint-mentions? @module "down_revision"))
