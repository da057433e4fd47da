"""Recognising a file's format from its content: size check, signatures, encoding, XML root.

The extension never decides: CSV text named .xlsx is read as CSV (with a warning), and content
that is none of the readable formats is refused saying what it looks like: the SEC's throttle
page saying that the SEC throttled the request, any other HTML as a web page. An XLSX archive
is checked before anything is unpacked: a member that claims to unpack to more than
`MAX_UNPACKED_BYTES` in all, or to `MAX_COMPRESSION_RATIO` times its packed size, is refused as
a possible zip bomb.
"""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.parsers.expat import errors as expat_errors

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files.encoding import decode_head
from helpers.ingest.fund_files.safe_xml import (
    DTD_REFUSAL,
    HTML_REFUSAL,
    NPORT_NS,
    SPREADSHEETML_NS,
    DefusedXmlException,
    DTDForbidden,
    iterparse,
    local_name,
)

MAX_FILE_BYTES: int = 1 << 30  # 1 GiB: larger files are refused before reading
MAX_UNPACKED_BYTES: int = 1 << 30  # an XLSX whose members unpack to more is refused
# Deflate packs at most ~1,032:1, zip bombs near that; the sheet of 200,000 rows of an openpyxl
# workbook packs 10.5:1. Only members over a mebibyte are judged (small ones say little).
MAX_COMPRESSION_RATIO: int = 200
_RATIO_JUDGED_FROM_BYTES = 1 << 20

_READABLE_FORMATS = (
    "CSV, XLSX, Parquet, SpreadsheetML (.xls from iShares), Invesco's JSON"
    " and SEC N-PORT filings (XML)"
)
_HEAD_BYTES = 64 * 1024

