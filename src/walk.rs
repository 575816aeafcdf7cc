//! File discovery: the paths given on the command line, expanded with
//! `ignore`'s parallel walker (respecting `.gitignore`, `.ignore`, and
//! skipping hidden entries), filtered by `exclude` globs. Explicitly named
//! files are linted even when excluded, unless `--force-exclude`.
//! The result is sorted, so everything downstream is deterministic.
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

/// Directories and files no one wants linted (Ruff's defaults, plus our cache).
pub(crate) const DEFAULT_EXCLUDES: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".sqlalint_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
];

pub(crate) struct WalkOptions<'a> {
    pub(crate) root: &'a Path,
    pub(crate) excludes: &'a [String],
    pub(crate) respect_gitignore: bool,
    pub(crate) force_exclude: bool,
}

/// A problem met while walking: a missing or unreadable path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WalkError {
    pub(crate) path: PathBuf,
    pub(crate) message: String,
    /// Fatal problems (a named path that does not exist or cannot be read) make the exit code 2;
    /// others (a dangling symlink met while walking) are warnings.
    pub(crate) fatal: bool,
}

pub(crate) struct Excludes {
    /// Patterns without `/`, matched against each entry's file name.
    names: GlobSet,
    /// Patterns with `/`, matched against the path relative to the project root.
    paths: GlobSet,
}

impl Excludes {
    pub(crate) fn new(patterns: &[String]) -> Result<Self, globset::Error> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for pattern in patterns {
            let trimmed = pattern.trim_end_matches('/');
            if trimmed.contains('/') {
                let trimmed = trimmed.trim_start_matches("./");
                paths.add(Glob::new(trimmed)?);
                paths.add(Glob::new(&format!("{trimmed}/**"))?);
            } else {
                names.add(Glob::new(trimmed)?);
            }
        }
        Ok(Excludes { names: names.build()?, paths: paths.build()? })
    }

    pub(crate) fn is_excluded(&self, path: &Path, root: &Path) -> bool {
        if path.file_name().is_some_and(|name| self.names.is_match(name)) {
            return true;
        }
        let relative = path.strip_prefix(root).unwrap_or(path);
        self.paths.is_match(relative)
    }

    /// Is any component of `path` (below the root) excluded?
    fn any_component_excluded(&self, path: &Path, root: &Path) -> bool {
        let relative = path.strip_prefix(root).unwrap_or(path);
        relative.components().any(|c| self.names.is_match(c.as_os_str())) || self.paths.is_match(relative)
    }
}

pub(crate) fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "py" || ext == "pyi")
}

/// Expands the given paths into the sorted list of Python files to lint.
pub(crate) fn collect_files(paths: &[PathBuf], options: &WalkOptions<'_>) -> (Vec<PathBuf>, Vec<WalkError>) {
    let excludes = match Excludes::new(options.excludes) {
        Ok(excludes) => std::sync::Arc::new(excludes),
        Err(err) => {
            let error =
                WalkError { path: PathBuf::new(), message: format!("invalid exclude pattern: {err}"), fatal: true };
            return (Vec::new(), vec![error]);
        }
    };
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    for path in paths {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(err) => {
                let message = match err.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                    _ => err.to_string(),
                };
                push(&errors, WalkError { path: path.clone(), message, fatal: true });
                continue;
            }
        };
        if options.force_exclude && excludes.any_component_excluded(&absolute(path), options.root) {
            continue;
        }
        if metadata.is_file() {
            push(&files, path.clone());
            continue;
        }
        if !metadata.is_dir() {
            // A FIFO, socket or device: reading it could block or never end, and walking it finds nothing.
            let message = "not a regular file or directory".to_string();
            push(&errors, WalkError { path: path.clone(), message, fatal: true });
            continue;
        }
        let mut builder = WalkBuilder::new(path);
        builder
            .hidden(true)
            .git_ignore(options.respect_gitignore)
            .git_global(options.respect_gitignore)
            .git_exclude(options.respect_gitignore)
            .ignore(options.respect_gitignore)
            .parents(options.respect_gitignore)
            .require_git(false)
            .follow_links(false);
        let root = options.root.to_path_buf();
        let walk_excludes = std::sync::Arc::clone(&excludes);
        builder.filter_entry(move |entry| {
            entry.depth() == 0 || !walk_excludes.is_excluded(&absolute(entry.path()), &root)
        });
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                match entry {
                    Ok(entry) => {
                        let path = entry.path();
                        let is_symlink = entry.path_is_symlink();
                        let is_file = entry.file_type().is_some_and(|t| t.is_file());
                        if is_file && is_python(path) {
                            push(&files, path.to_path_buf());
                        } else if is_symlink && is_python(path) {
                            // Links to files are linted through their target; broken or looping ones are reported.
                            match std::fs::metadata(path) {
                                Ok(target) if target.is_file() => push(&files, path.to_path_buf()),
                                Ok(_) => {}
                                Err(err) => push(
                                    &errors,
                                    WalkError {
                                        path: path.to_path_buf(),
                                        message: format!("skipped: {err}"),
                                        fatal: false,
                                    },
                                ),
                            }
                        }
                    }
                    Err(err) => {
                        let (path, fatal) = match &err {
                            ignore::Error::WithPath { path, .. } => (path.clone(), true),
                            _ => (PathBuf::new(), true),
                        };
                        let message = err.to_string();
                        let loop_like = message.contains("loop");
                        push(&errors, WalkError { path, message, fatal: fatal && !loop_like });
                    }
                }
                WalkState::Continue
            })
        });
    }
    let mut files = files.into_inner().unwrap_or_default();
    files.sort();
    files.dedup();
    let mut errors = errors.into_inner().unwrap_or_default();
    errors.sort();
    errors.dedup();
    (files, errors)
}

fn push<T>(list: &Mutex<Vec<T>>, item: T) {
    match list.lock() {
        Ok(mut guard) => guard.push(item),
        Err(poisoned) => poisoned.into_inner().push(item),
    }
}

/// Absolute form of a path (without resolving symlinks), for matching against the root.
/// `..` is resolved lexically, so `../pkg/x.py` run from a subdirectory still matches
/// root-relative globs such as `pkg/*` (`strip_prefix` would otherwise fail on `sub/../pkg`).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|cwd| cwd.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut normal = PathBuf::with_capacity(joined.as_os_str().len());
    for component in joined.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if normal.file_name().is_some() => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}
