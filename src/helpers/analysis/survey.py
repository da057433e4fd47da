"""Survey shares: proportions, tests, intervals.

Helpers for comparing a share of respondents reported (as a rounded whole percentage) in two
survey waves, e.g. the Invesco Global Sovereign Asset Management Study: the share of sovereign
investors rating China a high or moderate allocation priority went from 44% (2024) to 59% (2025).

Every statistic is delegated to statsmodels / scipy; this module only validates inputs, converts
between percentages and counts, and packages the results.  Convention throughout: "after" is the
later wave and differences are ``after - before``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pandas as pd
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

# --------------------------------------------------------------------------- validation


def _check_n(n: int, name: str = "n") -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1 (sample size), got {n!r}")


def _check_share_pct(share_pct: float) -> None:
    if not (isinstance(share_pct, int | float) and 0 <= share_pct <= 100):
        raise ValueError(f"share_pct must be a percentage in [0, 100], got {share_pct!r}")


def _check_count(count: int, n: int, name: str = "count") -> None:
    _check_n(n, f"n for {name}")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= n:
        raise ValueError(f"{name} must be an integer in [0, {n}], got {count!r}")


def _check_proportion(p: float, name: str) -> None:
    if not (isinstance(p, int | float) and 0 <= p <= 1):
        raise ValueError(f"{name} must be a proportion in [0, 1], got {p!r}")


def _check_level(level: float, name: str) -> None:
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise ValueError(f"{name} must be strictly between 0 and 1, got {level!r}")


# --------------------------------------------------------------------------- shares <-> counts


def count_from_share(share_pct: float, n: int) -> int:
    """Respondents implied by a reported share: ``round(share_pct / 100 * n)``, halves rounded up.

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
    Raises ValueError if no proportion <= 1 is far enough above ``p_before``.
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
        raise ValueError(
            f"no increase from p_before={p_before} is detectable with power {power} "
            f"(required Cohen's h {h:.3f} would push p_after above 1)"
        )
    return math.sin(angle_after) ** 2 - p_before


# --------------------------------------------------------------------------- comparison record


@dataclass(frozen=True)
class ShareComparison:
    """Two survey waves' reported shares, the implied counts and the comparison statistics.

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


# --------------------------------------------------------------------------- the survey tables

# Which column of the editions table gives the sample size under each possible base.
BASE_SIZE_COLUMNS = {
    "all_respondents": "respondents_total",
    "sovereign_wealth_funds": "sovereign_wealth_funds",
}
BASE_LABELS = {
    "all_respondents": "all respondents",
    "sovereign_wealth_funds": "sovereign wealth funds only",
}
PRIORITY_TOPIC = "china_priority"


def _priority_shares(figures: pd.DataFrame) -> pd.Series:
    """The China-priority share (percent) by edition, earliest first."""
    shares = figures[figures["topic"] == PRIORITY_TOPIC].set_index("edition")["share_pct"]
    if len(shares) != 2:
        raise ValueError(
            f"expected the '{PRIORITY_TOPIC}' figure for two editions, found {len(shares)}"
        )
    return shares.sort_index()


def china_priority_by_base(
    figures: pd.DataFrame, editions: pd.DataFrame, confidence: float = 0.95
) -> dict[str, ShareComparison]:
    """The China-priority shift compared under each possible base (sample sizes per edition)."""
    shares = _priority_shares(figures)
    (before, share_before), (after, share_after) = shares.items()
    sizes = editions.set_index("edition")
    return {
        base: compare_shares(
            share_before,
            int(sizes.at[before, column]),
            share_after,
            int(sizes.at[after, column]),
            confidence,
        )
        for base, column in BASE_SIZE_COLUMNS.items()
    }


def describe_comparison(comparison: ShareComparison, base: str, confidence: float) -> str:
    """A paragraph stating the comparison's figures, generated from them."""
    level = f"{confidence:.0%}"
    low, high = comparison.ci95_diff_pp
    verdict = (
        "is statistically significant"
        if comparison.significant
        else "is not statistically significant"
    )
    return (
        f"Taking the base as **{BASE_LABELS[base]}** (n = {comparison.n_before} and "
        f"{comparison.n_after}), the reported {comparison.share_before_pct:.0f}% and "
        f"{comparison.share_after_pct:.0f}% imply {comparison.count_before} and "
        f"{comparison.count_after} respondents. The share rose by "
        f"**{comparison.diff_pp:+.1f} percentage points** ({level} interval "
        f"{low:+.1f} to {high:+.1f}); z = {comparison.z:.2f}, p = {comparison.p_value:.3f}, so "
        f"the rise {verdict} at the {1 - confidence:.0%} level. Cohen's h is "
        f"{comparison.cohens_h:.2f}, a {describe_effect_size(comparison.cohens_h)} effect. "
        f"With these sample sizes the smallest rise detectable with 80% power is "
        f"{comparison.min_detectable_diff_pp:.1f} points."
    )


def describe_base_sensitivity(by_base: dict[str, ShareComparison], confidence: float) -> str:
    """A sentence saying whether the conclusion about the shift depends on the base."""
    level = f"{1 - confidence:.0%}"
    parts = [
        f"under {BASE_LABELS[base]} the rise "
        f"{'is' if c.significant else 'is not'} significant at the {level} level "
        f"(p = {c.p_value:.3f}; interval {c.ci95_diff_pp[0]:+.1f} to {c.ci95_diff_pp[1]:+.1f} "
        "points)"
        for base, c in by_base.items()
    ]
    verdicts = {c.significant for c in by_base.values()}
    conclusion = (
        "**the conclusion changes with the base**: which base the 44% and 59% are shares of "
        "decides whether the survey shows a real rise"
        if len(verdicts) > 1
        else "**the conclusion is the same under every base**"
    )
    sentence = f"{'; '.join(parts)}: {conclusion}."
    return sentence[0].upper() + sentence[1:]


