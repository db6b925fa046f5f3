"""The IPP operations against an in-memory repository and a fake public API: what is
printed with which settings, what is refused with which status and unsupported
attributes, and how jobs read in IPP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.ipp.domain.model import Marker, Target
from services.ipp.handlers import control, jobs, printer
from services.ipp.handlers.common import Call, DocumentStream
from services.ipp.protocol.codec import Attribute, Group, IppError, Message
from services.ipp.protocol.constants import JobState, Op, PrinterState, Status, Tag
from services.ipp.upstream import ApiError
from shared.printing.capabilities import Capabilities
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.ipp import FakeApi, FakeIppRepository

PRINTER = Target(uuid.uuid4(), "printer", "Office", "Floor 2", "Acme Laser", True)
CAPS = Capabilities(
    document_format_supported=["application/pdf", "image/urf", "text/plain"],
    media_supported=["iso_a4_210x297mm", "na_letter_8.5x11in"],
    sides_supported=["one-sided"],
    print_color_mode_supported=["monochrome", "color"],
    copies_supported={"min": 1, "max": 9},
)
URI = f"ipp://h/ipp/print/{PRINTER.id}"


class World:
    def __init__(self, target: Target = PRINTER) -> None:
        self.repo = FakeIppRepository()
        self.tx = InMemoryTransactions(self.repo)
        self.api = FakeApi(target, CAPS)
        self.target = target

    def call(
        self,
        op: int,
        *extra: Attribute,
        job: list[Attribute] | None = None,
        document: bytes = b"",
        owner: str = "ada",
    ) -> Call:
        groups = [
            Group(
                Tag.OPERATION,
                [
                    Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
                    Attribute.of("attributes-natural-language", Tag.LANGUAGE, "en"),
                    Attribute.of("printer-uri", Tag.URI, URI),
                    *extra,
                ],
            )
        ]
        if job:
            groups.append(Group(Tag.JOB, job))

        async def rest() -> AsyncIterator[bytes]:
            for i in range(0, len(document), 3):
                yield document[i : i + 3]

        now = datetime.now(UTC)
        return Call(
            Message((2, 0), op, 1, groups),
            self.api,
            self.tx,
            owner,
            None,
            owner,  # type: ignore[arg-type]
            self.target,
            CAPS,
            URI,
            False,
            now,
            now,
            DocumentStream(b"", rest()),
        )


def job_attrs(message: Message) -> dict[str, Any]:
    group = message.group(Tag.JOB)
    assert group is not None
    return {a.name: a.first for a in group.attributes}


def unsupported(message: Message) -> list[str]:
    group = message.group(Tag.UNSUPPORTED_GROUP)
    return [a.name for a in group.attributes] if group else []


PDF = b"%PDF-1.4 a document"


async def test_print_job_streams_the_document_and_makes_a_job_with_its_settings() -> None:
    w = World()
    answer = await jobs.print_job(
        w.call(
            Op.PRINT_JOB,
            Attribute.of("job-name", Tag.NAME, "Report"),
            Attribute.of("document-format", Tag.MIME_TYPE, "application/pdf"),
            job=[
                Attribute.of("copies", Tag.INTEGER, 2),
                Attribute.of("print-color-mode", Tag.KEYWORD, "color"),
                Attribute.of(
                    "media-col",
                    Tag.BEGIN_COLLECTION,
                    [
                        Attribute.of(
                            "media-size",
                            Tag.BEGIN_COLLECTION,
                            [
                                Attribute.of("x-dimension", Tag.INTEGER, 21590),
                                Attribute.of("y-dimension", Tag.INTEGER, 27940),
                            ],
                        )
                    ],
                ),
            ],
            document=PDF,
        )
    )
    assert answer.code == Status.OK
    attrs = job_attrs(answer)
    assert attrs["job-id"] == 1 and attrs["job-uri"] == f"{URI}/1"
    assert attrs["job-state"] == JobState.PENDING and attrs["job-state-reasons"] == "job-queued"
    [(fmt, data)] = w.api.documents.values()
    assert (fmt, data) == ("application/pdf", PDF)
    [job] = w.api.jobs.values()
    assert job["settings"] == {
        "copies": 2,
        "print_color_mode": "color",
        "media": "na_letter_8.5x11in",
    }
    assert job["title"] == "Report"
    assert w.repo.jobs[1].job_uuid == uuid.UUID(job["id"])


async def test_octet_stream_documents_are_recognised_by_their_first_octets() -> None:
    w = World()
    answer = await jobs.print_job(w.call(Op.PRINT_JOB, document=b"UNIRAST\x00pages"))
    assert answer.code == Status.OK
    assert [f for f, _ in w.api.documents.values()] == ["image/urf"]


async def test_unsupported_values_are_refused_naming_the_attributes_and_nothing_is_printed() -> (
    None
):
    w = World()
    with pytest.raises(IppError) as caught:
        call = w.call(
            Op.PRINT_JOB,
            job=[
                Attribute.of("sides", Tag.KEYWORD, "two-sided-long-edge"),
                Attribute.of("copies", Tag.INTEGER, 10),
                Attribute.of("media", Tag.KEYWORD, "iso_a4_210x297mm"),
            ],
            document=PDF,
        )
        await jobs.print_job(call)
    assert caught.value.status == Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert sorted(a.name for a in call.unsupported) == ["copies", "sides"]
    assert not w.api.documents and not w.repo.jobs


async def test_a_format_the_printer_does_not_take_is_document_format_not_supported() -> None:
    w = World()
    call = w.call(Op.VALIDATE_JOB, Attribute.of("document-format", Tag.MIME_TYPE, "image/jpeg"))
    with pytest.raises(IppError) as caught:
        await printer.validate_job(call)
    assert caught.value.status == Status.DOCUMENT_FORMAT_NOT_SUPPORTED
    assert [a.name for a in call.unsupported] == ["document-format"]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (422, "document-invalid", Status.DOCUMENT_FORMAT_ERROR),
        (415, "document-format-not-supported", Status.DOCUMENT_FORMAT_NOT_SUPPORTED),
    ],
)
async def test_a_document_the_platform_refuses_by_content_is_a_document_format_error(
    status: int, code: str, expected: Status
) -> None:
    w = World()
    w.api.refuse_upload = ApiError(status, {"code": code, "detail": "the document is empty"})
    call = w.call(Op.PRINT_JOB, document=PDF)
    with pytest.raises(IppError) as caught:
        await jobs.print_job(call)
    assert caught.value.status == expected
    assert "empty" in str(caught.value)
    assert w.api.jobs == {} and w.repo.jobs == {}


async def test_the_apis_refusal_of_settings_names_the_ipp_attribute() -> None:
    w = World()
    w.api.refuse_submit = ApiError(
        422,
        {
            "detail": "no",
            "invalid_settings": [
                {
                    "setting": "media",
                    "value": "iso_a4_210x297mm",
                    "allowed": [],
                    "reason": "not loaded",
                }
            ],
        },
    )
    call = w.call(
        Op.PRINT_JOB, job=[Attribute.of("media", Tag.KEYWORD, "iso_a4_210x297mm")], document=PDF
    )
    with pytest.raises(IppError) as caught:
        await jobs.print_job(call)
    assert caught.value.status == Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert [a.name for a in call.unsupported] == ["media"]
    assert not w.repo.jobs


async def test_unknown_job_attributes_are_ignored_and_named() -> None:
    w = World()
    answer = await printer.validate_job(
        w.call(Op.VALIDATE_JOB, job=[Attribute.of("x-vendor-thing", Tag.KEYWORD, "on")])
    )
    assert answer.code == Status.OK_IGNORED_OR_SUBSTITUTED
    assert unsupported(answer) == ["x-vendor-thing"]


async def test_create_job_waits_for_send_document_which_only_its_owner_may_send() -> None:
    w = World()
    created = await jobs.create_job(
        w.call(Op.CREATE_JOB, job=[Attribute.of("copies", Tag.INTEGER, 3)])
    )
    job_id = job_attrs(created)["job-id"]
    assert w.repo.jobs[job_id].state == "awaiting-document" and not w.api.jobs
    last = Attribute.of("last-document", Tag.BOOLEAN, True)
    ref = Attribute.of("job-id", Tag.INTEGER, job_id)
    with pytest.raises(IppError) as caught:
        await jobs.send_document(w.call(Op.SEND_DOCUMENT, ref, last, document=PDF, owner="eve"))
    assert caught.value.status == Status.NOT_FOUND
    sent = await jobs.send_document(w.call(Op.SEND_DOCUMENT, ref, last, document=PDF))
    assert sent.code == Status.OK
    [job] = w.api.jobs.values()
    assert job["settings"] == {"copies": 3}
    with pytest.raises(IppError) as caught:
        await jobs.send_document(w.call(Op.SEND_DOCUMENT, ref, last, document=PDF))
    assert caught.value.status == Status.NOT_POSSIBLE


async def test_cancel_job_and_job_states_follow_the_printcloud_job() -> None:
    w = World()
    printed = job_attrs(await jobs.print_job(w.call(Op.PRINT_JOB, document=PDF)))["job-id"]
    ref = Attribute.of("job-id", Tag.INTEGER, printed)
    [job] = w.api.jobs.values()
    job["state"] = "completed"
    job["finished_at"] = datetime.now(UTC).isoformat()
    got = job_attrs(await jobs.get_job_attributes(w.call(Op.GET_JOB_ATTRIBUTES, ref)))
    assert (
        got["job-state"] == JobState.COMPLETED
        and got["job-state-reasons"] == "job-completed-successfully"
    )
    with pytest.raises(IppError) as caught:
        await jobs.cancel_job(w.call(Op.CANCEL_JOB, ref))
    assert caught.value.status == Status.NOT_POSSIBLE
    created = job_attrs(await jobs.create_job(w.call(Op.CREATE_JOB)))["job-id"]
    await jobs.cancel_job(w.call(Op.CANCEL_JOB, Attribute.of("job-id", Tag.INTEGER, created)))
    assert w.repo.jobs[created].state == "canceled"
    done = await jobs.get_jobs(
        w.call(Op.GET_JOBS, Attribute.of("which-jobs", Tag.KEYWORD, "completed"))
    )
    assert sorted(
        job_attrs(Message((2, 0), 0, 1, [g]))["job-id"] for g in done.groups_of(Tag.JOB)
    ) == [printed, created]
    assert not (await jobs.get_jobs(w.call(Op.GET_JOBS))).groups_of(Tag.JOB)
    assert not (await jobs.get_jobs(w.call(Op.GET_JOBS, owner="eve"))).groups_of(Tag.JOB)


async def test_printer_attributes_come_from_the_capabilities_and_presence() -> None:
    w = World(Target(PRINTER.id, "printer", "Office", "", "Acme", online=False))
    answer = await printer.get_printer_attributes(w.call(Op.GET_PRINTER_ATTRIBUTES))
    group = answer.group(Tag.PRINTER)
    assert group is not None
    values = {a.name: [v.value for v in a.values] for a in group.attributes}
    assert values["document-format-supported"] == [
        "application/pdf",
        "image/urf",
        "application/octet-stream",
    ]
    assert values["sides-supported"] == ["one-sided"]
    assert values["copies-supported"] == [(1, 9)]
    assert values["printer-state"] == [PrinterState.STOPPED]
    assert values["printer-state-reasons"] == ["offline-report"]
    assert values["print-color-mode-supported"] == ["monochrome", "color"]
    assert values["printer-uri-supported"] == [URI]
    some = await printer.get_printer_attributes(
        w.call(
            Op.GET_PRINTER_ATTRIBUTES,
            Attribute.of("requested-attributes", Tag.KEYWORD, "media-supported"),
        )
    )
    assert [a.name for a in some.group(Tag.PRINTER).attributes] == ["media-supported"]  # type: ignore[union-attr]


async def test_supply_levels_are_marker_attributes_and_a_low_one_a_state_reason() -> None:
    markers = (
        Marker("Black toner", "toner", "black", 7, low=True),
        Marker("", "drum", "none", None),
    )
    w = World(Target(PRINTER.id, "printer", "Office", "", "Acme", True, markers))
    answer = await printer.get_printer_attributes(w.call(Op.GET_PRINTER_ATTRIBUTES))
    group = answer.group(Tag.PRINTER)
    assert group is not None
    values = {a.name: [v.value for v in a.values] for a in group.attributes}
    assert values["marker-names"] == ["Black toner", "drum"]
    assert values["marker-colors"] == ["#000000", "none"]
    assert values["marker-types"] == ["toner", "opc"]
    assert values["marker-levels"] == [7, -2]
    assert values["printer-state"] == [PrinterState.IDLE]
    assert values["printer-state-reasons"] == ["toner-low-warning"]


HOLD = Attribute.of("job-hold-until", Tag.KEYWORD, "indefinite")


async def test_a_held_job_stores_its_document_and_prints_once_released() -> None:
    w = World()
    held = job_attrs(await jobs.print_job(w.call(Op.PRINT_JOB, job=[HOLD], document=PDF)))
    assert held["job-state"] == JobState.PENDING_HELD
    assert held["job-state-reasons"] == "job-hold-until-specified"
    [(_, stored)] = w.api.documents.values()
    assert stored == PDF and not w.api.jobs  # in the blob store, not a Printcloud job yet
    ref = Attribute.of("job-id", Tag.INTEGER, held["job-id"])
    with pytest.raises(IppError) as caught:  # only its owner releases it
        await control.release_job(w.call(Op.RELEASE_JOB, ref, owner="eve"))
    assert caught.value.status == Status.NOT_FOUND
    released = job_attrs(await control.release_job(w.call(Op.RELEASE_JOB, ref)))
    assert released["job-state"] == JobState.PENDING and len(w.api.jobs) == 1
    with pytest.raises(IppError) as caught:  # queued at the printer: no longer held
        await control.release_job(w.call(Op.RELEASE_JOB, ref))
    assert caught.value.status == Status.NOT_POSSIBLE
    with pytest.raises(IppError) as caught:  # Printcloud holds no queued job
        await control.hold_job(w.call(Op.HOLD_JOB, ref))
    assert caught.value.status == Status.NOT_POSSIBLE
    assert len(w.api.jobs) == 1


async def test_hold_job_before_send_document_holds_the_job_and_cancel_ends_it() -> None:
    w = World()
    created = job_attrs(await jobs.create_job(w.call(Op.CREATE_JOB)))["job-id"]
    ref = Attribute.of("job-id", Tag.INTEGER, created)
    await control.hold_job(w.call(Op.HOLD_JOB, ref))
    last = Attribute.of("last-document", Tag.BOOLEAN, True)
    sent = job_attrs(await jobs.send_document(w.call(Op.SEND_DOCUMENT, ref, last, document=PDF)))
    assert sent["job-state"] == JobState.PENDING_HELD and not w.api.jobs
    await jobs.cancel_job(w.call(Op.CANCEL_JOB, ref))
    assert w.repo.jobs[created].state == "canceled"
    with pytest.raises(IppError) as caught:
        await control.release_job(w.call(Op.RELEASE_JOB, ref))
    assert caught.value.status == Status.NOT_POSSIBLE
    assert not w.api.jobs
    bad = Attribute.of("job-hold-until", Tag.KEYWORD, "evening")
    with pytest.raises(IppError) as caught:
        await printer.validate_job(w.call(Op.VALIDATE_JOB, job=[bad]))
    assert caught.value.status == Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED


async def test_close_job_and_cancel_my_jobs() -> None:
    w = World()
    empty = job_attrs(await jobs.create_job(w.call(Op.CREATE_JOB)))["job-id"]
    closed = await control.close_job(
        w.call(Op.CLOSE_JOB, Attribute.of("job-id", Tag.INTEGER, empty))
    )
    assert job_attrs(closed)["job-state"] == JobState.CANCELED  # nothing to print
    first = job_attrs(await jobs.print_job(w.call(Op.PRINT_JOB, document=PDF)))["job-id"]
    second = job_attrs(await jobs.print_job(w.call(Op.PRINT_JOB, document=PDF)))["job-id"]
    theirs = job_attrs(await jobs.print_job(w.call(Op.PRINT_JOB, document=PDF, owner="eve")))
    with pytest.raises(IppError) as caught:  # another user's job
        await control.cancel_my_jobs(
            w.call(Op.CANCEL_MY_JOBS, Attribute.of("job-ids", Tag.INTEGER, theirs["job-id"]))
        )
    assert caught.value.status == Status.NOT_FOUND
    answer = await control.cancel_my_jobs(w.call(Op.CANCEL_MY_JOBS))
    assert answer.code == Status.OK
    states = {w.repo.jobs[i].job_uuid: None for i in (first, second, theirs["job-id"])}
    assert [w.api.jobs[u]["state"] for u in states] == ["canceled", "canceled", "queued"]


async def test_identify_printer_reaches_a_device_and_not_a_virtual_printer() -> None:
    w = World()
    assert (await printer.identify_printer(w.call(Op.IDENTIFY_PRINTER))).code == Status.OK
    assert w.api.identified == [PRINTER.id]
    w.api.refuse_identify = ApiError(403, {"detail": "admin only"})
    with pytest.raises(IppError) as caught:
        await printer.identify_printer(w.call(Op.IDENTIFY_PRINTER))
    assert caught.value.status == Status.NOT_AUTHORIZED
    virtual = World(Target(uuid.uuid4(), "virtual-printer", "Pull", "", "", True))
    with pytest.raises(IppError) as caught:
        await printer.identify_printer(virtual.call(Op.IDENTIFY_PRINTER))
    assert caught.value.status == Status.OPERATION_NOT_SUPPORTED
    attrs = await printer.get_printer_attributes(virtual.call(Op.GET_PRINTER_ATTRIBUTES))
    group = attrs.group(Tag.PRINTER)
    assert group is not None
    ops = [v.value for v in group.get("operations-supported").values]  # type: ignore[union-attr]
    assert Op.IDENTIFY_PRINTER not in ops and Op.RELEASE_JOB in ops


async def test_release_job_does_not_release_a_pull_job_held_at_a_virtual_printer() -> None:
    w = World(Target(uuid.uuid4(), "virtual-printer", "Pull", "", "", True))
    printed = job_attrs(await jobs.print_job(w.call(Op.PRINT_JOB, document=PDF)))["job-id"]
    [job] = w.api.jobs.values()
    job["state"] = "held"  # waiting for its owner at a member printer
    ref = Attribute.of("job-id", Tag.INTEGER, printed)
    with pytest.raises(IppError) as caught:
        await control.release_job(w.call(Op.RELEASE_JOB, ref))
    assert caught.value.status == Status.NOT_POSSIBLE
    assert "member printer" in caught.value.message and job["state"] == "held"
