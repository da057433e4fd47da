"""The world a fetch runs in, for tests: a project, a fake clock, and sources served from 127.0.0.1.

`SourceWorld` serves every source of the five core funds in its real format (the builders of
tests/support/source_files.py and sec_index_files.py) with invented numbers, and writes the
sources file that points every address at the server. Tests change what a path answers with
`world.server.script(...)` and re-fetch with the clock moved on.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from sec_index_files import ListedFiling, company_tickers_mf_json, filings_atom
from source_files import (
    invesco_navs_json,
    invesco_prices_json,
    ishares_workbook,
    nport_primary_doc,
    xtrackers_xlsx,
)
from source_server import SourceServer

from helpers.fetch.fetching import fetch_sources
from helpers.fetch.kept_files import MANIFEST_COLUMNS
from helpers.fetch.outcomes import FetchReport
from helpers.fetch.session import FetchClock
from helpers.fetch.sources_file import load_sources_file
from helpers.paths import DEFAULT_LAYOUT
from notebook_pipeline.layout import ProjectLayout

START = dt.datetime(2026, 1, 15, 6, 15, tzinfo=dt.UTC)
SEC_USER_AGENT = "Invented Researcher invented.researcher@example.org"
CORE = ["KWEB", "CQQQ", "MCHI", "FXI", "ASHR"]
DAYS = [dt.date(2025, 12, day) for day in (22, 23, 24, 26, 29)]
CQQQ_CUSIP = "000000C00"
PORTFOLIO_IDS = {"FXI": "900001", "MCHI": "900002"}
# Per fund: (trust CIK, series id), invented.
SERIES = {
    "KWEB": (1000001, "S000000001"),
    "CQQQ": (1000002, "S000000002"),
    "MCHI": (1000003, "S000000003"),
    "FXI": (1000003, "S000000004"),
    "ASHR": (1000004, "S000000005"),
}
# Two quarters of N-PORT per fund: (accession, filed, report date, three months' flows, net assets)
QUARTERS = [
    (dt.date(2025, 5, 28), dt.date(2025, 3, 31)),
    (dt.date(2025, 8, 27), dt.date(2025, 6, 30)),
]


class FakeClock:
    """A clock that moves only when told (or when slept on): a second per reading of `now`, so
    that each download has its own time; `slept` records every wait."""

    def __init__(self, start: dt.datetime = START):
        self.moment = start
        self.seconds = 1000.0
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        self.moment += dt.timedelta(seconds=1)
        return self.moment

    def monotonic(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.seconds += seconds
        self.moment += dt.timedelta(seconds=seconds)

    def advance(self, days: int = 0, seconds: float = 0) -> None:
        self.moment += dt.timedelta(days=days, seconds=seconds)
        self.seconds += days * 86400 + seconds

    def as_fetch_clock(self) -> FetchClock:
        return FetchClock(now=self.now, monotonic=self.monotonic, sleep=self.sleep)


def history(ticker: str, days=DAYS) -> list[tuple[dt.date, float, float]]:
    """Invented (date, NAV, shares) rows: NAV 20 + fund number + day number / 10, shares
    1,000,000 x (fund number + 1) + 10,000 x day number."""
    fund = CORE.index(ticker)
    return [
        (day, round(20 + fund + number / 10, 2), 1_000_000 * (fund + 1) + 10_000 * number)
        for number, day in enumerate(days)
    ]


def month_flows(ticker: str, quarter: int) -> list[tuple[float, float, float]]:
    """Invented (sales, reinvestment, redemption) per month of a quarter."""
    fund = CORE.index(ticker) + 1
    return [
        (1_000_000.0 * fund * (month + 1), 0.0, 500_000.0 * (quarter + 1)) for month in range(3)
    ]


def accession(ticker: str, quarter: int, amendment: int = 0) -> str:
    return f"00099990{CORE.index(ticker):02d}-25-{quarter:03d}{amendment:03d}"


@dataclass
class SourceWorld:
    """The served sources, the project and the clock of one test."""

    server: SourceServer
    project: ProjectLayout
    clock: FakeClock
    config_path: Path
    filings: dict[str, list[ListedFiling]] = field(default_factory=dict)

    # Paths served, per source.
    def ishares_path(self, ticker: str) -> str:
        return f"/ishares/fund-document?portfolioId={PORTFOLIO_IDS[ticker]}&component=fundDownload"

    @staticmethod
    def xtrackers_path(ticker: str) -> str:
        return f"/dws/Export/etf/{ticker}/Performance"

    @staticmethod
    def navs_path(ticker: str) -> str:
        return f"/invesco/shareclasses/{ticker}/navs?idType=ticker"

    @staticmethod
    def prices_path(cusip: str = CQQQ_CUSIP) -> str:
        return f"/invesco/shareclasses/{cusip}/prices?idType=cusip"

    TICKERS_PATH = "/sec/files/company_tickers_mf.json"

    @staticmethod
    def filings_path(ticker: str) -> str:
        return f"/sec/cgi-bin/browse-edgar?CIK={SERIES[ticker][1]}&type=NPORT-P&output=atom"

    @staticmethod
    def document_path(ticker: str, accession_number: str) -> str:
        cik = SERIES[ticker][0]
        return f"/sec/Archives/edgar/data/{cik}/{accession_number.replace('-', '')}/primary_doc.xml"

    def serve_everything(self) -> None:
        """Every source of the five core funds, as on the first fetch."""
        for ticker in PORTFOLIO_IDS:
            self.server.serve(self.ishares_path(ticker), ishares_workbook(history(ticker)))
        self.server.serve(self.xtrackers_path("ASHR"), xtrackers_xlsx("ASHR", history("ASHR")))
        navs = [(day, nav) for day, nav, _ in history("CQQQ")]
        self.server.serve(self.navs_path("CQQQ"), invesco_navs_json(navs))
        self.serve_prices(DAYS[-1])
        self.server.serve(
            self.TICKERS_PATH,
            company_tickers_mf_json(
                [
                    (cik, series, f"C{series[1:]}", ticker)
                    for ticker, (cik, series) in SERIES.items()
                ]
            ),
        )
        for ticker in CORE:
            for quarter, (filed, report_date) in enumerate(QUARTERS):
                self.serve_filing(ticker, quarter, filed, report_date, month_flows(ticker, quarter))

    def serve_prices(self, day: dt.date) -> None:
        """Invesco's figures of `day` for CQQQ."""
        _, nav, shares = next(row for row in history("CQQQ", [*DAYS, day]) if row[0] == day)
        body = invesco_prices_json(
            effective_date=day,
            nav=nav,
            shares_outstanding=shares,
            market_value=nav * shares,
            closing_price=nav + 0.05,
        )
        self.server.serve(self.prices_path(), body)

    def serve_filing(
        self,
        ticker: str,
        quarter: int,
        filed: dt.date,
        report_date: dt.date,
        flows: list[tuple[float, float, float]],
        amendment: int = 0,
    ) -> str:
        """List an N-PORT filing of `ticker` and serve its document; returns its accession."""
        cik, series_id = SERIES[ticker]
        number = accession(ticker, quarter, amendment)
        filing_type = "NPORT-P/A" if amendment else "NPORT-P"
        self.filings.setdefault(ticker, []).append(ListedFiling(number, filed, filing_type, cik))
        self.server.serve(
            self.filings_path(ticker),
            filings_atom(series_id, self.filings[ticker], self.server.url("/sec")),
        )
        document = nport_primary_doc(
            series_id=series_id,
            report_date=report_date,
            fiscal_year_end=dt.date(2025, 12, 31),
            flows=flows,
            net_assets=50_000_000.0 * (CORE.index(ticker) + 1),
            total_assets=51_000_000.0 * (CORE.index(ticker) + 1),
            submission_type=filing_type,
        )
        self.server.serve(self.document_path(ticker, number), document)
        return number

    def write_config(self, **changes) -> Path:
        """The sources file pointing at the server, with `changes` (dotted keys) applied."""
        url = self.server.url
        config = {
            "user_agent": "china-tech-flows tests",
            "sec_user_agent": SEC_USER_AGENT,
            "timeouts": {"connect_seconds": 5, "read_seconds": 5},
            "retries": {"attempts": 2, "backoff_seconds": 1, "max_wait_seconds": 30},
            "sources": {
                "ishares": {
                    "url": url("/ishares/fund-document?portfolioId={portfolio_id}")
                    + "&component=fundDownload",
                    "max_bytes": 1_000_000,
                    "funds": {t: {"portfolio_id": p} for t, p in PORTFOLIO_IDS.items()},
                },
                "xtrackers": {
                    "url": url("/dws/Export/etf/{ticker}/Performance"),
                    "max_bytes": 1_000_000,
                    "funds": {"ASHR": {}},
                },
                "invesco_navs": {
                    "url": url("/invesco/shareclasses/{ticker}/navs?idType=ticker"),
                    "max_bytes": 1_000_000,
                    "funds": {"CQQQ": {}},
                },
                "invesco_prices": {
                    "url": url("/invesco/shareclasses/{cusip}/prices?idType=cusip"),
                    "max_bytes": 100_000,
                    "funds": {"CQQQ": {"cusip": CQQQ_CUSIP}},
                },
                "sec_nport": {
                    "tickers_url": url(self.TICKERS_PATH),
                    "filings_url": url("/sec/cgi-bin/browse-edgar?CIK={series_id}")
                    + "&type=NPORT-P&output=atom",
                    "document_url": url(
                        "/sec/Archives/edgar/data/{cik}/{accession}/primary_doc.xml"
                    ),
                    "max_bytes": 1_000_000,
                    "requests_per_second": 10,
                    "reports_from": "2025-01-01",
                },
            },
            "not_fetched": {"KWEB": "no history published in a documented format"},
        }
        for dotted, value in changes.items():
            *parents, last = dotted.split(".")
            section = config
            for key in parents:
                section = section[key]
            section[last] = value
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return self.config_path

    def fetch(self, tickers=None, **options) -> FetchReport:
        """One fetch with the current sources file, in-process, on the fake clock."""
        config = load_sources_file(self.config_path)
        return fetch_sources(
            self.project,
            config,
            tickers,
            today=self.clock.moment.date(),
            clock=self.clock.as_fetch_clock(),
            **options,
        )

    @property
    def fetched(self) -> Path:
        return self.project.raw_dir / "fetched"

    def manifest(self, source: str) -> pd.DataFrame:
        """A source's manifest as the pipeline reads it (empty when nothing was kept)."""
        path = self.fetched / source / "manifest.csv"
        if not path.exists():
            return pd.DataFrame(columns=MANIFEST_COLUMNS)
        return pd.read_csv(path, dtype=str)

    def kept_files(self) -> set[str]:
        """Every file under data/raw/fetched/ but the manifests, relative to it."""
        return {
            str(path.relative_to(self.fetched))
            for path in self.fetched.rglob("*")
            if path.is_file() and path.name != "manifest.csv"
        }

    def staging_folders(self) -> list[Path]:
        return list((self.project.work_dir / "fetch").glob("staging-*"))


def make_project(folder: Path) -> ProjectLayout:
    """A project holding the core funds of the shipped universe and nothing fetched yet."""
    layout = ProjectLayout(folder)
    layout.raw_dir.mkdir(parents=True)
    universe = DEFAULT_LAYOUT.raw_dir / "etf_universe.csv"
    table = pd.read_csv(universe, dtype=str, keep_default_na=False)
    table[table["core"] == "true"].to_csv(layout.raw_dir / "etf_universe.csv", index=False)
    shutil.copy2(DEFAULT_LAYOUT.pipeline_file, layout.pipeline_file)
    return layout
