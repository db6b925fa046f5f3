"""The people's pages: printers I may use, print, my jobs, release my held jobs, my
passkeys. Each view reads and writes through the public API as the signed-in person;
a refusal of the API becomes a clear message on the page, and changes nothing."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import qrcode
from aiohttp import BodyPartReader, web
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage

from services.portal.api.context import CONTEXT, api, session_of
from services.portal.api.render import page, redirect
from services.portal.api.security import HEADERS, PageError, check_form_token
from services.portal.domain.model import Session
from services.portal.settings import PortalSettings
from services.portal.upstream import ApiError, PrintcloudApi
from shared.http.middleware import public
from shared.logging import get_logger

log = get_logger(__name__)

CHUNK = 64 << 10
DOCUMENT_TYPES = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}
"""What a page may upload, and how each format's file begins."""
FINAL_STATES = ("completed", "failed", "canceled", "expired")


def size_text(octets: int) -> str:
    """``50 MiB``, ``256 KiB``: a limit in words."""
    return f"{octets >> 20} MiB" if octets >= 1 << 20 else f"{octets >> 10} KiB"


def signed_in(request: web.Request) -> Session:
    """The request's session; a page without one asks to sign in."""
    session = session_of(request)
    if session is None:
        if request.headers.get("HX-Request") == "true":  # a part of a page: no redirect
            raise PageError(401, "Your session has expired. Sign in again.", sign_in=True)
        raise web.HTTPSeeOther("/portal/sign-in")
    return session


def path_id(request: web.Request, name: str) -> uuid.UUID:
    """A path id; a malformed one is simply not found."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise PageError(404, "There is no such item (or it is not yours).") from None


def refused(exc: ApiError) -> PageError:
    """A page's message for an API refusal (404: foreign and missing look the same)."""
    if exc.status == 404:
        return PageError(404, "There is no such item (or it is not yours); nothing was changed.")
    if exc.status == 401:
        return PageError(401, "Your session has expired; nothing was changed. Sign in again.",
                         sign_in=True)  # fmt: skip
    if exc.status == 0 or exc.status >= 500:
        log.warning("the API failed a page", status=exc.status, error=str(exc)[:300])
        return PageError(503, exc.message)
    return PageError(exc.status if exc.status in (403, 409, 413, 415, 422) else 400,
                     exc.message + " Nothing was changed.")  # fmt: skip


async def _get(client: PrintcloudApi, path: str, **params: Any) -> Any:
    try:
        return await client.get(path, **params)
    except ApiError as exc:
        raise refused(exc) from None


@public
async def home(request: web.Request) -> web.Response:
    """GET /portal: the printers page, or sign-in."""
    return redirect("/portal/printers" if session_of(request) else "/portal/sign-in")


async def _printers(client: PrintcloudApi) -> list[dict[str, Any]]:
    body = await _get(client, "/v1/printers", limit=200)
    return list(body.get("items", []))


async def _capabilities(client: PrintcloudApi, printer_id: uuid.UUID) -> dict[str, Any] | None:
    try:
        body = await client.get(f"/v1/printers/{printer_id}/capabilities")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise refused(exc) from None
    caps: dict[str, Any] = body.get("capabilities") or {}
    return caps


@public
async def printers(request: web.Request) -> web.Response:
    """GET /portal/printers: printers I may use, their state and what each can do."""
    client = api(request, signed_in(request))
    found = await _printers(client)
    for p in found:
        p["capabilities"] = await _capabilities(client, uuid.UUID(p["id"])) or {}
    virtual = await _get(client, "/v1/virtual-printers", limit=200)
    return await page(request, "printers.html", title="Printers", printers=found,
                      virtual_printers=virtual.get("items", []))  # fmt: skip


@public
async def print_form(request: web.Request) -> web.Response:
    """GET /portal/print?printer=…: upload a document, settings of that printer only."""
    client = api(request, signed_in(request))
    found = await _printers(client)
    chosen_id = request.query.get("printer") or (found[0]["id"] if found else "")
    chosen = next((p for p in found if p["id"] == chosen_id), None)
    caps = await _capabilities(client, uuid.UUID(chosen["id"])) if chosen else None
    return await page(
        request, "print.html", title="Print", printers=found, chosen=chosen,
        caps=caps or {}, max_text=size_text(CONTEXT.settings(request).max_upload_bytes),
        max_bytes=CONTEXT.settings(request).max_upload_bytes,
        accept=",".join(DOCUMENT_TYPES),
    )  # fmt: skip


