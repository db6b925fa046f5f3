"""``printcloud openapi write|check`` and ``printcloud edge``: the public API as a whole."""

from __future__ import annotations

import typer
from rich.console import Console

from deploy.catalog import SERVICES

out = Console()
err = Console(stderr=True)

openapi_app = typer.Typer(help="The OpenAPI document of the public API.", no_args_is_help=True)

FIRST_SERVICE_PORT = 8081
"""The local platform's services listen from here on, in the catalogue's order."""


def local_upstreams() -> dict[str, str]:
    """Each service of the catalogue on loopback, at the local platform's port."""
    return {n: f"http://127.0.0.1:{FIRST_SERVICE_PORT + i}" for i, n in enumerate(SERVICES)}


@openapi_app.command("write")
def openapi_write() -> None:
    """Regenerate docs/openapi.yaml from the services' declared operations."""
    from deploy.apidocs import openapi_file

    changed = openapi_file.write()
    out.print(f"{openapi_file.DOCUMENT}: {'written' if changed else 'up to date'}")


@openapi_app.command("check")
def openapi_check() -> None:
    """Exit 1 if docs/openapi.yaml differs from what the code declares."""
    from deploy.apidocs import openapi_file

    if openapi_file.stale():
        err.print(f"[red]stale[/]: {openapi_file.DOCUMENT} (run: printcloud openapi write)")
        raise typer.Exit(1)
    out.print("openapi document up to date")


def edge() -> None:
    """Run the edge: the one public base URL in front of every service."""
    from deploy.apidocs.openapi import document_json
    from services.edge.app import main
    from services.edge.settings import EdgeSettings

    settings = EdgeSettings()
    if not settings.upstreams:
        settings = settings.model_copy(update={"upstreams": local_upstreams()})
    main(settings, None if settings.openapi_file else document_json())


def api_commands(app: typer.Typer) -> None:
    """Add ``printcloud edge`` and ``printcloud openapi write|check``."""
    app.add_typer(openapi_app, name="openapi")
    app.command("edge")(edge)
