"""Shared by the API tests (imported by each tests/test_api_*.py): a Server.xml builder, an
in-process ome Server on a free loopback port, and a real aiohttp client that sends paths
byte for byte (no normalisation, no percent re-encoding)."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from helpers import free_port

TOKEN = "ome-access-token"
AUTH = {"Authorization": "Basic " + base64.b64encode(TOKEN.encode()).decode()}

DEFAULT_APP = """
        <Application>
          <Name>app</Name>
          <Type>live</Type>
          <OutputProfiles>
            <OutputProfile>
              <Name>bypass_stream</Name>
              <OutputStreamName>${OriginStreamName}</OutputStreamName>
              <Encodes>
                <Video><Bypass>true</Bypass></Video>
                <Audio><Name>aac_audio</Name><Codec>aac</Codec><Bitrate>128000</Bitrate>
                  <Samplerate>48000</Samplerate><Channel>2</Channel></Audio>
              </Encodes>
            </OutputProfile>
          </OutputProfiles>
          <Providers><RTMP/></Providers>
          <Publishers><LLHLS/></Publishers>
        </Application>"""


def server_xml(api_port: int | None, *, token: str = TOKEN, tls_port: int | None = None, cross_domains: str = "",
               storage: str = "<Storage><Enabled>false</Enabled></Storage>", host_tls: str = "",
               apps: str = DEFAULT_APP, extra_vhosts: str = "", ip: str = "127.0.0.1") -> str:
    bind = ""
    if api_port is not None or tls_port is not None:
        bind = "<Managers><API>"
        if api_port is not None:
            bind += f"<Port>{api_port}</Port>"
        if tls_port is not None:
            bind += f"<TLSPort>{tls_port}</TLSPort>"
        bind += "</API></Managers>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Server version="8">
  <Name>OvenMediaEngine</Name>
  <Type>origin</Type>
  <IP>{ip}</IP>
  <Bind>{bind}</Bind>
  <Managers>
    <Host><Names><Name>*</Name></Names>{host_tls}</Host>
    <API><AccessToken>{token}</AccessToken>{cross_domains}{storage}</API>
  </Managers>
  <VirtualHosts>
    <VirtualHost>
      <Name>default</Name>
      <Host><Names><Name>*</Name></Names></Host>
      <Applications>{apps}
      </Applications>
    </VirtualHost>{extra_vhosts}
  </VirtualHosts>
</Server>
"""


def write_conf(directory: Path, xml: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Server.xml").write_text(xml, encoding="utf-8")
    return directory


class Api:
    """A running in-process ome Server and a real HTTP client to its API port."""

    def __init__(self, server: Any, session: aiohttp.ClientSession, port: int) -> None:
        self.server = server
        self.session = session
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    async def request(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None,
                      headers: dict[str, str] | None = None, auth: bool = True) -> "Resp":
        hdrs = dict(AUTH) if auth else {}
        hdrs.update(headers or {})
        data: bytes | None = None
        if raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            data = json.dumps(body).encode()
        async with self.session.request(method, URL(self.base + path, encoded=True), data=data, headers=hdrs,
                                        skip_auto_headers=("Content-Type",) if data is None else ()) as r:
            payload = await r.read()
            return Resp(r.status, r.reason or "", dict(r.headers), payload)

    async def get(self, path: str, **kw: Any) -> "Resp":
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> "Resp":
        return await self.request("POST", path, body, **kw)

    async def patch(self, path: str, body: Any = None, **kw: Any) -> "Resp":
        return await self.request("PATCH", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> "Resp":
        return await self.request("DELETE", path, **kw)


class Resp:
    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return self.json["message"]

    def __repr__(self) -> str:
        return f"<Resp {self.status} {self.body[:300]!r}>"


async def start_server(conf_dir: Path) -> Any:
    from ome.config import load_server_config
    from ome.server import Server

    server = Server(load_server_config(conf_dir))
    await server.start()
    return server


def new_port() -> int:
    return free_port()


@pytest.fixture
async def make_api(tmp_path):
    """make_api(**server_xml_kwargs) -> Api, stopped at teardown."""
    servers: list[Any] = []
    session = aiohttp.ClientSession()

    async def make(**kwargs: Any) -> Api:
        port = free_port()
        conf = write_conf(tmp_path / f"conf{len(servers)}", server_xml(port, **kwargs))
        server = await start_server(conf)
        servers.append(server)
        return Api(server, session, port)

    yield make
    await session.close()
    for server in servers:
        await server.stop()


@pytest.fixture
async def api(make_api):
    return await make_api()
