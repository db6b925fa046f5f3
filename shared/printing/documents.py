"""What a document really is: its format checked from its content, its pages counted.

The platform never takes a document's name or declared type on trust. Each
format it prints has a check that reads the stored bytes (a seekable file, off
the event loop) and either counts the pages or refuses the document with the
reason: empty, truncated, not the declared format, unreadable. A PDF is read
with pypdf (its page tree walked, not its ``/Count`` believed); raster formats
by their headers; plain text by decoding it. ``application/octet-stream`` is
typed from the content, as an IPP printer does; any other format is refused,
since nothing could vouch for it.

A protected document (``application/vnd.printcloud.e2e``, see ``shared.crypto.e2e``)
is ciphertext the platform cannot read: its check is structural only (the framing,
the chunk sizes), and its page count is the one its sender declares.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from shared.crypto.e2e import E2E_FORMAT, E2EError, check_structure
from shared.errors import DomainError, FieldError

PDF = "application/pdf"
POSTSCRIPT = "application/postscript"
PWG_RASTER = "image/pwg-raster"
URF = "image/urf"
JPEG = "image/jpeg"
PNG = "image/png"
TEXT = "text/plain"
AUTO = "application/octet-stream"

PDF_REPAIR_LIMIT = 64 << 20
"""A PDF up to this size whose cross-reference table is damaged is repaired in memory
(pypdf reads it whole to do so); a larger one must be well formed."""
TEXT_LINES_PER_PAGE = 60
"""Plain text is counted as it is printed: 60 lines a page, a form feed starts a page."""
_EDGE = 1024
_READ = 1 << 20
_PWG_HEADER = 1796
_URF_PAGE_HEADER = 32
_PWG_PAGE = re.compile(re.escape(b"PwgRaster\x00"))
_PS_PAGE = re.compile(rb"(?:^|[\r\n])%%Page:")


@dataclass
class DocumentInvalid(DomainError):
    """The document's content is empty, truncated, unreadable or not its declared format;
    nothing was kept."""

    code: str = "document-invalid"
    status: int = 422
    title: str = "The document is not valid"


@dataclass
class DocumentFormatUnsupported(DomainError):
    """A format the platform cannot check (so does not print), or octet-stream content
    of no known format."""

    code: str = "document-format-not-supported"
    status: int = 415
    title: str = "Document format not supported"
    errors: list[FieldError] = field(
        default_factory=lambda: [
            FieldError("format", "one of " + ", ".join(sorted([*CHECKED, E2E_FORMAT])))
        ]
    )


@dataclass(frozen=True)
class Inspected:
    """A document as its content says: its format and its page count (at least 1)."""

    format: str
    pages: int


def _refuse(reason: str) -> DocumentInvalid:
    return DocumentInvalid(f"the document {reason}", [FieldError("document", reason)])


def _size(handle: BinaryIO) -> int:
    return os.fstat(handle.fileno()).st_size


def _edges(handle: BinaryIO, size: int) -> tuple[bytes, bytes]:
    handle.seek(0)
    head = handle.read(_EDGE)
    handle.seek(max(0, size - _EDGE))
    return head, handle.read(_EDGE)


def _scan(handle: BinaryIO, pattern: re.Pattern[bytes], overlap: int) -> int:
    """Occurrences of ``pattern`` in the whole file, read in bounded chunks."""
    handle.seek(0)
    count, tail = 0, b""
    while chunk := handle.read(_READ):
        window = tail + chunk
        ends = [m.end() for m in pattern.finditer(window)]
        count += sum(1 for e in ends if e > len(tail))
        tail = window[-overlap:]
    return count


def _pdf(handle: BinaryIO, size: int) -> int:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes are not ours to log
    head, tail = _edges(handle, size)
    if b"%PDF-" not in head:
        raise _refuse("is not a PDF: it does not start with %PDF-")
    if b"%%EOF" not in tail:
        raise _refuse("is truncated: a PDF ends with %%EOF")
    handle.seek(0)
    try:
        reader = PdfReader(handle, strict=size > PDF_REPAIR_LIMIT)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _refuse("is protected by a password")
        pages = len(reader.pages)
    except DocumentInvalid:
        raise
    except Exception as exc:  # any failure of the parser on hostile input
        raise _refuse(f"is not a readable PDF ({type(exc).__name__})") from None
    if pages < 1:
        raise _refuse("has no pages")
    return pages


def _postscript(handle: BinaryIO, size: int) -> int:
    head, tail = _edges(handle, size)
    if not head.lstrip(b"\x04").startswith(b"%!"):
        raise _refuse("is not PostScript: it does not start with %!")
    if b"%%EOF" not in tail:
        raise _refuse("is truncated: it does not end with %%EOF")
    pages = _scan(handle, _PS_PAGE, 16)
    if pages < 1:
        raise _refuse("has no %%Page comments: its pages cannot be counted")
    return pages


def _pwg(handle: BinaryIO, size: int) -> int:
    handle.seek(0)
    first = handle.read(4 + _PWG_HEADER)
    if not first.startswith(b"RaS2"):
        raise _refuse("is not a PWG raster: it does not start with RaS2")
    if len(first) < 4 + _PWG_HEADER or not first[4:].startswith(b"PwgRaster\x00"):
        raise _refuse("is truncated: its first page header is incomplete")
    width, height = struct.unpack(">II", first[4 + 372 : 4 + 380])
    if not width or not height:
        raise _refuse("has a page of no width or height")
    return _scan(handle, _PWG_PAGE, 10)


def _urf(handle: BinaryIO, size: int) -> int:
    handle.seek(0)
    head = handle.read(12)
    if not head.startswith(b"UNIRAST\x00"):
        raise _refuse("is not an Apple raster (URF): it does not start with UNIRAST")
    if len(head) < 12:
        raise _refuse("is truncated: its header is incomplete")
    (pages,) = struct.unpack(">I", head[8:12])
    if pages < 1:
        raise _refuse("has no pages")
    if size < 12 + pages * _URF_PAGE_HEADER:
        raise _refuse(f"is truncated: {pages} pages announced, not there")
    return int(pages)


def _jpeg(handle: BinaryIO, size: int) -> int:
    head, tail = _edges(handle, size)
    if not head.startswith(b"\xff\xd8\xff"):
        raise _refuse("is not a JPEG image")
    if not tail.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise _refuse("is truncated: a JPEG image ends with its end-of-image marker")
    return 1


def _png(handle: BinaryIO, size: int) -> int:
    head, tail = _edges(handle, size)
    if not head.startswith(b"\x89PNG\r\n\x1a\n"):
        raise _refuse("is not a PNG image")
    if not tail.endswith(b"IEND\xaeB`\x82"):
        raise _refuse("is truncated: a PNG image ends with its IEND chunk")
    return 1


def _sheets(lines: int) -> int:
    return max(1, -(-lines // TEXT_LINES_PER_PAGE))


def _text(handle: BinaryIO, size: int) -> int:
    decoder = codecs.getincrementaldecoder("utf-8")()
    done, lines, partial = 0, 0, False  # pages of finished sections; the current one's
    handle.seek(0)
    while True:
        chunk = handle.read(_READ)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise _refuse("is not plain text: it is not valid UTF-8") from None
        if "\x00" in text:
            raise _refuse("is not plain text: it holds NUL bytes")
        for number, section in enumerate(text.split("\f")):
            if number:  # a form feed ends a page
                done, lines, partial = done + _sheets(lines + partial), 0, False
            lines += section.count("\n")
            if section:
                partial = not section.endswith("\n")
        if not chunk:
            last = lines + partial
            return done + _sheets(last) if last or not done else done


CHECKED: dict[str, Callable[[BinaryIO, int], int]] = {
    PDF: _pdf,
    POSTSCRIPT: _postscript,
    PWG_RASTER: _pwg,
    URF: _urf,
    JPEG: _jpeg,
    PNG: _png,
    TEXT: _text,
}
"""Each format the platform prints and the check that counts a document's pages."""