class _Upload:
    """The document part of a print form, streamed on to the API as it arrives."""

    def __init__(self, part: BodyPartReader, limit: int) -> None:
        self.part = part
        self.limit = limit
        self.size = 0
        self.too_large = False

    async def first(self) -> bytes:
        head = await self.part.read_chunk(CHUNK)
        self.head = head
        return head

    async def chunks(self) -> AsyncIterator[bytes]:
        chunk = self.head
        while chunk:
            self.size += len(chunk)
            if self.size > self.limit:
                self.too_large = True
                raise PageError(413, f"The document is larger than {size_text(self.limit)}; "
                                "nothing was printed.")  # fmt: skip
            yield chunk
            chunk = await self.part.read_chunk(CHUNK)


def _settings(fields: dict[str, str], caps: dict[str, Any]) -> dict[str, Any]:
    """Job settings from the form, each checked against the printer's capabilities."""
    settings: dict[str, Any] = {}
    try:
        copies = int(fields.get("copies") or 1)
    except ValueError:
        raise PageError(422, "Copies must be a whole number; nothing was printed.") from None
    limits = caps.get("copies_supported") or {"min": 1, "max": 1}
    if not limits.get("min", 1) <= copies <= limits.get("max", 1):
        raise PageError(422, f"This printer prints {limits.get('min', 1)} to "
                        f"{limits.get('max', 1)} copies; nothing was printed.")  # fmt: skip
    settings["copies"] = copies
    for name, allowed in (("sides", "sides_supported"), ("media", "media_supported"),
                          ("print_color_mode", "print_color_mode_supported")):  # fmt: skip
        value = fields.get(name)
        if not value:
            continue
        if value not in (caps.get(allowed) or []):
            raise PageError(422, f"This printer does not offer {name.replace('_', ' ')} "
                            f"{value!r}; nothing was printed.")  # fmt: skip
        settings[name] = value
    return settings


@public
async def print_submit(request: web.Request) -> web.Response:
    """POST /portal/print (multipart: the fields, then the document last): stream the
    document to the API, submit the job, and show its live status."""
    session = signed_in(request)
    client = api(request, session)
    limit = CONTEXT.settings(request).max_upload_bytes
    if request.content_length is not None and request.content_length > limit + (64 << 10):
        raise PageError(413, f"The document is larger than {size_text(limit)}; nothing was "
                        "printed.")  # fmt: skip
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise PageError(400, "Send the print form (multipart/form-data).") from None
    fields: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise PageError(400, "The print form is malformed.")
        if part.name != "document":
            fields[str(part.name)] = (await part.text())[:1000]
            if part.name == "csrf":
                check_form_token(request, fields["csrf"])
            continue
        check_form_token(request, fields.get("csrf"))
        upload = _Upload(part, limit)
        head = await upload.first()
        if not head:
            raise PageError(422, "Choose a document to print; nothing was printed.")
        media_type = next((t for t, magic in DOCUMENT_TYPES.items() if head.startswith(magic)),
                          None)  # fmt: skip
        if media_type is None:
            raise PageError(415, "Only PDF, JPEG and PNG documents can be printed here; "
                            "nothing was printed.")  # fmt: skip
        try:
            printer_id = uuid.UUID(fields.get("printer_id", ""))
        except ValueError:
            raise PageError(422, "Choose a printer; nothing was printed.") from None
        caps = await _capabilities(client, printer_id)
        if caps is None:
            raise PageError(404, "There is no such printer (or you may not use it); nothing "
                            "was printed.")  # fmt: skip
        settings = _settings(fields, caps)
        title = (fields.get("title") or part.filename or "Document")[:200]
        if fields.get("keep") == "on":
            return await _keep(request, client, upload, media_type, title)
        try:
            document = await client.upload(upload.chunks(), media_type, title)
            job = await client.post("/v1/jobs", {
                "document_id": document["document_id"], "printer_id": str(printer_id),
                "settings": settings, "title": title,
            })  # fmt: skip
        except ApiError as exc:
            if upload.too_large:  # the upload stopped there: no job was made
                raise PageError(413, f"The document is larger than {size_text(limit)}; "
                                "nothing was printed.") from None  # fmt: skip
            raise refused(exc) from None
        location = f"/portal/jobs/{job['id']}"
        if request.headers.get("Accept", "").startswith("application/json"):
            return web.json_response({"location": location})
        return redirect(location)
    raise PageError(422, "Choose a document to print; nothing was printed.")


