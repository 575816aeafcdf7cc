//! The cache (`.sqlalint_cache/`): a warm run reports exactly what a cold run does, editing a
//! model re-checks the files that read it (and only those), settings and `--fix` never see
//! stale results, and a broken cache is ignored and rebuilt. Runs the real binary in throwaway
//! projects; `SQLALINT_CACHE_STATS=1` makes it print what came from the cache.
use std::path::{Path, PathBuf};
use std::process::Command;

const MODELS: &str = r#"from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    posts: Mapped[list["Post"]] = relationship(back_populates="author")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author: Mapped["User"] = relationship(back_populates="posts")
"#;

const ORDERS: &str = r#"from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    lines: Mapped[list["Line"]] = relationship(back_populates="order")


class Line(Base):
    __tablename__ = "lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    order: Mapped["Order"] = relationship(back_populates="lines")
"#;

/// An N+1 on `User.posts` (SA101, resolved against the model index).
const VIEWS: &str = r#"from sqlalchemy import select

from app.models import User


def post_counts(session):
    counts = []
    for user in session.scalars(select(User)):
        counts.append(len(user.posts))
    return counts
"#;

/// An N+1 on `Order.lines`: reads `Order`, never `User`.
const REPORTS: &str = r#"from sqlalchemy import select

from app.orders import Order


def line_counts(session):
    counts = []
    for order in session.scalars(select(Order)):
        counts.append(len(order.lines))
    return counts
"#;

/// SA102, a single-file finding.
const COUNT: &str = "from app.models import User\n\n\ndef n(session):\n    return len(session.query(User).all())\n";

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

impl Run {
    /// `(cached, linted, rechecked)` from the `SQLALINT_CACHE_STATS` line.
    fn stats(&self) -> (usize, usize, usize) {
        let line = self
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("sqlalint: cache: "))
            .unwrap_or_else(|| panic!("no cache statistics:\n{self:?}"));
        let numbers: Vec<usize> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
        assert_eq!(numbers.len(), 3, "{line}");
        (numbers[0], numbers[1], numbers[2])
    }

    /// Stderr without the statistics line.
    fn messages(&self) -> String {
        self.stderr.lines().filter(|l| !l.starts_with("sqlalint: cache: ")).map(|l| format!("{l}\n")).collect()
    }
}

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A git-less project marked by a config file, with two model modules and three users.
    fn new() -> Self {
        let p = Project { dir: tempfile::Builder::new().prefix("sqlalint-cache-").tempdir().expect("temp dir") };
        p.write("pyproject.toml", "[tool.sqlalint]\nextend-select = [\"SA1\"]\n");
        p.write("app/__init__.py", "");
        p.write("app/models.py", MODELS);
        p.write("app/orders.py", ORDERS);
        p.write("app/views.py", VIEWS);
        p.write("app/reports.py", REPORTS);
        p.write("app/count.py", COUNT);
        p
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: impl AsRef<[u8]>) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sqlalint"));
        command
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("SQLALINT_CACHE_STATS", "1")
            .env_remove("SQLALINT_OUTPUT_FORMAT")
            .env_remove("SQLALINT_CACHE_DIR")
            .env_remove("SQLALINT_NO_CACHE");
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().expect("run sqlalint");
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "sqlalint {args:?} panicked:\n{run:?}");
        run
    }

    /// `check --output-format concise` with the cache.
    fn check(&self) -> Run {
        self.run_env(&["check", "--output-format", "concise"], &[])
    }

    /// The same without the cache: the reference a warm run must equal.
    fn cold(&self) -> Run {
        self.run_env(&["check", "--output-format", "concise", "--no-cache"], &[])
    }

    fn cache_files(&self, dir: &Path) -> Vec<PathBuf> {
        let version = dir.join(env!("CARGO_PKG_VERSION"));
        let Ok(entries) = std::fs::read_dir(version) else { return Vec::new() };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.expect("entry").path())
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        files
    }

    fn default_cache(&self) -> PathBuf {
        self.path().join(".sqlalint_cache")
    }
}

/// Same exit code, report and messages.
fn assert_same(warm: &Run, cold: &Run) {
    assert_eq!(warm.code, cold.code, "warm:\n{warm:?}\ncold:\n{cold:?}");
    assert_eq!(warm.stdout, cold.stdout, "warm:\n{warm:?}\ncold:\n{cold:?}");
    assert_eq!(warm.messages(), cold.messages(), "warm:\n{warm:?}\ncold:\n{cold:?}");
}

