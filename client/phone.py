"""``printcloud phone``: what a phone does for printers, from a terminal.

``keygen`` makes a phone key, ``register`` registers its public half for the user
of a token, ``approve`` signs the code a printer shows and sends the approval, just
as the phone app does. ``relay`` sends the registration sheet a printer printed when
it could not reach the cloud, claiming the printer for the user's tenant. ``print``
reads the end-to-end key code a printer shows and prints a document only that printer
can read; ``scan`` asks a printer for a page encrypted to a key made for it in memory
(see docs/e2e.md). ``register`` and ``relay`` use the stored ``printcloud login``
unless given a URL and token. Every failure is a readable sentence, never a traceback.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer

from client.api import Client, CliError, Credentials, run
from client.commands.printing import document_format, submit_protected
from client.output import friendly
from shared.crypto.e2e import E2EError, EphemeralKey, decode_offer_payload, decrypt
from shared.crypto.signatures import PrivateKey
from shared.errors import ValidationFailed
from shared.protocols.onboarding import Sheet
from shared.protocols.phone import (
    LOGIN_ACTIONS,
    PayloadError,
    PhoneKeyError,
    approval_request,
    assert_enrolled_origin,
    cloud_origin,
    decode_login_payload,
    generate_phone_key,
    phone_key_algorithm,
    public_key_text,
    read_private_key,
    write_private_key,
)

phone_app = typer.Typer(
    help="Log in at a printer with a phone key (keygen, register, approve); relay a "
    "printer's registration sheet (relay); print to a printer or scan at it, end-to-end "
    "protected (print, scan).",
    no_args_is_help=True,
)
API_TOKEN_PREFIX = "pc_"
TIMEOUT = aiohttp.ClientTimeout(total=30)

KeyOption = Annotated[Path, typer.Option("--key", help="the phone's private key (PEM)")]


async def _post(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], bearer: str | None = None
) -> dict[str, Any]:
    """One JSON POST; CliError with the problem+json answer as sentences otherwise."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
    try:
        async with http.post(url, json=body, headers=headers) as resp:
            raw = await resp.read()
            if resp.status >= 400:
                raise CliError.refused(resp.status, raw, resp.content_type)
            answer = json.loads(raw) if "json" in resp.content_type else None
    except aiohttp.InvalidURL:
        raise CliError(f"{url} is not a valid address") from None
    if not isinstance(answer, dict):
        raise CliError(f"{url} did not answer with JSON; is it the Printcloud API?")
    return answer


