; code: SA706
; name: breaking-rename
; summary: A migration's `upgrade()` renames a table or column that the running code still uses during the deploy
; severity: warning
; family: migration
; default: on
; fix: none
; precision: high
; tags: alembic
;
; ## What it does
; Checks the `upgrade()` of Alembic revision files for renames of tables and columns:
; `op.rename_table("old", "new")`, `op.alter_column("t", "old", new_column_name="new")`
; (also `batch_op.alter_column("old", new_column_name="new")` inside
; `with op.batch_alter_table(...)`), and raw `ALTER TABLE ... RENAME TO` /
; `ALTER TABLE ... RENAME COLUMN` / `RENAME TABLE` in `op.execute()` (read with a SQL parser;
; SQL it cannot read is skipped).
;
; Not reported: index and constraint renames (`ALTER INDEX ... RENAME`), which no query
; names, tables created earlier in the same `upgrade()`, and anything in `downgrade()`.
;
; ## Why is this bad?
; A rename is instant for the database and abrupt for the application: during a rolling
; deploy, processes of the previous release keep running with models that name the old
; table or column, and every query they send fails (`relation "account" does not exist`)
; until the last of them is replaced. A rollback of the code alone breaks the same way.
;
; The safe sequence takes several releases (add, copy, switch, drop):
;
; 1. add the new column (or table) and write to both;
; 2. backfill the new one from the old;
; 3. switch reads to the new one and stop using the old one;
; 4. drop the old one in a later revision.
;
; Alternatively, rename in the database but keep the old name in the model
; (`Column("new_name", key="old_name")` / `mapped_column("new_name")`) in the release before.
;
; ## Example
; ```python
; def upgrade():
;     op.alter_column("account", "mail", new_column_name="email")
; ```
;
; Use instead:
; ```python
; def upgrade():  # release N: expand
;     op.add_column("account", sa.Column("email", sa.String(120)))
;     op.execute("UPDATE account SET email = mail")
; # release N+1 reads and writes `email` only; release N+2 drops `mail`.
; ```
;
; ## Known limitations
; When the service is stopped for the migration (no rolling deploy), a rename is safe:
; suppress the finding with `# noqa: SA706`.
;
; ## References
; - [Alembic: `rename_table`](https://alembic.sqlalchemy.org/en/latest/ops.html#alembic.operations.Operations.rename_table)
; - [Alembic: `alter_column`](https://alembic.sqlalchemy.org/en/latest/ops.html#alembic.operations.Operations.alter_column)
; - [SQLAlchemy: naming columns distinctly from attribute names](https://docs.sqlalchemy.org/en/20/orm/mapping_styles.html#naming-columns-distinctly-from-attribute-names)

; Only migration scripts (they assign `down_revision`) can be reported: one text search per file.
((module) @module (#sqlalint-mentions? @module "down_revision"))
