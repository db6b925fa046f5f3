"""What a document really is: each format's check, from the bytes alone."""

from __future__ import annotations

import io
import struct
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

import pytest
from pypdf import PdfWriter

from shared.printing.documents import (
    DocumentFormatUnsupported,
    DocumentInvalid,
    Inspected,
    inspect,
    sniff,
)
from shared.testing.documents import pdf, png, pwg_raster


@pytest.fixture
def stored() -> Iterator[object]:
    files: list[BinaryIO] = []

    def put(data: bytes) -> BinaryIO:
        handle = tempfile.TemporaryFile()
        handle.write(data)
        handle.flush()
        files.append(handle)
        return handle  # type: ignore[return-value]

    yield put
    for handle in files:
        handle.close()


def _check(stored: object, data: bytes, declared: str) -> Inspected:
    return inspect(stored(data), declared)  # type: ignore[operator]


def _urf(pages: int) -> bytes:
    return b"UNIRAST\x00" + struct.pack(">I", pages) + b"\x00" * 32 * pages


def _encrypted(password: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password=password, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        (pdf(7), "application/pdf", Inspected("application/pdf", 7)),
        (pdf(2), "application/octet-stream", Inspected("application/pdf", 2)),
        (pwg_raster(3), "image/pwg-raster", Inspected("image/pwg-raster", 3)),
        (_urf(4), "image/urf", Inspected("image/urf", 4)),
        (png(), "image/png", Inspected("image/png", 1)),
        (b"\xff\xd8\xff\xe0 jpeg \xff\xd9", "image/jpeg", Inspected("image/jpeg", 1)),
        (
            b"%!PS-Adobe-3.0\n%%Page: 1 1\nshowpage\n%%Page: 2 2\n%%EOF\n",
            "application/postscript",
            Inspected("application/postscript", 2),
        ),
        ("héllo\n".encode() * 61, "text/plain", Inspected("text/plain", 2)),
        (b"one\fTwo\fthree\n", "text/plain", Inspected("text/plain", 3)),
        (_encrypted(""), "application/pdf", Inspected("application/pdf", 1)),
    ],
)
def test_documents_of_each_format_are_typed_and_counted(
    stored: object, data: bytes, declared: str, expected: Inspected
) -> None:
    assert _check(stored, data, declared) == expected


@pytest.mark.parametrize(
    ("data", "declared", "reason"),
    [
        (b"", "application/pdf", "is empty"),
        (pdf(3)[:-100], "application/pdf", "truncated"),
        (pdf(3).replace(b"/Type /Page ", b"/Type /Xxxx "), "application/pdf", "no pages"),
        (_encrypted("secret"), "application/pdf", "password"),
        (pdf(1), "image/png", "not a PNG"),
        (png()[:-6], "image/png", "truncated"),
        (b"\xff\xd8\xff\xe0 cut", "image/jpeg", "truncated"),
        (_urf(4)[:40], "image/urf", "truncated"),
        (b"%!PS\nshowpage\n%%EOF\n", "application/postscript", "no %%Page"),
        (b"text\x00with nul", "text/plain", "NUL"),
    ],
)
def test_documents_that_are_not_what_they_say_are_refused_with_the_reason(
    stored: object, data: bytes, declared: str, reason: str
) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        _check(stored, data, declared)
    assert reason in refused.value.detail
    assert [e.field for e in refused.value.errors] == ["document"]


def test_formats_nothing_vouches_for_are_refused(stored: object) -> None:
    for data, declared in (
        (pdf(1), "application/vnd.hp-pcl"),
        (b"MZ\x90\x00", "application/octet-stream"),
    ):
        with pytest.raises(DocumentFormatUnsupported) as refused:
            _check(stored, data, declared)
        assert refused.value.status == 415
    assert sniff(b"\x04%!PS-Adobe") == "application/postscript"
    assert sniff(b"GIF89a") is None
