; code: SA605
; name: relationship-target-missing
; summary: `relationship("X")` / `Mapped[list["X"]]` names a class that no model in the project defines: mapper configuration fails
; severity: error
; family: schema
; default: on
; fix: none
; precision: very-high
;
; ## What it does
; Checks every `relationship()` in the body of a mapped class (2.0 `Mapped[...]` models, legacy
; `Column` models, Flask-SQLAlchemy `db.relationship`, SQLModel `Relationship`) whose target is a
; string or a string annotation — `relationship("Address")`, `relationship("app.models.Address")`,
; `addresses: Mapped[list["Address"]] = relationship()`, `team: "Team | None" = Relationship()` —
; and reports it when no mapped class of that name exists in the project. A module path
; (`"app.models.Address"`) is judged by its class name.
;
; The rule decides from the project model index (see the README), and stays silent whenever the
; class could exist where the index does not look:
; - the name is defined as a class anywhere in the project, mapped or not, at any depth (a
;   model built in a function, a class whose base comes from another package), or created with
;   `type("Name", ...)`;
; - the name is imported by any module of the project (a model that lives in another package,
;   such as Flask-AppBuilder's `User`);
; - the class holding the relationship is not known to be mapped (mixins, classes on a base the
;   index does not recognise);
; - the target is a class object or a lambda (`relationship(Address)`, `relationship(lambda: Address)`):
;   Python resolves those itself.
;
; ## Why is this bad?
; String targets are resolved lazily, when the mappers are configured — on the first query, the
; first object created, or the first `configure_mappers()` — so a typo or a renamed class does not
; fail at import time or in a test that never touches the model: it fails in production with
; `InvalidRequestError: When initializing mapper ..., expression 'Adress' failed to locate a
; name`, and every model of the registry is unusable until it is fixed.
;
; ## Example
; ```python
; class User(Base):
;     __tablename__ = "user"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     addresses: Mapped[list["Adress"]] = relationship(back_populates="user")
; ```
;
; Use instead:
; ```python
; class User(Base):
;     __tablename__ = "user"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     addresses: Mapped[list["Address"]] = relationship(back_populates="user")
; ```
;
; ## Known limitations
; Only the class name is checked: a module path naming the right class in the wrong module, and a
; class mapped on another declarative base (another registry), are not reported. Relationships
; added in `@declared_attr` functions of mixins are not checked.
;
; ## References
; - [SQLAlchemy: Configuring Relationships — evaluation of relationship arguments](https://docs.sqlalchemy.org/en/20/orm/basic_relationships.html#evaluation-of-relationship-arguments)
; - [SQLAlchemy: relationship()](https://docs.sqlalchemy.org/en/20/orm/relationship_api.html#sqlalchemy.orm.relationship)
; - [SQLAlchemy: configure_mappers()](https://docs.sqlalchemy.org/en/20/orm/mapping_api.html#sqlalchemy.orm.configure_mappers)

; <name> = relationship(...) / <name>: Mapped[...] = relationship(...) in a class body
(class_definition
  name: (identifier) @class
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @attr
        right: (call
          function: [(identifier) (attribute)] @function) @call) @assignment)))
