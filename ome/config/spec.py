"""Field metadata and the model builder shared by Server.xml and the JSON API.

Every config element is a pydantic model (`ConfigModel`); each field carries
its OME naming and shape once, as `Annotated[..., X(...)]` (element or scalar)
or `Annotated[list[...], L(...)]` (list). Python attribute names are the
snake_case of the JSON names.

Both readers produce the *source JSON*: the OME JSON form of what was written
(for XML: strings as written, env macros unexpanded, list shapes per the
reference §7.6; for JSON: the body as given). `build()` then turns a source
JSON tree into typed models with OME's lenient scalar rules, defaults, the
§7.2 required rule and the validators. XML-sourced nodes are `XDict`/`XList`/
`XStr` instances that remember their file and line, so every error from them
names both.
"""
from __future__ import annotations

import logging
import os
import re
import types
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, PrivateAttr

from .errors import ConfigError, Invalid, Loc
from .macros import expand
from .ports import Port, RangedPort, parse_port, parse_ranged_port

log = logging.getLogger("ome.config")


# ---------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------
def camel(xml_name: str) -> str:
    """OME's default JSON name: lowercase only the first character (§7.6)."""
    return xml_name[:1].lower() + xml_name[1:]


@dataclass(frozen=True)
class X:
    """A single element: a scalar or a nested section.

    conv: text -> value (default from the annotation: str/int/float/bool/Port/RangedPort)
    check: value -> None, raising Invalid (runs only when the element is present)
    path: a file path, resolved against the declaring file's directory (XML)
    flag: presence alone turns it on (Alert rules such as `<HasBFrames/>`)
    """

    xml: str
    json: str | None = None
    required: bool = False
    conv: Callable[[str], Any] | None = None
    check: Callable[[Any], None] | None = None
    path: bool = False
    flag: bool = False


@dataclass(frozen=True)
class L:
    """A list of elements named `item`.

    - direct (no wrapper): the items are children of the parent element; JSON key `json`
      (default camel(item)) holds the array. `<CrossDomains><Url/>*` -> `"urls":[...]`.
    - bare (wrapper, bare=True): `<Names><Name/>*</Names>` -> `"names":[...]`.
    - wrapped (wrapper, bare=False): `<Urls><Url/>*</Urls>` -> `"urls":{"url":[...]}`.
    """

    item: str
    json: str | None = None
    wrapper: str | None = None
    bare: bool = False
    item_json: str | None = None
    required: bool = False
    conv: Callable[[str], Any] | None = None


@dataclass
class FieldSpec:
    name: str                 # python attribute
    xml: str                  # element name in the parent (item for direct lists, wrapper otherwise)
    json: str                 # key in the parent's JSON
    required: bool
    kind: str                 # "scalar" | "model" | "list"
    typ: Any                  # scalar type, model class, or the list's item type
    shape: str | None = None  # lists: "direct" | "bare" | "wrapped"
    item: str | None = None   # lists: XML item element name
    item_json: str | None = None  # wrapped lists: key of the inner array
    conv: Callable[[str], Any] | None = None
    check: Callable[[Any], None] | None = None
    path: bool = False
    flag: bool = False

    @property
    def item_is_model(self) -> bool:
        return isinstance(self.typ, type) and issubclass(self.typ, ConfigModel)


