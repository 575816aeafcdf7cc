; code: SA705
; name: revision-graph
; summary: The Alembic revision graph is broken: unmerged heads, duplicate ids, a `down_revision` naming no revision, a cycle, or a file name carrying another id
; severity: error
; family: migration
; default: on
; fix: none
; precision: high
; tags: alembic
;
; ## What it does
; Checks the revision files of each Alembic environment together, as `alembic heads` would,
; but at commit time:
;
; - **forks**: two revisions revise the same parent and their lines were never merged, so
;   the environment has several heads (reported on the `down_revision =` line of each side,
;   naming the other files and the heads);
; - **duplicate ids**: two files declare the same `revision` (reported on `revision =`);
; - **dangling references**: a `down_revision`, or a member of a merge revision's tuple, that
;   no revision file of the project declares, and a `depends_on` entry that is neither a
;   revision id nor a branch label (Alembic does not resolve partial ids there);
; - **cycles** through `down_revision`;
; - a file name carrying a revision id (Alembic's 12-hex-digit ids, or a leading number for
;   numeric ids) that differs from the `revision` the file declares: a copied revision whose
;   id was not changed.
;
; Revision files are recognised by their content (module-level `revision`, `down_revision`
; and `def upgrade()`). Forks and duplicate ids are looked for among the revisions of one
; folder (Alembic reads subfolders of `versions/` only with `recursive_version_locations`, and
; projects keep archives of squashed revisions there); a `down_revision` may point at a
; revision in any folder of the project. Branches that declare
; `branch_labels` (Alembic's way to keep several heads on purpose) and independent roots
; are not forks. When the checked files lie inside a project, every revision of the project is
; read, so a pre-commit run on one new revision still sees the whole graph.
;
; ## Why is this bad?
; Two developers branch from the same head and each adds a revision; both merges pass review
; and CI (each branch alone is linear), and the deploy then fails with
; `Multiple head revisions are present for given argument 'head'`. A `down_revision` that
; names a revision lost in a rebase makes every Alembic command fail
; (`KeyError`); a duplicate id makes Alembic silently keep one of the two files, so the other
; migration never runs.
;
; ## Example
; ```python
; # versions/2a3b4c5d6e7f_add_email.py
; revision = "2a3b4c5d6e7f"
; down_revision = "1f2e3d4c5b6a"
;
; # versions/3c4d5e6f7a8b_add_phone.py   (from another branch)
; revision = "3c4d5e6f7a8b"
; down_revision = "1f2e3d4c5b6a"
; ```
;
; Use instead: a merge revision (`alembic merge -m "merge heads" 2a3b4c5d6e7f 3c4d5e6f7a8b`):
; ```python
; revision = "5e6f7a8b9c0d"
; down_revision = ("2a3b4c5d6e7f", "3c4d5e6f7a8b")
; ```
; or rebase one revision onto the other: `down_revision = "2a3b4c5d6e7f"`.
;
; ## Known limitations
; `down_revision` values that are not literal strings (computed, imported) make the rule skip
; the fork check for that folder. A fork whose two sides sit in different version folders
; (`version_locations`, recursive subfolders) is not seen.
;
; ## References
; - [Alembic: working with branches](https://alembic.sqlalchemy.org/en/latest/branches.html)
; - [Alembic: merging branches](https://alembic.sqlalchemy.org/en/latest/branches.html#merging-branches)
; - [Alembic: `depends_on`](https://alembic.sqlalchemy.org/en/latest/branches.html#branch-dependencies)
; - [SQLAlchemy: schema migrations with Alembic](https://docs.sqlalchemy.org/en/20/core/metadata.html#altering-database-objects-through-migrations)

; Only migration scripts (they assign `down_revision`) can be reported: one text search per file.
((module) @module (#sqlalint-mentions? @module "down_revision"))
