//! Alembic migration files, shared by the SA7xx rules: recognising a revision
//! module by its content, the operations its `upgrade()` / `downgrade()` run
//! (`op.*`, and `batch_op.*` inside `with op.batch_alter_table(...) as batch_op`),
//! whether an operation sits in `with op.get_context().autocommit_block():`, and
//! the statements of literal SQL given to `op.execute()`, read with `sqlparser`'s
//! PostgreSQL dialect (SQL it cannot read is skipped, never guessed at).
//!
//! A revision module is recognised by what Alembic itself needs of one: module-level
//! `revision = "..."` and `down_revision = ...` assignments and a module-level
//! `def upgrade()`. No other Python file has that shape, so the folder it lives in
//! (`alembic/versions`, `migrations/versions`, `<pkg>/db/versions`, ...) does not matter.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use sqlparser::ast::{FromTable, Statement, TableFactor};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::ops::Range;

use tree_sitter::Node;

use crate::python;
use crate::python::import_cache::PerFile;

/// A revision module's migration functions.
pub(crate) struct Migration<'t> {
    pub(crate) upgrade: Node<'t>,
    pub(crate) downgrade: Option<Node<'t>>,
}

/// A revision module's `upgrade` and `downgrade` functions, by byte range.
type MigrationSpans = (Range<usize>, Option<Range<usize>>);

thread_local! {
    /// Each module's [`migration`] functions (`None`: not a revision): every migration rule asks.
    static MIGRATIONS: PerFile<(usize, usize, usize), Option<MigrationSpans>> = PerFile::new();
}

/// The module is an Alembic revision: `revision`, `down_revision` and `def upgrade` at module level.
pub(crate) fn migration<'t>(module: Node<'t>, src: &str) -> Option<Migration<'t>> {
    let key = (src.as_ptr() as usize, src.len(), module.id());
    let function_at = |range: &Range<usize>| {
        module
            .descendant_for_byte_range(range.start, range.end)
            .filter(|n| n.kind_str() == "function_definition" && n.byte_range() == *range)
    };
    let known = MIGRATIONS.with(|known| {
        known.read(&key, |found| match found {
            None => Some(None),
            Some((upgrade, downgrade)) => {
                let downgrade = match downgrade {
                    Some(range) => Some(function_at(range)?),
                    None => None,
                };
                Some(Some(Migration { upgrade: function_at(upgrade)?, downgrade }))
            }
        })
    });
    if let Some(Some(known)) = known {
        return known;
    }
    let found = find_migration(module, src);
    let ranges = found.as_ref().map(|m| (m.upgrade.byte_range(), m.downgrade.map(|d| d.byte_range())));
    MIGRATIONS.with(|known| known.insert(key, ranges));
    found
}

fn find_migration<'t>(module: Node<'t>, src: &str) -> Option<Migration<'t>> {
    // Several rules ask of every file; most files are not migrations, and say so in their text.
    if !src.contains("down_revision") {
        return None;
    }
    let (mut revision, mut down_revision) = (false, false);
    let (mut upgrade, mut downgrade) = (None, None);
    for child in python::named_children(module) {
        match child.kind_str() {
            "expression_statement" => {
                let Some(assignment) = child.named_child(0).filter(|a| a.kind_str() == "assignment") else { continue };
                match assignment.field("left").and_then(|l| src.get(l.byte_range())) {
                    Some("revision") => revision = true,
                    Some("down_revision") => down_revision = true,
                    _ => {}
                }
            }
            "function_definition" => match function_name(child, src) {
                Some("upgrade") => upgrade = Some(child),
                Some("downgrade") => downgrade = Some(child),
                _ => {}
            },
            _ => {}
        }
    }
    (revision && down_revision).then_some(Migration { upgrade: upgrade?, downgrade })
}

pub(crate) fn function_name<'s>(function: Node<'_>, src: &'s str) -> Option<&'s str> {
    src.get(function.field("name")?.byte_range())
}

/// `def upgrade()`: the range from `def` to the end of the name, where findings on a whole function go.
pub(crate) fn def_range(function: Node<'_>) -> std::ops::Range<usize> {
    let end = function.field("name").map_or(function.start_byte(), |n| n.end_byte());
    function.start_byte()..end
}

/// One Alembic operation call: `op.add_column(...)` or `batch_op.add_column(...)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpCall<'t> {
    pub(crate) call: Node<'t>,
    /// The operation: `add_column`, `execute`, ...
    pub(crate) name: &'t str,
    /// For `batch_op.*`: the `op.batch_alter_table(...)` call that gives the table.
    pub(crate) batch: Option<Node<'t>>,
    /// Inside `with op.get_context().autocommit_block():`.
    pub(crate) autocommit: bool,
}

