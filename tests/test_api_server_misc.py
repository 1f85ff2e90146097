"""Version, statistics (reference §4.9), certificate reloads (§4.10), OpenAPI, ApiServer start-up
(§2.1) and TLS."""
from __future__ import annotations

import re
import shutil
import ssl
import subprocess

import aiohttp
import pytest

from helpers import free_port
from ome.errors import StartupError
from test_api_support import AUTH, api, make_api, server_xml, start_server, write_conf  # noqa: F401

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


async def test_version(api):
    r = await api.get("/v1/version")
    body = r.json["response"]
    assert body["version"] == "0.20.0"
    assert re.fullmatch(r"ome-\d+\.\d+\.\d+(-g[0-9a-f]+)?", body["gitVersion"])
    assert r.text.startswith('{"message":"OK","response":{"gitVersion":')


def check_metrics(m: dict) -> None:
    m = dict(m)
    xc = m.pop("transcoder", None)      # ome extension (issue 5): accelerators and transcoding sessions
    if xc is not None:
        assert set(xc) == {"hwaccels", "sessions"} and isinstance(xc["hwaccels"]["devices"], list)
    assert set(m) == {"createdTime", "lastUpdatedTime", "lastRecvTime", "lastSentTime", "maxTotalConnectionTime",
                      "totalBytesIn", "totalBytesOut", "avgThroughputIn", "avgThroughputOut", "maxThroughputIn",
                      "maxThroughputOut", "lastThroughputIn", "lastThroughputOut", "totalConnections",
                      "maxTotalConnections", "connections"}
    assert set(m["connections"]) == {"webrtc", "llhls", "ovt", "file", "push", "thumbnail", "hlsv3", "srt"}
    for key in ("createdTime", "lastUpdatedTime", "lastRecvTime", "lastSentTime", "maxTotalConnectionTime"):
        assert re.fullmatch(TS, m[key]), key
    assert m["totalBytesIn"] == 0 and m["connections"]["llhls"] == 0


async def test_stats_shapes(api):
    from ome.runtime.registry import Stream

    check_metrics((await api.get("/v1/stats/current")).json["response"])
    check_metrics((await api.get("/v1/stats/current/vhosts/default")).json["response"])
    check_metrics((await api.get("/v1/stats/current/vhosts/default/apps/app")).json["response"])
    app = api.server.registry.app("default", "app")
    app.streams["s"] = Stream(app=app, name="s", source_type="Rtmp")
    check_metrics((await api.get("/v1/stats/current/vhosts/default/apps/app/streams/s")).json["response"])


async def test_stats_404s_and_no_list_routes(api):
    assert (await api.get("/v1/stats/current/vhosts/x")).message == \
        "[HTTP] Could not find the virtual host: [x] (404)"
    assert (await api.get("/v1/stats/current/vhosts/default/apps/x")).message == \
        "[HTTP] Could not find the application: [default/x] (404)"
    assert (await api.get("/v1/stats/current/vhosts/default/apps/app/streams/x")).message == \
        "[HTTP] Could not find the stream: [default/#default#app/x] (404)"
    for path in ("/v1/stats/current/vhosts", "/v1/stats/current/vhosts/default/apps", "/v1/stats"):
        assert (await api.get(path)).message == "[HTTP] Controller not found (404)"


async def test_stats_internals(api):
    assert (await api.get("/v1/stats/current/internals")).text == \
        '{"message":"OK","response":["/v1/stats/current/internals/queues"],"statusCode":200}'
    assert (await api.get("/v1/stats/current/internals/queues")).json["response"] == []


async def test_vhost_certificate_reloads(api):
    assert (await api.post("/v1/vhosts:reloadAllCertificates")).text == '{"message":"OK","statusCode":200}'
    assert (await api.post("/v1/vhosts/default:reloadCertificate")).text == '{"message":"OK","statusCode":200}'
    assert (await api.post("/v1/vhosts/nope:reloadCertificate")).message == \
        "[HTTP] Could not find the virtual host: [nope] (404)"


