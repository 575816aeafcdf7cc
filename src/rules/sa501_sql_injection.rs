//! SA501 sql-injection: SQL text built by string formatting (f-string, `.format()`,
//! `%`, `+`) from values that are not constants, reaching `text()`,
//! `literal_column()`, `execute()` / `exec_driver_sql()` or Alembic's `op.execute()`,
//! directly or through a local variable.
//!
//! The analysis is syntactic and local: values are "safe" when they cannot carry SQL
//! (literals, ALL_CAPS constants, numbers, allow-list lookups, loop variables over
//! literals, ...); a string is "tainted" when it is built from a value that is not safe.
//! Every walk is bounded by the expression depth ([`MAX_DEPTH`]) and the number of
//! variable look-ups ([`MAX_LOOKUPS`]), each of which scans one function body.
use crate::syntax::{Fields, Up};
use crate::syntax::KindStr;
use tree_sitter::Node;

use crate::checker::{Checker, Match};
use crate::python;

/// Deepest expression nesting analysed; deeper counts as unknown.
const MAX_DEPTH: u32 = 24;
/// Most variable look-ups per sink.
const MAX_LOOKUPS: u32 = 32;
/// Longest value text quoted in a message.
const MAX_SHOWN: usize = 48;
/// Deepest sink analysed (levels below the module).
const MAX_SINK_DEPTH: usize = 256;
/// Longest statement rewritten into the help text.
const MAX_REWRITE: usize = 160;

pub(crate) fn check(checker: &mut Checker<'_>, m: &Match<'_, '_>) {
    let Some(span) = m.get("span") else { return };
    let src = checker.source();
    let Some(argument) = python::positional_arguments(span).into_iter().next() else { return };
    // The sink's ancestors, once (each `parent()` walks down from the root). Sinks nested
    // deeper than this are generated code, not worth a quadratic walk.
    let base: Vec<Node<'_>> = std::iter::once(span).chain(python::ancestors(span).take(MAX_SINK_DEPTH)).collect();
    if base.last().is_none_or(|n| n.kind_str() != "module") {
        return;
    }
    let Some(sink) = sink(span, src) else { return };
    let mut analysis = Analysis { src, lookups: MAX_LOOKUPS, base };
    let Some(taint) = analysis.taint(argument, 0) else { return };

    let argument = python::unparen(argument);
    let via = (argument.kind_str() == "identifier").then(|| checker.text(argument));
    let value = shorten(checker.text(taint.value));
    let line = checker.line_of(taint.at);
    let via = via.map(|name| format!(" through `{name}`")).unwrap_or_default();
    let message = format!(
        "SQL built with {} on line {line} reaches {}{via}: `{value}` becomes part of the statement, \
         so a crafted value can rewrite it (SQL injection)",
        taint.how.describe(),
        sink.describe(span, src),
    );
    let context = if is_join_call(taint.value, src) { Context::List } else { taint.context_of(taint.value) };
    let help = match context {
        Context::Identifier => format!(
            "`{value}` is used as an identifier, which cannot be a bound parameter: check it against an allow-list \
             (a constant mapping such as `ALLOWED[{value}]` is accepted) or build the statement with \
             `sqlalchemy.table()` / `column()`, which quote names (`quoted_name` forces quoting)"
        ),
        Context::Fragment => format!(
            "`{value}` is a piece of SQL: build the statement with SQLAlchemy expressions instead \
             (`select(User).where(User.name == name)`, `and_(...)`), or choose the fragment from constants, \
             and pass values as bound parameters (`:name` with `{{\"name\": name}}`)"
        ),
        Context::List => format!(
            "`{value}` pastes several items into the SQL: for values, use one expanding bound parameter \
             (`IN :ids` with `bindparam(\"ids\", expanding=True)`, or `column.in_(ids)`); for names, check each \
             against an allow-list"
        ),
        Context::Value => sink.bound_help(span, &taint, src),
    };
    checker.report(span.byte_range(), message, help);
}

/// Where SQL text is run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    Text,
    LiteralColumn,
    /// `session.execute("...")`, `op.execute("...")`.
    Execute,
    DriverSql,
}

/// Recognises the matched call as a sink.
fn sink(call: Node<'_>, src: &str) -> Option<Sink> {
    let name = python::callee_name(call, src)?;
    let function = python::unparen(call.field("function")?);
    let receiver = python::receiver(call);
    match name {
        "text" => is_sqlalchemy_name(call, function, receiver, "text", src).then_some(Sink::Text),
        "literal_column" => {
            is_sqlalchemy_name(call, function, receiver, "literal_column", src).then_some(Sink::LiteralColumn)
        }
        "execute" => receiver.is_some_and(|r| is_database_receiver(r, src)).then_some(Sink::Execute),
        "exec_driver_sql" => receiver.is_some().then_some(Sink::DriverSql),
        _ => None,
    }
}

fn is_sqlalchemy_module(module: &str) -> bool {
    ["sqlalchemy", "sqlmodel", "flask_sqlalchemy"]
        .iter()
        .any(|m| module == *m || module.strip_prefix(m).is_some_and(|rest| rest.starts_with('.')))
}

/// `text` imported from SQLAlchemy (or SQLModel), or `sa.text` / `sqlalchemy.sql.text` / `db.text`.
fn is_sqlalchemy_name(call: Node<'_>, function: Node<'_>, receiver: Option<Node<'_>>, name: &str, src: &str) -> bool {
    let imports = python::visible_imports(call, src);
    match receiver {
        None => {
            function.kind_str() == "identifier"
                && imports
                    .iter()
                    .any(|i| (i.local == name || i.local == "*") && i.name.is_some() && is_sqlalchemy_module(i.module))
        }
        Some(receiver) => {
            let Some(dotted) = python::dotted_name(receiver, src) else { return false };
            let root = dotted.split('.').next().unwrap_or_default();
            matches!(root, "sa" | "sqla" | "sqlalchemy" | "sql" | "expression" | "sqlmodel" | "db")
                || imports.iter().any(|i| i.local == root && is_sqlalchemy_module(i.module))
        }
    }
}

/// `session`, `db.session`, `self.conn`, `connection`, `engine`, `op` (Alembic), `batch_op`,
/// `engine.connect()`, `op.get_bind()`, `get_session()`: something whose `execute()` runs SQL.
fn is_database_receiver(node: Node<'_>, src: &str) -> bool {
    let node = python::unparen(node);
    let name = match node.kind_str() {
        "identifier" => src.get(node.byte_range()),
        "attribute" => node.field("attribute").and_then(|a| src.get(a.byte_range())),
        "call" => python::callee_name(node, src),
        _ => None,
    };
    let Some(name) = name else { return false };
    let lower = name.trim_start_matches('_').to_ascii_lowercase();
    ["sess", "conn", "engine", "bind", "cnx", "database"].iter().any(|k| lower.contains(k))
        || matches!(lower.as_str(), "db" | "op" | "begin")
        || lower.ends_with("_db")
        || lower.starts_with("db_")
        || lower.ends_with("_op")
}

impl Sink {
    fn describe(self, call: Node<'_>, src: &str) -> String {
        let receiver = python::receiver(call).and_then(|r| python::dotted_name(r, src));
        match self {
            Sink::Text => match enclosing_call(call, src) {
                Some(outer) => format!("`text()` passed to `{outer}()`"),
                None => "`text()`".to_string(),
            },
            Sink::LiteralColumn => "`literal_column()`".to_string(),
            Sink::Execute => format!("`{}.execute()`", receiver.as_deref().unwrap_or("connection")),
            Sink::DriverSql => format!("`{}.exec_driver_sql()`", receiver.as_deref().unwrap_or("connection")),
        }
    }

