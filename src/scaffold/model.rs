//! `sqlalint new model`: a SQLAlchemy 2.0 declarative model from a column spec, with both
//! sides of each relationship (the other side is added to the target's class when it
//! lacks it) and an explicit loading strategy.
use crate::syntax::Fields;
use crate::syntax::KindStr;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::miette;

use super::format::{self, Imports};
use super::project::{BaseRef, Project};
use super::spec::{self, ColumnSpec, ColumnType, Kind, RelationshipSpec, SpecError};
use super::{is_stdout, write_plan, Planned};
use crate::cli::NewModelArgs;
use crate::index::merge::Model;
use crate::Status;

/// One relationship attribute to write (on the new class or on the target's).
#[derive(Debug, Clone)]
struct Attribute {
    name: String,
    /// `Mapped[...]` contents: `"Org"`, `list["User"]`, `"User | None"`.
    annotation: String,
    args: Vec<String>,
}

impl Attribute {
    fn render(&self, indent: usize) -> String {
        format::call(indent, &format!("{}: Mapped[{}] = relationship", self.name, self.annotation), &self.args, "")
    }
}

/// The other side of a relationship, added to an existing class.
struct Reverse<'p> {
    model: &'p Model,
    attribute: Attribute,
}

/// Everything the new class needs, worked out before anything is written.
struct Plan<'p> {
    class: String,
    table: String,
    columns: Vec<ColumnSpec>,
    relationships: Vec<Attribute>,
    /// Other modules' classes the annotations name (imported under `TYPE_CHECKING`).
    type_imports: Vec<(String, String)>,
    reverses: Vec<Reverse<'p>>,
}

pub(crate) fn run(args: &NewModelArgs) -> miette::Result<Status> {
    if !spec::is_identifier(&args.name) || !args.name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Err(SpecError::new(
            "MODEL",
            &args.name,
            0..args.name.len(),
            format!("`{}` is not a model class name", args.name),
            "expected a class name",
            Some("use a CapWords Python identifier, e.g. `User` or `OrderItem`".into()),
        )
        .into());
    }
    let mut columns = spec::parse_columns(&args.columns)?;
    let relationships =
        args.relationships.iter().map(|r| spec::parse_relationship(r)).collect::<Result<Vec<_>, _>>()?;
    let table = args.table.clone().unwrap_or_else(|| spec::table_name(&args.name));
    if table.is_empty() || table.contains(['"', '\\', '\n']) {
        return Err(miette!("`{table}` is not a table name"));
    }
    ensure_primary_key(&mut columns)?;
    let project = Project::load()?;
    let related = relationships.iter().find(|r| r.target != args.name);
    let base = choose_base(args.base.as_deref(), &project, related.is_some())?;
    if let (None, Some(rel)) = (&base, related) {
        // A new `Base` is a new registry, where the target's class name does not resolve.
        let target = resolve_target(&project, rel)?;
        return Err(rel
            .target_error(
                format!("cannot tell which declarative base `{}` uses", target.name),
                "mapped elsewhere",
                Some(format!(
                    "pass --base module:Name with the base of `{}` ({}:{})",
                    target.name,
                    target.path.display(),
                    target.line
                )),
            )
            .into());
    }
    let out = output_path(args.out.as_deref(), &args.name, base.as_ref());
    if let Some(base_path) = base.as_ref().and_then(|b| b.path.as_deref()) {
        if !is_stdout(&out) && crate::walk::absolute(base_path) == crate::walk::absolute(&out) {
            return Err(miette!(
                help = "write the model to another file with --out",
                "{} defines the declarative base the model imports; it is not overwritten",
                out.display()
            ));
        }
    }
    if let Some(existing) = project
        .models_named(&args.name)
        .into_iter()
        .find(|m| is_stdout(&out) || crate::walk::absolute(&m.path) != crate::walk::absolute(&out))
    {
        if !args.force {
            return Err(miette!(
                help = "choose another class name, or pass --force to create it anyway",
                "a model named `{}` already exists in {}:{}",
                args.name,
                existing.path.display(),
                existing.line
            ));
        }
    }
    let mut plan = Plan {
        class: args.name.clone(),
        table,
        columns,
        relationships: Vec::new(),
        type_imports: Vec::new(),
        reverses: Vec::new(),
    };
    let our_module = if is_stdout(&out) { String::new() } else { project.module_of(&out) };
    for relationship in &relationships {
        let lazy = spec::lazy_name(relationship.lazy.unwrap_or(args.lazy));
        plan_relationship(&mut plan, relationship, lazy, &project, &our_module)?;
    }
    let text = render(&plan, base.as_ref());
    if is_stdout(&out) {
        print!("{text}");
        for reverse in &plan.reverses {
            eprintln!(
                "sqlalint: add to class {} in {}:\n{}",
                reverse.model.name,
                reverse.model.path.display(),
                reverse.attribute.render(4)
            );
        }
        return Ok(Status::Clean);
    }
    if let Some(reverse) =
        plan.reverses.iter().find(|r| crate::walk::absolute(&r.model.path) == crate::walk::absolute(&out))
    {
        return Err(miette!(
            help = "write the model to another file with --out",
            "{} holds `{}`, whose side of the relationship would be lost when the file is replaced",
            out.display(),
            reverse.model.name
        ));
    }
    let mut files = vec![Planned::new(out, text)];
    files.extend(reverse_edits(&plan, &project, &our_module)?);
    write_plan(&files, &[], args.force)?;
    Ok(Status::Clean)
}

