"""``python -m services.agent``: register a device, print its sheet, run it."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import aiohttp
import typer

from services.agent.cloud import CloudApi, CloudError
from services.agent.executor import DEFAULT_CONCURRENCY
from services.agent.fallback import SheetOutputs
from services.agent.onboarding import (
    AlreadyClaimed,
    Registrar,
    RegistrationFailed,
    sheet_for,
    terminal_qr,
)
from services.agent.onboarding import sheet_text as render_sheet
from services.agent.runtime import RunConfig, run_agent
from services.agent.state import StateDir, StateError
from shared.logging import configure_logging

agent_app = typer.Typer(
    help="The Printcloud device agent: a printer (simulated or bridged over IPP) or a "
    "connector for many printers.",
    no_args_is_help=True,
)

StateOpt = Annotated[
    Path,
    typer.Option("--state", "--state-dir", envvar="PRINTCLOUD_AGENT_STATE", help="state directory"),
]
ApiOpt = Annotated[
    str | None,
    typer.Option(
        "--api-url", envvar="PRINTCLOUD_AGENT_API_URL",
        help="the cloud's public base URL (default: as told when the device was claimed)",
    ),
]  # fmt: skip
KindOpt = Annotated[str, typer.Option("--kind", help="printer or connector", case_sensitive=False)]
ModelOpt = Annotated[str, typer.Option("--model", help="the device's model name")]


def _kind(kind: str) -> Literal["printer", "connector"]:
    if kind not in ("printer", "connector"):
        raise typer.BadParameter("--kind must be printer or connector")
    return "printer" if kind == "printer" else "connector"


@agent_app.command()
def register(
    registry_url: Annotated[
        str, typer.Option("--registry-url", envvar="PRINTCLOUD_AGENT_REGISTRY_URL")
    ],
    state: StateOpt,
    model: ModelOpt,
    kind: KindOpt = "printer",
    poll_interval: Annotated[float, typer.Option(help="seconds between polls")] = 3.0,
    fallback: Annotated[
        bool,
        typer.Option(
            help="when the cloud cannot be reached, show, write and print the registration "
            "sheet and keep trying (else exit with an error)"
        ),
    ] = True,
    printer_uri: Annotated[
        str | None,
        typer.Option(
            envvar="PRINTCLOUD_AGENT_PRINTER_URI",
            help="the IPP printer to print the registration sheet on when the cloud cannot "
            "be reached",
        ),
    ] = None,
    retry_interval: Annotated[
        float, typer.Option(help="seconds between attempts while the cloud cannot be reached")
    ] = 10.0,
    connect_timeout: Annotated[
        float, typer.Option(help="seconds a request to the registry may take")
    ] = 15.0,
    log_level: Annotated[str, typer.Option(envvar="PRINTCLOUD_AGENT_LOG_LEVEL")] = "WARNING",
) -> None:
    """Ask the registry to join: show the claim code and URL, wait until claimed. When the
    registry cannot be reached, output the registration sheet (display, file, printer)
    for a phone or laptop to relay, and join once it was relayed and the cloud answers."""
    configure_logging("agent", log_level, json=True)

    def say(line: str) -> None:
        typer.echo(line)

    async def go() -> None:
        timeout = aiohttp.ClientTimeout(total=connect_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            store = StateDir(state)
            registrar = Registrar(registry_url, store, _kind(kind), model, http, poll_interval)
            outputs = SheetOutputs(store, say, printer_uri) if fallback else None
            await registrar.run(say, outputs, retry_interval)
            if outputs is not None:
                outputs.clear()

    try:
        asyncio.run(go())
    except AlreadyClaimed as exc:
        typer.echo(f"{exc}: run `agent run`; the device learns its identity when it connects.")
    except (RegistrationFailed, StateError, aiohttp.ClientError) as exc:
        typer.echo(f"registration failed: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@agent_app.command()
def sheet(
    state: StateOpt,
    model: ModelOpt,
    kind: KindOpt = "printer",
    qr: Annotated[bool, typer.Option(help="draw the QR code (needs qrcode)")] = True,
    new_code: Annotated[bool, typer.Option(help="print a sheet with a fresh claim code")] = False,
    registry_url: Annotated[
        str | None,
        typer.Option(
            envvar="PRINTCLOUD_AGENT_REGISTRY_URL",
            help="the cloud to join: the sheet names it and is signed with the device key",
        ),
    ] = None,
) -> None:
    """Print the offline registration sheet (claim code, fingerprint, QR payload)."""
    try:
        store = StateDir(state)
        the_sheet = sheet_for(store, _kind(kind), model, new_code=new_code)
        if registry_url:
            the_sheet = the_sheet.sign_with(store.private_key(), registry_url, int(time.time()))
    except StateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(render_sheet(the_sheet, qr=qr), nl=False)


@agent_app.command()
def run(
    state: StateOpt,
    gateway: Annotated[
        str | None,
        typer.Option(
            envvar="PRINTCLOUD_AGENT_GATEWAY",
            help="ws(s)://HOST:PORT/v1/devices/ws (default: as told when the device was claimed)",
        ),
    ] = None,
    api_url: ApiOpt = None,
    jobs_interval: Annotated[
        float,
        typer.Option(envvar="PRINTCLOUD_AGENT_JOBS_INTERVAL", help="seconds between job listings"),
    ] = 30.0,
    login_qr: Annotated[
        bool, typer.Option(help="keep a phone-login code on the panel (panel.json)")
    ] = True,
    mode: Annotated[
        str, typer.Option(envvar="PRINTCLOUD_AGENT_MODE", help="simulator, ipp or connector")
    ] = "simulator",
    spool: Annotated[
        Path | None, typer.Option(help="simulator: where documents are 'printed'")
    ] = None,
    capabilities: Annotated[
        Path | None, typer.Option(help="simulator: capabilities JSON to report")
    ] = None,
    printer_uri: Annotated[
        str | None, typer.Option(envvar="PRINTCLOUD_AGENT_PRINTER_URI", help="ipp: printer URI")
    ] = None,
    probe_interval: Annotated[
        float, typer.Option(help="seconds between reachability checks")
    ] = 60.0,
    probe_timeout: Annotated[float, typer.Option(help="seconds an IPP probe may take")] = 3.0,
    print_timeout: Annotated[float, typer.Option(help="seconds a Print-Job may take")] = 60.0,
    print_seconds: Annotated[float, typer.Option(help="simulator: time one print takes")] = 0.0,
    concurrency: Annotated[
        int, typer.Option(min=1, help="jobs, settings and files sent to printers at once")
    ] = DEFAULT_CONCURRENCY,
    log_level: Annotated[str, typer.Option(envvar="PRINTCLOUD_AGENT_LOG_LEVEL")] = "INFO",
    log_json: Annotated[bool, typer.Option(help="JSON log lines (else human-readable)")] = True,
    advertise: Annotated[
        bool,
        typer.Option(
            envvar="PRINTCLOUD_AGENT_ADVERTISE",
            help="announce the cloud queues this agent fronts over DNS-SD (mDNS) on the "
            "local network, as IPP Everywhere/AirPrint printers",
        ),
    ] = False,
    advertise_interface: Annotated[
        list[str] | None,
        typer.Option(help="address of an interface to announce on (repeat; default: all)"),
    ] = None,
    advertise_name: Annotated[
        str, typer.Option(help="the announced printer name (default: Printcloud <id>)")
    ] = "",
    advertise_note: Annotated[
        str, typer.Option(help="the announced location (the TXT record's note)")
    ] = "",
) -> None:
    """Connect to the gateway and serve commands until SIGTERM."""
    if mode not in ("simulator", "ipp", "connector"):
        raise typer.BadParameter("--mode must be simulator, ipp or connector")
    if mode == "ipp" and not printer_uri:
        raise typer.BadParameter("--printer-uri is required with --mode ipp")
    configure_logging("agent", log_level, json=log_json)
    try:
        gateway = gateway or StateDir(state).cloud().get("gateway_url")
    except StateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if not gateway:
        raise typer.BadParameter("--gateway is required (the device was not told one)")
    config = RunConfig(
        state=state, gateway=gateway, mode=mode,  # type: ignore[arg-type]
        api_url=api_url, jobs_interval=jobs_interval, login_qr=login_qr,
        spool=spool, capabilities=capabilities, printer_uri=printer_uri,
        probe_interval=probe_interval, probe_timeout=probe_timeout,
        print_timeout=print_timeout, print_seconds=print_seconds, concurrency=concurrency,
        advertise=advertise,
        advertise_interfaces=tuple(advertise_interface or ()), advertise_name=advertise_name,
        advertise_note=advertise_note,
    )  # fmt: skip
    try:
        asyncio.run(run_agent(config))
    except StateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@agent_app.command("login-qr")
def login_qr_command(
    state: StateOpt,
    api_url: ApiOpt = None,
    printer_id: Annotated[
        str | None, typer.Option(help="connector: the bridged printer the code is for")
    ] = None,
    qr: Annotated[bool, typer.Option(help="draw the QR code too")] = True,
    log_level: Annotated[str, typer.Option(envvar="PRINTCLOUD_AGENT_LOG_LEVEL")] = "WARNING",
) -> None:
    """Show a phone-login code for the printer: scan it to log in at the printer."""
    configure_logging("agent", log_level, json=True)
    try:
        target = uuid.UUID(printer_id) if printer_id else None
    except ValueError:
        raise typer.BadParameter("--printer-id must be a UUID") from None
    try:
        store = StateDir(state)
        url = api_url or store.cloud().get("api_url")
    except StateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if not url:
        raise typer.BadParameter("--api-url is required (the device was not told one)")

    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            return await CloudApi(url, store, http).login_challenge(target)

    try:
        code = asyncio.run(go())
    except (CloudError, StateError) as exc:
        typer.echo(f"no login code: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(code["qr_payload"])
    if code.get("expires_at") or code.get("expires_in"):
        typer.echo(f"Expires: {code.get('expires_at') or str(code['expires_in']) + ' s'}")
    drawing = terminal_qr(code["qr_payload"]) if qr else None
    if drawing:
        typer.echo(drawing)
