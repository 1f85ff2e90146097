"""API JSON -> VirtualHostConfig / ApplicationConfig.

The body is the source JSON as given (types kept); error paths are dot-joined
JSON names from the item being parsed (`application.name is not optional`,
`Unknown item found: application.providers.foo`). The key `$` is allowed.
"""
from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .spec import Ctx, build, to_plain


def parse_virtual_host_json(obj: Any) -> "VirtualHostConfig":  # noqa: F821
    """One `POST /v1/vhosts` item; nested `applications` are parsed into `.applications`."""
    from .vhost import VirtualHostConfig

    if not isinstance(obj, dict):
        raise ConfigError("virtualHost must be an object")
    return build(VirtualHostConfig, to_plain(obj), "virtualHost", True, Ctx(xml=False))


def parse_application_json(obj: Any) -> "ApplicationConfig":  # noqa: F821
    """One API application (the API fills the POST defaults before calling)."""
    from .application import ApplicationConfig

    if not isinstance(obj, dict):
        raise ConfigError("application must be an object")
    return build(ApplicationConfig, to_plain(obj), "application", True, Ctx(xml=False))
