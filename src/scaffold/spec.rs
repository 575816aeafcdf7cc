//! Parsing of `sqlalint new model` specs: `--columns "id:int:pk,name:str:unique,bio:text?"`
//! and `--relationship "org:Org:many-to-one[:lazy]"`. Errors point at the offending token of
//! the argument and list the valid choices.
use std::ops::Range;

use miette::{Diagnostic, NamedSource, SourceSpan};

use crate::cli::Lazy;

/// Column types of the spec, with what they map to in SQLAlchemy 2.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Int,
    /// `str` or `str:N`: `String(N)`, 255 when not given.
    Str(u32),
    Text,
    Bool,
    Float,
    Decimal,
    Date,
    DateTime,
    Uuid,
    Json,
}

pub(crate) const TYPES: &[&str] =
    &["int", "str", "str:N", "text", "bool", "float", "decimal", "date", "datetime", "uuid", "json", "fk=TABLE.COLUMN"];
const FLAGS: &[&str] = &["pk", "unique", "index", "fk=TABLE.COLUMN"];
pub(crate) const KINDS: &[&str] = &["many-to-one", "one-to-many", "one-to-one"];
const LAZIES: &[&str] = &["raise", "raise_on_sql", "selectin", "joined", "subquery"];
/// Names the declarative base already uses: a column of that name breaks the class.
const RESERVED: &[&str] = &["metadata", "registry", "query", "query_class"];

const DEFAULT_STR_LENGTH: u32 = 255;

#[derive(Debug, Clone)]
pub(crate) struct ColumnSpec {
    pub(crate) name: String,
    pub(crate) ty: ColumnType,
    pub(crate) nullable: bool,
    pub(crate) primary_key: bool,
    pub(crate) unique: bool,
    pub(crate) index: bool,
    /// `(table, column)` the foreign key references.
    pub(crate) foreign_key: Option<(String, String)>,
}

impl ColumnSpec {
    pub(crate) fn new(name: &str, ty: ColumnType) -> Self {
        ColumnSpec {
            name: name.to_string(),
            ty,
            nullable: false,
            primary_key: false,
            unique: false,
            index: false,
            foreign_key: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    ManyToOne,
    OneToMany,
    OneToOne,
}

#[derive(Debug, Clone)]
pub(crate) struct RelationshipSpec {
    pub(crate) name: String,
    pub(crate) target: String,
    pub(crate) kind: Kind,
    pub(crate) lazy: Option<Lazy>,
    /// The `--relationship` argument and where the target sits in it, for later errors.
    pub(crate) source: String,
    pub(crate) target_span: Range<usize>,
}

impl RelationshipSpec {
    /// An error about the target class (unknown, without a foreign key, ...).
    pub(crate) fn target_error(&self, message: String, label: &str, help: Option<String>) -> SpecError {
        SpecError::new("--relationship", &self.source, self.target_span.clone(), message, label, help)
    }
}

/// A bad spec: exit 2, nothing written.
#[derive(Debug, Diagnostic)]
#[diagnostic(code(sqlalint::new))]
pub(crate) struct SpecError {
    message: String,
    /// Shared, so the error stays small enough to return by value.
    #[source_code]
    src: std::sync::Arc<NamedSource<String>>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    pub(crate) fn new(
        what: &str,
        text: &str,
        span: Range<usize>,
        message: String,
        label: &str,
        help: Option<String>,
    ) -> Self {
        let span = span.start.min(text.len())..span.end.min(text.len());
        SpecError {
            message,
            src: std::sync::Arc::new(NamedSource::new(what, text.to_string())),
            span: span.into(),
            label: label.to_string(),
            help,
        }
    }
}

/// A piece of the argument and where it starts.
#[derive(Debug, Clone, Copy)]
struct Token<'s> {
    text: &'s str,
    at: usize,
}

impl Token<'_> {
    fn span(&self) -> Range<usize> {
        self.at..self.at + self.text.len()
    }
}

/// Splits `text` at `sep`, trimming each piece; offsets stay those of the whole argument.
fn split<'s>(token: Token<'s>, sep: char) -> Vec<Token<'s>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in token.text.char_indices().chain(std::iter::once((token.text.len(), sep))) {
        if c != sep {
            continue;
        }
        let raw = &token.text[start..i];
        let lead = raw.len() - raw.trim_start().len();
        pieces.push(Token { text: raw.trim(), at: token.at + start + lead });
        start = i + sep.len_utf8();
    }
    pieces
}

