"""XML parsed by defusedxml: no DTD, no entity declaration, no external reference is accepted.

Entity-expansion attacks ("billion laughs", "quadratic blowup") and external entities need a
DOCTYPE; defusedxml's parser raises as soon as it meets one. Sniffing (identifying the root
element), the SpreadsheetML reader and the N-PORT reader all parse through `iterparse` here.

`BareAmpersandsEscaped` reads XML as iShares sends it: its workbooks carry a bare "&" in link
addresses (`ss:HRef="...?a=1&b=2"`), which no XML parser accepts. Each "&" that does not start
an entity or character reference is escaped as "&amp;" while the file streams to the parser,
so the value reads as the "&" it was meant to be. References themselves are left alone, and
defusedxml still refuses any DOCTYPE or entity declaration.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import IO, Any

import defusedxml.ElementTree as defused_et
from defusedxml import DefusedXmlException, DTDForbidden

__all__ = [
    "DTD_REFUSAL",
    "HTML_REFUSAL",
    "NPORT_NS",
    "SPREADSHEETML_NS",
    "BareAmpersandsEscaped",
    "DefusedXmlException",
    "DTDForbidden",
    "iterparse",
    "local_name",
]

SPREADSHEETML_NS = "urn:schemas-microsoft-com:office:spreadsheet"
NPORT_NS = "http://www.sec.gov/edgar/nport"  # SEC Form N-PORT filings (primary_doc.xml)
DTD_REFUSAL = (
    "an XML document with a DOCTYPE or ENTITY declaration, refused for safety (entity expansion)"
)
HTML_REFUSAL = "an HTML page (perhaps a web page saved instead of the file)"


def iterparse(source: IO[Any], events: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """defusedxml's iterparse over `source` (bytes, or text already decoded), refusing DTDs.

    Raises DefusedXmlException (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) on
    a declaration, and xml.etree.ElementTree.ParseError on malformed XML.
    """
    return defused_et.iterparse(
        source, events=events, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )


def local_name(tag: str) -> str:
    """An element's name without its namespace: '{urn:...}Workbook' -> 'Workbook'."""
    return tag.rpartition("}")[2]


# An "&" that starts a reference: "&name;", "&#123;" or "&#x1F;" (names as XML allows, in ASCII).
_REFERENCE = rb"&(?:[A-Za-z_:][A-Za-z0-9_:.-]*|#[0-9]+|#x[0-9A-Fa-f]+);"
_BARE_AMPERSAND = re.compile(rb"&(?!" + _REFERENCE[1:] + rb")")
_LONGEST_REFERENCE = 256  # an "&" this close to a chunk's end waits for the next chunk
_ESCAPE = b"&amp;"
_INSERTED = len(_ESCAPE) - 1  # characters each escape adds to its line
_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


class BareAmpersandsEscaped:
    """A binary file, read with every bare "&" escaped as "&amp;" (see the module docstring).

    For ASCII-compatible encodings (UTF-8, Latin-1, cp1252, ...), where "&" is the byte 0x26:
    `ascii_compatible=False` (UTF-16) passes the bytes through unchanged. `original_column`
    turns a parser's (line, column) back into the file's own column, as if nothing had been
    inserted.
    """

    def __init__(self, handle: IO[bytes], *, ascii_compatible: bool = True):
        self._handle = handle
        self._escaping = ascii_compatible
        self._held = b""  # the end of the last chunk, from an "&" that may start a reference
        self._line = 1  # the line the next byte given to the parser is on
        self._column = 0  # its column, in characters of the escaped stream
        self._escapes: dict[int, list[int]] = {}  # line -> escaped-stream columns of escapes

    def read(self, size: int = -1) -> bytes:
        """Up to about `size` bytes of the escaped stream (b"" at its end)."""
        while True:
            chunk = self._handle.read(size)
            if not self._escaping:
                return chunk
            data, self._held = self._held + chunk, b""
            if chunk:  # an "&" near the end may start a reference that the next chunk ends
                cut = data.rfind(b"&", max(len(data) - _LONGEST_REFERENCE, 0))
                if cut >= 0 and b";" not in data[cut:]:
                    data, self._held = data[:cut], data[cut:]
            if data or not chunk:
                return self._escaped(data)

    def _escaped(self, data: bytes) -> bytes:
        pieces, start = [], 0
        for match in _BARE_AMPERSAND.finditer(data):
            pieces.append(data[start : match.start()])
            self._advance(data[start : match.start()])
            self._escapes.setdefault(self._line, []).append(self._column)
            pieces.append(_ESCAPE)
            self._column += len(_ESCAPE)
            start = match.end()
        pieces.append(data[start:])
        self._advance(data[start:])
        return b"".join(pieces)

    def _advance(self, data: bytes) -> None:
        """Move the position past `data`, counting columns in characters as expat does (UTF-8
        continuation bytes, 0x80-0xBF, start none)."""
        breaks = data.count(b"\n")
        tail = data[data.rfind(b"\n") + 1 :] if breaks else data
        characters = len(tail.translate(None, _CONTINUATION_BYTES))
        self._line += breaks
        self._column = characters if breaks else self._column + characters

    def original_column(self, line: int, column: int) -> int:
        """A parser's 0-based column on `line`, less what the escapes before it inserted."""
        escapes = self._escapes.get(line, [])
        return column - _INSERTED * bisect.bisect_left(escapes, column)
