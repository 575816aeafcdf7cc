; code: SA101
; name: n-plus-one
; summary: A lazy relationship is loaded once per row inside a loop (N+1 queries)
; severity: error
; family: performance
; default: on
; fix: none
; precision: high
; tags: n-plus-one
;
; ## What it does
; Checks for a relationship read on each entity of a loop or comprehension when nothing loads it
; eagerly, so SQLAlchemy issues one extra `SELECT` per row: the classic N+1 queries.
;
; The entities may come from any dialect: `session.query(User)` (iterated, `.all()`, `.filter(...)`,
; `.yield_per(...)`), `session.scalars(select(User))`, `session.execute(select(User)).scalars()`,
; Flask-SQLAlchemy `User.query...`, SQLModel `session.exec(select(User))`, awaited async
; sessions, a local variable holding any of these, a parameter annotated `list[User]` /
; `Sequence[User]` / `Iterable[User]`, or another lazy collection (`for post in user.posts:`).
; Relationships are known project-wide from the model index (`sqlalint index` shows it), across
; files and model styles (2.0 `Mapped`, legacy `Column`, Flask-SQLAlchemy, SQLModel, mixins,
; inheritance, `backref=`).
;
; The rule stays silent when the relationship is loaded eagerly: loader options on the query
; (`joinedload`, `selectinload`, `subqueryload`, `contains_eager`, `raiseload`, `noload`, chains
; such as `selectinload(User.posts).joinedload(Post.tags)`, `defaultload(...).x`, `Load(User)...`,
; string paths and the `"*"` wildcard, options added later with `stmt = stmt.options(...)`), or
; the relationship's own `lazy=` (`joined`, `selectin`, `subquery`, `raise`, `raise_on_sql`,
; `noload`, `write_only`). It also stays silent when it cannot be sure: options it cannot read
; (`.options(*opts)`), a class name shared by two models that imports cannot disambiguate, a loop
; that always leaves after its first iteration. `lazy="immediate"` is *not* eager: it still runs
; one query per parent row, so it is reported. `lazy="dynamic"` relationships run a query each
; time they are used in the loop, and are reported too. In `async def` functions, plain lazy
; attribute access raises `MissingGreenlet` instead (see SA206); this rule reports the awaited
; `await obj.awaitable_attrs.rel` form there, which runs one query per row.
;
; ## Why is this bad?
; Each lazy load is a round trip to the database. A page listing 50 users and their posts runs 51
; queries instead of 2; the cost grows with the data, unnoticed in development and painful in
; production.
;
; ## Example
; ```python
; users = session.scalars(select(User)).all()
; for user in users:
;     print(user.name, len(user.posts))  # one SELECT per user
; ```
;
; Use instead:
; ```python
; users = session.scalars(select(User).options(selectinload(User.posts))).all()
; for user in users:
;     print(user.name, len(user.posts))  # loaded by one extra SELECT ... WHERE user_id IN (...)
; ```
;
; `selectinload` suits collections; `joinedload` suits many-to-one references. To make every
; unplanned lazy load fail loudly in tests, set `lazy="raise"` on the relationship or add
; `.options(raiseload("*"))` to the query.
;
; ## References
; - [SQLAlchemy: Relationship Loading Techniques](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html)
; - [SQLAlchemy: The N plus one problem](https://docs.sqlalchemy.org/en/20/glossary.html#term-N-plus-one-problem)
; - [SQLAlchemy: Preventing lazy loads with raiseload](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html#preventing-unwanted-lazy-loads-using-raiseload)

(for_statement) @loop
(list_comprehension) @loop
(set_comprehension) @loop
(dictionary_comprehension) @loop
(generator_expression) @loop
