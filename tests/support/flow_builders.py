"""Hand-made daily flows and N-PORT months for the tests of the canonical flows table, the
cross-check and coverage: every daily history adds 100 shares a NYSE trading day at a NAV of 10,
so it takes in +1,000 a day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.ingest import market_calendar
from helpers.ingest.daily_flows import derive_daily_flows
from helpers.ingest.fund_flows import no_nport_months

DAY_FLOW = 1_000.0


def history(ticker: str, first: str, last: str, kind: str = "issuer") -> pd.DataFrame:
    """A daily history on every NYSE session from `first` to `last` (the first is the base)."""
    days = market_calendar.trading_sessions(first, last)
    return pd.DataFrame(
        {
            "date": days,
            "ticker": ticker,
            "nav": 10.0,
            "shares_outstanding": 1_000.0 + 100.0 * np.arange(len(days)),
            "source": f"{ticker} issuer file",
            "source_kind": kind,
            "source_address": f"https://issuer.example/{ticker}",
        }
    )


def daily_of(*histories: pd.DataFrame) -> pd.DataFrame:
    return derive_daily_flows(pd.concat(histories, ignore_index=True))


def nport(ticker: str, months: dict[str, float]) -> pd.DataFrame:
    """N-PORT months of `ticker`: month ("2025-01") -> net flow (sales; no reinvestment or
    redemption)."""
    rows = [
        {
            "ticker": ticker,
            "series_id": "S000000001",
            "report_date": pd.Period(month, "M").end_time.normalize(),
            "submission_type": "NPORT-P",
            "month_start": pd.Period(month, "M").start_time,
            "month_end": pd.Period(month, "M").end_time.normalize(),
            "sales_usd": flow,
            "reinvestment_usd": 0.0,
            "redemption_usd": 0.0,
            "flow_usd": flow,
            "net_assets_usd": 5e6,
            "source": "SEC Form N-PORT",
            "source_kind": "sec_nport",
            "source_address": "https://www.sec.gov/Archives/x/primary_doc.xml",
        }
        for month, flow in months.items()
    ]
    return pd.concat([no_nport_months(), pd.DataFrame(rows)], ignore_index=True)


def sessions_in(month: str, until: str | None = None) -> int:
    period = pd.Period(month, "M")
    return len(
        market_calendar.trading_sessions(period.start_time, until or period.end_time.normalize())
    )
