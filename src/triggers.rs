//! Where in a file a rule pattern can start: the engine walk skips expression subtrees
//! that hold none of these places.
//!
//! Inside an expression only three things can start a match or must be seen: a gated
//! pattern's root (a call, keyword argument or attribute whose name is one of the gate
//! names, or a node whose text mentions a gate word), a comprehension (rooted patterns
//! of loops; its text holds the `for` keyword), and a comment (`#`, for `# noqa`).
//! Statements and assignments never sit inside an expression, so the statement-level
//! root kinds need no trigger. One pass over the bytes lists every place a trigger
//! could be; a subtree whose byte range holds none of them is not walked. The pass is
//! conservative: words are matched as runs of ASCII name bytes, so a non-ASCII byte
//! ends a run (`éall` holds `all`; Python names may be Unicode, but a gate name is
//! ASCII and the grammar's whitespace may be too), every suffix of a run that starts
//! with a digit is tried (a parser recovering from `1all` may split it), and words are
//! also found inside strings and comments: a subtree is skipped only when it certainly
//! holds no match.
use std::collections::HashSet;

use tree_sitter::Language;

/// Root kinds that only occur in a comprehension, whose text then holds `for`.
const COMPREHENSIONS: [&str; 4] =
    ["list_comprehension", "dictionary_comprehension", "set_comprehension", "generator_expression"];

pub(crate) struct Triggers {
    /// Identifier tokens that may open a gate or start a comprehension.
    words: HashSet<Vec<u8>, std::hash::BuildHasherDefault<Fnv>>,
    /// `lengths[bucket(first byte, last byte)]`: bit `n` is set when a word of those bytes
    /// has length `n` (31 for 31 and longer): most tokens are rejected without hashing.
    lengths: Vec<u32>,
    /// Gate words matched anywhere in a node's text (`#sqlalint-mentions?`) whose node
    /// can sit inside an expression: those made of name bytes are looked for in name
    /// runs only, the others in the whole text.
    name_substrings: Vec<String>,
    text_substrings: Vec<String>,
    /// `descend[kind_id]`: kinds whose subtree can hold statements (or an `ERROR`): always walked.
    descend: Vec<bool>,
    /// `chain[kind_id]`: the [`CHAINS`] kinds.
    chain: Vec<bool>,
}

/// Can subtrees of this kind hold statements? The grammar (`node-types.json`, checked by a
/// test) puts statements in `module` and `block` only, blocks in compound statements, their
/// clauses and definitions, and assignments in expression statements; simple statements
/// (`return`, `import`, ...) and comprehension clauses hold only expressions. Assignments
/// themselves are [`chains`].
pub(crate) fn holds_statements(kind: &str) -> bool {
    matches!(
        kind,
        "module"
            | "block"
            | "ERROR"
            | "expression_statement"
            | "if_statement"
            | "elif_clause"
            | "else_clause"
            | "for_statement"
            | "while_statement"
            | "try_statement"
            | "except_clause"
            | "finally_clause"
            | "with_statement"
            | "match_statement"
            | "case_clause"
            | "function_definition"
            | "class_definition"
            | "decorated_definition"
    )
}

/// Kinds that hold statements only as a chain: an assignment sits in an expression statement
/// or as the `right` side of another assignment (`a = b = f()`), nowhere else. The walk enters
/// one without a trigger place only when its right side is one of these.
pub(crate) const CHAINS: [&str; 2] = ["assignment", "augmented_assignment"];