fn choices(list: &[&str]) -> String {
    list.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

/// "did you mean `int`?" for a near miss, then the full list.
fn valid_choices(got: &str, list: &[&str]) -> String {
    let near = list
        .iter()
        .filter_map(|c| crate::python::edit_distance(got, c, (got.len() / 2).max(2)).map(|d| (d, *c)))
        .min()
        .map(|(_, c)| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    format!("{near}valid choices: {}", choices(list))
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// Checks an attribute name (column or relationship) of the spec `what`.
fn attribute_name(what: &str, source: &str, token: Token<'_>, kind: &str) -> Result<String, SpecError> {
    let example = if kind == "column" { "`title:str:index`" } else { "`author:User:many-to-one`" };
    if token.text.is_empty() {
        return Err(SpecError::new(
            what,
            source,
            token.at..token.at,
            format!("empty {kind} name"),
            "a name goes here",
            Some(format!("write each {kind} as {example}")),
        ));
    }
    if !is_identifier(token.text) {
        return Err(SpecError::new(
            what,
            source,
            token.span(),
            format!("`{}` is not a valid {kind} name", token.text),
            "not a Python identifier",
            Some("use letters, digits and `_`, not starting with a digit, and not a Python keyword".into()),
        ));
    }
    if RESERVED.contains(&token.text) {
        return Err(SpecError::new(
            what,
            source,
            token.span(),
            format!("`{}` is reserved by the declarative base", token.text),
            "reserved name",
            Some(format!("choose another name; reserved: {}", choices(RESERVED))),
        ));
    }
    Ok(token.text.to_string())
}

fn parse_type(name: &str) -> Option<ColumnType> {
    Some(match name {
        "int" => ColumnType::Int,
        "str" => ColumnType::Str(DEFAULT_STR_LENGTH),
        "text" => ColumnType::Text,
        "bool" => ColumnType::Bool,
        "float" => ColumnType::Float,
        "decimal" => ColumnType::Decimal,
        "date" => ColumnType::Date,
        "datetime" => ColumnType::DateTime,
        "uuid" => ColumnType::Uuid,
        "json" => ColumnType::Json,
        _ => return None,
    })
}

/// `fk=orgs.id` → `("orgs", "id")`; the table may be schema-qualified.
fn parse_foreign_key(what: &str, source: &str, token: Token<'_>) -> Result<(String, String), SpecError> {
    let target = token.text.trim_start_matches("fk=").trim_end_matches('?');
    let parsed = target
        .rsplit_once('.')
        .filter(|(table, column)| is_identifier(column) && !table.is_empty() && table.split('.').all(is_identifier));
    parsed.map(|(t, c)| (t.to_string(), c.to_string())).ok_or_else(|| {
        SpecError::new(
            what,
            source,
            token.span(),
            format!("`{}` is not a foreign key target", token.text),
            "expected `fk=TABLE.COLUMN`",
            Some("name the referenced table and column, e.g. `org_id:fk=orgs.id`".into()),
        )
    })
}

/// Parses `--columns`. Columns come back in spec order.
pub(crate) fn parse_columns(source: &str) -> Result<Vec<ColumnSpec>, SpecError> {
    const WHAT: &str = "--columns";
    let mut columns: Vec<ColumnSpec> = Vec::new();
    if source.trim().is_empty() {
        return Ok(columns);
    }
    for column in split(Token { text: source, at: 0 }, ',') {
        let parts = split(column, ':');
        let name = attribute_name(WHAT, source, parts[0], "column")?;
        if columns.iter().any(|c| c.name == name) {
            return Err(SpecError::new(
                WHAT,
                source,
                parts[0].span(),
                format!("column `{name}` is declared twice"),
                "declared again here",
                Some("give each column once, with all its flags".into()),
            ));
        }
        let Some(&ty) = parts.get(1).filter(|t| !t.text.is_empty()) else {
            let at = parts.get(1).map_or(column.at + column.text.len(), |t| t.at);
            return Err(SpecError::new(
                WHAT,
                source,
                at..at,
                format!("column `{name}` has no type"),
                "a type goes here",
                Some(format!("write `{name}:TYPE`; valid types: {}", choices(TYPES))),
            ));
        };
        let mut rest = &parts[2..];
        let nullable = ty.text.ends_with('?');
        let type_name = ty.text.trim_end_matches('?');
        let mut spec = if type_name.starts_with("fk=") {
            let mut spec = ColumnSpec::new(&name, ColumnType::Int);
            spec.foreign_key = Some(parse_foreign_key(WHAT, source, ty)?);
            spec
        } else {
            let Some(mut parsed) = parse_type(type_name) else {
                return Err(SpecError::new(
                    WHAT,
                    source,
                    ty.span(),
                    format!("unknown column type `{type_name}`"),
                    "unknown type",
                    Some(valid_choices(type_name, TYPES)),
                ));
            };
            // `str:N`: the next part is the length when it is a number.
            if let (ColumnType::Str(_), Some(length)) = (parsed, rest.first()) {
                if length.text.trim_end_matches('?').bytes().all(|b| b.is_ascii_digit()) {
                    let digits = length.text.trim_end_matches('?');
                    match digits.parse::<u32>() {
                        Ok(n) if n > 0 && !nullable => parsed = ColumnType::Str(n),
                        _ => {
                            return Err(SpecError::new(
                                WHAT,
                                source,
                                length.span(),
                                format!("`{}` is not a string length", length.text),
                                "expected a positive length",
                                Some("write `str:N` with N > 0, and `?` after the length: `str:80?`".into()),
                            ))
                        }
                    }
                    rest = &rest[1..];
                    let mut spec = ColumnSpec::new(&name, parsed);
                    spec.nullable = length.text.ends_with('?');
                    apply_flags(WHAT, source, &mut spec, rest)?;
                    columns.push(spec);
                    continue;
                }
            }
            ColumnSpec::new(&name, parsed)
        };
        spec.nullable = nullable;
        apply_flags(WHAT, source, &mut spec, rest)?;
        columns.push(spec);
    }
    Ok(columns)
}

fn apply_flags(what: &str, source: &str, spec: &mut ColumnSpec, flags: &[Token<'_>]) -> Result<(), SpecError> {
    for flag in flags {
        match flag.text {
            "pk" => spec.primary_key = true,
            "unique" => spec.unique = true,
            "index" => spec.index = true,
            text if text.starts_with("fk=") => spec.foreign_key = Some(parse_foreign_key(what, source, *flag)?),
            text => {
                let (message, label) = if parse_type(text.trim_end_matches('?')).is_some() {
                    (format!("column `{}` has two types", spec.name), "second type")
                } else {
                    (format!("unknown column flag `{text}`"), "unknown flag")
                };
                return Err(SpecError::new(
                    what,
                    source,
                    flag.span(),
                    message,
                    label,
                    Some(valid_choices(text, FLAGS)),
                ));
            }
        }
        if spec.primary_key && spec.nullable {
            return Err(SpecError::new(
                what,
                source,
                flag.span(),
                format!("primary key `{}` cannot be nullable", spec.name),
                "primary key",
                Some("drop the `?` after the type".into()),
            ));
        }
    }
    Ok(())
}

fn parse_lazy(name: &str) -> Option<Lazy> {
    Some(match name {
        "raise" => Lazy::Raise,
        "raise_on_sql" => Lazy::RaiseOnSql,
        "selectin" => Lazy::Selectin,
        "joined" => Lazy::Joined,
        "subquery" => Lazy::Subquery,
        _ => return None,
    })
}

pub(crate) fn lazy_name(lazy: Lazy) -> &'static str {
    match lazy {
        Lazy::Raise => "raise",
        Lazy::RaiseOnSql => "raise_on_sql",
        Lazy::Selectin => "selectin",
        Lazy::Joined => "joined",
        Lazy::Subquery => "subquery",
    }
}

/// Parses one `--relationship` argument.
pub(crate) fn parse_relationship(source: &str) -> Result<RelationshipSpec, SpecError> {
    const WHAT: &str = "--relationship";
    let parts = split(Token { text: source, at: 0 }, ':');
    let name = attribute_name(WHAT, source, parts[0], "relationship")?;
    let missing = |at: usize, what_: &str, help: String| {
        SpecError::new(
            WHAT,
            source,
            at..at,
            format!("relationship `{name}` has no {what_}"),
            "expected here",
            Some(help),
        )
    };
    let end = source.len();
    let Some(target) = parts.get(1).filter(|t| !t.text.is_empty()) else {
        return Err(missing(
            parts.get(1).map_or(end, |t| t.at),
            "target class",
            format!("write `{name}:Target:kind`, e.g. `{name}:User:many-to-one`"),
        ));
    };
    if !is_identifier(target.text) {
        return Err(SpecError::new(
            WHAT,
            source,
            target.span(),
            format!("`{}` is not a class name", target.text),
            "not a Python identifier",
            Some("name the target model class, e.g. `User`".into()),
        ));
    }
    let Some(kind) = parts.get(2).filter(|t| !t.text.is_empty()) else {
        return Err(missing(parts.get(2).map_or(end, |t| t.at), "kind", format!("valid kinds: {}", choices(KINDS))));
    };
    let kind_value = match kind.text {
        "many-to-one" => Kind::ManyToOne,
        "one-to-many" => Kind::OneToMany,
        "one-to-one" => Kind::OneToOne,
        other => {
            let help = if other == "many-to-many" {
                "many-to-many needs an association table: generate it as a model with two many-to-one \
                 relationships. "
                    .to_string()
                    + &valid_choices(other, KINDS)
            } else {
                valid_choices(other, KINDS)
            };
            return Err(SpecError::new(
                WHAT,
                source,
                kind.span(),
                format!("unknown relationship kind `{other}`"),
                "unknown kind",
                Some(help),
            ));
        }
    };
    let lazy = match parts.get(3) {
        None => None,
        Some(token) => Some(parse_lazy(token.text).ok_or_else(|| {
            SpecError::new(
                WHAT,
                source,
                token.span(),
                format!("unknown loading strategy `{}`", token.text),
                "unknown strategy",
                Some(valid_choices(token.text, LAZIES)),
            )
        })?),
    };
    if let Some(extra) = parts.get(4) {
        return Err(SpecError::new(
            WHAT,
            source,
            extra.at..end,
            "too many parts in the relationship".into(),
            "unexpected",
            Some("write `name:Target:kind[:lazy]`".into()),
        ));
    }
    Ok(RelationshipSpec {
        name,
        target: target.text.to_string(),
        kind: kind_value,
        lazy,
        source: source.to_string(),
        target_span: target.span(),
    })
}

/// `app.db:Base` → `("app.db", "Base")`.
pub(crate) fn parse_base(source: &str) -> Result<(String, String), SpecError> {
    let parsed =
        source.split_once(':').filter(|(module, name)| is_identifier(name) && module.split('.').all(is_identifier));
    parsed.map(|(m, n)| (m.to_string(), n.to_string())).ok_or_else(|| {
        SpecError::new(
            "--base",
            source,
            0..source.len(),
            format!("`{source}` does not name a declarative base"),
            "expected `module:Name`",
            Some("give the module and the class, e.g. `--base app.db:Base`".into()),
        )
    })
}

/// Class name → table name: `OrderItem` → `order_items`, `Category` → `categories`.
pub(crate) fn table_name(class: &str) -> String {
    plural(&snake_case(class))
}

pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let acronym_end =
                i > 0 && chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || acronym_end {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// English plural of the last word of a snake_case name, for the common cases.
pub(crate) fn plural(word: &str) -> String {
    let vowel_before = |s: &str| s.chars().rev().nth(1).is_some_and(|c| "aeiou".contains(c));
    if word.ends_with('y') && !vowel_before(word) {
        format!("{}ies", &word[..word.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|end| word.ends_with(end)) {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_parse_types_flags_lengths_and_nullability() {
        let columns =
            parse_columns("id:int:pk, name:str:80:unique,bio:text?,org_id:fk=orgs.id?,code:str?:index").unwrap();
        assert_eq!(columns.len(), 5);
        assert!(columns[0].primary_key);
        assert_eq!(columns[1].ty, ColumnType::Str(80));
        assert!(columns[1].unique);
        assert!(columns[2].nullable);
        assert_eq!(columns[3].foreign_key, Some(("orgs".into(), "id".into())));
        assert!(columns[3].nullable);
        assert_eq!(columns[4].ty, ColumnType::Str(DEFAULT_STR_LENGTH));
        assert!(columns[4].nullable && columns[4].index);
    }

    #[test]
    fn bad_columns_point_at_the_token() {
        let span = |spec: &str| {
            let err = parse_columns(spec).unwrap_err();
            let start = err.span.offset();
            (spec[start..start + err.span.len()].to_string(), err.help.unwrap_or_default())
        };
        let (token, help) = span("id:integr:pk");
        assert_eq!(token, "integr");
        assert!(help.contains("did you mean `int`") && help.contains("`uuid`"), "{help}");
        assert_eq!(span("id:int,id:str").0, "id");
        assert_eq!(span("id:int:pkk").0, "pkk");
        assert_eq!(span("id:int,org_id:fk=orgs").0, "fk=orgs");
        assert_eq!(span("id:int:pk,class:str").0, "class");
        assert_eq!(parse_columns("id:int,:str").unwrap_err().span.offset(), 7);
        assert!(parse_columns("name").is_err());
        assert!(parse_columns("id:int?:pk").is_err());
    }

    #[test]
    fn relationships_parse_and_reject_unknown_kinds() {
        let rel = parse_relationship("org:Org:many-to-one:selectin").unwrap();
        assert_eq!((rel.name.as_str(), rel.target.as_str(), rel.kind), ("org", "Org", Kind::ManyToOne));
        assert_eq!(rel.lazy, Some(Lazy::Selectin));
        let err = parse_relationship("org:Org:many-to-won").unwrap_err();
        assert!(err.help.unwrap_or_default().contains("did you mean `many-to-one`"));
        assert!(parse_relationship("org:Org").is_err());
        assert!(parse_relationship("org:Org:one-to-many:lazy").is_err());
    }

    #[test]
    fn table_names_are_snake_case_plurals() {
        assert_eq!(table_name("User"), "users");
        assert_eq!(table_name("OrderItem"), "order_items");
        assert_eq!(table_name("Category"), "categories");
        assert_eq!(table_name("Address"), "addresses");
        assert_eq!(table_name("HTTPLog"), "http_logs");
        assert_eq!(table_name("Day"), "days");
    }
}
