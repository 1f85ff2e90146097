"""The Redis store against a real redis-server (external `<Redis><Url>` mode).

Key layout (§6.3), one MULTI/EXEC per change, creation order, cascading
deletes, fast StorageUnavailable while Redis is away, and reconnect + re-sync
once it is back, all without a server restart.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from types import SimpleNamespace

import pytest
import redis.asyncio as aioredis

from helpers import RedisServer, free_port
from ome.errors import StartupError
from ome.storage import MemoryStore, RedisStore, StorageUnavailable, open_store


def make_config(tmp_path, *, url="", prefix=None, name="Test", enabled=True, storage=True):
    st = None
    if storage:
        st = SimpleNamespace(enabled=enabled, path=str(tmp_path / "api_data"),
                             redis=SimpleNamespace(url=url, key_prefix=prefix))
    return SimpleNamespace(name=name, config_dir=tmp_path,
                           managers=SimpleNamespace(api=SimpleNamespace(storage=st)))


@pytest.fixture
async def raw(redis_server):
    client = aioredis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def store(tmp_path, redis_server):
    s = await open_store(make_config(tmp_path, url=redis_server.url, prefix="t"), startup_timeout=5)
    yield s
    await s.close()


async def wait_available(store: RedisStore, timeout: float = 10.0) -> float:
    t0 = time.monotonic()
    while not store.available:
        assert time.monotonic() - t0 < timeout, f"store did not come back: {store.stats}"
        await asyncio.sleep(0.02)
    return time.monotonic() - t0


APP = {"name": "app", "type": "live", "outputProfiles": {"outputProfile": [{"name": "p", "outputStreamName": "x",
                                                                              "encodes": {"videos": [{"bypass": True}]}}]}}


async def test_key_layout(store, raw):
    assert isinstance(store, RedisStore) and store.persistent
    assert await raw.get("t:schema") == "1"
    tmpl = {"name": "*", "type": "live"}
    await store.put_vhost("v", {"name": "v", "distribution": "x"}, tmpl, [("app", APP), ("b", {"name": "b", "f": 1.5})])
    await store.put_task("record", "v", "app", "r1", {"id": "r1", "stream": {"name": "s"}}, "2024-01-01T00:00:00.000+00:00", 7)
    await store.put_task("push", "v", "app", "p1", {"id": "p1", "url": "rtmp://x"}, "2024-01-01T00:00:00.000+00:00")

    assert sorted(await raw.keys("*")) == ["t:apps:v", "t:pushes", "t:records", "t:schema", "t:seq", "t:vhosts"]
    assert await raw.get("t:seq") == "5"
    assert json.loads(await raw.hget("t:vhosts", "v")) == {"seq": 1, "config": {"name": "v", "distribution": "x"},
                                                            "template": tmpl}
    assert json.loads(await raw.hget("t:apps:v", "app")) == {"seq": 2, "config": APP}
    assert json.loads(await raw.hget("t:apps:v", "b")) == {"seq": 3, "config": {"name": "b", "f": 1.5}}
    assert await raw.hgetall("t:records") == {
        '["v","app","r1"]': '{"seq":4,"body":{"id":"r1","stream":{"name":"s"}},'
                            '"createdTime":"2024-01-01T00:00:00.000+00:00","sequence":7}'}
    assert json.loads(await raw.hget("t:pushes", '["v","app","p1"]'))["seq"] == 5
    # Values keep their JSON types (ints, floats, bools) for byte-identical GETs after a restart.
    state = await store.load()
    assert state.apps[1].config == {"name": "b", "f": 1.5} and state.apps[0].config == APP


async def test_each_change_is_one_multi_exec(store, redis_server):
    mon = aioredis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    other = aioredis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    calls = [
        lambda: store.put_vhost("v", {"name": "v"}, None, [("a", {"name": "a"}), ("b", {"name": "b"})]),
        lambda: store.put_app("v", "c", {"name": "c"}),
        lambda: store.put_app("v", "c", {"name": "c", "x": 1}),
        lambda: store.put_task("record", "v", "a", "r", {"id": "r"}, "t", 0),
        lambda: store.update_task_sequence("record", "v", "a", "r", 2),
        lambda: store.put_task("push", "v", "b", "p", {"id": "p"}, "t", 0),
        lambda: store.delete_task("push", "v", "b", "p"),
        lambda: store.delete_app("v", "a"),
        lambda: store.delete_vhost("v"),
    ]
    groups = []
    async with mon.monitor() as m:
        for i, call in enumerate(calls):
            await call()
            await other.echo(f"sentinel-{i}")
            cmds = []
            while True:
                c = (await m.next_command())["command"]
                if c == f"ECHO sentinel-{i}":
                    break
                name = c.split(" ", 1)[0].upper()
                if name not in ("HELLO", "CLIENT", "PING", "ECHO"):   # handshakes, health checks
                    cmds.append(name)
            groups.append(cmds)
    await mon.aclose()
    await other.aclose()
    for cmds in groups:
        # Exactly one MULTI ... EXEC per change and nothing outside it (the seq INCRBY included).
        assert cmds[0] == "MULTI" and cmds[-1] == "EXEC", groups
        assert cmds.count("MULTI") == 1 and cmds.count("EXEC") == 1, groups
    assert groups[0][:2] == ["MULTI", "INCRBY"] and groups[0].count("INCRBY") == 1   # 3 seqs, one INCRBY
    assert "INCRBY" not in groups[2]         # re-put of an existing app: no new seq
    assert "DEL" in groups[-1] and "HDEL" in groups[-1]


async def test_creation_order_and_reput_keeps_seq(store, raw):
    await store.put_vhost("v", {"name": "v"}, None, [])
    for name in ("c", "a", "b"):
        await store.put_app("v", name, {"name": name})
    await store.put_app("v", "a", {"name": "a", "patched": True})     # PATCH / output-profile change
    state = await store.load()
    assert [a.name for a in state.apps] == ["c", "a", "b"]
    assert state.apps[1].config == {"name": "a", "patched": True}
    assert json.loads(await raw.hget("t:apps:v", "a"))["seq"] == 3


async def test_deletes_cascade(store, raw):
    await store.put_vhost("v", {"name": "v"}, None, [("a", {"name": "a"}), ("b", {"name": "b"})])
    await store.put_vhost("w", {"name": "w"}, None, [("a", {"name": "a"})])
    for vh, app in (("v", "a"), ("v", "b"), ("w", "a")):
        await store.put_task("record", vh, app, "r", {"id": "r"}, "t", 0)
        await store.put_task("push", vh, app, "p", {"id": "p"}, "t", 0)
    await store.delete_app("v", "a")
    assert await raw.hkeys("t:apps:v") == ["b"]
    assert sorted(await raw.hkeys("t:records")) == ['["v","b","r"]', '["w","a","r"]']
    assert sorted(await raw.hkeys("t:pushes")) == ['["v","b","p"]', '["w","a","p"]']
    await store.delete_vhost("v")
    assert await raw.exists("t:apps:v") == 0
    assert await raw.hkeys("t:vhosts") == ["w"]
    assert await raw.hkeys("t:records") == ['["w","a","r"]']
    assert await raw.hkeys("t:pushes") == ['["w","a","p"]']
    await store.delete_task("record", "w", "a", "r")
    assert await raw.exists("t:records") == 0


async def test_reput_vhost_replaces_old_apps_and_tasks(store, raw):
    await store.put_vhost("v", {"name": "v"}, None, [("old", {"name": "old"})])
    await store.put_task("record", "v", "old", "r", {"id": "r"}, "t", 0)
    await store.put_vhost("v", {"name": "v", "x": 1}, {"name": "*"}, [("new", {"name": "new"})])
    assert await raw.hkeys("t:apps:v") == ["new"]
    assert await raw.exists("t:records") == 0
    assert json.loads(await raw.hget("t:vhosts", "v"))["seq"] == 1


async def test_default_prefix_and_two_prefixes_share_one_redis(tmp_path, redis_server, raw):
    a = await open_store(make_config(tmp_path, url=redis_server.url, name="OvenMediaEngine"), startup_timeout=5)
    b = await open_store(make_config(tmp_path, url=redis_server.url, prefix="ome:origin-2"), startup_timeout=5)
    try:
        await a.put_vhost("v", {"name": "v"}, None, [])
        await b.put_vhost("w", {"name": "w"}, None, [])
        assert await raw.hkeys("ome:OvenMediaEngine:vhosts") == ["v"]
        assert await raw.hkeys("ome:origin-2:vhosts") == ["w"]
        assert [v.name for v in (await b.load()).vhosts] == ["w"]
    finally:
        await a.close()
        await b.close()


async def test_memory_only_when_disabled(tmp_path):
    s = await open_store(make_config(tmp_path, enabled=False))
    assert isinstance(s, MemoryStore) and not s.persistent
    await s.put_vhost("v", {"name": "v"}, None, [])
    assert (await s.load()).vhosts == []
    await s.close()
    assert not (tmp_path / "api_data").exists()


async def test_unreachable_at_startup_is_a_startup_error(tmp_path):
    port = free_port()
    t0 = time.monotonic()
    with pytest.raises(StartupError, match="Could not connect to the API storage"):
        await open_store(make_config(tmp_path, url=f"redis://127.0.0.1:{port}/0"), startup_timeout=1.5)
    assert 1.0 < time.monotonic() - t0 < 5


async def test_redis_coming_up_during_startup_retry(tmp_path):
    port = free_port()
    server = RedisServer(tmp_path / "late", port=port)

    async def start_late():
        await asyncio.sleep(0.8)
        await asyncio.get_running_loop().run_in_executor(None, server.start)

    starter = asyncio.create_task(start_late())
    try:
        s = await open_store(make_config(tmp_path, url=server.url), startup_timeout=10)
        await s.put_vhost("v", {"name": "v"}, None, [])
        await s.close()
    finally:
        await starter
        server.stop()


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "redis://127.0.0.1:notaport"])
async def test_invalid_url_is_a_startup_error(tmp_path, url):
    with pytest.raises(StartupError, match="Url"):
        await open_store(make_config(tmp_path, url=url), startup_timeout=1)


async def test_unix_url(tmp_path):
    sock = tmp_path / "r.sock"
    proc = await asyncio.create_subprocess_exec(
        "redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
        "--dir", str(tmp_path), stdout=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(200):
            if sock.exists():
                break
            await asyncio.sleep(0.02)
        s = await open_store(make_config(tmp_path, url=f"unix://{sock}", prefix="u"), startup_timeout=5)
        await s.put_app("v", "a", {"name": "a"})
        assert [a.name for a in (await s.load()).apps] == ["a"]
        await s.close()
    finally:
        proc.terminate()
        await proc.wait()


async def test_newer_schema_is_refused(tmp_path, redis_server, raw):
    await raw.set("t:schema", "2")
    with pytest.raises(StartupError, match="schema version"):
        await open_store(make_config(tmp_path, url=redis_server.url, prefix="t"), startup_timeout=2)


async def test_writes_fail_fast_while_down_then_work_again_with_resync(tmp_path, redis_server):
    s = await open_store(make_config(tmp_path, url=redis_server.url, prefix="t"), startup_timeout=5)
    try:
        await s.put_vhost("v", {"name": "v"}, {"name": "*"}, [("a", {"name": "a"})])
        await s.put_task("record", "v", "a", "r", {"id": "r"}, "t", 1)
        redis_server.kill()
        for _ in range(5):
            t0 = time.monotonic()
            with pytest.raises(StorageUnavailable):
                await s.put_app("v", "b", {"name": "b"})
            assert time.monotonic() - t0 < 0.5
            await asyncio.sleep(0.1)
        # A sequence bump while down is kept and written once Redis is back.
        with pytest.raises(StorageUnavailable):
            await s.update_task_sequence("record", "v", "a", "r", 5)
        assert not s.available
        # Redis comes back EMPTY (no persistence): the store reconnects by itself and re-syncs.
        redis_server.start()
        waited = await wait_available(s)
        assert waited < 5
        raw = aioredis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
        try:
            assert await raw.hkeys("t:vhosts") == ["v"]
            assert await raw.hkeys("t:apps:v") == ["a"]           # the failed "b" was never applied
            assert json.loads(await raw.hget("t:records", '["v","a","r"]'))["sequence"] == 5
            assert int(await raw.get("t:seq")) >= 3
            await s.put_app("v", "b", {"name": "b"})
            state = await s.load()
            assert [a.name for a in state.apps] == ["a", "b"]
            assert json.loads(await raw.hget("t:apps:v", "b"))["seq"] > json.loads(await raw.hget("t:apps:v", "a"))["seq"]
        finally:
            await raw.aclose()
        assert s.stats["resyncs"] >= 1 and s.stats["reconnects"] >= 1
    finally:
        await s.close()


async def test_dropped_connection_recovers(store, raw):
    await store.put_vhost("v", {"name": "v"}, None, [])
    await raw.client_kill_filter(_type="normal", skipme=True)
    # The next write either fails (connection found dead) or succeeds after the
    # monitor already reconnected; within a second writes work again.
    deadline = time.monotonic() + 3
    while True:
        try:
            await store.put_app("v", "a", {"name": "a"})
            break
        except StorageUnavailable:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    assert await raw.hkeys("t:apps:v") == ["a"]


async def test_hung_redis_times_out_quickly(store, redis_server, raw):
    await store.put_vhost("v", {"name": "v"}, None, [])
    os.kill(redis_server.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await store.put_app("v", "a", {"name": "a"})
        assert time.monotonic() - t0 < 2.5
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await store.put_app("v", "a", {"name": "a"})
        assert time.monotonic() - t0 < 1.5
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)
    await wait_available(store)
    await store.put_app("v", "a", {"name": "a"})
    assert await raw.hkeys("t:apps:v") == ["a"]


async def test_refused_exec_resyncs_before_next_write(store, raw):
    await store.put_vhost("v", {"name": "v"}, None, [("a", {"name": "a"})])
    # Someone clobbers our apps hash with a string: the next HSET in the
    # transaction fails (WRONGTYPE) and the store re-syncs before writing again.
    await raw.set("t:apps:v", "garbage")
    with pytest.raises(StorageUnavailable):
        await store.put_app("v", "b", {"name": "b"})
    await wait_available(store)
    await store.put_app("v", "c", {"name": "c"})
    assert sorted(await raw.hkeys("t:apps:v")) == ["a", "c"]


async def test_undecodable_entries_are_reported_and_kept(tmp_path, redis_server, raw):
    await raw.hset("t:vhosts", mapping={"bad": "{not json", "ok": '{"seq":1,"config":{"name":"ok"},"template":null}'})
    await raw.hset("t:records", "not-an-array", '{"seq":2,"body":{}}')
    s = await open_store(make_config(tmp_path, url=redis_server.url, prefix="t"), startup_timeout=5)
    try:
        state = await s.load()
        assert [v.name for v in state.vhosts] == ["ok"]
        assert sorted(f for _, f, _ in state.undecodable) == ["bad", "not-an-array"]
        # A re-sync keeps what it could not understand.
        s.mark_down("test")
        await wait_available(s)
        assert s.stats["resyncs"] == 1
        assert await raw.hget("t:vhosts", "bad") == "{not json"
        assert await raw.hget("t:records", "not-an-array") is not None
    finally:
        await s.close()


async def test_concurrent_writes_are_serialized(store, raw):
    await store.put_vhost("v", {"name": "v"}, None, [])
    await asyncio.gather(*(store.put_app("v", f"a{i}", {"name": f"a{i}"}) for i in range(50)))
    state = await store.load()
    assert len(state.apps) == 50
    assert len({a.seq for a in state.apps}) == 50
    assert await raw.hlen("t:apps:v") == 50


async def test_seq_counter_moved_by_someone_else(store, raw):
    await store.put_app("v", "a", {"name": "a"})
    await raw.set("t:seq", 100)
    await store.put_app("v", "b", {"name": "b"})          # stored with our own next number ...
    await wait_available(store)                           # ... and the counter mismatch re-syncs
    await store.put_app("v", "c", {"name": "c"})
    seqs = {k: json.loads(v)["seq"] for k, v in (await raw.hgetall("t:apps:v")).items()}
    assert seqs["a"] < seqs["b"] < seqs["c"] and seqs["c"] > 100
    assert [a.name for a in (await store.load()).apps] == ["a", "b", "c"]


async def test_seq_continues_after_reopen(tmp_path, redis_server, raw):
    cfg = make_config(tmp_path, url=redis_server.url, prefix="t")
    s = await open_store(cfg, startup_timeout=5)
    await s.put_app("v", "a", {"name": "a"})
    await s.close()
    s = await open_store(cfg, startup_timeout=5)
    await s.put_app("v", "b", {"name": "b"})
    await s.close()
    assert json.loads(await raw.hget("t:apps:v", "b"))["seq"] == 2


@pytest.mark.parametrize("key,value", [("t:vhosts", "a string, not a hash"), ("t:seq", "not a number")])
async def test_unusable_data_is_a_startup_error_at_once(tmp_path, redis_server, raw, key, value):
    await raw.set(key, value)
    t0 = time.monotonic()
    with pytest.raises(StartupError, match="cannot be used"):
        await open_store(make_config(tmp_path, url=redis_server.url, prefix="t"), startup_timeout=10)
    assert time.monotonic() - t0 < 2