_EXTENSION_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "spreadsheetml",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
}
FORMAT_NAMES = {
    "csv": "CSV text",
    "xlsx": "an XLSX workbook",
    "spreadsheetml": "a SpreadsheetML (XML) workbook",
    "parquet": "a Parquet file",
    "json": "JSON text",
    "nport": "an SEC N-PORT filing (XML)",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_SIGNATURES = {
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip-compressed file; decompress it first",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"SQLite format 3": "an SQLite database",
}
_OLE2_ADVICE = "an Excel 97-2003 binary workbook; save it as .xlsx or .csv"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# What the SEC's pages say when it refuses a client (lower case), and what that means for the
# file. The fetch's own sniffing of index files and error bodies uses the same markers.
SEC_REFUSALS = {
    "request rate threshold exceeded": (
        "the SEC's 'Request Rate Threshold Exceeded' page, not the file: the SEC throttled the"
        " request (more than 10 requests a second); download it again later, more slowly"
    ),
    "undeclared automated tool": (
        "the SEC's 'Undeclared Automated Tool' page, not the file: the SEC refused the request"
        " for want of a User-Agent naming you and your e-mail address"
    ),
}


@dataclass(frozen=True)
class Sniffed:
    """What a file's first bytes say: its format, or a description of unreadable content."""

    format: str = ""
    refusal: str = ""
    encoding: str = ""  # text formats (CSV, JSON, XML) only
    head: str = ""  # CSV only: the decoded start of the file
    explained: bool = False  # the refusal says what to do: no list of the readable formats


def detect_format(path: str | Path) -> str:
    """The file's format by content: "csv", "xlsx", "spreadsheetml", "parquet", "json"
    (Invesco's) or "nport" (an SEC N-PORT filing, read by `read_nport_filing`).

    Raises InvalidDataError saying what the file looks like when it is none of these (or is
    missing, empty or over MAX_FILE_BYTES). A readable format under another format's extension is
    accepted with a warning.
    """
    return sniff(Path(path)).format


def sniff(path: Path) -> Sniffed:
    """What the file's first bytes say; raises InvalidDataError when it is unreadable.

    Called directly by `detect_format` and `read_fund_file`: the warning about a misleading
    extension points at their caller.
    """
    _check_size(path)
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    sniffed = _identify(path, head)
    named = _EXTENSION_FORMATS.get(path.suffix.lower())
    if sniffed.refusal:
        raise refusal(
            path, sniffed.refusal, explained=sniffed.explained, content_format=sniffed.format
        )
    if named and named != sniffed.format:
        warnings.warn(
            f"{path}: named {path.suffix} but its content is {FORMAT_NAMES[sniffed.format]};"
            " reading it as such",
            UserWarning,
            stacklevel=3,
        )
    return sniffed


def _check_size(path: Path) -> None:
    if not path.is_file():
        raise InvalidDataError(path, "file not found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidDataError(
            path,
            f"the file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes;"
            " split it into smaller files",
        )


def refusal(
    path: Path, description: str, *, explained: bool = False, content_format: str = ""
) -> InvalidDataError:
    """The error refusing a file whose content is `description` (e.g. "a PDF document").

    `content_format`: the format the content has when it is refused for another reason (a zip
    bomb is an XLSX), so that a file named as such is not said to be misnamed; `explained`: the
    description says what to do, and the readable formats are not listed.
    """
    named = _EXTENSION_FORMATS.get(path.suffix.lower())
    named = None if named == content_format else named
    message = _refusal_message(path, named, description)
    listed = "" if explained else f"; the readable formats are {_READABLE_FORMATS}"
    return InvalidDataError(path, message + listed)


def _refusal_message(path: Path, named: str | None, description: str) -> str:
    if description == "empty":
        return "the file is empty (or holds only blank lines)"
    if named and not (named == "spreadsheetml" and description == _OLE2_ADVICE):
        return f"named {path.suffix} but it is {description}"
    return f"it is {description}"


def _identify(path: Path, head: bytes) -> Sniffed:
    if not head:
        return Sniffed(refusal="empty")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _identify_zip(path)
    if head.startswith(b"PAR1"):
        return Sniffed(format="parquet")
    if head.startswith(_OLE2):
        return Sniffed(refusal=_OLE2_ADVICE)
    for signature, description in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return Sniffed(refusal=description)
    encoding, text = decode_head(head)
    if "\x00" in text or len(_CONTROL_CHARS.findall(text)) > len(text) / 100:
        return Sniffed(refusal="binary data, not text")
    if len(head) == _HEAD_BYTES:
        text = text[: text.rfind("\n") + 1] or text  # drop the line cut by the head's end
    stripped = text.lstrip()
    if not stripped and len(head) < _HEAD_BYTES:
        return Sniffed(refusal="empty")  # nothing but blank lines
    if stripped.startswith("<"):
        sniffed = _identify_xml(stripped)
        if sniffed.refusal == HTML_REFUSAL:
            page = _html_refusal(stripped)
            return Sniffed(refusal=page, explained=page != HTML_REFUSAL)
        return Sniffed(format=sniffed.format, refusal=sniffed.refusal, encoding=encoding)
    if stripped.startswith(("{", "[")):
        return Sniffed(format="json", encoding=encoding)
    return Sniffed(format="csv", encoding=encoding, head=text)


def _html_refusal(text: str) -> str:
    """What an HTML page is: one of the SEC's refusals, or a web page."""
    lowered = text.casefold()
    return next((r for marker, r in SEC_REFUSALS.items() if marker in lowered), HTML_REFUSAL)


def _identify_zip(path: Path) -> Sniffed:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return Sniffed(refusal="a damaged ZIP archive")
    names = {member.filename for member in members}
    if "xl/workbook.xml" in names:
        bomb = _zip_bomb(members)
        return Sniffed(format="xlsx", refusal=bomb, explained=bool(bomb))
    if "xl/workbook.bin" in names:
        return Sniffed(refusal="an Excel binary workbook (.xlsb); save it as .xlsx or .csv")
    if "word/document.xml" in names:
        return Sniffed(refusal="a Word document")
    if "content.xml" in names:
        return Sniffed(refusal="an OpenDocument file; save it as .xlsx or .csv")
    return Sniffed(refusal="a ZIP archive that is not an Excel workbook")


def _zip_bomb(members: list[zipfile.ZipInfo]) -> str:
    """Why the archive's declared sizes look like a zip bomb ('' when they do not).

    The sizes are those the archive declares; Python's zipfile, which openpyxl reads through,
    stops a member at its declared size, so they bound what unpacking can produce.
    """
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        return (
            f"a workbook whose members unpack to {unpacked:,} bytes, over the limit of"
            f" {MAX_UNPACKED_BYTES:,} (refused unopened: a possible zip bomb)"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_JUDGED_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            return (
                f"a workbook whose member {member.filename} unpacks {ratio:,.0f} times its packed"
                f" size, over {MAX_COMPRESSION_RATIO}:1 (refused unopened: a possible zip bomb)"
            )
    return ""


def _identify_xml(text: str) -> Sniffed:
    """SpreadsheetML or an N-PORT filing, or a refusal naming the kind of markup.

    defusedxml parses the start of the text up to the root element, so that a DOCTYPE or ENTITY
    declaration is refused before anything could expand it.
    """
    namespaces: dict[str, str] = {}  # uri -> prefix, as declared on the root element
    try:
        for event, item in iterparse(io.StringIO(text), ("start-ns", "start")):
            if event == "start":
                return _identify_root(item.tag, namespaces)
            prefix, uri = item
            namespaces.setdefault(uri, prefix)
    except DTDForbidden as error:
        return Sniffed(refusal=HTML_REFUSAL if _is_html(error.name) else DTD_REFUSAL)
    except DefusedXmlException:
        return Sniffed(refusal=DTD_REFUSAL)
    except ET.ParseError as error:
        return Sniffed(refusal=_unreadable_start(text, error))
    return Sniffed(refusal=_UNREADABLE_START)  # not reached: no root is a ParseError


_UNREADABLE_START = "XML whose start could not be read"
_READABLE_XML = "a SpreadsheetML workbook or an N-PORT filing"
_CUT_SHORT = {
    expat_errors.codes[message]
    for message in (expat_errors.XML_ERROR_UNCLOSED_TOKEN, expat_errors.XML_ERROR_PARTIAL_CHAR)
}


def _is_html(name: str) -> bool:
    return name.lower().startswith("html")


def _identify_root(tag: str, namespaces: dict[str, str]) -> Sniffed:
    """SpreadsheetML when the root is a Workbook declaring the SpreadsheetML namespace; an
    N-PORT filing when it is an edgarSubmission in the N-PORT namespace."""
    name = local_name(tag)
    uri = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    prefix = namespaces.get(uri, "")
    written = f"{prefix}:{name}" if prefix else name  # as in the file: <ss:Workbook>
    if _is_html(written):
        return Sniffed(refusal=HTML_REFUSAL)
    if name == "Workbook" and SPREADSHEETML_NS in namespaces:
        return Sniffed(format="spreadsheetml")
    if name == "edgarSubmission":
        if uri == NPORT_NS:
            return Sniffed(format="nport")
        return Sniffed(
            refusal=f"an SEC EDGAR submission in the namespace '{uri or 'none'}', not an N-PORT"
            f" filing ({NPORT_NS})"
        )
    return Sniffed(refusal=f"an XML document whose root is <{written}>, not {_READABLE_XML}")


def _unreadable_start(text: str, error: ET.ParseError) -> str:
    """What markup the parser stopped at before the root element looks like."""
    line, column = error.position
    offset = sum(len(previous) + 1 for previous in text.split("\n")[: line - 1]) + column
    markup = text[max(text.rfind("<", 0, offset + 1), 0) :].lower()
    if markup.startswith(("<!doctype html", "<html")):
        return HTML_REFUSAL  # e.g. '<!doctype html>' (lower case) or '<html lang=en>'
    if markup.startswith("<!") and not markup.startswith("<!--"):
        return DTD_REFUSAL  # a declaration the parser could not even read is refused as one
    if error.code in _CUT_SHORT and markup.startswith(("<?", "<!--")):
        return _UNREADABLE_START  # a declaration or comment that does not end
    return f"markup that is not {_READABLE_XML}"
