//! Merging per-file facts into the project [`ModelIndex`]: which classes are
//! mapped (through declarative bases, `db.Model`, SQLModel `table=True`,
//! mixins and inheritance, across files), their inherited columns and
//! relationships, and the reverse relationships that `backref=` creates.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{BaseKind, ClassFacts, Column, CoreTable, FileFacts, LoadStrategy, Relationship};

/// The facts the index is built from: each file's path and facts, borrowed from the run.
pub(crate) type Files<'a> = [(&'a Path, &'a FileFacts)];

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Model {
    pub(crate) name: String,
    pub(crate) module: String,
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    pub(crate) tablename: Option<String>,
    /// Own and inherited columns (a subclass's definition wins).
    pub(crate) columns: Vec<Column>,
    /// Own, inherited and backref-created relationships.
    pub(crate) relationships: Vec<Relationship>,
    /// Every base class resolved to a class in the project or a known declarative base: the
    /// columns and relationships above are all the class has (bar late additions).
    #[serde(skip)]
    pub(crate) complete: bool,
    /// The topmost mapped class of its inheritance hierarchy (itself when it has no mapped parent).
    #[serde(skip)]
    pub(crate) root: String,
    /// `__table__ = Table(...)` or an imperative mapping: the table, not the class body, has the columns.
    #[serde(skip)]
    pub(crate) has_table: bool,
    /// A primary key may be declared where the index does not read it (see `ClassFacts`).
    #[serde(skip)]
    pub(crate) primary_key_elsewhere: bool,
    /// Leading columns of the indexes its (and its bases') literal `__table_args__` declare;
    /// `None` when some `__table_args__` is computed.
    #[serde(skip)]
    pub(crate) table_args_indexes: Option<Vec<String>>,
    /// Every column of those indexes, leading or not.
    #[serde(skip)]
    pub(crate) table_args_members: Vec<String>,
}

impl Model {
    pub(crate) fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships.iter().find(|r| r.name == name)
    }
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// Is `table` (as a foreign key names it) this model's table, or the class itself
    /// (`ForeignKey(User.id)`)? Without a literal `__tablename__`, the name Flask-SQLAlchemy
    /// (`user_account`) or SQLModel (`useraccount`) derive from the class is matched too.
    pub(crate) fn is_table(&self, table: &str) -> bool {
        match self.tablename.as_deref().filter(|t| !t.is_empty()) {
            Some(name) => name == table || table == self.name,
            None => table == self.name || table.replace('_', "").eq_ignore_ascii_case(&self.name) && !table.is_empty(),
        }
    }

    /// Columns of this model holding a foreign key to `to`'s table.
    pub(crate) fn foreign_keys_to<'m>(&'m self, to: &'m Model) -> impl Iterator<Item = &'m Column> + 'm {
        self.columns.iter().filter(move |c| c.referenced_table().is_some_and(|t| to.is_table(t)))
    }
}

/// An Alembic revision file of the project (for the revision-graph rule, SA705).
#[derive(Debug, Clone)]
pub(crate) struct RevisionEntry {
    pub(crate) path: PathBuf,
    pub(crate) module: String,
    pub(crate) facts: crate::alembic::RevisionFacts,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct ModelIndex {
    /// Private, like every field: deferred checks read the index through methods that note
    /// what they asked (`deps`), which is what lets the cache keep their findings.
    models: Vec<Model>,
    /// Every Alembic revision file of the project.
    #[serde(skip)]
    revisions: Vec<RevisionEntry>,
    /// The revision graph of each folder (absolute, normalised), and indices into `revisions` by
    /// module: every revision file asks for its folder's graph, which a scan of all revisions, or
    /// building the graph again for each file, made quadratic.
    #[serde(skip)]
    revision_folders: HashMap<PathBuf, RevisionFolder>,
    #[serde(skip)]
    revision_modules: HashMap<String, Vec<usize>>,
    /// Every revision id and every branch label some revision file declares.
    #[serde(skip)]
    revision_ids: std::collections::HashSet<String>,
    #[serde(skip)]
    revision_labels: std::collections::HashSet<String>,
    /// `(Model, relationship)` pairs some loader option in the project names.
    #[serde(skip)]
    eager_mentions: std::collections::HashSet<(String, String)>,
    /// `(module, name)` of every module-level session factory or registry in the project.
    #[serde(skip)]
    session_factories: std::collections::HashSet<(String, String)>,
    /// The registries among them (`scoped_session(...)`).
    #[serde(skip)]
    session_registries: std::collections::HashSet<(String, String)>,
    #[serde(skip)]
    by_name: HashMap<String, Vec<usize>>,
    /// Class names defined anywhere in the project and every imported name: what a string
    /// reference such as `relationship("User")` may resolve to beyond the mapped models.
    #[serde(skip)]
    known_names: std::collections::HashSet<String, crate::fast_hash::FastState>,
    /// `(Class, attribute)` assigned at module level after the class body.
    #[serde(skip)]
    late_attributes: std::collections::HashSet<(String, String)>,
    /// Core tables of the project, with the module defining each.
    #[serde(skip)]
    tables: Vec<(String, CoreTable)>,
    /// How often some text of the project mentions each table name (see [`super::table_mentions`]).
    #[serde(skip)]
    table_mentions: HashMap<String, usize>,
    /// Some file reflects tables or computes table names.
    #[serde(skip)]
    unnamed_tables: bool,
    /// Every module of the project.
    #[serde(skip)]
    modules: std::collections::HashSet<String>,
    /// `(owner, column)` of every module-level `Index(...)`.
    #[serde(skip)]
    module_indexes: std::collections::HashSet<(String, String)>,
    /// `(class as written, attribute)` → where queries filter or sort by it.
    #[serde(skip)]
    column_uses: HashMap<(String, String), Vec<(PathBuf, usize)>>,
    /// The dialect of the migrations, as configured (`migration-dialect`); wins over the environment's.
    #[serde(skip)]
    pub(crate) migration_dialect: Option<crate::alembic::Dialect>,
    /// The dialect of each folder holding revision files, read from its Alembic environment.
    #[serde(skip)]
    environment_dialects: HashMap<PathBuf, Option<crate::alembic::Dialect>>,
    /// A hash of everything the index was built from (see [`fingerprint`]).
    #[serde(skip)]
    fingerprint: u64,
}

/// A hash of the facts of every file (in path order) and of the migration environments'
/// dialects: equal fingerprints, equal indexes. The cache uses it for questions answered from
/// the whole index (tables, column uses, modules), which it does not track one by one.
fn fingerprint(files: &Files<'_>, dialects: &HashMap<PathBuf, Option<crate::alembic::Dialect>>) -> u64 {
    use rayon::prelude::*;
    use std::hash::Hasher;
    let mut sorted: Vec<&(&Path, &FileFacts)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    // A digest per file, in parallel (this runs between the two parallel phases): the compact
    // encoding of the facts, not their `Debug` text, which cost ten times as much.
    let digests: Vec<u64> = sorted
        .par_iter()
        .map(|(path, facts)| {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            let path = path.as_os_str().as_encoded_bytes();
            hasher.write_usize(path.len());
            hasher.write(path);
            match postcard::to_stdvec(facts) {
                Ok(encoded) => hasher.write(&encoded),
                Err(_) => hasher.write(format!("{facts:?}").as_bytes()),
            }
            hasher.finish()
        })
        .collect();
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for digest in digests {
        hasher.write_u64(digest);
    }
    let mut dialects: Vec<_> = dialects.iter().collect();
    dialects.sort_by(|a, b| a.0.cmp(b.0));
    hasher.write(format!("{dialects:?}").as_bytes());
    hasher.finish()
}

/// What the project tells of a table a foreign key names.
#[derive(Debug)]
pub(crate) enum TableKnowledge<'a> {
    /// No model or `Table` of the project defines it, and nothing could define it unseen.
    Missing,
    /// Defined where the index cannot read it, or its columns are not all known.
    Unknown,
    /// Defined, with these column keys (as `ForeignKey("table.key")` names them) and the models
    /// defining it (none for Core tables).
    Columns { keys: Vec<&'a str>, models: Vec<&'a Model> },
}

