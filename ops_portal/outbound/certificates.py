"""The expiry (notAfter) of a peer's TLS certificate, read from its DER bytes.

`fetching` reports it for every HTTPS response, verified or not; this is byte parsing only.
"""

from __future__ import annotations

from datetime import UTC, datetime


def certificate_not_after(der: bytes) -> datetime:
    """The notAfter time of a DER X.509 certificate (RFC 5280 §4.1), as an aware UTC datetime.

    A few lines of DER reading instead of a dependency: `getpeercert()` only decodes the
    certificate when it was verified, and the probe must report expiry with verification off.
    """
    certificate = _der_children(der, 0)
    tbs = _der_children(der, certificate[0][0])
    fields = tbs[1:] if der[tbs[0][0]] == 0xA0 else tbs  # [0] version is optional
    validity = _der_children(der, fields[3][0])
    not_after_offset, start, end = validity[1]
    return _der_time(der[not_after_offset], der[start:end].decode("ascii"))


def _der_children(der: bytes, offset: int) -> list[tuple[int, int, int]]:
    """(offset, content start, content end) of each element inside the TLV at `offset`."""
    _, start, end = _der_header(der, offset)
    children = []
    position = start
    while position < end:
        _, child_start, child_end = _der_header(der, position)
        children.append((position, child_start, child_end))
        position = child_end
    return children


def _der_header(der: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `offset`."""
    tag = der[offset]
    length = der[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("truncated DER")
    return tag, start, end


def _der_time(tag: int, text: str) -> datetime:
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY ≥ 50 means 19YY
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError(f"unexpected DER time tag {tag:#x}")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
