//! `sqlalint check`: resolve settings → walk → lint files in parallel →
//! apply fixes → report. Files are linted in sorted order and collected in
//! that order, so the output is the same for any number of threads.
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use miette::{miette, IntoDiagnostic};
use rayon::prelude::*;

use crate::cache::{self, Cache};
use crate::cli::{CheckArgs, OutputFormat};
use crate::diagnostic::Applicability;
use crate::engine::Engine;
use crate::index::deps::Answers;
use crate::index::merge::ModelIndex;
use crate::index::FileFacts;
use crate::lint::{self, CheckedFile, FixMode, Level, ModuleInfo};
use crate::registry;
use crate::report::{self, ReportContext};
use crate::settings::Settings;
use crate::walk::{self, WalkOptions};
use crate::Status;

/// Worker stack size: rule checks walk expressions, and generated code can nest deeply.
const WORKER_STACK: usize = 64 * 1024 * 1024;

pub(crate) fn run(args: &CheckArgs) -> miette::Result<Status> {
    // Ignore the error if a pool already exists (tests may call twice).
    let _ = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK).build_global();
    let settings = Settings::resolve(args)?;
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let (files, walk_errors) = walk::collect_files(
        &paths,
        &WalkOptions {
            root: &settings.root,
            excludes: &settings.excludes,
            respect_gitignore: !args.no_respect_gitignore,
            force_exclude: args.force_exclude,
        },
    );
    let mut status_error = false;
    for error in &walk_errors {
        status_error |= error.fatal;
        if error.fatal || !args.quiet {
            let level = if error.fatal { "error" } else { "warning" };
            eprintln!("sqlalint: {level}: {}: {}", report::display_path(&error.path), error.message);
        }
    }

    if args.parse_only {
        return parse_only(&files, status_error);
    }

    let fix_mode = if args.fix || args.diff {
        FixMode::Apply(if args.unsafe_fixes { Applicability::Unsafe } else { Applicability::Safe })
    } else {
        FixMode::None
    };
    let cache = Cache::open(&settings, args);
    let module_of = |path: &std::path::Path| (!args.no_model_index).then(|| ModuleInfo::for_path(path, &settings.root));
    // Compiling the rule queries is a good part of a warm-cache run: only done when a file
    // needs linting. A failure (a bug) is an error on each file.
    let engine = std::sync::OnceLock::new();
    let lint_with =
        |path: &std::path::Path, rules: &crate::selection::RuleSet, module: Option<&ModuleInfo>| match engine
            .get_or_init(|| Engine::for_rules(&settings.rules).map_err(|e| e.0))
        {
            Ok(engine) => lint::check_file(engine, path, rules, fix_mode, module),
            Err(error) => {
                let mut failed = CheckedFile::empty(path);
                let text = format!("internal error: {error}");
                failed.messages.push(lint::FileMessage { path: path.to_path_buf(), level: Level::Error, text });
                failed
            }
        };
    let lint_file = |path: &std::path::Path| lint_with(path, &settings.rules_for(path), module_of(path).as_ref());
    let (mut checked, mut slots): (Vec<CheckedFile>, Vec<cache::Slot>) = files
        .par_iter()
        .map(|path| {
            let (rules, module) = (settings.rules_for(path), module_of(path));
            cache.check(path, &rules, module.as_ref(), || lint_with(path, &rules, module.as_ref()))
        })
        .unzip();
    let mut index =
        if args.no_model_index { ModelIndex::default() } else { build_index(&settings, &checked, args, &cache) };
    index.migration_dialect = settings.migration_dialect;
    if args.show_models {
        let json = crate::index::display_json(&index).map_err(|e| miette!("{e}"))?;
        println!("{json}");
        return Ok(if status_error { Status::Error } else { Status::Clean });
    }
    let answers = Answers::new(&index);
    checked.par_iter_mut().zip(&mut slots).for_each(|(file, slot)| {
        let path = file.path.clone();
        cache.resolve(file, slot, &index, &answers, || lint_file(&path));
    });
    cache.save(&checked, slots);

    for message in checked.iter().flat_map(|f| &f.messages) {
        let fatal = message.level == Level::Error;
        status_error |= fatal;
        if fatal || !args.quiet {
            let level = if fatal { "error" } else { "warning" };
            eprintln!("sqlalint: {level}: {}: {}", report::display_path(&message.path), message.text);
        }
    }

    let mut diff_found = false;
    if args.diff {
        diff_found = write_diffs(&checked)?;
    } else if args.fix {
        for file in &checked {
            if let Some(fixed) = &file.fixed {
                // The reader strips a UTF-8 BOM for parsing; put it back on files that had one.
                let had_bom = std::fs::read(&file.path).is_ok_and(|b| b.starts_with("\u{feff}".as_bytes()));
                let content = if had_bom { format!("\u{feff}{}", fixed.fixed) } else { fixed.fixed.clone() };
                if let Err(err) = crate::fix::write_atomically(&file.path, &content) {
                    eprintln!("sqlalint: error: {}: cannot write fixes: {err}", file.path.display());
                    status_error = true;
                }
            }
        }
        if args.show_fixes || !args.quiet {
            write_applied_fixes(&checked, args.show_fixes);
        }
    }

    let root_relative = |path: &std::path::Path| settings.root_relative(path);
    let ctx = ReportContext {
        root: &settings.root,
        enabled: &settings.rules,
        root_relative: &root_relative,
        color: args.output_file.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        unsafe_fixes: args.unsafe_fixes,
        files_checked: files.len(),
        files_failed: checked.iter().filter(|f| f.messages.iter().any(|m| m.level == Level::Error)).count()
            + walk_errors.iter().filter(|e| e.fatal).count(),
    };
    if !args.diff {
        let mut buffer: Vec<u8> = Vec::new();
        if args.statistics {
            report::write_statistics(&mut buffer, &checked).into_diagnostic()?;
        } else if args.quiet && matches!(args.output_format, OutputFormat::Full | OutputFormat::Concise) {
            // Quiet: findings only, no summary.
            let mut all = Vec::new();
            report::write(OutputFormat::Concise, &mut all, &checked, &ctx).into_diagnostic()?;
            let text = String::from_utf8_lossy(&all);
            for line in text.lines().filter(|l| !l.starts_with("Found ") && !l.starts_with("All checks passed")) {
                writeln!(buffer, "{line}").into_diagnostic()?;
            }
        } else {
            report::write(args.output_format, &mut buffer, &checked, &ctx).into_diagnostic()?;
        }
        match &args.output_file {
            Some(path) => crate::fix::write_atomically(path, &String::from_utf8_lossy(&buffer))
                .or_else(|_| std::fs::write(path, &buffer))
                .map_err(|e| miette!("cannot write {}: {e}", path.display()))?,
            None => {
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (`| head`) is not an error worth a panic.
                let _ = stdout.write_all(&buffer).and_then(|_| stdout.flush());
            }
        }
    }

    let findings = checked.iter().any(|f| !f.findings.is_empty());
    // The process ends here: freeing every file's facts, findings and text one by one took as
    // long as all the work since the parallel phase. The operating system reclaims them at once.
    std::mem::forget(checked);
    std::mem::forget(answers);
    std::mem::forget(index);
    Ok(if status_error {
        Status::Error
    } else if (findings || diff_found) && !args.exit_zero {
        Status::Findings
    } else {
        Status::Clean
    })
}

