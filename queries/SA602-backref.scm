; code: SA602
; name: backref
; summary: A relationship whose reverse side is implicit (`backref=`) or not linked to it; declare both sides with `back_populates`
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
; Also checks for one-sided pairs, using the project's models: a relationship that is the reverse
; of another but is not linked to it with `back_populates`:
; - the other side says `back_populates="<this attribute>"` and this side says nothing
;   (reported on the side that lacks it);
; - neither side says anything, and the two models have exactly one relationship to each other
;   in each direction over exactly one foreign key (or both through `secondary=`) — reported
;   once, on the side whose `Model.attribute` sorts first.
;
; Not reported as a pair: relationships with `viewonly=` or `overlaps=` (deliberately
; independent), a custom `primaryjoin` / `foreign_keys` / `sa_relationship_kwargs` (it may be
; another link), self-referential relationships, and models with several relationships or
; foreign keys between them (which ones pair up is not knowable without the join).
;
; ## Why is this bad?
; The reverse attribute (`Post.author` above) does not appear anywhere in the `Post` class: a
; reader, an IDE or a type checker looking at `Post` cannot know it exists, what it points at or
; how it loads, and it only exists once the mapper of the class that declares the `backref` has
; been configured (an import-order trap in scripts and tests). SQLAlchemy 2.0 documents
; `backref` as legacy and recommends declaring both sides explicitly with `back_populates`,
; which also lets each side carry its own `Mapped[...]` annotation and loading options.
;
; Two sides declared without linking them are worse: SQLAlchemy treats them as independent
; relationships. `post.author = user` does not add `post` to `user.posts` in memory (a one-sided
; `back_populates` only syncs in one direction), and when neither side is linked SQLAlchemy warns
; at mapper configuration that both write the same foreign key (`relationship 'Post.author' will
; copy column users.id to column posts.user_id, which conflicts with relationship(s): 'User.posts'`).
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
; A pair where the models have several relationships or foreign keys between each other is not
; reported, nor one whose other side is outside the linted files. No fix is offered: the reverse
; side is often in another module.
;
; ## References
; - [SQLAlchemy 2.0: Using the legacy 'backref' relationship parameter](https://docs.sqlalchemy.org/en/20/orm/backref.html)
; - [SQLAlchemy 2.0: relationship.back_populates](https://docs.sqlalchemy.org/en/20/orm/relationship_api.html#sqlalchemy.orm.relationship.params.back_populates)

; relationship(..., backref=...)
(keyword_argument
  name: (identifier) @_k
  (#eq? @_k "backref")) @span

; Relationship(sa_relationship_kwargs={"backref": ...})
((pair
  key: (string) @key) @span
  (#sqlalint-mentions? @span "backref"))

; <name> = relationship(...) in a class body (the same pattern as SA606: it runs once)
(class_definition
  name: (identifier) @class
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @attr
        right: (call
          function: [(identifier) (attribute)] @function) @call) @assignment)))
