"""AMF0 in and out through the C core (native/src/amf0.c): commands and data messages.

Decoding goes AMF0 -> JSON text in C, then json.loads; encoding uses the C builder.
"""
from __future__ import annotations

import json
from typing import Any

from ome._native import ffi, lib


class Undefined:
    """AMF0 undefined (distinct from None = null)."""


class Amf0Error(ValueError):
    pass


def decode(data: Any, length: int | None = None) -> list[Any]:
    """All AMF0 values of a payload (a cdata pointer + length, or bytes) as Python values."""
    if length is None:
        length = len(data)
    out = ffi.new("char **")
    n = ffi.new("size_t *")
    rc = lib.omn_amf0_to_json(data, length, out, n)
    if rc != 0:
        raise Amf0Error(f"malformed AMF0 ({rc})")
    try:
        return json.loads(ffi.unpack(out[0], n[0]))
    finally:
        lib.omn_amf0_json_free(out[0])


def encode(*values: Any) -> bytes:
    """str, bool, int/float, None (null), Undefined, dict (object) -> AMF0 bytes."""
    w = ffi.new("omn_amf0_writer *")
    lib.omn_amf0_writer_init(w)
    try:
        for v in values:
            _put(w, v)
        if w.error:
            raise Amf0Error(f"AMF0 encoding failed ({w.error})")
        return bytes(ffi.buffer(w.data, w.len))
    finally:
        lib.omn_amf0_writer_free(w)


def _put(w: Any, v: Any) -> None:
    if isinstance(v, str):
        b = v.encode()
        lib.omn_amf0_put_string(w, b, len(b))
    elif isinstance(v, bool):
        lib.omn_amf0_put_bool(w, int(v))
    elif isinstance(v, (int, float)):
        lib.omn_amf0_put_number(w, float(v))
    elif v is None:
        lib.omn_amf0_put_null(w)
    elif v is Undefined:
        lib.omn_amf0_put_undefined(w)
    elif isinstance(v, dict):
        lib.omn_amf0_put_object_begin(w)
        for k, item in v.items():
            kb = str(k).encode()
            lib.omn_amf0_put_key(w, kb, len(kb))
            _put(w, item)
        lib.omn_amf0_put_object_end(w)
    else:
        raise TypeError(f"no AMF0 form for {type(v).__name__}")
