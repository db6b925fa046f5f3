"""The RFC 8010 codec: round trips, the status of each malformed request, and a fuzz
test (hypothesis) that no input crashes or hangs the decoder."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ipp.protocol.codec import (
    Attribute,
    Group,
    Incomplete,
    IppError,
    Localized,
    Message,
    Range,
    Resolution,
    Value,
    decode,
    encode,
)
from services.ipp.protocol.constants import Status, Tag


def _request(*attrs: Attribute, op: int = 0x000B, version: tuple[int, int] = (2, 0)) -> Message:
    return Message(
        version,
        op,
        42,
        [
            Group(
                Tag.OPERATION,
                [
                    Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
                    Attribute.of("attributes-natural-language", Tag.LANGUAGE, "en"),
                    *attrs,
                ],
            )
        ],
    )


def _raw_attr(tag: int, name: bytes, value: bytes) -> bytes:
    return (
        bytes([tag]) + struct.pack(">H", len(name)) + name + struct.pack(">H", len(value)) + value
    )


HEADER = struct.pack(">BBHi", 2, 0, 0x000B, 7)


def test_every_value_type_round_trips_and_the_document_follows() -> None:
    when = datetime(2026, 12, 6, 21, 0, 5, tzinfo=UTC)
    message = _request(
        Attribute.of("printer-uri", Tag.URI, "ipp://h/ipp/print/x"),
        Attribute.of("copies", Tag.INTEGER, 3),
        Attribute.of("printer-state", Tag.ENUM, 3),
        Attribute.of("color-supported", Tag.BOOLEAN, True),
        Attribute.of("printer-current-time", Tag.DATE_TIME, when),
        Attribute.of("printer-resolution", Tag.RESOLUTION, Resolution(600, 600, 3)),
        Attribute.of("page-ranges", Tag.RANGE, Range(1, 2), Range(5, 9)),
        Attribute.of("job-name", Tag.NAME_LANG, Localized("fr", "Été")),
        Attribute.of("document-password", Tag.OCTET_STRING, b"\x00\xff"),
        Attribute("job-sheets", [Value(Tag.KEYWORD, "none"), Value(Tag.NO_VALUE, None)]),
        Attribute.of(
            "media-col",
            Tag.BEGIN_COLLECTION,
            [
                Attribute.of(
                    "media-size",
                    Tag.BEGIN_COLLECTION,
                    [
                        Attribute.of("x-dimension", Tag.INTEGER, 21000),
                        Attribute.of("y-dimension", Tag.INTEGER, 29700),
                    ],
                ),
                Attribute.of("media-source", Tag.KEYWORD, "tray-1", "auto"),
            ],
        ),
    )
    raw = encode(message) + b"%PDF-1.4 the document"
    decoded, used = decode(raw)
    assert raw[used:] == b"%PDF-1.4 the document"
    assert decoded == message


def test_status_responses_carry_the_status_code_in_place_of_the_operation() -> None:
    out = Message(
        (1, 1),
        Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
        9,
        [
            Group(Tag.OPERATION, [Attribute.of("attributes-charset", Tag.CHARSET, "utf-8")]),
            Group(
                Tag.UNSUPPORTED_GROUP, [Attribute.of("sides", Tag.KEYWORD, "two-sided-long-edge")]
            ),
        ],
    )
    raw = encode(out)
    assert raw[:8] == struct.pack(">BBHi", 1, 1, 0x040B, 9)
    assert decode(raw)[0] == out


@pytest.mark.parametrize("cut", [0, 5, 8, 9, 12, 20])
def test_a_truncated_request_is_incomplete_a_bad_request(cut: int) -> None:
    raw = encode(_request(Attribute.of("printer-uri", Tag.URI, "ipp://h/p")))
    with pytest.raises(Incomplete) as caught:
        decode(raw[:cut])
    assert caught.value.status == Status.BAD_REQUEST


def test_an_unknown_version_is_version_not_supported() -> None:
    raw = encode(_request(version=(3, 0)))
    with pytest.raises(IppError) as caught:
        decode(raw)
    assert caught.value.status == Status.VERSION_NOT_SUPPORTED
    assert caught.value.request_id == 42 and caught.value.version == (3, 0)


def test_an_oversized_value_is_request_value_too_long() -> None:
    raw = HEADER + b"\x01" + _raw_attr(Tag.NAME, b"job-name", b"x" * 256) + b"\x03"
    with pytest.raises(IppError) as caught:
        decode(raw)
    assert caught.value.status == Status.REQUEST_VALUE_TOO_LONG


@pytest.mark.parametrize(
    "body",
    [
        _raw_attr(Tag.INTEGER, b"copies", b"\x00\x01") + b"\x03",  # integer of 2 octets
        _raw_attr(Tag.BOOLEAN, b"b", b"\x02") + b"\x03",  # boolean 2
        _raw_attr(Tag.KEYWORD, b"", b"orphan") + b"\x03",  # additional value first
        _raw_attr(Tag.MEMBER_NAME, b"", b"m") + b"\x03",  # member outside a collection
        _raw_attr(Tag.TEXT, b"t", b"\xff\xfe") + b"\x03",  # not UTF-8
        _raw_attr(Tag.BEGIN_COLLECTION, b"c", b"") + b"\x01",  # delimiter inside
    ],
)
def test_malformed_attributes_are_bad_requests(body: bytes) -> None:
    with pytest.raises(IppError) as caught:
        decode(HEADER + b"\x01" + body)
    assert caught.value.status == Status.BAD_REQUEST
    assert not isinstance(caught.value, Incomplete)


def test_request_id_zero_and_attributes_before_a_group_are_bad_requests() -> None:
    with pytest.raises(IppError) as caught:
        decode(struct.pack(">BBHi", 2, 0, 0x000B, 0) + b"\x01\x03")
    assert caught.value.status == Status.BAD_REQUEST
    with pytest.raises(IppError) as caught:
        decode(HEADER + _raw_attr(Tag.KEYWORD, b"k", b"v") + b"\x03")
    assert caught.value.status == Status.BAD_REQUEST


def test_deeply_nested_collections_are_refused() -> None:
    body = _raw_attr(Tag.BEGIN_COLLECTION, b"c", b"")
    for _ in range(20):
        body += _raw_attr(Tag.MEMBER_NAME, b"", b"m") + _raw_attr(Tag.BEGIN_COLLECTION, b"", b"")
    with pytest.raises(IppError) as caught:
        decode(HEADER + b"\x01" + body)
    assert caught.value.status == Status.BAD_REQUEST


_valid = encode(
    _request(
        Attribute.of("printer-uri", Tag.URI, "ipp://h/ipp/print/x"),
        Attribute.of(
            "media-col",
            Tag.BEGIN_COLLECTION,
            [Attribute.of("media-size-name", Tag.KEYWORD, "iso_a4_210x297mm")],
        ),
    )
)


@settings(max_examples=1500, deadline=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(lambda data: HEADER + data, st.binary(max_size=300)),
        st.builds(
            lambda i, b: _valid[:i] + bytes([b]) + _valid[i + 1 :],
            st.integers(0, len(_valid) - 1),
            st.integers(0, 255),
        ),
    )
)
def test_the_decoder_answers_every_input_with_a_message_or_an_ipp_status(raw: bytes) -> None:
    try:
        message, used = decode(raw)
    except IppError as exc:
        assert isinstance(exc.status, Status)
        return
    assert 8 <= used <= len(raw)
    # what it decoded encodes again, and decodes to the same message
    again, _ = decode(encode(message))
    assert again == message
