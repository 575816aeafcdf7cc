//! What the engine reads off the text of tree-sitter query patterns before compiling
//! them: where each top-level pattern starts and ends (so identical patterns of several
//! rules compile once), which node kinds a pattern can start at (so the cursor runs only
//! there), and which callee names a call pattern's predicates allow (so the cursor is
//! not started at calls no such pattern can match). Each reading is conservative:
//! anything it does not recognise answers `None`, which costs speed, never a match.
use std::ops::Range;

use tree_sitter::Language;

/// One item of a pattern's S-expression: a `(...)` or `[...]` list, a string (its raw
/// text between the quotes), or any other token (kinds, `field:`, `@capture`, `#pred?`).
#[derive(Debug)]
pub(crate) enum Sexp<'a> {
    List(char, Vec<Sexp<'a>>, Range<usize>),
    Str(&'a str),
    Atom(&'a str, Range<usize>),
}

/// Reads the items of a query source (comments and whitespace skipped); `None` if unbalanced.
pub(crate) fn read_sexps(text: &str) -> Option<Vec<Sexp<'_>>> {
    fn items<'a>(text: &'a str, pos: &mut usize, close: Option<u8>) -> Option<Vec<Sexp<'a>>> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        while *pos < bytes.len() {
            let c = bytes[*pos];
            match c {
                c if c.is_ascii_whitespace() => *pos += 1,
                b';' => *pos = text[*pos..].find('\n').map_or(bytes.len(), |i| *pos + i),
                b'(' | b'[' => {
                    let start = *pos;
                    *pos += 1;
                    let inner = items(text, pos, Some(if c == b'(' { b')' } else { b']' }))?;
                    out.push(Sexp::List(char::from(c), inner, start..*pos));
                }
                b')' | b']' => {
                    *pos += 1;
                    return (close == Some(c)).then_some(out);
                }
                b'"' => {
                    *pos += 1;
                    let start = *pos;
                    while *pos < bytes.len() && bytes[*pos] != b'"' {
                        *pos += if bytes[*pos] == b'\\' { 2 } else { 1 };
                    }
                    out.push(Sexp::Str(text.get(start..*pos)?));
                    *pos += 1;
                }
                _ => {
                    let start = *pos;
                    while *pos < bytes.len() && !b" \t\r\n()[]\";".contains(&bytes[*pos]) {
                        *pos += 1;
                    }
                    out.push(Sexp::Atom(text.get(start..*pos)?, start..*pos));
                }
            }
        }
        close.is_none().then_some(out)
    }
    items(text, &mut 0, None)
}

/// A top-level pattern of a query source: its byte range (from its opening bracket to its
/// last trailing capture or quantifier) and a canonical text (comments and layout removed)
/// under which identical patterns compare equal. `None` if the source does not read.
pub(crate) fn split_patterns(source: &str) -> Option<Vec<(Range<usize>, String)>> {
    let mut out: Vec<(Range<usize>, String)> = Vec::new();
    for item in read_sexps(source)? {
        match &item {
            Sexp::List(_, _, span) => out.push((span.clone(), String::new())),
            Sexp::Atom(_, span) => out.last_mut()?.0.end = span.end,
            Sexp::Str(_) => return None,
        }
    }
    for (range, key) in &mut out {
        *key = canonical(&read_sexps(source.get(range.clone())?)?);
    }
    Some(out)
}

fn canonical(items: &[Sexp<'_>]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Sexp::List(open, inner, _) => {
                let close = if *open == '(' { ')' } else { ']' };
                format!("{open}{}{close}", canonical(inner))
            }
            Sexp::Str(text) => format!("\"{text}\""),
            Sexp::Atom(text, _) => (*text).to_string(),
        })
        .collect();
    parts.join(" ")
}

fn is_capture(item: &Sexp<'_>) -> bool {
    matches!(item, Sexp::Atom(a, _) if a.starts_with('@'))
}

fn is_predicate(item: &Sexp<'_>) -> bool {
    matches!(item, Sexp::List('(', inner, _) if matches!(inner.first(), Some(Sexp::Atom(a, _)) if a.starts_with('#')))
}

