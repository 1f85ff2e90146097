"""Output profiles -> output streams: bypass tracks, and transcoded tracks from the native transcoder.

When an input stream has its tracks, every OutputProfile of its app becomes an output
stream named by `OutputStreamName` (`${OriginStreamName}` = the input's name). Each
Video/Audio encode that is `Bypass`, or whose `BypassIfMatch` conditions hold for the
input track, becomes a bypass output track: same codec, config and timescale, the same
stats dict, and the input's Packet objects forwarded as they are (a new Packet sharing the
payload bytes only when the output track id differs). Encodes that need real transcoding
get an encoder in the input's TranscodeSession (session.py: native decode/scale/encode);
an encode that cannot get one (no encoder, hardware demanded and absent with the fail
policy) fails alone with an error log and an entry in the session's stats. Outputs are published with `registry.add_stream` after their input,
and go with it (`registry.remove_stream(input)` removes them first).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ome.media import MediaKind, Packet, Track

if TYPE_CHECKING:
    from ome.runtime.registry import Registry, Stream

log = logging.getLogger(__name__)

_logged: set[tuple[Any, ...]] = set()

_VIDEO_CODECS = {"h264": "H264", "avc": "H264", "h265": "H265", "hevc": "H265", "vp8": "VP8", "vp9": "VP9",
                 "av1": "AV1"}
_AUDIO_CODECS = {"aac": "AAC", "opus": "OPUS", "mp3": "MP3"}


def _codec_name(value: str, table: dict[str, str]) -> str:
    """OME codec name of a config codec (`h264`, `H264`, `h264_nvenc`... prefix match)."""
    v = (value or "").strip().lower()
    for prefix in sorted(table, key=len, reverse=True):
        if v.startswith(prefix):
            return table[prefix]
    return v.upper()


def _cmp(op: str | None, have: float, want: float) -> bool:
    """`op` from BypassIfMatch: the input value `have` compared with the encode's `want`.
    An unset condition, or an encode value left at 0 (= keep the source's), holds."""
    if op is None or not want:
        return True
    op = op.lower()
    if op == "eq":
        return have == want
    if op == "lte":
        return have <= want
    if op == "gte":
        return have >= want
    return False


def video_bypass(encode: Any, track: Track) -> bool:
    if encode.bypass:
        return True
    bim = encode.bypass_if_match
    if bim is None:
        return False
    if bim.codec is not None and _codec_name(encode.codec, _VIDEO_CODECS) != track.codec:
        return False
    framerate = float(track.stats.get("framerate_conf") or 0.0) if track.stats else 0.0
    return (_cmp(bim.width, track.width, encode.width) and _cmp(bim.height, track.height, encode.height)
            and (bim.framerate is None or not encode.framerate or not framerate
                 or _cmp(bim.framerate, framerate, encode.framerate)))


def audio_bypass(encode: Any, track: Track) -> bool:
    if encode.bypass:
        return True
    bim = encode.bypass_if_match
    if bim is None:
        return False
    if bim.codec is not None and _codec_name(encode.codec, _AUDIO_CODECS) != track.codec:
        return False
    return (_cmp(bim.samplerate, track.samplerate, encode.samplerate)
            and _cmp(bim.channel, track.channels, encode.channel))


def playlist_json(playlist: Any) -> dict[str, Any]:
    """A profile playlist as stream info shows it (reference §4.4: `webrtcAutoAbr` spelling)."""
    from ome.config.output_profiles import PlaylistOptions
    o = playlist.options or PlaylistOptions()
    return {
        "name": playlist.name,
        "fileName": playlist.file_name,
        "options": {"webrtcAutoAbr": o.web_rtc_auto_abr, "hlsChunklistPathDepth": o.hls_chunklist_path_depth,
                    "enableTsPackaging": o.enable_ts_packaging},
        "renditions": [{"name": r.name, "videoVariantName": r.video, "audioVariantName": r.audio}
                       for r in playlist.renditions],
    }


class BypassSink:
    """Attached to the input stream: forwards each packet to the output tracks that bypass it."""

    def __init__(self) -> None:
        # input track id -> [(output stream, output track id)]
        self.routes: dict[int, list[tuple["Stream", int]]] = {}

    def on_tracks(self, stream: "Stream") -> None:
        pass

    def on_packet(self, stream: "Stream", packet: Packet) -> None:
        for output, track_id in self.routes.get(packet.track_id, ()):
            if track_id == packet.track_id:
                output.write(packet)
            else:
                output.write(Packet(track_id, packet.dts, packet.pts, packet.keyframe, packet.data))

    def on_event(self, stream: "Stream", event: Any) -> bool:
        """Events of the input go to every output stream's sinks."""
        from ome.providers.events import deliver_event
        seen: list[Stream] = []
        taken = False
        for routes in self.routes.values():
            for output, _ in routes:
                if output not in seen:
                    seen.append(output)
                    taken = deliver_event(output, event) or taken
        return taken

    def on_end(self, stream: "Stream") -> None:
        self.routes.clear()


def _log_once(key: tuple[Any, ...], msg: str, *args: Any) -> None:
    if key not in _logged:
        _logged.add(key)
        log.warning(msg, *args)


def create_outputs(registry: "Registry", stream: "Stream") -> list["Stream"]:
    """Build and publish the output streams of an input stream that has its tracks."""
    from ome.runtime.registry import Stream

    app = stream.app
    profiles = app.config.output_profiles.output_profile if app.config.output_profiles else []
    inputs = list(stream.tracks.values())
    video_in = next((t for t in inputs if t.kind is MediaKind.VIDEO), None)
    audio_in = next((t for t in inputs if t.kind is MediaKind.AUDIO), None)
    sink = BypassSink()
    outputs: list[Stream] = []
    where = f"{app.vhost.name}/{app.name}"
    for profile in profiles:
        name = profile.output_stream_name.replace("${OriginStreamName}", stream.name)
        if name in stream.outputs or any(o.name == name for o in outputs):
            log.warning("[%s] output profile %s: output stream name %s is already used; skipped",
                        where, profile.name, name)
            continue
        encodes = profile.encodes
        tracks: list[Track] = []
        routes: list[tuple[int, int]] = []
        pending = [(e, video_in, video_bypass) for e in (encodes.videos if encodes else [])]
        pending += [(e, audio_in, audio_bypass) for e in (encodes.audios if encodes else [])]
        for encode, source, decide in pending:
            if source is None:
                continue                  # the input has no track of that kind
            if not decide(encode, source):
                track = _transcoded_track(stream, profile, encode, source, tracks, where)
                if track is not None:
                    tracks.append(track)
                    routes.append((-1 - track.stats["xcode_output"], track.id))
                continue
            tid = len(tracks)
            # keep the input's track id when free, so the same Packet objects flow through
            if source.id not in [t.id for t in tracks] and source.id >= tid:
                tid = source.id
            while tid in [t.id for t in tracks]:
                tid += 1
            tracks.append(Track(id=tid, kind=source.kind, codec=source.codec, timescale=source.timescale,
                                config=source.config, name=encode.name, width=source.width,
                                height=source.height, samplerate=source.samplerate, channels=source.channels,
                                bypass=True, stats=source.stats))
            routes.append((source.id, tid))
        for image in (encodes.images if encodes else []):
            _log_once((app.key, id(app.config), profile.name, image.name),
                      "[%s] output profile %s: image encode %s needs the transcoder; skipped",
                      where, profile.name, image.name)
        if not tracks:
            _log_once((app.key, id(app.config), profile.name, ""),
                      "[%s] output profile %s has no track that can be bypassed; no output stream %s yet",
                      where, profile.name, name)
            continue
        output = Stream(app=app, name=name, source_type="Transcoder", origin=stream,
                        source_url=stream.source_url)
        output.playlists = [playlist_json(p) for p in profile.playlists]
        output.set_tracks(tracks)
        for in_id, out_id in routes:
            if in_id < 0:                 # transcoded: encoder output index -1 - in_id
                stream.transcoder.route(-1 - in_id, output, out_id)
            else:
                sink.routes.setdefault(in_id, []).append((output, out_id))
        outputs.append(output)
    for output in outputs:
        registry.add_stream(output)
        log.info("[%s] output stream %s created from %s (%d bypass tracks)", where, output.name, stream.name,
                 len(output.tracks))
    if outputs:
        stream.add_sink(sink)
    session = getattr(stream, "transcoder", None)
    if session is not None:
        if any(session.routes):
            stream.add_sink(session)
            session.start()
        else:
            session.close()
    return outputs


def _transcoded_track(stream: "Stream", profile: Any, encode: Any, source: Track, tracks: list[Track],
                      where: str) -> Track | None:
    """An output track fed by the native transcoder, or None (error logged and kept for stats)."""
    from ome.providers.stats import new_stats

    from .session import TranscodeError, TranscodeSession
    session = getattr(stream, "transcoder", None)
    if session is None:
        session = stream.transcoder = TranscodeSession(stream)
    hw = stream.app.config.output_profiles.hwaccels if stream.app.config.output_profiles else None
    try:
        session.add_input(source, hw.decoder if hw else None)
        index, desc = session.add_output(source, encode, source.kind, hw.encoder if hw else None)
    except TranscodeError as e:
        log.error("[%s] output profile %s: track %s (%s) failed: %s; the other tracks go on",
                  where, profile.name, encode.name, encode.codec or "?", e)
        session.errors.append({"profile": profile.name, "track": encode.name, "codec": encode.codec,
                               "error": str(e)})
        return None
    tid = 0
    while tid in [t.id for t in tracks]:
        tid += 1
    stats = session.output_stats(index)
    stats["bitrate_conf"] = desc["bitrate"]
    if desc["fps_num"]:
        stats["framerate_conf"] = round(desc["fps_num"] / desc["fps_den"], 3)
    stats["xcode_output"] = index
    log.info("[%s] output profile %s: track %s = %s %s on %s", where, profile.name, encode.name, desc["codec"],
             f"{desc['width']}x{desc['height']}" if source.kind is MediaKind.VIDEO
             else f"{desc['samplerate']} Hz {desc['channels']} ch", desc["hw"])
    return Track(id=tid, kind=source.kind, codec=desc["codec"], timescale=desc["timescale"], config=desc["config"],
                 name=encode.name, width=desc["width"], height=desc["height"], samplerate=desc["samplerate"],
                 channels=desc["channels"], bypass=False, stats=stats)
