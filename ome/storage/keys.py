"""The Redis key layout (reference §6.3), in one place.

All keys live under `<KeyPrefix>:`:

| Key                 | Type    | Content                                                       |
|---------------------|---------|---------------------------------------------------------------|
| `<P>:schema`        | string  | `1`                                                           |
| `<P>:seq`           | counter | INCR source for creation order                                |
| `<P>:vhosts`        | hash    | vhost name -> `{"seq":N,"config":{...},"template":{...}|null}` |
| `<P>:apps:<vhost>`  | hash    | app name -> `{"seq":N,"config":{...}}`                        |
| `<P>:records`       | hash    | `["<vhost>","<app>","<id>"]` -> `{"seq":N,"body":{...},"createdTime":...,"sequence":N}` |
| `<P>:pushes`        | hash    | same as records                                              |
"""
from __future__ import annotations

import json
from typing import Any

SCHEMA_VERSION = 1

# Task kinds as the API names them, and the hash each one lives in.
TASK_KINDS = {"record": "records", "records": "records", "push": "pushes", "pushes": "pushes"}


def dumps(obj: Any) -> str:
    """Compact JSON, ASCII-only so any posted string (lone surrogates too) round-trips."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def task_field(vhost: str, app: str, task_id: str) -> str:
    return dumps([vhost, app, task_id])


def parse_task_field(field: str) -> tuple[str, str, str]:
    value = json.loads(field)
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, str) for v in value)):
        raise ValueError(f"not a [vhost, app, id] array: {field!r}")
    return value[0], value[1], value[2]


def task_hash_name(kind: str) -> str:
    try:
        return TASK_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown task kind {kind!r} (record or push)") from None


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class Keys:
    """Key names for one prefix. `prefix` is used exactly as configured."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.schema = f"{prefix}:schema"
        self.seq = f"{prefix}:seq"
        self.vhosts = f"{prefix}:vhosts"
        self.records = f"{prefix}:records"
        self.pushes = f"{prefix}:pushes"
        self._apps_prefix = f"{prefix}:apps:"
        # SCAN pattern matching every per-vhost app hash.
        self.apps_pattern = _glob_escape(self._apps_prefix) + "*"

    def apps(self, vhost: str) -> str:
        return self._apps_prefix + vhost

    def vhost_of_apps_key(self, key: str) -> str | None:
        return key[len(self._apps_prefix):] if key.startswith(self._apps_prefix) else None

    def tasks(self, kind: str) -> str:
        return self.records if task_hash_name(kind) == "records" else self.pushes
