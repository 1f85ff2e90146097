"""End to end, with the real `ome` CLI: API-created state survives SIGKILL, and a Redis
outage costs 503s on writes but never half-written state (reference §6)."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from helpers import OmeProcess, RedisServer, basic_auth, free_port, http

TOKEN = "restart-token"
AUTH = {"Authorization": basic_auth(TOKEN)}
STORAGE_503 = b'{"message":"[HTTP] Could not store the API data: storage unavailable (503)","statusCode":503}'

STORAGE_503_ITEM = b'[{"message":"Could not store the API data: storage unavailable","statusCode":503}]'

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server version="8">
  <Name>RestartTest</Name>
  <Type>origin</Type>
  <IP>127.0.0.1</IP>
  <Bind><Managers><API><Port>{port}</Port></API></Managers></Bind>
  <Managers>
    <Host><Names><Name>*</Name></Names></Host>
    <API>
      <AccessToken>{token}</AccessToken>
      <Storage>{storage}</Storage>
    </API>
  </Managers>
  <VirtualHosts>
    <VirtualHost>
      <Name>default</Name>
      <Host><Names><Name>*</Name></Names></Host>
      <Applications>
        <Application><Name>app</Name><Type>live</Type>
          <OutputProfiles><OutputProfile><Name>bypass</Name><OutputStreamName>${{OriginStreamName}}</OutputStreamName>
            <Encodes><Video><Bypass>true</Bypass></Video></Encodes></OutputProfile></OutputProfiles>
        </Application>
      </Applications>
    </VirtualHost>
  </VirtualHosts>
</Server>
"""

PROFILE_720 = {"name": "720p", "outputStreamName": "${OriginStreamName}_720p",
               "encodes": {"videos": [{"codec": "h264", "bitrate": "2000000", "width": 1280, "height": 720,
                                       "framerate": 29.97}],
                           "audios": [{"codec": "aac", "bitrate": 128000, "samplerate": 48000, "channel": 2}]}}


class Ome:
    """One config dir served by the real CLI; restarted on the same port and data."""

    def __init__(self, tmp_path: Path, storage: str) -> None:
        self.conf = tmp_path / "conf"
        self.conf.mkdir()
        self.port = free_port()
        (self.conf / "Server.xml").write_text(SERVER_XML.format(port=self.port, token=TOKEN, storage=storage))
        self.proc: OmeProcess | None = None

    def start(self) -> "Ome":
        self.proc = OmeProcess(self.conf, self.port).start(timeout=40)
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def req(self, method: str, path: str, body=None) -> tuple[int, bytes]:
        data = json.dumps(body) if body is not None else None
        status, _, payload = http(method, self.url(path), data, AUTH)
        return status, payload

    def ok(self, method: str, path: str, body=None) -> bytes:
        status, payload = self.req(method, path, body)
        assert status == 200, (method, path, status, payload, self.proc.log()[-3000:] if self.proc else "")
        return payload

    def snapshot(self) -> dict[str, tuple[int, bytes]]:
        """Every GET of the config tree, as raw bytes."""
        snap: dict[str, tuple[int, bytes]] = {}

        def get(path: str) -> object:
            status, _, payload = http("GET", self.url(path), None, AUTH)
            snap[path] = (status, payload)
            assert status == 200, (path, payload)
            return json.loads(payload)["response"]

        for vhost in get("/v1/vhosts"):
            get(f"/v1/vhosts/{vhost}")
            for app in get(f"/v1/vhosts/{vhost}/apps"):
                get(f"/v1/vhosts/{vhost}/apps/{app}")
                for profile in get(f"/v1/vhosts/{vhost}/apps/{app}/outputProfiles"):
                    get(f"/v1/vhosts/{vhost}/apps/{app}/outputProfiles/{profile}")
        return snap


