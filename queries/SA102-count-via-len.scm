; code: SA102
; name: count-via-len
; summary: Rows counted by loading every row into Python and calling `len()`
; severity: warning
; family: performance
; default: on
; fix: none
; precision: high
;
; ## What it does
; Checks for `len()` applied to the fully loaded result of a query:
; `len(session.query(User).all())`, `len(User.query.all())` (Flask-SQLAlchemy),
; `len(session.scalars(select(User)).all())`, `len(session.execute(stmt).all())`,
; `len(session.exec(select(User)).all())` (SQLModel), `len(list(session.scalars(...)))`,
; and `len(q.all())` where `q` was assigned a query earlier in the same function.
;
; ## Why is this bad?
; To count rows this way, the database sends every row, SQLAlchemy builds an ORM object
; (with identity-map bookkeeping) for each, and Python then throws them all away. The cost
; grows with the table; a `COUNT(*)` query returns one integer whatever the size.
;
; ## Example
; ```python
; active = len(session.query(User).filter(User.active).all())
; total = len(session.scalars(select(User).where(User.active)).all())
; ```
;
; Use instead:
; ```python
; active = session.query(User).filter(User.active).count()
; total = session.scalar(select(func.count()).select_from(User).where(User.active))
; ```
;
; If the loaded rows are also used afterwards, keep the list and call `len()` on it: this rule
; only fires when the list exists solely to be counted.
;
; ## References
; - [SQLAlchemy: Query.count()](https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html#sqlalchemy.orm.Query.count)
; - [SQLAlchemy: counting with `func.count()`](https://docs.sqlalchemy.org/en/20/tutorial/data_select.html#tutorial-group-by-w-aggregates)

; len(<query>.all()) / len(list(<query>))
(call
  function: (identifier) @_len (#eq? @_len "len")
  arguments: (argument_list . (call) @inner .)) @span
