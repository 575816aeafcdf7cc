//! SA705 revision-graph: the revision files of one Alembic environment, taken together — more
//! than one unmerged head, duplicate ids, a `down_revision` / `depends_on` naming no revision,
//! cycles, and a file whose name carries another revision id. Resolved after the pass, against
//! the revisions of the whole project (see [`crate::index::merge::ModelIndex::revisions`]).
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use crate::alembic::{self, RevisionFacts};
use crate::checker::{Checker, Deferred, Match, Project};
use crate::diagnostic::Diagnostic;
use crate::index::merge::RevisionEntry;
use crate::registry::RuleId;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(module) = m.get("module") else { return };
    let Some(facts) = alembic::revision_facts(module, checker.source()) else { return };
    if facts.revision.is_none() {
        return;
    }
    checker.defer(Box::new(RevisionGraph { rule: checker.rule, facts }));
}

struct RevisionGraph {
    rule: RuleId,
    facts: RevisionFacts,
}

// The version folder a revision file belongs to is its own folder
// (`ModelIndex::revisions_in_folder_of`). Alembic reads subfolders of a version folder only with
// `recursive_version_locations = true` (they often hold an archive of squashed revisions
// otherwise), so each folder is its own graph for forks and duplicates.

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Deferred for RevisionGraph {
    fn resolve(&self, project: &Project<'_>, out: &mut Vec<Diagnostic>) {
        let mine = project.index.revisions_of_module(&project.file.module);
        let Some(me) = mine.into_iter().find(|e| e.facts.revision == self.facts.revision) else {
            return;
        };
        let Some(revision) = self.facts.revision.as_deref() else { return };
        // The revision files of this version folder: one revision graph.
        let peers: Vec<&RevisionEntry> = project.index.revisions_in_folder_of(&me.path);
        let mut report = |range: std::ops::Range<usize>, message: String, help: String| {
            out.push(Diagnostic { rule: self.rule, range, message, help: Some(help), fix: None });
        };

        // Duplicate ids.
        let twins: Vec<String> = peers
            .iter()
            .filter(|e| !std::ptr::eq(**e, me) && e.facts.revision.as_deref() == Some(revision))
            .map(|e| file_name(&e.path))
            .collect();
        if !twins.is_empty() {
            report(
                self.facts.revision_range.clone(),
                format!(
                    "revision id `{revision}` is also declared by {}: Alembic keeps only one of them, and the other \
                     migration never runs",
                    twins.join(", ")
                ),
                format!(
                    "give one of the twins a new id, and point the `down_revision` meant for it there (the revisions \
                     naming `{revision}` now all follow whichever file Alembic keeps)"
                ),
            );
        }

        // The file name carries another revision id.
        if let Some(other) = id_in_file_name(&me.path, revision) {
            report(
                self.facts.revision_range.clone(),
                format!(
                    "the file name `{}` carries revision id `{other}`, but the file declares `revision = \"{revision}\"`: \
                     a copied revision whose id was not changed, or a renamed file",
                    file_name(&me.path)
                ),
                format!(
                    "make them agree: rename the file after `{revision}`, or set `revision = \"{other}\"`, and check \
                     which `down_revision` points here"
                ),
            );
        }

        // Dangling down_revision members (looked up in the whole project: environments may share history).
        if let Some(down) = &self.facts.down {
            let missing: Vec<&str> =
                down.iter().map(String::as_str).filter(|d| !project.index.declares_revision(d)).collect();
            if !missing.is_empty() {
                report(
                    self.facts.down_range.clone(),
                    format!(
                        "`down_revision` names {} that no revision file declares: Alembic cannot build the revision \
                         graph (`Revision {} referenced from {revision} is not present`) and every command fails",
                        quoted(&missing),
                        missing[0]
                    ),
                    "point `down_revision` at an existing revision (`alembic heads` before the rebase shows which), \
                     or restore the missing revision file"
                        .to_string(),
                );
            }
        }
        if let Some(range) = &self.facts.depends_range {
            // Alembic resolves full revision ids and branch labels here (a partial id is a `KeyError`).
            let missing: Vec<&str> = self
                .facts
                .depends_on
                .iter()
                .map(String::as_str)
                .filter(|d| !project.index.declares_branch_label(d) && !project.index.declares_revision(d))
                .collect();
            if !missing.is_empty() {
                report(
                    range.clone(),
                    format!(
                        "`depends_on` names {} that is neither a revision nor a branch label: Alembic fails to load \
                         the revision graph (`KeyError`)",
                        quoted(&missing)
                    ),
                    "name an existing revision id or branch label in `depends_on`".to_string(),
                );
            }
        }

        let by_id: HashMap<&str, &RevisionEntry> =
            peers.iter().filter_map(|e| Some((e.facts.revision.as_deref()?, *e))).collect();
        // Cycles: walking down from this revision comes back to it.
        if let Some(cycle) = cycle_through(revision, &by_id) {
            report(
                self.facts.down_range.clone(),
                format!(
                    "`down_revision` closes a cycle in the revision graph ({}): Alembic cannot order these revisions",
                    cycle.join(" → ")
                ),
                "break the cycle: one of these revisions must point further down the history".to_string(),
            );
            return;
        }
        // Forks: this revision shares its parent with a sibling, and their lines were never merged.
        if !self.facts.branch_labels.is_empty() || peers.iter().any(|e| e.facts.down.is_none()) {
            return;
        }
        // The graph of this environment: children of each revision.
        let mut children: HashMap<&str, Vec<&RevisionEntry>> = HashMap::new();
        for peer in &peers {
            for down in peer.facts.down.iter().flatten() {
                children.entry(down.as_str()).or_default().push(peer);
            }
        }
        let my_heads = heads_from(revision, &children);
        for parent in self.facts.down.iter().flatten() {
            let siblings: Vec<&RevisionEntry> = children
                .get(parent.as_str())
                .map(|c| c.iter().copied().filter(|s| !std::ptr::eq(*s, me) && s.facts.branch_labels.is_empty()).collect())
                .unwrap_or_default();
            let unmerged: Vec<&RevisionEntry> = siblings
                .into_iter()
                .filter(|s| s.facts.revision.as_deref().is_some_and(|id| heads_from(id, &children) != my_heads))
                .collect();
            if unmerged.is_empty() {
                continue;
            }
            let heads: BTreeSet<&str> = my_heads
                .iter()
                .copied()
                .chain(unmerged.iter().flat_map(|s| heads_from(s.facts.revision.as_deref().unwrap_or(""), &children)))
                .collect();
            let heads: Vec<&str> = heads.into_iter().collect();
            report(
                self.facts.down_range.clone(),
                format!(
                    "the revision history forks here: {} also revise{} `{parent}`, and the branches were never merged, \
                     so there are {} heads ({}); `alembic upgrade head` fails with \"Multiple head revisions\"",
                    unmerged.iter().map(|s| format!("`{}`", file_name(&s.path))).collect::<Vec<_>>().join(", "),
                    if unmerged.len() == 1 { "s" } else { "" },
                    heads.len(),
                    heads.join(", ")
                ),
                format!("merge the heads: `alembic merge -m \"merge heads\" {}`, or rebase this revision onto the other head", heads.join(" ")),
            );
        }
    }
}

