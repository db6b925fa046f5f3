"""The web portal in a real browser (Debian's chromium, driven by Playwright): people
sign in with an API token and then with a passkey (chromium's virtual authenticator),
print a PDF and watch it reach ``completed`` live, release a held job at a member
printer; an administrator claims a printer by its code and another from its
registration sheet, and sets a quota; a person of
another tenant sees none of it; bad input gets a clear message and changes nothing.
Every page visited passes axe-core without a serious or critical violation, fits a
375 px wide screen, and the sign-in form works with the keyboard alone.

With ``PRINTCLOUD_PORTAL_SCREENSHOTS=<dir>`` each checked page is also saved there, at
desktop and phone width (``bench/portal_screenshots.sh`` makes docs/portal/)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from playwright.async_api import Browser, BrowserContext, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import spki_der
from shared.protocols.onboarding import DeviceKey, Sheet
from shared.testing.ipp import minimal_pdf
from tests.support.oidc import OidcProvider
from tests.support.platform import Caller
from tests.support.portal import AXE, MAX_UPLOAD, PortalWorld, registration_code
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 812}
SHOTS = os.environ.get("PRINTCLOUD_PORTAL_SCREENSHOTS")
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""
CONSOLE: list[str] = []
"""What pages logged to the console (shown when a step fails)."""
JOB_URL = re.compile(r".*/portal/jobs/[0-9a-f-]{36}$")
EXPIRED_SQL = "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1"


async def new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(60_000)
    page = await context.new_page()
    page.on("console", lambda m: CONSOLE.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: CONSOLE.append(f"error: {e}"))
    return context, page


async def add_authenticator(context: BrowserContext, page: Page) -> None:
    """Chromium's virtual authenticator: a platform passkey that always consents."""
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})  # fmt: skip


async def check(page: Page, name: str) -> None:
    """axe-core finds no serious or critical violation; nothing is wider than a phone's
    375 px screen; with SHOTS, screenshots at both widths."""
    await page.evaluate(AXE.read_text())
    violations = await page.evaluate(AXE_RUN)
    assert violations == [], f"{name}: {violations}"
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} is {overflow} px wider than a 375 px screen"
    if SHOTS:
        await asyncio.to_thread(Path(SHOTS).mkdir, parents=True, exist_ok=True)
        await page.screenshot(path=f"{SHOTS}/{name}-phone.png", full_page=True)
        await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
        await page.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


async def settled(page: Page, message: str, world: PortalWorld | None = None) -> None:
    """Wait until the page's script led on to ``?message=<message>`` or showed an error;
    fail with that error."""
    try:
        await page.wait_for_function(
            "m => location.href.includes(m) || [...document.querySelectorAll("
            "'[data-passkey-error], [data-upload-error]')].some(e => !e.hidden)",
            arg=message,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"nothing happened on {page.url}; console: {CONSOLE}") from None
    if message not in page.url:
        shown = await page.inner_text("main")
        logs = world.platform.processes["portal"].log_tail(8) if world else ""
        raise AssertionError(f"{shown}\nconsole: {CONSOLE}\nportal: {logs}")


async def session_cookie(context: BrowserContext) -> dict[str, Any]:
    found = [c for c in await context.cookies() if c["name"] == "pc_session"]
    assert len(found) == 1, found
    return dict(found[0])


async def sign_in_with_token(page: Page, world: PortalWorld, who: Caller) -> None:
    """With the keyboard alone: Tab to the API token field, type, Enter."""
    await page.goto(world.portal + "/sign-in")
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == "api_token":
            break
    else:
        raise AssertionError("the API token field cannot be reached with Tab")
    await page.keyboard.type(who.api_token)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith("/portal/printers"), await page.inner_text("main")


async def csrf(page: Page) -> str:
    return str(await page.get_attribute('meta[name="csrf-token"]', "content"))


async def held_job(world: PortalWorld, who: Caller, title: str) -> str:
    """A pull-print job of ``who`` to the virtual printer, held until released."""
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("job", f'{{"virtual_printer_id": "{world.virtual_printer_id}", '
                   f'"title": "{title}"}}', content_type="application/json")  # fmt: skip
    form.add_field("document", minimal_pdf(title), filename="d.pdf",
                   content_type="application/pdf")  # fmt: skip
    status, body = await world.call("POST", "/v1/jobs", who, data=form)
    assert status == 201, body
    job_id = str(body["id"])

    async def held() -> bool:
        return (await world.job(job_id, who))["state"] == "held"

    await eventually(held, 120, "the pull job held")
    return job_id


# --------------------------------------------------------------------------- sign-in


