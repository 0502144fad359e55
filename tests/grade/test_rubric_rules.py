"""The rubric's arithmetic (``grade/rubric.py``), on checks made here: what a verdict pays, and
how checks that a trivial answer passes are paid in proportion to the central checks."""

import pytest

from assignment import EXERCISES
from autograder.checks.base import Check, FunctionSpec, Partial
from autograder.grade.report import CheckResult
from autograder.grade.rubric import all_failed, pay_only_for_work, verdict


def check(name, points, stands_alone=True):
    return Check(name, points, ("case",), judge=lambda student, expected: None, stands_alone=stands_alone)


SPEC = FunctionSpec(
    exercise=EXERCISES["clip"],
    cases=list,
    checks=(
        check("central A", 4),
        check("supporting S", 2, False),
        check("central B", 11),
        check("supporting T", 3, False),
    ),
)


def results(a, s, b, t):
    """CheckResults for SPEC's checks with these points (passed when full)."""
    return [verdict(c, None if points == c.points else Partial(points / c.points, f"{c.name} in part"))
            if points else CheckResult(c.name, False, f"{c.name} wrong", 0.0, float(c.points))
            for c, points in zip(SPEC.checks, (a, s, b, t), strict=True)]  # fmt: skip


def test_a_passed_check_pays_all_its_points():
    assert verdict(check("x", 4), None) == CheckResult("x", True, "passed", 4.0, 4.0)


@pytest.mark.parametrize("points, share, paid", [(5, 0.4, 2.0), (4, 1 / 3, 1.33), (3, 0.5, 1.5), (8, 0.2, 1.6)])
def test_a_partial_verdict_pays_its_share_rounded_to_cents_and_is_not_passed(points, share, paid):
    assert verdict(check("x", points), Partial(share, "two of five")) == CheckResult(
        "x", False, "two of five", paid, points
    )


def test_a_failed_verdict_pays_nothing_and_keeps_its_feedback():
    assert verdict(check("x", 3), "the bound is 5, not 10") == CheckResult(
        "x", False, "the bound is 5, not 10", 0.0, 3.0
    )


def test_when_the_central_checks_earn_everything_nothing_changes():
    graded = results(4, 2, 11, 3)
    pay_only_for_work(SPEC, graded)
    assert [(r.points, r.passed, r.withheld) for r in graded] == [(4, True, False), (2, True, False), (11, True, False),
                                                                  (3, True, False)]  # fmt: skip


def test_supporting_checks_pay_the_share_the_central_ones_earned():
    graded = results(4, 2, 3.5, 3)  # central: 7.5 of 15
    pay_only_for_work(SPEC, graded)
    assert [(r.points, r.passed, r.withheld) for r in graded] == [(4, True, False), (1.0, False, True),
                                                                  (3.5, False, False), (1.5, False, True)]  # fmt: skip
    for supporting in (graded[1], graded[3]):
        assert supporting.feedback == (
            "right, but an answer that does none of the work gets this far too, so it pays in proportion to what "
            "these earned (50% of their points): central A; central B."
        )


def test_a_supporting_check_right_in_part_says_so_and_pays_its_share_of_its_part():
    graded = results(0, 1, 3, 0)  # central: 3 of 15; S right in part (1 of 2)
    pay_only_for_work(SPEC, graded)
    assert (graded[1].points, graded[1].withheld) == (0.2, True)
    assert graded[1].feedback.startswith("right in part, but") and "(20% of their points)" in graded[1].feedback
    assert (graded[3].points, graded[3].withheld, graded[3].feedback) == (0.0, False, "supporting T wrong")


def test_with_no_central_points_supporting_checks_pay_nothing_and_say_why():
    graded = results(0, 2, 0, 3)
    pay_only_for_work(SPEC, graded)
    assert [r.points for r in graded] == [0, 0, 0, 0]
    assert graded[1].withheld and not graded[1].passed
    assert graded[1].feedback == (
        "right, but worth nothing on its own, because an answer that does none of the work gets this far too: it "
        "pays once one of these earns points: central A; central B."
    )


def test_the_share_is_rounded_to_cents_per_check():
    graded = results(4, 2, 2, 3)  # central: 6 of 15
    pay_only_for_work(SPEC, graded)
    assert (graded[1].points, graded[3].points) == (0.8, 1.2)
    graded = results(1.5, 2, 0, 3)  # central: 1.5 of 15, from a partial A
    pay_only_for_work(SPEC, graded)
    assert (graded[1].points, graded[3].points) == (0.2, 0.3)


def test_a_share_with_more_decimals_is_rounded_to_cents():
    graded = results(1, 2, 0, 3)  # central: 1 of 15
    pay_only_for_work(SPEC, graded)
    assert (graded[1].points, graded[3].points) == (0.13, 0.2)


def test_results_that_do_not_match_the_checks_one_for_one_are_refused():
    with pytest.raises(ValueError):
        pay_only_for_work(SPEC, results(4, 2, 11, 3)[:3])
    with pytest.raises(ValueError):
        pay_only_for_work(SPEC, results(0, 2, 0, 3)[:3])


def test_all_failed_fails_every_check_for_one_reason():
    result = all_failed(SPEC, "no graded cell for clip was found", seconds=1.5)
    assert (result.name, result.score, result.max_score, result.seconds) == ("clip", 0.0, 20.0, 1.5)
    assert [(c.name, c.passed, c.feedback, c.points, c.max_points) for c in result.checks] == [
        (c.name, False, "no graded cell for clip was found", 0.0, float(c.points)) for c in SPEC.checks
    ]
