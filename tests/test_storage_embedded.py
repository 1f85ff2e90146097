"""The embedded, supervised redis-server (the default storage mode, §6.1)."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis.asyncio as aioredis

from ome.errors import StartupError
from ome.storage import MemoryStore, RedisStore, StorageUnavailable, open_store
from ome.storage.embedded import PID_NAME, UNIX_PATH_MAX

ROOT = Path(__file__).resolve().parent.parent


def make_config(conf_dir: Path, *, path: str | None = "api_data", storage: bool = True, name: str = "Test"):
    st = SimpleNamespace(enabled=True, path=path, redis=None) if storage else None
    return SimpleNamespace(name=name, config_dir=conf_dir,
                           managers=SimpleNamespace(api=SimpleNamespace(storage=st)))


async def wait_available(store: RedisStore, timeout: float = 15.0) -> float:
    t0 = time.monotonic()
    while not store.available:
        assert time.monotonic() - t0 < timeout, f"store did not come back: {store.stats}"
        await asyncio.sleep(0.02)
    return time.monotonic() - t0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.02)


async def test_start_layout_and_stop(tmp_path):
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    assert isinstance(store, RedisStore) and store.persistent
    emb = store.embedded
    data = tmp_path / "api_data"
    assert emb.dir == data and emb.use_unix_socket
    assert (data / "redis.sock").is_socket()
    pid = emb.proc.pid
    assert (data / PID_NAME).read_text().strip() == str(pid)
    client = emb.client()
    try:
        assert (await client.config_get("port"))["port"] == "0"          # no TCP port
        assert (await client.config_get("appendonly"))["appendonly"] == "yes"
        assert (await client.config_get("save"))["save"] == ""            # RDB snapshots off
        assert (await client.config_get("dir"))["dir"] == str(data)
    finally:
        await client.aclose()
    assert os.path.realpath(f"/proc/{pid}/cwd") == str(data)
    await store.put_vhost("v", {"name": "v"}, None, [])
    await store.close()
    wait_gone(pid)
    assert emb.proc.returncode == 0                       # clean SIGTERM shutdown
    assert not (data / PID_NAME).exists()
    assert (data / "appendonlydir").is_dir()


async def test_data_survives_close_and_reopen(tmp_path):
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    await store.put_vhost("v", {"name": "v", "n": 1}, {"name": "*", "type": "live"}, [("a", {"name": "a"})])
    await store.put_app("v", "b", {"name": "b", "f": 0.1})
    await store.put_task("record", "v", "a", "r", {"id": "r"}, "2024-01-01T00:00:00.000+00:00", 3)
    await store.close()
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    try:
        state = await store.load()
        assert [(v.name, v.config, v.template) for v in state.vhosts] == [
            ("v", {"name": "v", "n": 1}, {"name": "*", "type": "live"})]
        assert [(a.name, a.config) for a in state.apps] == [("a", {"name": "a"}), ("b", {"name": "b", "f": 0.1})]
        assert [(t.id, t.sequence, t.created_time) for t in state.records] == [
            ("r", 3, "2024-01-01T00:00:00.000+00:00")]
    finally:
        await store.close()


async def test_killed_child_is_restarted_and_keeps_data(tmp_path):
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    try:
        emb = store.embedded
        await store.put_vhost("v", {"name": "v"}, None, [("a", {"name": "a"})])
        old = emb.proc.pid
        os.kill(old, signal.SIGKILL)
        await asyncio.sleep(0.2)
        waited = await wait_available(store)
        assert emb.proc.pid != old and emb.restarts == 1
        assert waited < 5
        await store.put_app("v", "b", {"name": "b"})
        # What the new child holds: its AOF plus the re-sync from memory.
        client = emb.client()
        try:
            assert sorted(await client.hkeys("ome:Test:apps:v")) == ["a", "b"]
        finally:
            await client.aclose()
    finally:
        await store.close()
    # And it is on disk: a fresh start reads it back.
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    try:
        assert [a.name for a in (await store.load()).apps] == ["a", "b"]
    finally:
        await store.close()


async def test_aof_persists_across_child_sigkill_without_resync(tmp_path):
    """Redis' own AOF (not our re-sync) keeps every acknowledged write when the child is SIGKILLed."""
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    emb = store.embedded
    for i in range(20):
        await store.put_app("v", f"a{i}", {"name": f"a{i}"})
    pid = emb.proc.pid
    # Stop supervising, then kill: nothing re-writes the data afterwards.
    emb._stopping = True
    emb._supervisor.cancel()
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid)
    emb.proc.wait()
    await store.close()
    proc = subprocess.Popen(["redis-server", str(tmp_path / "api_data" / "redis.conf")],
                            cwd=tmp_path / "api_data", stdout=subprocess.DEVNULL)
    try:
        client = aioredis.Redis(unix_socket_path=str(tmp_path / "api_data" / "redis.sock"), decode_responses=True)
        for _ in range(200):
            try:
                await client.ping()
                break
            except Exception:
                await asyncio.sleep(0.02)
        assert await client.hlen("ome:Test:apps:v") == 20
        await client.aclose()
    finally:
        proc.terminate()
        proc.wait()


