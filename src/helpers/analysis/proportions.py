"""Two proportions: shares <-> counts, intervals, tests, effect size and power.

Compares a share reported (as a rounded percentage) for two samples, "before" and "after": the
counts the shares imply, Wilson intervals, Newcombe's interval of the difference, the pooled
z-test, Cohen's h and the minimum detectable difference.

Every statistic is delegated to statsmodels / scipy; this module only validates inputs (raising
InvalidParameterError), converts between percentages and counts, and packages the results.
Convention throughout: "after" is the later sample and differences are ``after - before``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from helpers.errors import InvalidParameterError

# --------------------------------------------------------------------------- validation


def _check_n(n: int, name: str = "n") -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidParameterError(f"{name} must be an integer >= 1 (sample size), got {n!r}")


def _check_share_pct(share_pct: float) -> None:
    if not (isinstance(share_pct, int | float) and 0 <= share_pct <= 100):
        raise InvalidParameterError(
            f"share_pct must be a percentage in [0, 100], got {share_pct!r}"
        )


def _check_count(count: int, n: int, name: str = "count") -> None:
    _check_n(n, f"n for {name}")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= n:
        raise InvalidParameterError(f"{name} must be an integer in [0, {n}], got {count!r}")


def _check_proportion(p: float, name: str) -> None:
    if not (isinstance(p, int | float) and 0 <= p <= 1):
        raise InvalidParameterError(f"{name} must be a proportion in [0, 1], got {p!r}")


def _check_level(level: float, name: str) -> None:
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise InvalidParameterError(f"{name} must be strictly between 0 and 1, got {level!r}")


# --------------------------------------------------------------------------- shares <-> counts


def count_from_share(share_pct: float, n: int) -> int:
    """The count implied by a reported share: ``round(share_pct / 100 * n)``, halves rounded up.

    Decimal arithmetic on the share as written (``str(share_pct)``) keeps exact halves exact,
    e.g. 50% of 3 -> 1.5 -> 2 (Python's ``round`` would give 2 here but 0.5 -> 0 elsewhere).
    """
    _check_share_pct(share_pct)
    _check_n(n)
    exact = Decimal(str(share_pct)) * n / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def counts_consistent_with_share(share_pct: float, n: int) -> list[int]:
    """Every count k in 0..n whose whole-number percentage ``round(100 k / n)`` (half up)
    equals ``share_pct``.

    The share is taken as reported to a whole percent; a non-whole share matches no count.
    """
    _check_share_pct(share_pct)
    _check_n(n)
    target = Fraction(str(share_pct))
    # half-up rounding of a non-negative rational: floor(x + 1/2), exact in Fraction arithmetic
    return [k for k in range(n + 1) if math.floor(Fraction(100 * k, n) + Fraction(1, 2)) == target]


# --------------------------------------------------------------------------- intervals


def wilson_interval(count: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a single proportion ``count / n`` (proportions in 0..1)."""
    _check_count(count, n)
    _check_level(confidence, "confidence")
    low, upp = proportion_confint(count, n, alpha=1 - confidence, method="wilson")
    return float(low), float(upp)


def difference_interval(
    count_after: int,
    n_after: int,
    count_before: int,
    n_before: int,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for ``p_after - p_before``."""
    _check_count(count_after, n_after, "count_after")
    _check_count(count_before, n_before, "count_before")
    _check_level(confidence, "confidence")
    low, upp = confint_proportions_2indep(
        count_after,
        n_after,
        count_before,
        n_before,
        method="newcomb",
        compare="diff",
        alpha=1 - confidence,
    )
    return float(low), float(upp)


# --------------------------------------------------------------------------- tests, effect size


def two_proportion_ztest(
    count_after: int, n_after: int, count_before: int, n_before: int
) -> tuple[float, float]:
    """Pooled two-sided z-test of equal proportions; returns ``(z, p_value)``.

    ``z`` is positive when the after share is the larger one.
    """
    _check_count(count_after, n_after, "count_after")
    _check_count(count_before, n_before, "count_before")
    z, p_value = proportions_ztest(
        [count_after, count_before], [n_after, n_before], value=0, alternative="two-sided"
    )
    return float(z), float(p_value)


def cohens_h(p_after: float, p_before: float) -> float:
    """Cohen's h: ``2 asin(sqrt(p_after)) - 2 asin(sqrt(p_before))``."""
    _check_proportion(p_after, "p_after")
    _check_proportion(p_before, "p_before")
    return float(proportion_effectsize(p_after, p_before))


def describe_effect_size(h: float) -> str:
    """Cohen's labels for |h|: < 0.2 negligible, < 0.5 small, < 0.8 medium, else large."""
    size = abs(h)
    if size < 0.2:
        return "negligible"
    if size < 0.5:
        return "small"
    if size < 0.8:
        return "medium"
    return "large"


def minimum_detectable_difference(
    p_before: float,
    n_before: int,
    n_after: int,
    power: float = 0.8,
    alpha: float = 0.05,
) -> float:
    """Smallest increase ``p_after - p_before`` (> 0) a two-sided two-proportion z-test detects.

    Solves for Cohen's h with statsmodels ``NormalIndPower`` (``nobs1 = n_before``,
    ``ratio = n_after / n_before``), then maps h back to a proportion above ``p_before``.
    Raises InvalidParameterError if no proportion <= 1 is far enough above ``p_before``.
    """
    _check_proportion(p_before, "p_before")
    _check_n(n_before, "n_before")
    _check_n(n_after, "n_after")
    _check_level(power, "power")
    _check_level(alpha, "alpha")
    h = abs(
        float(
            NormalIndPower().solve_power(
                effect_size=None,
                nobs1=n_before,
                alpha=alpha,
                power=power,
                ratio=n_after / n_before,
                alternative="two-sided",
            )
        )
    )
    angle_after = math.asin(math.sqrt(p_before)) + h / 2
    if angle_after > math.pi / 2:
        raise InvalidParameterError(
            f"no increase from p_before={p_before} is detectable with power {power} "
            f"(required Cohen's h {h:.3f} would push p_after above 1)"
        )
    return math.sin(angle_after) ** 2 - p_before


# --------------------------------------------------------------------------- comparison record


@dataclass(frozen=True)
class ShareComparison:
    """Two samples' reported shares, the implied counts and the comparison statistics.

    Percent fields are on the 0..100 scale, ``p_*`` on 0..1.  The ``ci95_*`` intervals are at
    the ``confidence`` passed to :func:`compare_shares` (0.95 by default).
    """

    n_before: int
    n_after: int
    share_before_pct: float
    share_after_pct: float
    count_before: int
    count_after: int
    p_before: float
    p_after: float
    ci95_before: tuple[float, float]
    ci95_after: tuple[float, float]
    diff_pp: float
    ci95_diff_pp: tuple[float, float]
    z: float
    p_value: float
    cohens_h: float
    significant: bool
    min_detectable_diff_pp: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain ints / floats / bools, tuples as lists; nothing rounded."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, tuple):
                out[key] = [float(v) for v in value]
            elif isinstance(value, bool | int):
                out[key] = value
            else:
                out[key] = float(value)
        return out

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ShareComparison:
        """The inverse of to_dict (lists back to tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()})


def _pct(interval: tuple[float, float]) -> tuple[float, float]:
    return 100 * interval[0], 100 * interval[1]


def compare_shares(
    share_before_pct: float,
    n_before: int,
    share_after_pct: float,
    n_after: int,
    confidence: float = 0.95,
) -> ShareComparison:
    """Compare two reported (rounded) shares: counts, Wilson CIs, Newcombe CI of the
    difference, pooled z-test, Cohen's h and the minimum detectable difference
    (80% power, 5% two-sided, at the before share and both sample sizes)."""
    count_before = count_from_share(share_before_pct, n_before)
    count_after = count_from_share(share_after_pct, n_after)
    p_before = count_before / n_before
    p_after = count_after / n_after
    z, p_value = two_proportion_ztest(count_after, n_after, count_before, n_before)
    return ShareComparison(
        n_before=n_before,
        n_after=n_after,
        share_before_pct=float(share_before_pct),
        share_after_pct=float(share_after_pct),
        count_before=count_before,
        count_after=count_after,
        p_before=p_before,
        p_after=p_after,
        ci95_before=_pct(wilson_interval(count_before, n_before, confidence)),
        ci95_after=_pct(wilson_interval(count_after, n_after, confidence)),
        diff_pp=100 * (p_after - p_before),
        ci95_diff_pp=_pct(
            difference_interval(count_after, n_after, count_before, n_before, confidence)
        ),
        z=z,
        p_value=p_value,
        cohens_h=cohens_h(p_after, p_before),
        significant=p_value < 1 - confidence,
        min_detectable_diff_pp=100
        * minimum_detectable_difference(p_before, n_before, n_after, power=0.8, alpha=0.05),
    )