    /// The bound-parameter form of the statement, as help.
    fn bound_help(self, call: Node<'_>, taint: &Taint<'_>, src: &str) -> String {
        let value = shorten(src.get(taint.value.byte_range()).unwrap_or(""));
        let param = param_name(taint.value, src);
        let (sql, params) = taint
            .bound_statement(src)
            .unwrap_or_else(|| (format!("\"... = :{param}\""), format!("{{\"{param}\": {value}}}")));
        let outer = enclosing_call(call, src);
        if taint.appended {
            return format!(
                "use a bound parameter: append `{sql}` (the placeholder, not the value) and pass `{params}` when \
                 executing"
            );
        }
        match self {
            Sink::Text if outer.as_deref().is_some_and(|o| o.ends_with(".exec")) => {
                format!("use a bound parameter: `text({sql})` with `params={params}` passed to `exec()`")
            }
            Sink::Text if outer.as_deref().is_some_and(|o| o.ends_with("execute") || o.ends_with("scalars")) => {
                format!("use a bound parameter: `text({sql})` with `{params}` as the second argument of `execute()`")
            }
            Sink::Text => {
                format!(
                    "use a bound parameter: `text({sql})`, then `.bindparams(...)` or pass `{params}` to `execute()`"
                )
            }
            Sink::LiteralColumn => format!(
                "a value is not a column: use `literal({value})` or `bindparam(\"{param}\", {value})`, which send it \
                 as a bound parameter"
            ),
            Sink::Execute if python::receiver(call).is_some_and(|r| src.get(r.byte_range()) == Some("op")) => {
                format!("use a bound parameter: `op.execute(sa.text({sql}).bindparams(**{params}))`")
            }
            Sink::Execute => format!("use a bound parameter: `execute(text({sql}), {params})`"),
            Sink::DriverSql => format!(
                "pass the value separately, in the driver's parameter style: `exec_driver_sql(\"... = %({param})s\", \
                 {{\"{param}\": {value}}})` (or `?` / `%s` with a tuple, depending on the driver)"
            ),
        }
    }
}

/// The call a `text()` is an argument of, as `session.execute` / `.filter`.
fn enclosing_call(call: Node<'_>, src: &str) -> Option<String> {
    let list = call.up().filter(|p| p.kind_str() == "argument_list")?;
    let outer = list.up().filter(|p| p.kind_str() == "call")?;
    let name = python::callee_name(outer, src)?;
    let receiver = python::receiver(outer).and_then(|r| python::dotted_name(r, src));
    Some(match receiver {
        Some(receiver) if receiver.len() <= 24 => format!("{receiver}.{name}"),
        _ if python::receiver(outer).is_some() => format!(".{name}"),
        _ => name.to_string(),
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum How {
    FString,
    Format,
    Percent,
    Concat,
}

impl How {
    fn describe(self) -> &'static str {
        match self {
            How::FString => "an f-string",
            How::Format => "`str.format()`",
            How::Percent => "`%` formatting",
            How::Concat => "`+` concatenation",
        }
    }
}

/// One piece of a statement being built.
#[derive(Clone, Debug)]
enum Segment<'t> {
    /// Literal SQL text, as written in the source (escapes included).
    Sql(String),
    /// A value that cannot carry SQL; its f-string `{...}` text when it has one.
    Safe(Option<String>),
    /// A value that may carry SQL.
    Value(Node<'t>),
}

/// The keys, the values, or both of a mapping.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Keys,
    Values,
    Both,
}

/// Where a value sits in the SQL text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Context {
    /// A literal value: `name = '{name}'`, `LIMIT {n}` (a bound parameter fits).
    Value,
    /// A table or column name: `FROM {table}`, `ORDER BY {column}`, `{schema}.{table}`.
    Identifier,
    /// A piece of SQL syntax: `WHERE {conditions}`, the whole statement.
    Fragment,
    /// Several items joined into the SQL: `IN ({", ".join(ids)})`, `SELECT {", ".join(columns)}`.
    List,
}

/// Keywords after which a name follows.
const BEFORE_IDENTIFIER: &[&str] = &[
    "FROM",
    "JOIN",
    "INTO",
    "UPDATE",
    "TABLE",
    "EXISTS",
    "BY",
    "INDEX",
    "VIEW",
    "SCHEMA",
    "DATABASE",
    "SEQUENCE",
    "COLUMN",
    "SELECT",
    "DISTINCT",
    "TRUNCATE",
    "AS",
    "USE",
    "CONSTRAINT",
    "TYPE",
    "EXTENSION",
    "TRIGGER",
    "ALTER",
    "DROP",
    "GRANT",
    "REVOKE",
    "RENAME",
    "TO",
    "BINARY",
];
/// Keywords after which a condition or expression follows.
const BEFORE_FRAGMENT: &[&str] = &["WHERE", "AND", "OR", "HAVING", "ON", "SET", "NOT", "WHEN", "THEN", "ELSE", "CASE"];
/// Keywords after which a literal value follows.
const BEFORE_VALUE: &[&str] = &["LIMIT", "OFFSET", "VALUES", "IN", "LIKE", "ILIKE", "BETWEEN", "IS", "INTERVAL"];
/// Tokens after a column name.
const AFTER_IDENTIFIER: &[&str] = &["ASC", "DESC", "IS", "LIKE", "ILIKE", "IN", "BETWEEN", "NULLS", "AS"];

fn context(before: &str, after: &str) -> Context {
    let before_trimmed = before.trim_end();
    let after_trimmed = after.trim_start();
    let last_word = before_trimmed
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let first_word: String = after_trimmed
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_ascii_uppercase();
    let ends_with_word = before_trimmed.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let compared_after = ["=", "<", ">", "!"].iter().any(|op| after_trimmed.starts_with(op))
        || AFTER_IDENTIFIER.contains(&first_word.as_str());
    if before_trimmed.ends_with('\'') || before_trimmed.ends_with("'%") {
        Context::Value
    } else if before_trimmed.ends_with(['.', '"', '`', '['])
        || after_trimmed.starts_with(['.', '"', '`', ']'])
        || ends_with_word && BEFORE_IDENTIFIER.contains(&last_word.as_str())
    {
        Context::Identifier
    } else if ends_with_word && BEFORE_FRAGMENT.contains(&last_word.as_str()) || before_trimmed.is_empty() {
        if compared_after {
            Context::Identifier
        } else if before_trimmed.is_empty() && !after_trimmed.starts_with(',') {
            Context::Fragment
        } else if before_trimmed.is_empty() {
            Context::Identifier
        } else {
            Context::Fragment
        }
    } else if ends_with_word && BEFORE_VALUE.contains(&last_word.as_str()) {
        Context::Value
    } else if compared_after && !before_trimmed.ends_with(['=', '<', '>', '(']) {
        Context::Identifier
    } else {
        Context::Value
    }
}

/// A string built from a value that may carry SQL.
struct Taint<'t> {
    how: How,
    /// The expression that builds the string (its line is reported).
    at: Node<'t>,
    /// The first value pasted into the SQL that may carry SQL.
    value: Node<'t>,
    /// The statement as built, when its literal parts are known; else just the value.
    segments: Vec<Segment<'t>>,
    /// For an f-string: its opening (`f"`, `rf'''`...).
    string_start: Option<String>,
    /// Built as the `+=` operand of the variable reaching the sink: only part of the statement.
    appended: bool,
}

impl<'t> Taint<'t> {
    fn new(how: How, at: Node<'t>, value: Node<'t>, segments: Vec<Segment<'t>>) -> Self {
        Taint { how, at, value, segments, string_start: None, appended: false }
    }

