; code: SA203
; name: missing-rollback
; summary: An `except` swallows a failed `commit()` / `flush()` without `rollback()`, leaving the session unusable
; severity: error
; family: session
; default: on
; fix: none
; precision: high
; tags: sessions, transactions
;
; ## What it does
; Checks for a `try` whose body calls `session.commit()` or `session.flush()` (also
; `await session.commit()`, Flask-SQLAlchemy's `db.session.commit()`, `self.session.flush()`)
; with an `except` clause that can catch the failure — bare `except:`, `Exception`,
; `SQLAlchemyError`, `IntegrityError`, `OperationalError`, `DBAPIError` and the other
; `sqlalchemy.exc` errors, alone, qualified or in a tuple — and that neither rolls back nor
; lets the error propagate. The finding is reported on the `except` line.
;
; A handler counts as handling the failure when it (anywhere in its body, or in the `try`'s
; `finally:`):
; - re-raises: any `raise` statement (bare, `raise ... from e`, or a new exception), or calls
;   `abort(...)`, `sys.exit(...)`, `pytest.fail(...)`, or a helper named `raise*` / `reraise*`;
; - calls anything named like `rollback` (`session.rollback()`, `self._rollback()`);
; - closes the session (`session.close()`, Flask-SQLAlchemy's `db.session.remove()`).
;
; The write is not reported either when something nearer deals with the failure: it runs
; inside `with session.begin():`, `with Session.begin() as s:` or `with s.begin_nested():`
; (which roll back, or release the savepoint, on error), inside a `with Session(engine) as s:`
; block opened in the `try` (closed before the handler runs), or inside a nested `try` with its
; own handlers. A session opened in the same function (`s = SessionLocal()`, or a `with` around
; the `try`) that is not used, returned or yielded after the failure is left alone too: its
; failed state reaches no one (leaking it is SA201's business). Handlers of other exceptions
; (`except ValueError:`, a project's own error class) are never reported: a failed flush does
; not reach them.
;
; ## Why is this bad?
; When a flush fails (a constraint violation, a deadlock, a lost connection), SQLAlchemy rolls
; back the database transaction but keeps the session's transaction open and *inactive*: every
; later use of that session — a query, a lazy load, another commit, even reading an expired
; attribute — raises `PendingRollbackError: This Session's transaction has been rolled back due
; to a previous exception during flush`, until `rollback()` is called. Swallowing the error
; therefore turns one failed write into a cascade of unrelated failures later in the request,
; the loop or, for a shared session, the whole process.
;
; ## Example
; ```python
; def create_user(session, name):
;     session.add(User(name=name))
;     try:
;         session.commit()
;     except IntegrityError:
;         log.warning("duplicate user %s", name)
;         return None
; ```
;
; Use instead:
; ```python
; def create_user(session, name):
;     session.add(User(name=name))
;     try:
;         session.commit()
;     except IntegrityError:
;         session.rollback()
;         log.warning("duplicate user %s", name)
;         return None
; ```
;
; Or let the session's context manager do it: `with session.begin():` commits on success and
; rolls back on error, and `with session.begin_nested():` limits the rollback to a savepoint.
;
; ## Known limitations
; A helper called from the handler that rolls back (or re-raises) under another name is not
; followed, and a session whose failure reaches no one in practice (a request-scoped session
; discarded right after) is still reported when it is a parameter, an attribute or
; `db.session`: rolling back is the documented contract and costs nothing.
;
; ## References
; - [SQLAlchemy: "This Session's transaction has been rolled back due to a previous exception during flush"](https://docs.sqlalchemy.org/en/20/faq/sessions.html#this-session-s-transaction-has-been-rolled-back-due-to-a-previous-exception-during-flush-or-similar)
; - [SQLAlchemy: Managing Transactions](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html)
; - [SQLAlchemy: Using SAVEPOINT](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#using-savepoint)
; - [SQLAlchemy error reference: PendingRollbackError (7s2a)](https://docs.sqlalchemy.org/en/20/errors.html#error-7s2a)

; try: ... except ...: ...   (one match per `except` clause)
(try_statement
  (except_clause) @handler) @try
