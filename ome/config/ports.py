"""Port syntax (reference §7.5).

Single port: `1935` or `1935/tcp` (suffix tcp/udp/srt, any case; default TCP).
Ranged port (MPEG-TS, SRT, ICE): comma list of `N` or `N-M`, optional suffix,
default UDP. ICE candidates are `<ip>:<ranged port>`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import Invalid

SOCKET_TYPES = ("tcp", "udp", "srt")
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class Port:
    port: int
    socket_type: str = "tcp"

    def __str__(self) -> str:
        return f"{self.port}/{self.socket_type}"


@dataclass
class RangedPort:
    ports: list[int] = field(default_factory=list)
    socket_type: str = "udp"

    @property
    def port(self) -> int:
        """The first port (what a single-port consumer uses)."""
        return self.ports[0]

    def __str__(self) -> str:
        parts: list[str] = []
        start = prev = None
        for p in self.ports:
            if start is not None and p == prev + 1:
                prev = p
                continue
            if start is not None:
                parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = p
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        return f"{','.join(parts)}/{self.socket_type}"


def _socket_type(text: str, sep: str, default: str) -> str:
    if not sep:
        return default
    kind = text.strip().lower()
    if kind not in SOCKET_TYPES:
        raise Invalid(f"Unknown socket type: {text.strip()}")
    return kind


def parse_port(text: str, default_type: str = "tcp") -> Port:
    number, sep, kind = text.strip().partition("/")
    socket_type = _socket_type(kind, sep, default_type)
    number = number.strip()
    if not _DIGITS.match(number) or not 1 <= int(number) <= 65535:
        raise Invalid(f"Invalid port: {number}")
    return Port(int(number), socket_type)


def parse_ranged_port(text: str, default_type: str = "udp") -> RangedPort:
    spec, sep, kind = text.strip().partition("/")
    socket_type = _socket_type(kind, sep, default_type)
    ports: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not _DIGITS.match(first) or (dash and not _DIGITS.match(last)):
            raise Invalid("Invalid port expression")
        lo = int(first)
        hi = int(last) if dash else lo
        if lo < 1 or hi > 65535 or lo > hi:
            raise Invalid("Invalid port range")
        for p in range(lo, hi + 1):
            if p not in ports:
                ports.append(p)
    return RangedPort(ports, socket_type)


def parse_ice_candidate(text: str) -> tuple[str, RangedPort]:
    """`*:10000-10004/udp` -> ("*", RangedPort([10000..10004], "udp")).

    The address is everything before the last `:` (`::` = all IPv6, `*` = all
    IPv4; `${PublicIP}` stays as text for the WebRTC module to expand).
    """
    address, sep, ports = text.strip().rpartition(":")
    if not sep or not address:
        raise Invalid(f"Invalid ICE candidate: {text}")
    return address, parse_ranged_port(ports)
