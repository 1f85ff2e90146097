"""The OME-compatible /v1 REST API (aiohttp). See ome.api.server.ApiServer."""
from __future__ import annotations

from typing import Any

__all__ = ["ApiServer"]


def __getattr__(name: str) -> Any:  # lazy: importing ome.api must not pull aiohttp in early
    if name == "ApiServer":
        from ome.api.server import ApiServer
        return ApiServer
    raise AttributeError(name)
