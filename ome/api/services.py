"""Where media features plug into the API.

The API owns routing, body validation (OME's texts) and persistence; the work itself is done
by feature objects found at run time. Until a feature exists the API answers the way OME does
when the target is unavailable (the docstring of each hook says how).

Server-level services, looked up as attributes of `ome.server.Server`:

- `server.records`  (FILE publisher)   -> RecordService; absent: 404 `Could not find publisher: [v/a]`
- `server.pushes`   (Push publisher)   -> PushService;   absent: 404 `Could not find publisher: [v/a]`
- `server.puller`   (pull providers)   -> PullService;   absent: 502 `Could not pull the stream : <url>`
- `server.schedules` (Schedule provider) -> ChannelService; absent: 500 `Could not get the scheduled provider`
- `server.multiplexes` (Multiplex provider) -> ChannelService; absent: 500 `Could not get the multiplex provider`
- `server.certificates` -> CertificateService (vhost TLS reloads); absent: nothing to reload, 200

Stream-level hooks, attributes of an input `ome.runtime.registry.Stream` (absent: 404
`Could not find stream: [v/a/s]`, OME's text when the provider stream is gone):

- `stream.send_event(event: EventRequest) -> bool`
- `stream.conclude_live(urgent: bool) -> bool`
- `stream.send_subtitles(request: SubtitlesRequest) -> None` (raise HttpError on failure)

Output-stream hook: `output.llhls` -> LlhlsDumps (absent: 404 `Could not find LLHLS stream: [v/a/out]`).

Every method may be sync or async; failures are reported by raising ome.api.errors.HttpError
with OME's text (e.g. 400 `Duplicate ID`), which the API passes through unchanged.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Protocol


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a hook that may be sync or async."""
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


@dataclass
class RecordRequest:
    """A validated :startRecord / :stopRecord / :records body (reference §4.6)."""

    body: dict[str, Any]                # the body as accepted (stored as-is for restore)
    id: str
    stream_name: str
    track_ids: list[int] = field(default_factory=list)
    variant_names: list[str] = field(default_factory=list)
    file_path: str = ""
    info_path: str = ""
    interval: int = 0
    schedule: str = ""
    segmentation_rule: str = "discontinuity"
    metadata: str = ""


@dataclass
class PushRequest:
    """A validated :startPush body (reference §4.7)."""

    body: dict[str, Any]
    id: str
    stream_name: str
    protocol: str                       # lowercased: rtmp | srt | mpegts
    url: str                            # trailing '/' removed, as OME does
    stream_key: str = ""
    track_ids: list[int] = field(default_factory=list)
    variant_names: list[str] = field(default_factory=list)


@dataclass
class EventRequest:
    """A validated :sendEvent body (reference §4.5)."""

    event_format: str                   # id3v2 | cue | scte35
    event_type: str                     # video | audio | event
    urgent: bool
    events: list[Any]


@dataclass
class SubtitleCue:
    text: str
    start_offset: int = 0
    duration_ms: int = 1000
    settings: str = ""


@dataclass
class SubtitlesRequest:
    format: str
    tracks: list[tuple[str, list[SubtitleCue]]]   # (label, cues) in request order


class RecordService(Protocol):
    def has_app(self, app: Any) -> bool: ...
    async def start(self, app: Any, request: RecordRequest) -> dict[str, Any]: ...
    async def stop(self, app: Any, record_id: str) -> dict[str, Any]: ...
    def list(self, app: Any, record_id: str | None) -> list[dict[str, Any]]: ...


class PushService(Protocol):
    def has_app(self, app: Any) -> bool: ...
    async def start(self, app: Any, request: PushRequest) -> dict[str, Any]: ...
    async def stop(self, app: Any, push_id: str) -> None: ...
    def list(self, app: Any, push_id: str | None) -> list[dict[str, Any]]: ...


class PullService(Protocol):
    async def pull(self, app: Any, name: str, urls: list[str], properties: dict[str, Any]) -> bool: ...


class ChannelService(Protocol):
    async def create(self, app: Any, body: dict[str, Any]) -> None: ...
    async def get(self, app: Any, name: str) -> dict[str, Any]: ...
    async def patch(self, app: Any, name: str, body: dict[str, Any]) -> None: ...
    async def delete(self, app: Any, name: str) -> None: ...


class LlhlsDumps(Protocol):
    def dumps(self, dump_id: str | None) -> list[dict[str, Any]]: ...
    async def start_dump(self, body: dict[str, Any]) -> None: ...
    async def stop_dump(self, dump_id: str | None) -> None: ...


class CertificateService(Protocol):
    async def reload_all(self) -> int: ...
    async def reload(self, vhost: Any) -> int: ...
