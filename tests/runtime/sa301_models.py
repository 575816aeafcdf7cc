"""SA301 runtime case: models declared with legacy `Column` attributes. The proof
(test_sa301_legacy_column.py) fixes a copy with sqlalint and compares the schemas."""
import datetime

import sqlalchemy as sa
from sqlalchemy import Boolean, Column, Date, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class TimestampMixin:
    created = Column(DateTime, default=datetime.datetime.utcnow, nullable=False)
    updated = Column(DateTime)


class User(TimestampMixin, Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, index=True)
    email = Column("email_address", sa.String(120), unique=True)
    active = Column(Boolean, default=True, nullable=False)
    born = Column(Date)
    score = Column(Float, nullable=True)
    avatar = Column(LargeBinary)
    bio = Column(Text, server_default="")
    posts = relationship("Post", back_populates="author")


class Post(Base):
    __tablename__ = "posts"
    id = Column(sa.Integer, primary_key=True, autoincrement=True)
    author_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    title = Column(String(200))
    author = relationship("User", back_populates="posts")


class Tag(Base):
    """Composite primary key: both columns stay NOT NULL."""

    __tablename__ = "tags"
    post_id = Column(Integer, ForeignKey("posts.id"), primary_key=True)
    name = Column(String(30), primary_key=True)
