"""The FILE publisher: `:startRecord` / `:stopRecord` / `:records` (reference §4.6,
llhls-and-fmp4.md §6.1-6.3), installed as `server.records`.

A task selects an output stream of its app by name (an input when the app has no output
profiles). Until that stream exists the task is `ready`; when it appears a RecordSink is
attached and the task goes `recording` at the first key frame of the default track (the
first video track, else the first audio packet). Files are fragmented MP4 (multi-track,
native/src/fmp4_rec.c), or MPEG-TS when the path ends in `.ts`; `interval` and `schedule`
split them at key frames; `segmentationRule` continuity keeps the source timeline, anything
else starts each file at 0. The stream going away finishes the file and the task waits
(`ready`) for it to come back. Record tasks are persisted by the API (`put_task`) and the
file `sequence` by this module (`update_task_sequence`) after each finished file.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import string
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ome.api.errors import HttpError
from ome.api.jsonfmt import format_time
from ome.media import MediaKind, Packet

from .muxers import CODECS, TS_CODECS, Fmp4Writer, MuxError, TsMuxer, select_tracks
from .record_file import (FinishedFile, RecordFile, check_writable, crashed_files, expand_path, finalize,
                          resolve, write_info)
from .task_module import TaskModule

if TYPE_CHECKING:
    from ome.api.services import RecordRequest
    from ome.runtime.registry import Application, Stream

log = logging.getLogger(__name__)

DEFAULT_FILE_PATH = ("${Application}/records/${TransactionId}_${VirtualHost}_${Application}_${Stream}"
                     "_${StartTime:YYYYMMDDhhmmss}_${EndTime:YYYYMMDDhhmmss}.ts")
DEFAULT_INFO_PATH = "${Application}/records/${TransactionId}_${VirtualHost}_${Application}_${Stream}.xml"
MAX_FRAGMENT_MS = 2000          # a fragment is written at each key frame, or after this long
MAX_PENDING_BYTES = 8 << 20     # ... or once this much media waits
_TX_CHARS = string.ascii_letters + string.digits


def cron_expression(schedule: str) -> str:
    """OME's `sec min hour` -> croniter's `min hour dom mon dow sec`."""
    sec, minute, hour = schedule.split()
    return f"{minute} {hour} * * * {sec}"


def next_schedule(schedule: str, after: float) -> float:
    from croniter import croniter
    return float(croniter(cron_expression(schedule), after).get_next(float))


class RecordTask:
    is_config = False            # started by the publisher's <StreamMap> (stream_map.py), never stored

    def __init__(self, module: "RecordModule", app: "Application", request: "RecordRequest",
                 created_text: str, sequence: int) -> None:
        self.module = module
        self.app = app
        self.vhost = app.vhost.name
        self.app_name = app.name
        self.id = request.id
        self.request = request
        self.created_text = created_text
        self.state = "ready"
        self.sequence = sequence                 # of the next file
        self.transaction_id = "".join(secrets.choice(_TX_CHARS) for _ in range(16))
        self.sink: RecordSink | None = None
        self.files: list[FinishedFile] = []
        self.total_bytes = 0
        self.total_time_ms = 0
        self.start_time: float | None = None
        self.finish_time: float | None = None
        self.closing: set[asyncio.Task[Any]] = set()

    # -- paths ------------------------------------------------------------------------------
    def _config(self) -> Any:
        pubs = self.app.config.publishers
        return pubs.file if pubs is not None else None

    def _values(self, sequence: int) -> dict[str, str]:
        stream = self.request.stream_name
        source = stream
        if self.sink is not None and self.sink.stream.origin is not None:
            source = self.sink.stream.origin.name
        return {"VirtualHost": self.vhost, "Application": self.app_name, "Stream": stream,
                "SourceStream": source, "Sequence": str(sequence), "Id": self.id,
                "TransactionId": self.transaction_id}

    def _template(self, info: bool) -> str:
        config = self._config()
        if info:
            return self.request.info_path or (config.info_path if config else "") or DEFAULT_INFO_PATH
        return self.request.file_path or (config.file_path if config else "") or DEFAULT_FILE_PATH

    def path(self, info: bool, sequence: int, start: float, end: float) -> Path:
        config = self._config()
        text = expand_path(self._template(info), self._values(sequence), start, end)
        return resolve(text, config.root_path if config else "", self.module.base_dir)

    @property
    def is_ts(self) -> bool:
        return self._template(False).lower().endswith(".ts")

    # -- JSON (reference §4.6) --------------------------------------------------------------
    def json(self) -> dict[str, Any]:
        r = self.request
        out: dict[str, Any] = {"state": self.state, "isConfig": self.is_config, "id": self.id,
                               "vhost": self.vhost, "app": self.app_name}
        if r.metadata:
            out["metadata"] = r.metadata
        out["stream"] = {"name": r.stream_name, "trackIds": list(r.track_ids),
                         "variantNames": list(r.variant_names)}
        now = time.time()
        sink = self.sink
        seq = sink.file_sequence if sink is not None and sink.file is not None else self.sequence
        out["filePath"] = self._template(False)
        out["outputFilePath"] = str(self.path(False, seq, self.start_time or now, now))
        out["infoPath"] = self._template(True)
        out["outputInfoPath"] = str(self.path(True, seq, self.start_time or now, now))
        if r.interval > 0:
            out["interval"] = r.interval
        if r.schedule:
            out["schedule"] = r.schedule
        out["segmentationRule"] = r.segmentation_rule
        out["createdTime"] = self.created_text
        if self.state != "ready":
            cur_bytes, cur_ms = self.sink.current() if self.sink is not None else (0, 0)
            for key, value in (("recordBytes", cur_bytes), ("recordTime", cur_ms),
                               ("totalRecordBytes", self.total_bytes + cur_bytes),
                               ("totalRecordTime", self.total_time_ms + cur_ms),
                               ("sequence", seq)):
                if value > 0:
                    out[key] = value
            if self.start_time is not None:
                out["startTime"] = format_time(self.start_time)
        if self.state in ("stopped", "error") and self.finish_time is not None:
            out["finishTime"] = format_time(self.finish_time)
        return out

    # -- files ------------------------------------------------------------------------------
    def file_done(self, file: RecordFile, duration_ms: int, sequence: int) -> None:
        """Finalize a file off the media path: fsync + rename in a thread, then the info XML
        and the stored sequence."""
        async def close() -> None:
            end = time.time()
            final = self.path(False, sequence, file.start, end)
            try:
                target = await asyncio.to_thread(file.close, final)
            except OSError as exc:
                log.error("record %s: could not finish %s: %s", self.id, file.temp_path, exc)
                self.state = "error"
                return
            self.files.append(FinishedFile(str(target), sequence, file.bytes, duration_ms, file.start, end))
            self.total_bytes += file.bytes
            self.total_time_ms += duration_ms
            log.info("record %s: %s finished (%d bytes, %d ms)", self.id, target, file.bytes, duration_ms)
            try:
                await asyncio.to_thread(write_info, self.path(True, sequence, file.start, end), self, self.files)
            except OSError as exc:
                log.error("record %s: could not write the info file: %s", self.id, exc)

        t = asyncio.get_running_loop().create_task(close())
        self.closing.add(t)
        t.add_done_callback(self.closing.discard)

    async def drain(self) -> None:
        while self.closing:
            await asyncio.gather(*list(self.closing), return_exceptions=True)

    def recover_crashed(self) -> None:
        """A restored task gives the files a killed process left (whole fragments, playable)
        their final names and info XML entries, in the background."""
        directory = self.path(False, max(self.sequence - 1, 0), time.time(), time.time()).parent

        async def recover() -> None:
            for temp, sequence, start in await asyncio.to_thread(crashed_files, directory, self.id):
                try:
                    end = temp.stat().st_mtime
                    size = temp.stat().st_size
                    target = await asyncio.to_thread(finalize, temp, self.path(False, sequence, start, end))
                except OSError as exc:
                    log.error("record %s: could not recover %s: %s", self.id, temp, exc)
                    continue
                self.files.append(FinishedFile(str(target), sequence, size, int((end - start) * 1000), start, end))
                log.warning("record %s: %s, left by a crash, recovered as %s", self.id, temp.name, target)
                try:
                    await asyncio.to_thread(write_info, self.path(True, sequence, start, end), self, self.files)
                except OSError as exc:
                    log.error("record %s: could not write the info file: %s", self.id, exc)

        t = asyncio.get_running_loop().create_task(recover())
        self.closing.add(t)
        t.add_done_callback(self.closing.discard)

    def detach(self) -> None:
        """Leave the stream; the open file is finished (renamed in the background)."""
        sink = self.sink
        if sink is not None:
            sink.stream.remove_sink(sink)
            sink.finish_file()
            self.sink = None


class RecordSink:
    """StreamSink of one task on its stream: cuts files and fragments, feeds the muxer."""

    def __init__(self, task: RecordTask, stream: "Stream") -> None:
        self.task = task
        self.stream = stream
        self.tracks: list[Any] = []
        self.index: dict[int, int] = {}
        self.file: RecordFile | None = None
        self.writer: Fmp4Writer | TsMuxer | None = None
        self.ts_pending: list[bytes] = []
        self.origin: list[int] = []              # per selected track: ticks subtracted
        self.file_start_dts = 0                  # default track, input ticks
        self.last_dts = 0
        self.last_flush_dts = 0
        self.next_split: float | None = None
        self.file_sequence = 0
        self.continuity_origin: list[int] | None = None

    # -- StreamSink --------------------------------------------------------------------------
    def on_tracks(self, stream: "Stream") -> None:
        r = self.task.request
        codecs = TS_CODECS if self.task.is_ts else tuple(CODECS)
        tracks = select_tracks(stream, r.track_ids, r.variant_names, codecs, first_of_each=False)
        if self.file is not None and [t.id for t in tracks] != [t.id for t in self.tracks]:
            self.finish_file()                  # the track set changed: next file
        self.tracks = tracks
        self.index = {t.id: i for i, t in enumerate(tracks)}
        if not tracks:
            log.warning("record %s: no recordable track in %s", self.task.id, stream.name)

    def on_packet(self, stream: "Stream", packet: Packet) -> None:
        i = self.index.get(packet.track_id)
        if i is None or self.task.state not in ("ready", "recording"):
            return
        default = i == 0
        video = self.tracks[0].kind == MediaKind.VIDEO
        boundary = default and (packet.keyframe or not video)
        if self.file is None:
            if not boundary:
                return
            if not self.open_file(packet):
                return
        elif boundary and self.split_due(packet):
            self.finish_file()
            if not self.open_file(packet):
                return
        elif boundary and (packet.keyframe or self.ms(packet.dts - self.last_flush_dts) >= MAX_FRAGMENT_MS):
            self.feed(i, packet)
            self.flush(packet.dts)
            return
        self.feed(i, packet)
        if isinstance(self.writer, Fmp4Writer) and self.writer.pending_bytes() > MAX_PENDING_BYTES:
            self.flush(self.last_flush_dts)

    def on_end(self, stream: "Stream") -> None:
        self.finish_file()

    # -- helpers -----------------------------------------------------------------------------
    def ms(self, ticks: int) -> int:
        return ticks * 1000 // self.tracks[0].timescale

    def current(self) -> tuple[int, int]:
        if self.file is None:
            return 0, 0
        return self.file.bytes, self.ms(self.last_dts - self.file_start_dts)

    def split_due(self, packet: Packet) -> bool:
        r = self.task.request
        if r.interval > 0:
            return self.ms(packet.dts - self.file_start_dts) >= r.interval
        if self.next_split is not None:
            return time.time() >= self.next_split
        return False

    def open_file(self, packet: Packet) -> bool:
        task = self.task
        now = time.time()
        try:
            self.writer = TsMuxer(self.tracks) if task.is_ts else Fmp4Writer(self.tracks)
        except MuxError as exc:
            log.error("record %s: %s", task.id, exc)
            task.state = "error"
            return False
        directory = task.path(False, task.sequence, now, now).parent
        try:
            self.file = RecordFile(directory, ".ts" if task.is_ts else ".mp4", task.id, task.sequence)
            self.file.write(self.writer.init_segment())
        except OSError as exc:
            log.error("record %s: cannot write in %s: %s", task.id, directory, exc)
            task.state = "error"
            task.finish_time = now
            self.file = None
            return False
        base = self.tracks[0].timescale
        if task.request.segmentation_rule == "continuity":
            if self.continuity_origin is None:     # the first file's start is 0 for all files
                self.continuity_origin = [packet.dts * t.timescale // base for t in self.tracks]
            self.origin = self.continuity_origin
        else:
            self.origin = [packet.dts * t.timescale // base for t in self.tracks]
        self.file_start_dts = self.last_dts = self.last_flush_dts = packet.dts
        if task.request.schedule:
            self.next_split = next_schedule(task.request.schedule, now)
        if task.start_time is None:
            task.start_time = now
        # the sequence is taken (and stored) when a file starts, so a file left behind by a
        # crash is never overwritten by the restored task
        self.file_sequence = task.sequence
        task.sequence += 1
        task.module.store_sequence_later(task)
        task.state = "recording"
        log.info("record %s: recording %s/%s/%s into %s", task.id, task.vhost, task.app_name,
                 self.stream.name, self.file.temp_path)
        return True

    def feed(self, i: int, packet: Packet) -> None:
        dts = packet.dts - self.origin[i]
        if dts < 0:
            return                               # before the file's first key frame
        pts = packet.pts - self.origin[i]
        if i == 0:
            self.last_dts = packet.dts
        if isinstance(self.writer, TsMuxer):
            data = self.writer.write(i, packet.data, dts, pts, packet.keyframe)
            if data:
                self.ts_pending.append(data)
        elif self.writer is not None:
            self.writer.feed(i, packet.data, dts, pts, packet.keyframe)

    def flush(self, dts: int) -> None:
        """Write what is complete as one write (a fragment, or the TS packets so far)."""
        if self.file is None or self.writer is None:
            return
        self.last_flush_dts = dts
        if isinstance(self.writer, TsMuxer):
            data = b"".join(self.ts_pending)
            self.ts_pending.clear()
        else:
            data = self.writer.flush()
        self.write(data)

    def write(self, data: bytes) -> None:
        if not data or self.file is None:
            return
        try:
            self.file.write(data)
        except OSError as exc:
            log.error("record %s: write failed: %s", self.task.id, exc)
            self.task.state = "error"
            self.task.finish_time = time.time()
            self.finish_file(failed=True)
            return
        if self.file.sync_due():
            asyncio.get_running_loop().run_in_executor(None, self.file.sync)

    def finish_file(self, failed: bool = False) -> None:
        """Close the current file (the rename happens in the background)."""
        file, writer = self.file, self.writer
        if file is None:
            return
        if not failed and writer is not None:
            if isinstance(writer, TsMuxer):
                self.flush(self.last_dts)
            else:
                self.write(writer.finish())
            file = self.file or file             # write() may have failed and closed it
        self.file = None
        self.writer = None
        self.ts_pending.clear()
        duration = self.ms(self.last_dts - self.file_start_dts)
        sequence = self.file_sequence
        if file.bytes == 0:
            file.abandon()
            return
        self.task.file_done(file, duration, sequence)


class RecordModule(TaskModule):
    """`server.records` (RecordService), a StreamModule, an AppModule and a listener."""

    name = "file"
    kind = "record"
    publisher = "FILE"

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        config_dir = getattr(server.config, "config_dir", None)
        self.base_dir = Path(config_dir) if config_dir else Path.cwd()

    # -- RecordService -----------------------------------------------------------------------
    def has_app(self, app: "Application") -> bool:
        pubs = app.config.publishers
        return pubs is not None and pubs.file is not None

    async def start(self, app: "Application", request: "RecordRequest") -> dict[str, Any]:
        return self.begin(app, request).json()

    def begin(self, app: "Application", request: "RecordRequest", is_config: bool = False) -> RecordTask:
        tasks = self.app_tasks(app)
        if request.id in tasks:
            raise HttpError(400, "Duplicate ID already exists")
        task = self._create(app, request, format_time(time.time()), 0)
        task.is_config = is_config
        tasks[request.id] = task
        self.attach_existing(task)
        return task

    def map_config(self, app: "Application") -> Any:
        file = app.config.publishers.file if app.config.publishers is not None else None
        if file is None:
            return None
        if file.stream_map is not None or file.record is not None:
            return file.stream_map or file.record      # <Record> is OME's deprecated name
        if file.record_info:                           # deprecated too: the map's path, on
            from types import SimpleNamespace
            return SimpleNamespace(enable=True, path=file.record_info)
        return None

    def _create(self, app: "Application", request: "RecordRequest", created_text: str,
                sequence: int) -> RecordTask:
        if request.schedule:
            try:
                next_schedule(request.schedule, time.time())
            except Exception:
                raise HttpError(400, "Invalid [schedule] parameter") from None
        task = RecordTask(self, app, request, created_text, sequence)
        now = time.time()
        for info in (False, True):
            directory = task.path(info, sequence, now, now).parent
            reason = check_writable(directory)
            if reason is not None:
                raise HttpError(400, f"Could not create the record {'info ' if info else ''}"
                                     f"directory: {directory} ({reason})")
        return task

    async def stop(self, app: "Application", record_id: str) -> dict[str, Any]:
        tasks = self.tasks.get((app.vhost.name, app.name), {})
        task = tasks.get(record_id)
        if task is None:
            raise HttpError(404, f"There is no record information related to the ID [{record_id}]")
        task.state = "stopping"
        reply = task.json()
        await self.finish_task(task)
        tasks.pop(record_id, None)
        return reply

    async def finish_task(self, task: RecordTask) -> None:
        task.detach()
        await task.drain()
        if task.state != "error":
            task.state = "stopped"
        task.finish_time = time.time()

    def store_sequence_later(self, task: RecordTask) -> None:
        t = asyncio.get_running_loop().create_task(self.store_sequence(task))
        task.closing.add(t)
        t.add_done_callback(task.closing.discard)

    async def store_sequence(self, task: RecordTask) -> None:
        store = getattr(self.server, "store", None)
        if store is None or task.is_config or self.tasks.get((task.vhost, task.app_name), {}).get(task.id) is not task:
            return
        try:
            await store.update_task_sequence("record", task.vhost, task.app_name, task.id, task.sequence)
        except Exception as exc:   # kept by the store and written after it reconnects
            log.warning("record %s: sequence %d not stored yet: %s", task.id, task.sequence, exc)

    # -- streams -----------------------------------------------------------------------------
    def attach(self, task: RecordTask, stream: "Stream") -> None:
        if task.sink is not None or task.state != "ready":
            return
        task.sink = RecordSink(task, stream)
        stream.add_sink(task.sink)

    def on_stream_deleted(self, stream: "Stream") -> None:
        self.end_mapped(stream)
        for task in self.tasks_of(stream):
            if task.sink is not None and task.sink.stream is stream:
                task.detach()
                if task.state == "recording":
                    task.state = "ready"          # waits for the stream to come back

    # -- apps, restore ------------------------------------------------------------------------
    def park(self, task: RecordTask) -> None:
        task.detach()
        if task.state == "recording":
            task.state = "ready"

    def validate(self, body: dict[str, Any]) -> "RecordRequest":
        from ome.api import action_bodies as bodies
        return bodies.validate_start_record(body)

    def resume(self, app: "Application", request: "RecordRequest", stored: Any) -> RecordTask:
        task = self._create(app, request, str(stored.created_time or format_time(time.time())),
                            int(stored.sequence or 0))
        self.app_tasks(app)[request.id] = task
        task.recover_crashed()
        self.attach_existing(task)
        return task

    async def shutdown(self) -> None:
        """SIGTERM: every open file is finished and renamed."""
        for tasks in self.tasks.values():
            for task in tasks.values():
                task.detach()
                await task.drain()
