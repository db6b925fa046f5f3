"""The view reads an IPP header that arrives in pieces (a slow client, small TCP
segments) and keeps the document octets that came with it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from services.ipp.api.views import _read_header
from services.ipp.protocol.codec import Attribute, Group, Incomplete, IppError, Message, encode
from services.ipp.protocol.constants import Status, Tag


class Trickle:
    """request.content handing out ``body`` ``size`` octets at a time."""

    def __init__(self, body: bytes, size: int) -> None:
        self.body = body
        self.size = size

    async def readany(self) -> bytes:
        chunk, self.body = self.body[: self.size], self.body[self.size :]
        return chunk


def _request(body: bytes, size: int) -> Any:
    return SimpleNamespace(content=Trickle(body, size))


HEADER = encode(Message((2, 0), 0x0004, 7, [Group(Tag.OPERATION, [
    Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
    Attribute.of("attributes-natural-language", Tag.LANGUAGE, "en"),
    Attribute.of("printer-uri", Tag.URI, "ipp://h/ipp/print/x"),
    Attribute.of("job-name", Tag.NAME, "n" * 200),
])]))  # fmt: skip


@pytest.mark.parametrize("size", [1, 3, 64, 1000])
async def test_a_header_in_pieces_is_read_whole_and_the_document_follows(size: int) -> None:
    message, first = await _read_header(_request(HEADER + b"%PDF-1.7", size), 1 << 20)
    assert message.request_id == 7 and message.groups[0].get("job-name") is not None
    assert (HEADER + b"%PDF-1.7").startswith(HEADER + first)


async def test_a_truncated_header_is_a_bad_request_and_a_huge_one_too_large() -> None:
    with pytest.raises(Incomplete) as caught:
        await _read_header(_request(HEADER[:-5], 7), 1 << 20)
    assert caught.value.status == Status.BAD_REQUEST and caught.value.version == (2, 0)
    huge = HEADER[:-1] + (bytes([Tag.TEXT]) + b"\x00\x01x\x03\xff" + b"y" * 1023) * 3000
    for size in (4096, len(huge) + 3):  # in pieces, or all in one read
        with pytest.raises(IppError) as too_large:
            await _read_header(_request(huge + b"\x03", size), 1 << 20)
        assert too_large.value.status == Status.REQUEST_ENTITY_TOO_LARGE
