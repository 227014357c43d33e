"""The first bytes of image and document files, enough for the runtime's header checks."""

from __future__ import annotations

import base64


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def png(width: int = 1, height: int = 1) -> bytes:
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" + ihdr + b"\x00" * 4


def jpeg(width: int = 1, height: int = 1) -> bytes:
    app0 = b"\xff\xe0" + (16).to_bytes(2, "big") + b"JFIF\x00" + b"\x01\x01\x00" + b"\x00" * 6
    sof0 = (
        b"\xff\xc0"
        + (17).to_bytes(2, "big")
        + b"\x08"
        + height.to_bytes(2, "big")
        + width.to_bytes(2, "big")
        + b"\x03"
        + b"\x00" * 9
    )
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif(width: int = 1, height: int = 1) -> bytes:
    return b"GIF89a" + width.to_bytes(2, "little") + height.to_bytes(2, "little") + b"\x00" * 3


def _riff(chunk: bytes, data: bytes) -> bytes:
    payload = b"WEBP" + chunk + len(data).to_bytes(4, "little") + data
    return b"RIFF" + len(payload).to_bytes(4, "little") + payload


def webp_vp8(width: int = 1, height: int = 1) -> bytes:
    data = b"\x00\x00\x00" + b"\x9d\x01\x2a" + width.to_bytes(2, "little")
    return _riff(b"VP8 ", data + height.to_bytes(2, "little") + b"\x00" * 4)


def webp_vp8l(width: int = 1, height: int = 1) -> bytes:
    bits = (width - 1) | (height - 1) << 14
    return _riff(b"VP8L", b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 5)


def webp_vp8x(width: int = 1, height: int = 1) -> bytes:
    data = b"\x00" * 4 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return _riff(b"VP8X", data)


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
DOCX = b"PK\x03\x04" + b"\x14\x00" + b"\x00" * 24
DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 24
CSV = b"a,b\n1,2\n"


def image_block(fmt: str = "png", raw: bytes | None = None) -> dict[str, object]:
    return {"image": {"format": fmt, "source": {"bytes": b64(raw if raw is not None else png())}}}


def document_block(
    fmt: str = "pdf", raw: bytes = PDF, name: str = "Quarterly report (draft)"
) -> dict[str, object]:
    return {"document": {"format": fmt, "name": name, "source": {"bytes": b64(raw)}}}
