; code: SA202
; name: global-session
; summary: A session instance created at module level and shared by everything that imports it
; severity: error
; family: session
; default: on
; fix: none
; precision: high
; tags: sessions
;
; ## What it does
; Checks for a `Session` *instance* bound to a name at module level (also inside top-level
; `if` / `try` / `with` blocks):
; - `session = Session(engine)` / `AsyncSession(engine)` with the class imported from
;   `sqlalchemy.orm`, `sqlalchemy.ext.asyncio` or `sqlmodel` (or written `orm.Session`,
;   `sa.orm.Session`);
; - `session = SessionLocal()` where `SessionLocal = sessionmaker(...)`,
;   `async_sessionmaker(...)`, `scoped_session(...)` or `async_scoped_session(...)` at module
;   level of the same file, or of another module of the project it is imported from
;   (`from app.db import SessionLocal`);
; - `session = sessionmaker(bind=engine)()`.
;
; A factory is not a session: module-level `SessionLocal = sessionmaker(...)`,
; `Session = scoped_session(...)` and Flask-SQLAlchemy's `db.session` are the documented
; patterns and are never reported. Neither are other libraries' sessions (`requests.Session()`,
; `aiohttp.ClientSession()`, `boto3.session.Session()`), sessions created inside functions or
; classes (see SA201 and SA204), nor those under `if __name__ == "__main__":`, where the module
; is the program being run.
;
; ## Why is this bad?
; A `Session` is a unit of work meant to live for one request, job or transaction. One created
; at import time is shared by every thread, task and request of the process:
; - it is not thread-safe (nor is `AsyncSession` safe across concurrent tasks), so concurrent
;   requests corrupt its state;
; - its identity map keeps every object it ever loaded, so memory grows and reads return stale
;   data from earlier transactions;
; - its transaction (and the pooled connection it holds) stays open between requests, and a
;   single failed flush leaves it needing `rollback()`, so every later use raises
;   `PendingRollbackError` until someone rolls back.
;
; ## Example
; ```python
; from sqlalchemy.orm import sessionmaker
;
; SessionLocal = sessionmaker(bind=engine)
; session = SessionLocal()
;
;
; def get_user(user_id):
;     return session.get(User, user_id)
; ```
;
; Use instead:
; ```python
; SessionLocal = sessionmaker(bind=engine)
;
;
; def get_user(user_id):
;     with SessionLocal() as session:
;         return session.get(User, user_id)
; ```
;
; Keep the factory at module level and open a session per unit of work. Where a global
; handle is convenient, `scoped_session(SessionLocal)` is a registry that gives each thread its
; own session (remove it at the end of each request with `Session.remove()`).
;
; ## Known limitations
; A factory imported from outside the project (an installed package) is not known, and a
; module-level name bound to a factory in one branch and to something else in another is left
; alone.
;
; ## References
; - [SQLAlchemy: Session Basics — When do I construct a Session, when do I commit it, and when do I close it?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#session-faq-whentocreate)
; - [SQLAlchemy: Is the Session thread-safe?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#is-the-session-thread-safe-is-asyncsession-safe-to-share-in-concurrent-tasks)
; - [SQLAlchemy: Contextual/Thread-local Sessions](https://docs.sqlalchemy.org/en/20/orm/contextual.html)

; <name> = <call>
(assignment
  left: (identifier) @name
  right: (call) @call) @assign
