"""The ``printcloud`` commands of the people who print, and of the public API itself.

``printcloud login --url <base URL> --token <API token>`` stores where the platform
is and the API token (``~/.config/printcloud/credentials.json``, mode 0600); every
other command exchanges that API token for a short-lived access token at
``POST /v1/token`` and again whenever it has expired. All of them talk to the
one public base URL (the edge), never to a service directly.

Failures are sentences built from the platform's problem+json answers (title,
detail and each offending field), and the exit code is non-zero; no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import mimetypes
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import aiohttp
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

out = Console()
err = Console(stderr=True)

FINAL_STATES = frozenset({"completed", "failed", "canceled", "expired"})
CHUNK = 256 * 1024
REFRESH_MARGIN_S = 30
P = ParamSpec("P")
R = TypeVar("R")


class CliError(Exception):
    """A failure told to the user as a sentence (exit code 1)."""


# --------------------------------------------------------------------------- credentials


def config_dir() -> Path:
    """``$PRINTCLOUD_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/printcloud``, else
    ``~/.config/printcloud``."""
    explicit = os.environ.get("PRINTCLOUD_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "printcloud"


def credentials_file() -> Path:
    """Where ``printcloud login`` keeps the base URL and the API token."""
    return config_dir() / "credentials.json"


@dataclass
class Credentials:
    """The base URL, the API token and the current access token (if any)."""

    url: str
    api_token: str
    access_token: str = ""
    expires_at: float = 0.0

    def save(self) -> None:
        """Write the file readable by its owner only (0600, directory 0700)."""
        path = credentials_file()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps(self.__dict__, indent=2).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, data)
        finally:
            os.close(fd)

    @classmethod
    def load(cls) -> Credentials:
        path = credentials_file()
        try:
            data = json.loads(path.read_text())
            return cls(
                url=str(data["url"]),
                api_token=str(data["api_token"]),
                access_token=str(data.get("access_token", "")),
                expires_at=float(data.get("expires_at", 0)),
            )
        except FileNotFoundError:
            raise CliError(
                "not logged in: run 'printcloud login --url <base URL> --token <API token>'"
            ) from None
        except (ValueError, TypeError, KeyError):
            raise CliError(f"{path} is damaged; run 'printcloud login' again") from None


# --------------------------------------------------------------------------- errors


def describe_problem(status: int, body: bytes, content_type: str) -> str:
    """A sentence from a problem+json answer (or whatever else came back)."""
    problem: dict[str, Any] = {}
    if "json" in content_type:
        try:
            parsed = json.loads(body)
            problem = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            problem = {}
    title = str(problem.get("title") or f"HTTP {status}")
    detail = str(problem.get("detail") or "").strip()
    sentence = f"{title}: {detail}" if detail and detail != title else title
    if not sentence.endswith((".", "!", "?")):
        sentence += "."
    lines = [sentence]
    for e in problem.get("errors") or ():
        if isinstance(e, dict):
            lines.append(f"  - {e.get('field', '?')}: {e.get('reason', '')}")
    if not problem and body and "text" in content_type:
        lines.append("  " + body.decode(errors="replace").strip()[:300])
    return "\n".join(lines)


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command; failures become one readable message and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False)
        except aiohttp.ClientConnectorError as exc:
            err.print(f"[red]error:[/] cannot reach {exc.host}:{exc.port} ({exc.os_error})")
        except aiohttp.ClientError as exc:
            err.print(f"[red]error:[/] the connection failed: {type(exc).__name__} {exc}")
        except TimeoutError:
            err.print("[red]error:[/] the platform did not answer in time")
        except OSError as exc:
            err.print(f"[red]error:[/] {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        raise typer.Exit(1)

    return wrapper


# --------------------------------------------------------------------------- client


class RetryableAnswer(Exception):
    """The platform answered with a status worth sending the request again for."""

    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        try:
            self.retry_after = max(0.0, float(retry_after or 1))
        except ValueError:
            self.retry_after = 1.0


class Client:
    """An HTTP client of the public base URL holding a fresh access token."""

    def __init__(self, creds: Credentials, http: aiohttp.ClientSession) -> None:
        self.creds = creds
        self.http = http

    @property
    def base(self) -> str:
        return self.creds.url.rstrip("/")

    async def exchange(self) -> dict[str, Any]:
        """A new access token for the stored API token (saved beside it)."""
        body = {"grant_type": "api_token", "api_token": self.creds.api_token}
        async with self.http.post(f"{self.base}/v1/token", json=body) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise CliError(
                    "the platform refused the API token: "
                    + describe_problem(resp.status, raw, resp.content_type)
                )
            answer: dict[str, Any] = json.loads(raw)
        self.creds.access_token = str(answer["access_token"])
        self.creds.expires_at = time.time() + float(answer.get("expires_in", 0))
        self.creds.save()
        return answer

    async def token(self) -> str:
        if not self.creds.access_token or self.creds.expires_at - REFRESH_MARGIN_S < time.time():
            await self.exchange()
        return self.creds.access_token

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        data: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        retry: tuple[int, ...] = (),
    ) -> Any:
        """Send a request (once more with a new access token after a 401) and
        return its JSON answer; a refusal raises :class:`CliError` (an answer in
        ``retry``: :class:`RetryableAnswer`)."""
        for attempt in (1, 2):
            auth = {"Authorization": f"Bearer {await self.token()}", **(headers or {})}
            async with self.http.request(
                method,
                f"{self.base}{path}",
                json=json_body,
                params=params,
                data=data() if data else None,
                headers=auth,
            ) as resp:
                raw = await resp.read()
                if resp.status == 401 and attempt == 1:
                    self.creds.access_token = ""
                    continue
                if resp.status in retry:
                    raise RetryableAnswer(resp.status, resp.headers.get("Retry-After"))
                if resp.status not in ok:
                    raise CliError(describe_problem(resp.status, raw, resp.content_type))
                return json.loads(raw) if raw and "json" in resp.content_type else None
        raise AssertionError("unreachable")

    async def pages(self, path: str, params: dict[str, str] | None = None) -> list[Any]:
        """Every item of a keyset-paginated list."""
        items: list[Any] = []
        query = dict(params or {})
        query.setdefault("limit", "500")
        while True:
            page = await self.request("GET", path, params=query)
            items.extend(page.get("items", []))
            after = page.get("next_after")
            if not after:
                return items
            query["after"] = str(after)

    async def events(self, path: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Server-sent events of ``path`` as (event name, JSON data), resuming with
        ``Last-Event-ID`` when the stream breaks off."""
        last_id = ""
        failures = 0
        while True:
            headers = {
                "Authorization": f"Bearer {await self.token()}",
                "Accept": "text/event-stream",
            }
            if last_id:
                headers["Last-Event-ID"] = last_id
            timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
            try:
                async with self.http.get(
                    f"{self.base}{path}", headers=headers, timeout=timeout
                ) as resp:
                    if resp.status == 401:
                        self.creds.access_token = ""
                        failures += 1
                        if failures > 2:
                            raise CliError("the platform keeps refusing the access token")
                        continue
                    if resp.status != 200:
                        raw = await resp.read()
                        raise CliError(describe_problem(resp.status, raw, resp.content_type))
                    failures = 0
                    async for event_id, name, data in _sse(resp.content):
                        if event_id:
                            last_id = event_id
                        yield name, data
            except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
                pass
            failures += 1
            if failures > 5:
                raise CliError("the event stream keeps breaking off; try again later")
            await asyncio.sleep(min(2**failures * 0.2, 5))


