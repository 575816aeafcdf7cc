//! Black-box tests of `sqlalint new`: every generated file passes `sqlalint check --select
//! ALL` with zero findings (over a matrix of specs, bases and frameworks), stays within 88
//! columns, and a bad spec is exit 2 with an error at the token and nothing written.
use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

fn run(cwd: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_sqlalint"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        // No `alembic` on PATH: `new alembic` prints the command instead of running it.
        .env("PATH", "/nonexistent")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run sqlalint");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ok(cwd: &Path, args: &[&str]) -> Run {
    let result = run(cwd, args);
    assert_eq!(result.code, Some(0), "sqlalint {args:?}: {result:?}");
    result
}

/// A throwaway project root (`.git` marks it, so the model index covers it all).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    dir
}

fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with(".git") {
            files.extend(python_files(&path));
        } else if path.extension().is_some_and(|e| e == "py") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Zero findings with every rule enabled, and no line longer than 88 characters.
fn assert_passes_gate(dir: &Path) {
    let check = run(dir, &["check", ".", "--isolated", "--select", "ALL", "--output-format", "concise"]);
    let files = python_files(dir);
    let listing: String = files
        .iter()
        .map(|f| format!("--- {}\n{}", f.display(), std::fs::read_to_string(f).unwrap_or_default()))
        .collect();
    assert_eq!(check.code, Some(0), "generated code has findings: {check:?}\n{listing}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read generated file");
        if text.is_empty() {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            assert!(line.chars().count() <= 88, "{}:{}: {} columns: {line}", file.display(), n + 1, line.len());
        }
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{}: one final newline", file.display());
    }
}

#[test]
fn generated_models_sessions_and_alembic_pass_every_rule() {
    let dir = project();
    let root = dir.path();
    // No base yet: the first model writes one; later models import it.
    let created = ok(root, &["new", "model", "Org", "--columns", "id:int:pk,name:str:80:unique"]);
    assert_eq!(created.stdout, "org.py\n");
    assert!(std::fs::read_to_string(root.join("org.py")).unwrap().contains("class Base(DeclarativeBase):"));
    let created = ok(
        root,
        &[
            "new",
            "model",
            "User",
            "--columns",
            "id:int:pk,name:str:unique,email:str:index,bio:text?,org_id:fk=orgs.id,joined:datetime,\
             balance:decimal,born:date?,active:bool,score:float,token:uuid,prefs:json?",
            "--relationship",
            "org:Org:many-to-one",
        ],
    );
    // The other side goes into Org's class.
    assert_eq!(created.stdout, "user.py\norg.py\n");
    let user = std::fs::read_to_string(root.join("user.py")).unwrap();
    assert!(user.contains("from org import Base\n"), "{user}");
    assert!(user.contains("org: Mapped[\"Org\"] = relationship(back_populates=\"users\", lazy=\"raise\")"), "{user}");
    assert!(user.contains("org_id: Mapped[int] = mapped_column(ForeignKey(\"orgs.id\"), index=True)"), "{user}");
    let org = std::fs::read_to_string(root.join("org.py")).unwrap();
    assert!(
        org.contains("users: Mapped[list[\"User\"]] = relationship(back_populates=\"org\", lazy=\"raise\")"),
        "{org}"
    );
    // A self-referential tree, with a foreign key column added for it.
    ok(root, &["new", "model", "Node", "--relationship", "children:Node:one-to-many:selectin"]);
    // One-to-one to an existing model: the spec's foreign key becomes unique.
    ok(
        root,
        &[
            "new",
            "model",
            "Profile",
            "--columns",
            "id:uuid:pk,user_id:fk=users.id",
            "--relationship",
            "user:User:one-to-one",
        ],
    );
    // One-to-many, where the target already holds the foreign key; a long name wraps.
    ok(
        root,
        &["new", "model", "Comment", "--columns", "body:text,written_by_the_author_with_a_long_name_id:fk=authors.id"],
    );
    ok(
        root,
        &[
            "new",
            "model",
            "Author",
            "--table",
            "authors",
            "--relationship",
            "comments:Comment:one-to-many:raise_on_sql",
        ],
    );
    // Relationship without a foreign key in the spec: `<name>_id` is added.
    ok(root, &["new", "model", "Invoice", "--lazy", "joined", "--relationship", "customer:User:many-to-one"]);
    for (framework, is_async) in
        [("fastapi", false), ("fastapi", true), ("flask", false), ("plain", false), ("plain", true)]
    {
        let out = format!("db_{framework}{}.py", if is_async { "_async" } else { "" });
        let mut args = vec!["new", "session", "--framework", framework, "--out", &out];
        if is_async {
            args.push("--async");
        }
        ok(root, &args);
    }
    let alembic = ok(root, &["new", "alembic"]);
    assert_eq!(alembic.stdout, "migrations/versions/\nalembic.ini\nmigrations/env.py\nmigrations/script.py.mako\n");
    assert!(alembic.stderr.contains("alembic revision --autogenerate -m 'Initial schema'"), "{alembic:?}");
    let env = std::fs::read_to_string(root.join("migrations/env.py")).unwrap();
    assert!(env.contains("from org import Base") && env.contains("import user  # noqa: F401"), "{env}");
    assert_passes_gate(root);
}

