; code: SA606
; name: back-populates-mismatch
; summary: `back_populates="y"` names no relationship on the target model, or one that does not point back: mapper configuration fails
; severity: error
; family: schema
; default: on
; fix: none
; precision: very-high
;
; ## What it does
; Checks `relationship(..., back_populates="y")` in mapped classes (2.0, legacy `Column` models,
; Flask-SQLAlchemy, SQLModel `Relationship(back_populates=...)`) against the project model index,
; and reports it when the target model:
; - has no attribute `y` at all (including inherited ones and those `backref=` creates);
; - has `y`, but it is a column, not a relationship;
; - has a relationship `y` whose own target is a model outside this model's inheritance
;   hierarchy (it points somewhere else).
;
; The rule stays silent unless it knows the whole target class: a target name shared by several
; models that imports cannot tell apart, a target with a base class from outside the project or
; from `declarative_base(cls=...)`, a class body that defines attributes in `if` / `try` blocks,
; and attributes added after the class (`User.posts = relationship(...)`) all silence it.
;
; ## Why is this bad?
; `back_populates` is checked only when the mappers are configured — on the first query or the
; first object created, not at import — so the mistake ships. Every case above then fails for
; every model of the registry: `InvalidRequestError: Mapper 'Mapper[User(user)]' has no property
; 'author'`, `... refers to attribute 'Post.author_id' that is not a relationship`, or
; `ArgumentError: reverse_property 'tags' on relationship ... references relationship ..., which
; does not reference mapper ...`.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "user"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts: Mapped[list["Post"]] = relationship(back_populates="user")
;
; class Post(Base):
;     __tablename__ = "post"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
;     author: Mapped["User"] = relationship(back_populates="posts")
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "user"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     posts: Mapped[list["Post"]] = relationship(back_populates="author")
; ```
;
; ## Known limitations
; Two sides that both exist but name different partners (`A.b` → `B.a`, while `B.a` →
; `A.other`) configure without error in SQLAlchemy and are not reported. Relationships of
; mixins (`@declared_attr`) are checked only as targets.
;
; ## References
; - [SQLAlchemy: Basic Relationship Patterns — `back_populates`](https://docs.sqlalchemy.org/en/20/orm/basic_relationships.html)
; - [SQLAlchemy: Using the legacy 'backref' relationship parameter](https://docs.sqlalchemy.org/en/20/orm/backref.html)
; - [SQLAlchemy: relationship.back_populates](https://docs.sqlalchemy.org/en/20/orm/relationship_api.html#sqlalchemy.orm.relationship.params.back_populates)

; <name> = relationship(...) / <name>: Mapped[...] = relationship(...) in a class body
(class_definition
  name: (identifier) @class
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @attr
        right: (call
          function: [(identifier) (attribute)] @function) @call) @assignment)))