impl Triggers {
    /// Triggers for an engine whose ungated patterns start at `root_kinds` (by kind id),
    /// whose gated patterns need one of `names` as an identifier, and whose mention-gated
    /// patterns need, at a node of kind id `i`, one of `mentions[i]` in its text. `None`
    /// when some ungated root kind can sit inside an expression without a trigger: the
    /// walk then visits every node.
    pub(crate) fn new<'a>(
        language: &Language,
        root_kinds: &[bool],
        names: impl Iterator<Item = &'a String>,
        mentions: &[Vec<String>],
    ) -> Option<Self> {
        let count = language.node_kind_count();
        let kind = |id: usize| u16::try_from(id).ok().and_then(|id| language.node_kind_for_id(id)).unwrap_or("");
        let descend: Vec<bool> = (0..count).map(|id| holds_statements(kind(id))).collect();
        let chain: Vec<bool> = (0..count).map(|id| CHAINS.contains(&kind(id))).collect();
        let mut words: HashSet<Vec<u8>, _> = names.map(|n| n.as_bytes().to_vec()).collect();
        // The pass finds words as runs of ASCII name bytes: another word could never be found.
        if words
            .iter()
            .any(|w| w.first().is_none_or(u8::is_ascii_digit) || w.iter().any(|&b| CLASS[usize::from(b)] < DIGIT))
        {
            return None;
        }
        for (id, rooted) in root_kinds.iter().enumerate() {
            if !rooted || descend.get(id).copied().unwrap_or(false) || chain.get(id).copied().unwrap_or(false) {
                continue;
            }
            if !COMPREHENSIONS.contains(&kind(id)) {
                return None;
            }
            words.insert(b"for".to_vec());
        }
        let mut substrings: Vec<String> = Vec::new();
        for (id, found) in mentions.iter().enumerate() {
            if !descend.get(id).copied().unwrap_or(false) {
                substrings.extend(found.iter().cloned());
            }
        }
        substrings.sort();
        substrings.dedup();
        // An empty word would be everywhere: no skipping is sound then.
        if substrings.iter().any(String::is_empty) {
            return None;
        }
        let mut lengths = vec![0u32; BUCKETS];
        for word in &words {
            lengths[bucket(word)?] |= 1 << word.len().min(31);
        }
        let (name_substrings, text_substrings) =
            substrings.into_iter().partition(|s| s.bytes().all(|b| CLASS[usize::from(b)] >= DIGIT));
        Some(Triggers { words, lengths, name_substrings, text_substrings, descend, chain })
    }

    /// Is a subtree of kind `kind_id` always walked?
    pub(crate) fn descends(&self, kind_id: u16) -> bool {
        self.descend.get(usize::from(kind_id)).copied().unwrap_or(true)
    }

    /// Is `kind_id` one of the [`CHAINS`] kinds, walked when its right side is one too?
    pub(crate) fn chains(&self, kind_id: u16) -> bool {
        self.chain.get(usize::from(kind_id)).copied().unwrap_or(false)
    }

    fn is_word(&self, token: &[u8]) -> bool {
        let Some(bucket) = bucket(token) else { return false };
        self.lengths[bucket] & (1 << token.len().min(31)) != 0 && self.words.contains(token)
    }

    /// Sorted byte offsets of every place in `text` a trigger may start.
    pub(crate) fn places(&self, text: &str) -> Places {
        let bytes = text.as_bytes();
        let mut at = Vec::new();
        // 64 bytes at a time: a mask of name bytes and one of marks, computed without a branch
        // per byte; then only run starts and marks are visited. A branch at every run boundary
        // (one every few bytes, unpredictable) made the bytewise loop a tenth of the walk.
        let mut continues = false;
        for (block_index, block) in bytes.chunks(64).enumerate() {
            let base = block_index * 64;
            let (names, marks) = masks(block);
            let starts = names & !((names << 1) | u64::from(continues));
            let mut events = starts | marks;
            while events != 0 {
                let j = events.trailing_zeros() as usize;
                events &= events - 1;
                if marks >> j & 1 == 1 {
                    at.push(base + j);
                    continue;
                }
                // The run ends at the first byte that is no name byte: in this block, or past it.
                let mut end = base + j + (!(names >> j)).trailing_zeros() as usize;
                if end >= base + block.len() {
                    end = base + block.len();
                    while bytes.get(end).is_some_and(|&b| CLASS[usize::from(b)] >= DIGIT) {
                        end += 1;
                    }
                }
                self.check_token(bytes, base + j, end, &mut at);
            }
            continues = block.len() == 64 && names >> 63 == 1;
        }
        // A word of name bytes occurs only inside a run of name bytes: searching the whole text
        // finds the same places as searching each run, in far fewer steps.
        for word in self.name_substrings.iter().chain(&self.text_substrings) {
            every_occurrence(bytes, word.as_bytes(), &mut at);
        }
        if !self.text_substrings.is_empty() || !self.name_substrings.is_empty() {
            at.sort_unstable();
        }
        Places { at, next: 0 }
    }

    /// Records where `bytes[start..end]`, a run of ASCII name bytes, holds a trigger.
    fn check_token(&self, bytes: &[u8], start: usize, end: usize, at: &mut Vec<usize>) {
        let token = &bytes[start..end];
        let found = if token[0].is_ascii_digit() {
            // `1all`: a recovering parser may read a number, then a name.
            (1..token.len()).any(|j| {
                CLASS[usize::from(token[j])] == NAME && token[j - 1].is_ascii_digit() && self.is_word(&token[j..])
            })
        } else {
            self.is_word(token)
        };
        if found {
            at.push(start);
        }
    }
}

