"""The job state machine, usage of a completed job, page counting while streaming, and
HTTP byte ranges: pure functions, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.queues.domain.errors import TransitionRefused
from services.queues.domain.model import (
    FINAL,
    STATES,
    TRANSITIONS,
    Job,
    can_transition,
    completion_usage,
    fetchable,
    transition,
)
from shared.blobstore import RangeNotSatisfiable, byte_range
from shared.printing.pages import counter_for
from shared.printing.settings import JobSettings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _job(state: str = "pending", **kw: object) -> Job:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "tenant_id": uuid.uuid4(),
        "owner_id": uuid.uuid4(),
        "document_id": uuid.uuid4(),
        "release": "direct",
        "title": "t",
        "pages": 3,
        "settings": JobSettings(),
        "state": state,
        "printer_id": uuid.uuid4(),
        "virtual_printer_id": None,
    }
    return Job(**{**fields, **kw})  # type: ignore[arg-type]


def test_every_state_has_its_transitions_and_final_states_have_none() -> None:
    assert set(TRANSITIONS) == set(STATES)
    for state in FINAL:
        assert TRANSITIONS[state] == frozenset()
    for state, targets in TRANSITIONS.items():
        assert targets <= set(STATES), state


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("pending", "queued"),
        ("pending", "held"),
        ("held", "queued"),
        ("queued", "sent"),
        ("sent", "printing"),
        ("printing", "completed"),
        ("queued", "queued"),
        ("held", "expired"),
        ("pending", "canceled"),
        ("held", "canceled"),
        ("queued", "canceled"),
        ("sent", "canceled"),
        ("printing", "canceled"),
        ("printing", "failed"),
    ],
)
def test_allowed_transitions(before: str, after: str) -> None:
    job = transition(_job(before), after, NOW)  # type: ignore[arg-type]
    assert job.state == after
    assert (job.finished_at == NOW) == (after in FINAL)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("completed", "canceled"),
        ("canceled", "queued"),
        ("expired", "queued"),
        ("failed", "completed"),
        ("pending", "sent"),
        ("pending", "completed"),
        ("held", "sent"),
        ("sent", "queued"),
        ("printing", "sent"),
        ("sent", "expired"),
        ("printing", "held"),
    ],
)
def test_refused_transitions_say_why(before: str, after: str) -> None:
    assert not can_transition(before, after)  # type: ignore[arg-type]
    with pytest.raises(TransitionRefused) as refused:
        transition(_job(before), after, NOW)  # type: ignore[arg-type]
    assert refused.value.status == 409 and before in refused.value.detail


def test_cancel_is_possible_in_every_state_before_completion() -> None:
    for state in STATES:
        assert can_transition(state, "canceled") == (state not in FINAL)


def test_usage_of_a_completed_job() -> None:
    duplex = JobSettings(
        copies=2,
        sides="two-sided-long-edge",
        print_color_mode="color",
        page_ranges=[{"first": 1, "last": 3}],
        media="iso_a4_210x297mm",
    )  # type: ignore[list-item]
    usage = completion_usage(_job(pages=5, settings=duplex))
    assert usage == {
        "pages": 5,
        "printed_pages": 6,
        "colour_pages": 6,
        "sheets": 4,
        "copies": 2,
        "sides": "two-sided-long-edge",
        "media": "iso_a4_210x297mm",
    }
    unknown = completion_usage(_job(pages=None))
    assert (unknown["printed_pages"], unknown["sheets"], unknown["sides"]) == (0, 0, "one-sided")


def test_secure_jobs_are_fetchable_only_with_the_owners_session() -> None:
    secure = _job("queued", release="secure")
    assert not fetchable(secure, False) and fetchable(secure, True)
    assert fetchable(_job("sent"), False) and not fetchable(_job("held"), True)


def _count(fmt: str, data: bytes, chunk: int) -> int | None:
    counter = counter_for(fmt)
    for i in range(0, len(data), chunk):
        counter.feed(data[i : i + chunk])
    return counter.pages()


PDF = (
    b"%PDF-1.7\n1 0 obj<</Type/Pages/Kids[2 0 R 3 0 R 4 0 R]>>endobj\n"
    b"2 0 obj<</Type /Page/Parent 1 0 R>>endobj\n3 0 obj<< /Type  /Page >>endobj\n"
    b"4 0 obj<</Type/Page\n/Contents 5 0 R>>endobj\n%%EOF"
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 16, 4096])
def test_pdf_pages_are_counted_across_chunk_boundaries(chunk: int) -> None:
    assert _count("application/pdf", PDF, chunk) == 3


def test_a_pdf_without_visible_page_objects_has_unknown_pages() -> None:
    assert _count("application/pdf", b"%PDF-1.7\n1 0 obj<</Type /Pages>>\n%%EOF", 4) is None
    assert _count("application/pdf", b"<</Type /Page", 100) == 1  # a page at the very end


def _pwg(pages: int) -> bytes:
    header = b"PwgRaster".ljust(64, b"\x00") + b"\x00" * (1796 - 64)
    return b"RaS2" + b"".join(header + bytes([0, 0x80]) * 50 for _ in range(pages))


@pytest.mark.parametrize("chunk", [1, 9, 1000, 65536])
def test_pwg_raster_pages_are_counted_by_their_headers(chunk: int) -> None:
    assert _count("image/pwg-raster", _pwg(4), chunk) == 4
    assert _count("image/pwg-raster", b"XXXX" + _pwg(2)[4:], chunk) is None  # no sync word


def test_images_are_one_page_and_other_formats_unknown() -> None:
    assert _count("image/jpeg", b"\xff\xd8...", 2) == 1
    assert _count("image/png", b"\x89PNG...", 2) == 1
    assert _count("application/postscript", b"%!PS", 2) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=5-2", None),
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),
        ("bytes=-", None),
    ],
)
def test_byte_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_byte_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 1000)
