//! The cache, like Ruff's: `.sqlalint_cache/<version>/<key>` holds, per file, the content hash
//! it was linted at, its model-index facts and its findings, so an unchanged file is neither
//! parsed nor linted again. The file's key covers what else changes output: the binary (version
//! and build), the project root, the selected rules and `--no-model-index`; each entry also
//! records the rules enabled for its file (per-file ignores) and its module name.
//!
//! Cross-file (deferred) findings depend on the project model index too: while resolving, the
//! index notes each question a file's checks ask it (`index::deps`), and the entry stores the
//! answers' hashes. On the next run the index is rebuilt from every file's facts (cached or
//! fresh); a file whose questions all get the same answers keeps its findings, any other is
//! linted again. Editing one model file so re-checks exactly the files that read that model.
//!
//! A missing, corrupt, truncated or unreadable cache is ignored (and rebuilt); a failed write is
//! a warning. Writes go to a temporary file renamed into place, so parallel runs never see half
//! a cache: the last one to finish wins.
use std::collections::HashMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::cli::CheckArgs;
use crate::diagnostic::{Applicability, Edit, Fix};
use crate::index::deps::{self, Answers, Dep};
use crate::index::merge::ModelIndex;
use crate::index::FileFacts;
use crate::lint::{self, CheckedFile, FileMessage, Finding, Level, ModuleInfo};
use crate::registry;
use crate::selection::RuleSet;
use crate::settings::Settings;
use crate::source::{Position, SourceFile};

/// First bytes of a cache file; bump when the layout changes.
const MAGIC: &[u8; 8] = b"SQLAC001";

#[derive(Default, Serialize, Deserialize)]
struct Store {
    /// Root-relative path (absolute outside the root) → entry.
    entries: HashMap<String, Entry>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    /// xxh3 of the file's bytes.
    content: u64,
    /// The module the facts were extracted as (`None` with `--no-model-index`).
    module: Option<(String, bool)>,
    facts: FileFacts,
    /// `None` for a file only indexed (outside the checked paths, see `check::build_index`).
    lint: Option<Lint>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Lint {
    /// Hash of the rules enabled for the file.
    rules: u64,
    findings: Vec<CachedFinding>,
    warnings: Vec<String>,
    /// What the file's deferred checks asked the index, with the hashed answers.
    deps: Vec<(Dep, u64)>,
}

#[derive(Clone, Serialize, Deserialize)]
struct CachedFinding {
    code: String,
    range: (usize, usize),
    start: (usize, usize),
    end: (usize, usize),
    utf16: (usize, usize),
    message: String,
    help: Option<String>,
    fix: Option<CachedFix>,
}

#[derive(Clone, Serialize, Deserialize)]
struct CachedFix {
    unsafe_fix: bool,
    title: String,
    /// `(start, end, replacement)`.
    edits: Vec<(usize, usize, String)>,
}

/// Per checked file: how it was found in the cache, and what to store for it.
#[derive(Default)]
pub(crate) struct Slot {
    key: Option<String>,
    content: u64,
    module: Option<(String, bool)>,
    rules: u64,
    /// A cache hit: the stored answers, checked against the new index in [`Cache::resolve`].
    hit: Option<Vec<(Dep, u64)>>,
    /// Store nothing (unreadable file, an error, a bypassed cache).
    skip: bool,
    deps: Vec<(Dep, u64)>,
}

pub(crate) struct Cache {
    /// `None` when the cache is off (`--no-cache`, `--fix`, `--diff`).
    file: Option<PathBuf>,
    root: PathBuf,
    old: Store,
    /// Index-only entries computed this run.
    indexed: Mutex<Vec<(String, Entry)>>,
    quiet: bool,
    /// Files taken from the cache, linted, and linted again for changed models.
    counts: [AtomicUsize; 3],
}

impl Cache {
    /// Opens the cache for this run's settings; never fails (a bad cache reads as empty).
    pub(crate) fn open(settings: &Settings, args: &CheckArgs) -> Cache {
        let enabled = !(args.no_cache || args.fix || args.diff);
        let file = enabled.then(|| {
            let mut key = Xxh3::new();
            key.write(env!("CARGO_PKG_VERSION").as_bytes());
            key.write(&binary_identity().to_le_bytes());
            key.write(settings.root.as_os_str().as_encoded_bytes());
            key.write_u8(u8::from(args.no_model_index));
            key.write_u64(rules_hash(&settings.rules));
            settings.cache_dir.join(env!("CARGO_PKG_VERSION")).join(format!("{:016x}", key.finish()))
        });
        let old = file.as_deref().and_then(read_store).unwrap_or_default();
        Cache {
            file,
            root: settings.root.clone(),
            old,
            indexed: Mutex::new(Vec::new()),
            quiet: args.quiet,
            counts: Default::default(),
        }
    }

    fn key(&self, path: &Path) -> String {
        let absolute = crate::walk::absolute(path);
        let relative = absolute.strip_prefix(&self.root).unwrap_or(&absolute);
        relative.to_string_lossy().into_owned()
    }