fn quoted(ids: &[&str]) -> String {
    ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// The heads (revisions without children) reachable upwards from `start`.
fn heads_from<'a>(start: &'a str, children: &HashMap<&'a str, Vec<&'a RevisionEntry>>) -> BTreeSet<&'a str> {
    let mut heads = BTreeSet::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        match children.get(id) {
            Some(kids) if !kids.is_empty() => stack.extend(kids.iter().filter_map(|k| k.facts.revision.as_deref())),
            _ => {
                heads.insert(id);
            }
        }
    }
    heads
}

/// A path of ids from `start` down its `down_revision`s back to `start`, if there is one.
fn cycle_through<'a>(start: &'a str, by_id: &HashMap<&'a str, &'a RevisionEntry>) -> Option<Vec<&'a str>> {
    // Depth-first, iterative: (id, path so far).
    let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, vec![start])];
    let mut seen: HashSet<&str> = HashSet::new();
    while let Some((id, path)) = stack.pop() {
        for down in by_id.get(id).and_then(|e| e.facts.down.as_ref()).into_iter().flatten() {
            if down == start {
                let mut cycle = path.clone();
                cycle.push(start);
                return Some(cycle);
            }
            if seen.insert(down.as_str()) {
                let mut next = path.clone();
                next.push(down.as_str());
                stack.push((down.as_str(), next));
            }
        }
    }
    None
}

/// A revision id the file name carries that differs from `revision`: a 12-hex-digit token
/// (Alembic's generated ids), or a leading number of the same width as a numeric id.
fn id_in_file_name(path: &Path, revision: &str) -> Option<String> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    if stem.contains(revision) {
        return None;
    }
    let tokens: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).collect();
    let generated = |t: &str| t.len() == 12 && t.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
    if generated(revision) {
        if let Some(token) = tokens.iter().find(|t| generated(t) && t.chars().any(|c| c.is_ascii_digit())) {
            return Some(token.to_string());
        }
    }
    if revision.chars().all(|c| c.is_ascii_digit()) {
        let first = tokens.first()?;
        if first.len() == revision.len() && first.chars().all(|c| c.is_ascii_digit()) {
            return Some(first.to_string());
        }
    }
    None
}
