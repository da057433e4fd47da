"""Sentences, tables and chart data for a sweep's robustness page, from the numbers of
helpers.analysis.robustness: whether the spread holds its sign and size across the variants,
how far the survey's p-value moves across bases, how the figures changed over time."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd

from helpers.analysis import robustness
from helpers.analysis.robustness import SweepResults
from helpers.analysis.survey import BASE_LABELS
from helpers.present.headline import SPREAD_LONG, SPREAD_SHORT
from helpers.present.show import usd_bn

SIGNIFICANCE = 0.05  # the level at which the survey page calls the shift significant
SPREAD_LABEL = "spread"  # the spread's name in charts beside the cohorts


def _runs(results: SweepResults, count: int) -> str:
    """'variants' for a parameter sweep, 'as-of dates' for an as-of sweep, by count."""
    if results.is_as_of_sweep:
        return "as-of date" if count == 1 else "as-of dates"
    return "variant" if count == 1 else "variants"


def _base(base: str) -> str:
    return BASE_LABELS.get(base, base)


def p_value_text(p_value: float) -> str:
    """A p-value as the pages write it: 0.0141 -> '0.014'; below 0.001 -> '<0.001'."""
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def describe_spread_sign(results: SweepResults) -> str:
    """Whether the spread between the technology and traditional cohorts keeps its sign in
    every variant, and its range with the combinations at either end."""
    sign = robustness.spread_sign(results)
    subject = f"The spread between {SPREAD_LONG} and {SPREAD_SHORT} funds"
    if not sign.variants:
        return (
            f"{subject} has no value in any {_runs(results, 1)}: each lacks data for one of "
            "the two cohorts."
        )
    low, high = robustness.extremes(results)
    ends = (
        f"from {usd_bn(low.value)} ({results.describe(*low.combinations)}) to "
        f"{usd_bn(high.value)} ({results.describe(*high.combinations)})"
    )
    if sign.variants == 1:
        text = f"{subject} is {usd_bn(low.value)} in the one {_runs(results, 1)} with a value"
    elif sign.holds:
        word = "positive" if sign.positive else "negative"
        in_all = "at all" if results.is_as_of_sweep else "in all"
        text = f"{subject} stays {word} {in_all} {sign.variants} {_runs(results, 2)}, {ends}"
    else:
        zero = sign.variants - sign.positive - sign.negative
        counts = f"positive in {sign.positive} of {sign.variants}, negative in {sign.negative}"
        counts += f", zero in {zero}" if zero else ""
        text = f"{subject} **changes sign** across the {_runs(results, 2)} ({counts}), {ends}"
    if sign.without_spread:
        text += (
            f"; {sign.without_spread} more {_runs(results, sign.without_spread)} "
            "had no spread (a cohort without data)"
        )
    return text + "."


def describe_against_baseline(results: SweepResults, baseline: str = "") -> str:
    """How far the spread moves from the baseline's (the first combination, or `baseline`);
    "" when fewer than two variants have a spread."""
    against = robustness.against_baseline(results, baseline)
    if against is None:
        return ""
    change = against.largest_change_pct
    size = "" if pd.isna(change) else f"{abs(change):.1f}%, "
    return (
        f"Against the baseline ({results.describe(against.baseline)}), whose spread is "
        f"{usd_bn(against.baseline_usd)}, the spread moves by at most {size}"
        f"{usd_bn(against.largest_change_usd)} ({results.describe(*against.furthest)})."
    )


def describe_p_values(results: SweepResults, level: float = SIGNIFICANCE) -> str:
    """How far the survey's p-value for the shift moves across the bases the combinations used,
    and whether its verdict at `level` changes with the base."""
    by_base = robustness.p_values_by_base(results)
    if by_base.empty:
        return ""
    lowest = by_base["lowest_p_value"]
    highest = by_base["highest_p_value"]
    if len(by_base) == 1:
        base = _base(by_base.index[0])
        if lowest.iloc[0] == highest.iloc[0]:
            return (
                f"The survey's p-value for the shift is {p_value_text(lowest.iloc[0])} in every "
                f"{_runs(results, 1)} (base: {base})."
            )
        return (
            f"The survey's p-value for the shift moves from {p_value_text(lowest.iloc[0])} to "
            f"{p_value_text(highest.iloc[0])} across the {_runs(results, 2)} (base: {base})."
        )
    low_base, high_base = lowest.idxmin(), highest.idxmax()
    text = (
        f"The survey's p-value for the shift moves from {p_value_text(lowest[low_base])} "
        f"({_base(low_base)}) to {p_value_text(highest[high_base])} ({_base(high_base)}) across "
        f"the {len(by_base)} bases: "
    )
    below = [_base(b) for b in by_base.index if highest[b] < level]
    above = [_base(b) for b in by_base.index if lowest[b] >= level]
    if len(below) == len(by_base):
        return text + f"below {level:g} under every base, so the shift is significant either way."
    if len(above) == len(by_base):
        return text + f"{level:g} or above under every base, so the shift is not significant."
    verdict = f"below {level:g} under {', '.join(below) or 'no base'}, not under {', '.join(above)}"
    return text + f"{verdict}: **the conclusion depends on the base**."


def describe_over_time(results: SweepResults) -> str:
    """How the spread and each cohort's total changed from the first as-of date to the last;
    "" with fewer than two dates."""
    figures = robustness.figures_over_time(results)
    if len(figures) < 2:
        return ""
    first, last = figures.index[0], figures.index[-1]
    moves = [
        f"the {cohort} cohort from {usd_bn(figures[column].iloc[0])} to "
        f"{usd_bn(figures[column].iloc[-1])}"
        for cohort in results.cohorts
        if (column := robustness.cohort_column(cohort)) in figures
    ]
    spread = figures[robustness.SPREAD]
    return (
        f"From {first:%Y-%m-%d} to {last:%Y-%m-%d} the spread went from {usd_bn(spread.iloc[0])} "
        f"to {usd_bn(spread.iloc[-1])}; " + ", ".join(moves) + "."
    )


def describe_failures(results: SweepResults, shown: int = 5) -> str:
    """Which combinations failed and why (the first `shown` of them); "" when none did."""
    failed = results.failed
    if failed.empty:
        return ""
    named = "; ".join(
        f"{row.combination} ({row.error.splitlines()[0] if row.error else 'no error given'})"
        for row in failed.head(shown).itertuples()
    )
    more = f"; and {len(failed) - shown} more" if len(failed) > shown else ""
    return (
        f"{len(failed)} of {len(results.combinations)} combinations failed and "
        f"{'has' if len(failed) == 1 else 'have'} no figures: {named}{more}."
    )


def spread_sentences(results: SweepResults) -> list[str]:
    """What the sweep says of the flows: for an as-of sweep how the figures changed over time,
    then whether the spread kept its sign; for a parameter sweep its sign, then its size
    against the baseline (sentences that have nothing to say are left out)."""
    if results.is_as_of_sweep:
        sentences = [describe_over_time(results), describe_spread_sign(results)]
    else:
        sentences = [describe_spread_sign(results), describe_against_baseline(results)]
    return [sentence for sentence in sentences if sentence]


def findings(results: SweepResults, level: float = SIGNIFICANCE) -> list[str]:
    """What the robustness page finds, in generated sentences, for its `findings` cell: the
    spread_sentences, the survey's p-value where the base varies, the failed combinations."""
    sentences = spread_sentences(results)
    if robustness.survey_bases_vary(results):
        sentences.append(describe_p_values(results, level))
    sentences.append(describe_failures(results))
    return [sentence for sentence in sentences if sentence]