async def _keep(request: web.Request, client: PrintcloudApi, upload: _Upload, media_type: str,
                title: str) -> web.Response:  # fmt: skip
    """Store the document kept for a later reservation, and print nothing now."""
    try:
        await client.upload(upload.chunks(), media_type, title, keep=True)
    except ApiError as exc:
        if upload.too_large:
            raise PageError(413, f"The document is larger than {size_text(upload.limit)}; "
                            "nothing was kept.") from None  # fmt: skip
        raise refused(exc) from None
    location = "/portal/reservations?message=document-kept"
    if request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response({"location": location})
    return redirect(location)


@public
async def jobs(request: web.Request) -> web.Response:
    """GET /portal/jobs: my jobs, newest first."""
    client = api(request, signed_in(request))
    body = await _get(client, "/v1/jobs", owner="me", limit=100)
    items = sorted(body.get("items", []), key=lambda j: j.get("submitted_at") or "", reverse=True)
    # htmx refreshing the list asks for its rows alone
    template = "_job_rows.html" if request.headers.get("HX-Request") == "true" else "jobs.html"
    return await page(request, template, title="My jobs", jobs=items, final=FINAL_STATES)


@public
async def job(request: web.Request) -> web.Response:
    """GET /portal/jobs/{job_id}: one job, its state followed live."""
    client = api(request, signed_in(request))
    found = await _get(client, f"/v1/jobs/{path_id(request, 'job_id')}")
    return await page(request, "job.html", title=found.get("title") or "Job", job=found,
                      final=FINAL_STATES)  # fmt: skip


@public
async def job_events(request: web.Request) -> web.StreamResponse:
    """GET /portal/jobs/{job_id}/events: the job's state changes as server-sent events
    (the API's own stream, relayed with the person's token)."""
    client = api(request, signed_in(request))
    job_id = path_id(request, "job_id")
    try:
        upstream = await client.stream(f"/v1/jobs/{job_id}/events")
    except ApiError as exc:
        raise refused(exc) from None
    resp = web.StreamResponse(headers={**HEADERS, "Content-Type": "text/event-stream",
                                       "Cache-Control": "no-store"})  # fmt: skip
    try:
        await resp.prepare(request)
        async for line in upstream.content:
            await resp.write(line)
    finally:
        upstream.release()
    return resp


@public
async def cancel(request: web.Request) -> web.Response:
    """POST /portal/jobs/{job_id}/cancel."""
    client = api(request, signed_in(request))
    job_id = path_id(request, "job_id")
    try:
        found = await client.post(f"/v1/jobs/{job_id}/cancel")
    except ApiError as exc:
        raise refused(exc) from None
    if request.headers.get("HX-Request") == "true":  # the list's row alone, swapped in place
        return await page(request, "_job_row.html", j=found, final=FINAL_STATES)
    return redirect(f"/portal/jobs/{job_id}")


@public
async def reprint(request: web.Request) -> web.Response:
    """POST /portal/jobs/{job_id}/reprint: the same document, printer and settings."""
    client = api(request, signed_in(request))
    old = await _get(client, f"/v1/jobs/{path_id(request, 'job_id')}")
    target = ({"printer_id": old["printer_id"]} if old.get("virtual_printer_id") is None
              else {"virtual_printer_id": old["virtual_printer_id"]})  # fmt: skip
    try:
        new = await client.post(
            "/v1/jobs",
            {
                "document_id": old["document_id"],
                **target,
                "settings": old["settings"],
                "title": old["title"],
            },
        )
    except ApiError as exc:
        raise refused(exc) from None
    return redirect(f"/portal/jobs/{new['id']}")


@public
async def release_form(request: web.Request) -> web.Response:
    """GET /portal/release: my held jobs, and the printers they may be released at."""
    client = api(request, signed_in(request))
    body = await _get(client, "/v1/jobs", owner="me", state="held", limit=100)
    held = [j for j in body.get("items", []) if j.get("virtual_printer_id")]
    virtual = {v["id"]: v for v in (await _get(client, "/v1/virtual-printers", limit=200))
               .get("items", [])}  # fmt: skip
    names = {p["id"]: p["name"] for p in await _printers(client)}
    members = sorted({m for j in held for m in virtual.get(j["virtual_printer_id"], {})
                      .get("members", [])})  # fmt: skip
    return await page(request, "release.html", title="Release", held=held,
                      members=[(m, names.get(m, m)) for m in members])  # fmt: skip


