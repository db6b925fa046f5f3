"""Who may call what, on every route every service serves (read from the services' own
apps, so a new service or route is in the matrix without changing this file):

- tenant A's administrator naming tenant B's resources is answered exactly as for an
  id that does not exist (404, same code and detail: nothing reveals existence);
- same tenant, not shared: a user of tenant A naming A's printer and virtual printer
  once they are no longer shared with them is answered exactly as for ids that do not
  exist, on every route that names them, and through the doors that take them in a
  body (submitting a job, listing by printer, a reservation) and over IPP;
- a device's access token on a user's route: 401 or 403;
- a service's own identity (the gateway's service token) on any route but the one its
  grant names: 401 or 403;
- an expired access token, a token signed by someone else, and a revoked API token
  used as a bearer: 401 everywhere; a revoked API token buys no access token (invalid-grant),
  and the access tokens minted from it before are refused everywhere within seconds.

Then every log file the processes wrote is scanned for secrets: access tokens, API
tokens, private keys, the operator token, and the content of a printed document.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.ipp.protocol.codec import Attribute, Group, Message, decode, encode
from services.ipp.protocol.constants import Op, Status, Tag
from shared.crypto.device_token import device_token_request
from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, spki_der
from shared.protocols.onboarding import registration_headers
from shared.testing.documents import pdf
from shared.testing.infra import TestInfra
from tests.support.device import TestDevice, next_frame
from tests.support.platform import (
    Caller,
    Platform,
    admin_scopes,
    new_caller,
    new_tenant,
    running_platform,
)

pytestmark = pytest.mark.e2e
TOKEN_TTL_S = 8
PUBLIC = {"/healthz", "/readyz", "/metrics"}
DOCUMENT_MARKER = "MARKER-" + uuid.uuid4().hex
# Routes a device calls with its own token (they answer about the device itself).
DEVICE_PATH = re.compile(r"/devices/me(/|$)")

SECRET_PATTERNS = {
    "access token (JWT)": re.compile(
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    ),
    "API token": re.compile(r"pc_[A-Za-z0-9_-]{43}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


@dataclass
class Tenant:
    admin: Caller
    ids: dict[str, str]
    device: Any
    user: Caller


async def _tenant_with_everything(platform: Platform, http: aiohttp.ClientSession) -> Tenant:
    """A tenant with an administrator, a printer (claimed device), a virtual printer and
    a second user with an API token: ids by path parameter name."""
    tenant = await new_tenant(http, platform)
    admin = await new_caller(http, platform, tenant, ["admin"], admin_scopes())
    other = await new_caller(
        http, platform, tenant, ["user"], ["printers:read", "jobs:read", "jobs:submit"]
    )
    reg, op = platform.url("registry"), platform.operator
    key = ed25519.Ed25519PrivateKey.generate()
    body = {"public_key": b64url_encode(spki_der(key.public_key())), "kind": "printer",
            "model": "Acme 1"}  # fmt: skip
    signed = registration_headers(key)
    registration = await (
        await http.post(reg + "/v1/registrations", json=body, headers=signed)
    ).json()
    claim = {"tenant_id": tenant, "claim_code": registration["claim_code"], "name": "Lobby",
             "region": "eu-west"}  # fmt: skip
    resp = await http.post(reg + "/v1/registrations/claim", json=claim, headers=op)
    assert resp.status == 201, await resp.text()
    printer_id = (await resp.json())["device_id"]
    device = TestDevice(uuid.UUID(printer_id), uuid.UUID(tenant))
    device.key, device.der = key, spki_der(key.public_key())
    device.fingerprint = fingerprint(device.der)
    vp_body = {"tenant_id": tenant, "name": "VP", "members": [printer_id]}
    vp = await (await http.post(reg + "/v1/virtual-printers", json=vp_body, headers=op)).json()
    made = await _more_resources(http, platform, tenant)
    ids = {
        **made,
        "tenant_id": tenant,
        "printer_id": printer_id,
        "device_id": printer_id,
        "virtual_printer_id": vp["id"],
        "user_id": other.user_id,
        "token_id": other.api_token_id,
        "registration_id": registration["registration_id"]
        if "registration_id" in registration
        else registration.get("id", str(uuid.uuid4())),
    }
    return Tenant(admin, ids, device, other)


async def _more_resources(
    http: aiohttp.ClientSession, platform: Platform, tenant: str
) -> dict[str, str]:
    """A connector, a quota, a supplier, a supply rule and a webhook endpoint of
    ``tenant``: ids by path parameter name, so their routes are in the foreign-id check
    too."""
    op = platform.operator
    key = ed25519.Ed25519PrivateKey.generate()
    body = {"public_key": b64url_encode(spki_der(key.public_key())), "kind": "connector",
            "model": "Bridge 1"}  # fmt: skip
    reg = platform.url("registry")
    registration = await (
        await http.post(reg + "/v1/registrations", json=body, headers=registration_headers(key))
    ).json()
    claim = {"tenant_id": tenant, "claim_code": registration["claim_code"], "name": "Site",
             "region": "eu-west"}  # fmt: skip
    resp = await http.post(reg + "/v1/registrations/claim", json=claim, headers=op)
    assert resp.status == 201, await resp.text()
    connector_id = (await resp.json())["device_id"]
    made = {"connector_id": connector_id}
    for name, service, path, body in (
        ("quota_id", "counters", "/v1/quotas",
         {"tenant_id": tenant, "subject_kind": "tenant", "metric": "pages", "period": "month",
          "limit": 100}),
        ("supplier_id", "consumables", "/v1/suppliers",
         {"tenant_id": tenant, "name": "Toner Co", "webhook_url": "https://supplier.example/h",
          "secret": "s" * 40}),
        ("rule_id", "consumables", "/v1/supply-rules",
         {"tenant_id": tenant, "region": "*", "model": "*", "colour": "*", "kind": "toner",
          "action": "warn", "threshold_percent": 10}),
        ("endpoint_id", "notifications", "/v1/webhook-endpoints",
         {"tenant_id": tenant, "url": "https://93.184.216.34/hooks",
          "event_types": ["quota.exceeded"]}),
    ):  # fmt: skip
        resp = await http.post(platform.url(service) + path, json=body, headers=op)
        assert resp.status == 201, (name, resp.status, await resp.text())
        made[name] = str((await resp.json())["id"])
    return made


async def _fresh(http: aiohttp.ClientSession, platform: Platform, caller: Caller) -> dict[str, str]:
    """A new access token of ``caller`` (they live only TOKEN_TTL_S here)."""
    resp = await http.post(
        platform.url("auth") + "/v1/token",
        json={"grant_type": "api_token", "api_token": caller.api_token},
    )
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())), path)


async def _answer(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    body = None if method in ("GET", "DELETE") else {}
    async with http.request(method, url, headers=headers, json=body) as resp:
        text = await resp.text()
        try:
            parsed = json.loads(text) if text else {}
        except json.JSONDecodeError:
            parsed = {"raw": text[:200]}
        return resp.status, parsed if isinstance(parsed, dict) else {"value": parsed}


def _routes(platform: Platform) -> list[tuple[str, str, str]]:
    """(service, method, path) of every token-protected candidate route."""
    out = []
    for name in platform.processes:
        for method, path in sorted(platform.served_routes(name)):
            if path in PUBLIC or path == "/v1/devices/ws":
                continue
            out.append((name, method, path))
    return out


async def _device_token(
    http: aiohttp.ClientSession, platform: Platform, device: TestDevice
) -> str | None:
    """A device access token from auth, once auth knows the device's key; None when
    auth does not issue device tokens."""
    if ("POST", "/v1/device-token") not in platform.served_routes("auth"):
        return None
    async with asyncio.timeout(60):
        while True:
            body = device_token_request(device.key, device.device_id)
            resp = await http.post(platform.url("auth") + "/v1/device-token", json=body)
            if resp.status == 200:
                return str((await resp.json())["access_token"])
            await asyncio.sleep(1.1)  # a timestamp is accepted once


async def test_isolation_matrix_on_every_route_and_no_secret_in_any_log(
    infra: TestInfra, tmp_path: Path
) -> None:
    from deploy.catalog import SERVICES

    overrides = {name: {"AUTH_LEEWAY_S": "0"} for name in SERVICES}
    overrides["auth"]["ACCESS_TOKEN_TTL_S"] = str(TOKEN_TTL_S)
    async with (
        # The edge too: the IPP endpoint reaches the platform through the public URL.
        running_platform(
            infra.bootstrap, infra.admin_dsn, tmp_path, settings=overrides, edge=True
        ) as platform,
        aiohttp.ClientSession() as http,
    ):
        mine = await _tenant_with_everything(platform, http)
        theirs = await _tenant_with_everything(platform, http)
        expiring = await _fresh(http, platform, mine.admin)
        issued_at = time.monotonic()
        routes = _routes(platform)
        assert len(routes) > 20
        protected: list[tuple[str, str, str]] = []
        uncovered: set[str] = set()
        checked = 0
        for service, method, path in routes:
            url = platform.url(service) + _fill(path, mine.ids)
            status, _ = await _answer(http, method, url, {})
            if status != 401:
                continue  # a route that needs no token (registration, token exchange)
            protected.append((service, method, path))
            params = re.findall(r"\{(\w+)\}", path)
            uncovered |= {p for p in params if p not in mine.ids}
            if not params or any(p not in mine.ids for p in params):
                continue
            # Tenant A's administrator, tenant B's ids vs ids that exist nowhere.
            me = await _fresh(http, platform, mine.admin)
            missing = {p: str(uuid.uuid4()) for p in params}
            f_status, foreign = await _answer(
                http, method, platform.url(service) + _fill(path, theirs.ids), me
            )
            a_status, absent = await _answer(
                http, method, platform.url(service) + _fill(path, missing), me
            )
            where = f"{service} {method} {path}"
            assert f_status == a_status, (where, f_status, foreign, a_status, absent)
            assert f_status >= 400, (where, f_status, foreign)
            assert (foreign.get("code"), foreign.get("detail")) == (
                absent.get("code"), absent.get("detail"),
            ), where  # fmt: skip
            if method == "GET":
                # What the caller may read of its own, it may not of theirs: 404.
                own, _ = await _answer(
                    http, method, platform.url(service) + _fill(path, mine.ids), me
                )
                assert own >= 400 or f_status == 404, (where, own, f_status, foreign)
                checked += 1
        assert len(protected) > 15
        assert checked > 5
        await _same_tenant_not_shared(http, platform, mine, protected)
        print(f"protected routes: {len(protected)}, foreign-id reads: {checked}; "
              "path parameters without a resource "
              f"made here (foreign-id check not run): {sorted(uncovered)}")  # fmt: skip

        # A device's token never opens a user's route.
        device_token = await _device_token(http, platform, mine.device)
        print("device tokens:", "issued" if device_token else "not served by auth")
        if device_token is not None:
            headers = {"Authorization": f"Bearer {device_token}"}
            for service, method, path in protected:
                if DEVICE_PATH.search(path):
                    continue
                status, body = await _answer(
                    http, method, platform.url(service) + _fill(path, mine.ids), headers
                )
                assert status in (401, 403), (service, method, path, status, body)

        # A service's own identity opens only what its grant allows: the gateway's token
        # reads a device's pending commands and is refused on every other route.
        gateway = {"Authorization": f"Bearer {_gateway_token(platform)}"}
        granted = ("registry", "GET", "/v1/devices/{device_id}/commands")
        for service, method, path in protected:
            status, body = await _answer(
                http, method, platform.url(service) + _fill(path, mine.ids), gateway
            )
            wanted = (200,) if (service, method, path) == granted else (401, 403)
            assert status in wanted, (service, method, path, status, body)

        # Expired, foreign-signed and revoked credentials: 401 everywhere.
        await asyncio.sleep(max(0.0, TOKEN_TTL_S + 1 - (time.monotonic() - issued_at)))
        forged = jwt.encode(
            {**jwt.decode(expiring["Authorization"][7:], options={"verify_signature": False}),
             "exp": int(time.time()) + 600},
            ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA",
            headers={"kid": jwt.get_unverified_header(expiring["Authorization"][7:]).get("kid")},
        )  # fmt: skip
        revoked = mine.admin.api_token
        minted = await _fresh(http, platform, mine.admin)  # before the revocation
        resp = await http.post(
            f"{platform.url('auth')}/v1/api-tokens/{mine.admin.api_token_id}/revoke",
            headers=platform.operator,
            json={},
        )
        assert resp.status in (200, 204), await resp.text()
        resp = await http.post(
            platform.url("auth") + "/v1/token",
            json={"grant_type": "api_token", "api_token": revoked},
        )
        # OAuth's answer to a dead grant (RFC 6749 5.2), whichever way it died.
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["code"] == "invalid-grant"
        for label, headers in (
            ("expired", expiring),
            ("forged", {"Authorization": f"Bearer {forged}"}),
            ("revoked API token", {"Authorization": f"Bearer {revoked}"}),
        ):
            for service, method, path in protected:
                status, body = await _answer(
                    http, method, platform.url(service) + _fill(path, mine.ids), headers
                )
                assert status == 401, (label, service, method, path, status, body)
        # An access token minted from the revoked API token, though not expired, is
        # refused by every service within seconds (they follow auth.tokens).
        for service, method, path in protected:
            url = platform.url(service) + _fill(path, mine.ids)
            async with asyncio.timeout(15):
                while (answer := await _answer(http, method, url, minted))[0] != 401:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            status, body = answer
            # (a device's signed registration poll takes no bearer token at all)
            detail = body.get("detail") if "{registration_id}" not in path else None
            assert (status, detail) in ((401, "the token was revoked"), (401, None)), (
                service, method, path, status, body,
            )  # fmt: skip

        # A document with a marker goes through registry, Kafka and gateway to a device.
        await _print_marked_document(http, platform, theirs)
        for proc in platform.processes.values():
            assert proc.is_running(), f"{proc.name} died:\n{proc.log_tail()}"
        await asyncio.to_thread(platform.stop)  # flush every log

    _assert_no_secrets(platform, [mine, theirs])


SHARED_PARAMS = {"printer_id", "virtual_printer_id"}


async def _same_tenant_not_shared(
    http: aiohttp.ClientSession,
    platform: Platform,
    mine: Tenant,
    protected: list[tuple[str, str, str]],
) -> None:
    """Narrow tenant A's printer and virtual printer to its administrator: for A's other
    user they are then exactly as ids that do not exist, through every door."""
    printer, vp = mine.ids["printer_id"], mine.ids["virtual_printer_id"]
    me = await _fresh(http, platform, mine.user)
    reg, queues = platform.url("registry"), platform.url("queues")
    status, _ = await _answer(http, "GET", f"{reg}/v1/printers/{printer}", me)
    assert status == 200  # shared with the whole tenant until narrowed
    narrowed = {"tenant": False, "user_ids": [mine.admin.user_id]}
    for path in (f"/v1/printers/{printer}/sharing", f"/v1/virtual-printers/{vp}/sharing"):
        resp = await http.put(reg + path, json=narrowed, headers=platform.operator)
        assert resp.status == 200, await resp.text()
    # The queues learn it from the registry's events.
    async with asyncio.timeout(60):
        while (await _answer(http, "GET", f"{queues}/v1/jobs?printer_id={printer}", me))[0] != 404:
            await asyncio.sleep(0.3)
            me = await _fresh(http, platform, mine.user)
    rows = 0
    for service, method, path in protected:
        params = set(re.findall(r"\{(\w+)\}", path))
        if not params & SHARED_PARAMS or not params <= set(mine.ids):
            continue
        me = await _fresh(http, platform, mine.user)
        missing = {**mine.ids, **{p: str(uuid.uuid4()) for p in params & SHARED_PARAMS}}
        n_status, hidden = await _answer(
            http, method, platform.url(service) + _fill(path, mine.ids), me
        )
        a_status, absent = await _answer(
            http, method, platform.url(service) + _fill(path, missing), me
        )
        where = f"not shared: {service} {method} {path}"
        assert (n_status, hidden.get("code"), hidden.get("detail")) == (
            a_status, absent.get("code"), absent.get("detail"),
        ), (where, hidden, absent)  # fmt: skip
        assert n_status >= 400, (where, n_status, hidden)
        rows += 1
    assert rows >= 4
    me = await _fresh(http, platform, mine.user)
    resp = await http.post(f"{queues}/v1/documents", data=pdf(1),
                           headers={**me, "Content-Type": "application/pdf"})  # fmt: skip
    assert resp.status == 201, await resp.text()
    document = (await resp.json())["document_id"]
    for field, target in (("printer_id", printer), ("virtual_printer_id", vp)):
        answers = []
        for ident in (target, str(uuid.uuid4())):
            status, body = await _post(http, f"{queues}/v1/jobs", me,
                                       {"document_id": document, field: ident})  # fmt: skip
            answers.append((status, body.get("code"), body.get("errors")))
        assert answers[0] == answers[1] and answers[0][0] == 404, (field, answers)
    deadline = time.time() + 300
    answers = []
    for ident in (printer, str(uuid.uuid4())):
        body = {"printer_id": ident, "max_count": 1, "max_pages": 1,
                "deadline": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline))}  # fmt: skip
        status, answer = await _post(http, f"{queues}/v1/reservations", me, body)
        answers.append((status, answer.get("code"), answer.get("detail")))
    assert answers[0] == answers[1] and answers[0][0] == 404, answers
    await _ipp_sees_nothing(http, platform, mine, printer)
    print(f"same tenant, not shared: {rows} routes, submission, reservation and IPP checked")


async def _post(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def _ipp_sees_nothing(
    http: aiohttp.ClientSession, platform: Platform, mine: Tenant, printer: str
) -> None:
    """Over IPP (Basic: the user's API token), the printer not shared with the user is
    as unknown as a printer that does not exist; its administrator still sees it."""
    if "ipp" not in platform.processes:
        pytest.fail("the platform runs no IPP endpoint")
    codes = []
    for who, ident in ((mine.user, printer), (mine.user, str(uuid.uuid4())),
                       (mine.admin, printer)):  # fmt: skip
        url = f"{platform.url('ipp')}/ipp/print/{ident}"
        body = encode(Message((2, 0), Op.GET_PRINTER_ATTRIBUTES, 1, [Group(Tag.OPERATION, [
            Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
            Attribute.of("attributes-natural-language", Tag.LANGUAGE, "en"),
            Attribute.of("printer-uri", Tag.URI, url.replace("http://", "ipp://")),
        ])]))  # fmt: skip
        token = base64.b64encode(f"u:{who.api_token}".encode()).decode()
        headers = {"Content-Type": "application/ipp", "Authorization": f"Basic {token}"}
        async with http.post(url, data=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            codes.append(decode(await resp.read())[0].code)
    assert codes == [Status.NOT_FOUND, Status.NOT_FOUND, Status.OK], codes


def _gateway_token(platform: Platform) -> str:
    """The gateway's own service token, as the platform gave it."""
    return platform.env["gateway"]["PRINTCLOUD_GATEWAY_SERVICE_TOKEN"]


async def _print_marked_document(
    http: aiohttp.ClientSession, platform: Platform, tenant: Tenant
) -> None:
    device = tenant.device
    async with asyncio.timeout(60):
        while True:
            ws, answer = await device.connect(http, platform.ws_url)
            if answer.get("type") == "welcome":
                break
            await ws.close()
            await asyncio.sleep(0.3)
    try:
        document = f"%PDF-1.4\n% {DOCUMENT_MARKER}\n".encode()
        payload = {
            "job_id": str(uuid.uuid4()),
            "document_format": "application/pdf",
            "document_b64": base64.b64encode(document).decode(),
            "title": "marked",
        }
        resp = await http.post(
            f"{platform.url('registry')}/v1/devices/{device.device_id}/commands",
            json={"name": "print_job", "payload": payload},
            headers=platform.operator,
        )
        assert resp.status == 202, await resp.text()
        command = await next_frame(ws, "command", timeout=30)
        assert base64.b64decode(command["payload"]["document_b64"]) == document
        await ws.send_json({"type": "command_ack", "command_id": command["command_id"],
                            "outcome": "done"})  # fmt: skip
    finally:
        await ws.close()


def _assert_no_secrets(platform: Platform, tenants: list[Tenant]) -> None:
    logs = platform.logs()
    assert logs, "the processes wrote no log"
    literal = {
        "operator token": platform.operator_token,
        "the gateway's service token": _gateway_token(platform),
        "document content": DOCUMENT_MARKER,
        "document content (base64)": base64.b64encode(
            f"%PDF-1.4\n% {DOCUMENT_MARKER}\n".encode()
        ).decode()[8:40],
    }
    for t in tenants:
        literal[f"API token of {t.admin.user_id}"] = t.admin.api_token
    found = []
    for log in logs:
        text = log.read_text(errors="replace")
        for label, pattern in SECRET_PATTERNS.items():
            if m := pattern.search(text):
                found.append(f"{log.name}: {label}: ...{text[max(0, m.start() - 80) : m.end()]}")
        for label, value in literal.items():
            if value and value in text:
                found.append(f"{log.name}: {label}")
    print(f"scanned {len(logs)} log files, {sum(p.stat().st_size for p in logs)} bytes")
    assert not found, "\n".join(found)
