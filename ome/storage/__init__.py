"""Persistence of API-created state in Redis (reference §6).

- `open_store(server)` -> Store: embedded supervised redis-server (default),
  external `<Redis><Url>`, or memory only (`<Storage><Enabled>false`).
- `restore(server, store)`: replay stored vhosts/apps into the registry, hand
  record/push tasks over in `server.restored_tasks`.
- `Store` writes: one MULTI/EXEC each; `StorageUnavailable` when Redis cannot take it.
"""
from .factory import open_store
from .memory_store import MemoryStore
from .redis_store import RedisStore
from .restore import RestoredTasks, RestoreReport, restore
from .store import Store, StoredApp, StoredState, StoredTask, StoredVHost, StorageUnavailable

__all__ = ["MemoryStore", "RedisStore", "RestoreReport", "RestoredTasks", "Store", "StorageUnavailable",
           "StoredApp", "StoredState", "StoredTask", "StoredVHost", "open_store", "restore"]
