; code: SA404
; name: unfiltered-bulk-write
; summary: A bulk DELETE / UPDATE with no filter or WHERE clause changes every row of the table
; severity: warning
; family: correctness
; default: on
; fix: none
; precision: high
;
; ## What it does
; Checks for bulk writes that carry no criteria at all, in every dialect:
; - legacy `session.query(User).delete()` / `.update({...})` and Flask-SQLAlchemy
;   `User.query.delete()`, with nothing but `.execution_options()` / `.options()` between
;   `query()` and the write (a query held in a local variable is followed);
; - 2.0 `session.execute(delete(User))`, `session.execute(update(User).values(...))`,
;   SQLModel `session.exec(...)`, `await session.execute(...)`, `conn.execute(...)`, and the Core
;   `Table` forms `conn.execute(users.delete())` / `users.update().values(...)`, where the
;   statement is written inline or held in a local variable.
;
; The rule stays silent when any criteria may apply: a `.filter()` / `.filter_by()` /
; `.where()` anywhere in the chain, a `whereclause=` argument, a statement variable that is
; narrowed by any later assignment (`stmt = stmt.where(...)`, also in an `if`), a query variable
; reassigned to anything else, a query with `.join()` / `.limit()` or another unknown link, and
; `execute()` given parameters (`session.execute(update(User), [{"id": 1, ...}])` is the ORM
; bulk UPDATE *by primary key*, which changes only the rows listed).
;
; `delete` and `update` count only when imported from SQLAlchemy or SQLModel, or read as
; `sa.delete` / `sqlalchemy.update`. Two places where changing every row is the norm are skipped:
; Alembic migration scripts (files importing `alembic`: backfills such as
; `op.execute(table.update().values(flag=False))`) and test code (files importing `pytest`,
; `unittest` or `sqlalchemy.testing`, and functions or classes named `test*`, `setup*`,
; `teardown*`), where tables are emptied between tests.
;
; ## Why is this bad?
; With no WHERE clause the statement changes every row of the table: a missing filter turns
; "delete this user's sessions" into "delete every session". Nothing fails, the database just
; does it; the mistake is typically noticed only when the data is gone. An unfiltered write is
; also easy to produce by refactoring (`stmt = stmt.where(...)` dropped, a filter moved into a
; branch that is not taken).
;
; Emptying a table can be on purpose (tests, maintenance jobs, a cache table): say so where it
; happens with `# noqa: SA404`, so the next reader does not have to wonder. For a real "empty the
; table", `TRUNCATE` (through `text()`) is also faster on most databases.
;
; ## Example
; ```python
; session.query(Session).delete()
; session.execute(update(User).values(active=False))
; ```
;
; Use instead:
; ```python
; session.query(Session).filter(Session.user_id == user.id).delete()
; session.execute(update(User).where(User.last_login < cutoff).values(active=False))
; session.execute(delete(CacheEntry))  # noqa: SA404 -- the cache is rebuilt nightly
; ```
;
; ## Known limitations
; Statements built in another function, stored on attributes or passed as arguments are not
; followed, and a custom `Query` class that adds criteria of its own (soft-delete filters) is not
; known: suppress such lines with `# noqa: SA404`.
;
; ## References
; - [SQLAlchemy: ORM UPDATE and DELETE with Custom WHERE Criteria](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html#orm-update-and-delete-with-custom-where-criteria)
; - [SQLAlchemy: ORM Bulk UPDATE by Primary Key](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html#orm-bulk-update-by-primary-key)
; - [SQLAlchemy: Query.delete()](https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html#sqlalchemy.orm.Query.delete)
; - [SQLAlchemy: Using UPDATE and DELETE Statements](https://docs.sqlalchemy.org/en/20/tutorial/data_update.html)

; <query>.delete() / <query>.update({...})
(call
  function: (attribute attribute: (identifier) @_write (#match? @_write "^(delete|update)$"))) @write

; session.execute(delete(M)) / conn.execute(stmt) / session.exec(update(M).values(...))
(call
  function: (attribute attribute: (identifier) @_execute (#match? @_execute "^(execute|exec)$"))
  arguments: (argument_list)) @execute
