; code: SA106
; name: commit-in-loop
; summary: `session.commit()` on every iteration of a loop: one transaction, flush and disk sync per item
; severity: warning
; family: performance
; default: on
; fix: none
; precision: high
; tags: transactions
;
; ## What it does
; Checks for `session.commit()` (or `await session.commit()`, or `conn.commit()` on a 2.0
; `Connection`) run unconditionally on every iteration of a `for` loop over data that is
; clearly bounded: query results, `range(n)`, a literal list of more than three items, a
; comprehension, `d.items()` / `.values()` / `.keys()`, `csv.reader(...)` / `csv.DictReader(...)`,
; a file (`open(...)`, `.readlines()`), `json.load(...)`, a local variable holding one of these,
; or a parameter annotated `list[...]` / `Sequence[...]` / `Iterable[...]`.
;
; The receiver counts as a session or connection when it is named like one (`session`,
; `db.session` of Flask-SQLAlchemy, `self.session`, `db_session`, `DBSession`, `sess`, or
; `conn`, `connection`, `self.connection`, `db_conn`), is a parameter annotated `Session`,
; `AsyncSession`, `scoped_session`, `Connection` or `AsyncConnection` (SQLModel's `Session`
; too), or is a variable bound from a session or connection factory (`with Session(engine) as s:`,
; `s = SessionLocal()`, `async with async_session() as s:`, `conn = engine.connect()`).
; `.commit(...)` with arguments (git, other libraries) is never reported.
;
; Precision comes first, so the rule stays silent when committing per iteration is likely on
; purpose:
; - the commit is under a batch condition (`if i % 100 == 0:`, `if len(pending) >= size:`), an
;   `elif` / `else`, or an `if` that does not itself change the item (an `if` that filters items,
;   `if slc.datasource: slc.perm = ...; session.commit()`, is still reported);
; - nothing is written per item (a progress or status object committed to publish it), or the
;   commit closes a group of rows (an inner loop over a query, e.g. one model class per iteration);
; - the session or connection is opened inside the loop (a session per item);
; - repetition loops (`for _ in range(n):`) and tiny ones (`range(3)`, three literal items);
; - the loop walks batches (`chunks(...)`, `batched(...)`, `range(0, n, size)` with a step,
;   `.partitions()`, names like `batch`, `chunk`, `page`);
; - retry loops (`for attempt in range(3):`, a `break` or `return` after the commit);
; - per-item transactions: the commit is inside a `try` whose `except` rolls back, logs or
;   continues, or the loop body calls `.rollback()` / `.begin_nested()`;
; - `while` loops, and `for` loops inside one (workers and pollers commit per job);
; - loops over unknown iterables (message consumers, queues, streams);
; - a commit in a function or lambda defined in the loop.
;
; ## Why is this bad?
; Each commit is a round trip that flushes pending changes, ends the transaction and (on most
; databases) waits for a disk sync, so a loop of 10,000 items pays that cost 10,000 times. With
; the default `expire_on_commit=True`, every commit also expires all objects loaded in the
; session, so the next iteration reloads them with fresh `SELECT`s. And a failure half way leaves
; half the items committed.
;
; ## Example
; ```python
; for row in rows:
;     session.add(User(name=row["name"]))
;     session.commit()
; ```
;
; Use instead:
; ```python
; with session.begin():
;     for row in rows:
;         session.add(User(name=row["name"]))
; ```
;
; Or call `session.commit()` once after the loop. To bound memory on very large loads, call
; `session.flush()` every few thousand items (or load in chunks) and commit at the end; if each
; item must be its own transaction, make that explicit with `try` / `except` and `rollback()`.
;
; ## References
; - [SQLAlchemy: Managing Transactions](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html)
; - [SQLAlchemy: Committing (`expire_on_commit`)](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#committing)
; - [SQLAlchemy: ORM bulk INSERT](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html)

; <receiver>.commit()
(call
  function: (attribute attribute: (identifier) @_m (#eq? @_m "commit"))
  arguments: (argument_list)) @call