#[test]
fn a_warm_run_reports_what_a_cold_run_does_without_linting() {
    let p = Project::new();
    let first = p.check();
    assert_eq!(first.stats(), (0, 6, 0), "{first:?}");
    assert!(first.stdout.contains("app/views.py:9:") && first.stdout.contains("SA101"), "{first:?}");
    assert!(first.stdout.contains("app/reports.py:9:"), "{first:?}");
    assert!(first.stdout.contains("SA102"), "{first:?}");

    let warm = p.check();
    assert_eq!(warm.stats(), (6, 0, 0), "{warm:?}");
    assert_same(&warm, &first);
    assert_same(&warm, &p.cold());

    // Every output format reads the same cached findings (the full one quotes the source).
    for format in ["full", "json", "sarif", "github"] {
        let args = ["check", "--output-format", format];
        let cached = p.run_env(&args, &[]);
        let cold = p.run_env(&args, &[("SQLALINT_NO_CACHE", "1")]);
        assert_eq!(cached.stdout, cold.stdout, "{format}");
    }
}

#[test]
fn the_cache_dir_ignores_itself_like_ruffs() {
    let p = Project::new();
    p.check();
    let dir = p.default_cache();
    assert_eq!(std::fs::read_to_string(dir.join(".gitignore")).expect(".gitignore").lines().last(), Some("*"));
    assert!(dir.join("CACHEDIR.TAG").is_file());
    assert_eq!(p.cache_files(&dir).len(), 1);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.join(env!("CARGO_PKG_VERSION")))
        .expect("version dir")
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with(".tmp")))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn editing_a_model_rechecks_exactly_its_readers_and_matches_a_cold_run() {
    let p = Project::new();
    p.check();
    // `User.posts` now loads eagerly: the N+1 in views.py is gone, the one in reports.py stays.
    p.write(
        "app/models.py",
        MODELS.replace(
            "relationship(back_populates=\"author\")",
            "relationship(back_populates=\"author\", lazy=\"selectin\")",
        ),
    );
    let warm = p.check();
    let cold = p.cold();
    assert_same(&warm, &cold);
    assert!(!warm.stdout.contains("app/views.py:9:"), "{warm:?}");
    assert!(warm.stdout.contains("app/reports.py:9:"), "{warm:?}");
    // models.py is linted again; views.py (reads User) is re-checked, and so is orders.py, whose
    // foreign-key check (SA607) asks about tables, which the cache tracks by the whole index;
    // reports.py (reads Order only) and the rest come from the cache.
    assert_eq!(warm.stats(), (3, 1, 2), "{warm:?}");

    // And back: the finding returns, as a cold run says.
    p.write("app/models.py", MODELS);
    assert_same(&p.check(), &p.cold());
    assert_eq!(p.check().stats(), (6, 0, 0));
}

#[test]
fn a_new_file_defining_a_missing_model_clears_the_cross_file_finding() {
    let p = Project::new();
    // SA605: the relationship names a class that no file defines yet.
    p.write("app/tags.py", "from sqlalchemy.orm import Mapped, relationship\n\nfrom app.models import Base\n\n\nclass Tagged(Base):\n    __tablename__ = \"tagged\"\n    tags: Mapped[list[\"Tag\"]] = relationship()\n");
    let args = ["check", "--output-format", "concise", "--select", "SA605"];
    let before = p.run_env(&args, &[]);
    assert!(before.stdout.contains("SA605"), "{before:?}");
    p.write("app/tag.py", "from sqlalchemy.orm import Mapped, mapped_column\n\nfrom app.models import Base\n\n\nclass Tag(Base):\n    __tablename__ = \"tag\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n");
    let after = p.run_env(&args, &[]);
    let cold = p.run_env(&args, &[("SQLALINT_NO_CACHE", "1")]);
    assert_same(&after, &cold);
    assert!(!after.stdout.contains("SA605"), "{after:?}");
}