/// A model needs a primary key: without one, `id:int:pk` comes first.
fn ensure_primary_key(columns: &mut Vec<ColumnSpec>) -> miette::Result<()> {
    if columns.iter().any(|c| c.primary_key) {
        return Ok(());
    }
    if columns.iter().any(|c| c.name == "id") {
        return Err(miette!(
            help = "mark the key with `:pk`, e.g. `id:int:pk`",
            "no column of `--columns` is the primary key, and `id` is taken"
        ));
    }
    let mut id = ColumnSpec::new("id", ColumnType::Int);
    id.primary_key = true;
    columns.insert(0, id);
    Ok(())
}

/// `--base`, else the project's only declarative base, else none (a new `Base` is written).
fn choose_base(given: Option<&str>, project: &Project, related: bool) -> miette::Result<Option<BaseRef>> {
    if let Some(given) = given {
        let (module, name) = spec::parse_base(given)?;
        return Ok(Some(BaseRef { module, class: name.clone(), name, path: None }));
    }
    let bases = project.bases();
    match bases.as_slice() {
        [only] => Ok(Some(only.clone())),
        [] => Ok(None),
        several => {
            let list = BaseRef::list(several);
            if related {
                // A relationship only resolves inside one registry: guessing would fail at run time.
                return Err(miette!(
                    help = format!("pass --base with one of: {}", list),
                    "the project has {} declarative bases; the model must share one with its relationship targets",
                    several.len()
                ));
            }
            eprintln!(
                "sqlalint: warning: the project has several declarative bases ({}); writing a new `Base` \
                 (pass --base to use one)",
                list
            );
            Ok(None)
        }
    }
}

/// `--out`, else `<snake_name>.py` next to the base's module, else in the current directory.
fn output_path(out: Option<&Path>, class: &str, base: Option<&BaseRef>) -> PathBuf {
    if let Some(out) = out {
        return out.to_path_buf();
    }
    let file = format!("{}.py", spec::snake_case(class));
    let dir = base.and_then(|b| b.path.as_deref()).and_then(Path::parent).map(|dir| {
        let cwd = std::env::current_dir().unwrap_or_default();
        dir.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or_else(|_| dir.to_path_buf())
    });
    dir.map_or_else(|| PathBuf::from(&file), |dir| dir.join(&file))
}

fn primary_key(plan: &Plan<'_>) -> Option<String> {
    let keys: Vec<&ColumnSpec> = plan.columns.iter().filter(|c| c.primary_key).collect();
    (keys.len() == 1).then(|| keys[0].name.clone())
}

fn taken(plan: &Plan<'_>, name: &str) -> bool {
    plan.columns.iter().any(|c| c.name == name) || plan.relationships.iter().any(|r| r.name == name)
}