/// The single node of a sequence of items, ignoring captures (and predicates if allowed).
fn single<'s, 'a>(items: &'s [Sexp<'a>], predicates: bool) -> Option<&'s Sexp<'a>> {
    let mut nodes = items.iter().filter(|i| !(is_capture(i) || predicates && is_predicate(i)));
    let node = nodes.next()?;
    nodes.next().is_none().then_some(node)
}

/// The pattern's root node list: `(kind ...)` itself, or the one node of a group
/// `((kind ...) (#pred ...))`.
fn root_node<'s, 'a>(items: &'s [Sexp<'a>]) -> Option<&'s Sexp<'a>> {
    let mut node = single(items, false)?;
    while let Sexp::List('(', inner, _) = node {
        match inner.first()? {
            Sexp::List(..) => node = single(inner, true)?,
            _ => return Some(node),
        }
    }
    Some(node)
}

/// Root node kinds of one pattern's source: `(kind ...)`, `[(a ...) (b ...)]`, either
/// wrapped in a group with predicates (`((kind ...) (#eq? ...))`), with captures after
/// them. `None` for anything else: wildcards, supertypes, anonymous or unknown kinds,
/// sibling sequences, quantified or anchored roots.
pub(crate) fn root_kinds(pattern: &str, language: &Language) -> Option<Vec<u16>> {
    fn kinds(item: &Sexp<'_>, language: &Language, out: &mut Vec<u16>) -> Option<()> {
        match item {
            Sexp::List('(', inner, _) => match inner.first()? {
                Sexp::Atom(name, _) => {
                    let named = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && *name != "_";
                    let id = language.id_for_node_kind(name, true);
                    if !named || matches!(*name, "ERROR" | "MISSING") || id == 0 || language.node_kind_is_supertype(id)
                    {
                        return None;
                    }
                    out.push(id);
                    Some(())
                }
                Sexp::List(..) => kinds(single(inner, true)?, language, out),
                Sexp::Str(_) => None,
            },
            Sexp::List('[', inner, _) => {
                for alternative in inner.iter().filter(|i| !is_capture(i)) {
                    kinds(alternative, language, out)?;
                }
                Some(())
            }
            _ => None,
        }
    }
    let items = read_sexps(pattern)?;
    let mut out = Vec::new();
    kinds(single(&items, false)?, language, &mut out)?;
    Some(out)
}

/// Which name of a pattern's root node its predicates pin down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    /// A call's callee: the identifier, or the attribute's last name (`all` in `q.all()`).
    Callee,
    /// A method call's receiver attribute (`query` in `User.query.all()`).
    Receiver,
    /// A keyword argument's name (`lazy` in `lazy="dynamic"`).
    Keyword,
    /// An attribute's name (`query` in `User.query`).
    Attribute,
}

/// The names a pattern's root node must carry in one [`Slot`] to match, read from its
/// predicates: `(call function: (identifier) @f)`, `(call function: (attribute attribute:
/// (identifier) @f))` (or an alternation of those), `(call function: (attribute object:
/// (attribute attribute: (identifier) @r)))`, `(keyword_argument name: (identifier) @k)`,
/// `(attribute attribute: (identifier) @a)`,
/// where that capture has an `#eq?`, `#any-of?` or `#match? "^(a|b)$"` predicate listing
/// literal names. A node whose name in that slot is none of them cannot match the
/// pattern. `None` when the pattern is not of such a shape.
pub(crate) fn gate(pattern: &str) -> Option<(Slot, Vec<String>)> {
    let items = read_sexps(pattern)?;
    let Sexp::List('(', root, _) = root_node(&items)? else { return None };
    let (slot, captures) = match root.first()? {
        Sexp::Atom("call", _) => call_gate(root, &items)?,
        Sexp::Atom("keyword_argument", _) => match field(root, "name:")? {
            (Sexp::List('(', name, _), trailing) if matches!(name.first(), Some(Sexp::Atom("identifier", _))) => {
                (Slot::Keyword, vec![capture_name(trailing)?])
            }
            _ => return None,
        },
        Sexp::Atom("attribute", _) => match field(root, "attribute:")? {
            (Sexp::List('(', name, _), trailing) if matches!(name.first(), Some(Sexp::Atom("identifier", _))) => {
                (Slot::Attribute, vec![capture_name(trailing)?])
            }
            _ => return None,
        },
        _ => return None,
    };
    let mut names = Vec::new();
    for capture in captures {
        names.extend(literal_names(&items, capture)?);
    }
    names.sort();
    names.dedup();
    Some((slot, names))
}

