"""``printcloud print``: upload a document (streamed, with a progress bar on a
terminal) and submit a job, each POST idempotent so a lost answer never prints
twice."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import re
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from client.api import (
    Client,
    CliError,
    RetryableAnswer,
    run,
)
from client.commands.protect import (
    PROTECTED_TITLE,
    Recipient,
    real_format,
    seal,
    verified_recipient,
)
from client.output import NEXT_STEPS, err, out
from shared.crypto.e2e import E2E_FORMAT, KeyOffer

CHUNK = 256 * 1024


def parse_page_ranges(text: str) -> list[dict[str, int]]:
    """``"1-3,5"`` -> ``[{"first": 1, "last": 3}, {"first": 5, "last": 5}]``."""
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise typer.BadParameter(f"{part!r} is not a page or a range like 1-3")
        first = int(m.group(1))
        last = int(m.group(2) or first)
        if first < 1 or last < first:
            raise typer.BadParameter(f"{part!r}: pages count from 1 and a range goes upwards")
        ranges.append({"first": first, "last": last})
    return ranges


def document_format(path: Path, given: str | None) -> str:
    """The MIME type to upload ``path`` as (``--format`` wins over the file name)."""
    if given:
        return given
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _file_chunks(path: Path, size: int, progress: Progress | None) -> Callable[[], Any]:
    """A fresh streaming body of ``path`` for each attempt (progress shown)."""

    def body() -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            task = progress.add_task("upload", total=size) if progress else None
            with path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
                    if progress is not None and task is not None:
                        progress.advance(task, len(chunk))

        return gen()

    return body


def upload_progress() -> Progress | None:
    if not sys.stderr.isatty():
        return None
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


SUBMIT_ATTEMPTS = 4
RETRY_STATUSES = (502, 503)


async def _submit(client: Client, path: str, **kwargs: Any) -> Any:
    """POST with a fresh Idempotency-Key, sent again with the same key when the answer
    is lost (connection error, timeout) or is a 502/503: the platform answers the first
    request's result instead of creating a second one (so a file never prints twice)."""
    headers = {**kwargs.pop("headers", {}), "Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        last = attempt == SUBMIT_ATTEMPTS
        try:
            return await client.request(
                "POST", path, headers=headers, retry=() if last else RETRY_STATUSES, **kwargs
            )
        except RetryableAnswer as answer:
            await asyncio.sleep(min(answer.retry_after, 10.0))
        except (aiohttp.ClientConnectionError, TimeoutError):
            if last:
                raise
            await asyncio.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


def print_file(
    file: Annotated[Path, typer.Argument(help="the document to print")],
    printer: Annotated[str | None, typer.Option("--printer", help="a printer's id")] = None,
    virtual_printer: Annotated[
        str | None, typer.Option("--virtual-printer", help="a virtual printer's id (pull print)")
    ] = None,
    copies: Annotated[int | None, typer.Option(min=1, help="number of copies")] = None,
    sides: Annotated[
        str | None,
        typer.Option(help="one-sided, two-sided-long-edge or two-sided-short-edge"),
    ] = None,
    media: Annotated[
        str | None, typer.Option(help="IPP media keyword, e.g. iso_a4_210x297mm")
    ] = None,
    color_mode: Annotated[
        str | None, typer.Option("--color-mode", help="e.g. color, monochrome, auto")
    ] = None,
    page_ranges: Annotated[
        str | None, typer.Option("--page-ranges", help="pages to print, e.g. 1-3,5")
    ] = None,
    orientation: Annotated[
        str | None, typer.Option(help="portrait, landscape, reverse-landscape, reverse-portrait")
    ] = None,
    secure: Annotated[
        bool, typer.Option("--secure", help="hold until you log in at the printer")
    ] = False,
    title: Annotated[str | None, typer.Option(help="the job's title (default: file name)")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="MIME type (default: from the file name)")
    ] = None,
    protect: Annotated[
        bool,
        typer.Option("--protect", help="encrypt it so that only the printer can read it"),
    ] = False,
    device_fingerprint: Annotated[
        str | None,
        typer.Option(
            "--device-fingerprint",
            help="with --protect: the printer's device key fingerprint (from its panel)",
        ),
    ] = None,
) -> None:
    """Print a file: upload it, then submit a job to a printer or a virtual printer."""
    if (printer is None) == (virtual_printer is None):
        raise CliError("name exactly one of --printer and --virtual-printer")
    if not file.is_file():
        raise CliError(f"{file} is not a readable file")
    if protect and printer is None:
        raise CliError(
            "a protected document is encrypted to one printer: name it with --printer "
            "(for pull printing, print it protected when you stand at the printer)"
        )
    settings = _settings(copies, sides, media, color_mode, page_ranges, orientation)
    if protect:
        assert printer is not None
        job = run(
            lambda client: submit_protected(
                client, file, printer, settings, title=title,
                given_format=document_format(file, fmt),
                secure=secure, pin=device_fingerprint,
            )
        )  # fmt: skip
        _show(job, secure=secure, virtual=False)
        return
    size = file.stat().st_size
    content_type = document_format(file, fmt)
    job_title = title or file.name

    async def work(client: Client) -> dict[str, Any]:
        document = await _upload(client, file, size, content_type, {"title": job_title})
        job: dict[str, Any] = {"document_id": document_id_of(document), "settings": settings,
                               "title": job_title}  # fmt: skip
        if printer:
            job["printer_id"] = printer
        else:
            job["virtual_printer_id"] = virtual_printer
        if secure:
            job["release"] = "secure"
        answer: dict[str, Any] = await _submit(client, "/v1/jobs", json_body=job)
        return answer

    _show(run(work), secure=secure, virtual=virtual_printer is not None)


