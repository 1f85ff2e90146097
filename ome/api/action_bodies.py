"""Body validation of the action routes with OME's texts (reference §4.5–§4.7).

Pure functions: JSON in, a validated request (ome.api.services) out, or HttpError(400, <text>).
Type tests follow JsonCpp (`isUInt` accepts an integral double, `asString` prints numbers).
"""
from __future__ import annotations

import re
from typing import Any

from ome.api.errors import HttpError
from ome.api.jsonfmt import format_float
from ome.api.services import EventRequest, PushRequest, RecordRequest, SubtitleCue, SubtitlesRequest

_UINT32_MAX = (1 << 32) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


# -- JsonCpp-like value tests ---------------------------------------------------------------

def is_string(v: Any) -> bool:
    return isinstance(v, str)


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _integral(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def is_uint(v: Any) -> bool:
    n = _integral(v)
    return n is not None and 0 <= n <= _UINT32_MAX


def is_int64(v: Any) -> bool:
    n = _integral(v)
    return n is not None and _INT64_MIN <= n <= _INT64_MAX


def as_string(v: Any) -> str:
    """JsonCpp asString(); objects and arrays (which would throw there) read as empty."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v)
    return ""


def as_int(v: Any) -> int:
    n = _integral(v)
    if n is not None:
        return n
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str):
        m = re.match(r"\s*[-+]?\d+", v)
        return int(m.group()) if m else 0
    return 0


def object_body(body: Any, parse_error: str) -> dict[str, Any]:
    """None -> {} (an empty request); a non-object -> 400 `Could not parse json context: […]`."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise HttpError(400, parse_error)
    return body


def _member(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def _int_list(v: Any) -> list[int]:
    return [as_int(x) for x in v] if isinstance(v, list) else []


def _str_list(v: Any) -> list[str]:
    return [as_string(x) for x in v] if isinstance(v, list) else []


def _missing(params: list[tuple[str, str]]) -> None:
    missing = [name for name, value in params if value == ""]
    if missing:
        raise HttpError(400, "There is no required parameter [" + "".join(f" {m}" for m in missing) + "]")


# -- records (FILE publisher) ---------------------------------------------------------------

_CRON_LIMITS = ((0, 59), (0, 59), (0, 23))   # sec min hour


def valid_schedule(text: str) -> bool:
    """OME's record schedule: 3 cron fields `sec min hour` (`*`, `*/n`, `a`, `a-b`, `a-b/n`, lists)."""
    fields = text.split()
    if len(fields) != 3:
        return False
    for field, (low, high) in zip(fields, _CRON_LIMITS):
        for part in field.split(","):
            m = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
            if m is None:
                return False
            start, end, step = m.group(2), m.group(3), m.group(4)
            if step is not None and int(step) == 0:
                return False
            if start is not None:
                a = int(start)
                b = int(end) if end is not None else a
                if not (low <= a <= high and low <= b <= high and a <= b):
                    return False
    return True


def record_request(body: dict[str, Any], *, require_stream: bool = True) -> RecordRequest:
    stream = _member(body, "stream")
    track_ids = _member(stream, "trackIds")
    if track_ids is None:
        track_ids = _member(stream, "tracks")   # legacy name
    return RecordRequest(
        body=body,
        id=as_string(body.get("id")),
        stream_name=as_string(_member(stream, "name")),
        track_ids=_int_list(track_ids),
        variant_names=_str_list(_member(stream, "variantNames")),
        file_path=as_string(body.get("filePath")),
        info_path=as_string(body.get("infoPath")),
        interval=as_int(body.get("interval")),
        schedule=as_string(body.get("schedule")),
        segmentation_rule=as_string(body.get("segmentationRule")) or "discontinuity",
        metadata=as_string(body.get("metadata")),
    )


def validate_start_record(body: dict[str, Any]) -> RecordRequest:
    request = record_request(body)
    _missing([("id", request.id), ("stream.name", request.stream_name)])
    if request.interval > 0 and request.schedule:
        raise HttpError(400, "[Interval] and [Schedule] cannot be used at the same time")
    if request.schedule and not valid_schedule(request.schedule):
        raise HttpError(400, "Invalid [schedule] parameter")
    return request


def validate_stop_record(body: dict[str, Any]) -> str:
    record_id = as_string(body.get("id"))
    _missing([("id", record_id)])
    return record_id


# -- pushes (Push publisher) ----------------------------------------------------------------

PUSH_PROTOCOLS = ("rtmp", "srt", "mpegts")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<host>\[[^\]]*\]|[^/:?#\[\]]+)"
                  r"(?::(?P<port>\d*))?(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?(?:#.*)?", re.DOTALL)


def push_protocol(body: dict[str, Any]) -> str:
    return as_string(body.get("protocol")).lower()


def validate_start_push(body: dict[str, Any]) -> PushRequest:
    stream = _member(body, "stream")
    track_ids = _member(stream, "trackIds")
    if track_ids is None:
        track_ids = _member(stream, "tracks")
    request = PushRequest(
        body=body,
        id=as_string(body.get("id")),
        stream_name=as_string(_member(stream, "name")),
        protocol=push_protocol(body),
        url=as_string(body.get("url")),
        stream_key=as_string(body.get("streamKey")),
        track_ids=_int_list(track_ids),
        variant_names=_str_list(_member(stream, "variantNames")),
    )
    _missing([("id", request.id), ("stream.name", request.stream_name), ("url", request.url),
              ("protocol", request.protocol)])
    while request.url.endswith("/"):
        request.url = request.url[:request.url.rindex("/")]
    url = _URL.fullmatch(request.url)
    if url is None:
        raise HttpError(400, "Could not parse url")
    if request.protocol == "rtmp":
        if not request.url.startswith(("rtmp://", "rtmps://")):
            raise HttpError(400, "Unsupported protocol")
    elif request.protocol == "srt":
        if not request.url.startswith("srt://"):
            raise HttpError(400, "Unsupported protocol")
        mode = _query_value(url.group("query") or "", "mode")
        if mode and mode != "caller":
            raise HttpError(400, "Unsupported connection mode")
    elif request.protocol == "mpegts":
        if not request.url.startswith(("udp://", "tcp://")):
            raise HttpError(400, "Unsupported protocol")
        if request.url.startswith("tcp://") and request.url.endswith("listen"):
            raise HttpError(400, "Unsupported tcp listen")
    else:
        raise HttpError(400, "Unsupported protocol")
    return request


def validate_stop_push(body: dict[str, Any]) -> str:
    push_id = as_string(body.get("id"))
    _missing([("id", push_id)])
    return push_id


def _query_value(query: str, key: str) -> str:
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == key:
            return value
    return ""


# -- :sendEvent -----------------------------------------------------------------------------

_EVENT_TYPES = {"VIDEO": "video", "AUDIO": "audio", "EVENT": "event"}


def validate_event(body: Any) -> EventRequest:
    if not isinstance(body, dict) or not is_string(body.get("eventFormat")) \
            or not isinstance(body.get("events"), list) or not body["events"]:
        raise HttpError(400, "eventFormat(string) and events(array) are required")
    event_format = body["eventFormat"]
    events = body["events"]
    kind = event_format.upper()
    if kind == "ID3V2":
        _check_id3(events)
    elif kind == "CUE":
        _check_cue(events)
    elif kind == "SCTE35":
        _check_scte35(events)
    else:
        raise HttpError(400, f"eventFormat is not supported: [{event_format}]")

    event_type = "event"
    if "eventType" in body:
        value = body["eventType"]
        if not is_string(value):
            raise HttpError(400, "eventType must be string")
        if value.upper() not in _EVENT_TYPES:
            raise HttpError(400, f"eventType is not supported: [{value}]")
        event_type = _EVENT_TYPES[value.upper()]
    urgent = body.get("urgent") if is_bool(body.get("urgent")) else False
    return EventRequest(event_format=kind.lower(), event_type=event_type, urgent=urgent, events=events)


def _check_id3(events: list[Any]) -> None:
    for event in events:
        frame_type = _member(event, "frameType")
        if not is_string(frame_type):
            raise HttpError(400, "frameType is required in events")
        upper = frame_type.upper()
        if upper != "TXXX" and not upper.startswith("T") and upper != "PRIV":
            raise HttpError(400, f"frameType is not supported: [{frame_type}]")


def _first_event(events: list[Any]) -> Any:
    if not events:
        raise HttpError(400, "events must have at least one event")
    return events[0]


def _check_cue(events: list[Any]) -> None:
    event = _first_event(events)
    cue_type = _member(event, "cueType")
    if not is_string(cue_type):
        raise HttpError(400, "cueType is required in events")
    if cue_type.lower() not in ("out", "in"):
        raise HttpError(400, f"cueType is not supported: [{cue_type}]")


def _check_scte35(events: list[Any]) -> None:
    event = _first_event(events)
    command = _member(event, "spliceCommand")
    if not is_string(command):
        command = "spliceInsert"
    if command.upper() != "SPLICEINSERT":
        raise HttpError(400, "Now only spliceInsert is supported")
    if not is_uint(_member(event, "id")):
        raise HttpError(400, "id is required in events")
    splice_type = _member(event, "type")
    if not is_string(splice_type):
        raise HttpError(400, "type is required in events")
    if splice_type.upper() not in ("OUT", "IN"):
        raise HttpError(400, "type must be 'out' or 'in'")


# -- :sendSubtitles -------------------------------------------------------------------------

def validate_subtitles(body: Any) -> SubtitlesRequest:
    if not isinstance(body, dict) or not is_string(body.get("format")) \
            or not isinstance(body.get("data"), list) or not body["data"]:
        raise HttpError(400, "format(string) and data(array) are required")
    if body["format"].upper() != "WEBVTT":
        raise HttpError(400, f"format is not supported: [{body['format']}]")
    tracks: list[tuple[str, list[SubtitleCue]]] = []
    for data in body["data"]:
        label, subtitles = _member(data, "label"), _member(data, "subtitles")
        if not is_string(label) or not isinstance(subtitles, list) or not subtitles:
            raise HttpError(400, "label(string) and subtitles(array) are required")
        cues = []
        for subtitle in subtitles:
            text = _member(subtitle, "text")
            if not is_string(text):
                raise HttpError(400, "text(string) is required in subtitles")
            offset = _member(subtitle, "startOffset")
            duration = _member(subtitle, "durationMs")
            settings = _member(subtitle, "settings")
            cues.append(SubtitleCue(
                text=text,
                start_offset=_integral(offset) if is_int64(offset) else 0,  # type: ignore[arg-type]
                duration_ms=_integral(duration) if is_uint(duration) else 1000,  # type: ignore[arg-type]
                settings=settings if is_string(settings) else "",
            ))
        tracks.append((label, cues))
    return SubtitlesRequest(format="webvtt", tracks=tracks)


# -- HLS dumps --------------------------------------------------------------------------------

def dump_fields(body: dict[str, Any]) -> tuple[str, str, str]:
    """(id, outputStreamName, outputPath) as strings."""
    return as_string(body.get("id")), as_string(body.get("outputStreamName")), as_string(body.get("outputPath"))
