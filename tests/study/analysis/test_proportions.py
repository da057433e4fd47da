"""Tests for helpers.analysis.proportions.

Every statistic is checked against an independent computation: closed-form formulas written out
here with ``math`` / ``scipy.stats.norm`` (Wilson, pooled z, Newcombe's method 10, arcsine
transform, normal-approximation power), literal numbers worked out by hand, and published values
(Newcombe 1998, Statistics in Medicine 17:873-890, Table II, method 10).
"""

from __future__ import annotations

import dataclasses
import json
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from scipy.stats import norm

from helpers.analysis.proportions import (
    ShareComparison,
    cohens_h,
    compare_shares,
    count_from_share,
    counts_consistent_with_share,
    describe_effect_size,
    difference_interval,
    minimum_detectable_difference,
    two_proportion_ztest,
    wilson_interval,
)
from helpers.errors import InvalidParameterError

# --------------------------------------------------------------------------- independent formulas


def _z_crit(confidence: float) -> float:
    return norm.ppf(1 - (1 - confidence) / 2)


def wilson_formula(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval written out."""
    z = _z_crit(confidence)
    p = k / n
    centre = p + z**2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    denom = 1 + z**2 / n
    return (centre - half) / denom, (centre + half) / denom


def newcombe_formula(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe (1998) method 10 for p1 - p2, built from the Wilson limits above."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_formula(k1, n1, confidence)
    l2, u2 = wilson_formula(k2, n2, confidence)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def pooled_z_formula(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z statistic (p1 - p2) and its two-sided p-value."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return z, 2 * norm.sf(abs(z))


def arcsine_h(p1: float, p2: float) -> float:
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def power_formula(h: float, n1: int, n2: int, alpha: float = 0.05) -> float:
    """Normal-approximation power of the two-sided test for Cohen's h (both tails)."""
    shift = abs(h) * math.sqrt(n1 * n2 / (n1 + n2))
    z = norm.ppf(1 - alpha / 2)
    return norm.cdf(shift - z) + norm.cdf(-shift - z)


def half_up_pct(k: int, n: int) -> int:
    """Whole-number percentage of k/n, halves rounded up, in exact decimal arithmetic."""
    return int((Decimal(100 * k) / Decimal(n)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------- count_from_share


@pytest.mark.parametrize(
    ("share", "n", "expected"),
    [
        (44, 136, 60),  # 59.84
        (59, 141, 83),  # 83.19
        (44, 83, 37),  # 36.52
        (59, 83, 49),  # 48.97
        (0, 50, 0),
        (100, 50, 50),
    ],
)
def test_count_from_share_hand_cases(share: float, n: int, expected: int) -> None:
    assert count_from_share(share, n) == expected


@pytest.mark.parametrize(
    ("share", "n", "expected"),
    [
        (50, 3, 2),  # 1.5 -> 2
        (50, 5, 3),  # 2.5 -> 3 (banker's rounding would give 2)
        (50, 1, 1),  # 0.5 -> 1 (banker's rounding would give 0)
        (2.5, 100, 3),  # 2.5 -> 3
        (12.5, 4, 1),  # 0.5 -> 1
    ],
)
def test_count_from_share_rounds_half_up(share: float, n: int, expected: int) -> None:
    assert count_from_share(share, n) == expected


@pytest.mark.parametrize(("share", "n"), [(-1, 100), (100.5, 100), (44, 0), (44, -3)])
def test_count_from_share_rejects_bad_input(share: float, n: int) -> None:
    with pytest.raises(InvalidParameterError, match=r"share_pct|n must"):
        count_from_share(share, n)


# --------------------------------------------------------------------------- counts_consistent


def test_counts_consistent_with_share_survey_cases() -> None:
    counts = counts_consistent_with_share(44, 136)
    assert 60 in counts
    assert counts == [60]  # 59/136 = 43.38% and 61/136 = 44.85%
    assert all(half_up_pct(k, 136) == 44 for k in counts)
    assert counts_consistent_with_share(59, 141) == [83]
    assert counts_consistent_with_share(59, 83) == [49]
    # 36/83 = 43.37% -> 43 and 37/83 = 44.58% -> 45: no count of 83 shows as 44%.
    assert counts_consistent_with_share(44, 83) == []


def test_counts_consistent_with_share_half_up_boundary() -> None:
    # 1/8 = 12.5% rounds up to 13, so it belongs to 13 and not to 12.
    assert counts_consistent_with_share(13, 8) == [1]
    assert counts_consistent_with_share(12, 8) == []
    # several counts can share one percentage when n > 100
    assert counts_consistent_with_share(50, 300) == [149, 150, 151]


@pytest.mark.parametrize("n", [7, 83, 100, 136, 141, 250])
def test_counts_consistent_with_share_matches_brute_force(n: int) -> None:
    for share in range(101):
        expected = [k for k in range(n + 1) if half_up_pct(k, n) == share]
        assert counts_consistent_with_share(share, n) == expected


def test_count_from_share_is_consistent_for_large_n() -> None:
    # For n > 100 the nearest count always displays as the reported share.
    for n in (101, 136, 141, 300):
        for share in range(101):
            assert count_from_share(share, n) in counts_consistent_with_share(share, n)


@pytest.mark.parametrize(("share", "n"), [(-0.1, 10), (101, 10), (50, 0)])
def test_counts_consistent_with_share_rejects_bad_input(share: float, n: int) -> None:
    with pytest.raises(InvalidParameterError):
        counts_consistent_with_share(share, n)


# --------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(
    ("k", "n", "confidence"),
    [
        (60, 136, 0.95),
        (83, 141, 0.95),
        (37, 83, 0.95),
        (49, 83, 0.9),
        (0, 20, 0.95),
        (20, 20, 0.99),
    ],
)
def test_wilson_interval_matches_formula(k: int, n: int, confidence: float) -> None:
    low, upp = wilson_interval(k, n, confidence)
    exp_low, exp_upp = wilson_formula(k, n, confidence)
    assert low == pytest.approx(exp_low, abs=1e-12)
    assert upp == pytest.approx(exp_upp, abs=1e-12)
    assert 0 <= low <= k / n <= upp <= 1


def test_wilson_interval_hand_case() -> None:
    # 60/136, z = 1.96: centre (0.44118 + 0.01412) / 1.02825, half-width 0.08225 / 1.02825
    low, upp = wilson_interval(60, 136)
    assert low == pytest.approx(0.3605, abs=5e-5)
    assert upp == pytest.approx(0.5251, abs=5e-5)


@pytest.mark.parametrize(
    ("k", "n", "confidence"), [(-1, 10, 0.95), (11, 10, 0.95), (5, 0, 0.95), (5, 10, 1.0)]
)
def test_wilson_interval_rejects_bad_input(k: int, n: int, confidence: float) -> None:
    with pytest.raises(InvalidParameterError):
        wilson_interval(k, n, confidence)


# --------------------------------------------------------------------------- Newcombe


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "expected"),
    [
        (56, 70, 48, 80, (0.0524, 0.3339)),  # Newcombe (1998) Table II, example (a)
        (9, 10, 3, 10, (0.1705, 0.8090)),  # example (b)
    ],
)
def test_difference_interval_published_values(
    k1: int, n1: int, k2: int, n2: int, expected: tuple[float, float]
) -> None:
    low, upp = difference_interval(k1, n1, k2, n2)
    assert low == pytest.approx(expected[0], abs=5e-5)
    assert upp == pytest.approx(expected[1], abs=5e-5)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "confidence"),
    [
        (83, 141, 60, 136, 0.95),
        (49, 83, 37, 83, 0.95),
        (37, 83, 49, 83, 0.9),
        (0, 15, 15, 15, 0.95),
    ],
)
def test_difference_interval_matches_method_10(
    k1: int, n1: int, k2: int, n2: int, confidence: float
) -> None:
    low, upp = difference_interval(k1, n1, k2, n2, confidence)
    exp_low, exp_upp = newcombe_formula(k1, n1, k2, n2, confidence)
    assert low == pytest.approx(exp_low, abs=1e-12)
    assert upp == pytest.approx(exp_upp, abs=1e-12)
    assert low <= k1 / n1 - k2 / n2 <= upp


