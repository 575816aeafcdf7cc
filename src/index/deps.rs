//! What a file's deferred checks read from the [`ModelIndex`], so the cache can keep their
//! findings when the index changes elsewhere. Every query method of the index notes what it
//! was asked (a class name, a loader-option pair, ...); a cached file's findings stay valid as
//! long as each noted question has the same answer in the new index (see [`Answers`]).
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hasher;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use super::merge::ModelIndex;

/// One question a deferred check asked the index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Dep {
    /// Every mapped class of this name, as merged (columns, relationships, module, path...).
    Name(String),
    /// `eager_somewhere(model, relationship)`.
    Eager(String, String),
    /// `is_known_name(name)`.
    Known(String),
    /// `has_late_attribute(class, attribute)`.
    Late(String, String),
    /// The project's session factories.
    SessionFactories,
    /// The list of every model.
    AllModels,
    /// Every Alembic revision of the project.
    Revisions,
    /// Anything else (tables, column uses, modules, dialects): answered by the whole index.
    Index,
}

thread_local! {
    static NOTED: RefCell<Option<Vec<Dep>>> = const { RefCell::new(None) };
}

/// Notes a question, when a [`recording`] is active on this thread (cheap otherwise).
pub(crate) fn note(dep: impl FnOnce() -> Dep) {
    NOTED.with(|noted| {
        if let Some(list) = noted.borrow_mut().as_mut() {
            list.push(dep());
        }
    });
}

/// Runs `f`, returning what it asked the index. Nests: a recording started inside another one
/// (a work-stealing thread picking up another file) keeps its questions to itself.
pub(crate) fn recording<T>(f: impl FnOnce() -> T) -> (T, Vec<Dep>) {
    let outer = NOTED.with(|noted| noted.borrow_mut().replace(Vec::new()));
    let value = f();
    let mut deps = NOTED.with(|noted| std::mem::replace(&mut *noted.borrow_mut(), outer)).unwrap_or_default();
    deps.sort_unstable();
    deps.dedup();
    (value, deps)
}

/// The answers of one index to noted questions, as hashes; per-name hashes are computed once
/// per index on first use. Asked outside any [`recording`], so asking notes nothing.
pub(crate) struct Answers<'a> {
    index: &'a ModelIndex,
    names: std::sync::OnceLock<HashMap<&'a str, u64>>,
    models: std::sync::OnceLock<u64>,
    revisions: std::sync::OnceLock<u64>,
    factories: std::sync::OnceLock<u64>,
}

fn hash_debug(value: &impl std::fmt::Debug) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.write(format!("{value:?}").as_bytes());
    hasher.finish()
}

impl<'a> Answers<'a> {
    pub(crate) fn new(index: &'a ModelIndex) -> Self {
        Answers {
            index,
            names: Default::default(),
            models: Default::default(),
            revisions: Default::default(),
            factories: Default::default(),
        }
    }

    fn names(&self) -> &HashMap<&'a str, u64> {
        self.names.get_or_init(|| {
            let mut grouped: HashMap<&str, Vec<&super::merge::Model>> = HashMap::new();
            for model in self.index.models() {
                grouped.entry(model.name.as_str()).or_default().push(model);
            }
            grouped.into_iter().map(|(name, models)| (name, hash_debug(&models))).collect()
        })
    }

    /// The answer to `dep`, hashed.
    pub(crate) fn answer(&self, dep: &Dep) -> u64 {
        let flag = |b: bool| u64::from(b);
        match dep {
            // An absent name hashes as 0: a model of that name appearing changes the answer.
            Dep::Name(name) => self.names().get(name.as_str()).copied().unwrap_or(0),
            Dep::Eager(model, rel) => flag(self.index.eager_somewhere(model, rel)),
            Dep::Known(name) => flag(self.index.is_known_name(name)),
            Dep::Late(class, attribute) => flag(self.index.has_late_attribute(class, attribute)),
            Dep::SessionFactories => *self.factories.get_or_init(|| hash_debug(&self.index.session_factories())),
            Dep::AllModels => *self.models.get_or_init(|| hash_debug(&self.index.models())),
            Dep::Revisions => *self.revisions.get_or_init(|| hash_debug(&self.index.revisions())),
            Dep::Index => hash_debug(&(self.index.fingerprint(), self.index.migration_dialect)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{note, recording, Dep};

    #[test]
    fn recordings_nest_and_notes_outside_any_are_dropped() {
        note(|| Dep::Known("nobody listens".into()));
        let ((), outer) = recording(|| {
            note(|| Dep::Name("User".into()));
            let ((), inner) = recording(|| note(|| Dep::Revisions));
            assert_eq!(inner, vec![Dep::Revisions]);
            note(|| Dep::Name("User".into()));
            note(|| Dep::AllModels);
        });
        assert_eq!(outer, vec![Dep::Name("User".into()), Dep::AllModels]);
    }
}
