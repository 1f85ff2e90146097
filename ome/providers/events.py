"""Timed events on a stream (API :sendEvent, RTMP EventGenerator) delivered to sinks.

A sink that wants events has `on_event(stream, event) -> bool` (taken or not); `event` is an
`ome.api.services.EventRequest` (from the API: "now") or a `StreamEvent` (a subclass
carrying the publisher's timestamp). The bypass transcoder forwards events from an input
to its output streams, so a publisher attached to an output sees them too.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ome.api.services import EventRequest

if TYPE_CHECKING:
    from ome.runtime.registry import Stream

log = logging.getLogger(__name__)

MAX_KEPT_EVENTS = 64


@dataclass
class StreamEvent(EventRequest):
    """An event raised by the provider: timestamp_ms on the publisher's clock (the same
    clock as the packets: video dts = timestamp_ms * 90), trigger = what raised it (e.g.
    "onTextData"), amf = the AMF0 values of the data message (after the name)."""

    timestamp_ms: int | None = None
    trigger: str = ""
    amf: list[Any] | None = None


def deliver_event(stream: "Stream", event: EventRequest) -> bool:
    """Keep the event on the stream (`stream.events`, last 64) and hand it to every sink with
    on_event; True when one of them took it (returned a true value)."""
    kept = getattr(stream, "events", None)
    if kept is None:
        kept = deque(maxlen=MAX_KEPT_EVENTS)
        stream.events = kept  # type: ignore[attr-defined]
    kept.append(event)
    taken = False
    for sink in list(stream.sinks):
        on_event = getattr(sink, "on_event", None)
        if on_event is None:
            continue
        try:
            taken = bool(on_event(stream, event)) or taken
        except Exception:
            log.exception("sink %r failed to take an event of %s", sink, stream.name)
    return taken
