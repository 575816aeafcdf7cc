//! What the generators need to know about the project they write into: its root, the
//! per-file index facts and the model index (the same ones `sqlalint check` builds), and
//! the declarative bases it defines.
use std::path::{Path, PathBuf};

use clap::{Args, FromArgMatches};
use rayon::prelude::*;

use crate::cli::CheckArgs;
use crate::index::merge::{Model, ModelIndex};
use crate::index::{BaseKind, FileFacts};
use crate::lint::{self, ModuleInfo};
use crate::settings::Settings;
use crate::walk::{self, WalkOptions};

pub(crate) struct Project {
    pub(crate) root: PathBuf,
    pub(crate) files: Vec<(PathBuf, FileFacts)>,
    pub(crate) index: ModelIndex,
}

/// A declarative base as generated code imports and subclasses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseRef {
    /// Module to import from (`app.db`).
    pub(crate) module: String,
    /// Name to import (`Base`, or `db` for Flask-SQLAlchemy).
    pub(crate) name: String,
    /// What the class subclasses (`Base`, `db.Model`).
    pub(crate) class: String,
    /// Where it is defined, when found in the project.
    pub(crate) path: Option<PathBuf>,
}

impl BaseRef {
    pub(crate) fn display(&self) -> String {
        format!("{}:{}", self.module, self.name)
    }

    /// `a:Base, b:Base, ... and 3 more`: a readable list of bases.
    pub(crate) fn list(bases: &[BaseRef]) -> String {
        const SHOWN: usize = 5;
        let mut text = bases.iter().take(SHOWN).map(BaseRef::display).collect::<Vec<_>>().join(", ");
        if bases.len() > SHOWN {
            text.push_str(&format!(" and {} more", bases.len() - SHOWN));
        }
        text
    }
}

impl Project {
    /// Reads every Python file of the project as `sqlalint check` would (configuration,
    /// exclusions and `.gitignore` respected).
    pub(crate) fn load() -> miette::Result<Project> {
        let defaults = CheckArgs::augment_args(clap::Command::new("check")).get_matches_from(["check"]);
        let args = CheckArgs::from_arg_matches(&defaults).map_err(|e| miette::miette!("{e}"))?;
        let settings = Settings::resolve(&args)?;
        let (paths, _) = walk::collect_files(
            std::slice::from_ref(&settings.root),
            &WalkOptions {
                root: &settings.root,
                excludes: &settings.excludes,
                respect_gitignore: true,
                force_exclude: false,
            },
        );
        let files: Vec<(PathBuf, FileFacts)> = paths
            .par_iter()
            .filter_map(|path| {
                let module = ModuleInfo::for_path(path, &settings.root);
                lint::facts_only(path, &module).map(|facts| (walk::absolute(path), facts))
            })
            .collect();
        let borrowed: Vec<(&Path, &FileFacts)> = files.iter().map(|(path, facts)| (path.as_path(), facts)).collect();
        let index = ModelIndex::build(&borrowed);
        Ok(Project { root: settings.root, files, index })
    }

    /// The declarative bases the project defines outside its tests: `Base = declarative_base()`,
    /// `class Base(DeclarativeBase)`, `@as_declarative`, and `db.Model` of `db = SQLAlchemy()`.
    pub(crate) fn bases(&self) -> Vec<BaseRef> {
        let mut found = Vec::new();
        let candidates = self.files.iter().filter(|(path, facts)| is_application_code(path, facts));
        for (path, facts) in candidates {
            let base = |name: &str, class: String| BaseRef {
                module: facts.module.clone(),
                name: name.to_string(),
                class,
                path: Some(path.clone()),
            };
            for named in &facts.bases {
                match named.kind {
                    BaseKind::Declarative => found.push(base(&named.name, named.name.clone())),
                    BaseKind::FlaskSqlalchemy => found.push(base(&named.name, format!("{}.Model", named.name))),
                }
            }
            for class in &facts.classes {
                let direct = class
                    .bases
                    .iter()
                    .any(|b| matches!(b.rsplit('.').next(), Some("DeclarativeBase" | "DeclarativeBaseNoMeta")));
                if direct && !found.iter().any(|f: &BaseRef| f.module == facts.module && f.name == class.name) {
                    found.push(base(&class.name, class.name.clone()));
                }
            }
        }
        found.sort_by(|a, b| (&a.module, &a.name).cmp(&(&b.module, &b.name)));
        found.dedup();
        found
    }

    /// The module name a file at `path` (relative to the current directory) will have.
    pub(crate) fn module_of(&self, path: &Path) -> String {
        ModuleInfo::for_path(path, &self.root).name
    }

    /// The mapped classes of the application's code.
    pub(crate) fn models(&self) -> impl Iterator<Item = &Model> + '_ {
        self.index
            .models()
            .iter()
            .filter(|m| self.facts(&m.path).is_some_and(|facts| is_application_code(&m.path, facts)))
    }

    /// Mapped classes named `name` in the application's code.
    pub(crate) fn models_named(&self, name: &str) -> Vec<&Model> {
        self.models().filter(|m| m.name == name).collect()
    }

    /// Modules that define mapped classes, for `env.py` to import (sorted, tests left out).
    pub(crate) fn model_modules(&self) -> Vec<String> {
        let mut modules: Vec<String> = self.models().map(|m| m.module.clone()).collect();
        modules.sort();
        modules.dedup();
        modules
    }

    /// The facts of the file at `path`.
    pub(crate) fn facts(&self, path: &Path) -> Option<&FileFacts> {
        let path = walk::absolute(path);
        self.files.iter().find(|(p, _)| *p == path).map(|(_, f)| f)
    }
}

/// Where the application's models and bases live: not tests, not migrations (a data
/// migration's frozen copy of a model), and a module importable by its dotted name.
fn is_application_code(path: &Path, facts: &FileFacts) -> bool {
    !is_test_path(path)
        && facts.revision.is_none()
        && !facts.module.is_empty()
        && facts.module.split('.').all(|part| super::spec::is_identifier(part) && part != "migrations")
}

fn is_test_path(path: &Path) -> bool {
    path.components().any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "test")))
        || path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("test_") || n == "conftest.py")
}
