"""The Push publisher: `:startPush` / `:stopPush` / `:pushes` (reference §4.7,
llhls-and-fmp4.md §6.4-6.5), installed as `server.pushes`.

Every push is independent: one asyncio worker per push connects with its own timeout,
sends from its own bounded queue, and reconnects with exponential backoff + jitter (cap
30 s, reset after 60 s of healthy pushing). The stream's sink only appends packets to the
queue (never waits): while disconnected the queue keeps the current GOP only (a new
connection starts at once on a key frame); when it would exceed QUEUE_MS of media or
QUEUE_BYTES, it is cleared and frames are dropped (counted) up to the next key frame. A peer
that stops reading blocks only its own worker; after SendTimeout its push goes `error` and
reconnects. Transports: push_rtmp.py (FLV over RTMP/RTMPS), push_ts.py (MPEG-TS over UDP/TCP,
and over SRT as a caller on the native SRT layer).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import random
import socket
import time
from typing import TYPE_CHECKING, Any

from ome.api.errors import HttpError
from ome.api.jsonfmt import format_time
from ome.media import MediaKind, Packet

from .muxers import FLV_CODECS, TS_CODECS, select_tracks
from .task_module import TaskModule, makes_outputs

if TYPE_CHECKING:
    from ome.api.services import PushRequest
    from ome.runtime.registry import Application, Stream

log = logging.getLogger(__name__)

QUEUE_MS = 4000                 # media held for one push at most
QUEUE_BYTES = 16 << 20
SOCKET_SNDBUF = 256 * 1024      # kernel send buffer of TCP pushes: a stalled peer shows up quickly
BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0
HEALTHY_RESET_S = 60.0
CONNECT_TIMEOUT_S = 5.0         # OME's defaults (<Push><ConnectionTimeout>, <SendTimeout>)
SEND_TIMEOUT_S = 2.0


def limit_send_buffer(writer: asyncio.StreamWriter) -> None:
    """Live media gains nothing from megabytes of kernel buffer: keep it small, so a peer that
    stops reading is noticed (SendTimeout) within seconds, not after minutes of buffering."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SNDBUF)
        except OSError:
            pass


class PushQueue:
    """Packets waiting for one push connection; bounded by media time and bytes."""

    def __init__(self) -> None:
        self.items: collections.deque[tuple[int, Packet]] = collections.deque()
        self.bytes = 0
        self.dropped_frames = 0
        self.need_key = True            # after a drop: wait for a key frame of the default track
        self.connected = False
        self.ever_connected = False     # frames missed since the first connection count as dropped
        self.ready = asyncio.Event()

    def clear(self) -> None:
        self.items.clear()
        self.bytes = 0

    def push(self, index: int, packet: Packet, key_of_default: bool, span_ms: int) -> None:
        if key_of_default:
            if not self.connected:      # not sending: keep the current GOP only
                if self.ever_connected:
                    self.dropped_frames += len(self.items)
                self.clear()
            self.need_key = False
        if self.need_key:
            if self.ever_connected:
                self.dropped_frames += 1
            return
        if self.connected and (span_ms > QUEUE_MS or self.bytes > QUEUE_BYTES):
            self.dropped_frames += len(self.items) + 1
            self.clear()
            self.need_key = True
            return
        self.items.append((index, packet))
        self.bytes += len(packet.data)
        self.ready.set()

    def pop(self) -> tuple[int, Packet] | None:
        if not self.items:
            self.ready.clear()
            return None
        item = self.items.popleft()
        self.bytes -= len(item[1].data)
        return item


