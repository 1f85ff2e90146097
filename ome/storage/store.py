"""The Store interface the API writes through, and what a load returns.

Every write is one atomic change (one MULTI/EXEC for Redis). A write that
cannot be stored raises StorageUnavailable; the caller (the API) then undoes
its in-memory change and answers 503. Reads never go through the store: the
API serves them from memory, and `load()` is only used by `restore()` at start.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


class StorageUnavailable(Exception):
    """Redis cannot take the write right now (down, timing out, or refusing it)."""


@dataclass
class StoredVHost:
    name: str
    seq: int
    config: dict[str, Any]                 # the vhost JSON as posted, minus `applications`
    template: dict[str, Any] | None        # the `*` app JSON, if any


@dataclass
class StoredApp:
    vhost: str
    name: str
    seq: int
    config: dict[str, Any]                 # post-defaults app JSON (GET minus `dynamic`)


@dataclass
class StoredTask:
    kind: str                              # "record" or "push"
    vhost: str
    app: str
    id: str
    seq: int
    body: dict[str, Any]                   # the accepted request body
    created_time: Any                      # as the API gave it (a timestamp string)
    sequence: int                          # file sequence (records); 0 for pushes


@dataclass
class StoredState:
    """Everything under the prefix, each list in creation (`seq`) order."""

    vhosts: list[StoredVHost] = field(default_factory=list)
    apps: list[StoredApp] = field(default_factory=list)
    records: list[StoredTask] = field(default_factory=list)
    pushes: list[StoredTask] = field(default_factory=list)
    # Entries that could not even be decoded: (key, field, reason). Kept in Redis.
    undecodable: list[tuple[str, str, str]] = field(default_factory=list)


class Store(ABC):
    """Persistence of API-created state. All methods are coroutines."""

    #: True when changes survive a restart (Redis); False for the memory-only store.
    persistent: bool = False
    #: A short human description for logs ("embedded redis-server at ...", "memory only").
    description: str = ""

    @abstractmethod
    async def load(self) -> StoredState:
        """Read everything stored under the prefix (used once, by restore)."""

    @abstractmethod
    async def put_vhost(self, name: str, config_json: dict[str, Any], template_json: dict[str, Any] | None,
                        apps: list[tuple[str, dict[str, Any]]]) -> None:
        """Add (or replace) a vhost and its nested apps; any older apps/tasks of that vhost go."""

    @abstractmethod
    async def delete_vhost(self, name: str) -> None:
        """Remove the vhost, its apps and their record/push tasks."""

    @abstractmethod
    async def put_app(self, vhost: str, app: str, config_json: dict[str, Any]) -> None:
        """Add or replace an app config; a replaced app keeps its creation order."""

    @abstractmethod
    async def delete_app(self, vhost: str, app: str) -> None:
        """Remove the app and its record/push tasks."""

    @abstractmethod
    async def put_task(self, kind: str, vhost: str, app: str, id: str, body: dict[str, Any],
                       created_time: Any, sequence: int = 0) -> None:
        """Add or replace a record ("record") or push ("push") task."""

    @abstractmethod
    async def delete_task(self, kind: str, vhost: str, app: str, id: str) -> None:
        """Remove a task (stopRecord / stopPush)."""

    @abstractmethod
    async def update_task_sequence(self, kind: str, vhost: str, app: str, id: str, sequence: int) -> None:
        """Record a task's new file sequence (called when a record file is finalized).

        Unlike the other writes this one has nothing to undo in memory, so a
        store that cannot write it now keeps it and writes it once Redis is back;
        it still raises StorageUnavailable so the caller can log it.
        """

    @abstractmethod
    async def close(self) -> None:
        """Flush nothing (every write is already stored), disconnect, stop what was started."""
