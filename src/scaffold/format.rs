//! Layout of generated Python as Ruff/Black leave it: line length 88, double quotes,
//! imports grouped stdlib / third party / first party and sorted as isort does.
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const LINE_LENGTH: usize = 88;

/// `head(args)tail` at `indent` spaces, wrapped as Black does: on one line when it fits;
/// else the arguments on one indented line; else one per line with a trailing comma.
pub(crate) fn call(indent: usize, head: &str, args: &[String], tail: &str) -> String {
    let pad = " ".repeat(indent);
    let joined = args.join(", ");
    let one_line = format!("{pad}{head}({joined}){tail}");
    if one_line.chars().count() <= LINE_LENGTH || args.is_empty() {
        return one_line;
    }
    let inner = format!("{pad}    {joined}");
    if inner.chars().count() <= LINE_LENGTH {
        return format!("{pad}{head}(\n{inner}\n{pad}){tail}");
    }
    let lines: String = args.iter().map(|a| format!("{pad}    {a},\n")).collect();
    format!("{pad}{head}(\n{lines}{pad}){tail}")
}

/// Which isort section a module belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    Future,
    Stdlib,
    ThirdParty,
    FirstParty,
}

/// The imports of a generated module: `import x` and `from x import a, b`.
#[derive(Debug, Default)]
pub(crate) struct Imports {
    modules: BTreeMap<(Section, String), BTreeSet<String>>,
    plain: BTreeSet<(Section, String)>,
}

pub(crate) fn is_stdlib(module: &str) -> bool {
    section_of(module) == Section::Stdlib
}

fn section_of(module: &str) -> Section {
    // The standard-library modules generated code imports.
    const STDLIB: &[&str] =
        &["asyncio", "collections", "contextlib", "datetime", "decimal", "logging", "os", "sys", "typing", "uuid"];
    const THIRD_PARTY: &[&str] = &["alembic", "fastapi", "flask", "flask_sqlalchemy", "sqlalchemy", "sqlmodel"];
    let top = module.split('.').next().unwrap_or(module);
    if top == "__future__" {
        Section::Future
    } else if STDLIB.contains(&top) {
        Section::Stdlib
    } else if THIRD_PARTY.contains(&top) {
        Section::ThirdParty
    } else {
        Section::FirstParty
    }
}

/// isort's "order by type": CONSTANTS, then Classes, then functions, each case-sensitively.
fn name_key(name: &str) -> (u8, String) {
    let rank = if name.len() > 1 && name.chars().all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit()) {
        0
    } else if name.starts_with(char::is_uppercase) {
        1
    } else {
        2
    };
    (rank, name.to_string())
}

impl Imports {
    pub(crate) fn from(&mut self, module: &str, name: &str) {
        self.modules.entry((section_of(module), module.to_string())).or_default().insert(name.to_string());
    }

    pub(crate) fn import(&mut self, module: &str) {
        self.plain.insert((section_of(module), module.to_string()));
    }

    /// The import block, sections separated by one blank line, no trailing blank line.
    pub(crate) fn render(&self) -> String {
        let mut sections: BTreeMap<Section, Vec<String>> = BTreeMap::new();
        // isort (Ruff's default, force-sort-within-sections off): `import x` lines before `from x import`.
        for (section, module) in &self.plain {
            sections.entry(*section).or_default().push(format!("import {module}"));
        }
        for ((section, module), names) in &self.modules {
            let mut names: Vec<&String> = names.iter().collect();
            names.sort_by_key(|n| name_key(n));
            let joined = names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
            let line = format!("from {module} import {joined}");
            let line = if line.len() <= LINE_LENGTH {
                line
            } else {
                let body: String = names.iter().map(|n| format!("    {n},\n")).collect();
                format!("from {module} import (\n{body})")
            };
            sections.entry(*section).or_default().push(line);
        }
        sections.values().map(|lines| lines.join("\n")).collect::<Vec<_>>().join("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_wrap_as_black_does() {
        let args = vec!["ForeignKey(\"organizations.id\")".to_string(), "index=True".to_string()];
        assert_eq!(
            call(4, "x: Mapped[int] = mapped_column", &args, ""),
            "    x: Mapped[int] = mapped_column(ForeignKey(\"organizations.id\"), index=True)"
        );
        let long = "an_extremely_long_attribute_name_for_testing: Mapped[int] = mapped_column";
        assert_eq!(
            call(4, long, &args, ""),
            format!("    {long}(\n        ForeignKey(\"organizations.id\"), index=True\n    )")
        );
        let many: Vec<String> = (0..8).map(|i| format!("argument_number_{i}=True")).collect();
        let text = call(4, "f", &many, "");
        assert!(text.ends_with("        argument_number_7=True,\n    )"), "{text}");
    }

    #[test]
    fn imports_sort_by_section_and_type() {
        let mut imports = Imports::default();
        imports.from("sqlalchemy", "String");
        imports.from("sqlalchemy", "JSON");
        imports.from("sqlalchemy", "DateTime");
        imports.from("sqlalchemy.orm", "mapped_column");
        imports.from("sqlalchemy.orm", "Mapped");
        imports.import("uuid");
        imports.from("datetime", "datetime");
        imports.from("app.db", "Base");
        assert_eq!(
            imports.render(),
            "import uuid\nfrom datetime import datetime\n\nfrom sqlalchemy import JSON, DateTime, String\n\
             from sqlalchemy.orm import Mapped, mapped_column\n\nfrom app.db import Base"
        );
    }
}
