"""``printcloud login`` and ``printcloud logout``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from client.api import (
    Client,
    CliError,
    Credentials,
    credentials_file,
    run,
)
from client.output import out

UrlOption = Annotated[str, typer.Option("--url", help="the platform's base URL")]
TokenOption = Annotated[
    str, typer.Option("--token", help="an API token (pc_...)", envvar="PRINTCLOUD_API_TOKEN")
]


def login(url: UrlOption, token: TokenOption) -> None:
    """Log in: exchange the API token for an access token and remember both."""
    if not url.startswith(("http://", "https://")):
        raise CliError(f"{url!r} is not a URL (http://... or https://...)")
    creds = Credentials(url=url.rstrip("/"), api_token=token)

    async def work(client: Client) -> dict[str, Any]:
        return await client.exchange()

    answer = run(work, creds)
    out.print(f"logged in to {creds.url} (scopes: {answer.get('scope') or '-'})")
    out.print(f"credentials kept in {credentials_file()}")


def logout() -> None:
    """Forget the stored credentials."""
    try:
        credentials_file().unlink()
        out.print("logged out")
    except FileNotFoundError:
        out.print("not logged in")
