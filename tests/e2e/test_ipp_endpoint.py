"""The IPP endpoint against real tools: CUPS' ``ipptool`` (its own test files and the
conformance suites) and raw IPP requests, to printers served by a real agent process
behind the edge. The documents reach the agent's printer byte for byte."""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import struct
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.ipp.protocol.codec import Attribute, Group, Message, decode, encode
from services.ipp.protocol.constants import JobState, Op, Status, Tag
from shared.testing.infra import TestInfra
from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
from tests.support.cups import running_cups
from tests.support.jobs import USER_SCOPES
from tests.support.platform import (
    AgentPrinter,
    Caller,
    Platform,
    new_caller,
    new_tenant,
    onboard_printer,
    running_platform,
)
from tests.support.waiting import eventually

IPPTOOL = shutil.which("ipptool")
TESTS = Path("/usr/share/cups/ipptool")
DATA = Path(__file__).parent / "data"
SUITES = ("ipp-1.1.test", "ipp-2.0.test", "ipp-2.1.test", "ipp-2.2.test")
pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _ipptool_installed() -> None:
    """These tests run against CUPS' own tools: their absence is a failure, not a skip
    (deploy/local/test installs cups-ipp-utils)."""
    if IPPTOOL is None or not TESTS.is_dir():
        pytest.fail("ipptool and its test files (Debian cups-ipp-utils) are missing")


@dataclass
class IppWorld:
    platform: Platform
    http: aiohttp.ClientSession
    workdir: Path
    ada: Caller
    eve: Caller
    printer: AgentPrinter
    pdf: Path
    virtual_printer_id: str

    def uri(self, who: Caller | None = None, printer_id: str | None = None) -> str:
        host = self.platform.base_url.removeprefix("http://")
        cred = f"ada:{who.api_token}@" if who else ""
        return f"ipp://{cred}{host}/ipp/print/{printer_id or self.printer.device_id}"

    def ipptool(self, *args: str, who: Caller | None = None, timeout: float = 180) -> str:
        cmd = [str(IPPTOOL), "-T", "30", *args[:-1], self.uri(who or self.ada), args[-1]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        return done.stdout + done.stderr

    async def ipp(
        self, body: bytes, who: Caller | None = None, password: str | None = None
    ) -> tuple[int, Message | None]:
        url = self.uri().replace("ipp://", "http://")
        headers = {"Content-Type": "application/ipp"}
        if who is not None:
            password = who.api_token
        if password is not None:
            headers["Authorization"] = basic("ada", password)
        async with self.http.post(url, data=body, headers=headers) as resp:
            raw = await resp.read()
            if resp.status != 200:
                return resp.status, None
            return 200, decode(raw)[0]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(op: int, uri: str, *extra: Attribute, job: list[Attribute] | None = None,
            request_id: int = 1, version: tuple[int, int] = (2, 0)) -> bytes:  # fmt: skip
    groups = [Group(Tag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.LANGUAGE, "en"),
        Attribute.of("printer-uri", Tag.URI, uri), *extra,
    ])]  # fmt: skip
    if job:
        groups.append(Group(Tag.JOB, job))
    return encode(Message(version, op, request_id, groups))


def attrs(message: Message, tag: int = Tag.JOB) -> dict[str, object]:
    group = message.group(tag)
    return {a.name: a.first for a in group.attributes} if group else {}