fn plan_relationship<'p>(
    plan: &mut Plan<'p>,
    rel: &RelationshipSpec,
    lazy: &str,
    project: &'p Project,
    our_module: &str,
) -> Result<(), SpecError> {
    let class = plan.class.clone();
    if taken(plan, &rel.name) {
        return Err(rel.target_error(
            format!("`{}` is declared twice (as a column or another relationship)", rel.name),
            "here",
            Some("give each attribute its own name".into()),
        ));
    }
    let lazy_arg = format!("lazy=\"{lazy}\"");
    if rel.target == class {
        return plan_self_relationship(plan, rel, &lazy_arg);
    }
    let target = resolve_target(project, rel)?;
    if target.module != our_module {
        plan.type_imports.push((target.module.clone(), target.name.clone()));
    }
    let existing_reverse = |name: &str| target.relationship(name).or(None);
    let (ours, reverse) = match rel.kind {
        Kind::ManyToOne | Kind::OneToOne => {
            // A table the index cannot read (Flask-SQLAlchemy's automatic names): the spec's
            // `<name>_id` foreign key says it.
            let given_table = || {
                let wanted = format!("{}_id", rel.name);
                plan.columns.iter().find(|c| c.name == wanted).and_then(|c| c.foreign_key.as_ref()).map(|f| f.0.clone())
            };
            let Some(table) = target.tablename.clone().or_else(given_table) else {
                return Err(rel.target_error(
                    format!("cannot tell the table of `{}`", target.name),
                    "table unknown",
                    Some(format!("declare the foreign key in --columns, e.g. `{}_id:fk=TABLE.id`", rel.name)),
                ));
            };
            let target_key =
                target.columns.iter().filter(|c| c.primary_key).map(|c| c.name.clone()).collect::<Vec<_>>();
            let fk = foreign_key_column(
                plan,
                rel,
                &table,
                target_key.first().map(String::as_str),
                rel.kind == Kind::OneToOne,
            )?;
            let ambiguous =
                plan.columns.iter().filter(|c| c.foreign_key.as_ref().is_some_and(|(t, _)| *t == table)).count() > 1;
            let nullable = plan.columns.iter().any(|c| c.name == fk && c.nullable);
            let reverse_name = if rel.kind == Kind::OneToOne {
                spec::snake_case(&class)
            } else {
                spec::plural(&spec::snake_case(&class))
            };
            let mut args = vec![format!("back_populates=\"{reverse_name}\"")];
            let mut reverse_args = vec![format!("back_populates=\"{}\"", rel.name)];
            if ambiguous {
                args.push(format!("foreign_keys=[{fk}]"));
                reverse_args.push(format!("foreign_keys=\"[{class}.{fk}]\""));
            }
            args.push(lazy_arg.clone());
            reverse_args.push(lazy_arg.clone());
            let annotation =
                if nullable { format!("\"{} | None\"", target.name) } else { format!("\"{}\"", target.name) };
            let reverse_annotation =
                if rel.kind == Kind::OneToOne { format!("\"{class} | None\"") } else { format!("list[\"{class}\"]") };
            (
                Attribute { name: rel.name.clone(), annotation, args },
                Attribute { name: reverse_name, annotation: reverse_annotation, args: reverse_args },
            )
        }
        Kind::OneToMany => {
            let keys: Vec<&crate::index::Column> =
                target.columns.iter().filter(|c| c.referenced_table() == Some(plan.table.as_str())).collect();
            let [key] = keys.as_slice() else {
                let help = if keys.is_empty() {
                    format!(
                        "`{}` has no foreign key to `{}`: declare the relationship from its side instead, \
                         e.g. `sqlalint new model {} ... --relationship {}:{}:many-to-one`, or add the \
                         column to `{}` first",
                        target.name,
                        plan.table,
                        target.name,
                        spec::snake_case(&class),
                        class,
                        target.name
                    )
                } else {
                    format!(
                        "`{}` has several foreign keys to `{}`: declare the relationship from its side",
                        target.name, plan.table
                    )
                };
                return Err(rel.target_error(
                    format!("`{}` has no single foreign key to `{}`", target.name, plan.table),
                    "no foreign key back",
                    Some(help),
                ));
            };
            let reverse_name = key
                .name
                .strip_suffix("_id")
                .filter(|n| !n.is_empty())
                .map_or_else(|| spec::snake_case(&class), String::from);
            let reverse_annotation =
                if key.nullable == Some(true) { format!("\"{class} | None\"") } else { format!("\"{class}\"") };
            (
                Attribute {
                    name: rel.name.clone(),
                    annotation: format!("list[\"{}\"]", target.name),
                    args: vec![format!("back_populates=\"{reverse_name}\""), lazy_arg.clone()],
                },
                Attribute {
                    name: reverse_name,
                    annotation: reverse_annotation,
                    args: vec![format!("back_populates=\"{}\"", rel.name), lazy_arg],
                },
            )
        }
    };
    // The other side: reuse it when it already points back, refuse a clash, else add it.
    if let Some(present) = existing_reverse(&reverse.name) {
        if present.target.as_deref() != Some(class.as_str()) || present.back_populates.as_deref() != Some(&rel.name) {
            return Err(rel.target_error(
                format!(
                    "`{}.{}` already exists and does not point back to `{class}.{}`",
                    target.name, reverse.name, rel.name
                ),
                "name taken on the target",
                Some(format!(
                    "rename `{}.{}`, or name this relationship after its back_populates",
                    target.name, reverse.name
                )),
            ));
        }
    } else if target.column(&reverse.name).is_some() {
        return Err(rel.target_error(
            format!(
                "`{}.{}` is a column: the other side of `{}` cannot take that name",
                target.name, reverse.name, rel.name
            ),
            "name taken on the target",
            None,
        ));
    } else {
        plan.reverses.push(Reverse { model: target, attribute: reverse });
    }
    plan.relationships.push(ours);
    Ok(())
}

