"""The memory-only store (`<Storage><Enabled>false`, OME's own behaviour).

The API keeps its state in memory anyway, so there is nothing to write: every
change is accepted and forgotten at exit.
"""
from __future__ import annotations

from typing import Any

from .store import Store, StoredState


class MemoryStore(Store):
    persistent = False

    def __init__(self, description: str = "memory only") -> None:
        self.description = description

    async def load(self) -> StoredState:
        return StoredState()

    async def put_vhost(self, name: str, config_json: dict[str, Any], template_json: dict[str, Any] | None,
                        apps: list[tuple[str, dict[str, Any]]]) -> None:
        return None

    async def delete_vhost(self, name: str) -> None:
        return None

    async def put_app(self, vhost: str, app: str, config_json: dict[str, Any]) -> None:
        return None

    async def delete_app(self, vhost: str, app: str) -> None:
        return None

    async def put_task(self, kind: str, vhost: str, app: str, id: str, body: dict[str, Any],
                       created_time: Any, sequence: int = 0) -> None:
        return None

    async def delete_task(self, kind: str, vhost: str, app: str, id: str) -> None:
        return None

    async def update_task_sequence(self, kind: str, vhost: str, app: str, id: str, sequence: int) -> None:
        return None

    async def close(self) -> None:
        return None
