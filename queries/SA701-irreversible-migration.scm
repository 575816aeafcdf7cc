; code: SA701
; name: irreversible-migration
; summary: A migration's `downgrade()` is empty while its `upgrade()` changes the schema
; severity: warning
; family: migration
; default: on
; fix: none
; precision: high
; tags: alembic
;
; ## What it does
; Checks Alembic revision files whose `downgrade()` does nothing — its body is only `pass`,
; `...`, a docstring or comments — while `upgrade()` changes the schema: an `op.*` schema
; operation (`add_column`, `create_table`, `alter_column`, `create_index`, `drop_constraint`,
; ... directly or through `batch_op`), or `op.execute()` of literal DDL (`CREATE`, `ALTER`,
; `DROP`, `RENAME`). The finding is reported on `def downgrade`.
;
; A revision file is recognised by its content (module-level `revision`, `down_revision` and
; `def upgrade()`), wherever its `versions/` folder lives. Merge revisions, whose `upgrade()`
; is empty too, are not reported.
;
; ## Why is this bad?
; `alembic downgrade` runs the empty function, reports success and moves the version table
; back, while the schema keeps the change: the database and the revision history no longer
; agree. The next `alembic upgrade` then runs `upgrade()` again on a schema that already has
; the change and fails (`column "status" of relation "account" already exists`), usually
; during an incident, when a rollback is needed most.
;
; If a revision cannot be undone (it drops data, say), make that an explicit, documented
; choice: `raise NotImplementedError("...")` with the reason stops `alembic downgrade` before
; it corrupts the history, and this rule accepts it.
;
; ## Example
; ```python
; def upgrade():
;     op.add_column("account", sa.Column("status", sa.String(20)))
;
;
; def downgrade():
;     pass
; ```
;
; Use instead:
; ```python
; def downgrade():
;     op.drop_column("account", "status")
; ```
;
; or, when the change cannot be undone:
; ```python
; def downgrade():
;     raise NotImplementedError("the dropped `legacy` data cannot be restored")
; ```
;
; ## Known limitations
; Schema changes made through helper functions or `op.get_bind().execute(...)` are not
; seen; only the `upgrade()` body's own `op.*` calls count.
;
; ## References
; - [Alembic tutorial: running a downgrade](https://alembic.sqlalchemy.org/en/latest/tutorial.html#downgrading)
; - [Alembic: operation reference](https://alembic.sqlalchemy.org/en/latest/ops.html)
; - [SQLAlchemy: DDL and schema](https://docs.sqlalchemy.org/en/20/core/metadata.html)

; Only migration scripts (they assign `down_revision`) can be reported: one text search per file.
((module) @module (#sqlalint-mentions? @module "down_revision"))