async def _sse(content: aiohttp.StreamReader) -> AsyncIterator[tuple[str, str, dict[str, Any]]]:
    """Parse a ``text/event-stream`` into (id, event, data as JSON)."""
    event_id, name, data = "", "message", list[str]()
    async for raw in content:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = {"data": text}
                yield event_id, name, parsed if isinstance(parsed, dict) else {"data": parsed}
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field == "id":
            event_id = value


def run(work: Callable[[Client], Any], creds: Credentials | None = None) -> Any:
    """Run ``work`` with a client of the stored credentials."""
    creds = creds or Credentials.load()

    async def main() -> Any:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=120)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            return await work(Client(creds, http))

    return asyncio.run(main())


# --------------------------------------------------------------------------- parsing


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


def _short(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", value):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value
    return str(value)


# --------------------------------------------------------------------------- commands

UrlOption = Annotated[str, typer.Option("--url", help="the platform's base URL")]
TokenOption = Annotated[
    str, typer.Option("--token", help="an API token (pc_...)", envvar="PRINTCLOUD_API_TOKEN")
]


def login(url: UrlOption, token: TokenOption) -> None:
    """Log in: exchange the API token for an access token and remember both."""
    if not url.startswith(("http://", "https://")):
        raise CliError(f"{url!r} is not a URL (http://... or https://...)")
    creds = Credentials(url=url.rstrip("/"), api_token=token)

    async def work(client: Client) -> dict[str, Any]:
        return await client.exchange()

    answer = run(work, creds)
    out.print(f"logged in to {creds.url} (scopes: {answer.get('scope') or '-'})")
    out.print(f"credentials kept in {credentials_file()}")


def logout() -> None:
    """Forget the stored credentials."""
    try:
        credentials_file().unlink()
        out.print("logged out")
    except FileNotFoundError:
        out.print("not logged in")


printers_app = typer.Typer(help="Printers you can print to.", no_args_is_help=True)
jobs_app = typer.Typer(help="Your print jobs.", no_args_is_help=True)
reservations_app = typer.Typer(help="Reserved printing at a printer.", no_args_is_help=True)


@printers_app.command("list")
@friendly
def printers_list(
    virtual: Annotated[bool, typer.Option(help="list virtual printers (pull print)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List your tenant's printers (or virtual printers)."""
    path = "/v1/virtual-printers" if virtual else "/v1/printers"
    items = run(lambda c: c.pages(path))
    if as_json:
        out.print_json(json.dumps(items))
        return
    if virtual:
        table = Table("id", "name", "members")
        for vp in items:
            table.add_row(str(vp["id"]), vp["name"], str(len(vp.get("members", []))))
    else:
        table = Table("id", "name", "model", "location", "state")
        for p in items:
            table.add_row(
                str(p["id"]),
                p["name"],
                p.get("model", ""),
                p.get("location") or "-",
                p.get("connection_state", "-"),
            )
    out.print(table)


@printers_app.command("capabilities")
@friendly
def printers_capabilities(
    printer_id: Annotated[str, typer.Argument(help="the printer's id")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """What a printer can do: formats, media, sides, colour, resolutions, copies."""
    answer = run(lambda c: c.request("GET", f"/v1/printers/{printer_id}/capabilities"))
    if as_json:
        out.print_json(json.dumps(answer))
        return
    caps = answer.get("capabilities", {})
    table = Table(
        "setting", "supported", title=f"printer {printer_id} (version {answer.get('version')})"
    )

    def joined(key: str) -> str:
        return ", ".join(str(v) for v in caps.get(key, [])) or "-"

    copies = caps.get("copies_supported") or {}
    resolutions = ", ".join(
        f"{r['x']}x{r['y']} {r.get('units', 'dpi')}"
        for r in caps.get("printer_resolution_supported", [])
    )
    rows = [
        ("formats", joined("document_format_supported")),
        ("media (--media)", joined("media_supported")),
        ("default media", caps.get("media_default") or "-"),
        ("media types", joined("media_type_supported")),
        ("sides (--sides)", joined("sides_supported")),
        ("colour (--color-mode)", joined("print_color_mode_supported")),
        ("resolutions", resolutions or "-"),
        ("finishings", joined("finishings_supported")),
        ("copies (--copies)", f"{copies.get('min', 1)}-{copies.get('max', 1)}"),
        ("page ranges (--page-ranges)", "yes" if caps.get("page_ranges_supported") else "no"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


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


def _progress() -> Progress | None:
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
) -> None:
    """Print a file: upload it, then submit a job to a printer or a virtual printer."""
    if (printer is None) == (virtual_printer is None):
        raise CliError("name exactly one of --printer and --virtual-printer")
    if not file.is_file():
        raise CliError(f"{file} is not a readable file")
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
    size = file.stat().st_size
    content_type = document_format(file, fmt)
    job_title = title or file.name

    async def work(client: Client) -> dict[str, Any]:
        progress = _progress()
        body = _file_chunks(file, size, progress)
        with progress or contextlib.nullcontext():
            document = await _submit(
                client,
                "/v1/documents",
                params={"title": job_title},
                data=body,
                headers={"Content-Type": content_type, "Content-Length": str(size)},
            )
        document_id = document.get("document_id") or document.get("id")
        job: dict[str, Any] = {"document_id": document_id, "settings": settings, "title": job_title}
        if printer:
            job["printer_id"] = printer
        else:
            job["virtual_printer_id"] = virtual_printer
        if secure:
            job["release"] = "secure"
        answer: dict[str, Any] = await _submit(client, "/v1/jobs", json_body=job)
        return answer

    job = run(work)
    job_id = job.get("id") or job.get("job_id")
    out.print(f"job {job_id} {job.get('state', 'submitted')}")


def _job_row(job: dict[str, Any]) -> list[str]:
    where = job.get("printer_id") or job.get("virtual_printer_id")
    return [
        str(job.get("id") or job.get("job_id")),
        str(job.get("title") or "-"),
        str(job.get("state", "-")),
        str(where or "-"),
        _short(job.get("submitted_at") or job.get("created_at")),
    ]


@jobs_app.command("list")
@friendly
def jobs_list(
    state: Annotated[str | None, typer.Option(help="only jobs in this state")] = None,
    printer: Annotated[str | None, typer.Option("--printer", help="only at this printer")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List your jobs."""
    params = {k: v for k, v in {"state": state, "printer_id": printer}.items() if v}
    items = run(lambda c: c.pages("/v1/jobs", params))
    if as_json:
        out.print_json(json.dumps(items))
        return
    table = Table("id", "title", "state", "printer", "submitted")
    for job in items:
        table.add_row(*_job_row(job))
    out.print(table)


@jobs_app.command("show")
@friendly
def jobs_show(job_id: Annotated[str, typer.Argument(help="the job's id")]) -> None:
    """Show one job."""
    out.print_json(json.dumps(run(lambda c: c.request("GET", f"/v1/jobs/{job_id}"))))


@jobs_app.command("cancel")
@friendly
def jobs_cancel(job_id: Annotated[str, typer.Argument(help="the job's id")]) -> None:
    """Cancel a job that has not printed yet."""
    job = run(lambda c: c.request("POST", f"/v1/jobs/{job_id}/cancel"))
    state = (job or {}).get("state", "canceled")
    out.print(f"job {job_id} {state}")


def state_of(data: dict[str, Any]) -> str | None:
    """The job state an event carries (``state``, or ``job.state``)."""
    state = data.get("state")
    if state is None and isinstance(data.get("job"), dict):
        state = data["job"].get("state")
    return str(state) if state is not None else None


@jobs_app.command("watch")
@friendly
def jobs_watch(job_id: Annotated[str, typer.Argument(help="the job's id")]) -> None:
    """Follow a job's events until it completes, fails, is canceled or expires."""

    async def work(client: Client) -> str:
        async for name, data in client.events(f"/v1/jobs/{job_id}/events"):
            state = state_of(data)
            detail = data.get("reason") or data.get("detail") or ""
            out.print(
                f"{time.strftime('%H:%M:%S')} {name}"
                + (f" state={state}" if state else "")
                + (f" ({detail})" if detail else ""),
                highlight=False,
            )
            if state in FINAL_STATES:
                return state
        raise CliError("the event stream ended before the job finished")

    final = run(work)
    if final != "completed":
        raise typer.Exit(2)


def release(
    printer: Annotated[str, typer.Option("--printer", help="the printer to print at")],
    job: Annotated[list[str] | None, typer.Option("--job", help="a held job's id (repeat)")] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="every job you hold")] = False,
) -> None:
    """Release held jobs (pull print) at a printer."""
    if bool(job) == all_jobs:
        raise CliError("give --job (one or more) or --all")
    body: dict[str, Any] = {"all": True} if all_jobs else {"job_ids": job}
    answer = run(lambda c: c.request("POST", f"/v1/printers/{printer}/release", json_body=body))
    released = (answer or {}).get("released", (answer or {}).get("items", []))
    if isinstance(released, list):
        for item in released:
            ident = (item.get("id") or item.get("job_id")) if isinstance(item, dict) else item
            out.print(f"released {ident}")
        out.print(f"{len(released)} job(s) released at {printer}")
    else:
        out.print_json(json.dumps(answer))


@reservations_app.command("create")
@friendly
def reservations_create(
    printer: Annotated[str, typer.Option("--printer", help="the printer")],
    max_count: Annotated[int, typer.Option("--max-count", min=1, help="documents at most")],
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="pages at most")],
    deadline: Annotated[
        str, typer.Option(help="until when, ISO 8601 with a time zone (2030-01-01T12:00:00Z)")
    ],
) -> None:
    """Reserve printing of your kept documents at a printer until a deadline."""
    try:
        when = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--deadline {deadline!r} is not an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise CliError("--deadline needs a time zone, e.g. 2030-01-01T12:00:00Z or +02:00")
    body = {
        "printer_id": printer,
        "max_count": max_count,
        "max_pages": max_pages,
        "deadline": when.isoformat(),
    }
    answer = run(lambda c: c.request("POST", "/v1/reservations", json_body=body))
    jobs = answer.get("jobs") or []
    out.print(
        f"reservation {answer.get('reservation_id')}: {len(jobs)} document(s) queued at "
        f"{printer}, printed in this order until {when.isoformat()}:"
    )
    for n, job in enumerate(jobs, start=1):
        pages = "?" if job.get("pages") is None else job["pages"]
        title = job.get("title") or "(untitled)"
        out.print(f"  {n}. {title}  {pages} page(s)  job {job.get('id')}")


def user_commands(app: typer.Typer) -> None:
    """Add the user commands to the ``printcloud`` app."""
    app.command("login")(friendly(login))
    app.command("logout")(logout)
    app.add_typer(printers_app, name="printers")
    app.command("print")(friendly(print_file))
    app.add_typer(jobs_app, name="jobs")
    app.command("release")(friendly(release))
    app.add_typer(reservations_app, name="reservations")
