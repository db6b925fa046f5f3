"""Upload bodies and their declared content encoding.

A body that says it is compressed is decoded or refused, never stored as it came:
``gzip`` and ``deflate`` are decoded by the server as the bytes arrive, a bounded
piece at a time, and the caller bounds the decoded size (a document's size limit
counts the decoded bytes); every other encoding, a list of encodings included, is
refused with 415 before a byte is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from aiohttp import http_exceptions, web

from shared.errors import DomainError, FieldError

DECODED_ENCODINGS = ("gzip", "deflate")
"""The encodings an upload may declare (besides ``identity``); aiohttp decodes them."""
ACCEPT_ENCODING = ", ".join((*DECODED_ENCODINGS, "identity"))


@dataclass
class EncodingUnsupported(DomainError):
    """The upload declares a content encoding the server does not decode."""

    code: str = "content-encoding-not-supported"
    status: int = 415
    title: str = "Content encoding not supported"
    extensions: dict[str, object] = field(
        default_factory=lambda: {"accepted_encodings": [*DECODED_ENCODINGS, "identity"]},
        kw_only=True,
    )


@dataclass
class EncodingBroken(DomainError):
    """The body does not decode as the encoding it declares."""

    code: str = "content-encoding-invalid"
    status: int = 400
    title: str = "The body does not decode"


def check_encoding(headers: Mapping[str, str], name: str = "Content-Encoding") -> bool:
    """Whether the body is encoded (and will be decoded by the server); EncodingUnsupported
    for an encoding that would be stored as if it were the document."""
    declared = headers.get("Content-Encoding")
    if declared is None or declared.strip().lower() in ("", "identity"):
        return False
    if declared.strip().lower() in DECODED_ENCODINGS:
        return True
    raise EncodingUnsupported(
        f"the body is encoded as {declared!r}; send it as {ACCEPT_ENCODING}",
        [FieldError(name, f"one of {ACCEPT_ENCODING}")],
    )


def check_part_encoding(headers: Mapping[str, str], part: str) -> None:
    """A multipart part is taken as it is: one that declares an encoding is refused."""
    for header in ("Content-Encoding", "Content-Transfer-Encoding"):
        declared = (headers.get(header) or "").strip().lower()
        if declared not in ("", "identity", "binary", "8bit", "7bit"):
            raise EncodingUnsupported(
                f"the {part} part is encoded as {declared!r}; send it unencoded",
                [FieldError(f"{part}.{header}", "identity only")],
            )


async def decoded_chunks(request: web.Request, chunk_size: int) -> AsyncIterator[bytes]:
    """The request body, decoded as its Content-Encoding says, in chunks; EncodingBroken
    when it does not decode."""
    try:
        async for chunk in request.content.iter_chunked(chunk_size):
            yield chunk
    except (http_exceptions.ContentEncodingError, web.RequestPayloadError) as exc:
        cause = exc.__cause__ if isinstance(exc, web.RequestPayloadError) else exc
        if not isinstance(cause, http_exceptions.ContentEncodingError):
            raise
        raise EncodingBroken(
            "the body does not decode as its Content-Encoding says",
            [FieldError("Content-Encoding", "the body is not encoded so")],
        ) from None
