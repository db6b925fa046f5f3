"""The demo printer of the local platform: a real agent process in simulator mode,
onboarded through the real API the first time (registered, then claimed for the
"Demo" tenant); a demo user of that tenant with an API token; and the print jobs
that prove the whole chain: a test page sent as a device command, and a real job
submitted by the demo user through the public base URL (document upload, job,
routing, queue, notification, download, print, status back to completed)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from services.agent.journal import Journal
from services.agent.onboarding import Registrar
from services.agent.state import StateDir
from shared.infra.processes import ServiceProcess
from shared.testing.ipp import minimal_pdf

DEMO_TENANT = "Demo"
DEMO_EMAIL = "demo@printcloud.example.com"
DEMO_SCOPES = ["printers:read", "jobs:read", "jobs:submit"]
_CODE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b")


async def _demo_tenant(api: aiohttp.ClientSession) -> str:
    async with api.post("/v1/tenants", json={"name": DEMO_TENANT}) as resp:
        if resp.status == 201:
            return str((await resp.json())["id"])
    after = None
    while True:  # the tenant exists: find it
        params = {"limit": "500", **({"after": after} if after else {})}
        async with api.get("/v1/tenants", params=params) as resp:
            page = await resp.json()
        for tenant in page["items"]:
            if tenant["name"] == DEMO_TENANT:
                return str(tenant["id"])
        after = page["next_after"]
        if after is None:
            raise RuntimeError("the Demo tenant exists but cannot be found")


async def onboard(registry_url: str, token: str, state: Path) -> uuid.UUID:
    """The demo printer's device id: registered and claimed now, or from its state."""
    directory = StateDir(state)
    known = directory.identity()
    if known is not None:
        return known.device_id
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(registry_url, headers=headers) as api,
        aiohttp.ClientSession() as http,
    ):
        tenant = await _demo_tenant(api)
        codes: asyncio.Queue[str] = asyncio.Queue()

        def say(line: str) -> None:
            found = _CODE.search(line)
            if found:
                codes.put_nowait(found.group(1))

        registrar = Registrar(registry_url, directory, "printer", "Printcloud Demo", http, 0.5)
        waiting = asyncio.create_task(registrar.run(say))
        code = await asyncio.wait_for(codes.get(), 30)
        body = {"tenant_id": tenant, "claim_code": code, "name": "Demo printer",
                "region": "local", "location": "this machine"}  # fmt: skip
        async with api.post("/v1/registrations/claim", json=body) as resp:
            if resp.status != 201:
                waiting.cancel()
                raise RuntimeError(f"claiming the demo printer failed: {await resp.text()}")
        identity = await asyncio.wait_for(waiting, 30)
        return identity.device_id


def agent_process(state: Path, gateway_url: str, api_url: str, log: Path) -> ServiceProcess:
    """The demo agent: a printer simulator whose jobs land in ``state/spool``; it
    lists and downloads its jobs from ``api_url`` (the public base URL)."""
    args = [
        "run", "--state", str(state), "--gateway", gateway_url, "--api-url", api_url,
        "--mode", "simulator", "--spool", str(state / "spool"),
    ]  # fmt: skip
    return ServiceProcess("demo-agent", "services.agent", {}, log, args=args)