def p_values_table(results: SweepResults) -> pd.DataFrame:
    """robustness.p_values_by_base with each base in words ("all respondents")."""
    table = robustness.p_values_by_base(results)
    return table.rename(index=_base)


COMBINATION_LINK = "combination_page"  # the column of each combination's page address
# How the combinations table writes the survey's figures (show.table's `formats`).
TABLE_FORMATS = {robustness.SHIFT: "{:+.1f}", robustness.P_VALUE: p_value_text}


def combinations_table(results: SweepResults) -> pd.DataFrame:
    """One row per combination for show.table (with links={"combination": COMBINATION_LINK}):
    its name, linked to its run's page (<folder>/index.html), its axis values, the cohort totals,
    the spread, the survey's base, shift and p-value, and, when any failed, status and error."""
    table = results.combinations
    figures = [robustness.cohort_column(c) for c in results.cohorts]
    figures += [robustness.SPREAD, robustness.BASE, robustness.SHIFT, robustness.P_VALUE]
    columns = list(dict.fromkeys(["combination", *results.axes, *figures]))
    if not results.failed.empty:
        columns += ["status", "error"]
    shown = table[columns].copy()
    shown[COMBINATION_LINK] = [f"{quote(folder)}/index.html" for folder in table["folder"]]
    return shown


def spread_and_cohorts(results: SweepResults) -> pd.DataFrame:
    """The succeeded combinations' cohort totals and spread (US$), one row per combination
    labelled in the words of its axes, columns named by cohort and SPREAD_LABEL: the data of
    the parameter sweep's dot chart."""
    chosen = results.succeeded
    frame = pd.DataFrame(
        {cohort: chosen[robustness.cohort_column(cohort)] for cohort in results.cohorts}
        | {SPREAD_LABEL: chosen[robustness.SPREAD]}
    )
    frame.index = [results.describe(name) for name in chosen["combination"]]
    return frame


def over_time(results: SweepResults) -> pd.DataFrame:
    """The cohort totals and spread (US$) by as-of date, columns named by cohort and
    SPREAD_LABEL: the data of the as-of sweep's line chart."""
    figures = robustness.figures_over_time(results)
    return pd.DataFrame(
        {cohort: figures[robustness.cohort_column(cohort)] for cohort in results.cohorts}
        | {SPREAD_LABEL: figures[robustness.SPREAD]}
    )
