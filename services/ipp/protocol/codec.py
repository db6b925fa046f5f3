"""The IPP message encoding of RFC 8010 §3: decoding requests, encoding responses.

A message is a header (version, operation-id or status-code, request-id), attribute
groups, the end-of-attributes tag and then the document data. :func:`decode` reads the
header and the groups from the front of a buffer and says how many octets they took,
so the caller can stream the rest (the document) without holding it: while the buffer
ends inside the attributes it raises :class:`Incomplete` and the caller reads more.

Values are Python objects by their value tag: integers and enums ``int``, booleans
``bool``, dateTime :class:`datetime`, resolution :class:`Resolution`, rangeOfInteger
:class:`Range`, collections a list of member :class:`Attribute`, text/name with a
language :class:`Localized`, octetString ``bytes``, every character-string type
``str`` and out-of-band values (no-value, unknown, unsupported) ``None``. Each value
keeps its tag, so a 1setOf may mix them (``name`` and ``no-value``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from services.ipp.protocol.constants import (
    FIXED_LENGTH,
    MAX_VALUE,
    OUT_OF_BAND,
    SUPPORTED_VERSIONS,
    Status,
    Tag,
)

MAX_DEPTH = 8
"""Deepest nesting of collections accepted (media-col holds media-size: depth 2)."""


class IppError(Exception):
    """A request that gets an error status instead of an answer."""

    def __init__(self, status: Status, message: str, request_id: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.request_id = request_id
        self.version: tuple[int, int] | None = None
        """The request's version, once known (the answer's is the same)."""


class Incomplete(IppError):
    """The buffer ends before the end-of-attributes tag (a truncated request when no
    more octets will come)."""

    def __init__(self, request_id: int = 0) -> None:
        super().__init__(
            Status.BAD_REQUEST, "the request ends before its attributes do", request_id
        )


class Resolution(NamedTuple):
    """A resolution value: cross-feed, feed, units (3 dpi, 4 dpcm)."""

    x: int
    y: int
    units: int = 3


class Range(NamedTuple):
    """A rangeOfInteger value, inclusive."""

    lower: int
    upper: int


class Localized(NamedTuple):
    """textWithLanguage / nameWithLanguage."""

    language: str
    text: str


@dataclass(frozen=True)
class Value:
    """One value and its tag."""

    tag: int
    value: object


@dataclass
class Attribute:
    """A named attribute with one or more values (1setOf)."""

    name: str
    values: list[Value]

    @classmethod
    def of(cls, name: str, tag: int, *values: object) -> Attribute:
        """An attribute whose values all have ``tag``."""
        return cls(name, [Value(tag, v) for v in values])

    @property
    def tag(self) -> int:
        """The first value's tag."""
        return self.values[0].tag

    @property
    def first(self) -> object:
        """The first value."""
        return self.values[0].value


@dataclass
class Group:
    """An attribute group (operation, job, printer, unsupported, document ...)."""

    tag: int
    attributes: list[Attribute] = field(default_factory=list)

    def get(self, name: str) -> Attribute | None:
        """The attribute called ``name``, or None."""
        return next((a for a in self.attributes if a.name == name), None)

    def add(self, attribute: Attribute) -> None:
        """Append ``attribute``."""
        self.attributes.append(attribute)


@dataclass
class Message:
    """A request (``code`` is the operation-id) or response (the status-code)."""

    version: tuple[int, int]
    code: int
    request_id: int
    groups: list[Group] = field(default_factory=list)

    def group(self, tag: int) -> Group | None:
        """The first group with ``tag``, or None."""
        return next((g for g in self.groups if g.tag == tag), None)

    def groups_of(self, tag: int) -> list[Group]:
        """Every group with ``tag``, in order."""
        return [g for g in self.groups if g.tag == tag]


# --------------------------------------------------------------------------- decoding


class _Reader:
    def __init__(self, buf: bytes | bytearray | memoryview, request_id: int) -> None:
        self.buf = memoryview(buf)
        self.pos = 0
        self.request_id = request_id

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise Incomplete(self.request_id)
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value

    def bad(self, message: str, status: Status = Status.BAD_REQUEST) -> IppError:
        return IppError(status, message, self.request_id)


