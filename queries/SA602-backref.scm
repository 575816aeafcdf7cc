; code: SA602
; name: backref
; summary: `relationship(backref=...)` creates an attribute on the other class that its code never shows; declare both sides with `back_populates`
; severity: info
; family: schema
; default: on
; fix: none
; precision: very-high
; tags: sqlalchemy-2.0
;
; ## What it does
; Checks for relationships that create their reverse side implicitly with `backref=`:
; `relationship("Post", backref="author")`, `db.relationship("Post", backref=db.backref("author", lazy="joined"))`,
; and SQLModel's `Relationship(sa_relationship_kwargs={"backref": "author"})`.
;
; ## Why is this bad?
; The reverse attribute (`Post.author` above) does not appear anywhere in the `Post` class: a
; reader, an IDE or a type checker looking at `Post` cannot know it exists, what it points at or
; how it loads, and it only exists once the mapper of the class that declares the `backref` has
; been configured (an import-order trap in scripts and tests). SQLAlchemy 2.0 documents
; `backref` as legacy and recommends declaring both sides explicitly with `back_populates`,
; which also lets each side carry its own `Mapped[...]` annotation and loading options.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts = relationship("Post", backref="author")
;
; class Post(Base):
;     __tablename__ = "posts"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
; ```
;
; Use instead:
; ```python
; class User(Base):
;     ...
;     posts: Mapped[list["Post"]] = relationship(back_populates="author")
;
; class Post(Base):
;     ...
;     author: Mapped["User"] = relationship(back_populates="posts")
; ```
;
; ## Known limitations
; Alembic migration scripts (modules that import `alembic`) are skipped: their models are frozen
; copies.
; Only `backref=` is reported; a pair of relationships that point at each other without
; `back_populates` (two independent relationships over the same foreign key) is not detected
; yet. No fix is offered: the reverse side must be added to another class, often in another
; module.
;
; ## References
; - [SQLAlchemy 2.0: Using the legacy 'backref' relationship parameter](https://docs.sqlalchemy.org/en/20/orm/backref.html)
; - [SQLAlchemy 2.0: relationship.back_populates](https://docs.sqlalchemy.org/en/20/orm/relationship_api.html#sqlalchemy.orm.relationship.params.back_populates)

; relationship(..., backref=...)
(keyword_argument
  name: (identifier) @_k
  (#eq? @_k "backref")) @span

; Relationship(sa_relationship_kwargs={"backref": ...})
(pair
  key: (string) @key) @span