@pytest.fixture(scope="module")
async def ipp_world(
    infra: TestInfra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IppWorld]:
    workdir = tmp_path_factory.mktemp("ipp")
    settings = {
        "queues": {"BLOB_DIR": str(workdir / "blobs")},
        "auth": {"ACCESS_TOKEN_TTL_S": "7200"},
    }
    run = running_platform(infra.bootstrap, infra.admin_dsn, workdir, settings=settings, edge=True)
    async with (
        run as platform,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
    ):
        tenant = await new_tenant(http, platform)
        other = await new_tenant(http, platform)
        ada = await new_caller(http, platform, tenant, ["user"], USER_SCOPES, "Ada Lovelace")
        eve = await new_caller(http, platform, other, ["user"], USER_SCOPES, "Eve")
        state = workdir / "printer-a"
        device_id = await onboard_printer(http, platform, tenant, state, "Office printer")
        spool = state / "spool"
        printer = AgentPrinter(
            "a", device_id, state, ["--mode", "simulator", "--spool", str(spool),
                                    "--jobs-interval", "5"],
            workdir / "logs" / "agent-a.log", spool=spool,
        )  # fmt: skip
        printer.start(platform.edge_ws_url, platform.base_url)
        try:

            async def online() -> bool:
                async with http.get(
                    f"{platform.base_url}/v1/printers/{device_id}", headers=platform.operator
                ) as resp:
                    body = await resp.json()
                return (
                    body.get("connection_state") == "online"
                    and body.get("capabilities_version", 0) >= 1
                )

            await eventually(online, 120, "printer online")
            pdf = workdir / "document.pdf"
            pdf.write_bytes(minimal_pdf("IPP to Printcloud"))
            async with http.post(
                platform.base_url + "/v1/virtual-printers", headers=platform.operator,
                json={"tenant_id": tenant, "name": "Floor 2 pull", "members": [device_id]},
            ) as resp:  # fmt: skip
                assert resp.status == 201, await resp.text()
                virtual = str((await resp.json())["id"])
            world = IppWorld(platform, http, workdir, ada, eve, printer, pdf, virtual)

            async def accepting() -> bool:
                status, message = await world.ipp(request(Op.VALIDATE_JOB, world.uri()), who=ada)
                return status == 200 and message is not None and message.code == Status.OK

            await eventually(accepting, 120, "IPP endpoint answering")
            yield world
        finally:
            printer.kill()


async def test_ipptool_get_printer_attributes(ipp_world: IppWorld) -> None:
    out = await asyncio.to_thread(
        ipp_world.ipptool, "-t", str(TESTS / "get-printer-attributes.test")
    )
    assert "[PASS]" in out and "[FAIL]" not in out, out


async def test_ipptool_print_job_reaches_the_printer(ipp_world: IppWorld) -> None:
    out = await asyncio.to_thread(
        ipp_world.ipptool, "-t", "-f", str(ipp_world.pdf), str(TESTS / "print-job.test")
    )
    assert "[PASS]" in out and "[FAIL]" not in out, out
    # the newest job of Ada's, printed by the agent's printer byte for byte
    async with ipp_world.http.get(
        ipp_world.platform.base_url + "/v1/jobs", headers=ipp_world.ada.headers
    ) as resp:
        jobs = (await resp.json())["items"]
    job_id = max(jobs, key=lambda j: j["submitted_at"] or "")["id"]

    async def printed() -> bool:
        return bool(ipp_world.printer.spooled(job_id))

    await eventually(printed, 120, "the document at the printer")
    assert ipp_world.printer.spooled(job_id)[0].read_bytes() == ipp_world.pdf.read_bytes()


def _counts(out: str) -> tuple[int, int, int]:
    """(passed, failed, skipped) of an ipptool -t run."""
    return (len(re.findall(r"\[PASS\]", out)), len(re.findall(r"\[FAIL\]", out)),
            len(re.findall(r"\[SKIP\]", out)))  # fmt: skip


def _suites(workdir: Path, pdf: Path) -> Path:
    """CUPS' test files beside the documents they print by name (our PDF as each)."""
    here = workdir / "ipptool"
    if not here.exists():
        shutil.copytree(TESTS, here)
        for name in ("document-a4.pdf", "document-letter.pdf"):
            shutil.copyfile(pdf, here / name)
        for name in ("color.jpg", "gray.jpg"):  # a 16x16 JPEG from CPython's tests
            shutil.copyfile(DATA / "python-16x16.jpg", here / name)
        for name in ("document-a4.ps", "document-letter.ps"):  # never sent: not advertised
            (here / name).write_text("%!PS-Adobe-3.0\nshowpage\n")
    return here


REACHED = {
    "ipp-1.1.test": (37, 0, 29),
    "ipp-2.0.test": (38, 0, 29),
    # IPP/2.1 and 2.2 (PWG 5100.12 §6.3, §6.4) require operations this endpoint does not
    # offer (Hold-Job, Release-Job, Pause-Printer, subscriptions ...): one required
    # attributes test each fails, everything else passes as in IPP/2.0.
    "ipp-2.1.test": (38, 1, 29),
    "ipp-2.2.test": (38, 2, 29),
}
"""(passed, failed, skipped) against a Printcloud printer URI; docs/ipp.md has the output."""


