"""SEC Form N-PORT for every fund: its monthly sales, reinvestment and redemption.

For each fund: its series id from the SEC's ticker list, the series' filings from EDGAR's
company browse (Atom; a series id works as CIK there), and the `primary_doc.xml` of every
NPORT-P and NPORT-P/A filing not kept yet (filed on or after `reports_from`; a report date
after `--until` is not kept). A filing of another series (a trust's list mixes its series) is
not kept. All SEC requests
share one pacer (at most `requests_per_second`, the SEC's limit being 10) and carry the SEC
User-Agent, a name and an e-mail address; without one, nothing is asked of the SEC and every
fund's N-PORT counts as failed, so that a scheduler sees it.
"""

from __future__ import annotations

import re

from helpers.fetch.arrival_checks import FormatChanged, check_body_kind
from helpers.fetch.outcomes import FAILED, KEPT, UP_TO_DATE, SourceOutcome
from helpers.fetch.sec_indexes import (
    NPORT_FILING_TYPES,
    Filing,
    FundSeries,
    read_filing_list,
    read_fund_tickers,
)
from helpers.fetch.session import FetchSession, failed_outcome
from helpers.fetch.sources_file import SEC_SOURCE, SEC_USER_AGENT_ENV_VAR
from helpers.fetch.transport import SourceClient, SourceFailure
from helpers.paths import FETCH_SOURCES_FILE

NO_USER_AGENT = (
    "not fetched: the SEC requires a User-Agent naming you (or your organisation) and an e-mail"
    f' address; set {SEC_USER_AGENT_ENV_VAR}="Your Name you@example.org" (or sec_user_agent in'
    f" {FETCH_SOURCES_FILE})"
)
_ACCESSION_IN_NAME = re.compile(r"_(\d{10}-\d{2}-\d{6})_")


def sec_outcomes(session: FetchSession, tickers: list[str]) -> list[SourceOutcome]:
    """The N-PORT filings of every fund of `tickers` (with --check, one filing of one fund)."""
    if not tickers:
        return []
    user_agent = session.config.resolved_sec_user_agent()
    if not user_agent:
        return [
            SourceOutcome(ticker, SEC_SOURCE, FAILED, notes=[NO_USER_AGENT]) for ticker in tickers
        ]
    sec = session.config.sources.sec_nport
    client = session.client(SEC_SOURCE, user_agent, sec.max_bytes, sec.requests_per_second)
    try:
        try:
            funds = _fund_series(session, client)
        except SourceFailure as failure:
            return [failed_outcome(ticker, failure) for ticker in tickers]
        chosen = tickers[:1] if session.checking else tickers
        return [_fund_outcome(session, client, funds, ticker) for ticker in chosen]
    finally:
        client.close()


def _fund_series(session: FetchSession, client: SourceClient) -> dict[str, FundSeries]:
    address = session.config.sources.sec_nport.tickers_url
    path = session.download_index(client, address, "company_tickers_mf.json")
    try:
        check_body_kind(path, "json")
        return read_fund_tickers(path)
    except FormatChanged as change:
        raise client.failure(address, f"the ticker list's format changed: {change}") from None


def _fund_outcome(
    session: FetchSession, client: SourceClient, funds: dict[str, FundSeries], ticker: str
) -> SourceOutcome:
    sec = session.config.sources.sec_nport
    series = funds.get(ticker)
    if series is None:
        failure = client.failure(sec.tickers_url, f"{ticker} is not in the SEC's ticker list")
        return failed_outcome(ticker, failure)
    outcome = SourceOutcome(ticker, SEC_SOURCE, UP_TO_DATE)
    report_dates: list[str] = []
    try:
        for filing in _filings_to_fetch(session, client, series):
            report_dates += _fetch_filing(session, client, series, filing, outcome)
    except SourceFailure as failure:
        failed = failed_outcome(ticker, failure)
        failed.counts = outcome.counts
        failed.notes = outcome.notes + _kept_note(report_dates) + failed.notes
        return failed
    if outcome.status == UP_TO_DATE:
        outcome.notes.append("no filing that is not kept already")
    outcome.notes += _kept_note(report_dates)
    return outcome


def _kept_note(report_dates: list[str]) -> list[str]:
    if not report_dates:
        return []
    span = (
        report_dates[0]
        if len(set(report_dates)) == 1
        else f"{min(report_dates)} to {max(report_dates)}"
    )
    return [f"{len(report_dates)} filing(s) kept, report dates {span}"]


def _filings_to_fetch(
    session: FetchSession, client: SourceClient, series: FundSeries
) -> list[Filing]:
    """The series' N-PORT filings not kept yet and filed since `reports_from`, oldest first
    (with --check: the newest filing, kept or not)."""
    sec = session.config.sources.sec_nport
    address = sec.filings_url.format(series_id=series.series_id)
    path = session.download_index(client, address, f"{series.ticker}_filings.xml")
    try:
        check_body_kind(path, "xml")
        listed = read_filing_list(path)
    except FormatChanged as change:
        raise client.failure(address, f"the filing list's format changed: {change}") from None
    nport = sorted(
        (f for f in listed if f.filing_type in NPORT_FILING_TYPES),
        key=lambda f: (f.filing_date, f.accession),
    )
    if session.checking:
        return nport[-1:]
    kept = {
        match.group(1)
        for kept in session.kept_files(SEC_SOURCE, series.ticker)
        if (match := _ACCESSION_IN_NAME.search(kept.file))
    }
    return [
        f
        for f in nport
        if f.accession not in kept
        and (sec.reports_from is None or f.filing_date >= sec.reports_from)
    ]


def _fetch_filing(
    session: FetchSession,
    client: SourceClient,
    series: FundSeries,
    filing: Filing,
    outcome: SourceOutcome,
) -> list[str]:
    """Download one filing's primary_doc.xml, check it, and add what became of it to
    `outcome`; returns its report date if it is to be kept."""
    address = session.config.sources.sec_nport.document_url.format(
        cik=series.cik, accession=filing.accession_folder
    )
    name = f"{series.ticker}_{filing.accession}_primary_doc.xml"
    arrival = session.download_checked(client, address, series.ticker, name, "nport_primary_doc")
    report_date = arrival.checked.as_of
    filed_for = sorted(set(arrival.checked.rows["series_id"]))
    if filed_for != [series.series_id]:
        arrival.download.path.unlink()
        outcome.notes.append(
            f"{filing.accession} is a filing of series {', '.join(filed_for)}, not of"
            f" {series.ticker}'s {series.series_id}: not kept"
        )
        return []
    if report_date > session.until:
        arrival.download.path.unlink()
        outcome.notes.append(
            f"{filing.accession} reports on {report_date}, after {session.until}: not kept"
        )
        return []
    kept = session.keep(SEC_SOURCE, series.ticker, arrival)
    outcome.counts.add(kept.counts)
    outcome.notes += [f"{filing.accession} ({filing.filing_type}): {note}" for note in kept.notes]
    if kept.status == KEPT or session.checking:
        outcome.status = kept.status
    return [report_date.isoformat()] if kept.status == KEPT else []