class PushTask:
    is_config = False            # started by the publisher's <StreamMap> (stream_map.py), never stored

    def __init__(self, module: "PushModule", app: "Application", request: "PushRequest", created_text: str) -> None:
        self.module = module
        self.app = app
        self.vhost = app.vhost.name
        self.app_name = app.name
        self.id = request.id
        self.request = request
        self.created_text = created_text
        self.state = "ready"
        self.sequence = 0                # connection attempts that reached `pushing`
        self.sent_bytes = 0
        self.sent_ms = 0
        self.total_sent_bytes = 0
        self.total_sent_ms = 0
        self.start_time: float | None = None
        self.finish_time: float | None = None
        self.first_byte_time: float | None = None
        self.started_at = time.monotonic()
        self.queue = PushQueue()
        self.sink: PushSink | None = None
        self.worker: asyncio.Task[None] | None = None
        self.stopping = False
        self.stream_event = asyncio.Event()   # set when the stream (or its tracks) appear

    def json(self) -> dict[str, Any]:
        r = self.request
        epoch = format_time(0)
        return {"id": self.id, "vhost": self.vhost, "app": self.app_name,
                "stream": {"name": r.stream_name, "trackIds": list(r.track_ids),
                           "variantNames": list(r.variant_names)},
                "state": self.state, "protocol": r.protocol, "url": r.url, "streamKey": r.stream_key,
                "sentBytes": self.sent_bytes, "sentTime": self.sent_ms,
                "totalsentBytes": self.total_sent_bytes, "totalsentTime": self.total_sent_ms,
                "sequence": self.sequence,
                "startTime": format_time(self.start_time) if self.start_time else epoch,
                "finishTime": format_time(self.finish_time) if self.finish_time else epoch,
                "createdTime": self.created_text, "isConfig": self.is_config,
                "droppedFrames": self.queue.dropped_frames}

    def timeouts(self) -> tuple[float, float]:
        pubs = self.app.config.publishers
        config = pubs.push if pubs is not None else None
        connect = config.connection_timeout / 1000 if config and config.connection_timeout > 0 else CONNECT_TIMEOUT_S
        send = config.send_timeout / 1000 if config and config.send_timeout > 0 else SEND_TIMEOUT_S
        return connect, send

    # -- the worker ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, send, and on any failure back off (exponential, jitter, cap) and retry."""
        from .push_rtmp import RtmpPushConnection
        from .push_ts import ts_connection
        backoff = BACKOFF_START_S
        while not self.stopping:
            sink = self.sink
            if sink is None or not sink.tracks:
                self.state = "ready"
                await self.stream_event.wait()
                self.stream_event.clear()
                continue
            connect_timeout, send_timeout = self.timeouts()
            self.state = "connecting"
            healthy_since = None
            conn: Any = None
            try:
                if self.request.protocol == "rtmp":
                    conn = RtmpPushConnection(self, sink.tracks, connect_timeout, send_timeout)
                else:
                    conn = ts_connection(self, sink.tracks, connect_timeout, send_timeout)
                await conn.connect()
                self.state = "pushing"
                self.sequence += 1
                self.sent_bytes = self.sent_ms = 0
                if self.start_time is None:
                    self.start_time = time.time()
                healthy_since = time.monotonic()
                # the queue holds the current GOP from its key frame (or waits for one): the
                # new connection starts with it at once
                self.queue.connected = self.queue.ever_connected = True
                await conn.pump(sink)            # returns when the stream went away
                self.state = "ready"
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.stopping:
                    break
                log.warning("push %s to %s: %s", self.id, self.request.url, exc or type(exc).__name__)
                self.state = "error"
            finally:
                self.queue.connected = False
                if conn is not None:
                    await conn.close()
            if healthy_since is not None and time.monotonic() - healthy_since >= HEALTHY_RESET_S:
                backoff = BACKOFF_START_S
            delay = backoff * random.uniform(0.5, 1.0)
            backoff = min(backoff * 2, BACKOFF_CAP_S)
            await asyncio.sleep(delay)

    def count_sent(self, nbytes: int, media_ms: int) -> None:
        if self.first_byte_time is None:
            self.first_byte_time = time.monotonic()
        self.sent_bytes += nbytes
        self.total_sent_bytes += nbytes
        if media_ms > self.sent_ms:
            self.total_sent_ms += media_ms - self.sent_ms
            self.sent_ms = media_ms


class PushSink:
    """StreamSink of one push: selects tracks and queues packets (never blocks)."""

    def __init__(self, task: PushTask, stream: "Stream") -> None:
        self.task = task
        self.stream = stream
        self.tracks: list[Any] = []
        self.index: dict[int, int] = {}

    def on_tracks(self, stream: "Stream") -> None:
        r = self.task.request
        codecs = FLV_CODECS if r.protocol == "rtmp" else TS_CODECS
        self.tracks = select_tracks(stream, r.track_ids, r.variant_names, codecs, first_of_each=True)
        self.index = {t.id: i for i, t in enumerate(self.tracks)}
        self.task.module.wake(self.task)

    def on_packet(self, stream: "Stream", packet: Packet) -> None:
        i = self.index.get(packet.track_id)
        if i is None:
            return
        q = self.task.queue
        video = self.tracks[0].kind == MediaKind.VIDEO
        key = i == 0 and (packet.keyframe or not video)
        span = 0
        if q.items:
            first_index, first = q.items[0]
            if first_index == i:
                span = (packet.dts - first.dts) * 1000 // self.tracks[i].timescale
        q.push(i, packet, key, span)

    def on_end(self, stream: "Stream") -> None:
        self.task.queue.clear()
        self.task.queue.ready.set()


