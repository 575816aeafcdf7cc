//! `sqlalint new session`: one module with the engine (URL from the environment,
//! `pool_pre_ping`), a session factory that does not expire on commit, a context manager
//! that commits or rolls back, and the framework's per-request session.
use miette::miette;

use super::format::Imports;
use super::{is_stdout, write_plan, Planned};
use crate::cli::{Framework, NewSessionArgs};
use crate::Status;

pub(crate) fn run(args: &NewSessionArgs) -> miette::Result<Status> {
    if !is_env_var(&args.url) {
        return Err(miette!(
            help = "an environment variable name: letters, digits and `_`, e.g. DATABASE_URL",
            "`{}` is not an environment variable name",
            args.url
        ));
    }
    if args.is_async && args.framework == Framework::Flask {
        return Err(miette!(
            help = "use --framework fastapi or plain with --async, or a sync session with Flask",
            "Flask's request teardown is synchronous: --async is not generated for Flask"
        ));
    }
    let text = render(args.framework, args.is_async, &args.url);
    if is_stdout(&args.out) {
        print!("{text}");
        return Ok(Status::Clean);
    }
    write_plan(&[Planned::new(args.out.clone(), text)], &[], args.force)?;
    Ok(Status::Clean)
}

pub(crate) fn is_env_var(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn render(framework: Framework, is_async: bool, url: &str) -> String {
    let mut imports = Imports::default();
    imports.import("os");
    let (session, engine_fn, factory) = if is_async {
        ("AsyncSession", "create_async_engine", "async_sessionmaker")
    } else {
        ("Session", "create_engine", "sessionmaker")
    };
    if is_async {
        imports.from("collections.abc", "AsyncIterator");
        imports.from("contextlib", "asynccontextmanager");
        imports.from("sqlalchemy.ext.asyncio", session);
        imports.from("sqlalchemy.ext.asyncio", engine_fn);
        imports.from("sqlalchemy.ext.asyncio", factory);
    } else {
        imports.from("collections.abc", "Iterator");
        imports.from("contextlib", "contextmanager");
        imports.from("sqlalchemy", engine_fn);
        imports.from("sqlalchemy.orm", session);
        imports.from("sqlalchemy.orm", factory);
    }
    let what = match framework {
        Framework::Fastapi => "and the FastAPI session dependency",
        Framework::Flask => "and the Flask request session",
        Framework::Plain => "and a commit-or-rollback session scope",
    };
    match framework {
        Framework::Fastapi => {
            imports.from("fastapi", "Depends");
            imports.from("typing", "Annotated");
        }
        Framework::Flask => {
            imports.from("flask", "Flask");
            imports.from("flask", "Response");
            imports.from("flask", "g");
        }
        Framework::Plain => {}
    }
    let (aw, asy, with, iterator, manager) = if is_async {
        ("await ", "async ", "async with", "AsyncIterator", "asynccontextmanager")
    } else {
        ("", "", "with", "Iterator", "contextmanager")
    };
    let mut out = format!(
        "\"\"\"Database engine, session factory {what}.\"\"\"\n\n{}\n\n\
         # From the environment, not the code; a KeyError at import when it is unset.\n\
         DATABASE_URL = os.environ[\"{url}\"]\n\n\
         # pool_pre_ping: a connection the server dropped is replaced, not handed out.\n\
         engine = {engine_fn}(DATABASE_URL, pool_pre_ping=True)\n\
         # expire_on_commit=False: objects stay readable after commit, with no new query.\n\
         SessionLocal = {factory}(engine, expire_on_commit=False)\n\n\n\
         @{manager}\n\
         {asy}def session_scope() -> {iterator}[{session}]:\n    \
             \"\"\"A session that commits if the block succeeds and rolls back if it raises.\"\"\"\n    \
             {with} SessionLocal() as session:\n        \
                 try:\n            \
                     yield session\n            \
                     {aw}session.commit()\n        \
                 except BaseException:\n            \
                     {aw}session.rollback()\n            \
                     raise\n",
        imports.render()
    );
    match framework {
        Framework::Fastapi => out.push_str(&format!(
            "\n\n{asy}def get_session() -> {iterator}[{session}]:\n    \
                 \"\"\"FastAPI dependency: a session per request, committed when it succeeds.\"\"\"\n    \
                 {with} session_scope() as session:\n        \
                     yield session\n\n\n\
             SessionDep = Annotated[{session}, Depends(get_session)]\n"
        )),
        Framework::Flask => out.push_str(
            "\n\ndef get_session() -> Session:\n    \
                 \"\"\"The request's session, opened on first use.\"\"\"\n    \
                 if \"db_session\" not in g:\n        \
                     g.db_session = SessionLocal()\n    \
                 session: Session = g.db_session\n    \
                 return session\n\n\n\
             def commit_session(response: Response) -> Response:\n    \
                 \"\"\"Commits a successful request's session before its response is sent.\"\"\"\n    \
                 session: Session | None = g.get(\"db_session\")\n    \
                 if session is not None and response.status_code < 400:\n        \
                     session.commit()\n    \
                 return response\n\n\n\
             def close_session(exception: BaseException | None) -> None:\n    \
                 \"\"\"Rolls back what the request did not commit (an error) and closes.\"\"\"\n    \
                 session: Session | None = g.pop(\"db_session\", None)\n    \
                 if session is not None:\n        \
                     session.rollback()\n        \
                     session.close()\n\n\n\
             def init_app(app: Flask) -> None:\n    \
                 \"\"\"Wires the session into the request lifecycle.\"\"\"\n    \
                 app.after_request(commit_session)\n    \
                 app.teardown_appcontext(close_session)\n",
        ),
        Framework::Plain => {}
    }
    out
}
