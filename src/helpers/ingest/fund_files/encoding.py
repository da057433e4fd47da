"""The encoding of a text file's first bytes: BOM and UTF-16 rules, UTF-8, else charset-normalizer.

The cells read (numbers, dates, tickers) and the headers recognised are ASCII, read alike in
every encoding accepted here (all are ASCII-compatible). The encoding decides how other text
(titles, notes, names) is shown in messages, and whether a header's currency sign (€, £, ¥) is
seen.
"""

from __future__ import annotations

import codecs
import functools

import charset_normalizer

_WESTERN = "cp1252"  # what Excel on Windows writes for Western European text
_CURRENCY_SIGNS = "$€£¥"  # they name a column's currency: a guess must not lose one


def decode_head(head: bytes) -> tuple[str, str]:
    """(encoding, text) of a file's first bytes.

    A BOM decides, else the zero bytes of UTF-16, else UTF-8; text that is none of these is
    decoded as charset-normalizer guesses (see `_guess`).
    """
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(head) or "utf-8"
    try:
        return encoding, _decoded(head, encoding)
    except UnicodeDecodeError:
        encoding = _guess(head)
        return encoding, _decoded(head, encoding)


def _decoded(head: bytes, encoding: str) -> str:
    # Incremental, so a character cut at the end of the head is not an error.
    return codecs.getincrementaldecoder(encoding)().decode(head, final=False)


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


def _guess(head: bytes) -> str:
    """The encoding of text that is not UTF-8 or UTF-16, as charset-normalizer guesses it.

    Among the encodings that read the head alike, cp1252 (Excel's, for Western text) is taken.
    A guess that is not ASCII-compatible, or that would lose a currency sign the Western reading
    shows (a few bytes say little: 'NAV (£)' can pass for Japanese), gives way to the Western
    reading. Latin-1 when nothing fits: it decodes any bytes (binary data are told by their
    control characters).
    """
    match = charset_normalizer.from_bytes(head).best()
    if match is None:
        return "latin-1"
    if _WESTERN in (match.encoding, *match.could_be_from_charset):
        return _WESTERN
    western = _WESTERN if _decodes(head, _WESTERN) else "latin-1"
    guess = match.encoding
    if not (_ascii_compatible(guess) and _decodes(head, guess)):
        return western
    signs_kept = _signs(_decoded(head, guess)) == _signs(_decoded(head, western))
    return guess if signs_kept else western


def _decodes(head: bytes, encoding: str) -> bool:
    try:
        _decoded(head, encoding)
    except UnicodeDecodeError:
        return False
    return True


@functools.cache
def _ascii_compatible(encoding: str) -> bool:
    """Whether bytes 0-127 are ASCII in `encoding` (digits, letters, delimiters read as such)."""
    ascii_bytes = bytes(range(128))
    try:
        return ascii_bytes.decode(encoding) == ascii_bytes.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def _signs(text: str) -> list[int]:
    return [text.count(sign) for sign in _CURRENCY_SIGNS]
