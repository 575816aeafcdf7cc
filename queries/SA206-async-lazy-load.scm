; code: SA206
; name: async-lazy-load
; summary: A lazy relationship read on an object loaded through an `AsyncSession`: it raises `MissingGreenlet`
; severity: error
; family: session
; default: on
; fix: none
; precision: high
; tags: sessions, asyncio
;
; ## What it does
; Checks `async def` functions for relationship reads on objects the function loaded through an
; awaited session call — `await session.get(User, pk)`, `(await session.scalars(select(User))).first()`,
; `await session.scalar(select(User)...)`, `result = await session.execute(...)` then
; `result.scalar_one()`, SQLModel's `await session.exec(select(Hero))`, and loops over such
; results — when the relationship loads lazily (the default `lazy="select"`) and the statement
; does not load it. Relationships are looked up in the project's models.
;
; Not reported:
; - relationships loaded by the statement: `selectinload`, `joinedload`, `subqueryload`,
;   `immediateload`, `contains_eager` (also through `stmt = stmt.options(...)` and
;   `session.get(..., options=[...])`), or blocked with `raiseload` / `noload`;
; - relationships whose `lazy=` is eager or non-loading (`"selectin"`, `"joined"`,
;   `"subquery"`, `"immediate"`, `"raise"`, `"raise_on_sql"`, `"noload"`, `"write_only"`) or
;   dynamic (SA307's business);
; - reads through `AsyncAttrs`: `await user.awaitable_attrs.posts`;
; - reads after `await session.refresh(user, ["posts"])` naming the relationship;
; - writes (`user.posts = [...]`), code in nested functions and lambdas (`run_sync` callbacks),
;   sync functions, and objects the function did not load itself (parameters).
;
; ## Why is this bad?
; Under asyncio, SQLAlchemy cannot run a query implicitly on attribute access: the lazy load
; needs IO, and attribute access cannot be awaited. It raises
; `sqlalchemy.exc.MissingGreenlet: greenlet_spawn has not been called; can't call await_only() here`
; at run time — often only in production, when the object was not already in the identity map.
; The relationship must be loaded with the statement, or read through an awaitable API.
;
; ## Example
; ```python
; async def user_posts(session: AsyncSession, user_id: int):
;     user = await session.get(User, user_id)
;     return [post.title for post in user.posts]  # MissingGreenlet
; ```
;
; Use instead:
; ```python
; async def user_posts(session: AsyncSession, user_id: int):
;     user = await session.get(User, user_id, options=[selectinload(User.posts)])
;     return [post.title for post in user.posts]
; ```
;
; Or `posts = await user.awaitable_attrs.posts` (with `class Base(AsyncAttrs, DeclarativeBase)`),
; or `await session.refresh(user, ["posts"])` before the read, or `lazy="selectin"` on the
; relationship when it is always needed.
;
; ## Known limitations
; A many-to-one whose target happens to be in the session's identity map already loads without
; IO and does not raise; the rule cannot know that and reports it. Objects received as
; parameters, or loaded in another function, are not followed. A read after
; `await session.commit()` raises for every attribute (see SA207).
;
; ## References
; - [SQLAlchemy: Preventing Implicit IO when Using AsyncSession](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#preventing-implicit-io-when-using-asyncsession)
; - [SQLAlchemy: AsyncAttrs](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#sqlalchemy.ext.asyncio.AsyncAttrs)
; - [SQLAlchemy error: MissingGreenlet](https://docs.sqlalchemy.org/en/20/errors.html#error-xd2s)

; every function: only `async def` ones are read
(function_definition) @function
