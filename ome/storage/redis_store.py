"""The Redis-backed store: one MULTI/EXEC per change, fast failure, self-healing.

How it stays consistent with memory
- The store keeps a *mirror*: the exact hashes it believes Redis holds under
  its prefix (loaded in full when it opens, then updated after every EXEC that
  succeeded). One server owns one prefix, so the mirror is what Redis holds.
- A write that fails (connection lost, timeout, a refused EXEC) leaves the
  mirror untouched and raises StorageUnavailable; the API undoes its in-memory
  change. Whether Redis applied it or not is unknown at that point, so the
  store is marked *dirty*: before the next write it re-syncs, i.e. rewrites
  every key under the prefix from the mirror in one MULTI/EXEC. That also
  repairs a Redis that came back empty (no persistence) or lost its last writes.
- While Redis is down, writes fail at once (at most one quick reconnect try
  every `retry_interval`); a background task reconnects with capped backoff
  and PINGs every `health_interval` while up, so a restarted Redis is noticed
  and re-synced even when no write comes.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import lru_cache
from typing import Any, Callable

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ome.errors import StartupError

from .keys import SCHEMA_VERSION, Keys, dumps, parse_task_field, task_field, task_hash_name
from .store import Store, StoredApp, StoredState, StoredTask, StoredVHost, StorageUnavailable

log = logging.getLogger(__name__)

# Errors after which the connection state is unknown: reconnect and re-sync.
_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)

ClientFactory = Callable[[], aioredis.Redis]

# One change = a list of mirror operations, applied to Redis in one MULTI/EXEC
# and, once EXEC succeeded, to the mirror:
#   ("hset", key, field, value) | ("hdel", key, field) | ("del", key)
Op = tuple


def client_kwargs(op_timeout: float, connect_timeout: float) -> dict[str, Any]:
    """Options shared by every client we make: short timeouts and no hidden retries
    (a retried write would hang the API; we fail fast and reconnect ourselves)."""
    return dict(socket_timeout=op_timeout, socket_connect_timeout=connect_timeout,
                retry=Retry(NoBackoff(), 0), health_check_interval=0,
                decode_responses=True, encoding_errors="surrogatepass", client_name="ome-storage")


def url_client_factory(url: str, op_timeout: float = 1.0, connect_timeout: float = 0.5) -> ClientFactory:
    """redis://, rediss:// and unix:// URLs (redis-py's from_url)."""
    def make() -> aioredis.Redis:
        return aioredis.from_url(url, **client_kwargs(op_timeout, connect_timeout))
    return make


def redact_url(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0] + ':***' if ':' in creds else '***'}@{host}"
    return url


@lru_cache(maxsize=4096)
def _task_ids(field: str) -> tuple[str, str, str] | None:
    try:
        return parse_task_field(field)
    except ValueError:
        return None


