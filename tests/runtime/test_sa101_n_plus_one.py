"""SA101 is true at run time: every function sqlalint flags issues more SELECTs as the number
of parent rows grows (N=3 → N=6), and every function it leaves alone issues a constant number.
The fixtures' `# expect:` labels must agree with both sqlalint and SQLAlchemy."""
import pytest
from conftest import assert_cases_have_both_labels, assert_verdict_matches_growth, growth_params

CODE = "SA101"
# (loops module, models module, how to run it)
CASES = [
    ("loops_v2", "models_v2", "plain"),
    ("loops_legacy", "models_legacy", "plain"),
    ("loops_flask", "flask_models", "flask"),
    ("loops_sqlmodel", "sqlmodel_models", "sqlmodel"),
    ("loops_async", "async_models", "async"),
]


def test_every_case_module_has_positives_and_negatives():
    assert_cases_have_both_labels(CODE, CASES)


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.LegacyAPIWarning")
@pytest.mark.parametrize(("loops", "models_name", "kind", "name"), growth_params(CODE, CASES))
def test_verdict_matches_runtime(loops, models_name, kind, name):
    assert_verdict_matches_growth(CODE, "N+1", loops, models_name, kind, name)
