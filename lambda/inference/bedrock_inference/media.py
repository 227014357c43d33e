"""Attachments of a Converse request: base64 decoding, file signatures, image dimensions.

Only the first bytes of a file are read (the header), so checking a 4 MB image costs microseconds.
A file whose signature does not match its declared ``format`` is refused here with a 400 naming
the field, instead of travelling to Bedrock and coming back as a ValidationException.

Image size in pixels comes from the header of each format Converse accepts (``png``, ``jpeg``,
``gif``, ``webp``): PNG's IHDR chunk, GIF's logical screen descriptor, the first JPEG start-of-frame
segment, and WebP's VP8 / VP8L / VP8X chunk.
"""

from __future__ import annotations

import base64
import binascii

# File signatures of the binary document formats Converse accepts.
_DOCUMENT_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),  # Office Open XML: a ZIP container
    "xlsx": (b"PK\x03\x04",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),  # OLE2 compound file
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}
# JPEG start-of-frame markers (every SOFn except DHT C4, JPG C8 and DAC CC).
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
_JPEG_MAX_SEGMENTS = 512


class MediaError(ValueError):
    """The attachment cannot be used; the message says why (it never echoes the content)."""


def decode(data: str, *, limit: int, what: str) -> bytes:
    """Decode base64 ``data``; refuse more than ``limit`` decoded bytes before decoding."""
    if len(data) > (limit + 2) // 3 * 4:
        raise MediaError(f"the {what} may hold at most {limit} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MediaError(f"the {what} is not valid base64 (standard alphabet, padded)") from None
    if not raw:
        raise MediaError(f"the {what} is empty")
    if len(raw) > limit:
        raise MediaError(f"the {what} may hold at most {limit} bytes")
    return raw


def check_document(raw: bytes, fmt: str) -> None:
    signatures = _DOCUMENT_SIGNATURES.get(fmt)
    if signatures is not None and not raw.startswith(signatures):
        raise MediaError(f"the document bytes are not a {fmt} file")


def image_size(raw: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) of an image of format ``fmt``; :class:`MediaError` if it is not one."""
    size = _READERS[fmt](raw)
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise MediaError(f"the image bytes are not a {fmt} image")
    return size


def _be16(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 2], "big")


def _le(raw: bytes, at: int, length: int) -> int:
    return int.from_bytes(raw[at : at + length], "little")


def _png(raw: bytes) -> tuple[int, int] | None:
    if not raw.startswith(b"\x89PNG\r\n\x1a\n") or raw[12:16] != b"IHDR" or len(raw) < 24:
        return None
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def _gif(raw: bytes) -> tuple[int, int] | None:
    if not raw.startswith((b"GIF87a", b"GIF89a")) or len(raw) < 10:
        return None
    return _le(raw, 6, 2), _le(raw, 8, 2)


def _jpeg(raw: bytes) -> tuple[int, int] | None:
    if not raw.startswith(b"\xff\xd8"):
        return None
    at = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        while at < len(raw) and raw[at] == 0xFF and at + 1 < len(raw) and raw[at + 1] == 0xFF:
            at += 1  # fill bytes
        if at + 4 > len(raw) or raw[at] != 0xFF:
            return None
        marker = raw[at + 1]
        if marker in _JPEG_STANDALONE:
            at += 2
            continue
        if marker in _JPEG_SOF:
            if at + 9 > len(raw):
                return None
            return _be16(raw, at + 7), _be16(raw, at + 5)  # (width, height)
        if marker == 0xD9:  # end of image before any frame
            return None
        at += 2 + _be16(raw, at + 2)
    return None


def _webp(raw: bytes) -> tuple[int, int] | None:
    if len(raw) < 30 or raw[0:4] != b"RIFF" or raw[8:12] != b"WEBP":
        return None
    chunk = raw[12:16]
    if chunk == b"VP8 " and raw[23:26] == b"\x9d\x01\x2a":
        return _le(raw, 26, 2) & 0x3FFF, _le(raw, 28, 2) & 0x3FFF
    if chunk == b"VP8L" and raw[20] == 0x2F:
        bits = _le(raw, 21, 4)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return _le(raw, 24, 3) + 1, _le(raw, 27, 3) + 1
    return None


_READERS = {"png": _png, "gif": _gif, "jpeg": _jpeg, "webp": _webp}
