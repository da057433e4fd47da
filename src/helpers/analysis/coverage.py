"""Whether the flows of some tickers over some dates can be computed, and at which resolution.

A figure over a period is computed from the daily flows when every ticker's daily data cover
the period: a row before its first day (the base of the first flow) and a flow on or after its
last, with no day missing a flow. Where they do not, it is computed from the canonical flows
table (helpers.ingest.fund_flows) when the period is whole calendar months and each of its
months has, for every ticker, an N-PORT month or daily rows covering the whole month. A period
that is not whole months, for a fund whose data are monthly there, is "not computable at
monthly resolution".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from helpers.analysis.flows import iso_day, rows_in_period
from helpers.ingest.fund_flows import daily_months

DAILY = "daily"
MONTHLY = "monthly"
NOT_AT_MONTHLY = "not computable at monthly resolution"


def whole_months(start, end) -> bool:
    """True when `start` is the first day of a month and `end` the last day of one."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    return start.day == 1 and end == end + pd.offsets.MonthEnd(0)


@dataclass
class FlowCoverage:
    """What the flow data of a set of tickers cover: built once (`of`), asked per figure."""

    daily: pd.DataFrame  # the daily flows of the tickers asked about
    first_date: pd.Series  # per ticker: its first daily row
    last_flow_date: pd.Series  # per ticker: its last daily row with a flow
    fund_flows: pd.DataFrame  # the canonical flows of the tickers asked about
    covered_months: pd.Series  # per ticker: the set of whole months the canonical table covers

    @classmethod
    def of(
        cls, daily: pd.DataFrame, fund_flows: pd.DataFrame, tickers: Sequence[str]
    ) -> FlowCoverage:
        """The coverage of `tickers` in the daily flows and the canonical flows table."""
        daily = daily[daily["ticker"].isin(list(tickers))]
        fund_flows = fund_flows[fund_flows["ticker"].isin(list(tickers))]
        monthly = fund_flows[fund_flows["resolution"] == MONTHLY]
        months = daily_months(daily)
        covered = pd.concat(
            [
                pd.DataFrame({"ticker": monthly["ticker"], "month": monthly["period_start"]}),
                months.loc[months["complete"], ["ticker", "month"]].assign(
                    month=lambda t: t["month"].dt.start_time
                ),
            ]
        )
        return cls(
            daily,
            daily.groupby("ticker")["date"].min(),
            daily[daily["flow_usd"].notna()].groupby("ticker")["date"].max(),
            fund_flows,
            covered.groupby("ticker")["month"].agg(set),
        )

    def daily_gap(self, tickers: Sequence[str], start, end) -> str:
        """Why the daily flows cannot give these tickers' flow from `start` to `end` ("" when
        they can): the status a reconciliation shows."""
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        absent = [t for t in tickers if t not in self.first_date.index]
        if absent:
            return f"not computable: ticker(s) not in data: {', '.join(absent)}"
        data_from = self.first_date[list(tickers)].max()
        data_to = self.last_flow_date.reindex(list(tickers)).min()
        if pd.isna(data_to) or not (data_from < start and end <= data_to):
            covered = f"{iso_day(data_from)} to {iso_day(data_to) if pd.notna(data_to) else '-'}"
            return f"not computable: period outside data (data from {covered})"
        window = rows_in_period(self.daily[self.daily["ticker"].isin(tickers)], start, end)
        missing = int(window["flow_usd"].isna().sum())
        return f"not computable: flows missing on {missing} ticker-day(s)" if missing else ""

    def monthly_gap(self, tickers: Sequence[str], start, end) -> str:
        """Why the canonical table cannot give these tickers' flow over whole months from
        `start` to `end` ("" when it can)."""
        if not whole_months(start, end):
            return NOT_AT_MONTHLY
        months = set(pd.period_range(start, end, freq="M").start_time)
        missing = {
            ticker: sorted(months - self.covered_months.get(ticker, set())) for ticker in tickers
        }
        listed = [
            f"{ticker} {', '.join(f'{m:%b %Y}' for m in gaps)}"
            for ticker, gaps in missing.items()
            if gaps
        ]
        return f"not computable: months without data: {'; '.join(listed)}" if listed else ""

    def resolution(self, tickers: Sequence[str], start, end) -> tuple[str, str]:
        """The resolution these tickers' flow from `start` to `end` is computed at ("daily" or
        "monthly", with ""), or "" with why it cannot be computed."""
        daily_gap = self.daily_gap(tickers, start, end)
        if not daily_gap:
            return DAILY, ""
        anywhere = {*self.first_date.index, *self.fund_flows["ticker"].unique()}
        absent = [t for t in tickers if t not in anywhere]
        if absent:
            return "", f"not computable: ticker(s) not in data: {', '.join(absent)}"
        overlapping = self.fund_flows[
            self.fund_flows["ticker"].isin(tickers)
            & (self.fund_flows["resolution"] == MONTHLY)
            & (self.fund_flows["period_start"] <= pd.Timestamp(end))
            & (self.fund_flows["period_end"] >= pd.Timestamp(start))
        ]
        if overlapping.empty:
            monthly_only = [t for t in tickers if t not in self.first_date.index and t in anywhere]
            if monthly_only:
                return "", (
                    f"not computable: no daily data for {', '.join(monthly_only)}, and no N-PORT "
                    "month within these dates"
                )
            return "", daily_gap
        monthly_gap = self.monthly_gap(tickers, start, end)
        return ("", monthly_gap) if monthly_gap else (MONTHLY, "")

    def rows(self, tickers: Sequence[str], start, end, resolution: str) -> pd.DataFrame:
        """The flows of `tickers` from `start` to `end` at `resolution` (from `resolution`)."""
        table = self.daily if resolution == DAILY else self.fund_flows
        return rows_in_period(table[table["ticker"].isin(tickers)], start, end)