async def test_second_instance_on_same_dir_is_refused(tmp_path):
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    try:
        with pytest.raises(StartupError, match="in use by another ome instance"):
            await open_store(make_config(tmp_path), startup_timeout=10)
        # The first one is unaffected.
        await store.put_app("v", "a", {"name": "a"})
    finally:
        await store.close()


SCRIPT = textwrap.dedent("""
    import asyncio, sys, types
    from pathlib import Path
    from ome.storage import open_store
    from ome.errors import StartupError

    async def main():
        conf = Path(sys.argv[1])
        cfg = types.SimpleNamespace(name="Test", config_dir=conf, managers=None)
        try:
            store = await open_store(cfg, startup_timeout=10)
        except StartupError as exc:
            print("STARTUP-ERROR", exc, flush=True)
            return 3
        await store.put_app("v", sys.argv[2], {"name": sys.argv[2]})
        print("READY", store.embedded.proc.pid, flush=True)
        await asyncio.sleep(3600)

    sys.exit(asyncio.run(main()))
""")


def run_holder(conf: Path, app: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(conf), app], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = proc.stdout.readline().strip()
    return proc, line


def test_lock_across_processes_and_no_orphan_after_sigkill(tmp_path):
    holder, line = run_holder(tmp_path, "a")
    try:
        assert line.startswith("READY"), line
        child = int(line.split()[1])
        other, line2 = run_holder(tmp_path, "b")
        assert line2.startswith("STARTUP-ERROR") and "in use by another ome instance" in line2, line2
        assert f"pid {holder.pid}" in line2
        assert other.wait(10) == 3
        # SIGKILL the owner: the kernel SIGTERMs its redis-server (PDEATHSIG), so no orphan is left ...
        holder.kill()
        holder.wait()
        wait_gone(child)
        # ... and the dir is free again, with the data.
        third, line3 = run_holder(tmp_path, "c")
        try:
            assert line3.startswith("READY"), line3
        finally:
            third.terminate()
            third.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


async def test_leftover_redis_on_the_data_dir_is_stopped(tmp_path):
    """A redis-server that outlived its ome (pid in redis.pid, cwd = data dir) is stopped first."""
    data = tmp_path / "api_data"
    data.mkdir()
    orphan = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(data / "old.sock"),
                               "--save", "", "--appendonly", "no", "--dir", str(data)],
                              stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(200):
            if (data / "old.sock").exists():
                break
            time.sleep(0.02)
        (data / PID_NAME).write_text(f"{orphan.pid}\n")
        store = await open_store(make_config(tmp_path), startup_timeout=10)
        try:
            assert orphan.wait(5) == 0
            assert store.embedded.proc.pid != orphan.pid
        finally:
            await store.close()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


async def test_stale_pidfile_of_an_unrelated_process_is_ignored(tmp_path):
    data = tmp_path / "api_data"
    data.mkdir()
    (data / PID_NAME).write_text(f"{os.getpid()}\n")       # alive, but not a redis-server on this dir
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    await store.close()