#[test]
fn pre_commit_runs_on_some_files_keep_the_whole_project_index() {
    let p = Project::new();
    p.check();
    p.write(
        "app/models.py",
        MODELS.replace(
            "relationship(back_populates=\"author\")",
            "relationship(back_populates=\"author\", lazy=\"joined\")",
        ),
    );
    // Only views.py is passed (as pre-commit does); the edited models.py is indexed from disk.
    let args = ["check", "--output-format", "concise", "app/views.py"];
    let warm = p.run_env(&args, &[]);
    let cold = p.run_env(&args, &[("SQLALINT_NO_CACHE", "1")]);
    assert_same(&warm, &cold);
    assert!(!warm.stdout.contains("SA101"), "{warm:?}");
}

#[test]
fn changed_settings_never_reuse_results() {
    let p = Project::new();
    let only_102 = ["check", "--output-format", "concise", "--ignore", "SA101"];
    let only_101 = ["check", "--output-format", "concise", "--ignore", "SA102"];
    let a = p.run_env(&only_102, &[]);
    assert!(a.stdout.contains("SA102") && !a.stdout.contains("SA101"), "{a:?}");
    let b = p.run_env(&only_101, &[]);
    assert!(b.stdout.contains("SA101") && !b.stdout.contains("SA102"), "{b:?}");
    // Per-file ignores in the config change one file's rules.
    p.write("pyproject.toml", "[tool.sqlalint]\nextend-select = [\"SA1\"]\n[tool.sqlalint.per-file-ignores]\n\"app/count.py\" = [\"SA102\"]\n");
    let c = p.check();
    assert!(!c.stdout.contains("SA102"), "{c:?}");
    assert_same(&c, &p.cold());
}

#[test]
fn fix_and_diff_bypass_the_cache_and_later_runs_see_the_fixed_file() {
    let p = Project::new();
    p.write(
        "app/get.py",
        "from app.models import User\n\n\ndef one(session):\n    return session.query(User).get(5)\n",
    );
    let args = ["check", "--output-format", "concise", "--select", "SA304"];
    let before = p.run_env(&args, &[]);
    assert!(before.stdout.contains("SA304"), "{before:?}");

    let diff = p.run_env(&["check", "--diff", "--select", "SA304"], &[]);
    assert!(diff.stdout.contains("+++ b/app/get.py"), "{diff:?}");
    assert!(!diff.stderr.contains("sqlalint: cache: "), "--diff reads no cache: {diff:?}");

    let fixed = p.run_env(&["check", "--fix", "--select", "SA304"], &[]);
    assert!(!fixed.stderr.contains("sqlalint: cache: "), "--fix reads no cache: {fixed:?}");
    let after = p.run_env(&args, &[]);
    assert!(!after.stdout.contains("SA304"), "{after:?}");
    assert_eq!(after.stats(), (6, 1, 0), "only the fixed file is linted again: {after:?}");
    assert_same(&after, &p.run_env(&args, &[("SQLALINT_NO_CACHE", "1")]));
}

#[test]
fn no_cache_and_parse_only_write_nothing() {
    let p = Project::new();
    p.cold();
    p.run_env(&["check", "--output-format", "concise"], &[("SQLALINT_NO_CACHE", "true")]);
    p.run_env(&["check", "--parse-only"], &[]);
    assert!(!p.default_cache().exists());
}

#[test]
fn the_cache_dir_comes_from_the_flag_the_environment_or_the_config() {
    let p = Project::new();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let flag_dir = elsewhere.path().join("flag");
    p.run_env(&["check", "--cache-dir", flag_dir.to_str().expect("utf-8")], &[]);
    assert_eq!(p.cache_files(&flag_dir).len(), 1);

    let env_dir = elsewhere.path().join("env");
    p.run_env(&["check"], &[("SQLALINT_CACHE_DIR", env_dir.to_str().expect("utf-8"))]);
    assert_eq!(p.cache_files(&env_dir).len(), 1);

    p.write("pyproject.toml", "[tool.sqlalint]\nextend-select = [\"SA1\"]\ncache-dir = \"build/lint-cache\"\n");
    p.check();
    assert_eq!(p.cache_files(&p.path().join("build/lint-cache")).len(), 1);
    assert!(!p.default_cache().exists());
}