@public
async def release(request: web.Request) -> web.Response:
    """POST /portal/release: release the chosen (or all) held jobs at a chosen printer."""
    client = api(request, signed_in(request))
    form = await request.post()
    try:
        printer_id = uuid.UUID(str(form.get("printer_id", "")))
        job_ids = [str(uuid.UUID(str(v))) for v in form.getall("job_id", [])]
    except ValueError:
        raise PageError(422, "Choose a printer and the jobs to release; nothing was "
                        "changed.") from None  # fmt: skip
    body = {"job_ids": job_ids} if job_ids else {"all": True}
    try:
        answer = await client.post(f"/v1/printers/{printer_id}/release", body)
    except ApiError as exc:
        raise refused(exc) from None
    count = len(answer.get("released", answer.get("jobs", [])) or [])
    return redirect(f"/portal/jobs?message=released-{count}")


@public
async def passkeys(request: web.Request) -> web.Response:
    """GET /portal/passkeys: my passkeys, and adding one."""
    client = api(request, signed_in(request))
    body = await _get(client, "/v1/users/me/passkeys")
    return await page(request, "passkeys.html", title="Passkeys", passkeys=body.get("items", []))


@public
async def passkey_options(request: web.Request) -> web.Response:
    """POST /portal/passkeys/options: auth's registration challenge, for the script."""
    client = api(request, signed_in(request))
    try:
        return web.json_response(await client.post("/v1/users/me/passkey-options"))
    except ApiError as exc:
        raise refused(exc) from None


@public
async def passkey_register(request: web.Request) -> web.Response:
    """POST /portal/passkeys: the browser's new credential, checked and kept by auth."""
    client = api(request, signed_in(request))
    try:
        body = await request.json()
    except ValueError:
        raise PageError(400, "The passkey's answer is not JSON.") from None
    label = str(body.get("label") or "Passkey")[:100].strip() or "Passkey"
    try:
        await client.post(
            "/v1/users/me/passkeys", {"label": label, "credential": body.get("credential")}
        )
    except ApiError as exc:
        raise refused(exc) from None
    return web.json_response({"location": "/portal/passkeys?message=passkey-added"}, status=201)


def ipp_uri(settings: PortalSettings, printer_id: str) -> str:
    """The printer's IPP address (docs/ipp.md): ``ipp(s)://<edge>/ipp/print/<id>``."""
    if settings.ipp_url:
        base = settings.ipp_url.rstrip("/")
    else:
        parts = urlsplit(settings.api_url)
        base = f"{'ipps' if parts.scheme == 'https' else 'ipp'}://{parts.netloc}"
    return f"{base}/ipp/print/{printer_id}"


def qr_svg(text: str) -> Markup:
    """A QR code of ``text`` as inline SVG made on the server (no style attribute, so
    the Content-Security-Policy holds); sized by the page's stylesheet."""
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', "<svg", svg)
    label = html.escape(f"QR code of {text}")
    return Markup(svg.replace("<svg ", f'<svg class="qr" role="img" aria-label="{label}" ', 1))


@public
async def add_printer(request: web.Request) -> web.Response:
    """GET /portal/printers/{printer_id}/add: the printer's IPP address and a QR code,
    with how to add it on Linux, macOS, Windows and Android."""
    client = api(request, signed_in(request))
    printer_id = str(path_id(request, "printer_id"))
    printer = await _get(client, f"/v1/printers/{printer_id}")
    uri = ipp_uri(CONTEXT.settings(request), printer_id)
    return await page(request, "add_printer.html", title=f"Add {printer['name']}",
                      printer=printer, uri=uri, qr=qr_svg(uri))  # fmt: skip


@public
async def phone_keys(request: web.Request) -> web.Response:
    """GET /portal/phone-keys: the phone keys I log in at printers with."""
    client = api(request, signed_in(request))
    body = await _get(client, "/v1/users/me/phone-keys")
    return await page(request, "phone_keys.html", title="Phone keys", keys=body.get("items", []))