#[test]
fn models_use_the_projects_base_or_the_given_one() {
    // Flask-SQLAlchemy: `db.Model` is the base.
    let dir = project();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/__init__.py"), "").unwrap();
    std::fs::write(dir.path().join("app/ext.py"), "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n")
        .unwrap();
    let created = ok(dir.path(), &["new", "model", "Post", "--columns", "title:str:200,body:text?"]);
    assert_eq!(created.stdout, "app/post.py\n");
    let post = std::fs::read_to_string(dir.path().join("app/post.py")).unwrap();
    assert!(post.contains("from app.ext import db\n") && post.contains("class Post(db.Model):"), "{post}");
    assert_passes_gate(dir.path());

    // `--base` wins over discovery, and `-` prints instead of writing.
    let dir = project();
    let printed = ok(dir.path(), &["new", "model", "Item", "--base", "shop.db:Base", "--out", "-"]);
    assert!(printed.stdout.contains("from shop.db import Base\n") && printed.stdout.contains("class Item(Base):"));
    assert_eq!(python_files(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let dir = project();
    ok(dir.path(), &["new", "session", "--out", "db.py"]);
    std::fs::write(dir.path().join("db.py"), "# mine\n").unwrap();
    let refused = run(dir.path(), &["new", "session", "--out", "db.py"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("already exists") && refused.stderr.contains("--force"), "{refused:?}");
    assert_eq!(std::fs::read_to_string(dir.path().join("db.py")).unwrap(), "# mine\n");
    ok(dir.path(), &["new", "session", "--out", "db.py", "--force"]);
    assert!(std::fs::read_to_string(dir.path().join("db.py")).unwrap().contains("pool_pre_ping=True"));
}

/// A bad spec: exit 2, the message, the offending token underlined, the choices, no file.
fn assert_spec_error(args: &[&str], expected: &[&str]) {
    let dir = project();
    let result = run(dir.path(), args);
    assert_eq!(result.code, Some(2), "{result:?}");
    for text in expected {
        assert!(result.stderr.contains(text), "missing {text:?} in {result:?}");
    }
    assert!(result.stdout.is_empty(), "{result:?}");
    assert_eq!(python_files(dir.path()), Vec::<PathBuf>::new(), "nothing may be written");
}

#[test]
fn bad_specs_are_exit_2_with_the_token_and_the_choices() {
    assert_spec_error(
        &["new", "model", "User", "--columns", "id:integr:pk"],
        &["unknown column type `integr`", "did you mean `int`?", "`datetime`", "`uuid`", "unknown type"],
    );
    assert_spec_error(&["new", "model", "User", "--columns", "id:int:pk,:str"], &["empty column name"]);
    assert_spec_error(
        &["new", "model", "User", "--columns", "id:int:pk,name:str,name:text"],
        &["`name` is declared twice"],
    );
    assert_spec_error(
        &["new", "model", "User", "--columns", "id:int:pk:primary"],
        &["unknown column flag", "`unique`"],
    );
    assert_spec_error(
        &["new", "model", "User", "--relationship", "org:Org:many-to-one"],
        &["no model `Org` in this project", "generate the target first"],
    );
    assert_spec_error(
        &["new", "model", "User", "--relationship", "org:Org:one-to-several"],
        &["unknown relationship kind", "`many-to-one`"],
    );
    assert_spec_error(&["new", "model", "user"], &["not a model class name"]);
    assert_spec_error(&["new", "model", "User", "--base", "app.db"], &["expected `module:Name`"]);
    assert_spec_error(&["new", "session", "--framework", "flask", "--async"], &["--async"]);
    assert_spec_error(&["new", "alembic"], &["no declarative base found"]);
}

#[test]
fn an_unknown_relationship_target_lists_the_projects_models() {
    let dir = project();
    ok(dir.path(), &["new", "model", "Org"]);
    let result = run(dir.path(), &["new", "model", "User", "--relationship", "org:Orgg:many-to-one"]);
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(result.stderr.contains("did you mean `Org`?") && result.stderr.contains("models of this project: `Org`"));
    assert!(!dir.path().join("user.py").exists());
    assert!(!std::fs::read_to_string(dir.path().join("org.py")).unwrap().contains("relationship"));
}

#[test]
fn a_relationship_into_another_registry_needs_the_base() {
    // SQLModel's classes are not on a declarative base sqlalint would import: a new `Base`
    // would be another registry, where `Hero` does not resolve.
    let dir = project();
    let hero = "from sqlmodel import Field, SQLModel\n\n\nclass Hero(SQLModel, table=True):\n    \
                id: int | None = Field(default=None, primary_key=True)\n";
    std::fs::write(dir.path().join("heroes.py"), hero).unwrap();
    let result = run(dir.path(), &["new", "model", "Team", "--relationship", "hero:Hero:many-to-one"]);
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(result.stderr.contains("cannot tell which declarative base `Hero` uses"), "{result:?}");
    assert!(!dir.path().join("team.py").exists());
}
