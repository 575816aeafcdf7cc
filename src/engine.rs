//! The one-pass query engine. Every rule's `.scm` patterns are split into top-level
//! patterns (identical ones, written by several rules, kept once), and one pre-order walk
//! per file finds each pattern's matches and hands them to the rules that own it.
//!
//! Measured by the benchmark: a separate query per rule would cost ~30% of a parse each.
//! Even one combined tree-sitter query run by its cursor over the whole tree costs ~40% of
//! a parse in the cursor walk alone, whatever the patterns. So:
//! - every pattern's root node kinds are read from its source ([`pattern::root_kinds`]), and
//!   a plain tree walk runs patterns only at nodes of those kinds;
//! - patterns rooted at calls, keyword arguments and attributes whose predicates pin a name
//!   (`len(...)`, `.all()`, `lazy=`) are tried only at nodes carrying one of those names, and
//!   patterns whose root must mention a word only at nodes whose text does ([`pattern::gate`]);
//! - patterns in the plain subset of the query language the rules use are matched by
//!   [`crate::matcher`], child list by child list, with no tree-sitter `Query` to compile
//!   (its analysis was ~7% of a run) and no cursor to start (~8%); any other pattern is
//!   compiled into one tree-sitter query whose cursor runs at its root kinds with
//!   `max_start_depth(0)`. A pattern with unknown root kinds sends every pattern to the
//!   cursor over the whole tree, as `SQLALINT_QUERY_WALK=full` does (the A/B reference the
//!   tests compare with).
//!
//! The walk does not enter an expression subtree whose bytes hold no trigger word: no
//! pattern can start inside it (`triggers`).
//!
//! The walk also collects comments (for `# noqa`) and keeps its path from the root, which
//! it publishes while rule checks run so that their parent lookups read it instead of
//! descending from the root (`syntax::Up`).
use std::cell::RefCell;

use tree_sitter::{
    Language, Node, Parser, Query, QueryCapture, QueryCursor, QueryPredicateArg, StreamingIterator, Tree,
};

use crate::checker::{Checker, Match};
use crate::diagnostic::Diagnostic;
use crate::pattern;
use crate::registry::{self, RuleId};
use crate::source::SourceFile;

/// Internal pattern prepended to the rule queries when the cursor walks the whole tree:
/// comments feed `# noqa`.
const COMMENT_PATTERN: &str = "(comment) @sqlalint.comment\n";

pub(crate) fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parse with this thread's parser (one per rayon worker, created lazily).
pub(crate) fn parse(text: &str) -> Option<Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&language()).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(text, None)
    })
}

#[derive(Debug)]
pub(crate) struct EngineError(pub(crate) String);