/// A class and where it came from, during the merge.
struct Entry<'a> {
    file: usize,
    class: &'a ClassFacts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lineage {
    /// Not (yet) known to descend from a declarative base.
    Plain,
    /// A declarative base class itself (`class Base(DeclarativeBase)`), or an abstract model.
    Base,
    /// A mapped class.
    Mapped,
}

impl ModelIndex {
    pub(crate) fn build(files: &Files<'_>) -> ModelIndex {
        let declared = declared_bases(files);
        let entries: Vec<Entry<'_>> = files
            .iter()
            .enumerate()
            .flat_map(|(file, (_, facts))| {
                facts.classes.iter().chain(&facts.imperative).map(move |class| Entry { file, class })
            })
            .collect();
        let mut classes_by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (id, entry) in entries.iter().enumerate() {
            classes_by_name.entry(entry.class.name.as_str()).or_default().push(id);
        }

        // Resolve each base name of each class to a class entry (or a base marker).
        let resolve_class = |file: usize, dotted: &str| -> Option<usize> {
            resolve(files, &classes_by_name, |id| entries[id].file, file, dotted)
        };
        // Whether a class descends from `SQLModel`, asked in every round of the fixpoint below.
        let sqlmodel_memo: std::cell::RefCell<Vec<Option<bool>>> = std::cell::RefCell::new(vec![None; entries.len()]);
        let is_sqlmodel = |id: usize| -> bool {
            if let Some(Some(known)) = sqlmodel_memo.borrow().get(id) {
                return *known;
            }
            let found = descends_from_sqlmodel(&entries, id, &resolve_class);
            if let Some(slot) = sqlmodel_memo.borrow_mut().get_mut(id) {
                *slot = Some(found);
            }
            found
        };
        // What each base name of each class stands for does not change between the rounds of the
        // fixpoint below: resolved once, in parallel (this runs between the two parallel phases).
        let base_refs: Vec<Vec<BaseRef>> = {
            use rayon::prelude::*;
            entries
                .par_iter()
                .map(|entry| {
                    let bases = entry.class.bases.iter();
                    bases
                        .map(|base| {
                            BaseRef::of(
                                base,
                                || is_declarative_name(files, &declared, entry.file, base),
                                || resolve_class(entry.file, base),
                            )
                        })
                        .collect()
                })
                .collect()
        };
        let mut lineage = vec![Lineage::Plain; entries.len()];
        // Fixpoint: lineage only moves up (Plain → Base/Mapped), so at most `entries.len()` rounds.
        for _ in 0..=entries.len() {
            let mut changed = false;
            for (id, entry) in entries.iter().enumerate() {
                if lineage[id] != Lineage::Plain {
                    continue;
                }
                let class = entry.class;
                let facts = &files[entry.file].1;
                let mut declarative = false;
                let mut is_root = false;
                if facts.imperative.iter().any(|c| std::ptr::eq(c, class)) || class.bases.iter().any(|b| b == "@mapped")
                {
                    declarative = true;
                }
                for base in &base_refs[id] {
                    match *base {
                        BaseRef::DeclarativeRoot => {
                            is_root = true;
                            declarative = true;
                        }
                        BaseRef::SqlModel => declarative |= class.table_keyword,
                        BaseRef::DeclarativeName => declarative = true,
                        // SQLModel: a class is a table only with its own `table=True`, whatever its parents.
                        BaseRef::Class(parent) if is_sqlmodel(parent) => declarative |= class.table_keyword,
                        BaseRef::Class(parent) => declarative |= lineage[parent] != Lineage::Plain,
                        BaseRef::Unknown => {}
                    }
                }
                // A literal `__tablename__` with column or relationship definitions is a mapped
                // class whatever its base: the base may come from a package outside the project
                // (Flask-AppBuilder's `Model`, a company-wide declarative base).
                if !declarative
                    && class.tablename.as_deref().is_some_and(|t| !t.is_empty())
                    && (class.columns.iter().any(|c| !c.plain_default) || !class.relationships.is_empty())
                    && !class.bases.is_empty()
                {
                    declarative = true;
                }
                if !declarative {
                    continue;
                }
                // A direct `DeclarativeBase` subclass is the base itself, never mapped, whatever it declares.
                let base_like = class.is_abstract
                    || is_root
                    || files[entry.file]
                        .1
                        .bases
                        .iter()
                        .any(|b| b.name == class.name && b.kind == BaseKind::Declarative);
                lineage[id] = if base_like { Lineage::Base } else { Lineage::Mapped };
                changed = true;
            }
            if !changed {
                break;
            }
        }

        let mut index = ModelIndex::default();
        for (id, entry) in entries.iter().enumerate() {
            if lineage[id] != Lineage::Mapped {
                continue;
            }
            let (mut columns, relationships) = inherited(&entries, id, &resolve_class);
            if !is_sqlmodel(id) {
                columns.retain(|c| !c.plain_default);
            }
            let facts = &files[entry.file];
            let (complete, root) = ancestry(files, &declared, &entries, &lineage, id, &resolve_class);
            let class = entry.class;
            let parents = inherited_classes(&entries, id, &resolve_class);
            let any_parent = |f: fn(&ClassFacts) -> bool| parents.iter().any(|p| f(entries[*p].class));
            // A base's `def __tablename__` names the tables of subclasses that do not name their own.
            let tablename = entry.class.tablename.clone().or_else(|| {
                parents.iter().any(|p| entries[*p].class.tablename.as_deref() == Some("")).then(String::new)
            });
            index.models.push(Model {
                name: entry.class.name.clone(),
                module: facts.1.module.clone(),
                path: facts.0.to_path_buf(),
                line: entry.class.line,
                tablename,
                columns,
                relationships,
                complete,
                root: entries[root].class.name.clone(),
                has_table: class.has_table || any_parent(|c| c.has_table),
                primary_key_elsewhere: class.primary_key_elsewhere || any_parent(|c| c.primary_key_elsewhere),
                table_args_indexes: std::iter::once(class)
                    .chain(parents.iter().map(|p| entries[*p].class))
                    .map(|c| c.table_args_indexes.clone())
                    .collect::<Option<Vec<Vec<String>>>>()
                    .map(|all| all.concat()),
                table_args_members: std::iter::once(class)
                    .chain(parents.iter().map(|p| entries[*p].class))
                    .flat_map(|c| c.table_args_members.iter().cloned())
                    .collect(),
            });
        }
        index.models.sort_by(|a, b| (&a.module, &a.name, a.line).cmp(&(&b.module, &b.name, b.line)));
        index.eager_mentions = files.iter().flat_map(|(_, f)| f.eager_mentions.iter().cloned()).collect();
        // Most of these names repeat across files (every module imports the same few): a copy
        // only for the first of each.
        let names = files.iter().flat_map(|(_, f)| {
            let imported =
                f.imports.iter().flat_map(|i| [i.local.as_str(), i.target.rsplit('.').next().unwrap_or(&i.target)]);
            f.defined_names.iter().map(String::as_str).chain(imported)
        });
        for name in names {
            if !index.known_names.contains(name) {
                index.known_names.insert(name.to_string());
            }
        }
        index.late_attributes = files.iter().flat_map(|(_, f)| f.late_attributes.iter().cloned()).collect();
        index.tables = files.iter().flat_map(|(_, f)| f.tables.iter().map(|t| (f.module.clone(), t.clone()))).collect();
        for name in files.iter().flat_map(|(_, f)| &f.table_mentions) {
            match index.table_mentions.get_mut(name) {
                Some(count) => *count += 1,
                None => {
                    index.table_mentions.insert(name.clone(), 1);
                }
            }
        }
        index.unnamed_tables = files.iter().any(|(_, f)| f.unnamed_tables);
        index.modules = files.iter().map(|(_, f)| f.module.clone()).collect();
        index.module_indexes = files.iter().flat_map(|(_, f)| f.module_indexes.iter().cloned()).collect();
        for (path, facts) in files {
            for used in &facts.column_uses {
                let places = index.column_uses.entry((used.model.clone(), used.attribute.clone())).or_default();
                places.push((path.to_path_buf(), used.line));
            }
        }
        index.revisions = files
            .iter()
            .filter_map(|(path, f)| {
                Some(RevisionEntry { path: path.to_path_buf(), module: f.module.clone(), facts: f.revision.clone()? })
            })
            .collect();
        for (i, entry) in index.revisions.iter().enumerate() {
            let folder = revision_folder(&entry.path);
            let graph = index.revision_folders.entry(folder.clone()).or_default();
            graph.members.push(i);
            // A duplicate id maps to the later file (SA705 reports the twins).
            graph.by_id.extend(entry.facts.revision.clone().map(|id| (id, i)));
            for down in entry.facts.down.iter().flatten() {
                graph.children.entry(down.clone()).or_default().push(i);
            }
            index.revision_modules.entry(entry.module.clone()).or_default().push(i);
            index.revision_ids.extend(entry.facts.revision.clone());
            index.revision_labels.extend(entry.facts.branch_labels.iter().cloned());
            if let std::collections::hash_map::Entry::Vacant(slot) = index.environment_dialects.entry(folder) {
                let dialect = crate::alembic::environment_dialect(slot.key());
                slot.insert(dialect);
            }
        }
        for folder in index.revision_folders.values_mut() {
            let revisions = &index.revisions;
            let downs = |id: &str| {
                let entry = folder.by_id.get(id).and_then(|i| revisions.get(*i));
                entry.and_then(|e| e.facts.down.as_ref()).map_or(&[][..], Vec::as_slice)
            };
            folder.on_cycles = ids_on_cycles(folder.by_id.keys().map(String::as_str), downs);
        }
        index.session_factories = files
            .iter()
            .flat_map(|(_, f)| f.session_factories.iter().map(|name| (f.module.clone(), name.clone())))
            .collect();
        index.session_registries = files
            .iter()
            .flat_map(|(_, f)| f.session_registries.iter().map(|name| (f.module.clone(), name.clone())))
            .collect();
        index.reindex();
        index.infer_directions();
        index.add_backrefs();
        index.fingerprint = fingerprint(files, &index.environment_dialects);
        index
    }

