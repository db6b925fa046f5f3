"""The platform's public HTTP API as the portal uses it: through the edge (``api_url``),
with the signed-in person's own access token, never another service's code. Whatever a
page does, the API does, under the API's own rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from shared.http.publicapi import ApiError, PublicApi, read_answer

__all__ = ["ApiError", "PrintcloudApi"]


class PrintcloudApi(PublicApi):
    """Calls made for one page, as its person (``token`` empty: anonymous calls)."""

    async def get(self, path: str, **params: Any) -> Any:
        """``GET path`` with query ``params`` (None values left out)."""
        query = {k: str(v) for k, v in params.items() if v is not None}
        return await self.call("GET", path, params=query)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """``POST path`` with a JSON body."""
        return await self.call("POST", path, json=body, **kwargs)

    async def patch(self, path: str, body: Any) -> Any:
        """``PATCH path`` with a JSON body."""
        return await self.call("PATCH", path, json=body)

    async def delete(self, path: str) -> Any:
        """``DELETE path``."""
        return await self.call("DELETE", path)

    async def upload(
        self, chunks: AsyncIterator[bytes], media_type: str, title: str, *, keep: bool = False
    ) -> Any:
        """Stream a document to ``POST /v1/documents``; the stored document (``keep``:
        kept for a later reservation)."""
        params = {"title": title[:500], **({"keep": "true"} if keep else {})}
        return await self.call(
            "POST", "/v1/documents", data=chunks, params=params,
            headers={"Content-Type": media_type},
        )  # fmt: skip

    async def stream(
        self, path: str, *, accept: str = "text/event-stream", **params: Any
    ) -> aiohttp.ClientResponse:
        """An open streaming answer (server-sent events, JSON lines); the caller releases
        it."""
        headers = self.headers({"Accept": accept})
        query = {k: str(v) for k, v in params.items() if v is not None}
        try:
            resp = await self.http.get(self.base + path, headers=headers, params=query)
        except aiohttp.ClientError as exc:
            raise ApiError(0, str(exc)) from exc
        if resp.status >= 300:
            body = await read_answer(resp)
            resp.release()
            raise ApiError(resp.status, body)
        return resp
