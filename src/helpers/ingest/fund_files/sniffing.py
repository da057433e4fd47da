"""Recognising a file's format from its content: size check, signatures, encoding, XML root.

The extension never decides: CSV text named .xlsx is read as CSV (with a warning), and content
that is none of the readable formats is refused saying what it looks like.
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
    SPREADSHEETML_NS,
    DefusedXmlException,
    DTDForbidden,
    iterparse,
    local_name,
)

MAX_FILE_BYTES: int = 1 << 30  # 1 GiB: larger files are refused before reading

_READABLE_FORMATS = "CSV, XLSX, Parquet and SpreadsheetML (.xls from iShares)"
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
}
_FORMAT_NAMES = {
    "csv": "CSV text",
    "xlsx": "an XLSX workbook",
    "spreadsheetml": "a SpreadsheetML (XML) workbook",
    "parquet": "a Parquet file",
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


@dataclass(frozen=True)
class Sniffed:
    """What a file's first bytes say: its format, or a description of unreadable content."""

    format: str = ""
    refusal: str = ""
    encoding: str = ""  # text formats only
    head: str = ""  # text formats only: the decoded start of the file


def detect_format(path: str | Path) -> str:
    """The file's format by content: "csv", "xlsx", "spreadsheetml" or "parquet".

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
        raise refusal(path, sniffed.refusal)
    if named and named != sniffed.format:
        warnings.warn(
            f"{path}: named {path.suffix} but its content is {_FORMAT_NAMES[sniffed.format]};"
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


def refusal(path: Path, description: str) -> InvalidDataError:
    """The error refusing a file whose content is `description` (e.g. "a PDF document")."""
    named = _EXTENSION_FORMATS.get(path.suffix.lower())
    return InvalidDataError(path, _refusal_message(path, named, description))


def _refusal_message(path: Path, named: str | None, description: str) -> str:
    if description == "empty":
        what = "the file is empty (or holds only blank lines)"
    elif named and not (named == "spreadsheetml" and description == _OLE2_ADVICE):
        what = f"named {path.suffix} but it is {description}"
    else:
        what = f"it is {description}"
    return f"{what}; the readable formats are {_READABLE_FORMATS}"


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
        return _identify_xml(stripped)
    if stripped.startswith("{"):
        return Sniffed(refusal="JSON text")
    return Sniffed(format="csv", encoding=encoding, head=text)


def _identify_zip(path: Path) -> Sniffed:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return Sniffed(refusal="a damaged ZIP archive")
    if "xl/workbook.xml" in names:
        return Sniffed(format="xlsx")
    if "xl/workbook.bin" in names:
        return Sniffed(refusal="an Excel binary workbook (.xlsb); save it as .xlsx or .csv")
    if "word/document.xml" in names:
        return Sniffed(refusal="a Word document")
    if "content.xml" in names:
        return Sniffed(refusal="an OpenDocument file; save it as .xlsx or .csv")
    return Sniffed(refusal="a ZIP archive that is not an Excel workbook")


def _identify_xml(text: str) -> Sniffed:
    """SpreadsheetML, or a refusal naming the kind of markup.

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
_CUT_SHORT = {
    expat_errors.codes[message]
    for message in (expat_errors.XML_ERROR_UNCLOSED_TOKEN, expat_errors.XML_ERROR_PARTIAL_CHAR)
}


def _is_html(name: str) -> bool:
    return name.lower().startswith("html")


def _identify_root(tag: str, namespaces: dict[str, str]) -> Sniffed:
    """SpreadsheetML when the root is a Workbook declaring the SpreadsheetML namespace."""
    name = local_name(tag)
    uri = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    prefix = namespaces.get(uri, "")
    written = f"{prefix}:{name}" if prefix else name  # as in the file: <ss:Workbook>
    if _is_html(written):
        return Sniffed(refusal=HTML_REFUSAL)
    if name == "Workbook" and SPREADSHEETML_NS in namespaces:
        return Sniffed(format="spreadsheetml")
    return Sniffed(
        refusal=f"an XML document whose root is <{written}>, not a SpreadsheetML workbook"
    )


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
    return "markup that is not a SpreadsheetML workbook"