    /// Lints one file, or takes its result from the cache. Deferred findings of a hit are
    /// already in; [`Cache::resolve`] checks that they still hold.
    pub(crate) fn check(
        &self,
        path: &Path,
        rules: &RuleSet,
        module: Option<&ModuleInfo>,
        lint: impl FnOnce() -> CheckedFile,
    ) -> (CheckedFile, Slot) {
        if self.file.is_none() {
            return (lint(), Slot { skip: true, ..Slot::default() });
        }
        let Ok(bytes) = std::fs::read(path) else {
            return (lint(), Slot { skip: true, ..Slot::default() });
        };
        let key = self.key(path);
        let slot = Slot {
            content: xxh3_64(&bytes),
            module: module.map(|m| (m.name.clone(), m.is_package)),
            rules: rules_hash(rules),
            key: Some(key),
            ..Slot::default()
        };
        let cached = self
            .old
            .entries
            .get(slot.key.as_deref().unwrap_or_default())
            .filter(|entry| entry.content == slot.content && entry.module == slot.module);
        if let Some((entry, stored)) =
            cached.and_then(|e| e.lint.as_ref().filter(|l| l.rules == slot.rules).map(|l| (e, l)))
        {
            if let Some(checked) = restore(path, bytes, entry, stored) {
                self.counts[0].fetch_add(1, Ordering::Relaxed);
                return (checked, Slot { hit: Some(stored.deps.clone()), ..slot });
            }
        }
        self.counts[1].fetch_add(1, Ordering::Relaxed);
        let checked = lint();
        let skip = checked.messages.iter().any(|m| m.level == Level::Error);
        (checked, Slot { skip, ..slot })
    }

    /// Index facts of a file that is not checked, from the cache when its content is unchanged.
    pub(crate) fn facts(&self, path: &Path, module: &ModuleInfo) -> Option<FileFacts> {
        if self.file.is_none() {
            return lint::facts_only(path, module);
        }
        let bytes = std::fs::read(path).ok()?;
        let content = xxh3_64(&bytes);
        let key = self.key(path);
        let module_key = Some((module.name.clone(), module.is_package));
        if let Some(entry) = self.old.entries.get(&key).filter(|e| e.content == content && e.module == module_key) {
            return Some(entry.facts.clone());
        }
        let facts = lint::facts_only(path, module)?;
        let entry = Entry { content, module: module_key, facts: facts.clone(), lint: None };
        if let Ok(mut indexed) = self.indexed.lock() {
            indexed.push((key, entry));
        }
        Some(facts)
    }

    /// Resolves a file's deferred checks against the index: a hit whose questions all get the
    /// same answers keeps its findings, any other file is linted again (`relint`) and resolved
    /// while noting its questions.
    pub(crate) fn resolve(
        &self,
        file: &mut CheckedFile,
        slot: &mut Slot,
        index: &ModelIndex,
        answers: &Answers<'_>,
        relint: impl FnOnce() -> CheckedFile,
    ) {
        if let Some(stored) = &slot.hit {
            if stored.iter().all(|(dep, answer)| answers.answer(dep) == *answer) {
                return;
            }
            slot.hit = None;
            self.counts[0].fetch_sub(1, Ordering::Relaxed);
            self.counts[2].fetch_add(1, Ordering::Relaxed);
            *file = relint();
            slot.skip = file.messages.iter().any(|m| m.level == Level::Error);
        }
        if slot.skip {
            lint::resolve_deferred(file, index);
            return;
        }
        let ((), noted) = deps::recording(|| lint::resolve_deferred(file, index));
        slot.deps = noted
            .into_iter()
            .map(|dep| {
                let answer = answers.answer(&dep);
                (dep, answer)
            })
            .collect();
    }

