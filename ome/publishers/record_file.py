"""One recording file and the task's info XML (reference llhls-and-fmp4.md §6.2-6.3).

A file is written under a temporary name in its final directory, one whole fragment (fMP4)
or one whole access unit's TS packets per write, so a killed process leaves a file that
plays up to its last fragment. `close()` fsyncs it and renames it atomically to the name
its macros give (`${EndTime}` is only known then); the info XML is rewritten by
write-temp-then-rename after every finished file.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ome.api.jsonfmt import format_time

FSYNC_EVERY_S = 5.0
_TIME_MACRO = re.compile(r"\$\{(StartTime|EndTime):([^}]*)\}")


def expand_path(template: str, values: dict[str, str], start: float, end: float) -> str:
    """`${Name}` macros, and `${StartTime:fmt}` / `${EndTime:fmt}` whose YYYY MM DD hh mm ss
    letters become local-time digits (OME's letters; anything else is kept)."""
    def time_macro(m: re.Match[str]) -> str:
        t = time.localtime(start if m.group(1) == "StartTime" else end)
        fmt = m.group(2)
        for letters, value in (("YYYY", f"{t.tm_year:04d}"), ("YY", f"{t.tm_year % 100:02d}"),
                               ("MM", f"{t.tm_mon:02d}"), ("DD", f"{t.tm_mday:02d}"),
                               ("hh", f"{t.tm_hour:02d}"), ("mm", f"{t.tm_min:02d}"),
                               ("ss", f"{t.tm_sec:02d}")):
            fmt = fmt.replace(letters, value)
        return fmt

    out = _TIME_MACRO.sub(time_macro, template)
    for name, value in values.items():
        out = out.replace("${" + name + "}", value)
    return out


def resolve(path: str, root: str, base: Path) -> Path:
    """Relative paths go under `<RootPath>` (itself relative to the config dir)."""
    p = Path(path)
    if p.is_absolute():
        return p
    r = Path(root) if root else base
    if not r.is_absolute():
        r = base / r
    return r / p


def check_writable(directory: Path) -> str | None:
    """None when files can be created in `directory` (created if missing), else the reason."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return exc.strerror or str(exc)
    if not os.access(directory, os.W_OK | os.X_OK):
        return "Permission denied"
    return None


@dataclass
class FinishedFile:
    path: str
    sequence: int
    record_bytes: int
    record_time_ms: int
    start: float
    finish: float


def temp_prefix(task_id: str) -> str:
    """`tmp_<id>_`: temporary files name their task, so a restart can finish a crash's file."""
    return "tmp_" + re.sub(r"[^A-Za-z0-9-]", "-", task_id)[:40] + "_"


_TEMP = re.compile(r"(\d+)_(\d+)_[0-9a-f]{16}\.(mp4|ts)")


def crashed_files(directory: Path, task_id: str) -> list[tuple[Path, int, float]]:
    """(path, sequence, start epoch) of the temporary files a killed process left for a task."""
    out = []
    prefix = temp_prefix(task_id)
    try:
        names = [p for p in directory.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return []
    for p in names:
        m = _TEMP.fullmatch(p.name[len(prefix):])
        if m:
            out.append((p, int(m.group(1)), float(m.group(2))))
    return sorted(out, key=lambda x: x[1])


class RecordFile:
    """An open recording file: temporary name, whole-fragment writes, periodic fsync.

    The temporary name `tmp_<id>_<sequence>_<start epoch>_<random>.mp4|.ts` lets a restarted
    server give a crashed file its final name (crashed_files)."""

    def __init__(self, directory: Path, suffix: str, task_id: str, sequence: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.start = time.time()
        self.temp_path = directory / (f"{temp_prefix(task_id)}{sequence}_{int(self.start)}_"
                                      f"{secrets.token_hex(8)}{suffix}")
        self.fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        self.bytes = 0
        self._last_sync = time.monotonic()
        self._syncing = False

    def write(self, data: bytes) -> None:
        """One whole fragment; raises OSError (disk full, I/O error)."""
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.bytes += len(data)

    def sync_due(self) -> bool:
        return not self._syncing and time.monotonic() - self._last_sync >= FSYNC_EVERY_S

    def sync(self) -> None:
        """fsync (run in a worker thread by the caller: it may take a while on a busy disk)."""
        self._syncing = True
        try:
            os.fsync(self.fd)
        finally:
            self._last_sync = time.monotonic()
            self._syncing = False

    def close(self, final_path: Path) -> Path:
        """fsync, close and rename to `final_path` (made unique with a counter if taken)."""
        try:
            os.fsync(self.fd)
        finally:
            os.close(self.fd)
        return finalize(self.temp_path, final_path)

    def abandon(self) -> None:
        """Close without renaming (an empty file is removed)."""
        try:
            os.close(self.fd)
        except OSError:
            pass
        if self.bytes == 0:
            try:
                self.temp_path.unlink()
            except OSError:
                pass


def finalize(temp_path: Path, final_path: Path) -> Path:
    """Atomic rename to `final_path` (`_N` added when taken), then fsync of the directory."""
    final_path.parent.mkdir(parents=True, exist_ok=True)
    target, n = final_path, 1
    while target.exists():
        target = final_path.with_name(f"{final_path.stem}_{n}{final_path.suffix}")
        n += 1
    os.replace(temp_path, target)
    _fsync_dir(target.parent)
    return target


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_info(path: Path, task: Any, files: list[FinishedFile]) -> None:
    """OME's record info XML: `<files>` with one `<file>` per finished file (temp + rename)."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<files>"]
    last = files[-1].sequence if files else 0
    for f in files:
        split = (f"    <interval>{task.request.interval}</interval>" if task.request.interval > 0
                 else f"    <schedule>{escape(task.request.schedule)}</schedule>" if task.request.schedule else None)
        lines += ["  <file>",
                  f"    <transactionId>{escape(task.transaction_id)}</transactionId>",
                  f"    <id>{escape(task.id)}</id>",
                  f"    <vhost>{escape(task.vhost)}</vhost>",
                  f"    <app>{escape(task.app_name)}</app>",
                  f"    <stream>{escape(task.request.stream_name)}</stream>",
                  f"    <filePath><![CDATA[{f.path}]]></filePath>",
                  f"    <recordBytes>{f.record_bytes}</recordBytes>",
                  f"    <recordTime>{f.record_time_ms}</recordTime>",
                  f"    <sequence>{f.sequence}</sequence>"]
        if split:
            lines.append(split)
        lines += [f"    <lastSequence>{last}</lastSequence>",
                  f"    <createdTime>{escape(task.created_text)}</createdTime>",
                  f"    <startTime>{format_time(f.start)}</startTime>",
                  f"    <finishTime>{format_time(f.finish)}</finishTime>",
                  "  </file>"]
    lines.append("</files>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