def _text(r: _Reader, raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise r.bad(f"{what} is not UTF-8") from None


def _date(raw: bytes) -> datetime:
    year, month, day, hour, minute, second, decis, sign, tz_h, tz_m = struct.unpack(
        ">HBBBBBBcBB", raw
    )
    offset = timedelta(hours=tz_h, minutes=tz_m) * (-1 if sign == b"-" else 1)
    return datetime(year, month, day, hour, minute, second, decis * 100_000, timezone(offset))


def _value(r: _Reader, tag: int, raw: bytes, name: str, depth: int) -> object:
    """The Python value of ``raw`` (the value octets) under ``tag``."""
    if tag in OUT_OF_BAND:
        return None
    want = FIXED_LENGTH.get(tag)  # type: ignore[call-overload]
    if want is not None and len(raw) != want:
        raise r.bad(f"{name}: a value of tag {tag:#04x} is {want} octets, not {len(raw)}")
    limit = MAX_VALUE.get(tag)  # type: ignore[call-overload]
    if limit is not None and len(raw) > limit:
        raise r.bad(f"{name}: value longer than {limit} octets", Status.REQUEST_VALUE_TOO_LONG)
    if tag in (Tag.INTEGER, Tag.ENUM):
        number: int = struct.unpack(">i", raw)[0]
        return number
    if tag == Tag.BOOLEAN:
        if raw[0] > 1:
            raise r.bad(f"{name}: a boolean is 0 or 1")
        return raw[0] == 1
    if tag == Tag.DATE_TIME:
        try:
            return _date(raw)
        except ValueError:
            raise r.bad(f"{name}: not a valid dateTime") from None
    if tag == Tag.RESOLUTION:
        x, y, units = struct.unpack(">iib", raw)
        return Resolution(x, y, units)
    if tag == Tag.RANGE:
        return Range(*struct.unpack(">ii", raw))
    if tag in (Tag.TEXT_LANG, Tag.NAME_LANG):
        if len(raw) < 4:
            raise r.bad(f"{name}: truncated value with language")
        n = struct.unpack_from(">H", raw)[0]
        if 2 + n + 2 > len(raw):
            raise r.bad(f"{name}: truncated value with language")
        lang = _text(r, raw[2 : 2 + n], name)
        m = struct.unpack_from(">H", raw, 2 + n)[0]
        if 4 + n + m != len(raw):
            raise r.bad(f"{name}: malformed value with language")
        return Localized(lang, _text(r, raw[4 + n :], name))
    if tag == Tag.OCTET_STRING or tag == Tag.EXTENSION or tag < 0x40:
        return raw
    return _text(r, raw, name)


def _collection(r: _Reader, name: str, depth: int) -> list[Attribute]:
    if depth > MAX_DEPTH:
        raise r.bad(f"{name}: collections nested too deeply")
    members: list[Attribute] = []
    current: Attribute | None = None
    while True:
        tag = r.byte()
        if tag < 0x10:
            raise r.bad(f"{name}: a collection ends without endCollection")
        if r.u16() != 0:
            raise r.bad(f"{name}: a collection member carries a name")
        length = r.u16()
        if tag == Tag.END_COLLECTION:
            r.take(length)
            if current is not None and not current.values:
                raise r.bad(f"{name}: member {current.name} has no value")
            return members
        if tag == Tag.MEMBER_NAME:
            member = _text(r, r.take(length), name)
            if not member:
                raise r.bad(f"{name}: empty member name")
            if current is not None and not current.values:
                raise r.bad(f"{name}: member {current.name} has no value")
            current = Attribute(member, [])
            members.append(current)
            continue
        if current is None:
            raise r.bad(f"{name}: a collection value before its member name")
        if tag == Tag.BEGIN_COLLECTION:
            r.take(length)
            current.values.append(Value(tag, _collection(r, name, depth + 1)))
        else:
            current.values.append(Value(tag, _value(r, tag, r.take(length), name, depth)))


def decode(buf: bytes | bytearray | memoryview) -> tuple[Message, int]:
    """The message at the front of ``buf`` and the octets it takes (the document data
    follows). Raises :class:`Incomplete` while ``buf`` ends inside the attributes and
    :class:`IppError` with the status to answer for a malformed message."""
    if len(buf) < 8:
        raise Incomplete()
    try:
        return _decode(buf)
    except IppError as exc:
        exc.version = (buf[0], buf[1])
        raise


def _decode(buf: bytes | bytearray | memoryview) -> tuple[Message, int]:
    major, minor, code, request_id = struct.unpack_from(">BBHi", buf)
    if (major, minor) not in SUPPORTED_VERSIONS:
        raise IppError(
            Status.VERSION_NOT_SUPPORTED, f"IPP/{major}.{minor} is not supported", request_id
        )
    if request_id <= 0:  # RFC 8011 §4.1.1: 1 to 2**31 - 1
        raise IppError(Status.BAD_REQUEST, "request-id must be positive", request_id)
    r = _Reader(buf, request_id)
    r.pos = 8
    message = Message((major, minor), code, request_id)
    group: Group | None = None
    last: Attribute | None = None
    while True:
        tag = r.byte()
        if tag == Tag.END:
            return message, r.pos
        if tag < 0x10:
            if tag == 0:
                raise r.bad("reserved delimiter tag 0x00")
            group = Group(tag)
            message.groups.append(group)
            last = None
            continue
        if group is None:
            raise r.bad("an attribute before the first attribute group")
        name_length = r.u16()
        name = _text(r, r.take(name_length), "attribute name")
        if name_length and not name.isascii():
            raise r.bad("attribute names are US-ASCII")
        length = r.u16()
        raw = r.take(length)
        if tag == Tag.BEGIN_COLLECTION:
            value: object = _collection(r, name or (last.name if last else ""), 1)
        elif tag in (Tag.END_COLLECTION, Tag.MEMBER_NAME):
            raise r.bad(f"tag {tag:#04x} outside a collection")
        else:
            value = _value(r, tag, raw, name or (last.name if last else ""), 0)
        if name:
            last = Attribute(name, [Value(tag, value)])
            group.add(last)
        elif last is None:
            raise r.bad("an additional value without an attribute")
        else:
            last.values.append(Value(tag, value))


# --------------------------------------------------------------------------- encoding


def _short(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError("an IPP value is at most 65535 octets")
    return struct.pack(">H", len(data)) + data


def _date_bytes(when: datetime) -> bytes:
    when = when.astimezone(UTC)
    return struct.pack(
        ">HBBBBBBcBB", when.year, when.month, when.day, when.hour, when.minute,
        when.second, when.microsecond // 100_000, b"+", 0, 0,
    )  # fmt: skip


def _encode_value(tag: int, value: object) -> bytes:
    if tag in OUT_OF_BAND:
        return b""
    if tag in (Tag.INTEGER, Tag.ENUM):
        return struct.pack(">i", value)
    if tag == Tag.BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag == Tag.DATE_TIME:
        assert isinstance(value, datetime)
        return _date_bytes(value)
    if tag == Tag.RESOLUTION:
        assert isinstance(value, tuple)
        return struct.pack(">iib", *value)
    if tag == Tag.RANGE:
        assert isinstance(value, tuple)
        return struct.pack(">ii", *value)
    if tag in (Tag.TEXT_LANG, Tag.NAME_LANG):
        assert isinstance(value, Localized)
        return _short(value.language.encode()) + _short(value.text.encode())
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _encode_attribute(name: str, values: list[Value], out: bytearray) -> None:
    for i, v in enumerate(values):
        out.append(v.tag)
        out += _short(name.encode("ascii") if i == 0 else b"")
        if v.tag == Tag.BEGIN_COLLECTION:
            out += _short(b"")
            assert isinstance(v.value, list)
            for member in v.value:
                out.append(Tag.MEMBER_NAME)
                out += _short(b"") + _short(member.name.encode("ascii"))
                _encode_attribute("", member.values, out)
            out.append(Tag.END_COLLECTION)
            out += _short(b"") + _short(b"")
        else:
            out += _short(_encode_value(v.tag, v.value))


def encode(message: Message) -> bytes:
    """The octets of ``message`` up to and including the end-of-attributes tag."""
    out = bytearray(struct.pack(">BBHi", *message.version, message.code, message.request_id))
    for group in message.groups:
        out.append(group.tag)
        for attribute in group.attributes:
            _encode_attribute(attribute.name, attribute.values, out)
    out.append(Tag.END)
    return bytes(out)