fn call_gate<'a>(call: &[Sexp<'a>], items: &[Sexp<'a>]) -> Option<(Slot, Vec<&'a str>)> {
    let mut captures = Vec::new();
    let callee = match field(call, "function:")? {
        (Sexp::List('[', alternatives, _), _) => {
            let mut rest = &alternatives[..];
            let mut all = Some(());
            while let Some((first, tail)) = rest.split_first() {
                let trailing = tail.iter().take_while(|i| is_capture(i)).count();
                all = all.and(callee_captures(first, &tail[..trailing], &mut captures));
                rest = &tail[trailing..];
            }
            all
        }
        (node, trailing) => callee_captures(node, trailing, &mut captures),
    };
    if callee.is_some() && captures.iter().all(|c| literal_names(items, c).is_some()) {
        return Some((Slot::Callee, captures));
    }
    // `Model.query.<anything>(...)`: the receiver attribute is pinned instead.
    let (Sexp::List('(', function, _), _) = field(call, "function:")? else { return None };
    if !matches!(function.first(), Some(Sexp::Atom("attribute", _))) {
        return None;
    }
    let (Sexp::List('(', object, _), _) = field(function, "object:")? else { return None };
    if !matches!(object.first(), Some(Sexp::Atom("attribute", _))) {
        return None;
    }
    match field(object, "attribute:")? {
        (Sexp::List('(', name, _), trailing) if matches!(name.first(), Some(Sexp::Atom("identifier", _))) => {
            Some((Slot::Receiver, vec![capture_name(trailing)?]))
        }
        _ => None,
    }
}

/// The item after `name` in a node's items, with the captures that follow it.
fn field<'s, 'a>(items: &'s [Sexp<'a>], name: &str) -> Option<(&'s Sexp<'a>, &'s [Sexp<'a>])> {
    let at = items.iter().position(|i| matches!(i, Sexp::Atom(a, _) if *a == name))?;
    let node = items.get(at + 1)?;
    let tail = items.get(at + 2..).unwrap_or(&[]);
    let trailing = tail.iter().take_while(|i| is_capture(i)).count();
    Some((node, &tail[..trailing]))
}

/// The capture naming the callee of one `function:` alternative.
fn callee_captures<'a>(node: &Sexp<'a>, trailing: &[Sexp<'a>], out: &mut Vec<&'a str>) -> Option<()> {
    let Sexp::List('(', inner, _) = node else { return None };
    match inner.first()? {
        Sexp::Atom("identifier", _) => out.push(capture_name(trailing)?),
        Sexp::Atom("attribute", _) => match field(inner, "attribute:")? {
            (Sexp::List('(', name, _), trailing) if matches!(name.first(), Some(Sexp::Atom("identifier", _))) => {
                out.push(capture_name(trailing)?);
            }
            _ => return None,
        },
        _ => return None,
    }
    Some(())
}

/// The predicate a rule writes to say that its pattern leads to a finding only where a
/// capture's text mentions one of some words: `(#sqlalint-mentions? @statement "insert"
/// "update")`. The engine drops matches that fail it, and starts no cursor at nodes whose
/// text fails it when the capture is the pattern's root: a byte search is ~100 times
/// cheaper than a query match. The words must follow from the rule's check.
pub(crate) const MENTIONS: &str = "sqlalint-mentions?";

