; code: SA201
; name: session-not-closed
; summary: A session opened outside `with` and not closed on every path (no `close()` in a `finally`)
; severity: warning
; family: session
; default: on
; fix: none
; precision: high
; tags: sessions
;
; ## What it does
; Checks for a session opened into a local variable of a function — `session = Session(engine)`,
; `session = SessionLocal()`, `db = sessionmaker(bind=engine)()`, `session = AsyncSession(engine)`,
; SQLModel's `Session(engine)`, or a call of a `sessionmaker` / `async_sessionmaker` factory
; defined in this module or imported from another module of the project — that is not closed on
; every path. "Every path" includes exceptions: a `close()` that is not in a `finally` clause
; (at the end of the function, say) is skipped when anything before it raises or returns, and
; is reported with a message saying so.
;
; Not reported:
; - `with Session() as s:`, `with SessionLocal() as s:`, `async with AsyncSessionLocal() as s:`
;   (never matched: no assignment);
; - a `close()` (or `await s.close()`) in a `finally` clause, or in an `except` clause plus after
;   the `try`;
; - a session handed to its caller or to an owner: returned (`return s`, `return Repo(s)`),
;   yielded (the FastAPI generator dependency, a pytest fixture), stored (`self.s = s`,
;   `app.state.s = s`, `sessions.append(s)`), given to a context manager later (`with s:`,
;   `with s.begin():`, `with closing(s):`), to an exit stack (`stack.enter_context(s)`), or whose
;   `close` is registered as a callback (`stack.callback(s.close)`);
; - a call of a `scoped_session` registry (`Session = scoped_session(...)`, then `Session()`): it
;   returns the thread's session, which `Session.remove()` ends;
; - sessions in Alembic migrations (modules that import `alembic`): bound to the migration's
;   connection, which Alembic returns to the pool;
; - sessions bound to a connection the caller owns (`Session(conn)`, `Session(bind=connection)`):
;   they check nothing out of the pool;
; - test code (modules importing `pytest` / `unittest` / `sqlalchemy.testing`, `test_*`
;   functions, `Test*` classes, setup and teardown hooks): fixtures end sessions there;
; - factories and registries themselves, and module-level sessions (SA202).
;
; ## Why is this bad?
; An unclosed session lives until the garbage collector reaches it — sessions hold reference
; cycles, so that is not when the function returns — and while it has a transaction open (any
; statement since the last commit or rollback), that transaction keeps a connection checked out
; of the pool. Under load the pool runs dry (`QueuePool limit of size 5 overflow 10
; reached, connection timed out`), and open transactions hold locks. On the exception path this
; is exactly when it hurts: a failing request leaves its connection behind.
;
; ## Example
; ```python
; def rename(user_id, name):
;     session = SessionLocal()
;     user = session.get(User, user_id)
;     user.name = name
;     session.commit()
;     session.close()  # skipped if get() or commit() raises
; ```
;
; Use instead:
; ```python
; def rename(user_id, name):
;     with SessionLocal() as session, session.begin():
;         user = session.get(User, user_id)
;         user.name = name
; ```
;
; A FastAPI dependency that yields the session is the right pattern and is not reported:
; ```python
; def get_session():
;     with SessionLocal() as session:
;         yield session
; ```
;
; ## Known limitations
; Only sessions bound to a local name are followed. A session passed to a function that closes
; it (`finish(session)`) is reported: borrowing is far more common than handing over. A session
; stored through an alias the rule does not follow counts as handed over. Factories defined
; inside a function are not recognised.
;
; ## References
; - [SQLAlchemy: Opening and Closing a Session](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#opening-and-closing-a-session)
; - [SQLAlchemy: When do I construct a Session, when do I commit it, and when do I close it?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#session-faq-whentocreate)
; - [FastAPI: Dependencies with yield](https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/)

; <name> = <call> (the same pattern as SA204: it runs once)
(assignment
  left: [(attribute) (identifier)] @target
  right: (call) @call) @assign
