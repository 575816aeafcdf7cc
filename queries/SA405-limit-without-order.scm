; code: SA405
; name: limit-without-order
; summary: `.limit()` / `.offset()` on a query with no `order_by()`: which rows come back is undefined
; severity: info
; family: correctness
; default: on
; fix: none
; precision: high
;
; ## What it does
; Checks for `.limit(n)` and `.offset(n)` on a query that has no `order_by()`:
; - legacy `session.query(User).limit(10).all()`, Flask-SQLAlchemy `User.query.offset(20).limit(10)`,
;   and a query held in a local variable (`q = session.query(User)` ... `q.limit(10)`);
; - 2.0 `select(User).limit(10)` (also `sa.select`, `db.select`, SQLModel `select`) executed with
;   `session.execute()` / `scalars()` / `scalar()` / `exec()` / `stream()` / `db.paginate()`,
;   awaited or not, written inline or held in a local variable.
;
; The rule stays silent when an ordering may apply or does not matter:
; - an `order_by()` anywhere in the chain, or in any earlier value of the query / statement
;   variable (`if sort: q = q.order_by(...)`);
; - a 2.0 statement that is not executed where it is built (returned, passed to another
;   function, or changed later with `stmt.<method>(...)`): whoever runs it may order it. A legacy
;   `Query` cannot be ordered after `.limit()` (SQLAlchemy raises), so it is checked wherever it is;
; - `.limit(1)` / `.limit(2)` with no offset: a probe ("does one exist?", "is it unique?") or
;   "the row that matches", where any rows answer the question;
; - `.limit(n)` with no offset inside a `while` loop: a batch worked off until the criteria match
;   nothing (processed rows are updated or deleted), where the order of batches does not matter;
; - test code (files importing `pytest` / `unittest` / `sqlalchemy.testing`, functions named
;   `test*` / `setup*` / `teardown*`), which reads compiled SQL or tiny tables;
; - `.exists()` / `.count()` after the limit (only the number of rows matters), `.limit(None)`,
;   `.offset(0)`;
; - a query whose start the rule cannot see (a function parameter, an attribute, a dynamic
;   relationship such as `user.posts.limit(5)`, whose `order_by=` lives on the relationship).
;
; `.first()` is not reported: it is `LIMIT 1` on purpose and usually follows criteria that pin
; one row.
;
; ## Why is this bad?
; SQL returns rows in no defined order unless the statement has an `ORDER BY`. `LIMIT 10` then
; means "any ten rows": the database picks them by whatever plan it uses today, which changes with
; data volume, indexes, vacuuming or a version upgrade. With `OFFSET`, consecutive pages can
; return the same row twice and skip others; "the latest ten" silently becomes "some ten". Tests
; against a small SQLite table usually pass because rows happen to come back in insertion order.
;
; ## Example
; ```python
; session.query(Event).limit(10).all()
; session.scalars(select(Event).offset(page * 10).limit(10)).all()
; ```
;
; Use instead:
; ```python
; session.query(Event).order_by(Event.created_at.desc(), Event.id).limit(10).all()
; session.scalars(select(Event).order_by(Event.id).offset(page * 10).limit(10)).all()
; ```
; Order by a unique key (or end the ordering with one) so that pages are stable.
;
; ## Known limitations
; A mapper-level default ordering (`__mapper_args__ = {"order_by": ...}`, removed in SQLAlchemy
; 2.0) or a custom `Query` class that orders every query is not known: suppress such lines with
; `# noqa: SA405`. Queries built across functions are not followed.
;
; ## References
; - [SQLAlchemy: ORDER BY, LIMIT and OFFSET](https://docs.sqlalchemy.org/en/20/tutorial/data_select.html#order-by)
; - [SQLAlchemy: Select.limit()](https://docs.sqlalchemy.org/en/20/core/selectable.html#sqlalchemy.sql.expression.Select.limit)
; - [SQLAlchemy: Query.limit()](https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html#sqlalchemy.orm.Query.limit)
; - [PostgreSQL: LIMIT and OFFSET](https://www.postgresql.org/docs/current/queries-limit.html)

; <query>.limit(n) / <statement>.offset(n)
(call
  function: (attribute attribute: (identifier) @_limit (#match? @_limit "^(limit|offset)$"))
  arguments: (argument_list)) @limit
