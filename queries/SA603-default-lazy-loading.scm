; code: SA603
; name: default-lazy-loading
; summary: A relationship left on the implicit lazy loader; choose its loading strategy (or `lazy="raise"`) to catch N+1 early
; severity: info
; family: schema
; default: off
; fix: none
; precision: high
; tags: performance
;
; ## What it does
; Opt-in. Checks model relationships that do not say how they load — no `lazy=` in
; `relationship()` / `db.relationship()`, no `"lazy"` in SQLModel's
; `Relationship(sa_relationship_kwargs={...})`, no `WriteOnlyMapped` / `DynamicMapped`
; annotation — and so use the default lazy loader (`lazy="select"`).
;
; ## Why is this bad?
; The default loader runs one SELECT the first time the attribute is read on each object. In a
; loop over query results that is one query per row, the N+1 problem, and nothing in the model
; or the query warns about it. Making the strategy explicit is a common review checklist item:
; `lazy="selectin"` or `lazy="joined"` when the related rows are (almost) always needed, and
; `lazy="raise"` (or `"raise_on_sql"`) to turn every unplanned lazy load into an error in tests,
; so each query states what it needs with `selectinload(...)` / `joinedload(...)`.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts: Mapped[list["Post"]] = relationship(back_populates="author")
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts: Mapped[list["Post"]] = relationship(back_populates="author", lazy="raise")
;
; users = session.scalars(select(User).options(selectinload(User.posts))).all()
; ```
;
; ## Known limitations
; `sa_relationship_kwargs` built outside the call (a variable) is taken as setting a strategy.
; The reverse side that `backref=` creates is not reported (see SA602). Relationships in Alembic
; migration scripts are skipped.
;
; ## References
; - [SQLAlchemy 2.0: Relationship Loading Techniques](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html)
; - [SQLAlchemy 2.0: Preventing unwanted lazy loads using raiseload](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html#preventing-unwanted-lazy-loads-using-raiseload)

; relationship(...) / db.relationship(...) / Relationship(...)
(call
  function: [
    (identifier) @callee
    (attribute attribute: (identifier) @callee)
  ]
  (#any-of? @callee "relationship" "relation" "Relationship")) @span
