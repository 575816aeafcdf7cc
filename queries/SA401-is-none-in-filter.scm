; code: SA401
; name: is-none-in-filter
; summary: Python `is None` / `is not None` on a column inside query criteria is a constant, not an `IS NULL` test
; severity: error
; family: correctness
; default: on
; fix: safe
; precision: high
;
; ## What it does
; Checks for Python's identity operators `is` / `is not` applied to a column inside query
; criteria: `User.deleted_at is None`, `User.deleted_at is not None`, `User.active is True`,
; in the arguments of `.filter()`, `.where()`, `.having()`, the onclause of `.join()` /
; `.outerjoin()` (second positional argument or `onclause=`), and `and_()` / `or_()` /
; `not_()`, for every dialect: legacy `session.query(User)`, Flask-SQLAlchemy `User.query`,
; 2.0 `select(User)`, `update(User)`, `delete(User)`, SQLModel and async sessions.
;
; ## Why is this bad?
; SQLAlchemy overloads `==`, `!=`, `<`, `&`, `|`, `~`... to build SQL, but Python does not let
; a library overload `is`: `User.deleted_at is None` asks Python whether the column object *is*
; the `None` object. It never is, so the expression is the constant `False` (and `is not None`
; the constant `True`). `.filter(False)` silently becomes `WHERE false` — the query returns no
; rows — and `.filter(True)` becomes `WHERE true`: the condition simply disappears and every
; row it was meant to exclude matches, soft-deleted ones included. No error is raised either
; way. Inside `and_()` / `&` a `True` is dropped and a `False` makes the whole conjunction
; `false`; inside `or_()` / `|` a `False` is dropped and a `True` makes it `true`. Only
; `.join(Target, False)` fails loudly, with `ArgumentError` (a bool is not an ON clause).
;
; ## Example
; ```python
; active = session.query(User).filter(User.deleted_at is None).all()
; stmt = select(User).where(User.email is not None)
; ```
;
; Use instead:
; ```python
; active = session.query(User).filter(User.deleted_at.is_(None)).all()
; stmt = select(User).where(User.email.is_not(None))
; ```
;
; `User.deleted_at == None` also renders `IS NULL` (and works for many-to-one relationships,
; where `.is_()` does not), but style checkers flag `== None` (E711).
;
; The rule stays silent when the operand is not recognisably a column — a plain variable or an
; instance attribute (`user.deleted_at is None`), an enum-like constant (`Status.ACTIVE`), a
; member of an `Enum` class or a class attribute assigned a literal (`cutoff = None`) in a class
; defined in the same file — when `and_` / `not_` / `join` are not SQLAlchemy's (`from operator
; import not_`, `from os.path import join`), and
; where Python is *meant* to decide: the test of a conditional expression
; (`User.id == uid if uid is not None else true()`), the `if` clause of a comprehension,
; operands of a comparison, arguments of other calls, lambdas, and `filter_by()` keyword values.
;
; ## Fix safety
; The fix rewrites `X is None` to `X.is_(None)` and `X is not None` to `X.is_not(None)` (likewise
; for `True` / `False`). It is offered only when `X` is certainly a column — `table.c.x`,
; `func...(...)`, `cast(...)`, or `Model.x` where `Model` is defined in the same file with
; `x = Column(...)` / `mapped_column(...)` / `x: Mapped[...]` — because relationship attributes
; have no `.is_()`. The fix changes what the query returns: that is the bug being fixed.
; `.is_not()` needs SQLAlchemy 1.4 or later (`.isnot()` before).
;
; ## References
; - [SQLAlchemy: Operator reference, `IS` / `IS NOT`](https://docs.sqlalchemy.org/en/20/core/operators.html#identity-comparisons)
; - [SQLAlchemy: `ColumnOperators.is_()`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.is_)
; - [SQLAlchemy: `ColumnOperators.is_not()`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.is_not)

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
