; code: SA402
; name: bool-op-in-filter
; summary: Python `and` / `or` / `not` on SQL expressions inside query criteria; use `and_()` / `or_()` / `~`
; severity: error
; family: correctness
; default: on
; fix: none
; precision: high
;
; ## What it does
; Checks for Python's boolean operators `and`, `or` and `not` applied to column expressions
; inside query criteria: `.filter(User.active and User.verified)`,
; `.where(User.age > 18 or User.admin == True)`, `.filter(not User.deleted)`, in the arguments of
; `.filter()`, `.where()`, `.having()`, the onclause of `.join()` / `.outerjoin()` and
; `and_()` / `or_()` / `not_()`, for every dialect: legacy `session.query(User)`,
; Flask-SQLAlchemy `User.query`, 2.0 `select(User)` / `update()` / `delete()`, SQLModel and async
; sessions.
;
; ## Why is this bad?
; Python cannot overload `and`, `or` and `not`: they call `bool()` on their operand and pick an
; operand (or `True` / `False`) in Python, before SQLAlchemy sees anything. Calling `bool()` on a
; SQL expression raises `TypeError: Boolean value of this clause is not defined` for most
; expressions (`User.age > 18`, `User.a == None`, Core columns, `func.count()`,
; `User.name.in_(...)`). Worse, SQLAlchemy defines `bool()` for `==` and `!=` comparisons (so
; columns can live in sets and dicts) as an identity test of the two sides:
; `User.a == 1 and User.b == 2` quietly evaluates to `User.a == 1`, and
; `User.a == 1 or User.b == 2` to `User.b == 2` — one condition is silently dropped and the
; query returns the wrong rows. A mapped attribute is always "true" in Python, so
; `not User.deleted` is the constant `False`: `WHERE false`. The message replays Python's
; evaluation and says what SQLAlchemy actually receives.
;
; ## Example
; ```python
; session.query(User).filter(User.active == True and User.age >= 18)
; select(User).where(User.role == "admin" or User.role == "owner")
; select(User).where(not User.deleted)
; ```
;
; Use instead:
; ```python
; session.query(User).filter(User.active == True, User.age >= 18)  # several criteria are ANDed
; select(User).where(or_(User.role == "admin", User.role == "owner"))
; select(User).where(~User.deleted)
; ```
;
; `&`, `|` and `~` also build SQL (mind their precedence: parenthesise comparisons,
; `(User.a == 1) & (User.b == 2)`).
;
; The rule only fires when Python would call `bool()` on a SQL expression: every operand of `and`
; / `or` except the last one, and the operand of `not`. Python-level decisions stay silent:
; `.filter(include_all or User.active.is_(True))` (the SQL expression is the last operand, which
; Python returns untouched), `.filter(User.id == (a or b))` (a value inside a comparison), the
; test of `a if cond else b`, comprehension `if` clauses, arguments of other calls, lambdas and
; `filter_by()` keyword values. Operands that are plain variables (`cond1 and cond2`), plain
; class attributes or enum members of a class defined in the same file, and `is` / `in`
; comparisons (Python booleans, reported by SA401 / SA403) are not SQL and are not reported;
; nor are `operator.not_(...)` or `os.path.join(...)` imported under SQLAlchemy's names.
;
; ## References
; - [SQLAlchemy: Conjunctions, `and_()` / `or_()` / `not_()`](https://docs.sqlalchemy.org/en/20/core/operators.html#conjunctions)
; - [SQLAlchemy: Using WHERE clauses (several criteria are joined with AND)](https://docs.sqlalchemy.org/en/20/tutorial/data_select.html#the-where-clause)
; - [SQLAlchemy: `BinaryExpression` (its `__bool__`)](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.BinaryExpression)

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
