"""A project whose fund data are real-format files: the downloads of `chinaflows fetch` in their
layout, with manifests (the iShares workbooks of FXI and MCHI, the Xtrackers export of ASHR,
Invesco's NAV history and three daily snapshots of CQQQ, an N-PORT filing of FXI), and KWEB's
N-PORT filing saved by hand. Every number is invented; test_real_data_run.py works the flows out
by hand from the rows written here.

Its run is shared (the session fixture `real_data_run` in conftest.py, started as the session
starts) and starts from the published run's step store (project_runs.seed_from_published_run).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import source_files
from built_once import process_to_json
from fetched_layout import keep_download
from project_runs import run, seed_from_published_run

from helpers.paths import USER_FLOWS_DIR, copy_project_inputs

FETCHED_AT = dt.datetime(2025, 4, 5, 6, 30)
# NYSE holidays and closures from the base day to the last day (written out by hand)
CLOSED = ["2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17"]
DAYS = [
    d.date() for d in pd.bdate_range("2024-12-31", "2025-04-04") if f"{d:%Y-%m-%d}" not in CLOSED
]
AS_OF = "2025-04-04"
SNAPSHOT_DAYS = DAYS[-4:]  # CQQQ's shares are known on the last four days only (1 to 4 April)


def history(first_shares: float, step: int, nav: float) -> list[tuple[dt.date, float, float]]:
    """(day, NAV, shares): shares move by step x (1, 2 or 3) a day, the NAV by a cent a day."""
    rows, shares = [], first_shares
    for number, day in enumerate(DAYS):
        if number:
            shares += step * (number % 3 + 1)
        rows.append((day, round(nav + number / 100, 2), shares))
    return rows


def flow_by_hand(rows, since: dt.date = dt.date(2025, 1, 1)) -> float:
    """Change in shares x the day's NAV, summed over the days from `since`."""
    return sum(
        (shares - previous) * nav
        for (_, _, previous), (day, nav, shares) in zip(rows, rows[1:], strict=False)
        if day >= since
    )


def by_month(rows) -> list[float]:
    """The flows of January, February and March, by hand (N-PORT's three months)."""
    months = [dt.date(2025, m, 1) for m in (1, 2, 3, 4)]
    return [
        flow_by_hand(rows, start) - flow_by_hand(rows, end)
        for start, end in zip(months, months[1:], strict=False)
    ]


FXI = history(5_000_000, -2_000, 30.0)
MCHI = history(3_000_000, 1_500, 50.0)
ASHR = history(4_000_000, -1_000, 25.0)
CQQQ = history(2_000_000, 700, 40.0)  # NAVs every day; shares on the snapshot days only
KWEB_MONTHS = [(9e6, 1e6, 4e6), (2e6, 0.0, 5e6), (12e6, 0.5e6, 1.5e6)]  # sales, reinv., redemption


def nport(series_id: str, flows, net_assets: float) -> bytes:
    return source_files.nport_primary_doc(
        series_id=series_id,
        report_date=dt.date(2025, 3, 31),
        fiscal_year_end=dt.date(2025, 12, 31),
        flows=flows,
        net_assets=net_assets,
        total_assets=net_assets * 1.01,
    )


def place_fund_data(raw: Path) -> None:
    def keep(source, ticker, name, content, **kept):
        keep_download(raw, source, ticker, name, content, FETCHED_AT, **kept)

    keep("ishares", "FXI", "FXI_fund.xls", source_files.ishares_workbook(FXI))
    keep("ishares", "MCHI", "MCHI_fund.xls", source_files.ishares_workbook(MCHI))
    keep("xtrackers", "ASHR", "ASHR_Performance.xlsx", source_files.xtrackers_xlsx("ASHR", ASHR))
    navs = [(day, nav) for day, nav, _ in CQQQ]
    keep("invesco_navs", "CQQQ", "CQQQ_navs.json", source_files.invesco_navs_json(navs))
    for day, nav, shares in CQQQ[-len(SNAPSHOT_DAYS) :]:
        snapshot = source_files.invesco_prices_json(
            effective_date=day, nav=nav, shares_outstanding=shares,
            market_value=nav * shares, closing_price=nav,
        )  # fmt: skip
        moment = dt.datetime.combine(day, dt.time(22))
        keep_download(raw, "invesco_prices", "CQQQ", "CQQQ_prices.json", snapshot, moment)
    # FXI's own N-PORT filing, month by month what its daily flows sum to (all sales or all
    # redemptions), for the cross-check
    fxi_months = [(max(f, 0.0), 0.0, max(-f, 0.0)) for f in by_month(FXI)]
    fxi_filing = nport("S000000011", fxi_months, 1.4e8)
    keep("sec_nport", "FXI", "FXI_0000000000-25-000001_primary_doc.xml", fxi_filing)
    (raw / USER_FLOWS_DIR / "KWEB_primary_doc.xml").write_bytes(
        nport("S000000022", KWEB_MONTHS, 6e9)
    )


def build_real_data_run(folder: Path) -> dict:
    """A copy of the project in `folder` with the fund data above in place, and its
    `chinaflows run` (as built_once's `build` returns them)."""
    project = copy_project_inputs(folder / "project")
    place_fund_data(project / "data" / "raw")
    seed_from_published_run(folder, project)
    return {"project": str(project), "result": process_to_json(run(project))}
