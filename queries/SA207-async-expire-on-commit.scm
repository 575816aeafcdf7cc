; code: SA207
; name: async-expire-on-commit
; summary: `async_sessionmaker` / `AsyncSession` without `expire_on_commit=False`: attributes read after commit raise `MissingGreenlet`
; severity: warning
; family: session
; default: on
; fix: none
; precision: high
; tags: sessions, async
;
; ## What it does
; Checks for `async_sessionmaker(...)`, `sessionmaker(..., class_=AsyncSession)` and
; `AsyncSession(...)` (the class imported from `sqlalchemy.ext.asyncio`, or qualified) called
; without an `expire_on_commit=` argument. Calls that pass `expire_on_commit=` explicitly (even
; `True`: a deliberate choice) or `**options` (which may carry it), and calls of an existing
; factory (`AsyncSessionLocal()`), are not reported.
;
; The rule reports **always**, not only where the project reads an attribute after
; `await session.commit()`: such reads are usually in other functions and modules than the
; factory (a repository commits, an endpoint serialises the returned object), which cannot be
; traced reliably, and the SQLAlchemy documentation recommends `expire_on_commit=False` for every
; `AsyncSession`.
;
; ## Why is this bad?
; With the default `expire_on_commit=True`, `commit()` expires every object in the session so
; the next attribute access reloads it from the database. In a synchronous session that reload
; is an invisible extra `SELECT`; under asyncio, implicit I/O on attribute access is impossible,
; so reading `user.name` after `await session.commit()` raises
; `sqlalchemy.exc.MissingGreenlet: greenlet_spawn has not been called; can't call await_only()
; here`. The classic case is an endpoint that creates an object, commits, and returns it for
; serialisation.
;
; ## Example
; ```python
; async_session = async_sessionmaker(engine)
;
;
; async def create_user(name: str) -> User:
;     async with async_session() as session:
;         user = User(name=name)
;         session.add(user)
;         await session.commit()
;         print(user.name)  # MissingGreenlet
;         return user
; ```
;
; Use instead:
; ```python
; async_session = async_sessionmaker(engine, expire_on_commit=False)
; ```
;
; Where fresh values are needed after a commit (server-side defaults, triggers), refresh the
; object explicitly: `await session.refresh(user)`.
;
; ## Known limitations
; An async factory from an installed package, or one built through a helper function, is not
; seen. A project that never reads attributes after a commit gets a finding it could ignore;
; adding the argument costs nothing.
;
; ## References
; - [SQLAlchemy: Preventing Implicit IO when Using AsyncSession](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#asyncio-orm-avoid-lazyloads)
; - [SQLAlchemy: Synopsis - ORM (`expire_on_commit=False`)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#synopsis-orm)
; - [SQLAlchemy: Committing (`expire_on_commit`)](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#committing)
; - [SQLAlchemy error reference: MissingGreenlet (xd2s)](https://docs.sqlalchemy.org/en/20/errors.html#error-xd2s)

; async_sessionmaker(...), sessionmaker(...), AsyncSession(...)
(call
  function: (identifier) @_name
  (#any-of? @_name "async_sessionmaker" "sessionmaker" "AsyncSession")) @call

; asyncio.async_sessionmaker(...), sa_asyncio.AsyncSession(...)
(call
  function: (attribute
    attribute: (identifier) @_name
    (#any-of? @_name "async_sessionmaker" "sessionmaker" "AsyncSession"))) @call
