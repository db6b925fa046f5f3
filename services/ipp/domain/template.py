"""Job template attributes (RFC 8011 §5.2, PWG 5100.7) as a job's :class:`JobSettings`.

A value the endpoint cannot read, or one the target's capabilities refuse (the same
:func:`shared.printing.settings.check` queues applies), is named in the unsupported
attributes group; the request is then refused with
``client-error-attributes-or-values-not-supported``. Attributes that are not job
template attributes at all are ignored and named as well (successful-ok-ignored...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.ipp.domain.media import media_for_size
from services.ipp.domain.model import HOLD_UNTIL
from services.ipp.domain.printer import FINISHINGS, ORIENTATIONS
from services.ipp.protocol.codec import Attribute, Group, Range, Resolution
from services.ipp.protocol.constants import Tag
from shared.printing import documents
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings, check

IPP_NAMES = {
    "copies": "copies", "sides": "sides", "media": "media",
    "print_color_mode": "print-color-mode", "printer_resolution": "printer-resolution",
    "page_ranges": "page-ranges", "orientation": "orientation-requested",
    "finishings": "finishings", "document_format": "document-format",
}  # fmt: skip
_ENUM_FINISHINGS = {v: k for k, v in FINISHINGS.items()}
_ENUM_ORIENTATIONS = {v: k for k, v in ORIENTATIONS.items()}
IGNORED = frozenset({
    "job-priority", "job-sheets", "print-content-optimize", "print-scaling",
    "print-rendering-intent", "job-account-id", "job-accounting-user-id", "job-password",
    "job-password-encryption", "print-quality", "output-bin", "job-cancel-after",
    "job-error-sheet", "job-message-to-operator", "number-up", "presentation-direction-number-up",
})  # fmt: skip
"""Template attributes accepted and left to the printer's default (not in Printcloud's
job settings); values outside what the printer attributes advertise are still refused."""


@dataclass
class Template:
    """Job settings read from a request, and what could not be honoured."""

    settings: JobSettings
    refused: list[Attribute] = field(default_factory=list)
    ignored: list[Attribute] = field(default_factory=list)
    hold_until: str | None = None
    """``indefinite`` when the job waits for Release-Job; None prints on arrival."""


def _one(attr: Attribute, tag: int) -> object:
    if len(attr.values) != 1 or attr.tag != tag:
        raise ValueError
    return attr.first


def read_template(job: Group | None, caps: Capabilities, document_format: str | None) -> Template:
    """The settings of a request's job attributes group, checked against ``caps``."""
    raw: dict[str, Any] = {}
    refused: list[Attribute] = []
    ignored: list[Attribute] = []
    hold_until: str | None = None
    for attr in job.attributes if job else []:
        try:
            if attr.name == "job-hold-until":
                if len(attr.values) != 1 or attr.tag not in (Tag.KEYWORD, Tag.NAME):
                    raise ValueError
                if attr.first not in HOLD_UNTIL:
                    raise ValueError
                hold_until = None if attr.first == "no-hold" else str(attr.first)
            elif attr.name == "copies":
                raw["copies"] = _one(attr, Tag.INTEGER)
            elif attr.name in ("sides", "media", "print-color-mode"):
                raw[attr.name.replace("-", "_")] = _one(attr, Tag.KEYWORD)
            elif attr.name == "media-col":
                members = {m.name: m for m in _one(attr, Tag.BEGIN_COLLECTION)}  # type: ignore[attr-defined]
                if "media-size-name" in members:
                    raw["media"] = _one(members["media-size-name"], Tag.KEYWORD)
                elif "media-size" in members:
                    size = {m.name: m.first for m in members["media-size"].first}
                    found = media_for_size(
                        caps.media_supported, size["x-dimension"], size["y-dimension"]
                    )
                    if found is None:
                        raise ValueError
                    raw["media"] = found
            elif attr.name == "printer-resolution":
                res = _one(attr, Tag.RESOLUTION)
                assert isinstance(res, Resolution)
                units = "dpi" if res.units == 3 else "dpcm"
                raw["printer_resolution"] = {"x": res.x, "y": res.y, "units": units}
            elif attr.name == "page-ranges":
                ranges = [v.value for v in attr.values if v.tag == Tag.RANGE]
                if len(ranges) != len(attr.values):
                    raise ValueError
                raw["page_ranges"] = [
                    {"first": r.lower, "last": r.upper} for r in ranges if isinstance(r, Range)
                ]
            elif attr.name == "orientation-requested":
                raw["orientation"] = _ENUM_ORIENTATIONS[_one(attr, Tag.ENUM)]  # type: ignore[index]
            elif attr.name == "finishings":
                chosen = [_ENUM_FINISHINGS[v.value] for v in attr.values if v.tag == Tag.ENUM]  # type: ignore[index]
                raw["finishings"] = [f for f in chosen if f != "none"]
            elif attr.name == "multiple-document-handling":
                handling = _one(attr, Tag.KEYWORD)
                if handling not in ("separate-documents-uncollated-copies",
                                    "separate-documents-collated-copies"):  # fmt: skip
                    raise ValueError
                raw["collate"] = handling == "separate-documents-collated-copies"
            elif attr.name == "print-quality":
                if _one(attr, Tag.ENUM) != 4:
                    raise ValueError
            elif attr.name not in IGNORED:
                ignored.append(Attribute.of(attr.name, Tag.UNSUPPORTED, None))
        except (ValueError, KeyError, TypeError, AttributeError, AssertionError):
            refused.append(attr)
    try:
        settings = JobSettings.model_validate(raw)
    except ValidationError as exc:
        names = {
            IPP_NAMES.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors() if e["loc"]
        }
        refused += [a for a in (job.attributes if job else []) if a.name in names]
        settings = JobSettings.model_validate(
            {k: v for k, v in raw.items() if IPP_NAMES.get(k, k) not in names}
        )
    for problem in check(settings, caps, None):
        name = IPP_NAMES.get(problem.setting, problem.setting)
        named = job.get(name) if job else None
        if named is None and name == "media" and job is not None:
            named = job.get("media-col")
        if named is not None and named not in refused:
            refused.append(named)
    return Template(settings, refused, ignored, hold_until)


sniff = documents.sniff
"""The format of a document from its first octets (the platform's own content check
decides the same way, so the two cannot disagree)."""


def format_supported(document_format: str, caps: Capabilities) -> bool:
    """Whether the target takes ``document_format`` (octet-stream is sniffed later)."""
    return document_format == "application/octet-stream" or document_format in (
        caps.document_format_supported or ["application/pdf"]
    )
