; code: SA205
; name: sync-session-in-async
; summary: A synchronous `Session` queried or committed inside `async def`, blocking the event loop
; severity: error
; family: session
; default: on
; fix: none
; precision: high
; tags: sessions, async
;
; ## What it does
; Checks for blocking calls — `query`, `execute`, `scalars`, `scalar`, `get`, `get_one`,
; `refresh`, `merge`, `flush`, `commit`, `rollback`, SQLModel's `exec` — on a *synchronous*
; session, made directly in the body of an `async def` and not awaited. The session must be
; proven synchronous by the file itself:
; - a parameter annotated with SQLAlchemy's or SQLModel's `Session` (or `scoped_session`), also
;   inside `Annotated[Session, Depends(get_db)]` or through a module-level alias such as
;   `SessionDep = Annotated[Session, Depends(get_session)]` — the usual FastAPI dependency;
; - a variable opened from `Session(engine)`, `sessionmaker(...)` factories of this module or
;   imported, by assignment or `with ... as session:`.
;
; One finding is reported per session and function, on its first blocking call, with the
; number of further calls. Not reported: awaited calls (an `AsyncSession`'s), sessions of
; unknown type (a bare `db` parameter, Flask-SQLAlchemy's `db.session`), sessions annotated
; `AsyncSession`, and calls inside a nested `def` or `lambda` (handed to `run_sync`,
; `run_in_executor` or `asyncio.to_thread`, which run them off the event loop).
;
; ## Why is this bad?
; A synchronous `Session` performs network I/O in the calling thread. Inside a coroutine, that
; thread is the event loop's: while the database answers, no other request, task or timer of the
; process runs. Under load, one slow query stalls the whole server, and latency of unrelated
; endpoints grows with it. FastAPI runs plain `def` endpoints in a thread pool precisely so they
; can block; an `async def` endpoint given a sync `Session` gets no such protection.
;
; ## Example
; ```python
; @app.get("/users/{user_id}")
; async def read_user(user_id: int, db: Session = Depends(get_db)):
;     return db.get(User, user_id)
; ```
;
; Use instead:
; ```python
; @app.get("/users/{user_id}")
; async def read_user(user_id: int, db: AsyncSession = Depends(get_async_db)):
;     return await db.get(User, user_id)
; ```
;
; Or keep the sync `Session` in a plain `def` endpoint, which FastAPI runs in its thread pool:
; ```python
; @app.get("/users/{user_id}")
; def read_user(user_id: int, db: Session = Depends(get_db)):
;     return db.get(User, user_id)
; ```
;
; ## Known limitations
; A session whose type the file does not show (an unannotated parameter, an attribute such as
; `self.session`, a factory from an installed package) is not followed, and blocking work hidden
; in helper functions called from the coroutine is not seen.
;
; ## References
; - [SQLAlchemy: Asynchronous I/O (asyncio)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html)
; - [SQLAlchemy: Using AsyncSession with Concurrent Tasks](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#using-asyncsession-with-concurrent-tasks)
; - [FastAPI: Concurrency and async / await](https://fastapi.tiangolo.com/async/)

; <receiver>.<blocking method>(...)
(call
  function: (attribute
    object: (identifier) @receiver
    attribute: (identifier) @_method
    (#any-of? @_method "query" "execute" "scalars" "scalar" "commit" "flush" "get" "get_one" "refresh" "exec" "merge" "rollback"))) @call
