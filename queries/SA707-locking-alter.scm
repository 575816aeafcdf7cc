; code: SA707
; name: locking-alter
; summary: A migration step that locks an existing PostgreSQL table while it rewrites, scans or validates it (type change, SET NOT NULL, validated constraint...)
; severity: warning
; family: migration
; default: off
; fix: none
; precision: high
; tags: alembic, postgresql
;
; ## What it does
; Checks `upgrade()` of Alembic revision files for operations that, on PostgreSQL, lock a table
; that already exists for as long as they rewrite, scan or validate it:
;
; - `op.alter_column(..., type_=...)`: a type change rewrites the table under an ACCESS
;   EXCLUSIVE lock (not reported when `existing_type=` shows a widening PostgreSQL does without a
;   rewrite: a longer or unbounded `VARCHAR`, or `VARCHAR` → `TEXT`; nor for a rename,
;   `new_column_name=`, that restates `type_=` with no `existing_type=`, which is most often
;   no type change — SA706 reports the rename);
; - `op.alter_column(..., nullable=False)`: `SET NOT NULL` scans the whole table under an
;   ACCESS EXCLUSIVE lock;
; - `op.create_foreign_key(...)` / `op.create_check_constraint(...)` without
;   `postgresql_not_valid=True`: every existing row is validated under a lock that blocks writes;
; - `op.create_unique_constraint(...)` / `op.create_primary_key(...)`: the unique index is built
;   under a lock that blocks writes;
; - `op.drop_index(...)` without `postgresql_concurrently=True`: an ACCESS EXCLUSIVE lock;
; - `op.add_column(...)` whose `server_default` calls a VOLATILE function (`gen_random_uuid()`,
;   `uuid_generate_v4()`, `random()`, `clock_timestamp()`, `timeofday()`, `nextval()`): the table is
;   rewritten to fill it (`now()` and constants are instant since PostgreSQL 11);
; - the same in raw SQL in `op.execute()` (`ALTER COLUMN ... TYPE`, `SET NOT NULL`,
;   `ADD CONSTRAINT` without `NOT VALID` or `USING INDEX`, `ADD COLUMN ... DEFAULT random()`,
;   `DROP INDEX` without `CONCURRENTLY`), read with `sqlparser`'s PostgreSQL dialect.
;
; Batch operations (`batch_op.*`) count: on PostgreSQL they run as the same `ALTER TABLE`.
; Tables created in the same revision are exempt. `downgrade()` is not checked.
; Steps under a dialect test that rules PostgreSQL out (`if bind.dialect.name == "mysql":`,
; `if isinstance(bind.dialect, SQLiteDialect):`, the `else` of `if ... == "postgresql":`) are
; skipped: they never run there.
;
; The rule is opt-in and PostgreSQL-only; it decides the dialect exactly as SA703 does
; (`migration-dialect` in the configuration, else `sqlalchemy.url` in `alembic.ini`, else
; `env.py`), and stays silent when the dialect is not known to be PostgreSQL.
;
; ## Why is this bad?
; While PostgreSQL holds an ACCESS EXCLUSIVE lock nothing can read or write the table, and
; while it holds a SHARE lock nothing can write it; queued behind the lock, every other query on
; the table waits too. On a large table the migration is an outage. Each operation has a form
; that avoids the long lock (see the help of each finding).
;
; ## Example
; ```python
; def upgrade():
;     op.create_foreign_key("fk_order_customer", "order", "customer", ["customer_id"], ["id"])
;     op.alter_column("order", "note", type_=sa.Text())
; ```
;
; Use instead:
; ```python
; def upgrade():
;     op.create_foreign_key(
;         "fk_order_customer", "order", "customer", ["customer_id"], ["id"],
;         postgresql_not_valid=True,
;     )
;     # In a later migration: op.execute("ALTER TABLE \"order\" VALIDATE CONSTRAINT fk_order_customer")
;     op.alter_column("order", "note", existing_type=sa.String(200), type_=sa.Text())
; ```
;
; ## Known limitations
; Whether a type change rewrites the table depends on both types; without `existing_type=` the
; rule cannot tell and reports it. A short `lock_timeout` set in the migration limits the
; damage but does not remove it; suppress with `# noqa: SA707` where the table is known to be small.
;
; ## References
; - [PostgreSQL: ALTER TABLE (locks, rewrites, `NOT VALID`)](https://www.postgresql.org/docs/current/sql-altertable.html)
; - [PostgreSQL: Explicit locking](https://www.postgresql.org/docs/current/explicit-locking.html)
; - [Alembic: operation reference](https://alembic.sqlalchemy.org/en/latest/ops.html)

; Only migration scripts (they assign `down_revision`) can be reported: one text search per file.
((module) @module (#sqlalint-mentions? @module "down_revision"))
