"""The large PDF the streaming test and benchmark send: generated piece by piece, and
a PDF that a parser reads without repairing it (poppler's ``pdfinfo``)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.testing.ipp import MIB, large_pdf


def test_the_large_pdf_is_a_valid_one_page_pdf_whose_pieces_stay_small(tmp_path: Path) -> None:
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        pytest.fail("pdfinfo (Debian poppler-utils) is missing")
    bulk = 3 * MIB + 2048
    pieces = list(large_pdf(bulk))
    assert max(len(p) for p in pieces) <= MIB
    data = b"".join(pieces)
    assert data.startswith(b"%PDF-1.4") and data.endswith(b"%%EOF\n")
    assert len(data) > bulk
    # every cross-reference entry points at its object, startxref at the table
    startxref = int(re.findall(rb"startxref\n(\d+)\n", data)[-1])
    assert data[startxref:].startswith(b"xref\n0 7\n")
    offsets = re.findall(rb"(\d{10}) 00000 n ", data[startxref:])
    assert len(offsets) == 6
    for number, offset in enumerate(offsets, start=1):
        assert data[int(offset) :].startswith(b"%d 0 obj\n" % number)
    assert b"/Length %d >>" % bulk in data
    path = tmp_path / "large.pdf"
    path.write_bytes(data)
    done = subprocess.run([pdfinfo, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert re.search(r"^Pages:\s+1$", done.stdout, re.M), done.stdout
    assert hashlib.sha256(data).digest() == hashlib.sha256(b"".join(large_pdf(bulk))).digest()


def test_a_bulk_that_is_not_whole_kibibytes_is_refused() -> None:
    with pytest.raises(ValueError):
        next(large_pdf(1000))
