; code: SA610
; name: ambiguous-foreign-keys
; summary: A relationship SQLAlchemy cannot resolve: several foreign-key paths and no `foreign_keys=`, or a self-referential pair with no `remote_side`
; severity: error
; family: schema
; default: on
; fix: none
; precision: high
;
; ## What it does
; Checks `relationship()` in mapped classes (2.0, legacy `Column` models, Flask-SQLAlchemy,
; SQLModel) against the foreign keys the project model index knows, and reports:
; - a relationship between two models whose tables are linked by more than one foreign key (two
;   keys from one table to the other, or one in each direction), with no `foreign_keys=` and no
;   `primaryjoin=` to say which one it uses;
; - a self-referential pair (`parent` / `children` linked by `back_populates` or `backref=`,
;   over the table's one key to itself) where neither side sets `remote_side`: both sides then
;   read as one-to-many.
;
; The rule counts only keys it can read (`ForeignKey("table.column")`, `ForeignKey(Model.id)`,
; SQLModel `Field(foreign_key=...)`, mixin columns), and stays silent for many-to-many
; relationships (`secondary=`), models in an inheritance hierarchy (a joined-table subclass has a
; key to its parent), relationships whose arguments come from `**kwargs` or SQLModel's
; `sa_relationship_kwargs`, ambiguous model names, and models with a base class from outside the
; project.
;
; ## Why is this bad?
; SQLAlchemy works out a relationship's join from the foreign keys between the two tables, when
; the mappers are configured — on the first query, not at import. With several candidate keys it
; cannot choose and raises `AmbiguousForeignKeysError: Could not determine join condition between
; parent/child tables on relationship Order.customer - there are multiple foreign key paths
; linking the tables`; a self-referential pair without `remote_side` raises `ArgumentError: ...
; are both of the same direction ONETOMANY. Did you mean to set remote_side on the many-to-one
; side?`. Either error makes every model of the registry unusable; the usual trigger is a second
; foreign key added to a table long after the relationship was written.
;
; ## Example
; ```python
; class Order(Base):
;     __tablename__ = "order"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     billing_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
;     shipping_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
;     billing_address: Mapped["Address"] = relationship()
; ```
;
; Use instead:
; ```python
; class Order(Base):
;     __tablename__ = "order"
;     id: Mapped[int] = mapped_column(primary_key=True)
;     billing_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
;     shipping_id: Mapped[int] = mapped_column(ForeignKey("address.id"))
;     billing_address: Mapped["Address"] = relationship(foreign_keys=[billing_id])
; ```
;
; For a self-referential many-to-one, name the remote column:
; `parent = relationship("Node", back_populates="children", remote_side=[id])`.
;
; ## Known limitations
; Keys declared with `ForeignKeyConstraint` in `__table_args__` are not counted, so some
; ambiguous relationships are missed. A lone self-referential relationship without
; `remote_side` configures (as one-to-many) and is not reported.
;
; ## References
; - [SQLAlchemy: Handling Multiple Join Paths](https://docs.sqlalchemy.org/en/20/orm/join_conditions.html#handling-multiple-join-paths)
; - [SQLAlchemy: Adjacency List Relationships (`remote_side`)](https://docs.sqlalchemy.org/en/20/orm/self_referential.html)
; - [SQLAlchemy: relationship.foreign_keys](https://docs.sqlalchemy.org/en/20/orm/relationship_api.html#sqlalchemy.orm.relationship.params.foreign_keys)

; <name> = relationship(...) / <name>: Mapped[...] = relationship(...) in a class body
(class_definition
  name: (identifier) @class
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @attr
        right: (call
          function: [(identifier) (attribute)] @function) @call) @assignment)))
