"""`${env:NAME}`, `${env:NAME:default}`, `${ome:Home}`, `${ome:CurrentPath}` (reference §7.3).

Runtime macros (`${OriginStreamName}`, `${PublicIP}`, `${Port}`, dump-path and
rendition-template macros) are left as text for their feature to expand.
Expansion is a single pass: a value produced by a macro is not expanded again.
"""
from __future__ import annotations

import os
import re
import socket
import sys

# The token runs to the first `}`; for env the default is everything after the first `:`.
_MACRO = re.compile(r"\$\{(env|ome):([^}]*)\}")


def ome_home() -> str:
    """OME's `${ome:Home}`: the directory of the running binary."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return os.path.dirname(os.path.abspath(argv0)) if argv0 else os.getcwd()


def _env(inner: str) -> str:
    name, _, default = inner.partition(":")
    value = os.environ.get(name)
    if value is not None:           # set, even empty
        return value
    if name == "HOSTNAME":
        return socket.gethostname()
    return default


def _sub(m: re.Match[str]) -> str:
    kind, inner = m.group(1), m.group(2)
    if kind == "env":
        return _env(inner)
    if inner == "Home":
        return ome_home()
    if inner == "CurrentPath":
        return os.getcwd()
    return m.group(0)               # unknown ${ome:...}: left as written


def expand(text: str) -> str:
    """Expand env and ome macros in `text`."""
    if "${" not in text:
        return text
    return _MACRO.sub(_sub, text)
