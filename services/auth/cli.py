"""``python -m services.auth.cli``: operator actions on auth's keys, run with auth's own
settings (``PRINTCLOUD_AUTH_*``) from wherever the service itself can run."""

from __future__ import annotations

import asyncio

import typer

from services.auth.domain.keys import KeySlot
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.db.pool import connect

app = typer.Typer(help="Printcloud auth: operator actions.", no_args_is_help=True)


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Publish a new signing key now (it signs after the publish-ahead delay)."""
    slot = asyncio.run(_rotate(AuthSettings()))
    typer.echo(f"new signing key {slot.kid}, signing from {slot.activates_at.isoformat()}")


async def _rotate(settings: AuthSettings) -> KeySlot:
    ring = KeyRing.from_settings(settings)
    conn = await connect(
        settings.database_url.get_secret_value(),
        settings.db_schema or "auth",
        application_name="auth-cli",
    )
    try:
        slot = await ring.maintain(conn, force=True)
        assert slot is not None
        return slot
    finally:
        await conn.close()


if __name__ == "__main__":
    app()
