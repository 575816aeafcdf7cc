; code: SA104
; name: add-in-loop
; summary: Objects built in a loop are added one `session.add()` at a time; collect them for `add_all()` or a bulk insert
; severity: info
; family: performance
; default: off
; fix: none
; precision: medium
; tags: bulk
;
; ## What it does
; Checks for `session.add(obj)` on every iteration of a `for` loop that builds `obj` there:
; `session.add(User(name=n))`, or `user = User(...)` earlier in the same iteration. The receiver
; is judged as in SA106: `session`, `db.session` (Flask-SQLAlchemy), `self.session`, a parameter
; annotated `Session` / `AsyncSession` (SQLModel's `Session` too), or a variable bound from a
; session factory.
;
; The rule is opt-in (select `SA104`), and stays silent when the per-item `add()` is part of
; per-item work: the loop also flushes, commits, rolls back, queries or calls another session
; method per item (SA106 covers per-item commits). It also skips objects not built in the loop
; (re-adding loaded or passed-in objects), `add_all()` itself, `while` loops, comprehensions and
; functions defined in the loop.
;
; ## Why is this bad?
; It is not wrong: `add_all()` is a loop over `add()`, and the unit of work batches the INSERTs at
; flush time either way. But building a list and handing it over once says what the code does,
; keeps the loop free of session state, and is the first step to a real bulk load: for thousands
; of rows, an ORM bulk INSERT (`session.execute(insert(User), rows)` with a list of dicts) skips
; the per-object identity-map and event bookkeeping altogether and is many times faster.
;
; ## Example
; ```python
; for row in rows:
;     session.add(User(name=row["name"], email=row["email"]))
; session.commit()
; ```
;
; Use instead:
; ```python
; session.add_all([User(name=row["name"], email=row["email"]) for row in rows])
; session.commit()
; ```
;
; Or, for bulk loads that do not need the ORM objects afterwards:
; ```python
; session.execute(insert(User), [{"name": r["name"], "email": r["email"]} for r in rows])
; session.commit()
; ```
;
; ## References
; - [SQLAlchemy: Session.add_all()](https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.add_all)
; - [SQLAlchemy: ORM bulk INSERT](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html)
; - [SQLAlchemy: Managing Transactions](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html)

; <session>.add(obj)
(call
  function: (attribute attribute: (identifier) @_m (#eq? @_m "add"))
  arguments: (argument_list . (_) @obj .)) @call