def test_difference_interval_is_for_after_minus_before() -> None:
    low, upp = difference_interval(83, 141, 60, 136)
    assert (low, upp) == pytest.approx((0.0298, 0.2596), abs=5e-5)
    rev_low, rev_upp = difference_interval(60, 136, 83, 141)
    assert (rev_low, rev_upp) == pytest.approx((-upp, -low), abs=1e-12)


# --------------------------------------------------------------------------- z-test


def test_two_proportion_ztest_hand_case_all_respondents() -> None:
    # pooled 143/277 = 0.51625; se = sqrt(0.51625 * 0.48375 * (1/141 + 1/136)) = 0.060062;
    # z = (0.588652 - 0.441176) / 0.060062 = 2.455; p = 2 * (1 - Phi(2.455)) = 0.0141
    z, p = two_proportion_ztest(83, 141, 60, 136)
    assert z == pytest.approx(2.455, abs=5e-4)
    assert p == pytest.approx(0.014, abs=5e-4)


def test_two_proportion_ztest_hand_case_swf_only() -> None:
    # pooled 86/166 = 0.51807; se = sqrt(0.51807 * 0.48193 * 2/83) = 0.077564;
    # z = (0.590361 - 0.445783) / 0.077564 = 1.864; p = 0.0623
    z, p = two_proportion_ztest(49, 83, 37, 83)
    assert z == pytest.approx(1.864, abs=5e-4)
    assert p == pytest.approx(0.062, abs=5e-4)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(83, 141, 60, 136), (49, 83, 37, 83), (10, 40, 25, 50), (3, 9, 3, 9)]
)
def test_two_proportion_ztest_matches_pooled_formula(k1: int, n1: int, k2: int, n2: int) -> None:
    z, p = two_proportion_ztest(k1, n1, k2, n2)
    exp_z, exp_p = pooled_z_formula(k1, n1, k2, n2)
    assert z == pytest.approx(exp_z, abs=1e-10)
    assert p == pytest.approx(exp_p, abs=1e-10)


