"""`<Managers><API><Storage>` (reference §6.1) resolved into plain settings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DIR_NAME = "api_data"
URL_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class StorageSettings:
    enabled: bool
    explicit: bool          # a <Storage> element is present: failing to honour it is fatal
    path: Path              # embedded redis-server data dir (absolute)
    url: str                # external Redis; empty = embedded
    prefix: str             # key prefix, keys are `<prefix>:...`


def _expand(text: str) -> str:
    """`${env:...}` in the URL, in case the config engine left it as written."""
    if "${" not in text:
        return text
    try:
        from ome.config.macros import expand
    except ImportError:         # pragma: no cover - the config engine always has it
        return text
    return expand(text)


def resolve(config: Any) -> StorageSettings:
    """Read the storage settings from a ServerConfig (missing parts = defaults)."""
    config_dir = Path(getattr(config, "config_dir", None) or ".").resolve()
    default_prefix = "ome:" + (getattr(config, "name", None) or "")
    managers = getattr(config, "managers", None)
    api = getattr(managers, "api", None) if managers is not None else None
    storage = getattr(api, "storage", None) if api is not None else None
    if storage is None:
        return StorageSettings(enabled=True, explicit=False, path=config_dir / DEFAULT_DIR_NAME,
                               url="", prefix=default_prefix)
    enabled = getattr(storage, "enabled", True)
    enabled = True if enabled is None else bool(enabled)
    path = Path(str(getattr(storage, "path", None) or DEFAULT_DIR_NAME))
    if not path.is_absolute():
        path = config_dir / path
    redis = getattr(storage, "redis", None)
    url = _expand(str(getattr(redis, "url", None) or "")).strip() if redis is not None else ""
    prefix = (getattr(redis, "key_prefix", None) if redis is not None else None) or default_prefix
    return StorageSettings(enabled=enabled, explicit=True, path=path, url=url, prefix=str(prefix))
