"""The HTTP client of the public API: stored credentials, the access token
exchanged for the API token (``POST /v1/token``, again when it has expired), JSON
requests, keyset pagination, server-sent events, and sentences built from the
platform's problem+json answers.

Imports only the standard library and aiohttp: the phone client and every
command module build on it."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

REFRESH_MARGIN_S = 30


class CliError(Exception):
    """A failure told to the user as a sentence (exit code 1); ``status`` and
    ``code`` are the platform's answer when it refused (for the hint of what to do)."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @classmethod
    def refused(cls, status: int, body: bytes, content_type: str) -> CliError:
        """The platform's problem+json answer as a sentence, keeping its status and code."""
        return cls(
            describe_problem(status, body, content_type),
            status=status,
            code=problem_code(body, content_type),
        )


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


def problem_code(body: bytes, content_type: str) -> str:
    """The ``code`` of a problem+json answer ("" when there is none)."""
    if "json" not in content_type:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    return str(parsed.get("code") or "") if isinstance(parsed, dict) else ""


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
                    + describe_problem(resp.status, raw, resp.content_type),
                    status=resp.status,
                    code="api-token-refused",
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
                    raise CliError.refused(resp.status, raw, resp.content_type)
                return json.loads(raw) if raw and "json" in resp.content_type else None
        raise AssertionError("unreachable")

    async def text(self, path: str, params: dict[str, str] | None = None) -> str:
        """A GET whose answer is text (CSV, say), not JSON; a refusal raises CliError."""
        for attempt in (1, 2):
            auth = {"Authorization": f"Bearer {await self.token()}"}
            async with self.http.get(f"{self.base}{path}", params=params, headers=auth) as resp:
                raw = await resp.read()
                if resp.status == 401 and attempt == 1:
                    self.creds.access_token = ""
                    continue
                if resp.status != 200:
                    raise CliError.refused(resp.status, raw, resp.content_type)
                return raw.decode()
        raise AssertionError("unreachable")

    async def content(self, path: str) -> bytes:
        """A GET whose answer is bytes (a document); a refusal raises CliError."""
        parts: list[bytes] = []
        await self.copy(path, None, parts.append)
        return b"".join(parts)

    async def copy(
        self, path: str, params: dict[str, str] | None, write: Callable[[bytes], Any]
    ) -> int:
        """A GET whose answer is streamed into ``write`` chunk by chunk (an export of any
        size, never held whole); returns the bytes written. A refusal raises CliError."""
        for attempt in (1, 2):
            auth = {"Authorization": f"Bearer {await self.token()}"}
            timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
            async with self.http.get(
                f"{self.base}{path}", params=params, headers=auth, timeout=timeout
            ) as resp:
                if resp.status == 401 and attempt == 1:
                    self.creds.access_token = ""
                    continue
                if resp.status != 200:
                    raw = await resp.read()
                    raise CliError.refused(resp.status, raw, resp.content_type)
                written = 0
                async for chunk in resp.content.iter_chunked(65536):
                    write(chunk)
                    written += len(chunk)
                return written
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
                        raise CliError.refused(resp.status, raw, resp.content_type)
                    failures = 0
                    async for event_id, name, data in sse_events(resp.content):
                        if event_id:
                            last_id = event_id
                        yield name, data
            except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
                pass
            failures += 1
            if failures > 5:
                raise CliError("the event stream keeps breaking off; try again later")
            await asyncio.sleep(min(2**failures * 0.2, 5))


async def sse_events(
    content: aiohttp.StreamReader,
) -> AsyncIterator[tuple[str, str, dict[str, Any]]]:
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