/// Where the engine hands a match: the rules owning its pattern, its capture names, captures.
type Found<'f, 't> = dyn FnMut(&[RuleId], &[&str], &[crate::matcher::Capture<'t>]) + 'f;

/// One set of patterns, compiled: those the engine matches itself (`matcher`) and the
/// rest, compiled into one tree-sitter query run by its cursor.
struct CompiledQuery {
    /// The tree-sitter query of the patterns the matcher cannot run (`None`: there are none).
    query: Option<Query>,
    /// Rules that own each pattern of `query`: usually one, several when rules share a
    /// pattern (it is compiled once and its matches go to each), none for internal patterns.
    pattern_rules: Vec<Vec<RuleId>>,
    comment_capture: Option<u32>,
    /// `root_kinds[kind_id]`: can a pattern start at a node of this kind? `None`
    /// when some pattern's root kinds are unknown: walk with the cursor alone.
    root_kinds: Option<Vec<bool>>,
    /// Each pattern of `query`'s [`pattern::MENTIONS`] predicates: a capture and the words
    /// its text must mention one of, or the match is dropped.
    mentions: Vec<Vec<(u32, Vec<String>)>>,
    /// The patterns the engine matches itself, with the rules that own each.
    matchers: Vec<(crate::matcher::Pattern, Vec<RuleId>)>,
    /// `direct[kind_id]`: the `matchers` rooted at that kind that no name gates.
    direct: Vec<Vec<usize>>,
    /// The `matchers` that match only nodes carrying one of some names in a slot, by name.
    by_name: crate::fast_hash::FastMap<String, Vec<(pattern::Slot, usize)>>,
    /// `cursor_kinds[kind_id]`: does some pattern of `query` start there?
    cursor_kinds: Vec<bool>,
}

pub(crate) struct Engine {
    /// Patterns that can match anywhere their root kind occurs.
    rest: CompiledQuery,
    /// Patterns that only match calls of certain callee or receiver names (`.all()`,
    /// `len(...)`, `User.query.x()`), keyword arguments (`lazy=`) or attributes (`.query`)
    /// of certain names, or nodes whose text mentions certain words (`#sqlalint-mentions?`):
    /// most such nodes in a file are none of them, and at those the cursor is not started.
    gated: Option<CompiledQuery>,
    gate_names:
        crate::fast_hash::FastMap<pattern::Slot, std::collections::HashSet<String, crate::fast_hash::FastState>>,
    /// `mention_words[kind_id]`: gated patterns rooted at this kind match only where the
    /// node's text mentions one of these words (see [`pattern::MENTIONS`]).
    mention_words: Vec<Vec<String>>,
    /// The statement kinds of `mention_words` with their words: looked up per file
    /// ([`crate::triggers::Occurrences`]), not per node.
    statement_mentions: Vec<(u16, Vec<String>)>,
    /// Where patterns can start inside expressions (`None`: walk every node).
    triggers: Option<crate::triggers::Triggers>,
    kinds: SyntaxIds,
}

/// Node kind and field ids the gate reads, looked up once.
struct SyntaxIds {
    call: u16,
    keyword_argument: u16,
    string: u16,
    comment: u16,
    identifier: u16,
    attribute: u16,
    function: Option<std::num::NonZeroU16>,
    object: Option<std::num::NonZeroU16>,
    attribute_field: Option<std::num::NonZeroU16>,
    name: Option<std::num::NonZeroU16>,
    right: Option<std::num::NonZeroU16>,
}

/// Everything one cursor walk over a file produced.
pub(crate) struct FileMatches {
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Byte ranges of every comment, for suppression comments.
    pub(crate) comments: Vec<std::ops::Range<usize>>,
    /// Checks that need the project model index, resolved after every file is parsed.
    pub(crate) deferred: Vec<Box<dyn crate::checker::Deferred>>,
}

/// A pattern to compile: its text, the rules that wrote it, and the file of the first one.
struct PatternSource {
    text: &'static str,
    rules: Vec<RuleId>,
    file: &'static str,
    /// The names its root must carry in a slot (`pattern::gate`), if it is gated so.
    gate: Option<(pattern::Slot, Vec<String>)>,
}

/// The names a node carries in each gate slot (`pattern::gate`): its callee and receiver
/// names if it is a call, its name if it is a keyword argument or an attribute.
#[derive(Default)]
struct NodeNames<'s> {
    callee: Option<&'s str>,
    receiver: Option<&'s str>,
    keyword: Option<&'s str>,
    attribute: Option<&'s str>,
}

impl<'s> NodeNames<'s> {
    fn slots(&self) -> impl Iterator<Item = (pattern::Slot, &'s str)> {
        use pattern::Slot;
        [(Slot::Callee, self.callee), (Slot::Receiver, self.receiver), (Slot::Keyword, self.keyword)]
            .into_iter()
            .chain([(Slot::Attribute, self.attribute)])
            .filter_map(|(slot, name)| Some((slot, name?)))
    }
}

impl CompiledQuery {
    /// Compiles `patterns` (after `prefix`, internal patterns owned by no rule). `walk_full`:
    /// every pattern goes to the cursor, which walks the whole tree (the A/B reference).
    fn compile(prefix: &str, patterns: &[&PatternSource], walk_full: bool) -> Result<Self, EngineError> {
        let language = language();
        let count = language.node_kind_count();
        let roots: Option<Vec<Vec<u16>>> =
            if walk_full { None } else { patterns.iter().map(|p| pattern::root_kinds(p.text, &language)).collect() };
        let mut matchers = Vec::new();
        let mut direct = vec![Vec::new(); count];
        let mut by_name: crate::fast_hash::FastMap<String, Vec<(pattern::Slot, usize)>> =
            crate::fast_hash::FastMap::default();
        let mut cursor_patterns = Vec::new();
        let mut cursor_roots = Vec::new();
        match &roots {
            Some(roots) => {
                for (pattern, kinds) in patterns.iter().zip(roots) {
                    match crate::matcher::Pattern::compile(pattern.text, &language) {
                        Some(matcher) => {
                            match pattern.gate.as_ref() {
                                Some((slot, names)) => {
                                    for name in names {
                                        by_name.entry(name.clone()).or_default().push((*slot, matchers.len()));
                                    }
                                }
                                None => {
                                    for kind in kinds {
                                        let slot = direct.get_mut(usize::from(*kind));
                                        slot.into_iter().for_each(|d| d.push(matchers.len()));
                                    }
                                }
                            }
                            matchers.push((matcher, pattern.rules.clone()));
                        }
                        None => {
                            cursor_patterns.push(*pattern);
                            cursor_roots.push(kinds);
                        }
                    }
                }
            }
            None => cursor_patterns.extend(patterns.iter().copied()),
        }
        let mut root_kinds = roots.as_ref().map(|_| vec![false; count]);
        for kind in roots.iter().flatten().flatten() {
            if let Some(slot) = root_kinds.as_mut().and_then(|k| k.get_mut(usize::from(*kind))) {
                *slot = true;
            }
        }
        let mut cursor_kinds = vec![roots.is_none(); count];
        for kind in cursor_roots.into_iter().flatten() {
            if let Some(slot) = cursor_kinds.get_mut(usize::from(*kind)) {
                *slot = true;
            }
        }
        let mut compiled = CompiledQuery {
            query: None,
            pattern_rules: Vec::new(),
            comment_capture: None,
            root_kinds,
            mentions: Vec::new(),
            matchers,
            direct,
            by_name,
            cursor_kinds,
        };
        if cursor_patterns.is_empty() && prefix.is_empty() {
            return Ok(compiled);
        }
        let mut source = String::from(prefix);
        let mut starts: Vec<usize> = Vec::with_capacity(cursor_patterns.len());
        for pattern in &cursor_patterns {
            starts.push(source.len());
            source.push_str(pattern.text);
            source.push('\n');
        }
        // The pattern a byte offset of `source` falls in (`None`: the internal prefix).
        let owner = |offset: usize| starts.iter().rposition(|start| *start <= offset).map(|i| cursor_patterns[i]);
        let query = Query::new(&language, &source).map_err(|err| {
            let file = owner(err.offset).map_or("<internal>", |p| p.file);
            EngineError(format!("query {file} does not compile: {err}"))
        })?;
        compiled.pattern_rules = (0..query.pattern_count())
            .map(|i| owner(query.start_byte_for_pattern(i)).map(|p| p.rules.clone()).unwrap_or_default())
            .collect();
        compiled.comment_capture = query.capture_index_for_name("sqlalint.comment");
        compiled.mentions = (0..query.pattern_count())
            .map(|i| {
                let predicates = query.general_predicates(i).iter().filter(|p| &*p.operator == pattern::MENTIONS);
                predicates
                    .filter_map(|p| match p.args.split_first() {
                        Some((QueryPredicateArg::Capture(capture), words)) => Some((
                            *capture,
                            words
                                .iter()
                                .filter_map(|w| {
                                    if let QueryPredicateArg::String(w) = w {
                                        Some(w.to_string())
                                    } else {
                                        None
                                    }
                                })
                                .collect(),
                        )),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        if compiled.root_kinds.is_some() && (0..query.pattern_count()).any(|i| !query.is_pattern_rooted(i)) {
            compiled.root_kinds = None;
        }
        compiled.query = Some(query);
        Ok(compiled)
    }

    /// Every match of the patterns rooted at `node`, which carries `names` (`cursor` runs
    /// the patterns of `query`). Matches come in pattern order, as the cursor's would.
    fn matches_at<'t>(
        &self,
        node: Node<'t>,
        names: &NodeNames<'_>,
        text: &str,
        cursor: &mut QueryCursor,
        state: &mut crate::matcher::State<'t>,
        found: &mut Found<'_, 't>,
    ) {
        let kind = usize::from(node.kind_id());
        state.clear();
        let ungated = self.direct.get(kind).map_or(&[][..], Vec::as_slice);
        let mut gated: Vec<usize> = Vec::new();
        for (slot, name) in names.slots() {
            let named = self.by_name.get(name).map_or(&[][..], Vec::as_slice);
            gated.extend(named.iter().filter(|(s, _)| *s == slot).map(|(_, i)| *i));
        }
        let patterns = if gated.is_empty() {
            std::borrow::Cow::Borrowed(ungated)
        } else {
            gated.extend_from_slice(ungated);
            gated.sort_unstable();
            gated.dedup();
            std::borrow::Cow::Owned(gated)
        };
        for &i in patterns.iter() {
            if let Some((matcher, rules)) = self.matchers.get(i) {
                matcher.matches(node, text, state, &mut |captures| found(rules, &matcher.names, captures));
            }
        }
        if let Some(query) = self.query.as_ref().filter(|_| self.cursor_kinds.get(kind).copied().unwrap_or(true)) {
            let mut matches = cursor.matches(query, node, text.as_bytes());
            while let Some(m) = matches.next() {
                self.cursor_match(m.pattern_index, m.captures(), text, found);
            }
        }
    }

    /// Hands one match of `query` on to its rules, unless a mentions predicate fails.
    fn cursor_match<'t>(
        &self,
        pattern_index: usize,
        captures: &[QueryCapture<'t>],
        text: &str,
        found: &mut Found<'_, 't>,
    ) {
        let Some(query) = &self.query else { return };
        let owners = self.pattern_rules.get(pattern_index).map_or(&[][..], Vec::as_slice);
        let mentions = self.mentions.get(pattern_index).map_or(&[][..], Vec::as_slice);
        let mentioned = |(capture, words): &(u32, Vec<String>)| {
            captures.iter().filter(|c| c.index == *capture).any(|c| {
                let own = text.get(c.node.byte_range()).unwrap_or_default();
                words.iter().any(|w| own.contains(w.as_str()))
            })
        };
        if !mentions.iter().all(mentioned) {
            return;
        }
        let captures: Vec<(u32, Node<'t>)> = captures.iter().map(|c| (c.index, c.node)).collect();
        found(owners, query.capture_names(), &captures);
    }
}

impl Engine {
    /// An engine for every rule.
    #[cfg(test)]
    pub(crate) fn new() -> Result<Self, EngineError> {
        Self::build(false, &|_| true)
    }

    /// An engine for the rules `selected` holds: a file's rules are a subset of them, and
    /// patterns of rules no file runs would cost matching time for nothing.
    pub(crate) fn for_rules(selected: &crate::selection::RuleSet) -> Result<Self, EngineError> {
        let walk_full = std::env::var_os("SQLALINT_QUERY_WALK").is_some_and(|v| v == "full");
        Self::build(walk_full, &|id| selected.contains(id))
    }

    /// `walk_full`: one query, run by the cursor over the whole tree (the A/B reference).
    fn build(walk_full: bool, selected: &dyn Fn(RuleId) -> bool) -> Result<Self, EngineError> {
        // Split every rule's query into its top-level patterns; a pattern written
        // identically by several rules (SA401–SA403 share their criteria patterns, the
        // loop rules their loops) is compiled once and its matches go to each rule.
        let mut patterns: Vec<PatternSource> = Vec::new();
        let mut by_key: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (id, rule) in registry::all().iter().enumerate().filter(|(id, _)| selected(*id)) {
            let split = pattern::split_patterns(rule.query_source)
                .ok_or_else(|| EngineError(format!("query {} does not compile: unbalanced brackets", rule.file)))?;
            for (range, key) in split {
                let text = rule.query_source.get(range).unwrap_or("");
                match by_key.get(&key) {
                    Some(&i) => patterns[i].rules.push(id),
                    None => {
                        by_key.insert(key, patterns.len());
                        let gate = pattern::gate(text).filter(|(_, names)| !names.is_empty());
                        patterns.push(PatternSource { text, rules: vec![id], file: rule.file, gate });
                    }
                }
            }
        }
        let mut gate_names: crate::fast_hash::FastMap<pattern::Slot, std::collections::HashSet<String, _>> =
            crate::fast_hash::FastMap::default();
        let language = language();
        let mut mention_words = vec![Vec::new(); language.node_kind_count()];
        let (gated, rest): (Vec<&PatternSource>, Vec<&PatternSource>) = patterns.iter().partition(|p| {
            if walk_full {
                return false;
            }
            if let Some((slot, names)) = &p.gate {
                gate_names.entry(*slot).or_default().extend(names.iter().cloned());
                return true;
            }
            // The root kind must be a known one (id 0 is none).
            let mentioned = pattern::mention_gate(p.text)
                .map(|(kind, words)| (usize::from(language.id_for_node_kind(&kind, true)), words))
                .filter(|(kind, words)| *kind != 0 && !words.is_empty());
            match mentioned.and_then(|(kind, words)| Some((mention_words.get_mut(kind)?, words))) {
                Some((slot, words)) => {
                    // Shared patterns' words come once per rule: each is searched once.
                    for word in words {
                        if !slot.contains(&word) {
                            slot.push(word);
                        }
                    }
                    true
                }
                None => false,
            }
        });
        // The root-kind walk collects comments itself; the cursor needs a pattern for them.
        let mut compiled = CompiledQuery::compile("", &rest, walk_full)?;
        if compiled.root_kinds.is_none() {
            compiled = CompiledQuery::compile(COMMENT_PATTERN, &rest, true)?;
        }
        let rest = compiled;
        let gated = if gated.is_empty() { None } else { Some(CompiledQuery::compile("", &gated, false)?) };
        let kinds = SyntaxIds {
            call: language.id_for_node_kind("call", true),
            keyword_argument: language.id_for_node_kind("keyword_argument", true),
            string: language.id_for_node_kind("string", true),
            comment: language.id_for_node_kind("comment", true),
            identifier: language.id_for_node_kind("identifier", true),
            attribute: language.id_for_node_kind("attribute", true),
            function: language.field_id_for_name("function"),
            object: language.field_id_for_name("object"),
            attribute_field: language.field_id_for_name("attribute"),
            name: language.field_id_for_name("name"),
            right: language.field_id_for_name("right"),
        };
        let triggers = rest.root_kinds.as_ref().and_then(|roots| {
            crate::triggers::Triggers::new(&language, roots, gate_names.values().flatten(), &mention_words)
        });
        let statement_mentions = (0..mention_words.len())
            .filter_map(|id| {
                let words = mention_words.get(id).filter(|w| !w.is_empty())?;
                let id = u16::try_from(id).ok()?;
                crate::triggers::holds_statements(language.node_kind_for_id(id)?).then(|| (id, words.clone()))
            })
            .collect();
        Ok(Engine { rest, gated, gate_names, mention_words, statement_mentions, triggers, kinds })
    }

    /// The names `node` carries in the gate slots, if a gated pattern can match there: if
    /// one of them is a gate name, or the node's text mentions a gate word of its kind.
    fn gate_names<'s>(
        &self,
        node: Node<'_>,
        text: &'s str,
        occurrences: &mut crate::triggers::Occurrences,
    ) -> Option<NodeNames<'s>> {
        let k = &self.kinds;
        fn field(node: Node<'_>, id: Option<std::num::NonZeroU16>) -> Option<Node<'_>> {
            id.and_then(|f| node.child_by_field_id(f.get()))
        }
        let name = |node: Option<Node<'_>>| {
            node.filter(|n| n.kind_id() == k.identifier).and_then(|n| text.get(n.byte_range()))
        };
        let kind = node.kind_id();
        let mut names = NodeNames::default();
        if kind == k.keyword_argument {
            names.keyword = name(field(node, k.name));
        } else if kind == k.attribute {
            names.attribute = name(field(node, k.attribute_field));
        } else if kind == k.call {
            let function = field(node, k.function);
            if let Some(function) = function.filter(|f| f.kind_id() == k.identifier) {
                names.callee = name(Some(function));
            } else if let Some(function) = function.filter(|f| f.kind_id() == k.attribute) {
                names.callee = name(field(function, k.attribute_field));
                let object = field(function, k.object).filter(|object| object.kind_id() == k.attribute);
                names.receiver = object.and_then(|object| name(field(object, k.attribute_field)));
            }
        }
        let gated = |(slot, name): (pattern::Slot, &str)| self.gate_names.get(&slot).is_some_and(|n| n.contains(name));
        let named = names.callee.is_some() || names.receiver.is_some() || names.keyword.is_some();
        if (named || names.attribute.is_some()) && names.slots().any(gated) {
            return Some(names);
        }
        let words = self.mention_words.get(usize::from(kind)).filter(|w| !w.is_empty())?;
        if let Some(found) = occurrences.within(kind, node.start_byte(), node.end_byte()) {
            return found.then_some(names);
        }
        let own = text.get(node.byte_range()).unwrap_or_default();
        words.iter().any(|w| own.contains(w.as_str())).then_some(names)
    }

    /// Runs every enabled rule over one parsed file in a single walk.
    pub(crate) fn run(&self, file: &SourceFile, tree: &Tree, enabled: &dyn Fn(RuleId) -> bool) -> FileMatches {
        let rules = registry::all();
        let mut checker = Checker::new(file);
        let mut comments = Vec::new();
        let mut walked_comments = Vec::new();
        let mut cursor = QueryCursor::new();
        let text = file.text.as_bytes();
        let _imports = crate::python::import_cache::scope();
        let mut found = |owners: &[RuleId], names: &[&str], captures: &[(u32, Node<'_>)]| {
            let mut matched: Option<Match<'_, '_>> = None;
            for &rule_id in owners {
                let Some(check) = rules[rule_id].check.filter(|_| enabled(rule_id)) else {
                    continue;
                };
                let matched = matched.get_or_insert_with(|| Match { captures: captures.to_vec(), names });
                checker.rule = rule_id;
                check(&mut checker, matched);
            }
        };
        match &self.rest.root_kinds {
            None => {
                if let Some(query) = &self.rest.query {
                    let mut matches = cursor.matches(query, tree.root_node(), text);
                    while let Some(m) = matches.next() {
                        if self.rest.pattern_rules.get(m.pattern_index).is_none_or(Vec::is_empty) {
                            let comment = m.captures().iter().find(|c| Some(c.index) == self.rest.comment_capture);
                            comments.extend(comment.map(|c| c.node.byte_range()));
                            continue;
                        }
                        self.rest.cursor_match(m.pattern_index, m.captures(), &file.text, &mut found);
                    }
                }
            }
            Some(root_kinds) => {
                // Pre-order walk; at a possible pattern root, only patterns rooted there match.
                cursor.set_max_start_depth(Some(0));
                let mut state = crate::matcher::State::default();
                let mut walk = tree.walk();
                // The walk's path (root first, the current node last), published to the rules
                // while they run so that their parent lookups need no descent from the root.
                let mut path = vec![tree.root_node().into_raw()];
                let mut places = self.triggers.as_ref().map(|t| (t, t.places(&file.text)));
                let mut occurrences = crate::triggers::Occurrences::find(&self.statement_mentions, &file.text);
                // How the walk moves among the siblings of each node on its path.
                let mut modes = vec![Children::All];
                'walk: loop {
                    let node = walk.node();
                    if let Some(last) = path.last_mut() {
                        *last = node.into_raw();
                    }
                    let kind = node.kind_id();
                    if kind == self.kinds.comment {
                        walked_comments.push(node.byte_range());
                    }
                    // Does the node hold a trigger place? Inside an expression, no pattern can start
                    // at a node without one (`triggers`); statement kinds' mentions are no places.
                    let placed = places.as_mut().is_none_or(|(triggers, places)| {
                        places.any_within(node.start_byte(), node.end_byte()) || triggers.descends(kind)
                    });
                    let gated = self
                        .gated
                        .as_ref()
                        .filter(|_| placed)
                        .and_then(|g| Some((g, self.gate_names(node, &file.text, &mut occurrences)?)));
                    let rooted = root_kinds.get(usize::from(kind)).copied().unwrap_or(false);
                    if gated.is_some() || rooted {
                        let _published = crate::syntax::PublishedPath::new(&mut path);
                        if let Some((gated, names)) = &gated {
                            gated.matches_at(node, names, &file.text, &mut cursor, &mut state, &mut found);
                        }
                        if rooted {
                            self.rest.matches_at(
                                node,
                                &NodeNames::default(),
                                &file.text,
                                &mut cursor,
                                &mut state,
                                &mut found,
                            );
                        }
                    }
                    // A string's parts hold no pattern root unless it is an f-string (or
                    // t-string) with interpolations; comments cannot sit inside one.
                    let children = if kind == self.kinds.string && !interpolates(node, text) {
                        None
                    } else if let Some((triggers, places)) = places.as_mut() {
                        // Statements (and what may hold them) are walked child by child; an
                        // expression only where it holds a trigger place (`triggers`).
                        if triggers.descends(kind)
                            || node.has_error()
                            || (triggers.chains(kind)
                                && self
                                    .kinds
                                    .right
                                    .and_then(|f| node.child_by_field_id(f.get()))
                                    .is_some_and(|right| triggers.chains(right.kind_id())))
                        {
                            Some(Children::All)
                        } else {
                            places
                                .first_from(node.start_byte())
                                .filter(|_| placed)
                                .map(|first| Children::Placed { first, end: node.end_byte() })
                        }
                    } else {
                        Some(Children::All)
                    };
                    let entered = match children {
                        Some(Children::All) => walk.goto_first_child(),
                        // Straight to the child holding the first place: the tree-sitter cursor
                        // passes over the children before it without stepping onto each.
                        Some(Children::Placed { first, .. }) => walk.goto_first_child_for_byte(first).is_some(),
                        None => false,
                    };
                    if let Some(children) = children.filter(|_| entered) {
                        path.push(node.into_raw());
                        modes.push(children);
                        continue;
                    }
                    loop {
                        let moved = match modes.last() {
                            Some(Children::Placed { end, .. }) => {
                                // On to the next sibling that holds a place, if the parent has one left.
                                let next = walk.node().end_byte();
                                let first = places.as_mut().and_then(|(_, p)| p.first_from(next));
                                match first.filter(|first| first < end) {
                                    Some(first) => loop {
                                        if !walk.goto_next_sibling() {
                                            break false;
                                        }
                                        if walk.node().end_byte() > first {
                                            break true;
                                        }
                                    },
                                    None => false,
                                }
                            }
                            _ => walk.goto_next_sibling(),
                        };
                        if moved {
                            break;
                        }
                        if !walk.goto_parent() {
                            break 'walk;
                        }
                        path.pop();
                        modes.pop();
                    }
                }
            }
        }
        comments.append(&mut walked_comments);
        let deferred = std::mem::take(&mut checker.deferred);
        let mut diagnostics = checker.diagnostics;
        // Two patterns of one rule may reach the same node: report it once.
        diagnostics.sort_by_key(|a| (a.range.start, a.range.end, a.rule));
        diagnostics.dedup_by(|a, b| a.rule == b.rule && a.range == b.range);
        FileMatches { diagnostics, comments, deferred }
    }
}

/// How the engine walk moves among a node's children.
#[derive(Clone, Copy)]
enum Children {
    /// Every child: statements, what may hold them (an error, a chained assignment), or every
    /// node when no trigger places are known.
    All,
    /// Only the children holding a trigger place: an expression, entered for its places, whose
    /// first place is at byte `first` and which ends at byte `end`.
    Placed { first: usize, end: usize },
}

/// Can this `string` node hold interpolations: does its prefix (`rb`, `f`, `Rt`...) have an f or t?
fn interpolates(string: Node<'_>, text: &[u8]) -> bool {
    let prefix = text.get(string.start_byte()..).unwrap_or_default();
    prefix.iter().take(3).take_while(|b| !matches!(b, b'"' | b'\'')).any(|b| matches!(b, b'f' | b'F' | b't' | b'T'))
}

/// First syntax error in a tree, as a byte offset (the tree may still be linted).
pub(crate) fn first_syntax_error(tree: &Tree) -> Option<usize> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    // Iterative descent (files may nest thousands deep): follow the first child with an error.
    let mut node: Node = root;
    loop {
        if node.is_error() || node.is_missing() {
            return Some(node.start_byte());
        }
        let mut cursor = node.walk();
        let next = node.children(&mut cursor).find(|child| child.has_error());
        match next {
            Some(child) => node = child,
            None => return Some(node.start_byte()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_query_compiles_alone_and_combined() {
        for rule in registry::all() {
            if let Err(err) = Query::new(&language(), rule.query_source) {
                panic!("{} does not compile: {err}", rule.file);
            }
        }
        Engine::build(true, &|_| true).expect("every pattern compiles into one tree-sitter query");
        let engine = Engine::new().expect("the engine builds");
        // Every rule owns at least one pattern.
        for id in 0..registry::all().len() {
            let owns = |q: &CompiledQuery| {
                q.pattern_rules.iter().chain(q.matchers.iter().map(|(_, r)| r)).any(|r| r.contains(&id))
            };
            assert!(
                owns(&engine.rest) || engine.gated.as_ref().is_some_and(owns),
                "{} has no pattern",
                registry::all()[id].code
            );
        }
    }

    #[test]
    fn identical_patterns_of_several_rules_run_once_for_each_rule() {
        let engine = Engine::new().unwrap();
        let code = |name: &str| registry::all().iter().position(|r| r.code == name).unwrap();
        let (sa401, sa403) = (code("SA401"), code("SA403"));
        // SA401 and SA403 write the same criteria patterns: one compiled pattern owned by both.
        let shared = |q: &CompiledQuery| {
            q.pattern_rules
                .iter()
                .chain(q.matchers.iter().map(|(_, r)| r))
                .any(|r| r.contains(&sa401) && r.contains(&sa403))
        };
        assert!(shared(&engine.rest) || engine.gated.as_ref().is_some_and(shared));
        let text = "session.query(User).filter(User.name is None, User.id in ids).all()\n";
        let tree = parse(text).unwrap();
        let file = SourceFile::new(text.into());
        let found = engine.run(&file, &tree, &|_| true);
        let rules: Vec<_> = found.diagnostics.iter().map(|d| registry::all()[d.rule].code.as_str()).collect();
        assert!(rules.contains(&"SA401") && rules.contains(&"SA403"), "{rules:?}");
        // Only the selected rule of a shared pattern runs.
        let only_sa403 = engine.run(&file, &tree, &|id| id == sa403);
        assert!(only_sa403.diagnostics.iter().all(|d| d.rule == sa403) && !only_sa403.diagnostics.is_empty());
    }

    #[test]
    fn root_kinds_are_read_from_simple_patterns_only() {
        let lang = language();
        let id = |kind: &str| lang.id_for_node_kind(kind, true);
        let roots = |pattern: &str| pattern::root_kinds(pattern, &lang);
        assert_eq!(roots("(call function: (identifier) @f (#eq? @f \"len\")) @span"), Some(vec![id("call")]));
        assert_eq!(roots("; c (x)\n((call) @c (#match? @c \"[(]\\\"\"))"), Some(vec![id("call")]));
        assert_eq!(roots("[(call) (attribute) @a] @x"), Some(vec![id("call"), id("attribute")]));
        assert_eq!(roots("(comment) @sqlalint.comment"), Some(vec![id("comment")]));
        for fallback in [
            "(_) @any",
            "(expression) @supertype",
            "(expression/identifier) @x",
            "((comment) (function_definition))",
            "(comment)+ @run",
            "\"len\" @kw",
            "[(call) \"if\"]",
            "(ERROR) @e",
            "(no_such_kind) @x",
            "(call",
        ] {
            assert_eq!(roots(fallback), None, "{fallback}");
        }
    }

    /// The root-kind walk must find exactly what the whole-tree cursor walk finds.
    #[test]
    fn root_kind_walk_matches_the_full_walk() {
        let fast = Engine::new().unwrap();
        assert!(
            fast.rest.root_kinds.is_some(),
            "some rule pattern's root kind is not recognised: the engine is slower"
        );
        assert!(fast.gated.is_some(), "no pattern is gated by the names it matches: the engine is slower");
        assert!(fast.triggers.is_some(), "some pattern root can sit in an expression without a trigger word");
        let for_statement = usize::from(language().id_for_node_kind("for_statement", true));
        assert!(!fast.rest.direct[for_statement].is_empty(), "`(for_statement) @loop` is matched without a cursor");
        assert!(
            fast.rest.query.is_none() && fast.gated.as_ref().is_none_or(|g| g.query.is_none()),
            "some rule pattern is outside the matcher's subset: it runs on the slower query cursor"
        );
        let full = Engine::build(true, &|_| true).unwrap();
        assert!(full.gated.is_none() && full.rest.root_kinds.is_none());
        let mut texts = crate::python::test_support::fixture_texts();
        texts.push("len(len(q.all()))  # noqa\nf(len(a.all()), [len(b.all()) for _ in x]  # c\n".into());
        texts.push("def f(:\n    len(session.query(U).all())  # broken\nclass\n".into());
        // Calls inside f-string interpolations are walked; other strings' parts are not.
        texts.push("a = f\"{len(q.all())}\"\nb = rF'{len(session.query(U).all())}'\nc = '{len(q.all())}'\n".into());
        // Expression subtrees are skipped unless they hold a trigger (`triggers`).
        texts.push("x = foo(a,  # noqa\n    b)\ny = bar([len(u.all()) for u in users])\nz = {'k': 'dynamic'}\n".into());
        texts.push("w = é(len(q.all()), {'posts': relationship('P', lazy='dynamic')})\nv = 1all(q)\n".into());
        // Assignments are walked into only when chained (`c = d = ...`); simple statements hold comments.
        texts.push(
            "from sqlalchemy.orm import sessionmaker\nfrom a import (b,  # noqa\n    c)\nSessionLocal = sessionmaker()\n\n\n\
             def f():\n    c = d = SessionLocal()\n    return d.get(User, 1)  # noqa: SA201\n"
                .into(),
        );
        for text in texts {
            let tree = parse(&text).unwrap();
            let file = SourceFile::new(text.clone());
            let key = |m: FileMatches| {
                let found: Vec<_> = m.diagnostics.into_iter().map(|d| (d.rule, d.range, d.message)).collect();
                (found, m.comments)
            };
            assert_eq!(key(fast.run(&file, &tree, &|_| true)), key(full.run(&file, &tree, &|_| true)), "{text}");
        }
    }

    #[test]
    fn deep_nesting_parses_without_overflow() {
        let depth = 10_000;
        let text = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        let tree = parse(&text).expect("parses");
        let file = SourceFile::new(text);
        let engine = Engine::new().unwrap();
        let _ = engine.run(&file, &tree, &|_| true);
        let _ = first_syntax_error(&tree);
    }
}