/// The single mapped class called `rel.target`.
fn resolve_target<'p>(project: &'p Project, rel: &RelationshipSpec) -> Result<&'p Model, SpecError> {
    let found = project.models_named(&rel.target);
    match found.as_slice() {
        [one] => Ok(one),
        [] => {
            let mut known: Vec<&str> = project.models().map(|m| m.name.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            let near = known
                .iter()
                .filter_map(|k| crate::python::edit_distance(&rel.target, k, 2).map(|d| (d, *k)))
                .min()
                .map(|(_, k)| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            let list = if known.is_empty() {
                "the project has no mapped models yet: generate the target first".to_string()
            } else {
                const SHOWN: usize = 12;
                let shown: Vec<String> = known.iter().take(SHOWN).map(|k| format!("`{k}`")).collect();
                let more = known.len().saturating_sub(SHOWN);
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                format!("models of this project: {}{more}", shown.join(", "))
            };
            Err(rel.target_error(
                format!("no model `{}` in this project", rel.target),
                "unknown class",
                Some(format!("{near}{list}")),
            ))
        }
        several => Err(rel.target_error(
            format!("{} models are named `{}`", several.len(), rel.target),
            "ambiguous class",
            Some(format!(
                "sqlalint cannot tell which one is meant: {}",
                several
                    .iter()
                    .take(5)
                    .map(|m| format!("{}:{}", super::relative(&m.path).display(), m.line))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )),
    }
}

/// The foreign-key column of a many-to-one (or one-to-one): the spec's column referencing
/// `table` (the one named `<rel>_id` when several do), else a new `<rel>_id` column.
fn foreign_key_column(
    plan: &mut Plan<'_>,
    rel: &RelationshipSpec,
    table: &str,
    key: Option<&str>,
    unique: bool,
) -> Result<String, SpecError> {
    let wanted = format!("{}_id", rel.name);
    let referencing: Vec<usize> = (0..plan.columns.len())
        .filter(|&i| plan.columns[i].foreign_key.as_ref().is_some_and(|(t, _)| t == table))
        .collect();
    let chosen = match referencing.as_slice() {
        [one] => Some(*one),
        [] => None,
        several => Some(several.iter().copied().find(|&i| plan.columns[i].name == wanted).ok_or_else(|| {
            rel.target_error(
                format!("several columns reference `{table}`; which one does `{}` follow?", rel.name),
                "ambiguous foreign key",
                Some(format!("name the column `{wanted}`")),
            )
        })?),
    };
    if let Some(i) = chosen {
        plan.columns[i].unique |= unique && !plan.columns[i].primary_key;
        return Ok(plan.columns[i].name.clone());
    }
    let Some(key) = key else {
        return Err(rel.target_error(
            format!("`{}` has no single primary key to reference", rel.target),
            "no primary key",
            Some(format!("declare the foreign key in --columns, e.g. `{wanted}:fk={table}.id`")),
        ));
    };
    if taken(plan, &wanted) {
        return Err(rel.target_error(
            format!("`{wanted}` is taken and does not reference `{table}`"),
            "needs a foreign key",
            Some(format!("declare it in --columns as `{wanted}:fk={table}.{key}`")),
        ));
    }
    let mut column = ColumnSpec::new(&wanted, ColumnType::Int);
    column.foreign_key = Some((table.to_string(), key.to_string()));
    column.unique = unique;
    plan.columns.push(column);
    Ok(wanted)
}

/// An adjacency list: `parent:Node:many-to-one` or `children:Node:one-to-many` give both
/// `parent` (with `remote_side`) and `children` on the class itself.
fn plan_self_relationship(plan: &mut Plan<'_>, rel: &RelationshipSpec, lazy_arg: &str) -> Result<(), SpecError> {
    let class = plan.class.clone();
    let Some(key) = primary_key(plan) else {
        return Err(rel.target_error(
            format!("`{class}` has no single primary key for `{}` to reference", rel.name),
            "no primary key",
            None,
        ));
    };
    let (parent, children) = match rel.kind {
        Kind::ManyToOne => (
            rel.name.clone(),
            if rel.name == "parent" { "children".into() } else { spec::plural(&spec::snake_case(&class)) },
        ),
        Kind::OneToMany => ("parent".to_string(), rel.name.clone()),
        Kind::OneToOne => {
            return Err(rel.target_error(
                "a one-to-one relationship of a class to itself is not generated".into(),
                "self-referential",
                Some("use many-to-one (a tree) and add `unique` to its foreign key column".into()),
            ))
        }
    };
    let other = if rel.kind == Kind::ManyToOne { &children } else { &parent };
    if taken(plan, other) {
        return Err(rel.target_error(format!("`{other}` (the other side of `{}`) is taken", rel.name), "here", None));
    }
    let table = plan.table.clone();
    let fk_rel = RelationshipSpec { name: parent.clone(), ..rel.clone() };
    let wanted = format!("{parent}_id");
    let before = plan.columns.len();
    let fk = foreign_key_column(plan, &fk_rel, &table, Some(&key), false)?;
    if plan.columns.len() > before {
        // A root row has no parent.
        if let Some(column) = plan.columns.iter_mut().find(|c| c.name == wanted) {
            column.nullable = true;
        }
    }
    let nullable = plan.columns.iter().any(|c| c.name == fk && c.nullable);
    let ambiguous =
        plan.columns.iter().filter(|c| c.foreign_key.as_ref().is_some_and(|(t, _)| *t == table)).count() > 1;
    let mut parent_args = vec![format!("back_populates=\"{children}\""), format!("remote_side=[{key}]")];
    let mut children_args = vec![format!("back_populates=\"{parent}\"")];
    if ambiguous {
        parent_args.push(format!("foreign_keys=[{fk}]"));
        children_args.push(format!("foreign_keys=[{fk}]"));
    }
    parent_args.push(lazy_arg.to_string());
    children_args.push(lazy_arg.to_string());
    let parent_annotation = if nullable { format!("\"{class} | None\"") } else { format!("\"{class}\"") };
    plan.relationships.push(Attribute { name: parent, annotation: parent_annotation, args: parent_args });
    plan.relationships.push(Attribute {
        name: children,
        annotation: format!("list[\"{class}\"]"),
        args: children_args,
    });
    Ok(())
}

fn python_type(column: &ColumnSpec) -> &'static str {
    match column.ty {
        ColumnType::Int => "int",
        ColumnType::Str(_) | ColumnType::Text => "str",
        ColumnType::Bool => "bool",
        ColumnType::Float => "float",
        ColumnType::Decimal => "Decimal",
        ColumnType::Date => "date",
        ColumnType::DateTime => "datetime",
        ColumnType::Uuid => "uuid.UUID",
        ColumnType::Json => "dict[str, Any]",
    }
}

fn render_column(column: &ColumnSpec, imports: &mut Imports) -> String {
    match column.ty {
        ColumnType::Decimal => imports.from("decimal", "Decimal"),
        ColumnType::Date => imports.from("datetime", "date"),
        ColumnType::DateTime => imports.from("datetime", "datetime"),
        ColumnType::Uuid => imports.import("uuid"),
        ColumnType::Json => imports.from("typing", "Any"),
        _ => {}
    }
    let mut args = Vec::new();
    match column.ty {
        ColumnType::Str(length) => {
            imports.from("sqlalchemy", "String");
            args.push(format!("String({length})"));
        }
        ColumnType::Text => {
            imports.from("sqlalchemy", "Text");
            args.push("Text".into());
        }
        ColumnType::DateTime => {
            imports.from("sqlalchemy", "DateTime");
            args.push("DateTime(timezone=True)".into());
        }
        ColumnType::Json => {
            imports.from("sqlalchemy", "JSON");
            args.push("JSON".into());
        }
        _ => {}
    }
    if let Some((table, key)) = &column.foreign_key {
        imports.from("sqlalchemy", "ForeignKey");
        args.push(format!("ForeignKey(\"{table}.{key}\")"));
    }
    if column.primary_key {
        args.push("primary_key=True".into());
        if column.ty == ColumnType::Uuid && column.foreign_key.is_none() {
            args.push("default=uuid.uuid4".into());
        }
    }
    if column.unique {
        args.push("unique=True".into());
    }
    // Every foreign key gets an index (SA601): joins and cascades on it would scan the table.
    if column.index || (column.foreign_key.is_some() && !column.unique && !column.primary_key) {
        args.push("index=True".into());
    }
    let annotation =
        format!("{}: Mapped[{}{}]", column.name, python_type(column), if column.nullable { " | None" } else { "" });
    if args.is_empty() {
        return format!("    {annotation}");
    }
    imports.from("sqlalchemy.orm", "mapped_column");
    format::call(4, &format!("{annotation} = mapped_column"), &args, "")
}

/// `__repr__` with the primary key and the first few string columns, within the line length.
fn render_repr(plan: &Plan<'_>) -> String {
    let mut fields: Vec<&str> = plan.columns.iter().filter(|c| c.primary_key).map(|c| c.name.as_str()).collect();
    fields.extend(
        plan.columns
            .iter()
            .filter(|c| !c.primary_key && matches!(c.ty, ColumnType::Str(_)) && !c.nullable)
            .map(|c| c.name.as_str())
            .take(2),
    );
    loop {
        let body = fields.iter().map(|f| format!("{f}={{self.{f}!r}}")).collect::<Vec<_>>().join(", ");
        let line = format!("        return f\"{}({body})\"", plan.class);
        if line.len() <= format::LINE_LENGTH || fields.len() <= 1 {
            return format!("    def __repr__(self) -> str:\n{line}\n");
        }
        fields.pop();
    }
}

fn render(plan: &Plan<'_>, base: Option<&BaseRef>) -> String {
    let mut imports = Imports::default();
    imports.from("sqlalchemy.orm", "Mapped");
    let columns: Vec<String> = plan.columns.iter().map(|c| render_column(c, &mut imports)).collect();
    if !plan.relationships.is_empty() {
        imports.from("sqlalchemy.orm", "relationship");
    }
    let base_class = match base {
        Some(base) => {
            imports.from(&base.module, &base.name);
            base.class.clone()
        }
        None => {
            imports.from("sqlalchemy.orm", "DeclarativeBase");
            "Base".to_string()
        }
    };
    let mut type_imports: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (module, name) in &plan.type_imports {
        type_imports.entry(module).or_default().push(name);
    }
    if !type_imports.is_empty() {
        imports.from("typing", "TYPE_CHECKING");
    }
    let mut out = format!("\"\"\"The `{}` model (table `{}`).\"\"\"\n\n{}\n", plan.class, plan.table, imports.render());
    if !type_imports.is_empty() {
        out.push_str("\nif TYPE_CHECKING:\n");
        for (module, names) in &mut type_imports {
            names.sort_unstable();
            names.dedup();
            let line = format::call(4, &format!("from {module} import"), &[names.join(", ")], "");
            // `call` adds parentheses; an import that fits needs none.
            let line =
                if line.contains('\n') { line } else { format!("    from {module} import {}", names.join(", ")) };
            out.push_str(&line);
            out.push('\n');
        }
    }
    if base.is_none() {
        out.push_str("\n\nclass Base(DeclarativeBase):\n    pass\n");
    }
    out.push_str(&format!("\n\nclass {}({base_class}):\n", plan.class));
    out.push_str(&format!("    __tablename__ = \"{}\"\n\n", plan.table));
    for column in &columns {
        out.push_str(column);
        out.push('\n');
    }
    if !plan.relationships.is_empty() {
        out.push('\n');
        for relationship in &plan.relationships {
            out.push_str(&relationship.render(4));
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(&render_repr(plan));
    out
}

/// The other sides of the relationships, appended to their classes (one plan entry per file).
fn reverse_edits(plan: &Plan<'_>, project: &Project, our_module: &str) -> miette::Result<Vec<Planned>> {
    let mut by_file: BTreeMap<&Path, Vec<&Reverse<'_>>> = BTreeMap::new();
    for reverse in &plan.reverses {
        by_file.entry(reverse.model.path.as_path()).or_default().push(reverse);
    }
    let mut planned = Vec::new();
    for (path, reverses) in by_file {
        let text = std::fs::read_to_string(path).map_err(|e| miette!("cannot read {}: {e}", path.display()))?;
        let tree = crate::engine::parse(&text).ok_or_else(|| miette!("cannot parse {}", path.display()))?;
        let mut inserts: Vec<(usize, String)> = Vec::new();
        for reverse in reverses {
            let (at, indent) = class_insertion_point(tree.root_node(), &text, &reverse.model.name, reverse.model.line)
                .ok_or_else(|| miette!("cannot find class {} in {}", reverse.model.name, path.display()))?;
            inserts.push((at, format!("\n{}", reverse.attribute.render(indent))));
        }
        let imported: Vec<&str> =
            project.facts(path).map(|f| f.imports.iter().map(|i| i.local.as_str()).collect()).unwrap_or_default();
        // (start, end, replacement), applied from the end so offsets stay valid; at one offset,
        // the edit pushed first ends up last in the text.
        let mut edits: Vec<(usize, usize, String)> = inserts.into_iter().map(|(at, s)| (at, at, s)).collect();
        let root = tree.root_node();
        // The annotation names the new class: import it for type checkers only (no import cycle).
        let module_of_target = reverse_module(project, path);
        if !our_module.is_empty()
            && module_of_target.as_deref() != Some(our_module)
            && !imported.contains(&plan.class.as_str())
        {
            let line = format!("from {our_module} import {}", plan.class);
            if let Some((at, before)) = type_checking_slot(root, &text, &line) {
                edits.push((at, at, if before { format!("{line}\n    ") } else { format!("\n    {line}") }));
            } else if let Some(at) = last_import_end(root, &text) {
                edits.push((at, at, format!("\n\nif TYPE_CHECKING:\n    {line}")));
                if !imported.contains(&"TYPE_CHECKING") {
                    edits.push(import_edit(root, &text, "typing", &["TYPE_CHECKING"]));
                }
            }
        }
        let missing: Vec<&str> = ["Mapped", "relationship"].into_iter().filter(|n| !imported.contains(n)).collect();
        if !missing.is_empty() {
            edits.push(import_edit(root, &text, "sqlalchemy.orm", &missing));
        }
        // From the end; at one offset a replacement goes before the insertions in front of it.
        edits.sort_by_key(|edit| std::cmp::Reverse((edit.0, edit.1)));
        let mut updated = text.clone();
        for (start, end, replacement) in edits {
            updated.replace_range(start..end, &replacement);
        }
        planned.push(Planned { path: path.to_path_buf(), content: updated, update: true });
    }
    Ok(planned)
}

/// End of the line of the last attribute assignment in the body of class `name` (declared
/// on `line`), and the body's indentation.
fn class_insertion_point(root: tree_sitter::Node<'_>, text: &str, name: &str, line: usize) -> Option<(usize, usize)> {
    let mut cursor = root.walk();
    let class = root.children(&mut cursor).find_map(|node| {
        let node = if node.kind_str() == "decorated_definition" { node.field("definition")? } else { node };
        let found = node.kind_str() == "class_definition"
            && node.start_position().row + 1 == line
            && node.field("name").and_then(|n| text.get(n.byte_range())) == Some(name);
        found.then_some(node)
    })?;
    let body = class.field("body")?;
    let statements = crate::python::named_children(body);
    let indent = statements.first()?.start_position().column;
    let anchor = statements.iter().rfind(|s| s.kind_str() == "expression_statement").or(statements.first())?;
    Some((line_end(text, anchor.end_byte()), indent))
}

fn line_end(text: &str, from: usize) -> usize {
    text.get(from..).and_then(|rest| rest.find('\n')).map_or(text.len(), |at| from + at)
}

fn reverse_module(project: &Project, path: &Path) -> Option<String> {
    project.facts(path).map(|f| f.module.clone())
}

fn top_level_imports<'t>(root: tree_sitter::Node<'t>) -> Vec<tree_sitter::Node<'t>> {
    let mut cursor = root.walk();
    root.children(&mut cursor)
        .filter(|n| matches!(n.kind_str(), "import_statement" | "import_from_statement" | "future_import_statement"))
        .collect()
}

fn last_import_end(root: tree_sitter::Node<'_>, text: &str) -> Option<usize> {
    top_level_imports(root).last().map(|n| line_end(text, n.end_byte()))
}

/// Where `line` goes in a module-level `if TYPE_CHECKING:` block, kept sorted: the start of
/// the first import that sorts after it (`true`), else the end of the block (`false`).
fn type_checking_slot(root: tree_sitter::Node<'_>, text: &str, line: &str) -> Option<(usize, bool)> {
    let mut cursor = root.walk();
    let block = root.children(&mut cursor).find(|n| {
        n.kind_str() == "if_statement"
            && n.field("condition")
                .and_then(|c| text.get(c.byte_range()))
                .is_some_and(|c| c == "TYPE_CHECKING" || c == "typing.TYPE_CHECKING")
            && n.field("alternative").is_none()
    })?;
    let body = block.field("consequence")?;
    let statements = crate::python::named_children(body);
    if let Some(next) = statements.iter().find(|s| text.get(s.byte_range()).is_some_and(|t| t > line)) {
        return Some((next.start_byte(), true));
    }
    Some((line_end(text, body.end_byte()), false))
}

/// Imports `names` from `module`: added to an existing one-line `from module import ...`,
/// else on a new line after the module's last import.
fn import_edit(root: tree_sitter::Node<'_>, text: &str, module: &str, names: &[&str]) -> (usize, usize, String) {
    let imports = top_level_imports(root);
    let prefix = format!("from {module} import ");
    let existing = imports.iter().find_map(|node| {
        let statement = text.get(node.byte_range())?;
        let listed = statement.strip_prefix(&prefix)?;
        let simple = !listed.contains(['(', '\\', '\n', '#']) && !listed.contains(" as ");
        simple.then(|| (node, listed.split(',').map(str::trim).filter(|n| !n.is_empty()).collect::<Vec<_>>()))
    });
    if let Some((node, listed)) = existing {
        let mut merged = Imports::default();
        for name in listed.iter().chain(names) {
            merged.from(module, name);
        }
        return (node.start_byte(), node.end_byte(), merged.render());
    }
    let line = format!("{prefix}{}", names.join(", "));
    // A standard-library import opens the import block (isort's first section) ...
    let first = imports.iter().find(|n| n.kind_str() != "future_import_statement");
    if super::format::is_stdlib(module) {
        if let Some(first) = first {
            let first_text = text.get(first.byte_range()).unwrap_or_default();
            let first_module = first_text.split_whitespace().nth(1).unwrap_or_default();
            let gap = if super::format::is_stdlib(first_module) { "\n" } else { "\n\n" };
            return (first.start_byte(), first.start_byte(), format!("{line}{gap}"));
        }
    }
    // ... anything else follows the last import.
    match last_import_end(root, text) {
        Some(at) => (at, at, format!("\n{line}")),
        None => (0, 0, format!("{line}\n")),
    }
}
