//! Configuration: `[tool.sqlalint]` in `pyproject.toml`, or the top level of
//! `.sqlalint.toml` / `sqlalint.toml`, found by walking up from the current
//! directory (the closest file wins; no merging, as in Ruff). `--config PATH`
//! names a file directly; `--isolated` ignores every file. A bad file is a
//! miette error pointing at the offending key or value.
// A config error (with its source snippet) is built at most once per run: its size does not matter.
#![allow(clippy::result_large_err)]
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

use crate::selection::{Selector, SelectorError};

/// Options as written in a config file. Keys are kebab-case, like Ruff's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Options {
    pub(crate) select: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) extend_select: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) ignore: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) per_file_ignores: BTreeMap<String, Vec<Spanned<String>>>,
    pub(crate) exclude: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) extend_exclude: Vec<String>,
    /// The database the Alembic migrations run on (`postgresql`, `sqlite`, ...), for the
    /// PostgreSQL-only migration rules when the environment does not name it.
    pub(crate) migration_dialect: Option<String>,
    /// Where the cache lives, relative to the config file's directory.
    pub(crate) cache_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTool>,
}

#[derive(Deserialize)]
struct PyprojectTool {
    sqlalint: Option<Options>,
}

/// A configuration file that was found and parsed.
#[derive(Debug)]
pub(crate) struct ConfigFile {
    pub(crate) path: PathBuf,
    pub(crate) options: Options,
    /// The text, kept to point errors (such as an unknown rule code) at it.
    pub(crate) text: String,
}

#[derive(Debug, Diagnostic)]
pub(crate) enum ConfigError {
    #[diagnostic(code(sqlalint::config))]
    Invalid {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: Option<String>,
    },
    #[diagnostic(code(sqlalint::config))]
    Io { message: String },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Invalid { message, .. } | ConfigError::Io { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub(crate) fn at(
        path: &Path,
        text: &str,
        span: Range<usize>,
        message: String,
        label: &str,
        help: Option<String>,
    ) -> Self {
        let span = span.start.min(text.len())..span.end.min(text.len());
        ConfigError::Invalid {
            message,
            src: NamedSource::new(path.display().to_string(), text.to_string()),
            span: span.into(),
            label: label.to_string(),
            help,
        }
    }
}

/// Config file names, in precedence order within one directory.
const CANDIDATES: &[&str] = &[".sqlalint.toml", "sqlalint.toml", "pyproject.toml"];

/// Walks up from `start` to the first directory holding a config file that configures sqlalint.
pub(crate) fn discover(start: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    for dir in start.ancestors() {
        for name in CANDIDATES {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            if let Some(config) = load(&path)? {
                return Ok(Some(config));
            }
        }
    }
    Ok(None)
}

/// Loads one file; `Ok(None)` for a `pyproject.toml` without `[tool.sqlalint]`.
pub(crate) fn load(path: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| ConfigError::Io { message: format!("cannot read config file {}: {err}", path.display()) })?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let parsed = if is_pyproject {
        toml::from_str::<Pyproject>(&text).map(|p| p.tool.and_then(|t| t.sqlalint))
    } else {
        toml::from_str::<Options>(&text).map(Some)
    };
    match parsed {
        Ok(Some(options)) => {
            let config = ConfigFile { path: path.to_path_buf(), options, text };
            config.validate()?;
            Ok(Some(config))
        }
        Ok(None) => Ok(None),
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            // Name the key when the error points at a value (`key = value` on the same line).
            let line_start = text[..span.start.min(text.len())].rfind('\n').map_or(0, |at| at + 1);
            let key = text.get(line_start..span.start).and_then(|before| before.split_once('=')).map(|(k, _)| k.trim());
            let message = match key {
                Some(key) if !key.is_empty() => {
                    format!("invalid configuration in {}: `{key}`: {}", path.display(), err.message())
                }
                _ => format!("invalid configuration in {}: {}", path.display(), err.message()),
            };
            // The key list helps with a misspelt key, not with a wrong value.
            let help = err.message().contains("unknown field").then(|| {
                "valid keys: select, extend-select, ignore, per-file-ignores, exclude, extend-exclude, cache-dir"
                    .to_string()
            });
            Err(ConfigError::at(path, &text, span, message, "here", help))
        }
    }
}

impl ConfigFile {
    /// Every rule selector must name a known code or prefix.
    fn validate(&self) -> Result<(), ConfigError> {
        let o = &self.options;
        let lists = o.select.iter().flatten().chain(&o.extend_select).chain(&o.ignore);
        for code in lists.chain(o.per_file_ignores.values().flatten()) {
            if let Err(err) = Selector::parse(code.get_ref()) {
                return Err(self.error_at(code.span(), err));
            }
        }
        for pattern in o.per_file_ignores.keys().chain(o.exclude.iter().flatten()).chain(&o.extend_exclude) {
            if let Err(err) = globset::Glob::new(pattern) {
                let span = self.text.find(pattern.as_str()).map_or(0..0, |at| at..at + pattern.len());
                let message = format!("invalid glob `{pattern}` in {}: {err}", self.path.display());
                return Err(ConfigError::at(&self.path, &self.text, span, message, "this pattern", None));
            }
        }
        Ok(())
    }

    fn error_at(&self, span: Range<usize>, err: SelectorError) -> ConfigError {
        let message = format!("{} in {}", err.message, self.path.display());
        ConfigError::at(&self.path, &self.text, span, message, "unknown rule selector", err.help)
    }

    /// The directory the config lives in: the project root for relative globs.
    pub(crate) fn root(&self) -> PathBuf {
        self.path.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn pyproject_without_section_is_skipped_and_parent_found() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "sqlalint.toml", "select = [\"SA1\"]\n");
        let sub = tmp.path().join("pkg");
        std::fs::create_dir(&sub).unwrap();
        write(&sub, "pyproject.toml", "[project]\nname = \"x\"\n");
        let config = discover(&sub).unwrap().unwrap();
        assert!(config.path.ends_with("sqlalint.toml"));
        assert_eq!(config.options.select.unwrap()[0].get_ref(), "SA1");
    }

    #[test]
    fn closest_file_wins() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "sqlalint.toml", "select = [\"SA1\"]\n");
        let sub = tmp.path().join("pkg");
        std::fs::create_dir(&sub).unwrap();
        write(&sub, "pyproject.toml", "[tool.sqlalint]\nignore = [\"SA102\"]\n");
        let config = discover(&sub).unwrap().unwrap();
        assert!(config.path.ends_with("pkg/pyproject.toml"));
    }

    #[test]
    fn unknown_key_points_at_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(tmp.path(), "pyproject.toml", "[tool.sqlalint]\nselekt = [\"SA1\"]\n");
        let Err(ConfigError::Invalid { span, message, .. }) = load(&path) else { panic!("expected error") };
        assert!(message.contains("selekt"), "{message}");
        assert_eq!(span.offset(), "[tool.sqlalint]\n".len());
    }

    #[test]
    fn unknown_code_and_wrong_type_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(tmp.path(), "sqlalint.toml", "ignore = [\"SA999\"]\n");
        let Err(ConfigError::Invalid { span, .. }) = load(&path) else { panic!("expected error") };
        assert_eq!(span.offset(), "ignore = [".len());
        let path = write(tmp.path(), "sqlalint.toml", "select = \"SA1\"\n");
        assert!(matches!(load(&path), Err(ConfigError::Invalid { .. })));
    }
}
