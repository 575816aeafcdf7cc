; code: SA704
; name: destructive-op
; summary: A migration's `upgrade()` drops a column or table: data loss, and code still running during the deploy breaks
; severity: warning
; family: migration
; default: on
; fix: none
; precision: high
; tags: alembic
;
; ## What it does
; Checks the `upgrade()` of Alembic revision files for operations that destroy data:
; `op.drop_column(...)` (also `batch_op.drop_column(...)` inside
; `with op.batch_alter_table(...)`), `op.drop_table(...)`, and raw `DROP TABLE` /
; `ALTER TABLE ... DROP COLUMN` in `op.execute()` (read with a SQL parser; SQL it cannot
; read is skipped).
;
; Not reported: `drop_constraint` and `drop_index` (no data is lost, they can be recreated),
; tables created earlier in the same `upgrade()` (scratch tables), and anything in
; `downgrade()`, whose purpose is to undo.
;
; ## Why is this bad?
; During a rolling deploy the previous release keeps serving traffic while the migration
; runs, and its ORM models still name the dropped column in every `SELECT` and `INSERT`:
; those queries fail (`column account.legacy does not exist`) until the last old process is
; gone. And the data is gone for good: `downgrade()` can recreate the column, not its
; contents.
;
; The safe sequence is expand/contract:
;
; 1. release code that no longer reads or writes the column (remove it from the model, or
;    keep it out of queries with `deferred()` first), and deploy it everywhere;
; 2. only then, in a later revision, drop the column — after a backup, if the data could be
;    needed again.
;
; ## Example
; ```python
; def upgrade():
;     op.drop_column("account", "legacy_id")
; ```
;
; Use instead: drop the attribute from the `Account` model in one release, then drop the
; column in a revision of the next one, marked as reviewed:
; ```python
; def upgrade():
;     # Account.legacy_id removed from the model in release 4.2; backed up in ticket #123.
;     op.drop_column("account", "legacy_id")  # noqa: SA704
; ```
;
; ## Known limitations
; sqlalint cannot know whether the running code still uses the column: the finding asks for
; that check, and a `# noqa: SA704` records that it was made.
;
; ## References
; - [Alembic: `drop_column`](https://alembic.sqlalchemy.org/en/latest/ops.html#alembic.operations.Operations.drop_column)
; - [Alembic: `drop_table`](https://alembic.sqlalchemy.org/en/latest/ops.html#alembic.operations.Operations.drop_table)
; - [SQLAlchemy: deferred column loading](https://docs.sqlalchemy.org/en/20/orm/queryguide/columns.html#deferred-column-loading)

; Only migration scripts (they assign `down_revision`) can be reported: one text search per file.
((module) @module (#sqlalint-mentions? @module "down_revision"))