VERDICTS = ("supported", "misattributed", "contradicted", "unverified")


def check_claims(claims: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """Each survey claim as reported against the sourced figure it concerns, with a verdict.

    - "unverified": the sourced figure is itself unverified (or the claim names no figure);
    - "contradicted": the claimed share differs from the sourced one;
    - "misattributed": the share matches but the group the claim names is not among the groups
      the sourced figure is reported for (`group_reported`, compared without case);
    - "supported": otherwise.
    """
    sourced = figures.set_index("figure_id")
    rows = []
    for claim in claims.itertuples(index=False):
        figure = sourced.loc[claim.figure_id] if claim.figure_id in sourced.index else None
        if figure is None or not figure["verified"]:
            verdict = "unverified"
        elif claim.share_pct != figure["share_pct"]:
            verdict = "contradicted"
        elif claim.group_claimed.lower() not in figure["group_reported"].lower():
            verdict = "misattributed"
        else:
            verdict = "supported"
        rows.append(
            {
                "claim_id": claim.claim_id,
                "claim as reported": claim.claim,
                "group named": claim.group_claimed,
                "share claimed": claim.share_pct,
                "sourced share": None if figure is None else figure["share_pct"],
                "sourced group": None if figure is None else figure["group_reported"],
                "verdict": verdict,
                "claim source": claim.source,
            }
        )
    return pd.DataFrame(rows)


def comparison_table(by_base: dict[str, ShareComparison]) -> pd.DataFrame:
    """One row per base: counts, shares, difference with interval, z, p, h."""
    rows = {
        BASE_LABELS[base]: {
            "n 2024 / 2025": f"{c.n_before} / {c.n_after}",
            "count 2024 / 2025": f"{c.count_before} / {c.count_after}",
            "share 2024": round(100 * c.p_before, 1),
            "share 2025": round(100 * c.p_after, 1),
            "difference": round(c.diff_pp, 1),
            "interval": f"{c.ci95_diff_pp[0]:+.1f} to {c.ci95_diff_pp[1]:+.1f}",
            "z": round(c.z, 2),
            "p-value": round(c.p_value, 4),
            "Cohen's h": round(c.cohens_h, 3),
            "significant": c.significant,
            "detectable at 80% power": round(c.min_detectable_diff_pp, 1),
        }
        for base, c in by_base.items()
    }
    return pd.DataFrame(rows).T


def describe_rounding(figures: pd.DataFrame, editions: pd.DataFrame) -> str:
    """Which respondent counts each rounded share allows under each base, as a sentence."""
    shares = _priority_shares(figures)
    sizes = editions.set_index("edition")
    parts = []
    for base, column in BASE_SIZE_COLUMNS.items():
        for edition, share in shares.items():
            n = int(sizes.at[edition, column])
            counts = counts_consistent_with_share(share, n)
            allowed = ", ".join(map(str, counts)) if counts else "no whole count"
            parts.append(f"{share:.0f}% of {n} ({BASE_LABELS[base]}, {edition}): {allowed}")
    return (
        "Shares are reported as whole percentages, so counts are derived by rounding "
        "share × n half up. Counts that round back to the reported share: "
        + "; ".join(parts)
        + ". Where no whole count fits, the reported share cannot be an exactly rounded "
        "share of that base."
    )


def shift_chart_table(by_base: dict[str, ShareComparison]) -> pd.DataFrame:
    """Rows for a proportions chart: each base and year with its Wilson interval."""
    rows = []
    for base, c in by_base.items():
        for year, p, interval in (
            ("2024", c.p_before, c.ci95_before),
            ("2025", c.p_after, c.ci95_after),
        ):
            n = c.n_before if year == "2024" else c.n_after
            rows.append(
                {
                    "label": f"{year}, {BASE_LABELS[base]} (n={n})",
                    "share_pct": 100 * p,
                    "ci_low_pct": interval[0],
                    "ci_high_pct": interval[1],
                }
            )
    return pd.DataFrame(rows)


def figures_with_intervals(figures: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The survey figures other than the China-priority shift, with Wilson intervals where n
    is known (the interval collapses to the point where it is not) and a chart label that says
    when the sample size is not disclosed or the figure is unverified."""
    table = figures[figures["topic"] != PRIORITY_TOPIC].reset_index(drop=True).copy()
    lows, highs = [], []
    for share, n in zip(table["share_pct"], table["n"], strict=True):
        if pd.isna(n):
            lows.append(share)
            highs.append(share)
        else:
            low, high = wilson_interval(count_from_share(share, int(n)), int(n), confidence)
            lows.append(100 * low)
            highs.append(100 * high)
    table["ci_low_pct"] = lows
    table["ci_high_pct"] = highs
    size = table["n"].map(lambda n: "sample size not disclosed" if pd.isna(n) else f"n={n}")
    flag = table["verified"].map({True: "", False: " [UNVERIFIED]"})
    # Figures that share a wording (e.g. one per region) are told apart by who answered.
    shared = table["measure"].duplicated(keep=False)
    wording = table["measure"].where(~shared, table["measure"] + ", " + table["group_reported"])
    table["chart_label"] = table["edition"].astype(str) + ": " + wording + " (" + size + ")" + flag
    return table