impl<'t> OpCall<'t> {
    /// The argument at `position` of the `op.` form (or keyword `keyword`). Batch operations
    /// take no table argument, so positions after the table's (`table_position`) shift left.
    pub(crate) fn argument(
        &self,
        position: usize,
        table_position: usize,
        keyword: &str,
        src: &str,
    ) -> Option<Node<'t>> {
        if let Some(value) = python::keyword_argument(self.call, keyword, src) {
            return Some(value);
        }
        let position = match self.batch {
            Some(_) if position == table_position => return None,
            Some(_) if position > table_position => position - 1,
            _ => position,
        };
        python::positional_arguments(self.call).get(position).copied()
    }

    /// The table operated on, as a literal name: the batch's table, or the `op.` form's argument.
    pub(crate) fn table(&self, table_position: usize, src: &str) -> Option<String> {
        let node = match self.batch {
            Some(batch) => python::keyword_argument(batch, "table_name", src)
                .or_else(|| python::positional_arguments(batch).first().copied())?,
            None => self
                .argument(table_position, usize::MAX, "table_name", src)
                .or_else(|| python::keyword_argument(self.call, "old_table_name", src))?,
        };
        string_value(node, src)
    }

    /// `op.add_column` or `batch_op.add_column`, as written, for messages.
    pub(crate) fn callee(&self, src: &'t str) -> &'t str {
        self.call.field("function").and_then(|f| src.get(f.byte_range())).unwrap_or(self.name)
    }

    /// A keyword argument's literal value is `True`.
    pub(crate) fn flag(&self, keyword: &str, src: &str) -> bool {
        python::keyword_argument(self.call, keyword, src).is_some_and(|v| src.get(v.byte_range()) == Some("True"))
    }
}

/// A migration function's calls by byte range, in source order, and its operations' spans.
type Listed = (Vec<Range<usize>>, Vec<OpSpans>);

/// Byte ranges of one [`OpCall`]: the call, its operation name, its batch call; autocommit.
type OpSpans = (Range<usize>, Range<usize>, Option<Range<usize>>, bool);

thread_local! {
    /// Each migration function's calls and operations, which every migration rule asks for:
    /// by byte ranges, found again in the tree in one descent on a hit.
    static LISTED: PerFile<(usize, usize, usize), Listed> = PerFile::new();
}

/// Every Alembic operation call in a migration function, in source order. Nested function
/// and class definitions are skipped: they run only if called.
pub(crate) fn op_calls<'t>(function: Node<'t>, src: &'t str) -> Vec<OpCall<'t>> {
    let key = (src.as_ptr() as usize, src.len(), function.id());
    let known = LISTED.with(|listed| {
        listed.read(&key, |(_, ops)| {
            // Only the operations and their batches are looked for: most calls are their arguments.
            let order = |r: &Range<usize>| (r.start, std::cmp::Reverse(r.end));
            let mut wanted: Vec<Range<usize>> =
                ops.iter().flat_map(|(call, _, batch, _)| std::iter::once(call.clone()).chain(batch.clone())).collect();
            wanted.sort_by_key(order);
            wanted.dedup();
            let nodes = calls_at(function, &wanted)?;
            let at = |range: &Range<usize>| wanted.binary_search_by_key(&order(range), order).ok().map(|i| nodes[i]);
            ops.iter()
                .map(|(call, name, batch, autocommit)| {
                    let batch = match batch {
                        Some(range) => Some(at(range)?),
                        None => None,
                    };
                    Some(OpCall { call: at(call)?, name: src.get(name.clone())?, batch, autocommit: *autocommit })
                })
                .collect::<Option<Vec<_>>>()
        })
    });
    if let Some(Some(known)) = known {
        return known;
    }
    listed(function, src, key).1
}

/// Every call in a migration function, in source order (nested definitions skipped).
pub(crate) fn calls<'t>(function: Node<'t>, src: &'t str) -> Vec<Node<'t>> {
    let key = (src.as_ptr() as usize, src.len(), function.id());
    let known = LISTED.with(|listed| listed.read(&key, |(calls, _)| calls_at(function, calls)));
    if let Some(Some(known)) = known {
        return known;
    }
    listed(function, src, key).0
}

