"""The encoding of a text file's first bytes: a BOM, the zero bytes of UTF-16, UTF-8, Latin-1."""

from __future__ import annotations

import codecs


def decode_head(head: bytes) -> tuple[str, str]:
    """(encoding, text) of a file's first bytes: a BOM decides, else the zero bytes of UTF-16,
    else UTF-8, else Latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(head) or "utf-8"
    try:
        # Incremental, so a character cut at the end of the head is not an error.
        return encoding, codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        return "latin-1", head.decode("latin-1")


def _utf16_without_bom(head: bytes) -> str:
    """'utf-16-le' or 'utf-16-be' when a head without BOM looks like UTF-16 text, else ''.

    Text in Latin letters, digits and punctuation has a zero byte in every other position of
    UTF-16: the odd positions (little-endian) or the even ones (big-endian). Binary data have
    zeros scattered over both.
    """
    even, odd = head[0::2], head[1::2]
    if len(odd) < 8:
        return ""
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and others.count(0) <= 0.05 * len(others):
            return encoding
    return ""
