"""The sovereign-investor survey: its bases, the China-priority shift, claims, tables, sentences.

For the Invesco Global Sovereign Asset Management Study: the share of sovereign investors rating
China a high or moderate allocation priority went from 44% (2024) to 59% (2025). Which base the
shares are of (all respondents or sovereign wealth funds only) sets the sample sizes; the
statistics come from helpers.analysis.proportions. "after" is the later edition.
"""

from __future__ import annotations

import pandas as pd

from helpers.analysis.proportions import (
    ShareComparison,
    compare_shares,
    count_from_share,
    counts_consistent_with_share,
    describe_effect_size,
    wilson_interval,
)

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


def findings(
    by_base: dict[str, ShareComparison], base: str, confidence: float, checked: pd.DataFrame
) -> list[str]:
    """What the survey page finds, in three sentences generated from the figures: the shift under
    the chosen `base`, whether another base changes the verdict, and the claims' verdicts
    (`checked`, from check_claims)."""
    chosen = by_base[base]
    low, high = chosen.ci95_diff_pp
    level = f"{1 - confidence:.0%}"
    others = {b: c for b, c in by_base.items() if b != base}
    changed = [b for b, c in others.items() if c.significant != chosen.significant]
    verdicts = checked["verdict"].value_counts()
    return [
        f"Taking the base as {BASE_LABELS[base]}, the share rating China a high or moderate "
        f"priority rose from {chosen.share_before_pct:.0f}% to {chosen.share_after_pct:.0f}%: "
        f"{chosen.diff_pp:+.1f} points ({confidence:.0%} interval {low:+.1f} to {high:+.1f}; "
        f"p = {chosen.p_value:.3f}), {'' if chosen.significant else 'not '}significant at the "
        f"{level} level.",
        (
            "Which base the shares are of decides the verdict: under "
            + " and ".join(BASE_LABELS[b] for b in changed)
            + f" the rise is {'' if others[changed[0]].significant else 'not '}significant."
        )
        if changed
        else "Every possible base gives the same verdict.",
        f"Of {len(checked)} claims about the survey as outlets reported them, "
        + ", ".join(f"{verdicts.get(v, 0)} {v}" for v in VERDICTS)
        + ".",
    ]


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
