"""The request pipeline, in OME's order (reference §2.2):

1. every method: `Server: OvenMediaEngine`, a default `Content-Type: text/html`, CORS;
2. OPTIONS: 204, no body, before authentication;
3. authentication, 401 on failure;
4. the /v1 routes, matched on the raw path (query dropped, no percent-decoding); GET routes
   also answer HEAD; a route's body is parsed before any vhost/app/stream lookup;
5. catch-all: 404 `[HTTP] Controller not found (404)` (also for a wrong method, never 405).

Handlers raise ApiError subclasses; anything unexpected becomes a 500 without internals.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ome.api import jsonfmt
from ome.api.auth import WWW_AUTHENTICATE, Authenticator
from ome.api.context import Ctx
from ome.api.cors import CorsPolicy
from ome.api.envelope import error_envelope, phrase
from ome.api.errors import ApiError, HttpError, StatusOnly, internal_error
from ome.api.jsonbody import JsonBodyError, parse_body

if TYPE_CHECKING:
    from ome.api.routes import Route

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB: API bodies are configs, not media


class Pipeline:
    def __init__(self, server: Any, api: Any, routes: "list[Route]", authenticator: Authenticator,
                 cors: CorsPolicy, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.server = server
        self.api = api
        self.routes = routes
        self.auth = authenticator
        self.cors = cors
        self.max_body = max_body
        # Config writes run one at a time (as OME's orchestrator does), so a write's lookups,
        # its in-memory change, the store write and any undo never interleave with another write.
        self.write_lock = asyncio.Lock()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        headers: dict[str, str] = {}
        try:
            return await self._handle(request, headers)
        except Exception:  # the process must never die on a request
            log.exception("API request %s %s failed", request.method, request.raw_path)
            return self._json(500, error_envelope(internal_error()), headers)

    async def _handle(self, request: web.BaseRequest, headers: dict[str, str]) -> web.StreamResponse:
        from multidict import CIMultiDict

        out: CIMultiDict[str] = CIMultiDict()
        out["Server"] = "OvenMediaEngine"
        out["Content-Type"] = "text/html"
        self.cors.apply(request.headers, out)
        headers.update(out)

        if request.method == "OPTIONS":
            return web.Response(status=204, reason=phrase(204), headers=out)

        try:
            self.auth.check(request.headers.get("Authorization"))
        except HttpError as exc:
            out["WWW-Authenticate"] = WWW_AUTHENTICATE
            return self._json(exc.status, error_envelope(exc), out)

        path = request.raw_path.split("?", 1)[0]
        route, params = self._match(request.method, path)
        if route is None:
            return self._json(404, error_envelope(HttpError(404, "Controller not found")), out)

        ctx = Ctx(server=self.server, api=self.api, request=request, path=path, params=params)
        try:
            if route.body:
                ctx.body = await self._read_json(request)
            async with self.write_lock if route.exclusive else contextlib.nullcontext():
                for what in route.lookup:
                    getattr(ctx, f"resolve_{what}")()
                reply = await route.handler(ctx)
        except ApiError as exc:
            if not isinstance(exc, StatusOnly) and exc.status >= 500:
                log.warning("API %s %s: %s", request.method, path, exc.message)
            return self._json(exc.status, error_envelope(exc), out)
        return self._json(reply.status, reply.body, out)

    def _match(self, method: str, path: str) -> "tuple[Route | None, dict[str, str]]":
        wanted = "GET" if method == "HEAD" else method
        for route in self.routes:
            if route.method != wanted:
                continue
            m = route.regex.fullmatch(path)
            if m is not None:
                return route, m.groupdict()
        return None, {}

    async def _read_json(self, request: web.BaseRequest) -> Any:
        length = request.content_length
        if length is not None and length > self.max_body:
            raise self._too_large()
        if request.headers.get("Expect", "").lower() == "100-continue" and request.version >= (1, 1):
            # curl sends this for bodies over 1 KiB and would otherwise wait a second for it.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        data = bytearray()
        async for chunk in request.content.iter_any():
            data += chunk
            if len(data) > self.max_body:
                raise self._too_large()
        try:
            return parse_body(bytes(data))
        except JsonBodyError as exc:
            raise HttpError(400, f"[JSON] {exc.formatted}") from None

    def _too_large(self) -> HttpError:
        return HttpError(413, f"Request body is larger than the limit of {self.max_body} bytes")

    @staticmethod
    def _json(status: int, body: Any, headers: Any) -> web.Response:
        try:
            payload = jsonfmt.dumps_bytes(body)
        except (TypeError, ValueError, RecursionError):
            log.exception("API reply could not be serialized")
            status, payload = 500, jsonfmt.dumps_bytes(error_envelope(internal_error()))
        out = dict(headers) if not hasattr(headers, "copy") else headers.copy()
        out["Content-Type"] = JSON_CONTENT_TYPE
        return web.Response(status=status, reason=phrase(status), body=payload, headers=out)

