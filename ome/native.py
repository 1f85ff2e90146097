"""Thin Python face of the native core (ome._native, built by cffi in API mode).

Only small conversions live here; the work happens in C (native/src/).
"""
from __future__ import annotations

from ome._native import ffi, lib  # noqa: F401  (re-exported for media modules)

AUTH_OK = lib.OMN_AUTH_OK
AUTH_BAD_FORMAT = lib.OMN_AUTH_BAD_FORMAT
AUTH_MISMATCH = lib.OMN_AUTH_MISMATCH


def native_version() -> str:
    return ffi.string(lib.omn_version()).decode()


def basic_auth_check(credentials: bytes, token: bytes) -> int:
    """Decode base64 `credentials` and compare with `token` in constant time.

    Returns AUTH_OK, AUTH_BAD_FORMAT (not base64) or AUTH_MISMATCH.
    """
    return lib.omn_basic_auth_check(credentials, len(credentials), token, len(token))


_fbuf = ffi.new("char[32]")


def format_double(value: float) -> str:
    """OME's float text: '%.17g', plus '.0' when it would read as an integer."""
    n = lib.omn_format_double(value, _fbuf, 32)
    if n < 0:
        raise ValueError(f"cannot format {value!r}")
    return ffi.unpack(_fbuf, n).decode()
