; code: SA501
; name: sql-injection
; summary: SQL text built by string formatting (f-string, `.format()`, `%`, `+`) from non-constant values
; severity: error
; family: security
; default: on
; fix: none
; precision: high
; tags: security
; security-severity: 8.8
;
; ## What it does
; Checks for SQL strings built with string formatting from values that are not constants,
; reaching a SQLAlchemy sink that runs them as SQL:
;
; - `text(...)` (also `sa.text`, `sqlmodel.text`, `db.text`), wherever it is used:
;   `session.execute(text(...))`, SQLModel `session.exec(text(...))`,
;   `query.filter(text(...))`, `.order_by(text(...))`, `.group_by(text(...))`, `.having(text(...))`;
; - `literal_column(...)`;
; - a raw string passed to `session.execute()`, `connection.execute()`, `engine.execute()`,
;   `conn.execute()`, `db.session.execute()` (1.x), `connection.exec_driver_sql()`, and
;   Alembic's `op.execute()`.
;
; The string counts as built from a value when it is an f-string with an interpolation, a
; `"...".format(...)` call, `"..." % value` or `"..." + value`, either directly in the call or
; through a local variable assigned (or extended with `+=`) earlier in the same function:
; `sql = f"... {name}"; session.execute(text(sql))`. Async code (`await session.execute(...)`)
; is covered the same way.
;
; Not reported: strings made only of literals (`"a" "b"`, `"a" + "b"`, f-strings without
; interpolations), SQL with bound parameters (`text("... :name")` with `{"name": name}` or
; `.bindparams(...)`), and values that cannot carry SQL: module constants in `ALL_CAPS`,
; number and string literals, `int(...)`/`float(...)`/`len(...)`, `%d` / `{x:d}` numeric
; formats, `__tablename__`, lookups in a constant mapping (`SORT_COLUMNS[key]`), loop
; variables over literal lists or `range()`, placeholder lists such as
; `", ".join(f":p{i}" for i in range(n))`, and identifiers quoted with the dialect's
; `identifier_preparer.quote(...)`.
;
; ## Why is this bad?
; Formatting a value into SQL lets whoever controls the value rewrite the statement:
; `name = "x' OR '1'='1"` turns `WHERE name = '{name}'` into a query that returns every row,
; and stacked statements or `UNION SELECT` can read or destroy other tables. Bound
; parameters send the value separately from the SQL, so it can never be parsed as SQL; the
; driver also handles quoting and types.
;
; Table and column names cannot be bound parameters. Interpolating them is still reported:
; check the name against an allow-list of known names (a constant mapping such as
; `SORT_COLUMNS[key]` is recognised as safe), or build the statement with
; `sqlalchemy.table()` / `column()`, which quote identifiers (`quoted_name` forces quoting).
;
; ## Example
; ```python
; def find_user(session, name):
;     return session.execute(text(f"SELECT * FROM users WHERE name = '{name}'")).all()
;
; def sorted_users(session, column):
;     return session.execute(text("SELECT * FROM users ORDER BY " + column)).all()
; ```
;
; Use instead:
; ```python
; def find_user(session, name):
;     return session.execute(text("SELECT * FROM users WHERE name = :name"), {"name": name}).all()
;
; SORT_COLUMNS = {"name": "name", "created": "created_at"}
;
; def sorted_users(session, column):
;     return session.execute(text(f"SELECT * FROM users ORDER BY {SORT_COLUMNS[column]}")).all()
; ```
;
; ## References
; - [SQLAlchemy: Sending parameters with `text()`](https://docs.sqlalchemy.org/en/20/tutorial/dbapi_transactions.html#sending-parameters)
; - [SQLAlchemy: `text()` and `TextClause.bindparams()`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.text)
; - [SQLAlchemy: `literal_column()`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.literal_column)
; - [SQLAlchemy: `quoted_name`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.quoted_name)
; - [Alembic: `op.execute()`](https://alembic.sqlalchemy.org/en/latest/ops.html#alembic.operations.Operations.execute)
; - [OWASP: SQL Injection Prevention Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html)
; - [CWE-89: SQL Injection](https://cwe.mitre.org/data/definitions/89.html)

; text(...), literal_column(...)
(call
  function: (identifier) @_fn
  (#any-of? @_fn "text" "literal_column")) @span

; sa.text(...), sa.literal_column(...), session.execute(...), conn.exec_driver_sql(...), op.execute(...)
(call
  function: (attribute attribute: (identifier) @_fn)
  (#any-of? @_fn "text" "literal_column" "execute" "exec_driver_sql")) @span
