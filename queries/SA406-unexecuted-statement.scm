; code: SA406
; name: unexecuted-statement
; summary: A DELETE / UPDATE / INSERT statement is built and thrown away, never executed: the code looks like it writes but does nothing
; severity: error
; family: correctness
; default: on
; fix: none
; precision: very-high
;
; ## What it does
; Checks for Core / ORM DML statements that are built and never executed:
; - an expression statement that is only a statement construct: `delete(User).where(User.id == uid)`,
;   `update(User).where(...).values(active=False)`, `insert(Log).values(...)`, and the `Table`
;   method forms `users.delete().where(...)`, `users.update().values(...)`;
; - a statement assigned to a local variable that the function never reads again
;   (`stmt = delete(User).where(...)` and no `session.execute(stmt)`).
;
; `delete`, `update` and `insert` count only when imported from SQLAlchemy or SQLModel (or read
; as `sa.delete`, `sqlalchemy.update`), so a project's own `delete(item)` helper is never
; reported; the `Table` method forms count only when a builder method (`.where()`, `.values()`,
; `.returning()`...) follows, since `obj.delete()` alone is anybody's method. A chain that goes on
; to call anything else (`stmt.execute()` of SQLAlchemy 1.x's bound metadata) is not reported.
;
; ## Why is this bad?
; `delete()`, `update()` and `insert()` only *describe* a statement; nothing is sent to the
; database until the statement is passed to `Session.execute()` or `Connection.execute()`. A
; statement left on its own line reads like a write, passes review and tests that do not check
; the rows, and silently does nothing — the user is not deleted, the flag is not cleared.
; Often it is the remains of a migration from `session.query(User).filter(...).delete()`, which
; does execute.
;
; ## Example
; ```python
; def deactivate(session: Session, user_id: int) -> None:
;     update(User).where(User.id == user_id).values(active=False)
;     session.commit()
; ```
;
; Use instead:
; ```python
; def deactivate(session: Session, user_id: int) -> None:
;     session.execute(update(User).where(User.id == user_id).values(active=False))
;     session.commit()
; ```
;
; Statements built inside `with pytest.raises(...)` / `assertRaises(...)` / `expect_raises(...)`
; (built only to see the constructor fail) and variables of functions that read their locals
; through `locals()` / `vars()` are not reported.
;
; ## Known limitations
; A statement stored in an attribute (`self.stmt = delete(...)`), a module-level variable,
; or a container is not followed, since it may be executed elsewhere.
;
; ## References
; - [SQLAlchemy: ORM-Enabled INSERT, UPDATE, and DELETE statements](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html)
; - [SQLAlchemy: Using UPDATE and DELETE Statements](https://docs.sqlalchemy.org/en/20/tutorial/data_update.html)
; - [SQLAlchemy: Session.execute()](https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.execute)

; The constructor's name is in the statement's text: where it is not, no cursor starts.

; delete(User).where(...) on its own line
((expression_statement [(call) (parenthesized_expression)] @call) @statement
  (#sqlalint-mentions? @statement "delete" "update" "insert"))

; stmt = delete(User).where(...) in a function, never read again
((expression_statement
  (assignment left: (identifier) @var right: [(call) (parenthesized_expression)] @call)) @statement
  (#sqlalint-mentions? @statement "delete" "update" "insert"))
