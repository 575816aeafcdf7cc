//! sqlalint: a fast static-analysis gate for SQLAlchemy ORM anti-patterns.
//!
//! Data flows one way: walk (`walk`) → read and parse (`lint`, `engine`) →
//! rule checks (`rules`, one combined query) → diagnostics → suppression and
//! selection → sort → report (`report`).
mod alembic;
mod cache;
mod check;
mod checker;
mod cli;
mod config;
mod diagnostic;
mod docs;
mod engine;
mod fast_hash;
mod fix;
mod index;
mod lint;
mod loops;
mod matcher;
mod noqa;
mod pattern;
mod python;
mod query;
mod registry;
mod report;
mod scaffold;
mod selection;
mod sessions;
mod settings;
mod source;
mod syntax;
mod triggers;
mod walk;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes, as Ruff's: 0 clean, 1 findings, 2 error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Clean,
    Findings,
    Error,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        ExitCode::from(match status {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::Error => 2,
        })
    }
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // --help and --version are successes; usage errors are exit 2 (clap's default too).
            return if err.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        cli::Command::Check(args) => check::run(&args),
        cli::Command::Rule(args) => docs::rule(&args),
        cli::Command::Rules(args) => docs::rules(&args),
        cli::Command::New(command) => scaffold::run(&command),
    };
    match result {
        Ok(status) => status.into(),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}