@dataclass
class ModelSpec:
    fields: list[FieldSpec]
    by_xml: dict[str, FieldSpec]
    by_json: dict[str, FieldSpec]
    by_name: dict[str, FieldSpec]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """-> (type without Optional, is_list)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    if origin is list:
        return get_args(annotation)[0], True
    return annotation, False


def _spec_of(cls: type["ConfigModel"]) -> ModelSpec:
    cached = cls.__dict__.get("_ome_spec_cache")
    if cached is not None:
        return cached
    fields: list[FieldSpec] = []
    for name, info in cls.model_fields.items():
        meta = next((m for m in info.metadata if isinstance(m, (X, L))), None)
        if meta is None:
            continue              # internal field (version, config_file, ...)
        typ, is_list = _unwrap(info.annotation)
        if isinstance(meta, L):
            if not is_list:
                raise TypeError(f"{cls.__name__}.{name}: L() needs a list annotation")
            shape = "direct" if meta.wrapper is None else ("bare" if meta.bare else "wrapped")
            xml = meta.item if shape == "direct" else meta.wrapper
            fields.append(FieldSpec(
                name=name, xml=xml, json=meta.json or camel(xml), required=meta.required,
                kind="list", typ=typ, shape=shape, item=meta.item,
                item_json=meta.item_json or camel(meta.item), conv=meta.conv))
        else:
            kind = "model" if isinstance(typ, type) and issubclass(typ, ConfigModel) else "scalar"
            fields.append(FieldSpec(
                name=name, xml=meta.xml, json=meta.json or camel(meta.xml), required=meta.required,
                kind=kind, typ=typ, conv=meta.conv, check=meta.check, path=meta.path, flag=meta.flag))
    spec = ModelSpec(fields, {f.xml: f for f in fields}, {f.json: f for f in fields},
                     {f.name: f for f in fields})
    setattr(cls, "_ome_spec_cache", spec)
    return spec


def model_spec(cls: type["ConfigModel"]) -> ModelSpec:
    return _spec_of(cls)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------
class ConfigModel(BaseModel):
    """Base of every config element.

    `model_fields_set` holds the fields that were present in the source, so
    `is_set("tls_port")` tells a written value from a default.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, protected_namespaces=())

    _source: Any = PrivateAttr(default=None)
    _loc: Any = PrivateAttr(default=None)
    _base: Any = PrivateAttr(default=None)

    _ome_spec_cache: ClassVar[ModelSpec | None] = None

    @property
    def source_json(self) -> Any:
        """What OME's GET shows for this element (a fresh copy)."""
        return to_plain(self._source) if self._source is not None else {}

    @property
    def source_loc(self) -> Loc | None:
        """(file, line) of the XML element this came from; None for JSON."""
        return self._loc

    def is_set(self, name: str) -> bool:
        """True when the element was written in the source (not a default or a computed value)."""
        return name in self.model_fields_set

    def _fill(self, name: str, value: Any) -> None:
        """Set a computed value without marking the field as written (`is_set` stays False)."""
        self.__dict__[name] = value

    def finalize(self, ctx: "Ctx") -> None:
        """Validators and computed values; raise Invalid with OME's text."""


# ---------------------------------------------------------------------------
# Source-JSON node types that remember where they came from (XML)
# ---------------------------------------------------------------------------
class XDict(dict):
    loc: Loc | None = None
    base: str | None = None


class XList(list):
    loc: Loc | None = None


class XStr(str):
    loc: Loc | None = None
    base: str | None = None


def loc_of(value: Any) -> Loc | None:
    return getattr(value, "loc", None)


def to_plain(value: Any) -> Any:
    """Deep copy into plain dict/list/str; JSON nulls (absent settings) dropped."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, XStr):
        return str(value)
    return value


# ---------------------------------------------------------------------------
# Lenient scalars (§7.2)
# ---------------------------------------------------------------------------
_INT_PREFIX = re.compile(r"^\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def to_int(text: str) -> int:
    """Base-10 digits (strtol-like prefix); garbage -> 0."""
    m = _INT_PREFIX.match(text)
    return int(m.group(1)) if m else 0


def to_float(text: str) -> float:
    m = _FLOAT_PREFIX.match(text)
    return float(m.group(1)) if m else 0.0


def to_bool(text: str) -> bool:
    """`true`/`false` in any case, else a non-zero integer is true."""
    low = text.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    return to_int(low) != 0


def to_bitrate(text: str) -> int:
    """`128000`, `2M` (x1048576), `500K` (x1024)."""
    t = text.strip()
    if t[-1:] in ("K", "k"):
        return int(to_float(t[:-1]) * 1024)
    if t[-1:] in ("M", "m"):
        return int(to_float(t[:-1]) * 1024 * 1024)
    return to_int(t)


_DEFAULT_CONV: dict[Any, Callable[[str], Any]] = {
    str: lambda s: s,
    int: to_int,
    float: to_float,
    bool: to_bool,
    Port: parse_port,
    RangedPort: parse_ranged_port,
}


def json_text(value: Any) -> str:
    """A JSON scalar through its string form (JsonCpp asString)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() or abs(value) >= 1e16 else str(int(value))
    return str(value)


# ---------------------------------------------------------------------------
# Builder: source JSON -> typed models
# ---------------------------------------------------------------------------
@dataclass
class Ctx:
    xml: bool                       # XML-sourced: expand macros, resolve paths, locate errors