async def _with_token(url: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST as the holder of ``token``: an access token as it is, an API token (pc_...)
    exchanged for one first (the stored login stays as it was)."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        bearer = token
        if token.startswith(API_TOKEN_PREFIX):
            grant = {"grant_type": "api_token", "api_token": token}
            bearer = str((await _post(http, f"{url}/v1/token", grant))["access_token"])
        return await _post(http, f"{url}{path}", body, bearer)


def _origin_file(key: Path) -> Path:
    """Where the cloud a phone key was registered with is kept (next to the key)."""
    return key.with_name(key.name + ".origin")


def _origin(url: str) -> str:
    try:
        return cloud_origin(url)
    except PayloadError as exc:
        raise CliError(str(exc)) from None


def _key(path: Path) -> PrivateKey:
    try:
        return read_private_key(path)
    except PhoneKeyError as exc:
        raise CliError(str(exc)) from None


@phone_app.command("keygen")
@friendly
def keygen(
    out: Annotated[Path, typer.Option("--out", help="where to write the private key (PEM)")],
    algorithm: Annotated[
        str, typer.Option(help="ecdsa-p256 (what phones hold) or ed25519")
    ] = "ecdsa-p256",
) -> None:
    """Make a new phone key; the file is readable by you only (mode 0600)."""
    if algorithm not in ("ecdsa-p256", "ed25519"):
        raise CliError(f"the algorithm must be ecdsa-p256 or ed25519, not {algorithm!r}")
    key = generate_phone_key(algorithm)  # type: ignore[arg-type]
    try:
        write_private_key(key, out)
    except FileExistsError:
        raise CliError(f"{out} exists already; a key is never overwritten") from None
    typer.echo(f"Wrote a new {algorithm} phone key to {out} (readable by you only).")
    typer.echo(f"Register it with: printcloud phone register --key {out} --label 'My phone'")


@phone_app.command("register")
@friendly
def register(
    key: KeyOption,
    label: Annotated[str, typer.Option(help="a name for this phone, e.g. 'Ada's Pixel'")],
    url: Annotated[
        str | None, typer.Option(help="the API's base URL (default: from printcloud login)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="your access token or API token (default: from printcloud login)"),
    ] = None,
) -> None:
    """Register the phone key's public half for the user the token belongs to."""
    private = _key(key)
    body = {
        "public_key": public_key_text(private),
        "algorithm": phone_key_algorithm(private),
        "label": label,
    }
    path = "/v1/users/me/phone-keys"
    if token:
        base = (url or Credentials.load().url).rstrip("/")
        origin = _origin(base)
        answer = asyncio.run(_with_token(base, token, path, body))
    else:
        creds = Credentials.load()
        if url:
            creds.url = url
        origin = _origin(creds.url)

        async def work(client: Client) -> Any:
            return await client.request("POST", path, json_body=body)

        answer = run(work, creds)
    # The phone logs in only to this cloud: a login code naming another is refused.
    _origin_file(key).write_text(origin + "\n")
    typer.echo(
        f"Registered phone key '{answer['label']}' as {answer['key_id']} "
        f"(fingerprint {answer['fingerprint'][:16]}...)."
    )
    typer.echo(
        f"Approve a printer's login code with: printcloud phone approve '<code>' "
        f"--key {key} --key-id {answer['key_id']}"
    )


@phone_app.command("approve")
@friendly
def approve(
    payload: Annotated[str, typer.Argument(help="the printer's login code ('-': read stdin)")],
    key: KeyOption,
    key_id: Annotated[str, typer.Option("--key-id", help="the id register printed")],
    action: Annotated[
        str, typer.Option(help="open_session, or release_all to also release held jobs")
    ] = "open_session",
) -> None:
    """Log in at the printer showing the code: sign its challenge and send the approval."""
    if action not in LOGIN_ACTIONS:
        raise CliError(f"the action must be open_session or release_all, not {action!r}")
    text = sys.stdin.read() if payload == "-" else payload
    try:
        code = decode_login_payload(text)
        key_uuid = uuid.UUID(key_id)
    except PayloadError as exc:
        raise CliError(str(exc)) from None
    except ValueError:
        raise CliError(f"the key id {key_id!r} is not a phone key id (a UUID)") from None
    private = _key(key)
    try:
        enrolled = _origin_file(key).read_text().strip()
    except OSError:
        raise CliError(
            "this phone key was not registered from here (printcloud phone register): "
            "it does not know which cloud it belongs to"
        ) from None
    try:
        assert_enrolled_origin(code, enrolled)
    except PayloadError as exc:
        raise CliError(str(exc)) from None
    body = approval_request(private, key_uuid, code, action)  # type: ignore[arg-type]

    async def send() -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            return await _post(http, f"{code.url}/v1/device-logins", body)

    answer = asyncio.run(send())
    until = datetime.fromisoformat(answer["expires_at"]).astimezone().strftime("%H:%M:%S")
    what = (
        "your held jobs are being released to it"
        if answer["action"] == "release_all"
        else "your jobs for it may print"
    )
    typer.echo(
        f"Logged in at printer {answer['printer_id']} as {answer['display_name']} "
        f"until {until}; {what}."
    )


@phone_app.command("print")
@friendly
def print_at_printer(
    payload: Annotated[str, typer.Argument(help="the printer's key code ('-': read stdin)")],
    file: Annotated[Path, typer.Argument(help="the document to print")],
    title: Annotated[str | None, typer.Option(help="the job's title, which the cloud sees")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="MIME type (default: from the file name)")
    ] = None,
) -> None:
    """Print a document only the printer showing the code can read (stored login)."""
    text = sys.stdin.read() if payload == "-" else payload
    try:
        url, offer = decode_offer_payload(text)
    except E2EError as exc:
        raise CliError(str(exc)) from None
    if not file.is_file():
        raise CliError(f"{file} is not a readable file")
    creds = Credentials.load()
    if _origin(url) != _origin(creds.url):
        raise CliError(
            f"this key code names {_origin(url)}, but you are logged in at "
            f"{_origin(creds.url)}: refusing to print there"
        )

    async def work(client: Client) -> Any:
        return await submit_protected(
            client, file, str(offer.device_id), {}, title=title,
            given_format=document_format(file, fmt), offer=offer,
        )  # fmt: skip

    job = run(work, creds)
    typer.echo(
        f"job {job.get('id')} {job.get('state', 'submitted')}: encrypted for printer "
        f"{offer.device_id} only (key {offer.key_id})."
    )


SCAN_POLL_S = 1.0


@phone_app.command("scan")
@friendly
def scan(
    printer: Annotated[str, typer.Option("--printer", help="the printer to scan at")],
    out: Annotated[Path, typer.Option("--out", help="where to write the scanned page")],
    timeout: Annotated[float, typer.Option(help="seconds to wait for the page")] = 300.0,
) -> None:
    """Scan a page at a printer: it comes encrypted to a key this command holds in memory
    only, so the cloud never sees it (stored login)."""
    if out.exists():
        raise CliError(f"{out} exists already; choose another --out")
    key = EphemeralKey.generate(ttl_s=int(timeout) + 60)
    body = {"printer_id": printer, "key_id": str(key.key_id), "public_key": key.public_text()}

    async def work(client: Client) -> Any:
        asked = await client.request("POST", "/v1/scans", json_body=body)
        scan_id = asked["scan_id"]
        typer.echo(f"scan {scan_id} asked at printer {printer}; waiting for the page...")
        async with asyncio.timeout(timeout):
            while True:
                if (await client.request("GET", f"/v1/scans/{scan_id}"))["state"] == "delivered":
                    break
                await asyncio.sleep(SCAN_POLL_S)
        sealed = await client.content(f"/v1/scans/{scan_id}/document")
        return scan_id, sealed

    try:
        scan_id, sealed = run(work)
    except TimeoutError:
        raise CliError(f"no page came from printer {printer} within {timeout:.0f} s") from None
    partial = out.with_name(out.name + ".part")
    try:
        with partial.open("xb") as handle:
            page_format = decrypt(io.BytesIO(sealed).read, handle.write, key.private, key.key_id)
    except E2EError as exc:
        partial.unlink(missing_ok=True)
        raise CliError(f"the scanned page does not open: {exc}") from None
    partial.rename(out)
    typer.echo(f"scan {scan_id}: wrote {out} ({page_format}), decrypted here only.")


@phone_app.command("relay")
@friendly
def relay(
    payload: Annotated[
        str, typer.Argument(help="the sheet's QR code content, printcloud:register?… ('-': stdin)")
    ],
    name: Annotated[str, typer.Option(help="the name of the new printer (or connector)")],
    region: Annotated[str, typer.Option(help="its region, e.g. eu-west")],
    location: Annotated[str | None, typer.Option(help="where it stands")] = None,
    tenant_id: Annotated[
        str | None, typer.Option("--tenant-id", help="the tenant (operators only)")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="the API's base URL, when this machine reaches the sheet's cloud by another "
            "address (default: from printcloud login, which must be the sheet's cloud)"
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="your access token or API token (default: from printcloud login)"),
    ] = None,
) -> None:
    """Claim a printer that could not reach the cloud from the sheet it printed or shows.

    The sheet names the cloud the printer was told to join and is signed by the
    printer's key; the cloud claims exactly that printer for your tenant (you need the
    admin role), and the printer collects its identity when it next reaches the cloud.
    Relaying the same sheet twice is harmless."""
    text = sys.stdin.read() if payload == "-" else payload
    try:
        sheet = Sheet.parse(text)
    except ValidationFailed as exc:
        reasons = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)
        raise CliError(f"not a usable registration sheet: {exc.detail} ({reasons})") from None
    creds = None if token else Credentials.load()
    # Credentials go to the cloud of the login or the one named here, never to an
    # address read off a sheet.
    base = (url or (creds.url if creds else "")).rstrip("/")
    if not base:
        raise CliError("give --url with --token: the cloud your token belongs to")
    if sheet.signed and not url and _origin(sheet.cloud_url) != _origin(base):
        raise CliError(
            f"the sheet is for the cloud at {sheet.cloud_url}, you are logged in to {base}: "
            "log in to that cloud, or give --url when this machine reaches it by another address"
        )
    body: dict[str, Any] = {"sheet": sheet.payload(), "name": name, "region": region}
    if location:
        body["location"] = location
    if tenant_id:
        body["tenant_id"] = tenant_id
    path = "/v1/registrations/relay"
    if token:
        answer = asyncio.run(_with_token(base, token, path, body))
    else:
        assert creds is not None
        creds.url = base

        async def work(client: Client) -> Any:
            return await client.request("POST", path, json_body=body)

        answer = run(work, creds)
    typer.echo(
        f"Relayed: {answer['kind']} {answer['device_id']} ({sheet.model}, fingerprint "
        f"{answer['fingerprint'][:16]}...) belongs to tenant {answer['tenant_id']}; it joins "
        "when it next reaches the cloud."
    )
