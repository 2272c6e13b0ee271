"""Bytes of a SQL file -> text: byte-order marks, UTF-16 with or without one, UTF-8.

SQL Server tools save scripts as UTF-16 (SSMS "Unicode") or as UTF-8 with a BOM; decoding those as
plain UTF-8 turns every statement into noise. Pure function, no I/O.
"""

from __future__ import annotations

import codecs

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# How much of a file the UTF-16 sniffing looks at.
_SNIFF_BYTES = 4096


def decode_sql(raw: bytes) -> tuple[str, bool]:
    """The text of a SQL file and whether it had to be decoded with replacement characters.

    A byte-order mark decides the encoding (UTF-8, UTF-16 LE/BE, UTF-32); without one, text whose
    every other byte is NUL is UTF-16 (the ASCII-heavy text SQL is); anything else is UTF-8,
    decoded with replacement characters when it is not valid UTF-8.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return _decode(raw[len(bom) :], encoding)
    utf16 = _sniff_utf16(raw)
    if utf16:
        return _decode(raw, utf16)
    return _decode(raw, "utf-8")


def _decode(raw: bytes, encoding: str) -> tuple[str, bool]:
    try:
        return raw.decode(encoding), False
    except UnicodeDecodeError:
        return raw.decode(encoding, errors="replace"), True


def _sniff_utf16(raw: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the sample looks like BOM-less UTF-16 text, else None."""
    sample = raw[:_SNIFF_BYTES]
    if len(sample) < 4:
        return None
    sample = sample[: len(sample) // 2 * 2]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls >= half * 0.4 and even_nuls <= half * 0.05:
        return "utf-16-le"
    if even_nuls >= half * 0.4 and odd_nuls <= half * 0.05:
        return "utf-16-be"
    return None