class RedisStore(Store):
    persistent = True

    def __init__(self, make_client: ClientFactory, prefix: str, *, description: str = "redis",
                 health_interval: float = 1.0, backoff_initial: float = 0.1, backoff_cap: float = 2.0,
                 retry_interval: float = 0.2) -> None:
        self.description = description
        self.keys = Keys(prefix)
        self._make_client = make_client
        self._client: aioredis.Redis | None = None
        self._lock = asyncio.Lock()           # writes, re-syncs and health checks, one at a time
        self._up = False
        self._dirty = False                    # Redis may differ from the mirror: re-sync first
        self._loaded = False
        self._closed = False
        self._mirror: dict[str, dict[str, str]] = {}   # key -> field -> raw JSON value
        self._seqs: dict[tuple[str, str], int] = {}    # (key, field) -> seq of that entry
        self._max_seq = 0
        self._health_interval = health_interval
        self._backoff_initial = backoff_initial
        self._backoff_cap = backoff_cap
        self._retry_interval = retry_interval
        self._last_attempt = 0.0
        self._wake = asyncio.Event()
        self._monitor: asyncio.Task | None = None
        self._close_hooks: list[Callable[[], Any]] = []
        #: Counters for tests and logs.
        self.stats = {"resyncs": 0, "reconnects": 0, "failures": 0}

    # -- opening -------------------------------------------------------------
    async def open(self, timeout: float = 30.0) -> None:
        """Connect (retrying for up to `timeout` s), check the schema, load the mirror,
        and start the background monitor. Raises StartupError."""
        deadline = time.monotonic() + timeout
        delay = 0.1
        last_error: BaseException | None = None
        warned = False
        while True:
            client = self._make_client()
            try:
                await client.ping()
                await self._check_schema(client)
                await self._load_mirror(client)
                break
            except StartupError:
                await _close_client(client)
                raise
            except (ResponseError, ValueError) as exc:
                await _close_client(client)
                if not isinstance(exc, ReadOnlyError):    # a replica may be promoted: retry that one
                    raise StartupError(f"The API storage ({self.description}) cannot be used: "
                                       f"{type(exc).__name__}: {exc}") from None
                last_error = exc
            except (RedisError, *_CONNECTION_ERRORS) as exc:
                last_error = exc
                await _close_client(client)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StartupError(f"Could not connect to the API storage ({self.description}) "
                                   f"within {timeout:g} s: {last_error}")
            if not warned:
                log.warning("API storage (%s) not reachable yet: %s; retrying for up to %g s",
                            self.description, last_error, timeout)
                warned = True
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 2.0)
        self._client = client
        self._up = True
        self._monitor = asyncio.get_running_loop().create_task(self._monitor_loop(), name="ome-storage-monitor")
        log.info("API storage: %s, key prefix %r, %d vhost(s), %d app(s), %d task(s) stored",
                 self.description, self.keys.prefix, len(self._mirror.get(self.keys.vhosts, {})),
                 sum(len(v) for k, v in self._mirror.items() if self.keys.vhost_of_apps_key(k) is not None),
                 len(self._mirror.get(self.keys.records, {})) + len(self._mirror.get(self.keys.pushes, {})))

    async def _check_schema(self, client: aioredis.Redis) -> None:
        stored = await client.get(self.keys.schema)
        if stored is None:
            await client.set(self.keys.schema, SCHEMA_VERSION, nx=True)
        elif stored != str(SCHEMA_VERSION):
            raise StartupError(f"The API storage under {self.keys.prefix!r} has schema version {stored!r}; "
                               f"this server understands {SCHEMA_VERSION}")

    async def _load_mirror(self, client: aioredis.Redis) -> None:
        mirror: dict[str, dict[str, str]] = {}
        for key in (self.keys.vhosts, self.keys.records, self.keys.pushes):
            mirror[key] = await client.hgetall(key)
        async for key in client.scan_iter(match=self.keys.apps_pattern, count=1000):
            if await client.type(key) == "hash":
                mirror[key] = await client.hgetall(key)
        self._mirror = {k: v for k, v in mirror.items() if v}
        self._seqs.clear()
        self._max_seq = int(await client.get(self.keys.seq) or 0)
        for key, fields in self._mirror.items():
            for fld, raw in fields.items():
                seq = _seq_of(raw)
                if seq is not None:
                    self._seqs[(key, fld)] = seq
                    self._max_seq = max(self._max_seq, seq)
        self._loaded = True

    # -- reading (restore only) ------------------------------------------------
    async def load(self) -> StoredState:
        """What was stored when the store opened (plus anything written since), decoded."""
        state = StoredState()
        keys = self.keys
        for name, raw in self._mirror.get(keys.vhosts, {}).items():
            try:
                value = _decode(raw, ("config", dict), ("template", (dict, type(None))))
                state.vhosts.append(StoredVHost(name=name, seq=value["seq"], config=value["config"],
                                                template=value["template"]))
            except ValueError as exc:
                state.undecodable.append((keys.vhosts, name, str(exc)))
        for key, fields in self._mirror.items():
            vhost = keys.vhost_of_apps_key(key)
            if vhost is None:
                continue
            for name, raw in fields.items():
                try:
                    value = _decode(raw, ("config", dict))
                    state.apps.append(StoredApp(vhost=vhost, name=name, seq=value["seq"], config=value["config"]))
                except ValueError as exc:
                    state.undecodable.append((key, name, str(exc)))
        for kind, key, out in (("record", keys.records, state.records), ("push", keys.pushes, state.pushes)):
            for fld, raw in self._mirror.get(key, {}).items():
                try:
                    ids = _task_ids(fld)
                    if ids is None:
                        raise ValueError("field is not a [vhost, app, id] JSON array")
                    value = _decode(raw, ("body", dict))
                    sequence = value.get("sequence", 0)
                    if not isinstance(sequence, int) or isinstance(sequence, bool):
                        raise ValueError("sequence is not an integer")
                    out.append(StoredTask(kind=kind, vhost=ids[0], app=ids[1], id=ids[2], seq=value["seq"],
                                          body=value["body"], created_time=value.get("createdTime"),
                                          sequence=sequence))
                except ValueError as exc:
                    state.undecodable.append((key, fld, str(exc)))
        for items in (state.vhosts, state.apps, state.records, state.pushes):
            items.sort(key=lambda e: e.seq)
        return state

    # -- writes ----------------------------------------------------------------
    async def put_vhost(self, name: str, config_json: dict[str, Any], template_json: dict[str, Any] | None,
                        apps: list[tuple[str, dict[str, Any]]]) -> None:
        k = self.keys
        apps_key = k.apps(name)

        def build(seq: Callable[[str, str], int]) -> list[Op]:
            ops: list[Op] = [("hset", k.vhosts, name,
                              dumps({"seq": seq(k.vhosts, name), "config": config_json, "template": template_json}))]
            # A re-put replaces the vhost whole: apps and tasks it had before go.
            app_seqs = {app: seq(apps_key, app) for app, _ in apps}
            ops.append(("del", apps_key))
            ops += self._task_deletions(lambda v, a: v == name)
            ops += [("hset", apps_key, app, dumps({"seq": app_seqs[app], "config": cfg})) for app, cfg in apps]
            return ops

        await self._commit(build, [(k.vhosts, name)] + [(apps_key, app) for app, _ in apps])

    async def delete_vhost(self, name: str) -> None:
        k = self.keys
        ops: list[Op] = [("hdel", k.vhosts, name), ("del", k.apps(name))]
        ops += self._task_deletions(lambda v, a: v == name)
        await self._commit(lambda seq: ops, [])

    async def put_app(self, vhost: str, app: str, config_json: dict[str, Any]) -> None:
        key = self.keys.apps(vhost)
        await self._commit(lambda seq: [("hset", key, app, dumps({"seq": seq(key, app), "config": config_json}))],
                           [(key, app)])

    async def delete_app(self, vhost: str, app: str) -> None:
        ops: list[Op] = [("hdel", self.keys.apps(vhost), app)]
        ops += self._task_deletions(lambda v, a: v == vhost and a == app)
        await self._commit(lambda seq: ops, [])

    async def put_task(self, kind: str, vhost: str, app: str, id: str, body: dict[str, Any],
                       created_time: Any, sequence: int = 0) -> None:
        key, fld = self.keys.tasks(kind), task_field(vhost, app, id)
        await self._commit(
            lambda seq: [("hset", key, fld, dumps({"seq": seq(key, fld), "body": body,
                                                   "createdTime": created_time, "sequence": sequence}))],
            [(key, fld)])

    async def delete_task(self, kind: str, vhost: str, app: str, id: str) -> None:
        key = self.keys.tasks(kind)
        # Delete by the stored field text when we have it (robust to other JSON spellings).
        fields = [f for f in self._mirror.get(key, {}) if _task_ids(f) == (vhost, app, id)]
        ops: list[Op] = [("hdel", key, f) for f in fields or [task_field(vhost, app, id)]]
        await self._commit(lambda seq: ops, [])

    async def update_task_sequence(self, kind: str, vhost: str, app: str, id: str, sequence: int) -> None:
        key = self.keys.tasks(kind)
        fld = next((f for f in self._mirror.get(key, {}) if _task_ids(f) == (vhost, app, id)), None)
        if fld is None:
            log.warning("no stored %s task %s/%s/%s to update", task_hash_name(kind), vhost, app, id)
            return
        value = json.loads(self._mirror[key][fld])
        value["sequence"] = sequence
        raw = dumps(value)
        # Nothing to undo in memory for this one: keep it in the mirror even if the
        # write fails now, so the re-sync after reconnecting writes it.
        self._mirror[key][fld] = raw
        try:
            await self._commit(lambda seq: [("hset", key, fld, raw)], [])
        except StorageUnavailable:
            self._dirty = True
            raise

    def _task_deletions(self, match: Callable[[str, str], bool]) -> list[Op]:
        ops: list[Op] = []
        for key in (self.keys.records, self.keys.pushes):
            for fld in self._mirror.get(key, {}):
                ids = _task_ids(fld)
                if ids is not None and match(ids[0], ids[1]):
                    ops.append(("hdel", key, fld))
        return ops

    async def _commit(self, build: Callable[[Callable[[str, str], int]], list[Op]],
                      entries: list[tuple[str, str]]) -> None:
        """Run one change as one MULTI/EXEC (one round trip).

        New `entries` get creation seqs: `INCRBY <P>:seq n` runs inside the same
        transaction, and the values carry the numbers it returns. The store is the
        only writer of its prefix, so it knows the counter (`_max_seq`, loaded at
        open and re-checked at every re-sync) and checks EXEC's INCRBY reply
        against it. `build(seq)` returns the ops; `seq(key, field)` gives an
        entry's seq, kept for an entry that already exists (a re-put keeps its place)."""
        async with self._lock:
            await self._ensure_ready()
            client = self._client
            assert client is not None
            new = [e for e in dict.fromkeys(entries) if e not in self._seqs]
            allocated = {e: self._max_seq + 1 + i for i, e in enumerate(new)}

            def seq(key: str, fld: str) -> int:
                return self._seqs.get((key, fld)) or allocated[(key, fld)]

            ops = build(seq)
            try:
                pipe = client.pipeline(transaction=True)
                if new:
                    pipe.incrby(self.keys.seq, len(new))
                for op in ops:
                    if op[0] == "hset":
                        pipe.hset(op[1], op[2], op[3])
                    elif op[0] == "hdel":
                        pipe.hdel(op[1], op[2])
                    else:
                        pipe.delete(op[1])
                pipe.set(self.keys.schema, SCHEMA_VERSION)
                results = await pipe.execute()
            except _CONNECTION_ERRORS as exc:
                self._mark_down(exc)
                raise StorageUnavailable(str(exc) or type(exc).__name__) from exc
            except RedisError as exc:
                # EXEC refused (OOM, read-only replica, a key of the wrong type...):
                # part of it may have run, so rewrite everything before the next write.
                self.stats["failures"] += 1
                self._dirty = True
                self._wake.set()
                log.error("API storage refused a write: %s", exc)
                raise StorageUnavailable(str(exc)) from exc
            except asyncio.CancelledError:
                self._dirty = True     # the outcome is unknown
                self._wake.set()
                raise
            if new:
                expected = self._max_seq + len(new)
                counter = int(results[0])
                self._max_seq = max(expected, counter)
                if counter != expected:
                    # Someone else moved <P>:seq (another server on this prefix?): our
                    # numbers still order our own entries; the re-sync fixes the counter.
                    log.warning("API storage: %s was %d, expected %d; re-syncing",
                                self.keys.seq, counter, expected)
                    self._dirty = True
                    self._wake.set()
            self._apply(ops)

    def _apply(self, ops: list[Op]) -> None:
        for op in ops:
            if op[0] == "hset":
                self._mirror.setdefault(op[1], {})[op[2]] = op[3]
                seq = _seq_of(op[3])
                if seq is not None:
                    self._seqs[(op[1], op[2])] = seq
            elif op[0] == "hdel":
                fields = self._mirror.get(op[1])
                if fields is not None:
                    fields.pop(op[2], None)
                    if not fields:
                        del self._mirror[op[1]]
                self._seqs.pop((op[1], op[2]), None)
            else:
                for fld in self._mirror.pop(op[1], {}):
                    self._seqs.pop((op[1], fld), None)

    # -- availability ------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self._up and not self._dirty and not self._closed

    def kick(self) -> None:
        """Try to reconnect now (e.g. the embedded redis-server was just restarted)."""
        self._wake.set()

    def mark_down(self, reason: str) -> None:
        """Declare Redis gone (e.g. the embedded child died): writes fail until it is back."""
        self._mark_down(StorageUnavailable(reason))

    def _mark_down(self, exc: BaseException) -> None:
        self.stats["failures"] += 1
        if self._up:
            log.error("API storage (%s) unavailable: %s; API writes answer 503 until it is back",
                      self.description, exc or type(exc).__name__)
        self._up = False
        self._dirty = True
        self._wake.set()

    async def _ensure_ready(self) -> None:
        """Called with the lock held; raises StorageUnavailable unless Redis can take a write."""
        if self._closed:
            raise StorageUnavailable("storage closed")
        if self._up and not self._dirty:
            return
        if time.monotonic() - self._last_attempt >= self._retry_interval and await self._recover():
            return
        raise StorageUnavailable("storage unavailable")

    async def _recover(self) -> bool:
        """Called with the lock held: (re)connect, re-sync from the mirror when dirty."""
        self._last_attempt = time.monotonic()
        if not self._up:
            old, self._client = self._client, self._make_client()
            if old is not None:
                await _close_client(old)
        client = self._client
        assert client is not None
        try:
            await client.ping()
            if self._dirty:
                await self._resync(client)
        except (RedisError, *_CONNECTION_ERRORS) as exc:
            log.debug("API storage reconnect failed: %s", exc)
            if self._up and isinstance(exc, _CONNECTION_ERRORS):
                self._mark_down(exc)
            return False
        if not self._up:
            self.stats["reconnects"] += 1
            log.warning("API storage (%s) is back; API writes work again", self.description)
        self._up = True
        self._dirty = False
        return True

    async def _resync(self, client: aioredis.Redis) -> None:
        """Make Redis hold exactly the mirror, in one MULTI/EXEC."""
        if not self._loaded:
            raise StorageUnavailable("storage not loaded")
        stale = [key async for key in client.scan_iter(match=self.keys.apps_pattern, count=1000)]
        current_seq = int(await client.get(self.keys.seq) or 0)
        pipe = client.pipeline(transaction=True)
        pipe.delete(self.keys.vhosts, self.keys.records, self.keys.pushes, *stale)
        for key, fields in self._mirror.items():
            if fields:
                pipe.hset(key, mapping=fields)
        pipe.set(self.keys.schema, SCHEMA_VERSION)
        self._max_seq = max(current_seq, self._max_seq)
        pipe.set(self.keys.seq, self._max_seq)
        await pipe.execute()
        self.stats["resyncs"] += 1
        log.info("API storage re-synced: %d key(s) rewritten from memory", len(self._mirror))

    async def _monitor_loop(self) -> None:
        backoff = self._backoff_initial
        while not self._closed:
            if self._up and not self._dirty:
                await self._sleep(self._health_interval)
                if self._closed:
                    break
                async with self._lock:
                    if self._up and not self._dirty and self._client is not None:
                        try:
                            await self._client.ping()
                        except _CONNECTION_ERRORS as exc:
                            self._mark_down(exc)
                        except RedisError as exc:       # e.g. LOADING after a restart
                            self._mark_down(exc)
                backoff = self._backoff_initial
                continue
            async with self._lock:
                ok = self._closed or await self._recover()
            if ok:
                backoff = self._backoff_initial
                continue
            await self._sleep(backoff)
            backoff = min(backoff * 2, self._backoff_cap)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        self._wake.clear()

    # -- closing -----------------------------------------------------------------
    def on_close(self, hook: Callable[[], Any]) -> None:
        """Run `hook` (sync or async) after disconnecting, e.g. to stop the embedded child."""
        self._close_hooks.append(hook)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._monitor is not None:
            self._monitor.cancel()
            try:
                await self._monitor
            except (asyncio.CancelledError, Exception):
                pass
        async with self._lock:
            if self._client is not None:
                await _close_client(self._client)
                self._client = None
        for hook in self._close_hooks:
            result = hook()
            if asyncio.iscoroutine(result):
                await result


async def _close_client(client: aioredis.Redis) -> None:
    try:
        await client.aclose()
    except Exception:          # closing a broken connection must not fail shutdown
        log.debug("closing redis client", exc_info=True)


def _seq_of(raw: str) -> int | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    seq = value.get("seq") if isinstance(value, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _decode(raw: str, *fields: tuple[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    if _seq_of(raw) is None:
        raise ValueError("missing integer seq")
    for name, types in fields:
        if name not in value and types is not dict:
            value[name] = None
        if not isinstance(value.get(name), types):
            raise ValueError(f"{name} has the wrong type")
    return value