    /// Collection or scalar, for relationships that do not say (no `Mapped[...]`, no `uselist=`):
    /// as SQLAlchemy decides it, from the foreign keys. This side holding a key to the target's
    /// table is many-to-one (scalar); the target holding a key to this side's table is
    /// one-to-many (a collection). Both or neither: unknown.
    fn infer_directions(&mut self) {
        let mut updates: Vec<(usize, usize, bool)> = Vec::new();
        for (model_id, model) in self.models.iter().enumerate() {
            for (rel_id, rel) in model.relationships.iter().enumerate() {
                if rel.collection.is_some() || rel.secondary {
                    continue;
                }
                let Some(target) = rel.target.as_deref().and_then(|t| self.unique(t)).and_then(|id| self.get(id))
                else {
                    continue;
                };
                let points_to = |from: &Model, to: &Model| from.foreign_keys_to(to).next().is_some();
                // Self-referential (the key lives in the target's own table, as with an adjacency
                // list or a subclass of it): the direction depends on `remote_side`, so stay unknown.
                let self_referential = model.foreign_keys_to(target).chain(target.foreign_keys_to(model)).any(|c| {
                    target
                        .column(&c.name)
                        .zip(model.column(&c.name))
                        .is_some_and(|(a, b)| a.foreign_key == b.foreign_key)
                });
                if self_referential {
                    continue;
                }
                match (points_to(model, target), points_to(target, model)) {
                    (true, false) => updates.push((model_id, rel_id, false)),
                    (false, true) => updates.push((model_id, rel_id, true)),
                    _ => {}
                }
            }
        }
        for (model, rel, collection) in updates {
            self.models[model].relationships[rel].collection = Some(collection);
        }
    }

    fn reindex(&mut self) {
        self.by_name.clear();
        for (id, model) in self.models.iter().enumerate() {
            self.by_name.entry(model.name.clone()).or_default().push(id);
        }
    }

    /// `backref="x"` on `A.rel -> B` creates `B.x -> A`, lazy unless `backref("x", lazy=...)` says otherwise.
    fn add_backrefs(&mut self) {
        let mut additions: Vec<(usize, Relationship)> = Vec::new();
        for model in &self.models {
            for rel in &model.relationships {
                let Some(backref) = &rel.backref else { continue };
                // Unique by name, or the one in the declaring module (duplicate names are common in big projects).
                let Some(target_id) = self.target_id(model, rel) else { continue };
                additions.push((
                    target_id,
                    Relationship {
                        name: backref.clone(),
                        target: Some(model.name.clone()),
                        // Many-to-many stays a collection; the reverse of one-to-many is a scalar;
                        // the reverse of a scalar may be either (one-to-one or one-to-many): unknown.
                        collection: if rel.secondary {
                            Some(true)
                        } else {
                            rel.collection.filter(|c| *c).map(|_| false)
                        },
                        lazy: rel.backref_lazy.clone().unwrap_or(LoadStrategy::Select),
                        back_populates: Some(rel.name.clone()),
                        backref: None,
                        from_backref: true,
                        line: rel.line,
                        secondary: rel.secondary,
                        backref_lazy: None,
                        cascade: None,
                        join_configured: rel.join_configured,
                        remote_side: rel.remote_side,
                        independent: rel.independent,
                    },
                ));
            }
        }
        for (target, rel) in additions {
            let model = &mut self.models[target];
            if model.relationship(&rel.name).is_none() {
                model.relationships.push(rel);
            }
        }
    }

