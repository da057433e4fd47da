"""Files exactly as the real fund-data sources send them, filled with numbers the test invents.

Each builder returns the bytes a download (or a "Save as" by hand) would give, in the format the
source uses, as far as it is publicly known: the iShares fund workbook, the Xtrackers performance
export, Invesco's NAV-history and prices JSON, an SEC N-PORT filing (primary_doc.xml), the page
the SEC sends when it throttles a client, and a web page a server sends with status 200. Tests of
the readers, of `fetch` and of the pipeline write these bytes to a folder or serve them from
127.0.0.1. No number here comes from a real fund.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

HistoryRow = tuple[dt.date, float, float]  # (date, NAV per share, shares outstanding)
NavRow = tuple[dt.date, float]  # (date, NAV per share)
MonthFlow = tuple[float, float, float]  # (sales, reinvestment, redemption) in US dollars

SPREADSHEETML_NS = "urn:schemas-microsoft-com:office:spreadsheet"
NPORT_NS = "http://www.sec.gov/edgar/nport"
_NPORT_PREFIXES = (
    'xmlns:com="http://www.sec.gov/edgar/common"'
    ' xmlns:ncom="http://www.sec.gov/edgar/nportcommon"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
ISHARES_HISTORICAL_HEADER = (
    "As Of",
    "NAV per Share",
    "Ex-Dividends",
    "Shares Outstanding",
    "Non-FV NAV",
)
XTRACKERS_HEADER = ("Date", "NAV", "AUM", "Outstanding Shares", "Dividends Paid")
# A link as the fund page writes it in the workbook: its query string joins parameters with a
# bare "&", which makes the file XML that is not well-formed.
_ISHARES_LINK = (
    "https://www.ishares.example/us/products/000000/fund?switchLocale=y&siteEntryPassthrough=true"
)


def _month_day_year(day: dt.date) -> str:
    """'Aug 24, 2026', 'Jan 2, 2026': iShares' way of writing a date (day not zero-padded)."""
    return f"{day:%b} {day.day}, {day.year}"


def _ss_cell(value: object, *, style: str = "", index: int | None = None, href: str = "") -> str:
    """One <ss:Cell> with its <ss:Data>: numbers typed Number, the rest String."""
    attributes = ""
    if index is not None:
        attributes += f' ss:Index="{index}"'
    if style:
        attributes += f' ss:StyleID="{style}"'
    if href:
        attributes += f' ss:HRef="{href}"'  # written as is: the caller decides on escaping
    kind = "Number" if isinstance(value, int | float) else "String"
    text = repr(value) if isinstance(value, float) else str(value)
    return f'<ss:Cell{attributes}><ss:Data ss:Type="{kind}">{escape(text)}</ss:Data></ss:Cell>'


def _ss_row(cells: Sequence[str]) -> str:
    return "<ss:Row>" + "".join(cells) + "</ss:Row>"


def _ss_sheet(name: str, rows: Sequence[str]) -> str:
    return (
        f"<ss:Worksheet ss:Name={quoteattr(name)}>\n<ss:Table>\n"
        + "\n".join(rows)
        + "\n</ss:Table>\n</ss:Worksheet>"
    )