/// Bit `j` of the first mask: `block[j]` is a name byte (digit, letter or `_`); of the second:
/// a mark (`#`). One flag byte per byte, by arithmetic (a loop the compiler vectorises), then
/// eight flags at a time packed into bits.
fn masks(block: &[u8]) -> (u64, u64) {
    let (mut names, mut marks) = ([0u8; 64], [0u8; 64]);
    for ((name, mark), &b) in names.iter_mut().zip(marks.iter_mut()).zip(block) {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        *name = u8::from(letter | digit | (b == b'_'));
        *mark = u8::from(b == b'#');
    }
    (pack(&names), pack(&marks))
}

/// Bit `j` set when `flags[j]` is 1 (flags are 0 or 1).
fn pack(flags: &[u8; 64]) -> u64 {
    let mut bits = 0;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(eight);
        // Byte `i` (0 or 1) of the word lands on bit 56 + i of the product, and nothing else does.
        bits |= (u64::from_le_bytes(word).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    bits
}

/// Appends the start of every occurrence of `word` in `bytes`, overlapping ones included.
pub(crate) fn every_occurrence(bytes: &[u8], word: &[u8], at: &mut Vec<usize>) {
    let finder = memchr::memmem::Finder::new(word);
    let mut from = 0;
    while let Some(found) = bytes.get(from..).and_then(|rest| finder.find(rest)) {
        at.push(from + found);
        from += found + 1;
    }
}

/// Byte classes for [`Triggers::places`]: other bytes, trigger marks (`#`),
/// digits, and bytes that start names (`A-Z`, `a-z`, `_`).
const OTHER: u8 = 0;
const MARK: u8 = 1;
const DIGIT: u8 = 2;
const NAME: u8 = 3;
const CLASS: [u8; 256] = {
    let mut class = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = if c == b'#' {
            MARK
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c.is_ascii_alphabetic() || c == b'_' {
            NAME
        } else {
            OTHER
        };
        b += 1;
    }
    class
};

/// FNV-1a: the words are few and short, SipHash's strength buys nothing here.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

const BUCKETS: usize = 1024;

/// A word's bucket in [`Triggers::lengths`], from its first and last bytes.
fn bucket(word: &[u8]) -> Option<usize> {
    let (first, last) = (word.first()?, word.last()?);
    Some((usize::from(*first) * 31 + usize::from(*last)) % BUCKETS)
}

/// Trigger places of one file, read in walk order.
pub(crate) struct Places {
    at: Vec<usize>,
    next: usize,
}

impl Places {
    /// Does `start..end` hold a trigger place? Calls must come with nondecreasing
    /// `start` (a pre-order walk's node starts are).
    pub(crate) fn any_within(&mut self, start: usize, end: usize) -> bool {
        while self.at.get(self.next).is_some_and(|&p| p < start) {
            self.next += 1;
        }
        self.at.get(self.next).is_some_and(|&p| p < end)
    }

    /// The first place at or after `start` (same order rule as [`Places::any_within`]).
    pub(crate) fn first_from(&mut self, start: usize) -> Option<usize> {
        while self.at.get(self.next).is_some_and(|&p| p < start) {
            self.next += 1;
        }
        self.at.get(self.next).copied()
    }
}

/// Where the mention words of statement kinds (whose nodes the walk always visits, and whose
/// words are therefore no trigger places) occur in one file: one text search per word and
/// file instead of one per statement.
pub(crate) struct Occurrences {
    /// Per kind id: the byte ranges of its words' occurrences, sorted, and the next to look at.
    kinds: Vec<(u16, Vec<std::ops::Range<usize>>, usize)>,
}

impl Occurrences {
    pub(crate) fn find(kinds: &[(u16, Vec<String>)], text: &str) -> Self {
        let kinds = kinds
            .iter()
            .map(|(kind, words)| {
                let mut ranges = Vec::new();
                for word in words {
                    let mut starts = Vec::new();
                    every_occurrence(text.as_bytes(), word.as_bytes(), &mut starts);
                    ranges.extend(starts.into_iter().map(|start| start..start + word.len()));
                }
                ranges.sort_unstable_by_key(|r| (r.start, r.end));
                (*kind, ranges, 0)
            })
            .collect();
        Occurrences { kinds }
    }

    /// Does `start..end` hold a whole occurrence of one of the words of `kind` (`None`: the
    /// kind has no list)? Calls for one kind must come with nondecreasing `start`.
    pub(crate) fn within(&mut self, kind: u16, start: usize, end: usize) -> Option<bool> {
        let (_, ranges, next) = self.kinds.iter_mut().find(|(k, _, _)| *k == kind)?;
        while ranges.get(*next).is_some_and(|r| r.start < start) {
            *next += 1;
        }
        Some(ranges.iter().skip(*next).take_while(|r| r.start < end).any(|r| r.end <= end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn triggers() -> Triggers {
        let language = crate::engine::language();
        let mut roots = vec![false; language.node_kind_count()];
        for kind in ["for_statement", "assignment", "list_comprehension"] {
            roots[usize::from(language.id_for_node_kind(kind, true))] = true;
        }
        let names = ["all".to_string(), "query".to_string()];
        let mut mentions = vec![Vec::new(); roots.len()];
        mentions[usize::from(language.id_for_node_kind("pair", true))] =
            vec!["dynamic".to_string(), "y = ".to_string(), "abab".to_string(), "= =".to_string()];
        mentions[usize::from(language.id_for_node_kind("module", true))] = vec!["down_revision".to_string()];
        Triggers::new(&language, &roots, names.iter(), &mentions).expect("statement and comprehension roots")
    }

    /// The places as a plain byte-by-byte scan finds them: the reference for [`Triggers::places`].
    fn places_bytewise(t: &Triggers, text: &str) -> Vec<usize> {
        let bytes = text.as_bytes();
        let mut at = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match CLASS[usize::from(bytes[i])] {
                OTHER => i += 1,
                MARK => {
                    at.push(i);
                    i += 1;
                }
                _ => {
                    let start = i;
                    while i < bytes.len() && CLASS[usize::from(bytes[i])] >= DIGIT {
                        i += 1;
                    }
                    t.check_token(bytes, start, i, &mut at);
                }
            }
        }
        for word in t.name_substrings.iter().chain(&t.text_substrings) {
            every_occurrence(bytes, word.as_bytes(), &mut at);
        }
        at.sort_unstable();
        at
    }

    #[test]
    fn occurrences_are_whole_words_inside_the_range() {
        let text = "update(x)\nfoo.update\ny = 1\ninsert  # delete\n";
        let mut found = Occurrences::find(&[(7, vec!["update".into(), "insert".into(), "delete".into()])], text);
        assert_eq!(found.within(3, 0, 9), None, "a kind without words");
        assert_eq!(found.within(7, 0, 9), Some(true));
        assert_eq!(found.within(7, 10, 19), Some(false), "`update` runs past the range's end");
        assert_eq!(found.within(7, 10, 20), Some(true));
        assert_eq!(found.within(7, 21, 26), Some(false));
        assert_eq!(found.within(7, 27, 33), Some(true));
        assert_eq!(found.within(7, 34, 43), Some(true), "found after an earlier occurrence that runs past");
    }

    #[test]
    fn block_masks_find_what_a_bytewise_scan_finds() {
        let t = triggers();
        for bits in 0..=255u64 {
            let mut flags = [0u8; 64];
            for (j, flag) in flags.iter_mut().enumerate() {
                *flag = u8::from(bits >> (j % 8) & 1 == 1);
            }
            assert_eq!(pack(&flags), bits * 0x0101_0101_0101_0101, "{bits}");
        }
        for b in 0..=255u8 {
            let (names, marks) = masks(&[b]);
            assert_eq!(
                (names == 1, marks == 1),
                (CLASS[usize::from(b)] >= DIGIT, CLASS[usize::from(b)] == MARK),
                "{b}"
            );
        }
        // Runs across block boundaries, at both ends of the text, digit-led, non-ASCII around them.
        let mut texts: Vec<String> = Vec::new();
        for pad in 0..70 {
            for word in ["all", "xall", "1all", "query", "é", "#", "a1all", "9for"] {
                let filler = "_".repeat(pad);
                texts.push(format!("{filler}{word} all"));
                texts.push(format!("{}{word}", "-".repeat(pad)));
                texts.push(format!("{}{word}{filler}", "(".repeat(pad)));
                texts.push(format!("{} {word}.all()", "x".repeat(pad)));
            }
        }
        texts.push("all".repeat(100));
        texts.push(format!("{}all", "q".repeat(200)));
        texts.extend(crate::python::test_support::fixture_texts());
        assert!(texts.len() > 2000);
        for text in &texts {
            assert_eq!(t.places(text).at, places_bytewise(&t, text), "{text:?}");
        }
    }

    #[test]
    fn places_are_identifier_words_comments_non_ascii_and_mentions() {
        let t = triggers();
        let places = |text: &str| t.places(text).at;
        assert_eq!(places("x.all()"), vec![2]);
        // Not inside longer names; `for` starts comprehensions; `#` counts; non-ASCII bytes end names.
        assert_eq!(places("call(install, all_)"), Vec::<usize>::new());
        assert_eq!(places("[a for a in b] # c"), vec![3, 15]);
        assert_eq!(places("é = 1"), Vec::<usize>::new());
        assert_eq!(places("éall\u{a0}+ all\u{a0}(q)"), vec![2, 9]);
        // A digit-led token is split where a name could start.
        assert_eq!(places("1all 2x"), vec![0]);
        // Mentions match inside words and strings; statement-level mentions are not needed.
        assert_eq!(places("{'k': 'nondynamic'} down_revision"), vec![10]);
        assert_eq!(places("{'k': 'lazy = x'} dynamicdynamic"), vec![10, 18, 25]);
        // Overlapping occurrences are each a place.
        assert_eq!(places("x_ababab = = = 1"), vec![2, 4, 9, 11]);
    }

    #[test]
    fn any_within_reads_places_in_walk_order() {
        let t = triggers();
        let mut places = t.places("f(a) + g(x.all()) + h(b)");
        assert!(places.any_within(0, 24));
        assert!(!places.any_within(0, 4));
        assert!(places.any_within(7, 17));
        assert!(places.any_within(11, 14));
        assert!(!places.any_within(20, 24));
    }

    /// `holds_statements` and `CHAINS` say what the grammar allows: a kind holds statements
    /// exactly when a statement, block or assignment can sit somewhere under it, and an
    /// assignment holds one only as its `right` child.
    #[test]
    fn statement_holders_are_the_grammars() {
        let types: serde_json::Value = serde_json::from_str(tree_sitter_python::NODE_TYPES).unwrap();
        let types = types.as_array().unwrap();
        let name = |t: &serde_json::Value| t["type"].as_str().unwrap().to_string();
        let subtypes: HashMap<String, Vec<String>> = types
            .iter()
            .filter_map(|t| Some((name(t), t["subtypes"].as_array()?.iter().map(name).collect())))
            .collect();
        fn expand(kind: &str, subtypes: &HashMap<String, Vec<String>>, out: &mut HashSet<String>) {
            match subtypes.get(kind) {
                Some(kinds) => kinds.iter().for_each(|k| expand(k, subtypes, out)),
                None => {
                    out.insert(kind.to_string());
                }
            }
        }
        // Children of each named kind, by field (`""`: unfielded children), supertypes expanded.
        let mut children: HashMap<String, Vec<(String, HashSet<String>)>> = HashMap::new();
        for t in types.iter().filter(|t| t["named"] == true && t.get("subtypes").is_none()) {
            let mut slots = Vec::new();
            let fields = t["fields"].as_object().into_iter().flatten().map(|(f, v)| (f.clone(), v));
            for (field, slot) in fields.chain(t.get("children").map(|c| (String::new(), c))) {
                let mut kinds = HashSet::new();
                for k in slot["types"].as_array().unwrap().iter().filter(|k| k["named"] == true) {
                    expand(&name(k), &subtypes, &mut kinds);
                }
                slots.push((field, kinds));
            }
            children.insert(name(t), slots);
        }
        let mut statements = HashSet::new();
        for supertype in ["_simple_statement", "_compound_statement"] {
            expand(supertype, &subtypes, &mut statements);
        }
        assert!(statements.contains("return_statement") && statements.contains("for_statement"));
        statements.insert("block".to_string());
        statements.extend(CHAINS.iter().map(|c| c.to_string()));
        // Kinds under which a statement can sit (fixpoint over the child relation).
        let mut holds: HashSet<String> = HashSet::new();
        loop {
            let before = holds.len();
            for (kind, slots) in &children {
                if slots.iter().flat_map(|(_, kinds)| kinds).any(|k| statements.contains(k) || holds.contains(k)) {
                    holds.insert(kind.clone());
                }
            }
            if holds.len() == before {
                break;
            }
        }
        for kind in children.keys() {
            if CHAINS.contains(&kind.as_str()) {
                assert!(!holds_statements(kind), "{kind}");
                for (field, kinds) in &children[kind] {
                    for k in kinds.iter().filter(|k| statements.contains(*k) || holds.contains(*k)) {
                        assert!(field == "right" && CHAINS.contains(&k.as_str()), "{kind}.{field}: {k}");
                    }
                }
            } else {
                assert_eq!(holds_statements(kind), holds.contains(kind), "{kind}");
            }
        }
        assert!(holds_statements("ERROR"));
    }

    #[test]
    fn an_expression_root_kind_without_a_trigger_disables_skipping() {
        let language = crate::engine::language();
        let mut roots = vec![false; language.node_kind_count()];
        roots[usize::from(language.id_for_node_kind("comparison_operator", true))] = true;
        assert!(Triggers::new(&language, &roots, std::iter::empty(), &[]).is_none());
        let no_roots = vec![false; roots.len()];
        for name in ["", "1st", "naïve", "a.b"] {
            let names = [name.to_string()];
            assert!(Triggers::new(&language, &no_roots, names.iter(), &[]).is_none(), "{name}");
        }
        assert!(Triggers::new(&language, &no_roots, ["first".to_string()].iter(), &[]).is_some());
        let t = triggers();
        let cases =
            [("block", true), ("else_clause", true), ("call", false), ("for_in_clause", false), ("if_clause", false)];
        for (kind, walked) in cases {
            assert_eq!(t.descends(language.id_for_node_kind(kind, true)), walked, "{kind}");
        }
    }
}