/// Walks the function for [`calls`] and [`op_calls`], and keeps both for the rest of the pass.
fn listed<'t>(function: Node<'t>, src: &'t str, key: (usize, usize, usize)) -> (Vec<Node<'t>>, Vec<OpCall<'t>>) {
    let (calls, ops) = collect(function, src);
    let offset = |text: &str| {
        let start = (text.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
        start..start + text.len()
    };
    let spans =
        ops.iter().map(|op| (op.call.byte_range(), offset(op.name), op.batch.map(|b| b.byte_range()), op.autocommit));
    LISTED.with(|listed| listed.insert(key, (calls.iter().map(|c| c.byte_range()).collect(), spans.collect())));
    (calls, ops)
}

/// The calls spanning `ranges` (call ranges under `within`, in source order), found in one
/// descent that enters only the nodes holding the next range; `None` if one is missing.
fn calls_at<'t>(within: Node<'t>, ranges: &[Range<usize>]) -> Option<Vec<Node<'t>>> {
    let mut out = Vec::with_capacity(ranges.len());
    let mut cursor = within.walk();
    let mut depth = 0usize;
    for range in ranges {
        loop {
            let node = cursor.node();
            if node.start_byte() <= range.start && range.end <= node.end_byte() {
                if node.byte_range() == *range && node.kind_str() == "call" {
                    out.push(node);
                    break;
                }
                cursor.goto_first_child_for_byte(range.start)?;
                depth += 1;
            } else if node.end_byte() <= range.start {
                // Wholly before the range: on to the next node not inside this one.
                loop {
                    if depth == 0 {
                        return None;
                    }
                    if cursor.goto_next_sibling() {
                        break;
                    }
                    cursor.goto_parent();
                    depth -= 1;
                }
            } else {
                return None;
            }
        }
    }
    Some(out)
}

