"""Persistence hooks (reference §6.2): API changes reach Redis after the in-memory change; when
Redis cannot take a write the change is undone and the reply is 503. Uses a real redis-server."""
from __future__ import annotations

import json

import aiohttp
import pytest
import redis

from helpers import free_port
from test_api_support import Api, server_xml, start_server, write_conf

STORE_503 = {"message": "[HTTP] Could not store the API data: storage unavailable (503)", "statusCode": 503}
PREFIX = "ome:test"


@pytest.fixture
async def persistent(tmp_path, redis_server):
    storage = (f"<Storage><Redis><Url>{redis_server.url}</Url><KeyPrefix>{PREFIX}</KeyPrefix></Redis>"
               "</Storage>")
    servers = []
    session = aiohttp.ClientSession()

    async def start():
        port = free_port()
        conf = write_conf(tmp_path / f"c{len(servers)}", server_xml(port, storage=storage))
        server = await start_server(conf)
        servers.append(server)
        return Api(server, session, port)

    yield start, redis.Redis.from_url(redis_server.url, decode_responses=True), redis_server
    await session.close()
    for server in servers:
        try:
            await server.stop()
        except Exception:
            pass


async def test_changes_are_stored(persistent):
    start, r, _ = persistent
    api = await start()
    await api.post("/v1/vhosts", [{"name": "w", "applications": [{"name": "n", "type": "live"}]}])
    await api.post("/v1/vhosts/w/apps", [{"name": "a", "type": "live"}])
    assert set(r.hgetall(f"{PREFIX}:vhosts")) == {"w"}
    assert set(r.hgetall(f"{PREFIX}:apps:w")) == {"n", "a"}
    stored = json.loads(r.hget(f"{PREFIX}:apps:w", "a"))["config"]
    assert stored == {k: v for k, v in (await api.get("/v1/vhosts/w/apps/a")).json["response"].items()
                      if k != "dynamic"}
    await api.delete("/v1/vhosts/w/apps/n")
    assert set(r.hgetall(f"{PREFIX}:apps:w")) == {"a"}
    await api.delete("/v1/vhosts/w")
    assert r.hgetall(f"{PREFIX}:vhosts") == {}


async def test_restart_gives_byte_identical_gets(persistent):
    start, _, _ = persistent
    api = await start()
    await api.post("/v1/vhosts", [{"name": "w", "distribution": "d"}])
    await api.post("/v1/vhosts/w/apps", [{"name": "a", "type": "live", "publishers": {"llhls": {"chunkDuration": 0.2}}}])
    await api.post("/v1/vhosts/w/apps/a/outputProfiles",
                   [{"name": "p", "outputStreamName": "o", "encodes": {"videos": [{"bypass": True}]}}])
    paths = ["/v1/vhosts", "/v1/vhosts/w", "/v1/vhosts/w/apps", "/v1/vhosts/w/apps/a",
             "/v1/vhosts/w/apps/a/outputProfiles/p"]
    before = [(await api.get(p)).body for p in paths]
    await api.server.stop()
    api2 = await start()
    after = [(await api2.get(p)).body for p in paths]
    assert after == before


async def test_storage_down_undoes_and_answers_503(persistent):
    start, _, redis_server = persistent
    api = await start()
    await api.post("/v1/vhosts", [{"name": "w"}])
    await api.post("/v1/vhosts/w/apps", [{"name": "a", "type": "live"}, {"name": "b", "type": "live"}])
    app_before = (await api.get("/v1/vhosts/w/apps/a")).body
    redis_server.kill()

    r = await api.post("/v1/vhosts", [{"name": "x"}])
    assert r.status == 503 and r.reason == "Service Unavailable"
    assert r.json == [{"message": "Could not store the API data: storage unavailable", "statusCode": 503}]
    assert "x" not in api.server.registry.vhosts

    r = await api.post("/v1/vhosts/w/apps", [{"name": "c", "type": "live"}])
    assert r.status == 503 and "c" not in api.server.registry.vhost("w").apps

    r = await api.patch("/v1/vhosts/w/apps/a", {"publishers": {"ovt": {}}})
    assert r.json == STORE_503
    assert (await api.get("/v1/vhosts/w/apps/a")).body == app_before

    r = await api.post("/v1/vhosts/w/apps/a/outputProfiles",
                       [{"name": "p", "outputStreamName": "o", "encodes": {"videos": [{"bypass": True}]}}])
    assert r.json == STORE_503
    assert (await api.get("/v1/vhosts/w/apps/a")).body == app_before

    r = await api.delete("/v1/vhosts/w/apps/a")
    assert r.json == STORE_503
    assert (await api.get("/v1/vhosts/w/apps")).json["response"] == ["a", "b"]

    r = await api.delete("/v1/vhosts/w")
    assert r.json == STORE_503
    assert (await api.get("/v1/vhosts")).json["response"] == ["default", "w"]
    assert (await api.get("/v1/vhosts/w/apps")).json["response"] == ["a", "b"]
    # reads keep working from memory
    assert (await api.get("/v1/vhosts/w/apps/a")).body == app_before