async def test_vhost_certificate_reload_failure_text(api):
    class Certs:
        async def reload_all(self):
            return "error"

        async def reload(self, vhost):
            return "disabled"

    api.server.certificates = Certs()
    r = await api.post("/v1/vhosts:reloadAllCertificates")
    assert r.status == 500
    assert r.message == "[HTTP] Failed to reload certificate. Check server log for more information. (500)"
    r = await api.post("/v1/vhosts/default:reloadCertificate")
    assert r.status == 423 and r.reason == "Locked"


async def test_api_certificate_reload_without_tls(api):
    r = await api.post("/v1/managers/api:reloadCertificate")
    assert r.json == {"message": "[HTTP] TLS is not enabled for the API Server (400)", "statusCode": 400}


async def test_openapi_document_lists_the_route_table(api):
    from ome.api.routes import ROUTES

    r = await api.get("/v1/openapi.json")
    doc = r.json
    assert doc["openapi"].startswith("3.1")
    for route in ROUTES:
        path = route.template.replace("{vhost_action}", "{vhost}").replace("{stats_app}", "{app}")
        assert route.method.lower() in doc["paths"][path], (route.method, path)
    app_schema = doc["components"]["schemas"]["ApplicationConfigJson"]
    assert {"name", "type", "outputProfiles", "providers", "publishers"} <= set(app_schema["properties"])
    post_apps = doc["paths"]["/v1/vhosts/{vhost}/apps"]["post"]
    assert "207" in post_apps["responses"]


async def test_empty_access_token_is_a_startup_error(tmp_path):
    conf = write_conf(tmp_path / "c", server_xml(free_port(), token=""))
    with pytest.raises(StartupError, match="Empty <AccessToken> is not allowed"):
        await start_server(conf)


async def test_busy_port_is_a_startup_error(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        conf = write_conf(tmp_path / "c", server_xml(port))
        with pytest.raises(StartupError, match=f"127.0.0.1:{port}"):
            server = await start_server(conf)
            await server.stop()


async def test_api_disabled_without_port(tmp_path):
    conf = write_conf(tmp_path / "c", server_xml(None))
    server = await start_server(conf)
    try:
        assert server.api is None
    finally:
        await server.stop()


def make_cert(directory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate")
    cert, key = directory / "cert.crt", directory / "cert.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


async def test_tls_port_serves_the_api_and_reloads(tmp_path):
    cert, key = make_cert(tmp_path)
    port, tls_port = free_port(), free_port()
    conf = write_conf(tmp_path / "c", server_xml(
        port, tls_port=tls_port, host_tls=f"<TLS><CertPath>{cert}</CertPath><KeyPath>{key}</KeyPath></TLS>"))
    server = await start_server(conf)
    try:
        assert sorted(server.api.ports) == sorted([port, tls_port])
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://127.0.0.1:{tls_port}/v1/vhosts", headers=AUTH, ssl=context) as r:
                assert r.status == 200 and (await r.json())["response"] == ["default"]
            async with session.post(f"https://127.0.0.1:{tls_port}/v1/managers/api:reloadCertificate",
                                    headers=AUTH, ssl=context) as r:
                assert r.status == 200
            (tmp_path / "cert.crt").write_text("garbage")
            async with session.post(f"http://127.0.0.1:{port}/v1/managers/api:reloadCertificate",
                                    headers=AUTH) as r:
                assert r.status == 500
                assert (await r.json())["message"] == \
                    "[HTTP] Failed to create a certificate for the API Server (500)"
            async with session.get(f"https://127.0.0.1:{tls_port}/v1/version", headers=AUTH, ssl=context) as r:
                assert r.status == 200   # the old certificate stays in use
    finally:
        await server.stop()


def test_listen_hosts():
    from ome.api.server import listen_hosts

    assert listen_hosts(["*"]) == ["0.0.0.0"]
    assert listen_hosts(["*", "::", "*"]) == ["0.0.0.0", "::"]
    assert listen_hosts(["127.0.0.1", "[::1]"]) == ["127.0.0.1", "::1"]
