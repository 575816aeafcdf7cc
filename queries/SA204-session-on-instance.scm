; code: SA204
; name: session-on-instance
; summary: A session created and kept on `self` / `cls` or as a class attribute, never closed by its class
; severity: warning
; family: session
; default: on
; fix: none
; precision: high
; tags: sessions
;
; ## What it does
; Checks for a session *created* and stored on an object or class — `self.session = Session(engine)`,
; `self.db = SessionLocal()`, `cls.session = sessionmaker(...)()`, or `session = SessionLocal()`
; directly in a class body — when the class never ends it. Sessions are recognised as for SA202:
; SQLAlchemy's or SQLModel's `Session` / `AsyncSession` classes, and calls of
; `sessionmaker(...)`, `async_sessionmaker(...)` or `scoped_session(...)` factories of this
; module or imported from another module of the project.
;
; Not reported:
; - a session injected by the caller (`self.session = session` in `__init__`): the caller owns it;
; - factories and registries (`self.Session = sessionmaker(...)`, `self.session = db.session`);
; - a class that ends the session itself: it defines `__exit__` / `__aexit__` (a unit of work
;   opening in `__enter__`), or calls `self.<attr>.close()` / `.remove()` anywhere (a `close()`
;   method, a test case's `tearDown()`).
;
; ## Why is this bad?
; A session kept on a long-lived object (a service, a repository, a class shared by all
; requests) outlives the unit of work it was meant for: it spans requests and threads (a
; `Session` is not thread-safe), keeps its connection checked out and its transaction open,
; holds every object it ever loaded, and serves stale data from earlier transactions. A class
; attribute is worse still: it is created at import time and shared by every instance.
;
; ## Example
; ```python
; class UserService:
;     def __init__(self):
;         self.session = SessionLocal()
;
;     def get(self, user_id):
;         return self.session.get(User, user_id)
; ```
;
; Use instead:
; ```python
; class UserService:
;     def __init__(self, session: Session):
;         self.session = session  # owned by the caller: one per request
;
;     def get(self, user_id):
;         return self.session.get(User, user_id)
; ```
;
; Or open a session per operation (`with SessionLocal() as session:`), or make the class a
; context manager that closes the session in `__exit__`.
;
; ## Known limitations
; A class that closes the session through a helper under another name is not followed, and a
; session created through a method of the class (`self.session = self.make_session()`) is not
; recognised.
;
; ## References
; - [SQLAlchemy: Session Basics — When do I construct a Session, when do I commit it, and when do I close it?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#session-faq-whentocreate)
; - [SQLAlchemy: Is the Session thread-safe?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#is-the-session-thread-safe-is-asyncsession-safe-to-share-in-concurrent-tasks)

; self.<attr> = <call>, or <name> = <call> in a class body
(assignment
  left: [(attribute) (identifier)] @target
  right: (call) @call) @assign
