"""SA305 runtime cases: each public function makes one SQLAlchemy call. Functions with a line
labelled `# expect: SA305` must fail on SQLAlchemy 2.x; the others must run. The proof
(test_sa305_removed_in_2.py) runs sqlalint on this file and every function against SQLite."""
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, case, create_engine, select, text
from sqlalchemy import orm
from sqlalchemy.orm import (
    Load,
    Session,
    declarative_base,
    defer,
    joinedload,
    load_only,
    raiseload,
    selectinload,
    sessionmaker,
)

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    bio = Column(String)
    posts = orm.relationship("Post")


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"), index=True)


def setup():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return engine


def engine_execute(engine, session):
    return engine.execute(text("SELECT 1"))  # expect: SA305


def engine_table_names(engine, session):
    return engine.table_names()  # expect: SA305


def engine_has_table(engine, session):
    return engine.has_table("users")  # expect: SA305


def session_execute_string(engine, session):
    return session.execute("SELECT 1")  # expect: SA305


def session_execute_string_variable(engine, session):
    sql = "SELECT 1"
    return session.execute(sql)  # expect: SA305


def connection_execute_string(engine, session):
    with engine.connect() as conn:
        return conn.execute("SELECT 1")  # expect: SA305


def select_list(engine, session):
    return session.execute(select([User.id]))  # expect: SA305


def case_list(engine, session):
    return session.execute(select(case([(User.id == 1, "one")], else_="many")))  # expect: SA305


def joinedload_string(engine, session):
    return session.query(User).options(joinedload("posts")).all()  # expect: SA305


def selectinload_method_string(engine, session):
    return session.query(User).options(Load(User).selectinload("posts")).all()  # expect: SA305


def defer_string(engine, session):
    return session.query(User).options(defer("bio")).all()  # expect: SA305


def load_only_strings(engine, session):
    return session.scalars(select(User).options(load_only("name"))).all()  # expect: SA305


def query_join_string(engine, session):
    return session.query(User).join("posts").all()  # expect: SA305


def from_self(engine, session):
    return session.query(User).filter(User.id > 0).from_self().all()  # expect: SA305


def sessionmaker_autocommit(engine, session):
    return sessionmaker(bind=engine, autocommit=True)()  # expect: SA305


def session_autocommit(engine, session):
    return Session(engine, autocommit=True)  # expect: SA305


def metadata_bind(engine, session):
    return MetaData(bind=engine)  # expect: SA305


def declarative_base_bind(engine, session):
    return declarative_base(bind=engine)  # expect: SA305


def table_autoload(engine, session):
    return Table("users", MetaData(), autoload=True, autoload_with=engine)  # expect: SA305


def orm_relation(engine, session):
    return orm.relation("Post")  # expect: SA305


# Negatives: the 2.0 spellings, wildcards and harmless flags.


def modern_execute(engine, session):
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))
        conn.exec_driver_sql("SELECT 1")
    return session.execute(text("SELECT 1"))


def modern_select(engine, session):
    return session.execute(select(User.id, case((User.id == 1, "one"), else_="many")))


def wildcard_options(engine, session):
    return session.query(User).options(selectinload("*"), raiseload("*"), defer("*")).all()


def attribute_options(engine, session):
    return session.query(User).options(joinedload(User.posts), load_only(User.name)).join(User.posts).all()


def future_flag(engine, session):
    return create_engine("sqlite://", future=True)


def autocommit_false(engine, session):
    return sessionmaker(bind=engine, autocommit=False)()


def reflected(engine, session):
    return Table("users", MetaData(), autoload_with=engine)


def relationship_attribute(engine, session):
    return orm.relationship("Post")


def inspector(engine, session):
    return sa.inspect(engine).get_table_names()
