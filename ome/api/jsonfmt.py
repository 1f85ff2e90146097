"""OME's JSON output format (JsonCpp's FastWriter as OME configures it).

- compact: no spaces after ',' or ':', no trailing newline;
- object keys sorted bytewise (code-point order, what std::map gives JsonCpp);
- non-ASCII escaped as lowercase \\uXXXX (surrogate pairs above the BMP), '/' left alone;
- floats as '%.17g' plus '.0' when the text would read as an integer (ome.native.format_double);
  NaN as null and infinities as +/-1e+9999, like JsonCpp without special floats;
- timestamps in the server's local time zone: 2021-01-11T03:45:21.879+09:00.
"""
from __future__ import annotations

import json
import math
import struct
from datetime import datetime
from typing import Any

from ome.native import format_double

_encode_str = json.encoder.encode_basestring_ascii  # C-accelerated, lowercase hex, '/' unescaped


def format_float(value: float) -> str:
    if math.isnan(value):
        return "null"
    if math.isinf(value):
        return "1e+9999" if value > 0 else "-1e+9999"
    return format_double(value)


def f32(value: float) -> float:
    """A C float widened to double (stream-info framerates: 29.97 -> 29.969999313354492)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def dumps(value: Any) -> str:
    """Serialize like OME. Raises TypeError for values JSON cannot hold."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def dumps_bytes(value: Any) -> bytes:
    return dumps(value).encode("ascii")


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(format_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{")
        first = True
        for key in sorted(value, key=_key_order):
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, not {type(key).__name__}")
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _key_order(key: Any) -> Any:
    # std::map<std::string> compares UTF-8 bytes; for valid text that is code-point order,
    # which is how Python compares str. Lone surrogates (from \\udXXX escapes) still sort stably.
    return key


def format_time(epoch_seconds: float) -> str:
    """Local-time ISO 8601 with milliseconds and a ±hh:mm offset."""
    dt = datetime.fromtimestamp(epoch_seconds).astimezone()
    offset = dt.utcoffset()
    total = int(offset.total_seconds()) if offset is not None else 0
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
            f".{dt.microsecond // 1000:03d}{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}")
