"""The SEC's index files as EDGAR serves them, filled with invented ids: the ticker list
(`company_tickers_mf.json`) and a series' filing list (EDGAR's company browse in Atom)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class ListedFiling:
    """One filing of a filing list."""

    accession: str  # 0000000000-00-000000
    filing_date: dt.date
    filing_type: str = "NPORT-P"
    cik: int = 1


def company_tickers_mf_json(rows: Sequence[tuple[int, str, str, str]]) -> bytes:
    """The ticker list: `{"fields": ["cik", "seriesId", "classId", "symbol"], "data": [...]}`,
    one row (cik, seriesId, classId, symbol) per share class, cik a JSON number."""
    body = {"fields": ["cik", "seriesId", "classId", "symbol"], "data": [list(r) for r in rows]}
    return json.dumps(body).encode("utf-8")


def filings_atom(series_id: str, filings: Sequence[ListedFiling], base_url: str) -> bytes:
    """EDGAR's company browse answer in Atom (`output=atom`): a feed with the filer's details
    and one entry per filing, newest first, whose <content type="text/xml"> holds
    accession-number, act, file-number, filing-date, filing-href (the filing's -index.htm under
    `base_url`/Archives/edgar/data/<cik>/<accession without dashes>/), filing-type, film-number,
    form-name and size, in the feed's default namespace."""
    entries = []
    for filing in sorted(filings, key=lambda f: (f.filing_date, f.accession), reverse=True):
        folder = filing.accession.replace("-", "")
        href = f"{base_url}/Archives/edgar/data/{filing.cik}/{folder}/{filing.accession}-index.htm"
        entries.append(
            f"""<entry>
<category label="form type" scheme="https://www.sec.gov/" term="{escape(filing.filing_type)}"/>
<content type="text/xml">
<accession-number>{filing.accession}</accession-number>
<act>40</act>
<file-number>811-00000</file-number>
<filing-date>{filing.filing_date.isoformat()}</filing-date>
<filing-href>{escape(href)}</filing-href>
<filing-type>{escape(filing.filing_type)}</filing-type>
<film-number>250000000</film-number>
<form-name>Monthly Portfolio Investments Report</form-name>
<size>120 KB</size>
</content>
<id>urn:tag:sec.gov,2008:accession-number={filing.accession}</id>
<link href="{escape(href)}" rel="alternate" type="text/html"/>
<summary type="html">Filed: {filing.filing_date.isoformat()}</summary>
<title>{escape(filing.filing_type)} - Monthly Portfolio Investments Report</title>
<updated>{filing.filing_date.isoformat()}T16:00:00-04:00</updated>
</entry>"""
        )
    text = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<feed xmlns="http://www.w3.org/2005/Atom">
<author><email>webmaster@sec.gov</email><name>Webmaster</name></author>
<company-info>
<cik>{escape(series_id)}</cik>
<conformed-name>Invented ETF Trust</conformed-name>
</company-info>
<id>urn:tag:sec.gov,2008:company={escape(series_id)}</id>
<title>Invented ETF Trust</title>
<updated>2026-01-01T00:00:00-05:00</updated>
{chr(10).join(entries)}
</feed>
"""
    return text.encode("iso-8859-1")