#[test]
fn a_corrupt_truncated_or_unreadable_cache_is_ignored_and_rebuilt() {
    let p = Project::new();
    let reference = p.cold();
    p.check();
    let file = p.cache_files(&p.default_cache()).pop().expect("a cache file");
    let good = std::fs::read(&file).expect("read cache");
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let breakages: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header only", good[..16].to_vec()),
        ("one byte flipped", flipped),
        ("garbage", (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
    ];
    for (what, bytes) in breakages {
        std::fs::write(&file, bytes).expect("break the cache");
        let run = p.check();
        assert_same(&run, &reference);
        assert!(run.messages().is_empty(), "{what}: a broken cache is no news: {run:?}");
        assert_eq!(run.stats(), (0, 6, 0), "{what}: {run:?}");
        // Rebuilt: the next run is warm again.
        assert_eq!(p.check().stats(), (6, 0, 0), "{what}");
    }

    // The cache file is a directory: nothing to read, nothing to write, still no error.
    std::fs::remove_file(&file).expect("remove");
    std::fs::create_dir(&file).expect("mkdir");
    let run = p.check();
    assert_eq!((run.code, &run.stdout), (reference.code, &reference.stdout), "{run:?}");
    assert!(run.stderr.contains("cannot write the cache"), "{run:?}");

    // The cache directory cannot be created (a file is in the way): a warning, same findings.
    let blocked = p.path().join("blocked");
    std::fs::write(&blocked, "not a directory").expect("write");
    let run = p
        .run_env(&["check", "--output-format", "concise"], &[("SQLALINT_CACHE_DIR", blocked.to_str().expect("utf-8"))]);
    assert_eq!((run.code, &run.stdout), (reference.code, &reference.stdout), "{run:?}");
    assert!(run.stderr.contains("cannot write the cache"), "{run:?}");
    let quiet = p.run_env(
        &["check", "--output-format", "concise", "-q"],
        &[("SQLALINT_CACHE_DIR", blocked.to_str().expect("utf-8"))],
    );
    assert!(!quiet.stderr.contains("cannot write the cache"), "{quiet:?}");
}

#[test]
fn parallel_runs_leave_a_valid_cache() {
    let p = Project::new();
    let reference = p.cold();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_sqlalint"))
                .args(["check", "--output-format", "concise"])
                .current_dir(p.path())
                .env("NO_COLOR", "1")
                .env_remove("SQLALINT_CACHE_DIR")
                .env_remove("SQLALINT_NO_CACHE")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn sqlalint")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("run");
        assert_eq!(output.status.code(), reference.code);
        assert_eq!(String::from_utf8_lossy(&output.stdout), reference.stdout);
    }
    let warm = p.check();
    assert_eq!(warm.stats(), (6, 0, 0), "{warm:?}");
    assert_same(&warm, &reference);
}

#[test]
fn show_models_is_the_same_from_the_cache_and_keeps_internal_fields_out() {
    let p = Project::new();
    p.check();
    let cold = p.run_env(&["check", "--show-models", "--no-cache"], &[]);
    let warm = p.run_env(&["check", "--show-models"], &[]);
    assert_eq!(warm.stdout, cold.stdout);
    assert!(warm.stdout.contains("\"posts\""), "{warm:?}");
    // Fields only the index's logic reads are cached but not shown.
    for internal in ["plain_default", "backref_lazy", "join_configured", "remote_side"] {
        assert!(!warm.stdout.contains(internal), "{internal}: {warm:?}");
    }
}

/// Every rule's fixtures, warm from the cache, report what they report cold: the cached facts
/// carry everything the index is built from (a field dropped from the cache shows up here).
#[test]
fn every_rule_fixture_reports_the_same_from_the_cache() {
    let cache = tempfile::Builder::new().prefix("sqlalint-cache-fixtures-").tempdir().expect("temp dir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
    let run = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_sqlalint"))
            .args(["check", "--isolated", "--select", "ALL", "--output-format", "concise"])
            .args(extra)
            .arg(&fixtures)
            .env("NO_COLOR", "1")
            .env("SQLALINT_CACHE_STATS", "1")
            .env_remove("SQLALINT_NO_CACHE")
            .env_remove("SQLALINT_CACHE_DIR")
            .output()
            .expect("run sqlalint");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let dir = cache.path().to_string_lossy().into_owned();
    let cold = run(&["--no-cache"]);
    let first = run(&["--cache-dir", &dir]);
    let warm = run(&["--cache-dir", &dir]);
    assert!(warm.2.contains(" 0 linted"), "the second run did not come from the cache:\n{}", warm.2);
    assert_eq!((cold.0, &cold.1), (first.0, &first.1));
    assert_eq!((cold.0, &cold.1), (warm.0, &warm.1));
}
