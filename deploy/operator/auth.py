"""``printcloud auth``: operator actions on auth's signing keys, run with auth's own
settings (``PRINTCLOUD_AUTH_*``) from wherever the service itself can run.

The composition layer may import a service's code; the service itself carries no
operator command.
"""

from __future__ import annotations

import asyncio

import typer

from services.auth.domain.keys import KeySlot
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.db.pool import connect

auth_app = typer.Typer(help="Auth: operator actions on its signing keys.", no_args_is_help=True)


@auth_app.command("rotate-keys")
def rotate_keys() -> None:
    """Publish a new signing key now (it signs after the publish-ahead delay)."""
    slot = asyncio.run(_rotate(AuthSettings()))
    typer.echo(f"new signing key {slot.kid}, signing from {slot.activates_at.isoformat()}")


async def _rotate(settings: AuthSettings) -> KeySlot:
    ring = KeyRing.from_settings(settings)
    conn = await connect(
        settings.database_url.get_secret_value(),
        settings.db_schema or "auth",
        application_name="printcloud-auth-rotate",
    )
    try:
        slot = await ring.maintain(conn, force=True)
        if slot is None:
            raise RuntimeError("no signing key was made")
        return slot
    finally:
        await conn.close()