def build_state(ome: Ome) -> None:
    """A bit of everything the API persists, in an order that tests creation order."""
    ome.ok("POST", "/v1/vhosts", [{
        "name": "tenant-b", "distribution": "ovenmediaengine.com",
        "host": {"names": ["b.example.com", "*.b.example.com"]},
        "origins": {"properties": {"noInputFailoverTimeout": 3000}, "origin": [
            {"location": "/pull/", "pass": {"scheme": "ovt", "urls": {"url": ["origin.example.com:9000"]}}}]},
        "applications": [{"name": "*", "type": "live"},
                         {"name": "zeta", "type": "live", "providers": {"rtmp": {}}, "publishers": {"llhls": {}},
                          "outputProfiles": {"outputProfile": []}}]}])
    ome.ok("POST", "/v1/vhosts", [{"name": "tenant-a"}])
    ome.ok("POST", "/v1/vhosts/tenant-b/apps", [{"name": "alpha", "type": "live"},
                                                {"name": "beta", "type": "live", "providers": {"srt": {}}}])
    ome.ok("POST", "/v1/vhosts/tenant-a/apps", [{"name": "one", "type": "live"}, {"name": "two", "type": "live"}])
    ome.ok("POST", "/v1/vhosts/tenant-b/apps/alpha/outputProfiles", [PROFILE_720])
    ome.ok("PATCH", "/v1/vhosts/tenant-b/apps/alpha/outputProfiles/default",
           {"outputStreamName": "${OriginStreamName}", "encodes": {"videos": [{"bypass": True}]}})
    ome.ok("PATCH", "/v1/vhosts/tenant-b/apps/beta", {"publishers": {"llhls": {}, "ovt": None}})
    ome.ok("DELETE", "/v1/vhosts/tenant-a/apps/one")
    ome.ok("POST", "/v1/vhosts/tenant-a/apps", [{"name": "one", "type": "live"}])     # back, now last
    ome.ok("POST", "/v1/vhosts", [{"name": "doomed", "applications": [{"name": "x", "type": "live"}]}])
    ome.ok("DELETE", "/v1/vhosts/doomed")


@pytest.fixture
def embedded(tmp_path):
    ome = Ome(tmp_path, "<Enabled>true</Enabled><Path>api_data</Path>")
    yield ome
    ome.stop()


def redis_pid(ome: Ome) -> int:
    return int((ome.conf / "api_data" / "redis.pid").read_text())


def wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                return
        except (ProcessLookupError, FileNotFoundError):
            return
        assert time.monotonic() < deadline, f"pid {pid} is still alive"
        time.sleep(0.05)


def test_sigkill_and_restart_every_get_is_byte_identical(embedded):
    ome = embedded.start()
    build_state(ome)
    before = ome.snapshot()
    assert json.loads(before["/v1/vhosts"][1])["response"] == ["default", "tenant-b", "tenant-a"]
    assert json.loads(before["/v1/vhosts/tenant-a/apps"][1])["response"] == ["two", "one"]
    assert json.loads(before["/v1/vhosts/tenant-b/apps"][1])["response"] == ["zeta", "alpha", "beta"]
    child = redis_pid(ome)

    ome.kill()                              # SIGKILL: no shutdown code runs at all
    wait_gone(child)                        # its redis-server went with it (PDEATHSIG), AOF intact
    ome.start()
    after = ome.snapshot()
    assert after.keys() == before.keys()
    for path in before:
        assert after[path] == before[path], path

    # And again after a clean stop, with one more change in between.
    ome.ok("POST", "/v1/vhosts/tenant-a/apps", [{"name": "three", "type": "live"}])
    before = ome.snapshot()
    ome.stop()
    ome.start()
    assert ome.snapshot() == before
    # The `*` template came back too: it stays out of the app list but is a template.
    assert "*" not in json.loads(before["/v1/vhosts/tenant-b/apps"][1])["response"]


def test_second_server_on_the_same_data_dir_exits(embedded, tmp_path):
    ome = embedded.start()
    # Same config dir -> same data dir; its API port would be the same too, so point it elsewhere.
    conf2 = tmp_path / "conf2"
    conf2.mkdir()
    xml = (ome.conf / "Server.xml").read_text()
    (conf2 / "Server.xml").write_text(xml.replace(f"<Port>{ome.port}</Port>", f"<Port>{free_port()}</Port>")
                                      .replace("<Path>api_data</Path>", f"<Path>{ome.conf / 'api_data'}</Path>"))
    other = OmeProcess(conf2).start()
    assert other.proc.wait(40) == 1
    assert "in use by another ome instance" in other.log()
    ome.ok("POST", "/v1/vhosts", [{"name": "still-fine"}])