    /// The model named `name` when exactly one mapped class has that name.
    pub(crate) fn unique(&self, name: &str) -> Option<usize> {
        super::deps::note(|| super::deps::Dep::Name(name.to_string()));
        match self.by_name.get(name).map(Vec::as_slice) {
            Some([only]) => Some(*only),
            _ => None,
        }
    }

    /// The model a relationship points at: unique by name, else the one in the module that
    /// declares the relationship; ambiguous names resolve to nothing.
    pub(crate) fn target(&self, owner: &Model, rel: &Relationship) -> Option<&Model> {
        self.target_id(owner, rel).and_then(|id| self.models.get(id))
    }

    fn target_id(&self, owner: &Model, rel: &Relationship) -> Option<usize> {
        let name = rel.target.as_deref()?;
        super::deps::note(|| super::deps::Dep::Name(name.to_string()));
        let ids = self.by_name.get(name)?;
        if let [only] = ids.as_slice() {
            return Some(*only);
        }
        let mut same_module = ids.iter().copied().filter(|id| self.models[*id].module == owner.module);
        match (same_module.next(), same_module.next()) {
            (Some(id), None) => Some(id),
            _ => None,
        }
    }

    /// Resolves a class name as seen from a module: unique name, else through its imports.
    pub(crate) fn lookup(&self, name: &str, from: &FileFacts) -> Option<&Model> {
        super::deps::note(|| super::deps::Dep::Name(name.to_string()));
        let ids = self.by_name.get(name)?;
        if let [only] = ids.as_slice() {
            return self.models.get(*only);
        }
        // Same module first, then the module the name was imported from.
        if let Some(model) = ids.iter().map(|id| &self.models[*id]).find(|m| m.module == from.module) {
            return Some(model);
        }
        let import = from.imports.iter().find(|i| i.local == name)?;
        let target = import.target.rsplit('.').next().unwrap_or(&import.target);
        let mut matching =
            ids.iter().map(|id| &self.models[*id]).filter(|m| qualifies(&m.module, target, &import.target));
        // Two candidates matching the import by suffix: ambiguous, stay silent.
        match (matching.next(), matching.next()) {
            (Some(model), None) => Some(model),
            _ => None,
        }
    }

    /// Does some query in the project load `model.relationship` with a loader option?
    pub(crate) fn eager_somewhere(&self, model: &str, relationship: &str) -> bool {
        super::deps::note(|| super::deps::Dep::Eager(model.to_string(), relationship.to_string()));
        self.eager_mentions.contains(&(model.to_string(), relationship.to_string()))
    }

    /// Is `local`, as seen from a module, a session factory or registry defined in the project
    /// (`from app.db import SessionLocal`)? Only through an import that names its module.
    pub(crate) fn is_session_factory(&self, local: &str, from: &FileFacts) -> bool {
        super::deps::note(|| super::deps::Dep::SessionFactories);
        if from.session_factories.iter().any(|name| name == local) {
            return true;
        }
        Self::imported_from(&self.session_factories, local, from)
    }

    /// Is `local`, as seen from a module, a `scoped_session(...)` registry of the project?
    pub(crate) fn is_session_registry(&self, local: &str, from: &FileFacts) -> bool {
        super::deps::note(|| super::deps::Dep::SessionFactories);
        from.session_registries.iter().any(|name| name == local)
            || Self::imported_from(&self.session_registries, local, from)
    }

    /// Does `local` name, through an import of `from`, one of the `(module, name)` definitions?
    fn imported_from(defined: &std::collections::HashSet<(String, String)>, local: &str, from: &FileFacts) -> bool {
        let Some(import) = from.imports.iter().find(|i| i.local == local) else {
            return false;
        };
        let name = import.target.rsplit('.').next().unwrap_or(&import.target);
        defined.iter().any(|(module, factory)| factory == name && qualifies(module, name, &import.target))
    }

    pub(crate) fn get(&self, id: usize) -> Option<&Model> {
        let model = self.models.get(id);
        super::deps::note(|| super::deps::Dep::Name(model.map(|m| m.name.clone()).unwrap_or_default()));
        model
    }

    /// Every mapped model.
    pub(crate) fn models(&self) -> &[Model] {
        super::deps::note(|| super::deps::Dep::AllModels);
        &self.models
    }

    /// Every Alembic revision file of the project.
    pub(crate) fn revisions(&self) -> &[RevisionEntry] {
        super::deps::note(|| super::deps::Dep::Revisions);
        &self.revisions
    }

