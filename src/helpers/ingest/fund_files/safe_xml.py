"""XML parsed by defusedxml: no DTD, no entity declaration, no external reference is accepted.

Entity-expansion attacks ("billion laughs", "quadratic blowup") and external entities need a
DOCTYPE; defusedxml's parser raises as soon as it meets one. Sniffing (identifying the root
element) and the SpreadsheetML reader both parse through `iterparse` here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import defusedxml.ElementTree as defused_et
from defusedxml import DefusedXmlException, DTDForbidden

__all__ = [
    "DTD_REFUSAL",
    "HTML_REFUSAL",
    "SPREADSHEETML_NS",
    "DefusedXmlException",
    "DTDForbidden",
    "iterparse",
    "local_name",
]

SPREADSHEETML_NS = "urn:schemas-microsoft-com:office:spreadsheet"
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