/// The project model index: the facts of the checked files, plus — when the checked paths lie
/// inside a project (a config file or `.git` marks its root) — those of every other Python file
/// of the project, so that pre-commit runs on a few changed files still know every model.
fn build_index(settings: &Settings, checked: &[CheckedFile], args: &CheckArgs, cache: &Cache) -> ModelIndex {
    // Borrowed, not cloned: the index only reads the facts.
    let checked_files = checked.iter().map(|f| (f.path.as_path(), &f.facts));
    let inside_root = checked.iter().all(|f| walk::absolute(&f.path).starts_with(&settings.root));
    if settings.root_is_project && inside_root && !checked.is_empty() {
        let (all, _) = walk::collect_files(
            std::slice::from_ref(&settings.root),
            &WalkOptions {
                root: &settings.root,
                excludes: &settings.excludes,
                respect_gitignore: !args.no_respect_gitignore,
                force_exclude: false,
            },
        );
        let seen: std::collections::HashSet<PathBuf> = checked.iter().map(|f| walk::absolute(&f.path)).collect();
        let extra: Vec<(PathBuf, FileFacts)> = all
            .par_iter()
            .filter(|path| !seen.contains(&walk::absolute(path)))
            .filter_map(|path| {
                let module = ModuleInfo::for_path(path, &settings.root);
                cache.facts(path, &module).map(|f| (path.clone(), f))
            })
            .collect();
        let files: Vec<(&std::path::Path, &FileFacts)> =
            checked_files.chain(extra.iter().map(|(path, facts)| (path.as_path(), facts))).collect();
        return ModelIndex::build(&files);
    }
    ModelIndex::build(&checked_files.collect::<Vec<_>>())
}

fn write_diffs(checked: &[CheckedFile]) -> miette::Result<bool> {
    let mut stdout = std::io::stdout().lock();
    let mut fixes = 0;
    for file in checked {
        let Some(fixed) = &file.fixed else { continue };
        fixes += fixed.applied.len();
        let name = report::display_path(&file.path);
        let diff = similar::TextDiff::from_lines(&fixed.original, &fixed.fixed);
        let text = diff.unified_diff().header(&format!("a/{name}"), &format!("b/{name}")).to_string();
        let _ = stdout.write_all(text.as_bytes());
        let _ = writeln!(stdout);
    }
    if fixes > 0 {
        eprintln!("Would fix {fixes} finding{}.", if fixes == 1 { "" } else { "s" });
    } else {
        eprintln!("No fixes available.");
    }
    Ok(fixes > 0)
}

fn write_applied_fixes(checked: &[CheckedFile], detailed: bool) {
    let total: usize = checked.iter().filter_map(|f| f.fixed.as_ref()).map(|f| f.applied.len()).sum();
    if total == 0 {
        return;
    }
    eprintln!("Fixed {total} finding{}:", if total == 1 { "" } else { "s" });
    if !detailed {
        return;
    }
    for file in checked {
        let Some(fixed) = &file.fixed else { continue };
        let mut counts: std::collections::BTreeMap<usize, usize> = Default::default();
        for rule in &fixed.applied {
            *counts.entry(*rule).or_default() += 1;
        }
        eprintln!("- {}:", report::display_path(&file.path));
        for (rule, count) in counts {
            let rule = &registry::all()[rule];
            eprintln!("    {count} × {} ({})", rule.code, rule.name);
        }
    }
}

fn parse_only(files: &[PathBuf], status_error: bool) -> miette::Result<Status> {
    let start = Instant::now();
    let results: Vec<Result<usize, String>> = files.par_iter().map(|path| lint::parse_only(path)).collect();
    let bytes: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    let failed = results.iter().filter(|r| r.is_err()).count();
    eprintln!(
        "parse-only: {} files, {bytes} bytes, {failed} unreadable, {:.3}s",
        files.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(if status_error || failed > 0 { Status::Error } else { Status::Clean })
}
