; code: SA403
; name: in-operator-in-filter
; summary: Python `in` / `not in` with a column inside query criteria is a constant, not a SQL `IN`; use `.in_()`
; severity: error
; family: correctness
; default: on
; fix: safe
; precision: high
;
; ## What it does
; Checks for Python's membership operators `in` / `not in` applied to a column inside query
; criteria: `User.role in roles`, `User.id not in ids`, `tag in Post.tags`, in the arguments of
; `.filter()`, `.where()`, `.having()`, the onclause of `.join()` / `.outerjoin()` and `and_()` /
; `or_()` / `not_()`, for every dialect: legacy `session.query(User)`, Flask-SQLAlchemy
; `User.query`, 2.0 `select(User)` / `update()` / `delete()`, SQLModel and async sessions.
;
; ## Why is this bad?
; Python cannot overload `in` to return a SQL expression: `User.role in roles` asks the Python
; list whether it contains the column object. Each `element == User.role` builds a SQL
; comparison that Python then turns into a truth value (an identity test, `False`), so the whole
; expression is the constant `False` (`not in`: `True`). `.filter(False)` silently becomes
; `WHERE false` and the query returns no rows; `.filter(True)` drops the condition and every row
; matches (inside `and_()` / `or_()` the constant is dropped or swallows the whole conjunction,
; and `.join(Target, False)` raises `ArgumentError`). Against a string, `User.role in "admin"`
; raises `TypeError`. With the column on the right, `tag in Post.tags` calls the column's
; `__contains__()`, which SQLAlchemy refuses for every column, ARRAY / JSON column and
; relationship alike: `NotImplementedError: Operator 'contains' is not supported on this
; expression`.
;
; ## Example
; ```python
; admins = session.query(User).filter(User.role in ("admin", "owner")).all()
; stmt = select(Post).where(Post.id not in hidden_ids)
; tagged = select(Post).where("sqlalchemy" in Post.tags)
; ```
;
; Use instead:
; ```python
; admins = session.query(User).filter(User.role.in_(("admin", "owner"))).all()
; stmt = select(Post).where(Post.id.not_in(hidden_ids))
; tagged = select(Post).where("sqlalchemy" == any_(Post.tags))  # ARRAY; `.contains(x)` for a relationship
; ```
;
; The rule stays silent when neither side is recognisably a column — plain variables, instance
; attributes (`user.role in roles`), enum-like constants, members of an `Enum` class and class
; attributes assigned a literal (`roles = ["admin"]`) in a class defined in the same file — and
; where Python is *meant* to decide:
; the test of a conditional expression (`User.role.in_(r) if "admin" in r else true()`), the `if`
; clause of a comprehension, operands of a comparison, arguments of other calls, lambdas and
; `filter_by()` keyword values.
;
; ## Fix safety
; The fix rewrites `X in items` to `X.in_(items)` and `X not in items` to `X.not_in(items)`. It is
; offered only when `X` is certainly a column — `table.c.x`, `func...(...)`, `cast(...)`, or
; `Model.x` where `Model` is defined in the same file with `x = Column(...)` /
; `mapped_column(...)` / `x: Mapped[...]` — because relationship attributes do not support
; `.in_()`, and never when `items` is a string literal. The fix changes what the query returns:
; that is the bug being fixed. `.not_in()` needs SQLAlchemy 1.4 or later (`.notin_()` before).
;
; ## References
; - [SQLAlchemy: Operator reference, `IN` comparisons](https://docs.sqlalchemy.org/en/20/core/operators.html#in-comparisons)
; - [SQLAlchemy: `ColumnOperators.in_()`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.in_)
; - [SQLAlchemy: `ColumnOperators.not_in()`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.not_in)
; - [SQLAlchemy: relationship `Comparator.contains()` / `any()`](https://docs.sqlalchemy.org/en/20/orm/queryguide/select.html#relationship-where-operators)
; - [SQLAlchemy: `any_()` for ARRAY columns](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.any_)

; Criteria calls: `.filter(...)`, `.where(...)`, `.having(...)`, `.join(T, on)`, `.outerjoin(T, on)`,
; `sa.and_(...)`; the check walks the arguments that SQLAlchemy reads as criteria.
(call
  function: (attribute
    attribute: (identifier) @_method
    (#any-of? @_method "filter" "where" "having" "join" "outerjoin" "and_" "or_" "not_"))
  arguments: (argument_list)) @criteria

; `and_(...)`, `or_(...)`, `not_(...)`, `join(left, right, onclause)` called by name.
(call
  function: (identifier) @_function
  (#any-of? @_function "and_" "or_" "not_" "join" "outerjoin")
  arguments: (argument_list)) @criteria
