"""The issuers' files: one download per fund and source, kept as it arrived.

- `ishares`: BlackRock's fund workbook (SpreadsheetML), for every fund with a portfolioId;
- `xtrackers`: the DWS performance export (XLSX);
- `invesco_navs`: Invesco's NAV history (JSON, NAV only);
- `invesco_prices`: Invesco's figures of the day (JSON, a snapshot: shares outstanding only
  build up a history one fetch at a time). Its address needs the fund's CUSIP; while the
  sources file leaves it empty the source is skipped, saying so.

KraneShares (KWEB, KTEC) publishes no history and no figures in a documented format: the sources
file's `not_fetched` says so, and nothing is scraped.
"""

from __future__ import annotations

from helpers.fetch.outcomes import NOT_FETCHED, SKIPPED, SourceOutcome
from helpers.fetch.session import FetchSession, failed_outcome
from helpers.fetch.sources_file import ISSUER_FUND_IDS
from helpers.fetch.transport import SourceFailure
from helpers.paths import FETCH_SOURCES_FILE

# Per source: the format of its file (the manifest's `format`) and the end of its kept name.
ISSUER_FILES = {
    "ishares": ("ishares_workbook", "fund.xls"),
    "xtrackers": ("xtrackers_xlsx", "performance.xlsx"),
    "invesco_navs": ("invesco_navs_json", "navs.json"),
    "invesco_prices": ("invesco_prices_json", "prices.json"),
}


def issuer_outcomes(session: FetchSession, tickers: list[str]) -> list[SourceOutcome]:
    """Fetch every issuer source for the `tickers` it serves (with --check, one fund each)."""
    sources = session.config.sources
    outcomes = []
    for name in ISSUER_FUND_IDS:
        served = [ticker for ticker in tickers if ticker in sources.issuer(name).funds]
        if session.checking:
            served = served[:1]
        client = session.client(name, session.config.user_agent, sources.issuer(name).max_bytes)
        try:
            outcomes += [_fetch_one(session, client, name, ticker) for ticker in served]
        finally:
            client.close()
    outcomes += [
        SourceOutcome(ticker, "issuer", NOT_FETCHED, notes=[session.config.not_fetched[ticker]])
        for ticker in tickers
        if ticker in session.config.not_fetched
    ]
    return outcomes


def _fetch_one(session: FetchSession, client, name: str, ticker: str) -> SourceOutcome:
    source = session.config.sources.issuer(name)
    missing = [key for key, value in source.funds[ticker].items() if not value.strip()]
    if missing:
        where = f"sources.{name}.funds.{ticker}.{missing[0]}"
        return SourceOutcome(
            ticker,
            name,
            SKIPPED,
            notes=[
                f"its address needs the fund's {missing[0]}, which {FETCH_SOURCES_FILE} leaves"
                f" empty ({where}): fill it in from the issuer's fund page to fetch it"
            ],
        )
    file_format, name_end = ISSUER_FILES[name]
    try:
        arrival = session.download_checked(
            client, source.address(ticker), ticker, f"{ticker}_{name_end}", file_format
        )
        return session.keep(name, ticker, arrival)
    except SourceFailure as failure:
        return failed_outcome(ticker, failure)
