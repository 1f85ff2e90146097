"""Per-track live statistics: integer counters bumped per packet by whoever feeds the
track (the provider), turned into averages only when the stream info API asks.

`Track.stats` keys (all ints/bools, timestamps in the track's timescale):
packets, bytes, first_dts, last_dts, keyframes, first_key_index, last_key_index,
key_interval (frames between the last two keyframes), has_bframes, and a one-second
window (win_dts, win_bytes, win_packets) closed into latest_bytes/latest_packets/latest_span.
Configured values from the publisher (onMetaData / SPS): bitrate_conf (bps), framerate_conf
(float, set once). Bypass output tracks share their input track's dict (same packets).
"""
from __future__ import annotations

from typing import Any

from ome.media import MediaKind, Packet, Track


def new_stats() -> dict[str, Any]:
    return {
        "packets": 0, "bytes": 0, "first_dts": 0, "last_dts": 0,
        "keyframes": 0, "first_key_index": -1, "last_key_index": -1, "key_interval": 0,
        "has_bframes": False,
        "win_dts": 0, "win_bytes": 0, "win_packets": 0,
        "latest_bytes": 0, "latest_packets": 0, "latest_span": 0,
        "bitrate_conf": 0, "framerate_conf": 0.0,
    }


def count_packet(stats: dict[str, Any], packet: Packet, timescale: int) -> None:
    """O(1), integers only; called once per packet of an input track."""
    n = stats["packets"]
    size = len(packet.data)
    dts = packet.dts
    stats["packets"] = n + 1
    stats["bytes"] += size
    if n == 0:
        stats["first_dts"] = dts
        stats["win_dts"] = dts
    stats["last_dts"] = dts
    if packet.keyframe:
        last = stats["last_key_index"]
        if last >= 0:
            stats["key_interval"] = n - last
        else:
            stats["first_key_index"] = n
        stats["last_key_index"] = n
        stats["keyframes"] += 1
    if packet.pts != dts:
        stats["has_bframes"] = True
    span = dts - stats["win_dts"]
    if span >= timescale:
        stats["latest_bytes"] = stats["win_bytes"]
        stats["latest_packets"] = stats["win_packets"]
        stats["latest_span"] = span
        stats["win_dts"] = dts
        stats["win_bytes"] = 0
        stats["win_packets"] = 0
    stats["win_bytes"] += size
    stats["win_packets"] += 1


# -- rendering (GET time) -------------------------------------------------------------------

def _avg_bitrate(s: dict[str, Any], timescale: int) -> int:
    span = s["last_dts"] - s["first_dts"]
    if span <= 0 or s["packets"] < 2:
        return 0
    # the last packet's bytes lie beyond the measured span
    return (s["bytes"] * (s["packets"] - 1) // s["packets"]) * 8 * timescale // span


def _latest_bitrate(s: dict[str, Any], timescale: int) -> int:
    return s["latest_bytes"] * 8 * timescale // s["latest_span"] if s["latest_span"] else 0


def track_info(track: Track) -> dict[str, Any]:
    """One track of OME's stream info (reference §4.4)."""
    s = track.stats or new_stats()
    ts = track.timescale or 1
    bitrate_avg = _avg_bitrate(s, ts)
    bitrate_latest = _latest_bitrate(s, ts)
    bitrate_conf = int(s.get("bitrate_conf", 0))
    item: dict[str, Any] = {"id": track.id, "name": track.name, "type": track.kind.value}
    if track.kind is MediaKind.VIDEO:
        span = s["last_dts"] - s["first_dts"]
        fr_avg = (s["packets"] - 1) * ts / span if span > 0 else 0.0
        fr_latest = s["latest_packets"] * ts / s["latest_span"] if s["latest_span"] else 0.0
        fr_conf = float(s.get("framerate_conf", 0.0))
        ki_avg = ((s["last_key_index"] - s["first_key_index"]) / (s["keyframes"] - 1)
                  if s["keyframes"] > 1 else 0.0)
        ki_latest = float(s["key_interval"])
        item["video"] = {
            "bypass": track.bypass,
            "codec": track.codec,
            "width": track.width, "maxWidth": track.width,
            "height": track.height, "maxHeight": track.height,
            "bitrate": bitrate_conf or bitrate_avg, "bitrateConf": bitrate_conf,
            "bitrateAvg": bitrate_avg, "bitrateLatest": bitrate_latest,
            "framerate": fr_conf or round(fr_avg, 2), "framerateConf": fr_conf,
            "framerateAvg": round(fr_avg, 2), "framerateLatest": round(fr_latest, 2),
            "hasBframes": bool(s["has_bframes"]),
            "keyFrameInterval": round(ki_avg, 2), "keyFrameIntervalConf": 0.0,
            "keyFrameIntervalAvg": round(ki_avg, 2), "keyFrameIntervalLatest": ki_latest,
            "deltaFramesSinceLastKeyFrame": (s["packets"] - 1 - s["last_key_index"]
                                             if s["last_key_index"] >= 0 else 0),
        }
    elif track.kind is MediaKind.AUDIO:
        item["audio"] = {
            "bypass": track.bypass,
            "codec": track.codec,
            "samplerate": track.samplerate,
            "channel": track.channels,
            "bitrate": bitrate_conf or bitrate_avg, "bitrateConf": bitrate_conf,
            "bitrateAvg": bitrate_avg, "bitrateLatest": bitrate_latest,
        }
    return item


class IngestMetrics:
    """`stream.metrics` of an input stream fed by a byte-counting provider (SRT, MPEG-TS): what
    `/v1/stats/current/.../streams/{s}` shows for it. `source` has `bytes_in` (int) and
    `last_recv_wall` (epoch seconds), both kept by the provider."""

    def __init__(self, source: Any, created: float) -> None:
        self.source = source
        self.created = created
        self._last = (created, 0)              # (wall, bytes) at the previous GET
        self._max = 0

    def totals(self) -> tuple[int, float]:
        """(bytes received, epoch seconds of the last receive), without touching the windows."""
        return int(self.source.bytes_in), float(self.source.last_recv_wall or 0)

    def to_api_json(self) -> dict[str, Any]:
        import time
        from ome.api.jsonfmt import format_time
        now, total = time.time(), int(self.source.bytes_in)
        span = max(now - self.created, 1e-3)
        then, before = self._last
        last = int((total - before) * 8 / max(now - then, 1e-3))
        self._last = (now, total)
        self._max = max(self._max, last)
        return {"totalBytesIn": total, "avgThroughputIn": int(total * 8 / span), "lastThroughputIn": last,
                "maxThroughputIn": self._max, "lastRecvTime": format_time(self.source.last_recv_wall)}