def _run_suites(tool: Any, suites: Path, pdf: Path, workdir: Path, tag: str) -> dict[str, Any]:
    results = {}
    for suite in SUITES:
        out = tool("-t", "-f", str(pdf), str(suites / suite))
        (workdir / f"{tag}-{suite}.out").write_text(out)
        print(f"==== {tag}: ipptool -t {suite}\n{out}")
        results[suite] = _counts(out)
    return results


async def test_ipptool_conformance_suites(ipp_world: IppWorld) -> None:
    suites = _suites(ipp_world.workdir, ipp_world.pdf)
    ours = await asyncio.to_thread(
        _run_suites, ipp_world.ipptool, suites, ipp_world.pdf, ipp_world.workdir, "printcloud"
    )
    # The reference printer (ippeveprinter) in the same run, for comparison.
    with system_bus() as bus:
        ref = start_ippeveprinter(bus, ipp_world.workdir / "reference-spool", command="/bin/true")
        try:

            def reference(*args: str) -> str:
                cmd = [str(IPPTOOL), "-T", "30", *args[:-1], ref.uri, args[-1]]
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
                return done.stdout + done.stderr

            theirs = await asyncio.to_thread(
                _run_suites, reference, suites, ipp_world.pdf, ipp_world.workdir, "ippeveprinter"
            )
        finally:
            ref.stop()
    print({"printcloud": ours, "ippeveprinter": theirs})
    assert ours == REACHED, ours
    for suite in SUITES:  # at least as many passes as the reference printer
        assert ours[suite][0] >= theirs[suite][0], (suite, ours, theirs)


async def test_bad_input_and_wrong_credentials_get_the_proper_answers(ipp_world: IppWorld) -> None:
    w = ipp_world
    gpa = request(Op.GET_PRINTER_ATTRIBUTES, w.uri())
    status, answer = await w.ipp(gpa[: len(gpa) - 9], who=w.ada)  # truncated
    assert status == 200 and answer is not None and answer.code == Status.BAD_REQUEST
    status, answer = await w.ipp(request(Op.GET_PRINTER_ATTRIBUTES, w.uri(), version=(3, 0)))
    assert answer is not None and answer.code == Status.VERSION_NOT_SUPPORTED
    too_long = Attribute.of("job-name", Tag.NAME, "x" * 300)
    status, answer = await w.ipp(request(Op.VALIDATE_JOB, w.uri(), too_long), who=w.ada)
    assert answer is not None and answer.code == Status.REQUEST_VALUE_TOO_LONG
    status, answer = await w.ipp(request(0x4001, w.uri()), who=w.ada)
    assert answer is not None and answer.code == Status.OPERATION_NOT_SUPPORTED
    status, answer = await w.ipp(struct.pack(">BBHi", 2, 0, 0x000B, 1) + b"\x01\x03")
    assert answer is not None and answer.code == Status.BAD_REQUEST  # no charset
    # credentials: none, a wrong API token, a bearer token, another tenant's user
    status, _ = await w.ipp(gpa)
    assert status == 401
    async with w.http.post(
        w.uri().replace("ipp://", "http://"), data=gpa,
        headers={"Content-Type": "application/ipp"},
    ) as resp:  # fmt: skip
        assert resp.headers["WWW-Authenticate"].startswith("Basic")
    status, _ = await w.ipp(gpa, password="pc_not-a-token")
    assert status == 401
    bearer = {"Content-Type": "application/ipp", "Authorization": f"Bearer {w.ada.access_token}"}
    async with w.http.post(w.uri().replace("ipp://", "http://"), data=gpa, headers=bearer) as resp:
        assert decode(await resp.read())[0].code == Status.OK
    status, answer = await w.ipp(gpa, who=w.eve)
    assert answer is not None and answer.code == Status.NOT_FOUND
    unknown = w.uri(printer_id=str(uuid.uuid4())).replace("ipp://", "http://")
    headers = {"Content-Type": "application/ipp", "Authorization": basic("ada", w.ada.api_token)}
    async with w.http.post(unknown, data=gpa, headers=headers) as resp:
        assert decode(await resp.read())[0].code == Status.NOT_FOUND
    # requesting-user-name is never trusted: Eve naming Ada still sees nothing
    as_ada = Attribute.of("requesting-user-name", Tag.NAME, "ada")
    status, answer = await w.ipp(request(Op.GET_JOBS, w.uri(), as_ada), who=w.eve)
    assert answer is not None and answer.code == Status.NOT_FOUND


