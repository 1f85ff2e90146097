"""The MPEG-TS over UDP provider: one UDP socket per port of `<Bind><Providers><MPEGTS><Port>` (ranged,
every `<Server><IP>`). A port belongs to the application whose `<Providers><MPEGTS><StreamMap><Stream>`
lists it; the stream is that entry's `<Name>` with `${Port}` expanded (OME: `stream_${Port}`).

The first datagram starts a stream (ts_ingest.py); PacketSilenceTimeoutMs (default 1500) without a
datagram ends it, and the next datagram starts it again. One sender per port: datagrams from
another address while a stream runs are dropped (logged once).
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ome.errors import StartupError
from ome.net import listen_hosts
from ome.providers.ts_ingest import TsIngest, claim_name

if TYPE_CHECKING:
    from ome.runtime.registry import Application

log = logging.getLogger("ome.providers.mpegts")

SILENCE_CHECK_S = 0.1


class MpegtsPort(asyncio.DatagramProtocol):
    """One bound UDP port: at most one running stream."""

    def __init__(self, provider: "MpegtsProvider", port: int) -> None:
        self.provider = provider
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None
        self.ingest: TsIngest | None = None
        self.sender: Any = None
        self.silence_ms = 1500
        self._warned: set[str] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        ingest = self.ingest
        if ingest is None:
            ingest = self._start(addr)
            if ingest is None:
                return
        elif addr != self.sender:
            self._warn_once(f"sender-{addr}", "MPEGTS port %d: datagrams from %s dropped (%s is sending)",
                            self.port, addr, self.sender)
            return
        try:
            ingest.feed(data, len(data))
        except Exception:
            log.exception("MPEGTS port %d (%s): ending the stream", self.port, ingest.where())
            self.end("internal error")

    def _warn_once(self, key: str, msg: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    def _start(self, addr: Any) -> TsIngest | None:
        mapped = self.provider.resolve(self.port)
        if mapped is None:
            self._warn_once("unmapped", "MPEGTS port %d: no application has it in <MPEGTS><StreamMap>; "
                            "datagrams dropped", self.port)
            return None
        app, name = mapped
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else str(addr)
        config = app.config.providers.mpegts
        if claim_name(app, name, True, f"MPEGTS {peer}") is not None:
            self._warn_once(f"dup-{name}", "MPEGTS port %d: the stream [%s/%s/%s] is already being published; "
                            "datagrams dropped", self.port, app.vhost.name, app.name, name)
            return None
        self._warned.discard("unmapped")
        ingest = TsIngest(self.provider.server.registry, app, name, "MPEGTS", f"UDP://{peer}", peer,
                          self.stop)
        self.ingest = ingest
        self.sender = addr
        self.silence_ms = config.packet_silence_timeout_ms or 1500
        self.provider.connections_total += 1
        log.info("MPEGTS publisher %s started %s (port %d)", peer, ingest.where(), self.port)
        return ingest

    def end(self, why: str) -> None:
        ingest, self.ingest = self.ingest, None
        if ingest is not None:
            log.info("MPEGTS publisher %s of %s ended (%s)", ingest.peer, ingest.where(), why)
            ingest.finish()
        self.sender = None

    async def stop(self) -> None:
        """stream.stop_callback: the stream ends; the next datagram starts it again."""
        self.end("stopped")

    def check_silence(self, now: float) -> None:
        ingest = self.ingest
        if ingest is not None and (now - ingest.last_recv) * 1000 > self.silence_ms:
            self.end(f"no data for {self.silence_ms} ms (PacketSilenceTimeoutMs)")


class MpegtsProvider:
    name = "mpegts"

    def __init__(self, server: Any, bind: Any) -> None:
        self.server = server
        self.bind = bind
        self.ports: list[int] = []
        self._ports: list[MpegtsPort] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._timer: asyncio.Task[None] | None = None
        self.connections_total = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        hosts = listen_hosts(list(self.server.config.ip or []))
        for port in self.bind.port.ports:
            handler = MpegtsPort(self, port)
            for host in hosts:
                try:
                    transport, _ = await loop.create_datagram_endpoint(lambda h=handler: h, local_addr=(host, port))
                except OSError as exc:
                    await self.stop()
                    raise StartupError(f"MPEGTS Provider could not listen on {host}:{port}/udp: {exc}") from None
                self._transports.append(transport)
            self._ports.append(handler)
            self.ports.append(port)
        self._timer = asyncio.ensure_future(self._silence_loop())
        log.info("MPEGTS Provider listening on %s port %s", ", ".join(hosts), self.bind.port)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for handler in self._ports:
            handler.end("server stopping")
        for transport in self._transports:
            transport.close()
        self._transports.clear()

    def resolve(self, port: int) -> tuple["Application", str] | None:
        """The (app, stream name) whose MPEGTS StreamMap lists port (first in vhost/app order)."""
        for vhost in self.server.registry.vhosts.values():
            for app in vhost.apps.values():
                mpegts = app.config.providers.mpegts if app.config.providers is not None else None
                if mpegts is None:
                    continue
                for entry in mpegts.stream_map:
                    if port in entry.port.ports:
                        return app, entry.name.replace("${Port}", str(port))
        return None

    async def _silence_loop(self) -> None:
        while True:
            await asyncio.sleep(SILENCE_CHECK_S)
            now = time.monotonic()
            for handler in self._ports:
                handler.check_silence(now)
