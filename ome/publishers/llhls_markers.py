"""Ad markers: `:sendEvent` with eventFormat `cue` or `scte35` → EXT-X-DATERANGE in every chunklist.

OME validates these events but never renders them (reference 2.7 #17); we carry them the way
RFC 8216bis 4.4.5.1.4 maps SCTE-35 into playlists. A splice out becomes a DATERANGE with
SCTE35-OUT (a splice_info_section with a splice_insert(), written by native/src/scte35.c) and
PLANNED-DURATION when the event has one; the matching splice in repeats the ID and START-DATE and
adds DURATION and SCTE35-IN. OME's `cue` format (cueType out/in, duration) maps to the same
splice_insert with a per-stream event id. The marker time is the stream's current media time
plus one key frame interval (OME: so every rendition reaches it in the same segment). Markers
are stream-wide, so every chunklist of the stream lists the same tags; they are listed until
they end before the oldest listed segment starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ome._native import ffi, lib

MAX_MARKERS = 64                 # kept per stream; the oldest go first


@dataclass
class Marker:
    id: str
    start_ms: int                # stream timeline (ms)
    pdt_ms: int                  # wall clock of start_ms (ms since the epoch, UTC)
    planned_ms: int | None
    out_section: bytes | None    # SCTE35-OUT payload (None for a lone splice in)
    in_ms: int | None = None     # stream time of the splice in, once it came
    in_section: bytes | None = None
    splice_id: int = 0


def splice_insert(event_id: int, out: bool, at_ms: int, duration_ms: int | None, auto_return: bool) -> bytes:
    b = ffi.new("omn_buf *")
    try:
        if lib.omn_scte35_splice_insert(b, event_id & 0xFFFFFFFF, 1 if out else 0, at_ms * 90,
                                        (duration_ms or 0) * 90, 1 if auto_return else 0) != 0:
            raise MemoryError("scte35 section")
        return bytes(ffi.buffer(b.data, b.len))
    finally:
        lib.omn_buf_free(b)


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _int(v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        return None
    return int(v)


class Markers:
    def __init__(self) -> None:
        self.items: list[Marker] = []
        self._cue_seq = 0

    def add(self, event_format: str, events: list[Any], at_ms: int, pdt_of: Callable[[int], int]) -> bool:
        """One validated cue/scte35 request (its first event, as OME) at stream time at_ms."""
        if not events or not isinstance(events[0], dict):
            return False
        e = events[0]
        if event_format == "scte35":
            splice_id = _int(e.get("id"))
            if splice_id is None:
                return False
            out = str(e.get("type", "")).lower() == "out"
            duration = _int(e.get("duration"))
            auto_return = bool(e.get("autoReturn", False))
            marker_id = f"splice-{splice_id}"
        elif event_format == "cue":
            out = str(e.get("cueType", "")).lower() == "out"
            duration = _int(e.get("duration"))
            auto_return = duration is not None
            if out:
                self._cue_seq += 1
            splice_id = self._cue_seq
            marker_id = f"cue-{splice_id}"
        else:
            return False
        section = splice_insert(splice_id, out, at_ms, duration if out else None, auto_return)
        if out:
            self.items.append(Marker(marker_id, at_ms, pdt_of(at_ms), duration, section, splice_id=splice_id))
        else:
            opened = next((m for m in reversed(self.items) if m.id == marker_id and m.in_ms is None
                           and m.out_section is not None and m.start_ms <= at_ms), None)
            if opened is not None:
                opened.in_ms, opened.in_section = at_ms, section
            else:                         # a return without a known splice out: a lone marker
                self.items.append(Marker(f"{marker_id}-in-{at_ms}", at_ms, pdt_of(at_ms), None, None,
                                         at_ms, section, splice_id))
        del self.items[:-MAX_MARKERS]
        return True

    def lines(self, window_start_pdt_ms: int, pdt: Callable[[int], str]) -> list[str]:
        """EXT-X-DATERANGE tags of the markers not over before the window starts."""
        out = []
        for m in self.items:
            end_ms = m.pdt_ms + (m.in_ms - m.start_ms if m.in_ms is not None else (m.planned_ms or 0))
            if m.in_ms is None and m.planned_ms is None:
                end_ms = max(end_ms, window_start_pdt_ms)    # open-ended out: still running
            if end_ms < window_start_pdt_ms:
                continue
            start = f'ID="{m.id}",START-DATE="{pdt(m.pdt_ms)}"'
            if m.out_section is not None:
                line = f"#EXT-X-DATERANGE:{start}"
                if m.planned_ms is not None:
                    line += f",PLANNED-DURATION={_seconds(m.planned_ms)}"
                out.append(f"{line},SCTE35-OUT=0x{m.out_section.hex().upper()}")
            if m.in_section is not None:
                duration = (m.in_ms or 0) - m.start_ms
                out.append(f"#EXT-X-DATERANGE:{start},DURATION={_seconds(duration)},"
                           f"SCTE35-IN=0x{m.in_section.hex().upper()}")
        return out
