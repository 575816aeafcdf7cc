//! Runtime proofs: the Python suites under `tests/runtime/` execute fixture code
//! with real, pinned SQLAlchemy (plus Flask-SQLAlchemy, SQLModel, aiosqlite) and
//! check that sqlalint's verdicts hold at run time. The virtualenv is built
//! once under `target/pyenv` from `tests/runtime/requirements.txt` (rebuilt when
//! that file changes); it needs `python3` and access to PyPI the first time.
mod pyenv;

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    pyenv::repo()
}

/// The virtualenv, built at most once per test run: the suites run on parallel threads
/// and must not race to create (and `--clear`) the same directory.
fn python_env() -> &'static Path {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| pyenv::build("pyenv", "tests/runtime/requirements.txt"))
}

fn pytest(suite: &Path) {
    pyenv::pytest(python_env(), suite, &[]);
}

#[test]
fn sa101_n_plus_one_fixtures_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa101_n_plus_one.py"));
}

#[test]
fn sa107_query_in_loop_fixtures_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa107_query_in_loop.py"));
}

#[test]
fn sa401_sa403_filter_operator_messages_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa401_sa403_filter_operators.py"));
}

#[test]
fn sa609_mutable_column_defaults_are_shared_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa609_mutable_column_default.py"));
}

#[test]
fn sa404_sa406_bulk_write_verdicts_hold_against_sqlite() {
    pytest(&repo().join("tests/runtime/test_sa404_sa406_bulk_writes.py"));
}

#[test]
fn sa605_sa606_sa610_sa611_model_wiring_fails_to_configure_exactly_when_reported() {
    pytest(&repo().join("tests/runtime/test_model_wiring.py"));
}

#[test]
fn sa608_nullable_mismatches_behave_as_reported_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa608_nullable_annotation_mismatch.py"));
}

#[test]
fn sa702_flagged_revisions_fail_under_real_alembic() {
    pytest(&repo().join("tests/runtime/test_sa702_not_null_without_default.py"));
}

#[test]
fn sa705_revision_graph_verdicts_match_alembics_loader() {
    pytest(&repo().join("tests/runtime/test_sa705_revision_graph.py"));
}

#[test]
fn sa203_missing_rollback_fixtures_hold_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa203_missing_rollback.py"));
}

#[test]
fn sa206_async_lazy_loads_raise_missing_greenlet_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa206_async_lazy_load.py"));
}

#[test]
fn sa602_unlinked_relationship_pairs_do_not_sync_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa602_backref_pairs.py"));
}

#[test]
fn sa207_async_expire_on_commit_holds_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa207_async_expire_on_commit.py"));
}

#[test]
fn sa305_removed_in_2_findings_fail_on_real_sqlalchemy_2() {
    pytest(&repo().join("tests/runtime/test_sa305_removed_in_2.py"));
}

#[test]
fn sa302_fix_keeps_the_schema_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa302_legacy_declarative_base.py"));
}

#[test]
fn sa301_fix_keeps_the_schema_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa301_legacy_column.py"));
}

#[test]
fn sa607_flagged_foreign_keys_fail_create_all_under_real_sqlalchemy() {
    pytest(&repo().join("tests/runtime/test_sa607_fk_target_missing.py"));
}

#[test]
fn sqlalint_new_scaffolds_run_on_fastapi_flask_alembic_and_sqlite() {
    pytest(&repo().join("tests/runtime/test_scaffold.py"));
}
