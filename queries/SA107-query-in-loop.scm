; code: SA107
; name: query-in-loop
; summary: A query whose criteria use the loop variable runs once per iteration; batch it with `in_()`
; severity: warning
; family: performance
; default: on
; fix: none
; precision: high
; tags: n-plus-one
;
; ## What it does
; Checks for a query executed inside a `for` loop or a comprehension whose criteria use the loop
; variable, so the database is asked the same question once per item:
; `session.get(User, user_id)`, `session.scalars(select(Post).where(Post.author_id == user.id))`,
; `session.execute(select(...).where(...))`, `session.scalar(...)`,
; `session.query(Post).filter_by(author_id=user.id).first()` / `.filter(...).all()` / `.count()`,
; Flask-SQLAlchemy `Post.query.get(pk)` / `Post.query.filter_by(...).all()` / `db.get_or_404(...)`,
; SQLModel `session.exec(select(...).where(...))`, and the awaited async forms. The loop variable
; may be used directly, through attributes (`user.id`), or through a variable computed from it in
; the loop body (`key = user.id` then `.where(Post.author_id == key)`); statements and legacy
; queries built in a variable (`stmt = select(Post).where(...)`, `q = session.query(Post)`) are
; followed.
;
; The rule stays silent when the loop is not a batch to speak of: loops over a literal of up to
; three items (`for kind in ("a", "b"):`), retry loops (`for attempt in range(n):` that `break`
; on success), loops whose body always leaves after the query (`return`, `break`, `raise`),
; `while` loops, and loops that open a session or connection per item (`with Session(engine)
; as s:`, `with engine.connect() as conn:`), where each item is its own unit of work. It also
; ignores queries that do not use the loop variable (the same query repeated is a different
; problem), criteria that already batch with `in_()` (chunked loops), criteria that compare the
; per-item value as a range or pattern (`Event.at <= item.deadline`, `.between()`, `.like()`),
; which one `in_()` query cannot express, keys the database generated in the same iteration
; (`result.inserted_primary_key`), textual statements without a `WHERE` (`SELECT
; lo_unlink(:oid)` calls a function), queries inside assertions (`assert ...`, `eq_(...)`),
; queries in functions or lambdas defined in the loop, and `session.add()` / `delete()` /
; `merge()` / `refresh()` / `expire()`, which are not queries. Relationship attributes read in a
; loop (`user.posts`) are SA101's business.
;
; ## Why is this bad?
; Each iteration is a round trip to the database: 500 items cost 500 queries where one
; `WHERE ... IN (...)` query would do. The cost grows with the data and is easy to miss in
; development, where the loops are short.
;
; ## Example
; ```python
; for order in orders:
;     customer = session.get(Customer, order.customer_id)  # one SELECT per order
;     print(customer.name)
; ```
;
; Use instead:
; ```python
; ids = {order.customer_id for order in orders}
; customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
; for order in orders:
;     print(customers[order.customer_id].name)
; ```
;
; For counts, group once: `select(Post.author_id, func.count()).where(Post.author_id.in_(ids))
; .group_by(Post.author_id)`. When the items are rows loaded by a query, a relationship with
; `selectinload()` often does the batching for you. Very long id lists can be sent in chunks of a
; few hundred, which this rule accepts.
;
; ## References
; - [SQLAlchemy: ColumnOperators.in_](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.in_)
; - [SQLAlchemy: Select IN loading](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html#selectin-eager-loading)
; - [SQLAlchemy: The N plus one problem](https://docs.sqlalchemy.org/en/20/glossary.html#term-N-plus-one-problem)

(call
  function: (attribute attribute: (identifier) @_method)
  (#any-of? @_method
    "query" "get" "get_one" "get_or_404" "scalars" "scalar" "execute" "exec" "first_or_404" "one_or_404"
    "first" "all" "one" "one_or_none" "count")) @call

; Flask-SQLAlchemy `Model.query.<method>(...)`, matched from the call on it: rooted at
; calls (like the pattern above) rather than at every attribute read in the file.
(call
  function: (attribute
    object: (attribute
      object: (identifier) @_class
      attribute: (identifier) @_query
      (#eq? @_query "query")
      (#match? @_class "^[A-Z]")) @call))