/// One walk of a migration function's body: its calls and, among them, its operations.
fn collect<'t>(function: Node<'t>, src: &'t str) -> (Vec<Node<'t>>, Vec<OpCall<'t>>) {
    let (mut calls, mut ops) = (Vec::new(), Vec::new());
    let Some(body) = function.field("body") else { return (calls, ops) };
    // Batch tables bound by the enclosing `with` statements, and inside autocommit_block.
    let mut batches: Vec<(&'t str, Node<'t>)> = Vec::new();
    let mut autocommit = false;
    // Each enclosing `with` statement's depth, and the batches and autocommit outside it.
    let mut withs: Vec<(usize, usize, bool)> = Vec::new();
    let mut cursor = body.walk();
    let mut depth = 0usize;
    loop {
        let node = cursor.node();
        let kind = node.kind_str();
        if !matches!(kind, "function_definition" | "class_definition" | "lambda") {
            if kind == "with_statement" {
                withs.push((depth, batches.len(), autocommit));
                for (value, alias) in with_items(node, src) {
                    let chain = python::chain(value, src);
                    let names: Vec<&str> = chain.names().collect();
                    let on_op = src.get(chain.root.byte_range()) == Some("op");
                    if on_op && names == ["batch_alter_table"] {
                        if let Some(alias) = alias {
                            batches.push((alias, value));
                        }
                    } else if on_op && names == ["get_context", "autocommit_block"] {
                        autocommit = true;
                    }
                }
            }
            if kind == "call" {
                calls.push(node);
                ops.extend(op_call(node, &batches, autocommit, src));
            }
            if cursor.goto_first_child() {
                depth += 1;
                continue;
            }
        }
        loop {
            // Leaving the node at `depth`: a `with` statement there binds no more.
            while let Some(&(_, len, outside)) = withs.last().filter(|w| w.0 >= depth) {
                batches.truncate(len);
                autocommit = outside;
                withs.pop();
            }
            if depth == 0 {
                return (calls, ops);
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

fn op_call<'t>(call: Node<'t>, batches: &[(&str, Node<'t>)], autocommit: bool, src: &'t str) -> Option<OpCall<'t>> {
    let function = python::unparen(call.field("function")?);
    if function.kind_str() != "attribute" {
        return None;
    }
    let object = function.field("object")?;
    let name = src.get(function.field("attribute")?.byte_range())?;
    if object.kind_str() != "identifier" {
        return None;
    }
    let receiver = src.get(object.byte_range())?;
    let batch =
        if receiver == "op" { None } else { Some(batches.iter().rev().find(|(alias, _)| *alias == receiver)?.1) };
    Some(OpCall { call, name, batch, autocommit })
}

/// Names of the module-level functions other than `upgrade` / `downgrade` (migration helpers).
pub(crate) fn helper_functions<'s>(module: Node<'_>, src: &'s str) -> Vec<&'s str> {
    python::named_children(module)
        .into_iter()
        .filter(|c| c.kind_str() == "function_definition")
        .filter_map(|f| function_name(f, src))
        .filter(|name| !matches!(*name, "upgrade" | "downgrade"))
        .collect()
}

/// `with a as x, b:` → `[(a, Some("x")), (b, None)]`.
fn with_items<'t>(with_statement: Node<'t>, src: &'t str) -> Vec<(Node<'t>, Option<&'t str>)> {
    let mut out = Vec::new();
    let Some(clause) = python::named_children(with_statement).into_iter().find(|c| c.kind_str() == "with_clause")
    else {
        return out;
    };
    for item in python::named_children(clause).into_iter().filter(|i| i.kind_str() == "with_item") {
        let Some(value) = item.field("value") else { continue };
        if value.kind_str() == "as_pattern" {
            let expression = value.named_child(0);
            let alias = value
                .field("alias")
                .and_then(|a| python::named_children(a).into_iter().next().or(Some(a)))
                .filter(|a| a.kind_str() == "identifier")
                .and_then(|a| src.get(a.byte_range()));
            if let Some(expression) = expression {
                out.push((expression, alias));
            }
        } else {
            out.push((value, None));
        }
    }
    out
}

/// The value of a plain string literal (concatenations included), escapes decoded as far
/// as SQL needs; `None` for f-strings and anything else.
pub(crate) fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    let node = python::unparen(node);
    if !python::is_literal_string(node) {
        return None;
    }
    let parts = if node.kind_str() == "concatenated_string" { python::named_children(node) } else { vec![node] };
    let mut out = String::new();
    for part in parts {
        for content in python::named_children(part).into_iter().filter(|c| c.kind_str() == "string_content") {
            // Escape sequences are children of the content: copy the text between them, decode them.
            let mut at = content.start_byte();
            for escape in python::named_children(content).into_iter().filter(|e| e.kind_str() == "escape_sequence") {
                out.push_str(src.get(at..escape.start_byte())?);
                out.push(match src.get(escape.byte_range())? {
                    "\\'" => '\'',
                    "\\\"" => '"',
                    "\\\\" => '\\',
                    "\\n" => '\n',
                    "\\t" => '\t',
                    _ => ' ',
                });
                at = escape.end_byte();
            }
            out.push_str(src.get(at..content.end_byte())?);
        }
    }
    Some(out)
}

/// The literal SQL of `op.execute("...")`, `op.execute(sa.text("..."))` or `op.execute(text("..."))`.
pub(crate) fn literal_sql(call: Node<'_>, src: &str) -> Option<String> {
    let argument = python::unparen(*python::positional_arguments(call).first()?);
    if argument.kind_str() == "call" && python::callee_name(argument, src) == Some("text") {
        return string_value(*python::positional_arguments(argument).first()?, src);
    }
    string_value(argument, src)
}

/// The statements of a SQL text, or `None` when the parser cannot read all of it.
pub(crate) fn parse_sql(sql: &str) -> Option<Vec<Statement>> {
    Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()
}

/// The leading keywords of each statement of a SQL text, via `sqlparser`'s tokenizer (for
/// statements its parser does not model, such as `DROP INDEX CONCURRENTLY`). Words that are
/// not keywords are `Keyword::NoKeyword`; `None` if the text does not tokenize.
pub(crate) fn statement_keywords(sql: &str, count: usize) -> Option<Vec<Vec<Keyword>>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let mut statements = vec![Vec::new()];
    for token in tokens {
        match token {
            Token::SemiColon => statements.push(Vec::new()),
            Token::Word(word) => {
                if let Some(current) = statements.last_mut().filter(|s| s.len() < count) {
                    current.push(word.keyword);
                }
            }
            Token::Whitespace(_) => {}
            _ => {
                // Anything else ends the leading run of words.
                if let Some(current) = statements.last_mut() {
                    if current.len() < count {
                        current.resize(count, Keyword::NoKeyword);
                    }
                }
            }
        }
    }
    statements.retain(|s| !s.is_empty());
    Some(statements)
}

/// A table name as compared across operations: unquoted, lower case, without its schema.
pub(crate) fn table_key(name: &str) -> String {
    let name = name.rsplit('.').next().unwrap_or(name);
    name.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']').to_lowercase()
}