def test_two_proportion_ztest_sign_follows_after_minus_before() -> None:
    z_up, p_up = two_proportion_ztest(83, 141, 60, 136)
    z_down, p_down = two_proportion_ztest(60, 136, 83, 141)
    assert z_up > 0 > z_down
    assert z_down == pytest.approx(-z_up)
    assert p_down == pytest.approx(p_up)


def test_two_proportion_ztest_rejects_bad_input() -> None:
    with pytest.raises(InvalidParameterError):
        two_proportion_ztest(150, 141, 60, 136)


# --------------------------------------------------------------------------- Cohen's h


def test_cohens_h_matches_arcsine_formula() -> None:
    for p1, p2 in [(83 / 141, 60 / 136), (0.59, 0.44), (0.1, 0.9), (0.0, 1.0), (0.3, 0.3)]:
        assert cohens_h(p1, p2) == pytest.approx(arcsine_h(p1, p2), abs=1e-12)


def test_cohens_h_hand_case() -> None:
    # 2 asin(sqrt .59) - 2 asin(sqrt .44) = 2 (0.87589 - 0.72525) = 0.3013
    assert cohens_h(0.59, 0.44) == pytest.approx(0.3013, abs=5e-4)
    assert cohens_h(0.0, 1.0) == pytest.approx(-math.pi)
    with pytest.raises(InvalidParameterError):
        cohens_h(1.2, 0.5)


@pytest.mark.parametrize(
    ("h", "label"),
    [
        (0.0, "negligible"),
        (0.1999, "negligible"),
        (0.2, "small"),
        (-0.3, "small"),
        (0.4999, "small"),
        (0.5, "medium"),
        (-0.79, "medium"),
        (0.8, "large"),
        (-2.0, "large"),
    ],
)
def test_describe_effect_size(h: float, label: str) -> None:
    assert describe_effect_size(h) == label


# --------------------------------------------------------------------------- minimum detectable


@pytest.mark.parametrize(
    ("p_before", "n_before", "n_after", "power", "alpha"),
    [
        (60 / 136, 136, 141, 0.8, 0.05),
        (37 / 83, 83, 83, 0.8, 0.05),
        (0.1, 400, 200, 0.9, 0.01),
        (0.5, 30, 30, 0.8, 0.05),
    ],
)
def test_minimum_detectable_difference_has_requested_power(
    p_before: float, n_before: int, n_after: int, power: float, alpha: float
) -> None:
    mdd = minimum_detectable_difference(p_before, n_before, n_after, power=power, alpha=alpha)
    assert 0 < mdd <= 1 - p_before
    h = arcsine_h(p_before + mdd, p_before)
    assert power_formula(h, n_before, n_after, alpha) == pytest.approx(power, abs=0.005)