def _fail(message: str, *nodes: Any) -> ConfigError:
    for node in nodes:
        loc = loc_of(node)
        if loc is not None:
            return ConfigError(message, loc)
    return ConfigError(message)


def item_root(f: FieldSpec, ctx: Ctx) -> str:
    """Error-path root of a list item: the XML item name, or its JSON form."""
    return f.item if ctx.xml else camel(f.item)


def build(cls: type[ConfigModel], data: Any, path: str, enforce: bool, ctx: Ctx) -> Any:
    """Build `cls` from its source JSON `data`.

    `enforce`: this element and all its ancestors up to the nearest list item
    (or the root) are required, so missing required children are errors (§7.2).
    """
    if not isinstance(data, dict):
        raise _fail(f"{path} must be an object", data)
    spec = _spec_of(cls)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key == "$":
            continue
        f = spec.by_json.get(key)
        if f is None:
            raise _fail(f"Unknown item found: {path}.{key}", raw, data)
        if raw is None:             # JSON null = absent
            continue
        values[f.name] = _convert(f, raw, f"{path}.{key}", enforce and f.required, ctx)
    if enforce:
        for f in spec.fields:
            if f.required and f.name not in values:
                raise _fail(f"{path}.{f.json} is not optional", data)
    obj = cls.model_construct(**values)
    obj._source = data
    obj._loc = loc_of(data)
    obj._base = getattr(data, "base", None)
    try:
        obj.finalize(ctx)
    except Invalid as exc:
        at = spec.by_name.get(exc.field) if exc.field else None
        raise _fail(exc.message, data.get(at.json) if at else None, data) from None
    return obj


def _convert(f: FieldSpec, raw: Any, path: str, enforce: bool, ctx: Ctx) -> Any:
    if f.kind == "scalar":
        return _scalar(f, raw, path, ctx)
    if f.kind == "model":
        return build(f.typ, raw, path, enforce, ctx)
    if f.shape == "wrapped":
        if not isinstance(raw, dict):
            raise _fail(f"{path} must be an object", raw)
        for key in raw:
            if key not in (f.item_json, "$"):
                raise _fail(f"Unknown item found: {path}.{key}", raw[key], raw)
        inner = raw.get(f.item_json)
        if inner is None:
            return []
        raw, path = inner, f"{path}.{f.item_json}"
    if not isinstance(raw, list):
        raise _fail(f"{path} must be an array", raw)
    items = []
    for entry in raw:
        if entry is None:
            continue
        if f.item_is_model:
            items.append(build(f.typ, entry, item_root(f, ctx), True, ctx))
        else:
            items.append(_scalar(f, entry, path, ctx))
    return items


def _scalar(f: FieldSpec, raw: Any, path: str, ctx: Ctx) -> Any:
    if f.flag:
        return True
    if isinstance(raw, (dict, list)):
        raise _fail(f"{path} must be a value", raw)
    if isinstance(raw, bool) and f.typ is bool and f.conv is None:
        value: Any = raw
    else:
        text = raw if isinstance(raw, str) else json_text(raw)
        if isinstance(raw, XStr):
            text = expand(text)
        conv = f.conv or _DEFAULT_CONV.get(f.typ)
        if conv is None:
            raise TypeError(f"no converter for {f.typ!r} ({path})")
        try:
            value = conv(text)
        except Invalid as exc:
            raise _fail(exc.message, raw) from None
    if f.path and isinstance(value, str) and value and isinstance(raw, XStr) and raw.base:
        value = os.path.normpath(os.path.join(raw.base, value))
    if f.check is not None:
        try:
            f.check(value)
        except Invalid as exc:
            raise _fail(exc.message, raw) from None
    return value


# ---------------------------------------------------------------------------
# Small validator helpers
# ---------------------------------------------------------------------------
def between(lo: float, hi: float, message: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not lo <= value <= hi:
            raise Invalid(message)
    return check


def one_of(allowed: tuple[str, ...], message: str, *, case: bool = True) -> Callable[[Any], None]:
    """`message` may contain `{}` for the value."""
    def check(value: Any) -> None:
        v = value if case else str(value).lower()
        if v not in allowed:
            raise Invalid(message.format(value))
    return check


def warn(loc: Loc | None, message: str) -> None:
    log.warning("%s%s", message, f" ({loc[0]}:{loc[1]})" if loc else "")
