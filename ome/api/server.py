"""ApiServer: the OME-compatible REST API listener (reference §2.1).

Listens on every `<Server><IP>` (`*` = all IPv4, `::` = all IPv6) at `<Bind><Managers><API><Port>`
and, with the certificate of `<Managers><Host><TLS>`, at `<TLSPort>`. An empty AccessToken or a
port that cannot be bound is a StartupError (OME exits in both cases).
"""
from __future__ import annotations

import logging
import os
import ssl
import tempfile
import time
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ome.api import jsonfmt
from ome.api.auth import Authenticator
from ome.api.cors import CorsPolicy
from ome.api.envelope import envelope, phrase
from ome.api.http import JSON_CONTENT_TYPE, Pipeline
from ome.errors import StartupError
from ome.net import listen_hosts

log = logging.getLogger(__name__)


class _RequestHandler(RequestHandler):
    """Requests aiohttp cannot even parse (bad request line, invalid characters in the path, ...)
    get an OME-style JSON envelope instead of aiohttp's text page, and no traceback in the log."""

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        log.debug("unparseable API request from %s: %s", request.remote, exc)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        response = web.Response(status=status, reason=phrase(status), body=jsonfmt.dumps_bytes(envelope(status)),
                                headers={"Server": "OvenMediaEngine", "Content-Type": JSON_CONTENT_TYPE})
        response.force_close()
        return response


class _LowLevelServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _RequestHandler(self, loop=self._loop, **self._kwargs)


class ApiServer:
    def __init__(self, server: Any) -> None:
        self.server = server
        config = server.config
        bind_managers = getattr(config.bind, "managers", None)
        self._bind = getattr(bind_managers, "api", None)
        managers = getattr(config, "managers", None)
        self._api_config = getattr(managers, "api", None)
        self._host_config = getattr(managers, "host", None)
        self.started_at = time.time()
        self.ports: list[int] = []
        self._runner: web.ServerRunner | None = None
        self._ssl: ssl.SSLContext | None = None

    # -- configuration -------------------------------------------------------------------
    @property
    def access_token(self) -> str:
        return str(getattr(self._api_config, "access_token", "") or "")

    @property
    def tls_enabled(self) -> bool:
        return self._ssl is not None

    def _port(self, attr: str) -> int | None:
        port = getattr(self._bind, attr, None) if self._bind is not None else None
        return int(port.port) if port is not None else None

    def _tls_paths(self) -> tuple[str, str, str | None]:
        tls = getattr(self._host_config, "tls", None)
        cert = getattr(tls, "cert_path", None)
        key = getattr(tls, "key_path", None)
        if not cert or not key:
            raise StartupError("API Server TLSPort needs a certificate in <Managers><Host><TLS>")
        chain = getattr(tls, "chain_cert_path", None) or None
        return str(cert), str(key), (str(chain) if chain else None)

    def _make_ssl_context(self) -> ssl.SSLContext:
        cert, key, chain = self._tls_paths()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])
        _load_chain(context, cert, key, chain)
        return context

    def reload_certificate(self) -> bool:
        """Load the configured certificate again; the old one stays in use on failure."""
        if self._ssl is None:
            return False
        try:
            cert, key, chain = self._tls_paths()
            _load_chain(self._ssl, cert, key, chain)
        except (OSError, ssl.SSLError, StartupError) as exc:
            log.error("Failed to create a certificate for the API Server: %s", exc)
            return False
        log.info("API Server certificate reloaded")
        return True

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        token = self.access_token
        if not token:
            log.error("Empty <AccessToken> is not allowed")
            raise StartupError("Empty <AccessToken> is not allowed")
        from ome.api.routes import ROUTES

        cross_domains = getattr(self._api_config, "cross_domains", None)
        pipeline = Pipeline(self.server, self, ROUTES, Authenticator(token), CorsPolicy.from_config(cross_domains))
        port, tls_port = self._port("port"), self._port("tls_port")
        if tls_port is not None:
            try:
                self._ssl = self._make_ssl_context()
            except (OSError, ssl.SSLError) as exc:
                raise StartupError(f"API Server: could not load the TLS certificate: {exc}") from None

        self._runner = web.ServerRunner(_LowLevelServer(pipeline.handle), access_log=None,
                                        handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        hosts = listen_hosts(list(getattr(self.server.config, "ip", None) or []))
        try:
            for number, context in ((port, None), (tls_port, self._ssl)):
                if number is None:
                    continue
                for host in hosts:
                    site = web.TCPSite(self._runner, host, number, ssl_context=context, reuse_address=True)
                    try:
                        await site.start()
                    except OSError as exc:
                        raise StartupError(f"API Server could not listen on {host}:{number}: {exc}") from None
                if number not in self.ports:
                    self.ports.append(number)
                log.info("API Server listening on %s port %d%s", ", ".join(hosts), number,
                         " (TLS)" if context is not None else "")
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self.ports = []


def _load_chain(context: ssl.SSLContext, cert: str, key: str, chain: str | None) -> None:
    if not chain:
        context.load_cert_chain(cert, key)
        return
    # ssl wants the leaf and its chain in one file.
    with open(cert, "rb") as f:
        leaf = f.read()
    with open(chain, "rb") as f:
        rest = f.read()
    fd, combined = tempfile.mkstemp(prefix="ome-api-cert-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(leaf.rstrip(b"\n") + b"\n" + rest)
        context.load_cert_chain(combined, key)
    finally:
        os.unlink(combined)
