"""Reported flow figures against the flows computed from fund data over the same dates.

A reported figure is a point ("about $X") or a bound ("at most" / "at least $X") for a list of
tickers over a period; its reconciliation says whether the computed flows bear it out, or why
they cannot be computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis.coverage import FlowCoverage
from helpers.ingest.crosscheck import percent_difference
from helpers.ingest.fund_flows import no_fund_flows
from helpers.tickers import as_tickers

BOUNDS = ("point", "at_most", "at_least")
"""Allowed values of the `bound` column of reported flow figures."""


def reconcile_reported_flows(
    daily: pd.DataFrame,
    reported: pd.DataFrame,
    tolerance_pct: float = 1.0,
    fund_flows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compare reported flow figures with the flows computed from fund data over the same dates.

    `daily` is the daily flows table (`derive_daily_flows`), `fund_flows` the canonical flows
    table at both resolutions (helpers.ingest.fund_flows; None: the daily flows are all there
    is); `reported` has columns figure_id,
    subject, tickers (tuple of tickers; empty if the subject is not a list of tickers), start,
    end, amount_usd and bound ("point", "at_most", "at_least"). Returns `reported` with added
    columns:

    - `computed_usd`: summed `flow_usd` of the figure's tickers from start to end (both
      included), at the resolution in `resolution`: daily where the daily flows cover the dates,
      else monthly where the dates are whole months that N-PORT (or whole months of daily data)
      cover (helpers.analysis.coverage);
    - `difference_usd` = computed - reported, `difference_pct` = 100 x difference / |reported|;
    - `status`: "within tolerance" / "outside tolerance" (points: |difference_pct| <=
      `tolerance_pct`), "bound holds" / "bound fails" (at_most: computed <= amount; at_least:
      computed >= amount), or why it cannot be computed: "not computable: ..." (tickers not
      listed, ticker(s) not in data, period outside data, flows missing on some days, months
      without data) or "not computable at monthly resolution" (dates that are not whole months,
      for a fund with only monthly data there);
    - `holds`: True/False, pd.NA where not computable.

    A period is covered at daily resolution when each of its tickers has a row on a day before
    `start` (the base of the first day's flow) and a known flow on or after `end`.
    """
    unknown = sorted(set(reported["bound"].dropna()) - set(BOUNDS))
    if unknown:
        raise ValueError(f"bound must be one of {', '.join(BOUNDS)}; got {', '.join(unknown)}")

    listed = {t for tickers in reported["tickers"] for t in as_tickers(tickers)}
    fund_flows = no_fund_flows() if fund_flows is None else fund_flows
    coverage = FlowCoverage.of(daily, fund_flows, sorted(listed))

    rows = []
    for figure in reported.itertuples(index=False):
        tickers = list(as_tickers(figure.tickers))
        amount = float(figure.amount_usd)
        result = {
            "computed_usd": np.nan,
            "difference_usd": np.nan,
            "difference_pct": np.nan,
            "resolution": "",
            "holds": pd.NA,
        }
        resolution, why_not = (
            coverage.resolution(tickers, figure.start, figure.end)
            if tickers
            else ("", "not computable: tickers not listed")
        )
        if not resolution:
            result["status"] = why_not
        else:
            window = coverage.rows(tickers, figure.start, figure.end, resolution)
            computed = float(window["flow_usd"].sum())
            difference = computed - amount
            pct = float(percent_difference(pd.Series([difference]), pd.Series([amount])).iloc[0])
            result.update(
                computed_usd=computed,
                difference_usd=difference,
                difference_pct=pct,
                resolution=resolution,
            )
            if figure.bound == "point":
                holds = bool(abs(pct) <= tolerance_pct)
                result["status"] = "within tolerance" if holds else "outside tolerance"
            else:
                holds = computed <= amount if figure.bound == "at_most" else computed >= amount
                holds = bool(holds)
                result["status"] = "bound holds" if holds else "bound fails"
            result["holds"] = holds
        rows.append(result)

    added = pd.DataFrame(rows, index=reported.index)
    out = reported.copy()
    for column in ("computed_usd", "difference_usd", "difference_pct"):
        out[column] = added[column].astype("float64")
    for column in ("resolution", "status"):
        out[column] = added[column].astype(str) if len(added) else pd.Series(dtype=str)
    out["holds"] = added["holds"].astype("boolean") if len(added) else pd.Series(dtype="boolean")
    return out
