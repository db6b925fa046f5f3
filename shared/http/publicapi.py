"""Calling the platform's public HTTP API from inside the platform, as a person: the
services that speak another protocol to people (the IPP endpoint, the web portal) make
every change through the edge (``api_url``) with that person's own access token, never
through another service's code, so they can do only what the API lets that person do."""

from __future__ import annotations

from typing import Any

import aiohttp


class ApiError(Exception):
    """The API refused (``status``, its problem+json ``body``) or could not be reached
    (``status`` 0)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"API answered {status}: {body!r}"[:500])
        self.status = status
        self.body = body

    @property
    def message(self) -> str:
        """What to tell a person: the problem's detail and the fields it names."""
        if self.status == 0:
            return "The platform could not be reached; try again in a moment."
        body = self.body if isinstance(self.body, dict) else {}
        text = str(
            body.get("detail") or body.get("title") or f"The request failed ({self.status})."
        )
        fields = [f"{e.get('field')}: {e.get('reason')}" for e in body.get("errors") or []
                  if isinstance(e, dict)]  # fmt: skip
        return text + (" (" + "; ".join(fields[:5]) + ")" if fields else "")


async def read_answer(resp: aiohttp.ClientResponse) -> Any:
    """An answer's JSON, or its text when it is not JSON."""
    try:
        return await resp.json(content_type=None)
    except ValueError:
        return await resp.text()


class PublicApi:
    """Calls made for one request, as its person (``token`` empty: anonymous calls)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str = "") -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.token = token

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """``extra`` and the person's bearer token (when there is one)."""
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**(extra or {}), **auth}

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; its JSON answer, or ApiError."""
        headers = self.headers(kwargs.pop("headers", None))
        try:
            async with self.http.request(
                method, self.base + path, headers=headers, **kwargs
            ) as resp:
                body = await read_answer(resp)
                if resp.status >= 300:
                    raise ApiError(resp.status, body)
                return body
        except aiohttp.ClientError as exc:
            raise ApiError(0, str(exc)) from exc
