"""A short fuzz run in the suite: generated and mutated FUNC text, data files and streams through the CLI.

The long run: ``python -m tests.fuzz --examples 100000`` (counts per input kind and status).
"""

from hypothesis import HealthCheck, given, settings

from tests.fuzz import Case, cases, run_case


#: derandomized: the suite runs the same cases every time (a new find belongs to the long run, not to CI)
@settings(max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(cases())
def test_every_input_ends_in_a_status_and_a_message_or_json(case: Case):
    status, problem = run_case(case)
    assert problem is None, f"{problem}: status {status}, {case!r}"