def sniff(head: bytes) -> str | None:
    """The format of a document from its first octets (for ``application/octet-stream``)."""
    stripped = head.lstrip(b"\x04")
    for magic, found in (
        (b"%PDF-", PDF),
        (b"%!", POSTSCRIPT),
        (b"RaS2", PWG_RASTER),
        (b"UNIRAST", URF),
        (b"\xff\xd8\xff", JPEG),
        (b"\x89PNG\r\n\x1a\n", PNG),
    ):
        if (stripped if found == POSTSCRIPT else head).startswith(magic):
            return found
    return None


def _protected(handle: BinaryIO, pages: int | None) -> Inspected:
    """A protected document: its structure checked, its pages as its sender declares."""
    try:
        check_structure(handle)
    except E2EError as exc:
        raise _refuse(f"is not a valid protected document: {exc}") from None
    if pages is None or pages < 1:
        reason = "a protected document's pages cannot be counted: declare them"
        raise DocumentInvalid(reason, [FieldError("pages", reason)])
    return Inspected(E2E_FORMAT, pages)


def inspect(handle: BinaryIO, declared: str, declared_pages: int | None = None) -> Inspected:
    """The document in ``handle`` (a seekable file) checked against its ``declared``
    format: DocumentInvalid or DocumentFormatUnsupported when it is not what it says.
    ``declared_pages`` counts only for a protected document, whose pages cannot be read."""
    size = _size(handle)
    if size == 0:
        raise _refuse("is empty")
    if declared == E2E_FORMAT:
        return _protected(handle, declared_pages)
    document_format = declared
    if declared == AUTO:
        handle.seek(0)
        found = sniff(handle.read(16))
        if found is None:
            raise DocumentFormatUnsupported(
                "the document's format is not recognised from its content; name it in Content-Type",
                [FieldError("document", "of no format the platform prints")],
            )
        document_format = found
    check = CHECKED.get(document_format)
    if check is None:
        raise DocumentFormatUnsupported(
            f"{declared} is not a format the platform prints; "
            f"send one of {', '.join(sorted(CHECKED))}"
        )
    pages = check(handle, size)
    if pages < 1:
        raise _refuse("has no pages")
    return Inspected(document_format, pages)
