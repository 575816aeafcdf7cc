//! `sqlalint new`: generators whose output passes `sqlalint check --select ALL`.
//! Each generator plans every file first (`Planned`); nothing is written unless the whole
//! plan is valid and no existing file would be overwritten without `--force`.
mod alembic;
mod format;
mod model;
mod project;
mod session;
mod spec;

use std::path::{Path, PathBuf};

use miette::miette;

use crate::cli::NewCommand;
use crate::Status;

pub(crate) fn run(command: &NewCommand) -> miette::Result<Status> {
    match command {
        NewCommand::Model(args) => model::run(args),
        NewCommand::Session(args) => session::run(args),
        NewCommand::Alembic(args) => alembic::run(args),
    }
}

/// One file a generator will write.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) path: PathBuf,
    pub(crate) content: String,
    /// An existing file the generator adds to (the other side of a relationship): never
    /// refused, as nothing in it is replaced.
    pub(crate) update: bool,
}

impl Planned {
    pub(crate) fn new(path: PathBuf, content: String) -> Self {
        Planned { path, content, update: false }
    }
}

/// `--out -`: the path meaning standard output.
pub(crate) fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Writes the plan, or nothing: every new file is checked for existence before the first
/// write. Prints each written path, one per line.
pub(crate) fn write_plan(plan: &[Planned], directories: &[PathBuf], force: bool) -> miette::Result<()> {
    let existing: Vec<&Planned> = plan.iter().filter(|p| !p.update && p.path.exists()).collect();
    if !force && !existing.is_empty() {
        let names: Vec<String> = existing.iter().map(|p| p.path.display().to_string()).collect();
        return Err(miette!(
            help = "pass --force to overwrite, or choose another path",
            "{} already exist{}; nothing was written",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" }
        ));
    }
    for dir in directories.iter().map(PathBuf::as_path).chain(plan.iter().filter_map(|p| p.path.parent())) {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| miette!("cannot create {}: {e}", dir.display()))?;
        }
    }
    for planned in plan {
        std::fs::write(&planned.path, &planned.content)
            .map_err(|e| miette!("cannot write {}: {e}", planned.path.display()))?;
    }
    for dir in directories {
        println!("{}/", relative(dir).display());
    }
    for planned in plan {
        println!("{}", relative(&planned.path).display());
    }
    Ok(())
}

/// `path` relative to the current directory when it lies inside it.
pub(crate) fn relative(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}