    /// Where `value` sits in the statement; a lone value of unknown surroundings is a value.
    fn context_of(&self, value: Node<'_>) -> Context {
        if !self.segments.iter().any(|s| matches!(s, Segment::Sql(_))) {
            return Context::Value;
        }
        let Some(index) = self.segments.iter().position(|s| matches!(s, Segment::Value(v) if *v == value)) else {
            return Context::Value;
        };
        let text_of = |segments: &[Segment<'_>]| -> String {
            segments
                .iter()
                .map(|s| match s {
                    Segment::Sql(text) => text.as_str(),
                    _ => " x ",
                })
                .collect()
        };
        let before = text_of(self.segments.get(..index).unwrap_or_default());
        let after = text_of(self.segments.get(index + 1..).unwrap_or_default());
        context(&before, &after)
    }

    /// The statement rewritten with `:name` placeholders, and the parameter dict:
    /// `"SELECT * FROM users WHERE name = :name"` and `{"name": name}`. `None` when it
    /// cannot be written exactly (unknown or multi-line text, identifiers, safe values
    /// that only an f-string can keep).
    fn bound_statement(&self, src: &str) -> Option<(String, String)> {
        let (prefix, quote) = match &self.string_start {
            Some(start) => {
                let prefix: String =
                    start.chars().filter(|c| c.is_ascii_alphabetic() && !matches!(c, 'f' | 'F')).collect();
                (prefix, start.trim_start_matches(|c: char| c.is_ascii_alphabetic()).to_string())
            }
            None => (String::new(), "\"".to_string()),
        };
        let mut out = String::new();
        let mut params: Vec<(String, String)> = Vec::new();
        let mut formatted = false;
        // The closing `'` (or `%'`) still to drop after a value that was quoted in the SQL.
        let mut closing: Option<&str> = None;
        for segment in &self.segments {
            match segment {
                Segment::Sql(text) => {
                    let text = match closing.take() {
                        Some(close) => text.strip_prefix(close)?,
                        None => text.as_str(),
                    };
                    if self.string_start.is_none() && text.contains(['"', '\\']) {
                        return None;
                    }
                    out.push_str(text);
                }
                Segment::Safe(kept) => {
                    out.push_str(kept.as_deref()?);
                    formatted = true;
                    if closing.is_some() {
                        return None;
                    }
                }
                Segment::Value(value) => {
                    if closing.is_some() || self.context_of(*value) != Context::Value || is_join_call(*value, src) {
                        return None;
                    }
                    let mut name = param_name(*value, src);
                    if params.iter().any(|(n, _)| *n == name) {
                        name = format!("{name}_{}", params.len() + 1);
                    }
                    let text = src.get(value.byte_range())?;
                    // `'{x}'` → `:x`; `'%{x}%'` → `:x` with the wildcards moved into the value.
                    let value = if out.ends_with("'%") {
                        closing = Some("%'");
                        out.truncate(out.len() - 2);
                        format!("f\"%{{{text}}}%\"")
                    } else if out.ends_with('\'') {
                        closing = Some("'");
                        out.truncate(out.len() - 1);
                        text.to_string()
                    } else if out.ends_with(['"', '%']) {
                        return None;
                    } else {
                        text.to_string()
                    };
                    out.push_str(&format!(":{name}"));
                    params.push((name, value));
                }
            }
        }
        if closing.is_some() || params.is_empty() {
            return None;
        }
        // Triple-quoted or multi-line SQL is shown on one line: this is help text, not a patch.
        let one_line = out.contains('\n') || quote.len() > 1;
        let (prefix, quote, out) = if one_line {
            let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
            (prefix.replace(['r', 'R'], ""), "\"".to_string(), out)
        } else {
            (prefix, quote, out)
        };
        if out.len() > MAX_REWRITE || one_line && out.contains('"') {
            return None;
        }
        let f = if formatted { "f" } else { "" };
        let sql = format!("{f}{prefix}{quote}{out}{quote}");
        let dict = params.iter().map(|(n, v)| format!("\"{n}\": {v}")).collect::<Vec<_>>().join(", ");
        Some((sql, format!("{{{dict}}}")))
    }
}

/// One assignment that may give a variable its value at a use.
#[derive(Clone, Copy)]
struct Assigned<'t> {
    node: Node<'t>,
    value: Node<'t>,
    /// `sql += value`.
    augmented: bool,
}

struct Analysis<'s, 't> {
    src: &'s str,
    /// Variable look-ups left; each scans one function body.
    lookups: u32,
    /// The sink and its ancestors, nearest first, up to the module.
    base: Vec<Node<'t>>,
}

