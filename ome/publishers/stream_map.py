"""OME's automatic record and push: `<FILE><StreamMap>` / `<Push><StreamMap>` (Enable, Path) name an
XML map whose items start a task for every stream whose name matches the item's `StreamName`:

    <RecordInfo><Record><Enable>true</Enable><StreamName>stream*</StreamName>
        <VariantNames>bypass_video,bypass_audio</VariantNames><FilePath>...</FilePath>
        <InfoPath>...</InfoPath><SegmentInterval>60000</SegmentInterval>  (or <SegmentSchedule>)
        <SegmentRule>discontinuity</SegmentRule><Metadata>...</Metadata></Record></RecordInfo>
    <PushInfo><Push><Enable>true</Enable><StreamName>*</StreamName><VariantNames>...</VariantNames>
        <Protocol>rtmp</Protocol><Url>rtmp://host/app</Url><StreamKey>${Stream}</StreamKey></Push></PushInfo>

An item becomes the same body an API client would send to `:startRecord` / `:startPush` (same
validation), and its task is `isConfig: true`: it starts when its stream appears, ends when the stream
goes, and is never stored in Redis (the map is its source). `StreamName` takes `*` wildcards; push
`Url`/`StreamKey` take `${Application}`, `${Stream}` and `${SourceStream}`. The map is re-read when
its file changes; a malformed map is logged with its file and line, and starts nothing.
"""
from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

log = logging.getLogger(__name__)

_RECORD_FIELDS = {"FilePath": "filePath", "InfoPath": "infoPath", "SegmentSchedule": "schedule",
                  "SegmentRule": "segmentationRule", "Metadata": "metadata"}
_PUSH_FIELDS = {"Protocol": "protocol", "Url": "url", "StreamKey": "streamKey"}


class StreamMapError(Exception):
    pass


@dataclass(frozen=True)
class MapItem:
    pattern: str                  # StreamName, `*` wildcards
    fields: dict[str, Any]        # the API body's own fields (no id, no stream)
    variant_names: tuple[str, ...]
    line: int                     # where the item is, for logs

    def matches(self, stream_name: str) -> bool:
        return fnmatch.fnmatchcase(stream_name, self.pattern)


def _text(el: Any, tag: str) -> str | None:
    child = el.find(tag)
    return (child.text or "").strip() if child is not None else None


def parse(path: Path, kind: str) -> list[MapItem]:
    """The enabled items of a record (`kind` "record") or push map. StreamMapError names the file and
    line of what is wrong."""
    root_tag, item_tag = ("RecordInfo", "Record") if kind == "record" else ("PushInfo", "Push")
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except OSError as exc:
        raise StreamMapError(f"{path}: cannot read the stream map: {exc}") from None
    except etree.XMLSyntaxError as exc:
        raise StreamMapError(f"{path}:{exc.lineno}: malformed XML: {exc.msg}") from None
    if root.tag != root_tag:
        raise StreamMapError(f"{path}:{root.sourceline}: the root element must be <{root_tag}>, not <{root.tag}>")
    items = []
    for el in root.iter(item_tag):
        enable = (_text(el, "Enable") or "true").lower()
        if enable not in ("true", "false"):
            raise StreamMapError(f"{path}:{el.sourceline}: <Enable> must be true or false")
        if enable == "false":
            continue
        pattern = _text(el, "StreamName")
        if not pattern:
            raise StreamMapError(f"{path}:{el.sourceline}: <{item_tag}> needs a <StreamName>")
        fields: dict[str, Any] = {}
        for tag, key in (_RECORD_FIELDS if kind == "record" else _PUSH_FIELDS).items():
            value = _text(el, tag)
            if value:
                fields[key] = value
        if kind == "record":
            interval = _text(el, "SegmentInterval")
            if interval:
                if not interval.isdigit():
                    raise StreamMapError(f"{path}:{el.sourceline}: <SegmentInterval> must be milliseconds")
                fields["interval"] = int(interval)
        variants = tuple(v.strip() for v in (_text(el, "VariantNames") or "").split(",") if v.strip())
        items.append(MapItem(pattern, fields, variants, el.sourceline or 0))
    return items


def expand(text: str, app: str, stream: str, source: str) -> str:
    return text.replace("${Application}", app).replace("${Stream}", stream).replace("${SourceStream}", source)


class StreamMaps:
    """The parsed maps of one publisher kind, re-read when a file changes (by mtime)."""

    def __init__(self, kind: str, base_dir: Path) -> None:
        self.kind = kind
        self.base_dir = base_dir
        self._cache: dict[Path, tuple[float, list[MapItem]]] = {}

    def items(self, config: Any) -> list[MapItem]:
        """The enabled items of the `<StreamMap>` config (Enable, Path), [] when off or broken."""
        if config is None or not config.enable or not config.path:
            return []
        path = Path(config.path)
        if not path.is_absolute():
            path = self.base_dir / path
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            log.error("%s stream map %s cannot be read: %s", self.kind, path, exc)
            return []
        cached = self._cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            items = parse(path, self.kind)
        except StreamMapError as exc:
            log.error("%s stream map not used: %s", self.kind, exc)
            items = []
        self._cache[path] = (mtime, items)
        return items

    def bodies(self, config: Any, app_name: str, stream_name: str, source_name: str) -> list[dict[str, Any]]:
        """The API bodies of the items matching `stream_name` (ids `map<line>_<stream>`)."""
        out = []
        for item in self.items(config):
            if not item.matches(stream_name):
                continue
            body: dict[str, Any] = dict(item.fields)
            if self.kind == "push":
                for key in ("url", "streamKey"):
                    if key in body:
                        body[key] = expand(body[key], app_name, stream_name, source_name)
            stream: dict[str, Any] = {"name": stream_name}
            if item.variant_names:
                stream["variantNames"] = list(item.variant_names)
            body["stream"] = stream
            body["id"] = f"map{item.line}_{stream_name}"
            out.append(body)
        return out
