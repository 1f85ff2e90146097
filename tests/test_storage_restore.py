"""restore(): stored vhosts/apps replayed into the registry after Server.xml (§6.4)."""
from __future__ import annotations

import json
import logging

import pytest
import redis.asyncio as aioredis

from ome.config import load_server_config
from ome.server import Server
from ome.storage import open_store, restore

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server version="8">
  <Name>RestoreTest</Name>
  <Type>origin</Type>
  <IP>127.0.0.1</IP>
  <Bind><Managers><API><Port>1</Port></API></Managers></Bind>
  <Managers>
    <Host><Names><Name>*</Name></Names></Host>
    <API><AccessToken>tok</AccessToken>
      <Storage><Redis><Url>{url}</Url>{prefix}</Redis></Storage>
    </API>
  </Managers>
  <VirtualHosts>
    <VirtualHost>
      <Name>default</Name>
      <Host><Names><Name>*</Name></Names></Host>
      <Applications>
        <Application><Name>app</Name><Type>live</Type></Application>
      </Applications>
    </VirtualHost>
  </VirtualHosts>
</Server>
"""

APP = {"name": "live2", "type": "live", "providers": {"rtmp": {}, "srt": {}}, "publishers": {"llhls": {}},
       "outputProfiles": {"outputProfile": [{"name": "p", "outputStreamName": "${OriginStreamName}_p",
                                             "encodes": {"videos": [{"bypass": True}],
                                                         "audios": [{"codec": "aac", "bitrate": 128000,
                                                                     "samplerate": 48000, "channel": 2}]}}]}}


async def make_server(tmp_path, redis_server, prefix="<KeyPrefix>r</KeyPrefix>"):
    (tmp_path / "Server.xml").write_text(SERVER_XML.format(url=redis_server.url, prefix=prefix))
    server = Server(load_server_config(tmp_path))
    await server._load_static_config()
    return server


@pytest.fixture
async def raw(redis_server):
    client = aioredis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    yield client
    await client.aclose()


async def test_restore_in_creation_order_with_template_and_tasks(tmp_path, redis_server):
    first = await make_server(tmp_path, redis_server)
    store = await open_store(first, startup_timeout=5)
    await store.put_vhost("vb", {"name": "vb", "host": {"names": ["b.example"]}}, {"name": "*", "type": "live"},
                          [("z", dict(APP, name="z"))])
    await store.put_vhost("va", {"name": "va"}, None, [])
    await store.put_app("va", "m", dict(APP, name="m"))
    await store.put_app("vb", "a", dict(APP, name="a"))
    await store.put_app("vb", "z", dict(APP, name="z", type="live"))       # PATCH: keeps its place
    await store.put_task("record", "vb", "a", "r1", {"id": "r1", "stream": {"name": "s"}}, "T1", 4)
    await store.put_task("push", "default", "app", "p1", {"id": "p1"}, "T2", 0)   # tasks on Server.xml apps too
    await store.close()

    server = await make_server(tmp_path, redis_server)
    store = await open_store(server, startup_timeout=5)
    try:
        report = await restore(server, store)
    finally:
        await store.close()
    reg = server.registry
    assert list(reg.vhosts) == ["default", "vb", "va"]
    assert not reg.vhosts["vb"].read_only and reg.vhosts["default"].read_only
    assert list(reg.vhosts["vb"].apps) == ["z", "a"]
    assert list(reg.vhosts["va"].apps) == ["m"]
    assert reg.vhosts["vb"].template is not None and reg.vhosts["vb"].template.name == "*"
    assert reg.vhosts["va"].template is None
    # What GET shows comes back exactly: the stored JSON, types included.
    assert reg.vhosts["vb"].config.source_json == {"name": "vb", "host": {"names": ["b.example"]}}
    assert reg.app("va", "m").config.source_json == dict(APP, name="m")
    assert reg.app("vb", "a").dynamic is False
    assert [(t.kind, t.vhost, t.app, t.id, t.created_time, t.sequence) for t in server.restored_tasks.records] == [
        ("record", "vb", "a", "r1", "T1", 4)]
    assert [t.id for t in server.restored_tasks.take("push")] == ["p1"]
    assert server.restored_tasks.take("push") == []
    assert (report.vhosts, report.apps, report.records, report.pushes, report.skipped) == (2, 3, 1, 1, [])


async def test_server_xml_wins_and_bad_entries_are_skipped_but_kept(tmp_path, redis_server, raw, caplog):
    server = await make_server(tmp_path, redis_server)
    store = await open_store(server, startup_timeout=5)
    await store.put_vhost("default", {"name": "default"}, None, [("shadow", dict(APP, name="shadow"))])
    await store.put_vhost("v", {"name": "v"}, None, [("good", dict(APP, name="good")),
                                                     ("bad", dict(APP, name="bad", type="bogus"))])
    await store.put_vhost("badvh", {"name": "badvh", "nope": 1}, None, [("x", dict(APP, name="x"))])
    await store.put_app("gone", "orphan", dict(APP, name="orphan"))
    await store.put_task("record", "v", "bad", "r", {"id": "r"}, "T", 0)
    await store.close()

    server = await make_server(tmp_path, redis_server)
    store = await open_store(server, startup_timeout=5)
    with caplog.at_level(logging.WARNING, logger="ome.storage"):
        report = await restore(server, store)
    await store.close()
    reg = server.registry
    assert list(reg.vhosts) == ["default", "v"]
    assert list(reg.vhosts["default"].apps) == ["app"]            # Server.xml's, untouched
    assert list(reg.vhosts["v"].apps) == ["good"]
    assert server.restored_tasks.records == []
    assert len(report.skipped) == 7
    text = caplog.text
    assert "Server.xml wins" in text
    assert "application [v/bad] not restored: [Config] Unknown type: bogus" in text
    assert "virtual host [badvh] not restored: [Config] Unknown item found" in text
    assert "application [gone/orphan] not restored" in text
    # Everything skipped stays in Redis for the next start.
    assert sorted(await raw.hkeys("r:vhosts")) == ["badvh", "default", "v"]
    assert sorted(await raw.hkeys("r:apps:v")) == ["bad", "good"]
    assert await raw.hkeys("r:apps:default") == ["shadow"]
    assert await raw.hkeys("r:apps:gone") == ["orphan"]
    assert await raw.hkeys("r:records") == ['["v","bad","r"]']


async def test_default_key_prefix_is_ome_plus_server_name(tmp_path, redis_server, raw):
    server = await make_server(tmp_path, redis_server, prefix="")
    store = await open_store(server, startup_timeout=5)
    await store.put_vhost("v", {"name": "v"}, None, [])
    await store.close()
    assert await raw.hkeys("ome:RestoreTest:vhosts") == ["v"]
    assert json.loads(await raw.hget("ome:RestoreTest:vhosts", "v"))["config"] == {"name": "v"}


async def test_memory_only_restore_is_empty(tmp_path, redis_server):
    (tmp_path / "Server.xml").write_text(SERVER_XML.format(url=redis_server.url, prefix="").replace(
        "<Storage>", "<Storage><Enabled>false</Enabled>"))
    server = Server(load_server_config(tmp_path))
    await server._load_static_config()
    store = await open_store(server)
    report = await restore(server, store)
    assert not store.persistent and report.vhosts == 0 and list(server.registry.vhosts) == ["default"]
    assert server.restored_tasks.records == [] and server.restored_tasks.pushes == []
