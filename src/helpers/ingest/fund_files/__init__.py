"""Read a researcher's own fund file, whatever its format, into one canonical long table.

`read_fund_file(path, kind)` returns, for ``kind="history"``, the columns ``date``, ``ticker``,
``nav``, ``shares_outstanding`` and ``source_row``; for ``kind="flows"``, the columns ``date``,
``ticker``, ``flow_usd`` (signed US dollars) and ``source_row``. Dates are midnight
``datetime64[us]``, tickers upper case, rows sorted by ticker and date. ``shares_outstanding``
is NaN on every row of a NAV-only file (Invesco's NAV history, the one such format), and never
NaN otherwise: a loader combines such NAVs with shares from elsewhere (snapshots). ``source_row``
is the row a person sees for the record: the line number in a CSV (header = line 1), the row
number Excel shows in an XLSX or SpreadsheetML workbook, the record's position in a JSON list
(from 1), and for Parquet the 1-based row number + 1 (as if there were a header line). Every
problem raises `InvalidDataError` naming the file, the row and the column; all problems of a
file are reported together.

`read_nport_filing(path, ticker=None)` (module `nport`) reads an SEC Form N-PORT filing
(``primary_doc.xml``) into one row per month: ``ticker, series_id, report_date,
submission_type, month_start, month_end, sales_usd, reinvestment_usd, redemption_usd, flow_usd,
net_assets_usd`` (`NPORT_COLUMNS`); `FLOW_MONTHS_BEFORE_REPORT` says which calendar month each of
``mon1Flow``..``mon3Flow`` is, with the evidence in the module's docstring. `read_fund_file`
refuses a filing, pointing to it (a filing's flows are monthly, not daily rows).

Formats (recognised by content, never by the file extension; see `detect_format`):

- CSV text: delimiter ``,`` ``;`` tab or ``|`` (sniffed); UTF-8 or UTF-16, with or without BOM,
  else the encoding charset-normalizer guesses (cp1252 where that reads the text alike, and where
  a guess would lose a currency sign; Latin-1 when nothing fits). Decimal commas ("30,5") are
  not read.
- XLSX (Office Open XML workbook): a sheet named "Historical" is preferred, else the first sheet
  with a header. Cells typed as dates or numbers are used as such (formulas by their saved value).
  A row ``Ticker:``, ``ASHR`` above the header (the Xtrackers performance export) names the ticker
  of a sheet without a ticker column, before the file name does. The archive is checked before
  it is unpacked: members declared to unpack to more than `sniffing.MAX_UNPACKED_BYTES` (1 GiB)
  in all, or a member over 1 MiB packed more than `sniffing.MAX_COMPRESSION_RATIO` (200) to 1,
  are refused as a possible zip bomb.
- Parquet: typed date/timestamp and number columns are used as they are; text columns are parsed
  like CSV cells. Only the columns needed are read.
- SpreadsheetML 2003 XML, as in the ``.xls`` fund files iShares publishes: the worksheet named
  "Historical" is read (case-insensitive); other sheets are ignored. The file is read as iShares
  sends it: a byte-order mark, the ``ss:`` prefix, sparse cells placed by ``ss:Index``, ``--``
  for a missing value (Ex-Dividends), rows newest first, and a bare ``&`` (in its links'
  ``ss:HRef``), which makes the XML not well-formed: each ``&`` that does not start an entity or
  character reference is escaped as ``&amp;`` while the file streams to the parser, so it reads
  as the ``&`` it meant (`safe_xml.BareAmpersandsEscaped`). The XML is parsed by defusedxml:
  DOCTYPE and ENTITY declarations are refused (entity-expansion attacks), as is otherwise
  malformed XML (its line and column, as in the file, are given).
- JSON from Invesco's product API, by its shape: the NAV history (a list of ``{effectiveDate,
  netAssetValue}``, or ``{lineChartData: [{data: [{date, value}]}]}`` with one series) gives NAVs
  only (shares outstanding NaN); the prices answer (``{effectiveDate, nav, sharesOutstanding,
  ...}``, or a list of them) gives one row per object. The ticker comes from the file name.
  JSON of any other shape is refused, saying what was expected and what arrived.
- In CSV and workbooks, lines above the header (a title, notes) are skipped: the header is the
  first of the first 50 rows naming the date and another recognised column (else the first naming
  the date).
- Refused, saying what the file looks like: old binary Excel 97-2003 ``.xls`` (save it as .xlsx
  or .csv), PDF, HTML (the SEC's "Request Rate Threshold Exceeded" page saying that the SEC
  throttled the request), ZIP archives that are not workbooks, other binary data, empty files,
  and files larger than `MAX_FILE_BYTES` (1 GiB). A file whose name says one readable format
  while its content is another readable one (e.g. CSV text named ``.xlsx``) is read by its
  content, with a warning.

Headers are matched in any case, ignoring punctuation and spacing; the first name listed wins
when several columns match. Extra columns are ignored and columns may come in any order.

- date: Date, As Of, As Of Date, AsOf, Trade Date, NAV Date, Effective Date
- ticker: Ticker, Fund Ticker, Symbol, Fund. Without a ticker column the ticker is taken from
  the file name: the first whole token of 2-5 capital letters in the name (tokens are separated by
  ``_``, ``-``, space or ``.``), skipping words that are not tickers (ETF, MSCI, FTSE, CSI, NAV,
  USD, ...). ``MCHI_fund.xls`` -> MCHI; ``iShares-MSCI-China-ETF_fund.xls`` has no ticker and is
  refused. Tickers must be 2-5 letters. Long files with many tickers are fine.
- NAV (history): NAV per Share, NAV, NAV/Share, Net Asset Value per Share, Net Asset Value.
  Must be > 0. A currency of US dollars may be named in the header, e.g. "NAV (USD)".
- shares outstanding (history): Shares Outstanding, Outstanding Shares, Shares Out, Shares.
  Must be > 0. A scale may be named in the header, e.g. "Shares Outstanding (mn)". When there is
  no shares column, shares outstanding = net assets / NAV, with net assets from a column named
  Net Assets, Total Net Assets, Fund Net Assets or AUM (in US dollars, scaled by a unit in the
  header such as "Net Assets (USD bn)"; no unit means plain dollars).
- flows (flows): Flow, Flows, Net Flow, Net Flows, Fund Flow(s), Net Fund Flow(s), flow_usd.
  The unit must be stated, in the header ("Net Flow (USD mn)", "Flows ($M)", "flow_usd_millions",
  "Net flows, US$ bn", "flow_usd" or "Net Flow ($)" = plain dollars) or in a column "Unit"/"Units"
  holding one unit for the whole file ("USD millions", "$bn", "USD"). Scales: none = 1;
  thousand/thousands/k/th/000 = 1e3; million/millions/mn/mm/m/mil/mln/mio = 1e6;
  billion/billions/bn/b/bln = 1e9. The currency must be US dollars (USD, US$, $, dollars); a flows
  column without a stated unit, or in another currency, is refused (never guessed).

Values:

- numbers: surrounding spaces, quotes and ``$`` are ignored; ``,`` thousands separators are
  accepted when the digits are grouped by three ("1,234,567.5"); "(1,234)" is -1234; scientific
  notation is accepted. "", "-", "--", "n/a", "NA" mean no value, which is refused for NAV,
  shares, net assets and flows on a row that has a date.
- dates: ISO "2026-01-12" (also with a time, "2026-01-12T00:00:00.000", or UTC's "Z"),
  "Jan 12, 2026", "January 12, 2026", "12-Jan-2026", "12 Jan 2026", "20260112", "2026/01/12",
  dates typed in XLSX or Parquet, numbers in an XLSX date column (Excel serial dates of the
  1900 date system up to 2,958,465, i.e. 9999-12-31, as openpyxl converts them, a time of day
  dropped; whole numbers above it, or in Parquet, as YYYYMMDD), and slash dates. A column must
  use one format throughout. Slash dates ("12/01/2026") are day-first if some first field is
  > 12, month-first if some second field is > 12; when neither (or both) can be told, the file
  is refused unless the ``date_format``
  argument gives the format, e.g. ``"%d/%m/%Y"``. A time of day is dropped. A date after today
  is refused (no fund publishes tomorrow's figures; it is a typo such as 2062 for 2026). Today is
  the later of the local and the UTC date, so that no time zone makes today's data "future".
- Rows that are entirely empty are skipped. The same (ticker, date) twice in one file is kept once
  when the values agree and refused when they differ.

Stages, one module each:

1. `sniffing`: size check, format from the first 64 KiB (signatures, ZIP contents and declared
   sizes, text encoding from `encoding`, the XML root parsed by defusedxml through `safe_xml`).
2. A reader per format, `csv_reader`, `xlsx_reader`, `spreadsheetml_reader`, `parquet_reader`
   and `json_reader`: the raw cells (`table`) and the layout (`layout`: which column holds the
   date, ticker and values, and in which unit). `nport` reads N-PORT filings on its own.
3. `cells` parses numbers, dates and tickers; `checks` collects every problem of the file with
   its row and column.
4. `canonical`: `read_fund_file` puts the stages together, converts to the output's units,
   sorts, and keeps or refuses repeated (ticker, date) rows.
"""

from helpers.ingest.fund_files.canonical import read_fund_file
from helpers.ingest.fund_files.layout import FileKind
from helpers.ingest.fund_files.nport import (
    FLOW_MONTHS_BEFORE_REPORT,
    NPORT_COLUMNS,
    read_nport_filing,
)
from helpers.ingest.fund_files.sniffing import MAX_FILE_BYTES, detect_format

__all__ = [
    "FLOW_MONTHS_BEFORE_REPORT",
    "MAX_FILE_BYTES",
    "NPORT_COLUMNS",
    "FileKind",
    "detect_format",
    "read_fund_file",
    "read_nport_filing",
]
