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
// (`ModelIndex::revision_graph_of`). Alembic reads subfolders of a version folder only with
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
        // The revision files of this version folder: one revision graph, built once by the index.
        let graph = project.index.revision_graph_of(&me.path);
        let peers: Vec<&RevisionEntry> = graph.members().collect();
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

        // Cycles: walking down from this revision comes back to it.
        // Known per folder (`on_cycle`): the walk down the history is for the cycle's path.
        if let Some(cycle) = graph.on_cycle(revision).then(|| cycle_through(revision, |id| graph.revision(id))).flatten() {
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
        let children = |id: &str| graph.children(id);
        // Asked only at a fork: walking up to the heads from every file of a long history is quadratic.
        let mut my_heads = None;
        for parent in self.facts.down.iter().flatten() {
            let siblings: Vec<&RevisionEntry> =
                children(parent).filter(|s| !std::ptr::eq(*s, me) && s.facts.branch_labels.is_empty()).collect();
            if siblings.is_empty() {
                continue;
            }
            let my_heads = my_heads.get_or_insert_with(|| heads_from(revision, children));
            let unmerged: Vec<&RevisionEntry> = siblings
                .into_iter()
                .filter(|s| s.facts.revision.as_deref().is_some_and(|id| heads_from(id, children) != *my_heads))
                .collect();
            if unmerged.is_empty() {
                continue;
            }
            let heads: BTreeSet<&str> = my_heads
                .iter()
                .copied()
                .chain(unmerged.iter().flat_map(|s| heads_from(s.facts.revision.as_deref().unwrap_or(""), children)))
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

/// The heads (revisions without children) reachable upwards from `start`; `children(id)`: the
/// revisions whose `down_revision` names `id`.
fn heads_from<'a, I: Iterator<Item = &'a RevisionEntry>>(
    start: &'a str,
    children: impl Fn(&str) -> I,
) -> BTreeSet<&'a str> {
    let mut heads = BTreeSet::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let mut kids = children(id).peekable();
        if kids.peek().is_none() {
            heads.insert(id);
        }
        stack.extend(kids.filter_map(|k| k.facts.revision.as_deref()));
    }
    heads
}

/// A path of ids from `start` down its `down_revision`s back to `start`, if there is one;
/// `revision(id)`: the revision file declaring `id`.
fn cycle_through<'a>(start: &'a str, revision: impl Fn(&str) -> Option<&'a RevisionEntry>) -> Option<Vec<&'a str>> {
    // Depth-first, iterative. Each id is reached once, so the id it was reached from is enough to
    // rebuild its path: copying the path at each step made a long history quadratic per file.
    let mut stack: Vec<&str> = vec![start];
    let mut reached_from: HashMap<&str, &str> = HashMap::new();
    while let Some(id) = stack.pop() {
        for down in revision(id).and_then(|e| e.facts.down.as_ref()).into_iter().flatten() {
            if down == start {
                let mut back = Vec::new();
                let mut at = id;
                while at != start {
                    back.push(at);
                    at = reached_from.get(at).copied().unwrap_or(start);
                }
                let cycle = std::iter::once(start).chain(back.into_iter().rev()).chain([start]);
                return Some(cycle.collect());
            }
            if !reached_from.contains_key(down.as_str()) {
                reached_from.insert(down.as_str(), id);
                stack.push(down.as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, down: &[&str]) -> RevisionEntry {
        let facts = RevisionFacts {
            revision: Some(id.to_string()),
            down: Some(down.iter().map(|d| d.to_string()).collect()),
            ..RevisionFacts::default()
        };
        RevisionEntry { path: format!("versions/{id}.py").into(), module: id.to_string(), facts }
    }

    #[test]
    fn cycles_are_reported_along_the_path_that_found_them() {
        // b forks down to a dead end (c → e) and to d, which closes the cycle back to a.
        let entries =
            [entry("a", &["b"]), entry("b", &["c", "d"]), entry("c", &["e"]), entry("d", &["a"]), entry("e", &[])];
        let by_id: HashMap<&str, &RevisionEntry> =
            entries.iter().map(|e| (e.facts.revision.as_deref().unwrap_or(""), e)).collect();
        assert_eq!(cycle_through("a", |id| by_id.get(id).copied()), Some(vec!["a", "b", "d", "a"]));
        assert_eq!(cycle_through("d", |id| by_id.get(id).copied()), Some(vec!["d", "a", "b", "d"]));
        assert_eq!(cycle_through("c", |id| by_id.get(id).copied()), None);
        let ids = || entries.iter().filter_map(|e| e.facts.revision.as_deref());
        let downs = |id: &str| by_id.get(id).and_then(|e| e.facts.down.as_deref()).unwrap_or_default();
        let on_cycles = crate::index::merge::ids_on_cycles(ids(), downs);
        assert_eq!(on_cycles, ["a", "b", "d"].into_iter().map(String::from).collect());
        let own = [entry("s", &["s"])];
        let by_id: HashMap<&str, &RevisionEntry> = own.iter().map(|e| ("s", e)).collect();
        assert_eq!(cycle_through("s", |id| by_id.get(id).copied()), Some(vec!["s", "s"]));
    }

    /// `ids_on_cycles` (once per folder) holds exactly the ids `cycle_through` finds a cycle from.
    #[test]
    fn ids_on_cycles_are_those_a_walk_finds_a_cycle_from() {
        let mut seed: u64 = 0x5eed;
        let mut next = |bound: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % bound
        };
        for _ in 0..300 {
            let n = 1 + next(9);
            let entries: Vec<RevisionEntry> = (0..n)
                .map(|i| {
                    // Ids outside the graph too: a down_revision naming no file is no edge.
                    let downs: Vec<String> = (0..next(3)).map(|_| format!("r{}", next(n + 2))).collect();
                    let downs: Vec<&str> = downs.iter().map(String::as_str).collect();
                    entry(&format!("r{i}"), &downs)
                })
                .collect();
            let by_id: HashMap<&str, &RevisionEntry> =
                entries.iter().map(|e| (e.facts.revision.as_deref().unwrap_or(""), e)).collect();
            let downs = |id: &str| by_id.get(id).and_then(|e| e.facts.down.as_deref()).unwrap_or_default();
            let on_cycles = crate::index::merge::ids_on_cycles(by_id.keys().copied(), downs);
            for id in by_id.keys() {
                let walked = cycle_through(id, |id| by_id.get(id).copied()).is_some();
                assert_eq!(on_cycles.contains(*id), walked, "{id} in {:?}", entries.iter().map(|e| &e.facts.down).collect::<Vec<_>>());
            }
            assert!(on_cycles.iter().all(|id| by_id.contains_key(id.as_str())));
        }
    }
}