    /// The revision files in the folder of the file at `path`, and their graph.
    pub(crate) fn revision_graph_of(&self, path: &Path) -> FolderGraph<'_> {
        super::deps::note(|| super::deps::Dep::Revisions);
        FolderGraph { revisions: &self.revisions, folder: self.revision_folders.get(&revision_folder(path)) }
    }

    /// The revision files of module `module`, in project order.
    pub(crate) fn revisions_of_module(&self, module: &str) -> Vec<&RevisionEntry> {
        super::deps::note(|| super::deps::Dep::Revisions);
        let indices = self.revision_modules.get(module).map_or(&[][..], Vec::as_slice);
        indices.iter().filter_map(|i| self.revisions.get(*i)).collect()
    }

    /// Does some revision file of the project declare revision id `id`?
    pub(crate) fn declares_revision(&self, id: &str) -> bool {
        super::deps::note(|| super::deps::Dep::Revisions);
        self.revision_ids.contains(id)
    }

    /// Does some revision file of the project declare branch label `label`?
    pub(crate) fn declares_branch_label(&self, label: &str) -> bool {
        super::deps::note(|| super::deps::Dep::Revisions);
        self.revision_labels.contains(label)
    }

    /// Core tables of the project, with the module defining each.
    pub(crate) fn tables(&self) -> &[(String, CoreTable)] {
        super::deps::note(|| super::deps::Dep::Index);
        &self.tables
    }

    /// See [`fingerprint`].
    pub(crate) fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The session factories and registries, in a stable order (for the cache's answers).
    pub(crate) fn session_factories(&self) -> Vec<&(String, String)> {
        let mut all: Vec<_> = self.session_factories.iter().chain(&self.session_registries).collect();
        all.sort_unstable();
        all
    }

    /// Mapped models named `name` (any module).
    pub(crate) fn named(&self, name: &str) -> impl Iterator<Item = &Model> + '_ {
        super::deps::note(|| super::deps::Dep::Name(name.to_string()));
        self.by_name.get(name).into_iter().flatten().filter_map(|id| self.models.get(*id))
    }

    /// Is `name` a class defined or a name imported anywhere in the project?
    pub(crate) fn is_known_name(&self, name: &str) -> bool {
        super::deps::note(|| super::deps::Dep::Known(name.to_string()));
        self.known_names.contains(name)
    }

    /// What the project defines as table `name` (unqualified): models whose literal or generated
    /// (Flask-SQLAlchemy, SQLModel) table name it is, and Core `Table`s.
    pub(crate) fn table(&self, name: &str) -> TableKnowledge<'_> {
        super::deps::note(|| super::deps::Dep::Index);
        let models: Vec<&Model> = self
            .models
            .iter()
            .filter(|m| !m.has_table && m.tablename.as_deref().is_none_or(|t| !t.is_empty()) && m.is_table(name))
            .collect();
        let tables: Vec<&CoreTable> = self.tables.iter().map(|(_, t)| t).filter(|t| t.name == name).collect();
        if models.is_empty() && tables.is_empty() {
            // A computed `__tablename__` (`cls.__name__.lower()`, a snake-cased plural...) is
            // almost always derived from the class name: such a class may be this table.
            let normal = |s: &str| s.replace('_', "").to_lowercase();
            let wanted = normal(name);
            let computed = self.models.iter().filter(|m| m.tablename.as_deref() == Some("")).any(|m| {
                let class = normal(&m.name);
                wanted.starts_with(&class) || class.starts_with(&wanted) || wanted.contains(&class)
            });
            let unseen = self.unnamed_tables || computed || self.table_mentions.contains_key(name);
            return if unseen { TableKnowledge::Unknown } else { TableKnowledge::Missing };
        }
        // One definition only: two tables of that name (other apps, other metadata, test
        // fixtures), or a mention the index did not read as one (a function-local `Table`),
        // make it unknown which one the key means.
        let literal = models.iter().filter(|m| m.tablename.is_some()).count() + tables.len();
        if models.len() + tables.len() != 1 || self.table_mentions.get(name).copied().unwrap_or(0) > literal {
            return TableKnowledge::Unknown;
        }
        let models_known = models.iter().all(|m| {
            // A column may come from a base the index cannot see, or be added after the class body.
            m.complete && !self.late_attributes.iter().any(|(class, _)| *class == m.name)
        });
        if !models_known || tables.iter().any(|t| !t.complete) {
            return TableKnowledge::Unknown;
        }
        let keys = models
            .iter()
            .flat_map(|m| m.columns.iter().map(|c| c.db_name.as_deref().unwrap_or(&c.name)))
            .chain(tables.iter().flat_map(|t| t.columns.iter().map(String::as_str)))
            .collect();
        TableKnowledge::Columns { keys, models }
    }

    /// Where the project's queries filter or sort by `model.attribute`, in path and line order.
    pub(crate) fn column_uses(&self, model: &str, attribute: &str) -> Vec<&(PathBuf, usize)> {
        super::deps::note(|| super::deps::Dep::Index);
        let mut places: Vec<&(PathBuf, usize)> = self
            .column_uses
            .get(&(model.to_string(), attribute.to_string()))
            .map(|p| p.iter().collect())
            .unwrap_or_default();
        places.sort();
        places.dedup();
        places
    }

    /// Does a module-level `Index(...)` start with `owner.column`?
    pub(crate) fn has_module_index(&self, owner: &str, column: &str) -> bool {
        super::deps::note(|| super::deps::Dep::Index);
        self.module_indexes.contains(&(owner.to_string(), column.to_string()))
    }

    /// The database the revision file at `path` migrates: the configured dialect, else its environment's.
    pub(crate) fn revision_dialect(&self, path: &std::path::Path) -> Option<crate::alembic::Dialect> {
        super::deps::note(|| super::deps::Dep::Index);
        self.migration_dialect.or_else(|| {
            let folder = crate::walk::absolute(path).parent().map(|p| p.to_path_buf()).unwrap_or_default();
            self.environment_dialects.get(&folder).copied().flatten()
        })
    }

    /// Is `target` (an import target such as `app.db.metadata`) something a module of the project defines?
    pub(crate) fn defines_import(&self, target: &str) -> bool {
        super::deps::note(|| super::deps::Dep::Index);
        let Some((module, name)) = target.rsplit_once('.') else { return false };
        self.modules.iter().any(|m| qualifies(m, name, target) || m == module || m.ends_with(&format!(".{module}")))
    }

    /// Is `class.attribute` assigned somewhere at module level, after the class body?
    pub(crate) fn has_late_attribute(&self, class: &str, attribute: &str) -> bool {
        super::deps::note(|| super::deps::Dep::Late(class.to_string(), attribute.to_string()));
        self.late_attributes.contains(&(class.to_string(), attribute.to_string()))
    }
}

/// Every `(name, kind)` of a base some file defines (asked for each base class of each class).
type DeclaredBases<'a> = std::collections::HashSet<(&'a str, BaseKind)>;

fn declared_bases<'a>(files: &Files<'a>) -> DeclaredBases<'a> {
    files.iter().flat_map(|(_, f)| f.bases.iter().map(|b| (b.name.as_str(), b.kind))).collect()
}

/// Is `dotted` (as written in `file`) a declarative base name: `Base` from `declarative_base()`,
/// `db.Model` of a `SQLAlchemy()` handle, or `Model = db.Model` — here or imported?
fn is_declarative_name(files: &Files<'_>, bases: &DeclaredBases<'_>, file: usize, dotted: &str) -> bool {
    let facts = &files[file].1;
    let (head, last) = match dotted.rsplit_once('.') {
        Some((head, last)) => (Some(head), last),
        None => (None, dotted),
    };
    let defines =
        |facts: &FileFacts, name: &str, kind: BaseKind| facts.bases.iter().any(|b| b.name == name && b.kind == kind);
    let anywhere = |name: &str, kind: BaseKind| bases.contains(&(name, kind));
    match head {
        // `db.Model`, `models.Base`
        Some(head) if last == "Model" => {
            let handle = head.rsplit('.').next().unwrap_or(head);
            defines(facts, handle, BaseKind::FlaskSqlalchemy)
                || facts.imports.iter().any(|i| i.local == handle) && anywhere(handle, BaseKind::FlaskSqlalchemy)
                || handle == "db"
        }
        Some(_) => anywhere(last, BaseKind::Declarative),
        None => {
            defines(facts, last, BaseKind::Declarative)
                || facts.imports.iter().any(|i| {
                    i.local == last && {
                        let original = i.target.rsplit('.').next().unwrap_or(&i.target);
                        anywhere(original, BaseKind::Declarative)
                    }
                })
        }
    }
}

/// The revision files of one version folder, and their graph.
#[derive(Debug, Default)]
struct RevisionFolder {
    /// Indices into [`ModelIndex::revisions`], in project order.
    members: Vec<usize>,
    /// Revision id → the (last) member declaring it.
    by_id: HashMap<String, usize>,
    /// Revision id → the members naming it in `down_revision`, in project order.
    children: HashMap<String, Vec<usize>>,
    /// The ids from which following `down_revision`s leads back to the id (SA705's cycles).
    on_cycles: std::collections::HashSet<String>,
}