    /// Writes the new cache: this run's files, plus the old entries of files not seen this run
    /// that still exist. Nothing is written when nothing changed.
    pub(crate) fn save(self, checked: &[CheckedFile], slots: Vec<Slot>) {
        let Some(file) = &self.file else { return };
        // For tests and the curious: what the cache saved.
        if std::env::var_os("SQLALINT_CACHE_STATS").is_some() {
            let [cached, linted, rechecked] = self.counts.each_ref().map(|c| c.load(Ordering::Relaxed));
            eprintln!("sqlalint: cache: {cached} cached, {linted} linted, {rechecked} re-checked for changed models");
        }
        let mut old = self.old.entries;
        let mut entries = HashMap::with_capacity(old.len());
        let mut changed = false;
        for (checked, slot) in checked.iter().zip(slots) {
            let Some(key) = slot.key else { continue };
            let previous = old.remove(&key);
            if slot.skip {
                changed |= previous.is_some();
                continue;
            }
            if let (Some(_), Some(entry)) = (&slot.hit, previous) {
                entries.insert(key, entry);
                continue;
            }
            changed = true;
            let lint = Lint {
                rules: slot.rules,
                findings: checked.findings.iter().map(to_cached).collect(),
                warnings: checked.messages.iter().map(|m| m.text.clone()).collect(),
                deps: slot.deps,
            };
            let entry =
                Entry { content: slot.content, module: slot.module, facts: checked.facts.clone(), lint: Some(lint) };
            entries.insert(key, entry);
        }
        for (key, entry) in self.indexed.into_inner().unwrap_or_default() {
            changed = true;
            old.remove(&key);
            entries.insert(key, entry);
        }
        for (key, entry) in old {
            if self.root.join(&key).exists() {
                entries.insert(key, entry);
            } else {
                changed = true;
            }
        }
        if !changed {
            return;
        }
        if let Err(err) = write_store(file, &Store { entries }) {
            if !self.quiet {
                eprintln!("sqlalint: warning: {}: cannot write the cache: {err}", file.display());
            }
        }
    }
}

/// The checked file a cache entry stands for; `None` if the entry names an unknown rule.
fn restore(path: &Path, bytes: Vec<u8>, entry: &Entry, stored: &Lint) -> Option<CheckedFile> {
    let mut checked = CheckedFile::empty(path);
    checked.findings = stored.findings.iter().map(from_cached).collect::<Option<_>>()?;
    checked.messages = stored
        .warnings
        .iter()
        .map(|text| FileMessage { path: path.to_path_buf(), level: Level::Warning, text: text.clone() })
        .collect();
    checked.facts = entry.facts.clone();
    if !checked.findings.is_empty() {
        // Reports quote the source; decoding is cheap next to parsing.
        let (text, _) = lint::decode(bytes);
        checked.source = Some(std::sync::Arc::new(SourceFile::new(text)));
    }
    Some(checked)
}

fn to_cached(finding: &Finding) -> CachedFinding {
    CachedFinding {
        code: registry::all()[finding.rule].code.to_string(),
        range: (finding.range.start, finding.range.end),
        start: (finding.start.row, finding.start.column),
        end: (finding.end.row, finding.end.column),
        utf16: (finding.start_utf16, finding.end_utf16),
        message: finding.message.clone(),
        help: finding.help.clone(),
        fix: finding.fix.as_ref().map(|fix| {
            let edits = fix.edits.iter().map(|e| (e.range.start, e.range.end, e.content.clone())).collect();
            CachedFix { unsafe_fix: fix.applicability == Applicability::Unsafe, title: fix.title.clone(), edits }
        }),
    }
}

fn from_cached(cached: &CachedFinding) -> Option<Finding> {
    let rule = registry::all().iter().position(|rule| rule.code.as_str() == cached.code)?;
    let position = |(row, column)| Position { row, column };
    Some(Finding {
        rule,
        range: cached.range.0..cached.range.1,
        start: position(cached.start),
        end: position(cached.end),
        start_utf16: cached.utf16.0,
        end_utf16: cached.utf16.1,
        message: cached.message.clone(),
        help: cached.help.clone(),
        fix: cached.fix.as_ref().map(|fix| Fix {
            applicability: if fix.unsafe_fix { Applicability::Unsafe } else { Applicability::Safe },
            title: fix.title.clone(),
            edits: fix.edits.iter().map(|(start, end, content)| Edit::replace(*start..*end, content.clone())).collect(),
        }),
    })
}

fn rules_hash(rules: &RuleSet) -> u64 {
    let mut hasher = Xxh3::new();
    for id in rules.ids() {
        hasher.write(registry::all()[id].code.as_bytes());
        hasher.write_u8(0);
    }
    hasher.finish()
}

/// Size and modification time of the running binary: a rebuilt sqlalint (same version, other
/// rules) does not trust the old build's results.
fn binary_identity() -> u64 {
    let Some(meta) = std::env::current_exe().ok().and_then(|exe| std::fs::metadata(exe).ok()) else { return 0 };
    let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let mut hasher = Xxh3::new();
    hasher.write_u64(meta.len());
    hasher.write_u128(modified.map_or(0, |d| d.as_nanos()));
    hasher.finish()
}

/// Layout: magic, xxh3 of the payload, payload (postcard). Anything else reads as no cache.
fn read_store(path: &Path) -> Option<Store> {
    let bytes = std::fs::read(path).ok()?;
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (checksum, payload) = rest.split_first_chunk::<8>()?;
    if u64::from_le_bytes(*checksum) != xxh3_64(payload) {
        return None;
    }
    postcard::from_bytes(payload).ok()
}

fn write_store(path: &Path, store: &Store) -> std::io::Result<()> {
    let payload = postcard::to_stdvec(store).map_err(std::io::Error::other)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Like Ruff: the cache ignores itself in git and is tagged for backup tools.
    if let Some(top) = dir.parent() {
        let gitignore = top.join(".gitignore");
        if !gitignore.exists() {
            std::fs::write(&gitignore, "# Automatically created by sqlalint.\n*\n")?;
        }
        let tag = top.join("CACHEDIR.TAG");
        if !tag.exists() {
            std::fs::write(tag, "Signature: 8a477f597d28d172789f06886806bc55\n")?;
        }
    }
    let mut bytes = Vec::with_capacity(payload.len() + 16);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&xxh3_64(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let temp = dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
    std::fs::write(&temp, &bytes)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}
