//! `sqlalint new alembic`: an Alembic environment wired to the project's declarative base
//! (`alembic.ini`, `env.py`, `script.py.mako`, `versions/`), then the first revision by
//! `alembic revision --autogenerate` when Alembic is installed and the URL is set.
use std::path::{Path, PathBuf};
use std::process::Command;

use miette::miette;

use super::format::Imports;
use super::project::{BaseRef, Project};
use super::session::is_env_var;
use super::spec;
use super::{write_plan, Planned};
use crate::cli::NewAlembicArgs;
use crate::Status;

pub(crate) fn run(args: &NewAlembicArgs) -> miette::Result<Status> {
    if !is_env_var(&args.url) {
        return Err(miette!("`{}` is not an environment variable name", args.url));
    }
    let dir = args.dir.to_string_lossy().replace('\\', "/");
    if dir.is_empty() || dir.contains(['%', '\n']) {
        return Err(miette!("`{dir}` cannot be a migrations directory"));
    }
    let project = Project::load()?;
    let base = match &args.base {
        Some(given) => {
            let (module, name) = spec::parse_base(given)?;
            BaseRef { module, class: name.clone(), name, path: None }
        }
        None => {
            let bases = project.bases();
            match bases.as_slice() {
                [only] => only.clone(),
                [] => {
                    return Err(miette!(
                        help = "create a model first (`sqlalint new model ...`), or pass --base module:Name",
                        "no declarative base found in this project"
                    ))
                }
                several => {
                    let list = BaseRef::list(several);
                    return Err(miette!(
                        help = format!("pass --base with one of: {}", list),
                        "the project has {} declarative bases; which metadata should Alembic migrate?",
                        several.len()
                    ));
                }
            }
        }
    };
    let models: Vec<String> = project.model_modules().into_iter().filter(|m| *m != base.module).collect();
    let versions = args.dir.join("versions");
    let plan = vec![
        // Relative to alembic.ini (`%(here)s`), so Alembic finds it from any directory.
        Planned::new(
            PathBuf::from("alembic.ini"),
            ini(&if args.dir.is_absolute() { dir } else { format!("%(here)s/{dir}") }),
        ),
        Planned::new(args.dir.join("env.py"), env_py(&base, &models, &args.url)),
        Planned::new(args.dir.join("script.py.mako"), SCRIPT_TEMPLATE.to_string()),
    ];
    let new_dirs: Vec<PathBuf> = if versions.is_dir() { Vec::new() } else { vec![versions] };
    write_plan(&plan, &new_dirs, args.force)?;
    first_revision(&args.message, &args.url)
}

/// Runs `alembic revision --autogenerate` when it can, else says how.
fn first_revision(message: &str, url_var: &str) -> miette::Result<Status> {
    let command = format!("alembic revision --autogenerate -m {}", shell_quote(message));
    let Some(alembic) = on_path("alembic") else {
        eprintln!("sqlalint: alembic is not on PATH; install it, set {url_var}, then run:\n{command}");
        return Ok(Status::Clean);
    };
    if std::env::var_os(url_var).is_none_or(|v| v.is_empty()) {
        eprintln!("sqlalint: {url_var} is not set; set it to the database URL, then run:\n{command}");
        return Ok(Status::Clean);
    }
    let output = Command::new(&alembic)
        .args(["revision", "--autogenerate", "-m", message])
        .output()
        .map_err(|e| miette!("cannot run {}: {e}", alembic.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(miette!(
            help = format!("fix the error above, then run: {command}"),
            "`{command}` failed:\n{}{}",
            stdout,
            stderr
        ));
    }
    // Alembic reports `Generating /abs/path/versions/xxxx_initial_schema.py ...  done`.
    for line in stdout.lines().chain(stderr.lines()) {
        let Some(rest) = line.trim().strip_prefix("Generating ") else { continue };
        let path = rest.split(" ...").next().unwrap_or(rest).trim();
        println!("{}", super::relative(Path::new(path)).display());
    }
    for line in stdout.lines().chain(stderr.lines()).filter(|l| l.contains("Detected")) {
        eprintln!("sqlalint: alembic: {}", line.trim());
    }
    Ok(Status::Clean)
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|path| path.is_file())
}

