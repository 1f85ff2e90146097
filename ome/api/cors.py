"""CORS headers of the API server, from `<Managers><API><CrossDomains>` (reference §2.4)."""
from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence

ALLOW_METHODS = "OPTIONS, HEAD, GET, POST, PUT, PATCH, DELETE"
_ALLOW_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                  "Access-Control-Allow-Methods", "Access-Control-Allow-Headers")
_SCHEMES = ("http://", "https://")


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """`*` = any run, `?` = one character, everything else literal; anchored."""
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


class CorsPolicy:
    def __init__(self, urls: Sequence[str] = (), headers: Sequence[tuple[str, str]] = ()) -> None:
        self.urls = list(urls)
        self.headers = list(headers)
        self.allow_all = "*" in self.urls
        self.allow_null = self.urls == ["null"]
        self._patterns = [(wildcard_regex(u), u.startswith(_SCHEMES))
                          for u in self.urls if u not in ("*", "null")]

    @classmethod
    def from_config(cls, cross_domains: object | None) -> "CorsPolicy":
        if cross_domains is None:
            return cls()
        urls = [str(u) for u in (getattr(cross_domains, "urls", None) or [])]
        headers = [(str(h.key), str(h.value)) for h in (getattr(cross_domains, "headers", None) or [])]
        return cls(urls, headers)

    def _allowed_origin(self, origin: str | None) -> str | None:
        if self.allow_all:
            return "*"
        if self.allow_null:
            return "null"
        if not origin:
            return None
        stripped = origin
        for scheme in _SCHEMES:
            if origin.startswith(scheme):
                stripped = origin[len(scheme):]
                break
        for regex, has_scheme in self._patterns:
            if regex.fullmatch(origin) or (not has_scheme and regex.fullmatch(stripped)):
                return origin
        return None

    def apply(self, request_headers: Mapping[str, str], response_headers: MutableMapping[str, str]) -> None:
        response_headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        if not self.urls:
            return
        allowed = self._allowed_origin(request_headers.get("Origin"))
        if allowed is None:
            for name in _ALLOW_HEADERS:
                response_headers.pop(name, None)
            for key, value in self.headers:
                if key.lower() not in (h.lower() for h in _ALLOW_HEADERS):
                    response_headers[key] = value
            return
        response_headers["Access-Control-Allow-Origin"] = allowed
        response_headers["Access-Control-Allow-Credentials"] = "true"
        requested = request_headers.get("Access-Control-Request-Headers")
        if requested is not None:
            response_headers["Access-Control-Allow-Headers"] = requested
        for key, value in self.headers:
            response_headers[key] = value