def _settings(
    copies: int | None, sides: str | None, media: str | None, color_mode: str | None,
    page_ranges: str | None, orientation: str | None,
) -> dict[str, Any]:  # fmt: skip
    settings: dict[str, Any] = {}
    if copies is not None:
        settings["copies"] = copies
    if sides:
        settings["sides"] = sides
    if media:
        settings["media"] = media
    if color_mode:
        settings["print_color_mode"] = color_mode
    if page_ranges:
        settings["page_ranges"] = parse_page_ranges(page_ranges)
    if orientation:
        settings["orientation"] = orientation
    return settings


def document_id_of(document: dict[str, Any]) -> Any:
    """The id in an upload's answer."""
    return document.get("document_id") or document.get("id")


async def _upload(
    client: Client, path: Path, size: int, content_type: str, params: dict[str, str]
) -> dict[str, Any]:
    """``POST /v1/documents``: the file streamed, with a progress bar on a terminal."""
    progress = upload_progress()
    with progress or contextlib.nullcontext():
        answer: dict[str, Any] = await _submit(
            client, "/v1/documents", params=params, data=_file_chunks(path, size, progress),
            headers={"Content-Type": content_type, "Content-Length": str(size)},
        )  # fmt: skip
    return answer


async def submit_protected(
    client: Client,
    path: Path,
    printer: str,
    settings: dict[str, Any],
    *,
    title: str | None,
    given_format: str,
    secure: bool = False,
    offer: KeyOffer | None = None,
    pin: str | None = None,
) -> dict[str, Any]:
    """Check and count the document here, encrypt it to the printer's verified key (the
    one its QR code showed, else the one it published), upload the ciphertext, submit
    the job to that printer."""
    recipient: Recipient = await verified_recipient(client, printer, offer, pin)
    err.print(
        f"encrypting to printer {printer}'s key {recipient.offer.key_id} "
        f"(device key {recipient.device_fingerprint[:16]}...)", highlight=False,
    )  # fmt: skip
    content_type, pages = await asyncio.to_thread(real_format, path, given_format)
    job_title = title or PROTECTED_TITLE
    with tempfile.TemporaryDirectory(prefix="printcloud-e2e-") as tmp:
        sealed = Path(tmp) / "document.e2e"
        size = await asyncio.to_thread(seal, path, recipient, content_type, sealed)
        params = {"title": job_title, "pages": str(pages)}
        document = await _upload(client, sealed, size, E2E_FORMAT, params)
    job: dict[str, Any] = {"document_id": document_id_of(document), "settings": settings,
                           "title": job_title, "printer_id": printer}  # fmt: skip
    if secure:
        job["release"] = "secure"
    answer: dict[str, Any] = await _submit(client, "/v1/jobs", json_body=job)
    return answer


def _show(job: dict[str, Any], *, secure: bool, virtual: bool) -> None:
    job_id = job.get("id") or job.get("job_id")
    out.print(f"job {job_id} {job.get('state', 'submitted')}", highlight=False)
    after = what_next(job, secure=secure, virtual=virtual)
    if after:
        out.print(after, highlight=False)


def what_next(job: dict[str, Any], *, secure: bool, virtual: bool) -> str:
    """What the person does next for a job that does not simply print."""
    job_id = job.get("id") or job.get("job_id")
    printer = job.get("printer_id")
    if secure:
        where = f"printer {printer}" if printer else "the printer"
        return (
            f"secure job: it prints once you log in at {where} (its panel, or your phone "
            "key: `printcloud phone approve`); `printcloud release` does not print it"
        )
    if virtual:
        return (
            f"held for you: release it at a member printer with `printcloud release "
            f"--printer PRINTER_ID --job {job_id}` (`printcloud printers list --virtual` "
            "shows the members)"
        )
    reason = job.get("hold_reason")
    detail = job.get("state_detail") or ""
    if job.get("state") == "held" and reason == "quota":
        return f"held: {detail or 'over quota'}; {NEXT_STEPS['quota-exceeded']}"
    if job.get("state") == "held" and reason == "printer_offline":
        return (
            f"held: {detail or 'the printer is offline'}; it prints when the printer is back "
            f"(`printcloud jobs watch {job_id}` follows it, `printcloud jobs cancel {job_id}` "
            "drops it)"
        )
    return ""
