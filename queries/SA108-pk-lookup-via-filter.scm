; code: SA108
; name: pk-lookup-via-filter
; summary: A primary-key lookup written as a filtered query instead of `Session.get()`
; severity: info
; family: modernization
; default: on
; fix: none
; precision: high
; tags: identity-map
;
; ## What it does
; Checks for queries whose only criterion compares a model's primary key with a value and that
; return one object:
; - `session.query(User).filter(User.id == user_id).first()` (also `.one()`, `.one_or_none()`,
;   `.filter_by(id=user_id)`, `.where(...)`);
; - Flask-SQLAlchemy `User.query.filter_by(id=user_id).first()` and `.first_or_404()`;
; - 2.0 `session.scalars(select(User).where(User.id == user_id)).first()` (also `.one()`,
;   `.one_or_none()`), `session.scalar(select(User).where(...))`,
;   `session.execute(select(User).where(...)).scalar_one()` / `.scalar_one_or_none()`,
;   including a result held in a variable (`result = await session.execute(stmt)` then
;   `result.scalar_one_or_none()`) and a statement held in one;
; - SQLModel `session.exec(select(Hero).where(Hero.id == hero_id)).first()`.
;
; The primary key comes from the project model index: the model must have exactly one
; primary-key column, and it must be the one compared. The rule stays silent for composite keys,
; for several criteria, for a comparison with another column, and when the query does anything
; else (loader options, joins, `order_by`, `with_for_update`, `execution_options`...).
;
; ## Why is this bad?
; `Session.get()` says what the code means, and it is cheaper: it first looks the object up in
; the session's identity map and returns it without emitting any SQL when it is already loaded,
; where a filtered query always makes a round trip to the database (and autoflushes first).
; It is also the 2.0-style spelling of a primary-key lookup.
;
; Mind the semantic differences when rewriting:
; - `.one()` / `.scalar_one()` raise `NoResultFound` when no row matches, while `get()` returns
;   `None`: keep the check explicit (`if obj is None: raise ...`), or use
;   `session.get_one(User, pk)` (SQLAlchemy 2.0.22+), which raises.
; - `get()` serves an object from the identity map without a query, so criteria that a custom
;   `Query` class or a `do_orm_execute` hook would add (soft-delete filters, tenant filters)
;   are not applied to an object that is already loaded.
;
; ## Example
; ```python
; user = session.query(User).filter(User.id == user_id).first()
; user = session.scalars(select(User).where(User.id == user_id)).one_or_none()
; user = User.query.filter_by(id=user_id).first_or_404()  # Flask-SQLAlchemy
; ```
;
; Use instead:
; ```python
; user = session.get(User, user_id)
; user = session.get(User, user_id)
; user = db.get_or_404(User, user_id)  # Flask-SQLAlchemy >= 3.0
; ```
;
; ## References
; - [SQLAlchemy: Session.get()](https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.get)
; - [SQLAlchemy: Get by Primary Key](https://docs.sqlalchemy.org/en/20/orm/queryguide/select.html#orm-queryguide-get-by-primary-key)
; - [SQLAlchemy: Session.get_one()](https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.get_one)
; - [Flask-SQLAlchemy: Queries for Views (`db.get_or_404`)](https://flask-sqlalchemy.readthedocs.io/en/stable/queries/#queries-for-views)

; <query>.first() / .one() / .one_or_none() / .first_or_404() / .scalar_one() ... and session.scalar(stmt)
(call
  function: (attribute
    attribute: (identifier) @_method)
  (#any-of? @_method "first" "one" "one_or_none" "first_or_404" "one_or_404" "scalar_one" "scalar_one_or_none" "scalar")) @span
