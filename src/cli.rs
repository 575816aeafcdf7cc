//! Command-line interface (clap derive). Flags follow Ruff's names so that
//! Python developers already know them.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sqlalint",
    version,
    about = "A fast linter for SQLAlchemy ORM anti-patterns in Python code",
    after_help = "Examples:\n  sqlalint check .                       lint the current project\n  sqlalint check src/ --select SA1       only the N+1/loop family\n  sqlalint check . --output-format sarif -o sqlalint.sarif\n  sqlalint check . --fix                 apply safe fixes\n  sqlalint rule SA101                    explain a rule\n  sqlalint rules                         list every rule\n  sqlalint new model User --columns \"id:int:pk,name:str\"   generate a model"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Lint Python files for SQLAlchemy anti-patterns.
    Check(CheckArgs),
    /// Show the documentation of one rule, or of every rule with --all.
    Rule(RuleArgs),
    /// List every rule: code, name, family, default, fix availability.
    Rules(RulesArgs),
    /// Generate code that passes the gate: a model, a session module, or an Alembic environment.
    #[command(subcommand)]
    New(NewCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum NewCommand {
    /// A SQLAlchemy 2.0 declarative model from a column spec.
    #[command(
        after_help = "Column spec: comma-separated `name:type[:flag...]`.\n  types: int, str, str:N, text, bool, float, decimal, date, datetime, uuid, json, fk=TABLE.COLUMN\n  a `?` after the type makes the column nullable (`bio:text?`)\n  flags: pk, unique, index, fk=TABLE.COLUMN\nRelationship spec: `name:Target:kind[:lazy]`, kind one of many-to-one, one-to-many, one-to-one.\n\nExample:\n  sqlalint new model User --columns \"id:int:pk,name:str:unique,org_id:fk=orgs.id\" \\\n      --relationship org:Org:many-to-one"
    )]
    Model(NewModelArgs),
    /// A session module: engine, session factory, commit-or-rollback scope, framework dependency.
    Session(NewSessionArgs),
    /// An Alembic environment wired to the declarative base, then the first revision.
    Alembic(NewAlembicArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NewModelArgs {
    /// Class name of the model, e.g. `User`.
    pub(crate) name: String,
    /// Columns: `name:type[:flag...]`, comma-separated (see below). Without a primary key an
    /// `id:int:pk` column comes first.
    #[arg(long, value_name = "SPEC", default_value = "", hide_default_value = true)]
    pub(crate) columns: String,
    /// A relationship `name:Target:kind[:lazy]` (repeatable).
    #[arg(long = "relationship", value_name = "SPEC")]
    pub(crate) relationships: Vec<String>,
    /// Loading strategy of every relationship without its own.
    #[arg(long, value_enum, default_value = "raise")]
    pub(crate) lazy: Lazy,
    /// Table name [default: the class name in snake case, plural].
    #[arg(long)]
    pub(crate) table: Option<String>,
    /// Declarative base to subclass, `module:Name` [default: the project's only base, else a new one].
    #[arg(long, value_name = "MODULE:NAME")]
    pub(crate) base: Option<String>,
    /// Where to write the model (`-` for standard output) [default: `<snake_name>.py`].
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Loading strategies a generated relationship may use: each loads explicitly, none lazily per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Lazy {
    Raise,
    #[value(name = "raise_on_sql")]
    RaiseOnSql,
    Selectin,
    Joined,
    Subquery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Framework {
    Fastapi,
    Flask,
    Plain,
}

#[derive(Debug, Args)]
pub(crate) struct NewSessionArgs {
    /// Framework whose dependency injection to wire.
    #[arg(long, value_enum, default_value = "plain")]
    pub(crate) framework: Framework,
    /// Use `create_async_engine` and `async_sessionmaker` (FastAPI and plain only).
    #[arg(long = "async")]
    pub(crate) is_async: bool,
    /// Environment variable holding the database URL.
    #[arg(long, value_name = "ENV_VAR", default_value = "DATABASE_URL")]
    pub(crate) url: String,
    /// Where to write the module (`-` for standard output).
    #[arg(long, value_name = "PATH", default_value = "database.py")]
    pub(crate) out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NewAlembicArgs {
    /// Message of the first revision.
    #[arg(long, default_value = "Initial schema")]
    pub(crate) message: String,
    /// Directory of the environment (`env.py`, `script.py.mako`, `versions/`).
    #[arg(long, value_name = "PATH", default_value = "migrations")]
    pub(crate) dir: PathBuf,
    /// Declarative base whose metadata to migrate, `module:Name` [default: the project's only base].
    #[arg(long, value_name = "MODULE:NAME")]
    pub(crate) base: Option<String>,
    /// Environment variable holding the database URL.
    #[arg(long, value_name = "ENV_VAR", default_value = "DATABASE_URL")]
    pub(crate) url: String,
    /// Overwrite existing files.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Source snippets with labels and help (default).
    Full,
    /// One line per finding: `path:line:col: CODE message`.
    Concise,
    /// A JSON array of findings (documented in README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations on pull requests).
    Github,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Files or directories to lint [default: .]
    pub(crate) paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "full", env = "SQLALINT_OUTPUT_FORMAT")]
    pub(crate) output_format: OutputFormat,
    /// Write the report to this file instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    pub(crate) output_file: Option<PathBuf>,
    /// Rule codes or prefixes to enable, replacing the configured selection (`ALL` for every rule).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub(crate) select: Option<Vec<String>>,
    /// Rule codes or prefixes to enable on top of the selection.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub(crate) extend_select: Vec<String>,
    /// Rule codes or prefixes to disable.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub(crate) ignore: Vec<String>,
    /// Use this configuration file instead of discovering one.
    #[arg(long, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long, conflicts_with = "config")]
    pub(crate) isolated: bool,
    /// Apply safe fixes in place.
    #[arg(long)]
    pub(crate) fix: bool,
    /// Also apply unsafe fixes (with --fix or --diff).
    #[arg(long)]
    pub(crate) unsafe_fixes: bool,
    /// Print the fixes as a unified diff and change nothing (exit 1 when there is a diff).
    #[arg(long, conflicts_with = "fix")]
    pub(crate) diff: bool,
    /// List the fixes that were applied.
    #[arg(long)]
    pub(crate) show_fixes: bool,
    /// Exit 0 even when there are findings (still 2 on errors).
    #[arg(long)]
    pub(crate) exit_zero: bool,
    /// Print the number of findings per rule instead of the findings.
    #[arg(long)]
    pub(crate) statistics: bool,
    /// Apply exclusions to files named explicitly on the command line too (for pre-commit).
    #[arg(long)]
    pub(crate) force_exclude: bool,
    /// Lint files that .gitignore/.ignore would skip.
    #[arg(long)]
    pub(crate) no_respect_gitignore: bool,
    /// Glob patterns to exclude, replacing the defaults.
    #[arg(long, value_delimiter = ',', value_name = "GLOBS")]
    pub(crate) exclude: Option<Vec<String>>,
    /// Glob patterns to exclude on top of the defaults and the configuration.
    #[arg(long, value_delimiter = ',', value_name = "GLOBS")]
    pub(crate) extend_exclude: Vec<String>,
    /// Print nothing but the findings (no summary, no warnings).
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Print the project model index (models, columns, relationships and how they load)
    /// as JSON instead of findings: what sqlalint believes about your models.
    #[arg(long)]
    pub(crate) show_models: bool,
    /// Read and write no cache. By default results are cached in `.sqlalint_cache/` at the
    /// project root, keyed by file content, sqlalint version and settings; unchanged files are
    /// not linted again, and cross-file findings are re-checked when the models they read change.
    #[arg(long, env = "SQLALINT_NO_CACHE", value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) no_cache: bool,
    /// Keep the cache in this directory instead of `.sqlalint_cache/` at the project root
    /// (overrides the `cache-dir` option).
    #[arg(long, env = "SQLALINT_CACHE_DIR", value_name = "PATH")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Benchmark baseline: read and parse every file, run no rule.
    #[arg(long, hide = true)]
    pub(crate) parse_only: bool,
    /// Benchmark: skip model-index extraction (cross-file rules then find nothing).
    #[arg(long, hide = true)]
    pub(crate) no_model_index: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RuleArgs {
    /// Rule code, e.g. SA101.
    #[arg(required_unless_present = "all")]
    pub(crate) code: Option<String>,
    /// Show every rule's documentation.
    #[arg(long, conflicts_with = "code")]
    pub(crate) all: bool,
    /// `text` (Markdown) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) output_format: DocsFormat,
}

#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// `text` (a table) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) output_format: DocsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DocsFormat {
    Text,
    Json,
}
