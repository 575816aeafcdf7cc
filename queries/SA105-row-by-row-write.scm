; code: SA105
; name: row-by-row-write
; summary: Rows deleted or updated one by one in a loop over a query, where one bulk DELETE / UPDATE would do
; severity: warning
; family: performance
; default: on
; fix: none
; precision: high
; tags: bulk
;
; ## What it does
; Checks for a `for` loop over the entities of a query whose body does nothing but write each
; of them:
; - `session.delete(obj)` for every row, which could be one `DELETE ... WHERE <the query's
;   criteria>`;
; - `obj.attr = value` (and optionally `session.add(obj)`) where `value` is the same for every
;   row (it does not depend on `obj`, the loop index, or a call that may differ per row),
;   which could be one `UPDATE ... SET attr = value WHERE <the query's criteria>`.
;
; The query may be written in any dialect: `session.query(User).filter(...)`, Flask-SQLAlchemy
; `User.query.filter_by(...)`, `session.scalars(select(User).where(...))`, SQLModel
; `session.exec(select(User))`, awaited async sessions, or a variable holding one. Attributes
; must be mapped columns of the model in the project model index (not relationships, hybrids or
; properties).
;
; The rule stays silent when the loop does anything else (a condition, a log line, a read of
; another attribute), when the query cannot become a single statement (joins, `LIMIT`/`OFFSET`,
; `DISTINCT`, `GROUP BY`), when the loaded objects are used after the loop, and, for deletes,
; when the ORM does more than a `DELETE` for each object: the model has a relationship with a
; `delete` cascade, a one-to-many, one-to-one or many-to-many relationship (the ORM nulls out
; or deletes the related rows and association rows), or the model's module or this module
; registers ORM event listeners (`event.listens_for`, `event.listen`) or `@validates` hooks.
;
; ## Why is this bad?
; The loop first loads every matching row as an ORM object, then the flush sends one `DELETE`
; or `UPDATE` per object: N round trips where one statement does the same work in the database,
; without loading anything.
;
; Bulk statements bypass the unit of work, and that is the one thing to check before switching:
; - ORM-level cascades (`cascade="all, delete-orphan"`), the nulling-out of foreign keys on
;   related objects, and the cleanup of many-to-many association rows do not happen; only the
;   database's own `ON DELETE` rules apply;
; - mapper and session events (`before_delete`, `after_update`, `before_flush` hooks that audit
;   or soft-delete) and `@validates` methods are not invoked;
; - objects already in the session are synchronised according to `synchronize_session`
;   (`"auto"` by default in 2.0), and a version counter (`version_id_col`) is not checked.
;
; If the project relies on any of these for the model (possibly in a module this rule cannot
; see), keep the loop.
;
; ## Example
; ```python
; for user in session.scalars(select(User).where(User.last_login < cutoff)):
;     session.delete(user)
;
; for user in session.query(User).filter(User.trial_ends < today):
;     user.active = False
; ```
;
; Use instead:
; ```python
; session.execute(delete(User).where(User.last_login < cutoff))
;
; session.query(User).filter(User.trial_ends < today).update({User.active: False})
; # or, 2.0 style:
; session.execute(update(User).where(User.trial_ends < today).values(active=False))
; ```
;
; Flask-SQLAlchemy: `User.query.filter_by(active=False).delete()`.
;
; ## References
; - [SQLAlchemy: ORM-Enabled INSERT, UPDATE, and DELETE statements](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html)
; - [SQLAlchemy: ORM UPDATE and DELETE with Custom WHERE Criteria](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html#orm-update-and-delete-with-custom-where-criteria)
; - [SQLAlchemy: Important Notes and Caveats for ORM-Enabled Update and Delete](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html#important-notes-and-caveats-for-orm-enabled-update-and-delete)
; - [SQLAlchemy: Query.delete() / Query.update() (legacy)](https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html#sqlalchemy.orm.Query.delete)

(for_statement) @loop