def test_redis_outage_503_nothing_half_written_then_recovers(tmp_path):
    redis = RedisServer(tmp_path / "redis", appendonly=True).start()
    ome = Ome(tmp_path, f"<Redis><Url>{redis.url}</Url><KeyPrefix>ome:e2e</KeyPrefix></Redis>")
    try:
        ome.start()
        build_state(ome)
        before = ome.snapshot()
        stored_before = dump_redis(redis)

        redis.kill()
        writes = [
            ("POST", "/v1/vhosts", [{"name": "new-vh", "applications": [{"name": "n", "type": "live"}]}]),
            ("POST", "/v1/vhosts/tenant-a/apps", [{"name": "new-app", "type": "live"}]),
            ("PATCH", "/v1/vhosts/tenant-a/apps/two", {"providers": {"rtmp": {}}}),
            ("DELETE", "/v1/vhosts/tenant-a/apps/two", None),
            ("POST", "/v1/vhosts/tenant-b/apps/alpha/outputProfiles", [dict(PROFILE_720, name="1080p")]),
            ("PATCH", "/v1/vhosts/tenant-b/apps/alpha/outputProfiles/720p",
             {k: v for k, v in PROFILE_720.items() if k != "name"}),
            ("DELETE", "/v1/vhosts/tenant-b/apps/alpha/outputProfiles/720p", None),
            ("DELETE", "/v1/vhosts/tenant-b", None),
        ]
        for method, path, body in writes:
            t0 = time.monotonic()
            status, payload = ome.req(method, path, body)
            assert time.monotonic() - t0 < 2, (method, path)
            assert status == 503, (method, path, status, payload)
            if payload.startswith(b"["):          # batch endpoints: the item failed with 503, raw text (§2.8)
                assert payload == STORAGE_503_ITEM, payload
            else:
                assert payload == STORAGE_503
        # Reads keep working, from memory, and nothing of the failed writes is there.
        assert ome.snapshot() == before

        redis.start()                             # same port, same AOF dir
        deadline = time.monotonic() + 15
        while True:
            status, payload = ome.req("POST", "/v1/vhosts/tenant-a/apps", [{"name": "after", "type": "live"}])
            if status == 200:
                break
            assert status == 503 and time.monotonic() < deadline, (status, payload)
            time.sleep(0.2)
        # Redis holds exactly the old state plus the one write that succeeded.
        stored_after = dump_redis(redis)
        added = json.loads(stored_after["hashes"]["ome:e2e:apps:tenant-a"].pop("after"))
        assert added["config"]["name"] == "after"
        assert stored_after["hashes"] == stored_before["hashes"]
        ome.ok("DELETE", "/v1/vhosts/tenant-a/apps/after")
        assert ome.snapshot() == before

        # And it all survives a SIGKILL of the server.
        ome.kill()
        ome.start()
        assert ome.snapshot() == before
    finally:
        ome.stop()
        redis.stop()


def test_embedded_redis_killed_is_restarted_and_the_api_keeps_working(embedded):
    ome = embedded.start()
    build_state(ome)
    before = ome.snapshot()
    old = redis_pid(ome)
    os.kill(old, signal.SIGKILL)
    # Writes answer 503 or succeed, never anything else; within seconds they succeed again.
    deadline = time.monotonic() + 15
    while True:
        status, payload = ome.req("POST", "/v1/vhosts/tenant-a/apps", [{"name": "later", "type": "live"}])
        if status == 200:
            break
        assert status == 503 and time.monotonic() < deadline, (status, payload)
        time.sleep(0.1)
    assert redis_pid(ome) != old
    ome.ok("DELETE", "/v1/vhosts/tenant-a/apps/later")
    assert ome.snapshot() == before
    ome.kill()
    ome.start()
    assert ome.snapshot() == before
    assert "restarting it" in ome.proc.log()


def dump_redis(redis: RedisServer) -> dict:
    import redis as redis_py
    client = redis_py.Redis(host="127.0.0.1", port=redis.port, decode_responses=True)
    try:
        out = {"hashes": {}, "strings": {}}
        for key in client.keys("*"):
            if client.type(key) == "hash":
                out["hashes"][key] = client.hgetall(key)
            else:
                out["strings"][key] = client.get(key)
        return out
    finally:
        client.close()


def test_failed_start_leaves_no_redis_behind(tmp_path):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ome = Ome(tmp_path, "<Path>api_data</Path>")
        (ome.conf / "Server.xml").write_text((ome.conf / "Server.xml").read_text().replace(
            f"<Port>{ome.port}</Port>", f"<Port>{busy.getsockname()[1]}</Port>"))
        proc = OmeProcess(ome.conf).start()
        assert proc.proc.wait(40) == 1
    log = proc.log()
    assert "embedded redis-server stopped (status 0)" in log, log
    assert not (ome.conf / "api_data" / "redis.pid").exists()