/// The ids among `ids` that lie on a cycle of the graph whose edges go from an id to its
/// `downs` (Tarjan's strongly connected components, iterative: histories are long).
/// Computed once per version folder, so that SA705 walks the history for a cycle path only
/// from the revisions known to be on one.
pub(crate) fn ids_on_cycles<'a, 'd>(
    ids: impl Iterator<Item = &'a str>,
    downs: impl Fn(&str) -> &'d [String],
) -> std::collections::HashSet<String> {
    let ids: Vec<&str> = ids.collect();
    let number: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let edges: Vec<Vec<usize>> =
        ids.iter().map(|id| downs(id).iter().filter_map(|d| number.get(d.as_str()).copied()).collect()).collect();
    let unvisited = usize::MAX;
    let (mut order, mut low, mut on_stack) = (vec![unvisited; ids.len()], vec![0; ids.len()], vec![false; ids.len()]);
    let (mut stack, mut next_order, mut found) = (Vec::new(), 0, std::collections::HashSet::new());
    for root in 0..ids.len() {
        if order[root] != unvisited {
            continue;
        }
        // (node, index of its next edge to follow)
        let mut work = vec![(root, 0)];
        order[root] = next_order;
        low[root] = next_order;
        next_order += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, edge)) = work.last() {
            if let Some(&w) = edges[v].get(edge) {
                if let Some(top) = work.last_mut() {
                    top.1 += 1;
                }
                if order[w] == unvisited {
                    order[w] = next_order;
                    low[w] = next_order;
                    next_order += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || edges[v].contains(&v) {
                    found.extend(component.into_iter().map(|w| ids[w].to_string()));
                }
            }
        }
    }
    found
}

/// One version folder's revision graph, read from the index (see [`ModelIndex::revision_graph_of`]).
pub(crate) struct FolderGraph<'a> {
    revisions: &'a [RevisionEntry],
    folder: Option<&'a RevisionFolder>,
}

impl<'a> FolderGraph<'a> {
    /// The revision files of the folder, in project order.
    pub(crate) fn members(&self) -> impl Iterator<Item = &'a RevisionEntry> + use<'a> {
        let revisions = self.revisions;
        let members = self.folder.map_or(&[][..], |f| f.members.as_slice());
        members.iter().filter_map(move |i| revisions.get(*i))
    }

    /// The revision file of the folder declaring `id` (the last one, if several do).
    pub(crate) fn revision(&self, id: &str) -> Option<&'a RevisionEntry> {
        self.folder?.by_id.get(id).and_then(|i| self.revisions.get(*i))
    }

    /// Does following `down_revision`s from `id` lead back to `id`?
    pub(crate) fn on_cycle(&self, id: &str) -> bool {
        self.folder.is_some_and(|f| f.on_cycles.contains(id))
    }

    /// The revision files of the folder whose `down_revision` names `id`, in project order.
    pub(crate) fn children(&self, id: &str) -> impl Iterator<Item = &'a RevisionEntry> + use<'a> {
        let revisions = self.revisions;
        let found = self.folder.and_then(|f| f.children.get(id)).map_or(&[][..], Vec::as_slice);
        found.iter().filter_map(move |i| revisions.get(*i))
    }
}

/// What a base name written in a class statement stands for, as the lineage fixpoint of
/// [`ModelIndex::build`] reads it.
#[derive(Clone, Copy)]
enum BaseRef {
    /// `DeclarativeBase` or `DeclarativeBaseNoMeta`.
    DeclarativeRoot,
    SqlModel,
    /// A declarative base the project declares (`Base = declarative_base()`, `db.Model`).
    DeclarativeName,
    /// A class entry of the project.
    Class(usize),
    Unknown,
}

impl BaseRef {
    /// Checks in this order, the first that holds wins: the name's last part, then
    /// `declarative_name`, then `class`.
    fn of(dotted: &str, declarative_name: impl FnOnce() -> bool, class: impl FnOnce() -> Option<usize>) -> Self {
        match dotted.rsplit('.').next().unwrap_or(dotted) {
            "DeclarativeBase" | "DeclarativeBaseNoMeta" => BaseRef::DeclarativeRoot,
            "SQLModel" => BaseRef::SqlModel,
            _ if declarative_name() => BaseRef::DeclarativeName,
            _ => class().map_or(BaseRef::Unknown, BaseRef::Class),
        }
    }
}

/// Resolves a base class name written in `file` to a class entry.
fn resolve(
    files: &Files<'_>,
    by_name: &HashMap<&str, Vec<usize>>,
    file_of: impl Fn(usize) -> usize,
    file: usize,
    dotted: &str,
) -> Option<usize> {
    let facts = &files[file].1;
    let last = dotted.rsplit('.').next().unwrap_or(dotted);
    // An import alias may rename the class: `from .base import Base as B`.
    let (name, import) = match facts.imports.iter().find(|i| i.local == last) {
        Some(import) => (import.target.rsplit('.').next().unwrap_or(last), Some(import)),
        None => (last, None),
    };
    let candidates = by_name.get(name)?;
    if let [only] = candidates.as_slice() {
        return Some(*only);
    }
    if let Some(same) = candidates.iter().find(|id| file_of(**id) == file) {
        return Some(*same);
    }
    let import = import?;
    let mut matching =
        candidates.iter().copied().filter(|id| qualifies(&files[file_of(*id)].1.module, name, &import.target));
    match (matching.next(), matching.next()) {
        (Some(id), None) => Some(id),
        _ => None,
    }
}

/// Does `module.name` answer the import target `target`? Exactly, or by suffix: module names
/// come from paths relative to the project root (`src.app.models`) while code imports them
/// as its packages see them (`app.models`).
pub(crate) fn qualifies(module: &str, name: &str, target: &str) -> bool {
    // `module.name` is `target`, or ends with `.target`, read without building either string.
    match target.strip_suffix(name) {
        None => false,
        // `name` alone: `module.name` ends with `.name` (or is `name`).
        Some("") => true,
        // `head.` must be `module.` or a dotted suffix of it.
        Some(head) => head.strip_suffix('.').is_some_and(|head| {
            module.strip_suffix(head).is_some_and(|rest| (rest.is_empty() && !module.is_empty()) || rest.ends_with('.'))
        }),
    }
}

/// Base names that end a class's ancestry without hiding attributes from the index.
const KNOWN_ROOTS: &[&str] = &[
    "DeclarativeBase",
    "DeclarativeBaseNoMeta",
    "SQLModel",
    "MappedAsDataclass",
    "AsyncAttrs",
    "Generic",
    "object",
    "ABC",
    "Protocol",
    "@mapped",
];