/// POSIX shell quoting, only when needed.
fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn ini(script_location: &str) -> String {
    format!(
        "# Alembic configuration, generated by `sqlalint new alembic`.\n\
         [alembic]\n\
         script_location = {script_location}\n\
         # The project root is importable, so env.py can import the models.\n\
         prepend_sys_path = .\n\
         path_separator = os\n\
         file_template = %%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s\n\
         # The database URL is read from the environment by env.py; this is only a fallback.\n\
         sqlalchemy.url =\n\n\
         [loggers]\nkeys = root,sqlalchemy,alembic\n\n\
         [handlers]\nkeys = console\n\n\
         [formatters]\nkeys = generic\n\n\
         [logger_root]\nlevel = WARNING\nhandlers = console\nqualname =\n\n\
         [logger_sqlalchemy]\nlevel = WARNING\nhandlers =\nqualname = sqlalchemy.engine\n\n\
         [logger_alembic]\nlevel = INFO\nhandlers =\nqualname = alembic\n\n\
         [handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\nformatter = generic\n\n\
         [formatter_generic]\nformat = %(levelname)-5.5s [%(name)s] %(message)s\ndatefmt = %%H:%%M:%%S\n"
    )
}

fn env_py(base: &BaseRef, models: &[String], url_var: &str) -> String {
    let mut imports = Imports::default();
    for name in ["asyncio", "os"] {
        imports.import(name);
    }
    imports.from("logging.config", "fileConfig");
    imports.from("alembic", "context");
    for name in ["create_engine", "pool"] {
        imports.from("sqlalchemy", name);
    }
    imports.from("sqlalchemy.engine", "Connection");
    imports.from("sqlalchemy.engine", "make_url");
    imports.from("sqlalchemy.ext.asyncio", "create_async_engine");
    imports.from(&base.module, &base.name);
    for module in models {
        // Imported for their side effect: each model module adds its tables to the metadata.
        imports.import(&format!("{module}  # noqa: F401"));
    }
    format!(
        "\"\"\"Alembic environment generated by `sqlalint new alembic`.\n\n\
         Migrates the metadata of `{base}`; the database URL comes from ${url_var}.\n\
         \"\"\"\n\n\
         {imports}\n\n\
         config = context.config\n\
         if config.config_file_name is not None:\n    \
             fileConfig(config.config_file_name)\n\n\
         target_metadata = {class}.metadata\n\n\n\
         def database_url() -> str:\n    \
             \"\"\"${url_var}, else `sqlalchemy.url` of alembic.ini.\"\"\"\n    \
             url = os.environ.get(\"{url_var}\") or config.get_main_option(\"sqlalchemy.url\")\n    \
             if not url:\n        \
                 raise RuntimeError(\"set {url_var} to the database URL\")\n    \
             return url\n\n\n\
         def run_migrations_offline() -> None:\n    \
             \"\"\"Writes the SQL instead of running it (`alembic upgrade head --sql`).\"\"\"\n    \
             url = database_url()\n    \
             context.configure(\n        \
                 url=url,\n        \
                 target_metadata=target_metadata,\n        \
                 literal_binds=True,\n        \
                 dialect_opts={{\"paramstyle\": \"named\"}},\n        \
                 compare_type=True,\n        \
                 render_as_batch=make_url(url).get_backend_name() == \"sqlite\",\n    \
             )\n    \
             with context.begin_transaction():\n        \
                 context.run_migrations()\n\n\n\
         def run_migrations(connection: Connection) -> None:\n    \
             # SQLite cannot ALTER most things: batch mode copies the table instead.\n    \
             context.configure(\n        \
                 connection=connection,\n        \
                 target_metadata=target_metadata,\n        \
                 compare_type=True,\n        \
                 render_as_batch=connection.dialect.name == \"sqlite\",\n    \
             )\n    \
             with context.begin_transaction():\n        \
                 context.run_migrations()\n\n\n\
         async def run_async_migrations(url: str) -> None:\n    \
             engine = create_async_engine(url, poolclass=pool.NullPool)\n    \
             async with engine.connect() as connection:\n        \
                 await connection.run_sync(run_migrations)\n    \
             await engine.dispose()\n\n\n\
         def run_migrations_online() -> None:\n    \
             \"\"\"Runs the migrations on a connection (an async driver's too).\"\"\"\n    \
             url = database_url()\n    \
             if make_url(url).get_dialect().is_async:\n        \
                 asyncio.run(run_async_migrations(url))\n        \
                 return\n    \
             engine = create_engine(url, poolclass=pool.NullPool)\n    \
             with engine.connect() as connection:\n        \
                 run_migrations(connection)\n    \
             engine.dispose()\n\n\n\
         if context.is_offline_mode():\n    \
             run_migrations_offline()\n\
         else:\n    \
             run_migrations_online()\n",
        base = base.display(),
        imports = imports.render(),
        class = base.class,
    )
}

/// The template of each revision (Mako): typed module attributes, `upgrade` / `downgrade`.
const SCRIPT_TEMPLATE: &str = r#""""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
# Revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
"#;