/// The root node kind of a pattern and the words its [`MENTIONS`] predicate on the root's
/// capture lists; `None` when the pattern has no such predicate.
pub(crate) fn mention_gate(pattern: &str) -> Option<(String, Vec<String>)> {
    let items = read_sexps(pattern)?;
    let root = root_node(&items)?;
    let Sexp::List('(', inner, span) = root else { return None };
    let Sexp::Atom(kind, _) = inner.first()? else { return None };
    let captures = captures_after(&items, span)?;
    let mut found: Option<Vec<String>> = None;
    visit_predicates(&items, &mut |predicate| {
        let [Sexp::Atom(name, _), Sexp::Atom(target, _), args @ ..] = predicate else { return };
        let on_root = target.strip_prefix('@').is_some_and(|t| captures.contains(&t));
        if name.strip_prefix('#') != Some(MENTIONS) || !on_root || args.is_empty() || found.is_some() {
            return;
        }
        let words: Option<Vec<String>> =
            args.iter().map(|a| if let Sexp::Str(s) = a { Some((*s).to_string()) } else { None }).collect();
        found = words.filter(|w| w.iter().all(|w| !w.is_empty() && !w.contains('\\')));
    });
    Some(((*kind).to_string(), found?))
}

/// The capture names right after the list spanning `span`, in whichever sequence holds it.
fn captures_after<'a>(items: &[Sexp<'a>], span: &Range<usize>) -> Option<Vec<&'a str>> {
    for (i, item) in items.iter().enumerate() {
        let Sexp::List(_, inner, own) = item else { continue };
        if own == span {
            let trailing = items[i + 1..].iter().take_while(|c| is_capture(c));
            return Some(trailing.filter_map(|c| capture_name(std::slice::from_ref(c))).collect());
        }
        if let Some(found) = captures_after(inner, span) {
            return Some(found);
        }
    }
    None
}

fn visit_predicates<'a>(items: &[Sexp<'a>], each: &mut dyn FnMut(&[Sexp<'a>])) {
    for item in items {
        let Sexp::List(_, inner, _) = item else { continue };
        if is_predicate(item) {
            each(inner);
        } else {
            visit_predicates(inner, each);
        }
    }
}

fn capture_name<'a>(trailing: &[Sexp<'a>]) -> Option<&'a str> {
    match trailing.first()? {
        Sexp::Atom(name, _) => name.strip_prefix('@'),
        _ => None,
    }
}

