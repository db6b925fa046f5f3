"""Real documents for tests, demos and benchmarks: the platform checks every document
it is given (``shared.printing.documents``), so what they send must be valid."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

_CHUNK = 1 << 20


def pdf_chunks(pages: int = 1, text: str = "Printcloud", padding: int = 0) -> Iterator[bytes]:
    """A valid PDF of ``pages`` pages (each saying ``text``), streamed in pieces; ``padding``
    bytes of an unreferenced stream make it as large as a test needs without holding it."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    for i in range(pages):
        stream = f"BT /F1 24 Tf 72 720 Td ({safe} {i + 1}/{pages}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R"
            f" /Resources << /Font << /F1 {3 + 2 * pages} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets: list[int] = []
    position = 0
    for number, body in enumerate(objects, start=1):
        piece = (head if number == 1 else b"") + b"%d 0 obj\n" % number + body + b"\nendobj\n"
        offsets.append(position + (len(head) if number == 1 else 0))
        position += len(piece)
        yield piece
    count = len(objects)
    if padding:
        count += 1
        offsets.append(position)
        opening = b"%d 0 obj\n<< /Length %d >>\nstream\n" % (count, padding)
        yield opening
        left = padding
        while left:
            size = min(_CHUNK, left)
            yield (b"\x00" * 7 + b"\xff") * (size // 8) + b"\x00" * (size % 8)
            left -= size
        closing = b"\nendstream\nendobj\n"
        yield closing
        position += len(opening) + padding + len(closing)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (count + 1)]
    xref += [b"%010d 00000 n \n" % o for o in offsets]
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    xref.append(trailer % (count + 1, position))
    yield b"".join(xref)


def pdf(pages: int = 1, text: str = "Printcloud", padding: int = 0) -> bytes:
    """A valid PDF of ``pages`` pages (see :func:`pdf_chunks`)."""
    return b"".join(pdf_chunks(pages, text, padding))


def pwg_raster(pages: int = 1, width: int = 8, height: int = 8) -> bytes:
    """A small PWG raster (8-bit grey, each line one white run) of ``pages`` pages."""
    header = bytearray(1796)
    header[0:10] = b"PwgRaster\x00"
    struct.pack_into(">II", header, 372, width, height)  # cupsWidth, cupsHeight
    struct.pack_into(">III", header, 384, 8, 8, width)  # bits per colour/pixel, bytes per line
    line = bytes([0, width - 1, 0xFF])  # the line once, one run of ``width`` white pixels
    return b"RaS2" + (bytes(header) + line * height) * pages


def png() -> bytes:
    """A valid 1x1 grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
