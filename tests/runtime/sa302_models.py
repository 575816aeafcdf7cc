"""SA302 runtime case: legacy declarative bases and the models built on them. The proof
(test_sa302_legacy_declarative_base.py) fixes a copy with sqlalint and compares the schemas."""
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, Numeric, String, UniqueConstraint
from sqlalchemy.orm import declarative_base, declared_attr, relationship

CONVENTION = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s"}

Base = declarative_base(metadata=MetaData(naming_convention=CONVENTION))


class TablenameMixin:
    @declared_attr
    def __tablename__(cls):
        return cls.__name__.lower()

    id = Column(Integer, primary_key=True)


Audit = declarative_base(cls=TablenameMixin)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_name_email", "name", "email"), UniqueConstraint("email"))
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
    email = Column(String(120))
    active = Column(Boolean, default=True, nullable=False)
    created = Column(DateTime)
    balance = Column(Numeric(10, 2))
    posts = relationship("Post", back_populates="author")


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    author_id = Column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    title = Column(String(200), unique=True)
    author = relationship("User", back_populates="posts")


class Event(Audit):
    kind = Column(String(20), nullable=False)
    user_id = Column(Integer, index=True)
