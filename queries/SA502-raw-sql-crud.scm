; code: SA502
; name: raw-sql-crud
; summary: Raw `text("SELECT/INSERT/UPDATE/DELETE ...")` on a table the project maps to a model: the ORM or Core statement is checked and follows renames
; severity: info
; family: modernization
; default: on
; fix: none
; precision: high
; tags: security, sql
; security-severity: 1.0
;
; ## What it does
; Checks literal SQL given to SQLAlchemy's `text()` (`text(...)`, `sa.text(...)`, `db.text(...)`)
; and reports it when it is one simple single-table statement on a table that exactly one model
; of the project maps:
;
; - `SELECT * | columns | count(*) FROM t [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n]`;
; - `INSERT INTO t (a, b) VALUES (:a, :b)` (one row);
; - `UPDATE t SET a = :a [WHERE ...]`;
; - `DELETE FROM t [WHERE ...]`.
;
; The help gives the equivalent statement with the model's attribute names (columns stored under
; another name, `mapped_column("db_name")`, are translated): `select(User).where(User.id == id)`,
; `update(User).where(...).values(...)`, `delete(User).where(...)`, `insert(User).values(...)`.
;
; The SQL is read with `sqlparser` (PostgreSQL dialect). Not reported: anything else, or anything
; the ORM does not say as simply — CTEs, joins, subqueries, window and other functions, casts,
; `GROUP BY`/`HAVING`, `DISTINCT`, `RETURNING`, `ON CONFLICT`, `FOR UPDATE`, arithmetic in `SET`,
; several statements, DDL, SQL the parser cannot read, f-strings (SA501's concern); tables no
; model maps, or more than one model maps; a column the model does not map; Alembic migrations
; (the models may not match the schema at that revision) and test code.
;
; ## Why is this bad?
; Raw SQL bypasses what the model knows: a renamed column or table breaks it only at run time,
; type checkers and SQLAlchemy cannot check it, and it ignores the model's column types and
; defaults. The ORM or Core statement says the same, is checked when the module loads, and is
; portable across databases.
;
; ## Example
; ```python
; rows = session.execute(
;     text("SELECT * FROM users WHERE email = :email"), {"email": email}
; ).all()
; ```
;
; Use instead:
; ```python
; users = session.scalars(select(User).where(User.email == email)).all()
; ```
;
; ## References
; - [SQLAlchemy: ORM querying guide](https://docs.sqlalchemy.org/en/20/orm/queryguide/select.html)
; - [SQLAlchemy: ORM-enabled INSERT, UPDATE and DELETE](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html)
; - [SQLAlchemy: `text()`](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.text)

(call
  function: [
    (identifier) @callee
    (attribute attribute: (identifier) @callee)
  ]
  (#eq? @callee "text")) @call