async def print_test_page(registry_url: str, token: str, device_id: uuid.UUID, spool: Path) -> str:
    """Send a job to the demo printer as a command and wait for its file in the spool."""
    job_id = uuid.uuid4()
    document = minimal_pdf("Printcloud test page")
    payload: dict[str, Any] = {
        "job_id": str(job_id), "document_format": "application/pdf", "title": "test page",
        "document_b64": base64.b64encode(document).decode(),
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(registry_url, headers=headers) as api:
        async with api.post(
            f"/v1/devices/{device_id}/commands", json={"name": "print_job", "payload": payload}
        ) as resp:
            resp.raise_for_status()
    for _ in range(200):  # the agent, another process, writes the file: poll for 60 s
        found = await asyncio.to_thread(lambda: list(spool.glob(f"{job_id}*")))
        if found:
            break
        await asyncio.sleep(0.3)
    else:
        raise RuntimeError(f"the demo printer did not print job {job_id} within 60 s")
    printed = found[0]
    if await asyncio.to_thread(printed.read_bytes) != document:
        raise RuntimeError(f"the demo printer printed something else into {printed}")
    return f"test page {job_id} printed by the demo printer into {printed}"


# ------------------------------------------------------------------ the demo user


@dataclass(frozen=True)
class DemoUser:
    """The Demo tenant's user and the API token the platform keeps for it."""

    tenant_id: str
    user_id: str
    api_token: str


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and why."""


async def _answer(resp: aiohttp.ClientResponse, what: str, *ok: int) -> Any:
    body = await resp.text()
    if resp.status not in ok:
        raise DemoError(f"{what}: HTTP {resp.status}: {body[:500]}")
    return json.loads(body) if body else None


async def access_token(http: aiohttp.ClientSession, base_url: str, api_token: str) -> str | None:
    """An access token for ``api_token`` (None when auth refuses the API token)."""
    body = {"grant_type": "api_token", "api_token": api_token}
    async with http.post(f"{base_url}/v1/token", json=body) as resp:
        if resp.status in (400, 401, 403):
            return None
        return str((await _answer(resp, "exchanging the API token", 200))["access_token"])


async def _find_user(http: aiohttp.ClientSession, base_url: str, tenant_id: str) -> str:
    after = None
    while True:
        params = {"tenant_id": tenant_id, "limit": "500", **({"after": after} if after else {})}
        async with http.get(f"{base_url}/v1/users", params=params) as resp:
            page = await _answer(resp, "listing the Demo tenant's users", 200)
        for user in page["items"]:
            if user.get("email") == DEMO_EMAIL:
                return str(user["id"])
        after = page["next_after"]
        if after is None:
            raise DemoError(f"the demo user {DEMO_EMAIL} exists but cannot be found")


async def demo_user(base_url: str, operator_token: str, keep: Path) -> DemoUser:
    """The demo user with a working API token: the one kept in ``keep`` when auth
    still accepts it, else made now through the public API (user if missing, new API
    token) and kept (mode 0600)."""
    operator = {"Authorization": f"Bearer {operator_token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        known = await asyncio.to_thread(load_demo_user, keep)
        if known is not None and await access_token(http, base_url, known.api_token):
            return known
        async with aiohttp.ClientSession(base_url, headers=operator) as api:
            tenant_id = await _demo_tenant(api)
        body = {"tenant_id": tenant_id, "display_name": "Demo user", "email": DEMO_EMAIL,
                "roles": ["user"]}  # fmt: skip
        async with http.post(f"{base_url}/v1/users", json=body, headers=operator) as resp:
            if resp.status == 409:
                user_id = await _find_user(http, base_url, tenant_id)
            else:
                user_id = str((await _answer(resp, "creating the demo user", 201))["id"])
        async with http.post(
            f"{base_url}/v1/users/{user_id}/api-tokens",
            json={"name": "local platform demo", "scopes": DEMO_SCOPES},
            headers=operator,
        ) as resp:
            token = await _answer(resp, "creating the demo user's API token", 201)
    user = DemoUser(tenant_id, user_id, str(token["token"]))
    await asyncio.to_thread(_keep_demo_user, keep, user)
    return user


DEMO_POOL = "Demo pull printing"


async def demo_virtual_printer(base_url: str, operator_token: str, printer_id: str) -> str:
    """The Demo tenant's virtual printer (pull print) with the demo printer as its
    member, made through the public API the first time; its id."""
    operator = {"Authorization": f"Bearer {operator_token}"}
    async with aiohttp.ClientSession(
        base_url, headers=operator, timeout=aiohttp.ClientTimeout(total=30)
    ) as api:
        tenant_id = await _demo_tenant(api)
        body = {"tenant_id": tenant_id, "name": DEMO_POOL, "members": [printer_id]}
        async with api.post("/v1/virtual-printers", json=body) as resp:
            if resp.status != 409:
                return str((await _answer(resp, "creating the demo virtual printer", 201))["id"])
        params = {"tenant_id": tenant_id, "limit": "500"}
        async with api.get("/v1/virtual-printers", params=params) as resp:
            page = await _answer(resp, "listing the Demo tenant's virtual printers", 200)
        for pool in page["items"]:
            if pool["name"] == DEMO_POOL:
                if printer_id not in [str(m) for m in pool.get("members", [])]:
                    raise DemoError(f"the virtual printer {DEMO_POOL!r} lost the demo printer")
                return str(pool["id"])
    raise DemoError(f"the virtual printer {DEMO_POOL!r} exists but cannot be found")


def load_demo_user(path: Path) -> DemoUser | None:
    """The demo user kept in ``path``, if any."""
    if not path.exists():
        return None
    return DemoUser(**json.loads(path.read_text()))


def _keep_demo_user(path: Path, user: DemoUser) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(asdict(user), indent=2))


# ------------------------------------------------------------------ a real job


@dataclass(frozen=True)
class PrintedJob:
    """A job that went the whole way, and where the demo printer put it."""

    job_id: uuid.UUID
    printed: Path
    seconds: float
    """From submission to completed."""


WAITING_FOR = {
    "pending": "routing decides where it goes",
    "held": "its owner releases it at a member printer",
    "queued": "the demo printer picks it up",
    "sent": "the demo printer prints it and reports back",
}


async def submit_and_wait(
    base_url: str, user: DemoUser, printer_id: uuid.UUID, state: Path, timeout: float = 120,
    progress: Callable[[str], None] | None = None, pull_via: uuid.UUID | None = None,
) -> PrintedJob:  # fmt: skip
    """Upload a small PDF and submit it to the demo printer as the demo user, through
    the public base URL; wait until the job is ``completed`` and the demo printer's
    agent has it in its journal (printed) and its spool (the same bytes).

    ``progress`` is told each stage as it begins (what is being waited for). With
    ``pull_via`` the job goes to that virtual printer instead, waits there held, and
    is released at the demo printer (pull print)."""
    say = progress or (lambda _: None)
    document = minimal_pdf("Printcloud demo job")
    digest = hashlib.sha256(document).hexdigest()
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        say("logging in as the demo user")
        token = await access_token(http, base_url, user.api_token)
        if token is None:
            raise DemoError("auth refused the demo user's API token")
        bearer = {"Authorization": f"Bearer {token}"}
        say("uploading a one-page PDF")
        async with http.post(
            f"{base_url}/v1/documents",
            params={"title": "Printcloud demo job"},
            data=document,
            headers={**bearer, "Content-Type": "application/pdf", "X-Content-SHA256": digest},
        ) as resp:
            stored = await _answer(resp, "uploading the document", 201)
        started = time.monotonic()
        job_body = {"document_id": stored["document_id"], "printer_id": str(printer_id),
                    "title": "Printcloud demo job", "settings": {}}  # fmt: skip
        if pull_via is not None:
            del job_body["printer_id"]
            job_body["virtual_printer_id"] = str(pull_via)
        say("submitting the job to the demo " + ("virtual printer" if pull_via else "printer"))
        while True:  # a printer claimed a moment ago may not have reached the queues yet
            async with http.post(f"{base_url}/v1/jobs", json=job_body, headers=bearer) as resp:
                if resp.status in (404, 409) and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    continue
                job = await _answer(resp, "submitting the job", 201)
                break
        job_id = uuid.UUID(str(job["id"]))
        state_now, told = str(job["state"]), ""
        while state_now != "completed":
            if state_now != told and state_now in WAITING_FOR:
                say(f"job {job_id} is {state_now}: waiting until {WAITING_FOR[state_now]}")
                told = state_now
            if state_now in ("failed", "canceled", "expired"):
                raise DemoError(f"job {job_id} ended {state_now}: {job}")
            if state_now == "held" and pull_via is not None:
                await _release(http, base_url, bearer, printer_id, job_id, deadline)
                say(f"job {job_id} released at the demo printer")
                pull_via = None
            if time.monotonic() > deadline:
                raise DemoError(
                    f"job {job_id} not completed within {timeout:.0f} s (last state: "
                    f"{state_now}; see the logs of queues, routing, gateway and demo-agent)"
                )
            await asyncio.sleep(0.3)
            async with http.get(f"{base_url}/v1/jobs/{job_id}", headers=bearer) as resp:
                job = await _answer(resp, "reading the job", 200)
            state_now = str(job["state"])
    seconds = time.monotonic() - started
    printed = await asyncio.to_thread(_printed, state, job_id)
    if printed is None:
        raise DemoError(f"job {job_id} is completed but the demo printer's journal has no print")
    if await asyncio.to_thread(printed.read_bytes) != document:
        raise DemoError(f"the demo printer printed something else into {printed}")
    return PrintedJob(job_id, printed, seconds)


async def _release(
    http: aiohttp.ClientSession, base_url: str, bearer: dict[str, str], printer_id: uuid.UUID,
    job_id: uuid.UUID, deadline: float,
) -> None:  # fmt: skip
    """``printcloud release --printer <demo printer> --all``, as the demo user."""
    url = f"{base_url}/v1/printers/{printer_id}/release"
    while True:
        async with http.post(url, json={"all": True}, headers=bearer) as resp:
            answer = await _answer(resp, "releasing the held job", 200)
        if any(str(j.get("id")) == str(job_id) for j in answer.get("released", [])):
            return
        if time.monotonic() > deadline:
            raise DemoError(f"job {job_id} is held but releasing at the demo printer moved nothing")
        await asyncio.sleep(0.5)  # the virtual printer's membership may not be known yet


def _printed(state: Path, job_id: uuid.UUID) -> Path | None:
    """The spool file of ``job_id`` if the agent's journal says it printed it."""
    journal = Journal(state / "journal.sqlite3")
    try:
        record = journal.job(job_id)
    finally:
        journal.close()
    if record is None or record.state != "printed":
        return None
    found = sorted((state / "spool").glob(f"{job_id}.*"))
    return found[0] if found else None
