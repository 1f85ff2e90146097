"""Virtual host selection by host name (`<Host><Names>`), shared by every protocol.

OME matches a name exactly (any case), `*` anything, and `*.domain` (OME turns each `*` into
`.*`). The host a client names comes from the RTMP tcUrl, the SRT stream id, the HTTP Host
header or TLS SNI; a port suffix is not part of the name.
"""
from __future__ import annotations

import re


def host_matches(pattern: str, host: str) -> bool:
    """A `<Host><Names>` entry against a host name."""
    pattern = pattern.strip().lower()
    if pattern == "*":
        return True
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, host.lower()) is not None


def strip_port(host: str) -> str:
    """`name:port` → `name`; `[v6]:port` → `v6`; a bare IPv6 address stays as it is."""
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host