/// Tables the function creates: `op.create_table("t", ...)` and raw `CREATE TABLE t`. Those
/// are empty and unknown to running code, so operations on them carry no migration hazard.
pub(crate) fn created_tables(ops: &[OpCall<'_>], src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for op in ops {
        match op.name {
            "create_table" if op.batch.is_none() => {
                if let Some(name) = op.table(0, src) {
                    out.push(table_key(&name));
                }
            }
            "execute" => {
                for statement in literal_sql(op.call, src).and_then(|sql| parse_sql(&sql)).unwrap_or_default() {
                    if let Statement::CreateTable(create) = statement {
                        out.push(table_key(&create.name.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Tables a migration function creates through a project helper named like the operation
/// (`create_table("t", ...)`, `utils.create_table("t", ...)`, as Superset's migrations do),
/// which [`op_calls`] does not see.
pub(crate) fn helper_created_tables(function: Node<'_>, src: &str) -> Vec<String> {
    calls(function, src)
        .into_iter()
        .filter(|call| python::callee_name(*call, src) == Some("create_table"))
        .filter_map(|call| string_value(*python::positional_arguments(call).first()?, src))
        .map(|name| table_key(&name))
        .collect()
}

/// Tables emptied by literal `DELETE FROM t` (without `WHERE`) or `TRUNCATE t` in `op.execute()`:
/// constraints added to them afterwards meet no existing row.
pub(crate) fn emptied_tables(ops: &[OpCall<'_>], src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for op in ops.iter().filter(|op| op.name == "execute") {
        for statement in literal_sql(op.call, src).and_then(|sql| parse_sql(&sql)).unwrap_or_default() {
            match statement {
                Statement::Delete(delete) if delete.selection.is_none() && delete.using.is_none() => {
                    let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
                    for table in from {
                        if let TableFactor::Table { name, .. } = &table.relation {
                            out.push(table_key(&name.to_string()));
                        }
                    }
                }
                Statement::Truncate(truncate) => {
                    out.extend(truncate.table_names.iter().map(|t| table_key(&t.name.to_string())));
                }
                _ => {}
            }
        }
    }
    out
}

/// The database an Alembic environment migrates, as far as its files tell (SA703, SA707).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgresql,
    /// SQLite, MySQL, ...: PostgreSQL's locking rules do not apply.
    Other,
}

impl Dialect {
    /// A dialect name as SQLAlchemy URLs and `dialect_name=` spell it (`postgresql`, `postgres`,
    /// `sqlite`); `None` for anything that is not a plain name.
    pub(crate) fn from_name(name: &str) -> Option<Dialect> {
        let name = name.trim().to_ascii_lowercase();
        let name = name.split('+').next().unwrap_or_default();
        match name {
            "postgresql" | "postgres" | "postgresql_psycopg2" | "pgsql" => Some(Dialect::Postgresql),
            "sqlite" | "mysql" | "mariadb" | "mssql" | "oracle" | "snowflake" | "duckdb" | "cockroachdb" => {
                Some(Dialect::Other)
            }
            _ => None,
        }
    }
}

/// The dialect of a database URL (`postgresql+psycopg://u@h/db` → PostgreSQL); `None` for the
/// template's `driver://...`, interpolations (`%(DB_URL)s`), empty values and anything unknown.
pub(crate) fn url_dialect(url: &str) -> Option<Dialect> {
    let url = url.trim().trim_matches(|c| c == '"' || c == '\'');
    let (scheme, _) = url.split_once(':')?;
    Dialect::from_name(scheme)
}

/// One verdict from several: all the same, or unknown.
fn agree(found: impl IntoIterator<Item = Dialect>) -> Option<Dialect> {
    let mut found = found.into_iter();
    let first = found.next()?;
    found.all(|d| d == first).then_some(first)
}

/// The dialect `alembic.ini` names: every `sqlalchemy.url` (one per section in multi-database
/// environments) must agree.
fn ini_dialect(text: &str) -> Option<Dialect> {
    let urls = text.lines().map(str::trim).filter(|l| !l.starts_with(['#', ';'])).filter_map(|line| {
        let rest = line.strip_prefix("sqlalchemy.url")?.trim_start();
        rest.strip_prefix(['=', ':'])
    });
    let mut verdicts = Vec::new();
    for url in urls {
        verdicts.push(url_dialect(url)?);
    }
    agree(verdicts)
}

/// What `env.py` says: literal URLs (`"postgresql://..."`), `dialect_name="..."`, and PostgreSQL
/// drivers it imports (`asyncpg`, `psycopg`). Conflicting hints (an environment for several
/// databases) say nothing.
fn env_py_dialect(text: &str) -> Option<Dialect> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme: String = rest[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '_'))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        found.extend(Dialect::from_name(&scheme));
        rest = &rest[at + 3..];
    }
    for marker in ["dialect_name=\"", "dialect_name='"] {
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            found.extend(Dialect::from_name(&name));
        }
    }
    if ["import asyncpg", "import psycopg", "from psycopg"].iter().any(|m| text.contains(m)) {
        found.push(Dialect::Postgresql);
    }
    agree(found)
}

/// The dialect of the Alembic environment whose revisions live in `versions`: `sqlalchemy.url`
/// of the nearest `alembic.ini` when it names a database, else what the nearest `env.py` says.
/// Both are looked for in the folder and up to four folders above it.
pub(crate) fn environment_dialect(versions: &std::path::Path) -> Option<Dialect> {
    let (mut ini, mut env) = (None, None);
    for dir in versions.ancestors().take(5) {
        if ini.is_none() {
            ini = std::fs::read_to_string(dir.join("alembic.ini")).ok();
        }
        if env.is_none() {
            env = std::fs::read_to_string(dir.join("env.py")).ok();
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    ini.as_deref().and_then(ini_dialect).or_else(|| env.as_deref().and_then(env_py_dialect))
}

/// Does `node` run only on databases other than PostgreSQL, by an enclosing dialect test:
/// the body of `if bind.dialect.name == "mysql":` / `if isinstance(bind.dialect, SQLiteDialect):`,
/// or the `else` of `if dialect == "postgresql":`? Read from the condition's text.
pub(crate) fn runs_only_elsewhere(node: Node<'_>, src: &str) -> bool {
    let mut child = node;
    for ancestor in python::ancestors(node) {
        if ancestor.kind_str() == "function_definition" {
            break;
        }
        let condition = ancestor.field("condition").and_then(|c| src.get(c.byte_range()));
        let positive = match ancestor.kind_str() {
            "if_statement" | "elif_clause" if ancestor.field("consequence") == Some(child) => Some(true),
            "if_statement" if matches!(child.kind_str(), "elif_clause" | "else_clause") => Some(false),
            _ => None,
        };
        if let (Some(positive), Some(condition)) = (positive, condition) {
            let lower = condition.to_ascii_lowercase();
            let negated = lower.contains("!=") || lower.contains("not ");
            let postgres = lower.contains("postgres") || lower.contains("pgdialect");
            let other = ["mysql", "sqlite", "mssql", "oracle", "mariadb"].iter().any(|d| lower.contains(d));
            let excludes_postgres = if positive == negated { postgres } else { other && !postgres };
            if excludes_postgres {
                return true;
            }
        }
        child = ancestor;
    }
    false
}

/// Findings of a PostgreSQL-only rule on one revision file, reported once the model index knows
/// the revision's environment and its dialect is PostgreSQL (see [`environment_dialect`]).
pub(crate) struct PostgresOnly {
    pub(crate) rule: crate::registry::RuleId,
    pub(crate) revision: Option<String>,
    pub(crate) findings: Vec<(std::ops::Range<usize>, String, String)>,
}

impl crate::checker::Deferred for PostgresOnly {
    fn resolve(&self, project: &crate::checker::Project<'_>, out: &mut Vec<crate::diagnostic::Diagnostic>) {
        let index = project.index;
        let entry =
            index.revisions_of_module(&project.file.module).into_iter().find(|e| e.facts.revision == self.revision);
        let Some(entry) = entry else { return };
        if index.revision_dialect(&entry.path) != Some(Dialect::Postgresql) {
            return;
        }
        out.extend(self.findings.iter().map(|(range, message, help)| crate::diagnostic::Diagnostic {
            rule: self.rule,
            range: range.clone(),
            message: message.clone(),
            help: Some(help.clone()),
            fix: None,
        }));
    }
}

/// What a revision module declares about its place in the revision graph (SA705), with the
/// byte ranges of the declaring lines. Owned, so it can travel into the project index.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct RevisionFacts {
    /// `revision = "..."`; `None` when not a literal string.
    pub(crate) revision: Option<String>,
    pub(crate) revision_range: std::ops::Range<usize>,
    /// `down_revision`: `Some(vec![])` for a root (`None`), `None` when not literal.
    pub(crate) down: Option<Vec<String>>,
    pub(crate) down_range: std::ops::Range<usize>,
    pub(crate) branch_labels: Vec<String>,
    /// `depends_on`: revision ids, partial ids or branch labels.
    pub(crate) depends_on: Vec<String>,
    pub(crate) depends_range: Option<std::ops::Range<usize>>,
}

/// The revision facts of a revision module (see [`migration`] for how one is recognised).
pub(crate) fn revision_facts(module: Node<'_>, src: &str) -> Option<RevisionFacts> {
    migration(module, src)?;
    let mut facts = RevisionFacts::default();
    for child in python::named_children(module) {
        let Some(assignment) =
            child.named_child(0).filter(|a| child.kind_str() == "expression_statement" && a.kind_str() == "assignment")
        else {
            continue;
        };
        let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right")) else {
            continue;
        };
        let range = child.byte_range();
        match src.get(left.byte_range()) {
            Some("revision") => {
                facts.revision = string_value(right, src);
                facts.revision_range = range;
            }
            Some("down_revision") => {
                facts.down = string_list(right, src);
                facts.down_range = range;
            }
            Some("branch_labels") => facts.branch_labels = string_list(right, src).unwrap_or_default(),
            Some("depends_on") => {
                facts.depends_on = string_list(right, src).unwrap_or_default();
                facts.depends_range = Some(range);
            }
            _ => {}
        }
    }
    Some(facts)
}

/// `None` → `[]`, `"a"` → `["a"]`, `("a", "b")` / `["a", "b"]` → both; `None` if not literal.
fn string_list(node: Node<'_>, src: &str) -> Option<Vec<String>> {
    let node = python::unparen(node);
    match node.kind_str() {
        "none" => Some(Vec::new()),
        "tuple" | "list" | "expression_list" => {
            python::named_children(node).into_iter().map(|n| string_value(n, src)).collect()
        }
        _ => string_value(node, src).map(|s| vec![s]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::test_support::parse;

    const REVISION: &str = r#"
"""add status"""
from alembic import op
import sqlalchemy as sa

revision: str = "a1"
down_revision = None

def upgrade() -> None:
    op.create_table("new", sa.Column("id", sa.Integer))
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("x", sa.Integer))
        other.add_column(1)
    with op.get_context().autocommit_block():
        op.create_index("ix", "account", ["x"], postgresql_concurrently=True)
    def helper():
        op.drop_table("never")
    op.execute(sa.text("CREATE TABLE raw_t (id int); UPDATE account SET x = 1"))

def downgrade():
    pass
"#;

    /// Within an engine pass the operations and calls of a function are listed once, then
    /// found again by their byte ranges: the same nodes, in the same order.
    #[test]
    fn cached_operations_and_calls_are_the_walked_ones() {
        let tree = parse(REVISION);
        let found = migration(tree.root_node(), REVISION).expect("a migration");
        let key = |ops: &[OpCall<'_>]| -> Vec<_> {
            ops.iter().map(|o| (o.call.id(), o.name.to_string(), o.batch.map(|b| b.id()), o.autocommit)).collect()
        };
        let ids = |calls: &[Node<'_>]| -> Vec<usize> { calls.iter().map(|c| c.id()).collect() };
        let walked = key(&op_calls(found.upgrade, REVISION));
        let walked_calls = ids(&calls(found.upgrade, REVISION));
        assert!(walked.len() >= 4 && walked.iter().any(|o| o.2.is_some()) && walked.iter().any(|o| o.3));
        let _scope = crate::python::import_cache::scope();
        for _ in 0..2 {
            let again = migration(tree.root_node(), REVISION).expect("a migration");
            assert_eq!(
                (again.upgrade.id(), again.downgrade.map(|d| d.id())),
                (found.upgrade.id(), found.downgrade.map(|d| d.id()))
            );
            assert!(migration(python::named_children(tree.root_node())[0], REVISION).is_none());
            assert_eq!(key(&op_calls(found.upgrade, REVISION)), walked);
            assert_eq!(ids(&calls(found.upgrade, REVISION)), walked_calls);
        }
        // Another tree in another scope does not read this one's entries.
        drop(_scope);
        let other = REVISION.replace("op.create_table", "op.drop_table");
        let tree2 = parse(&other);
        let found2 = migration(tree2.root_node(), &other).expect("a migration");
        let _scope = crate::python::import_cache::scope();
        let names: Vec<&str> = op_calls(found2.upgrade, &other).iter().map(|o| o.name).collect();
        assert_eq!(names.first(), Some(&"drop_table"));
    }

    #[test]
    fn recognises_a_revision_and_its_operations() {
        let tree = parse(REVISION);
        let found = migration(tree.root_node(), REVISION).expect("a revision");
        assert!(found.downgrade.is_some());
        let ops = op_calls(found.upgrade, REVISION);
        let names: Vec<&str> = ops.iter().map(|o| o.name).collect();
        assert_eq!(
            names,
            ["create_table", "batch_alter_table", "add_column", "get_context", "create_index", "execute"]
        );
        let add = ops[2];
        assert_eq!(add.table(0, REVISION).as_deref(), Some("account"));
        assert_eq!(add.callee(REVISION), "batch_op.add_column");
        assert!(ops[4].autocommit && !add.autocommit && ops[4].flag("postgresql_concurrently", REVISION));
        assert_eq!(created_tables(&ops, REVISION), ["new", "raw_t"]);
        let src = "def upgrade():\n    op.execute('delete from a; DELETE FROM b WHERE x; TRUNCATE c, public.d')\n";
        let tree = parse(src);
        let ops = op_calls(python::named_children(tree.root_node())[0], src);
        assert_eq!(emptied_tables(&ops, src), ["a", "c", "d"]);
        assert!(migration(
            parse("revision = 1\ndef upgrade(): pass\n").root_node(),
            "revision = 1\ndef upgrade(): pass\n"
        )
        .is_none());
    }

    #[test]
    fn reads_the_dialect_of_an_environment() {
        assert_eq!(url_dialect("postgresql+psycopg://u@h/db"), Some(Dialect::Postgresql));
        assert_eq!(url_dialect("'postgres://u@h/db'"), Some(Dialect::Postgresql));
        assert_eq!(url_dialect("sqlite:///app.db"), Some(Dialect::Other));
        assert_eq!(url_dialect("driver://user:pass@localhost/dbname"), None);
        assert_eq!(url_dialect("%(DB_URL)s"), None);
        assert_eq!(url_dialect(""), None);
        let ini = "[alembic]\n# sqlalchemy.url = sqlite://\nsqlalchemy.url = postgresql://x/y\n";
        assert_eq!(ini_dialect(ini), Some(Dialect::Postgresql));
        assert_eq!(ini_dialect("[a]\nsqlalchemy.url = postgresql://x\n[b]\nsqlalchemy.url = mysql://y\n"), None);
        assert_eq!(env_py_dialect("import asyncpg\nurl = 'see https://example.com'\n"), Some(Dialect::Postgresql));
        assert_eq!(env_py_dialect("URL = 'sqlite:///x'\nif 'postgresql://' in u: pass\n"), None);
        assert_eq!(env_py_dialect("url = config.get_main_option('sqlalchemy.url')\n"), None);
    }

    #[test]
    fn dialect_guards() {
        let src = "def upgrade():\n    if bind.dialect.name == 'mysql':\n        op.a()\n    if name == 'postgresql':\n        op.b()\n    else:\n        op.c()\n    if name != 'sqlite':\n        op.d()\n    op.e()\n";
        let tree = parse(src);
        let function = python::named_children(tree.root_node())[0];
        let ops = op_calls(function, src);
        let elsewhere: Vec<&str> = ops.iter().filter(|o| runs_only_elsewhere(o.call, src)).map(|o| o.name).collect();
        assert_eq!(elsewhere, ["a", "c"]);
    }

    #[test]
    fn reads_literal_sql() {
        let src = "op.execute('ALTER TABLE a\\nDROP COLUMN b' ' CASCADE')\nop.execute(f'DROP TABLE {t}')\n";
        let tree = parse(src);
        let calls: Vec<Node> =
            python::named_children(tree.root_node()).into_iter().filter_map(|s| s.named_child(0)).collect();
        assert_eq!(literal_sql(calls[0], src).as_deref(), Some("ALTER TABLE a\nDROP COLUMN b CASCADE"));
        assert_eq!(literal_sql(calls[1], src), None);
        assert!(parse_sql("ALTER TABLE a DROP COLUMN b").is_some());
        assert!(parse_sql("this is not sql").is_none());
        let words = statement_keywords("drop index concurrently ix; CREATE UNIQUE INDEX CONCURRENTLY x ON t (a)", 4);
        assert_eq!(
            words,
            Some(vec![
                vec![Keyword::DROP, Keyword::INDEX, Keyword::CONCURRENTLY, Keyword::NoKeyword],
                vec![Keyword::CREATE, Keyword::UNIQUE, Keyword::INDEX, Keyword::CONCURRENTLY],
            ])
        );
    }
}