async def test_sign_in_with_a_token_add_a_passkey_then_sign_in_with_it(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    context, page = await new_page(browser)
    try:
        await add_authenticator(context, page)
        await page.goto(world.portal + "/sign-in")
        await check(page, "sign-in")
        response = await page.goto(world.portal + "/sign-in")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        await sign_in_with_token(page, world, world.ada)
        first = await session_cookie(context)
        assert first["httpOnly"] and first["secure"] and first["sameSite"] == "Lax"
        await check(page, "printers")

        await page.goto(world.portal + "/passkeys")
        await check(page, "passkeys")
        await page.fill("#passkey-label", "Laptop passkey")
        await page.click("[data-passkey-register]")
        await settled(page, "passkey-added")
        await expect(page.locator("main")).to_contain_text("Laptop passkey")

        await page.click("form[action='/portal/sign-out'] button")
        await page.wait_for_url("**/portal/sign-in?message=signed-out")
        await page.click("[data-passkey-sign-in]")
        await page.wait_for_url("**/portal/printers")
        second = await session_cookie(context)
        assert second["value"] != first["value"], "the session id was not rotated"
        await expect(page.locator("main")).to_contain_text("Office printer")
    finally:
        await context.close()


async def test_sign_out_everywhere_ends_every_browsers_session(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    (one, page1), (two, page2) = await new_page(browser), await new_page(browser)
    try:
        await sign_in_with_token(page1, world, world.ada)
        await sign_in_with_token(page2, world, world.ada)
        await page1.goto(world.portal + "/passkeys")
        await page1.click("text=Sign out everywhere")
        await page1.wait_for_url("**/sign-in?message=signed-out-everywhere")
        await page2.goto(world.portal + "/jobs")
        assert page2.url.endswith("/portal/sign-in")
    finally:
        await one.close()
        await two.close()


# --------------------------------------------------------------------------- printing


async def test_print_a_pdf_and_watch_it_complete(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.ada)
        await page.goto(f"{world.portal}/print?printer={world.printer.device_id}")
        await check(page, "print")
        document = minimal_pdf("Printed from the portal")
        await page.set_input_files(
            "#document",
            files=[{"name": "hello.pdf", "mimeType": "application/pdf", "buffer": document}],
        )
        await page.fill("#copies", "2")
        await page.click("form[data-upload] button[type=submit]")
        await settled(page, "/portal/jobs/", world)
        job_id = page.url.rsplit("/", 1)[1]
        await expect(page.locator("[data-job-state]")).to_have_text("completed", timeout=180_000)
        job = await world.job(job_id)
        assert job["state"] == "completed" and job["settings"]["copies"] == 2
        assert world.printer.spooled(job_id)[0].read_bytes() == document
        await check(page, "job")
        async with page.expect_navigation():
            await page.click("form[action$='/reprint'] button", timeout=120_000)
        again = page.url.rsplit("/", 1)[1]
        assert again != job_id and JOB_URL.match(page.url)
        await expect(page.locator("[data-job-state]")).to_have_text("completed", timeout=180_000)
        assert world.printer.spooled(again)[0].read_bytes() == document

        await page.goto(world.portal + "/jobs")
        await check(page, "jobs")
        await expect(page.locator("main")).to_contain_text("hello.pdf")
    finally:
        await context.close()


async def test_release_a_held_job_at_a_member_printer(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    job_id = await held_job(world, world.ada, "Pull from the portal")
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.ada)
        await page.goto(world.portal + "/release")
        await check(page, "release")
        await page.select_option("#printer_id", world.printer.device_id)
        await page.click("main form button[type=submit]")
        await page.wait_for_url("**/portal/jobs?message=released-*")

        async def printed_there() -> bool:
            job = await world.job(job_id)
            return job["state"] == "completed" and job["printer_id"] == world.printer.device_id

        await eventually(printed_there, 180, "the released job printed at the member")
    finally:
        await context.close()


# --------------------------------------------------------------------------- administrators


async def test_an_administrator_claims_a_printer_and_sets_a_quota(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    code, onboarding = await registration_code(world.http, world.platform, world.workdir / "new")
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.admin)
        await page.goto(world.portal + "/admin")
        await check(page, "admin-dashboard")
        await page.goto(world.portal + "/admin/printers")
        await check(page, "admin-printers")
        await page.fill("#claim_code", code)
        await page.fill("#claim-name", "Claimed in the portal")
        await page.click("form[action='/portal/admin/printers/claim'] button")
        await page.wait_for_url("**/admin/printers?message=printer-claimed")
        _, printers = await world.call("GET", "/v1/printers?limit=100", world.admin)
        assert "Claimed in the portal" in [p["name"] for p in printers["items"]]

        claimed = next(p for p in printers["items"] if p["name"] == "Claimed in the portal")
        await page.fill(f"#rename-{claimed['id']}", "Floor 3 printer")
        await page.click(f"form[action$='/{claimed['id']}/rename'] button")
        await page.wait_for_url("**/admin/printers?message=printer-renamed")
        _, renamed = await world.call("GET", f"/v1/printers/{claimed['id']}", world.admin)
        assert renamed["name"] == "Floor 3 printer"

        # A printer that could not reach the cloud: its sheet, pasted as scanned.
        key = ed25519.Ed25519PrivateKey.generate()
        sheet = Sheet(
            "KMNPQRST", "printer", "Offline Laser",
            DeviceKey.parse(b64url_encode(spki_der(key.public_key()))),
        ).sign_with(key, world.platform.base_url, int(time.time()))  # fmt: skip
        await page.fill("#sheet", sheet.payload())
        await page.fill("#relay-name", "Relayed in the portal")
        await page.click("form[action='/portal/admin/printers/relay'] button")
        await page.wait_for_url("**/admin/printers?message=printer-relayed")
        _, printers = await world.call("GET", "/v1/printers?limit=100", world.admin)
        relayed = [p for p in printers["items"] if p["name"] == "Relayed in the portal"]
        assert [p["model"] for p in relayed] == ["Offline Laser"]

        await page.goto(world.portal + "/admin/quotas")
        await check(page, "admin-quotas")
        await page.select_option("#metric", "pages")
        await page.select_option("#period", "month")
        await page.fill("#limit", "500")
        await page.click("form[action='/portal/admin/quotas'] button")
        await page.wait_for_url("**/admin/quotas?message=quota-set")
        _, quotas = await world.call("GET", "/v1/quotas", world.admin)
        assert [(q["subject_kind"], q["limit"]) for q in quotas["items"]] == [("tenant", 500)]

        await page.goto(world.portal + "/admin/users")
        await check(page, "admin-users")
        body = {"name": "Night shift", "member_user_ids": [world.ada.user_id]}
        status, group = await world.call("POST", "/v1/groups", world.admin, json=body)
        assert status == 201, group
        await page.goto(world.portal + "/admin/groups")
        await check(page, "admin-groups")
        row = page.locator("tr", has_text="Night shift")
        await expect(row).to_contain_text("Ada")
        await page.goto(world.portal + "/admin/usage")
        await check(page, "admin-usage")
        csv = await page.request.get(world.portal + "/admin/usage.csv?granularity=day")
        assert csv.ok and (await csv.text()).startswith("window_start,window_end,jobs,pages")

        trail = f"{world.portal}/admin/audit?subject={claimed['id']}"

        async def renamed_in_the_trail() -> bool:
            await page.goto(trail)
            return "Floor 3 printer" in await page.inner_text("main")

        await eventually(renamed_in_the_trail, 60, "the rename in the audit trail")
        await check(page, "admin-audit")
        row = page.locator("tbody tr", has_text="printer.updated")
        await expect(row).to_contain_text("Grace")
        await expect(row).to_contain_text("name: Claimed in the portal → Floor 3 printer")
        lines = await page.request.get(f"{world.portal}/admin/audit.jsonl?subject={claimed['id']}")
        assert lines.ok and lines.headers["content-type"].startswith("application/x-ndjson")
        types = [json.loads(line)["type"] for line in (await lines.text()).splitlines()]
        assert "printer.updated" in types, types
        await page.goto(world.portal + "/admin/audit?type=printer%20updated")
        await expect(page.locator("[data-error]")).to_contain_text("type")
    finally:
        await context.close()
        onboarding.cancel()
    context, page = await new_page(browser)
    try:  # another tenant's administrator
        await sign_in_with_token(page, world, world.admin_of_other_tenant)
        await page.goto(f"{world.portal}/admin/audit?subject={claimed['id']}")
        assert "Floor 3 printer" not in await page.inner_text("main")
        await expect(page.locator("main")).to_contain_text("No changes")
    finally:
        await context.close()


# --------------------------------------------------------------------------- isolation


async def test_a_person_of_another_tenant_sees_none_of_it(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    ada_job = await held_job(world, world.ada, "Ada's secret")
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.eve)
        for path in ("/printers", "/jobs", "/release", "/print"):
            await page.goto(world.portal + path)
            text = await page.inner_text("main")
            assert "Office printer" not in text and "Ada's secret" not in text, path
        answer = await page.goto(f"{world.portal}/jobs/{ada_job}")
        assert answer is not None and answer.status == 404
        await expect(page.locator("[data-error]")).to_contain_text("no such item")
        token = await csrf(page)
        for path in (f"/jobs/{ada_job}/cancel", f"/jobs/{ada_job}/reprint"):
            resp = await page.request.post(world.portal + path, form={"csrf": token})
            assert resp.status == 404, path
        resp = await page.request.post(
            world.portal + "/release",
            form={"csrf": token, "printer_id": world.printer.device_id, "job_id": ada_job},
        )
        assert resp.status in (404, 409, 422), resp.status
        answer = await page.goto(world.portal + "/admin")
        assert answer is not None and answer.status == 403
        assert (await world.job(ada_job))["state"] == "held"
    finally:
        await context.close()


async def test_add_a_printer_to_my_computer_with_its_ipp_address_and_a_qr_code(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    printer_id = world.printer.device_id
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.ada)
        async with page.expect_navigation():
            # this printer's card (earlier tests may have given the tenant more printers)
            await page.locator(f'a[href$="/printers/{printer_id}/add"]').click()
        assert page.url.endswith("/add"), await page.inner_text("main")
        error = page.locator("[data-error]")
        assert await error.count() == 0, await error.inner_text()
        assert await page.locator("[data-ipp-uri]").count() == 1, await page.content()
        uri = await page.inner_text("[data-ipp-uri]")
        assert re.fullmatch(rf"ipps?://[^/]+/ipp/print/{printer_id}", uri), uri
        qr = page.locator("svg.qr")
        assert await qr.get_attribute("aria-label") == f"QR code of {uri}"
        assert await page.locator("main [style]").count() == 0
        for platform in ("Linux and macOS", "Windows", "Android"):
            await expect(page.get_by_role("heading", name=platform)).to_be_visible()
        await check(page, "add-printer")
        await page.context.clear_cookies()
        await sign_in_with_token(page, world, world.eve)
        answer = await page.goto(f"{world.portal}/printers/{printer_id}/add")
        assert answer is not None and answer.status == 404
        assert printer_id not in await page.inner_text("main")
    finally:
        await context.close()


async def test_my_phone_keys_are_listed_and_nobody_elses(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    spki = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key = base64.urlsafe_b64encode(spki).rstrip(b"=").decode()
    status, body = await world.call("POST", "/v1/users/me/phone-keys", world.ada,
                                    json={"label": "Ada's phone", "algorithm": "ed25519",
                                          "public_key": key})  # fmt: skip
    assert status == 201, body
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.ada)
        await page.get_by_role("link", name="Phone keys").click()
        await expect(page.locator("main")).to_contain_text("Ada's phone")
        await expect(page.locator("main")).to_contain_text(body["fingerprint"][:16])
        await check(page, "phone-keys")
        await page.context.clear_cookies()
        await sign_in_with_token(page, world, world.eve)
        await page.goto(world.portal + "/phone-keys")
        assert "Ada's phone" not in await page.inner_text("main")
    finally:
        await context.close()


# --------------------------------------------------------------------------- identity provider


def provider_settings(issuer: str, **changes: Any) -> dict[str, Any]:
    return {"issuer": issuer, "client_id": "printcloud-portal", "client_secret": "s3cret",
            "role_claim": "groups", "role_map": {"print-staff": "user"},
            "default_role": None, "group_claim": "groups", **changes}  # fmt: skip


async def sign_in_at_provider(
    page: Page, world: PortalWorld, tenant_id: str, provider: OidcProvider, sub: str
) -> None:
    """The sign-in page's organisation form, then the provider's form (pick ``sub``)."""
    await page.goto(world.portal + "/sign-in")
    await page.fill("#tenant", tenant_id)
    async with page.expect_navigation(url=re.compile(re.escape(provider.issuer) + ".*")):
        await page.get_by_role("button", name="Continue").click()
    await page.fill('input[name="sub"]', sub)
    async with page.expect_navigation(url=re.compile(r".*/portal/.*")):
        await page.get_by_role("button", name="Authorize").click()


async def test_sign_in_with_the_organisations_identity_provider(
    browser: Browser, portal_world: PortalWorld, oidc_provider: OidcProvider
) -> None:
    world, idp = portal_world, oidc_provider
    for bad, field in (
        ({"issuer": "http://idp.example.com"}, "issuer"),
        ({"role_map": {"print-staff": "root"}}, "role_map.print-staff"),
    ):
        status, body = await world.call(
            "PUT", "/v1/identity-provider", world.admin,
            json={**provider_settings(idp.issuer), **bad},
        )  # fmt: skip
        assert status == 422, body
        assert field in {e["field"] for e in body["errors"]}, body
    status, body = await world.call(
        "PUT", "/v1/identity-provider", world.admin, json=provider_settings(idp.issuer)
    )
    assert status == 200 and "client_secret" not in body, body
    sub = f"grace-{uuid.uuid4().hex[:8]}"
    await idp.set_user(sub, {"email": f"{sub}@example.com", "name": "Grace Hopper",
                             "groups": ["print-staff", "chess-club"]})  # fmt: skip
    context, page = await new_page(browser)
    try:
        await sign_in_at_provider(page, world, world.ada.tenant_id, idp, sub)
        assert page.url.endswith("/portal/printers"), await page.inner_text("main")
        await expect(page.locator("main")).to_contain_text("Office printer")
        await check(page, "sign-in-oidc-printers")
        answer = await page.goto(world.portal + "/admin")
        assert answer is not None and answer.status == 403
        status, body = await world.call("GET", "/v1/users?limit=500", world.admin)
        (grace,) = [u for u in body["items"] if u["email"] == f"{sub}@example.com"]
        assert grace["roles"] == ["user"] and grace["display_name"] == "Grace Hopper"
        # Signing in again finds the same person, promoted when the provider says so.
        await idp.set_user(sub, {"email": f"{sub}@example.com", "groups": ["print-staff"]})
        await world.call("PUT", "/v1/identity-provider", world.admin, json=provider_settings(
            idp.issuer, role_map={"print-staff": "admin"}))  # fmt: skip
        await context.clear_cookies()
        await sign_in_at_provider(page, world, world.ada.tenant_id, idp, sub)
        answer = await page.goto(world.portal + "/admin")
        assert answer is not None and answer.status == 200
        status, body = await world.call("GET", "/v1/users?limit=500", world.admin)
        again = [u for u in body["items"] if u["email"] == f"{sub}@example.com"]
        assert [(u["id"], u["roles"]) for u in again] == [(grace["id"], ["admin"])]
    finally:
        await context.close()


async def test_a_forged_state_or_a_role_less_person_is_refused_with_a_clear_message(
    browser: Browser, portal_world: PortalWorld, oidc_provider: OidcProvider
) -> None:
    world, idp = portal_world, oidc_provider
    status, body = await world.call(
        "PUT", "/v1/identity-provider", world.admin, json=provider_settings(idp.issuer)
    )
    assert status == 200, body
    context, page = await new_page(browser)
    try:
        answer = await page.goto(world.portal + "/sign-in/oidc/callback?state=forged&code=x")
        assert answer is not None and answer.status == 400
        await expect(page.locator("[data-error]")).to_contain_text("(state)")
        visitor = f"visitor-{uuid.uuid4().hex[:8]}"
        await idp.set_user(visitor, {"email": f"{visitor}@example.com", "groups": ["guests"]})
        await sign_in_at_provider(page, world, world.ada.tenant_id, idp, visitor)
        await expect(page.locator("[data-error]")).to_contain_text("grants no role")
        status, body = await world.call("GET", "/v1/users?limit=500", world.admin)
        assert not [u for u in body["items"] if u["email"] == f"{visitor}@example.com"]
        assert not [c for c in await context.cookies() if c["name"] == "pc_session"]
        # The flow was used up: going back to the provider's answer changes nothing.
        answer = await page.goto(world.portal + "/sign-in/oidc?tenant=" + str(uuid.uuid4()))
        assert answer is not None and answer.status == 404
        await expect(page.locator("[data-error]")).to_contain_text("no identity provider")
    finally:
        await context.close()


async def test_a_person_of_another_tenants_provider_sees_nothing_of_this_tenant(
    browser: Browser, portal_world: PortalWorld, oidc_provider: OidcProvider
) -> None:
    world, idp = portal_world, oidc_provider
    status, body = await world.call(
        "PUT", "/v1/identity-provider", world.admin_of_other_tenant,
        json=provider_settings(idp.issuer),
    )  # fmt: skip
    assert status == 200, body
    ada_job = await held_job(world, world.ada, "Ada's payroll")
    sub = f"mallory-{uuid.uuid4().hex[:8]}"
    await idp.set_user(sub, {"email": f"{sub}@example.com", "groups": ["print-staff"]})
    context, page = await new_page(browser)
    try:
        await sign_in_at_provider(page, world, world.eve.tenant_id, idp, sub)
        assert page.url.endswith("/portal/printers"), await page.inner_text("main")
        for path in ("/printers", "/jobs", "/release"):
            await page.goto(world.portal + path)
            text = await page.inner_text("main")
            assert "Office printer" not in text and "Ada's payroll" not in text, path
        answer = await page.goto(f"{world.portal}/jobs/{ada_job}")
        assert answer is not None and answer.status == 404
        status, body = await world.call("GET", "/v1/users?limit=500", world.admin)
        assert not [u for u in body["items"] if u["email"] == f"{sub}@example.com"]
    finally:
        await context.close()


# --------------------------------------------------------------------------- bad input


async def test_bad_input_gets_a_clear_message_and_changes_nothing(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    job_id = await held_job(world, world.ada, "Keep me held")
    before = len(await world.jobs_of(world.ada))
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.ada)
        await page.goto(f"{world.portal}/print?printer={world.printer.device_id}")
        error = page.locator("[data-upload-error]")
        # too large (the page says so before sending; the server refuses it too)
        big = b"%PDF-1.4\n" + b"0" * (MAX_UPLOAD + 1)
        await page.set_input_files(
            "#document", files=[{"name": "big.pdf", "mimeType": "application/pdf", "buffer": big}]
        )
        await page.click("form[data-upload] button[type=submit]")
        await expect(error).to_contain_text("larger than")
        token = await csrf(page)
        resp = await page.request.post(
            world.portal + "/print",
            multipart={
                "csrf": token,
                "printer_id": world.printer.device_id,
                "copies": "1",
                "document": {"name": "big.pdf", "mimeType": "application/pdf", "buffer": big},
            },
        )
        assert resp.status == 413 and "larger than" in await resp.text()
        # not a PDF, JPEG or PNG
        await page.set_input_files(
            "#document",
            files=[
                {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"just some text"}
            ],
        )
        await page.click("form[data-upload] button[type=submit]")
        await expect(error).to_contain_text("Only PDF, JPEG and PNG")
        # copies beyond the printer's
        resp = await page.request.post(world.portal + "/print", multipart={
            "csrf": token, "printer_id": world.printer.device_id, "copies": "100000",
            "document": {"name": "a.pdf", "mimeType": "application/pdf",
                         "buffer": minimal_pdf("x")}})  # fmt: skip
        assert resp.status == 422 and "copies" in await resp.text()
        # a forged CSRF token, and none at all
        for form in ({"csrf": "forged-" + token[7:]}, {}):
            resp = await page.request.post(f"{world.portal}/jobs/{job_id}/cancel", form=form)
            assert resp.status == 403 and "security token" in await resp.text()
        # ids that are not ids
        answer = await page.goto(world.portal + "/jobs/not-a-job")
        assert answer is not None and answer.status == 404
        # an expired session
        await page.goto(world.portal + "/jobs")
        conn = await asyncpg.connect(world.platform.dsn("portal"))
        try:
            await conn.execute(EXPIRED_SQL, uuid_of(world.ada))
        finally:
            await conn.close()
        await page.click(f"form[action='/portal/jobs/{job_id}/cancel'] button")
        await expect(page.locator("[data-error]")).to_contain_text("session has expired")
        await check(page, "error")
        assert (await world.job(job_id))["state"] == "held"
        assert len(await world.jobs_of(world.ada)) == before
    finally:
        await context.close()


def uuid_of(who: Caller) -> Any:
    return uuid.UUID(who.user_id)


async def test_every_portal_page_with_an_id_answers_foreign_ids_as_absent_ones(
    browser: Browser, portal_world: PortalWorld
) -> None:
    """The portal's part of the isolation matrix: every page route with an id (read
    from the portal's own router, so a new page is included), asked by a person of
    another tenant for this tenant's ids and for ids that exist nowhere, answers the
    same status and message, and changes nothing."""
    from aiohttp import web

    from deploy.catalog import load_spec

    world = portal_world
    job = await held_job(world, world.ada, "Isolated")
    status, rule = await world.call("POST", "/v1/supply-rules", world.admin, json={
        "region": "*", "model": "*", "colour": "*", "kind": "staples", "action": "warn",
        "threshold_percent": 7})  # fmt: skip
    assert status == 201, rule
    deadline = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    status, reservation = await world.call("POST", "/v1/reservations", world.ada, json={
        "printer_id": world.printer.device_id, "max_count": 1, "max_pages": 1,
        "deadline": deadline})  # fmt: skip
    assert status == 201, reservation
    ids = {"job_id": job, "printer_id": world.printer.device_id,
           "virtual_printer_id": world.virtual_printer_id, "user_id": world.ada.user_id,
           "rule_id": rule["id"], "reservation_id": reservation["reservation_id"]}  # fmt: skip
    app = web.Application()
    spec = load_spec("portal")
    assert spec.add_routes is not None
    spec.add_routes(app)
    routes = sorted({(r.method, r.resource.canonical) for r in app.router.routes()
                     if r.resource is not None and "{" in r.resource.canonical
                     and "{name}" not in r.resource.canonical and r.method != "HEAD"})  # fmt: skip
    assert len(routes) >= 5, routes
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.admin_of_other_tenant)
        token = await csrf(page)
        for method, path in routes:
            answers = []
            for values in (ids, {k: str(uuid.uuid4()) for k in ids}):
                url = world.portal.removesuffix("/portal") + path.format(**values)
                form = {"csrf": token, "name": "Renamed by another tenant", "role": "admin",
                        "region": "moved-away", "location": "Elsewhere", "member": "",
                        "threshold_percent": "1", "action": "ignore"}  # fmt: skip
                resp = await (page.request.get(url) if method == "GET"
                              else page.request.post(url, form=form))  # fmt: skip
                text = await resp.text()
                error = re.search(r"data-error>([^<]*)<", text)
                answers.append((resp.status, error.group(1) if error else text[:80]))
            assert answers[0] == answers[1], (method, path, answers)
            assert answers[0][0] in (403, 404), (method, path, answers)
        # the pages without ids list nothing of the other tenant
        for path in ("/reservations", "/admin/printers", "/admin/virtual-printers",
                     "/admin/consumables", "/admin/users"):  # fmt: skip
            text = await (await page.request.get(world.portal + path)).text()
            assert not [v for v in ids.values() if v in text], path
            assert "Office printer" not in text and "Ada Lovelace" not in text, path
        assert (await world.job(job))["state"] == "held"
        _, printers = await world.call("GET", "/v1/printers?limit=100", world.admin)
        assert "Renamed by another tenant" not in [p["name"] for p in printers["items"]]
        assert "Elsewhere" not in [p.get("location") for p in printers["items"]]
        _, virtual = await world.call(
            "GET", f"/v1/virtual-printers/{world.virtual_printer_id}", world.admin
        )
        assert virtual["members"] == [world.printer.device_id]
        _, still = await world.call("GET", f"/v1/supply-rules/{rule['id']}", world.admin)
        assert (still["threshold_percent"], still["action"]) == (7, "warn")
        _, ada = await world.call("GET", f"/v1/users/{world.ada.user_id}", world.admin)
        assert ada["roles"] == ["user"] and not ada["disabled"]
        _, mine = await world.call("GET", "/v1/reservations", world.ada)
        assert [r["canceled_at"] for r in mine["items"]
                if r["reservation_id"] == reservation["reservation_id"]] == [None]  # fmt: skip
    finally:
        await context.close()


# --------------------------------------------------------------------------- reservations


async def test_reserve_a_printer_and_cancel_the_reservation_in_place(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.ada)
        # a document kept for later instead of printed now
        await page.goto(f"{world.portal}/print?printer={world.printer.device_id}")
        await page.set_input_files("#document", files=[{
            "name": "kept-for-later.pdf", "mimeType": "application/pdf",
            "buffer": minimal_pdf("Kept for later")}])  # fmt: skip
        await page.check("#keep")
        await page.click("form[data-upload] button[type=submit]")
        await settled(page, "document-kept", world)
        await check(page, "reservations")
        # the API's reason shows beside the field it names, and nothing is reserved
        await page.select_option("#res-printer", world.printer.device_id)
        await page.fill("#res-count", "0")
        async with page.expect_navigation():
            await page.click("form[action='/portal/reservations'] button")
        await expect(page.locator("[data-field-error=max_count]")).to_be_visible()
        assert await page.get_attribute("#res-count", "aria-invalid") == "true"
        _, body = await world.call("GET", "/v1/reservations", world.ada)
        before = {r["reservation_id"] for r in body["items"]}
        await page.fill("#res-count", "5")
        await page.fill("#res-hours", "2")
        await page.click("form[action='/portal/reservations'] button")
        await page.wait_for_url("**/reservations?message=reservation-made")
        _, body = await world.call("GET", "/v1/reservations", world.ada)
        (made,) = [r for r in body["items"] if r["reservation_id"] not in before]
        assert made["printer_id"] == world.printer.device_id and made["canceled_at"] is None
        assert [j["title"] for j in made["jobs"]] == ["kept-for-later.pdf"]
        row = page.locator(f"#reservation-{made['reservation_id']}")
        await expect(row).to_contain_text("kept-for-later.pdf")
        await expect(row.locator("[data-reservation-state]")).not_to_have_text("canceled")
        # htmx swaps the row in place: no navigation, the rest of the page stays
        await page.evaluate("() => { window.notReloaded = true; }")
        await row.get_by_role("button", name="Cancel").click()
        await expect(row.locator("[data-reservation-state]")).to_have_text("canceled")
        assert await page.evaluate("() => window.notReloaded === true")
        _, body = await world.call("GET", "/v1/reservations", world.ada)
        (after,) = [r for r in body["items"] if r["reservation_id"] == made["reservation_id"]]
        assert after["canceled_at"] is not None
        await page.context.clear_cookies()
        await sign_in_with_token(page, world, world.eve)
        await page.goto(world.portal + "/reservations")
        assert made["reservation_id"] not in await page.content()
    finally:
        await context.close()


async def test_the_jobs_list_cancels_a_job_in_place_and_without_javascript(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    first = await held_job(world, world.ada, "Cancel me in place")
    second = await held_job(world, world.ada, "Cancel me without script")
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.ada)
        await page.goto(world.portal + "/jobs")
        await page.evaluate("() => { window.notReloaded = true; }")
        row = page.locator(f"#job-{first}")
        await row.get_by_role("button", name="Cancel").click()
        await expect(row.locator(".state")).to_have_text("canceled")
        await expect(row.get_by_role("button", name="Reprint")).to_be_visible()
        assert await page.evaluate("() => window.notReloaded === true")
        assert (await world.job(first))["state"] == "canceled"
        # the refreshed rows alone, as htmx asks for them
        rows = await page.request.get(world.portal + "/jobs", headers={"HX-Request": "true"})
        text = await rows.text()
        assert text.lstrip().startswith('<tbody id="job-rows"') and second in text
    finally:
        await context.close()
    context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in_with_token(page, world, world.ada)
        await page.goto(world.portal + "/jobs")
        async with page.expect_navigation():
            await page.locator(f"#job-{second}").get_by_role("button", name="Cancel").click()
        assert page.url.endswith(f"/portal/jobs/{second}")
        assert (await world.job(second))["state"] == "canceled"
    finally:
        await context.close()


# --------------------------------------------------------------------------- administrators, more


async def test_an_administrator_moves_a_printer_sets_members_rules_and_roles(
    browser: Browser, portal_world: PortalWorld
) -> None:
    world = portal_world
    printer_id = world.printer.device_id
    status, vp = await world.call(
        "POST", "/v1/virtual-printers", world.admin,
        json={"name": f"Lobby pull {uuid.uuid4().hex[:4]}", "members": [printer_id]},
    )  # fmt: skip
    assert status == 201, vp
    status, person = await world.call("POST", "/v1/users", world.admin, json={
        "display_name": "Temp Worker", "roles": ["user"],
        "email": f"temp-{uuid.uuid4().hex[:8]}@example.com"})  # fmt: skip
    assert status == 201, person
    context, page = await new_page(browser)
    try:
        await sign_in_with_token(page, world, world.admin)
        # move: a bad region gets the API's reason beside it, then a good move
        await page.goto(world.portal + "/admin/printers")
        _, before = await world.call("GET", f"/v1/printers/{printer_id}", world.admin)
        await page.fill(f"#region-{printer_id}", "Not a region!")
        async with page.expect_navigation():
            await page.click(f"form[action$='/{printer_id}/move'] button")
        await expect(page.locator(f"#err-{printer_id}-region")).to_be_visible()
        _, unchanged = await world.call("GET", f"/v1/printers/{printer_id}", world.admin)
        assert unchanged["region"] == before["region"]
        await page.fill(f"#region-{printer_id}", before["region"])
        await page.fill(f"#location-{printer_id}", "Room 101, second floor")
        await page.click(f"form[action$='/{printer_id}/move'] button")
        await page.wait_for_url("**/admin/printers?message=printer-moved")
        _, moved = await world.call("GET", f"/v1/printers/{printer_id}", world.admin)
        assert moved["location"] == "Room 101, second floor" and moved["name"] == "Office printer"

        # virtual printer members: an unknown printer is named, then the member is removed
        await page.get_by_role("link", name="Virtual printers").click()
        await page.wait_for_url("**/admin/virtual-printers")
        await check(page, "admin-virtual-printers")
        token = await csrf(page)
        resp = await page.request.post(
            f"{world.portal}/admin/virtual-printers/{vp['id']}/members",
            form={"csrf": token, "member": str(uuid.uuid4())},
        )
        assert resp.status == 422 and "unknown printer" in await resp.text()
        box = page.locator(f"#member-{vp['id']}-{printer_id}")
        assert await box.is_checked()
        await box.uncheck()
        await page.click(f"form[action$='/{vp['id']}/members'] button")
        await page.wait_for_url("**/admin/virtual-printers?message=members-saved")
        _, saved = await world.call("GET", f"/v1/virtual-printers/{vp['id']}", world.admin)
        assert saved["members"] == []
        _, kept = await world.call("GET", f"/v1/virtual-printers/{world.virtual_printer_id}",
                                   world.admin)  # fmt: skip
        assert kept["members"] == [printer_id]

        # consumables: a rule refused beside its threshold, then added, changed, deleted
        await page.get_by_role("link", name="Consumables").click()
        await page.wait_for_url("**/admin/consumables")
        await check(page, "admin-consumables")
        await page.select_option("#rule-kind", "drum")
        await page.fill("#rule-threshold", "150")
        async with page.expect_navigation():
            await page.click("form[action='/portal/admin/consumables/rules'] button")
        await expect(page.locator("#err-rule-threshold_percent")).to_be_visible()
        await page.fill("#rule-threshold", "15")
        await page.click("form[action='/portal/admin/consumables/rules'] button")
        await page.wait_for_url("**/admin/consumables?message=rule-added")
        _, rules = await world.call("GET", "/v1/supply-rules?limit=200", world.admin)
        (rule,) = [r for r in rules["items"] if r["tenant_id"] and r["kind"] == "drum"]
        assert (rule["threshold_percent"], rule["action"]) == (15, "warn")
        await page.fill(f"#threshold-{rule['id']}", "20")
        await page.select_option(f"#action-{rule['id']}", "ignore")
        await page.click(f"form[action$='/rules/{rule['id']}'] button")
        await page.wait_for_url("**/admin/consumables?message=rule-changed")
        _, changed = await world.call("GET", f"/v1/supply-rules/{rule['id']}", world.admin)
        assert (changed["threshold_percent"], changed["action"]) == (20, "ignore")
        await page.click(f"form[action$='/rules/{rule['id']}/delete'] button")
        await page.wait_for_url("**/admin/consumables?message=rule-deleted")
        status, _ = await world.call("GET", f"/v1/supply-rules/{rule['id']}", world.admin)
        assert status == 404

        # roles: promoted and disabled; administrators cannot demote themselves
        await page.goto(world.portal + "/admin/users")
        await page.select_option(f"#role-{person['id']}", "admin")
        await page.check(f"#disabled-{person['id']}")
        await page.click(f"form[action='/portal/admin/users/{person['id']}'] button")
        await page.wait_for_url("**/admin/users?message=user-changed")
        await check(page, "admin-users")
        _, changed_user = await world.call("GET", f"/v1/users/{person['id']}", world.admin)
        assert changed_user["roles"] == ["admin"] and changed_user["disabled"] is True
        await page.select_option(f"#role-{world.admin.user_id}", "user")
        async with page.expect_navigation():
            await page.click(f"form[action='/portal/admin/users/{world.admin.user_id}'] button")
        await expect(page.locator("[data-form-error]")).to_contain_text("your own")
        _, me = await world.call("GET", f"/v1/users/{world.admin.user_id}", world.admin)
        assert me["roles"] == ["admin"] and not me["disabled"]
    finally:
        await context.close()
