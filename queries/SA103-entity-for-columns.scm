; code: SA103
; name: entity-for-columns
; summary: A loop reads only a few columns of each entity, but the query loads whole ORM objects
; severity: warning
; family: performance
; default: on
; fix: none
; precision: high
; tags: columns
;
; ## What it does
; Checks for a loop or comprehension over the results of a query for whole entities
; (`session.query(User)`, `User.query...` in Flask-SQLAlchemy, `session.scalars(select(User))`,
; `session.execute(select(User)).scalars()`, SQLModel `session.exec(select(User))`, awaited async
; sessions, or a local variable holding any of these) whose body only ever reads plain column
; attributes of the loop variable: `[u.email for u in session.scalars(select(User))]`.
; Columns are known project-wide from the model index, including those inherited from mixins
; and parent classes.
;
; The rule stays silent whenever the entity itself may be needed:
; - the loop variable is used on its own anywhere (passed to a function, returned, yielded,
;   appended, stored in a dict, compared, formatted as `f"{u}"`, read after the loop);
; - an attribute is written (`u.name = ...`, `u.tags.append(...)`), or a method is called on it
;   (`u.to_dict()`);
; - an attribute is not a mapped column in the index: a relationship, a `hybrid_property`, a
;   `column_property`, a plain Python `@property`;
; - the loop reads every column the model has;
; - the query's result (or the query) is kept in a variable that is used anywhere else
;   (`users = q.all()`, the loop, then `return users`);
; - the query carries `.options(...)` (`load_only`, eager loading), joins, `DISTINCT` or
;   `.unique()`: the legacy `Query` de-duplicates whole entities, but not rows of columns.
;
; ## Why is this bad?
; Loading an entity fetches every column of its table and builds a full ORM object for each row:
; state tracking, identity-map registration, attribute instrumentation, and references kept in
; the session until it is closed. Selecting only the columns the loop reads fetches less data and
; returns lightweight `Row` tuples, typically several times faster for large results, and needs
; no `Session` bookkeeping at all.
;
; ## Example
; ```python
; for user in session.scalars(select(User).where(User.active)):
;     print(user.id, user.email)
;
; emails = [user.email for user in User.query.filter_by(active=True)]  # Flask-SQLAlchemy
; ```
;
; Use instead:
; ```python
; for row in session.execute(select(User.id, User.email).where(User.active)):
;     print(row.id, row.email)
;
; emails = [row.email for row in User.query.filter_by(active=True).with_entities(User.email)]
; ```
;
; With the legacy API, select the columns in the query itself: `session.query(User.id, User.email)`.
; Each row has the same attribute names as the entity (`row.email`), so the loop body rarely changes.
; If you need the objects elsewhere, `load_only(User.id, User.email)` keeps entities while
; loading fewer columns.
;
; ## References
; - [SQLAlchemy: Selecting ORM Entities and Columns](https://docs.sqlalchemy.org/en/20/orm/queryguide/select.html#selecting-orm-entities-and-attributes)
; - [SQLAlchemy: Column Loading Options (`load_only`)](https://docs.sqlalchemy.org/en/20/orm/queryguide/columns.html)
; - [SQLAlchemy FAQ: Performance (result fetching slowness, ORM)](https://docs.sqlalchemy.org/en/20/faq/performance.html)
; - [SQLAlchemy examples: `large_resultsets` (full objects vs. columns)](https://docs.sqlalchemy.org/en/20/orm/examples.html#module-examples.performance)
; - [SQLAlchemy: Query.with_entities() (legacy API, and Flask-SQLAlchemy's `Model.query`)](https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html#sqlalchemy.orm.Query.with_entities)

(for_statement) @loop
(list_comprehension) @loop
(set_comprehension) @loop
(dictionary_comprehension) @loop
(generator_expression) @loop