class GopCache:
    """StreamSink keeping the packets since the last key frame of the first video track (the
    same Packet objects, no copy), so a push that starts on a live stream sends at once instead
    of waiting up to a GOP. Bounded: past GOP_CACHE_PACKETS it waits for the next key frame."""

    GOP_CACHE_PACKETS = 1500

    def __init__(self) -> None:
        self.video_id: int | None = None
        self.packets: list[Packet] = []
        self.valid = False

    def on_tracks(self, stream: "Stream") -> None:
        videos = [t.id for t in stream.tracks.values() if t.kind == MediaKind.VIDEO]
        self.video_id = videos[0] if videos else None
        self.packets, self.valid = [], False

    def on_packet(self, stream: "Stream", packet: Packet) -> None:
        if self.video_id is None:
            return
        if packet.track_id == self.video_id and packet.keyframe:
            self.packets, self.valid = [], True
        if self.valid:
            if len(self.packets) >= self.GOP_CACHE_PACKETS:
                self.packets, self.valid = [], False
            else:
                self.packets.append(packet)

    def on_end(self, stream: "Stream") -> None:
        self.packets, self.valid = [], False


class PushModule(TaskModule):
    """`server.pushes` (PushService), a StreamModule, an AppModule and a listener."""

    name = "push"
    kind = "push"
    publisher = "Push"

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self.gops: dict["Stream", GopCache] = {}

    def has_app(self, app: "Application") -> bool:
        pubs = app.config.publishers
        return pubs is not None and any(getattr(pubs, n, None) is not None
                                        for n in ("push", "rtmp_push", "srt_push", "mpegts_push"))

    async def start(self, app: "Application", request: "PushRequest") -> dict[str, Any]:
        return self.begin(app, request).json()

    def begin(self, app: "Application", request: "PushRequest", is_config: bool = False) -> PushTask:
        tasks = self.app_tasks(app)
        if request.id in tasks:
            raise HttpError(400, "Duplicate ID")
        if request.protocol == "srt":
            from .push_ts import srt_available
            if not srt_available():
                raise HttpError(400, "Unsupported protocol")
        task = PushTask(self, app, request, format_time(time.time()))
        task.is_config = is_config
        tasks[request.id] = task
        self._launch(task)
        return task

    def map_config(self, app: "Application") -> Any:
        push = app.config.publishers.push if app.config.publishers is not None else None
        return push.stream_map if push is not None else None

    def _launch(self, task: PushTask) -> None:
        self.attach_existing(task)
        task.worker = asyncio.get_running_loop().create_task(task.run(), name=f"push {task.id}")

    async def stop(self, app: "Application", push_id: str) -> None:
        tasks = self.tasks.get((app.vhost.name, app.name), {})
        task = tasks.get(push_id)
        if task is None:
            raise HttpError(404, f"Could not find id '{push_id}': [{app.vhost.name}/{app.name}]")
        await self.finish_task(task)
        tasks.pop(push_id, None)

    async def finish_task(self, task: PushTask) -> None:
        task.state = "stopping"
        task.stopping = True
        if task.sink is not None:
            task.sink.stream.remove_sink(task.sink)
            task.sink = None
        if task.worker is not None:
            task.worker.cancel()
            await asyncio.gather(task.worker, return_exceptions=True)
        task.state = "stopped"
        task.finish_time = time.time()

    # -- streams -----------------------------------------------------------------------------
    def attach(self, task: PushTask, stream: "Stream") -> None:
        if task.sink is not None or task.stopping:
            return
        task.sink = PushSink(task, stream)
        stream.add_sink(task.sink)
        gop = self.gops.get(stream)
        if gop is not None and gop.valid:
            for packet in gop.packets:          # the current GOP: the push can start at once
                task.sink.on_packet(stream, packet)
        self.wake(task)

    def wake(self, task: PushTask) -> None:
        task.stream_event.set()

    def on_stream_created(self, stream: "Stream") -> None:
        if self.has_app(stream.app) and (stream.origin is not None or not makes_outputs(stream.app)):
            gop = self.gops[stream] = GopCache()
            stream.add_sink(gop)
        super().on_stream_created(stream)

    def on_stream_deleted(self, stream: "Stream") -> None:
        self.end_mapped(stream)
        gop = self.gops.pop(stream, None)
        if gop is not None:
            stream.remove_sink(gop)
        for task in self.tasks_of(stream):
            if task.sink is not None and task.sink.stream is stream:
                self.park(task)

    def park(self, task: PushTask) -> None:
        """Leave the stream; the worker notices and waits for it (or for the re-created app)."""
        if task.sink is not None:
            task.sink.stream.remove_sink(task.sink)
            task.sink = None
        task.queue.clear()
        task.queue.connected = False
        task.queue.ready.set()

    def validate(self, body: dict[str, Any]) -> "PushRequest":
        from ome.api import action_bodies as bodies
        return bodies.validate_start_push(body)

    def resume(self, app: "Application", request: "PushRequest", stored: Any) -> PushTask:
        task = PushTask(self, app, request, str(stored.created_time or format_time(time.time())))
        self.app_tasks(app)[request.id] = task
        self._launch(task)
        return task

    async def shutdown(self) -> None:
        for tasks in self.tasks.values():
            for task in tasks.values():
                await self.finish_task(task)