/// The literal names that a positive predicate anywhere in the pattern requires of `capture`.
fn literal_names(items: &[Sexp<'_>], capture: &str) -> Option<Vec<String>> {
    fn visit(items: &[Sexp<'_>], capture: &str, found: &mut Option<Vec<String>>) {
        for item in items {
            let Sexp::List(_, inner, _) = item else { continue };
            if is_predicate(item) {
                if let Some(names) = predicate_names(inner, capture) {
                    found.get_or_insert(names);
                }
            } else {
                visit(inner, capture, found);
            }
        }
    }
    let mut found = None;
    visit(items, capture, &mut found);
    found
}

/// `(#eq? @c "a")`, `(#any-of? @c "a" "b")`, `(#match? @c "^(a|b)$")` on `capture`.
fn predicate_names(predicate: &[Sexp<'_>], capture: &str) -> Option<Vec<String>> {
    let [Sexp::Atom(name, _), Sexp::Atom(target, _), args @ ..] = predicate else { return None };
    if target.strip_prefix('@') != Some(capture) || args.is_empty() {
        return None;
    }
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let strings: Vec<&str> =
        args.iter().map(|a| if let Sexp::Str(s) = a { Some(*s) } else { None }).collect::<Option<_>>()?;
    let names: Vec<&str> = match (*name, strings.as_slice()) {
        ("#eq?", [one]) => vec![*one],
        ("#any-of?", all) => all.to_vec(),
        ("#match?", [regex]) => {
            let body = regex.strip_prefix('^')?.strip_suffix('$')?;
            let body = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')).unwrap_or(body);
            body.split('|').collect()
        }
        _ => return None,
    };
    names.iter().all(|n| plain(n)).then(|| names.iter().map(|n| (*n).to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_split_with_trailing_captures_and_canonical_keys() {
        let source = "; comment (x)\n(call) @a\n\n[(x) (y)] @b @c\n((identifier) @i (#eq? @i \"a b\"))\n";
        let patterns = split_patterns(source).unwrap();
        let texts: Vec<&str> = patterns.iter().map(|(r, _)| &source[r.clone()]).collect();
        assert_eq!(texts, ["(call) @a", "[(x) (y)] @b @c", "((identifier) @i (#eq? @i \"a b\"))"]);
        let a = split_patterns("(call\n  function: (identifier) ; why\n) @x").unwrap();
        let b = split_patterns("(call function: (identifier)) @x").unwrap();
        assert_eq!(a[0].1, b[0].1);
        assert_eq!(split_patterns("(call"), None);
    }

    #[test]
    fn mention_gates_are_read_from_the_root_capture_only() {
        let gate = |kind: &str, words: &[&str]| Some((kind.to_string(), words.iter().map(|w| w.to_string()).collect()));
        assert_eq!(
            mention_gate("((expression_statement (call) @c) @s (#sqlalint-mentions? @s \"insert\" \"update\"))"),
            gate("expression_statement", &["insert", "update"])
        );
        assert_eq!(
            mention_gate("((pair key: (string) @k) @span (#sqlalint-mentions? @span \"backref\"))"),
            gate("pair", &["backref"])
        );
        for open in [
            // On a capture below the root: its text is not the root's.
            "((expression_statement (call) @c) @s (#sqlalint-mentions? @c \"insert\"))",
            // Another predicate, or none, or no words.
            "((expression_statement (call) @c) @s (#eq? @s \"insert\"))",
            "(expression_statement (call) @c) @s",
            "((expression_statement) @s (#sqlalint-mentions? @s))",
        ] {
            assert_eq!(mention_gate(open), None, "{open}");
        }
    }

    #[test]
    fn gates_are_read_from_patterns_of_known_shape_only() {
        let callee = |names: &[&str]| Some((Slot::Callee, names.iter().map(|n| n.to_string()).collect::<Vec<_>>()));
        assert_eq!(gate("(call function: (identifier) @f (#eq? @f \"len\")) @s"), callee(&["len"]));
        assert_eq!(
            gate("(call function: (attribute attribute: (identifier) @m (#any-of? @m \"all\" \"first\"))) @c"),
            callee(&["all", "first"])
        );
        assert_eq!(
            gate("(call function: (attribute object: (_) attribute: (identifier) @m) (#match? @m \"^(delete|update)$\"))"),
            callee(&["delete", "update"])
        );
        assert_eq!(
            gate("(call function: [(identifier) @n (attribute attribute: (identifier) @n)] (#eq? @n \"Table\")) @t"),
            callee(&["Table"])
        );
        assert_eq!(
            gate("((call function: (identifier) @f) @c (#any-of? @f \"text\" \"literal_column\"))"),
            callee(&["literal_column", "text"])
        );
        assert_eq!(
            gate("(call function: (attribute object: (attribute object: (identifier) @c attribute: (identifier) @q (#eq? @q \"query\"))))"),
            Some((Slot::Receiver, vec!["query".to_string()]))
        );
        assert_eq!(
            gate("(keyword_argument name: (identifier) @k value: (string) (#eq? @k \"lazy\")) @s"),
            Some((Slot::Keyword, vec!["lazy".to_string()]))
        );
        assert_eq!(
            gate("(attribute attribute: (identifier) @q (#eq? @q \"query\")) @query"),
            Some((Slot::Attribute, vec!["query".to_string()]))
        );
        for open in [
            // No predicate on the callee, or not a literal one.
            "(call function: (identifier) @f) @c",
            "(call function: (identifier) @f (#match? @f \"^[A-Z]\")) @c",
            "(call function: (identifier) @f (#not-eq? @f \"len\")) @c",
            // The predicate is on the receiver object, not a name.
            "(call function: (attribute object: (identifier) @o attribute: (identifier) @m) (#eq? @o \"db\"))",
            // An alternative without a named callee.
            "(call function: [(identifier) @n (call)] (#eq? @n \"f\"))",
            // Not a gated root, or no function field.
            "(assignment left: (identifier) @f (#eq? @f \"x\"))",
            "(call arguments: (argument_list)) @c",
            "(keyword_argument name: (identifier) @k) @s",
        ] {
            assert_eq!(gate(open), None, "{open}");
        }
    }
}
