"""The real `ome` CLI serving the API, driven by a separate HTTP client (urllib)."""
from __future__ import annotations

import socket
import subprocess
import sys

from helpers import OME_BIN, OmeProcess, basic_auth, free_port, http
from test_api_support import TOKEN, server_xml, write_conf

AUTH = {"Authorization": basic_auth(TOKEN)}


def run_ome(conf_dir, timeout=20.0):
    return subprocess.run([OME_BIN or sys.executable, "-c", str(conf_dir)], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_serves_the_api_and_stops_cleanly(tmp_path):
    port = free_port()
    conf = write_conf(tmp_path / "conf", server_xml(port))
    proc = OmeProcess(conf, api_port=port, env={"TZ": "Asia/Seoul"}).start()
    try:
        status, headers, body = http("GET", f"http://127.0.0.1:{port}/v1/vhosts", headers=AUTH)
        assert status == 200
        assert body == b'{"message":"OK","response":["default"],"statusCode":200}'
        assert headers["Server"] == "OvenMediaEngine"
        assert headers["Content-Type"] == "application/json;charset=UTF-8"

        status, _, body = http("POST", f"http://127.0.0.1:{port}/v1/vhosts", body='[{"name":"cli"}]',
                               headers=AUTH)
        assert status == 200 and body == b'[{"message":"OK","response":{"name":"cli"},"statusCode":200}]'

        status, _, body = http("GET", f"http://127.0.0.1:{port}/v1/stats/current/vhosts/cli", headers=AUTH)
        assert status == 200 and b'"createdTime":"' in body and b'+09:00"' in body

        status, headers, body = http("GET", f"http://127.0.0.1:{port}/v1/vhosts")
        assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="OvenMediaEngine"'
    finally:
        rc = proc.stop()
    assert rc == 0, proc.log()


def test_cli_exits_on_empty_access_token(tmp_path):
    conf = write_conf(tmp_path / "conf", server_xml(free_port(), token=""))
    result = run_ome(conf)
    assert result.returncode != 0
    assert "Empty <AccessToken> is not allowed" in result.stderr + result.stdout


def test_cli_exits_when_the_api_port_is_taken(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        conf = write_conf(tmp_path / "conf", server_xml(port))
        result = run_ome(conf)
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr + result.stdout