async def test_long_socket_path_falls_back_to_loopback_tcp(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    store = await open_store(make_config(tmp_path, path=str(deep)), startup_timeout=10)
    try:
        emb = store.embedded
        assert len(str(deep / "redis.sock")) > UNIX_PATH_MAX
        assert not emb.use_unix_socket and emb.port and emb.password
        client = emb.client()
        try:
            assert (await client.config_get("bind"))["bind"] == "127.0.0.1"
            assert (await client.config_get("port"))["port"] == str(emb.port)
        finally:
            await client.aclose()
        # Without the generated password nobody else gets in.
        anon = aioredis.Redis(host="127.0.0.1", port=emb.port)
        with pytest.raises(Exception, match="(?i)auth"):
            await anon.ping()
        await anon.aclose()
        await store.put_app("v", "a", {"name": "a"})
        os.kill(emb.proc.pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        await wait_available(store)
        await store.put_app("v", "b", {"name": "b"})
    finally:
        await store.close()


async def test_relative_path_resolves_against_config_dir(tmp_path):
    store = await open_store(make_config(tmp_path, path="state/redis"), startup_timeout=10)
    try:
        assert store.embedded.dir == tmp_path / "state" / "redis"
    finally:
        await store.close()


async def test_missing_storage_element_uses_defaults(tmp_path):
    store = await open_store(make_config(tmp_path, storage=False, name="OvenMediaEngine"), startup_timeout=10)
    try:
        assert store.embedded.dir == tmp_path / "api_data"
        assert store.keys.prefix == "ome:OvenMediaEngine"
    finally:
        await store.close()


@pytest.fixture
def no_redis_binary(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


async def test_no_binary_with_explicit_storage_is_a_startup_error(tmp_path, no_redis_binary):
    with pytest.raises(StartupError, match="no redis-server binary"):
        await open_store(make_config(tmp_path), startup_timeout=5)


async def test_no_binary_without_storage_element_is_memory_only_with_a_loud_warning(tmp_path, no_redis_binary,
                                                                                      caplog):
    with caplog.at_level(logging.WARNING, logger="ome.storage"):
        store = await open_store(make_config(tmp_path, storage=False), startup_timeout=5)
    assert isinstance(store, MemoryStore) and not store.persistent
    assert any("IN MEMORY ONLY" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


async def test_uncreatable_dir(tmp_path, caplog):
    (tmp_path / "blocker").write_text("a file where the data dir should be")
    with pytest.raises(StartupError, match="Could not create the API storage directory"):
        await open_store(make_config(tmp_path, path="blocker/data"), startup_timeout=5)
    # With no <Storage> element the default location failing is not fatal.
    (tmp_path / "api_data").write_text("in the way")
    with caplog.at_level(logging.WARNING, logger="ome.storage"):
        store = await open_store(make_config(tmp_path, storage=False), startup_timeout=5)
    assert isinstance(store, MemoryStore)
    assert any("IN MEMORY ONLY" in r.getMessage() for r in caplog.records)


async def test_redis_that_cannot_start_is_a_startup_error(tmp_path):
    aof = tmp_path / "api_data" / "appendonlydir"
    aof.mkdir(parents=True)
    (aof / "appendonly.aof.manifest").write_text("this is not a manifest\n")
    with pytest.raises(StartupError, match="exited with status"):
        await open_store(make_config(tmp_path), startup_timeout=10)
    # Nothing is left running or locked: a fixed dir starts fine.
    (aof / "appendonly.aof.manifest").unlink()
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    await store.close()


async def test_writes_during_child_restart_fail_fast_then_recover(tmp_path):
    store = await open_store(make_config(tmp_path), startup_timeout=10)
    try:
        emb = store.embedded
        await store.put_vhost("v", {"name": "v"}, None, [])
        # Freeze the child: writes time out fast; kill it: it comes back by itself.
        os.kill(emb.proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await store.put_app("v", "x", {"name": "x"})
        assert time.monotonic() - t0 < 2.5
        os.kill(emb.proc.pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        await wait_available(store)
        await store.put_app("v", "y", {"name": "y"})
        assert [a.name for a in (await store.load()).apps] == ["y"]
        client = emb.client()
        try:
            assert await client.hkeys("ome:Test:apps:v") == ["y"]
            assert json.loads(await client.hget("ome:Test:vhosts", "v"))["config"] == {"name": "v"}
        finally:
            await client.aclose()
    finally:
        await store.close()
