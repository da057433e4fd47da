"""Reported flow figures against the flows computed from fund data over the same dates.

A reported figure is a point ("about $X") or a bound ("at most" / "at least $X") for a list of
tickers over a period; its reconciliation says whether the computed flows bear it out, or why
they cannot be computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis.flows import iso_day, rows_in_period
from helpers.tickers import as_tickers

BOUNDS = ("point", "at_most", "at_least")
"""Allowed values of the `bound` column of reported flow figures."""


def reconcile_reported_flows(
    daily: pd.DataFrame, reported: pd.DataFrame, tolerance_pct: float = 1.0
) -> pd.DataFrame:
    """Compare reported flow figures with the flows computed from fund data over the same dates.

    `daily` is the output of `derive_daily_flows`; `reported` has columns figure_id, subject,
    tickers (tuple of tickers; empty if the subject is not a list of tickers), start, end,
    amount_usd and bound ("point", "at_most", "at_least"). Returns `reported` with added columns:

    - `computed_usd`: summed `flow_usd` of the figure's tickers from start to end (both included);
    - `difference_usd` = computed - reported, `difference_pct` = 100 x difference / |reported|;
    - `status`: "within tolerance" / "outside tolerance" (points: |difference_pct| <=
      `tolerance_pct`), "bound holds" / "bound fails" (at_most: computed <= amount; at_least:
      computed >= amount), or "not computable: ..." with the reason (tickers not listed, ticker(s)
      not in data, period outside data, flows missing on some days);
    - `holds`: True/False, pd.NA where not computable.

    A period is covered when each of its tickers has a row on a day before `start` (the base of
    the first day's flow) and a known flow on or after `end`.
    """
    unknown = sorted(set(reported["bound"].dropna()) - set(BOUNDS))
    if unknown:
        raise ValueError(f"bound must be one of {', '.join(BOUNDS)}; got {', '.join(unknown)}")

    listed = {t for tickers in reported["tickers"] for t in as_tickers(tickers)}
    daily = daily[daily["ticker"].isin(listed)]  # only the rows of the figures' tickers
    first_date = daily.groupby("ticker")["date"].min()
    last_flow_date = daily[daily["flow_usd"].notna()].groupby("ticker")["date"].max()

    rows = []
    for figure in reported.itertuples(index=False):
        tickers = as_tickers(figure.tickers)
        start, end = pd.Timestamp(figure.start), pd.Timestamp(figure.end)
        amount = float(figure.amount_usd)
        result = {
            "computed_usd": np.nan,
            "difference_usd": np.nan,
            "difference_pct": np.nan,
            "holds": pd.NA,
        }
        absent = [t for t in tickers if t not in first_date.index]
        if not tickers:
            result["status"] = "not computable: tickers not listed"
        elif absent:
            result["status"] = f"not computable: ticker(s) not in data: {', '.join(absent)}"
        else:
            data_from = first_date[list(tickers)].max()
            data_to = last_flow_date.reindex(list(tickers)).min()
            window = rows_in_period(daily[daily["ticker"].isin(tickers)], start, end)
            n_missing = int(window["flow_usd"].isna().sum())
            if pd.isna(data_to) or not (data_from < start and end <= data_to):
                covered = (
                    f"{iso_day(data_from)} to {iso_day(data_to) if pd.notna(data_to) else '-'}"
                )
                result["status"] = f"not computable: period outside data (data from {covered})"
            elif n_missing:
                result["status"] = f"not computable: flows missing on {n_missing} ticker-day(s)"
            else:
                computed = float(window["flow_usd"].sum())
                difference = computed - amount
                if amount != 0:
                    pct = 100.0 * difference / abs(amount)
                else:
                    pct = 0.0 if difference == 0 else np.inf * np.sign(difference)
                result.update(computed_usd=computed, difference_usd=difference, difference_pct=pct)
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
    out["status"] = added["status"].astype(str) if len(added) else pd.Series(dtype=str)
    out["holds"] = added["holds"].astype("boolean") if len(added) else pd.Series(dtype="boolean")
    return out