def test_minimum_detectable_difference_hand_case() -> None:
    # h = (1.95996 + 0.84162) * sqrt(1/136 + 1/141) = 0.33672;
    # p_after = sin(asin(sqrt(60/136)) + h/2)^2 = 0.60853 -> +0.1674
    assert minimum_detectable_difference(60 / 136, 136, 141) == pytest.approx(0.1674, abs=5e-4)
    # 83 per wave: h = 2.80158 * sqrt(2/83) = 0.43489 -> +0.2145
    assert minimum_detectable_difference(37 / 83, 83, 83) == pytest.approx(0.2145, abs=5e-4)


def test_minimum_detectable_difference_shrinks_with_sample_size() -> None:
    small = minimum_detectable_difference(0.44, 83, 83)
    medium = minimum_detectable_difference(0.44, 136, 141)
    large = minimum_detectable_difference(0.44, 1000, 1000)
    assert small > medium > large > 0
    assert minimum_detectable_difference(0.44, 136, 141, power=0.9) > medium


def test_minimum_detectable_difference_impossible_increase() -> None:
    with pytest.raises(InvalidParameterError, match="no increase"):
        minimum_detectable_difference(0.99, 10, 10)
    with pytest.raises(InvalidParameterError):
        minimum_detectable_difference(0.5, 0, 10)


# --------------------------------------------------------------------------- compare_shares


def test_compare_shares_all_respondents() -> None:
    res = compare_shares(44, 136, 59, 141)
    assert (res.count_before, res.count_after) == (60, 83)
    assert res.p_before == pytest.approx(60 / 136)
    assert res.p_after == pytest.approx(83 / 141)
    assert res.ci95_before == pytest.approx((36.05, 52.51), abs=5e-3)
    assert res.ci95_after == pytest.approx((50.61, 66.65), abs=5e-3)
    assert res.diff_pp == pytest.approx(14.748, abs=5e-4)
    assert res.ci95_diff_pp == pytest.approx((2.98, 25.96), abs=5e-3)
    assert res.z == pytest.approx(2.455, abs=5e-4)
    assert res.p_value == pytest.approx(0.0141, abs=5e-5)
    assert res.cohens_h == pytest.approx(arcsine_h(83 / 141, 60 / 136), abs=1e-12)
    assert res.significant is True
    assert res.min_detectable_diff_pp == pytest.approx(16.74, abs=5e-3)


def test_compare_shares_swf_only() -> None:
    res = compare_shares(44, 83, 59, 83)
    assert (res.count_before, res.count_after) == (37, 49)
    assert res.ci95_diff_pp[0] < 0 < res.ci95_diff_pp[1]
    assert res.ci95_diff_pp == pytest.approx((-0.71, 28.72), abs=5e-3)
    assert res.z == pytest.approx(1.864, abs=5e-4)
    assert res.p_value == pytest.approx(0.0623, abs=5e-5)
    assert res.significant is False
    assert res.min_detectable_diff_pp == pytest.approx(21.45, abs=5e-3)
    assert describe_effect_size(res.cohens_h) == "small"


def test_compare_shares_significance_follows_confidence() -> None:
    # p = 0.062: not significant at 95%, significant at 90%
    assert compare_shares(44, 83, 59, 83, confidence=0.90).significant is True
    res90 = compare_shares(44, 83, 59, 83, confidence=0.90)
    exp = newcombe_formula(49, 83, 37, 83, 0.90)
    assert res90.ci95_diff_pp == pytest.approx((100 * exp[0], 100 * exp[1]), abs=1e-9)


def test_compare_shares_to_dict_is_json_ready() -> None:
    res = compare_shares(44, 136, 59, 141)
    d = res.to_dict()
    assert list(d) == [f.name for f in dataclasses.fields(ShareComparison)]
    assert d == json.loads(json.dumps(d))  # round-trips unchanged: plain types only
    for key in ("ci95_before", "ci95_after", "ci95_diff_pp"):
        assert isinstance(d[key], list) and len(d[key]) == 2
        assert all(type(v) is float for v in d[key])
    assert type(d["count_before"]) is int and type(d["n_after"]) is int
    assert type(d["significant"]) is bool
    for key in ("p_value", "z", "cohens_h", "diff_pp", "share_before_pct"):
        assert type(d[key]) is float
    assert d["p_value"] == res.p_value  # nothing rounded


def test_share_comparison_is_frozen() -> None:
    res = compare_shares(44, 136, 59, 141)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.z = 0.0  # type: ignore[misc]
