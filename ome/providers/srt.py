"""The SRT provider: libsrt listeners on `<Bind><Providers><SRT><Port>` (ranged, every `<Server><IP>`),
each accepted caller carrying MPEG-TS into one input stream (ts_ingest.py).

Stream id -> stream (OME's conventions): a percent-encoded `srt://host[:port]/app/stream[?query]`
(ffmpeg sends it verbatim; decoded here), the plain `app/stream` (or `vhost/app/stream`), and the
SRT access-control form `#!::r=app/stream,m=publish[,h=host]`. A `<StreamMap><Stream>` for the
listener's port (`<Port>`, `<StreamPath>` app/stream or vhost/app/stream) takes precedence. The
vhost is the first whose `<Host><Names>` match the host, else the one named in the path, else the
first with the app. The app must have `<Providers><SRT>`. `<Options><Option>` go to libsrt.
Refusals (unknown vhost/app, no SRT provider, duplicate, wrong passphrase) log one warning line and
close the socket.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ome._native import ffi, lib
from ome.errors import StartupError
from ome.net import listen_hosts
from ome.providers.rtmp import host_matches
from ome.providers.srt_io import SrtError, SrtOptions, get_srt_io
from ome.providers.ts_ingest import TsIngest, claim_name

if TYPE_CHECKING:
    from ome.runtime.registry import Application

log = logging.getLogger("ome.providers.srt")

# <Options><Option><Key> (with or without the SRTO_ prefix, any case) -> SrtOptions field
_OPTION_KEYS = {"LATENCY": "latency_ms", "RCVLATENCY": "latency_ms", "PEERLATENCY": "latency_ms",
                "PASSPHRASE": "passphrase", "PBKEYLEN": "pbkeylen", "PAYLOADSIZE": "payload_size",
                "PEERIDLETIMEO": "peer_idle_ms"}
SILENCE_CHECK_S = 0.25


def srt_options(options: list[Any]) -> SrtOptions:
    """`<Options><Option>{Key, Value}` -> SrtOptions; unknown keys are logged and ignored."""
    out = SrtOptions()
    for item in options:
        key = (item.key or "").strip().upper()
        key = key[5:] if key.startswith("SRTO_") else key
        field = _OPTION_KEYS.get(key)
        if field is None:
            log.warning("SRT option %s is not supported; ignored", item.key)
            continue
        value = (item.value or "").strip()
        if field == "passphrase":
            out.passphrase = value
            continue
        try:
            setattr(out, field, int(value))
        except ValueError:
            raise StartupError(f"SRT option {item.key}: not a number: {value!r}") from None
    return out


def parse_streamid(raw: str) -> tuple[str, list[str], str]:
    """(host, path elements, mode) of a stream id; host "" when it names none."""
    text = unquote(raw.strip())
    host, mode = "", "publish"
    if text.startswith("#!::"):
        fields = {}
        for item in text[4:].split(","):
            if "=" in item:
                k, v = item.split("=", 1)
                fields[k.strip()] = v.strip()
        host, mode, path = fields.get("h", ""), fields.get("m", "publish"), fields.get("r", "")
    elif "://" in text:
        try:
            parts = urlsplit(text)
            host, path = parts.hostname or "", parts.path
        except ValueError:
            path = ""
    else:
        path = text
    path = path.split("?", 1)[0]
    return host, [p for p in path.split("/") if p], mode


class SrtSession:
    """One accepted SRT caller: its data goes to a TsIngest."""

    def __init__(self, provider: "SrtProvider", sock: int, peer: str, port: int, ingest: TsIngest,
                 silence_ms: int) -> None:
        self.provider = provider
        self.sock = sock
        self.peer = peer
        self.port = port
        self.ingest = ingest
        self.silence_ms = silence_ms
        self.buf = ffi.new("omn_buf *")
        self.closed = False

    def srt_data(self, sock: int) -> None:
        if self.closed:
            return
        if self.ingest.ended:                 # its application went away before it was published
            self.close("application gone")
            return
        io = self.provider.io
        buf = self.buf
        if io.take_into(sock, buf) > 0:
            try:
                self.ingest.feed(buf.data, buf.len)
            except Exception:
                log.exception("SRT %s (%s): dropping the connection", self.peer, self.ingest.where())
                self.close("internal error")
            buf.len = 0

    def srt_connected(self, sock: int) -> None:
        pass

    def srt_closed(self, sock: int, reject: int, reason: str) -> None:
        if not self.closed:
            log.info("SRT publisher %s of %s left (%s)", self.peer, self.ingest.where(), reason)
        self._finish()

    def close(self, why: str) -> None:
        """Server side close (silence, stop, DELETE): unpublish now, then the socket."""
        if self.closed:
            return
        log.info("SRT publisher %s of %s disconnected by the server (%s)", self.peer, self.ingest.where(), why)
        self.provider.io.close_socket(self.sock)
        self._finish()

    def _finish(self) -> None:
        self.closed = True
        self.ingest.finish()
        lib.omn_buf_free(self.buf)
        self.provider.sessions.discard(self)

    async def stop(self) -> None:
        """stream.stop_callback (DELETE stream, app deletion, replacement)."""
        self.close("stopped")


class SrtProvider:
    name = "srt"

    def __init__(self, server: Any, bind: Any) -> None:
        self.server = server
        self.bind = bind
        self.options = srt_options(bind.options)
        self.stream_map = {entry.port: entry.stream_path for entry in bind.stream_map}
        self.ports: list[int] = []
        self.io: Any = None
        self.sessions: set[SrtSession] = set()
        self._listeners: dict[int, int] = {}          # listener socket -> port
        self._timer: asyncio.Task[None] | None = None
        self.connections_total = 0

    async def start(self) -> None:
        try:
            self.io = get_srt_io(self.server)
        except SrtError as exc:
            raise StartupError(f"SRT Provider: {exc}") from None
        hosts = listen_hosts(list(self.server.config.ip or []))
        for port in self.bind.port.ports:
            for host in hosts:
                try:
                    sock = self.io.listen(host, port, self.options, self)
                except SrtError as exc:
                    await self.stop()
                    raise StartupError(f"SRT Provider could not listen on {host}:{port}: {exc}") from None
                self._listeners[sock] = port
            self.ports.append(port)
        self._timer = asyncio.ensure_future(self._silence_loop())
        log.info("SRT Provider listening on %s port %s/srt%s", ", ".join(hosts), str(self.bind.port).rsplit("/", 1)[0],
                 " (encrypted)" if self.options.passphrase else "")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for session in list(self.sessions):
            session.close("server stopping")
        if self.io is not None:
            for sock in list(self._listeners):
                self.io.close_socket(sock)
        self._listeners.clear()

    # -- listener events ---------------------------------------------------------------
    def srt_rejected(self, peer: str, streamid: str, reject: int, reason: str) -> None:
        log.warning("SRT %s: handshake rejected by libsrt: %s (code %d, streamid %r); connection closed",
                    peer, reason, reject, streamid)

    def srt_accepted(self, sock: int, listener: int, peer: str, streamid: str) -> None:
        port = self._listeners.get(listener, 0)
        app, name, why = self.resolve(port, streamid)
        if app is None:
            log.warning("SRT %s: rejected: %s (streamid %r); closing the connection", peer, why, streamid)
            return                                     # not adopted: SrtIo closes it
        srt = app.config.providers.srt
        error = claim_name(app, name, srt.block_duplicate_stream_name, f"SRT {peer}")
        if error is None and any(s.ingest.app is app and s.ingest.name == name and not s.closed
                                 for s in self.sessions):
            error = f"the stream [{app.vhost.name}/{app.name}/{name}] is already being published"
        if error is not None:
            log.warning("SRT %s: rejected: %s; closing the connection", peer, error)
            return
        ingest = TsIngest(self.server.registry, app, name, "SRT", f"SRT://{peer}", peer, None)
        session = SrtSession(self, sock, peer, port, ingest, srt.packet_silence_timeout_ms)
        ingest.stop_callback = session.stop
        self.sessions.add(session)
        self.connections_total += 1
        self.io.adopt(sock, session)
        log.info("SRT publisher %s started %s (port %d, streamid %r)", peer, ingest.where(), port, streamid)

    # -- names ---------------------------------------------------------------------------
    def resolve(self, port: int, streamid: str) -> tuple["Application | None", str, str]:
        """(app, stream name, "") or (None, "", why)."""
        mapped = self.stream_map.get(port)
        host, path, mode = parse_streamid(mapped if mapped is not None else streamid)
        if mode.lower() != "publish":
            return None, "", f"stream id mode {mode!r} is not supported (publish only)"
        if len(path) < 2:
            return None, "", "the stream id names no app/stream"
        app_name, name = path[-2], path[-1]
        vhosts = list(self.server.registry.vhosts.values())
        if host:
            vhost = next((v for v in vhosts if v.config.host is not None and
                          any(host_matches(n, host) for n in v.config.host.names)), None)
            if vhost is None:
                return None, "", f"Could not find the virtual host for the domain [{host}]"
        elif len(path) >= 3 and path[-3] in self.server.registry.vhosts:
            vhost = self.server.registry.vhosts[path[-3]]
        else:
            vhost = next((v for v in vhosts if app_name in v.apps), None)
            if vhost is None:
                return None, "", f"Could not find the application: [{app_name}]"
        app = vhost.apps.get(app_name)
        if app is None:
            return None, "", f"Could not find the application: [{vhost.name}/{app_name}]"
        if app.config.providers is None or app.config.providers.srt is None:
            return None, "", f"The SRT provider is not enabled in the application [{vhost.name}/{app_name}]"
        return app, name, ""

    # -- PacketSilenceTimeoutMs ----------------------------------------------------------
    async def _silence_loop(self) -> None:
        while True:
            await asyncio.sleep(SILENCE_CHECK_S)
            now = time.monotonic()
            for session in list(self.sessions):
                limit = session.silence_ms
                if limit > 0 and (now - session.ingest.last_recv) * 1000 > limit:
                    session.close(f"no data for {limit} ms (PacketSilenceTimeoutMs)")
