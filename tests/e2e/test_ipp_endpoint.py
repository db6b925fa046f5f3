"""The IPP endpoint against real tools: CUPS' ``ipptool`` (its own test files and the
conformance suites) and raw IPP requests, to printers served by a real agent process
behind the edge. The documents reach the agent's printer byte for byte."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import random
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

from services.agent.dnssd import IPP as IPP_SERVICE
from services.ipp.protocol.codec import Attribute, Group, Message, decode, encode
from services.ipp.protocol.constants import (
    STATUS_NAMES,
    JobState,
    Op,
    PrinterState,
    Status,
    Tag,
)
from shared.testing.documents import pdf
from shared.testing.infra import TestInfra
from shared.testing.ipp import large_pdf, minimal_pdf, start_ippeveprinter, system_bus
from tests.support.cups import running_cups
from tests.support.dnssd import Browser, Found
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
ADVERTISED = f"Floor printer {uuid.uuid4().hex[:6]}"
"""The DNS-SD name the bridged printer's agent announces its cloud queue under."""
ADVERTISED_PULL = f"Bridged pull {uuid.uuid4().hex[:6]}"
"""A virtual printer whose member is the bridged printer: its agent announces it too."""


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
    bridged: AgentPrinter
    """A printer whose agent bridges to a real ippeveprinter (``bridged.ipp``)."""
    bridged_virtual_id: str
    """A virtual printer (``ADVERTISED_PULL``) with the bridged printer as its member."""

    def uri(self, who: Caller | None = None, printer_id: str | None = None) -> str:
        host = self.platform.base_url.removeprefix("http://")
        cred = f"ada:{who.api_token}@" if who else ""
        return f"ipp://{cred}{host}/ipp/print/{printer_id or self.printer.device_id}"

    def ipptool(self, *args: str, who: Caller | None = None, timeout: float = 180) -> str:
        cmd = [str(IPPTOOL), "-T", "30", *args[:-1], self.uri(who or self.ada), args[-1]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        return done.stdout + done.stderr

    async def ipp(
        self,
        body: bytes,
        who: Caller | None = None,
        password: str | None = None,
        printer_id: str | None = None,
    ) -> tuple[int, Message | None]:
        url = self.uri(printer_id=printer_id).replace("ipp://", "http://")
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
        with system_bus() as bus_env, contextlib.ExitStack() as stack:
            reference = start_ippeveprinter(bus_env, workdir / "ipp-spool", command="/bin/true")
            stack.callback(reference.stop)
            tenant = await new_tenant(http, platform)
            other = await new_tenant(http, platform)
            ada = await new_caller(http, platform, tenant, ["user"], USER_SCOPES, "Ada Lovelace")
            eve = await new_caller(http, platform, other, ["user"], USER_SCOPES, "Eve")
            printers = {}
            spec = {
                "a": ["--mode", "simulator", "--spool", str(workdir / "printer-a" / "spool")],
                "ipp": ["--mode", "ipp", "--printer-uri", reference.uri, "--probe-interval", "30",
                        "--advertise", "--advertise-interface", "127.0.0.1",
                        "--advertise-name", ADVERTISED, "--advertise-note", "Floor 2"],
            }  # fmt: skip
            for name, args in spec.items():
                state = workdir / f"printer-{name}"
                device_id = await onboard_printer(http, platform, tenant, state, f"Printer {name}")
                printers[name] = AgentPrinter(
                    name, device_id, state, [*args, "--jobs-interval", "5"],
                    workdir / "logs" / f"agent-{name}.log", env=bus_env,
                    spool=state / "spool" if name == "a" else None,
                    ipp=reference if name == "ipp" else None,
                )  # fmt: skip
                printers[name].start(platform.edge_ws_url, platform.base_url)
                stack.callback(printers[name].kill)

            async def online(device_id: str) -> bool:
                async with http.get(
                    f"{platform.base_url}/v1/printers/{device_id}", headers=platform.operator
                ) as resp:
                    body = await resp.json()
                return (
                    body.get("connection_state") == "online"
                    and body.get("capabilities_version", 0) >= 1
                )

            for printer in printers.values():
                await eventually(
                    functools.partial(online, printer.device_id), 120, "printer online"
                )
            pdf = workdir / "document.pdf"
            pdf.write_bytes(minimal_pdf("IPP to Printcloud"))
            async with http.post(
                platform.base_url + "/v1/virtual-printers", headers=platform.operator,
                json={"tenant_id": tenant, "name": "Floor 2 pull",
                      "members": [printers["a"].device_id]},
            ) as resp:  # fmt: skip
                assert resp.status == 201, await resp.text()
                virtual = str((await resp.json())["id"])
            async with http.post(
                platform.base_url + "/v1/virtual-printers", headers=platform.operator,
                json={"tenant_id": tenant, "name": ADVERTISED_PULL,
                      "members": [printers["ipp"].device_id]},
            ) as resp:  # fmt: skip
                assert resp.status == 201, await resp.text()
                bridged_virtual = str((await resp.json())["id"])
            world = IppWorld(platform, http, workdir, ada, eve, printers["a"], pdf, virtual,
                             printers["ipp"], bridged_virtual)  # fmt: skip

            async def accepting(printer_id: str) -> bool:
                body = request(Op.VALIDATE_JOB, world.uri(printer_id=printer_id))
                status, message = await world.ipp(body, who=ada, printer_id=printer_id)
                return status == 200 and message is not None and message.code == Status.OK

            for printer in printers.values():
                await eventually(
                    functools.partial(accepting, printer.device_id), 120, "IPP answering"
                )
            yield world


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
    # Hold-Job and Release-Job are supported: "Print-Job with job-hold-until" and
    # "Release-Job" run and pass (they are skipped by printers without them).
    "ipp-1.1.test": (39, 0, 27),
    "ipp-2.0.test": (40, 0, 27),
    # IPP/2.1 and 2.2 (PWG 5100.12 §6.3, §6.4) require operations this endpoint does not
    # offer (Restart-Job, Pause-Printer, subscriptions, multiple-document jobs ...): one
    # required attributes test each fails, everything else passes as in IPP/2.0.
    "ipp-2.1.test": (40, 1, 27),
    "ipp-2.2.test": (40, 2, 27),
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

            async def up() -> bool:  # the suites expect printer-up-time > 0
                asked = Attribute.of("requested-attributes", Tag.KEYWORD, "printer-up-time")
                async with ipp_world.http.post(
                    ref.uri.replace("ipp://", "http://"),
                    data=request(Op.GET_PRINTER_ATTRIBUTES, ref.uri, asked),
                    headers={"Content-Type": "application/ipp"},
                ) as resp:
                    answer = decode(await resp.read())[0]
                up_time = attrs(answer, Tag.PRINTER).get("printer-up-time")
                return isinstance(up_time, int) and up_time > 0

            await eventually(up, 30, "the reference printer up for a second")

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
    # At least as well as the reference printer: no more failures. (Pass counts differ
    # by what each advertises: ippeveprinter has 4x6 media and draft/high quality, whose
    # tests Printcloud's printer skips, and stops at its first failure in a file.)
    for suite in SUITES:
        assert ours[suite][1] <= theirs[suite][1], (suite, ours, theirs)


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


async def test_cups_to_printcloud_to_the_agent_to_ippeveprinter_byte_for_byte(
    ipp_world: IppWorld,
) -> None:
    """The whole driverless path: a CUPS queue made by ``lpadmin -m everywhere`` on the
    Printcloud URI of a printer whose agent bridges to a real ippeveprinter. ``lp -o raw``
    (CUPS' filters left out, so the file is what CUPS sends) prints; the document that
    arrives at ippeveprinter is the file, byte for byte, and lpstat shows the job
    completed."""
    w = ipp_world
    bridged = w.bridged
    document = pdf(1, "CUPS to ippeveprinter", padding=16_384)  # binary bytes inside
    path = w.workdir / "to-ippeveprinter.pdf"
    path.write_bytes(document)
    uri = w.uri(w.ada, printer_id=bridged.device_id)
    with running_cups() as cups:
        made = await asyncio.to_thread(
            cups.run, "lpadmin", "-p", "floor", "-E", "-v", uri, "-m", "everywhere"
        )
        assert made.returncode == 0, made.stdout + made.stderr + cups.error_log()
        sent = await asyncio.to_thread(cups.run, "lp", "-d", "floor", "-o", "raw", str(path))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        cups_job = sent.stdout.split()[3]

        async def completed() -> bool:
            done = await asyncio.to_thread(cups.run, "lpstat", "-W", "completed", "-o", "floor")
            return cups_job in done.stdout

        try:
            await eventually(completed, 120, "the CUPS job completed")
        except AssertionError:
            raise AssertionError(cups.error_log()) from None
    async with w.http.get(w.platform.base_url + "/v1/jobs", headers=w.ada.headers) as resp:
        jobs = [j for j in (await resp.json())["items"] if j["printer_id"] == bridged.device_id]
    [job] = jobs

    async def arrived() -> bool:
        kept = bridged.spooled(job["id"])
        return len(kept) == 1 and kept[0].stat().st_size == len(document)

    await eventually(arrived, 120, "the document at ippeveprinter")
    assert bridged.spooled(job["id"])[0].read_bytes() == document

    async def printcloud_completed() -> bool:
        async with w.http.get(
            f"{w.platform.base_url}/v1/jobs/{job['id']}", headers=w.ada.headers
        ) as resp:
            return bool((await resp.json())["state"] == "completed")

    await eventually(printcloud_completed, 120, "the Printcloud job completed")


async def test_the_agent_announces_its_cloud_queue_over_dns_sd(ipp_world: IppWorld) -> None:
    """``agent run --advertise``: a laptop browsing _ipp._tcp on the site network (here
    loopback) finds the printer; the SRV record and rp make the Printcloud printer URI,
    which answers Get-Printer-Attributes with the printer-uuid the TXT record names."""
    w = ipp_world
    found: list[Found] = []
    async with Browser(IPP_SERVICE, ["127.0.0.1"]) as browser:

        async def announced() -> bool:
            hit = await browser.find(ADVERTISED)
            found[:] = [hit] if hit else []
            return bool(found)

        await eventually(announced, 60, "the agent's DNS-SD announcement")
    [service] = found
    txt = service.txt
    assert txt["rp"] == f"ipp/print/{w.bridged.device_id}" and txt["note"] == "Floor 2"
    assert txt["ty"] == ADVERTISED and txt["Color"] == "T" and txt["Duplex"] == "T"
    assert {"txtvers", "pdl", "URF", "UUID", "adminurl", "printer-type"} <= txt.keys()
    uri = f"ipp://{service.addresses[0]}:{service.port}/{txt['rp']}"
    assert uri == w.uri(printer_id=w.bridged.device_id)
    body = request(Op.GET_PRINTER_ATTRIBUTES, uri)
    _, answer = await w.ipp(body, who=w.ada, printer_id=w.bridged.device_id)
    assert answer is not None and answer.code == Status.OK
    assert attrs(answer, Tag.PRINTER)["printer-uuid"] == f"urn:uuid:{txt['UUID']}"
    pdl = set(txt["pdl"].split(","))
    group = answer.group(Tag.PRINTER)
    assert group is not None
    advertised = {str(v.value) for v in group.get("document-format-supported").values}  # type: ignore[union-attr]
    assert pdl == advertised - {"application/octet-stream"}


async def test_the_agent_announces_the_virtual_printers_its_printer_is_a_member_of(
    ipp_world: IppWorld,
) -> None:
    """The bridged printer is the member of a virtual printer: its agent reads it with
    its device token (``GET /v1/devices/me/virtual-printers``) and announces it beside
    the printer; the URI made from the announcement is the virtual printer's, and it
    answers Get-Printer-Attributes with the announced UUID."""
    w = ipp_world
    found: list[Found] = []
    async with Browser(IPP_SERVICE, ["127.0.0.1"]) as browser:

        async def announced() -> bool:
            hit = await browser.find(ADVERTISED_PULL)
            found[:] = [hit] if hit else []
            return bool(found)

        await eventually(announced, 120, "the virtual printer's DNS-SD announcement")
    [service] = found
    txt = service.txt
    assert txt["rp"] == f"ipp/print/{w.bridged_virtual_id}" and txt["ty"] == ADVERTISED_PULL
    uri = f"ipp://{service.addresses[0]}:{service.port}/{txt['rp']}"
    assert uri == w.uri(printer_id=w.bridged_virtual_id)
    body = request(Op.GET_PRINTER_ATTRIBUTES, uri)
    _, answer = await w.ipp(body, who=w.ada, printer_id=w.bridged_virtual_id)
    assert answer is not None and answer.code == Status.OK
    printer = attrs(answer, Tag.PRINTER)
    assert printer["printer-uuid"] == f"urn:uuid:{txt['UUID']}"
    assert printer["printer-state"] == PrinterState.IDLE  # its member is online


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
    answer = await ipp(request(Op.GET_PRINTER_ATTRIBUTES, uri))  # its member is online
    assert attrs(answer, Tag.PRINTER)["printer-state"] == PrinterState.IDLE
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


async def test_a_cups_queue_on_a_virtual_printer_holds_the_job_until_it_is_released(
    ipp_world: IppWorld,
) -> None:
    """Pull printing from CUPS: a queue made by ``lpadmin -m everywhere`` on a virtual
    printer's URI; ``lp`` prints a PDF and the job is held in Printcloud. CUPS' ipp
    backend stops following a job once the printer holds it (pending-held), so
    ``lpstat`` shows the CUPS job completed while nothing is printed yet; Ada then
    releases it at a member printer with the API and it is printed there, once."""
    w = ipp_world
    uri = w.uri(w.ada, printer_id=w.virtual_printer_id)
    found: list[dict[str, Any]] = []

    async def held() -> bool:
        async with w.http.get(w.platform.base_url + "/v1/jobs", headers=w.ada.headers) as resp:
            jobs = (await resp.json())["items"]
        found[:] = [j for j in jobs if j["state"] == "held"
                    and j["virtual_printer_id"] == w.virtual_printer_id]  # fmt: skip
        return bool(found)

    with running_cups() as cups:
        made = await asyncio.to_thread(
            cups.run, "lpadmin", "-p", "pull", "-E", "-v", uri, "-m", "everywhere"
        )
        assert made.returncode == 0, made.stdout + made.stderr + cups.error_log()
        sent = await asyncio.to_thread(cups.run, "lp", "-d", "pull", str(w.pdf))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        cups_job = sent.stdout.split()[3]

        async def completed() -> bool:
            done = await asyncio.to_thread(cups.run, "lpstat", "-W", "completed", "-o", "pull")
            return cups_job in done.stdout

        try:
            await eventually(held, 120, "the CUPS job held at the virtual printer")
            await eventually(completed, 120, "the CUPS job handed over (completed in CUPS)")
        except AssertionError:
            raise AssertionError(cups.error_log()) from None
    [job] = found
    assert not w.printer.spooled(job["id"])  # held: nothing printed before the release
    async with w.http.post(
        f"{w.platform.base_url}/v1/printers/{w.printer.device_id}/release",
        json={"job_ids": [job["id"]]}, headers=w.ada.headers,
    ) as resp:  # fmt: skip
        assert resp.status == 200, await resp.text()

    async def printcloud_completed() -> bool:
        async with w.http.get(
            f"{w.platform.base_url}/v1/jobs/{job['id']}", headers=w.ada.headers
        ) as resp:
            return bool((await resp.json())["state"] == "completed")

    await eventually(printcloud_completed, 120, "the released job completed")
    [document] = w.printer.spooled(job["id"])  # printed once, at the member printer
    assert document.read_bytes().startswith(b"%PDF")


MiB = 1 << 20
STREAMED_MIB = 128
RSS_GROWTH_BOUND = 48 * MiB


def _peak_rss(pid: int) -> int:
    """A process' peak resident set size in bytes (VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM:")) * 1024


async def test_a_large_document_streams_through_the_ipp_endpoint_to_the_blob_store(
    ipp_world: IppWorld,
) -> None:
    """A 128 MiB PDF (a valid PDF whose bulk is one image stream, generated as it is
    sent: :func:`large_pdf`) in one Print-Job: the IPP process and the
    edge keep only a small part of it (their peak resident sets, measured before and
    after, grow by less than 48 MiB) and the whole document is in the blob store. The
    job is held (job-hold-until), so nothing is printed; it is canceled after."""
    w = ipp_world
    ipp, edge = w.platform.processes["ipp"], w.platform.edge
    assert ipp.proc is not None and edge is not None and edge.proc is not None
    head = request(
        Op.PRINT_JOB, w.uri(), Attribute.of("document-format", Tag.MIME_TYPE, "application/pdf"),
        Attribute.of("job-name", Tag.NAME, "large"),
        job=[Attribute.of("job-hold-until", Tag.KEYWORD, "indefinite")],
    )  # fmt: skip
    digest, size = hashlib.sha256(), 0
    for piece in large_pdf(STREAMED_MIB * MiB, b"ipp"):
        digest.update(piece)
        size += len(piece)

    async def body() -> AsyncIterator[bytes]:
        yield head
        for piece in large_pdf(STREAMED_MIB * MiB, b"ipp"):
            yield piece

    before = _peak_rss(ipp.proc.pid), _peak_rss(edge.proc.pid)
    headers = {"Content-Type": "application/ipp", "Authorization": basic("ada", w.ada.api_token)}
    async with w.http.post(
        w.uri().replace("ipp://", "http://"), data=body(), headers=headers,
        timeout=aiohttp.ClientTimeout(total=900),
    ) as resp:  # fmt: skip
        assert resp.status == 200
        answer = decode(await resp.read())[0]
    grown = _peak_rss(ipp.proc.pid) - before[0], _peak_rss(edge.proc.pid) - before[1]
    print(f"{STREAMED_MIB} MiB through IPP: peak RSS grew by {grown[0] / MiB:.1f} MiB (ipp), "
          f"{grown[1] / MiB:.1f} MiB (edge)")  # fmt: skip
    assert answer.code == Status.OK, attrs(answer, Tag.OPERATION)
    assert attrs(answer)["job-state"] == JobState.PENDING_HELD
    assert grown[0] < RSS_GROWTH_BOUND and grown[1] < RSS_GROWTH_BOUND, grown
    sha = digest.hexdigest()
    stored = w.workdir / "blobs" / sha[:2] / sha[2:4] / sha
    assert stored.stat().st_size == size
    job_id = Attribute.of("job-id", Tag.INTEGER, attrs(answer)["job-id"])
    _, canceled = await w.ipp(request(Op.CANCEL_JOB, w.uri(), job_id), who=w.ada)
    assert canceled is not None and canceled.code == Status.OK


FUZZ_REQUESTS = 300
SERVER_STATUSES = {Status.OPERATION_NOT_SUPPORTED, Status.VERSION_NOT_SUPPORTED,
                   Status.MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED}  # fmt: skip
"""The server-error statuses a malformed or unexpected request may get: everything
else is a client-error (0x04xx) or a success, never server-error-internal-error."""


def _mutated(rng: random.Random, base: bytes) -> bytes:
    """``base`` truncated, with octets flipped, another version or operation, a value
    too long, junk appended, or several of these."""
    body = bytearray(base)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(6)
        if kind == 0 and len(body) > 1:
            del body[rng.randrange(1, len(body)) :]
        elif kind == 1 and body:
            for _ in range(rng.randint(1, 4)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        elif kind == 2 and len(body) >= 2:
            body[0], body[1] = rng.choice([(0, 0), (1, 0), (1, 1), (2, 1), (2, 2), (3, 0),
                                           (rng.randrange(256), rng.randrange(256))])  # fmt: skip
        elif kind == 3 and len(body) >= 4:
            body[2:4] = struct.pack(">H", rng.choice([rng.randrange(0x10000), *map(int, Op)]))
        elif kind == 4:
            value = b"x" * rng.choice([256, 1024, 1100, 32767, 65535])
            attr = bytes([Tag.TEXT]) + struct.pack(">H", 8) + b"job-name"
            attr += struct.pack(">H", len(value)) + value
            at = 9 + rng.randrange(max(1, len(body) - 9))
            body[at:at] = attr
        else:
            body += rng.randbytes(rng.randrange(1, 64))
    return bytes(body)


async def test_fuzzed_requests_get_ipp_statuses_never_a_crash_or_a_hang(
    ipp_world: IppWorld,
) -> None:
    """A bounded, seeded random loop over the live endpoint: mutated requests (truncated,
    wrong versions, oversized values, unknown operations, flipped octets) with good,
    wrong, malformed or no credentials. Every answer comes in time (the client's
    timeout is the hang detector), is HTTP 200 with a decodable IPP response whose
    status is a client-error, a success or one of SERVER_STATUSES, or HTTP 401 when the
    credentials are not good; the endpoint answers normally afterwards."""
    w = ipp_world
    # a user of Ada's tenant of its own: fuzzed Cancel-My-Jobs must not touch Ada's jobs
    mallory = await new_caller(
        w.http, w.platform, w.ada.tenant_id, ["user"], USER_SCOPES, "Mallory"
    )
    uri = w.uri()
    job = [Attribute.of("media-col", Tag.BEGIN_COLLECTION,
                        [Attribute.of("media-size-name", Tag.KEYWORD, "iso_a4_210x297mm")]),
           Attribute.of("copies", Tag.INTEGER, 2)]  # fmt: skip
    bases = [
        request(Op.GET_PRINTER_ATTRIBUTES, uri, Attribute.of(
            "requested-attributes", Tag.KEYWORD, "printer-state", "media-col-default")),
        request(Op.VALIDATE_JOB, uri, job=job),
        request(Op.GET_JOBS, uri, Attribute.of("which-jobs", Tag.KEYWORD, "all")),
        request(Op.GET_JOB_ATTRIBUTES, uri, Attribute.of("job-id", Tag.INTEGER, 1)),
        request(Op.CREATE_JOB, uri, job=job),
    ]  # fmt: skip
    good = basic("mallory", mallory.api_token)
    wrong = [basic("mallory", "pc_wrong"), "Basic !!!", "Bearer not-a-token", basic("m", "")]
    rng = random.Random(16)
    url = uri.replace("ipp://", "http://")
    seen: dict[str, int] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    for i in range(FUZZ_REQUESTS):
        body = _mutated(rng, rng.choice(bases))
        roll = rng.random()
        auth = good if roll < 0.8 else None if roll < 0.85 else rng.choice(wrong)
        headers = {"Content-Type": "application/ipp", **({"Authorization": auth} if auth else {})}
        try:
            async with w.http.post(url, data=body, headers=headers, timeout=timeout) as resp:
                status, raw = resp.status, await resp.read()
        except TimeoutError:
            raise AssertionError(f"request {i} hung: {body[:200]!r}") from None
        if status == 401:
            assert auth != good, (i, body[:200])
            seen["http-401"] = seen.get("http-401", 0) + 1
            continue
        assert status == 200, (i, status, raw[:300], body[:200])
        # the answer echoes the request-id, 0 when it could not be read (decode refuses
        # that in a request, so it reads the answer as if it were 1)
        answer, _ = decode(
            raw[:4] + struct.pack(">i", max(1, struct.unpack(">i", raw[4:8])[0])) + raw[8:]
        )
        assert answer.code < 0x0500 or answer.code in SERVER_STATUSES, (
            i, hex(answer.code), attrs(answer, Tag.OPERATION), body[:200],
        )  # fmt: skip
        name = STATUS_NAMES.get(answer.code, hex(answer.code))  # type: ignore[call-overload]
        seen[name] = seen.get(name, 0) + 1
    print("fuzzed answers:", dict(sorted(seen.items())))
    # the malformed kinds were all met, and the endpoint still answers normally
    for expected in ("bad-request", "version-not-supported", "operation-not-supported",
                     "request-value-too-long", "http-401", "ok"):  # fmt: skip
        assert seen.get(expected), (expected, seen)
    _, normal = await w.ipp(bases[0], who=mallory)
    assert normal is not None and normal.code == Status.OK


async def test_attributes_larger_than_the_limit_are_request_entity_too_large(
    ipp_world: IppWorld,
) -> None:
    w = ipp_world
    many = [Attribute.of(f"x-vendor-{i}", Tag.TEXT, "y" * 1000) for i in range(1200)]
    body = request(Op.VALIDATE_JOB, w.uri(), job=many)  # ≈1.2 MiB of attributes
    status, answer = await w.ipp(body, who=w.ada)
    assert status == 200 and answer is not None
    assert answer.code == Status.REQUEST_ENTITY_TOO_LARGE


async def test_print_policies_judge_ipp_jobs_and_the_ipp_client_reads_the_refusal(
    ipp_world: IppWorld,
) -> None:
    w = ipp_world
    base, tenant, printer = w.platform.base_url, w.ada.tenant_id, w.printer.device_id
    made: list[str] = []

    async def policy(name: str, rules: dict[str, Any]) -> None:
        body = {"name": name, "scope": "printer", "printer_id": printer, "rules": rules}
        async with w.http.post(
            f"{base}/v1/policies", params={"tenant_id": tenant}, json=body,
            headers=w.platform.operator,
        ) as resp:  # fmt: skip
            assert resp.status == 201, await resp.text()
            made.append((await resp.json())["policy_id"])

    async def print_job(*job: Attribute) -> dict[str, object]:
        pdf = Attribute.of("document-format", Tag.MIME_TYPE, "application/pdf")
        body = request(Op.PRINT_JOB, w.uri(), pdf, job=list(job)) + w.pdf.read_bytes()
        _, answer = await w.ipp(body, who=w.ada)
        assert answer is not None and answer.code == Status.OK
        return attrs(answer)

    async def job_state(ipp_job: dict[str, object]) -> dict[str, object]:
        ref = Attribute.of("job-id", Tag.INTEGER, ipp_job["job-id"])
        _, answer = await w.ipp(request(Op.GET_JOB_ATTRIBUTES, w.uri(), ref), who=w.ada)
        assert answer is not None and answer.code == Status.OK
        return attrs(answer)

    async def api_job(ipp_job: dict[str, object], states: set[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}

        async def decided() -> bool:
            uuid_uri = str((await job_state(ipp_job))["job-uuid"])
            async with w.http.get(
                f"{base}/v1/jobs/{uuid_uri.removeprefix('urn:uuid:')}", headers=w.ada.headers
            ) as resp:
                found.update(await resp.json() if resp.status == 200 else {})
            return found.get("state") in states

        await eventually(decided, 120, f"the IPP job in {sorted(states)}")
        return found

    try:
        await policy("IPP copies", {"max_copies": 1})
        adjusted = await api_job(
            await print_job(Attribute.of("copies", Tag.INTEGER, 3)), {"queued", "completed"}
        )
        assert adjusted["settings"]["copies"] == 1
        [change] = adjusted["policy"]["adjustments"]
        assert (change["policy_name"], change["setting"], change["before"], change["after"]) == (
            "IPP copies", "copies", 3, 1)  # fmt: skip

        await policy("IPP raster only", {"document_formats": ["image/pwg-raster"]})
        ipp_job = await print_job()
        refused = await api_job(ipp_job, {"failed"})
        assert refused["policy"]["refusal"]["policy_name"] == "IPP raster only"
        seen = await job_state(ipp_job)
        assert seen["job-state"] == JobState.ABORTED
        assert str(seen["job-state-message"]).startswith("refused by policy 'IPP raster only'")
        assert w.printer.spooled(refused["id"]) == []  # it never reached the printer
    finally:
        for policy_id in made:
            async with w.http.delete(
                f"{base}/v1/policies/{policy_id}", headers=w.platform.operator
            ) as resp:
                assert resp.status == 204, await resp.text()