/// Is every base of the class (transitively) known — a project class, a declarative base name
/// that is not built on a custom class, or one of [`KNOWN_ROOTS`]? And the entry of its
/// topmost mapped ancestor.
fn ancestry(
    files: &Files<'_>,
    declared: &DeclaredBases<'_>,
    entries: &[Entry<'_>],
    lineage: &[Lineage],
    id: usize,
    resolve_class: &impl Fn(usize, &str) -> Option<usize>,
) -> (bool, usize) {
    let mut complete = true;
    let mut queue = vec![id];
    let mut seen = vec![id];
    while let Some(current) = queue.pop() {
        let entry = &entries[current];
        complete &= !entry.class.dynamic_body;
        for base in &entry.class.bases {
            let last = base.rsplit('.').next().unwrap_or(base);
            if KNOWN_ROOTS.contains(&last) {
                continue;
            }
            if let Some(parent) = resolve_class(entry.file, base) {
                if !seen.contains(&parent) && seen.len() < 256 {
                    seen.push(parent);
                    queue.push(parent);
                }
            } else if is_declarative_name(files, declared, entry.file, base) {
                let handle = if last == "Model" { base.rsplit('.').nth(1).unwrap_or(last) } else { last };
                complete &= !files.iter().any(|(_, f)| f.opaque_bases.iter().any(|b| b == handle));
            } else {
                complete = false;
            }
        }
    }
    // The topmost mapped ancestor: follow mapped parents up.
    let mut root = id;
    for _ in 0..256 {
        let entry = &entries[root];
        let parent = entry
            .class
            .bases
            .iter()
            .filter_map(|b| resolve_class(entry.file, b))
            .find(|p| *p != root && lineage[*p] == Lineage::Mapped);
        match parent {
            Some(parent) => root = parent,
            None => break,
        }
    }
    (complete, root)
}

/// Every class a class inherits from (transitively, resolvable ones only), itself excluded.
fn inherited_classes(
    entries: &[Entry<'_>],
    id: usize,
    resolve_class: &impl Fn(usize, &str) -> Option<usize>,
) -> Vec<usize> {
    let mut queue = vec![id];
    let mut seen = vec![id];
    while let Some(current) = queue.pop() {
        for base in &entries[current].class.bases {
            if let Some(parent) = resolve_class(entries[current].file, base) {
                if !seen.contains(&parent) && seen.len() < 256 {
                    seen.push(parent);
                    queue.push(parent);
                }
            }
        }
    }
    seen.remove(0);
    seen
}

fn descends_from_sqlmodel(
    entries: &[Entry<'_>],
    id: usize,
    resolve_class: &impl Fn(usize, &str) -> Option<usize>,
) -> bool {
    let mut queue = vec![id];
    let mut seen = vec![id];
    while let Some(current) = queue.pop() {
        let class = entries[current].class;
        if class.bases.iter().any(|b| b.rsplit('.').next() == Some("SQLModel")) {
            return true;
        }
        for base in &class.bases {
            if let Some(parent) = resolve_class(entries[current].file, base) {
                if !seen.contains(&parent) && seen.len() < 256 {
                    seen.push(parent);
                    queue.push(parent);
                }
            }
        }
    }
    false
}

/// Columns and relationships of a class including those of its bases (mixins
/// and parents), nearest definition first; cycles and depth are bounded.
fn inherited(
    entries: &[Entry<'_>],
    id: usize,
    resolve_class: &impl Fn(usize, &str) -> Option<usize>,
) -> (Vec<Column>, Vec<Relationship>) {
    let mut columns: Vec<Column> = Vec::new();
    let mut relationships: Vec<Relationship> = Vec::new();
    let mut queue = vec![id];
    let mut seen = vec![id];
    while let Some(current) = queue.first().copied() {
        queue.remove(0);
        let class = entries[current].class;
        for column in &class.columns {
            if !columns.iter().any(|c| c.name == column.name) && !relationships.iter().any(|r| r.name == column.name) {
                columns.push(column.clone());
            }
        }
        for rel in &class.relationships {
            if !relationships.iter().any(|r| r.name == rel.name) && !columns.iter().any(|c| c.name == rel.name) {
                relationships.push(rel.clone());
            }
        }
        for base in &class.bases {
            if let Some(parent) = resolve_class(entries[current].file, base) {
                if !seen.contains(&parent) && seen.len() < 256 {
                    seen.push(parent);
                    queue.push(parent);
                }
            }
        }
    }
    (columns, relationships)
}

/// The folder of a revision file, absolute and normalised: its Alembic version folder.
pub(crate) fn revision_folder(path: &Path) -> PathBuf {
    crate::walk::absolute(path).parent().map(Path::to_path_buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::extract::extract;

    fn project(files: &[(&str, &str)]) -> ModelIndex {
        let facts: Vec<(PathBuf, FileFacts)> = files
            .iter()
            .map(|(path, src)| {
                let tree = crate::engine::parse(src).expect("parses");
                let module = crate::index::module_name(std::path::Path::new(path));
                let facts = extract(tree.root_node(), src, &module, path.ends_with("__init__.py"));
                (PathBuf::from(path), facts)
            })
            .collect();
        let files: Vec<(&Path, &FileFacts)> = facts.iter().map(|(path, facts)| (path.as_path(), facts)).collect();
        ModelIndex::build(&files)
    }

    #[test]
    fn qualifies_is_the_dotted_name_or_a_dotted_suffix_of_it() {
        let written = |module: &str, name: &str, target: &str| {
            let full = if module.is_empty() { name.to_string() } else { format!("{module}.{name}") };
            full == target || full.ends_with(&format!(".{target}"))
        };
        // Names are identifiers; modules and targets any dotted text.
        let parts = ["", "a", "b", "ab", ".", "a.", ".a", "a.b", "b.a", "a.a", "..", "a..b"];
        for module in parts {
            for name in ["a", "b", "ab"] {
                for target in parts.iter().flat_map(|h| parts.iter().map(move |t| format!("{h}{t}"))) {
                    assert_eq!(
                        qualifies(module, name, &target),
                        written(module, name, &target),
                        "{module:?} {name:?} {target:?}"
                    );
                }
            }
        }
    }

    fn rel<'a>(index: &'a ModelIndex, model: &str, name: &str) -> &'a Relationship {
        let id = index.unique(model).unwrap_or_else(|| panic!("no model {model}: {:#?}", index.models));
        index.get(id).and_then(|m| m.relationship(name)).unwrap_or_else(|| panic!("no {model}.{name}"))
    }

    #[test]
    fn styles_across_files() {
        let index = project(&[
            (
                "app/db.py",
                "from sqlalchemy.orm import DeclarativeBase\nclass Base(DeclarativeBase):\n    pass\n",
            ),
            (
                "app/mixins.py",
                "from sqlalchemy.orm import declared_attr, relationship\nclass OwnedMixin:\n    owner_id = Column(ForeignKey('users.id'))\n    @declared_attr\n    def owner(cls):\n        return relationship('User')\n",
            ),
            (
                "app/models.py",
                r#"from .db import Base
from .mixins import OwnedMixin
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    posts: Mapped[list["Post"]] = relationship(back_populates="author")
    notes: DynamicMapped["Note"] = relationship()
    groups = relationship("Group", secondary=assoc, backref="members")
class Post(OwnedMixin, Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    author_id = Column(ForeignKey("users.id"), index=True)
    author: Mapped["User"] = relationship(back_populates="posts", lazy="joined")
    tags = relationship("Tag", lazy="selectin", backref=backref("post", lazy="raise"))
class Abstract(Base):
    __abstract__ = True
class Concrete(Abstract):
    __tablename__ = "concrete"
    id = Column(Integer, primary_key=True)
class Group(Base):
    __tablename__ = "groups"
    id = Column(Integer, primary_key=True)
class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
class Note(Base):
    __tablename__ = "notes"
    id = Column(Integer, primary_key=True)
class NotAModel:
    x = 1
"#,
            ),
            (
                "flaskapp/__init__.py",
                "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n",
            ),
            (
                "flaskapp/models.py",
                "from . import db\nclass Author(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    books = db.relationship('Book', backref='author', lazy=True)\nclass Book(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n",
            ),
            (
                "sqlm.py",
                "from sqlmodel import SQLModel, Field, Relationship\nclass HeroBase(SQLModel):\n    name: str\nclass Team(SQLModel, table=True):\n    id: int | None = Field(default=None, primary_key=True)\n    heroes: list[\"Hero\"] = Relationship(back_populates=\"team\")\nclass Hero(HeroBase, table=True):\n    id: int | None = Field(default=None, primary_key=True)\n    team_id: int | None = Field(default=None, foreign_key=\"team.id\")\n    team: Team | None = Relationship(back_populates=\"heroes\", sa_relationship_kwargs={\"lazy\": \"selectin\"})\n",
            ),
            (
                "legacy.py",
                "from sqlalchemy.ext.declarative import declarative_base\nLegacyBase = declarative_base()\nclass Order(LegacyBase):\n    __tablename__ = 'orders'\n    id = Column(Integer, primary_key=True)\n    lines = relationship('OrderLine', lazy='immediate')\nclass OrderLine(LegacyBase):\n    __tablename__ = 'order_lines'\n    id = Column(Integer, primary_key=True)\n",
            ),
        ]);
        let names: Vec<&str> = index.models.iter().map(|m| m.name.as_str()).collect();
        for expected in ["User", "Post", "Concrete", "Author", "Book", "Team", "Hero", "Order", "OrderLine"] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        for absent in ["Base", "Abstract", "NotAModel", "OwnedMixin", "HeroBase"] {
            assert!(!names.contains(&absent), "{absent} should not be a model: {names:?}");
        }
        assert_eq!(rel(&index, "User", "posts").lazy, LoadStrategy::Select);
        assert_eq!(rel(&index, "User", "posts").collection, Some(true));
        assert_eq!(rel(&index, "User", "posts").target.as_deref(), Some("Post"));
        assert_eq!(rel(&index, "User", "notes").lazy, LoadStrategy::Dynamic);
        assert_eq!(rel(&index, "Post", "author").lazy, LoadStrategy::Joined);
        assert_eq!(rel(&index, "Post", "author").collection, Some(false));
        // Mixin relationship inherited.
        assert_eq!(rel(&index, "Post", "owner").target.as_deref(), Some("User"));
        // Backrefs create the reverse side, with backref()'s own lazy.
        assert_eq!(rel(&index, "Tag", "post").lazy, LoadStrategy::Raise);
        assert_eq!(rel(&index, "Group", "members").collection, Some(true));
        assert_eq!(rel(&index, "Book", "author").lazy, LoadStrategy::Select);
        assert_eq!(rel(&index, "Book", "author").collection, None);
        assert!(rel(&index, "Author", "books").lazy.queries_per_row());
        assert_eq!(rel(&index, "Hero", "team").lazy, LoadStrategy::Selectin);
        assert_eq!(rel(&index, "Team", "heroes").collection, Some(true));
        assert_eq!(rel(&index, "Order", "lines").lazy, LoadStrategy::Immediate);
        let post = index.get(index.unique("Post").unwrap()).unwrap();
        assert_eq!(post.column("author_id").and_then(|c| c.foreign_key.as_deref()), Some("users.id"));
        assert!(post.column("author_id").unwrap().index);
        assert!(post.column("owner_id").is_some(), "mixin column inherited");
    }

    #[test]
    fn duplicate_names_resolve_through_imports_or_stay_unknown() {
        let index = project(&[
            ("a/base.py", "Base = declarative_base()\n"),
            ("a/models.py", "from a.base import Base\nclass Item(Base):\n    __tablename__ = 'a_items'\n    id = Column(Integer, primary_key=True)\n"),
            ("b/models.py", "from a.base import Base\nclass Item(Base):\n    __tablename__ = 'b_items'\n    id = Column(Integer, primary_key=True)\n"),
            ("c/use.py", "from b.models import Item\n"),
        ]);
        assert_eq!(index.unique("Item"), None);
        let tree = crate::engine::parse("from b.models import Item\n").unwrap();
        let user = extract(tree.root_node(), "from b.models import Item\n", "c.use", false);
        assert_eq!(index.lookup("Item", &user).and_then(|m| m.tablename.as_deref()), Some("b_items"));
        let stranger = FileFacts { module: "d".into(), ..FileFacts::default() };
        assert!(index.lookup("Item", &stranger).is_none());
    }

    #[test]
    fn tables_for_foreign_keys() {
        let models = "Base = declarative_base()\n\
             class A(Base):\n    __tablename__ = 'a_t'\n    id = Column('a_id', Integer, primary_key=True)\n\
             class B(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n\
             core = Table('c_t', metadata, Column('x', Integer, key='cx'), Column('y', Integer))\n\
             loose = Table('d_t', metadata, *columns)\n";
        let index = project(&[("m.py", models), ("t.py", "def f(m):\n    Table('local_t', m)\n")]);
        let keys = |name: &str| match index.table(name) {
            TableKnowledge::Columns { mut keys, .. } => {
                keys.sort();
                Some(keys.join(","))
            }
            _ => None,
        };
        assert_eq!(keys("a_t").as_deref(), Some("a_id"));
        assert_eq!(keys("b").as_deref(), Some("id"));
        assert_eq!(keys("c_t").as_deref(), Some("cx,y"));
        assert!(matches!(index.table("d_t"), TableKnowledge::Unknown));
        assert!(matches!(index.table("local_t"), TableKnowledge::Unknown));
        assert!(matches!(index.table("nowhere"), TableKnowledge::Missing));
        // Whole-database reflection anywhere: any name may exist.
        let reflected = project(&[("m.py", models), ("r.py", "metadata.reflect(bind=engine)\n")]);
        assert!(matches!(reflected.table("nowhere"), TableKnowledge::Unknown));
        // A computed `__tablename__` may produce a name derived from the class.
        let computed = project(&[(
            "m.py",
            "class Base(DeclarativeBase):\n    @declared_attr.directive\n    def __tablename__(cls):\n        return cls.__name__.lower() + 's'\n\
             class Order(Base):\n    id = mapped_column(Integer, primary_key=True)\n",
        )]);
        assert!(matches!(computed.table("orders"), TableKnowledge::Unknown));
        assert!(matches!(computed.table("invoices"), TableKnowledge::Missing));
    }

    #[test]
    fn directions_from_foreign_keys() {
        let index = project(&[(
            "m.py",
            "Base = declarative_base()\n\
             class Room(Base):\n    __tablename__ = 'rooms'\n    __table_args__ = {'schema': 'rb'}\n    id = Column(Integer, primary_key=True)\n\
             class Booking(Base):\n    __tablename__ = 'bookings'\n    id = Column(Integer, primary_key=True)\n\
             \x20   room_id = Column(ForeignKey('rb.rooms.id'))\n    room = relationship('Room', backref='bookings')\n\
             \x20   owner_id = Column(ForeignKey(Owner.id))\n    owner = relationship(Owner)\n\
             class Owner(Base):\n    __tablename__ = 'owners'\n    id = Column(Integer, primary_key=True)\n\
             class Node(Base):\n    __tablename__ = 'nodes'\n    id = Column(Integer, primary_key=True)\n\
             \x20   parent_id = Column(ForeignKey('nodes.id'))\n    children = relationship('Node')\n",
        )]);
        // A schema-qualified key and a class-attribute key both point at their model.
        assert_eq!(rel(&index, "Booking", "room").collection, Some(false));
        assert_eq!(rel(&index, "Booking", "owner").collection, Some(false));
        // Self-referential: the direction depends on `remote_side`, so it stays unknown.
        assert_eq!(rel(&index, "Node", "children").collection, None);
    }
}
