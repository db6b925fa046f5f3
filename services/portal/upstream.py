"""The platform's public HTTP API as the portal uses it: through the edge (``api_url``),
with the signed-in person's own access token, never another service's code. Whatever a
page does, the API does, under the API's own rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
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


async def _answer(resp: aiohttp.ClientResponse) -> Any:
    try:
        return await resp.json(content_type=None)
    except ValueError:
        return await resp.text()


class PrintcloudApi:
    """Calls made for one page, as its person (``token`` empty: anonymous calls)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str = "") -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.token = token

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; its JSON answer, or ApiError."""
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with self.http.request(
                method, self.base + path, headers=headers, **kwargs
            ) as resp:
                body = await _answer(resp)
                if resp.status >= 300:
                    raise ApiError(resp.status, body)
                return body
        except aiohttp.ClientError as exc:
            raise ApiError(0, str(exc)) from exc

    async def get(self, path: str, **params: Any) -> Any:
        """``GET path`` with query ``params`` (None values left out)."""
        query = {k: str(v) for k, v in params.items() if v is not None}
        return await self.call("GET", path, params=query)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """``POST path`` with a JSON body."""
        return await self.call("POST", path, json=body, **kwargs)

    async def upload(self, chunks: AsyncIterator[bytes], media_type: str, title: str) -> Any:
        """Stream a document to ``POST /v1/documents``; the stored document."""
        return await self.call(
            "POST", "/v1/documents", data=chunks, params={"title": title[:500]},
            headers={"Content-Type": media_type},
        )  # fmt: skip

    async def stream(self, path: str) -> aiohttp.ClientResponse:
        """An open streaming answer (server-sent events); the caller releases it."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        try:
            resp = await self.http.get(self.base + path, headers=headers)
        except aiohttp.ClientError as exc:
            raise ApiError(0, str(exc)) from exc
        if resp.status >= 300:
            body = await _answer(resp)
            resp.release()
            raise ApiError(resp.status, body)
        return resp