impl<'s, 't> Analysis<'s, 't> {
    /// Ancestors of `node`, nearest first (the node excluded). tree-sitter's `parent()` walks
    /// down from the root, so a chain of `parent()` calls costs O(depth²); this goes down
    /// once from the nearest known ancestor (the sink or one of its ancestors) instead.
    fn ancestors(&self, node: Node<'t>) -> Vec<Node<'t>> {
        let Some(start) = self.base.iter().position(|b| contains(*b, node)) else {
            return Vec::new();
        };
        let mut path = Vec::new();
        let mut current = self.base.get(start).copied();
        while let Some(step) = current.filter(|c| *c != node) {
            match step.child_with_descendant(node) {
                Some(next) if next != node => {
                    path.push(next);
                    current = Some(next);
                }
                _ => break,
            }
        }
        path.reverse();
        let from = if self.base.get(start) == Some(&node) { start + 1 } else { start };
        path.extend(self.base.iter().skip(from).copied());
        path
    }

    fn enclosing_function(&self, node: Node<'t>) -> Option<Node<'t>> {
        self.ancestors(node).into_iter().find(|n| n.kind_str() == "function_definition")
    }

    fn module(&self) -> Option<Node<'t>> {
        self.base.last().copied().filter(|m| m.kind_str() == "module")
    }

    /// The module-level value of `NAME = ...` for the name `name` refers to.
    fn module_constant(&self, name: Node<'t>) -> Option<Node<'t>> {
        let ident = self.src.get(name.byte_range())?;
        let module = self.module()?;
        python::named_children(module).into_iter().rev().find_map(|statement| {
            let assignment = statement.named_child(0).filter(|a| a.kind_str() == "assignment")?;
            let left = assignment.field("left")?;
            (self.src.get(left.byte_range()) == Some(ident)).then(|| assignment.field("right")).flatten()
        })
    }

    /// The annotation of parameter `name` of the nearest enclosing function that has one:
    /// `Some(Some("int"))`, `Some(None)` for an unannotated parameter, `None` if no enclosing
    /// function takes `name`.
    fn parameter_annotation(&self, name: Node<'t>) -> Option<Option<&'s str>> {
        let src = self.src;
        let ident = src.get(name.byte_range())?;
        for function in
            self.ancestors(name).into_iter().filter(|n| matches!(n.kind_str(), "function_definition" | "lambda"))
        {
            let Some(parameters) = function.field("parameters") else { continue };
            for parameter in python::named_children(parameters) {
                let (bound, annotation) = match parameter.kind_str() {
                    "identifier" => (Some(parameter), None),
                    "default_parameter" => (parameter.field("name"), None),
                    "typed_parameter" => (parameter.named_child(0), parameter.field("type")),
                    "typed_default_parameter" => {
                        (parameter.field("name"), parameter.field("type"))
                    }
                    _ => (None, None),
                };
                if bound.is_some_and(|b| src.get(b.byte_range()) == Some(ident)) {
                    return Some(annotation.and_then(|a| src.get(a.byte_range())));
                }
            }
        }
        None
    }

    fn text(&self, node: Node<'t>) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    /// Finds a value that is not known to be safe being formatted into SQL text.
    fn taint(&mut self, node: Node<'t>, depth: u32) -> Option<Taint<'t>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let node = python::unparen(node);
        match node.kind_str() {
            "string" => self.fstring_taint(node, depth),
            "concatenated_string" => python::named_children(node).into_iter().find_map(|part| self.taint(part, depth + 1)),
            "binary_operator" => match operator(node, self.src) {
                "+" => self.concat_taint(node, depth),
                "%" => self.percent_taint(node, depth),
                _ => None,
            },
            "call" if python::callee_name(node, self.src) == Some("format") => self.format_taint(node, depth),
            "conditional_expression" => {
                branches(node).into_iter().flatten().find_map(|part| self.taint(part, depth + 1))
            }
            "identifier" => self.variable_taint(node, depth),
            _ => None,
        }
    }

    /// An f-string with an interpolation that is not safe.
    fn fstring_taint(&mut self, string: Node<'t>, depth: u32) -> Option<Taint<'t>> {
        let (segments, first) = self.fstring_segments(string, depth);
        let value = first?;
        let mut taint = Taint::new(How::FString, string, value, segments);
        taint.string_start =
            python::named_children(string).into_iter().find(|c| c.kind_str() == "string_start").map(|s| self.text(s).to_string());
        Some(taint)
    }

    /// The pieces of an f-string, and its first interpolation that is not safe.
    fn fstring_segments(&mut self, string: Node<'t>, depth: u32) -> (Vec<Segment<'t>>, Option<Node<'t>>) {
        let mut segments = Vec::new();
        let mut first = None;
        for child in python::named_children(string) {
            match child.kind_str() {
                "string_content" => segments.push(Segment::Sql(self.text(child).to_string())),
                "interpolation" => {
                    let expression = child.field("expression");
                    let spec = child.field("format_specifier").map(|s| self.text(s));
                    let numeric = spec.is_some_and(|s| numeric_spec(s.trim_start_matches(':')) && !s.contains('{'));
                    match expression {
                        Some(e) if numeric || self.is_safe(e, depth + 1) => {
                            segments.push(Segment::Safe(Some(self.text(child).to_string())));
                        }
                        _ => {
                            let value = expression.unwrap_or(child);
                            first.get_or_insert(value);
                            segments.push(Segment::Value(value));
                        }
                    }
                }
                _ => {}
            }
        }
        (segments, first)
    }

    /// `"SELECT ... " + value (+ ...)`: a literal string concatenated with a value not known safe.
    fn concat_taint(&mut self, node: Node<'t>, depth: u32) -> Option<Taint<'t>> {
        let operands = concat_operands(node, self.src);
        for operand in &operands {
            if let Some(taint) = self.taint(*operand, depth + 1) {
                return Some(taint);
            }
        }
        // Only string building: `a + b` of two unknowns may be anything.
        if !operands.iter().any(|o| self.is_stringy(*o, depth + 1)) {
            return None;
        }
        let mut segments = Vec::new();
        let mut first = None;
        for operand in operands {
            if python::is_literal_string(operand) {
                segments.push(Segment::Sql(literal_content(operand, self.src)));
            } else if self.is_safe(operand, depth + 1) {
                segments.push(Segment::Safe(None));
            } else {
                first.get_or_insert(operand);
                segments.push(Segment::Value(operand));
            }
        }
        Some(Taint::new(How::Concat, node, first?, segments))
    }

    /// `"... %s" % value` / `"... %(name)s" % {...}` with a value not known safe.
    fn percent_taint(&mut self, node: Node<'t>, depth: u32) -> Option<Taint<'t>> {
        let (left, right) = (node.field("left")?, node.field("right")?);
        if let Some(taint) = self.taint(left, depth + 1) {
            return Some(taint);
        }
        if !self.is_stringy(left, depth + 1) {
            return None; // `a % b` of numbers
        }
        let template = self.template(left, depth + 1);
        let conversions = template.as_deref().map(percent_conversions).unwrap_or_default();
        let right = python::unparen(right);
        // (value, key) pairs: tuple elements by position, dict values by key, or the single value.
        let values: Vec<(Node<'t>, Option<String>)> = match right.kind_str() {
            "tuple" => python::named_children(right).into_iter().map(|v| (v, None)).collect(),
            "dictionary" => python::named_children(right)
                .into_iter()
                .filter(|p| p.kind_str() == "pair")
                .filter_map(|p| {
                    let key = p.field("key")?;
                    let key = python::is_literal_string(key).then(|| literal_content(key, self.src));
                    Some((p.field("value")?, key))
                })
                .collect(),
            _ => vec![(right, None)],
        };
        // The value each conversion takes; `%d` and friends only accept numbers.
        let value_for = |index: usize, conversion: &Conversion| -> Option<Node<'t>> {
            match &conversion.key {
                Some(key) => values.iter().find(|(_, k)| k.as_deref() == Some(key.as_str())).map(|(v, _)| *v),
                None if right.kind_str() == "tuple" => values.get(index).map(|(v, _)| *v),
                None => values.first().map(|(v, _)| *v),
            }
        };
        let mut first = None;
        let mut segments = Vec::new();
        let mut cursor = 0usize;
        let template_text = template.as_deref().unwrap_or("");
        for (index, conversion) in conversions.iter().enumerate() {
            segments.push(Segment::Sql(template_text.get(cursor..conversion.at).unwrap_or("").replace("%%", "%")));
            cursor = conversion.end;
            let value = value_for(index, conversion);
            match value {
                Some(value) if !conversion.numeric && !self.is_safe(value, depth + 1) => {
                    first.get_or_insert(value);
                    segments.push(Segment::Value(value));
                }
                _ => segments.push(Segment::Safe(None)),
            }
        }
        segments.push(Segment::Sql(template_text.get(cursor..).unwrap_or("").replace("%%", "%")));
        if template.is_none() || conversions.is_empty() {
            // Unknown template: any value not known safe.
            segments.clear();
            for (value, _) in &values {
                if !self.is_safe(*value, depth + 1) {
                    first.get_or_insert(*value);
                    segments.push(Segment::Value(*value));
                }
            }
        }
        Some(Taint::new(How::Percent, node, first?, segments))
    }

    /// `"... {}".format(value)` with a value not known safe.
    fn format_taint(&mut self, call: Node<'t>, depth: u32) -> Option<Taint<'t>> {
        let receiver = python::receiver(call)?;
        if let Some(taint) = self.taint(receiver, depth + 1) {
            return Some(taint);
        }
        if !self.is_stringy(receiver, depth + 1) {
            return None;
        }
        // Positional arguments by index, keyword arguments by name; `*args` / `**kwargs` are anything.
        let mut positional = Vec::new();
        let mut keywords = Vec::new();
        let mut splat = None;
        for argument in python::arguments(call) {
            match argument.kind_str() {
                "keyword_argument" => {
                    if let (Some(name), Some(value)) =
                        (argument.field("name"), argument.field("value"))
                    {
                        keywords.push((self.text(name), value));
                    }
                }
                "list_splat" | "dictionary_splat" => splat = splat.or(Some(argument)),
                _ => positional.push(argument),
            }
        }
        if let Some(splat) = splat {
            return Some(Taint::new(How::Format, call, splat, vec![Segment::Value(splat)]));
        }
        let template = self.template(receiver, depth + 1);
        let Some(template) = template else {
            // Unknown template: any argument not known safe.
            let all = positional.iter().copied().chain(keywords.iter().map(|(_, v)| *v));
            let values: Vec<Node<'t>> = all.filter(|v| !self.is_safe(*v, depth + 1)).collect();
            let first = *values.first()?;
            return Some(Taint::new(How::Format, call, first, values.into_iter().map(Segment::Value).collect()));
        };
        let mut first = None;
        let mut segments = Vec::new();
        let mut cursor = 0usize;
        for field in format_fields(&template) {
            segments.push(Segment::Sql(unescape_braces(template.get(cursor..field.at).unwrap_or(""))));
            cursor = field.end;
            let value = match field.name.parse::<usize>() {
                Ok(index) => positional.get(index).copied(),
                Err(_) => keywords.iter().find(|(k, _)| *k == field.name).map(|(_, v)| *v),
            };
            match value {
                Some(value) if !field.numeric && !self.is_safe(value, depth + 1) => {
                    first.get_or_insert(value);
                    segments.push(Segment::Value(value));
                }
                _ => segments.push(Segment::Safe(None)),
            }
        }
        segments.push(Segment::Sql(unescape_braces(template.get(cursor..).unwrap_or(""))));
        Some(Taint::new(How::Format, call, first?, segments))
    }

    /// `sql` assigned (or extended with `+=`) a tainted string earlier in the function.
    fn variable_taint(&mut self, name: Node<'t>, depth: u32) -> Option<Taint<'t>> {
        let assigned = self.reaching(name)?;
        for a in assigned.iter().filter(|a| !a.augmented) {
            if let Some(taint) = self.taint(a.value, depth + 1) {
                return Some(taint);
            }
        }
        let extended: Vec<Assigned<'t>> = assigned.iter().copied().filter(|a| a.augmented).collect();
        if extended.is_empty() {
            return None;
        }
        let stringy = assigned.iter().any(|a| self.is_stringy(a.value, depth + 1));
        for a in extended {
            if let Some(mut taint) = self.taint(a.value, depth + 1) {
                taint.appended = true;
                return Some(taint);
            }
            if stringy && !self.is_safe(a.value, depth + 1) {
                let mut taint = Taint::new(How::Concat, a.node, a.value, vec![Segment::Value(a.value)]);
                taint.appended = true;
                return Some(taint);
            }
        }
        None
    }

    /// Is `node` a string (literal, formatted, or a variable holding one)?
    fn is_stringy(&mut self, node: Node<'t>, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let node = python::unparen(node);
        match node.kind_str() {
            "string" | "concatenated_string" => true,
            "binary_operator" => match operator(node, self.src) {
                "+" => concat_operands(node, self.src).into_iter().any(|o| self.is_stringy(o, depth + 1)),
                "%" => node.field("left").is_some_and(|l| self.is_stringy(l, depth + 1)),
                _ => false,
            },
            "call" => matches!(python::callee_name(node, self.src), Some("format" | "join")),
            "conditional_expression" => branches(node).into_iter().flatten().any(|p| self.is_stringy(p, depth + 1)),
            "identifier" => {
                if is_constant_name(self.text(node)) && self.module_constant(node).is_some() {
                    return true;
                }
                match self.reaching(node) {
                    Some(assigned) => assigned.iter().any(|a| !a.augmented && self.is_stringy(a.value, depth + 1)),
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// The literal text of a template: a string literal, or a variable / constant assigned one.
    fn template(&mut self, node: Node<'t>, depth: u32) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let node = python::unparen(node);
        if python::is_literal_string(node) {
            return Some(literal_content(node, self.src));
        }
        if node.kind_str() != "identifier" {
            return None;
        }
        if is_constant_name(self.text(node)) {
            if let Some(value) = self.module_constant(node) {
                return python::is_literal_string(value).then(|| literal_content(value, self.src));
            }
        }
        let assigned = self.reaching(node)?;
        match assigned.as_slice() {
            [only] if !only.augmented && python::is_literal_string(only.value) => {
                Some(literal_content(only.value, self.src))
            }
            _ => None,
        }
    }

    /// Can `node`'s value never carry SQL syntax? Literals, ALL_CAPS constants, numbers,
    /// allow-list lookups, loop variables over literals, and expressions made of those.
    fn is_safe(&mut self, node: Node<'t>, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let node = python::unparen(node);
        match node.kind_str() {
            "integer" | "float" | "true" | "false" | "none" | "ellipsis" => true,
            "string" => self.fstring_segments(node, depth).1.is_none(),
            "concatenated_string" | "list" | "tuple" | "set" | "expression_list" => {
                python::named_children(node).into_iter().all(|c| self.is_safe(c, depth + 1))
            }
            "dictionary" => python::named_children(node).into_iter().all(|pair| match pair.kind_str() {
                "pair" => [pair.field("key"), pair.field("value")]
                    .into_iter()
                    .all(|part| part.is_some_and(|p| self.is_safe(p, depth + 1))),
                _ => false,
            }),
            "unary_operator" => node.field("argument").is_some_and(|a| self.is_safe(a, depth + 1)),
            "binary_operator" | "boolean_operator" => {
                [node.field("left"), node.field("right")]
                    .into_iter()
                    .all(|part| part.is_some_and(|p| self.is_safe(p, depth + 1)))
            }
            "conditional_expression" => {
                branches(node).into_iter().all(|part| part.is_some_and(|p| self.is_safe(p, depth + 1)))
            }
            // `ALLOWED_COLUMNS[key]`, `{"asc": "ASC", "desc": "DESC"}[direction]`: an allow-list lookup.
            "subscript" => {
                node.field("value").is_some_and(|v| self.mapping_part_safe(v, Part::Values, depth + 1))
            }
            "identifier" => self.is_safe_name(node, depth),
            "attribute" => is_constant_attribute(node, self.src),
            "call" => self.is_safe_call(node, depth),
            "list_comprehension" | "generator_expression" | "set_comprehension" => {
                node.field("body").is_some_and(|b| self.is_safe(b, depth + 1))
            }
            _ => false,
        }
    }

    fn is_safe_name(&mut self, name: Node<'t>, depth: u32) -> bool {
        let text = self.text(name);
        let in_function = self.enclosing_function(name).is_some();
        if let Some(safe) = self.loop_binding(name, depth) {
            return safe;
        }
        let assigned = self.reaching(name);
        if is_constant_name(text) {
            // A module constant, unless this function assigns it something else.
            return match &assigned {
                Some(assigned) if in_function && !assigned.is_empty() => {
                    assigned.iter().all(|a| self.is_safe(a.value, depth + 1))
                }
                _ => true,
            };
        }
        match assigned {
            Some(assigned) if !assigned.is_empty() => assigned.iter().all(|a| self.is_safe(a.value, depth + 1)),
            _ => {
                if self.guarded_by_allow_list(name) {
                    return true;
                }
                match self.parameter_annotation(name) {
                    // `def f(limit: int)`: the signature promises a number.
                    Some(annotation) => annotation.is_some_and(is_number_type),
                    // Not a parameter nor assigned here: a module-level value.
                    None => self.module_constant(name).is_some_and(|value| self.is_safe(value, depth + 1)),
                }
            }
        }
    }

    /// `assert col in ALLOWED`, `if col not in ALLOWED: raise ...` before the use, or the use
    /// inside `if col in ALLOWED:`: the value was checked against an allow-list.
    fn guarded_by_allow_list(&self, name: Node<'t>) -> bool {
        let text = self.text(name);
        let membership = |condition: Node<'t>, negated: bool| -> bool {
            let condition = python::unparen(condition);
            if condition.kind_str() != "comparison_operator" {
                return false;
            }
            let operators: Vec<&str> = {
                let mut cursor = condition.walk();
                condition
                    .children(&mut cursor)
                    .filter(|c| !c.is_named())
                    .flat_map(|c| self.text(c).split_whitespace())
                    .collect()
            };
            let wanted = if negated { ["not", "in"].as_slice() } else { ["in"].as_slice() };
            condition.named_child(0).is_some_and(|left| self.text(left) == text) && operators == wanted
        };
        // Enclosing `if name in ...:` (the use in its consequence).
        for ancestor in self.ancestors(name) {
            if matches!(ancestor.kind_str(), "function_definition" | "lambda" | "class_definition") {
                break;
            }
            if ancestor.kind_str() == "if_statement" {
                let in_body = ancestor.field("consequence").is_some_and(|b| contains(b, name));
                if in_body && ancestor.field("condition").is_some_and(|c| membership(c, false)) {
                    return true;
                }
            }
        }
        // `assert name in ...` / `if name not in ...: raise|return` earlier in the function.
        let Some(body) = self.enclosing_function(name).and_then(|f| f.field("body")) else {
            return false;
        };
        for node in python::own_nodes_before(body, name.start_byte()) {
            match node.kind_str() {
                "assert_statement" if node.named_child(0).is_some_and(|c| membership(c, false)) => return true,
                "if_statement" => {
                    let exits = node.field("consequence").is_some_and(|b| {
                        python::named_children(b)
                            .into_iter()
                            .any(|s| matches!(s.kind_str(), "raise_statement" | "return_statement"))
                            || python::named_children(b).into_iter().any(|s| {
                                s.kind_str() == "expression_statement"
                                    && s.named_child(0).is_some_and(|c| {
                                        c.kind_str() == "call" && python::callee_name(c, self.src) == Some("abort")
                                    })
                            })
                    });
                    if exits && node.field("condition").is_some_and(|c| membership(c, true)) {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// A `for` loop or comprehension around the use that binds `name`: safe when it iterates
    /// over something safe (or is the index of `enumerate()`, or over `range()`).
    fn loop_binding(&mut self, name: Node<'t>, depth: u32) -> Option<bool> {
        let text = self.text(name);
        for ancestor in self.ancestors(name) {
            match ancestor.kind_str() {
                "function_definition" | "lambda" | "class_definition" | "module" => return None,
                "for_statement" => {
                    let in_body = ancestor.field("body").is_some_and(|b| contains(b, name));
                    let (Some(left), Some(right)) =
                        (ancestor.field("left"), ancestor.field("right"))
                    else {
                        continue;
                    };
                    if in_body && binds(left, text, self.src) {
                        return Some(self.iterates_safely(left, right, text, depth));
                    }
                }
                "list_comprehension" | "generator_expression" | "set_comprehension" | "dictionary_comprehension" => {
                    for clause in python::named_children(ancestor).into_iter().filter(|c| c.kind_str() == "for_in_clause") {
                        let (Some(left), Some(right)) =
                            (clause.field("left"), clause.field("right"))
                        else {
                            continue;
                        };
                        if binds(left, text, self.src) && !contains(right, name) {
                            return Some(self.iterates_safely(left, right, text, depth));
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn iterates_safely(&mut self, left: Node<'t>, iterable: Node<'t>, name: &str, depth: u32) -> bool {
        let iterable = python::unparen(iterable);
        if iterable.kind_str() == "call" {
            let args = python::positional_arguments(iterable);
            match python::callee_name(iterable, self.src) {
                Some("range") => return true,
                Some("enumerate") => {
                    let first = python::named_children(left).into_iter().next();
                    if left.kind_str() != "identifier" && first.is_some_and(|f| self.text(f) == name) {
                        return true; // the index
                    }
                    return args.first().is_some_and(|a| self.is_safe(*a, depth + 1));
                }
                Some("zip" | "sorted" | "reversed" | "list" | "tuple" | "set")
                    if python::receiver(iterable).is_none() =>
                {
                    return !args.is_empty() && args.into_iter().all(|a| self.is_safe(a, depth + 1));
                }
                Some(method @ ("items" | "keys" | "values")) => {
                    let Some(mapping) = python::receiver(iterable) else { return false };
                    // `for key, value in D.items()`: only the part bound to `name` matters.
                    let pair = python::named_children(left);
                    let part = match method {
                        "keys" => Part::Keys,
                        "values" => Part::Values,
                        _ if left.kind_str() != "identifier" && pair.first().is_some_and(|k| self.text(*k) == name) => {
                            Part::Keys
                        }
                        _ if left.kind_str() != "identifier" && pair.get(1).is_some_and(|v| self.text(*v) == name) => {
                            Part::Values
                        }
                        _ => Part::Both,
                    };
                    return self.mapping_part_safe(mapping, part, depth + 1);
                }
                _ => {}
            }
        }
        self.is_safe(iterable, depth + 1)
    }

    /// Are the keys / values of a mapping safe? `SORT_COLUMNS[key]` only reads values, and
    /// `for dialect, sql in SQL_BY_DIALECT.items()` binds `sql` to values only. Follows a name
    /// to its dict literal; anything else must be safe as a whole.
    fn mapping_part_safe(&mut self, mapping: Node<'t>, part: Part, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let mapping = python::unparen(mapping);
        let literal = match mapping.kind_str() {
            "dictionary" => Some(mapping),
            "identifier" if !is_constant_name(self.text(mapping)) => {
                let assigned = self.reaching(mapping).unwrap_or_default();
                match assigned.as_slice() {
                    [only] if !only.augmented => Some(only.value),
                    [] if self.parameter_annotation(mapping).is_none() => self.module_constant(mapping),
                    _ => None,
                }
                .filter(|v| v.kind_str() == "dictionary")
            }
            _ => None,
        };
        let Some(literal) = literal else { return self.is_safe(mapping, depth) };
        python::named_children(literal).into_iter().all(|pair| {
            if pair.kind_str() != "pair" {
                return false; // `**other`
            }
            let key = pair.field("key");
            let value = pair.field("value");
            let check =
                |analysis: &mut Self, node: Option<Node<'t>>| node.is_some_and(|n| analysis.is_safe(n, depth + 1));
            match part {
                Part::Keys => check(self, key),
                Part::Values => check(self, value),
                Part::Both => check(self, key) && check(self, value),
            }
        })
    }

    fn is_safe_call(&mut self, call: Node<'t>, depth: u32) -> bool {
        let Some(name) = python::callee_name(call, self.src) else { return false };
        let receiver = python::receiver(call);
        // `f(x for x in y)`: the generator is the whole argument list.
        let args = match call.field("arguments") {
            Some(generator) if generator.kind_str() == "generator_expression" => vec![generator],
            _ => python::arguments(call),
        };
        match (name, receiver) {
            // Numbers cannot carry SQL.
            ("int" | "float" | "len" | "bool" | "abs" | "round" | "ord" | "hash" | "id" | "range", None) => true,
            ("ceil" | "floor" | "trunc", _) => true,
            // Quoting helpers: the sanctioned way to put a name into SQL.
            ("quote" | "quote_identifier" | "quote_ident" | "quote_schema" | "quote_name" | "quote_table", _) => true,
            // SQL rendered by SQLAlchemy itself: `sa.false().compile(bind)`, `self.process(clause)` in a compiler.
            ("compile", Some(_)) => true,
            ("process", Some(r))
                if matches!(self.text(r), "self" | "compiler") || self.text(r).ends_with("compiler") =>
            {
                true
            }
            ("str" | "min" | "max" | "sorted" | "tuple" | "list" | "set", None) => {
                args.into_iter().all(|a| self.is_safe(a, depth + 1))
            }
            ("format_table" | "format_column", Some(r))
                if self.text(r).contains("preparer") || self.text(r).contains("dialect") =>
            {
                true
            }
            ("count", Some(_)) if args.is_empty() => true,
            (
                "join" | "format" | "upper" | "lower" | "strip" | "lstrip" | "rstrip" | "replace" | "title"
                | "capitalize" | "casefold",
                Some(r),
            ) => {
                self.is_safe(r, depth + 1)
                    && args.into_iter().all(|a| match a.kind_str() {
                        "keyword_argument" => {
                            a.field("value").is_some_and(|v| self.is_safe(v, depth + 1))
                        }
                        _ => self.is_safe(a, depth + 1),
                    })
            }
            _ => false,
        }
    }

    /// Every `name = value` and `name += value` under `scope` before the use `name`, outside
    /// nested functions, classes and lambdas, in source order (`a = b = value`: `value`).
    /// Found from the places the text spells the name, not by walking everything before the use.
    fn assignments_to(&self, scope: Node<'t>, name: Node<'t>) -> Vec<Assigned<'t>> {
        let mut found = Vec::new();
        for (target, path) in python::own_spellings(scope, self.text(name), self.src) {
            if target.end_byte() > name.start_byte() {
                break;
            }
            let Some(&node) = path.last() else { continue };
            let augmented = node.kind_str() == "augmented_assignment";
            if !(augmented || node.kind_str() == "assignment")
                || contains(node, name)
                || node.field("left").is_none_or(|left| left.id() != target.id())
            {
                continue;
            }
            let Some(mut value) = node.field("right") else { continue };
            while value.kind_str() == "assignment" {
                match value.field("right") {
                    Some(right) => value = right,
                    None => break,
                }
            }
            found.push(Assigned { node, value, augmented });
        }
        found
    }

    /// Values that may reach the use `name`: the right-hand sides of assignments to it
    /// earlier in the same function (or module) body, from the last one that certainly
    /// runs before the use, and the `+=` operands after that. `None` when out of look-ups.
    fn reaching(&mut self, name: Node<'t>) -> Option<Vec<Assigned<'t>>> {
        if self.lookups == 0 {
            return None;
        }
        self.lookups -= 1;
        let scope =
            self.enclosing_function(name).and_then(|f| f.field("body")).or_else(|| self.module())?;
        let mut found = self.assignments_to(scope, name);
        // The last plain assignment in a block that encloses the use runs before it: earlier ones are dead.
        let dominating = found.iter().rposition(|a| {
            !a.augmented
                && a.node
                    .up()
                    .filter(|p| p.kind_str() == "expression_statement")
                    .and_then(|s| s.up())
                    .is_some_and(|block| contains(block, name))
        });
        if let Some(index) = dominating {
            found.drain(..index);
        }
        Some(found)
    }
}

/// A constant read through an attribute: `config.PAGE_SIZE`, `Status.ACTIVE.value`,
/// `User.__tablename__`, `User.__table__.name`.
fn is_constant_attribute(node: Node<'_>, src: &str) -> bool {
    let Some(dotted) = python::dotted_name(node, src) else {
        let attribute = node.field("attribute").and_then(|a| src.get(a.byte_range())).unwrap_or("");
        return is_constant_name(attribute) || attribute == "__tablename__";
    };
    let parts: Vec<&str> = dotted.split('.').collect();
    if dotted.ends_with(".__tablename__")
        || dotted.ends_with(".__table__.name")
        || dotted.ends_with(".__table__.fullname")
    {
        return true;
    }
    // The last constant-named part, followed only by an enum's `.value` / `.name`.
    parts.iter().enumerate().skip(1).any(|(index, part)| {
        is_constant_name(part) && parts.iter().skip(index + 1).all(|rest| matches!(*rest, "value" | "name"))
    })
}

/// `int`, `float`, `bool`, `Decimal`, `UUID`, `datetime`... (also `Optional[int]`, `int | None`):
/// values whose text cannot carry SQL syntax.
fn is_number_type(annotation: &str) -> bool {
    annotation
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|t| !t.is_empty() && !matches!(*t, "Optional" | "None" | "typing" | "t"))
        .all(|t| {
            matches!(
                t.rsplit('.').next().unwrap_or(t),
                "int" | "float" | "bool" | "Decimal" | "UUID" | "datetime" | "date" | "time" | "timedelta"
            )
        })
}

/// `PAGE_SIZE`, `USERS_TABLE`, `_TABLE`: a constant by convention.
fn is_constant_name(name: &str) -> bool {
    let trimmed = name.trim_start_matches('_');
    trimmed.chars().filter(|c| c.is_ascii_uppercase()).count() >= 2
        && trimmed.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `", ".join(items)`.
fn is_join_call(node: Node<'_>, src: &str) -> bool {
    let node = python::unparen(node);
    node.kind_str() == "call" && python::receiver(node).is_some() && python::callee_name(node, src) == Some("join")
}

/// The two values of `a if cond else b`.
fn branches(node: Node<'_>) -> [Option<Node<'_>>; 2] {
    let parts = python::named_children(node);
    [parts.first().copied(), parts.get(2).copied()]
}

fn contains(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

fn operator<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    node.field("operator").and_then(|o| src.get(o.byte_range())).unwrap_or("")
}

/// Does the loop target `left` bind `name` (`for name in`, `for i, name in`)?
fn binds(left: Node<'_>, name: &str, src: &str) -> bool {
    let is_name = |n: Node<'_>| n.kind_str() == "identifier" && src.get(n.byte_range()) == Some(name);
    is_name(left) || python::named_children(left).into_iter().any(is_name)
}

/// The operands of `a + b + c` (left-nested), left to right; iterative.
fn concat_operands<'t>(node: Node<'t>, src: &str) -> Vec<Node<'t>> {
    let mut operands = Vec::new();
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        let current = python::unparen(current);
        if current.kind_str() == "binary_operator" && operator(current, src) == "+" && operands.len() < 10_000 {
            if let (Some(left), Some(right)) =
                (current.field("left"), current.field("right"))
            {
                stack.push(right);
                stack.push(left);
                continue;
            }
        }
        operands.push(current);
    }
    operands
}

/// The text inside a literal string's quotes (parts of an implicit concatenation joined).
fn literal_content(node: Node<'_>, src: &str) -> String {
    let node = python::unparen(node);
    let mut out = String::new();
    let strings = if node.kind_str() == "concatenated_string" { python::named_children(node) } else { vec![node] };
    for string in strings {
        for child in python::named_children(string) {
            if child.kind_str() == "string_content" {
                out.push_str(src.get(child.byte_range()).unwrap_or(""));
            }
        }
    }
    out
}

/// Format specs that only accept numbers: `d`, `.2f`, `x`, `,d`...
fn numeric_spec(spec: &str) -> bool {
    spec.chars().last().is_some_and(|c| "bcdoxXneEfFgG%".contains(c))
}

/// `{{` / `}}` in a `str.format` template stand for single braces.
fn unescape_braces(text: &str) -> String {
    text.replace("{{", "{").replace("}}", "}")
}

/// One `%` conversion of a template: its mapping key, whether it only takes numbers, its span.
struct Conversion {
    key: Option<String>,
    numeric: bool,
    at: usize,
    end: usize,
}

fn percent_conversions(template: &str) -> Vec<Conversion> {
    let bytes = template.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i) != Some(&b'%') {
            i += 1;
            continue;
        }
        let at = i;
        i += 1;
        if bytes.get(i) == Some(&b'%') {
            i += 1;
            continue;
        }
        let mut key = None;
        if bytes.get(i) == Some(&b'(') {
            let close = template.get(i..).and_then(|rest| rest.find(')')).map(|offset| i + offset);
            let Some(close) = close else { break };
            key = template.get(i + 1..close).map(String::from);
            i = close + 1;
        }
        // flags, width, precision, length modifier
        while bytes.get(i).is_some_and(|b| b"#0- +*.0123456789hlL".contains(b)) {
            i += 1;
        }
        let Some(conversion) = bytes.get(i) else { break };
        i += 1;
        out.push(Conversion { key, numeric: b"diouxXeEfFgGc".contains(conversion), at, end: i });
    }
    out
}

/// One `{field}` of a `str.format` template: its name (auto-numbered fields get `0`, `1`...),
/// whether its spec only takes numbers, its span.
struct FormatField {
    name: String,
    numeric: bool,
    at: usize,
    end: usize,
}

fn format_fields(template: &str) -> Vec<FormatField> {
    let mut out = Vec::new();
    let mut auto = 0usize;
    let mut offset = 0usize;
    while let Some(rest) = template.get(offset..) {
        let Some(open) = rest.find(['{', '}']) else { break };
        let at = offset + open;
        let after = rest.get(open + 1..).unwrap_or("");
        if rest.get(open..open + 1) == Some("}") || after.starts_with('{') {
            // `{{`, `}}` or a stray brace
            offset = at + if after.starts_with(['{', '}']) { 2 } else { 1 };
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let field = after.get(..close).unwrap_or("");
        let (head, spec) = field.split_once(':').unwrap_or((field, ""));
        let head = head.split('!').next().unwrap_or(head);
        let base: String = head.chars().take_while(|c| *c != '.' && *c != '[').collect();
        let name = if base.is_empty() {
            auto += 1;
            (auto - 1).to_string()
        } else {
            base
        };
        let end = at + 1 + close + 1;
        out.push(FormatField { name, numeric: numeric_spec(spec), at, end });
        offset = end;
    }
    out
}

/// A parameter name for a value: `user.name` → `name`, `data["email"]` → `email`.
fn param_name(value: Node<'_>, src: &str) -> String {
    let value = python::unparen(value);
    let raw = match value.kind_str() {
        "identifier" => src.get(value.byte_range()).unwrap_or(""),
        "attribute" => value.field("attribute").and_then(|a| src.get(a.byte_range())).unwrap_or(""),
        "subscript" => {
            let index = value.field("subscript");
            match index.filter(|i| python::is_literal_string(*i)) {
                Some(index) => {
                    let content = literal_content(index, src);
                    return sanitize(&content);
                }
                None => value.field("value").and_then(|v| src.get(v.byte_range())).unwrap_or(""),
            }
        }
        "call" => python::callee_name(value, src).unwrap_or(""),
        _ => "",
    };
    sanitize(raw)
}

fn sanitize(raw: &str) -> String {
    let name: String = raw
        .trim_start_matches('_')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || name.len() > 30 {
        "value".to_string()
    } else {
        name
    }
}

/// A value's text for a message: one line, at most [`MAX_SHOWN`] characters.
fn shorten(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX_SHOWN {
        one_line
    } else {
        let cut: String = one_line.chars().take(MAX_SHOWN - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The assignments `reaching` started from, found by walking everything before the use.
    fn assignments_walked<'t>(analysis: &Analysis<'_, 't>, scope: Node<'t>, name: Node<'t>) -> Vec<Assigned<'t>> {
        let ident = analysis.text(name);
        let mut found: Vec<Assigned<'t>> = Vec::new();
        for node in python::own_nodes_before(scope, name.start_byte()) {
            match node.kind_str() {
                "assignment" | "augmented_assignment" if !contains(node, name) => {
                    if let (Some(left), Some(mut value)) = (node.field("left"), node.field("right")) {
                        if left.kind_str() == "identifier" && analysis.text(left) == ident {
                            while value.kind_str() == "assignment" {
                                match value.field("right") {
                                    Some(right) => value = right,
                                    None => break,
                                }
                            }
                            found.push(Assigned { node, value, augmented: node.kind_str() == "augmented_assignment" });
                        }
                    }
                }
                _ => {}
            }
        }
        found.sort_by_key(|a| a.node.start_byte());
        found
    }

    /// `assignments_to` finds what the walk finds, for every identifier of every fixture.
    #[test]
    fn assignments_to_matches_a_walk() {
        let mut texts = crate::python::test_support::fixture_texts();
        texts.push(
            "q = 'a'\nq = r = q + 'b'\ndef g(q=q):\n    q = 2\n    h = lambda: (q := 3)\n    class C:\n        q = 4\n    \
             q += 'x' + q\n    q: str = 5\n    (q) = 6\n    q, r = 7, 8\n    text(q)\ndef k(:\n    q = 9\n    q\n"
                .into(),
        );
        let mut checked = 0;
        for text in texts {
            let tree = crate::python::test_support::parse(&text);
            let nodes = crate::python::test_support::named_nodes(&tree);
            for node in nodes.into_iter().filter(|n| n.kind_str() == "identifier") {
                let base: Vec<Node<'_>> = std::iter::once(node).chain(python::ancestors(node)).collect();
                let analysis = Analysis { src: &text, lookups: MAX_LOOKUPS, base };
                let Some(scope) = analysis.enclosing_function(node).and_then(|f| f.field("body")).or_else(|| analysis.module())
                else {
                    continue;
                };
                let key = |found: Vec<Assigned<'_>>| {
                    found.iter().map(|a| (a.node.id(), a.value.id(), a.augmented)).collect::<Vec<_>>()
                };
                let walked = key(assignments_walked(&analysis, scope, node));
                assert_eq!(key(analysis.assignments_to(scope, node)), walked, "{} at {}", &text[node.byte_range()], node.start_byte());
                checked += usize::from(!walked.is_empty());
            }
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn percent_templates() {
        let convs = percent_conversions("a = '%s' LIMIT %d, 100%% %(key)s %-5.2f");
        let summary: Vec<(Option<&str>, bool)> = convs.iter().map(|c| (c.key.as_deref(), c.numeric)).collect();
        assert_eq!(summary, [(None, false), (None, true), (Some("key"), false), (None, true)]);
        assert_eq!(&"a = '%s'"[convs[0].at..convs[0].end], "%s");
        assert!(percent_conversions("100%").is_empty());
    }

    #[test]
    fn format_templates() {
        let fields = format_fields("{} {{x}} {name!r} {0:d} {obj.attr} {");
        let summary: Vec<(&str, bool)> = fields.iter().map(|f| (f.name.as_str(), f.numeric)).collect();
        assert_eq!(summary, [("0", false), ("name", false), ("0", true), ("obj", false)]);
        assert_eq!(unescape_braces("{{x}}"), "{x}");
    }

    #[test]
    fn value_identifier_or_fragment() {
        assert_eq!(context("SELECT * FROM users WHERE name = '", "'"), Context::Value);
        assert_eq!(context("SELECT * FROM users WHERE id = ", ""), Context::Value);
        assert_eq!(context("SELECT * FROM users LIMIT ", ""), Context::Value);
        assert_eq!(context("SELECT * FROM ", " WHERE id = 1"), Context::Identifier);
        assert_eq!(context("SELECT * FROM users ORDER BY ", ""), Context::Identifier);
        assert_eq!(context("", " DESC"), Context::Identifier);
        assert_eq!(context("SELECT * FROM s.", ""), Context::Identifier);
        assert_eq!(context("SELECT * FROM users WHERE ", ""), Context::Fragment);
        assert_eq!(context("SELECT * FROM users WHERE ", " = :v"), Context::Identifier);
        assert_eq!(context("", ""), Context::Fragment);
    }

    #[test]
    fn names() {
        assert!(is_constant_name("USERS_TABLE") && is_constant_name("_PAGE_SIZE") && is_constant_name("ID"));
        assert!(!is_constant_name("T") && !is_constant_name("Users") && !is_constant_name("table"));
        assert!(is_number_type("int") && is_number_type("Optional[int]") && is_number_type("int | None"));
        assert!(!is_number_type("str") && !is_number_type("Any"));
        assert_eq!(sanitize("_User-Name"), "user_name");
        assert_eq!(sanitize("1x"), "value");
    }
}
