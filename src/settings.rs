//! The effective settings of one run: the configuration file (if any) merged
//! with command-line flags, resolved into the project root, the enabled rule
//! set, per-file ignores and exclusions. CLI flags override the file.
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

use crate::cli::CheckArgs;
use crate::config::{self, ConfigFile};
use crate::selection::{RuleSet, Selector};
use crate::walk::{self, DEFAULT_EXCLUDES};

pub(crate) struct Settings {
    /// Absolute project root: the config file's directory, else the nearest
    /// ancestor holding `.git`, else the current directory. SARIF paths and
    /// relative globs are relative to it.
    pub(crate) root: PathBuf,
    /// The root was found from a config file or `.git` (not just the current directory),
    /// so the whole of it may be indexed for cross-file rules.
    pub(crate) root_is_project: bool,
    pub(crate) rules: RuleSet,
    per_file_ignores: Vec<(GlobMatcher, Vec<Selector>)>,
    pub(crate) excludes: Vec<String>,
    /// `migration-dialect`: the database the migrations run on, when configured.
    pub(crate) migration_dialect: Option<crate::alembic::Dialect>,
    /// `--cache-dir` / `SQLALINT_CACHE_DIR`, else `cache-dir`, else `.sqlalint_cache` in the root.
    pub(crate) cache_dir: PathBuf,
}

impl Settings {
    pub(crate) fn resolve(args: &CheckArgs) -> Result<Self, miette::Report> {
        let cwd = std::env::current_dir().map_err(|e| miette::miette!("cannot read the current directory: {e}"))?;
        let file: Option<ConfigFile> = if args.isolated {
            None
        } else if let Some(path) = &args.config {
            let loaded = config::load(path).map_err(miette::Report::new)?;
            Some(loaded.ok_or_else(|| miette::miette!("{} has no [tool.sqlalint] section", path.display()))?)
        } else {
            config::discover(&cwd).map_err(miette::Report::new)?
        };
        let git_root = cwd.ancestors().find(|dir| dir.join(".git").exists());
        let root_is_project = file.is_some() || git_root.is_some();
        let root = match &file {
            Some(file) => walk::absolute(&file.root()),
            None => git_root.unwrap_or(&cwd).to_path_buf(),
        };
        let cli_selectors = |codes: &[String], flag: &str| -> Result<Vec<Selector>, miette::Report> {
            codes
                .iter()
                .map(|code| {
                    Selector::parse(code).map_err(|err| {
                        miette::miette!(help = err.help.unwrap_or_default(), "{} in `{flag}`", err.message)
                    })
                })
                .collect()
        };
        let from_file = |list: &[toml::Spanned<String>]| -> Vec<Selector> {
            // Validated when the file was loaded.
            list.iter().filter_map(|code| Selector::parse(code.get_ref()).ok()).collect()
        };
        let options = file.as_ref().map(|f| &f.options);
        let select = match (&args.select, options.and_then(|o| o.select.as_deref())) {
            (Some(cli), _) => Some(cli_selectors(cli, "--select")?),
            (None, Some(configured)) => Some(from_file(configured)),
            (None, None) => None,
        };
        let mut extend_select = options.map(|o| from_file(&o.extend_select)).unwrap_or_default();
        extend_select.extend(cli_selectors(&args.extend_select, "--extend-select")?);
        let mut ignore = options.map(|o| from_file(&o.ignore)).unwrap_or_default();
        ignore.extend(cli_selectors(&args.ignore, "--ignore")?);
        let rules = RuleSet::resolve(select.as_deref(), &extend_select, &ignore);

        let mut per_file_ignores = Vec::new();
        if let Some(options) = options {
            for (pattern, codes) in &options.per_file_ignores {
                let glob = Glob::new(pattern.trim_start_matches("./"))
                    .map_err(|e| miette::miette!("invalid per-file-ignores pattern `{pattern}`: {e}"))?;
                per_file_ignores.push((glob.compile_matcher(), from_file(codes)));
            }
        }
        let mut excludes: Vec<String> = match (&args.exclude, options.and_then(|o| o.exclude.clone())) {
            (Some(cli), _) => cli.clone(),
            (None, Some(configured)) => configured,
            (None, None) => DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect(),
        };
        excludes.extend(options.map(|o| o.extend_exclude.clone()).unwrap_or_default());
        excludes.extend(args.extend_exclude.iter().cloned());
        walk::Excludes::new(&excludes).map_err(|e| miette::miette!("invalid exclude pattern: {e}"))?;
        let migration_dialect = match options.and_then(|o| o.migration_dialect.as_deref()) {
            Some(name) => Some(crate::alembic::Dialect::from_name(name).ok_or_else(|| {
                let file = file.as_ref().map_or(String::new(), |f| format!(" in {}", f.path.display()));
                miette::miette!(
                    help = "name a SQLAlchemy dialect, such as `postgresql`, `sqlite` or `mysql`",
                    "unknown `migration-dialect` `{name}`{file}"
                )
            })?),
            None => None,
        };
        let cache_dir = match (&args.cache_dir, options.and_then(|o| o.cache_dir.as_ref())) {
            (Some(cli), _) => walk::absolute(cli),
            (None, Some(configured)) => root.join(configured),
            (None, None) => root.join(".sqlalint_cache"),
        };
        Ok(Settings { root, root_is_project, rules, per_file_ignores, excludes, migration_dialect, cache_dir })
    }

    /// The rules enabled for one file, after `per-file-ignores`.
    pub(crate) fn rules_for(&self, path: &Path) -> RuleSet {
        if self.per_file_ignores.is_empty() {
            return self.rules.clone();
        }
        let absolute = walk::absolute(path);
        let relative = absolute.strip_prefix(&self.root).unwrap_or(&absolute);
        let name = path.file_name().map(Path::new);
        let ignored: Vec<Selector> = self
            .per_file_ignores
            .iter()
            .filter(|(glob, _)| glob.is_match(relative) || name.is_some_and(|n| glob.is_match(n)))
            .flat_map(|(_, codes)| codes.iter().cloned())
            .collect();
        if ignored.is_empty() {
            self.rules.clone()
        } else {
            self.rules.without(&ignored)
        }
    }

    /// Path relative to the project root, `/`-separated (for SARIF); `None` when outside it.
    pub(crate) fn root_relative(&self, path: &Path) -> Option<String> {
        let absolute = walk::absolute(path);
        let relative = absolute.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        Some(parts.join("/"))
    }
}