def ishares_workbook(
    rows: Sequence[HistoryRow],
    *,
    fund_name: str = "iShares Invented China ETF",
    bom: bool = True,
    bare_ampersand: bool = True,
) -> bytes:
    """The iShares fund workbook (the ".xls" download): SpreadsheetML 2003 XML.

    Reproduces: a leading UTF-8 byte-order mark (`bom`); every element written with the `ss:`
    prefix (`<ss:Workbook xmlns:ss=...>`, `<ss:Worksheet ss:Name=...>`, `<ss:Table>`,
    `<ss:Row>`, `<ss:Cell ss:StyleID=...>`, `<ss:Data ss:Type="String">`); the sheets Holdings,
    Historical, Performance and Distributions in that order; a link cell whose `ss:HRef` holds a
    bare "&" (`bare_ampersand`; not well-formed XML), in the title rows of Holdings and
    Performance; the Historical header exactly "As Of, NAV per Share, Ex-Dividends, Shares
    Outstanding, Non-FV NAV"; its rows newest first whatever the order of `rows`; dates written
    "Aug 24, 2026"; NAVs as Number cells; shares outstanding a whole count; "--" where a value
    is missing (Ex-Dividends on most days, and Non-FV NAV); sparse rows, where every third row
    leaves out its Ex-Dividends cell and the next cell says `ss:Index="4"`.

    `rows`: (date, NAV per share, shares outstanding).
    """
    link = _ISHARES_LINK if bare_ampersand else escape(_ISHARES_LINK)
    newest = max(day for day, *_ in rows)
    title = [
        _ss_row([_ss_cell(fund_name, style="s21", href=link)]),
        _ss_row([_ss_cell("Fund Holdings as of"), _ss_cell(_month_day_year(newest))]),
    ]
    holdings = [
        *title,
        _ss_row([]),
        _ss_row([_ss_cell(h, style="s22") for h in ("Ticker", "Name", "Weight (%)")]),
        _ss_row([_ss_cell("AAAA"), _ss_cell("INVENTED HOLDING A LTD"), _ss_cell(9.5)]),
        _ss_row([_ss_cell("BBBB"), _ss_cell("INVENTED S&P HOLDING B"), _ss_cell(7.25)]),
    ]
    historical = [_ss_row([_ss_cell(h, style="s22") for h in ISHARES_HISTORICAL_HEADER])]
    for number, (day, nav, shares) in enumerate(sorted(rows, key=lambda r: r[0], reverse=True)):
        cells = [_ss_cell(_month_day_year(day)), _ss_cell(float(nav), style="s23")]
        if number % 3 == 2:  # sparse: the empty Ex-Dividends cell is left out
            cells.append(_ss_cell(int(round(shares)), index=4))
        else:
            cells += [_ss_cell("--"), _ss_cell(int(round(shares)))]
        cells.append(_ss_cell("--"))
        historical.append(_ss_row(cells))
    performance = [
        _ss_row([_ss_cell("Performance", href=link)]),
        _ss_row([_ss_cell(h) for h in ("Period", "NAV Total Return (%)")]),
        _ss_row([_ss_cell("1 Year"), _ss_cell(12.5)]),
    ]
    distributions = [
        _ss_row([_ss_cell(h) for h in ("Ex-Date", "Total Distribution")]),
        _ss_row([_ss_cell("Dec 17, 2025"), _ss_cell(0.5)]),
    ]
    sheets = {
        "Holdings": holdings,
        "Historical": historical,
        "Performance": performance,
        "Distributions": distributions,
    }
    text = (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        f'<ss:Workbook xmlns:ss="{SPREADSHEETML_NS}">\n'
        '<ss:Styles><ss:Style ss:ID="Default"/><ss:Style ss:ID="s21"/>'
        '<ss:Style ss:ID="s22"/><ss:Style ss:ID="s23"/></ss:Styles>\n'
        + "\n".join(_ss_sheet(name, sheet_rows) for name, sheet_rows in sheets.items())
        + "\n</ss:Workbook>\n"
    )
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def xtrackers_xlsx(ticker: str, rows: Sequence[HistoryRow], *, serial_dates: bool = True) -> bytes:
    """The Xtrackers (DWS) performance export: an XLSX workbook written by openpyxl.

    Reproduces: a row `Ticker:`, `<ticker>` above the header; the header "Date, NAV, AUM,
    Outstanding Shares, Dividends Paid"; rows oldest first; AUM = NAV x shares in US dollars;
    "Dividends Paid" 0; dates as Excel serial numbers in plain number cells (1900 date system,
    no date format, as an export that lost its formatting shows them) or, with
    `serial_dates=False`, as text "mm/dd/yyyy".

    `rows`: (date, NAV per share, shares outstanding).
    """
    import openpyxl
    from openpyxl.utils.datetime import to_excel

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Performance"
    sheet.append(["Ticker:", ticker])
    sheet.append(list(XTRACKERS_HEADER))
    for day, nav, shares in sorted(rows, key=lambda r: r[0]):
        midnight = dt.datetime.combine(day, dt.time())
        when = int(to_excel(midnight)) if serial_dates else f"{day:%m/%d/%Y}"
        sheet.append([when, float(nav), round(float(nav) * shares, 2), int(round(shares)), 0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def invesco_navs_json(rows: Sequence[NavRow], *, shape: str = "list") -> bytes:
    """Invesco's NAV history (the `navs` answer of its product API): JSON, NAV only.

    Reproduces the two shapes seen: `shape="list"`, a list of
    `{"effectiveDate": "YYYY-MM-DD", "netAssetValue": n}` newest first; `shape="line_chart"`,
    `{"lineChartData": [{"name": "NAV", "data": [{"date": "YYYY-MM-DD", "value": n}]}]}` oldest
    first. No shares outstanding: Invesco publishes no history of them.

    `rows`: (date, NAV per share).
    """
    if shape == "list":
        newest_first = sorted(rows, key=lambda r: r[0], reverse=True)
        body: object = [
            {"effectiveDate": day.isoformat(), "netAssetValue": float(nav)}
            for day, nav in newest_first
        ]
    elif shape == "line_chart":
        points = [{"date": day.isoformat(), "value": float(nav)} for day, nav in sorted(rows)]
        body = {"lineChartData": [{"name": "NAV", "data": points}]}
    else:
        raise ValueError(f"shape must be 'list' or 'line_chart', not {shape!r}")
    return json.dumps(body).encode("utf-8")


def invesco_prices_json(
    *,
    effective_date: dt.date,
    nav: float,
    shares_outstanding: float,
    market_value: float,
    closing_price: float,
) -> bytes:
    """Invesco's prices answer (today's figures for a share class): one JSON object.

    Reproduces the keys `effectiveDate` ("YYYY-MM-DD"), `nav`, `marketValue`,
    `sharesOutstanding` and `closingPrice`, numbers as JSON numbers.
    """
    body = {
        "effectiveDate": effective_date.isoformat(),
        "nav": float(nav),
        "marketValue": float(market_value),
        "sharesOutstanding": float(shares_outstanding),
        "closingPrice": float(closing_price),
    }
    return json.dumps(body).encode("utf-8")


def _amount(value: float) -> str:
    return f"{value:.2f}"


def nport_primary_doc(
    *,
    series_id: str,
    report_date: dt.date,
    fiscal_year_end: dt.date,
    flows: Sequence[MonthFlow],
    net_assets: float,
    total_assets: float,
    submission_type: str = "NPORT-P",
    reg_cik: str = "0000000001",
    series_name: str = "Invented China Internet ETF",
) -> bytes:
    """An SEC Form N-PORT filing as EDGAR serves it (`primary_doc.xml`).

    Reproduces: the root `edgarSubmission` in the namespace http://www.sec.gov/edgar/nport (the
    default namespace, with the `com` and `ncom` prefixes declared as EDGAR does);
    `headerData` (`submissionType`, `isConfidential`, `filerInfo` with the filer's CIK and the
    series and class ids); `formData/genInfo` with the registrant's name, file number, CIK,
    LEI and address, `seriesName`, `seriesId`, `seriesLei`, `repPdEnd` (fiscal year end),
    `repPdDate` (the date reported on) and `isFinalFiling`; `formData/fundInfo` with `totAssets`,
    `totLiabs`, `netAssets`, further balance-sheet items, `returnInfo`, then `mon1Flow`,
    `mon2Flow`, `mon3Flow`, each an empty element whose attributes `redemption`,
    `reinvestment` and `sales` are US dollars with two decimals; then `invstOrSecs` (one
    holding) and `signature`.

    `flows`: three (sales, reinvestment, redemption) tuples, for mon1Flow, mon2Flow, mon3Flow.
    """
    if len(flows) != 3:
        raise ValueError(f"flows must hold three months, not {len(flows)}")
    month_flows = "\n".join(
        f'      <mon{number}Flow redemption="{_amount(redemption)}"'
        f' reinvestment="{_amount(reinvestment)}" sales="{_amount(sales)}"/>'
        for number, (sales, reinvestment, redemption) in enumerate(flows, start=1)
    )
    liabilities = total_assets - net_assets
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<edgarSubmission xmlns="{NPORT_NS}" {_NPORT_PREFIXES}>
  <headerData>
    <submissionType>{escape(submission_type)}</submissionType>
    <isConfidential>false</isConfidential>
    <filerInfo>
      <filer>
        <issuerCredentials>
          <cik>{escape(reg_cik)}</cik>
          <ccc>XXXXXXXX</ccc>
        </issuerCredentials>
      </filer>
      <seriesClassInfo>
        <seriesId>{escape(series_id)}</seriesId>
        <classId>C000000001</classId>
      </seriesClassInfo>
    </filerInfo>
  </headerData>
  <formData>
    <genInfo>
      <regName>Invented ETF Trust</regName>
      <regFileNumber>811-00000</regFileNumber>
      <regCik>{escape(reg_cik)}</regCik>
      <regLei>00000000000000000000</regLei>
      <regStreet1>1 Invented Street</regStreet1>
      <regCity>New York</regCity>
      <regStateConditional regCountry="US" regState="US-NY"/>
      <regZipOrPostalCode>10000</regZipOrPostalCode>
      <regPhone>000-000-0000</regPhone>
      <seriesName>{escape(series_name)}</seriesName>
      <seriesId>{escape(series_id)}</seriesId>
      <seriesLei>00000000000000000001</seriesLei>
      <repPdEnd>{fiscal_year_end.isoformat()}</repPdEnd>
      <repPdDate>{report_date.isoformat()}</repPdDate>
      <isFinalFiling>N</isFinalFiling>
    </genInfo>
    <fundInfo>
      <totAssets>{_amount(total_assets)}</totAssets>
      <totLiabs>{_amount(liabilities)}</totLiabs>
      <netAssets>{_amount(net_assets)}</netAssets>
      <assetsAttrMiscSec>0.00</assetsAttrMiscSec>
      <assetsInvested>0.00</assetsInvested>
      <amtPayOneYrBanksBorr>0.00</amtPayOneYrBanksBorr>
      <amtPayOneYrCtrldComp>0.00</amtPayOneYrCtrldComp>
      <amtPayOneYrOthAffil>0.00</amtPayOneYrOthAffil>
      <amtPayOneYrOther>{_amount(liabilities)}</amtPayOneYrOther>
      <amtPayAftOneYrBanksBorr>0.00</amtPayAftOneYrBanksBorr>
      <amtPayAftOneYrCtrldComp>0.00</amtPayAftOneYrCtrldComp>
      <amtPayAftOneYrOthAffil>0.00</amtPayAftOneYrOthAffil>
      <amtPayAftOneYrOther>0.00</amtPayAftOneYrOther>
      <delayDeliv>0.00</delayDeliv>
      <standByCommit>0.00</standByCommit>
      <liquidPref>0.00</liquidPref>
      <cshNotRptdInCorD>0.00</cshNotRptdInCorD>
      <isNonCashCollateral>N</isNonCashCollateral>
      <returnInfo>
        <monthlyTotReturns>
          <monthlyTotReturn classId="C000000001" rtn1="1.10" rtn2="-2.20" rtn3="3.30"/>
        </monthlyTotReturns>
        <othMon1 netRealizedGain="0.00" netUnrealizedAppr="0.00"/>
        <othMon2 netRealizedGain="0.00" netUnrealizedAppr="0.00"/>
        <othMon3 netRealizedGain="0.00" netUnrealizedAppr="0.00"/>
      </returnInfo>
{month_flows}
    </fundInfo>
    <invstOrSecs>
      <invstOrSec>
        <name>Invented Holding A Ltd</name>
        <lei>N/A</lei>
        <title>Invented Holding A Ltd</title>
        <cusip>000000000</cusip>
        <identifiers>
          <isin value="KYG000000000"/>
        </identifiers>
        <balance>1000.00</balance>
        <units>NS</units>
        <curCd>USD</curCd>
        <valUSD>{_amount(net_assets * 0.5)}</valUSD>
        <pctVal>50.0</pctVal>
        <payoffProfile>Long</payoffProfile>
        <assetCat>EC</assetCat>
        <issuerCat>CORP</issuerCat>
        <invCountry>CN</invCountry>
        <isRestrictedSec>N</isRestrictedSec>
        <fairValLevel>1</fairValLevel>
        <securityLending>
          <isCashCollateral>N</isCashCollateral>
          <isNonCashCollateral>N</isNonCashCollateral>
          <isLoanByFund>N</isLoanByFund>
        </securityLending>
      </invstOrSec>
    </invstOrSecs>
    <signature>
      <dateSigned>{report_date.isoformat()}</dateSigned>
      <nameOfApplicant>Invented ETF Trust</nameOfApplicant>
      <signature>Invented Signer</signature>
      <signerName>Invented Signer</signerName>
      <title>Treasurer</title>
    </signature>
  </formData>
</edgarSubmission>
"""
    return text.encode("utf-8")


def html_page(title: str) -> bytes:
    """A web page as a server sends it with status 200 where a data file was asked for
    (a moved address, a cookie wall, a product page): HTML5 with a doctype, head and body."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
        "<p>This page is not the file you asked for.</p>\n</body>\n</html>\n"
    ).encode()


def sec_throttle_page() -> bytes:
    """The page the SEC sends (status 403, but also saved under the requested file's name) when a
    client goes over its request rate: XHTML whose title and heading read "Request Rate
    Threshold Exceeded", with advice on the rate limit and the User-Agent."""
    return (
        b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"'
        b' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml" lang="en">\n<head>\n'
        b"<title>SEC.gov | Request Rate Threshold Exceeded</title>\n</head>\n<body>\n"
        b"<h1>Request Rate Threshold Exceeded</h1>\n"
        b"<p>Your requests went over the rate this site allows. Automated tools must stay at or"
        b" below ten requests a second and declare who they are in their User-Agent.</p>\n"
        b"<p>Access resumes once the rate falls below the threshold.</p>\n"
        b"<p>Reference ID: 0.00000000.0000000000.000000</p>\n</body>\n</html>\n"
    )