async def test_refused_settings_name_the_attribute(ipp_world: IppWorld) -> None:
    w = ipp_world
    body = request(
        Op.PRINT_JOB, w.uri(), Attribute.of("document-format", Tag.MIME_TYPE, "application/pdf"),
        job=[Attribute.of("media", Tag.KEYWORD, "iso_a0_841x1189mm")],
    ) + w.pdf.read_bytes()  # fmt: skip
    _, answer = await w.ipp(body, who=w.ada)
    assert answer is not None and answer.code == Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert attrs(answer, Tag.UNSUPPORTED_GROUP) == {"media": "iso_a0_841x1189mm"}


async def test_a_cups_queue_made_with_lpadmin_everywhere_prints_to_printcloud(
    ipp_world: IppWorld,
) -> None:
    w = ipp_world
    with running_cups() as cups:
        made = await asyncio.to_thread(
            cups.run, "lpadmin", "-p", "office", "-E", "-v", w.uri(w.ada), "-m", "everywhere"
        )
        assert made.returncode == 0, made.stdout + made.stderr + cups.error_log()
        sent = await asyncio.to_thread(cups.run, "lp", "-d", "office", str(w.pdf))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        cups_job = sent.stdout.split()[3]  # "request id is office-1 (1 file(s))"

        async def completed() -> bool:
            done = await asyncio.to_thread(cups.run, "lpstat", "-W", "completed", "-o", "office")
            return cups_job in done.stdout

        try:
            await eventually(completed, 120, "the CUPS job completed")
        except AssertionError:
            raise AssertionError(cups.error_log()) from None
    async with w.http.get(w.platform.base_url + "/v1/jobs", headers=w.ada.headers) as resp:
        jobs = (await resp.json())["items"]
    newest = max(jobs, key=lambda j: j["submitted_at"] or "")

    async def printed() -> bool:
        return bool(w.printer.spooled(newest["id"]))

    await eventually(printed, 120, "the CUPS job at the agent's printer")
    assert newest["owner_id"] == w.ada.user_id  # the API token's user, nobody else
    [document] = w.printer.spooled(newest["id"])
    assert document.read_bytes().startswith(b"%PDF")  # CUPS sent PDF, as advertised
    print("printed by the agent:", document, document.stat().st_size, "octets")


async def test_a_job_to_a_virtual_printer_is_held_then_released_and_printed_once(
    ipp_world: IppWorld,
) -> None:
    w = ipp_world
    uri = w.uri(printer_id=w.virtual_printer_id)
    url = uri.replace("ipp://", "http://")
    headers = {"Content-Type": "application/ipp", "Authorization": basic("ada", w.ada.api_token)}

    async def ipp(body: bytes) -> Message:
        async with w.http.post(url, data=body, headers=headers) as resp:
            assert resp.status == 200
            return decode(await resp.read())[0]

    printed: dict[str, Any] = {}

    async def accepted() -> bool:  # until queues knows the new virtual printer
        pdf = Attribute.of("document-format", Tag.MIME_TYPE, "application/pdf")
        answer = await ipp(request(Op.PRINT_JOB, uri, pdf) + w.pdf.read_bytes())
        printed.update(attrs(answer))
        return answer.code == Status.OK

    await eventually(accepted, 120, "queues accepting pull jobs")
    job_ref = Attribute.of("job-id", Tag.INTEGER, printed["job-id"])

    async def state() -> int:
        answer = await ipp(request(Op.GET_JOB_ATTRIBUTES, uri, job_ref))
        return int(attrs(answer)["job-state"])  # type: ignore[call-overload]

    async def held() -> bool:
        return await state() == JobState.PENDING_HELD

    await eventually(held, 60, "the IPP job held for release")
    async with w.http.get(w.platform.base_url + "/v1/jobs", headers=w.ada.headers) as resp:
        jobs = [j for j in (await resp.json())["items"] if j["state"] == "held"]
    [job] = [j for j in jobs if j["virtual_printer_id"] == w.virtual_printer_id]
    async with w.http.post(
        f"{w.platform.base_url}/v1/printers/{w.printer.device_id}/release",
        json={"job_ids": [job["id"]]}, headers=w.ada.headers,
    ) as resp:  # fmt: skip
        assert resp.status == 200, await resp.text()

    async def completed() -> bool:
        return await state() == JobState.COMPLETED

    await eventually(completed, 120, "the released IPP job completed")
    assert len(w.printer.spooled(job["id"])) == 1
    assert w.printer.spooled(job["id"])[0].read_bytes() == w.pdf.read_bytes()
