; code: SA306
; name: untyped-relationship
; summary: A `relationship()` with no `Mapped[...]` annotation in a model that otherwise uses `Mapped`
; severity: info
; family: modernization
; default: on
; fix: none
; precision: very-high
; tags: sqlalchemy-2.0
;
; ## What it does
; Checks model classes that already declare attributes with `Mapped[...]` annotations (the 2.0
; style) for relationships that have none: `posts = relationship("Post")` next to
; `id: Mapped[int] = mapped_column(primary_key=True)`. The help spells the annotation from the
; target and, where the call says it, whether it is a collection (`secondary=` or
; `uselist=True`: `Mapped[list["Post"]]`; `uselist=False`: `Mapped["Post"]`).
;
; ## Why is this bad?
; Without the annotation, `user.posts` is typed as `Any` (or `RelationshipProperty`), so type
; checkers cannot catch `user.posts.title` or a missing `None` check, in a model whose other
; attributes are all checked. In the 2.0 style the annotation also configures the relationship:
; the target class and whether it is a collection (`Mapped[list["Post"]]`) or a scalar
; (`Mapped[Optional["User"]]`) are read from it, so the positional target and `uselist=` can go.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts = relationship("Post", back_populates="author")
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "users"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts: Mapped[list["Post"]] = relationship(back_populates="author")
; ```
;
; ## Known limitations
; No fix yet: whether a relationship is a collection follows from the foreign keys (one-to-many
; or many-to-one), which a rewrite must get right; the help says which form applies when the
; call makes it certain. Models that use no `Mapped` annotation at all are left to SA301.
;
; ## References
; - [SQLAlchemy 2.0: Declarative mapping of relationships with `Mapped`](https://docs.sqlalchemy.org/en/20/orm/basic_relationships.html#declarative-vs-imperative-forms)
; - [SQLAlchemy 2.0: Migrating an existing mapping](https://docs.sqlalchemy.org/en/20/changelog/whatsnew_20.html#migrating-an-existing-mapping)

; class X(...): name = relationship(...)
(class_definition
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @name
        right: (call
          function: [
            (identifier) @callee
            (attribute attribute: (identifier) @callee)
          ]) @call) @assignment))
  (#any-of? @callee "relationship" "relation")) @class
