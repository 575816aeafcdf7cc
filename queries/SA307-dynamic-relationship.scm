; code: SA307
; name: dynamic-relationship
; summary: A `lazy="dynamic"` / `DynamicMapped` relationship, legacy in SQLAlchemy 2.0; use `WriteOnlyMapped` / `lazy="write_only"`
; severity: warning
; family: modernization
; default: on
; fix: none
; precision: very-high
; tags: sqlalchemy-2.0
;
; ## What it does
; Checks for relationships loaded with the legacy "dynamic" strategy: `lazy="dynamic"` in
; `relationship()` / `db.relationship()` / `backref()`, in SQLModel's
; `Relationship(sa_relationship_kwargs={"lazy": "dynamic"})`, and attributes annotated
; `DynamicMapped[...]`.
;
; ## Why is this bad?
; The dynamic loader returns a legacy `Query` object instead of a collection. SQLAlchemy 2.0
; marks it legacy: it is built on the `Query` API that 2.0 replaced, it does not work with
; asyncio (`AsyncSession` cannot use it at all), and it cannot be combined with the 2.0
; `select()` style. Every use (`user.posts.filter(...)`, `len(user.posts.all())`,
; `for post in user.posts`) runs a new SELECT, which is easy to miss in a loop.
; The 2.0 replacement, the "write only" relationship, is explicit: reads are `select()`
; statements you execute yourself, writes are `add()` / `remove()` on the collection.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts = relationship("Post", lazy="dynamic")
;
; recent = user.posts.filter(Post.created > since).all()
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts: WriteOnlyMapped["Post"] = relationship()
;
; recent = session.scalars(user.posts.select().where(Post.created > since)).all()
; user.posts.add(Post(title="hello"))
; ```
;
; If the collection is small and always read whole, a plain collection with an eager loader
; (`lazy="selectin"`) is simpler still.
;
; ## Known limitations
; No fix is offered: every use of the attribute changes (`.filter()` becomes `.select().where()`
; executed on a session), which a linter cannot rewrite safely.
;
; ## References
; - [SQLAlchemy 2.0: Write Only Relationships](https://docs.sqlalchemy.org/en/20/orm/large_collections.html#write-only-relationships)
; - [SQLAlchemy 2.0: Dynamic Relationship Loaders (legacy)](https://docs.sqlalchemy.org/en/20/orm/large_collections.html#dynamic-relationship-loaders)
; - [SQLAlchemy 2.0 migration: "Dynamic" relationship loaders superseded by "Write Only"](https://docs.sqlalchemy.org/en/20/changelog/whatsnew_20.html#new-write-only-relationship-strategy-supersedes-dynamic)

; relationship(..., lazy="dynamic"), backref("x", lazy="dynamic")
(keyword_argument
  name: (identifier) @_k
  value: (string) @value
  (#eq? @_k "lazy")) @span

; Relationship(sa_relationship_kwargs={"lazy": "dynamic"})
((pair
  key: (string) @key
  value: (string) @value) @span
  (#sqlalint-mentions? @span "dynamic"))

; posts: DynamicMapped["Post"] = relationship()
((assignment
  left: (identifier) @target
  type: (type) @type) @annotated
  (#sqlalint-mentions? @annotated "DynamicMapped"))
