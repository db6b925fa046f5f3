"""The numbers of RFC 8010/8011 (and PWG 5100.x) that the endpoint speaks."""

from __future__ import annotations

from enum import IntEnum


class Tag(IntEnum):
    """Delimiter and value tags (RFC 8010 §3.5)."""

    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED_GROUP = 0x05
    SUBSCRIPTION = 0x06
    EVENT_NOTIFICATION = 0x07
    RESOURCE = 0x08
    DOCUMENT = 0x09
    SYSTEM = 0x0A
    # out-of-band values
    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    NOT_SETTABLE = 0x15
    DELETE_ATTRIBUTE = 0x16
    ADMIN_DEFINE = 0x17
    # integer types
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    # octetString types
    OCTET_STRING = 0x30
    DATE_TIME = 0x31
    RESOLUTION = 0x32
    RANGE = 0x33
    BEGIN_COLLECTION = 0x34
    TEXT_LANG = 0x35
    NAME_LANG = 0x36
    END_COLLECTION = 0x37
    # character-string types
    TEXT = 0x41
    NAME = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    LANGUAGE = 0x48
    MIME_TYPE = 0x49
    MEMBER_NAME = 0x4A
    EXTENSION = 0x7F


GROUP_TAGS = frozenset(range(0x00, 0x10))
OUT_OF_BAND = frozenset({0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17})

# Longest value RFC 8011 §5.1 allows per syntax (octets); longer is request-value-too-long.
MAX_VALUE = {
    Tag.TEXT: 1023, Tag.NAME: 255, Tag.KEYWORD: 255, Tag.URI: 1023, Tag.URI_SCHEME: 63,
    Tag.CHARSET: 63, Tag.LANGUAGE: 63, Tag.MIME_TYPE: 255, Tag.MEMBER_NAME: 255,
    Tag.OCTET_STRING: 1023, Tag.TEXT_LANG: 1023 + 63 + 4, Tag.NAME_LANG: 255 + 63 + 4,
}  # fmt: skip
FIXED_LENGTH = {Tag.INTEGER: 4, Tag.ENUM: 4, Tag.BOOLEAN: 1, Tag.DATE_TIME: 11,
                Tag.RESOLUTION: 9, Tag.RANGE: 8}  # fmt: skip


class Status(IntEnum):
    """status-code values (RFC 8011 §B)."""

    OK = 0x0000
    OK_IGNORED_OR_SUBSTITUTED = 0x0001
    BAD_REQUEST = 0x0400
    FORBIDDEN = 0x0401
    NOT_AUTHENTICATED = 0x0402
    NOT_AUTHORIZED = 0x0403
    NOT_POSSIBLE = 0x0404
    NOT_FOUND = 0x0406
    GONE = 0x0407
    REQUEST_ENTITY_TOO_LARGE = 0x0408
    REQUEST_VALUE_TOO_LONG = 0x0409
    DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A
    ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B
    CHARSET_NOT_SUPPORTED = 0x040D
    CONFLICTING_ATTRIBUTES = 0x040E
    COMPRESSION_NOT_SUPPORTED = 0x040F
    DOCUMENT_FORMAT_ERROR = 0x0411
    INTERNAL_ERROR = 0x0500
    OPERATION_NOT_SUPPORTED = 0x0501
    SERVICE_UNAVAILABLE = 0x0502
    VERSION_NOT_SUPPORTED = 0x0503
    NOT_ACCEPTING_JOBS = 0x0506
    MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED = 0x0509


STATUS_NAMES = {s: s.name.lower().replace("_", "-") for s in Status}


class Op(IntEnum):
    """operation-id values this endpoint knows by name."""

    PRINT_JOB = 0x0002
    PRINT_URI = 0x0003
    VALIDATE_JOB = 0x0004
    CREATE_JOB = 0x0005
    SEND_DOCUMENT = 0x0006
    SEND_URI = 0x0007
    CANCEL_JOB = 0x0008
    GET_JOB_ATTRIBUTES = 0x0009
    GET_JOBS = 0x000A
    GET_PRINTER_ATTRIBUTES = 0x000B
    HOLD_JOB = 0x000C
    RELEASE_JOB = 0x000D
    CANCEL_MY_JOBS = 0x0039
    CLOSE_JOB = 0x003B
    IDENTIFY_PRINTER = 0x003C


class JobState(IntEnum):
    """job-state (RFC 8011 §5.3.7)."""

    PENDING = 3
    PENDING_HELD = 4
    PROCESSING = 5
    PROCESSING_STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9


class PrinterState(IntEnum):
    """printer-state (RFC 8011 §5.4.11)."""

    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


SUPPORTED_VERSIONS = frozenset({(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)})
